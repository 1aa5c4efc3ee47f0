"""engine="ray" gives the in-process results, on a real local Ray cluster started by this module.

One cluster for the module (`ray.init(num_cpus=2)`: real worker processes; Ray's `local_mode` is
gone), a 200 MB object store, its temporary files under the system temp dir, never the tree.
"""

from __future__ import annotations

import tempfile
import warnings

import numpy as np
import polars as pl
import pytest

from workbench import knn
from workbench.errors import InputError

ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install -e '.[ray]'")
pytestmark = pytest.mark.ray


@pytest.fixture(scope="module", autouse=True)
def cluster():
    if ray.is_initialized():
        ray.shutdown()
    tmp = tempfile.mkdtemp(prefix="wb-ray-")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=200 * 1024**2,
        _temp_dir=tmp,
        log_to_driver=False,
        configure_logging=False,
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


def random_unit(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _docs(n: int = 600, seed: int = 0) -> pl.DataFrame:
    """Texts with planted near duplicates across splits (a few words changed) and exact copies."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(400)]
    base = [" ".join(rng.choice(vocab, size=rng.integers(8, 30))) for _ in range(n)]
    texts, splits = list(base), ["train"] * n
    for i in rng.choice(n, size=n // 5, replace=False):
        words = base[i].split()
        for _ in range(int(rng.integers(0, 3))):
            words[int(rng.integers(len(words)))] = str(rng.choice(vocab))
        texts.append(" ".join(words))
        splits.append("eval")
    return pl.DataFrame({"text": texts, "split": splits, "id": [f"r{i}" for i in range(len(texts))]})


def test_engine_values_are_checked():
    with pytest.raises(InputError, match="engine must be one of"):
        knn.nearest(random_unit(4), random_unit(4), 1, engine="spark")


def test_knn_searches_are_identical():
    x, y = random_unit(700, 16, seed=1), random_unit(900, 16, seed=2)
    d_l, i_l = knn.nearest(x, y, 5)
    d_r, i_r = knn.nearest(x, y, 5, engine="ray")
    assert np.array_equal(i_l, i_r) and np.array_equal(d_l, d_r)
    r_l = knn.kth_neighbour_distances(y, 5)
    r_r = knn.kth_neighbour_distances(y, 5, engine="ray")
    assert np.array_equal(r_l, r_r)
    rx, ry = knn.kth_neighbour_distances(x, 3), r_l
    b_l, b_r = knn.ball_pairs(x, y, rx, ry), knn.ball_pairs(x, y, rx, ry, engine="ray")
    for f in ("x_ball_rows", "x_ball_cols", "y_ball_rows", "y_ball_cols"):
        assert np.array_equal(getattr(b_l, f), getattr(b_r, f)), f
    assert b_l.x_ball_rows.size > 0


def test_coverage_is_identical():
    from workbench.prdc import prdc_result

    real, fake = random_unit(500, 16, seed=4), random_unit(600, 16, seed=5)
    local, remote = prdc_result(real, fake, 5), prdc_result(real, fake, 5, engine="ray")
    assert remote.method == "exact" and "ray" in remote.method_reason
    assert local.metrics() == remote.metrics()
    for flag in ("real_covered", "real_in_synthetic_manifold", "synthetic_ball_count", "real_radius"):
        assert np.array_equal(getattr(local, flag), getattr(remote, flag)), flag
    with pytest.raises(InputError, match="approximate.*engine='local'"):
        prdc_result(real, fake, 5, method="approximate", engine="ray")


def test_near_duplicates_are_identical():
    from workbench.checks.contamination import find_duplicates
    from workbench.minhash import minhash_signatures

    df = _docs()
    sig_l, has_l = minhash_signatures(df["text"], num_perm=64, seed=3)
    sig_r, has_r = minhash_signatures(df["text"], num_perm=64, seed=3, engine="ray")
    assert np.array_equal(sig_l, sig_r) and np.array_equal(has_l, has_r)
    local = find_duplicates(df, kinds=("near",), num_perm=64, seed=3)
    remote = find_duplicates(df, kinds=("near",), num_perm=64, seed=3, engine="ray")
    assert local.height > 50
    assert local.equals(remote)
    # a Ray Dataset in: the same pairs
    via_ds = find_duplicates(ray.data.from_arrow(df.to_arrow()), kinds=("near",), num_perm=64, seed=3)
    assert local.equals(via_ds)


def test_near_duplicates_of_a_file_are_identical(tmp_path):
    from workbench.minhash import near_duplicates_file

    path = tmp_path / "docs.parquet"
    _docs().write_parquet(path)
    local = near_duplicates_file(path, id_column="id", num_perm=64, batch_rows=100)
    assert local.height > 50 and local.equals(near_duplicates_file(path, id_column="id", num_perm=64, engine="ray"))


def test_semantic_duplicates_are_identical():
    from workbench.checks.contamination import find_duplicates

    df = _docs(400)
    emb = random_unit(df.height, 8, seed=4)
    local = find_duplicates(df, kinds=("semantic",), embeddings=emb, semantic_threshold=0.8, block_bytes=40_000)
    remote = find_duplicates(
        df, kinds=("semantic",), embeddings=emb, semantic_threshold=0.8, block_bytes=40_000, engine="ray"
    )
    assert local.height > 10 and local.equals(remote)
    sides = dict(kinds=("semantic",), embeddings=emb, semantic_threshold=0.8, splits_a=["eval"], splits_b=["train"])
    local = find_duplicates(df, **sides, block_bytes=20_000)
    assert local.height > 5 and local.equals(find_duplicates(df, **sides, block_bytes=20_000, engine="ray"))


def test_a_dataset_is_read_in_its_row_order():
    from workbench import distributed

    def _jitter(batch):  # defined here: pickled by value (workers cannot import this test module)
        import random
        import time

        time.sleep(random.random() * 0.05)  # blocks finish out of order
        return batch

    df = _docs(300)
    ds = ray.data.from_arrow(df.to_arrow()).repartition(12).map_batches(_jitter)
    assert distributed.dataset_column(ds, "text") == df["text"].to_list()
    assert distributed.dataset_to_polars(ds).equals(df)
    with pytest.raises(InputError, match=r"no column 'review'; found \['text', 'split', 'id'\]"):
        distributed.dataset_column(ds, "review")


def test_embedding_is_identical(tmp_path, embedder):
    """The same batches through the same model: equal within 1e-6 (most vectors bit for bit)."""
    from workbench.embed import Embedder

    texts = [f"review {i}: " + "a fine film " * (i % 7) + "with a dull script" * (i % 3) for i in range(96)]
    plain = Embedder(cache=False, batch_tokens=512)  # several length-planned batches
    plain._model = embedder.model  # the session's loaded model, without its cache
    local = plain.encode(texts)
    emb = Embedder(cache_dir=tmp_path, batch_tokens=512)
    emb._model = embedder.model  # the driver plans the batches with it; actors load their own
    remote = emb.encode(texts, engine="ray")
    assert emb.stats["computed"] == 96
    assert remote.shape == local.shape and remote.dtype == np.float32
    assert np.abs(remote - local).max() <= 1e-6
    # the cache is the driver's: a second call computes nothing and ships nothing
    again = emb.encode(ray.data.from_items([{"text": t} for t in texts]))
    assert emb.stats["computed"] == 96 and np.array_equal(again, remote)


def test_without_a_cluster_one_is_started_with_a_warning(monkeypatch):
    from workbench import distributed

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda **kw: None)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        distributed.connect()
    assert any("ray.init(address=" in str(w.message) for w in got)
