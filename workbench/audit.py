"""Audit: run every registered check whose inputs are present; say why the others were skipped.

report = Audit(df, anchor="anchors/v1").run()
report.table            # one row per check: check, failure_mode, status, score, threshold, summary
report.results["provenance"].evidence   # the rows that show it
report.to_json("out/audit.json"); report.to_html("out/audit.html")
"""

from __future__ import annotations

import html
import math
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from workbench.checks import all_checks
from workbench.checks.base import (
    FAILURE_MODES,
    GUARDRAILS,
    STATUS_ORDER,
    Check,
    CheckResult,
    Context,
    worst_status,
)
from workbench.data import validate
from workbench.errors import InputError, WorkbenchError
from workbench.provenance import AnchorSet, freeze_anchor, load_anchor, manifest

EVIDENCE_ROWS_IN_REPORT = 50
GATE_LEVELS = ("warn", "fail")
TABLE_COLUMNS = ("check", "failure_mode", "status", "score", "threshold", "summary")


def _as_anchor(anchor: AnchorSet | str | Path | pl.DataFrame | None) -> AnchorSet | None:
    if anchor is None or isinstance(anchor, AnchorSet):
        return anchor
    if isinstance(anchor, (str, Path)):
        # not verified here: a changed anchor is reported by the anchor_integrity check, not raised
        return load_anchor(anchor, verify=False)
    if isinstance(anchor, pl.DataFrame):
        df = validate(anchor)
        return AnchorSet(df=df, manifest=manifest(df), path=None)
    raise InputError(f"anchor= takes an AnchorSet, a directory or a DataFrame; got {type(anchor).__name__}.")


class Audit:
    """Runs the registered checks on `df`.

    `anchor`: a frozen anchor set (AnchorSet, its directory, or a frame of real rows). `embedder`:
    an `Embedder` (default: the bundled model, created on first need); `embeddings`: precomputed
    (n, d) array aligned with `df` rows (then no model is loaded). `checks`: names to run (default
    all). `params`: per-check parameter overrides, `{"check_name": {"threshold": 0.2}}`. `seed`
    fixes every random choice: the same data and seed give the same report. A check named in
    `checks` that cannot run (its inputs are missing) fails the gate (`AuditReport.failed`) unless
    `allow_skipped=True`.
    """

    def __init__(
        self,
        df: Any,
        anchor: AnchorSet | str | Path | pl.DataFrame | None = None,
        *,
        embedder: Any = None,
        embeddings: np.ndarray | None = None,
        anchor_embeddings: np.ndarray | None = None,
        checks: Iterable[str] | None = None,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        seed: int = 0,
        progress: Callable[[str], None] | None = None,
        allow_skipped: bool = False,
    ) -> None:
        self.df = validate(df, require_origin=False)
        self.anchor = _as_anchor(anchor)
        if embeddings is not None:
            embeddings = np.asarray(embeddings, dtype=np.float32)
            if embeddings.ndim != 2 or embeddings.shape[0] != self.df.height:
                raise InputError(
                    f"embeddings must be an (n_rows, dim) array aligned with the data's {self.df.height} rows; "
                    f"got shape {embeddings.shape}."
                )
        if embeddings is not None and embedder is None and self.anchor is not None and anchor_embeddings is None:
            anchor_embeddings = self._anchor_rows_from(embeddings)
        registry = all_checks()
        names = list(registry) if checks is None else list(checks)
        unknown = [n for n in names if n not in registry]
        if unknown:
            raise InputError(f"unknown check(s) {unknown}; registered: {sorted(registry)}.")
        params = dict(params or {})
        bad_params = [n for n in params if n not in registry]
        if bad_params:
            raise InputError(f"params for unknown check(s) {bad_params}; registered: {sorted(registry)}.")
        self.checks: list[Check] = [self._configure(registry[n], params.get(n, {})) for n in names]
        self.requested = None if checks is None else tuple(names)
        self.allow_skipped = allow_skipped
        self.seed = seed
        self.progress = progress
        self.context = Context(
            self.df,
            anchor=self.anchor,
            embedder=embedder,
            embeddings=embeddings,
            anchor_embeddings=anchor_embeddings,
            seed=seed,
        )
        if embedder is None and embeddings is None:
            # the default embedder is created on first need (Context.embedder)
            self.context.can_embed = True

    def _anchor_rows_from(self, embeddings: np.ndarray) -> np.ndarray | None:
        """Reuse precomputed embeddings for anchor rows that are also in `df` (by text)."""
        assert self.anchor is not None
        index = {t: i for i, t in enumerate(self.df["text"].to_list())}
        rows = [index.get(t) for t in self.anchor.df["text"].to_list()]
        if any(r is None for r in rows):
            return None
        return embeddings[[r for r in rows if r is not None]]

    @staticmethod
    def _configure(check: Check, overrides: Mapping[str, Any]) -> Check:
        if not overrides:
            return check
        allowed = {f.name for f in fields(check)}
        unknown = sorted(set(overrides) - allowed)
        if unknown:
            raise InputError(f"check {check.name!r} has no parameter(s) {unknown}; it takes {sorted(allowed)}.")
        return replace(check, **overrides)

    def run(self) -> AuditReport:
        results: dict[str, CheckResult] = {}
        timings: dict[str, float] = {}
        for check in self.checks:
            if self.progress:
                self.progress(check.name)
            t0 = time.perf_counter()
            results[check.name] = run_check(check, self.context)
            timings[check.name] = time.perf_counter() - t0
        data_sha256 = manifest(self.df)["set_sha256"] if self.df.height else None
        return AuditReport(
            results=results,
            seed=self.seed,
            data_sha256=data_sha256,
            n_rows=self.df.height,
            anchor_sha256=self.anchor.manifest.get("set_sha256") if self.anchor else None,
            timings=timings,
            requested=self.requested,
            allow_skipped=self.allow_skipped,
        )


def run_check(check: Check, ctx: Context) -> CheckResult:
    """Run one check: skipped with the reason when its inputs are missing; `error` if it crashes."""
    reason = check.missing_inputs(ctx)
    if reason is not None:
        return check.result("skipped", f"Skipped: {reason}.", details={"reason": reason})
    try:
        return check.run(ctx)
    except WorkbenchError as exc:
        return check.result("skipped", f"Skipped: {exc}", details={"reason": str(exc)})
    except Exception as exc:  # one broken check must not lose the rest of the audit
        return check.result(
            "error",
            f"The check crashed ({type(exc).__name__}: {exc}). Other checks are unaffected; please report this.",
            details={"traceback": traceback.format_exc(limit=5)},
        )


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
        requested: Iterable[str] | None = None,
        allow_skipped: bool = False,
    ) -> None:
        self.results = results
        self.seed = seed
        self.data_sha256 = data_sha256
        self.n_rows = n_rows
        self.anchor_sha256 = anchor_sha256
        self.timings = timings or {}
        self.requested = None if requested is None else tuple(requested)
        self.allow_skipped = bool(allow_skipped)
        self.attachments: dict[str, Any] = {}

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
        schema = {
            "check": pl.String,
            "failure_mode": pl.String,
            "status": pl.String,
            "score": pl.Float64,
            "threshold": pl.Float64,
            "summary": pl.String,
            "score_meaning": pl.String,
            "evidence_rows": pl.Int64,
        }
        return pl.DataFrame(rows, schema=schema)

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
        from workbench.report import make_attachment

        self.attachments[item] = make_attachment(item, status, summary, details)
        return self

    def attach_diary(self, diary: Any, run_a: str | None = None, run_b: str | None = None) -> AuditReport:
        """Attach a failure diary (`workbench.diary.Diary`): its entries and the comparison of two runs
        (default: its last two). A run that made the diary worse fails the report."""
        from workbench.report import diary_attachment

        self.attachments["failure_diary"] = diary_attachment(diary, run_a, run_b)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data following the shipped JSON schema (`workbench.report.load_schema()`)."""
        from workbench.report import report_dict

        return report_dict(self)

    def to_json(self, path: str | Path) -> Path:
        """Write the report as JSON (schema `workbench/static/audit_report.schema.json`; byte-identical for the
        same data, anchor, checks and seed). Returns the path."""
        from workbench.report import write_json

        return write_json(self, path)

    def to_html(self, path: str | Path) -> Path:
        """Write one self-contained, offline HTML page: summary by failure mode, charts, the trust checklist,
        every check with its evidence rows (no scripts, no network; every data text escaped). Returns the path."""
        from workbench.report import write_html

        return write_html(self, path)

    def _html(self, full: bool = False) -> str:
        colors = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e", "error": "#cf222e", "skipped": "#6e7781"}
        rows = []
        for r in self.results.values():
            score = "" if r.score is None else f"{r.score:.4g}"
            thr = "" if r.threshold is None else f"{r.threshold:.4g}"
            rows.append(
                f"<tr><td>{html.escape(r.check)}</td><td>{html.escape(r.failure_mode)}</td>"
                f"<td style='color:{colors[r.status]};font-weight:600'>{r.status}</td>"
                f"<td title='{html.escape(r.score_meaning, quote=True)}'>{score}</td><td>{thr}</td>"
                f"<td>{html.escape(r.summary)}</td></tr>"
            )
        table = (
            "<table class='wb-audit'><thead><tr><th>check</th><th>failure mode</th><th>status</th><th>score</th>"
            "<th>threshold</th><th>summary</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        )
        if not full:
            return table
        sections = []
        for r in self.results.values():
            if r.evidence.height == 0:
                continue
            ev = r.evidence.head(EVIDENCE_ROWS_IN_REPORT)
            head = "".join(f"<th>{html.escape(c)}</th>" for c in ev.columns)
            body = "".join(
                "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
                for row in ev.iter_rows()
            )
            sections.append(
                f"<h3>{html.escape(r.check)}: {r.evidence.height} evidence row(s)</h3>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            )
        style = (
            "body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;"
            "margin:1em 0}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top;"
            "white-space:pre-wrap;word-break:break-word}th{background:#f6f8fa}"
        )
        return (
            "<!DOCTYPE html><html><head><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>Synthetic data audit</title><style>{style}</style></head><body>"
            f"<h1>Synthetic data audit</h1><p>{self.n_rows} rows; worst status: <b>{self.worst()}</b>; seed {self.seed}.</p>"
            f"{table}<h2>Evidence</h2>{''.join(sections) or '<p>No evidence rows.</p>'}</body></html>"
        )

    def _repr_html_(self) -> str:
        return self._html(full=False)

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for r in self.results.values():
            counts[r.status] = counts.get(r.status, 0) + 1
        return f"AuditReport({self.n_rows} rows, {counts})"


__all__ = ["Audit", "AuditReport", "freeze_anchor", "run_check"]
