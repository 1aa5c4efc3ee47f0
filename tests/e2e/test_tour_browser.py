"""The tour notebook run in JupyterLab in headless Chromium: no errors, charts and widgets render offline."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, drag_brush, run_notebook

pytestmark = pytest.mark.e2e


def test_tour_renders_in_real_browser(lab_url, watched_page):
    stats = run_notebook(watched_page, lab_url, "notebooks/00_tour.ipynb")
    assert stats["executed"] == stats["cells"] > 0, stats
    assert stats["errors"] == [], stats["errors"]
    assert stats["widget_errors"] == 0, stats
    assert stats["charts"] >= 3, stats  # provenance + mix (one concat), embedding map, audit status
    assert stats["widgets"] >= 1, stats
    assert watched_page.foreign_requests == [], watched_page.foreign_requests
    page = watched_page.page
    # the embedding map's chart and its selection table are on the page
    assert page.locator(".wb-embedding-map .vega-embed").count() >= 1
    assert "Brush the map" in page.locator(".wb-embedding-map").first.inner_text()
    assert not [e for e in watched_page.console_errors if "vega" in e.lower() or "widget" in e.lower()], (
        watched_page.console_errors
    )


def test_brushing_the_map_shows_examples(lab_url, watched_page):
    """Drag a brush over the embedding map: the selection reaches Python and the table fills."""
    run_notebook(watched_page, lab_url, "notebooks/00_tour.ipynb")
    page = watched_page.page
    drag_brush(page, page.locator(".wb-embedding-map .vega-embed").first, (0.15, 0.2), (0.7, 0.8))
    page.wait_for_function(
        "() => /\\d+ selected/.test(document.querySelector('.wb-embedding-map').innerText)", timeout=30_000
    )
    table = page.locator(".wb-embedding-map table.wb-rows")
    assert table.count() == 1 and table.locator("tbody tr").count() > 0
    page.screenshot(path=str(ARTIFACTS / "00_tour-brushed.png"))
