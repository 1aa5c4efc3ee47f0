"""`import workbench, widgets` stays cheap: the RFC 3987 parser jsonschema would build is deferred,
and IRI format checks still work once something asks for them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
import workbench, widgets, altair, jsonschema
before = {"lark": "lark" in sys.modules, "torch": "torch" in sys.modules,
          "sentence_transformers": "sentence_transformers" in sys.modules, "ray": "ray" in sys.modules}
checker = jsonschema.FormatChecker()
schema = {"type": "string", "format": "iri"}
ok = checker.conforms("https://example.org/a?b=c#d", "iri")
bad = checker.conforms("not an iri at all", "iri")
try:
    jsonschema.validate("http://[::1", schema, format_checker=checker)
    raised = False
except jsonschema.ValidationError:
    raised = True
print(json.dumps({**before, "ok": ok, "bad": bad, "raised": raised, "lark_after": "lark" in sys.modules}))
"""


def _probe(**env: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=ROOT, env={**os.environ, **env}
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_defers_the_rfc3987_parser_and_heavy_libraries():
    got = _probe(WORKBENCH_EAGER_IMPORTS="0")
    assert not got["lark"], "rfc3987_syntax built its lark parser at import time"
    assert not got["torch"] and not got["sentence_transformers"]
    assert not got["ray"], "Ray is imported only when engine='ray' is asked for"


def test_iri_format_checks_still_work_after_deferral():
    deferred = _probe(WORKBENCH_EAGER_IMPORTS="0")
    eager = _probe(WORKBENCH_EAGER_IMPORTS="1")
    assert deferred["ok"] and not deferred["bad"] and deferred["raised"]
    assert deferred["lark_after"], "the real parser loads on first use"
    assert {k: eager[k] for k in ("ok", "bad", "raised")} == {k: deferred[k] for k in ("ok", "bad", "raised")}
    assert eager["lark"], "WORKBENCH_EAGER_IMPORTS=1 turns the deferral off"


def test_deferral_is_a_no_op_when_already_imported():
    code = (
        "import rfc3987_syntax, sys; import workbench._imports as m; "
        "assert m.defer_rfc3987_syntax() is False; assert not getattr(sys.modules['rfc3987_syntax'], "
        "'_workbench_deferred', False)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
