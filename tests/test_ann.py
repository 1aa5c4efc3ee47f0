"""The approximate PRDC path (`workbench.ann`): agreement with exact, the measured agreement report,
the auto choice, determinism, and the coverage check recording which path ran."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

from workbench import ann, knn
from workbench.checks.base import Context
from workbench.checks.coverage import CoverageIllusionCheck, prdc, prdc_result, tail_audit
from workbench.data import validate
from workbench.errors import InputError, WorkbenchWarning
from workbench.prdc import FLAGS, choose_method, estimated_exact_seconds

ARRAYS = (
    "real_radius",
    "synthetic_radius",
    "real_covered",
    "real_in_synthetic_manifold",
    "real_ball_count",
    "synthetic_in_real_manifold",
    "synthetic_ball_count",
)


def clustered(n, d=384, comps=range(20), seed=0, latent=16):
    """Embedding-like rows: 20 clusters (centres from seed 99), each a `latent`-dim Gaussian mapped
    into `d` dimensions plus small isotropic noise; only the clusters in `comps`."""
    g = np.random.default_rng(99)
    centres = g.normal(size=(20, d))
    maps = g.normal(size=(20, d, latent)) / np.sqrt(d)
    rng = np.random.default_rng(seed)
    which = rng.choice(list(comps), size=n)
    z = rng.normal(size=(n, latent))
    x = centres[which] + np.einsum("nij,nj->ni", maps[which], z) + 0.05 * rng.normal(size=(n, d))
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def data_2k():
    real = clustered(2000, seed=1)
    fake = clustered(2000, comps=range(1, 20), seed=2)  # cluster 0 never generated: coverage < 1
    return real, fake, prdc_result(real, fake, 5, method="exact")


def test_approximate_agrees_with_exact_on_clustered_384d_data(data_2k):
    real, fake, exact = data_2k
    approx = prdc_result(real, fake, 5, method="approximate", n_lists=40, n_probe=6, agreement_sample=0)
    assert approx.method == "approximate" and exact.method == "exact"
    assert approx.approximation["n_lists"] == 40 and approx.approximation["n_probe"] == 6
    for flag in FLAGS:
        assert np.mean(getattr(approx, flag) == getattr(exact, flag)) >= 0.99, flag
    for m, v in exact.metrics().items():
        assert approx.metrics()[m] == pytest.approx(v, abs=0.01), m
    # errors are one-sided: radii never below exact, ball memberships never invented
    assert (approx.real_radius >= exact.real_radius).all() and (approx.synthetic_radius >= exact.synthetic_radius).all()
    assert (approx.real_ball_count <= exact.real_ball_count).all()
    assert 0.85 < exact.coverage < 0.99
    assert approx.agreement is None and "not measured" in approx.method_note()


def test_probing_every_cell_is_exact():
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(600, 16)), rng.normal(size=(500, 16)) + 0.2
    exact = prdc_result(real, fake, 4, method="exact")
    full = prdc_result(real, fake, 4, method="approximate", n_lists=5, n_probe=5, agreement_sample=0)
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(full, name), getattr(exact, name), err_msg=name)
    assert full.metrics() == exact.metrics()


def test_auto_on_todays_sizes_is_exact_and_unchanged(data_2k):
    real, fake, exact = data_2k
    auto = prdc_result(real, fake, 5)
    assert auto.method == "exact" and "within" in auto.method_reason and auto.agreement is None
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(auto, name), getattr(exact, name), err_msg=name)
    out = prdc(real, fake, k=5)
    assert set(out) == {"precision", "recall", "density", "coverage"} and out == exact.metrics()
    assert auto.method_note() == ""


def test_auto_switches_past_the_budget():
    assert choose_method("auto", 100_000, 100_000, 384, cores=2)[0] == "exact"
    method, reason = choose_method("auto", 100_000, 1_000_000, 384, cores=2)
    assert method == "approximate" and "over the 300 s budget" in reason
    assert choose_method("auto", 1000, 1000, 384, exact_budget_s=0)[0] == "approximate"
    assert choose_method("exact", 10**7, 10**7, 384) == ("exact", "method='exact' was asked for")
    # 100k x 100k at d=384 took 74 s on 2 cores (bench/results/coverage.json)
    assert 50 < estimated_exact_seconds(100_000, 100_000, 384, cores=2) < 100


def test_agreement_report_with_the_whole_set_as_sample_equals_the_true_agreement():
    real = clustered(700, d=24, seed=4)
    fake = clustered(700, d=24, comps=range(2, 20), seed=5)
    exact = prdc_result(real, fake, 5, method="exact")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WorkbenchWarning)
        poor = prdc_result(real, fake, 5, method="approximate", n_lists=30, n_probe=1, agreement_sample=700)
    g = poor.agreement
    assert g["sample_real"] == g["sample_synthetic"] == 700
    for flag in FLAGS:
        f = g["flags"][flag]
        truth = getattr(exact, flag)
        assert f["agreement"] == pytest.approx(np.mean(getattr(poor, flag) == truth)), flag
        assert f["exact_share"] == pytest.approx(truth.mean()) and f["n"] == 700
        assert f["approximate_share"] == pytest.approx(getattr(poor, flag).mean())
        assert f["low"] <= f["agreement"] <= f["high"]
    assert g["real_radius_exact_share"] == pytest.approx(np.mean(poor.real_radius == exact.real_radius))
    assert g["real_ball_count_exact_share"] == pytest.approx(np.mean(poor.real_ball_count == exact.real_ball_count))
    assert g["synthetic_ball_count_exact_share"] == pytest.approx(
        np.mean(poor.synthetic_ball_count == exact.synthetic_ball_count)
    )


def test_a_poor_index_setting_lowers_the_agreement_and_warns():
    real = clustered(1500, d=32, seed=6)
    fake = clustered(1500, d=32, comps=range(1, 20), seed=7)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WorkbenchWarning)
        good = prdc_result(real, fake, 5, method="approximate", n_lists=20, n_probe=8, agreement_sample=500)
    assert not good.low_agreement and not [w for w in caught if issubclass(w.category, WorkbenchWarning)]
    assert good.agreement["minimum"] >= 0.99
    with pytest.warns(WorkbenchWarning, match="BELOW the 99% threshold"):
        poor = prdc_result(real, fake, 5, method="approximate", n_lists=80, n_probe=1, agreement_sample=500)
    assert poor.low_agreement and poor.agreement["minimum"] < 0.97
    assert "raise n_probe or use method='exact'" in poor.method_note()
    # the check says so too: a would-be pass becomes a warning, the summary names the path
    df, emb = _frame(real, fake)
    with warnings.catch_warnings():
        warnings.simplefilter("error", WorkbenchWarning)  # the check reports, it does not warn
        res = CoverageIllusionCheck(method="approximate", fail_ratio=0, warn_ratio=0, cluster_fail_ratio=0).run(
            Context(df, embeddings=emb)
        )
    assert res.details["prdc_method"] == "approximate"
    assert "Approximate nearest neighbours" in res.summary


def test_bad_method_names_the_accepted_values():
    rng = np.random.default_rng(8)
    real, fake = rng.normal(size=(50, 4)), rng.normal(size=(50, 4))
    accepted = "'auto', 'exact', 'approximate'"
    with pytest.raises(InputError, match=accepted):
        prdc_result(real, fake, method="fast")
    with pytest.raises(InputError, match=accepted):
        prdc(real, fake, method="faiss")
    with pytest.raises(InputError, match=accepted):
        tail_audit(real, fake, method="nope")
    with pytest.raises(InputError, match="'method'.*one of 'auto', 'exact', 'approximate'"):
        CoverageIllusionCheck(method="fast")
    with pytest.raises(InputError, match="n_probe"):
        prdc_result(real, fake, method="approximate", n_probe=0)
    with pytest.raises(InputError, match="agreement_sample"):
        prdc_result(real, fake, method="approximate", agreement_sample=-1)
    with pytest.raises(InputError, match="threads"):
        prdc_result(real, fake, threads=0)


def test_same_inputs_and_seed_give_the_same_flags_whatever_the_thread_count():
    import torch

    real = clustered(1200, d=48, seed=9)
    fake = clustered(1200, d=48, comps=range(3, 20), seed=10)
    before = torch.get_num_threads()
    kw = {"method": "approximate", "n_lists": 30, "n_probe": 3, "agreement_sample": 300, "seed": 5}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WorkbenchWarning)
        a = prdc_result(real, fake, 5, threads=1, **kw)
        b = prdc_result(real, fake, 5, threads=2, **kw)
    assert torch.get_num_threads() == before
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.agreement == b.agreement


def test_partition_basics():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(900, 8))
    p = ann.Partition.fit(x, n_lists=12, n_probe=4, seed=0)
    assert p.n_lists == 12 and p.n_probe == 4 and (p.probes[:, 0] == np.arange(12)).all()
    q = ann.Partition.fit(x, n_lists=12, n_probe=4, seed=0)
    np.testing.assert_array_equal(p.centroids, q.centroids)
    labels = p.assign(x)
    np.testing.assert_array_equal(labels, knn.nearest(x, p.centroids, 1)[1][:, 0])
    r = ann.kth_neighbour_distances(x, 5, p, labels=labels)
    assert (r >= knn.kth_neighbour_distances(x, 5) - 1e-12).all()
    assert (
        ann.default_n_lists(1_100_000) == 537
        and ann.default_n_lists(200_000) == 112
        and ann.default_n_lists(4000) == 15
        and ann.default_n_lists(10) == 1
    )
    with pytest.raises(InputError, match="n_lists"):
        ann.Partition.fit(x, n_lists=0)


def _frame(real, fake):
    df = validate(
        pl.DataFrame(
            {
                "text": [f"real {i}" for i in range(len(real))] + [f"synthetic {i}" for i in range(len(fake))],
                "origin": ["real"] * len(real) + ["synthetic"] * len(fake),
            }
        )
    )
    return df, np.vstack([real, fake]).astype(np.float32)


def test_check_and_tail_audit_record_the_path():
    real = clustered(400, d=16, seed=12)
    fake = clustered(400, d=16, seed=13)
    df, emb = _frame(real, fake)
    default = CoverageIllusionCheck().run(Context(df, embeddings=emb))
    assert default.details["prdc_method"] == "exact" and default.details["prdc_agreement"] is None
    assert "Approximate" not in default.summary
    approx = CoverageIllusionCheck(method="approximate").run(Context(df, embeddings=emb))
    d = approx.details
    assert d["prdc_method"] == "approximate" and d["prdc_approximation"]["n_probe"] >= 1
    assert set(d["prdc_agreement"]["flags"]) == set(FLAGS)
    assert "agree with exact" in approx.summary
    audit = tail_audit(real, fake, method="approximate", agreement_sample=100)
    assert audit.method == "approximate" and audit.prdc.agreement["sample_real"] == 100
