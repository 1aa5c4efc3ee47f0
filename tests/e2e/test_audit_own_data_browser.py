"""Notebook 01 (audit your own data) run in JupyterLab in headless Chromium: no errors, the worst
finding's explorer renders offline."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import run_notebook

pytestmark = pytest.mark.e2e


def test_audit_your_own_data_renders_in_real_browser(lab_url, watched_page):
    stats = run_notebook(watched_page, lab_url, "notebooks/01_audit_your_own_data.ipynb")
    assert stats["executed"] == stats["cells"] > 0, stats
    assert stats["errors"] == [], stats["errors"]
    assert stats["widget_errors"] == 0, stats
    assert stats["widgets"] >= 1 and stats["charts"] >= 1, stats
    assert watched_page.foreign_requests == [], watched_page.foreign_requests
    explorer = watched_page.page.locator(".wb-coverage-explorer")
    assert explorer.count() == 1 and "Coverage" in explorer.first.inner_text()
