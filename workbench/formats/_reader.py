"""Reading records: JSON lines streamed in chunks (with a progress bar), JSON arrays (with the
complete records of a truncated file recovered on request), and rows of frames and datasets.

Every reader yields batches of `(where, record)` pairs; `where` names the record for a person
("line 12", "record 12", "row 12 of split train"). Problems go through `Problems`: raised at once
as an `InputError` naming the record and the fix, or, with `skip_bad=True`, collected and reported
in one warning.
"""

from __future__ import annotations

import codecs
import json
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from workbench.errors import InputError, WorkbenchWarning
from workbench.schema import decode_text

Batch = list[tuple[str, dict[str, Any]]]
CHUNK_BYTES = 16 * 2**20  # JSONL is parsed this many bytes at a time
PROGRESS_MIN_BYTES = 64 * 2**20  # progress=None shows a bar for files at least this big
ROWS_PER_BATCH = 10_000  # rows of a frame or dataset converted at a time
SKIP_HINT = " (or pass skip_bad=True to leave out malformed records)"


class Problems:
    """Malformed records: refused at once, or (skip_bad) left out and reported in one warning."""

    def __init__(self, name: str, skip_bad: bool) -> None:
        self.name = name
        self.skip_bad = skip_bad
        self.skipped: list[str] = []

    def bad(self, where: str, tail: str, *, hint: bool = True, skipped: str | None = None) -> None:
        """`tail` continues "NAME WHERE" (" is not valid JSON ...", ": message 2 has no content ...") and
        ends with a period; `skipped`: what the warning says instead when the record is left out."""
        if not self.skip_bad:
            if hint:
                tail = tail.removesuffix(".") + SKIP_HINT + "."
            raise InputError(f"{self.name} {where}{tail}")
        self.skipped.append(skipped or f"{where}{tail}".strip())

    def report(self) -> None:
        if self.skipped:
            n = len(self.skipped)
            shown = "; ".join(self.skipped[:3]) + (f"; ... {n - 3} more" if n > 3 else "")
            warnings.warn(
                f"left out {n} malformed record(s) of {self.name} (skip_bad=True): {shown}",
                WorkbenchWarning,
                stacklevel=4,
            )


def progress_bar(total: int, name: str, progress: bool | None) -> Any:
    from tqdm import tqdm

    show = progress if progress is not None else total >= PROGRESS_MIN_BYTES
    return tqdm(
        total=total, desc=f"load {name}", unit="B", unit_scale=True, file=sys.stderr, disable=not show, leave=False
    )


def _ascii_compatible(encoding: str) -> bool:
    name = codecs.lookup(encoding).name
    return not name.startswith(("utf-16", "utf-32"))


def _lines(path: Path, encoding: str) -> Iterator[tuple[int, str, bool]]:
    """(bytes, text, ends with a newline) per line, read line by line: never the whole file at once
    (except in UTF-16/32, where a newline byte is not a line break and the file is decoded whole)."""
    if not _ascii_compatible(encoding):
        text = decode_text(path.read_bytes(), encoding, path.name)
        parts = text.split("\n")
        for k, line in enumerate(parts):
            if k < len(parts) - 1 or line:
                yield len(line) + 1, line, k < len(parts) - 1
        return
    offset = 0
    with path.open("rb") as f:
        for n, raw in enumerate(f, start=1):
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{path.name} is not valid {encoding}: byte {raw[exc.start : exc.start + 1]!r} at offset "
                    f"{offset + exc.start} (line {n}). Pass the file's encoding, e.g. load(path, encoding='latin-1'), "
                    "or re-save it as UTF-8."
                ) from None
            if n == 1:
                line = line.removeprefix("\ufeff")
            offset += len(raw)
            yield len(raw), line, raw.endswith(b"\n")


def jsonl_batches(
    path: Path, encoding: str, problems: Problems, *, progress: bool | None = None, chunk_bytes: int | None = None
) -> Iterator[Batch]:
    """The file's records in batches of about `chunk_bytes` of lines (default `CHUNK_BYTES`), with a
    progress bar over the bytes read. Only one batch's records are alive at a time. Blank lines are
    skipped; a line that is not a JSON object is a problem."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    bar = progress_bar(path.stat().st_size, path.name, progress)
    seen = False
    batch: Batch = []
    pending = 0
    try:
        for line_no, (nbytes, line, closed) in enumerate(_lines(path, encoding), start=1):
            pending += nbytes
            if line.strip():
                seen = True
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    why = "" if closed else " (the file ends in the middle of this record: truncated?)"
                    problems.bad(f"line {line_no}", f" is not valid JSON ({exc.msg}){why}; fix or remove that line.")
                    rec = None
                if rec is not None and not isinstance(rec, dict):
                    problems.bad(
                        f"line {line_no}",
                        f" is a JSON {type(rec).__name__}, not an object; each line must be one example.",
                    )
                elif rec is not None:
                    batch.append((f"line {line_no}", rec))
            if pending >= chunk_bytes:
                bar.update(pending)
                pending = 0
                if batch:
                    out, batch = batch, []
                    yield out
                    del out
        bar.update(pending)
        if batch:
            yield batch
    finally:
        bar.close()
    if not seen:
        raise InputError(f"{path} is empty; it needs a header and at least one example.")


def json_array_batches(path: Path, encoding: str, problems: Problems) -> Iterator[Batch]:
    """A JSON file holding a list of objects (or {"data" | "examples" | "rows" | "records": [...]}).

    A truncated list (a public dump cut off mid-record) is refused naming how many records are
    complete; with skip_bad those complete records are read, with a warning.
    """
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(f"{path} is empty; it needs a header and at least one example.")
    text = decode_text(raw, encoding, path.name)
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        data = _recover_truncated(text, exc, path, problems)
    if isinstance(data, dict):
        for key in ("data", "examples", "rows", "records"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f"{path.name} must hold a list of objects (one per example), or be JSON lines.")
    if not data:
        raise InputError(f"{path.name} has no records.")
    for start in range(0, len(data), ROWS_PER_BATCH):
        yield [(f"record {start + i + 1}", r) for i, r in enumerate(data[start : start + ROWS_PER_BATCH])]


def _recover_truncated(text: str, exc: json.JSONDecodeError, path: Path, problems: Problems) -> list[Any]:
    """The complete records of a list cut off at the end; any other JSON error is refused as it is."""
    truncated = text.lstrip().startswith("[") and (
        exc.pos >= len(text.rstrip()) - 1 or exc.msg.startswith("Unterminated string")
    )
    if not truncated:
        raise InputError(f"{path.name} is not valid JSON (line {exc.lineno}: {exc.msg}).") from None
    decoder = json.JSONDecoder()
    i = text.index("[") + 1
    records: list[Any] = []
    while True:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        try:
            obj, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            break
        records.append(obj)
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i >= len(text) or text[i] != ",":
            break
        i += 1
    line = text.count("\n", 0, i) + 1
    problems.bad(
        "",
        f"is truncated: it ends inside record {len(records) + 1} (line {line}); the first {len(records)} records "
        "are complete. Repair or re-download the file, or pass skip_bad=True to read the complete records.",
        hint=False,
        skipped=f"the file is truncated inside record {len(records) + 1} (line {line}); its {len(records)} complete "
        "records were read",
    )
    return records


def frame_batches(df: pl.DataFrame, label: str = "row", offset: int = 0) -> Iterator[Batch]:
    """A frame's rows as records (nested columns become lists and dicts), a batch at a time; each is
    named `f"{label} {index + offset}"` (CSV rows by their line: label "line", offset 2)."""
    for start in range(0, df.height, ROWS_PER_BATCH):
        rows = df.slice(start, ROWS_PER_BATCH).to_dicts()
        yield [(f"{label} {start + k + offset}", r) for k, r in enumerate(rows)]
