"""CoverageExplorer driven through its traits (no browser)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import widgets
from workbench import charts
from workbench.checks.coverage import tail_audit


def _data(n_real=120, n_synth=100, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0, 0], [10, 0, 0, 0], [0, 10, 0, 0]])
    rc = rng.integers(0, 3, n_real)
    sc = rng.integers(0, 2, n_synth)  # the third group is never generated
    real = centres[rc] + rng.normal(size=(n_real, 4))
    synth = centres[sc] + rng.normal(size=(n_synth, 4))
    real_df = pl.DataFrame(
        {"id": [f"r{i}" for i in range(n_real)], "text": [f"real <b>{c}</b> #{i}" for i, c in enumerate(rc)]}
    )
    synth_df = pl.DataFrame({"id": [f"s{i}" for i in range(n_synth)], "text": [f"synthetic {c}" for c in sc]})
    return real_df, synth_df, real, synth, rc


@pytest.fixture(scope="module")
def explorer():
    widgets.setup()
    real_df, synth_df, real, synth, _ = _data()
    return widgets.CoverageExplorer(real_df, synth_df, real, synth, n_clusters=3)


def test_brush_on_the_chart_selects_rows(explorer):
    frame = explorer.frame
    x0, x1 = float(frame["x"].quantile(0.4)), float(frame["x"].max())
    explorer.chart._vl_selections = {"brush": {"value": {"x": [x1, x0], "y": [-1e9, 1e9]}, "store": []}}
    assert explorer.brush == {"x": [x1, x0], "y": [-1e9, 1e9]}
    expected = frame.filter(pl.col("x").is_between(x0, x1))["id"].to_list()
    assert sorted(explorer.selected_ids) == sorted(expected) and expected
    sel = explorer.selected
    assert isinstance(sel, pl.DataFrame) and set(sel["id"]) == set(expected)
    assert sel["status"].to_list()[0] == "real, uncovered" or "real, uncovered" not in sel["status"].to_list()
    assert f"{len(expected)} selected" in explorer.table.value
    explorer.chart._vl_selections = {"brush": {"value": {}, "store": []}}
    assert explorer.selected_ids == [] and "Nothing selected" in explorer.table.value


def test_click_on_a_cluster_selects_it(explorer):
    worst = explorer.audit.clusters.row(0, named=True)
    signal = {"vlPoint": {"or": [{"cluster": worst["cluster"]}]}}
    explorer.chart._vl_selections = {"pick": {"value": signal, "store": []}}
    assert explorer.picked_cluster == worst["cluster"]
    rows = explorer.selected
    assert rows.filter(pl.col("origin") == "real").height == worst["real_rows"]
    assert (rows["cluster"] == worst["cluster"]).all()
    assert f"({worst['uncovered_rows']} uncovered real)" in explorer.table.value
    explorer.picked_cluster = None
    assert explorer.selected_ids == []


def test_uncovered_group_is_the_worst_cluster(explorer):
    _, _, _, _, rc = _data()
    worst = explorer.audit.clusters.row(0, named=True)
    members = explorer.audit.real_rows.filter(pl.col("cluster") == worst["cluster"])
    idx = [int(i[1:]) for i in members["id"]]
    assert np.mean(rc[idx] == 2) > 0.9 and worst["coverage"] < 0.2


def test_texts_are_escaped(explorer):
    explorer.selected_ids = ["r0"]
    assert "<b>" not in explorer.table.value and "&lt;b&gt;" in explorer.table.value
    assert "<b>" not in explorer.fallback_html().split("</p>", 1)[1]
    explorer.selected_ids = []


def test_fallback_view_lists_clusters(explorer):
    html = explorer.fallback_html()
    assert "wb-clusters" in html and html.count("<tr>") == 1 + explorer.audit.clusters.height
    assert "Coverage" in html


def test_from_audit_and_large_data_are_sampled_and_say_so():
    real_df, synth_df, real, synth, _ = _data(n_real=30_000, n_synth=20_000, seed=1)
    audit = tail_audit(real, synth, real_df, synth_df, n_clusters=3)
    coords = np.vstack([real, synth])[:, :2]
    ex = widgets.CoverageExplorer.from_audit(audit, coords)
    spec = ex.chart.chart.to_dict()
    values = spec["datasets"][next(iter(spec["datasets"]))]
    assert len(values) == charts.MAX_POINTS
    assert "sample of 5,000 of 50,000 points" in spec["title"]
    # every uncovered real row that fits in half the budget is drawn
    n_unc = int((~audit.prdc.real_covered).sum())
    assert sum(v["status"] == "real, uncovered" for v in values) == min(n_unc, charts.MAX_POINTS // 2)
    # selections apply to all 50k rows, not only the drawn sample
    ex.brush = {"x": [-1e9, 1e9], "y": [-1e9, 1e9]}
    assert len(ex.selected_ids) == 50_000


def test_coords_must_match_rows():
    real_df, synth_df, real, synth, _ = _data()
    audit = tail_audit(real, synth, real_df, synth_df, n_clusters=3)
    from workbench.errors import InputError

    with pytest.raises(InputError, match="coords must have shape"):
        widgets.CoverageExplorer.from_audit(audit, np.zeros((5, 2)))


def test_coverage_charts_encode_status_and_gap():
    real_df, synth_df, real, synth, _ = _data()
    audit = tail_audit(real, synth, real_df, synth_df, n_clusters=3)
    frame = audit.map_frame(np.vstack([real, synth])[:, :2])
    spec = charts.coverage_map(frame).to_dict()
    assert spec["encoding"]["shape"]["field"] == "status"
    assert {p["name"] for p in spec["params"]} == {"brush", "pick"}
    rows = spec["datasets"][next(iter(spec["datasets"]))]
    assert len(rows) == frame.height and "sample" not in spec["title"]
    bars = charts.cluster_coverage(audit.clusters).to_dict()
    values = bars["datasets"][next(iter(bars["datasets"]))]
    worst = audit.clusters.row(0, named=True)
    assert values[0]["covered"] == pytest.approx(1 - worst["gap"]) and values[0]["covered"] < 0.2
    assert bars["title"] == "How well the worst 3 clusters are covered"
    after = charts.cluster_coverage(audit.clusters, top=2, title="After").to_dict()["title"]
    assert after == "After: how well the worst 2 clusters are covered"
    with pytest.raises(ValueError, match="coverage_map needs columns"):
        charts.coverage_map(frame.drop("status"))
