"""Provenance: manifests with content hashes, and frozen anchor sets whose change is detected.

A manifest is a deterministic summary of a data set: schema version, row count, counts by origin,
source, generator, generator version and split, a sha256 per row and one for the whole set. The
same data gives the same manifest, byte for byte, whatever its row order.

An anchor set is a frozen sample of real data that every synthetic generation is compared with.
`freeze_anchor(df, dir)` writes it with its manifest; `load_anchor(dir)` refuses it when any row
was added, removed or edited since, naming those rows.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from workbench.data import SCHEMA_VERSION, validate
from workbench.errors import AnchorChangedError, InputError

MANIFEST_FILE = "manifest.json"
DATA_FILE = "anchor.parquet"
COUNT_COLUMNS = ("origin", "source", "generator", "generator_version", "split", "label_source")


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def row_hashes(df: pl.DataFrame) -> pl.Series:
    """sha256 of each row's canonical JSON (all columns, sorted by name; nulls kept). Hex strings."""
    cols = sorted(df.columns)
    out = []
    for row in df.select(cols).iter_rows():
        payload = json.dumps([_canonical(v) for v in row], ensure_ascii=False, separators=(",", ":"))
        out.append(hashlib.sha256((json.dumps(cols) + payload).encode("utf-8", "surrogatepass")).hexdigest())
    return pl.Series("row_sha256", out, dtype=pl.String)


def set_hash(ids: list[str], hashes: list[str]) -> str:
    """sha256 over the (id, row hash) pairs sorted by id: independent of row order."""
    h = hashlib.sha256()
    for i, rh in sorted(zip(ids, hashes)):
        h.update(f"{i}\t{rh}\n".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def manifest(df: pl.DataFrame) -> dict[str, Any]:
    """A deterministic summary of `df` (validated first): counts by provenance column, per-row and set sha256."""
    df = validate(df)
    hashes = row_hashes(df).to_list()
    ids = df["id"].to_list()
    counts: dict[str, dict[str, int]] = {}
    for col in COUNT_COLUMNS:
        if col in df.columns:
            vc = df[col].fill_null("(missing)").value_counts()
            counts[col] = {str(k): int(v) for k, v in sorted(vc.iter_rows(), key=lambda kv: str(kv[0]))}
    return {
        "schema_version": SCHEMA_VERSION,
        "n_rows": df.height,
        "columns": sorted(df.columns),
        "counts": counts,
        "set_sha256": set_hash(ids, hashes),
        "rows": dict(sorted(zip(ids, hashes))),
    }


def provenance_table(df: pl.DataFrame) -> pl.DataFrame:
    """Rows grouped by where they came from: origin, source, generator, version, prompt, split; with counts."""
    df = validate(df)
    keys = [c for c in ("origin", "source", "generator", "generator_version", "prompt_id", "split") if c in df.columns]
    return (
        df.group_by(keys)
        .agg(pl.len().alias("rows"))
        .with_columns((pl.col("rows") / df.height).round(4).alias("share"))
        .sort(["rows", *keys], descending=[True] + [False] * len(keys), nulls_last=True)
    )


@dataclass
class AnchorDiff:
    """Rows added to, removed from or edited in an anchor set since it was frozen."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.edited)

    def describe(self, limit: int = 5) -> str:
        parts = []
        for name, ids in (("added", self.added), ("removed", self.removed), ("edited", self.edited)):
            if ids:
                shown = ", ".join(ids[:limit]) + (f", ... {len(ids) - limit} more" if len(ids) > limit else "")
                parts.append(f"{len(ids)} {name} ({shown})")
        return "; ".join(parts) if parts else "no change"


def diff_against_manifest(df: pl.DataFrame, frozen: dict[str, Any]) -> AnchorDiff:
    """Compare `df` with a manifest's per-row hashes."""
    now = dict(zip(df["id"].to_list(), row_hashes(df).to_list()))
    then: dict[str, str] = frozen.get("rows", {})
    return AnchorDiff(
        added=sorted(set(now) - set(then)),
        removed=sorted(set(then) - set(now)),
        edited=sorted(i for i in set(now) & set(then) if now[i] != then[i]),
    )


@dataclass
class AnchorSet:
    """A frozen set of real examples. `df` is the data; `manifest` what was frozen; `path` where."""

    df: pl.DataFrame
    manifest: dict[str, Any]
    path: Path | None = None

    def diff(self) -> AnchorDiff:
        """What changed in `df` since the freeze (empty when intact)."""
        return diff_against_manifest(self.df, self.manifest)

    def verify(self) -> None:
        """Raise `AnchorChangedError` naming the changed rows if the set no longer matches its manifest."""
        d = self.diff()
        if d.changed:
            where = f" at {self.path}" if self.path else ""
            raise AnchorChangedError(
                f"the anchor set{where} changed since it was frozen: {d.describe()}. An anchor set must not "
                "change: restore it from version control, or freeze a new one deliberately with "
                "freeze_anchor(df, dir, overwrite=True) and say so in your results.",
                added=d.added,
                removed=d.removed,
                edited=d.edited,
            )

    def __len__(self) -> int:
        return self.df.height


def freeze_anchor(df: pl.DataFrame, directory: str | Path, *, note: str = "", overwrite: bool = False) -> AnchorSet:
    """Freeze `df` as an anchor set in `directory` (anchor.parquet + manifest.json).

    Anchor rows should be real (origin == 'real'); synthetic rows are refused. Refuses to replace an
    existing, different anchor set unless `overwrite=True`.
    """
    df = validate(df)
    if df.height == 0:
        raise InputError("cannot freeze an empty anchor set; pass the real examples to keep fixed.")
    synthetic = df.filter(pl.col("origin") != "real")
    if synthetic.height:
        raise InputError(
            f"an anchor set holds real data only; {synthetic.height} row(s) are synthetic "
            f"(e.g. {synthetic['id'].head(3).to_list()}). Filter: df.filter(pl.col('origin') == 'real')."
        )
    dup = df["id"].filter(df["id"].is_duplicated()).unique().sort().to_list()
    if dup:
        raise InputError(f"anchor ids must be unique; duplicated: {dup[:5]}. Drop the id column to use content hashes.")
    directory = Path(directory)
    m = manifest(df)
    existing = directory / MANIFEST_FILE
    if existing.exists() and not overwrite:
        old = json.loads(existing.read_text("utf-8"))
        if old.get("set_sha256") != m["set_sha256"]:
            raise InputError(
                f"{directory} already holds a different anchor set (frozen {old.get('frozen_at', '?')}). "
                "Use another directory, or overwrite=True to replace it deliberately."
            )
        return load_anchor(directory)
    directory.mkdir(parents=True, exist_ok=True)
    m = {**m, "frozen_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "note": note}
    data_tmp = directory / (DATA_FILE + ".tmp")
    df.sort("id").write_parquet(data_tmp)
    data_tmp.replace(directory / DATA_FILE)
    man_tmp = directory / (MANIFEST_FILE + ".tmp")
    man_tmp.write_text(json.dumps(m, indent=1, sort_keys=True, ensure_ascii=False), "utf-8")
    man_tmp.replace(existing)
    return AnchorSet(df=df.sort("id"), manifest=m, path=directory)


def load_anchor(directory: str | Path, *, verify: bool = True) -> AnchorSet:
    """Load an anchor set; with `verify` (default) raise `AnchorChangedError` if it changed since freezing."""
    directory = Path(directory)
    man_path, data_path = directory / MANIFEST_FILE, directory / DATA_FILE
    if not man_path.exists() or not data_path.exists():
        raise InputError(
            f"{directory} is not an anchor set (needs {MANIFEST_FILE} and {DATA_FILE}); create one with "
            "freeze_anchor(df, directory)."
        )
    try:
        m = json.loads(man_path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{man_path} is unreadable ({exc}); restore it from version control.") from None
    if m.get("schema_version") != SCHEMA_VERSION:
        raise InputError(
            f"{man_path} has schema version {m.get('schema_version')}; this workbench reads {SCHEMA_VERSION}."
        )
    try:
        df = pl.read_parquet(data_path)
    except Exception as exc:
        raise InputError(
            f"{data_path} is unreadable ({str(exc).splitlines()[0]}); restore it from version control."
        ) from None
    anchor = AnchorSet(df=df, manifest=m, path=directory)
    if verify:
        anchor.verify()
    return anchor
