"""What an audit found, as data: `CheckResult`, `AuditReport`, attachments, the trust checklist.

This module sits just above the bottom layer: it imports only `workbench.errors` (and polars), so
the checks that build `CheckResult`s, `audit` that collects them into an `AuditReport` and `report`
that renders one all import it, and it imports none of them. Rendering is `workbench.report`'s
job; `Audit` hands every report it makes the renderer (`Renderer`), so `report.to_json(path)` and
`report.to_html(path)` work without this module importing the one above it.

The gate: `AuditReport.gate(level)` decides whether the data passes a CI gate at `level` ('warn' or
'fail'). It fails when a check (or attached evidence) reaches the level, when a check asked for by
name (`Audit(checks=[...])`, `workbench audit --checks`) could not run, and when no check ran at
all, unless skipped checks are explicitly accepted (`Audit(..., allow_skipped=True)`,
`--allow-skipped`). `skipped` never counts as `pass`: the worst status of an audit in which
nothing ran is `skipped`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from workbench.errors import InputError

FAILURE_MODES = (
    "artifact_learning",
    "coverage_illusion",
    "contamination",
    "over_regularization",
    "label_bias",
    "feedback_amplification",
    "privacy",
)
GUARDRAILS = ("provenance", "anchor")
STATUSES = ("pass", "warn", "fail", "error", "skipped")
Status = str  # one of STATUSES; checked at run time in CheckResult
# Severity for "worst status" and the gate levels. `skipped` ranks below `pass`: it is no evidence
# either way, so it never hides what ran and never stands in for a pass (nothing ran -> skipped).
STATUS_ORDER = {"skipped": -1, "pass": 0, "warn": 1, "fail": 2, "error": 2}
GATE_LEVELS = ("warn", "fail")
EVIDENCE_ROWS = 50  # evidence rows (and broken diary entries) kept in a report document


def worst_status(statuses: Sequence[str]) -> str:
    """The most severe of `statuses` (`fail` before `error` on a tie); `skipped` when none ran."""
    return max(statuses, key=lambda s: (STATUS_ORDER[s], s == "fail"), default="skipped")


def _empty_evidence() -> pl.DataFrame:
    return pl.DataFrame(schema={"id": pl.String, "text": pl.String})


@dataclass
class CheckResult:
    """What one check found.

    `score` is the headline number, `score_meaning` says what it measures and in which direction it
    is bad, `threshold` is where the status changes. `evidence` holds the rows that show the problem
    (always with `id` and `text`), `details` any further numbers (JSON-serialisable). A skipped
    check says why in `details["reason"]`.
    """

    check: str
    failure_mode: str
    status: Status
    summary: str
    score: float | None = None
    score_meaning: str = ""
    threshold: float | None = None
    evidence: pl.DataFrame = field(default_factory=_empty_evidence)
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.failure_mode not in FAILURE_MODES + GUARDRAILS:
            raise ValueError(f"unknown failure_mode {self.failure_mode!r}")
        if self.status not in STATUS_ORDER:
            raise ValueError(f"unknown status {self.status!r}")
        if "id" not in self.evidence.columns:
            raise ValueError(f"evidence of {self.check!r} must have an 'id' column")

    def _repr_markdown_(self) -> str:
        score = "" if self.score is None else f" score={self.score:.4g}"
        return f"**{self.check}** ({self.failure_mode}): `{self.status}`{score}. {self.summary}"


# -- the trust checklist ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistItem:
    """One item of the trust checklist: which failure modes' checks (or attachments) bear on it."""

    key: str
    item: str
    failure_modes: tuple[str, ...] = ()
    how: str = ""


# The seed's advice for trusting synthetic data. Items no registered check covers (calibration, the
# diary) are satisfied by evidence attached with `AuditReport.attach()` or `attach_diary()`.
CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem(
        "provenance",
        "Provenance recorded on every example",
        ("provenance",),
        "the provenance check passes: origin on every row; generator, version, prompt and sampling on synthetic rows",
    ),
    ChecklistItem(
        "anchor",
        "A frozen real anchor set, unchanged and kept out of training",
        ("anchor",),
        "audit with an anchor set (workbench freeze-anchor, then --anchor DIR) and anchor_integrity passes",
    ),
    ChecklistItem(
        "contamination",
        "Contamination checked: no exact, near or semantic copies across splits",
        ("contamination",),
        "a split column (train/eval/...) so the contamination check can run, and it passes",
    ),
    ChecklistItem(
        "privacy",
        "Privacy checked: synthetic rows neither copy nor memorize the real training records",
        ("privacy",),
        "real training rows (split='train'), a real holdout the generator never saw (split='holdout') and the "
        "synthetic rows, so the privacy check runs, and it passes",
    ),
    ChecklistItem(
        "coverage",
        "Coverage and tails audited against real data",
        ("coverage_illusion",),
        "real and synthetic rows with embeddings, so the coverage checks run, and they pass",
    ),
    ChecklistItem(
        "diversity",
        "Diversity compared with real data",
        ("over_regularization",),
        "real and synthetic rows, so the diversity (over-regularization) checks run, and they pass",
    ),
    ChecklistItem(
        "label_spot_checks",
        "Synthetic labels spot-checked by people",
        ("label_bias",),
        "human verdicts exported into reference_label (workbench.spotcheck), so the label checks run, and they pass",
    ),
    ChecklistItem(
        "brittleness",
        "Brittleness tested: shortcuts and perturbations",
        ("artifact_learning",),
        "labelled real and synthetic rows, so the artifact and perturbation checks run; or attach a "
        "workbench.perturb.sensitivity result with report.attach('brittleness', ...)",
    ),
    ChecklistItem(
        "calibration",
        "Calibration of the model measured on real data",
        (),
        "attach a calibration result: report.attach('calibration', status, summary, details) with the ECE "
        "from workbench.calibration on real held-out data",
    ),
    ChecklistItem(
        "failure_diary",
        "A failure diary kept and re-run on every model",
        (),
        "attach the diary: report.attach_diary(Diary(path)) or `workbench audit --diary PATH`",
    ),
)
CHECKLIST_KEYS = tuple(c.key for c in CHECKLIST)


# -- attachments ----------------------------------------------------------------------------------


@dataclass
class Attachment:
    """Evidence for the report from outside the registered checks (diary, calibration, ...)."""

    status: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


def make_attachment(key: str, status: str, summary: str, details: dict[str, Any] | None = None) -> Attachment:
    """An `Attachment` for checklist item `key`, refused with an `InputError` when malformed."""
    if key not in CHECKLIST_KEYS:
        raise InputError(f"attachments are keyed by a checklist item, one of {CHECKLIST_KEYS}; got {key!r}.")
    if status not in STATUSES:
        raise InputError(f"status must be one of {STATUSES}; got {status!r}.")
    if not isinstance(summary, str) or not summary:
        raise InputError("an attachment needs a summary: one sentence saying what the evidence shows.")
    return Attachment(status, summary, dict(details or {}))


class DiaryLike(Protocol):
    """What `diary_attachment` reads of a `workbench.diary.Diary` (named here, not imported)."""

    path: Any

    def entries(self) -> pl.DataFrame: ...
    def runs(self) -> pl.DataFrame: ...
    def compare(self, run_a: str, run_b: str) -> Any: ...


class ValidityLike(Protocol):
    """What the report reads of a `workbench.validity.ValidityReport` (named here, not imported)."""

    table: pl.DataFrame

    def to_dict(self) -> dict[str, Any]: ...


def diary_attachment(diary: DiaryLike, run_a: str | None = None, run_b: str | None = None) -> Attachment:
    """Sum up a failure diary for the report: entries by severity and the comparison of two runs
    (by default its last two). `fail` when the later run made the diary worse, `warn` when some
    entries broke or the diary was never evaluated twice, `pass` otherwise."""
    entries = diary.entries()
    runs = diary.runs()
    by_severity = {s: int((entries["severity"] == s).sum()) for s in ("low", "medium", "high", "critical")}
    details: dict[str, Any] = {"path": Path(diary.path).name, "entries": entries.height, "by_severity": by_severity}
    details["runs"] = runs["run"].to_list()
    if entries.height == 0:
        return Attachment("warn", "The failure diary is empty: record the most damaging errors found.", details)
    if run_a is None and run_b is None:
        if runs.height < 2:
            n = runs.height
            return Attachment(
                "warn",
                f"The failure diary holds {entries.height} entries but {'no run' if n == 0 else 'one run'} was evaluated "
                "on it; evaluate every candidate model (Diary.evaluate) and compare it with the last one.",
                details,
            )
        run_a, run_b = runs["run"][-2], runs["run"][-1]
    if run_a is None or run_b is None:
        raise InputError("pass both run_a and run_b, or neither (then the diary's last two runs are compared).")
    cmp = diary.compare(run_a, run_b)
    details |= {
        "run_a": run_a,
        "run_b": run_b,
        "counts": cmp.counts,
        "headline_a": cmp.headline_a,
        "headline_b": cmp.headline_b,
        "headline_name": cmp.headline_name,
        "broken": [
            {"entry_id": r["entry_id"], "severity": r["severity"], "input": r["input"], "expected": r["expected"],
             "observed": r["observed_b"]}
            for r in cmp.broken.head(EVIDENCE_ROWS).iter_rows(named=True)
        ],
    }  # fmt: skip
    status = "fail" if cmp.diary_worse else ("warn" if cmp.n_broken else "pass")
    return Attachment(status, f"{entries.height} diary entries. {cmp.verdict}", details)


# -- the gate -------------------------------------------------------------------------------------


def _checks(n: int) -> str:
    return f"{n} check{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class Gate:
    """The CI gate's verdict on a report at `level` (see the module docstring).

    `ran`: checks that ran (any status but skipped). `skipped`: every skipped check with its reason.
    `could_not_run`: the skipped checks that fail the gate (asked for by name; every one when no
    check ran; none with `allow_skipped`). `failed`: checks and attachments at or above `level`.
    """

    level: str
    ran: list[str]
    skipped: dict[str, str]
    could_not_run: list[str]
    failed: list[str]
    worst: str
    by_name: bool
    allow_skipped: bool

    @property
    def passed(self) -> bool:
        return not self.failed and not self.could_not_run

    @property
    def summary(self) -> str:
        """One line: what failed, what could not run and why, how many checks ran and were skipped."""
        counts = f"{_checks(len(self.ran))} ran"
        if self.skipped:
            counts += f", {len(self.skipped)} skipped"
            if self.allow_skipped:
                counts += " (allowed): " + ", ".join(f"{n} ({r})" for n, r in self.skipped.items())
            elif len(self.could_not_run) < len(self.skipped):
                counts += f" ({', '.join(self.skipped)})"
        if self.passed:
            return f"{counts}; worst status {self.worst}"
        parts = []
        if self.failed:
            parts.append(f"{', '.join(self.failed)} at or above {self.level}")
        if self.could_not_run:
            n_asked = len(self.ran) + len(self.skipped)
            reasons = ", ".join(f"{n} ({self.skipped[n]})" for n in self.could_not_run)
            if self.by_name:
                parts.append(f"{len(self.could_not_run)} of {n_asked} requested checks could not run: {reasons}")
            else:
                parts.append(f"no check could run: {reasons}")
            parts.append(f"{counts}; accept skipped checks with --allow-skipped (Audit(..., allow_skipped=True))")
        else:
            parts.append(counts)
        return "; ".join(parts)


# -- the report -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Renderer:
    """How a report becomes a document and files. The one implementation is `workbench.report.RENDERER`;
    `Audit` passes it to every report it makes, so this module never imports the renderer above it."""

    document: Callable[[AuditReport], dict[str, Any]]
    write_json: Callable[[AuditReport, str | Path], Path]
    write_html: Callable[[AuditReport, str | Path], Path]
    table_html: Callable[[AuditReport], str]


_TABLE_SCHEMA = {
    "check": pl.String,
    "failure_mode": pl.String,
    "status": pl.String,
    "score": pl.Float64,
    "threshold": pl.Float64,
    "summary": pl.String,
    "score_meaning": pl.String,
    "evidence_rows": pl.Int64,
}


class AuditReport:
    """The results of an audit: `table` (one row per check), `results` (name -> CheckResult).

    `requested`: the checks asked for by name (None: the audit ran every registered check);
    a requested check that was skipped fails the gate unless `allow_skipped`.
    """

    def __init__(
        self,
        results: dict[str, CheckResult],
        *,
        seed: int = 0,
        data_sha256: str | None = None,
        n_rows: int = 0,
        anchor_sha256: str | None = None,
        timings: dict[str, float] | None = None,
        requested: Sequence[str] | None = None,
        allow_skipped: bool = False,
        renderer: Renderer | None = None,
    ) -> None:
        self.results = results
        self.seed = seed
        self.data_sha256 = data_sha256
        self.n_rows = n_rows
        self.anchor_sha256 = anchor_sha256
        self.timings = timings or {}
        self.requested = None if requested is None else tuple(requested)
        self.allow_skipped = bool(allow_skipped)
        self.renderer = renderer
        self.attachments: dict[str, Attachment] = {}
        self.validity: ValidityLike | None = None

    @property
    def table(self) -> pl.DataFrame:
        rows = [
            {
                "check": r.check,
                "failure_mode": r.failure_mode,
                "status": r.status,
                "score": None if r.score is None or not math.isfinite(r.score) else float(r.score),
                "threshold": None if r.threshold is None else float(r.threshold),
                "summary": r.summary,
                "score_meaning": r.score_meaning,
                "evidence_rows": r.evidence.height,
            }
            for r in self.results.values()
        ]
        return pl.DataFrame(rows, schema=_TABLE_SCHEMA)

    def worst(self) -> str:
        """The most severe status among the checks that ran and the attached evidence; `skipped` when
        nothing ran (a skipped check is never a pass)."""
        return worst_status([r.status for r in self.results.values()] + [a.status for a in self.attachments.values()])

    def gate(self, level: str = "fail") -> Gate:
        """The CI gate at `level` ('warn' or 'fail'): see `Gate` and the module docstring."""
        if level not in GATE_LEVELS:
            raise InputError(f"level must be 'warn' or 'fail'; got {level!r}.")
        ran = [n for n, r in self.results.items() if r.status != "skipped"]
        skipped = {n: str(r.details.get("reason", r.summary)) for n, r in self.results.items() if r.status == "skipped"}
        by_name = self.requested is not None
        if self.allow_skipped:
            could_not_run: list[str] = []
        elif by_name:
            could_not_run = [n for n in self.results if n in skipped and n in set(self.requested or ())]
        else:
            could_not_run = [] if ran else list(skipped)
        bar = STATUS_ORDER[level]
        failed = [n for n, r in self.results.items() if STATUS_ORDER[r.status] >= bar]
        failed += [k for k, a in self.attachments.items() if STATUS_ORDER[a.status] >= bar]
        return Gate(level, ran, skipped, could_not_run, failed, self.worst(), by_name, self.allow_skipped)

    def failed(self, level: str = "fail") -> list[str]:
        """Names of checks (and attachments) at or above `level` ('warn' or 'fail'), then of the checks
        that could not run and so fail the gate (see `gate`). Empty: the gate passes."""
        gate = self.gate(level)
        return gate.failed + gate.could_not_run

    def by_failure_mode(self) -> dict[str, list[CheckResult]]:
        out: dict[str, list[CheckResult]] = {m: [] for m in FAILURE_MODES + GUARDRAILS}
        for r in self.results.values():
            out[r.failure_mode].append(r)
        return out

    def attach(self, item: str, status: str, summary: str, details: dict[str, Any] | None = None) -> AuditReport:
        """Attach evidence from outside the registered checks to a checklist item (e.g. 'calibration'
        with the ECE of your model on real data). It shows in the report and counts in `worst()`."""
        self.attachments[item] = make_attachment(item, status, summary, details)
        return self

    def attach_diary(self, diary: DiaryLike, run_a: str | None = None, run_b: str | None = None) -> AuditReport:
        """Attach a failure diary (`workbench.diary.Diary`): its entries and the comparison of two runs
        (default: its last two). A run that made the diary worse fails the report."""
        self.attachments["failure_diary"] = diary_attachment(diary, run_a, run_b)
        return self

    def attach_validity(self, validity: ValidityLike) -> AuditReport:
        """Attach a validity report (`workbench.validity.run(audit)`): what each check's verdict means on
        this data. The report shows it in its own section; it changes no status."""
        if not callable(getattr(validity, "to_dict", None)) or not hasattr(validity, "table"):
            raise InputError(
                f"attach_validity takes the result of workbench.validity.run(); got {type(validity).__name__}."
            )
        self.validity = validity
        return self

    def _renderer(self) -> Renderer:
        if self.renderer is None:
            raise InputError(
                "this report has no renderer (it was not made by Audit); write it with "
                "workbench.report.write_json(report, path) or write_html(report, path)."
            )
        return self.renderer

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data following the shipped JSON schema (`workbench.report.load_schema()`)."""
        return self._renderer().document(self)

    def to_json(self, path: str | Path) -> Path:
        """Write the report as JSON (schema `workbench/static/audit_report.schema.json`; byte-identical for the
        same data, anchor, checks and seed). Returns the path."""
        return self._renderer().write_json(self, path)

    def to_html(self, path: str | Path) -> Path:
        """Write one self-contained, offline HTML page: summary by failure mode, charts, the trust checklist,
        every check with its evidence rows (no scripts, no network; every data text escaped). Returns the path."""
        return self._renderer().write_html(self, path)

    def _repr_html_(self) -> str | None:
        return None if self.renderer is None else self.renderer.table_html(self)

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for r in self.results.values():
            counts[r.status] = counts.get(r.status, 0) + 1
        return f"AuditReport({self.n_rows} rows, {counts})"


def status_counts(results: Mapping[str, CheckResult]) -> dict[str, int]:
    """How many checks ended in each status (every status present, zero or not)."""
    statuses = [r.status for r in results.values()]
    return {s: statuses.count(s) for s in STATUSES}


__all__ = [
    "CHECKLIST",
    "CHECKLIST_KEYS",
    "EVIDENCE_ROWS",
    "FAILURE_MODES",
    "GATE_LEVELS",
    "GUARDRAILS",
    "STATUSES",
    "STATUS_ORDER",
    "Attachment",
    "AuditReport",
    "CheckResult",
    "ChecklistItem",
    "Gate",
    "Renderer",
    "Status",
    "diary_attachment",
    "make_attachment",
    "status_counts",
    "worst_status",
]
