"""Embedder: the bundled model, normalised float32, cache hits, corrupt entries recomputed, concurrency."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from workbench.embed import Embedder
from workbench.errors import InputError

TEXTS = ["A tense, clever thriller.", "Dull and far too long.", "A tense, clever thriller.", "Ünïcödé 🎬 ok"]


def test_import_is_cheap():
    code = "import sys, workbench, workbench.embed, workbench.data, workbench.audit; print('sentence_transformers' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_encode_shape_norm_order_and_cache(tmp_path, embedder):
    e = Embedder(cache_dir=tmp_path)
    e._model = embedder.model  # share the loaded model; the cache is this test's own
    v = e.encode(TEXTS)
    assert v.shape == (4, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert np.array_equal(v[0], v[2])
    assert e.stats["computed"] == 3  # the repeated text is embedded once
    again = e.encode(list(reversed(TEXTS)))
    assert np.array_equal(again, v[::-1]) and e.stats["computed"] == 3 and e.stats["hits"] == 3
    raw = embedder.model.encode(TEXTS[:2], normalize_embeddings=True)
    assert np.allclose(v[:2], raw, atol=1e-5)


def test_corrupt_entry_is_recomputed(tmp_path, embedder):
    e = Embedder(cache_dir=tmp_path)
    e._model = embedder.model
    good = e.encode(TEXTS[:2])
    with sqlite3.connect(e.cache_path) as conn:
        conn.execute("UPDATE emb SET vec = zeroblob(length(vec))")  # same length, wrong bytes: crc fails
    fresh = Embedder(cache_dir=tmp_path)
    fresh._model = embedder.model
    again = fresh.encode(TEXTS[:2])
    assert fresh.stats["corrupt"] == 2 and fresh.stats["computed"] == 2
    assert np.allclose(again, good, atol=1e-6)


def test_unreadable_cache_file_is_moved_aside(tmp_path, embedder):
    e = Embedder(cache_dir=tmp_path)
    e._model = embedder.model
    e.cache_path.parent.mkdir(parents=True, exist_ok=True)
    e.cache_path.write_bytes(b"this is not a database" * 100)
    with pytest.warns(UserWarning, match="unreadable"):
        v = e.encode(TEXTS[:1])
    assert v.shape == (1, 384)
    assert list(tmp_path.glob("*.corrupt-*"))


def test_env_var_sets_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "c"))
    assert Embedder().cache_dir == tmp_path / "c"


def test_bad_input():
    e = Embedder()
    with pytest.raises(InputError, match="not one string"):
        e.encode("just one")
    with pytest.raises(InputError, match="needs strings"):
        e.encode(["ok", None])
    with pytest.raises(InputError, match="batch_size"):
        Embedder(batch_size=0)
    with pytest.raises(InputError, match="never downloads"):
        _ = Embedder(model="no-such-model-anywhere").model


def test_empty_input(embedder):
    assert embedder.encode([]).shape == (0, 384)


def test_two_processes_share_one_cache(tmp_path):
    """Two kernels writing the same cache at once: both finish, every vector is readable."""
    script = textwrap.dedent(
        f"""
        import sys
        from workbench.embed import Embedder
        e = Embedder(cache_dir={str(tmp_path)!r})
        texts = [f"text {{i}} from {{sys.argv[1]}}" for i in range(40)] + [f"shared {{i}}" for i in range(40)]
        v = e.encode(texts)
        print(v.shape[0])
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, tag], stdout=subprocess.PIPE, text=True) for tag in "ab"]
    outs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert outs == ["80", "80"] and all(p.returncode == 0 for p in procs)
    with sqlite3.connect(next(tmp_path.glob("*.sqlite"))) as conn:
        assert conn.execute("SELECT count(*) FROM emb").fetchone()[0] == 120
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
