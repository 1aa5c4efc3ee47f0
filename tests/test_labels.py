"""Label statistics against reference implementations and published values; suspect labels vs cleanlab;
the label-bias test finds the planted bias and stays quiet on unbiased labelers."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import polars as pl
import pytest
from sklearn.metrics import cohen_kappa_score

from workbench import demo
from workbench.audit import run_check
from workbench.checks import all_checks
from workbench.checks import labels as L
from workbench.checks.base import Context
from workbench.errors import InputError, SchemaError
from workbench.text_features import tokens

NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 coders x 12 units
KRIPPENDORFF_EXAMPLE = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
)


# --- agreement -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_equals_sklearn(seed, weights):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, 200)
    b = np.where(rng.random(200) < 0.6, a, rng.integers(0, 4, 200))
    assert L.cohen_kappa(a, b, weights=weights) == pytest.approx(cohen_kappa_score(a, b, weights=weights), abs=1e-12)
    names = np.array(["fresh", "rotten", "plot", "meh"])
    assert L.cohen_kappa(names[a], names[b]) == pytest.approx(cohen_kappa_score(names[a], names[b]), abs=1e-12)


def test_cohen_kappa_edges():
    assert L.cohen_kappa(["a", "b", "a"], ["a", "b", "a"]) == 1.0
    assert math.isnan(L.cohen_kappa(["a", "a"], ["a", "a"]))
    with pytest.raises(InputError, match="same length"):
        L.cohen_kappa(["a"], ["a", "b"])
    with pytest.raises(InputError, match="missing"):
        L.cohen_kappa(["a", None], ["a", "b"])


def test_fleiss_kappa_published_example():
    # Fleiss (1971) style example as tabulated on Wikipedia: 10 subjects, 14 raters, 5 categories, kappa 0.210
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert L.fleiss_kappa(table) == pytest.approx(0.20993, abs=5e-5)


def test_fleiss_kappa_two_raters_matches_scott_pi_and_alpha():
    # with two raters Fleiss' kappa is Scott's pi, which Krippendorff's nominal alpha approaches as n grows:
    # alpha = 1 - (2n - 1)/(2n) * (1 - pi)
    rng = np.random.default_rng(1)
    a = rng.integers(0, 3, 300)
    b = np.where(rng.random(300) < 0.7, a, rng.integers(0, 3, 300))
    counts = np.zeros((300, 3))
    np.add.at(counts, (np.arange(300), a), 1)
    np.add.at(counts, (np.arange(300), b), 1)
    pi = L.fleiss_kappa(counts)
    n = 300
    assert L.krippendorff_alpha(np.array([a, b], dtype=float)) == pytest.approx(1 - (2 * n - 1) / (2 * n) * (1 - pi))


def test_fleiss_kappa_errors():
    with pytest.raises(InputError, match="same number"):
        L.fleiss_kappa([[1, 1], [2, 1]])
    with pytest.raises(InputError, match="2-D"):
        L.fleiss_kappa([1, 2, 3])


@pytest.mark.parametrize(("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_krippendorff_published_worked_example(level, published):
    ours = L.krippendorff_alpha(KRIPPENDORFF_EXAMPLE, level)
    assert round(ours, 3) == published
    assert ours == pytest.approx(krippendorff.alpha(reliability_data=KRIPPENDORFF_EXAMPLE, level_of_measurement=level))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("level", L.LEVELS)
def test_krippendorff_equals_package_with_missing_values(seed, level):
    rng = np.random.default_rng(seed)
    coders, units = int(rng.integers(2, 6)), int(rng.integers(5, 40))
    truth = rng.integers(0, 5, units)
    x = np.where(rng.random((coders, units)) < 0.7, truth, rng.integers(0, 5, (coders, units))).astype(float)
    x[rng.random(x.shape) < 0.25] = NAN
    expected = krippendorff.alpha(reliability_data=x, level_of_measurement=level)
    assert L.krippendorff_alpha(x, level) == pytest.approx(expected, abs=1e-10)


def test_krippendorff_category_names_and_errors():
    names = np.array([["a", "b", None], ["a", "b", "b"]], dtype=object)
    codes = np.array([[0, 1, NAN], [0, 1, 1]])
    assert L.krippendorff_alpha(names) == pytest.approx(L.krippendorff_alpha(codes))
    with pytest.raises(InputError, match="numeric"):
        L.krippendorff_alpha(names, "interval")
    with pytest.raises(InputError, match="level"):
        L.krippendorff_alpha(codes, "ratio-ish")
    assert math.isnan(L.krippendorff_alpha(np.array([[1.0, NAN], [NAN, 2.0]])))  # nothing pairable


def test_bootstrap_intervals_cover_and_shrink():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 400)
    b = np.where(rng.random(400) < 0.8, a, rng.integers(0, 2, 400))
    small = L.agreement(a[:60], b[:60], n_boot=300)
    big = L.agreement(a, b, n_boot=300)
    for r in (small, big):
        assert r.cohen_kappa_lo < r.cohen_kappa < r.cohen_kappa_hi
        assert r.alpha_lo < r.alpha < r.alpha_hi
    assert big.cohen_kappa_hi - big.cohen_kappa_lo < small.cohen_kappa_hi - small.cohen_kappa_lo
    assert L.agreement(a, b, n_boot=200, seed=3) == L.agreement(a, b, n_boot=200, seed=3)
    m = L.agreement(matrix=KRIPPENDORFF_EXAMPLE, level="interval", n_boot=200)
    assert m.alpha_lo <= m.alpha <= m.alpha_hi and m.n == 12


# --- accuracy ------------------------------------------------------------------------------------


def test_label_accuracy_with_wilson_intervals():
    df = pl.DataFrame(
        {
            "label": ["a"] * 10 + ["b"] * 10,
            "reference_label": ["a"] * 8 + ["b"] * 2 + ["b"] * 5 + ["a"] * 5,
            "label_source": ["m1"] * 10 + ["m2"] * 10,
        }
    )
    t = L.label_accuracy(df)
    assert t["label_source"].to_list() == ["m1", "m2"] and t["accuracy"].to_list() == [0.8, 0.5]
    # Wilson 95% interval for 8/10: [0.4902, 0.9433]
    assert t["lo"][0] == pytest.approx(0.4902, abs=1e-4) and t["hi"][0] == pytest.approx(0.9433, abs=1e-4)
    per = L.label_accuracy(df, per_label=True)
    m1 = per.filter(pl.col("label_source") == "m1")
    assert dict(zip(m1["reference_label"], m1["accuracy"])) == {"a": 1.0, "b": 0.0}
    overall = L.label_accuracy(df, by=None)
    assert overall["n"].to_list() == [20] and overall["correct"].to_list() == [13]
    with pytest.raises(SchemaError, match="reference_label"):
        L.label_accuracy(df.drop("reference_label"))


# --- suspect labels ------------------------------------------------------------------------------


def _planted(seed: int, n: int = 600, k: int = 3, d: int = 16):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centers = rng.normal(size=(k, d))
    x = (centers[y] + rng.normal(size=(n, d))).astype(np.float32)
    flips = rng.choice(n, n // 10, replace=False)
    noisy = y.copy()
    noisy[flips] = (y[flips] + rng.integers(1, k, len(flips))) % k
    df = pl.DataFrame({"id": [f"r{i}" for i in range(n)], "text": ["t"] * n, "label": [f"c{v}" for v in noisy]})
    return df, x, noisy, flips


@pytest.mark.parametrize("seed", range(3))
def test_suspect_labels_precision_matches_cleanlab(seed):
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    df, x, noisy, flips = _planted(seed)
    k = len(flips)
    ranked = L.suspect_labels(df, x, seed=0)
    ours = len(set(ranked["id"][:k].to_list()) & {f"r{i}" for i in flips}) / k
    probs = cross_val_predict(
        LogisticRegression(max_iter=2000),
        x,
        noisy,
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        method="predict_proba",
    )
    issues = find_label_issues(noisy, probs, return_indices_ranked_by="self_confidence")
    flagged = set(issues.tolist())
    quality = get_label_quality_scores(noisy, probs)
    ranking = list(issues) + [i for i in np.argsort(quality, kind="stable") if i not in flagged]
    theirs = len(set(ranking[:k]) & set(flips.tolist())) / k
    assert ours > 0.8
    assert abs(ours - theirs) <= 0.05, (ours, theirs)


def test_suspect_labels_frame_and_confident_joint():
    df, x, noisy, _ = _planted(0)
    ranked = L.suspect_labels(df, x)
    assert ranked.columns[0] == "id" and ranked["rank"].to_list() == list(range(1, 601))
    issues = ranked.filter(pl.col("is_issue"))
    assert ranked["is_issue"].to_list() == sorted(ranked["is_issue"].to_list(), reverse=True)  # issues first
    assert issues["self_confidence"].is_sorted()
    assert (issues["suggested_label"] != issues["label"]).all()
    probs = L.out_of_fold_probabilities(x.astype(float), noisy)
    cl = L.confident_learning(probs, noisy)
    assert cl.confident_joint.sum() - np.trace(cl.confident_joint) == int(cl.is_issue.sum())
    assert L.suspect_labels(df, x, seed=1).height == 600


def test_suspect_labels_errors():
    df, x, _, _ = _planted(0, n=30)
    with pytest.raises(InputError, match="embeddings"):
        L.suspect_labels(df)
    with pytest.raises(InputError, match="one row per data row"):
        L.suspect_labels(df, x[:5])
    with pytest.raises(InputError, match="two labels"):
        L.suspect_labels(df.with_columns(label=pl.lit("same")), x)


# --- label bias ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reviews():
    return demo.real(labels=("fresh", "rotten"))


def test_label_bias_names_the_planted_length_bias(reviews):
    df = demo.biased_labeler(reviews.sample(800, seed=1), seed=0)
    r = L.label_bias_test(df)
    top = r.table.row(0, named=True)
    assert top["feature"] in ("n_words", "n_chars") and top["significant"] and top["lo"] > 0.5
    assert top["wrong_label"] == "fresh" and top["rate_high"] > 2 * top["rate_low"]
    assert {"n_words", "n_chars"} <= set(r.biased)
    assert r.examples.height > 0 and "id" in r.examples.columns


@pytest.mark.parametrize(
    ("planted", "condition"),
    [("but", lambda t: "but" in tokens(t)), ("commas", lambda t: t.count(",") >= 2)],
)
def test_label_bias_finds_a_planted_token_and_punctuation_bias(reviews, planted, condition):
    base = reviews.sample(800, seed=4).with_columns(reference_label=pl.col("label"))
    rng = np.random.default_rng(0)
    texts = base["text"].to_list()
    flip = [(condition(t) and rng.random() < 0.4) or rng.random() < 0.05 for t in texts]
    other = {"fresh": "rotten", "rotten": "fresh"}
    df = base.with_columns(label=pl.Series([other[g] if f else g for g, f in zip(base["label"], flip)]))
    r = L.label_bias_test(df)
    assert r.biased[0] == planted


def test_label_bias_quiet_on_unbiased_labelers(reviews):
    # an unbiased labeler (uniform random errors): family-wise false-alarm rate must stay near alpha
    alarms = 0
    for seed in range(20):
        df = demo.biased_labeler(reviews.sample(600, seed=100 + seed), seed=seed, bias=0.0)
        alarms += bool(L.label_bias_test(df).biased)
    assert alarms <= 3  # P(X >= 4) < 0.02 for Binomial(20, 0.05)


def test_label_bias_against_another_labeler(reviews):
    df = demo.biased_labeler(reviews.sample(600, seed=2), seed=1)
    df = df.with_columns(
        other=demo.biased_labeler(df.with_columns(label=pl.col("reference_label")), seed=9, bias=0.0)["label"]
    )
    r = L.label_bias_test(df, reference="other")
    assert r.table.row(0, named=True)["feature"] in ("n_words", "n_chars")


def test_label_bias_errors(reviews):
    df = reviews.head(30).with_columns(reference_label=pl.col("label"))
    with pytest.raises(InputError, match="disagreeing"):
        L.label_bias_test(df)
    with pytest.raises(SchemaError, match="reference_label"):
        L.label_bias_test(reviews.head(30))
    with pytest.raises(InputError, match="unknown surface feature"):
        L.label_bias_test(df, features=("shoe_size",))


def test_label_bias_check(reviews):
    check = all_checks()["label_bias"]
    biased = demo.biased_labeler(reviews.sample(800, seed=1), seed=0)
    result = run_check(check, Context(biased))
    assert result.status == "fail" and "n_words" in result.summary and result.score >= 0.714
    assert result.evidence.height > 0 and "id" in result.evidence.columns
    clean = demo.biased_labeler(reviews.sample(800, seed=1), seed=0, bias=0.0)
    quiet = run_check(check, Context(clean))
    assert quiet.status == "pass", quiet.summary
    missing = run_check(check, Context(reviews.head(40)))
    assert missing.status == "skipped" and "reference_label" in missing.summary


def test_label_bias_chart(reviews):
    from workbench import charts

    r = L.label_bias_test(demo.biased_labeler(reviews.sample(600, seed=1), seed=0))
    spec = charts.spec(charts.label_bias_chart(r.table, top=5))
    data = next(iter(spec["datasets"].values()))
    assert len(data) == 5 and data[0]["feature"] in ("n_words", "n_chars")
    assert data[0]["significant"] == "significant (Holm)"
