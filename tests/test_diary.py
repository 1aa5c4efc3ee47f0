"""Failure diary: exact entries, versions instead of edits, run outcomes, comparisons, crash safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from workbench.checks.base import CheckResult
from workbench.diary import Diary, DiaryIntegrityError
from workbench.errors import InputError, SchemaError, WorkbenchWarning
from workbench.store import StoreLockedError

ROOT = Path(__file__).resolve().parent.parent
AWKWARD = [
    "  leading and trailing spaces  ",
    "<script>alert('x')</script> & \"quotes\"",
    "emoji 🎬🍿 and 日本語 and e\u0301 combining",
    "tab\tand\nnewline",
]


@pytest.fixture
def diary(tmp_path):
    with Diary(tmp_path / "diary.sqlite") as d:
        yield d


def keyword_model(texts):
    return ["fresh" if "great" in t else "rotten" for t in texts]


def test_record_keeps_exact_input_and_provenance(diary):
    ids = [
        diary.record(t, "fresh", observed="rotten", found_in="audit:x", source_id=f"row{i}")
        for i, t in enumerate(AWKWARD)
    ]
    got = diary.entries()
    assert got["input"].to_list() == AWKWARD  # byte for byte, recording order
    assert got["entry_id"].to_list() == ids and len(set(ids)) == 4
    assert got["source_id"].to_list() == ["row0", "row1", "row2", "row3"]
    assert set(got["found_in"]) == {"audit:x"} and set(got["observed"]) == {"rotten"}
    # the same input with the same expected output is the same entry, not a duplicate
    assert diary.record(AWKWARD[0], "fresh") == ids[0] and len(diary) == 4
    # another expected output for the same input is another entry
    assert diary.record(AWKWARD[0], "rotten") != ids[0] and len(diary) == 5


def test_record_while_another_connection_holds_the_write_lock_raises_then_recovers(
    tmp_path, hold_write_lock, finishes_within
):
    path = tmp_path / "locked.sqlite"
    diary = Diary(path, timeout=0.2)
    release = hold_write_lock(path)  # a second real connection: BEGIN IMMEDIATE, never committed
    for _ in range(2):
        with pytest.raises(StoreLockedError, match="write lock") as err:
            finishes_within(10, lambda: diary.record("a great film", "fresh"))
        assert str(path) in str(err.value) and "try again" in str(err.value)
    assert len(diary) == 0
    release()
    entry = finishes_within(10, lambda: diary.record("a great film", "fresh"))
    assert diary.entries()["entry_id"].to_list() == [entry]
    diary.verify()
    diary.close()


def test_bad_arguments_are_refused(diary):
    with pytest.raises(InputError, match="severity"):
        diary.record("x", "y", severity="huge")
    with pytest.raises(InputError, match="input is empty"):
        diary.record("", "y")
    with pytest.raises(InputError, match="must be a string"):
        diary.record(3, "y")
    with pytest.raises(InputError, match="tag"):
        diary.record("x", "y", tags=[""])
    with pytest.raises(InputError, match="folder"):
        Diary(diary.path.parent)


def test_edits_are_new_versions(diary):
    e = diary.record("a great film", "fresh", severity="medium", tags=["a"])
    assert diary.edit(e, reason="worse than thought", severity="critical", tags=["a", "b"]) == 2
    now = diary.get(e)
    assert now["version"] == 2 and now["severity"] == "critical" and now["tags"] == ["a", "b"]
    hist = diary.history(e)
    assert hist["version"].to_list() == [1, 2] and hist["severity"].to_list() == ["medium", "critical"]
    assert hist["reason"].to_list() == ["recorded", "edit: worse than thought"]
    with pytest.raises(InputError, match="changes nothing"):
        diary.edit(e, reason="nothing")
    with pytest.raises(InputError, match="no diary entry"):
        diary.edit("d-nope", reason="x", note="y")
    assert diary.retire(e, reason="task changed") == 3
    assert len(diary) == 0 and diary.entries(include_retired=True)["status"].to_list() == ["retired"]
    with pytest.raises(InputError, match="retired"):
        diary.edit(e, reason="x", note="y")
    diary.verify()


def test_store_refuses_silent_changes_and_detects_tampering(diary):
    e = diary.record("a great film", "fresh")
    diary.record("a dull film", "rotten")
    raw = sqlite3.connect(diary.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE entries SET expected = 'rotten' WHERE entry_id = ?", (e,))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM entries")
    # someone drops the guard and edits the file anyway: verify() notices
    raw.execute("DROP TRIGGER entries_no_update")
    raw.execute("UPDATE entries SET expected = 'rotten' WHERE entry_id = ?", (e,))
    raw.commit()
    raw.close()
    with pytest.raises(DiaryIntegrityError, match="altered"):
        diary.verify()
    with pytest.raises(DiaryIntegrityError):
        diary.evaluate(keyword_model, "after tampering")


def test_deleted_version_is_detected(diary):
    diary.record("one", "x")
    diary.record("two", "x")
    diary.record("three", "x")
    raw = sqlite3.connect(diary.path)
    raw.execute("DROP TRIGGER entries_no_delete")
    raw.execute("DELETE FROM entries WHERE input = 'two'")
    raw.commit()
    raw.close()
    with pytest.raises(DiaryIntegrityError, match="removed"):
        diary.verify()


def test_filters(diary):
    diary.record("a great film", "fresh", severity="low", tags=["tone"], note="Sarcasm")
    diary.record("a dull film", "rotten", severity="critical", tags=["tone", "negation"], found_in="spot check by ann")
    assert diary.entries(severity="critical")["input"].to_list() == ["a dull film"]
    assert diary.entries(severity=["low", "critical"]).height == 2
    assert diary.entries(tags=["tone", "negation"]).height == 1 and diary.entries(tags="tone").height == 2
    assert diary.entries(search="sarcasm")["input"].to_list() == ["a great film"]
    assert diary.entries(found_in="spot check").height == 1


def test_evaluate_stores_every_outcome(diary):
    a = diary.record("a great film", "fresh")
    b = diary.record("a dull film", "rotten")
    c = diary.record("not a great film", "rotten")
    run = diary.evaluate(keyword_model, "keyword", headline=0.71, headline_name="accuracy")
    assert run.n_passed == 2 and run.n_failed == 1
    out = diary.outcomes("keyword")
    assert dict(zip(out["entry_id"], out["passed"])) == {a: True, b: True, c: False}
    assert out.filter(pl.col("entry_id") == c)["observed"].item() == "fresh"
    runs = diary.runs()
    assert runs["run"].to_list() == ["keyword"] and runs["headline"].item() == 0.71 and runs["n_passed"].item() == 2
    with pytest.raises(InputError, match="never overwritten"):
        diary.evaluate(keyword_model, "keyword")


def test_evaluate_accepts_probabilities_models_and_mappings(diary):
    diary.record("a great film", "fresh")
    diary.record("a dull film", "rotten")

    def probs(texts):
        return np.array([[0.9, 0.1] if "great" in t else [0.2, 0.8] for t in texts])

    assert diary.evaluate(probs, "probs", classes=["fresh", "rotten"]).n_passed == 2

    class Model:
        classes_ = np.array(["fresh", "rotten"])

        def predict(self, texts):
            return np.array(["rotten"] * len(texts))

    assert diary.evaluate(Model(), "model").n_passed == 1
    mapping = {"a great film": "fresh", "a dull film": "fresh"}
    assert diary.evaluate(mapping, "file").n_passed == 1
    custom = diary.evaluate(keyword_model, "custom", match=lambda want, got: got is not None and want[0] == got[0])
    assert custom.n_passed == 2
    with pytest.raises(InputError, match="class names"):
        diary.evaluate(probs, "no classes")
    with pytest.raises(InputError, match="lack 1 of the 2"):
        diary.evaluate({"a great film": "fresh"}, "partial")
    with pytest.raises(InputError, match="one answer per text"):
        diary.evaluate(lambda texts: ["fresh"], "short")
    with pytest.raises(InputError, match="raised ZeroDivisionError"):
        diary.evaluate(lambda texts: 1 / 0, "crash")
    with pytest.raises(InputError, match="headline"):
        diary.evaluate(keyword_model, "nan", headline=float("nan"))
    assert set(diary.runs()["run"]) == {"probs", "model", "file", "custom"}  # failed runs left nothing behind


def test_evaluate_on_empty_diary(diary):
    with pytest.raises(InputError, match="no active entries"):
        diary.evaluate(keyword_model, "r")


def test_compare_says_plainly_when_headline_rises_but_diary_falls(diary):
    ids = [
        diary.record("a great film", "fresh", severity="critical"),
        diary.record("not a great film", "rotten"),
        diary.record("a dull film", "rotten"),
    ]
    diary.evaluate(keyword_model, "baseline", headline=0.80, headline_name="accuracy")
    always_fresh = lambda texts: ["fresh"] * len(texts)  # noqa: E731
    diary.evaluate(always_fresh, "better_mix", headline=0.86, headline_name="accuracy")
    cmp = diary.compare("baseline", "better_mix")
    assert cmp.headline_improved is True and cmp.diary_worse and cmp.headline_up_diary_down
    assert cmp.n_broken == 1 and cmp.n_fixed == 0 and cmp.broken["entry_id"].to_list() == [ids[2]]
    assert cmp.counts["still_failing"] == 1 and cmp.counts["still_passing"] == 1
    assert "WARNING" in cmp.verdict and "not improving in the way that matters" in cmp.verdict
    assert "0.8 to 0.86" in cmp.verdict
    back = diary.compare("better_mix", "baseline")
    assert back.n_fixed == 1 and not back.diary_worse and "WARNING" not in back.verdict
    assert "No diary regressions" in back.verdict
    with pytest.raises(InputError, match="no diary run"):
        diary.compare("baseline", "nope")


def test_compare_new_dropped_and_lower_is_better(diary):
    a = diary.record("a great film", "fresh")
    diary.evaluate(keyword_model, "r1", headline=0.30, headline_name="error rate", higher_is_better=False)
    b = diary.record("a dull film", "rotten")
    diary.retire(a, reason="obsolete")
    diary.evaluate(keyword_model, "r2", headline=0.20, headline_name="error rate", higher_is_better=False)
    cmp = diary.compare("r1", "r2")
    assert dict(zip(cmp.table["entry_id"], cmp.table["change"])) == {a: "dropped", b: "new"}
    assert cmp.headline_improved is True and not cmp.diary_worse
    chart = cmp.chart().to_dict()
    assert chart["mark"]["type"] == "bar" or chart["mark"] == "bar"


def test_add_from_evidence_of_a_check_result(diary):
    evidence = pl.DataFrame(
        {
            "id": ["r1", "r2", "r3"],
            "text": ["a great film", "a dull film", None],
            "label": ["rotten", "fresh", "fresh"],
            "reference_label": ["fresh", "rotten", "fresh"],
            "score": [0.9, 0.8, 0.7],
        }
    )
    result = CheckResult("label_bias", "label_bias", "fail", "labels are biased", evidence=evidence)
    with pytest.warns(WorkbenchWarning, match="1 evidence row"):
        ids = diary.add_from_evidence(result, severity="medium")
    got = diary.entries()
    assert got["entry_id"].to_list() == ids and got["input"].to_list() == ["a great film", "a dull film"]
    assert got["expected"].to_list() == ["fresh", "rotten"] and got["observed"].to_list() == ["rotten", "fresh"]
    assert set(got["found_in"]) == {"audit:label_bias"} and got["tags"].to_list() == [["label_bias"]] * 2
    prov = diary.get(ids[0])["provenance"]
    assert prov["check"] == "label_bias" and prov["row"]["score"] == 0.9
    # texts looked up in data by id when the evidence lacks them
    data = pl.DataFrame({"id": ["r3"], "text": ["an okay film"], "label": ["fresh"]})
    more = diary.add_from_evidence(
        pl.DataFrame({"id": ["r3"], "problem": ["odd"]}), data=data, found_in="manual review"
    )
    assert diary.get(more[0])["input"] == "an okay film" and diary.get(more[0])["expected"] == "fresh"
    with pytest.raises(SchemaError, match="no 'text' column"):
        diary.add_from_evidence(pl.DataFrame({"id": ["x"]}), expected="fresh")
    with pytest.raises(SchemaError, match="expected output"):
        diary.add_from_evidence(pl.DataFrame({"id": ["x"], "text": ["t"]}))


def test_add_from_verdicts(diary):
    verdicts = pl.DataFrame(
        {
            "review_id": [1, 2],
            "example_id": ["s1", "s2"],
            "reviewer": ["ann", "ann"],
            "labeler": ["model:v1", "model:v1"],
            "label": ["fresh", "rotten"],
            "verdict": ["wrong", "agree"],
            "corrected_label": ["rotten", None],
            "note": ["sarcasm", ""],
        }
    )
    data = pl.DataFrame({"id": ["s1", "s2"], "text": ["Oh great, another sequel.", "Bad."]})
    ids = diary.add_from_verdicts(verdicts, data)
    assert len(ids) == 1
    e = diary.get(ids[0])
    assert (e["input"], e["expected"], e["observed"]) == ("Oh great, another sequel.", "rotten", "fresh")
    assert e["found_in"] == "spot check by ann" and e["provenance"]["labeler"] == "model:v1"
    assert e["note"] == "sarcasm" and "spot_check" in e["tags"]
    with pytest.raises(SchemaError, match="pass data="):
        diary.add_from_verdicts(verdicts)


def test_add_from_perturbation_failures(diary):
    from workbench import perturb

    class Keyword:
        classes_ = ("fresh", "rotten")

        def predict_proba(self, texts):
            return np.array([[0.9, 0.1] if "wonderful" in t else [0.2, 0.8] for t in texts])

    df = pl.DataFrame(
        {
            "text": ["a wonderful wonderful film", "a wonderful cast and a wonderful plot", "a dull one"],
            "origin": "real",
            "label": ["fresh", "fresh", "rotten"],
        }
    )
    report = perturb.sensitivity(Keyword(), df, ["typos", "negation"], [1.0], seed=0)
    assert report.failures.height > 0
    ids = diary.add_from_failures(report)
    got = diary.entries()
    assert got.height == len(ids) > 0
    inv = report.failures.filter(pl.col("test") == "INV")
    assert set(inv["text"]) <= set(got["input"])
    row = got.filter(pl.col("input") == inv["text"][0]).row(0, named=True)
    assert row["expected"] == inv["label"][0] and row["observed"] == inv["prediction_after"][0]
    assert row["found_in"].startswith("perturbation:typos@")
    with pytest.warns(WorkbenchWarning, match="directional"):
        if report.failures.filter(pl.col("test") == "DIR").height:
            diary.add_from_failures(report.failures)
        else:  # keep the warning contract tested even if negation never fails for this model
            diary.add_from_failures(report.failures.head(1).with_columns(test=pl.lit("DIR")))


CHILD = textwrap.dedent(
    """
    import sys
    from workbench.diary import Diary
    d = Diary(sys.argv[1])
    mode = sys.argv[2]
    i = 0
    while True:
        if mode == "record":
            eid = d.record(f"input number {i} " + "x" * 2000, "fresh", note="n" * 500, tags=[f"t{i % 7}"])
        elif mode == "evaluate":
            d.evaluate(lambda ts: ["fresh"] * len(ts), f"run{i}", headline=0.5)
            eid = f"run{i}"
        else:
            eid = d.record(f"{mode} {i}", "fresh")
        print(eid, flush=True)
        i += 1
    """
)


def _child(path: Path, mode: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), mode], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )


def _read_until(proc: subprocess.Popen, n: int) -> list[str]:
    assert proc.stdout is not None
    lines = []
    while len(lines) < n:
        line = proc.stdout.readline()
        assert line, "the writer died before writing"
        lines.append(line.strip())
    return lines


@pytest.mark.parametrize("mode", ["record", "evaluate"])
def test_survives_kill_9_during_writes(tmp_path, mode):
    path = tmp_path / "diary.sqlite"
    if mode == "evaluate":
        with Diary(path) as d:
            for i in range(200):
                d.record(f"entry {i}", "fresh")
    proc = _child(path, mode)
    done = _read_until(proc, 40)
    time.sleep(0.05)  # the writer is mid-way through further writes
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Diary(path) as d:
        assert d.integrity_check() == "ok"
        d.verify()
        if mode == "record":
            assert set(done) <= set(d.entries()["entry_id"])
        else:
            runs = d.runs()
            assert set(done) <= set(runs["run"])
            # a run is all or nothing: every stored run has all 200 outcomes
            assert set(runs["n_entries"]) == {200}
            for r in runs["run"]:
                assert d.outcomes(r).height == 200
        d.record("after the crash", "fresh")  # the diary still takes writes
        d.verify()


def test_concurrent_writers_keep_the_chain(tmp_path):
    path = tmp_path / "diary.sqlite"
    Diary(path).close()
    procs = [_child(path, name) for name in ("alpha", "beta")]
    outs = [_read_until(p, 60) for p in procs]
    for p in procs:
        p.kill()
        p.wait()
    with Diary(path) as d:
        d.verify()
        assert set(outs[0]) | set(outs[1]) <= set(d.entries()["entry_id"])
