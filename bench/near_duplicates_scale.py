"""Near duplicates on 1M documents: in-process vs Ray on this machine, and the streaming file reader.

The point is equality and overhead, not speed-up (one machine, its cores shared either way).

Corpus: N documents of 20-60 random "words" (random letter strings, 3-9 letters, from a vocabulary
of 20,000), 10% `eval`, 90% `train`; for 1% of N an eval document is copied into train with 1-12
of its words replaced (planted near duplicates at known exact Jaccard similarity of char 3-gram
shingles, computed pair by pair with `minhash.jaccard`). Written once to Parquet in a temp dir.

Three phases, each in its own process so each peak RSS is its own:
- `local`: `find_duplicates(df, kinds=("near",), splits_a=["eval"], splits_b=["train"],
  boilerplate=False)` in process;
- `ray`: the same call with `engine="ray"` on a local cluster of all cores (`ray.init(num_cpus=cpus)`;
  start-up timed apart), and the RSS of the Ray processes sampled every 0.5 s (their sum counts
  shared object-store pages more than once: an upper bound);
- `file`: `minhash.near_duplicates_file` on the Parquet file (all pairs inside the file, in
  batches of 50,000 rows: only signatures and ids held).

Reported: seconds of each, the Ray overhead ratio (ray / local, with and without start-up),
whether the two pair frames are equal, recall of the planted pairs whose exact Jaccard is at least
the threshold (overall and by similarity band), peak RSS. `--quick` (or WORKBENCH_BENCH_QUICK=1):
N / 50 = 20,000 documents; `--n N` any size.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl

from bench._util import peak_rss_mb, write_result

N_FULL = 1_000_000
NUM_PERM, THRESHOLD, K = 128, 0.5, 3
PLANTED_SHARE = 0.01


def _corpus(n: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The documents (id, text, split) and the planted pairs (id_a eval, id_b train, jaccard)."""
    from workbench.minhash import jaccard

    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = np.array(["".join(rng.choice(letters, size=rng.integers(3, 10))) for _ in range(20_000)])
    n_planted = max(1, int(n * PLANTED_SHARE))
    n_base = n - n_planted
    lengths = rng.integers(20, 61, size=n_base)
    words = vocab[rng.integers(0, vocab.size, size=int(lengths.sum()))]
    doc = np.repeat(np.arange(n_base), lengths)
    texts = (
        pl.DataFrame({"doc": doc, "w": words})
        .group_by("doc", maintain_order=True)
        .agg(pl.col("w").str.join(" "))["w"]
        .to_list()
    )
    n_eval = n_base // 10
    split = ["eval"] * n_eval + ["train"] * (n_base - n_eval)
    sources = rng.choice(n_eval, size=n_planted, replace=False)
    planted_texts, jac = [], []
    for s in sources:
        w = texts[s].split(" ")
        for pos in rng.choice(len(w), size=min(len(w), int(rng.integers(1, 13))), replace=False):
            w[pos] = str(vocab[rng.integers(0, vocab.size)])
        t = " ".join(w)
        planted_texts.append(t)
        jac.append(jaccard(texts[s], t, k=K))
    ids = [f"d{i}" for i in range(n)]
    df = pl.DataFrame({"id": ids, "text": texts + planted_texts, "split": split + ["train"] * n_planted})
    planted = pl.DataFrame({"id_a": [ids[s] for s in sources], "id_b": ids[n_base:], "jaccard": jac})
    return df, planted


def _recall(pairs: pl.DataFrame, planted: pl.DataFrame) -> dict[str, object]:
    found = set(zip(pairs["id_a"].to_list(), pairs["id_b"].to_list()))
    found |= {(b, a) for a, b in found}
    hit = np.array([(a, b) in found for a, b in zip(planted["id_a"], planted["id_b"])])
    j = planted["jaccard"].to_numpy()
    above = j >= THRESHOLD
    bands = {}
    for lo, hi in ((0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 1.01)):
        m = (j >= lo) & (j < hi)
        bands[f"{lo:.1f}-{min(hi, 1.0):.1f}"] = {
            "planted": int(m.sum()),
            "recall": round(float(hit[m].mean()), 4) if m.any() else None,
        }
    return {
        "planted": int(planted.height),
        "planted_at_or_above_threshold": int(above.sum()),
        "recall": round(float(hit[above].mean()), 4) if above.any() else None,
        "recall_by_jaccard": bands,
        "found_below_threshold": int(hit[~above].sum()),
        "pairs": int(pairs.height),
    }


class _RaySampler:
    """Peak summed RSS of this process's descendants (the Ray processes), sampled every 0.5 s."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            self.peak = max(self.peak, total / 2**20)
            self._stop.wait(0.5)

    def __enter__(self) -> _RaySampler:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def _phase(name: str, data: Path, out: Path) -> None:
    """One phase, in this (fresh) process; writes its figures and pairs beside the data."""
    from workbench.checks.contamination import find_duplicates
    from workbench.minhash import near_duplicates_file

    res: dict[str, object] = {}
    kw = dict(kinds=("near",), splits_a=["eval"], splits_b=["train"], threshold=THRESHOLD, num_perm=NUM_PERM)
    if name == "file":
        t0 = time.perf_counter()
        pairs = near_duplicates_file(
            data, id_column="id", threshold=THRESHOLD, num_perm=NUM_PERM, k=K, batch_rows=50_000, progress=False
        )
        res["seconds"] = time.perf_counter() - t0
    else:
        df = pl.read_parquet(data)
        if name == "local":
            t0 = time.perf_counter()
            pairs = find_duplicates(df, **kw, shingle_size=K, boilerplate=False)
            res["seconds"] = time.perf_counter() - t0
        else:
            import ray

            with _RaySampler() as sampler:
                t0 = time.perf_counter()
                ray.init(
                    num_cpus=os.cpu_count(),
                    include_dashboard=False,
                    log_to_driver=False,
                    _temp_dir=tempfile.mkdtemp(prefix="wb-bench-ray-"),
                )
                res["startup_seconds"] = time.perf_counter() - t0
                t0 = time.perf_counter()
                pairs = find_duplicates(df, **kw, shingle_size=K, boilerplate=False, engine="ray")
                res["seconds"] = time.perf_counter() - t0
                ray.shutdown()
            res["ray_processes_peak_rss_mib"] = round(sampler.peak, 1)
        del df
    res["peak_rss_mib"] = round(peak_rss_mb(), 1)
    pairs.select("id_a", "id_b", "similarity").write_parquet(out / f"{name}.parquet")
    (out / f"{name}.json").write_text(json.dumps(res))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if "--phase" in argv:
        i = argv.index("--phase")
        _phase(argv[i + 1], Path(argv[i + 2]), Path(argv[i + 3]))
        return
    quick = "--quick" in argv or os.environ.get("WORKBENCH_BENCH_QUICK") == "1"
    n = N_FULL // 50 if quick else N_FULL
    if "--n" in argv:  # another size, for a scaling point (the result records it)
        n = int(argv[argv.index("--n") + 1])
    with tempfile.TemporaryDirectory(prefix="wb-bench-near-") as tmp:
        out = Path(tmp)
        t0 = time.perf_counter()
        df, planted = _corpus(n)
        data = out / "docs.parquet"
        df.write_parquet(data)
        gen_s = time.perf_counter() - t0
        del df
        phases: dict[str, dict[str, object]] = {}
        pairs: dict[str, pl.DataFrame] = {}
        for name in ("local", "ray", "file"):
            subprocess.run(
                [sys.executable, "-m", "bench.near_duplicates_scale", "--phase", name, str(data), str(out)], check=True
            )
            phases[name] = json.loads((out / f"{name}.json").read_text())
            pairs[name] = pl.read_parquet(out / f"{name}.parquet")
        for name in phases:
            phases[name].update(_recall(pairs[name], planted))
            phases[name]["seconds"] = round(float(phases[name]["seconds"]), 2)  # type: ignore[arg-type]
        ray_s = float(phases["ray"]["seconds"])  # type: ignore[arg-type]
        local_s = float(phases["local"]["seconds"])  # type: ignore[arg-type]
        startup = float(phases["ray"]["startup_seconds"])  # type: ignore[arg-type]
        write_result(
            "near_duplicates_scale",
            {
                "quick": quick or n != N_FULL,
                "n_docs": n,
                "num_perm": NUM_PERM,
                "threshold": THRESHOLD,
                "shingle": f"char {K}-grams of normalised text",
                "generate_seconds": round(gen_s, 1),
                "phases": phases,
                "ray_equals_local": pairs["ray"].equals(pairs["local"]),
                "ray_overhead_ratio": round(ray_s / local_s, 2),
                "ray_overhead_ratio_with_startup": round((ray_s + startup) / local_s, 2),
                "goals": (
                    "ray_equals_local; the Ray overhead is reported, not a speed-up (one machine); recall by "
                    "Jaccard band follows the LSH S-curve (lowest just above the threshold)"
                ),
            },
        )


if __name__ == "__main__":
    main()
