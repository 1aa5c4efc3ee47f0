"""Widgets driven through their traits, no browser."""

from __future__ import annotations

import numpy as np
import pytest

import widgets
from workbench import demo


@pytest.fixture(scope="module")
def emb_map():
    widgets.setup()
    df = demo.tour_dataset(seed=0, n_real=40, n_template=10, n_markov=10, n_vendor=4)
    coords = np.column_stack([np.arange(df.height, dtype=float), np.zeros(df.height)])
    return widgets.EmbeddingMap(df, coords)


def test_brush_selection_reaches_python(emb_map):
    emb_map.chart._vl_selections = {"brush": {"value": {"x": [10.0, 19.5], "y": [-1, 1]}, "store": []}}
    assert len(emb_map.selected_ids) == 10
    assert emb_map.selected["x"].to_list() == [float(i) for i in range(10, 20)]
    assert "10 selected" in emb_map.table.value
    emb_map.chart._vl_selections = {"brush": {"value": {}, "store": []}}
    assert emb_map.selected_ids == [] and "Nothing selected" in emb_map.table.value


def test_table_escapes_text(emb_map):
    import polars as pl

    from widgets.embedding_map import rows_table_html

    html = rows_table_html(pl.DataFrame({"origin": ["real"], "text": ["<img src=x onerror=alert(1)>"]}))
    assert "<img" not in html and "&lt;img" in html


def test_coords_must_match():
    df = demo.tour_dataset(seed=0, n_real=40, n_template=10, n_markov=10, n_vendor=4)
    with pytest.raises(ValueError, match="coords must have shape"):
        widgets.EmbeddingMap(df, np.zeros((3, 2)))


def test_setup_is_idempotent_and_offline():
    import altair as alt

    widgets.setup()
    widgets.setup()
    assert alt.renderers.active == "jupyter"
