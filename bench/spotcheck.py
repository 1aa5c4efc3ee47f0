"""SpotCheck: Python-side latency from a verdict to the next item on screen, on 5,000 demo rows.

Each verdict is a trait change (what a button click or key press sends) that writes the verdict to
the SQLite store (WAL, synchronous=FULL, committed before returning) and builds the next item.
Reference in the same run: a bare `sqlite3` INSERT + COMMIT with the same pragmas, the floor any
durable store pays. Goals: p95 latency < 50 ms; ratio to the bare insert reported.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from bench._util import write_result
from workbench import demo, spotcheck

N_ROWS, N_VERDICTS = 5_000, 300


def _bare_insert_times(path: Path, n: int) -> list[float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE r (id INTEGER PRIMARY KEY, example_id TEXT, reviewer TEXT, verdict TEXT, at TEXT)")
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO r (example_id, reviewer, verdict, at) VALUES (?, 'ann', 'agree', 'now')", (f"e{i}",))
        conn.execute("COMMIT")
        times.append(time.perf_counter() - t0)
    conn.close()
    return times


def main() -> None:
    import widgets

    df = demo.biased_labeler(demo.real(N_ROWS, seed=0), seed=0)
    df = df.with_columns(
        label_b=demo.biased_labeler(df.with_columns(label=pl.col("reference_label")), seed=1, bias=0.0)["label"]
    )
    labels = spotcheck.labels_long(
        df, labelers={"v1": "label", "v2": "label_b"}, confidences={"v1": "label_confidence"}
    )
    emb = np.random.default_rng(0).normal(size=(df.height, 384)).astype(np.float32)
    order = spotcheck.sample(df, N_VERDICTS + 10, "disagreement", labels=labels, seed=0)["id"].to_list()
    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as tmp:  # the project disk, not a RAM tmpfs
        store = spotcheck.VerdictStore(Path(tmp) / "bench.sqlite")
        w = widgets.SpotCheck(df, store, reviewer="ann", ids=order, labels=labels, embeddings=emb)
        kinds = ["agree", "wrong", "unsure", "label"]
        times = []
        for i in range(N_VERDICTS):
            kind = kinds[i % 4]
            action = {"kind": kind, "nonce": i, "corrected_label": w.corrected_label, "choice": i % 2}
            t0 = time.perf_counter()
            w.action = action
            times.append(time.perf_counter() - t0)
        assert store.reviews().height == N_VERDICTS
        t0 = time.perf_counter()
        w.show_neighbours()
        neighbours_s = time.perf_counter() - t0
        store.close()
        bare = _bare_insert_times(Path(tmp) / "bare.sqlite", N_VERDICTS)
    ms = np.array(times) * 1000
    bare_ms = np.array(bare) * 1000
    p95 = float(np.percentile(ms, 95))
    write_result(
        "spotcheck",
        {
            "n_rows": N_ROWS,
            "n_verdicts": N_VERDICTS,
            "verdict_to_next_ms": {
                "p50": round(float(np.median(ms)), 2),
                "p95": round(p95, 2),
                "max": round(float(ms.max()), 2),
            },
            "bare_sqlite_insert_commit_ms": {
                "p50": round(float(np.median(bare_ms)), 2),
                "p95": round(float(np.percentile(bare_ms, 95)), 2),
            },
            "ratio_p50_vs_bare_insert": round(float(np.median(ms) / np.median(bare_ms)), 2),
            "neighbours_on_request_ms": round(neighbours_s * 1000, 2),
            "goal": {"verdict_to_next_p95_ms": "< 50"},
            "goal_met": p95 < 50,
        },
    )


if __name__ == "__main__":
    main()
