"""Feedback amplification: the self-consuming chain, MMD tests, the generation report and its check."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import polars as pl
import pytest

from workbench import demo
from workbench.checks import all_checks, drift
from workbench.checks.base import Context
from workbench.checks.diversity import distinct_n, type_token_stats
from workbench.checks.drift import (
    FeedbackAmplificationCheck,
    further_test,
    generation_report,
    median_heuristic,
    mmd_test,
    tail_clusters,
)
from workbench.data import validate
from workbench.errors import InputError, SchemaError
from workbench.provenance import AnchorSet, manifest


@pytest.fixture(scope="module")
def collapsing() -> pl.DataFrame:
    return demo.self_consuming_chain(5, 300, real_share=0.0, seed=0)


@pytest.fixture(scope="module")
def mixed() -> pl.DataFrame:
    return demo.self_consuming_chain(5, 300, real_share=0.5, seed=0)


def _by_generation(df: pl.DataFrame) -> list[list[str]]:
    return [g["text"].to_list() for _, g in df.sort("generation").group_by("generation", maintain_order=True)]


@pytest.mark.parametrize("seed", [0, 1])
def test_self_consuming_chain_loses_diversity_monotonically_and_mixing_holds_it(seed) -> None:
    alone = _by_generation(demo.self_consuming_chain(6, 300, real_share=0.0, seed=seed))
    d2 = [distinct_n(t, 2) for t in alone]
    vocab = [type_token_stats(t).types for t in alone]
    assert all(b < a for a, b in pairwise(d2)), d2
    assert all(b < a for a, b in pairwise(vocab)), vocab
    assert d2[-1] < 0.7 * d2[0]
    with_real = _by_generation(demo.self_consuming_chain(6, 300, real_share=0.5, seed=seed))
    m2 = [distinct_n(t, 2) for t in with_real]
    assert min(m2) > 0.85 * m2[0], m2
    assert m2[-1] > d2[-1] * 1.5


def test_self_consuming_chain_rows_carry_generation_and_provenance(collapsing) -> None:
    assert collapsing["generation"].unique().sort().to_list() == [0, 1, 2, 3, 4]
    assert collapsing.group_by("generation").len()["len"].to_list() == [300] * 5
    assert set(collapsing["origin"]) == {"synthetic"} and collapsing["generator"].null_count() == 0
    again = demo.self_consuming_chain(5, 300, real_share=0.0, seed=0)
    assert again.equals(collapsing)
    with pytest.raises(ValueError, match="real_share"):
        demo.self_consuming_chain(2, 10, real_share=1.5)


def test_median_heuristic_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 3)), rng.normal(size=(15, 3))
    z = np.concatenate([x, y])
    d = [np.linalg.norm(z[i] - z[j]) for i in range(35) for j in range(i + 1, 35)]
    assert median_heuristic(x, y) == pytest.approx(float(np.median(d)))


def test_mmd_test_separates_shifted_samples_and_not_equal_ones() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(120, 5)), rng.normal(size=(120, 5))
    same = mmd_test(a, b, n_perm=300, seed=0)
    assert abs(same.mmd2) < 0.02 and same.p_value > 0.05
    shifted = mmd_test(a, b + 0.6, n_perm=300, seed=0)
    assert shifted.mmd2 > 0.05 and shifted.p_value < 0.01
    with pytest.raises(InputError, match="same width"):
        mmd_test(a, b[:, :3])


def test_further_test_detects_moving_away_from_the_reference() -> None:
    rng = np.random.default_rng(2)
    ref = rng.normal(size=(150, 4))
    near, near2 = rng.normal(size=(100, 4)), rng.normal(size=(100, 4))
    far = 0.3 * rng.normal(size=(100, 4)) + 1.0  # collapsed and shifted
    assert further_test(far, near, ref, n_perm=300).p_value < 0.01
    assert further_test(near2, near, ref, n_perm=300).p_value > 0.05
    assert further_test(near, far, ref, n_perm=300).p_value > 0.5


def test_tail_clusters_hold_at_most_the_tail_share() -> None:
    rng = np.random.default_rng(3)
    centers = np.eye(8) * 5
    sizes = [200, 150, 100, 80, 30, 20, 10, 10]
    x = np.concatenate([c + rng.normal(size=(s, 8)) for c, s in zip(centers, sizes)])
    km, tail = tail_clusters(x, n_clusters=8, tail_share=0.1, seed=0)
    counts = np.bincount(km.labels_, minlength=8)
    assert counts[tail].sum() / x.shape[0] <= 0.1 and len(tail) >= 2


def _gaussian_generations(n_gens: int = 5, n: int = 150, collapse: bool = True, seed: int = 0):
    """Embeddings whose spread shrinks toward one corner with each generation (or stays put)."""
    rng = np.random.default_rng(seed)
    anchor = rng.normal(size=(200, 6))
    embs, rows = [], []
    for g in range(n_gens):
        scale = 0.7**g if collapse else 1.0
        embs.append(scale * rng.normal(size=(n, 6)) + (0.4 * g if collapse else 0.0))
        rows += [{"text": f"row {g}-{i} words here", "generation": g, "origin": "synthetic"} for i in range(n)]
    return validate(pl.DataFrame(rows)), np.concatenate(embs), anchor


def test_generation_report_with_embeddings_flags_the_collapse() -> None:
    df, emb, anchor_emb = _gaussian_generations()
    anchor = validate(pl.DataFrame({"text": [f"anchor {i}" for i in range(200)], "origin": ["real"] * 200}))
    rep = generation_report(df, anchor, embeddings=emb, anchor_embeddings=anchor_emb, n_perm=200)
    t = rep.table
    assert t["vendi_score"].to_list() == sorted(t["vendi_score"].to_list(), reverse=True)
    assert t["mmd2_to_anchor"][-1] > t["mmd2_to_anchor"][0]
    assert t["tail_coverage"][-1] < t["tail_coverage"][0]
    assert rep.degraded and rep.reset_point == rep.degraded[0] - 1
    assert "drifted away from the anchor" in rep.reasons[rep.degraded[-1]]
    stable_df, stable_emb, _ = _gaussian_generations(collapse=False, seed=1)
    stable = generation_report(stable_df, anchor, embeddings=stable_emb, anchor_embeddings=anchor_emb)
    assert stable.degraded == [] and stable.reset_point is None


def test_generation_report_measures_with_prdc(monkeypatch) -> None:
    calls = []

    def fake_prdc(real, fake, k=5):
        calls.append((real.shape, fake.shape, k))
        return {"precision": 0.5, "recall": 0.25, "density": 1.0, "coverage": 0.75}

    monkeypatch.setattr(drift, "prdc", fake_prdc)
    df, emb, anchor_emb = _gaussian_generations(n_gens=2, n=40)
    anchor = validate(pl.DataFrame({"text": [f"anchor {i}" for i in range(200)], "origin": ["real"] * 200}))
    rep = generation_report(df, anchor, embeddings=emb, anchor_embeddings=anchor_emb, n_perm=50)
    assert rep.table["recall"].to_list() == [0.25, 0.25] and calls[0] == ((40, 6), (40, 6), 5)
    assert not any("prdc" in n for n in rep.notes)


def test_generation_report_text_only_finds_the_reset_point(collapsing, mixed) -> None:
    anchor = demo.real(300, labels=("fresh", "rotten"), seed=5)
    rep = generation_report(collapsing, anchor)
    assert rep.degraded == [1, 2, 3, 4] and rep.reset_point == 0
    assert rep.table["distinct_2"].to_list() == sorted(rep.table["distinct_2"].to_list(), reverse=True)
    assert rep.anchor["distinct_2"] > rep.table["distinct_2"][0]
    assert generation_report(mixed, anchor).degraded == []


def test_generation_report_bad_input() -> None:
    df = validate(pl.DataFrame({"text": ["a b", "c d"], "origin": ["synthetic"] * 2}))
    with pytest.raises(SchemaError, match="no 'generation' column"):
        generation_report(df)
    one = df.with_columns(generation=pl.lit(0))
    with pytest.raises(InputError, match="at least 2 generations"):
        generation_report(one)
    thin = validate(pl.DataFrame({"text": ["a", "b", "c"], "origin": ["synthetic"] * 3, "generation": [0, 0, 1]}))
    with pytest.raises(InputError, match="fewer than 2 rows"):
        generation_report(thin)


def test_feedback_amplification_check_fails_without_real_data_and_passes_with_it(collapsing, mixed) -> None:
    anchor_df = demo.real(300, labels=("fresh", "rotten"), seed=5)
    anchor = AnchorSet(df=anchor_df, manifest=manifest(anchor_df))
    check = all_checks()["feedback_amplification"]
    res = check.run(Context(collapsing, anchor=anchor))
    assert res.status == "fail" and res.details["reset_point"] == 0
    assert "reset" in res.summary and res.score < -0.1
    assert set(res.evidence["generation"]) == {4} and "stock_phrase" in res.evidence.columns
    ok = check.run(Context(mixed, anchor=anchor))
    assert ok.status == "pass", ok.summary
    # no anchor: the data's real rows (without a generation) are the reference
    with_real = pl.concat([collapsing, anchor_df], how="diagonal_relaxed")
    res2 = check.run(Context(with_real))
    assert res2.status == "fail" and res2.details["reference"] == "the data's real rows"


def test_feedback_amplification_check_needs_generations() -> None:
    check = FeedbackAmplificationCheck()
    df = validate(pl.DataFrame({"text": ["a", "b", "c", "d"], "origin": ["synthetic"] * 4}))
    assert "generation" in check.missing_inputs(Context(df))
    one = df.with_columns(generation=pl.lit(3))
    assert "at least 2 generations" in check.missing_inputs(Context(one))


def test_generation_trend_chart_facets_metrics_and_marks_the_reset_point(collapsing) -> None:
    from workbench import charts

    rep = generation_report(collapsing, demo.real(100, labels=("fresh", "rotten")))
    spec = charts.spec(
        charts.generation_trend_chart(rep.table, ("distinct_2", "vocab_size"), reset_point=rep.reset_point)
    )
    assert spec["facet"]["field"] == "metric"
    layers = spec["spec"]["layer"]
    assert rep.reset_point is not None
    assert layers[1]["mark"]["type"] == "rule"
    assert f"datum.generation === {rep.reset_point})" in str(layers[1]["transform"])
    data = next(iter(spec["datasets"].values()))
    assert {d["metric"] for d in data} == {"distinct_2", "vocab_size"} and len(data) == 10


def test_phrase_share_counts_matching_rows_per_generation_with_intervals() -> None:
    df = pl.DataFrame(
        {
            "text": ["Here's a rewritten version", "a film", "here's more", "Here's a revised one"],
            "generation": [0, 0, 1, 1],
        }
    )
    t = drift.phrase_share(df, r"(?i)\bhere'?s\b")
    assert t["generation"].to_list() == [0, 1] and t["k"].to_list() == [1, 2] and t["n"].to_list() == [2, 2]
    assert t["share"].to_list() == [0.5, 1.0]
    assert all(lo <= s <= hi for lo, s, hi in zip(t["lo"], t["share"], t["hi"]))
    whole = drift.phrase_share(df.drop("generation"), "rewritten")
    assert whole.height == 1 and whole["k"][0] == 1 and whole["generation"][0] is None
    with pytest.raises(InputError):
        drift.phrase_share(df, "(unclosed")
    with pytest.raises(SchemaError):
        drift.phrase_share(df.drop("text"), "x")
