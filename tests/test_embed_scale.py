"""Embedder at scale: device choice, batches planned by length, work-pulling threads, files embedded in batches."""

from __future__ import annotations

import gzip
import json

import numpy as np
import polars as pl
import pytest

from workbench import demo
from workbench.embed import MAX_BATCH_ROWS, Embedder, resolve_device
from workbench.errors import InputError

TEXTS = [*demo.real(120, seed=3)["text"].to_list(), "x", "a much longer review " * 40, "Ünïcödé 🎬 ok"]


def _sharing(embedder, tmp_path, **kw) -> Embedder:
    e = Embedder(cache_dir=tmp_path, **kw)
    e._model = embedder.model  # share the session's loaded model; the cache is this test's own
    return e


def test_device_choice_on_this_machine():
    import torch

    device, note = resolve_device(None)
    if torch.cuda.is_available():
        assert device == "cuda" and "GPU" in note
    else:
        assert device in ("cpu", "mps")
        if device == "cpu":
            assert "no CUDA or MPS GPU" in note
    with pytest.raises(InputError, match="device must be None"):
        Embedder(device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA GPU.*device=None"):
            resolve_device("cuda")
    with pytest.raises(InputError, match="threads must be"):
        Embedder(threads=0)
    with pytest.raises(InputError, match="batch_tokens must be"):
        Embedder(batch_tokens=-3)


def test_batches_follow_length_and_budget(tmp_path, embedder):
    e = _sharing(embedder, tmp_path, batch_tokens=1024)
    lengths = e._lengths(TEXTS)
    batches = e.plan_batches(TEXTS)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(TEXTS)))  # every text once
    assert np.all(np.diff(lengths[flat]) <= 0)  # longest first
    for b in batches:
        assert len(b) == 1 or len(b) * lengths[b].max() <= 1024  # padded tokens within the budget
        assert len(b) <= MAX_BATCH_ROWS
    assert len(batches[0]) < len(batches[-1])  # long texts in narrow batches, short ones in wide
    assert lengths.max() <= embedder.model.max_seq_length  # truncated like the model truncates
    fixed = _sharing(embedder, tmp_path, batch_size=7).plan_batches(TEXTS)
    assert [len(b) for b in fixed[:-1]] == [7] * (len(fixed) - 1)


@pytest.mark.parametrize("kw", [{}, {"threads": 1}, {"threads": 2, "batch_tokens": 512}, {"batch_size": 16}])
def test_vectors_match_sentence_transformers(tmp_path, embedder, kw):
    raw = embedder.model.encode(TEXTS, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    e = _sharing(embedder, tmp_path, cache=False, progress=False, **kw)
    v = e.encode(TEXTS)
    assert v.dtype == np.float32 and v.shape == raw.shape
    assert np.abs(v - raw).max() < 1e-5  # batch composition moves only the last bits
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-6)


def test_torch_threads_restored(tmp_path, embedder):
    import torch

    before = torch.get_num_threads()
    _sharing(embedder, tmp_path, cache=False, threads=2, batch_tokens=256).encode(TEXTS[:40])
    assert torch.get_num_threads() == before


def _write(tmp_path, kind: str, texts: list[str]):
    if kind == "parquet":
        p = tmp_path / "t.parquet"
        pl.DataFrame({"id": range(len(texts)), "text": texts}).write_parquet(p, row_group_size=50)
        return p
    lines = "".join(json.dumps({"id": i, "text": t}) + "\n" + ("\n" if i == 5 else "") for i, t in enumerate(texts))
    if kind == "jsonl.gz":
        p = tmp_path / "t.jsonl.gz"
        p.write_bytes(gzip.compress(lines.encode()))
        return p
    p = tmp_path / "t.jsonl"
    p.write_text(lines, encoding="utf-8")
    return p


@pytest.mark.parametrize("kind", ["parquet", "jsonl", "jsonl.gz"])
def test_encode_file_equals_encode(tmp_path, embedder, kind):
    path = _write(tmp_path, kind, TEXTS)
    e = _sharing(embedder, tmp_path / "cache", progress=False)
    whole = e.encode(TEXTS)
    out = e.encode_file(path, "text", tmp_path / "out" / "vectors.npy", batch_rows=37)
    assert isinstance(out, np.memmap) and out.shape == whole.shape
    assert np.array_equal(np.load(tmp_path / "out" / "vectors.npy"), whole)  # file order, from the cache
    assert e.stats["hits"] >= len(set(TEXTS))  # the second pass read the cache: a rerun resumes
    assert np.array_equal(e.encode_file(path, batch_rows=1000), whole)  # in memory when out=None


def test_encode_file_bad_input(tmp_path, embedder):
    e = _sharing(embedder, tmp_path / "cache", progress=False)
    with pytest.raises(InputError, match="does not exist"):
        e.encode_file(tmp_path / "missing.jsonl")
    (tmp_path / "t.csv").write_text("text\nhi\n")
    with pytest.raises(InputError, match="reads Parquet"):
        e.encode_file(tmp_path / "t.csv")
    p = _write(tmp_path, "parquet", TEXTS[:5])
    with pytest.raises(InputError, match="no column 'body'.*'text'"):
        e.encode_file(p, "body")
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"text": "fine"}\n{"text": "caf\xe9"}\n')
    with pytest.raises(InputError, match="line 2 is not UTF-8"):
        e.encode_file(bad)
    bad.write_bytes(b'{"text": "fine"}\n{"text": "trunc')
    with pytest.raises(InputError, match="line 2 is not valid JSON"):
        e.encode_file(bad)
    bad.write_text('{"text": "fine"}\n{"text": null}\n')
    with pytest.raises(InputError, match="line 2: 'text' is NoneType"):
        e.encode_file(bad)
    nulls = tmp_path / "n.parquet"
    pl.DataFrame({"text": ["a", None, "b"]}).write_parquet(nulls)
    with pytest.raises(InputError, match=r"null or not a string in rows \[1\]"):
        e.encode_file(nulls)
    with pytest.raises(InputError, match="out must be a .npy"):
        e.encode_file(p, out=tmp_path / "v.bin")


def test_pickles_without_model_cache_or_lock(tmp_path, embedder):
    import pickle

    e = _sharing(embedder, tmp_path, threads=1)
    e.encode(TEXTS[:3])
    copy = pickle.loads(pickle.dumps(e))
    assert copy._model is None and copy._conn is None and copy.threads == 1
    with copy._tok_lock:  # a fresh lock, usable
        pass
