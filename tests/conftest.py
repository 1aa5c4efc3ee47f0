"""Shared fixtures. Tests never touch the network: the embedding model is the bundled one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

# Hypothesis keeps no example database and its unicode tables outside the working tree.
settings.register_profile("workbench", database=None)
settings.load_profile("workbench")
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "synthetic-data-workbench-hypothesis")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
# Embeddings are cached where a user's are (~/.cache/synthetic-data-workbench or $WORKBENCH_CACHE_DIR),
# never in the working tree.


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


def _tree_state() -> set[str] | None:
    """`git status` of the working tree, ignored files included, less interpreter/tool caches."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None  # not a git checkout (an sdist): nothing to compare
    skip = (".venv/", "__pycache__/", ".mypy_cache/", ".ruff_cache/", ".pytest_cache/", ".egg-info/")
    return {line for line in out.stdout.splitlines() if not any(s in line for s in skip)}


@pytest.fixture(scope="session", autouse=True)
def _tests_never_write_into_the_working_tree():
    """Fails the session when any test left a file in (or changed one of) the working tree."""
    before = _tree_state()
    yield
    after = _tree_state()
    if before is not None and after is not None:
        new = sorted(after - before)
        assert not new, f"tests wrote into the working tree (use tmp_path): {new[:20]}"


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
