"""Manifests are deterministic; anchor sets refuse any change and name the rows."""

from __future__ import annotations

import json

import polars as pl
import pytest

from workbench.errors import AnchorChangedError, InputError
from workbench.provenance import freeze_anchor, load_anchor, manifest, provenance_table


def test_manifest_is_deterministic_and_order_free(small_df):
    m1 = manifest(small_df)
    m2 = manifest(small_df.reverse())
    assert json.dumps(m1, sort_keys=True) == json.dumps(m2, sort_keys=True)
    assert m1["counts"]["origin"] == {"real": 2, "synthetic": 2}
    assert m1["counts"]["generator"] == {"(missing)": 2, "template": 2}
    assert len(m1["rows"]) == 4 and all(len(h) == 64 for h in m1["rows"].values())
    assert m1["schema_version"] == 1


def test_manifest_changes_with_any_cell(small_df):
    edited = small_df.with_columns(
        pl.when(pl.col("label") == "fresh").then(pl.lit("rotten")).otherwise(pl.col("label")).alias("label")
    )
    assert manifest(edited)["set_sha256"] != manifest(small_df)["set_sha256"]


def test_provenance_table_counts(small_df):
    t = provenance_table(small_df)
    assert t["rows"].sum() == 4 and abs(t["share"].sum() - 1) < 1e-9


def test_freeze_and_load_roundtrip(tmp_path, small_df):
    real = small_df.filter(pl.col("origin") == "real")
    a = freeze_anchor(real, tmp_path / "a")
    b = load_anchor(tmp_path / "a")
    assert b.manifest["set_sha256"] == a.manifest["set_sha256"]
    assert sorted(b.df["id"].to_list()) == sorted(real["id"].to_list())
    # freezing the same data again is a no-op; different data refuses
    freeze_anchor(real, tmp_path / "a")
    with pytest.raises(InputError, match="already holds a different anchor set"):
        freeze_anchor(real.head(1), tmp_path / "a")
    freeze_anchor(real.head(1), tmp_path / "a", overwrite=True)
    assert len(load_anchor(tmp_path / "a")) == 1


def test_tampering_is_named(tmp_path, small_df):
    real = small_df.filter(pl.col("origin") == "real")
    freeze_anchor(real, tmp_path / "a")
    path = tmp_path / "a" / "anchor.parquet"
    df = pl.read_parquet(path)
    first, second = df["id"][0], df["id"][1]
    extra = df.head(1).with_columns(id=pl.lit("new-row"), text=pl.lit("added later"))
    tampered = pl.concat([df.filter(pl.col("id") != second), extra]).with_columns(
        pl.when(pl.col("id") == first).then(pl.lit("edited text")).otherwise(pl.col("text")).alias("text")
    )
    tampered.write_parquet(path)
    with pytest.raises(AnchorChangedError) as err:
        load_anchor(tmp_path / "a")
    assert err.value.added == ["new-row"] and err.value.removed == [second] and err.value.edited == [first]
    assert "1 added (new-row)" in str(err.value) and "1 edited" in str(err.value)
    assert load_anchor(tmp_path / "a", verify=False).diff().changed


def test_anchor_refuses_synthetic_and_empty(tmp_path, small_df):
    with pytest.raises(InputError, match="real data only; 2 row"):
        freeze_anchor(small_df, tmp_path / "x")
    with pytest.raises(InputError, match="empty anchor"):
        freeze_anchor(small_df.head(0), tmp_path / "x")


def test_load_anchor_bad_directory(tmp_path):
    with pytest.raises(InputError, match="is not an anchor set"):
        load_anchor(tmp_path)
    (tmp_path / "manifest.json").write_text("{broken", "utf-8")
    (tmp_path / "anchor.parquet").write_bytes(b"x")
    with pytest.raises(InputError, match="unreadable"):
        load_anchor(tmp_path)
