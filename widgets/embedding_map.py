"""`EmbeddingMap`: real vs synthetic in two dimensions; brush a region to read its examples."""

from __future__ import annotations

import html
from typing import Any

import altair as alt
import ipywidgets as ipw
import numpy as np
import polars as pl
import traitlets

from workbench import charts

TABLE_ROWS = 12


def rows_table_html(rows: pl.DataFrame, columns: tuple[str, ...] = ("origin", "text"), limit: int = TABLE_ROWS) -> str:
    """An HTML table of `rows` (escaped: data text is untrusted), at most `limit` rows."""
    cols = [c for c in columns if c in rows.columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in r) + "</tr>"
        for r in rows.select(cols).head(limit).iter_rows()
    )
    more = f"<p>... and {rows.height - limit} more</p>" if rows.height > limit else ""
    return (
        "<table class='wb-rows' style='border-collapse:collapse;font-size:12px'>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"
    )


class EmbeddingMap(ipw.HBox):
    """A scatter of `coords` (n x 2) coloured by `color`, beside a table of the brushed examples.

    `selected_ids` (a trait) holds the ids inside the brush; `selected` gives those rows as a polars
    frame to keep working with. Set `selected_ids` from Python to show any rows in the table.
    """

    selected_ids = traitlets.List(traitlets.Unicode()).tag(sync=False)

    def __init__(
        self, df: pl.DataFrame, coords: np.ndarray, *, color: str = "origin", title: str | None = None, **kwargs: Any
    ):
        coords = np.asarray(coords)
        if coords.shape != (df.height, 2):
            raise ValueError(f"coords must have shape ({df.height}, 2) to match the data; got {coords.shape}")
        self.frame = df.with_columns(x=pl.Series(coords[:, 0]), y=pl.Series(coords[:, 1]))
        chart = charts.embedding_map(
            self.frame,
            color=color,
            tooltip=tuple(c for c in ("origin", color, "text") if c in df.columns),
            **({"title": title} if title else {}),
        )
        self.chart = alt.JupyterChart(chart)
        self.table = ipw.HTML(self._table_html())
        self.chart.selections.observe(self._on_selection, ["brush"])
        super().__init__(
            [self.chart, ipw.VBox([ipw.HTML("<b>Brush the map to read examples</b>"), self.table])], **kwargs
        )
        self.add_class("wb-embedding-map")

    def _on_selection(self, change: dict[str, Any]) -> None:
        value = change["new"].value or {}
        if not value:
            self.selected_ids = []
            return
        mask = pl.lit(True)
        for field, bounds in value.items():
            if field in ("x", "y") and len(bounds) == 2:
                lo, hi = sorted(bounds)
                mask = mask & pl.col(field).is_between(lo, hi)
        self.selected_ids = self.frame.filter(mask)["id"].to_list()

    @traitlets.observe("selected_ids")
    def _update_table(self, _change: dict[str, Any]) -> None:
        self.table.value = self._table_html()

    @property
    def selected(self) -> pl.DataFrame:
        """The brushed rows (all columns of the data plus x, y)."""
        return self.frame.filter(pl.col("id").is_in(self.selected_ids))

    def _table_html(self) -> str:
        if not self.selected_ids:
            return "<p><i>Nothing selected.</i></p>"
        rows = self.selected
        return f"<p>{rows.height} selected</p>" + rows_table_html(rows)
