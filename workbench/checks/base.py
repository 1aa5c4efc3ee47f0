"""The shape every check shares: a `Check` declares its inputs and thresholds; `run` gives a `CheckResult`.

A check never raises for missing inputs: `Audit` asks `missing_inputs()` first and records a
`skipped` result with the reason. Thresholds are dataclass fields with defaults, so a user overrides
them with `Audit(..., params={"check_name": {"threshold": 0.3}})`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from workbench.embed import Embedder
    from workbench.provenance import AnchorSet

FAILURE_MODES = (
    "artifact_learning",
    "coverage_illusion",
    "contamination",
    "over_regularization",
    "label_bias",
    "feedback_amplification",
)
GUARDRAILS = ("provenance", "anchor")
STATUSES = ("pass", "warn", "fail", "skipped", "error")
Status = str  # one of STATUSES; checked at run time in CheckResult
STATUS_ORDER = {"pass": 0, "skipped": 0, "warn": 1, "fail": 2, "error": 2}


def _empty_evidence() -> pl.DataFrame:
    return pl.DataFrame(schema={"id": pl.String, "text": pl.String})


@dataclass
class CheckResult:
    """What one check found.

    `score` is the headline number, `score_meaning` says what it measures and in which direction it
    is bad, `threshold` is where the status changes. `evidence` holds the rows that show the problem
    (always with `id` and `text`), `details` any further numbers (JSON-serialisable).
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


class Context:
    """Everything a check may use, computed lazily and at most once per audit.

    `df` is the validated data. `embeddings()` embeds `df["text"]` with the audit's embedder (or
    returns the precomputed array); `anchor_embeddings()` does the same for the anchor set.
    """

    def __init__(
        self,
        df: pl.DataFrame,
        *,
        anchor: AnchorSet | None = None,
        embedder: Embedder | None = None,
        embeddings: np.ndarray | None = None,
        anchor_embeddings: np.ndarray | None = None,
        seed: int = 0,
    ) -> None:
        self.df = df
        self.anchor = anchor
        self.seed = seed
        self._embedder = embedder
        self._embeddings = embeddings
        self._anchor_embeddings = anchor_embeddings
        self.can_embed = embedder is not None or embeddings is not None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from workbench.embed import Embedder

            self._embedder = Embedder()
        return self._embedder

    def embeddings(self) -> np.ndarray:
        if self._embeddings is None:
            self._embeddings = self.embedder.encode(self.df["text"].to_list())
        return self._embeddings

    def anchor_embeddings(self) -> np.ndarray:
        if self.anchor is None:
            raise ValueError("no anchor set in this audit")
        if self._anchor_embeddings is None:
            self._anchor_embeddings = self.embedder.encode(self.anchor.df["text"].to_list())
        return self._anchor_embeddings

    def origin_mask(self, origin: str) -> np.ndarray:
        return (self.df["origin"] == origin).to_numpy()

    @property
    def can_embed_texts(self) -> bool:
        """Whether `embedder.encode` may embed texts other than the rows: the audit has an embedder,
        or uses the default one. False when only precomputed embeddings were given (they may come
        from another model, so vectors from the default one would not compare with them)."""
        return self._embedder is not None or self._embeddings is None


@dataclass
class Check(ABC):
    """Base class. Subclasses set the class variables and implement `run`.

    Inputs are declared, not discovered: `requires_columns` (beyond text and origin),
    `requires_embeddings`, `requires_anchor`, `requires_origins` (each must have at least
    `min_rows_per_origin` rows) and `min_rows`.
    """

    name: ClassVar[str]
    failure_mode: ClassVar[str]
    description: ClassVar[str] = ""
    requires_columns: ClassVar[tuple[str, ...]] = ()
    requires_embeddings: ClassVar[bool] = False
    requires_anchor: ClassVar[bool] = False
    requires_origins: ClassVar[tuple[str, ...]] = ()
    min_rows: ClassVar[int] = 1
    min_rows_per_origin: ClassVar[int] = 1

    def missing_inputs(self, ctx: Context) -> str | None:
        """Why this check cannot run on `ctx`, or None when it can."""
        df = ctx.df
        if df.height < self.min_rows:
            return f"needs at least {self.min_rows} rows; the data has {df.height}"
        missing = [c for c in self.requires_columns if c not in df.columns]
        if missing:
            return f"needs column(s) {missing}; add them to the data (see workbench.data.SCHEMA)"
        for c in self.requires_columns:
            if df[c].null_count() == df.height:
                return f"column {c!r} is empty (all null)"
        for origin in self.requires_origins:
            n = int((df["origin"] == origin).sum())
            if n < self.min_rows_per_origin:
                return f"needs at least {self.min_rows_per_origin} {origin!r} rows; the data has {n}"
        if self.requires_anchor and ctx.anchor is None:
            return "needs a frozen anchor set: pass anchor= (see workbench.provenance.freeze_anchor)"
        if self.requires_embeddings and not ctx.can_embed:
            return "needs embeddings: pass embedder= or embeddings= to Audit"
        return None

    @abstractmethod
    def run(self, ctx: Context) -> CheckResult:
        """Measure on `ctx` and return a `CheckResult` (build it with `self.result`)."""

    def result(self, status: Status, summary: str, **kwargs: Any) -> CheckResult:
        """A `CheckResult` already carrying this check's name and failure mode."""
        return CheckResult(check=self.name, failure_mode=self.failure_mode, status=status, summary=summary, **kwargs)
