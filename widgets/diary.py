"""`DiaryView`: browse the failure diary, add an entry from a selected row, compare two model runs."""

from __future__ import annotations

import html
from typing import Any

import altair as alt
import ipywidgets as ipw
import polars as pl
import traitlets

from workbench import charts
from workbench.diary import SEVERITIES, Diary, DiaryComparison

TABLE_ROWS = 25
TEXT_CHARS = 240


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    text = str(value)
    if len(text) > TEXT_CHARS:
        text = text[: TEXT_CHARS - 1] + "…"
    return html.escape(text)


def table_html(rows: pl.DataFrame, columns: tuple[str, ...], *, css: str, limit: int = TABLE_ROWS) -> str:
    """A static HTML table of `rows` (every value escaped: diary inputs are untrusted text)."""
    cols = [c for c in columns if c in rows.columns]
    if rows.height == 0:
        return f"<p class='{css}-empty'><i>No entries.</i></p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in r) + "</tr>" for r in rows.select(cols).head(limit).iter_rows()
    )
    more = f"<p>... and {rows.height - limit} more</p>" if rows.height > limit else ""
    return (
        f"<table class='{css}' style='border-collapse:collapse;font-size:12px'>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"
    )


class DiaryView(ipw.VBox):
    """The failure diary in a notebook.

    Browse: filter the entries by `severity` (a list), `tag` and `search` (traits or the controls);
    `entry_ids` holds what is shown. Add: pass `rows` (any frame with `text`, e.g. an evidence
    table), pick one with `selected_index`, give its `expected` output (and `severity`, `note`),
    then press the button or call `add_selected()`; `last_added` holds the new entry's id. Compare:
    set `run_a` and `run_b` to two evaluated runs; `verdict` says what changed and the chart shows
    the fixed and broken entries (a table of them is the plain fallback).
    """

    severity = traitlets.List(traitlets.Unicode()).tag(sync=False)
    tag = traitlets.Unicode("").tag(sync=False)
    search = traitlets.Unicode("").tag(sync=False)
    entry_ids = traitlets.List(traitlets.Unicode()).tag(sync=False)
    selected_index = traitlets.Int(-1).tag(sync=False)
    expected = traitlets.Unicode("").tag(sync=False)
    new_severity = traitlets.Unicode("high").tag(sync=False)
    note = traitlets.Unicode("").tag(sync=False)
    last_added = traitlets.Unicode("").tag(sync=False)
    message = traitlets.Unicode("").tag(sync=False)
    run_a = traitlets.Unicode("").tag(sync=False)
    run_b = traitlets.Unicode("").tag(sync=False)
    verdict = traitlets.Unicode("").tag(sync=False)

    def __init__(
        self,
        diary: Diary,
        rows: pl.DataFrame | None = None,
        *,
        found_in: str = "notebook",
        observed_column: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.diary = diary
        if rows is not None and "text" not in rows.columns:
            raise ValueError(f"DiaryView rows need a 'text' column; found {rows.columns}")
        self.rows = rows
        self.found_in = found_in
        self.observed_column = observed_column
        self.comparison: DiaryComparison | None = None
        # browse
        self.severity_box = ipw.SelectMultiple(options=list(SEVERITIES), rows=4, description="severity")
        self.tag_box = ipw.Text(description="tag", placeholder="e.g. negation")
        self.search_box = ipw.Text(description="search", placeholder="text in input or note")
        traitlets.link((self.tag_box, "value"), (self, "tag"))
        traitlets.link((self.search_box, "value"), (self, "search"))
        self.severity_box.observe(lambda c: setattr(self, "severity", list(c["new"])), "value")
        self.entries_view = ipw.HTML()
        # add from a selected row
        self.row_picker = ipw.Dropdown(description="row", options=self._row_options(), value=None)
        self.row_picker.observe(
            lambda c: setattr(self, "selected_index", -1 if c["new"] is None else c["new"]), "value"
        )
        self.row_view = ipw.HTML()
        self.expected_box = ipw.Text(description="expected", placeholder="the right output")
        self.new_severity_box = ipw.Dropdown(options=list(SEVERITIES), value="high", description="severity")
        self.note_box = ipw.Text(description="note", placeholder="why it matters")
        traitlets.link((self.expected_box, "value"), (self, "expected"))
        traitlets.link((self.new_severity_box, "value"), (self, "new_severity"))
        traitlets.link((self.note_box, "value"), (self, "note"))
        self.add_button = ipw.Button(description="Add to diary", button_style="warning", icon="plus")
        self.add_button.on_click(lambda _b: self.add_selected())
        self.message_view = ipw.HTML()
        # compare
        runs = self._runs()
        self.run_a_box = ipw.Dropdown(options=runs, description="run a", value=None)
        self.run_b_box = ipw.Dropdown(options=runs, description="run b", value=None)
        self.run_a_box.observe(lambda c: setattr(self, "run_a", c["new"] or ""), "value")
        self.run_b_box.observe(lambda c: setattr(self, "run_b", c["new"] or ""), "value")
        self.verdict_view = ipw.HTML()
        self.changes_view = ipw.HTML()
        self.chart = alt.JupyterChart(self._placeholder_chart())
        add_children: list[ipw.Widget] = (
            [self.row_picker, self.row_view, ipw.HBox([self.expected_box, self.new_severity_box]), self.note_box]
            if rows is not None
            else [ipw.HTML("<i>Pass rows= (e.g. an evidence table) to add entries from them.</i>")]
        )
        tabs = ipw.Tab(
            children=[
                ipw.VBox([ipw.HBox([self.severity_box, ipw.VBox([self.tag_box, self.search_box])]), self.entries_view]),
                ipw.VBox([*add_children, ipw.HBox([self.add_button, self.message_view])]),
                ipw.VBox(
                    [ipw.HBox([self.run_a_box, self.run_b_box]), self.verdict_view, self.chart, self.changes_view]
                ),
            ]
        )
        for i, title in enumerate(("Entries", "Add from a row", "Compare runs")):
            tabs.set_title(i, title)
        self.tabs = tabs
        super().__init__(
            [ipw.HTML(f"<b>Failure diary</b> <code>{html.escape(str(diary.path))}</code>"), tabs], **kwargs
        )
        self.add_class("wb-diary-view")
        self._show_entries()
        self._show_row()
        if len(runs) >= 2:
            self.run_a, self.run_b = runs[-2], runs[-1]
        else:
            self._show_comparison()

    # -- helpers ------------------------------------------------------------------------------

    def _runs(self) -> list[str]:
        return self.diary.runs()["run"].to_list()

    def _row_options(self) -> list[tuple[str, int]]:
        if self.rows is None:
            return []
        texts = self.rows["text"].head(500).to_list()
        return [(f"{i}: {(t or '')[:70]}", i) for i, t in enumerate(texts)]

    @staticmethod
    def _placeholder_chart() -> alt.Chart:
        return (
            alt.Chart(pl.DataFrame({"note": ["pick two runs to compare"]}), title="Diary: compare two runs")
            .mark_text(size=13)
            .encode(text="note:N")
        )

    def refresh(self) -> None:
        """Reload entries and runs from the diary (after recording or evaluating elsewhere)."""
        runs = self._runs()
        self.run_a_box.options = runs
        self.run_b_box.options = runs
        if self.run_a in runs:
            self.run_a_box.value = self.run_a
        if self.run_b in runs:
            self.run_b_box.value = self.run_b
        self._show_entries()
        self._show_comparison()

    @property
    def entries(self) -> pl.DataFrame:
        """The diary entries the current filters show."""
        return self.diary.entries(
            severity=self.severity or None,
            tags=[self.tag.strip()] if self.tag.strip() else None,
            search=self.search or None,
        )

    @property
    def selected_row(self) -> dict[str, Any] | None:
        if self.rows is None or not 0 <= self.selected_index < self.rows.height:
            return None
        return self.rows.row(self.selected_index, named=True)

    # -- browse -------------------------------------------------------------------------------

    @traitlets.observe("severity", "tag", "search")
    def _on_filter(self, _change: dict[str, Any]) -> None:
        if list(self.severity_box.value) != list(self.severity):
            self.severity_box.value = tuple(s for s in self.severity if s in SEVERITIES)
        self._show_entries()

    def _show_entries(self) -> None:
        if not hasattr(self, "entries_view"):
            return
        shown = self.entries
        self.entry_ids = shown["entry_id"].to_list()
        self.entries_view.value = f"<p>{shown.height} entr{'y' if shown.height == 1 else 'ies'}</p>" + table_html(
            shown,
            ("entry_id", "severity", "input", "expected", "observed", "tags", "found_in", "note", "version"),
            css="wb-diary-entries",
        )

    # -- add ----------------------------------------------------------------------------------

    @traitlets.observe("selected_index")
    def _on_select(self, change: dict[str, Any]) -> None:
        if self.row_picker.value != (None if change["new"] < 0 else change["new"]):
            self.row_picker.value = None if change["new"] < 0 else change["new"]
        row = self.selected_row
        if row is not None and not self.expected:
            for col in ("reference_label", "label"):
                if row.get(col) is not None:
                    self.expected = str(row[col])
                    break
        self._show_row()

    def _show_row(self) -> None:
        if not hasattr(self, "row_view"):
            return
        row = self.selected_row
        if row is None:
            self.row_view.value = "<p><i>Pick a row to add it to the diary.</i></p>"
            return
        self.row_view.value = table_html(pl.DataFrame([row]), tuple(row), css="wb-diary-row", limit=1)

    def add_selected(self) -> str:
        """Record the selected row as a diary entry (its text as the exact input); returns the entry id."""
        row = self.selected_row
        if row is None:
            self.message = "Pick a row first."
        elif not self.expected.strip():
            self.message = "Give the expected (right) output first."
        else:
            observed = row.get(self.observed_column) if self.observed_column else None
            entry = self.diary.record(
                row["text"],
                self.expected,
                observed=None if observed is None else str(observed),
                severity=self.new_severity,
                note=self.note,
                found_in=self.found_in,
                source_id=None if row.get("id") is None else str(row["id"]),
                provenance={"row": {k: v for k, v in row.items() if k != "text" and not isinstance(v, (list, dict))}},
            )
            self.last_added = entry
            self.message = f"Recorded {entry}."
            self.expected = ""
            self._show_entries()
            return entry
        return ""

    @traitlets.observe("message")
    def _on_message(self, change: dict[str, Any]) -> None:
        self.message_view.value = f"<span class='wb-diary-message'>{html.escape(change['new'])}</span>"

    # -- compare ------------------------------------------------------------------------------

    @traitlets.observe("run_a", "run_b")
    def _on_runs(self, _change: dict[str, Any]) -> None:
        for box, value in ((self.run_a_box, self.run_a), (self.run_b_box, self.run_b)):
            if value and value in box.options and box.value != value:
                box.value = value
        self._show_comparison()

    def _show_comparison(self) -> None:
        if not (self.run_a and self.run_b):
            self.comparison = None
            self.verdict = ""
            self.verdict_view.value = "<p><i>Pick two evaluated runs (Diary.evaluate) to compare.</i></p>"
            self.changes_view.value = ""
            return
        self.comparison = self.diary.compare(self.run_a, self.run_b)
        cmp = self.comparison
        self.verdict = cmp.verdict
        color = "#cf222e" if cmp.diary_worse else ("#9a6700" if cmp.n_broken else "#1a7f37")
        self.verdict_view.value = (
            f"<p class='wb-diary-verdict' style='border-left:4px solid {color};padding-left:8px'>"
            f"{html.escape(cmp.verdict)}</p>"
        )
        self.chart.chart = charts.diary_comparison(cmp)
        moved = cmp.table.filter(pl.col("change").is_in(["broken", "fixed"]))
        self.changes_view.value = table_html(
            moved, ("change", "severity", "input", "expected", "observed_a", "observed_b"), css="wb-diary-changes"
        )


__all__ = ["DiaryView", "table_html"]
