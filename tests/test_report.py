"""The audit report files: JSON that follows the shipped schema, byte for byte reproducible, and an
HTML page that is self-contained, offline, and shows hostile data text instead of running it."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import polars as pl
import pytest

from workbench import demo
from workbench.audit import Audit
from workbench.diary import Diary
from workbench.errors import InputError
from workbench.provenance import freeze_anchor
from workbench.report import load_schema, report_dict, validate_document
from workbench.results import CHECKLIST

ROOT = Path(__file__).resolve().parent.parent
XSS = [
    "<script>alert('xss-1')</script>",
    '"><img src=x onerror=alert("xss-2")>',
    "<svg/onload=alert('xss-3')>",
    "javascript:alert('xss-4')",
    "</td></tr></table><iframe src='https://example.com/xss-5'></iframe>",
    "<a href=\"https://example.com\" style='position:fixed'>xss-6 & ampersand</a>",
]


def hostile_rows(texts: list[str], ids: list[str], label: str) -> pl.DataFrame:
    """Synthetic training rows without provenance (so the provenance check puts them in its
    evidence) whose text, id and label are whatever hostile strings are given."""
    n = len(texts)
    return pl.DataFrame(
        {"id": ids, "text": texts, "origin": ["synthetic"] * n, "split": ["train"] * n, "label": [label] * n}
    )


def planted_data(n_real: int = 60) -> pl.DataFrame:
    """The tour's demo data plus synthetic rows whose text (and label) are classic XSS payloads."""
    tour = demo.tour_dataset(seed=0, n_real=n_real, n_template=20, n_markov=20, n_vendor=6)
    hostile = hostile_rows(XSS, [f"xss-{i}" for i in range(len(XSS))], "<b>fresh</b>")
    return pl.concat([tour, hostile], how="diagonal_relaxed")


def embeddings(n: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, 16)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data() -> pl.DataFrame:
    return planted_data()


@pytest.fixture(scope="module")
def anchor(data, tmp_path_factory):
    return freeze_anchor(data.filter(pl.col("split") == "anchor"), tmp_path_factory.mktemp("anchor") / "a")


@pytest.fixture(scope="module")
def report(data, anchor):
    return Audit(data, anchor=anchor, embeddings=embeddings(data.height), seed=1).run()


def test_schema_is_a_valid_draft_2020_12_schema():
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["version"]["const"] == 1
    # every field is documented for readers
    assert all("description" in v or "$ref" in v or "const" in v for v in schema["properties"].values())


def test_report_follows_the_schema(report, tmp_path):
    doc = json.loads(report.to_json(tmp_path / "audit.json").read_text("utf-8"))
    validate_document(doc)
    assert doc["schema"] == "workbench.audit_report" and doc["version"] == 1
    assert [c["check"] for c in doc["checks"]] == list(report.results)
    assert [s["failure_mode"] for s in doc["summary"]][:6] == [
        "artifact_learning",
        "coverage_illusion",
        "contamination",
        "over_regularization",
        "label_bias",
        "feedback_amplification",
    ]
    assert [c["key"] for c in doc["checklist"]] == [c.key for c in CHECKLIST]
    prov = next(c for c in doc["checks"] if c["check"] == "provenance")
    assert prov["status"] == "fail" and prov["evidence_total_rows"] == report.results["provenance"].evidence.height
    assert "id" in prov["evidence_columns"] and all("id" in row for row in prov["evidence"])
    assert doc["status_counts"]["fail"] == sum(r.status == "fail" for r in report.results.values())


def test_schema_rejects_broken_documents(report):
    doc = report_dict(report)
    validate_document(doc)
    for breakage in (
        lambda d: d.pop("checklist"),
        lambda d: d.update(version=2),
        lambda d: d["checks"][0].update(status="fine"),
        lambda d: d["checks"][0].update(score="0.5"),
        lambda d: d["checks"][0]["evidence"].append({"text": "no id"}),
        lambda d: d["data"].update(set_sha256="not a hash"),
        lambda d: d["checklist"][0].update(status="maybe"),
    ):
        broken = copy.deepcopy(doc)
        breakage(broken)
        with pytest.raises(InputError, match="does not follow the audit report schema"):
            validate_document(broken)


def test_evidence_rows_are_capped_but_counted(tmp_path):
    df = pl.DataFrame({"text": [f"synthetic row {i}" for i in range(80)], "origin": "synthetic", "split": "train"})
    report = Audit(df, embeddings=embeddings(80), checks=["provenance"]).run()
    doc = report_dict(report)
    validate_document(doc)
    prov = doc["checks"][0]
    assert prov["evidence_total_rows"] == 80 and len(prov["evidence"]) == 50


def test_json_is_byte_identical_for_same_data_and_seed(data, anchor, tmp_path):
    a = Audit(data, anchor=anchor, embeddings=embeddings(data.height), seed=1).run().to_json(tmp_path / "a.json")
    b = Audit(data, anchor=anchor, embeddings=embeddings(data.height), seed=1).run().to_json(tmp_path / "b.json")
    assert a.read_bytes() == b.read_bytes()
    other_seed = Audit(data, anchor=anchor, embeddings=embeddings(data.height), seed=2).run()
    assert report_dict(other_seed)["seed"] == 2


SCRIPT = """
import sys, numpy as np
from tests.test_report import planted_data, embeddings
from workbench.audit import Audit
data = planted_data()
report = Audit(data, embeddings=embeddings(data.height), seed=5).run()
report.to_json(sys.argv[1]); report.to_html(sys.argv[2])
"""


def test_files_are_byte_identical_across_processes(tmp_path):
    outs = []
    for hashseed in ("1", "2"):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": hashseed}
        j, h = tmp_path / f"{hashseed}.json", tmp_path / f"{hashseed}.html"
        subprocess.run([sys.executable, "-c", SCRIPT, str(j), str(h)], check=True, env=env, cwd=ROOT)
        outs.append((j.read_bytes(), h.read_bytes()))
    assert outs[0][0] == outs[1][0]
    assert outs[0][1] == outs[1][1]


def test_checklist_marks_items_by_their_evidence(data, anchor, tmp_path):
    emb = embeddings(data.height)
    items = {c["key"]: c for c in report_dict(Audit(data, anchor=anchor, embeddings=emb).run())["checklist"]}
    assert items["provenance"]["status"] == "problem"  # the demo's vendor batch has no generator
    assert items["anchor"]["status"] == "satisfied"
    assert items["anchor"]["evidence"][0]["name"] == "anchor_integrity"
    assert items["calibration"]["status"] == "not_done" and items["failure_diary"]["status"] == "not_done"
    no_anchor = {c["key"]: c for c in report_dict(Audit(data, embeddings=emb).run())["checklist"]}
    assert no_anchor["anchor"]["status"] == "not_done"
    assert no_anchor["anchor"]["evidence"][0]["status"] == "skipped"

    report = Audit(data, anchor=anchor, embeddings=emb).run()
    report.attach("calibration", "pass", "ECE 0.021 [0.012, 0.034] on 500 real held-out reviews", {"ece": 0.021})
    with Diary(tmp_path / "d.sqlite") as diary:
        diary.record("a great film", "fresh", severity="critical")
        diary.record("not a great film", "rotten")
        diary.evaluate(
            lambda t: ["fresh" if "great" in x and "not" not in x else "rotten" for x in t], "v1", headline=0.8
        )
        diary.evaluate(lambda t: ["fresh"] * len(t), "v2", headline=0.9)
        report.attach_diary(diary)
    doc = report_dict(report)
    validate_document(doc)
    items = {c["key"]: c for c in doc["checklist"]}
    assert items["calibration"]["status"] == "satisfied"
    assert items["failure_diary"]["status"] == "problem"
    diary_doc = doc["attachments"]["failure_diary"]
    assert diary_doc["status"] == "fail" and "headline" in diary_doc["summary"] and "got worse" in diary_doc["summary"]
    assert (
        diary_doc["details"]["counts"]["broken"] == 1
        and diary_doc["details"]["broken"][0]["input"] == "not a great film"
    )
    assert "failure_diary" in report.failed("fail") and report.worst() == "fail"
    with pytest.raises(InputError, match="checklist item"):
        report.attach("vibes", "pass", "fine")
    with pytest.raises(InputError, match="status"):
        report.attach("calibration", "great", "fine")


def test_diary_attachment_without_two_runs_warns(data, tmp_path):
    report = Audit(data, embeddings=embeddings(data.height), checks=["provenance"]).run()
    with Diary(tmp_path / "d.sqlite") as diary:
        report.attach_diary(diary)
        assert report.attachments["failure_diary"].status == "warn"
        diary.record("x", "y")
        diary.evaluate(lambda t: ["y"] * len(t), "only")
        report.attach_diary(diary)
        assert "one run" in report.attachments["failure_diary"].summary


def test_html_is_self_contained_and_escapes_everything(report, tmp_path):
    page = report.to_html(tmp_path / "audit.html").read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "<script" not in page.lower() and "<iframe" not in page.lower()
    assert page.lower().count("<img") == 2  # the two charts; the planted <img onerror=...> is text
    assert "<svg" not in page.lower()  # charts are data: images, which can run nothing
    # every external reference is a data: URI
    for src in re.findall(r"""\b(?:src|href)=['"]([^'"]*)""", page):
        assert src.startswith("data:image/svg+xml;base64,"), src
    for payload in XSS:
        assert payload not in page
    assert "&lt;script&gt;alert(&#x27;xss-1&#x27;)&lt;/script&gt;" in page
    # the content a reader needs
    for needle in ("Summary by failure mode and guardrail", "Trust checklist", "threshold", "Evidence:"):
        assert needle in page
    for name in report.results:
        assert f"id='check-{name}'" in page
    assert page.count("<img class='chart'") == 2


def test_results_is_data_and_imports_point_down(report, tmp_path):
    """results.py holds the data and imports nothing above it; report renders it; audit runs checks."""
    probe = (
        "import sys\n"
        "import workbench.results\n"
        "above = [m for m in ('workbench.audit', 'workbench.report', 'workbench.checks', 'workbench.cli') "
        "if m in sys.modules]\n"
        "assert not above, above\n"
        "import workbench.report\n"
        "assert 'workbench.audit' not in sys.modules and 'workbench.checks' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env={**os.environ,
                          "PYTHONPATH": str(ROOT)}, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    from workbench import audit, results
    from workbench.checks.base import CheckResult

    assert audit.AuditReport is results.AuditReport and CheckResult is results.CheckResult
    assert not hasattr(results.AuditReport, "_html") and not hasattr(audit, "TABLE_COLUMNS")
    # the notebook view is rendered by report.py, like the files
    assert "class='badge status-" in report._repr_html_() and "<table class='wb-audit'>" in report._repr_html_()
    bare = results.AuditReport(dict(report.results))
    assert bare._repr_html_() is None
    with pytest.raises(InputError, match="no renderer"):
        bare.to_json(tmp_path / "audit.json")
