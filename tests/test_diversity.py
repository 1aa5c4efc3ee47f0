"""Diversity metrics, synthetic-vs-real comparison, and the over_regularization check."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench import demo
from workbench.checks import all_checks
from workbench.checks.base import Context
from workbench.checks.diversity import (
    OverRegularizationCheck,
    compare,
    compression_ratio,
    distinct_n,
    diversity_metrics,
    length_spread,
    mean_pairwise_similarity,
    stock_phrases,
    type_token_stats,
    vendi_score,
)
from workbench.diversity_metrics import _mattr
from workbench.errors import InputError


@pytest.fixture(scope="module")
def reviews() -> pl.DataFrame:
    return demo.real(labels=("fresh", "rotten"))


def test_vendi_score_is_one_for_identical_rows_and_n_for_orthogonal_rows() -> None:
    v = np.array([[0.3, -1.2, 2.0, 0.5]])
    assert vendi_score(np.repeat(v, 7, axis=0)) == pytest.approx(1.0, abs=1e-9)
    for n, d in ((5, 5), (12, 40)):
        q, _ = np.linalg.qr(np.random.default_rng(n).normal(size=(d, n)))
        assert vendi_score(q.T * 3.0) == pytest.approx(float(n), rel=1e-9)
    # more rows than dimensions (the d x d route): k orthogonal directions repeated -> k
    basis = np.eye(6)[:3]
    assert vendi_score(np.repeat(basis, 50, axis=0)) == pytest.approx(3.0, rel=1e-9)
    # weights act as repetitions; scaling a row changes nothing under the cosine kernel
    x = np.random.default_rng(0).normal(size=(9, 4))
    assert vendi_score(x, weights=np.arange(1, 10)) == pytest.approx(
        vendi_score(np.repeat(x, np.arange(1, 10), axis=0))
    )
    assert vendi_score(x * np.arange(1, 10)[:, None]) == pytest.approx(vendi_score(x))


def test_vendi_score_matches_the_definition_on_the_n_by_n_kernel() -> None:
    x = np.random.default_rng(3).normal(size=(30, 8))
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    lam = np.linalg.eigvalsh(u @ u.T / 30)
    lam = lam[lam > 1e-12]
    assert vendi_score(x) == pytest.approx(float(np.exp(-np.sum(lam * np.log(lam)))), rel=1e-9)


def test_vendi_rejects_bad_embeddings() -> None:
    with pytest.raises(InputError, match="all zeros"):
        vendi_score(np.zeros((3, 4)))
    with pytest.raises(InputError, match="empty"):
        vendi_score(np.zeros((0, 4)))
    with pytest.raises(InputError, match="NaN"):
        vendi_score(np.array([[np.nan, 1.0]]))


def test_mean_pairwise_similarity_matches_brute_force() -> None:
    x = np.random.default_rng(1).normal(size=(25, 6))
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = u @ u.T
    expected = (s.sum() - np.trace(s)) / (25 * 24)
    assert mean_pairwise_similarity(x) == pytest.approx(expected)
    assert mean_pairwise_similarity(np.repeat(x[:1], 4, axis=0)) == pytest.approx(1.0)


def test_distinct_n_compression_and_type_token_stats() -> None:
    texts = ["the cat sat", "the cat ran"]
    assert distinct_n(texts, 1) == pytest.approx(4 / 6)
    assert distinct_n(texts, 2) == pytest.approx(3 / 4)
    assert distinct_n(texts, 3) == pytest.approx(2 / 2)
    assert distinct_n(["one"], 2) == 0.0
    varied = [f"review number {i} says {w}" for i, w in enumerate(["alpha", "beta", "gamma", "delta", "epsilon"] * 20)]
    assert compression_ratio(["the same sentence again"] * 100) > compression_ratio(varied)
    stats = type_token_stats(texts)
    assert stats.tokens == 6 and stats.types == 4 and stats.ttr == pytest.approx(4 / 6)
    spread = length_spread(["a b", "a b c d", "a b c d e f"])
    assert spread.mean == 4 and spread.std == pytest.approx(2.0)


def test_mattr_matches_a_brute_force_moving_window() -> None:
    ids = np.random.default_rng(2).integers(0, 40, size=300)
    w = 50
    brute = np.mean([len(set(ids[s : s + w].tolist())) / w for s in range(len(ids) - w + 1)])
    assert _mattr(ids, w) == pytest.approx(brute)
    assert _mattr(ids[:10], w) == pytest.approx(len(set(ids[:10].tolist())) / 10)


def test_compare_is_quiet_on_real_vs_real(reviews) -> None:
    sample = reviews.sample(1200, seed=4, shuffle=True)["text"].to_list()
    table = compare(sample[:600], sample[600:], n_boot=100, seed=1)
    assert set(table["metric"]) == {
        "distinct_1",
        "distinct_2",
        "distinct_3",
        "compression_ratio",
        "mattr",
        "length_std",
    }
    assert (table["ci_low"] < 0).all() and (table["ci_high"] > 0).all()


def test_compare_finds_low_temperature_collapse(reviews) -> None:
    real_t = reviews.head(600)["text"].to_list()
    synth = demo.markov_by_label(reviews.slice(600, 2000), 600, temperature=0.3, seed=0)["text"].to_list()
    table = compare(real_t, synth, n_boot=100, seed=0)
    d2 = table.filter(pl.col("metric") == "distinct_2").row(0, named=True)
    assert d2["synthetic"] < d2["real"] and d2["ci_high"] < -0.2
    comp = table.filter(pl.col("metric") == "compression_ratio").row(0, named=True)
    assert comp["synthetic"] > comp["real"] and comp["change"] < 0  # more compressible = less diverse


def test_compare_with_embeddings_reports_vendi_and_similarity() -> None:
    rng = np.random.default_rng(0)
    real_e = rng.normal(size=(80, 16))
    synth_e = rng.normal(size=(1, 16)) + 0.05 * rng.normal(size=(80, 16))  # all near one point
    texts = [f"text {i} here" for i in range(80)]
    table = compare(texts, texts, real_embeddings=real_e, synthetic_embeddings=synth_e, n_boot=50)
    vendi = table.filter(pl.col("metric") == "vendi_score").row(0, named=True)
    sim = table.filter(pl.col("metric") == "mean_pairwise_distance").row(0, named=True)
    assert vendi["ci_high"] < 0 and sim["ci_high"] < 0
    assert diversity_metrics(texts, real_e)["vendi_score"] > 10


def test_compare_bad_input() -> None:
    with pytest.raises(InputError, match="at least 2 texts"):
        compare(["only one"], ["a", "b"])
    with pytest.raises(InputError, match="rows but there are"):
        compare(["a", "b"], ["c", "d"], real_embeddings=np.ones((3, 2)), synthetic_embeddings=np.ones((2, 2)))


def _mixed(real_rows: pl.DataFrame, synth_rows: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([real_rows, synth_rows], how="diagonal_relaxed")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_over_regularization_is_quiet_on_real_vs_real(reviews, seed) -> None:
    rows = reviews.sample(1000, seed=seed, shuffle=True)
    df = _mixed(rows.head(500), rows.tail(500).with_columns(origin=pl.lit("synthetic")))
    res = all_checks()["over_regularization"].run(Context(df, seed=seed))
    assert res.status == "pass", res.summary
    assert res.score == 0.0


def test_over_regularization_fails_on_low_temperature_and_mixing_real_data_helps(reviews) -> None:
    real_rows = reviews.head(500)
    train = reviews.slice(500, 2500)
    cold = demo.markov_by_label(train, 500, temperature=0.3, seed=0)
    check = OverRegularizationCheck()
    res = check.run(Context(_mixed(real_rows, cold)))
    assert res.status == "fail" and res.score <= -0.3
    assert {"id", "text", "stock_phrase", "rows_sharing_it"} <= set(res.evidence.columns)
    assert res.evidence["rows_sharing_it"][0] >= 20
    # mitigation: sample at temperature 1 and mix real data into the synthetic set
    warm = demo.markov_by_label(train, 250, temperature=1.0, seed=0)
    mixed = pl.concat([warm, reviews.slice(3000, 250).with_columns(origin=pl.lit("synthetic"))], how="diagonal_relaxed")
    better = check.run(Context(_mixed(real_rows, mixed)))
    assert better.score > res.score / 3


def test_over_regularization_skips_without_synthetic_rows(reviews) -> None:
    check = all_checks()["over_regularization"]
    reason = check.missing_inputs(Context(reviews.head(50)))
    assert reason is not None and "synthetic" in reason


def test_stock_phrases_names_the_most_shared_trigram() -> None:
    out = stock_phrases(["a truly great film", "a truly great cast", "something else here"])
    assert out[0] == ("a truly great", 2) and out[2][1] == 1


def test_over_regularization_with_real_embeddings_is_quiet_on_real_vs_real(reviews, embedder) -> None:
    rows = reviews.sample(600, seed=9, shuffle=True)
    df = _mixed(rows.head(300), rows.tail(300).with_columns(origin=pl.lit("synthetic")))
    emb = embedder.encode(df["text"].to_list())
    res = OverRegularizationCheck().run(Context(df, embeddings=emb, seed=3))
    assert res.status == "pass", res.summary
    assert {"vendi_score", "mean_pairwise_distance"} <= {m["metric"] for m in res.details["metrics"]}


def test_diversity_comparison_chart_marks_each_metric_with_its_interval(reviews) -> None:
    from workbench import charts

    t = reviews["text"].to_list()
    table = compare(t[:100], t[100:200], n_boot=20)
    spec = charts.spec(charts.diversity_comparison_chart(table))
    rule = spec["layer"][0]
    assert rule["mark"]["type"] == "rule" and rule["encoding"]["x2"]["field"] == "ci_high"
    data = next(iter(spec["datasets"].values()))
    assert {d["metric"] for d in data} == set(table["metric"])
