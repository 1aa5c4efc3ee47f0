"""The HTML audit report opened in headless Chromium: hostile data text is shown, never run.

Classic XSS payloads sit in the data's text, label and id; they land in the evidence tables (the
provenance check fails on the rows that carry them). The page must fire no dialog, set no global,
log no console error, request nothing but itself, and display every payload as plain text.
"""

from __future__ import annotations

import polars as pl
import pytest

from tests.e2e.conftest import ARTIFACTS, PageWatch
from tests.test_report import XSS, embeddings, hostile_rows, planted_data
from workbench.audit import Audit

pytestmark = pytest.mark.e2e

MORE = [
    "<img src=x onerror=\"window.__xss='img'\">",
    "</style><script>window.__xss='style'</script>",
    "--><script>window.__xss='comment'</script><!--",
    "<body onload=\"window.__xss='body'\">",
    "{{7*7}} ${7*7} <%= 7*7 %>",
]


@pytest.fixture(scope="module")
def report_path(tmp_path_factory):
    hostile = hostile_rows(MORE, [f"<i>id-{i}</i>" for i in range(len(MORE))], "<script>window.__xss='label'</script>")
    data = pl.concat([planted_data(), hostile], how="diagonal_relaxed")
    report = Audit(data, embeddings=embeddings(data.height), seed=0).run()
    evidence = report.results["provenance"].evidence
    assert set(MORE) <= set(evidence["text"].to_list())  # the payloads are in the evidence rows
    return report.to_html(tmp_path_factory.mktemp("report") / "audit.html")


def test_report_shows_payloads_as_text_and_runs_nothing(browser, report_path):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    watch = PageWatch(page)
    dialogs: list[str] = []
    requests: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(report_path.as_uri(), wait_until="load")
        page.wait_for_timeout(1500)  # time for any onload/onerror handler to fire
        assert dialogs == []
        assert page.evaluate("() => window.__xss === undefined")
        assert page.evaluate("() => document.querySelectorAll('script, iframe, object, embed').length") == 0
        assert watch.console_errors == [], watch.console_errors
        assert requests == [report_path.as_uri()], requests
        text = page.inner_text("body")
        for payload in XSS + MORE:
            assert payload in text, payload
        assert "<i>id-0</i>" in text  # hostile ids too
        assert "Trust checklist" in text and "Summary by failure mode and guardrail" in text
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.locator("#check-provenance").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "report-xss.png"))
    finally:
        page.close()
