"""Notebook 03 in JupyterLab in headless Chromium: the coverage explorer renders offline and brushing it
brings the selected examples back to the table beside it."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, drag_brush, run_notebook

pytestmark = pytest.mark.e2e

NOTEBOOK = "notebooks/03_coverage_and_tails.ipynb"


def test_coverage_explorer_renders_and_brushes(lab_url, watched_page):
    stats = run_notebook(watched_page, lab_url, NOTEBOOK)
    assert stats["executed"] == stats["cells"] > 0, stats
    assert stats["errors"] == [], stats["errors"]
    assert stats["widget_errors"] == 0, stats
    assert watched_page.foreign_requests == [], watched_page.foreign_requests
    page = watched_page.page
    explorer = page.locator(".wb-coverage-explorer").first
    chart = explorer.locator(".vega-embed").first
    chart.scroll_into_view_if_needed()
    assert "Clusters, worst covered first" in explorer.inner_text()
    assert explorer.locator("table.wb-clusters tbody tr").count() > 0
    drag_brush(page, chart, (0.1, 0.1), (0.75, 0.85))
    page.wait_for_function(
        "() => /\\d+ selected \\(\\d+ uncovered real\\)/.test(document.querySelector('.wb-coverage-explorer').innerText)",
        timeout=30_000,
    )
    assert explorer.locator("table.wb-rows tbody tr").count() > 0
    page.screenshot(path=str(ARTIFACTS / "03_coverage-brushed.png"))
    assert not [e for e in watched_page.console_errors if "vega" in e.lower() or "widget" in e.lower()], (
        watched_page.console_errors
    )
