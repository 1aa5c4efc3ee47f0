"""Loading and validating examples: `load(path_or_frame, **column_map)` and `validate(df)`.

One row per example, `text` and `origin` required, provenance columns optional (the schema and its
helpers live in `workbench.schema`, the importers for each file format in `workbench.formats`;
this module puts them together: data -> formats -> schema, every import pointing down).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from workbench.schema import (
    FORMATS,
    HELD_OUT_SPLITS,
    MAX_TEXT_CHARS,
    ORIGINS,
    REQUIRED,
    SCHEMA,
    SCHEMA_VERSION,
    TRAINING_SPLITS,
    apply_column_map,
    decode_text,
    guess_format,
    read_table,
    stable_id_series,
    stable_ids,
    text_hash,
    validate,
)

__all__ = [
    "FORMATS",
    "HELD_OUT_SPLITS",
    "MAX_TEXT_CHARS",
    "ORIGINS",
    "REQUIRED",
    "SCHEMA",
    "SCHEMA_VERSION",
    "TRAINING_SPLITS",
    "apply_column_map",
    "decode_text",
    "guess_format",
    "read_table",
    "stable_id_series",
    "stable_ids",
    "text_hash",
    "validate",
]


def load(
    source: str | Path | pl.DataFrame | Any,
    *,
    format: str | None = None,
    encoding: str = "utf-8",
    role: str = "assistant",
    defaults: Mapping[str, Any] | None = None,
    drop_empty: bool = False,
    max_chars: int | None = MAX_TEXT_CHARS,
    progress: bool | None = None,
    skip_bad: bool = False,
    **column_map: str,
) -> pl.DataFrame:
    """Load examples into the workbench schema and validate them.

    `source`: a path (CSV, TSV, Parquet, JSONL, JSON, a Hugging Face `save_to_disk` folder, an
    Argilla `to_disk` folder), a polars or pandas frame, or a `datasets.Dataset`/`DatasetDict`.
    Synthetic-data formats are recognised from their shape (`workbench.formats.FORMATS`: chat
    `messages` and ShareGPT `conversations`, Alpaca, prompt/completion, preference pairs,
    distilabel, Argilla, OpenAI batch output); `format=` overrides the guess. Chat data gives one
    row per turn of `role` (default the model's turns: `assistant`, ShareGPT `gpt`) with
    `conversation_id`, `turn`, the preceding user turn as `prompt` and the system prompt as `system`.
    `workbench.formats.read()` does the same and also returns the detected format and how each
    field was mapped.

    `column_map` renames source columns to schema names: `load("r.csv", text="review",
    label="score")`. `defaults` fills columns the source lacks with a constant, e.g.
    `defaults={"origin": "real"}`. `encoding` is the file's text encoding (`"latin-1"` for legacy
    files). `drop_empty` drops rows whose text is null or blank (with a warning) instead of refusing
    them. Texts longer than `max_chars` are truncated with a warning (`max_chars=None` keeps them
    whole). JSONL streams in chunks with a progress bar on stderr (`progress=None`: only for files
    over 64 MiB). `skip_bad=True` leaves out malformed records with one warning naming them,
    instead of refusing the file at the first.
    """
    from workbench import formats  # the importers sit on top of this module's helpers

    return formats.read(
        source,
        format=format,
        encoding=encoding,
        role=role,
        defaults=defaults,
        drop_empty=drop_empty,
        max_chars=max_chars,
        progress=progress,
        skip_bad=skip_bad,
        **column_map,
    ).frame
