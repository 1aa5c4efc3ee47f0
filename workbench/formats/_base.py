"""Shared machinery of the importers: the converter protocol, shape detection, and row assembly.

A converter turns one source record (a dict, as parsed from JSON or taken from a dataset row) into
zero or more workbench rows (dicts of column -> value). Rows are assembled chunk by chunk into
polars frames whose column types follow one rule for every source (the rule `load()` has always
applied to JSON): integers stay Int64, numbers Float64, texts String, and anything nested or mixed
becomes JSON text, so nothing is lost and a chunk boundary never changes a type.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import polars as pl

# Provenance a record states about itself wins over what a format derives (a record's own
# `generator` beats the batch's `model`); any other clash keeps the derived value and the record's
# under `record_<name>`.
OWN_WINS = frozenset(
    {
        "origin",
        "split",
        "source",
        "label",
        "label_source",
        "label_confidence",
        "reference_label",
        "generator",
        "generator_version",
        "sampling",
        "prompt_id",
        "parent_id",
        "generation",
    }
)
PROVENANCE = ("generator", "generator_version", "prompt", "sampling")


class FieldLog(dict[str, str]):
    """Where each column came from. A column filled from different fields in different records
    lists each once ("id or a content hash of the conversation")."""

    def __setitem__(self, key: str, value: str) -> None:
        old = self.get(key)
        if old is None:
            super().__setitem__(key, value)
        elif value not in old.split(" or "):
            super().__setitem__(key, f"{old} or {value}")

    def update(self, other: Any = (), /, **kw: str) -> None:  # type: ignore[override]
        for k, v in dict(other, **kw).items():
            self[k] = v

    def setdefault(self, key: str, default: str = "", /) -> str:  # type: ignore[override]
        if key not in self:
            self[key] = default
        return self[key]


class RecordError(Exception):
    """A record that does not fit its format. The message names what is wrong and how to fix it."""


class Converter(ABC):
    """One record format: recognise a record's shape and turn it into workbench rows.

    `mapping` describes where each schema column comes from (shown to the user); `origin` is the
    format's default origin for rows whose record does not say (model output is synthetic);
    `key_column`/`part_column` name a per-record key and the row's part of the record: rows then
    get `id = key/part` (content-hash keys of identical records get `~2`, `~3` in order).
    """

    name: ClassVar[str] = ""
    unit: ClassVar[str] = "records"
    key_column: ClassVar[str | None] = None
    part_column: ClassVar[str | None] = None

    def __init__(self, *, role: str = "assistant", path: Path | None = None, **options: Any) -> None:
        self.role = role
        self.path = path
        self.options = options
        self.origin: str | None = "synthetic"
        self.mapping = FieldLog()
        self.notes: list[str] = []
        self.labels: list[dict[str, Any]] = []  # long per-labeler labels, where the format has them

    @staticmethod
    @abstractmethod
    def matches(rec: dict[str, Any]) -> bool:
        """Whether a record has this format's shape."""

    @abstractmethod
    def rows(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        """The workbench rows of one record."""

    def finish(self, df: pl.DataFrame) -> pl.DataFrame:
        """Post-processing on the assembled frame (before column mapping and validation)."""
        return df


def attach(
    rec: dict[str, Any], consumed: Iterable[str], rows: list[dict[str, Any]], derived: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """`rows` (derived from `rec`) plus the record's other fields, kept untouched. A clash with a
    derived column: the record wins for its own provenance (OWN_WINS), else the record's value is
    kept as `record_<name>`. `derived`: columns added later (e.g. `id` built from a key)."""
    skip = set(consumed)
    made = set(derived)
    for r in rows:
        made.update(r)
    extra: dict[str, Any] = {}
    override: dict[str, Any] = {}
    for k, v in rec.items():
        if k in skip:
            continue
        if k in made:
            if k in OWN_WINS:
                if v is not None:
                    override[k] = v
            else:
                extra[f"record_{k}"] = v
        else:
            extra[k] = v
    for r in rows:
        r.update(extra)
        r.update(override)
    return rows


def content_hash(*parts: str) -> str:
    """First 16 hex digits of sha256 over the parts (unit-separated): a stable key for a record."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()[:16]


def own_key(rec: dict[str, Any], names: tuple[str, ...]) -> tuple[str | None, str | None]:
    """The record's own id (first of `names` holding a string or integer) and which field held it."""
    for n in names:
        v = rec.get(n)
        if isinstance(v, (str, int)) and not isinstance(v, bool) and str(v) != "":
            return str(v), n
    return None, None


# --- assembling rows into frames -----------------------------------------------------------------


def _kind(kinds: set[type]) -> str:
    if not kinds:
        return "null"
    if kinds <= {int}:
        return "int"
    if kinds == {bool}:
        return "bool"
    if kinds <= {int, float}:
        return "float"
    if kinds <= {str}:
        return "str"
    return "json"


def _json_text(v: Any) -> Any:
    return v if isinstance(v, str) or v is None else json.dumps(v, sort_keys=True, default=str)


_DTYPES: dict[str, pl.DataType] = {
    "int": pl.Int64(),
    "bool": pl.Boolean(),
    "float": pl.Float64(),
    "str": pl.String(),
    "json": pl.String(),
    "null": pl.String(),
}


def _series(name: str, values: list[Any], kind: str) -> tuple[pl.Series, str]:
    if kind == "int":
        try:
            return pl.Series(name, values, dtype=pl.Int64), kind
        except (OverflowError, ValueError, TypeError, pl.exceptions.PolarsError):
            kind = "json"  # beyond 64 bits: kept exactly, as text
    if kind == "bool":
        return pl.Series(name, values, dtype=pl.Boolean), kind
    if kind == "float":
        if any(type(v) is int for v in values):  # 29 beside 30.5: keep "29" exact in case the column ends as text
            return pl.Series(name, [None if v is None else json.dumps(v) for v in values], dtype=pl.String), "numtext"
        return pl.Series(name, values, dtype=pl.Float64), kind
    if kind in ("str", "null"):
        return pl.Series(name, values, dtype=pl.String), kind
    return pl.Series(name, [_json_text(v) for v in values], dtype=pl.String), "json"


class Assembler:
    """Collects rows chunk by chunk; `frame()` reconciles column types across chunks and concatenates.

    Each chunk becomes a polars frame at once, so only one chunk's Python objects are alive at a time.
    """

    def __init__(self) -> None:
        self._frames: list[pl.DataFrame] = []
        self._chunk_kinds: list[dict[str, str]] = []
        self._kinds: dict[str, set[type]] = {}
        self.n_rows = 0

    def add(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        keys: dict[str, None] = {}
        for r in rows:
            for k in r:
                if k not in keys:
                    keys[k] = None
        series, kinds = [], {}
        for k in keys:
            values = [r.get(k) for r in rows]
            types = {type(v) for v in values if v is not None}
            self._kinds.setdefault(k, set()).update(types)
            s, kinds[k] = _series(k, values, _kind(types))
            series.append(s)
        self._frames.append(pl.DataFrame(series))
        self._chunk_kinds.append(kinds)
        self.n_rows += len(rows)

    def frame(self) -> pl.DataFrame:
        if not self._frames:
            return pl.DataFrame()
        final = {k: _kind(t) for k, t in self._kinds.items()}
        for k, kind in final.items():
            if kind == "int" and any(ck.get(k) == "json" for ck in self._chunk_kinds):
                final[k] = "json"  # a chunk overflowed 64 bits
        out = []
        for df, kinds in zip(self._frames, self._chunk_kinds):
            fixes = []
            for k, local in kinds.items():
                want = final[k]
                if local == want or (want == "json" and local in ("str", "json", "numtext")):
                    continue
                col = df[k]
                if local == "null":
                    fixes.append(col.cast(_DTYPES[want]))
                elif want == "float":  # ints, or numbers kept as text ("numtext"): exact as floats
                    fixes.append(col.cast(pl.Float64))
                else:  # numbers or booleans among texts or nested values: JSON text, as json.dumps writes them
                    fixes.append(col.map_elements(lambda v: json.dumps(v), return_dtype=pl.String, skip_nulls=True))
            out.append(df.with_columns(fixes) if fixes else df)
        self._frames, self._chunk_kinds = [], []
        return out[0] if len(out) == 1 else pl.concat(out, how="diagonal")


def disambiguate_keys(df: pl.DataFrame, key: str, part: str | None) -> pl.DataFrame:
    """Give content-hash keys of repeated identical records `~2`, `~3` (in order) and build row ids
    `key/part`. Keys the records carried themselves are kept as they are (their repeats are theirs)."""
    if key not in df.columns:
        return df
    if "_hashed" in df.columns:
        over = [key, part] if part and part in df.columns else [key]
        n = pl.col(key).cum_count().over(over)
        df = df.with_columns(
            pl.when(pl.col("_hashed").fill_null(False) & (n > 1))
            .then(pl.format("{}~{}", pl.col(key), n))
            .otherwise(pl.col(key))
            .alias(key)
        ).drop("_hashed")
    if part and part in df.columns and "id" not in df.columns:
        df = df.with_columns(pl.format("{}/{}", pl.col(key), pl.col(part)).alias("id"))
    return df
