"""Near duplicates on 100k documents vs datasketch's MinHashLSH, and semantic duplicates over 100k
embeddings in bounded memory; both in one run.

Near: 5,000 real eval reviews, 94,000 Markov-generated training texts and 1,000 planted leaks
(eval items with 2 adjacent-word swaps and 2 typos, `demo.plant_leaks`) in training. Both sides
use the same normalised character 3-gram shingles, 128 permutations and Jaccard threshold 0.5;
datasketch indexes the training texts and queries the eval texts, and its candidates are verified
with its own Jaccard estimate (as ours are). Goal: our time <= datasketch's at equal or better
recall of the planted leaks.

Semantic: 100,000 random 384-d unit vectors (20,000 eval, 80,000 train) with 500 planted
near-copies (cosine ~0.99); cosine >= 0.9 pairs found block by block. Goal: peak extra memory far
below the 6.4 GB a full 20k x 80k similarity matrix would take (tracemalloc), every planted pair found.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import polars as pl

from bench._util import write_result
from workbench import demo
from workbench.checks.contamination import find_duplicates, normalize

N_EVAL, N_TRAIN, N_LEAKS = 5_000, 94_000, 1_000
NUM_PERM, THRESHOLD, K = 128, 0.5, 3


def _corpus() -> tuple[pl.DataFrame, set[tuple[str, str]]]:
    real = demo.real().select("text", "origin")
    ev = real.head(N_EVAL).with_columns(split=pl.lit("eval"))
    gen = demo.MarkovGenerator(real.tail(real.height - N_EVAL)["text"].to_list(), order=2)
    train_texts = gen.sample_texts(N_TRAIN, temperature=1.0, seed=0)
    train = pl.DataFrame({"text": train_texts, "origin": ["synthetic"] * N_TRAIN, "split": ["train"] * N_TRAIN})
    ev = ev.with_columns(id=pl.format("eval-{}", pl.int_range(pl.len())))
    train = train.with_columns(id=pl.format("train-{}", pl.int_range(pl.len())))
    leaks = demo.plant_leaks(ev.with_columns(pl.lit("real").alias("origin")), N_LEAKS, seed=1)
    leaks = leaks.with_columns(id=pl.format("leak-{}", pl.int_range(pl.len())))
    planted = set(zip(leaks["parent_id"].to_list(), leaks["id"].to_list()))
    cols = ["id", "text", "split"]
    df = pl.concat([ev.select(cols), train.select(cols), leaks.select(cols)])
    return df, planted


def _ours(df: pl.DataFrame) -> tuple[float, set[tuple[str, str]]]:
    t0 = time.perf_counter()
    pairs = find_duplicates(
        df,
        kinds=("near",),
        splits_a=["eval"],
        splits_b=["train"],
        threshold=THRESHOLD,
        shingle_size=K,
        num_perm=NUM_PERM,
        boilerplate=False,  # the same shingles of the same whole texts as datasketch gets
    )
    return time.perf_counter() - t0, set(zip(pairs["id_a"].to_list(), pairs["id_b"].to_list()))


def _datasketch(df: pl.DataFrame) -> tuple[float, set[tuple[str, str]], int]:
    from datasketch import MinHash, MinHashLSH

    t0 = time.perf_counter()
    norm = normalize(df["text"]).to_list()
    ids, splits = df["id"].to_list(), df["split"].to_list()

    def sketch(text: str) -> MinHash:
        shingles = {text[i : i + K] for i in range(len(text) - K + 1)} or {text}
        m = MinHash(num_perm=NUM_PERM, seed=1)
        m.update_batch([s.encode("utf-8") for s in shingles])
        return m

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    sketches = {}
    for i, text, split in zip(ids, norm, splits):
        m = sketch(text)
        sketches[i] = m
        if split == "train":
            lsh.insert(i, m)
    found, candidates = set(), 0
    for i, split in zip(ids, splits):
        if split != "eval":
            continue
        for j in lsh.query(sketches[i]):
            candidates += 1
            if sketches[i].jaccard(sketches[j]) >= THRESHOLD:
                found.add((i, j))
    return time.perf_counter() - t0, found, candidates


def _semantic() -> dict[str, object]:
    rng = np.random.default_rng(0)
    n_eval, n_train, d, n_planted = 20_000, 80_000, 384, 500
    emb = rng.normal(size=(n_eval + n_train, d)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    src = rng.choice(n_eval, n_planted, replace=False)
    dst = n_eval + rng.choice(n_train, n_planted, replace=False)
    noisy = emb[src] + 0.006 * rng.normal(size=(n_planted, d)).astype(np.float32)
    emb[dst] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    df = pl.DataFrame(
        {
            "id": [f"r{i}" for i in range(n_eval + n_train)],
            "text": ["x"] * (n_eval + n_train),
            "split": ["eval"] * n_eval + ["train"] * n_train,
        }
    )
    block_bytes = 64 << 20
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    pairs = find_duplicates(
        df, kinds=("semantic",), splits_a=["eval"], splits_b=["train"], embeddings=emb, block_bytes=block_bytes
    )
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    planted = {(f"r{a}", f"r{b}") for a, b in zip(src, dst)}
    found = set(zip(pairs["id_a"].to_list(), pairs["id_b"].to_list()))
    return {
        "n_embeddings": n_eval + n_train,
        "dim": d,
        "seconds": round(elapsed, 2),
        "block_bytes": block_bytes,
        "peak_traced_mib": round(peak / 2**20, 1),
        "embeddings_mib": round(emb.nbytes / 2**20, 1),
        "full_matrix_mib": round(n_eval * n_train * 4 / 2**20, 1),
        "planted": n_planted,
        "planted_found": len(planted & found),
        "pairs": len(found),
    }


def main() -> None:
    df, planted = _corpus()
    _ours(pl.concat([df.head(1000), df.tail(1000)]))  # warm up (lsh parameter table, polars)
    ours_s, ours_found = _ours(df)
    ds_s, ds_found, ds_candidates = _datasketch(df)
    ours_recall = len(planted & ours_found) / len(planted)
    ds_recall = len(planted & ds_found) / len(planted)
    semantic = _semantic()
    write_result(
        "contamination",
        {
            "near": {
                "n_docs": df.height,
                "planted_leaks": len(planted),
                "num_perm": NUM_PERM,
                "threshold": THRESHOLD,
                "shingle": f"char {K}-grams of normalised text",
                "workbench_s": round(ours_s, 2),
                "datasketch_s": round(ds_s, 2),
                "speedup_vs_datasketch": round(ds_s / ours_s, 2),
                "workbench_recall": round(ours_recall, 4),
                "datasketch_recall": round(ds_recall, 4),
                "workbench_pairs": len(ours_found),
                "datasketch_pairs": len(ds_found),
                "datasketch_candidates": ds_candidates,
                "pairs_found_by_both": len(ours_found & ds_found),
            },
            "semantic": semantic,
            "goals": {
                "speedup_vs_datasketch": ">= 1.0 at workbench_recall >= datasketch_recall - 0.01",
                "semantic": "peak_traced_mib << full_matrix_mib; planted_found == planted",
            },
        },
    )


if __name__ == "__main__":
    main()
