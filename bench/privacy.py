"""Privacy at scale: the `privacy` check on 100k x 100k, and distance to closest record vs SDMetrics.

Goals (issue 13): 100k synthetic vs 100k training rows (and a 100k holdout) completes on 2 cores
within 24 GiB; on the table size SDMetrics' `DCROverfittingProtection` handles here, at least 10x
faster in the same run, with equal values.

- `large`: the registered check end to end (embedding space with random 384-d unit embeddings,
  character n-gram space, copies, rare spans) on 100k training, 100k holdout and 100k synthetic texts.
  Texts are word sequences drawn from the bundled reviews' vocabulary (Zipf-like, by the words'
  frequencies, 8-40 words), 1% of the synthetic rows copies of training records, so every part of
  the check has work to do.
- `sdmetrics`: `workbench.checks.privacy.table_dcr_test` vs `DCROverfittingProtection.compute_breakdown`
  on the same table (4 numeric and 2 categorical columns; train, synthetic and holdout of N rows
  each, 5% of the synthetic rows copies of training rows). Ours: best of 3; SDMetrics: once (it
  takes minutes). The share closer to training and the score must be equal.

Each run is its own subprocess, so `peak_rss_mb` (VmHWM) is its own. `python -m bench.privacy` runs
both; `--sdmetrics-only` skips the 100k run and keeps its figures from the results file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench._util import RESULTS, write_result

LARGE_N = 100_000
DIM = 384
TABLE_N = 10_000
ROUNDS = 3


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _texts(n: int, seed: int) -> list[str]:
    from workbench import demo
    from workbench.text_features import word_tokens

    words: dict[str, int] = {}
    for toks in word_tokens(demo.real()["text"].to_list()):
        for w in toks:
            words[w] = words.get(w, 0) + 1
    vocab = np.array(sorted(words))
    p = np.array([words[w] for w in vocab], dtype=np.float64)
    p /= p.sum()
    rng = np.random.default_rng(seed)
    lengths = rng.integers(8, 41, n)
    flat = vocab[rng.choice(vocab.size, size=int(lengths.sum()), p=p)]
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return [" ".join(flat[bounds[i] : bounds[i + 1]]) for i in range(n)]


def _large_worker(n: int) -> None:
    import polars as pl

    from workbench.audit import run_check
    from workbench.checks.base import Context
    from workbench.checks.privacy import PrivacyCheck
    from workbench.data import validate

    train, holdout, synthetic = _texts(n, 1), _texts(n, 2), _texts(n, 3)
    synthetic[: n // 100] = train[: n // 100]
    df = validate(
        pl.DataFrame(
            {
                "text": train + holdout + synthetic,
                "origin": ["real"] * (2 * n) + ["synthetic"] * n,
                "split": ["train"] * n + ["holdout"] * n + ["generated"] * n,
            }
        )
    )
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(3 * n, DIM)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    t0 = time.perf_counter()
    result = run_check(PrivacyCheck(), Context(df, embeddings=emb, seed=0))
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": _peak_rss_mb(),
                "status": result.status,
                "score": result.score,
                "copies": result.details.get("copies"),
                "spans": result.details.get("spans", {}).get("synthetic_rows_leaking"),
                "closer_to_train": {k: v["closer_to_train"]["value"] for k, v in result.details["dcr"].items()},
            }
        )
    )


def _table(n: int, seed: int):
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40, 12, n).round(),
            "income": rng.lognormal(10, 0.6, n),
            "score": rng.uniform(0, 1, n),
            "visits": rng.poisson(3, n).astype(float),
            "city": rng.choice([f"c{i}" for i in range(12)], n),
            "plan": rng.choice(["free", "basic", "pro"], n),
        }
    )


def _table_data(n: int):
    import pandas as pd

    train, holdout, synthetic = _table(n, 1), _table(n, 2), _table(n, 3)
    synthetic = pd.concat([train.sample(n // 20, random_state=0), synthetic.iloc[n // 20 :]], ignore_index=True)
    return train, synthetic, holdout


def _table_worker(impl: str, n: int) -> None:
    train, synthetic, holdout = _table_data(n)
    if impl == "sdmetrics":
        from sdmetrics.single_table import DCROverfittingProtection

        metadata = {
            "columns": {
                **{c: {"sdtype": "numerical"} for c in ("age", "income", "score", "visits")},
                **{c: {"sdtype": "categorical"} for c in ("city", "plan")},
            }
        }
        t0 = time.perf_counter()
        out = DCROverfittingProtection.compute_breakdown(train, synthetic, holdout, metadata, None)
        seconds = time.perf_counter() - t0
        share, score = float(out["synthetic_data_percentages"]["closer_to_training"]), float(out["score"])
    else:
        from workbench.checks.privacy import table_dcr_test

        table_dcr_test(train.head(50), synthetic.head(50), holdout.head(50))  # warm imports
        t0 = time.perf_counter()
        res = table_dcr_test(train, synthetic, holdout)
        seconds = time.perf_counter() - t0
        share, score = res.closer_to_train.value, res.sdmetrics_score
    print(json.dumps({"seconds": seconds, "peak_rss_mb": _peak_rss_mb(), "closer_to_training": share, "score": score}))


def _spawn(*args: str, timeout: float = 3600) -> dict:
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-m", "bench.privacy", "--worker", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(large: bool = True) -> None:
    ours = [_spawn("table", "workbench", str(TABLE_N)) for _ in range(ROUNDS)]
    theirs = _spawn("table", "sdmetrics", str(TABLE_N))
    best = min(ours, key=lambda r: r["seconds"])
    result: dict = {
        "sdmetrics": {
            "n_train": TABLE_N,
            "n_synthetic": TABLE_N,
            "n_holdout": TABLE_N,
            "columns": "4 numeric, 2 categorical",
            "workbench_seconds": [round(r["seconds"], 3) for r in ours],
            "sdmetrics_seconds": round(theirs["seconds"], 2),
            "speedup": round(theirs["seconds"] / best["seconds"], 1),
            "workbench_peak_rss_mb": round(max(r["peak_rss_mb"] for r in ours), 1),
            "sdmetrics_peak_rss_mb": round(theirs["peak_rss_mb"], 1),
            "closer_to_training": {"workbench": best["closer_to_training"], "sdmetrics": theirs["closer_to_training"]},
            "score": {"workbench": best["score"], "sdmetrics": theirs["score"]},
            "equal": best["closer_to_training"] == theirs["closer_to_training"] and best["score"] == theirs["score"],
        },
        "goals": {"speedup": ">= 10 with equal values", "large": f"{LARGE_N:,} x {LARGE_N:,} within 24 GiB"},
    }
    previous = RESULTS / "privacy.json"
    if large:
        big = _spawn("large", str(LARGE_N), timeout=6 * 3600)
        result["large"] = {
            "n_train": LARGE_N,
            "n_holdout": LARGE_N,
            "n_synthetic": LARGE_N,
            "embedding_dim": DIM,
            "seconds": round(big["seconds"], 1),
            "peak_rss_mb": round(big["peak_rss_mb"], 1),
            "within_24_gib": big["peak_rss_mb"] < 24 * 1024,
            "status": big["status"],
            "copies": big["copies"],
            "synthetic_rows_leaking_spans": big["spans"],
            "closer_to_train": big["closer_to_train"],
        }
    elif previous.exists():
        kept = json.loads(previous.read_text()).get("large")
        if kept:
            result["large"] = kept
    write_result("privacy", result)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        if sys.argv[2] == "large":
            _large_worker(int(sys.argv[3]))
        else:
            _table_worker(sys.argv[3], int(sys.argv[4]))
    else:
        main(large="--sdmetrics-only" not in sys.argv[1:])
