"""Hugging Face `datasets`: `Dataset`/`DatasetDict` objects and `save_to_disk` folders.

`datasets` is imported only when given one of its objects (the caller already imported it) or a
`save_to_disk` folder; `import workbench` never imports it. A `DatasetDict`'s split names become
the `split` column (a row's own `split` is kept as `original_split`). Rows are read as Arrow,
either straight into a frame (plain tables) or in batches as records for a record format.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from workbench.errors import InputError
from workbench.formats._reader import ROWS_PER_BATCH, Batch

DATASET_CLASSES = ("Dataset", "DatasetDict", "IterableDataset", "IterableDatasetDict")


def is_dataset(obj: Any) -> bool:
    """A `datasets` object, recognised without importing `datasets`."""
    cls = type(obj)
    return cls.__module__.split(".")[0] == "datasets" and cls.__name__ in DATASET_CLASSES


def is_save_to_disk_folder(path: Path) -> bool:
    return (path / "dataset_dict.json").is_file() or (
        (path / "state.json").is_file() and (path / "dataset_info.json").is_file()
    )


def load_from_disk(path: Path) -> Any:
    try:
        import datasets
    except ImportError:
        raise InputError(
            f"{path} is a Hugging Face save_to_disk folder; reading it needs the datasets package: pip install datasets"
        ) from None
    try:
        return datasets.load_from_disk(str(path))
    except Exception as exc:  # its own error, in one line with the folder named
        raise InputError(f"could not read {path} with datasets.load_from_disk: {str(exc).splitlines()[0]}") from None


def splits(obj: Any) -> list[tuple[str | None, Any]]:
    """(split name, dataset) pairs: the splits of a DatasetDict, or the one dataset."""
    if type(obj).__name__.endswith("Dict"):
        return [(str(name), ds) for name, ds in obj.items()]
    return [(None, obj)]


def describe(obj: Any, folder: Path | None = None) -> str:
    parts = splits(obj)
    kind = type(obj).__name__
    names = f" ({', '.join(str(s) for s, _ in parts)})" if parts[0][0] is not None else ""
    return f"hf {kind}{names}" + (" from a save_to_disk folder" if folder else "")


def first_record(obj: Any) -> dict[str, Any] | None:
    for _, ds in splits(obj):
        if type(ds).__name__.startswith("Iterable"):
            return next(iter(ds), None)
        if len(ds):
            return dict(ds[0])
    return None


def _with_split(rec: dict[str, Any], split: str | None) -> dict[str, Any]:
    if split is not None:
        if "split" in rec:
            rec["original_split"] = rec.pop("split")
        rec["split"] = split
    return rec


def batches(obj: Any) -> Iterator[Batch]:
    """Every row of every split as records, `ROWS_PER_BATCH` at a time (Arrow slices, then Python)."""
    for split, ds in splits(obj):
        where = "row {i}" + (f" of split {split}" if split is not None else "")
        if type(ds).__name__.startswith("Iterable"):
            batch: Batch = []
            for i, rec in enumerate(ds):
                batch.append((where.format(i=i), _with_split(dict(rec), split)))
                if len(batch) == ROWS_PER_BATCH:
                    yield batch
                    batch = []
            if batch:
                yield batch
            continue
        arrow = ds.with_format("arrow")
        for start in range(0, len(ds), ROWS_PER_BATCH):
            rows = arrow[start : start + ROWS_PER_BATCH].to_pylist()
            yield [(where.format(i=start + k), _with_split(r, split)) for k, r in enumerate(rows)]


def frame(obj: Any) -> pl.DataFrame:
    """A plain table's splits as one frame (Arrow to polars without Python objects)."""
    frames = []
    for split, ds in splits(obj):
        if type(ds).__name__.startswith("Iterable"):
            df = pl.DataFrame([r for _, r in (pair for b in batches(ds) for pair in b)])
        else:
            df = pl.from_arrow(ds.with_format("arrow")[:])  # type: ignore[assignment]
        assert isinstance(df, pl.DataFrame)
        if split is not None:
            if "split" in df.columns:
                df = df.rename({"split": "original_split"})
            df = df.with_columns(pl.lit(split).alias("split"))
        frames.append(df)
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
