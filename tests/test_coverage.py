"""Coverage: PRDC equal to the reference package, per-example flags, the tail audit, the check."""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import polars as pl
import pytest

from workbench.checks import all_checks
from workbench.checks.base import Context
from workbench.checks.coverage import (
    CoverageIllusionCheck,
    default_n_clusters,
    expected_coverage,
    prdc,
    prdc_result,
    tail_audit,
    top_terms,
)
from workbench.data import validate
from workbench.errors import InputError, WorkbenchWarning
from workbench.provenance import AnchorSet, manifest

METRICS = ("precision", "recall", "density", "coverage")


def reference(real, fake, k):
    from prdc import compute_prdc

    with contextlib.redirect_stdout(io.StringIO()):  # the package prints its input sizes
        return {m: float(v) for m, v in compute_prdc(real, fake, k).items()}


def brute_force(real, fake, k):
    """The paper's definitions on full float64 distance matrices (small data only)."""
    r, f = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    d_rr = np.sqrt(((r[:, None] - r[None]) ** 2).sum(-1))
    d_ff = np.sqrt(((f[:, None] - f[None]) ** 2).sum(-1))
    d_rf = np.sqrt(((r[:, None] - f[None]) ** 2).sum(-1))
    rad_r = np.sort(d_rr, axis=1)[:, k]
    rad_f = np.sort(d_ff, axis=1)[:, k]
    inside_real = d_rf < rad_r[:, None]
    return {
        "real_radius": rad_r,
        "synthetic_radius": rad_f,
        "real_covered": inside_real.any(axis=1),
        "real_ball_count": inside_real.sum(axis=1),
        "synthetic_in_real_manifold": inside_real.any(axis=0),
        "synthetic_ball_count": inside_real.sum(axis=0),
        "real_in_synthetic_manifold": (d_rf < rad_f[None, :]).any(axis=1),
    }


def mixture(n, d=8, comps=range(6), seed=0, spread=5.0):
    """Rows from a fixed mixture of 6 Gaussians (centres from seed 1234), only from `comps`."""
    centres = np.random.default_rng(1234).normal(size=(6, d)) * spread
    rng = np.random.default_rng(seed)
    which = rng.choice(list(comps), size=n)
    return (centres[which] + rng.normal(size=(n, d))).astype(np.float32), which


# --- equality with the reference package ---------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "m", "d", "k", "dtype", "seed"),
    [
        (300, 400, 8, 5, np.float32, 0),
        (500, 300, 32, 3, np.float32, 1),
        (400, 400, 64, 10, np.float64, 2),
        (250, 250, 2, 1, np.float32, 3),
        (600, 500, 384, 5, np.float32, 4),
    ],
)
def test_equals_prdc_package(n, m, d, k, dtype, seed):
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(n, d)).astype(dtype)
    fake = (rng.normal(size=(m, d)) * 1.2 + 0.3).astype(dtype)
    ours = prdc(real, fake, k=k)
    ref = reference(real, fake, k)
    for metric in METRICS:
        assert ours[metric] == pytest.approx(ref[metric], abs=1e-6), metric


def test_equals_prdc_package_on_unit_embeddings_far_from_origin():
    # normalised sentence-embedding-like data, shifted: screening must stay exact after centring
    rng = np.random.default_rng(7)
    base = rng.normal(size=(1, 64)) * 3
    real = base + rng.normal(size=(400, 64)) * 0.05
    fake = base + rng.normal(size=(350, 64)) * 0.06
    ours = prdc(real.astype(np.float32), fake.astype(np.float32), k=5)
    ref = reference(real.astype(np.float32), fake.astype(np.float32), 5)
    for metric in METRICS:
        assert ours[metric] == pytest.approx(ref[metric], abs=1e-6), metric


def test_flags_match_brute_force_definitions():
    real, _ = mixture(220, d=5, seed=1)
    fake, _ = mixture(180, d=5, comps=range(4), seed=2)
    res = prdc_result(real, fake, k=4)
    bf = brute_force(real, fake, 4)
    np.testing.assert_allclose(res.real_radius, bf["real_radius"], rtol=1e-12)
    np.testing.assert_allclose(res.synthetic_radius, bf["synthetic_radius"], rtol=1e-12)
    for name in (
        "real_covered",
        "real_ball_count",
        "synthetic_in_real_manifold",
        "synthetic_ball_count",
        "real_in_synthetic_manifold",
    ):
        np.testing.assert_array_equal(getattr(res, name), bf[name], err_msg=name)
    assert res.coverage == pytest.approx(bf["real_covered"].mean())
    assert res.density == pytest.approx(bf["synthetic_ball_count"].sum() / (4 * 180))


@pytest.fixture(params=["float32", "bfloat16"])
def each_screen(request, monkeypatch):
    """Run a test once with each screening precision (whatever this machine would choose)."""
    monkeypatch.setenv("WORKBENCH_PRDC_SCREEN", request.param)
    return request.param


def test_both_screens_equal_the_reference_exactly(each_screen):
    rng = np.random.default_rng(5)
    for n, m, d, k in [(300, 250, 32, 5), (200, 400, 384, 3), (150, 150, 8, 10)]:
        real = rng.normal(size=(n, d)).astype(np.float32)
        fake = (rng.normal(size=(m, d)) * 1.2 + 0.3).astype(np.float32)
        fake[:20] = real[:20]  # exact duplicates across the sets: distance 0 sits on every boundary
        real[50:56] = real[49]  # a point with k or more duplicates: radius 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WorkbenchWarning)
            ours = prdc_result(real, fake, k=k)
        r64, f64 = real.astype(np.float64), fake.astype(np.float64)
        rr = np.sqrt(((r64[:, None] - r64[None]) ** 2).sum(-1))
        ff = np.sqrt(((f64[:, None] - f64[None]) ** 2).sum(-1))
        rf = np.sqrt(((r64[:, None] - f64[None]) ** 2).sum(-1))
        r_rad, f_rad = np.sort(rr, axis=1)[:, k], np.sort(ff, axis=1)[:, k]
        np.testing.assert_allclose(ours.real_radius, r_rad, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours.synthetic_radius, f_rad, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(ours.real_ball_count, (rf < r_rad[:, None]).sum(1))
        np.testing.assert_array_equal(ours.real_in_synthetic_manifold, (rf < f_rad[None, :]).any(1))


# --- the paper's expectations --------------------------------------------------------------------


def test_expected_coverage_formula():
    assert expected_coverage(10**7, 10**7, 5) == pytest.approx(1 - 2**-5, abs=1e-6)
    assert expected_coverage(10**7, 10**7, 3) == pytest.approx(1 - 2**-3, abs=1e-6)
    # N=6, M=4, k=2: uncovered iff both nearest of the other 5 real + 4 synthetic are real
    assert expected_coverage(6, 4, 2) == pytest.approx(1 - (5 / 9) * (4 / 8))


@pytest.mark.parametrize("k", [3, 5])
def test_same_distribution_coverage_and_density(k):
    real, _ = mixture(3000, d=6, seed=10)
    fake, _ = mixture(3000, d=6, seed=11)
    res = prdc_result(real, fake, k=k)
    assert res.coverage == pytest.approx(1 - 2**-k, abs=0.02)
    assert res.density == pytest.approx(1.0, abs=0.08)
    assert res.precision > 0.8 and res.recall > 0.8


def test_bootstrap_intervals():
    real, _ = mixture(600, seed=3)
    fake, _ = mixture(500, comps=range(5), seed=4)
    out = prdc(real, fake, bootstrap=300, seed=1)
    for metric in METRICS:
        lo, hi = out["ci"][metric]
        assert lo <= out[metric] <= hi, metric
        assert hi - lo < 0.2
    assert out == prdc(real, fake, bootstrap=300, seed=1)  # seeded
    res = prdc_result(real, fake, bootstrap=200, confidence=0.5)
    wide = res.bootstrap(200, confidence=0.99)
    assert wide["coverage"][1] - wide["coverage"][0] > res.ci["coverage"][1] - res.ci["coverage"][0]


# --- bad input -----------------------------------------------------------------------------------


def test_bad_input_errors_name_the_problem():
    rng = np.random.default_rng(0)
    ok = rng.normal(size=(20, 4))
    with pytest.raises(InputError, match="different dimensions"):
        prdc(ok, rng.normal(size=(20, 5)))
    nan = ok.copy()
    nan[3, 1] = np.nan
    with pytest.raises(InputError, match=r"NaN or inf in 1 row\(s\) \(rows 3\)"):
        prdc(nan, ok)
    inf = ok.copy()
    inf[7, 0] = np.inf
    with pytest.raises(InputError, match="synthetic embeddings contain NaN or inf"):
        prdc(ok, inf)
    with pytest.raises(InputError, match="synthetic set is empty"):
        prdc(ok, np.zeros((0, 4)))
    with pytest.raises(InputError, match="at least k\\+1=6"):
        prdc(ok, ok[:5])
    with pytest.raises(InputError, match="real set has 3 row"):
        prdc(ok[:3], ok, k=5)
    with pytest.raises(InputError, match="2-D array"):
        prdc(ok[0], ok)
    with pytest.raises(InputError, match="positive integer"):
        prdc(ok, ok, k=0)
    with pytest.raises(InputError, match="memory_mb"):
        prdc(ok, ok, memory_mb=0)


def test_duplicate_points_have_zero_radius_and_warn():
    rng = np.random.default_rng(5)
    real = rng.normal(size=(60, 3))
    real[:8] = real[0]  # eight copies: radius 0 for each of them at k=5
    fake = rng.normal(size=(60, 3))
    fake[:3] = real[0]  # synthetic copies sitting exactly on them still do not cover them
    with pytest.warns(WorkbenchWarning, match="8 real and 0 synthetic"):
        res = prdc_result(real, fake, k=5)
    assert np.all(res.real_radius[:8] == 0)
    assert not res.real_covered[:8].any()
    ref = reference(real.astype(np.float32), fake.astype(np.float32), 5)
    assert res.coverage == pytest.approx(ref["coverage"], abs=1e-6)
    assert res.precision == pytest.approx(ref["precision"], abs=1e-6)


# --- tail audit ----------------------------------------------------------------------------------


def _texts(which):
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    return [f"{words[c]} story number {i} with {words[c]}s" for i, c in enumerate(which)]


def test_tail_audit_ranks_the_planted_missing_cluster_first():
    real, rc = mixture(900, seed=20)
    fake, fc = mixture(900, comps=[0, 1, 2, 3, 5], seed=21)  # component 4 never generated
    real_df = pl.DataFrame({"text": _texts(rc), "topic": [f"t{c}" for c in rc]})
    synth_df = pl.DataFrame({"text": _texts(fc), "topic": [f"t{c}" for c in fc]})
    audit = tail_audit(real, fake, real_df, synth_df, n_clusters=8, seed=0)
    first = audit.clusters.row(0, named=True)
    members = np.asarray(audit.real_rows["cluster"].to_list()) == first["cluster"]
    assert np.mean(rc[members] == 4) > 0.9  # the worst cluster is the missing component
    assert first["coverage"] < 0.1 and first["synthetic_rows"] == 0
    assert "echo" in first["top_terms"].split(", ")[:2]
    assert all("echo" in t for t in first["examples"])
    assert audit.clusters["rank"].to_list() == list(range(1, 9))
    assert audit.clusters["gap"].is_sorted(descending=True)  # the ranking key: worse of coverage and representation
    # the missing component's clusters (k-means may split it) lead the ranking; every other
    # cluster is covered as same-distribution data would be
    labels = np.asarray(audit.real_rows["cluster"].to_list())
    missing = [c for c in audit.clusters["cluster"] if np.mean(rc[labels == c] == 4) > 0.5]
    assert audit.clusters["cluster"].to_list()[: len(missing)] == missing
    assert audit.clusters["coverage"][len(missing) :].min() > 0.8
    by = audit.by("topic")
    assert by.row(0, named=True)["group"] == "t4" and by.row(0, named=True)["coverage"] < 0.1
    assert by["real_rows"].sum() == 900 and by["synthetic_rows"].sum() == 900
    unc = audit.uncovered()
    assert unc.height == int((~audit.prdc.real_covered).sum())
    assert unc["rank"][0] == 1 and unc["rank"].is_sorted()


def test_tail_audit_group_density_averages_to_overall():
    real, _ = mixture(500, seed=30)
    fake, _ = mixture(400, seed=31)
    audit = tail_audit(real, fake, n_clusters=5)
    t = audit.clusters
    assert (t["real_share"] * t["density"]).sum() == pytest.approx(audit.prdc.density)
    assert (t["real_share"] * t["coverage"]).sum() == pytest.approx(audit.prdc.coverage)
    assert audit.real_rows["id"][0] == "real-0"  # ids made up when no frame is given
    assert t["synthetic_rows"].sum() == 400


def test_tail_audit_inputs():
    real, _ = mixture(100, seed=1)
    fake, _ = mixture(100, seed=2)
    with pytest.raises(InputError, match="frame has 3 rows"):
        tail_audit(real, fake, pl.DataFrame({"text": ["a", "b", "c"]}))
    with pytest.raises(InputError, match="n_clusters"):
        tail_audit(real, fake, n_clusters=0)
    audit = tail_audit(real, fake, n_clusters=3)
    with pytest.raises(InputError, match="column 'nope'"):
        audit.by("nope")
    with pytest.raises(InputError, match="other embeddings"):
        tail_audit(real, fake[:50], result=audit.prdc)


def test_default_n_clusters_rule():
    assert default_n_clusters(2) == 1
    assert default_n_clusters(200) == 10
    assert default_n_clusters(1_000_000) == 30


def test_top_terms_are_class_based():
    texts = ["cats purr softly", "cats nap often", "dogs bark loudly", "dogs fetch balls", "film film film"]
    groups = np.array([0, 0, 1, 1, 2])
    terms = top_terms(texts, groups, 3, n_terms=2)
    assert terms[0][0] == "cats" and terms[1][0] == "dogs" and terms[2] == ["film"]
    assert top_terms(["🙂", "🙃"], np.array([0, 1]), 2) == [[], []]


# --- the registered check ------------------------------------------------------------------------


def _frame_and_embeddings(real, fake, rc=None, fc=None):
    rc = np.zeros(len(real), int) if rc is None else rc
    fc = np.zeros(len(fake), int) if fc is None else fc
    df = validate(
        pl.DataFrame(
            {
                "text": [f"real {t}" for t in _texts(rc)] + [f"synthetic {t}" for t in _texts(fc)],
                "origin": ["real"] * len(real) + ["synthetic"] * len(fake),
            }
        )
    )
    return df, np.vstack([real, fake]).astype(np.float32)


def test_check_is_registered():
    assert isinstance(all_checks()["coverage_illusion"], CoverageIllusionCheck)


def test_check_fails_on_planted_gap_and_lists_uncovered_rows():
    real, rc = mixture(700, seed=40)
    fake, fc = mixture(700, comps=[0, 1, 2, 4, 5], seed=41)
    df, emb = _frame_and_embeddings(real, fake, rc, fc)
    result = CoverageIllusionCheck().run(Context(df, embeddings=emb))
    assert result.status == "fail"
    assert "essentially uncovered" in result.summary
    ev = result.evidence
    assert {"id", "text", "cluster"} <= set(ev.columns)
    real_ids = set(df.filter(pl.col("origin") == "real")["id"].to_list())
    assert set(ev["id"].to_list()) <= real_ids
    # the evidence: the rows of the missing component's cluster(s) first, then every other
    # uncovered real row
    in_gap = ev.filter(pl.col("reason") == "in an essentially uncovered cluster")
    assert in_gap.height > 0 and np.mean(["delta" in t for t in in_gap["text"].to_list()]) > 0.9
    assert ev["reason"].to_list() == sorted(ev["reason"].to_list(), key=lambda r: r == "uncovered")
    n_uncovered = round((1 - result.score) * 700)
    assert ev.filter(~pl.col("covered")).height == n_uncovered
    assert result.details["uncovered_clusters"]


def _thinned(comps, seed, n=700, component=3, share=0.34):
    """Synthetic rows from `comps`, with `component` given about `share` of its fair share."""
    fake, fc = mixture(3 * n, comps=comps, seed=seed)
    keep = (fc != component) | (np.random.default_rng(seed).random(fc.size) < share)
    return fake[keep][:n], fc[keep][:n]


def test_under_represented_cluster_is_not_called_uncovered():
    """Hole 6: a cluster that is covered but gets a third of its share of synthetic rows is
    under-represented, not uncovered; a cluster with no synthetic rows is uncovered. Summary,
    evidence `reason`, details and the report name the two findings apart."""
    from workbench.audit import Audit
    from workbench.report import render_html, report_dict

    real, rc = mixture(700, seed=40)
    # component 4 (echo) never generated, component 3 (delta) at a third of its share
    fake, fc = _thinned([0, 1, 2, 3, 5], seed=41)
    df, emb = _frame_and_embeddings(real, fake, rc, fc)
    result = CoverageIllusionCheck().run(Context(df, embeddings=emb))
    assert result.status == "fail"
    uncovered, under = result.details["uncovered_clusters"], result.details["under_represented_clusters"]
    assert uncovered and under and not set(uncovered) & set(under)
    assert "are essentially uncovered" in result.summary and "are under-represented: covered, but" in result.summary
    # each sentence lists only its own clusters: echo rows are uncovered, delta rows under-represented
    uncovered_part, under_part = result.summary.split("are essentially uncovered")[1].split("are under-represented")
    assert "echo" in uncovered_part and "delta" not in uncovered_part and "delta" in under_part
    ev = result.evidence
    reasons = ev["reason"].unique(maintain_order=True).to_list()
    assert reasons == ["in an essentially uncovered cluster", "in an under-represented cluster", "uncovered"]
    assert ev.filter(pl.col("reason") == "in an essentially uncovered cluster")["text"].str.contains("echo").all()
    thin_rows = ev.filter(pl.col("reason") == "in an under-represented cluster")
    assert thin_rows["text"].str.contains("delta").all() and thin_rows["covered"].mean() > 0.6  # covered

    # only under-represented (the case of the issue): nothing calls it uncovered, nor does the report
    fake, fc = _thinned(range(6), seed=42)
    df, emb = _frame_and_embeddings(real, fake, rc, fc)
    report = Audit(df, embeddings=emb, checks=["coverage_illusion"]).run()
    only = report.results["coverage_illusion"]
    assert only.status == "fail" and only.details["under_represented_clusters"], only.summary
    assert not only.details["uncovered_clusters"] and "uncovered cluster" not in only.summary
    assert "essentially uncovered" not in only.summary and "are under-represented" in only.summary
    check = next(c for c in report_dict(report)["checks"] if c["check"] == "coverage_illusion")
    assert {row["reason"] for row in check["evidence"]} <= {"in an under-represented cluster", "uncovered"}
    page = render_html(report, charts=False)
    assert "in an under-represented cluster" in page and "essentially uncovered" not in page


def test_check_false_alarm_rate_on_same_distribution_data():
    flagged = 0
    seeds = range(20)
    for seed in seeds:
        real, rc = mixture(300, seed=100 + seed)
        fake, fc = mixture(300, seed=200 + seed)
        df, emb = _frame_and_embeddings(real, fake, rc, fc)
        result = CoverageIllusionCheck().run(Context(df, embeddings=emb, seed=seed))
        flagged += result.status != "pass"
    assert flagged / len(seeds) <= 0.05


def test_check_uses_the_anchor_set_when_present():
    real, rc = mixture(200, seed=50)
    fake, fc = mixture(200, comps=[1, 2, 3, 4, 5], seed=51)
    anchor_df = validate(pl.DataFrame({"text": [f"anchor {t}" for t in _texts(rc)], "origin": ["real"] * 200}))
    anchor = AnchorSet(df=anchor_df, manifest=manifest(anchor_df))
    # the audited data holds only synthetic rows plus a few real rows unrelated to the anchor
    other_real, _ = mixture(20, comps=[0], seed=52)
    df, emb = _frame_and_embeddings(other_real, fake, fc=fc)
    result = CoverageIllusionCheck().run(Context(df, anchor=anchor, embeddings=emb, anchor_embeddings=real, seed=0))
    assert result.details["real_source"] == "anchor set" and result.details["n_real"] == 200
    assert result.status == "fail"
    assert set(result.evidence["id"].to_list()) <= set(anchor_df["id"].to_list())


def test_check_skips_with_reason_when_too_few_rows():
    check = CoverageIllusionCheck()
    real, _ = mixture(10, seed=1)
    fake, _ = mixture(3, seed=2)
    df, emb = _frame_and_embeddings(real, fake)
    assert "synthetic rows" in check.missing_inputs(Context(df, embeddings=emb))
    df, emb = _frame_and_embeddings(fake, real)
    assert "real rows" in check.missing_inputs(Context(df, embeddings=emb))


def test_check_thresholds_are_parameters():
    real, rc = mixture(300, seed=60)
    fake, fc = mixture(300, comps=[0, 1, 2, 3, 4], seed=61)
    df, emb = _frame_and_embeddings(real, fake, rc, fc)
    strict = CoverageIllusionCheck().run(Context(df, embeddings=emb))
    lenient = CoverageIllusionCheck(fail_ratio=0.0, warn_ratio=0.0, cluster_fail_ratio=0.0, min_representation=0.0).run(
        Context(df, embeddings=emb)
    )
    assert strict.status == "fail" and lenient.status == "pass"
    assert lenient.score == strict.score


def test_check_reports_duplicates_without_warning_noise():
    real, rc = mixture(80, seed=70)
    real[:7] = real[0]
    fake, fc = mixture(80, seed=71)
    df, emb = _frame_and_embeddings(real, fake, rc, fc)
    with warnings.catch_warnings():
        warnings.simplefilter("error", WorkbenchWarning)
        result = CoverageIllusionCheck().run(Context(df, embeddings=emb))
    assert "exact duplicates" in result.summary


def test_blocks_run_on_worker_threads_and_restore_torch_threads():
    import torch

    before = torch.get_num_threads()
    rng = np.random.default_rng(8)
    real, fake = rng.normal(size=(400, 8)), rng.normal(size=(300, 8))
    out = prdc(real, fake, memory_mb=0.05)  # many small blocks, pulled by the workers
    assert torch.get_num_threads() == before
    assert out == pytest.approx(reference(real.astype(np.float32), fake.astype(np.float32), 5), abs=1e-6)
