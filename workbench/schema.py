"""The data model: one row per example, `text` and `origin` required, provenance columns optional.

This module is the schema and its helpers, below the importers (`workbench.formats`); the public
entry points are `workbench.data.load()` and `validate()` (re-exported there). `load()` reads CSV, TSV, Parquet, JSONL, JSON, polars/pandas frames and the synthetic-data formats
of `workbench.formats` (chat, instruction, preference, distilabel, Argilla, Hugging Face datasets,
OpenAI batch output) into that schema, renaming columns on request
(`load(path, text="review", label="score")`); `validate()` checks a frame and returns it in
canonical form. Every problem raises a `SchemaError` or `InputError` whose
message names the problem and the fix; documented repairs (casting mixed types, truncating huge
texts, dropping empty texts on request) warn with a `WorkbenchWarning`.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from workbench.errors import InputError, SchemaError, WorkbenchWarning

SCHEMA_VERSION = 1
ORIGINS = ("real", "synthetic")
REQUIRED = ("text", "origin")
# split vocabularies: rows a model learns from, and rows held out to measure it (checks and
# guardrails compare them; a held-out row that also appears in a training split is a leak)
TRAINING_SPLITS = ("train", "tune", "dev", "validation")
HELD_OUT_SPLITS = ("eval", "test", "holdout", "anchor")
# Known columns and their canonical dtypes. Unknown columns are kept untouched.
SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "text": pl.String(),
    "origin": pl.String(),
    "label": pl.String(),
    "split": pl.String(),
    "source": pl.String(),
    "generator": pl.String(),
    "generator_version": pl.String(),
    "prompt_id": pl.String(),
    "prompt": pl.String(),
    "sampling": pl.String(),
    "parent_id": pl.String(),
    "generation": pl.Int64(),
    "conversation_id": pl.String(),
    "turn": pl.Int64(),
    "label_source": pl.String(),
    "label_confidence": pl.Float64(),
    "reference_label": pl.String(),
}
# Column names people use for our columns; used to suggest a mapping in error messages.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "text": ("review", "sentence", "content", "document", "body", "utterance", "completion", "response", "input"),
    "label": ("score", "sentiment", "class", "target", "category", "y", "gold"),
    "origin": ("is_synthetic", "synthetic", "provenance", "kind"),
    "id": ("uid", "example_id", "idx", "guid"),
}
MAX_TEXT_CHARS = 100_000
FORMATS = ("csv", "tsv", "parquet", "jsonl", "json", "chat")


def text_hash(text: str) -> str:
    """sha256 of the UTF-8 text, hex. The basis of stable ids and cache keys."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def stable_ids(texts: list[str]) -> list[str]:
    """Content-hash ids: the first 16 hex digits of sha256(text); repeats get `~2`, `~3` in order."""
    seen: dict[str, int] = {}
    out = []
    for t in texts:
        h = text_hash(t)[:16]
        seen[h] = seen.get(h, 0) + 1
        out.append(h if seen[h] == 1 else f"{h}~{seen[h]}")
    return out


def stable_id_series(texts: pl.Series, block: int = 65_536) -> pl.Series:
    """`stable_ids` as a polars Series named `id`, hashing `block` texts at a time so that a large
    frame never becomes one Python list of strings (same ids, byte for byte)."""
    parts = [
        pl.Series([text_hash(t)[:16] for t in texts.slice(start, block).to_list()], dtype=pl.String)
        for start in range(0, texts.len(), block)
    ]
    hashes = pl.concat(parts) if parts else pl.Series([], dtype=pl.String)
    frame = pl.DataFrame({"h": hashes}).with_columns(n=pl.col("h").cum_count().over("h"))
    ids = frame.select(
        pl.when(pl.col("n") > 1).then(pl.format("{}~{}", pl.col("h"), pl.col("n"))).otherwise(pl.col("h"))
    ).to_series()
    return ids.rename("id")


def apply_column_map(
    df: pl.DataFrame,
    column_map: Mapping[str, str],
    defaults: Mapping[str, Any] | None = None,
    *,
    soft: frozenset[str] = frozenset(),
) -> pl.DataFrame:
    """Rename source columns to schema names (`{"text": "review"}`) and fill `defaults` for columns
    the frame lacks. `soft`: columns an importer derived itself; a mapping onto one of them replaces
    it (the user's explicit choice wins) instead of being refused as an overwrite."""
    for target, src in column_map.items():
        if target not in SCHEMA:
            raise SchemaError(
                f"load() got {target}={src!r}, but {target!r} is not a schema column; "
                f"known columns: {sorted(SCHEMA)}. Map as load(path, text='review')."
            )
        if not isinstance(src, str):
            raise SchemaError(f"load() got {target}={src!r}; pass the source column name as a string.")
        if src not in df.columns:
            raise SchemaError(
                f"column {src!r} (given as {target}=) is not in the data; found {df.columns}."
                + _suggest(src, df.columns)
            )
    renames = {src: target for target, src in column_map.items() if src != target}
    replaced = [t for t in renames.values() if t in soft and t in df.columns and t not in renames]
    df = df.drop(replaced)
    clashing = [t for s, t in renames.items() if t in df.columns and t not in renames]
    if clashing:
        raise SchemaError(f"renaming would overwrite existing column(s) {clashing}; rename or drop them first.")
    df = df.rename(renames)
    for col, value in (defaults or {}).items():
        if col not in df.columns:
            df = df.with_columns(pl.lit(value).alias(col))
    return df


def validate(
    df: Any, *, drop_empty: bool = False, max_chars: int | None = MAX_TEXT_CHARS, require_origin: bool = True
) -> pl.DataFrame:
    """Check `df` against the schema and return it in canonical form (ids added, dtypes cast).

    Raises `SchemaError` naming every missing or malformed column and how to fix it.
    `require_origin=False` lets rows with a null origin through (the audit reports them as a
    provenance failure instead of refusing the whole data set).
    """
    df = _as_polars(df)
    problems: list[str] = []
    for col in REQUIRED:
        if col not in df.columns:
            problems.append(_missing_message(col, df.columns))
    if problems:
        raise SchemaError(" ".join(problems))

    df = _cast_known_columns(df)
    df = _check_text(df, drop_empty=drop_empty, max_chars=max_chars)

    origins = df["origin"]
    if origins.null_count() and require_origin:
        rows = _row_numbers(origins.is_null())
        problems.append(
            f"column 'origin' is empty in {origins.null_count()} row(s) (rows {rows}); "
            "set it to 'real' or 'synthetic' for every row, e.g. load(..., defaults={'origin': 'real'})."
        )
    lowered = origins.str.strip_chars().str.to_lowercase()
    bad = df.filter(~lowered.is_in(ORIGINS) & lowered.is_not_null())
    if bad.height:
        values = sorted(set(bad["origin"].to_list()))[:5]
        problems.append(
            f"column 'origin' must be 'real' or 'synthetic'; found {values}. "
            "Map your values first, e.g. df.with_columns(origin=pl.col('origin').replace({'gen': 'synthetic'}))."
        )
    if problems:
        raise SchemaError(" ".join(problems))
    df = df.with_columns(lowered.alias("origin"))

    if "id" not in df.columns:
        df = df.with_columns(stable_id_series(df["text"]))
    else:
        if df["id"].null_count():
            raise SchemaError(
                f"column 'id' is empty in {df['id'].null_count()} row(s) (rows {_row_numbers(df['id'].is_null())}); "
                "fill it, or drop the column to use content-hash ids."
            )
        dup = df["id"].filter(df["id"].is_duplicated()).unique(maintain_order=True)
        if dup.len():
            warnings.warn(
                f"{dup.len()} id(s) occur more than once (e.g. {dup.head(3).to_list()}); spot checks, the "
                "diary and anchor sets need unique ids, and the provenance check will fail. "
                "Fix: drop the 'id' column to use content-hash ids, or make them unique.",
                WorkbenchWarning,
                stacklevel=3,
            )
    if "sampling" in df.columns:
        _check_sampling(df["sampling"])
    first = ["id", "text", "origin"]
    return df.select(first + [c for c in df.columns if c not in first])


# --- reading tables (the record formats, JSON and JSONL live in workbench.formats) ---------------


def guess_format(path: Path) -> str:
    """The file format from the name's suffixes: csv, tsv, parquet, jsonl or json."""
    suffixes = [s.lower() for s in path.suffixes]
    for s in reversed(suffixes):
        if s in (".csv", ".tsv", ".parquet", ".jsonl", ".ndjson", ".json", ".pq"):
            return {".ndjson": "jsonl", ".pq": "parquet"}.get(s, s[1:])
    raise InputError(f"cannot tell the format of {path.name} from its name; pass format= one of {list(FORMATS)}.")


def decode_text(raw: bytes, encoding: str, name: str, offset: int = 0, line: int = 1) -> str:
    """`raw` decoded; an undecodable byte is named with its offset and line (`offset`/`line`: where
    `raw` starts in the file), with the fix. A UTF-8 byte order mark at the start is dropped."""
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        at = raw[: exc.start].count(b"\n") + line
        raise InputError(
            f"{name} is not valid {encoding}: byte {raw[exc.start : exc.start + 1]!r} at offset {offset + exc.start} "
            f"(line {at}). Pass the file's encoding, e.g. load(path, encoding='latin-1'), or re-save it as UTF-8."
        ) from None
    return text.removeprefix("\ufeff") if offset == 0 else text


def read_table(path: Path, fmt: str, encoding: str) -> pl.DataFrame:
    """A CSV, TSV or Parquet file as a frame of its columns (nothing mapped or validated yet)."""
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(f"{path} is empty; it needs a header and at least one example.")
    try:
        if fmt == "parquet":
            return pl.read_parquet(io.BytesIO(raw))
        return _read_csv(decode_text(raw, encoding, path.name), path, separator="\t" if fmt == "tsv" else ",")
    except (InputError, SchemaError):
        raise
    except Exception as exc:  # a parser's own error: name the file and the format, never a deep traceback
        raise InputError(
            f"could not read {path.name} as {fmt}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}. "
            f"Check the file, or pass format= if it is not {fmt}."
        ) from None


def _read_csv(text: str, path: Path, separator: str) -> pl.DataFrame:
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
    rows = [r for r in rows if r]
    if not rows:
        raise InputError(f"{path.name} is empty; it needs a header and at least one example.")
    header, body = rows[0], rows[1:]
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise InputError(f"{path.name} has duplicate column names {dup}; rename them so each is unique.")
    for i, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise InputError(
                f"{path.name} line {i} has {len(row)} fields but the header has {len(header)}. "
                "Usually an unquoted comma or line break inside a text: quote text fields, or fix that line."
            )
    if not body:
        raise InputError(f"{path.name} has a header but no rows.")
    columns = {h: [r[j] for r in body] for j, h in enumerate(header)}
    df = pl.DataFrame(columns, schema={h: pl.String for h in header})
    # empty CSV cells mean missing; numeric-looking columns stay strings until validate() casts known ones
    return df.with_columns(pl.when(pl.col(h) == "").then(None).otherwise(pl.col(h)).alias(h) for h in header)


def _as_polars(df: Any) -> pl.DataFrame:
    if isinstance(df, pl.DataFrame):
        return df
    if type(df).__module__.startswith("pandas"):
        import pandas as pd

        pdf = df.reset_index(drop=True)
        pdf.columns = [str(c) for c in pdf.columns]
        repaired = []
        for col in pdf.columns:
            s = pdf[col]
            if s.dtype == object or str(s.dtype) in ("str", "string"):
                kinds = {type(v) for v in s if v is not None and not (isinstance(v, float) and pd.isna(v))}
                if len(kinds) > 1 or (kinds and not kinds <= {str}):
                    repaired.append(col)
                    pdf[col] = [None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v) for v in s]
        if repaired:
            warnings.warn(
                f"pandas column(s) {repaired} mix value types; converted them to text. Cast them yourself "
                "first if another type is meant.",
                WorkbenchWarning,
                stacklevel=4,
            )
        try:
            return pl.from_pandas(pdf)
        except Exception as exc:
            raise InputError(f"could not convert the pandas frame: {exc}. Convert odd columns to str first.") from None
    raise InputError(f"expected a polars or pandas DataFrame; got {type(df).__name__}. Use load() for files.")


# --- validation helpers --------------------------------------------------------------------------


def _missing_message(col: str, found: list[str]) -> str:
    msg = f"column {col!r} is missing; found {found}."
    candidates = [c for c in found if c.lower() in SYNONYMS.get(col, ())] or difflib.get_close_matches(col, found, n=1)
    if candidates:
        return msg + f" Pass {col}={candidates[0]!r} to load()."
    if col == "origin":
        return msg + " Add it, e.g. load(path, defaults={'origin': 'real'}) or defaults={'origin': 'synthetic'}."
    return msg + f" Add a {col!r} column or map one with load(path, {col}='your_column')."


def _suggest(name: str, found: list[str]) -> str:
    close = difflib.get_close_matches(name, found, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _cast_known_columns(df: pl.DataFrame) -> pl.DataFrame:
    casts = []
    for col, dtype in SCHEMA.items():
        if col not in df.columns or df[col].dtype == dtype:
            continue
        s = df[col]
        if s.dtype == pl.Null:
            casts.append(s.cast(dtype))
            continue
        if dtype == pl.String():
            if isinstance(s.dtype, (pl.List, pl.Struct, pl.Array, pl.Object)):
                if col == "text":
                    raise SchemaError(
                        f"column 'text' holds {s.dtype}, not text. For chat data use load(path) on the JSONL file "
                        "(messages are joined), or build a text column first."
                    )
                casts.append(s.map_elements(lambda v: json.dumps(v, default=str), return_dtype=pl.String))
            elif s.dtype == pl.Boolean and col == "origin":
                casts.append(pl.Series(col, ["synthetic" if v else "real" if v is not None else None for v in s]))
            else:
                casts.append(s.cast(pl.String))
            continue
        converted = s.cast(dtype, strict=False)
        bad = converted.is_null() & s.is_not_null()
        if bool(bad.any()):
            example = s.filter(bad).head(3).to_list()
            raise SchemaError(
                f"column {col!r} must be {dtype} but holds values like {example} (rows {_row_numbers(bad)}); "
                f"fix those values or rename the column if it means something else."
            )
        casts.append(converted)
    return df.with_columns(casts) if casts else df


def _check_text(df: pl.DataFrame, *, drop_empty: bool, max_chars: int | None) -> pl.DataFrame:
    text = df["text"]
    empty = text.is_null() | ~text.str.contains(r"\S")  # blank = no non-whitespace character (no stripped copy)
    n_empty = int(empty.sum())
    if n_empty:
        if not drop_empty:
            raise SchemaError(
                f"column 'text' is null, NaN or blank in {n_empty} row(s) (rows {_row_numbers(empty)}). "
                "Fill those texts, or pass drop_empty=True to load()/validate() to drop them."
            )
        warnings.warn(f"dropped {n_empty} row(s) with empty text (drop_empty=True).", WorkbenchWarning, stacklevel=4)
        df = df.filter(~empty)
    if max_chars is not None and df.height:
        long = df["text"].str.len_chars() > max_chars
        if bool(long.any()):
            warnings.warn(
                f"{int(long.sum())} text(s) longer than {max_chars:,} characters (rows {_row_numbers(long)}) were "
                f"truncated to {max_chars:,}. Pass max_chars=None to keep them whole.",
                WorkbenchWarning,
                stacklevel=4,
            )
            df = df.with_columns(
                pl.when(long).then(pl.col("text").str.slice(0, max_chars)).otherwise(pl.col("text")).alias("text")
            )
    return df


def _check_sampling(sampling: pl.Series) -> None:
    # each distinct value is parsed once: a million rows usually share a handful of sampling settings
    for value in sampling.drop_nulls().unique(maintain_order=True).to_list():
        try:
            parsed = json.loads(value)
        except (TypeError, json.JSONDecodeError):
            parsed = None
        if not isinstance(parsed, dict):
            i = int(sampling.eq(value).arg_true()[0])
            raise SchemaError(
                f"column 'sampling' must hold a JSON object (e.g. '{{\"temperature\": 0.7}}'); row {i} holds {value!r}."
            )


def _row_numbers(mask: pl.Series, limit: int = 5) -> str:
    idx = [i for i, v in enumerate(mask.to_list()) if v]
    shown = ", ".join(str(i) for i in idx[:limit])
    return shown + (f", ... {len(idx) - limit} more" if len(idx) > limit else "")
