"""The one renderer of an audit report: a versioned JSON document and one self-contained, offline HTML page.

What is rendered (`AuditReport`, `CheckResult`, attachments, the trust checklist) is data in
`workbench.results`; this module only turns it into documents and files (`RENDERER` is what `Audit`
hands every report, so `report.to_json`/`to_html`/notebook display all come here).

`AuditReport.to_json(path)` writes `report_dict(report)`, which follows the JSON schema shipped
in the package (`workbench/static/audit_report.schema.json`, `load_schema()`; `validate_document`
checks a document against it). Same data, anchor, checks, parameters and seed: byte-identical file.

`AuditReport.to_html(path)` writes one page that needs nothing else: a summary by failure mode and
guardrail, charts (SVG images inline), every check's status, score, threshold, summary and
evidence rows, and the trust checklist with each item marked by the evidence that satisfies it.
The page holds no script and declares a content security policy that forbids scripts and every
network request; every piece of data text is HTML-escaped.

The checklist (`workbench.results.CHECKLIST`) is marked item by item by the evidence behind it
(`checklist(report)`): checks of its failure modes and attachments (`AuditReport.attach()`,
`AuditReport.attach_diary()`) for the items no registered check covers.
"""

from __future__ import annotations

import base64
import html
import json
import math
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import InputError
from workbench.results import (
    CHECKLIST,
    EVIDENCE_ROWS,
    FAILURE_MODES,
    GUARDRAILS,
    Attachment,
    AuditReport,
    Renderer,
    status_counts,
    worst_status,
)

SCHEMA_NAME = "workbench.audit_report"
SCHEMA_VERSION = 1
SCHEMA_FILE = "audit_report.schema.json"


# -- JSON ---------------------------------------------------------------------------------------


def _json_value(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, (str, int)):
        return v
    if isinstance(v, float):
        return None if not math.isfinite(v) else round(v, 10)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return _json_value(float(v))
    if isinstance(v, np.ndarray):
        return [_json_value(x) for x in v.tolist()]
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        items = [_json_value(x) for x in v]
        return sorted(items, key=repr) if isinstance(v, (set, frozenset)) else items
    if hasattr(v, "to_dicts"):  # a polars frame in details
        return [_json_value(r) for r in v.to_dicts()]
    return str(v)


def summary_rows(report: AuditReport) -> list[dict[str, Any]]:
    """One row per failure mode and guardrail: worst status of its checks that ran, and which ran."""
    rows = []
    for mode in FAILURE_MODES + GUARDRAILS:
        results = [r for r in report.results.values() if r.failure_mode == mode]
        ran = [r for r in results if r.status != "skipped"]
        rows.append(
            {
                "failure_mode": mode,
                "kind": "guardrail" if mode in GUARDRAILS else "failure_mode",
                "status": worst_status([r.status for r in ran]),
                "checks": [r.check for r in results],
                "ran": len(ran),
            }
        )
    return rows


def checklist(report: AuditReport) -> list[dict[str, Any]]:
    """Each checklist item with its status and the evidence (checks, attachments) behind it."""
    attachments: dict[str, Attachment] = report.attachments
    out = []
    for item in CHECKLIST:
        evidence = [
            {"source": "check", "name": r.check, "status": r.status, "summary": r.summary}
            for r in report.results.values()
            if r.failure_mode in item.failure_modes
        ]
        if item.key in attachments:
            a = attachments[item.key]
            evidence.append({"source": "attachment", "name": item.key, "status": a.status, "summary": a.summary})
        ran = [e["status"] for e in evidence if e["status"] != "skipped"]
        if not ran:
            status = "not_done"
        elif all(s == "pass" for s in ran):
            status = "satisfied"
        else:
            status = "problem"
        out.append({"key": item.key, "item": item.item, "status": status, "how": item.how, "evidence": evidence})
    return out


def report_dict(report: AuditReport) -> dict[str, Any]:
    """The report as plain data following schema version 1 (see the module docstring)."""
    from workbench import __version__

    attachments: dict[str, Attachment] = report.attachments
    checks = []
    for r in report.results.values():
        ev = r.evidence.head(EVIDENCE_ROWS)
        checks.append(
            {
                "check": r.check,
                "failure_mode": r.failure_mode,
                "status": r.status,
                "score": _json_value(None if r.score is None else float(r.score)),
                "score_meaning": r.score_meaning,
                "threshold": _json_value(None if r.threshold is None else float(r.threshold)),
                "summary": r.summary,
                "details": _json_value({k: v for k, v in r.details.items() if k != "traceback"}),
                "evidence_total_rows": r.evidence.height,
                "evidence_columns": list(ev.columns),
                "evidence": [_json_value(row) for row in ev.to_dicts()],
            }
        )
    return {
        "schema": SCHEMA_NAME,
        "version": SCHEMA_VERSION,
        "generator": {"name": "synthetic-data-workbench", "version": __version__},
        "seed": int(report.seed),
        "data": {"n_rows": report.n_rows, "set_sha256": report.data_sha256, "anchor_sha256": report.anchor_sha256},
        "worst_status": report.worst(),
        "status_counts": status_counts(report.results),
        "summary": summary_rows(report),
        "checks": checks,
        "checklist": checklist(report),
        "attachments": {
            k: {"status": a.status, "summary": a.summary, "details": _json_value(a.details)}
            for k, a in sorted(attachments.items())
        },
    } | ({"validity": _json_value(report.validity.to_dict())} if report.validity is not None else {})


def to_json_text(report: AuditReport) -> str:
    """The JSON document as text: sorted keys, 2-space indent, UTF-8, a final newline."""
    return json.dumps(report_dict(report), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


@cache
def _schema_text() -> str:
    return resources.files("workbench").joinpath("static", SCHEMA_FILE).read_text("utf-8")


def load_schema() -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of the report, as shipped in the package."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


def validate_document(doc: dict[str, Any]) -> None:
    """Raise `InputError` listing what in `doc` does not follow the report schema."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}" for e in errors[:5]]
        raise InputError(f"the document does not follow the audit report schema: {'; '.join(lines)}.")


# -- HTML ---------------------------------------------------------------------------------------

_COLORS = {
    "pass": "#1a7f37",
    "warn": "#9a6700",
    "fail": "#cf222e",
    "error": "#8250df",
    "skipped": "#6e7781",
    "satisfied": "#1a7f37",
    "problem": "#cf222e",
    "not_done": "#6e7781",
}
_MARKS = {"satisfied": "✔ satisfied", "problem": "✘ problem", "not_done": "– not done"}
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:82em;padding:0 1.5em;
color:#1f2328;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top;white-space:pre-wrap;
word-break:break-word;max-width:40em}
th{background:#f6f8fa}.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;
font-size:.85em;white-space:nowrap}
.check{border:1px solid #d0d7de;border-radius:6px;padding:.6em 1em;margin:1em 0}
.check h3{margin:.2em 0}.meta{color:#59636e;font-size:.9em}pre{background:#f6f8fa;padding:.6em;overflow:auto;
white-space:pre-wrap;word-break:break-word;font-size:.85em}
figure{margin:1em 0}figcaption{color:#59636e;font-size:.9em}
"""


def _e(value: Any) -> str:
    """Escape anything for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def _badge(status: str) -> str:
    label = _MARKS.get(status, status)
    return f"<span class='badge status-{_e(status)}' style='background:{_COLORS.get(status, '#6e7781')}'>{_e(label)}</span>"


def _num(v: Any) -> str:
    return "" if v is None else f"{v:.4g}"


def _svg_image(chart: Any, alt_text: str) -> str:
    """A chart as an inline SVG image (data: URI): rendered offline by vl-convert; as an <img> it
    can run no script and load nothing, whatever text the data put into it."""
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(chart.to_dict())
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"<img class='chart' alt='{_e(alt_text)}' src='data:image/svg+xml;base64,{data}'>"


def _charts(report: AuditReport, doc: dict[str, Any]) -> str:
    import altair as alt
    import polars as pl

    from workbench import charts

    figures = []
    table = report.table
    if table.height:
        figures.append(
            f"<figure>{_svg_image(charts.audit_status(table), 'status of every check by failure mode')}"
            "<figcaption>Status of every check, by failure mode.</figcaption></figure>"
        )
    for r in report.results.values():
        if r.failure_mode == "privacy" and r.details.get("dcr"):
            figures.append(
                f"<figure>{_svg_image(charts.dcr_distributions(r.details['dcr']), 'distance to closest record')}"
                f"<figcaption>{_e(r.check)}: distance of synthetic rows and of holdout rows (fresh real data) to their "
                "closest training record; synthetic rows closer than fresh real data are memorization. The copies "
                "are in the check's evidence below.</figcaption></figure>"
            )
    items = pl.DataFrame(
        [{"item": c["item"], "status": c["status"], "n": 1} for c in doc["checklist"]],
        schema={"item": pl.String, "status": pl.String, "n": pl.Int64},
    )
    scale = alt.Scale(domain=["satisfied", "problem", "not_done"], range=["#1a7f37", "#cf222e", "#afb8c1"])
    chart = (
        alt.Chart(items, title="Trust checklist")
        .mark_rect(stroke="white", strokeWidth=2)
        .encode(
            y=alt.Y("item:N", sort=None, title=None, axis=alt.Axis(labelLimit=420)),
            color=alt.Color("status:N", scale=scale, title="status"),
        )
        .properties(width=30, height=alt.Step(22))
    )
    figures.append(
        f"<figure>{_svg_image(chart, 'trust checklist status')}"
        "<figcaption>The trust checklist at a glance (details below).</figcaption></figure>"
    )
    return "".join(figures)


def _evidence_table(columns: list[str], rows: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c)
            if isinstance(v, (dict, list)):
                v = json.dumps(v, ensure_ascii=False, sort_keys=True)
            cells.append(f"<td>{_e(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class='evidence'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _validity_section(doc: dict[str, Any], chart: str = "") -> str:
    """The validity report (`workbench.validity`) as a section: per check and plant, the smallest strength
    detected 9 times in 10 and the false alarms on clean resamples, the chart, and the notes."""
    rows = []
    for r in doc["summary"]:
        smallest = r["smallest_reliable_strength"]
        reliable = f"{_num(smallest)} ({_e(r['unit'])})" if smallest is not None else "never 9 in 10"
        alarms = (
            f"{r['false_alarm_rate']:.0%} ({r['false_alarms']} of {r['clean_runs']})"
            if r["false_alarm_rate"] is not None
            else "not measured"
        )
        rows.append(
            f"<tr><td>{_e(r['check'])}</td><td>{_e(r['failure_mode'])}</td><td>{_e(r['planted'])}</td>"
            f"<td>{reliable}</td><td>{_num(r['max_detection_rate'])}</td><td>{_e(alarms)}</td></tr>"
        )
    notes = "".join(f"<li>{_e(n)}</li>" for n in doc["notes"])
    return (
        "<h2 id='validity'>Validity on this data</h2>"
        f"<p>Each check on this data's own {doc['n_rows']} real rows: its failure planted at graded strengths "
        f"({doc['seeds']} data sets per strength) and {doc['seeds']} clean resamples per failure mode. An alarm is "
        f"a status at or above <b>{_e(doc['level'])}</b>. A pass from a check that rarely detects its planted "
        "failure here means little; an alarm from one that cries wolf on clean resamples means less.</p>"
        "<table class='validity'><thead><tr><th>check</th><th>failure mode</th><th>planted</th>"
        "<th>smallest strength detected 9 times in 10</th><th>best detection rate</th>"
        f"<th>false alarms on clean resamples</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        + chart
        + (f"<ul class='meta'>{notes}</ul>" if notes else "")
    )


def _validity_chart(validity: Any) -> str:
    from workbench import charts

    if not validity.table.height:
        return ""
    return (
        f"<figure>{_svg_image(charts.validity_chart(validity.table), 'detection rate by planted strength')}"
        "<figcaption>Detection rate by planted strength with Wilson 95% intervals; dashed: false alarms on clean "
        "resamples; dotted: 0.9.</figcaption></figure>"
    )


def validity_html(validity: Any, *, charts: bool = True) -> str:
    """A validity report (`workbench.validity.run`) alone, as one self-contained offline page."""
    doc = _json_value(validity.to_dict())
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{_CSP}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Validity on this data</title><style>{_STYLE}</style></head><body>"
        + _validity_section(doc, _validity_chart(validity) if charts else "")
        + "</body></html>\n"
    )


def render_html(report: AuditReport, *, charts: bool = True) -> str:
    """The report as one self-contained HTML page (see the module docstring)."""
    doc = report_dict(report)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<meta http-equiv='Content-Security-Policy' content=\"{_CSP}\">",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Synthetic data audit: {_e(doc['worst_status'])}</title><style>{_STYLE}</style></head><body>",
        "<h1>Synthetic data audit</h1>",
        f"<p class='meta'>{doc['data']['n_rows']} rows; data sha256 <code>{_e(doc['data']['set_sha256'])}</code>; "
        f"anchor sha256 <code>{_e(doc['data']['anchor_sha256'] or 'none')}</code>; seed {doc['seed']}; "
        f"synthetic-data-workbench {_e(doc['generator']['version'])}; report schema v{doc['version']}.</p>",
        f"<p>Worst status: {_badge(doc['worst_status'])} &nbsp; "
        + ", ".join(f"{n} {_e(s)}" for s, n in doc["status_counts"].items() if n)
        + "</p>",
    ]
    # summary by failure mode and guardrail
    summary = "".join(
        f"<tr><td>{_e(r['failure_mode'])}</td><td>{_e(r['kind'].replace('_', ' '))}</td><td>{_badge(r['status'])}</td>"
        f"<td>{r['ran']} of {len(r['checks'])}</td><td>{_e(', '.join(r['checks']) or '(no check registered)')}</td></tr>"
        for r in doc["summary"]
    )
    parts.append(
        "<h2 id='summary'>Summary by failure mode and guardrail</h2><table class='summary'><thead><tr>"
        "<th>failure mode</th><th>kind</th><th>status</th><th>checks run</th><th>checks</th></tr></thead>"
        f"<tbody>{summary}</tbody></table>"
    )
    if charts:
        parts.append(f"<h2 id='charts'>Charts</h2>{_charts(report, doc)}")
    # checklist
    rows = []
    for c in doc["checklist"]:
        ev = "<br>".join(
            f"{_badge(e['status'])} <b>{_e(e['name'])}</b> ({_e(e['source'])}): {_e(e['summary'])}"
            for e in c["evidence"]
        )
        rows.append(
            f"<tr id='checklist-{_e(c['key'])}'><td>{_e(c['item'])}</td><td>{_badge(c['status'])}</td>"
            f"<td>{ev or '<i>no evidence</i>'}</td><td>{_e(c['how'])}</td></tr>"
        )
    parts.append(
        "<h2 id='checklist'>Trust checklist</h2><table class='checklist'><thead><tr><th>item</th><th>status</th>"
        f"<th>evidence</th><th>what satisfies it</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    if "validity" in doc:
        parts.append(_validity_section(doc["validity"], _validity_chart(report.validity) if charts else ""))
    # every check
    parts.append("<h2 id='checks'>Checks</h2>")
    for c in doc["checks"]:
        shown = len(c["evidence"])
        ev_html = (
            f"<details{' open' if c['status'] in ('warn', 'fail') else ''}><summary>Evidence: "
            f"{shown} of {c['evidence_total_rows']} row(s) shown</summary>"
            f"{_evidence_table(c['evidence_columns'], c['evidence'])}</details>"
            if c["evidence_total_rows"]
            else "<p class='meta'>No evidence rows.</p>"
        )
        details = json.dumps(c["details"], indent=1, sort_keys=True, ensure_ascii=False)
        parts.append(
            f"<div class='check' id='check-{_e(c['check'])}'><h3>{_e(c['check'])} {_badge(c['status'])}</h3>"
            f"<p class='meta'>failure mode: {_e(c['failure_mode'])}; score: <b>{_num(c['score'])}</b>"
            f"{' (' + _e(c['score_meaning']) + ')' if c['score_meaning'] else ''}; threshold: "
            f"<b>{_num(c['threshold']) or 'none'}</b></p><p>{_e(c['summary'])}</p>{ev_html}"
            f"<details><summary>Details</summary><pre>{_e(details)}</pre></details></div>"
        )
    if doc["attachments"]:
        parts.append("<h2 id='attachments'>Attached evidence</h2>")
        for key, a in doc["attachments"].items():
            details = json.dumps(a["details"], indent=1, sort_keys=True, ensure_ascii=False)
            parts.append(
                f"<div class='check' id='attachment-{_e(key)}'><h3>{_e(key)} {_badge(a['status'])}</h3>"
                f"<p>{_e(a['summary'])}</p><details><summary>Details</summary><pre>{_e(details)}</pre></details></div>"
            )
    parts.append("</body></html>\n")
    return "".join(parts)


def table_html(report: AuditReport) -> str:
    """One table of every check (status, score, threshold, summary): how a report shows in a notebook."""
    rows = "".join(
        f"<tr><td>{_e(r.check)}</td><td>{_e(r.failure_mode)}</td><td>{_badge(r.status)}</td>"
        f"<td title='{_e(r.score_meaning)}'>{_num(r.score)}</td><td>{_num(r.threshold)}</td><td>{_e(r.summary)}</td></tr>"
        for r in report.results.values()
    )
    return (
        f"<p>{report.n_rows} rows; worst status {_badge(report.worst())}; seed {report.seed}.</p>"
        "<table class='wb-audit'><thead><tr><th>check</th><th>failure mode</th><th>status</th><th>score</th>"
        f"<th>threshold</th><th>summary</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def write_json(report: AuditReport, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_json_text(report).encode("utf-8"))
    return path


def write_html(report: AuditReport, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_html(report).encode("utf-8"))
    return path


RENDERER = Renderer(document=report_dict, write_json=write_json, write_html=write_html, table_html=table_html)

__all__ = [
    "RENDERER",
    "SCHEMA_VERSION",
    "checklist",
    "load_schema",
    "render_html",
    "report_dict",
    "summary_rows",
    "table_html",
    "to_json_text",
    "validate_document",
    "write_html",
    "write_json",
]
