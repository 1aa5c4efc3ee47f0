"""Audit: runs checks, skips with reasons, isolates crashes, writes deterministic reports."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pytest

from workbench import demo
from workbench.audit import Audit, run_check
from workbench.checks.base import Check, Context
from workbench.errors import InputError
from workbench.provenance import freeze_anchor


@pytest.fixture(scope="module")
def tour():
    return demo.tour_dataset(seed=0, n_real=80, n_template=20, n_markov=20, n_vendor=6)


def _emb(n, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, 8)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_table_has_promised_columns(tour):
    report = Audit(tour, embeddings=_emb(tour.height), checks=["provenance"]).run()
    assert {"check", "failure_mode", "status", "score", "threshold", "summary"} <= set(report.table.columns)
    prov = report.results["provenance"]
    assert prov.status == "fail" and "6 synthetic without generator" in prov.summary
    assert prov.evidence.filter(pl.col("problem").str.contains("without generator"))["id"].n_unique() == 6


def test_anchor_path_and_skips(tmp_path, tour):
    freeze_anchor(tour.filter(pl.col("split") == "anchor"), tmp_path / "anchor")
    report = Audit(tour, anchor=tmp_path / "anchor", embeddings=_emb(tour.height)).run()
    assert report.results["anchor_integrity"].status == "pass"
    no_anchor = Audit(tour, embeddings=_emb(tour.height), checks=["anchor_integrity"]).run()
    r = no_anchor.results["anchor_integrity"]
    assert r.status == "skipped" and "anchor" in r.details["reason"]


def test_anchor_leak_into_train_fails(tour):
    anchor_rows = tour.filter(pl.col("split") == "anchor")
    leaked = pl.concat(
        [tour, anchor_rows.head(3).with_columns(id=pl.format("leak-{}", pl.int_range(3)), split=pl.lit("train"))],
        how="diagonal_relaxed",
    )
    report = Audit(leaked, anchor=anchor_rows, embeddings=_emb(leaked.height), checks=["anchor_integrity"]).run()
    r = report.results["anchor_integrity"]
    assert r.status == "fail" and "3 anchor text(s) found in training splits" in r.summary


def test_report_json_is_byte_identical(tmp_path, tour):
    paths = []
    for i in range(2):
        report = Audit(tour, embeddings=_emb(tour.height), seed=3).run()
        paths.append(report.to_json(tmp_path / f"r{i}.json"))
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_html_escapes_data(tmp_path):
    df = pl.DataFrame(
        {"text": ["<script>alert(1)</script>", "fine"], "origin": ["synthetic", "real"], "split": ["train", "eval"]}
    )
    html = Audit(df, embeddings=_emb(2), checks=["provenance"]).run().to_html(tmp_path / "r.html").read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@dataclass
class _Boom(Check):
    name = "boom"
    failure_mode = "contamination"

    def run(self, ctx):
        raise RuntimeError("kaput")


def test_crashing_check_is_isolated(tour):
    r = run_check(_Boom(), Context(tour))
    assert r.status == "error" and "kaput" in r.summary


def test_params_override_and_validation(tour):
    with pytest.raises(InputError, match="unknown check"):
        Audit(tour, checks=["nope"])
    with pytest.raises(InputError, match="has no parameter"):
        Audit(tour, params={"provenance": {"bogus": 1}})
    with pytest.raises(InputError, match="aligned with the data"):
        Audit(tour, embeddings=np.zeros((3, 4)))


def test_failed_levels(tour):
    report = Audit(tour, embeddings=_emb(tour.height), checks=["provenance"]).run()
    assert report.failed("fail") == ["provenance"] and report.worst() == "fail"


def test_requested_check_that_cannot_run_fails_the_gate(tour):
    """Hole 1: a check asked for by name that ends skipped fails the gate unless allow_skipped."""
    emb = _emb(tour.height)
    report = Audit(tour, embeddings=emb, checks=["label_bias", "feedback_amplification"]).run()
    assert {r.status for r in report.results.values()} == {"skipped"}
    assert report.failed("fail") == ["label_bias", "feedback_amplification"]
    assert report.failed("warn") == ["label_bias", "feedback_amplification"]
    assert report.worst() == "skipped"  # nothing ran: never "pass"
    gate = report.gate("fail")
    assert not gate.passed and gate.ran == [] and gate.could_not_run == ["label_bias", "feedback_amplification"]
    assert "2 of 2 requested checks could not run" in gate.summary and "reference_label" in gate.summary
    allowed = Audit(tour, embeddings=emb, checks=["label_bias", "feedback_amplification"], allow_skipped=True).run()
    assert allowed.failed("fail") == [] and allowed.gate("fail").passed
    assert allowed.worst() == "skipped"
    # one that runs and one that cannot: the skipped one still fails the gate
    mixed = Audit(tour, embeddings=emb, checks=["provenance", "label_bias"]).run()
    assert mixed.failed("fail") == ["provenance", "label_bias"]
    # checks not asked for by name may be skipped: the default audit skips what lacks inputs
    default = Audit(tour, embeddings=emb).run()
    assert default.results["label_bias"].status == "skipped" and "label_bias" not in default.failed("fail")


def test_skipped_never_counts_as_pass(tour):
    from workbench.report import report_dict

    report = Audit(tour, embeddings=_emb(tour.height), checks=["label_bias"], allow_skipped=True).run()
    doc = report_dict(report)
    assert doc["worst_status"] == "skipped"
    by_mode = {row["failure_mode"]: row["status"] for row in doc["summary"]}
    assert by_mode["label_bias"] == "skipped" and by_mode["provenance"] == "skipped"
    ran = Audit(tour, embeddings=_emb(tour.height), checks=["provenance", "label_bias"], allow_skipped=True).run()
    assert ran.worst() == "fail" and report_dict(ran)["worst_status"] == "fail"


def test_parameters_are_validated_before_anything_runs(tour):
    """Hole 2: a wrong type or range is an InputError naming check, parameter, what it takes, default."""
    cases = [
        ({"k": "five"}, "coverage_illusion: parameter 'k' takes an integer >= 1 and <= 1000 (default 5); got 'five'"),
        ({"alpha": -1}, "parameter 'alpha' takes a finite number >= 1e-10 and < 1 (default 0.05); got -1"),
        ({"k": 0}, "parameter 'k' takes an integer >= 1"),  # used to turn the check into a silent skip
        ({"k": 2.5}, "parameter 'k'"),
        ({"k": True}, "parameter 'k'"),
        ({"alpha": float("nan")}, "parameter 'alpha'"),
        ({"n_clusters": [3]}, "parameter 'n_clusters' takes an integer >= 1 and <= 10000, or None (default None)"),
    ]
    for overrides, needle in cases:
        with pytest.raises(InputError) as exc:
            Audit(tour, embeddings=_emb(tour.height), params={"coverage_illusion": overrides})
        assert needle in str(exc.value), (overrides, str(exc.value))
    with pytest.raises(InputError, match=r"has no parameter\(s\) \['kk'\]; it takes k \(default 5\), n_clusters"):
        Audit(tour, params={"coverage_illusion": {"kk": 5}})
    with pytest.raises(InputError, match="must be a mapping"):
        Audit(tour, params={"coverage_illusion": 5})
    with pytest.raises(InputError, match="params= maps check names"):
        Audit(tour, params=[("coverage_illusion", {"k": 5})])
    # valid values are taken, as the field's type: an int for a float threshold becomes a float
    audit = Audit(
        tour, embeddings=_emb(tour.height), params={"coverage_illusion": {"k": 3, "warn_ratio": 1, "fail_ratio": 0}}
    )
    check = next(c for c in audit.checks if c.name == "coverage_illusion")
    assert (check.k, check.warn_ratio, check.fail_ratio) == (3, 1.0, 0.0) and type(check.fail_ratio) is float
