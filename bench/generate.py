"""The bundled SmolLM2 in the loop: generation throughput by batch size, labelling speed and accuracy, load times.

Goals (issue 12): tokens/s at the best batch size at least 8x batch 1, in one run; labelled rows/s
for `LLMLabeler`; loading from the safetensors cache vs dequantizing the GGUF; peak memory.

Two subprocesses, so each peak resident set (VmHWM) is its own:
- `load`: imports torch, transformers and gguf first (outside the timings), then dequantizes the
  GGUF into a temporary cache (`from_gguf_s`) and loads it again from there (`from_cache_s`).
- `run`: the default model cache; generates label-conditioned movie reviews (a `Template` over
  real movie titles from the bundled Rotten Tomatoes data, temperature 0.7, `MAX_NEW_TOKENS`) at
  each batch size in `BATCHES`, counting the tokens each row really got (up to its end of turn);
  then labels `N_LABEL` bundled Rotten Tomatoes snippets with each labeler in `LABELERS` and
  scores them against the real fresh/rotten labels (accuracy with a Wilson 95% interval).

Torch runs with one thread (LocalLM's default), as on a shared 2-core laptop.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._util import peak_rss_mb, write_result

MAX_NEW_TOKENS = 48
# batch size -> rows generated at it (batch 1 is slow: a few rows are enough to time it)
BATCHES = {1: 6, 8: 16, 32: 64, 64: 64, 128: 128}
N_LABEL = 100
LABELERS: dict[str, Any] = {
    "labels ['fresh', 'rotten']": ["fresh", "rotten"],
    "verbalisers positive/negative": {"fresh": "positive", "rotten": "negative"},
    "verbalisers good/bad": {"fresh": "good", "rotten": "bad"},
}


def _load_worker() -> dict[str, Any]:
    import gguf  # noqa: F401  (warm imports: the timings are the model's, not Python's)
    import torch  # noqa: F401
    import transformers  # noqa: F401

    from workbench.generate import LocalLM

    with tempfile.TemporaryDirectory() as cache:
        first = LocalLM(cache_dir=cache).load()
        second = LocalLM(cache_dir=cache).load()
        assert (first.loaded_from, second.loaded_from) == ("gguf", "cache")
        assert first.version == second.version
        size = sum(p.stat().st_size for p in Path(cache).rglob("*") if p.is_file())
    return {
        "from_gguf_s": round(first.load_seconds or 0, 2),
        "from_cache_s": round(second.load_seconds or 0, 2),
        "cache_mb": round(size / 2**20, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def _run_worker() -> dict[str, Any]:
    import numpy as np
    import polars as pl

    from workbench import demo
    from workbench.generate import LLMLabeler, LocalLM, Template
    from workbench.perturb import wilson_interval

    lm = LocalLM().load()
    loaded = {"from": lm.loaded_from, "seconds": round(lm.load_seconds or 0, 2)}
    slugs = demo.real(labels=("fresh", "rotten"))["movie"].unique(maintain_order=True)
    movies = slugs.filter(~slugs.str.contains("%")).str.replace_all("_", " ").str.to_titlecase().to_list()
    lm.generate(["Say hello."], max_new_tokens=4)  # warm up kernels outside the timings

    throughput = {}
    for batch, rows in BATCHES.items():
        variables = pl.DataFrame(
            {"label": ["positive", "negative"] * (rows // 2), "movie": movies[:rows]},
        )
        tpl = Template("Write a short {label} review of the movie {movie}.", variables, name="bench-review")
        t0 = time.perf_counter()
        df = lm.generate(tpl, max_new_tokens=MAX_NEW_TOKENS, batch_size=batch, seed=0, keep_empty=True)
        seconds = time.perf_counter() - t0
        tokens = int(df["n_tokens"].sum())
        throughput[str(batch)] = {
            "rows": df.height,
            "tokens": tokens,
            "seconds": round(seconds, 2),
            "tokens_per_s": round(tokens / seconds, 2),
            "rows_per_s": round(df.height / seconds, 3),
            "stopped_share": round(float((df["finish_reason"] == "stop").mean() or 0), 3),
        }
        print(f"batch {batch}: {throughput[str(batch)]}", file=sys.stderr, flush=True)

    real = demo.real(N_LABEL, labels=("fresh", "rotten"), seed=0)
    truth = np.array(real["label"].to_list())
    labelling = {}
    for name, labels in LABELERS.items():
        labeler = LLMLabeler(labels, model=lm)
        t0 = time.perf_counter()
        out = labeler.label(real)
        seconds = time.perf_counter() - t0
        pred = np.array(out["label"].to_list())
        k = int((pred == truth).sum())
        lo, hi = wilson_interval(k, N_LABEL)
        labelling[name] = {
            "verbaliser_tokens": {lab: len(c) for lab, c in zip(labeler.labels, labeler.continuations())},
            "rows_per_s": round(N_LABEL / seconds, 2),
            "seconds": round(seconds, 2),
            "accuracy": k / N_LABEL,
            "accuracy_wilson95": [round(lo, 3), round(hi, 3)],
            "predicted": {lab: int((pred == lab).sum()) for lab in labeler.labels},
            "mean_confidence": round(float(out["label_confidence"].mean() or 0), 3),
        }
        print(f"labeler {name}: {labelling[name]}", file=sys.stderr, flush=True)
    majority = max(int((truth == lab).sum()) for lab in ("fresh", "rotten")) / N_LABEL
    return {
        "model": lm.name,
        "generator_version": lm.version,
        "threads": lm.threads,
        "default_cache_load": loaded,
        "throughput": throughput,
        "labelling": labelling,
        "labelling_rows": N_LABEL,
        "labelling_majority_baseline": majority,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def _spawn(kind: str, timeout: float = 3600) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-m", "bench.generate", "--worker", kind],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} worker failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    load = _spawn("load")
    run = _spawn("run")
    tps = {int(b): r["tokens_per_s"] for b, r in run["throughput"].items()}
    best = max(tps, key=lambda b: tps[b])
    write_result(
        "generate",
        {
            "max_new_tokens": MAX_NEW_TOKENS,
            "load": load,
            **run,
            "best_batch_size": best,
            "speedup_best_batch_vs_batch_1": round(tps[best] / tps[1], 2),
            "load_speedup_cache_vs_gguf": round(load["from_gguf_s"] / max(load["from_cache_s"], 1e-9), 1),
            "goals": {"speedup_best_batch_vs_batch_1": ">= 8", "from_cache_s": "< 1 (imports warm)"},
        },
    )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        result = _load_worker() if sys.argv[2] == "load" else _run_worker()
        print(json.dumps(result))
    else:
        main()
