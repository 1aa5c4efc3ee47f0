"""DiaryView driven through its traits, no browser."""

from __future__ import annotations

import polars as pl
import pytest

import widgets
from workbench.diary import Diary

XSS = "<img src=x onerror=alert('diary')>"


@pytest.fixture
def diary(tmp_path):
    d = Diary(tmp_path / "d.sqlite")
    d.record("Oh great, another sequel.", "rotten", severity="critical", tags=["sarcasm"], note="tone")
    d.record("Not bad at all.", "fresh", severity="medium", tags=["negation"])
    d.record(XSS, "rotten", severity="low")
    yield d
    d.close()


@pytest.fixture
def rows():
    return pl.DataFrame(
        {
            "id": ["r1", "r2"],
            "text": ["A film that never earns its ending.", "<script>alert(1)</script>"],
            "label": ["rotten", "fresh"],
            "prediction": ["fresh", "rotten"],
        }
    )


def test_filters_drive_the_entries(diary):
    widgets.setup()
    view = widgets.DiaryView(diary)
    assert len(view.entry_ids) == 3
    view.severity = ["critical"]
    assert view.entry_ids == [diary.entries(severity="critical")["entry_id"].item()]
    assert view.severity_box.value == ("critical",)
    view.severity = []
    view.tag = "negation"
    assert len(view.entry_ids) == 1 and "Not bad at all." in view.entries_view.value
    view.tag = ""
    view.search_box.value = "SEQUEL"  # the control drives the trait
    assert view.search == "SEQUEL" and len(view.entry_ids) == 1
    view.search = ""
    assert XSS not in view.entries_view.value and html_escaped(XSS) in view.entries_view.value


def html_escaped(text: str) -> str:
    import html

    return html.escape(text)


def test_add_from_a_selected_row(diary, rows):
    view = widgets.DiaryView(diary, rows, found_in="evidence:demo", observed_column="prediction")
    assert view.add_selected() == "" and "Pick a row" in view.message
    view.selected_index = 1
    assert view.expected == "fresh"  # prefilled from the row's label
    assert "&lt;script&gt;" in view.row_view.value and "<script>" not in view.row_view.value
    view.expected = ""
    assert view.add_selected() == "" and "expected" in view.message
    view.expected = "fresh"
    view.new_severity = "high"
    view.note = "markup in a review"
    entry = view.add_selected()
    assert entry and view.last_added == entry and entry in view.entry_ids
    got = diary.get(entry)
    assert got["input"] == "<script>alert(1)</script>" and got["observed"] == "rotten"
    assert got["found_in"] == "evidence:demo" and got["source_id"] == "r2" and got["severity"] == "high"
    view.row_picker.value = 0  # the dropdown drives the trait
    assert view.selected_index == 0


def test_compare_two_runs_with_chart_and_fallback(diary):
    always_fresh = lambda texts: ["fresh"] * len(texts)  # noqa: E731
    right = {e["input"]: e["expected"] for e in diary.entries().iter_rows(named=True)}
    diary.evaluate(right, "v1", headline=0.80, headline_name="accuracy")
    diary.evaluate(always_fresh, "v2", headline=0.88, headline_name="accuracy")
    view = widgets.DiaryView(diary)
    # with two runs the view starts on the last two
    assert (view.run_a, view.run_b) == ("v1", "v2")
    assert "WARNING" in view.verdict and "not improving in the way that matters" in view.verdict
    spec = view.chart.chart.to_dict()
    assert "2 broken" in spec["title"] and spec["mark"]["type"] == "bar"
    assert "broken" in view.changes_view.value and html_escaped(XSS) in view.changes_view.value
    view.run_a, view.run_b = "v2", "v1"
    assert "WARNING" not in view.verdict and view.comparison is not None and view.comparison.n_fixed == 2
    assert view.run_a_box.value == "v2"


def test_refresh_picks_up_new_runs(diary):
    view = widgets.DiaryView(diary)
    assert view.comparison is None and "Pick two" in view.verdict_view.value
    diary.evaluate(lambda t: ["rotten"] * len(t), "a")
    diary.evaluate(lambda t: ["rotten"] * len(t), "b")
    diary.record("new one", "fresh")
    view.refresh()
    assert view.run_a_box.options == ("a", "b") and len(view.entry_ids) == 4
    view.run_a, view.run_b = "a", "b"
    assert "No diary regressions" in view.verdict


def test_rows_need_text(diary):
    with pytest.raises(ValueError, match="text"):
        widgets.DiaryView(diary, pl.DataFrame({"id": ["x"]}))
