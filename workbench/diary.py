"""The failure diary: the most damaging errors, with the exact inputs that caused them, kept forever.

Each entry holds the exact input text, the expected output, the output observed when the error
was found, a severity, tags, a note, and where it was found (an audit check's evidence, a human
spot-check verdict, a perturbation failure, or by hand). Entries become a permanent evaluation
set: `evaluate(predict_fn, run_name, headline=...)` stores every entry's outcome for a model run,
and `compare(run_a, run_b)` lists the entries each run fixed or broke, and says plainly when the
headline score improved while the diary got worse, the case where synthetic data "improves" a
system in a way that does not matter.

Storage is one SQLite file (`workbench.store`: WAL journal, `synchronous=FULL`, one immediate
transaction per write; `StoreLockedError` when another writer holds the lock past the timeout),
so an entry is on disk when `record()` returns and a process killed mid-write loses nothing
already recorded. Entries are never altered in place: `edit()` and `retire()` add a new version, SQLite
triggers refuse UPDATE and DELETE, and every version carries a sha256 chained to the one before
it, so `verify()` notices a file edited behind the diary's back.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import polars as pl

from workbench.errors import InputError, SchemaError, WorkbenchError, WorkbenchWarning
from workbench.model import as_model
from workbench.store import StoreFile, utc_now

if TYPE_CHECKING:
    import altair as alt

    from workbench.checks.base import CheckResult

SCHEMA_VERSION = 1
SEVERITIES = ("low", "medium", "high", "critical")
CHANGES = ("fixed", "broken", "still_failing", "still_passing", "new", "dropped")

_ENTRY_FIELDS = (
    "entry_id",
    "version",
    "input",
    "expected",
    "observed",
    "severity",
    "tags",
    "note",
    "found_in",
    "source_id",
    "provenance",
    "status",
    "reason",
    "author",
    "created_at",
)

_DDL = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    entry_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    input TEXT NOT NULL,
    expected TEXT NOT NULL,
    observed TEXT,
    severity TEXT NOT NULL,
    tags TEXT NOT NULL,
    note TEXT NOT NULL,
    found_in TEXT NOT NULL,
    source_id TEXT,
    provenance TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    UNIQUE (entry_id, version)
);
CREATE TABLE IF NOT EXISTS runs (
    run TEXT PRIMARY KEY,
    headline REAL,
    headline_name TEXT NOT NULL,
    higher_is_better INTEGER NOT NULL,
    note TEXT NOT NULL,
    created_at TEXT NOT NULL,
    n_entries INTEGER NOT NULL,
    n_passed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outcomes (
    run TEXT NOT NULL REFERENCES runs(run),
    entry_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    observed TEXT,
    passed INTEGER NOT NULL,
    PRIMARY KEY (run, entry_id)
);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
    BEGIN SELECT RAISE(ABORT, 'diary entries are append-only: use Diary.edit() to add a new version'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
    BEGIN SELECT RAISE(ABORT, 'diary entries are append-only: use Diary.retire() to add a retired version'); END;
CREATE TRIGGER IF NOT EXISTS runs_no_update BEFORE UPDATE ON runs
    BEGIN SELECT RAISE(ABORT, 'diary runs are append-only: evaluate under a new run name'); END;
CREATE TRIGGER IF NOT EXISTS runs_no_delete BEFORE DELETE ON runs
    BEGIN SELECT RAISE(ABORT, 'diary runs are append-only: evaluate under a new run name'); END;
CREATE TRIGGER IF NOT EXISTS outcomes_no_update BEFORE UPDATE ON outcomes
    BEGIN SELECT RAISE(ABORT, 'diary outcomes are append-only'); END;
CREATE TRIGGER IF NOT EXISTS outcomes_no_delete BEFORE DELETE ON outcomes
    BEGIN SELECT RAISE(ABORT, 'diary outcomes are append-only'); END
"""

ENTRY_SCHEMA: dict[str, Any] = {
    "entry_id": pl.String,
    "version": pl.Int64,
    "input": pl.String,
    "expected": pl.String,
    "observed": pl.String,
    "severity": pl.String,
    "tags": pl.List(pl.String),
    "note": pl.String,
    "found_in": pl.String,
    "source_id": pl.String,
    "provenance": pl.String,
    "status": pl.String,
    "reason": pl.String,
    "author": pl.String,
    "created_at": pl.String,
}
RUN_SCHEMA: dict[str, Any] = {
    "run": pl.String,
    "headline": pl.Float64,
    "headline_name": pl.String,
    "higher_is_better": pl.Boolean,
    "note": pl.String,
    "created_at": pl.String,
    "n_entries": pl.Int64,
    "n_passed": pl.Int64,
}


class DiaryIntegrityError(WorkbenchError):
    """The diary file was changed outside the diary: a version was edited or removed."""


def _entry_hash(fields: Sequence[Any], previous: str) -> str:
    payload = json.dumps([previous, *fields], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def _entry_id(text: str, expected: str) -> str:
    digest = hashlib.sha256(f"{text}\x1f{expected}".encode("utf-8", "surrogatepass")).hexdigest()
    return "d-" + digest[:10]


def _check_text(value: Any, what: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InputError(f"{what} must be a string; got {type(value).__name__} ({value!r:.60}).")
    if not allow_empty and value == "":
        raise InputError(f"{what} is empty; a diary entry needs the exact text.")
    return value


def _check_severity(severity: Any) -> str:
    if severity not in SEVERITIES:
        raise InputError(f"severity must be one of {SEVERITIES}; got {severity!r}.")
    return str(severity)


def _check_tags(tags: Any) -> list[str]:
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, Iterable):
        raise InputError(f"tags must be a list of strings; got {type(tags).__name__}.")
    out = []
    for t in tags:
        if not isinstance(t, str) or not t.strip():
            raise InputError(f"each tag must be a non-empty string; got {t!r}.")
        out.append(t.strip())
    return sorted(set(out))


def _json_scalar(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return _json_scalar(v.item())
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_json_scalar(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _json_scalar(x) for k, x in v.items()}
    return str(v)


@dataclass
class DiaryRun:
    """One model's outcome on every diary entry: `outcomes` has entry_id, version, input, expected,
    observed, passed and severity; `headline` is the model's headline score given by the caller."""

    run: str
    headline: float | None
    headline_name: str
    outcomes: pl.DataFrame

    @property
    def n_passed(self) -> int:
        return int(self.outcomes["passed"].sum())

    @property
    def n_failed(self) -> int:
        return self.outcomes.height - self.n_passed

    def _repr_markdown_(self) -> str:
        head = "" if self.headline is None else f", {self.headline_name} {self.headline:.4g}"
        return f"**diary run `{self.run}`**{head}: {self.n_passed} of {self.outcomes.height} diary entries pass."

    def __repr__(self) -> str:
        return f"DiaryRun({self.run!r}, passed {self.n_passed}/{self.outcomes.height}, headline={self.headline})"


@dataclass
class DiaryComparison:
    """Two runs side by side, entry by entry.

    `table`: one row per entry evaluated in either run with `passed_a`, `passed_b`, `observed_a`,
    `observed_b` and `change`: `fixed` (failed in a, passes in b), `broken` (passed in a, fails in
    b: a regression), `still_failing`, `still_passing`, `new` (only in b) or `dropped` (only in a).
    The diary got worse (`diary_worse`) when more shared entries broke than were fixed. `verdict`
    says in one paragraph what happened, plainly when the headline rose while the diary got worse.
    """

    run_a: str
    run_b: str
    headline_a: float | None
    headline_b: float | None
    headline_name: str
    higher_is_better: bool
    table: pl.DataFrame

    def _count(self, change: str) -> int:
        return int((self.table["change"] == change).sum())

    @property
    def counts(self) -> dict[str, int]:
        return {c: self._count(c) for c in CHANGES}

    @property
    def n_fixed(self) -> int:
        return self._count("fixed")

    @property
    def n_broken(self) -> int:
        return self._count("broken")

    @property
    def broken(self) -> pl.DataFrame:
        """The regressions: entries that passed in run a and fail in run b."""
        return self.table.filter(pl.col("change") == "broken")

    @property
    def fixed(self) -> pl.DataFrame:
        return self.table.filter(pl.col("change") == "fixed")

    @property
    def headline_improved(self) -> bool | None:
        """Whether run b's headline is better than run a's (None when either is missing)."""
        if self.headline_a is None or self.headline_b is None:
            return None
        if self.higher_is_better:
            return self.headline_b > self.headline_a
        return self.headline_b < self.headline_a

    @property
    def diary_worse(self) -> bool:
        return self.n_broken > self.n_fixed

    @property
    def headline_up_diary_down(self) -> bool:
        """The case the diary exists for: the headline improved but the diary got worse."""
        return bool(self.headline_improved) and self.diary_worse

    @property
    def verdict(self) -> str:
        n_broken, n_fixed = self.n_broken, self.n_fixed
        severe = int(self.broken["severity"].is_in(["high", "critical"]).sum()) if n_broken else 0
        tally = (
            f"{n_broken} diary entr{'y' if n_broken == 1 else 'ies'} broke"
            + (f" ({severe} of high or critical severity)" if severe else "")
            + f" and {n_fixed} {'was' if n_fixed == 1 else 'were'} fixed"
        )
        head = ""
        if self.headline_a is not None and self.headline_b is not None:
            head = f"the headline {self.headline_name} went from {self.headline_a:.4g} to {self.headline_b:.4g}"
        if self.headline_up_diary_down:
            return (
                f"WARNING: {head} (better), but the failure diary got worse: {tally}. The system is not "
                f"improving in the way that matters; read the broken entries before adopting {self.run_b!r}."
            )
        if self.diary_worse:
            return f"The failure diary got worse from {self.run_a!r} to {self.run_b!r}: {tally}" + (
                f"; {head}." if head else "."
            )
        if n_broken:
            return (
                f"Mixed: {tally} from {self.run_a!r} to {self.run_b!r}" + (f"; {head}" if head else "") + ". "
                "Each broken entry is a regression on a known failure; read them."
            )
        return f"No diary regressions from {self.run_a!r} to {self.run_b!r}: {tally}" + (f"; {head}." if head else ".")

    def chart(self) -> alt.Chart:
        """Bars of fixed, broken and unchanged entries (by severity): `charts.diary_comparison`."""
        from workbench import charts

        return charts.diary_comparison(self)

    def _repr_markdown_(self) -> str:
        return f"**{self.run_a} → {self.run_b}**: {self.verdict}"

    def __repr__(self) -> str:
        return f"DiaryComparison({self.run_a!r} -> {self.run_b!r}: {self.counts})"


class Diary(StoreFile):
    """A failure diary in one SQLite file: `Diary("eval/failure_diary.sqlite")`.

    Record entries with `record()` or from evidence (`add_from_evidence`, `add_from_verdicts`,
    `add_from_failures`); read them with `entries()` and `history()`; score a model on them with
    `evaluate()` and compare two runs with `compare()`. Safe across processes and after a crash.
    """

    KIND = "failure diary"
    DDL = _DDL
    SCHEMA_VERSION = SCHEMA_VERSION
    DEFAULT_NAME = "diary.sqlite"
    META: ClassVar[Mapping[str, str]] = {"kind": "workbench failure diary"}

    def _append(self, c: sqlite3.Connection, fields: dict[str, Any]) -> None:
        last = c.execute("SELECT seq, sha256 FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        seq, previous = (last[0] + 1, last[1]) if last else (1, "")
        values = [fields[k] for k in _ENTRY_FIELDS]
        digest = _entry_hash(values, previous)
        c.execute(
            f"INSERT INTO entries (seq, {', '.join(_ENTRY_FIELDS)}, sha256) VALUES ({', '.join('?' * (len(values) + 2))})",
            (seq, *values, digest),
        )

    def _latest(self, c: sqlite3.Connection, entry_id: str) -> dict[str, Any]:
        row = c.execute(
            f"SELECT {', '.join(_ENTRY_FIELDS)} FROM entries WHERE entry_id = ? ORDER BY version DESC LIMIT 1",
            (entry_id,),
        ).fetchone()
        if row is None:
            raise InputError(f"no diary entry {entry_id!r}; list them with Diary.entries().")
        return dict(zip(_ENTRY_FIELDS, row))

    # -- writing ------------------------------------------------------------------------------

    def record(
        self,
        input: str,
        expected: str,
        *,
        observed: str | None = None,
        severity: str = "high",
        tags: Iterable[str] = (),
        note: str = "",
        found_in: str = "by hand",
        source_id: str | None = None,
        provenance: Mapping[str, Any] | None = None,
        author: str = "",
    ) -> str:
        """Record one failure; it is committed and synced to disk when this returns. Returns its id.

        `input` is the exact text that caused the error (kept byte for byte, never normalised),
        `expected` the right output, `observed` what the system gave when the error was found.
        `severity` is one of `SEVERITIES`; `found_in` and `source_id` say where it was found (e.g.
        'audit:label_shortcut' and the row's id), `provenance` holds any further detail (JSON).
        Recording the same input with the same expected output again returns the existing entry
        unchanged; use `edit()` to change an entry.
        """
        input = _check_text(input, "input")
        expected = _check_text(expected, "expected")
        if observed is not None:
            observed = _check_text(observed, "observed", allow_empty=True)
        fields: dict[str, Any] = {
            "input": input,
            "expected": expected,
            "observed": observed,
            "severity": _check_severity(severity),
            "tags": json.dumps(_check_tags(tags)),
            "note": _check_text(note, "note", allow_empty=True),
            "found_in": _check_text(found_in, "found_in"),
            "source_id": None if source_id is None else str(source_id),
            "provenance": json.dumps(_json_scalar(dict(provenance or {})), ensure_ascii=False, sort_keys=True),
            "status": "active",
            "reason": "recorded",
            "author": _check_text(author, "author", allow_empty=True),
        }
        base = _entry_id(input, expected)
        with self._db.transaction() as c:
            entry_id, n = base, 1
            while True:
                row = c.execute(
                    "SELECT input, expected, status FROM entries WHERE entry_id = ? ORDER BY version DESC LIMIT 1",
                    (entry_id,),
                ).fetchone()
                if row is None:
                    break
                if row[0] == input and row[1] == expected and row[2] == "active":
                    return entry_id
                n += 1
                entry_id = f"{base}-{n}"
            self._append(c, {**fields, "entry_id": entry_id, "version": 1, "created_at": utc_now()})
        return entry_id

    def edit(
        self,
        entry_id: str,
        *,
        reason: str,
        expected: str | None = None,
        observed: str | None = None,
        severity: str | None = None,
        tags: Iterable[str] | None = None,
        note: str | None = None,
        author: str = "",
    ) -> int:
        """Change an entry by adding a new version (the old one stays in `history()`); returns the new version.

        `reason` says why, and is kept with the version. The input cannot change: a different input
        is a different failure, so record it as a new entry.
        """
        reason = _check_text(reason, "reason")
        changes: dict[str, Any] = {}
        if expected is not None:
            changes["expected"] = _check_text(expected, "expected")
        if observed is not None:
            changes["observed"] = _check_text(observed, "observed", allow_empty=True)
        if severity is not None:
            changes["severity"] = _check_severity(severity)
        if tags is not None:
            changes["tags"] = json.dumps(_check_tags(tags))
        if note is not None:
            changes["note"] = _check_text(note, "note", allow_empty=True)
        if not changes:
            raise InputError("edit() changes nothing; pass expected=, observed=, severity=, tags= or note=.")
        with self._db.transaction() as c:
            latest = self._latest(c, entry_id)
            if latest["status"] != "active":
                raise InputError(f"diary entry {entry_id!r} is retired; record a new entry instead of editing it.")
            version = latest["version"] + 1
            fields = {**latest, **changes, "version": version, "reason": f"edit: {reason}", "author": author}
            self._append(c, {**fields, "created_at": utc_now()})
        return int(version)

    def retire(self, entry_id: str, *, reason: str, author: str = "") -> int:
        """Take an entry out of evaluation by adding a `retired` version (kept in `history()`)."""
        reason = _check_text(reason, "reason")
        with self._db.transaction() as c:
            latest = self._latest(c, entry_id)
            if latest["status"] == "retired":
                return int(latest["version"])
            version = latest["version"] + 1
            fields = {**latest, "version": version, "status": "retired", "reason": f"retired: {reason}"}
            self._append(c, {**fields, "author": author, "created_at": utc_now()})
        return int(version)

    # -- adding from evidence -----------------------------------------------------------------

    def add_from_evidence(
        self,
        evidence: pl.DataFrame | CheckResult,
        *,
        expected: str | None = None,
        expected_column: str | None = None,
        observed_column: str | None = None,
        input_column: str = "text",
        data: pl.DataFrame | None = None,
        severity: str = "high",
        tags: Iterable[str] = (),
        note: str = "",
        found_in: str | None = None,
        author: str = "",
    ) -> list[str]:
        """Record every row of an evidence table (a `CheckResult` or any frame with `id`) as an entry.

        The input is the row's `input_column` (default `text`, looked up in `data` by `id` when the
        evidence has none; e.g. `paraphrased` for the paraphrase failures of `score_vanishes`). The
        expected output is `expected` (one value for all rows), else the column `expected_column`,
        else `reference_label` or `label`, from the evidence or from `data`. The observed output is
        `observed_column`, or the row's `label` when the expected one is its `reference_label`.
        Rows without an expected output are skipped with a warning. Returns the entries' ids.
        """
        result = None
        if not isinstance(evidence, pl.DataFrame):
            if not hasattr(evidence, "evidence") or not hasattr(evidence, "check"):
                raise InputError(f"evidence must be a polars frame or a CheckResult; got {type(evidence).__name__}.")
            result = evidence
            evidence = result.evidence
        if "id" not in evidence.columns:
            raise SchemaError(f"the evidence has no 'id' column (found {evidence.columns}); evidence rows need ids.")
        rows = evidence
        if data is not None:
            if "id" not in data.columns:
                raise SchemaError(f"data= needs an 'id' column to look evidence rows up; found {data.columns}.")
            add = [c for c in data.columns if c != "id" and (c not in rows.columns or c == "text")]
            lookup = data.select("id", *[pl.col(c).alias(f"_data_{c}") for c in add]).unique(
                "id", keep="first", maintain_order=True
            )
            rows = rows.join(lookup, on="id", how="left", maintain_order="left")
            for c in add:
                if c in rows.columns:  # the evidence has it: only fill its gaps
                    filled = pl.coalesce(pl.col(c), pl.col(f"_data_{c}").cast(rows.schema[c], strict=False))
                    rows = rows.with_columns(filled.alias(c)).drop(f"_data_{c}")
                else:
                    rows = rows.rename({f"_data_{c}": c})
        if input_column not in rows.columns:
            if input_column != "text":
                raise SchemaError(
                    f"input_column {input_column!r} is not in the evidence or data; found {rows.columns}."
                )
            raise SchemaError(
                "the evidence has no 'text' column; pass data= (the audited frame, with id and text) to look rows up by id."
            )
        if expected is None:
            col = expected_column or next((c for c in ("reference_label", "label") if c in rows.columns), None)
            if col is None or col not in rows.columns:
                raise SchemaError(
                    f"no expected output for the evidence rows: {'column ' + repr(col) + ' is missing' if col else 'no label column'} "
                    f"(found {rows.columns}). Pass expected='...' for all rows or expected_column= naming a column "
                    "of the evidence or of data=."
                )
            expected_col = col
            if observed_column is None and col == "reference_label" and "label" in rows.columns:
                observed_column = "label"
        if observed_column is not None and observed_column not in rows.columns:
            raise SchemaError(
                f"observed_column {observed_column!r} is not in the evidence or data; found {rows.columns}."
            )
        if result is not None:
            found_in = found_in or f"audit:{result.check}"
            tags = [*tags, result.failure_mode]
        found_in = found_in or "evidence table"
        ids: list[str] = []
        skipped = 0
        context_cols = [c for c in rows.columns if c not in (input_column, "id") and rows.schema[c] != pl.Object]
        for row in rows.iter_rows(named=True):
            text = row.get(input_column)
            want = expected if expected is not None else row.get(expected_col)
            if text is None or text == "" or want is None or str(want) == "":
                skipped += 1
                continue
            seen = None if observed_column is None else row.get(observed_column)
            detail: dict[str, Any] = {"row": {c: _json_scalar(row[c]) for c in context_cols}}
            if result is not None:
                detail |= {"check": result.check, "failure_mode": result.failure_mode, "status": result.status}
            ids.append(
                self.record(
                    str(text),
                    str(want),
                    observed=None if seen is None else str(seen),
                    severity=severity,
                    tags=tags,
                    note=note,
                    found_in=found_in,
                    source_id=str(row["id"]),
                    provenance=detail,
                    author=author,
                )
            )
        if skipped:
            warnings.warn(
                f"{skipped} evidence row(s) skipped: no text or no expected output. Pass data= to look texts up, "
                "or expected= / expected_column= to give the expected output.",
                WorkbenchWarning,
                stacklevel=2,
            )
        return ids

    def add_from_verdicts(
        self,
        verdicts: pl.DataFrame,
        data: pl.DataFrame | None = None,
        *,
        severity: str = "high",
        tags: Iterable[str] = ("label_bias", "spot_check"),
        author: str = "",
    ) -> list[str]:
        """Record every spot-check verdict that found a label `wrong` (`VerdictStore.verdicts()`).

        The input is the example's text (from the verdicts, or from `data` by id), the expected
        output the reviewer's corrected label, the observed output the label that was judged wrong.
        """
        key = "example_id" if "example_id" in verdicts.columns else "id"
        need = [c for c in (key, "verdict", "corrected_label") if c not in verdicts.columns]
        if need:
            raise SchemaError(
                f"verdicts need columns example_id (or id), verdict and corrected_label; missing {need}. "
                "Pass VerdictStore.verdicts()."
            )
        wrong = verdicts.filter(pl.col("verdict") == "wrong").rename({key: "id"} if key != "id" else {})
        if "text" not in wrong.columns:
            if data is None or "text" not in data.columns or "id" not in data.columns:
                raise SchemaError("verdicts carry no text; pass data= (the reviewed frame, with id and text).")
            wrong = wrong.join(data.select("id", "text").unique("id", keep="first"), on="id", how="left")
        ids = []
        for row in wrong.iter_rows(named=True):
            if row["text"] is None:
                raise InputError(
                    f"spot-checked example {row['id']!r} is not in data=; pass the frame that was reviewed."
                )
            reviewer = row.get("reviewer") or "a reviewer"
            ids.append(
                self.record(
                    row["text"],
                    str(row["corrected_label"]),
                    observed=None if row.get("label") is None else str(row["label"]),
                    severity=severity,
                    tags=tags,
                    note=row.get("note") or "",
                    found_in=f"spot check by {reviewer}",
                    source_id=str(row["id"]),
                    provenance={
                        k: _json_scalar(row.get(k))
                        for k in ("review_id", "reviewer", "labeler", "verdict", "created_at")
                    },
                    author=author,
                )
            )
        return ids

    def add_from_failures(
        self,
        failures: Any,
        *,
        classes: Sequence[Any] | None = None,
        severity: str = "high",
        tags: Iterable[str] = ("artifact_learning", "brittleness"),
        author: str = "",
    ) -> list[str]:
        """Record perturbation failures (`SensitivityReport` or its `.failures` frame).

        The input is the perturbed text. For an invariance (INV) failure the expected output is
        the true label (or, without one, the answer before the perturbation); for a directional
        (DIR, negation) failure it is the other class of a two-class task, which needs `classes`
        (taken from the report when given one). The observed output is the answer after.
        """
        if hasattr(failures, "failures") and hasattr(failures, "classes"):
            classes = classes if classes is not None else failures.classes
            failures = failures.failures
        if not isinstance(failures, pl.DataFrame):
            raise InputError(
                f"failures must be a SensitivityReport or its .failures frame; got {type(failures).__name__}."
            )
        need = [c for c in ("id", "text", "test", "prediction_before", "prediction_after") if c not in failures.columns]
        if need:
            raise SchemaError(f"failures need columns {need}; pass workbench.perturb.sensitivity(...).failures.")
        names = None if classes is None else [str(c) for c in classes]
        ids, skipped = [], 0
        for row in failures.iter_rows(named=True):
            truth = row.get("label") or row["prediction_before"]
            if row["test"] == "DIR":
                if names is None or len(names) != 2 or truth not in names:
                    skipped += 1
                    continue
                want = names[1 - names.index(truth)]
            else:
                want = truth
            where = f"perturbation:{row.get('perturbation', '?')}@{row.get('strength', '?')}"
            keys = ["parent_id", "original_text", "perturbation", "strength", "test", "reason"]
            keys += ["confidence_before", "confidence_after"]
            detail: dict[str, Any] = {k: _json_scalar(row[k]) for k in keys if k in row}
            ids.append(
                self.record(
                    row["text"],
                    str(want),
                    observed=str(row["prediction_after"]),
                    severity=severity,
                    tags=[*tags, *([row["perturbation"]] if row.get("perturbation") else [])],
                    note=str(row.get("reason") or ""),
                    found_in=where,
                    source_id=str(row["id"]),
                    provenance=detail,
                    author=author,
                )
            )
        if skipped:
            warnings.warn(
                f"{skipped} directional (DIR) failure(s) skipped: their expected answer is the other class of a "
                "two-class task; pass classes=[a, b].",
                WorkbenchWarning,
                stacklevel=2,
            )
        return ids

    # -- reading ------------------------------------------------------------------------------

    def _versions(self, where: str = "", params: Sequence[Any] = ()) -> pl.DataFrame:
        rows = self._db.rows(f"SELECT {', '.join(_ENTRY_FIELDS)} FROM entries {where} ORDER BY seq", tuple(params))
        data = [dict(zip(_ENTRY_FIELDS, r)) | {"tags": json.loads(r[6])} for r in rows]
        return pl.DataFrame(data, schema=ENTRY_SCHEMA, orient="row")

    def history(self, entry_id: str | None = None) -> pl.DataFrame:
        """Every version of every entry (or of one), oldest first: nothing is ever overwritten."""
        if entry_id is None:
            return self._versions()
        out = self._versions("WHERE entry_id = ?", (entry_id,))
        if out.height == 0:
            raise InputError(f"no diary entry {entry_id!r}; list them with Diary.entries().")
        return out

    def entries(
        self,
        *,
        include_retired: bool = False,
        severity: str | Iterable[str] | None = None,
        tags: str | Iterable[str] | None = None,
        search: str | None = None,
        found_in: str | None = None,
    ) -> pl.DataFrame:
        """The current version of each entry, in recording order, optionally filtered.

        `severity`: one or several levels; `tags`: entries carrying all of them; `search`: a
        case-insensitive substring of input, expected, observed or note; `found_in`: a substring.
        """
        latest = self._versions(
            "WHERE (entry_id, version) IN (SELECT entry_id, MAX(version) FROM entries GROUP BY entry_id)"
        )
        first = pl.DataFrame(
            self._db.rows("SELECT entry_id, created_at, seq FROM entries WHERE version = 1"),
            schema={"entry_id": pl.String, "recorded_at": pl.String, "_first": pl.Int64},
            orient="row",
        )
        out = latest.join(first, on="entry_id", how="left").sort("_first").drop("_first")
        if not include_retired:
            out = out.filter(pl.col("status") == "active")
        if severity is not None:
            levels = [severity] if isinstance(severity, str) else list(severity)
            for s in levels:
                _check_severity(s)
            out = out.filter(pl.col("severity").is_in(levels))
        if tags is not None:
            for t in _check_tags(tags):
                out = out.filter(pl.col("tags").list.contains(t))
        if search:
            needle = search.lower()
            hit = pl.lit(False)
            for c in ("input", "expected", "observed", "note"):
                hit = hit | pl.col(c).fill_null("").str.to_lowercase().str.contains(needle, literal=True)
            out = out.filter(hit)
        if found_in:
            out = out.filter(pl.col("found_in").str.contains(found_in, literal=True))
        return out

    def get(self, entry_id: str) -> dict[str, Any]:
        """The current version of one entry as a dict."""
        row = self._latest(self._db.conn, entry_id)
        return row | {"tags": json.loads(row["tags"]), "provenance": json.loads(row["provenance"])}

    def __len__(self) -> int:
        return self.entries().height

    def __repr__(self) -> str:
        return f"Diary({str(self.path)!r}, {len(self)} active entries, {self.runs().height} runs)"

    def verify(self) -> None:
        """Raise `DiaryIntegrityError` if any stored version was edited, or removed from before the last one."""
        rows = self._db.rows(f"SELECT seq, {', '.join(_ENTRY_FIELDS)}, sha256 FROM entries ORDER BY seq")
        previous, expected_seq = "", 1
        problems: list[str] = []
        versions: dict[str, int] = {}
        for row in rows:
            seq, values, digest = row[0], list(row[1:-1]), row[-1]
            if seq != expected_seq:
                problems.append(f"version(s) removed before position {seq}")
            if _entry_hash(values, previous) != digest:
                problems.append(f"entry {values[0]!r} version {values[1]} was altered")
            if values[1] != versions.get(values[0], 0) + 1:
                problems.append(f"entry {values[0]!r} is missing version {versions.get(values[0], 0) + 1}")
            versions[values[0]] = values[1]
            previous, expected_seq = digest, seq + 1
        if problems:
            raise DiaryIntegrityError(
                f"the failure diary {self.path} was changed outside the diary: {'; '.join(problems[:5])}"
                + (f"; ... {len(problems) - 5} more" if len(problems) > 5 else "")
                + ". Restore it from version control or a backup; never edit the file by hand."
            )

    # -- evaluation -----------------------------------------------------------------------------

    def evaluate(
        self,
        predict_fn: Any,
        run_name: str,
        *,
        headline: float | None = None,
        headline_name: str = "score",
        higher_is_better: bool = True,
        classes: Sequence[Any] | None = None,
        match: Callable[[str, str | None], bool] | None = None,
        note: str = "",
    ) -> DiaryRun:
        """Run a model on every active entry's exact input and store each outcome under `run_name`.

        `predict_fn`: a callable (list of texts -> one answer per text, or (n, k) class
        probabilities with `classes`), a model with `predict`, or a mapping text (or entry id) ->
        answer (e.g. read from a predictions file); see `workbench.model`. An entry passes when the answer equals its expected output
        (`match(expected, observed)` decides instead when given). `headline` is the model's
        headline score on its usual test set, stored so `compare` can set the two side by side.
        Runs are never overwritten: a name already used is refused.
        """
        run_name = _check_text(run_name, "run_name")
        if headline is not None:
            try:
                headline = float(headline)
            except (TypeError, ValueError):
                raise InputError(f"headline must be a number; got {headline!r}.") from None
            if not math.isfinite(headline):
                raise InputError(f"headline must be a finite number; got {headline!r}.")
        self.verify()
        if self._db.execute("SELECT 1 FROM runs WHERE run = ?", (run_name,)).fetchone():
            raise InputError(f"the diary already has a run {run_name!r}; runs are never overwritten, pick a new name.")
        current = self.entries()
        if current.height == 0:
            raise InputError("the diary has no active entries to evaluate; record some first.")
        texts = current["input"].to_list()
        answers = as_model(predict_fn, classes=classes).answers(texts, ids=current["entry_id"].to_list())
        expected = current["expected"].to_list()
        if match is None:
            passed = [a is not None and a == e for e, a in zip(expected, answers)]
        else:
            passed = [bool(match(e, a)) for e, a in zip(expected, answers)]
        ids, versions = current["entry_id"].to_list(), current["version"].to_list()
        with self._db.transaction() as c:
            c.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_name, headline, headline_name, int(higher_is_better), note, utc_now(), len(ids), sum(passed)),
            )
            c.executemany(
                "INSERT INTO outcomes VALUES (?, ?, ?, ?, ?)",
                [(run_name, i, v, a, int(p)) for i, v, a, p in zip(ids, versions, answers, passed)],
            )
        return DiaryRun(run_name, headline, headline_name, self.outcomes(run_name))

    def runs(self) -> pl.DataFrame:
        """Every evaluated run, oldest first: headline, entries evaluated and passed."""
        rows = self._db.rows(
            "SELECT run, headline, headline_name, higher_is_better, note, created_at, n_entries, n_passed "
            "FROM runs ORDER BY created_at, run"
        )
        return pl.DataFrame([(*r[:3], bool(r[3]), *r[4:]) for r in rows], schema=RUN_SCHEMA, orient="row")

    def _run(self, run_name: str) -> tuple[Any, ...]:
        row = self._db.execute(
            "SELECT headline, headline_name, higher_is_better FROM runs WHERE run = ?", (run_name,)
        ).fetchone()
        if row is None:
            known = self.runs()["run"].to_list()
            raise InputError(f"no diary run {run_name!r}; runs: {known or 'none yet (use evaluate())'}.")
        return tuple(row)

    def outcomes(self, run_name: str) -> pl.DataFrame:
        """One row per entry evaluated in `run_name`: the entry (as evaluated), the answer and `passed`."""
        self._run(run_name)
        rows = self._db.rows(
            "SELECT o.entry_id, o.version, e.input, e.expected, o.observed, o.passed, e.severity, e.tags "
            "FROM outcomes o JOIN entries e ON e.entry_id = o.entry_id AND e.version = o.version "
            "WHERE o.run = ? ORDER BY e.seq",
            (run_name,),
        )
        return pl.DataFrame(
            [(*r[:5], bool(r[5]), r[6], json.loads(r[7])) for r in rows],
            schema={
                "entry_id": pl.String,
                "version": pl.Int64,
                "input": pl.String,
                "expected": pl.String,
                "observed": pl.String,
                "passed": pl.Boolean,
                "severity": pl.String,
                "tags": pl.List(pl.String),
            },
            orient="row",
        )

    def compare(self, run_a: str, run_b: str) -> DiaryComparison:
        """Entry by entry, what changed from `run_a` to `run_b` (see `DiaryComparison`)."""
        head_a, name, hib = self._run(run_a)
        head_b, _, _ = self._run(run_b)
        a = self.outcomes(run_a).select(
            "entry_id", "input", "expected", "severity", "tags", observed_a="observed", passed_a="passed"
        )
        b = self.outcomes(run_b).select(
            "entry_id",
            pl.col("input").alias("input_b"),
            pl.col("expected").alias("expected_b"),
            pl.col("severity").alias("severity_b"),
            pl.col("tags").alias("tags_b"),
            observed_b="observed",
            passed_b="passed",
        )
        t = a.join(b, on="entry_id", how="full", coalesce=True, maintain_order="left_right")
        t = t.with_columns(
            input=pl.coalesce("input_b", "input"),
            expected=pl.coalesce("expected_b", "expected"),
            severity=pl.coalesce("severity_b", "severity"),
            tags=pl.coalesce("tags_b", "tags"),
        ).drop("input_b", "expected_b", "severity_b", "tags_b")
        change = (
            pl.when(pl.col("passed_a").is_null())
            .then(pl.lit("new"))
            .when(pl.col("passed_b").is_null())
            .then(pl.lit("dropped"))
            .when(pl.col("passed_a") & ~pl.col("passed_b"))
            .then(pl.lit("broken"))
            .when(~pl.col("passed_a") & pl.col("passed_b"))
            .then(pl.lit("fixed"))
            .when(pl.col("passed_a"))
            .then(pl.lit("still_passing"))
            .otherwise(pl.lit("still_failing"))
        )
        t = t.with_columns(change=change).select(
            "entry_id",
            "change",
            "severity",
            "input",
            "expected",
            "observed_a",
            "observed_b",
            "passed_a",
            "passed_b",
            "tags",
        )
        return DiaryComparison(run_a, run_b, head_a, head_b, name, bool(hib), t)


__all__ = [
    "CHANGES",
    "SEVERITIES",
    "Diary",
    "DiaryComparison",
    "DiaryIntegrityError",
    "DiaryRun",
]
