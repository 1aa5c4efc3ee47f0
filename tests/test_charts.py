"""Charts return specs with the right encodings and data; large data is sampled and says so."""

from __future__ import annotations

import numpy as np
import polars as pl

from workbench import charts, demo


def _data(spec):
    return next(iter(spec["datasets"].values()))


def test_origin_mix_counts():
    df = demo.tour_dataset(seed=0, n_real=40, n_template=10, n_markov=10, n_vendor=4)
    spec = charts.origin_mix(df).to_dict()
    assert spec["mark"]["type"] == "bar" and spec["encoding"]["color"]["field"] == "origin"
    assert sum(r["rows"] for r in _data(spec)) == df.height


def test_provenance_chart_marks_missing():
    df = demo.tour_dataset(seed=0, n_real=40, n_template=10, n_markov=10, n_vendor=4)
    rows = _data(charts.provenance_chart(df).to_dict())
    assert any(r["generator"].startswith("(missing)") and r["rows"] == 4 for r in rows)


def test_embedding_map_samples_large_data():
    n = 12_000
    frame = pl.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "x": np.arange(n, dtype=float),
            "y": np.zeros(n),
            "origin": ["real"] * n,
            "text": ["t"] * n,
        }
    )
    spec = charts.embedding_map(frame).to_dict()
    assert len(_data(spec)) == charts.MAX_POINTS
    assert "sample of 5,000 of 12,000" in spec["title"]
    assert spec["params"][0]["name"] == "brush"


def test_audit_status_chart():
    table = pl.DataFrame(
        {
            "check": ["a", "b"],
            "failure_mode": ["provenance", "anchor"],
            "status": ["fail", "pass"],
            "score": [0.5, 0.0],
            "summary": ["x", "y"],
        }
    )
    spec = charts.audit_status(table).to_dict()
    assert spec["encoding"]["color"]["field"] == "status" and len(_data(spec)) == 2
