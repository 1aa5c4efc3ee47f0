"""Shared fixtures. Tests never touch the network: the embedding model is the bundled one."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("WORKBENCH_CACHE_DIR", str(ROOT / ".cache" / "embeddings"))


@pytest.fixture(scope="session")
def embedder():
    """The real bundled model with the shared on-disk cache (one model load per test session)."""
    from workbench.embed import Embedder

    return Embedder()


@pytest.fixture
def small_df() -> pl.DataFrame:
    from workbench.data import load

    return load(
        pl.DataFrame(
            {
                "text": ["a fine film", "a dull film", "great acting!", "weak script."],
                "origin": ["real", "real", "synthetic", "synthetic"],
                "label": ["fresh", "rotten", "fresh", "rotten"],
                "split": ["anchor", "eval", "train", "train"],
                "generator": [None, None, "template", "template"],
                "generator_version": [None, None, "1.0", "1.0"],
                "prompt_id": [None, None, "p1", "p1"],
                "sampling": [None, None, '{"temperature": 1.0}', '{"temperature": 1.0}'],
            }
        )
    )


def random_unit(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def hold_write_lock():
    """`hold(path)`: another real SQLite connection takes the file's write lock (`BEGIN IMMEDIATE`,
    never committed) and keeps it until the returned `release()` is called (or the test ends)."""
    import sqlite3

    held: list[sqlite3.Connection] = []

    def hold(path: Path):
        conn = sqlite3.connect(path, isolation_level=None, timeout=5)
        conn.execute("BEGIN IMMEDIATE")
        held.append(conn)

        def release() -> None:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()

        return release

    yield hold
    for conn in held:
        conn.close()


@pytest.fixture
def finishes_within():
    """`finishes_within(seconds, fn)`: fn's result (or its exception), failing the test instead of hanging
    when fn has not returned in time (fn runs in a daemon thread, so a hung call cannot block the run)."""
    import threading

    def run(seconds: float, fn):
        out: dict = {}

        def target() -> None:
            try:
                out["value"] = fn()
            except BaseException as exc:  # handed to the test thread
                out["error"] = exc

        t = threading.Thread(target=target, daemon=True)
        t.start()
        t.join(seconds)
        if t.is_alive():
            pytest.fail(f"the call did not return within {seconds} s: it hangs")
        if "error" in out:
            raise out["error"]
        return out["value"]

    return run
