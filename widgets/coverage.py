"""`CoverageExplorer`: where the synthetic data does not cover the real data, and what is there.

A scatter of real and synthetic rows in 2-D (real coloured by cluster, uncovered real rows as
large crosses) beside a table of the selected examples, and the tail-audit table below. Brush a
region or click a cluster: the rows come back to Python as a polars frame (`selected`).
"""

from __future__ import annotations

import html
from typing import Any

import altair as alt
import ipywidgets as ipw
import numpy as np
import polars as pl
import traitlets

from widgets.embedding_map import rows_table_html
from workbench import charts
from workbench.checks.coverage import TailAudit, tail_audit
from workbench.projection import project

TABLE_COLUMNS = ("status", "cluster", "text")


def clusters_table_html(clusters: pl.DataFrame, limit: int = 10) -> str:
    """The ranked cluster table as static HTML (the plain fallback view; every text escaped)."""
    head = "".join(
        f"<th>{h}</th>" for h in ("rank", "cluster", "real share", "coverage", "density", "uncovered", "top terms")
    )
    body = "".join(
        "<tr>"
        f"<td>{r['rank']}</td><td>{r['cluster']}</td><td>{r['real_share']:.1%}</td>"
        f"<td>{r['coverage']:.0%}</td><td>{r['density']:.2f}</td><td>{r['uncovered_rows']}</td>"
        f"<td>{html.escape(r['top_terms'] or '')}</td>"
        "</tr>"
        for r in clusters.head(limit).iter_rows(named=True)
    )
    return (
        "<table class='wb-clusters' style='border-collapse:collapse;font-size:12px'>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


class CoverageExplorer(ipw.VBox):
    """Explore a `TailAudit` (or compute one) on a 2-D projection.

    `CoverageExplorer(real_df, synthetic_df, real_embeddings, synthetic_embeddings)` runs
    `tail_audit` and `project`; `CoverageExplorer.from_audit(audit, coords)` reuses both.
    Traits: `brush` ({'x': [lo, hi], 'y': [lo, hi]} or {}), `picked_cluster` (a cluster number or
    None), `selected_ids` (what the table shows). `selected` is the selected rows as a polars frame.
    Over `charts.MAX_POINTS` points the chart shows a sample (uncovered real rows first) and says
    so in its title; selections always apply to every row.
    """

    brush = traitlets.Dict().tag(sync=False)
    picked_cluster = traitlets.Int(allow_none=True, default_value=None).tag(sync=False)
    selected_ids = traitlets.List(traitlets.Unicode()).tag(sync=False)

    def __init__(
        self,
        real: pl.DataFrame,
        synthetic: pl.DataFrame,
        real_embeddings: np.ndarray,
        synthetic_embeddings: np.ndarray,
        *,
        k: int = 5,
        n_clusters: int | None = None,
        method: str = "pca",
        seed: int = 0,
        audit: TailAudit | None = None,
        coords: np.ndarray | None = None,
        **kwargs: Any,
    ):
        if audit is None:
            audit = tail_audit(
                real_embeddings, synthetic_embeddings, real, synthetic, k=k, n_clusters=n_clusters, seed=seed
            )
        if coords is None:
            coords = project(np.vstack([real_embeddings, synthetic_embeddings]), method, seed=seed)
        self.audit = audit
        self.frame = audit.map_frame(coords)
        self.chart = alt.JupyterChart(charts.coverage_map(self.frame, seed=seed))
        self.table = ipw.HTML(self._table_html())
        self.clusters = ipw.HTML(clusters_table_html(audit.clusters))
        self.chart.selections.observe(self._on_brush, ["brush"])
        self.chart.selections.observe(self._on_pick, ["pick"])
        res = audit.prdc
        header = ipw.HTML(
            f"<b>Coverage {res.coverage:.1%}</b> (same-distribution data: about {res.expected_coverage:.1%}); "
            f"precision {res.precision:.2f}, recall {res.recall:.2f}, density {res.density:.2f}. "
            "Brush a region or click a cluster to read its examples."
        )
        side = ipw.VBox([ipw.HTML("<b>Selected examples</b>"), self.table], layout=ipw.Layout(width="45%"))
        super().__init__(
            [header, ipw.HBox([self.chart, side]), ipw.HTML("<b>Clusters, worst covered first</b>"), self.clusters],
            **kwargs,
        )
        self.add_class("wb-coverage-explorer")

    @classmethod
    def from_audit(cls, audit: TailAudit, coords: np.ndarray, **kwargs: Any) -> CoverageExplorer:
        """An explorer on an existing tail audit and 2-D coordinates (real rows, then synthetic)."""
        empty = np.zeros((0, 1))
        return cls(audit.real_rows, audit.synthetic_rows, empty, empty, audit=audit, coords=coords, **kwargs)

    # chart -> traits
    def _on_brush(self, change: dict[str, Any]) -> None:
        value = change["new"].value or {}
        self.brush = {k: list(v) for k, v in value.items() if k in ("x", "y")}

    def _on_pick(self, change: dict[str, Any]) -> None:
        value = change["new"].value or []
        clusters = [v.get("cluster") for v in value if isinstance(v, dict) and v.get("cluster") is not None]
        self.picked_cluster = int(clusters[0]) if clusters else None

    # traits -> selection
    @traitlets.observe("brush")
    def _brushed(self, change: dict[str, Any]) -> None:
        box = change["new"]
        if not box:
            self.selected_ids = []
            return
        mask = pl.lit(True)
        for field, bounds in box.items():
            if len(bounds) == 2:
                lo, hi = sorted(bounds)
                mask = mask & pl.col(field).is_between(lo, hi)
        self.selected_ids = self.frame.filter(mask)["id"].to_list()

    @traitlets.observe("picked_cluster")
    def _picked(self, change: dict[str, Any]) -> None:
        c = change["new"]
        self.selected_ids = [] if c is None else self.frame.filter(pl.col("cluster") == c)["id"].to_list()

    @traitlets.observe("selected_ids")
    def _update_table(self, _change: dict[str, Any]) -> None:
        self.table.value = self._table_html()

    @property
    def selected(self) -> pl.DataFrame:
        """The selected rows: id, text, origin, cluster, status, x, y (uncovered real rows first)."""
        order = {s: i for i, s in enumerate(charts.COVERAGE_STATUS)}
        rows = self.frame.filter(pl.col("id").is_in(self.selected_ids))
        return rows.sort(pl.col("status").replace_strict(order, return_dtype=pl.Int64), "cluster", maintain_order=True)

    def _table_html(self) -> str:
        if not self.selected_ids:
            return "<p><i>Nothing selected.</i></p>"
        rows = self.selected
        n_unc = int((rows["status"] == charts.COVERAGE_STATUS[0]).sum())
        return f"<p>{rows.height} selected ({n_unc} uncovered real)</p>" + rows_table_html(rows, TABLE_COLUMNS)

    def fallback_html(self) -> str:
        """A static view (no JavaScript): headline numbers and the ranked cluster table."""
        res = self.audit.prdc
        return (
            f"<p>Coverage {res.coverage:.1%} (expected about {res.expected_coverage:.1%}), "
            f"precision {res.precision:.2f}, density {res.density:.2f}.</p>" + clusters_table_html(self.audit.clusters)
        )
