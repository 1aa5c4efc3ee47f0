"""Streaming `load()` of a large chat JSONL vs a naive reference, in one run.

Goal (issue 14): `load()` of a 1 GB JSONL chat file streams, with a progress bar, without holding
more than about twice the resulting frame in memory.

A chat file (OpenAI `messages`: a system prompt, then one to four user/assistant exchanges whose
texts are spliced from the bundled Rotten Tomatoes snippets, seeded) is generated in a temporary
folder and deleted afterwards. Each side runs in its own subprocess so its peak memory is its own
(VmHWM of /proc/self/status, minus the resident set just before the call, after imports):

- `workbench`: `workbench.data.load(path, progress=True)`: one row per assistant turn, validated.
- `reference`: `json.loads` of every line into a list, then `pl.DataFrame(records)` (nested
  columns; no per-turn rows, no validation): what one writes without a streaming reader.

Reported: seconds, rows/s, peak memory above the baseline, and that peak relative to the resulting
frame's `estimated_size()`. `python -m bench.load [--mb N]` (default 1024 MB).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench._util import write_result

DEFAULT_MB = 1024
SYSTEM = "You are a helpful film critic. Answer in a few sentences, with one concrete detail."


def generate(path: Path, target_mb: int, seed: int = 0) -> dict:
    """Write about `target_mb` MB of chat JSONL; returns what was written."""
    from workbench import demo

    snippets = demo.real()["text"].to_list()
    rng = np.random.default_rng(seed)
    target = target_mb * 2**20
    written = conversations = turns = 0
    with path.open("w", encoding="utf-8") as f:
        while written < target:
            block = []
            for _ in range(2000):
                n = int(rng.integers(1, 5))
                picks = rng.integers(len(snippets), size=n * 5)
                messages = [{"role": "system", "content": SYSTEM}]
                for t in range(n):
                    user = "Tell me about this film: " + snippets[picks[5 * t]]
                    answer = " ".join(snippets[int(i)] for i in picks[5 * t + 1 : 5 * t + 5])
                    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
                block.append(json.dumps({"id": f"conv-{conversations}", "messages": messages}, ensure_ascii=False))
                conversations += 1
                turns += n
            text = "\n".join(block) + "\n"
            f.write(text)
            written += len(text.encode("utf-8"))
    return {"bytes": path.stat().st_size, "conversations": conversations, "assistant_turns": turns}


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status (this benchmark needs Linux)")


def worker(impl: str, path: str) -> None:
    """Load the file once and print seconds, rows, frame size and memory (MiB) as JSON."""
    import polars as pl

    if impl == "workbench":
        from workbench.data import load

        def run() -> pl.DataFrame:
            return load(path, progress=True)
    else:

        def run() -> pl.DataFrame:
            with open(path, encoding="utf-8") as f:
                records = [json.loads(line) for line in f if line.strip()]
            return pl.DataFrame(records)

    baseline = _status_kb("VmRSS") / 1024
    t0 = time.perf_counter()
    df = run()
    seconds = time.perf_counter() - t0
    peak = _status_kb("VmHWM") / 1024
    print(
        json.dumps(
            {
                "seconds": round(seconds, 2),
                "rows": df.height,
                "frame_mb": round(df.estimated_size("mb"), 1),
                "baseline_rss_mb": round(baseline, 1),
                "peak_rss_mb": round(peak, 1),
                "peak_above_baseline_mb": round(peak - baseline, 1),
            }
        )
    )


def _run(impl: str, path: Path) -> dict:
    proc = subprocess.run(  # stderr (the progress bar) goes to the terminal
        [sys.executable, "-m", "bench.load", "--worker", impl, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=DEFAULT_MB, help="size of the generated file in MB")
    parser.add_argument("--worker", nargs=2, metavar=("IMPL", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(sys.argv[1:] if argv is None and __name__ == "__main__" else argv or [])
    if args.worker:
        worker(*args.worker)
        return
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        path = Path(tmp) / "chats.jsonl"
        t0 = time.perf_counter()
        info = generate(path, args.mb)
        gen_s = time.perf_counter() - t0
        print(f"generated {info['bytes'] / 2**20:,.0f} MiB in {gen_s:.0f} s: {info}", flush=True)
        ours = _run("workbench", path)
        print("workbench:", ours, flush=True)
        ref = _run("reference", path)
        print("reference:", ref, flush=True)
    assert ours["rows"] == info["assistant_turns"], (ours["rows"], info)
    result = {
        "file_mb": round(info["bytes"] / 2**20, 1),
        "conversations": info["conversations"],
        "workbench": {
            **ours,
            "rows_per_s": round(ours["rows"] / ours["seconds"]),
            "mb_per_s": round(info["bytes"] / 2**20 / ours["seconds"], 1),
            "peak_over_frame": round(ours["peak_above_baseline_mb"] / ours["frame_mb"], 2),
        },
        "reference_json_loads_then_dataframe": {
            **ref,
            "rows_per_s": round(ref["rows"] / ref["seconds"]),
            "mb_per_s": round(info["bytes"] / 2**20 / ref["seconds"], 1),
            "peak_over_frame": round(ref["peak_above_baseline_mb"] / ref["frame_mb"], 2),
        },
        "peak_vs_reference": round(ours["peak_above_baseline_mb"] / ref["peak_above_baseline_mb"], 3),
        "goals": {"workbench.peak_over_frame": "<= ~2", "streams with a progress bar": True},
    }
    write_result("load", result)


if __name__ == "__main__":
    main()
