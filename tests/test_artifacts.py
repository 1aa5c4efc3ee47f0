"""Artifact checks: planted tells are named in the top five; real-vs-real splits report none."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from workbench import demo
from workbench.audit import Audit, run_check
from workbench.checks import all_checks
from workbench.checks import artifacts as A
from workbench.checks.base import Context

CHECKS = ("origin_tells", "label_shortcut", "token_label_skew", "score_vanishes")


@pytest.fixture(scope="module")
def real_pool():
    return demo.real(labels=("fresh", "rotten"))


@pytest.fixture(scope="module")
def with_tells(real_pool):
    return pl.concat([real_pool.sample(600, seed=1), demo.template_generator(400, seed=0)], how="diagonal_relaxed")


def _names(features, k=5):
    """Every feature name in the top k entries, including the identical ones merged into them."""
    out = set()
    for f in features[:k]:
        out.add(f["feature"])
        out.update(f["same_as"])
    return out


def test_checks_are_registered_as_artifact_learning():
    registry = all_checks()
    for name in CHECKS:
        assert registry[name].failure_mode == "artifact_learning"


# --- planted tells -------------------------------------------------------------------------------


def test_origin_test_names_the_stock_opening(with_tells):
    r = A.origin_test(with_tells, seed=0)
    assert r.surface.tell and r.ngrams.tell
    assert r.surface.lo > 0.9 and r.ngrams.lo > 0.9
    # TEMPLATE_TELLS "origin: stock opening": every text opens with 'This film' or 'This movie'
    assert "opening_frequency" in _names(r.surface.features)
    grams = _names(r.ngrams.features)
    assert grams & {"[start] this", "this film", "this movie", "[start] this film"}, grams
    ex = r.examples
    assert {"id", "text", "feature"} <= set(ex.columns)
    opening = ex.filter(pl.col("feature") == "opening_frequency")
    assert opening.height and all(t.startswith("This ") for t in opening["text"])
    assert r.tells


def test_label_shortcut_names_punctuation_and_length(with_tells):
    r = A.label_shortcut_test(with_tells, seed=0)
    assert r.synthetic.lo > 0.9
    assert r.real is not None and r.real.auc < 0.7 and r.excess_z > 1.96
    top = _names(r.features)
    # TEMPLATE_TELLS "label: final punctuation" and "label: length"
    assert top & {"ends_with_exclamation", "exclamations", "ends_with_period"}, top
    assert top & {"n_words", "n_chars"}, top


def test_token_statistic_names_the_intensifiers_and_final_punctuation(with_tells):
    r = token_stats = A.token_label_stats(with_tells)
    table = token_stats.table
    top = set(table["token"].head(5)) | {t for row in table["same_as"].head(5).to_list() for t in row}
    # TEMPLATE_TELLS "label: stock intensifier" ('truly' / 'ultimately') and "label: final punctuation"
    assert {"truly", "ultimately", "!"} <= top, top
    assert {"truly", "ultimately"} <= set(r.artifacts) | {
        t for row in table.filter(pl.col("artifact"))["same_as"].to_list() for t in row
    }
    assert r.artifact_row_share > 0.9


def test_gardner_statistic_by_hand():
    from workbench.data import validate

    texts = ["alpha one"] * 20 + ["beta two"] * 10 + ["beta three"] * 10 + ["gamma"] * 12
    labels = ["a"] * 20 + ["a"] * 10 + ["b"] * 10 + ["a"] * 6 + ["b"] * 6
    df = validate(
        pl.DataFrame({"text": texts, "label": labels, "origin": "synthetic"})
        .with_row_index("id")
        .with_columns(pl.col("id").cast(pl.String))
    )
    r = A.token_label_stats(df, min_count=10)
    rows = {row["token"]: row for row in r.table.iter_rows(named=True)}
    # alpha: n=20, all 'a': z = (1 - .5) / sqrt(.25 / 20) = sqrt(20)
    assert rows["alpha"]["z"] == pytest.approx(math.sqrt(20)) and rows["alpha"]["same_as"] == ["one"]
    assert rows["beta"]["z"] == pytest.approx(0.0) and not rows["beta"]["significant"]
    assert rows["gamma"]["p_hat"] == 0.5
    tested = len(rows) + sum(len(x["same_as"]) for x in rows.values())
    assert r.tested == tested * 2
    assert r.threshold_z == pytest.approx(stats.norm.isf(0.01 / r.tested))
    assert rows["alpha"]["significant"] == (math.sqrt(20) > r.threshold_z)
    assert not r.has_real


def test_score_vanishes_and_shrinks_with_randomised_mixed_generators(real_pool):
    ev = real_pool.sample(500, seed=6)
    train_real = real_pool.filter(~pl.col("id").is_in(ev["id"].implode())).sample(1500, seed=5)
    gaps = {}
    for name, syn in [
        ("tells", demo.template_generator(500, seed=0)),
        (
            "mixed",
            pl.concat(
                [demo.template_generator(250, seed=0, tells=False), demo.markov_by_label(train_real, 250, seed=1)],
                how="diagonal_relaxed",
            ),
        ),
    ]:
        r = A.paraphrase_test(pl.concat([ev, syn], how="diagonal_relaxed"), seed=0)
        gaps[name] = r.real_gap
        assert r.accuracy["synthetic"].value > 0.8
    assert gaps["tells"].lo > 0.3
    assert gaps["mixed"].hi < gaps["tells"].lo


def test_checks_fail_on_planted_tells_with_evidence(with_tells):
    report = Audit(with_tells, checks=list(CHECKS)).run()
    for name in CHECKS:
        res = report.results[name]
        assert res.status == "fail", (name, res.summary)
        assert res.evidence.height and {"id", "text"} <= set(res.evidence.columns), name
        assert set(res.evidence["id"]) <= set(with_tells["id"]), name
    assert "opening_frequency" in report.results["origin_tells"].summary


# --- quiet on clean data -------------------------------------------------------------------------


def _real_vs_real(pool: pl.DataFrame, n: int, seed: int) -> pl.DataFrame:
    part = pool.sample(n, seed=seed)
    origin = np.where(np.random.default_rng(seed).permutation(n) < n // 2, "real", "synthetic")
    return part.with_columns(origin=pl.Series(origin))


def test_origin_test_reports_no_tell_on_real_vs_real_in_95_percent_of_seeds(real_pool):
    seeds = range(40)
    covered = 0
    for seed in seeds:
        r = A.origin_test(_real_vs_real(real_pool, 200, seed), seed=seed)
        s, g = r.surface, r.ngrams
        if s.lo <= 0.5 <= s.hi and g.lo <= 0.5 <= g.hi and not r.tells:
            covered += 1
    assert covered / len(seeds) >= 0.95, covered


def test_clean_data_passes_every_artifact_check(real_pool):
    df = _real_vs_real(real_pool, 600, seed=11)
    for name in CHECKS:
        res = run_check(all_checks()[name], Context(df, seed=0))
        assert res.status == "pass", (name, res.summary)
        assert res.evidence.height == 0


def test_markov_text_is_caught_weakly_not_as_a_template(real_pool):
    train = real_pool.sample(2000, seed=9)
    df = pl.concat(
        [
            real_pool.filter(~pl.col("id").is_in(train["id"].implode())).sample(400, seed=3),
            demo.markov_by_label(train, 400, seed=1),
        ],
        how="diagonal_relaxed",
    )
    r = A.origin_test(df, seed=0)
    assert max(r.surface.auc, r.ngrams.auc) < 0.8


# --- statistics and plumbing ---------------------------------------------------------------------


def test_identical_features_are_merged():
    F = np.array([[1, 10, 5], [0, 0, 3], [1, 10, 1], [0, 0, 2]], dtype=float)
    groups = A._merge_identical([0, 1, 2], lambda j: F[:, j], ["a", "b", "c"], 5)
    assert groups == [(0, ["b"]), (2, [])]


def test_not_enough_labels_skips_with_a_reason():
    from workbench.data import validate

    df = validate(
        pl.DataFrame(
            {"text": [f"text number {i}" for i in range(60)], "origin": ["synthetic"] * 60, "label": ["a"] * 60}
        )
    )
    res = run_check(all_checks()["label_shortcut"], Context(df))
    assert res.status == "skipped" and "two or more labels" in res.summary
    res = run_check(all_checks()["token_label_skew"], Context(df))
    assert res.status == "skipped"


def test_deterministic(with_tells):
    a = A.origin_test(with_tells, seed=3)
    b = A.origin_test(with_tells, seed=3)
    assert a.surface == b.surface and a.ngrams == b.ngrams
    assert a.examples.equals(b.examples)


def test_unicode_rich_data_above_the_minimum_runs_cleanly():
    from tests.test_checks_contract import UNICODE
    from workbench.data import validate

    texts = [f"{t} {i}" for i in range(10) for t in UNICODE]
    n = len(texts)
    df = validate(
        pl.DataFrame({"text": texts, "origin": ["real", "synthetic"] * (n // 2), "label": ["a", "b", "a"] * (n // 3)})
    )
    for name in CHECKS:
        res = run_check(all_checks()[name], Context(df, seed=0))
        assert res.status in ("pass", "warn", "fail", "skipped"), (name, res.summary)
        assert "id" in res.evidence.columns
