"""The `workbench` command as a CI gate, run as a real subprocess: every exit code, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from workbench import cli
from workbench.report import validate_document

ROOT = Path(__file__).resolve().parent.parent
FAST = "provenance,contamination"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip() and "\r" not in line]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and lines[0].startswith("workbench")
    for n in needles:
        assert n in lines[0], lines[0]


def clean_frame(n: int = 12) -> pl.DataFrame:
    """Real and synthetic rows with complete provenance and distinct texts: nothing to flag."""
    real = [f"real review number {i} about a film called {chr(65 + i)}" for i in range(n)]
    synth = [f"generated line {i}: the sequel {chr(97 + i)} has pacing issues" for i in range(n)]
    return pl.DataFrame(
        {
            "text": real + synth,
            "origin": ["real"] * n + ["synthetic"] * n,
            "split": ["anchor"] * (n // 2) + ["eval"] * (n - n // 2) + ["train"] * n,
            "generator": [None] * n + ["gen"] * n,
            "generator_version": [None] * n + ["1.0"] * n,
            "prompt_id": [None] * n + ["p1"] * n,
            "sampling": [None] * n + ['{"temperature": 0.7}'] * n,
        }
    )


def embeddings(n: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, 16)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def clean(tmp_path):
    df = clean_frame()
    df.write_csv(tmp_path / "clean.csv")
    np.save(tmp_path / "clean.npy", embeddings(df.height))
    return tmp_path


def test_help_has_examples_and_every_command(tmp_path):
    top = run("--help", cwd=tmp_path)
    assert top.returncode == 0
    for word in ("audit", "freeze-anchor", "diary", "demo", "examples:", "exit codes"):
        assert word in top.stdout
    for sub in (["audit"], ["freeze-anchor"], ["diary"], ["diary", "add"], ["diary", "compare"], ["demo"]):
        proc = run(*sub, "--help", cwd=tmp_path)
        assert proc.returncode == 0 and "example" in proc.stdout, sub


def test_clean_data_exits_0_and_writes_valid_reports(clean):
    proc = run("audit", "clean.csv", "--embeddings", "clean.npy", "--checks", FAST, "--out", "rep", cwd=clean)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gate passed" in proc.stdout and "2 checks ran" in proc.stdout and "rep/audit.html" in proc.stdout
    doc = json.loads((clean / "rep" / "audit.json").read_text("utf-8"))
    validate_document(doc)
    assert doc["worst_status"] == "pass"
    assert (clean / "rep" / "audit.html").read_text("utf-8").startswith("<!DOCTYPE html>")


def test_failing_check_exits_1_and_fail_on_chooses_the_level(clean):
    df = clean_frame()
    # a vendor batch without generator: provenance fails
    df.with_columns(
        generator=pl.when(pl.col("origin") == "synthetic").then(None).otherwise(pl.col("generator"))
    ).write_csv(clean / "nogen.csv")
    proc = run("audit", "nogen.csv", "--embeddings", "clean.npy", "--checks", FAST, "--quiet", cwd=clean)
    assert proc.returncode == 1 and "gate FAILED" in proc.stdout and "provenance" in proc.stdout
    # missing sampling parameters only warn: the gate passes at fail, fails at warn
    df.with_columns(sampling=pl.lit(None, dtype=pl.String)).write_csv(clean / "nosampling.csv")
    at_fail = run("audit", "nosampling.csv", "--embeddings", "clean.npy", "--checks", FAST, cwd=clean)
    at_warn = run(
        "audit", "nosampling.csv", "--embeddings", "clean.npy", "--checks", FAST, "--fail-on", "warn", cwd=clean
    )
    assert at_fail.returncode == 0 and "worst status warn" in at_fail.stdout
    assert at_warn.returncode == 1 and "provenance" in at_warn.stdout


def test_gate_fails_when_requested_checks_could_not_run(clean):
    """Hole 1: checks asked for by name that cannot run (no reference_label, no generation) fail the gate."""
    args = ["audit", "clean.csv", "--embeddings", "clean.npy", "--checks", "label_bias,feedback_amplification"]
    proc = run(*args, "--fail-on", "warn", cwd=clean)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    gate = [line for line in proc.stdout.splitlines() if line.startswith("gate")]
    assert len(gate) == 1, proc.stdout
    line = gate[0]
    assert line.startswith("gate FAILED") and "2 of 2 requested checks could not run" in line, line
    assert "label_bias (needs column(s) [" in line and "reference_label" in line, line
    assert "feedback_amplification (needs column(s) ['generation']" in line and "0 checks ran, 2 skipped" in line
    assert "worst status pass" not in proc.stdout and "--allow-skipped" in line
    doc = json.loads((clean / "audit-report" / "audit.json").read_text("utf-8"))
    assert doc["worst_status"] == "skipped"
    # the same run with --allow-skipped passes, and says that nothing ran
    allowed = run(*args, "--fail-on", "warn", "--allow-skipped", cwd=clean)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "gate passed at --fail-on warn: 0 checks ran, 2 skipped (allowed): label_bias (" in allowed.stdout
    assert "worst status skipped" in allowed.stdout, allowed.stdout
    # one requested check runs and passes, one cannot run: still exit 1, and the line counts both
    mixed = run("audit", "clean.csv", "--embeddings", "clean.npy", "--checks", "provenance,label_bias", cwd=clean)
    assert mixed.returncode == 1 and "1 of 2 requested checks could not run: label_bias" in mixed.stdout
    assert "1 check ran, 1 skipped" in mixed.stdout, mixed.stdout


def test_bad_inputs_exit_2_with_one_line(clean):
    pl.DataFrame({"text": ["fine", ""], "origin": ["real", "real"]}).write_csv(clean / "blank.csv")
    pl.DataFrame({"review": ["fine"], "origin": ["real"]}).write_csv(clean / "notext.csv")
    (clean / "junk.npy").write_bytes(b"not numpy")
    np.save(clean / "short.npy", embeddings(3))
    cases = [
        (["audit", "missing.csv"], ["missing.csv", "no such file"]),
        (["audit", "clean"], ["no such file"]),
        (["audit", "blank.csv", "--checks", "provenance"], ["'text'", "blank"]),
        (["audit", "notext.csv"], ["'text'", "review"]),
        (["audit", "clean.csv", "--checks", "nope", "--embeddings", "clean.npy"], ["unknown check", "nope"]),
        (["audit", "clean.csv", "--fail-on", "sometimes"], ["--fail-on"]),
        (
            ["audit", "clean.csv", "--embeddings", "clean.npy", "--param", "coverage_illusion.k=five"],
            ["coverage_illusion: parameter 'k' takes an integer >= 1", "(default 5)", "'five'"],
        ),
        (["audit", "clean.csv", "--param", "coverage_illusion.alpha=-1"], ["parameter 'alpha'", "(default 0.05)"]),
        (["audit", "clean.csv", "--param", "coverage_illusion.kk=1"], ["has no parameter", "it takes k (default 5)"]),
        (["audit", "clean.csv", "--param", "k=5"], ["--param takes CHECK.NAME=VALUE"]),
        (["audit", "clean.csv", "--anchor", "no-anchor-here"], ["no-anchor-here"]),
        (["audit", "clean.csv", "--column", "text"], ["--column"]),
        (["audit", "clean.csv", "--embeddings", "junk.npy"], ["junk.npy"]),
        (["audit", "clean.csv", "--embeddings", "short.npy"], ["aligned"]),
        (["audit"], ["DATA"]),
        (["frobnicate"], ["invalid choice"]),
        (["diary", "list", "--diary", "none.sqlite"], ["none.sqlite"]),
        (["diary", "add", "--diary", "d.sqlite", "--input", "x"], ["--expected"]),
        (["diary", "add", "--diary", "d.sqlite", "--input", "x", "--expected", "y", "--severity", "meh"], ["severity"]),
        (["freeze-anchor", "clean.csv", "--out", "a", "--split", "nosuchsplit"], ["no real rows"]),
    ]
    for args, needles in cases:
        assert_one_line_error(run(*args, cwd=clean), *needles)


def test_freeze_anchor_then_tamper_fails_the_gate(clean):
    proc = run("freeze-anchor", "clean.csv", "--out", "anchors/v1", "--split", "anchor", cwd=clean)
    assert proc.returncode == 0 and "froze 6 real rows" in proc.stdout
    with_anchor = FAST + ",anchor_integrity"
    ok = run(
        "audit", "clean.csv", "--anchor", "anchors/v1", "--embeddings", "clean.npy", "--checks", with_anchor, cwd=clean
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    frozen = pl.read_parquet(clean / "anchors/v1/anchor.parquet")
    frozen.with_columns(text=pl.col("text") + pl.lit(" (edited)")).write_parquet(clean / "anchors/v1/anchor.parquet")
    bad = run(
        "audit", "clean.csv", "--anchor", "anchors/v1", "--embeddings", "clean.npy", "--checks", with_anchor, cwd=clean
    )
    assert bad.returncode == 1 and "anchor_integrity" in bad.stdout
    # freezing a different set over it is refused without --overwrite
    again = run("freeze-anchor", "clean.csv", "--out", "anchors/v1", "--split", "eval", cwd=clean)
    assert_one_line_error(again, "different anchor set")


def test_diary_commands_gate_on_regressions(clean):
    d = ["--diary", "d.sqlite"]
    for text, want in (("Oh great, another sequel.", "rotten"), ("Not bad at all.", "fresh"), ("A triumph.", "fresh")):
        assert run("diary", "add", *d, "--input", text, "--expected", want, "--tag", "tone", cwd=clean).returncode == 0
    listed = run("diary", "list", *d, "--json", cwd=clean)
    entries = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [e["input"] for e in entries] == ["Oh great, another sequel.", "Not bad at all.", "A triumph."]
    assert "3 entries" in run("diary", "list", *d, cwd=clean).stdout
    pl.DataFrame({"input": [e["input"] for e in entries], "prediction": ["fresh", "fresh", "fresh"]}).write_csv(
        clean / "v1.csv"
    )
    pl.DataFrame({"input": [e["input"] for e in entries], "prediction": ["fresh", "rotten", "rotten"]}).write_ndjson(
        clean / "v2.jsonl"
    )
    r1 = run("diary", "evaluate", *d, "--run", "v1", "--predictions", "v1.csv", "--headline", "0.80", cwd=clean)
    r2 = run("diary", "evaluate", *d, "--run", "v2", "--predictions", "v2.jsonl", "--headline", "0.86", cwd=clean)
    assert r1.returncode == 0 and "2 of 3" in r1.stdout and r2.returncode == 0 and "0 of 3" in r2.stdout
    worse = run("diary", "compare", *d, "v1", "v2", cwd=clean)
    assert (
        worse.returncode == 1 and "WARNING" in worse.stdout and "not improving in the way that matters" in worse.stdout
    )
    assert "broken" in worse.stdout and "Not bad at all." in worse.stdout
    better = run("diary", "compare", *d, "v2", "v1", cwd=clean)
    assert better.returncode == 0 and "WARNING" not in better.stdout
    # the audit gate takes the diary too: its last two runs made it worse
    gated = run("audit", "clean.csv", "--embeddings", "clean.npy", "--checks", FAST, "--diary", "d.sqlite", cwd=clean)
    assert gated.returncode == 1 and "failure_diary" in gated.stdout
    assert_one_line_error(run("diary", "compare", *d, "v1", "v3", cwd=clean), "no diary run 'v3'")
    assert_one_line_error(
        run("diary", "evaluate", *d, "--run", "v1", "--predictions", "v1.csv", cwd=clean), "never overwritten"
    )
    pl.DataFrame({"input": ["A triumph."], "prediction": ["fresh"]}).write_csv(clean / "partial.csv")
    assert_one_line_error(
        run("diary", "evaluate", *d, "--run", "v3", "--predictions", "partial.csv", cwd=clean), "lack 2"
    )


def test_diary_add_from_report_evidence(clean):
    df = clean_frame().with_columns(label=pl.lit("fresh"))
    df = df.with_columns(generator=pl.when(pl.col("origin") == "synthetic").then(None).otherwise(pl.col("generator")))
    df.write_csv(clean / "nogen.csv")
    assert (
        run(
            "audit", "nogen.csv", "--embeddings", "clean.npy", "--checks", "provenance", "--quiet", cwd=clean
        ).returncode
        == 1
    )
    proc = run(
        "diary", "add", "--diary", "d.sqlite", "--from-report", "audit-report/audit.json", "--check", "provenance",
        "--expected", "needs a generator", cwd=clean,
    )  # fmt: skip
    assert proc.returncode == 0 and "recorded 12 entries" in proc.stdout, proc.stdout + proc.stderr
    listed = [
        json.loads(x) for x in run("diary", "list", "--diary", "d.sqlite", "--json", cwd=clean).stdout.splitlines()
    ]
    assert {e["found_in"] for e in listed} == {"audit:provenance"} and all("provenance" in e["tags"] for e in listed)
    assert_one_line_error(
        run(
            "diary",
            "add",
            "--diary",
            "d.sqlite",
            "--from-report",
            "audit-report/audit.json",
            "--check",
            "nope",
            cwd=clean,
        ),
        "no check 'nope'",
    )
    assert_one_line_error(
        run("diary", "add", "--diary", "d.sqlite", "--from-report", "nogen.csv", "--check", "provenance", cwd=clean),
        "not JSON",
    )


def test_demo_runs_end_to_end(tmp_path):
    proc = run("demo", "--out", "demo", "--rows", "40", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for path in ("demo/demo.csv", "demo/anchor/manifest.json", "demo/report/audit.json", "demo/report/audit.html"):
        assert (tmp_path / path).exists(), path
    validate_document(json.loads((tmp_path / "demo/report/audit.json").read_text("utf-8")))
    assert "as a CI gate this data would FAIL (exit 1)" in proc.stdout  # the demo plants failures
    again = run("audit", "demo/demo.csv", "--anchor", "demo/anchor", "--checks", "provenance", "--quiet", cwd=tmp_path)
    assert again.returncode == 1  # the planted vendor batch without provenance


def test_internal_error_is_one_line_exit_3(clean, monkeypatch, capsys):
    from workbench.audit import Audit

    def boom(self):
        raise RuntimeError("kaput")

    monkeypatch.setattr(Audit, "run", boom)
    monkeypatch.chdir(clean)
    code = cli.main(["audit", "clean.csv", "--embeddings", "clean.npy", "--quiet"])
    err = capsys.readouterr().err
    assert code == 3 and "internal error: RuntimeError: kaput" in err and "Traceback" not in err
    with pytest.raises(RuntimeError, match="kaput"):
        cli.main(["--debug", "audit", "clean.csv", "--embeddings", "clean.npy", "--quiet"])
