"""PRDC at scale: `workbench.checks.coverage.prdc` (`workbench.prdc` on the `workbench.knn` kernel) vs the
`prdc` package, in one run.

Goals (issue 4): on 10k real x 10k synthetic 384-d embeddings, at least 5x faster than the `prdc`
package and at most a quarter of its peak memory, with the same four numbers; 100k x 100k
completes within 24 GiB (the package would need three 40 GB distance matrices).

Each implementation runs in its own subprocess so peak memory is its own: `peak_rss_mb` is the
process's maximum resident set (VmHWM of /proc/self/status; not ru_maxrss, which Linux carries
over from the forking parent, so a large parent such as `python -m bench` after the audit benchmark
would inflate it), `compute_peak_mb` that peak minus the resident set
just before the call (after imports and data). Imports are warmed up outside the timing (sklearn
for the package, torch for ours). Rounds alternate between the two; the best time of each counts.

`python -m bench.coverage` runs the 10k comparison; `python -m bench.coverage --large` also runs
100k x 100k (minutes; once is enough: its figures are kept in the results file between runs).
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench._util import RESULTS, peak_rss_mb, write_result

N = 10_000
DIM = 384
K = 5
ROUNDS = 3
LARGE_N = 100_000
METRICS = ("precision", "recall", "density", "coverage")


def _data(n: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit-norm float32 embeddings: real from one Gaussian, synthetic slightly shifted."""
    rng = np.random.default_rng(0)
    real = rng.normal(size=(n, dim)).astype(np.float32)
    fake = (rng.normal(size=(n, dim)) + 0.05).astype(np.float32)
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    fake /= np.linalg.norm(fake, axis=1, keepdims=True)
    return real, fake


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def worker(impl: str, n: int, dim: int) -> None:
    """Run one implementation once and print its timing, memory and metrics as JSON."""
    if impl == "reference":
        from prdc import compute_prdc

        def run(r: np.ndarray, f: np.ndarray) -> dict:
            with contextlib.redirect_stdout(io.StringIO()):
                return compute_prdc(r, f, K)
    else:
        import torch  # noqa: F401  (warm import, like sklearn for the package)

        from workbench.checks.coverage import prdc

        def run(r: np.ndarray, f: np.ndarray) -> dict:
            return prdc(r, f, K)

        warm_r, warm_f = _data(50, dim)
        run(warm_r, warm_f)
    real, fake = _data(n, dim)
    before = _rss_mb()
    t0 = time.perf_counter()
    out = run(real, fake)
    seconds = time.perf_counter() - t0
    peak = peak_rss_mb()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": peak,
                "compute_peak_mb": peak - before,
                "metrics": {m: float(out[m]) for m in METRICS},
            }
        )
    )


def _spawn(impl: str, n: int, dim: int, timeout: float = 3600) -> dict:
    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-m", "bench.coverage", "--worker", impl, str(n), str(dim)]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{impl} worker failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(large: bool = False) -> None:
    runs: dict[str, list[dict]] = {"workbench": [], "reference": []}
    for _ in range(ROUNDS):
        runs["workbench"].append(_spawn("workbench", N, DIM))
        runs["reference"].append(_spawn("reference", N, DIM))
    best = {name: min(r, key=lambda x: x["seconds"]) for name, r in runs.items()}
    ours, ref = best["workbench"], best["reference"]
    max_diff = max(abs(ours["metrics"][m] - ref["metrics"][m]) for m in METRICS)
    result = {
        "n_real": N,
        "n_synthetic": N,
        "dim": DIM,
        "k": K,
        "rounds": ROUNDS,
        "workbench_seconds": [round(r["seconds"], 3) for r in runs["workbench"]],
        "reference_seconds": [round(r["seconds"], 3) for r in runs["reference"]],
        "speedup": round(ref["seconds"] / ours["seconds"], 2),
        "workbench_peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs["workbench"]), 1),
        "reference_peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs["reference"]), 1),
        "workbench_compute_peak_mb": round(max(r["compute_peak_mb"] for r in runs["workbench"]), 1),
        "reference_compute_peak_mb": round(max(r["compute_peak_mb"] for r in runs["reference"]), 1),
        "metrics_workbench": ours["metrics"],
        "metrics_reference": ref["metrics"],
        "max_abs_metric_difference": max_diff,
        "goals": {
            "speedup": ">= 5",
            "peak_rss_ratio": "<= 0.25",
            "compute_peak_ratio": "<= 0.25",
            "large": f"{LARGE_N:,} x {LARGE_N:,} completes within 24 GiB",
        },
    }
    result["peak_rss_ratio"] = round(result["workbench_peak_rss_mb"] / result["reference_peak_rss_mb"], 3)
    result["compute_peak_ratio"] = round(result["workbench_compute_peak_mb"] / result["reference_compute_peak_mb"], 3)
    previous = RESULTS / "coverage.json"
    if large:
        big = _spawn("workbench", LARGE_N, DIM, timeout=6 * 3600)
        result["large"] = {
            "n_real": LARGE_N,
            "n_synthetic": LARGE_N,
            "dim": DIM,
            "seconds": round(big["seconds"], 1),
            "peak_rss_mb": round(big["peak_rss_mb"], 1),
            "within_24_gib": big["peak_rss_mb"] < 24 * 1024,
            "metrics": big["metrics"],
            "reference": "not run: it would hold three 100k x 100k float32 distance matrices (3 x 40 GB)",
        }
    elif previous.exists():
        kept = json.loads(previous.read_text()).get("large")
        if kept:
            result["large"] = kept
    write_result("coverage", result)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main(large="--large" in sys.argv[1:])
