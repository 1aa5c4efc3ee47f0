"""Audit: run every registered check whose inputs are present; say why the others were skipped.

This module only runs checks: what they found is `workbench.results` (`CheckResult`, `AuditReport`),
how it is written is `workbench.report` (JSON and HTML), which every report made here carries.

report = Audit(df, anchor="anchors/v1").run()
report.table            # one row per check: check, failure_mode, status, score, threshold, summary
report.results["provenance"].evidence   # the rows that show it
report.to_json("out/audit.json"); report.to_html("out/audit.html")
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from workbench.checks import all_checks
from workbench.checks.base import Check, Context
from workbench.data import validate
from workbench.errors import InputError, WorkbenchError
from workbench.provenance import AnchorSet, freeze_anchor, load_anchor, manifest
from workbench.report import RENDERER
from workbench.results import AuditReport, CheckResult
from workbench.threads import single_threaded


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
    all). `params`: per-check parameter overrides, `{"check_name": {"threshold": 0.2}}`, each
    validated against the check's declared type and range (`InputError` before anything runs). `seed`
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
        if params is not None and not isinstance(params, Mapping):
            raise InputError(f"params= maps check names to parameter overrides; got {type(params).__name__}.")
        params = dict(params or {})
        bad_params = [n for n in params if n not in registry]
        if bad_params:
            raise InputError(f"params for unknown check(s) {bad_params}; registered: {sorted(registry)}.")
        self.checks: list[Check] = [registry[n].configure(params.get(n, {})) for n in names]
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
            renderer=RENDERER,
        )


def run_check(check: Check, ctx: Context) -> CheckResult:
    """Run one check: skipped with the reason when its inputs are missing; `error` if it crashes."""
    reason = check.missing_inputs(ctx)
    if reason is not None:
        return check.result("skipped", f"Skipped: {reason}.", details={"reason": reason})
    try:
        # small dense numerics on one thread; knn and the embedder pull work on budget() threads
        with single_threaded():
            return check.run(ctx)
    except WorkbenchError as exc:
        return check.result("skipped", f"Skipped: {exc}", details={"reason": str(exc)})
    except Exception as exc:  # one broken check must not lose the rest of the audit
        return check.result(
            "error",
            f"The check crashed ({type(exc).__name__}: {exc}). Other checks are unaffected; please report this.",
            details={"traceback": traceback.format_exc(limit=5)},
        )


__all__ = ["Audit", "AuditReport", "freeze_anchor", "run_check"]  # AuditReport lives in workbench.results
