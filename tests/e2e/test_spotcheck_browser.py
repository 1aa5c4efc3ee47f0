"""SpotCheck in JupyterLab in headless Chromium: click and type through a few items; an HTML/script payload
is shown as text and never executed; every verdict reaches the SQLite store."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from tests.e2e.conftest import ARTIFACTS, run_notebook

pytestmark = pytest.mark.e2e

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> Sneaky review & more'


def _notebook(store_path: str) -> dict:
    source = f"""
import widgets
widgets.setup()
import polars as pl
from workbench import spotcheck
from workbench.data import validate
texts = [{XSS!r}, "A warm, funny film.", "Dull and far too long.", "An odd little picture."]
df = validate(pl.DataFrame({{"text": texts, "origin": "synthetic", "label": ["fresh", "fresh", "rotten", "fresh"],
                             "label_confidence": [0.9, 0.8, 0.7, 0.6], "label_b": ["rotten", "fresh", "rotten", "rotten"]}}))
store = spotcheck.VerdictStore({store_path!r})
both = spotcheck.labels_long(df, labelers={{"v1": "label", "v2": "label_b"}}, confidences={{"v1": "label_confidence"}})
w = widgets.SpotCheck(df, store, reviewer="browser", labels=both)
w
"""
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_spotcheck_click_through_and_xss_shown_as_text(lab_url, lab_root, watched_page):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    store_path = lab_root / "spotcheck_e2e.sqlite"
    nb = lab_root / "spotcheck_e2e.ipynb"
    nb.write_text(json.dumps(_notebook(str(store_path))))
    dialogs: list[str] = []
    page = watched_page.page
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    stats = run_notebook(watched_page, lab_url, nb.name)
    assert stats["errors"] == [] and stats["widget_errors"] == 0, stats
    box = page.locator(".wb-spotcheck").first
    box.wait_for(timeout=60_000)
    # the payload is text on the page, not markup: no <img>/<script> inside the widget, nothing ran
    text = box.locator(".wb-text").inner_text()
    assert "<script>" in text and "onerror" in text
    assert box.locator("img, script").count() == 0
    assert page.evaluate("window.__xss") is None and dialogs == []
    assert "v2" in box.locator("table.wb-labels").inner_text()
    assert "1 / 4" in box.locator(".wb-progress").inner_text()
    # click: agree, then wrong (corrected label preselected), then a key press, then the unsure button
    box.locator("button.wb-agree").click()
    page.wait_for_function("() => document.querySelector('.wb-spotcheck .wb-progress').innerText.includes('2 / 4')")
    box.locator("button.wb-wrong").click()
    page.wait_for_function("() => document.querySelector('.wb-spotcheck .wb-progress').innerText.includes('3 / 4')")
    box.focus()
    page.keyboard.press("u")
    page.wait_for_function("() => document.querySelector('.wb-spotcheck .wb-progress').innerText.includes('4 / 4')")
    box.locator("button.wb-agree").click()
    page.wait_for_function("() => document.querySelector('.wb-spotcheck').innerText.includes('All examples')")
    page.screenshot(path=str(ARTIFACTS / "spotcheck_e2e.png"))
    deadline = time.time() + 10
    rows: list = []
    while time.time() < deadline:
        conn = sqlite3.connect(store_path)
        rows = conn.execute("SELECT verdict, corrected_label FROM reviews ORDER BY review_id").fetchall()
        conn.close()
        if len(rows) == 4:
            break
        time.sleep(0.5)
    assert rows == [("agree", None), ("wrong", "rotten"), ("unsure", None), ("agree", None)]
    assert page.evaluate("window.__xss") is None and dialogs == []
    assert watched_page.foreign_requests == [], watched_page.foreign_requests
