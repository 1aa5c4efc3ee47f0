"""The data model: one row per example, `text` and `origin` required, provenance columns optional.

`load()` reads CSV, Parquet, JSONL, chat-format JSONL and polars/pandas frames into that schema,
renaming columns on request (`load(path, text="review", label="score")`); `validate()` checks a
frame and returns it in canonical form. Every problem raises a `SchemaError` or `InputError` whose
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


def load(
    source: str | Path | pl.DataFrame | Any,
    *,
    format: str | None = None,
    encoding: str = "utf-8",
    role: str = "assistant",
    defaults: Mapping[str, Any] | None = None,
    drop_empty: bool = False,
    max_chars: int | None = MAX_TEXT_CHARS,
    **column_map: str,
) -> pl.DataFrame:
    """Load examples into the workbench schema and validate them.

    `source`: a path (CSV, TSV, Parquet, JSONL, JSON, or chat JSONL whose rows hold a `messages`
    list), a polars frame or a pandas frame. `column_map` renames source columns to schema names:
    `load("r.csv", text="review", label="score")`. `defaults` fills columns the source lacks with a
    constant, e.g. `defaults={"origin": "real"}`. For chat data the text is the content of the
    messages with `role` (joined by blank lines), the first user message becomes `prompt`.
    `encoding` is the file's text encoding (`"latin-1"` for legacy files). `drop_empty` drops rows
    whose text is null or blank (with a warning) instead of refusing them. Texts longer than
    `max_chars` are truncated with a warning (`max_chars=None` keeps them whole).
    """
    df = _read(source, format=format, encoding=encoding, role=role)
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
    clashing = [t for s, t in renames.items() if t in df.columns and t not in renames]
    if clashing:
        raise SchemaError(f"renaming would overwrite existing column(s) {clashing}; rename or drop them first.")
    df = df.rename(renames)
    for col, value in (defaults or {}).items():
        if col not in df.columns:
            df = df.with_columns(pl.lit(value).alias(col))
    return validate(df, drop_empty=drop_empty, max_chars=max_chars)


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
        df = df.with_columns(pl.Series("id", stable_ids(df["text"].to_list()), dtype=pl.String))
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


# --- reading -------------------------------------------------------------------------------------


def _read(source: Any, *, format: str | None, encoding: str, role: str) -> pl.DataFrame:
    if isinstance(source, pl.DataFrame):
        return source
    if type(source).__module__.startswith("pandas"):
        return _as_polars(source)
    if isinstance(source, pl.LazyFrame):
        return source.collect()
    if not isinstance(source, (str, Path)):
        raise InputError(
            f"load() takes a file path, a polars DataFrame or a pandas DataFrame; got {type(source).__name__}."
        )
    path = Path(source)
    if not path.exists():
        raise InputError(f"file not found: {path}. Check the path (relative paths start at {Path.cwd()}).")
    if path.is_dir():
        raise InputError(f"{path} is a directory; pass a data file (csv, parquet, jsonl).")
    fmt = (format or _guess_format(path)).lower()
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r} for {path.name}; pass format= one of {list(FORMATS)}.")
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(f"{path} is empty; it needs a header and at least one example.")
    try:
        if fmt == "parquet":
            return pl.read_parquet(io.BytesIO(raw))
        text = _decode(raw, encoding, path)
        if fmt in ("csv", "tsv"):
            return _read_csv(text, path, separator="\t" if fmt == "tsv" else ",")
        if fmt == "json":
            return _records_to_frame(_parse_json_array(text, path), path, role)
        return _records_to_frame(_parse_jsonl(text, path), path, role)
    except (InputError, SchemaError):
        raise
    except Exception as exc:  # a parser's own error: name the file and the format, never a deep traceback
        raise InputError(
            f"could not read {path.name} as {fmt}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}. "
            f"Check the file, or pass format= if it is not {fmt}."
        ) from None


def _guess_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    for s in reversed(suffixes):
        if s in (".csv", ".tsv", ".parquet", ".jsonl", ".ndjson", ".json", ".pq"):
            return {".ndjson": "jsonl", ".pq": "parquet"}.get(s, s[1:])
    raise InputError(f"cannot tell the format of {path.name} from its name; pass format= one of {list(FORMATS)}.")


def _decode(raw: bytes, encoding: str, path: Path) -> str:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path.name} is not valid {encoding}: byte {raw[exc.start : exc.start + 1]!r} at offset {exc.start} "
            f"(line {line}). Pass the file's encoding, e.g. load(path, encoding='latin-1'), or re-save it as UTF-8."
        ) from None
    return text.removeprefix("\ufeff")


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


def _parse_jsonl(text: str, path: Path) -> list[dict[str, Any]]:
    records = []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path.name} line {i} is not valid JSON ({exc.msg}); fix or remove that line.") from None
        if not isinstance(rec, dict):
            raise InputError(
                f"{path.name} line {i} is a JSON {type(rec).__name__}, not an object; each line must be one example."
            )
        records.append(rec)
    if not records:
        raise InputError(f"{path.name} has no JSON records.")
    return records


def _parse_json_array(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path.name} is not valid JSON (line {exc.lineno}: {exc.msg}).") from None
    if isinstance(data, dict):
        for key in ("data", "examples", "rows", "records"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f"{path.name} must hold a list of objects (one per example), or be JSON lines.")
    if not data:
        raise InputError(f"{path.name} has no records.")
    return data


def _records_to_frame(records: list[dict[str, Any]], path: Path, role: str) -> pl.DataFrame:
    if any("messages" in r for r in records):
        records = [_chat_record(r, i, path, role) for i, r in enumerate(records, start=1)]
    columns: dict[str, list[Any]] = {}
    keys: list[str] = []
    for r in records:
        for k in r:
            if k not in columns:
                columns[k] = []
                keys.append(k)
    for k in keys:
        columns[k] = [r.get(k) for r in records]
    series = []
    for k in keys:
        values = columns[k]
        kinds = {type(v) for v in values if v is not None}
        if (kinds and kinds <= {int}) or kinds == {bool}:
            series.append(pl.Series(k, values))
        elif kinds and kinds <= {int, float}:
            series.append(pl.Series(k, [None if v is None else float(v) for v in values], dtype=pl.Float64))
        elif kinds <= {str}:
            series.append(pl.Series(k, values, dtype=pl.String))
        else:  # nested or mixed values are kept as JSON text, readable and lossless
            series.append(
                pl.Series(
                    k,
                    [v if isinstance(v, str) or v is None else json.dumps(v, sort_keys=True) for v in values],
                    dtype=pl.String,
                )
            )
    return pl.DataFrame(series)


def _chat_record(rec: dict[str, Any], line: int, path: Path, role: str) -> dict[str, Any]:
    messages = rec.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise InputError(f"{path.name} record {line}: 'messages' must be a list of {{'role', 'content'}} objects.")
    chosen = [m.get("content") for m in messages if m.get("role") == role]
    if not chosen:
        roles = sorted({str(m.get("role")) for m in messages})
        raise InputError(
            f"{path.name} record {line} has no message with role {role!r} (roles: {roles}); pass role= one of them."
        )
    out = {k: v for k, v in rec.items() if k != "messages"}
    out.setdefault("text", "\n\n".join(_content_text(c) for c in chosen))
    users = [m.get("content") for m in messages if m.get("role") == "user"]
    if users and role != "user":
        out.setdefault("prompt", _content_text(users[0]))
    return out


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return "" if content is None else str(content)


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
    empty = text.is_null() | (text.str.strip_chars().str.len_chars() == 0)
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
    for i, value in enumerate(sampling.to_list()):
        if value is None:
            continue
        try:
            parsed = json.loads(value)
        except (TypeError, json.JSONDecodeError):
            parsed = None
        if not isinstance(parsed, dict):
            raise SchemaError(
                f"column 'sampling' must hold a JSON object (e.g. '{{\"temperature\": 0.7}}'); row {i} holds {value!r}."
            )


def _row_numbers(mask: pl.Series, limit: int = 5) -> str:
    idx = [i for i, v in enumerate(mask.to_list()) if v]
    shown = ", ".join(str(i) for i in idx[:limit])
    return shown + (f", ... {len(idx) - limit} more" if len(idx) > limit else "")
