"""Notebook 08 in JupyterLab in headless Chromium: the PerturbationExplorer renders and responds."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, run_notebook

pytestmark = pytest.mark.e2e


def test_perturbation_explorer_renders_and_responds(lab_url, watched_page):
    stats = run_notebook(watched_page, lab_url, "notebooks/08_perturbations_and_calibration.ipynb")
    assert stats["executed"] == stats["cells"] > 0, stats
    assert stats["errors"] == [], stats["errors"]
    assert stats["widget_errors"] == 0, stats
    assert stats["charts"] >= 3, stats  # sensitivity curves, reliability diagram, the explorer's curve
    assert watched_page.foreign_requests == [], watched_page.foreign_requests
    page = watched_page.page
    explorer = page.locator(".wb-perturbation-explorer").first
    explorer.scroll_into_view_if_needed()
    assert explorer.locator(".vega-embed").count() >= 1
    assert explorer.locator("table.wb-predictions").count() == 1
    # choose another perturbation in the dropdown: the perturbed text and the curve follow
    select = explorer.locator("select").nth(1)
    select.select_option("casing")
    page.wait_for_function(
        "() => document.querySelector('.wb-perturbation-explorer').innerText.includes('casing (label-preserving')",
        timeout=30_000,
    )
    assert explorer.locator("table.wb-curve").inner_text().count("casing") >= 1
    page.screenshot(path=str(ARTIFACTS / "08_explorer.png"))
