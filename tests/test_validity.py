"""The validity report: failures planted at graded strengths into real rows, clean resamples, detection
and false-alarm rates per check; and, CI-sized, on the bundled real data (issue 16, part 3)."""

from __future__ import annotations

import json
import re

import numpy as np
import polars as pl
import pytest

from workbench import demo, validity
from workbench.audit import Audit
from workbench.errors import InputError

STRONGEST = {p.name: [p.strengths[-1]] for p in validity.PLANTS}


class Words:
    """A stand-in embedder for unit tests: a hashed bag of words (new texts get vectors without a model)."""

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.seen: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.seen += list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, sum(map(ord, w)) * 2654435761 % self.dim] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.fixture(scope="module")
def small() -> tuple[pl.DataFrame, np.ndarray]:
    real = demo.real(300, seed=3)
    return real, Words().encode(real["text"].to_list())


# --- the bundled real data, CI-sized ---------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled(embedder) -> tuple[validity.ValidityReport, validity.ValidityReport]:
    """The strongest level of every plant, two data sets each and two clean resamples per failure mode,
    on the bundled real reviews (real embeddings from the shared cache): coverage on 2,000 rows (its power
    needs them: see the README table), everything else on 600. The full table, ten seeds, is bench/validity.py."""
    real = demo.real()
    # only the sampled rows are embedded (the shared disk cache holds them after the first run)
    coverage = validity.run(real, embedder=embedder, checks=["coverage_illusion"], seeds=2, strengths=STRONGEST)
    rest = [n for n in validity.all_checks() if n != "coverage_illusion"]
    others = validity.run(real, embedder=embedder, checks=rest, seeds=2, strengths=STRONGEST, max_rows=600)
    return coverage, others


def test_every_check_detects_its_strongest_plant_on_the_bundled_data(bundled) -> None:
    table = pl.concat([v.table for v in bundled])
    measured = set(table["check"])
    expected = {n for n, c in validity.all_checks().items() if c.failure_mode in validity.CLEAN}
    assert measured == expected, expected - measured
    assert set(table["plant"]) == {p.name for p in validity.PLANTS}
    # consistent (Wilson 95%) with detection 9 times in 10, and detected in 90% of all the runs
    missed = table.filter(pl.col("ci_high") < 0.9)
    assert missed.height == 0, missed.select("check", "plant", "detected", "runs").rows()
    assert table["detected"].sum() >= 0.9 * table["runs"].sum()


def test_no_check_cries_wolf_on_clean_resamples_of_the_bundled_data(bundled) -> None:
    table = pl.concat([v.table for v in bundled])
    clean = table.unique("check").select("check", "clean_runs", "false_alarms", "false_alarm_ci_low")
    assert (clean["clean_runs"] == 2).all()
    # no check's false-alarm rate is significantly above 10%, and over all checks it is at most 10%
    loud = clean.filter(pl.col("false_alarm_ci_low") > 0.10)
    assert loud.height == 0, loud.rows()
    assert clean["false_alarms"].sum() <= 0.10 * clean["clean_runs"].sum(), clean.rows()


def test_the_bundled_run_says_what_it_used(bundled) -> None:
    coverage, others = bundled
    assert coverage.n_rows == 2000 and others.n_rows == 600
    assert any("seeded sample of 600 of the data's 6000 real rows" in n for n in others.notes)
    assert others.embedded > 0  # leaked copies, recombinations and rows without boilerplate were embedded
    assert "planted" in coverage.summary.columns and coverage.summary.height == 1


# --- the report --------------------------------------------------------------------------------------


def test_table_runs_and_summary_have_their_columns_and_are_deterministic(small) -> None:
    real, emb = small
    args = dict(embeddings=emb, embedder=Words(), checks=["contamination", "label_bias"], seeds=1)
    strengths = {"contamination": [1, 10], "label_bias": [0.8]}
    v = validity.run(real, strengths=strengths, **args)
    assert list(v.table.columns) == list(validity.TABLE_SCHEMA)
    assert set(v.table["plant"]) == {
        "leak_verbatim",
        "leak_light_edits",
        "leak_heavy_edits",
        "length_bias",
        "punctuation_bias",
        "token_bias",
    }
    assert v.table.filter(pl.col("check") == "contamination")["strength"].unique().sort().to_list() == [1.0, 10.0]
    assert (v.table["runs"] == 1).all() and (v.table["clean_runs"] == 1).all()
    lo, hi = v.table["ci_low"].to_numpy(), v.table["ci_high"].to_numpy()
    assert np.all(lo <= v.table["detection_rate"].to_numpy()) and np.all(v.table["detection_rate"].to_numpy() <= hi)
    # every run is kept: 1 clean + 3 plants x 2 strengths for contamination, 1 + 3 plants x 1 for label_bias
    assert v.runs.filter(pl.col("check") == "contamination").height == 1 + 6
    assert v.runs.filter(pl.col("check") == "label_bias").height == 1 + 3
    verbatim = v.table.filter((pl.col("plant") == "leak_verbatim") & (pl.col("strength") == 10))
    assert verbatim["detection_rate"][0] == 1.0  # ten verbatim copies never pass
    s = v.summary
    assert {"check", "planted", "smallest_reliable_strength", "max_detection_rate", "false_alarm_rate"} <= set(
        s.columns
    )
    again = validity.run(real, strengths=strengths, **(args | {"embedder": Words()}))
    assert again.table.equals(v.table) and again.runs.drop("seconds").equals(v.runs.drop("seconds"))
    doc = v.to_dict()
    assert json.dumps(doc, allow_nan=False) == json.dumps(again.to_dict(), allow_nan=False)
    assert "seconds" not in doc and doc["level"] == "fail" and doc["seeds"] == 1


def test_the_level_decides_what_counts_as_an_alarm(small) -> None:
    real, emb = small
    runs = {}
    for level in ("fail", "warn"):
        v = validity.run(
            real, embeddings=emb, embedder=Words(), checks=["label_bias"], seeds=1, level=level,
            strengths={"label_bias": [0.1]},
        )  # fmt: skip
        runs[level] = v.runs
    same = runs["fail"].select("status").equals(runs["warn"].select("status"))
    assert same  # the statuses do not depend on the level; what counts does
    warn_or_fail = runs["warn"]["status"].is_in(["warn", "fail"])
    assert runs["warn"]["alarm"].to_list() == warn_or_fail.to_list()
    assert runs["fail"]["alarm"].to_list() == (runs["fail"]["status"] == "fail").to_list()


def test_the_real_rows_vectors_are_reused_and_only_new_texts_embedded(small) -> None:
    real, emb = small
    words = Words()
    v = validity.run(
        real, embeddings=emb, embedder=words, checks=["contamination"], seeds=1,
        strengths={"contamination": [3]}, plants=["leak_heavy_edits"],
    )  # fmt: skip
    known = set(real["text"].to_list())
    assert words.seen and not (set(words.seen) & known)  # no real row embedded again
    assert v.embedded == len(set(words.seen))
    assert v.embedded <= 3 + 20  # three edited copies, and the few rows whose text less boilerplate differs


def test_an_audit_passes_its_data_checks_and_embeddings(small) -> None:
    real, emb = small
    audit = Audit(real, embeddings=emb, embedder=Words(), checks=["contamination", "provenance"])
    v = validity.run(audit, seeds=1, strengths={"contamination": [10]}, plants=["leak_verbatim"])
    assert set(v.table["check"]) == {"contamination"}  # guardrails have nothing to plant
    assert v.table["detection_rate"][0] == 1.0


def test_what_cannot_be_planted_is_said(small) -> None:
    real, emb = small
    unlabelled = real.drop("label")
    v = validity.run(
        unlabelled, embeddings=emb, embedder=Words(), checks=["label_bias", "origin_tells", "label_shortcut"],
        seeds=1, strengths={"tells": [1.0]},
    )  # fmt: skip
    assert any("label_bias: needs a label column" in n for n in v.notes)
    assert any(n.startswith("label_shortcut: skipped in 2 of 2 runs") for n in v.notes)
    assert set(v.table["check"]) == {"origin_tells"}  # tells without labels still give origin away


def test_bad_arguments_are_refused_with_the_fix(small) -> None:
    real, emb = small
    with pytest.raises(InputError, match="level must be one of"):
        validity.run(real, embeddings=emb, level="error")
    with pytest.raises(InputError, match="seeds must be a positive integer"):
        validity.run(real, embeddings=emb, seeds=0)
    with pytest.raises(InputError, match="unknown check"):
        validity.run(real, embeddings=emb, checks=["nope"])
    with pytest.raises(InputError, match="unknown plant"):
        validity.run(real, embeddings=emb, plants=["nope"])
    with pytest.raises(InputError, match="aligned with the data's 300 rows"):
        validity.run(real, embeddings=emb[:10])
    with pytest.raises(InputError, match="at least 40 of them"):
        validity.run(real.head(20), embeddings=emb[:20])
    with pytest.raises(InputError, match="takes an integer >= 1"):
        validity.run(real, embeddings=emb, params={"contamination": {"ngram_n": 0}})


# --- plants ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool(small) -> validity._Pool:
    real, emb = small
    return validity._Pool(rows=real.select("id", "text", "label"), emb=emb, seed=0)


def test_tells_mark_the_given_share_of_synthetic_rows_by_label(pool) -> None:
    df = validity._plant_tells(pool, 0.5, np.random.default_rng(0))
    synth = df.filter(pl.col("origin") == "synthetic")
    marked = synth.filter(pl.col("text").str.contains(r"^(Honestly|Frankly|Overall|In short|Simply put|Truly),"))
    assert 0.35 < marked.height / synth.height < 0.65
    labels = sorted(pool.rows["label"].unique().to_list())
    for lab, opener in zip(labels, validity.OPENERS):
        assert marked.filter(pl.col("label") == lab)["text"].str.starts_with(opener).all()
    assert df.filter(pl.col("origin") == "real")["text"].is_in(pool.rows["text"].implode()).all()


def test_leaks_copy_held_out_rows_into_training(pool) -> None:
    df = validity._leak(0.3)(pool, 5, np.random.default_rng(1))
    held = df.filter(pl.col("split") == "eval")
    train = df.filter(pl.col("split") == "train")
    copies = train.filter(~pl.col("text").is_in(pool.rows["text"].implode()))
    assert copies.height == 5 and held.height == round(0.3 * pool.distinct().sum())
    verbatim = validity._leak(0.0)(pool, 5, np.random.default_rng(1))
    dup = verbatim.group_by("text").agg(pl.col("split").unique()).filter(pl.col("split").list.len() == 2)
    assert dup.height == 5


def test_cluster_gap_removes_its_topic_from_the_synthetic_rows(pool) -> None:
    topic = pool.topic()
    clusters = pool.clusters()
    df = validity._plant_cluster_gap(pool, 1.0, np.random.default_rng(2))
    synth_texts = set(df.filter(pl.col("origin") == "synthetic")["text"].to_list())
    topic_texts = set(pool.rows.filter(pl.Series(clusters == topic))["text"].to_list())
    assert topic_texts and not (synth_texts & topic_texts)
    shares = np.bincount(clusters) / pool.n
    assert 0.05 <= shares[topic] <= 0.25


def test_collapse_plants_recombine_and_keep_the_typical(pool) -> None:
    rec = validity._plant_recombination(pool, 1.0, np.random.default_rng(3))
    synth = rec.filter(pl.col("origin") == "synthetic")
    assert synth["text"].n_unique() < 0.9 * synth.height or not synth["text"].is_in(pool.rows["text"].implode()).any()
    typical = validity._plant_typical_only(pool, 0.5, np.random.default_rng(3))
    assert typical.filter(pl.col("origin") == "synthetic").height == round(0.5 * (pool.n - pool.n // 2))


def test_the_labeler_disagrees_at_its_base_rate_and_more_where_biased(pool) -> None:
    clean = validity._clean_labeler(pool, np.random.default_rng(4))
    rate = (clean["label"] != clean["reference_label"]).mean()
    assert 0.05 < rate < 0.16
    biased = validity._biased_by(validity._top_quarter("n_words"))(pool, 0.8, np.random.default_rng(4))
    long = validity._top_quarter("n_words")(pool)
    wrong = (biased["label"] != biased["reference_label"]).to_numpy()
    assert wrong[long].mean() > 0.7 and wrong[~long].mean() < 0.16


def test_narrowing_chains_draw_later_generations_from_the_typical(pool) -> None:
    df = validity._chain(pool, np.random.default_rng(5), 0.5)
    typ = dict(zip(pool.rows["text"].to_list(), pool.typicality().tolist()))
    by_gen = df.filter(pl.col("generation").is_not_null()).with_columns(
        t=pl.col("text").replace_strict(typ, return_dtype=pl.Float64)
    )
    means = by_gen.group_by("generation").agg(pl.col("t").mean()).sort("generation")["t"].to_list()
    assert means == sorted(means) and len(means) == validity.GENERATIONS
    assert df.filter(pl.col("generation").is_null())["origin"].unique().to_list() == ["real"]


# --- presenting ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick(small) -> validity.ValidityReport:
    real, emb = small
    return validity.run(
        real, embeddings=emb, embedder=Words(), checks=["contamination"], seeds=2,
        strengths={"contamination": [1, 3]},
    )  # fmt: skip


def test_the_chart_has_one_panel_per_check_and_the_false_alarm_rule(quick) -> None:
    from workbench import charts

    spec = charts.spec(quick.chart())
    assert spec["facet"]["field"] == "check"
    marks = [
        layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["spec"]["layer"]
    ]
    assert marks.count("rule") == 2 and "line" in marks and "errorbar" in marks


def test_the_audit_report_gets_a_validity_section(small, quick, tmp_path) -> None:
    from workbench.report import render_html, validate_document, validity_html

    real, emb = small
    report = Audit(real, embeddings=emb, checks=["provenance"]).run()
    plain = report.to_dict()
    assert "validity" not in plain  # only when it was run
    report.attach_validity(quick)
    doc = report.to_dict()
    validate_document(doc)
    assert doc["validity"]["summary"][0]["check"] == "contamination"
    a, b = report.to_json(tmp_path / "a.json"), report.to_json(tmp_path / "b.json")
    assert a.read_bytes() == b.read_bytes()
    page = render_html(report, charts=False)
    assert "Validity on this data" in page and "smallest strength detected 9 times in 10" in page
    alone = validity_html(quick, charts=False)
    assert alone.startswith("<!DOCTYPE html>") and "leaked rows" in alone and "<script" not in alone
    with pytest.raises(InputError, match="validity.run"):
        report.attach_validity({"table": 1})


def test_cli_validity_writes_the_report_and_audit_adds_the_section(small, tmp_path, monkeypatch, capsys) -> None:
    from workbench import cli

    real, emb = small
    data = tmp_path / "real.csv"
    real.write_csv(data)
    np.save(tmp_path / "emb.npy", emb)
    # new texts (leaked copies) get vectors from the stand-in, so no model is loaded
    monkeypatch.setattr("workbench.embed.Embedder.encode", lambda self, texts: Words().encode(list(texts)))
    out = tmp_path / "v"
    code = cli.main([
        "validity", str(data), "--embeddings", str(tmp_path / "emb.npy"), "--checks", "contamination",
        "--seeds", "1", "--out", str(out), "--quiet",
    ])  # fmt: skip
    assert code == 0
    doc = json.loads((out / "validity.json").read_text())
    assert doc["seeds"] == 1 and {r["check"] for r in doc["table"]} == {"contamination"} and doc["seconds"] >= 0
    assert "Validity on this data" in (out / "validity.html").read_text()
    assert "9-in-10 at" in capsys.readouterr().out
    assert cli.main(["validity", str(data), "--seeds", "0", "--out", str(out)]) == 2
    assert cli.main(["validity", str(tmp_path / "missing.csv"), "--out", str(out)]) == 2
    audit_out = tmp_path / "a"
    code = cli.main([
        "audit", str(data), "--embeddings", str(tmp_path / "emb.npy"), "--checks", "contamination",
        "--validity-seeds", "1", "--out", str(audit_out), "--quiet", "--allow-skipped",
    ])  # fmt: skip
    assert code in (0, 1)
    assert "validity" in json.loads((audit_out / "audit.json").read_text())
    assert "Validity on this data" in (audit_out / "audit.html").read_text()
