"""Synthetic data as it comes: every common format into the workbench schema, provenance kept.

`read(source)` recognises the format from the data's shape (or takes `format=`), converts it,
validates the result like `workbench.data.load()` (which calls it) and returns an `Imported`:
the frame plus which format was detected, how each field was mapped (`mapping`, one line from
`describe()`), which provenance the data does not record (`missing`), and for formats with several
labelers their labels in long form (`labels`).

| format | recognised by | rows |
|---|---|---|
| `messages` | a `messages` (or `conversation`) list of `{role, content}` | one per turn of `role` |
| `sharegpt` | a `conversations` list of `{from, value}` | one per turn of `role` (`gpt` = `assistant`) |
| `alpaca` | `instruction`, `input`, `output` | one per record |
| `prompt_completion` | `prompt`, `completion` | one per record |
| `preference` | `chosen`, `rejected` (and `prompt`) | two per pair |
| `distilabel` | `distilabel_metadata`, or `model_name` with `generation(s)` | one per generation |
| `argilla` | `fields` with `suggestions`/`responses` (or flattened `<q>.suggestion`) | one per record |
| `hf` | a `datasets.Dataset`/`DatasetDict` or a `save_to_disk` folder | its rows, in any format above |
| `openai_batch` | `custom_id` with `response` | one per choice |

Beside these, `load()` reads tables (CSV, TSV, Parquet, plain JSONL/JSON, polars and pandas frames)
as before. Model output (assistant turns, completions, preference answers, distilabel generations,
batch responses) loads as `origin=synthetic` unless a record says otherwise; people's turns as
`real`. Provenance the format could carry but the data lacks stays empty, for the provenance check
to name. The importers import only the bottom layer (`workbench.data`, `workbench.errors`).
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from workbench import schema as data
from workbench.errors import InputError, SchemaError, WorkbenchWarning
from workbench.formats import hf
from workbench.formats._base import PROVENANCE, Assembler, Converter, RecordError, disambiguate_keys
from workbench.formats._reader import Batch, Problems, frame_batches, json_array_batches, jsonl_batches
from workbench.formats.argilla import Argilla, read_settings
from workbench.formats.chat import Messages, ShareGPT
from workbench.formats.distilabel import Distilabel
from workbench.formats.instruct import Alpaca, Preference, PromptCompletion
from workbench.formats.openai_batch import Failed, OpenAIBatch

__all__ = ["ALL_FORMATS", "FORMATS", "TABLE_FORMATS", "Imported", "detect", "read"]

# In detection order: the most specific shape first (a distilabel row may also hold an instruction).
CONVERTERS: dict[str, type[Converter]] = {
    c.name: c for c in (OpenAIBatch, Argilla, Distilabel, Preference, Messages, ShareGPT, Alpaca, PromptCompletion)
}
FORMATS = ("messages", "sharegpt", "alpaca", "prompt_completion", "preference", "distilabel", "argilla", "hf",
           "openai_batch")  # fmt: skip
TABLE_FORMATS = ("csv", "tsv", "parquet", "jsonl", "json")
ALL_FORMATS = TABLE_FORMATS + FORMATS
ALIASES = {"chat": "messages", "ndjson": "jsonl", "pq": "parquet", "openai": "openai_batch", "huggingface": "hf"}


def shape_of(rec: Mapping[str, Any] | None) -> str | None:
    """The record format a record's keys show, or None for a plain table row."""
    if not isinstance(rec, dict):
        return None
    return next((name for name, conv in CONVERTERS.items() if conv.matches(rec)), None)


@dataclass
class Imported:
    """What `read()` found: the validated `frame`, the `format` detected (a record format, or the
    table format for plain tables), the `container` it came in, how each schema column was filled
    (`mapping`: column -> source field), provenance the data does not record (`missing`), `notes`,
    and labels in long form (`id, labeler, label, confidence`) where the format has several labelers."""

    frame: pl.DataFrame
    format: str
    container: str
    source: str
    mapping: dict[str, str]
    missing: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    labels: pl.DataFrame | None = None
    n_records: int = 0
    unit: str = "records"

    def describe(self) -> str:
        """One line: the format, records -> rows, each mapping, and what is not recorded."""
        kind = self.format if self.format == self.container else f"{self.format} in {self.container}"
        unit = self.unit[:-1] if self.n_records == 1 and self.unit.endswith("s") else self.unit
        rows = "row" if self.frame.height == 1 else "rows"
        parts = [f"{self.source}: {kind}, {self.n_records:,} {unit} -> {self.frame.height:,} {rows}"]
        origin = self.mapping.get("origin", "")
        derived = origin.startswith(("real", "synthetic"))  # a format's default, not a column
        parts.append(", ".join(f"{c} <- {src}" for c, src in self.mapping.items() if c != "origin" or not derived))
        if derived:
            parts.append(f"origin {origin}")
        if self.missing:
            n = int((self.frame["origin"] == "synthetic").sum())
            gaps = ", ".join(f"{col} ({k:,} of {n:,})" for col, k in self.missing.items())
            parts.append(f"not recorded for synthetic rows (the provenance check names them): {gaps}")
        return "; ".join(p for p in parts if p)

    def mapping_table(self) -> pl.DataFrame:
        """The mapping as a frame: `column`, `from`, and `rows` (how many rows have the column filled)."""
        rows = [
            (col, src, int(self.frame[col].is_not_null().sum()) if col in self.frame.columns else 0)
            for col, src in self.mapping.items()
        ]
        return pl.DataFrame(rows, schema={"column": pl.String, "from": pl.String, "rows": pl.Int64}, orient="row")

    def __repr__(self) -> str:
        return f"Imported({self.describe()})"


# --- reading -------------------------------------------------------------------------------------


@dataclass
class _Raw:
    frame: pl.DataFrame
    format: str
    container: str
    converter: Converter | None = None
    n_records: int = 0
    notes: list[str] = field(default_factory=list)


def _normalise(fmt: str | None) -> str | None:
    if fmt is None:
        return None
    f = ALIASES.get(str(fmt).strip().lower(), str(fmt).strip().lower())
    if f not in ALL_FORMATS:
        raise InputError(f"unknown format {fmt!r}; pass format= one of {list(ALL_FORMATS)}.")
    return f


def _convert(
    batches: Iterable[Batch], fmt: str | None, *, role: str, path: Path | None, problems: Problems, **options: Any
) -> tuple[pl.DataFrame, Converter | None, int]:
    """Records into one frame: the format is `fmt` or the first record's shape; a record of another
    shape (mixed formats) or one that does not fit is a problem naming that record."""
    asm = Assembler()
    conv: Converter | None = None
    decided, shape, first = False, None, ""
    n = 0
    source = iter(batches)
    while (batch := next(source, None)) is not None:  # the previous batch is gone before the next is read
        rows: list[dict[str, Any]] = []
        for where, rec in batch:
            n += 1
            if not decided:
                shape = fmt if fmt in CONVERTERS else shape_of(rec)
                conv = CONVERTERS[shape](role=role, path=path, **options) if shape else None
                decided, first = True, where
            elif fmt not in CONVERTERS and not (conv.matches(rec) if conv else shape_of(rec) is None):
                other = shape_of(rec)
                problems.bad(
                    where,
                    f" is {_a(other)}, but {first} is {_a(shape)}: the file mixes formats. Split it by format, "
                    "or pass format= to read every record as one of them.",
                )
                continue
            if conv is None:
                rows.append(rec)
                continue
            try:
                rows.extend(conv.rows(rec))
            except RecordError as exc:
                problems.bad(where, f": {exc}.")
            except Failed:
                pass
        del batch
        asm.add(rows)
        del rows
    df = asm.frame()
    if conv is not None:
        if conv.key_column:
            df = disambiguate_keys(df, conv.key_column, conv.part_column)
        df = conv.finish(df.drop("_hashed", strict=False))
    return df, conv, n


def _a(shape: str | None) -> str:
    return "a plain row (no format recognised)" if shape is None else f"a {shape} record"


def _finish_conversion(df: pl.DataFrame, conv: Converter | None, n: int, problems: Problems, name: str) -> list[str]:
    """Refuse an empty result (saying why), then warn once about what was left out; the notes."""
    failed = getattr(conv, "failed", [])
    if df.height == 0:
        if failed and len(failed) == n:
            raise InputError(f"every request in {name} failed ({n}); there is no model output to audit.")
        if problems.skipped:
            raise InputError(f"{name} has no records left after leaving out {len(problems.skipped)} malformed one(s).")
        raise InputError(f"{name} has no records.")
    problems.report()
    notes = list(conv.notes) if conv else []
    if failed:
        shown = ", ".join(failed[:5]) + (f", ... {len(failed) - 5} more" if len(failed) > 5 else "")
        warnings.warn(
            f"{len(failed)} of {n} batch requests in {name} failed and have no output (custom_id {shown}); "
            "they are left out.",
            WorkbenchWarning,
            stacklevel=4,
        )
        notes.append(f"{len(failed)} failed request(s) left out")
    if problems.skipped:
        notes.append(f"{len(problems.skipped)} malformed record(s) left out (skip_bad=True)")
    return notes


def _read_path(path: Path, fmt: str | None, role: str, encoding: str, progress: bool | None, skip_bad: bool) -> _Raw:
    if path.is_dir():
        return _read_folder(path, fmt, role, skip_bad)
    if fmt == "hf":
        raise InputError(
            f"format='hf' reads a datasets.Dataset or DatasetDict, or a save_to_disk folder; {path.name} is a file. "
            "Pass the folder, or the format of the file."
        )
    container = fmt if fmt in TABLE_FORMATS else _container(path, fmt)
    if container in ("csv", "tsv", "parquet"):
        table = data.read_table(path, container, encoding)
        csv_like = container != "parquet"
        return _from_frame(table, fmt, role, path, skip_bad, container, label="line" if csv_like else "row",
                           offset=2 if csv_like else 0)  # fmt: skip
    problems = Problems(path.name, skip_bad)
    batches = (
        jsonl_batches(path, encoding, problems, progress=progress)
        if container == "jsonl"
        else json_array_batches(path, encoding, problems)
    )
    try:
        df, conv, n = _convert(batches, fmt, role=role, path=path, problems=problems)
    except (InputError, SchemaError):
        raise
    except Exception as exc:  # never a deep traceback for a file we could not read
        raise InputError(
            f"could not read {path.name} as {container}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}. "
            f"Check the file, or pass format= if it is not {container}."
        ) from None
    notes = _finish_conversion(df, conv, n, problems, path.name)
    return _Raw(df, conv.name if conv else container, container, conv, n, notes)


def _container(path: Path, fmt: str | None) -> str:
    try:
        return data.guess_format(path)
    except InputError:
        if fmt is None:
            raise InputError(
                f"cannot tell the format of {path.name} from its name; pass format= one of {list(ALL_FORMATS)}."
            ) from None
    with path.open("rb") as f:  # a record format given for an oddly named file: JSON lines or a JSON list
        head = f.read(4096).lstrip()
    return "json" if head.startswith(b"[") else "jsonl"


def _from_frame(
    df: pl.DataFrame,
    fmt: str | None,
    role: str,
    path: Path | None,
    skip_bad: bool,
    container: str,
    *,
    label: str = "row",
    offset: int = 0,
    **options: Any,
) -> _Raw:
    """A table: as it is, or converted row by row when its columns have a record format's shape."""
    shape = fmt if fmt in CONVERTERS else (shape_of(df.row(0, named=True)) if df.height else None)
    if shape is None:
        return _Raw(df, container, container, None, df.height)
    name = path.name if path else container
    problems = Problems(name, skip_bad)
    out, conv, n = _convert(frame_batches(df, label, offset), shape, role=role, path=path, problems=problems, **options)
    notes = _finish_conversion(out, conv, n, problems, name)
    return _Raw(out, shape, container, conv, n, notes)


def _from_datasets(obj: Any, fmt: str | None, role: str, skip_bad: bool, folder: Path | None) -> _Raw:
    container = hf.describe(obj, folder)
    shape = fmt if fmt in CONVERTERS else shape_of(hf.first_record(obj))
    if shape is None:
        df = hf.frame(obj)
        return _Raw(df, "hf", container, None, df.height)
    name = folder.name if folder else container
    problems = Problems(name, skip_bad)
    df, conv, n = _convert(hf.batches(obj), shape, role=role, path=folder, problems=problems)
    notes = _finish_conversion(df, conv, n, problems, name)
    return _Raw(df, shape, container, conv, n, notes)


def _read_folder(path: Path, fmt: str | None, role: str, skip_bad: bool) -> _Raw:
    if hf.is_save_to_disk_folder(path):
        return _from_datasets(hf.load_from_disk(path), fmt, role, skip_bad, path)
    if (path / "records.json").is_file():  # Argilla 2.x Dataset.to_disk
        problems = Problems(f"{path.name}/records.json", skip_bad)
        settings = read_settings(path)
        batches = json_array_batches(path / "records.json", "utf-8", problems)
        df, conv, n = _convert(
            batches, fmt or "argilla", role=role, path=path / "records.json", problems=problems, settings=settings
        )
        notes = _finish_conversion(df, conv, n, problems, path.name)
        return _Raw(df, conv.name if conv else "argilla", "Argilla to_disk folder", conv, n, notes)
    if (path / "distiset_configs").is_dir():  # a distilabel Distiset.save_to_disk folder
        configs = [d for d in sorted(path.iterdir()) if d.is_dir() and hf.is_save_to_disk_folder(d)]
        if not configs:
            raise InputError(f"{path} has distiset_configs/ but no saved configuration folders beside it.")
        problems = Problems(path.name, skip_bad)

        def config_batches() -> Iterator[Batch]:
            for d in configs:
                for b in hf.batches(hf.load_from_disk(d)):
                    if len(configs) > 1:
                        for _, rec in b:
                            rec["distilabel_config"] = d.name
                    yield [(f"{d.name} {w}", r) for w, r in b]

        df, conv, n = _convert(config_batches(), fmt, role=role, path=path, problems=problems)
        notes = _finish_conversion(df, conv, n, problems, path.name)
        return _Raw(df, conv.name if conv else "hf", f"distilabel Distiset folder ({', '.join(d.name for d in configs)})",
                    conv, n, notes)  # fmt: skip
    raise InputError(
        f"{path} is a directory; pass a data file (csv, parquet, jsonl) or a dataset folder "
        "(a Hugging Face save_to_disk folder, an Argilla to_disk folder, a saved distilabel Distiset)."
    )


def _read_raw(
    source: Any, fmt: str | None, role: str, encoding: str, progress: bool | None, skip_bad: bool
) -> tuple[_Raw, str]:
    if isinstance(source, pl.LazyFrame):
        source = source.collect()
    if isinstance(source, pl.DataFrame) or type(source).__module__.startswith("pandas"):
        kind = "polars frame" if isinstance(source, pl.DataFrame) else "pandas frame"
        if fmt == "hf":
            raise InputError("format='hf' reads a datasets.Dataset or DatasetDict; this is a data frame.")
        df = data._as_polars(source)
        if fmt in CONVERTERS:  # frames are taken as they are unless a record format is asked for
            return _from_frame(df, fmt, role, None, skip_bad, kind), kind
        return _Raw(df, kind, kind, None, df.height), kind
    if hf.is_dataset(source):
        return _from_datasets(source, fmt, role, skip_bad, None), type(source).__name__
    if not isinstance(source, (str, Path)):
        raise InputError(
            "load() takes a file path, a dataset folder, a polars DataFrame, a pandas DataFrame or a "
            f"datasets.Dataset; got {type(source).__name__}."
        )
    path = Path(source)
    if not path.exists():
        raise InputError(f"file not found: {path}. Check the path (relative paths start at {Path.cwd()}).")
    return _read_path(path, fmt, role, encoding, progress, skip_bad), path.name


def read(
    source: Any,
    *,
    format: str | None = None,
    role: str | None = "assistant",
    encoding: str = "utf-8",
    defaults: Mapping[str, Any] | None = None,
    drop_empty: bool = False,
    max_chars: int | None = data.MAX_TEXT_CHARS,
    progress: bool | None = None,
    skip_bad: bool = False,
    **column_map: str,
) -> Imported:
    """Read `source` (a path, a dataset folder, a frame or a `datasets` object) in any supported
    format and return an `Imported`: the validated frame, the detected format and the mapping.
    Arguments as for `workbench.data.load()`, which returns `read(...).frame`."""
    fmt = _normalise(format)
    raw, name = _read_raw(source, fmt, role or "assistant", encoding, progress, skip_bad)
    conv = raw.converter
    df = data.apply_column_map(
        raw.frame, column_map, defaults, soft=frozenset(raw.frame.columns) if conv else frozenset()
    )
    if conv is not None and conv.origin:
        df = (
            df.with_columns(pl.col("origin").fill_null(conv.origin))
            if "origin" in df.columns
            else df.with_columns(pl.lit(conv.origin).alias("origin"))
        )
    frame = data.validate(df, drop_empty=drop_empty, max_chars=max_chars)
    mapping = _mapping(frame, conv, column_map, defaults)
    labels = None
    if conv is not None and conv.labels:
        labels = pl.DataFrame(
            conv.labels, schema={"id": pl.String, "labeler": pl.String, "label": pl.String, "confidence": pl.Float64}
        ).filter(pl.col("id").is_in(frame["id"].implode()))
    return Imported(
        frame=frame,
        format=raw.format,
        container=raw.container,
        source=name,
        mapping=mapping,
        missing=_missing(frame),
        notes=raw.notes,
        labels=labels,
        n_records=raw.n_records,
        unit=conv.unit if conv else "rows",
    )


def _mapping(
    frame: pl.DataFrame, conv: Converter | None, column_map: Mapping[str, str], defaults: Mapping[str, Any] | None
) -> dict[str, str]:
    filled = {c for c in frame.columns if frame[c].null_count() < frame.height}
    out: dict[str, str] = {}
    if conv is not None:
        out = {col: src for col, src in conv.mapping.items() if col in filled or "<" in col}
    else:
        out = {c: c for c in frame.columns if c in data.SCHEMA and c != "id" and c in filled}
    for target, src in column_map.items():
        out[target] = f"{src} (column map)"
    for col, value in (defaults or {}).items():
        if col not in out:
            out[col] = f"{value!r} (defaults)"
    return out


def _missing(frame: pl.DataFrame) -> dict[str, int]:
    """Provenance the synthetic rows do not record: column -> how many synthetic rows lack it.
    (Counted with expressions: a large frame is never copied.)"""
    synthetic = pl.col("origin") == "synthetic"
    exprs = []
    for col in PROVENANCE:
        cols = [c for c in ((col, "prompt_id") if col == "prompt" else (col,)) if c in frame.columns]
        lacking = pl.all_horizontal([pl.col(c).is_null() for c in cols]) if cols else pl.repeat(True, pl.len())
        exprs.append((synthetic & lacking).sum().alias(col))
    counts = frame.select(exprs).row(0, named=True)
    return {col: int(n) for col, n in counts.items() if n}


# --- detection only ----------------------------------------------------------------------------


def detect(source: Any, *, encoding: str = "utf-8") -> str:
    """The format `read()` would use, from a peek at the first record (a table format for plain tables)."""
    if hf.is_dataset(source):
        return shape_of(hf.first_record(source)) or "hf"
    if isinstance(source, (pl.DataFrame, pl.LazyFrame)) or type(source).__module__.startswith("pandas"):
        return "frame"
    path = Path(source)
    if not path.exists():
        raise InputError(f"file not found: {path}.")
    if path.is_dir():
        if hf.is_save_to_disk_folder(path):
            return shape_of(hf.first_record(hf.load_from_disk(path))) or "hf"
        if (path / "records.json").is_file():
            return "argilla"
        if (path / "distiset_configs").is_dir():
            return "distilabel"
        raise InputError(f"{path} is a directory but not a dataset folder.")
    container = _container(path, None)
    first: Any = None
    if container == "jsonl":
        with path.open("rb") as f:
            for raw_line in f:
                if raw_line.strip():
                    try:
                        first = json.loads(raw_line.decode(encoding))
                    except (UnicodeDecodeError, json.JSONDecodeError):
                        return container
                    break
    elif container == "json":
        try:
            doc = json.loads(path.read_text(encoding))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return container
        first = doc[0] if isinstance(doc, list) and doc else None
    elif container == "parquet":
        head = pl.scan_parquet(path).head(1).collect()
        first = head.row(0, named=True) if head.height else None
    else:
        with path.open(encoding=encoding, newline="") as f:
            reader = csv.DictReader(io.StringIO(f.read(65536)), delimiter="\t" if container == "tsv" else ",")
            first = next(reader, None)
    return shape_of(first) or container
