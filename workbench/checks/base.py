"""The shape every check shares: a `Check` declares its inputs and thresholds; `run` gives a `CheckResult`
(defined in `workbench.results`, re-exported here).

A check never raises for missing inputs: `Audit` asks `missing_inputs()` first and records a
`skipped` result with the reason. Thresholds are dataclass fields with defaults, so a user overrides
them with `Audit(..., params={"check_name": {"threshold": 0.3}})`.

Parameters are validated where they are declared (scikit-learn's `_param_validation`, in small):
each field's annotation gives its type (`bool`, `int`, `float`, `str`, optionally `| None`) and
`param(default, ge=, gt=, le=, lt=, choices=)` its range. Every construction of a check, so every
`Audit(params=...)`, checks them before anything runs and raises an `InputError` that names the
check, the parameter, what it accepts and its default; unknown names are refused the same way.
"""

from __future__ import annotations

import math
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import polars as pl

from workbench.errors import InputError

# re-exported: a check module imports what it builds from here (the definitions live in results)
from workbench.results import FAILURE_MODES, GUARDRAILS, STATUS_ORDER, STATUSES, CheckResult, Status

if TYPE_CHECKING:
    from workbench.embed import Embedder
    from workbench.provenance import AnchorSet


# -- parameters -----------------------------------------------------------------------------------

_BOUNDS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
_KINDS = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}


def param(
    default: Any,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: tuple[Any, ...] | None = None,
) -> Any:
    """A check parameter with its default and the range it accepts (`ge` >=, `gt` >, `le` <=, `lt` <,
    or one of `choices`); its type is the field's annotation. `k: int = param(5, ge=1)`."""
    bounds = {"ge": ge, "gt": gt, "le": le, "lt": lt, "choices": choices}
    return field(default=default, metadata={"param": {k: v for k, v in bounds.items() if v is not None}})


@dataclass(frozen=True)
class ParamSpec:
    """What one parameter accepts: its types (from the annotation), bounds and choices (from `param`)."""

    name: str
    default: Any
    kinds: tuple[type, ...]
    optional: bool
    bounds: Mapping[str, Any]

    @property
    def accepts(self) -> str:
        """What the parameter accepts, in words: 'an integer >= 1', 'a finite number > 0 and < 1'."""
        if "choices" in self.bounds:
            text = "one of " + ", ".join(repr(c) for c in self.bounds["choices"])
        else:
            text = " or ".join(_KINDS[k] for k in self.kinds if not (k is int and float in self.kinds))
            limits = [f"{op} {_number(self.bounds[b])}" for b, op in _BOUNDS if b in self.bounds]
            if limits:
                text += " " + " and ".join(limits)
        return text + (", or None" if self.optional else "")

    def check(self, owner: str, value: Any) -> Any:
        """`value` as this parameter's type (an int for an int field, a float for a float field), or an
        `InputError` naming `owner`, the parameter, what it accepts and its default."""
        out = self._coerce(value)
        if out is _INVALID:
            raise InputError(
                f"{owner}: parameter {self.name!r} takes {self.accepts} (default {self.default!r}); "
                f"got {value!r} ({type(value).__name__})."
            )
        return out

    def _coerce(self, value: Any) -> Any:
        if value is None:
            return None if self.optional else _INVALID
        out: Any = _INVALID
        if isinstance(value, (bool, np.bool_)):
            out = bool(value) if bool in self.kinds else _INVALID
        elif isinstance(value, (int, np.integer)) and int in self.kinds:
            out = int(value)
        elif isinstance(value, (int, np.integer, float, np.floating)) and float in self.kinds:
            try:
                out = float(value)
            except OverflowError:  # an int beyond any float
                return _INVALID
            out = out if math.isfinite(out) else _INVALID
        elif isinstance(value, str) and str in self.kinds:
            out = value
        if out is _INVALID:
            return out
        if "choices" in self.bounds and out not in self.bounds["choices"]:
            return _INVALID
        if not isinstance(out, bool) and isinstance(out, (int, float)):
            b = self.bounds
            if (
                ("ge" in b and not out >= b["ge"])
                or ("gt" in b and not out > b["gt"])
                or ("le" in b and not out <= b["le"])
                or ("lt" in b and not out < b["lt"])
            ):
                return _INVALID
        return out


_INVALID = object()


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _spec(cls: type, f: Field[Any], annotation: Any) -> ParamSpec:
    args = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else ()
    members = args or (annotation,)
    optional = type(None) in members
    kinds = tuple(m for m in members if m is not type(None))
    if not kinds or any(k not in _KINDS for k in kinds):
        raise TypeError(
            f"{cls.__name__}.{f.name}: declare a check parameter as bool, int, float or str (optionally | None); "
            f"got {annotation!r}."
        )
    default = f.default if f.default is not MISSING else None
    return ParamSpec(f.name, default, kinds, optional, dict(f.metadata.get("param", {})))


@cache
def param_specs(cls: type) -> dict[str, ParamSpec]:
    """Every parameter of the check class `cls` by name (its dataclass fields)."""
    hints = typing.get_type_hints(cls)
    return {f.name: _spec(cls, f, hints[f.name]) for f in fields(cls)}


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

    def __post_init__(self) -> None:
        # every construction validates (a subclass defining __post_init__ must call this one)
        for name, spec in param_specs(type(self)).items():
            object.__setattr__(self, name, spec.check(self.name, getattr(self, name)))

    @classmethod
    def params(cls) -> dict[str, ParamSpec]:
        """The check's parameters: name -> what it accepts and its default."""
        return dict(param_specs(cls))

    def configure(self, overrides: Mapping[str, Any]) -> Check:
        """A copy of this check with `overrides` applied, each validated (`InputError` otherwise)."""
        if not isinstance(overrides, Mapping):
            raise InputError(
                f"params for check {self.name!r} must be a mapping of parameter names to values, e.g. "
                f"{{{self.name!r}: {{'alpha': 0.01}}}}; got {type(overrides).__name__}."
            )
        specs = self.params()
        unknown = sorted(set(overrides) - set(specs))
        if unknown:
            takes = ", ".join(f"{n} (default {s.default!r})" for n, s in specs.items()) or "no parameters"
            raise InputError(f"check {self.name!r} has no parameter(s) {unknown}; it takes {takes}.")
        return replace(self, **overrides) if overrides else self

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


__all__ = [
    "FAILURE_MODES",
    "GUARDRAILS",
    "STATUSES",
    "STATUS_ORDER",
    "Check",
    "CheckResult",
    "Context",
    "ParamSpec",
    "Status",
    "param",
    "param_specs",
]
