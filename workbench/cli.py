"""`workbench`: the audit as a gate for a synthetic-data pipeline, plus the anchor set and the failure diary.

Exit codes (stable, for CI):
  0  clean: no check at or above the --fail-on level (or, for `diary compare`, the diary did not get worse)
  1  a check failed at the chosen level, a check asked for by name (--checks) could not run, or no
     check ran (unless --allow-skipped); for `diary compare`: the diary got worse
  2  bad input: a missing or unreadable file, a malformed column, a bad argument (one line says which)
  3  the workbench itself crashed (a bug: rerun with --debug for the traceback and report it)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from workbench.errors import WorkbenchError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_CRASH = 0, 1, 2, 3
DEFAULT_DIARY = "failure_diary.sqlite"


class BadInput(WorkbenchError):
    """A command-line argument that cannot be used as given."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (exit 2), not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _say(*parts: Any, err: bool = False) -> None:
    print(*parts, file=sys.stderr if err else sys.stdout, flush=True)


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


# -- loading ----------------------------------------------------------------------------------


def _column_map(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs or ():
        target, sep, source = pair.partition("=")
        if not sep or not target or not source:
            raise BadInput(f"--column takes SCHEMA_NAME=SOURCE_COLUMN (e.g. --column text=review); got {pair!r}.")
        out[target] = source
    return out


def _params(pairs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """`--param CHECK.NAME=VALUE` pairs as Audit(params=...); VALUE is JSON (5, 0.1, true, null) or text."""
    out: dict[str, dict[str, Any]] = {}
    for pair in pairs or ():
        key, sep, raw = pair.partition("=")
        check, dot, name = key.partition(".")
        if not sep or not dot or not check or not name:
            raise BadInput(f"--param takes CHECK.NAME=VALUE (e.g. --param coverage_illusion.k=10); got {pair!r}.")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(check.strip(), {})[name.strip()] = value
    return out


def _load(
    path: str, columns: Sequence[str], origin: str | None, fmt: str | None = None, role: str | None = None
) -> Any:
    from workbench import formats

    p = Path(path)
    if not p.exists():
        raise BadInput(f"{path}: no such file; pass a CSV, TSV, Parquet, JSONL or JSON file of examples.")
    defaults = {"origin": origin} if origin else None
    mapping: dict[str, Any] = _column_map(columns)
    imported = formats.read(p, format=fmt, role=role, defaults=defaults, **mapping)
    if imported.format not in formats.TABLE_FORMATS:  # say how a synthetic-data format was read
        _say(f"data: {imported.describe()}")
    return imported.frame


# -- audit ------------------------------------------------------------------------------------


class _CheckBar:
    """A progress bar over the audit's checks (stderr), naming the check that is running."""

    def __init__(self, total: int, quiet: bool) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc="audit", unit="check", file=sys.stderr, disable=quiet, leave=False)
        self.started = False

    def __call__(self, name: str) -> None:
        if self.started:
            self.bar.update(1)
        self.started = True
        self.bar.set_postfix_str(name)

    def close(self) -> None:
        self.bar.update(self.bar.total - self.bar.n)
        self.bar.close()


def _status_table(report: Any) -> str:
    lines = []
    width = max((len(n) for n in report.results), default=5)
    for name, r in report.results.items():
        score = "" if r.score is None else f"{r.score:.4g}"
        lines.append(f"  {r.status:<7} {name:<{width}}  {score:>9}  {_one_line(r.summary)[:110]}")
    return "\n".join(lines)


def _data_checks_embeddings(args: argparse.Namespace) -> tuple[Any, list[str] | None, Any]:
    """DATA as a frame, --checks as names (None: all), --embeddings as an array (None: embed)."""
    import numpy as np

    df = _load(args.data, args.column, args.origin, args.format, args.role)
    checks = [c.strip() for c in args.checks.split(",") if c.strip()] if args.checks else None
    embeddings = None
    if args.embeddings:
        try:
            embeddings = np.load(args.embeddings, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise BadInput(
                f"--embeddings {args.embeddings}: cannot read it as a .npy array ({_one_line(exc)})."
            ) from None
    return df, checks, embeddings


def cmd_audit(args: argparse.Namespace) -> int:

    from workbench.audit import Audit
    from workbench.embed import Embedder

    df, checks, embeddings = _data_checks_embeddings(args)
    if args.anchor and not Path(args.anchor).is_dir():
        raise BadInput(f"--anchor {args.anchor}: no such folder; create one with `workbench freeze-anchor`.")
    embedder = None if embeddings is not None else Embedder(progress=False if args.quiet else None)
    audit = Audit(
        df,
        anchor=args.anchor,
        embedder=embedder,
        embeddings=embeddings,
        checks=checks,
        params=_params(args.param),
        seed=args.seed,
        allow_skipped=args.allow_skipped,
    )
    bar = _CheckBar(len(audit.checks), args.quiet)
    audit.progress = bar
    try:
        report = audit.run()
    finally:
        bar.close()
    if args.diary:
        from workbench.diary import Diary

        if not Path(args.diary).is_file():
            raise BadInput(f"--diary {args.diary}: no such file; create a diary with `workbench diary add`.")
        with Diary(args.diary) as diary:
            report.attach_diary(diary)
    if args.validity_seeds:
        from workbench import validity

        _say(f"validity: planting each failure mode into the real rows ({args.validity_seeds} data sets per strength)")
        report.attach_validity(validity.run(audit, seeds=args.validity_seeds, seed=args.seed))
    out = Path(args.out)
    json_path, html_path = report.to_json(out / "audit.json"), report.to_html(out / "audit.html")
    gate = report.gate(args.fail_on)
    if not args.quiet:
        _say(f"audited {report.n_rows} rows with {len(report.results)} checks (seed {args.seed}):")
        _say(_status_table(report))
        for key, a in report.attachments.items():
            _say(f"  {a.status:<7} {key}: {_one_line(a.summary)[:160]}")
    _say(f"report: {html_path}  (JSON: {json_path})")
    if not gate.passed:
        _say(f"gate FAILED at --fail-on {args.fail_on}: {_one_line(gate.summary)}")
        return EXIT_FAILED
    _say(f"gate passed at --fail-on {args.fail_on}: {_one_line(gate.summary)}")
    return EXIT_OK


# -- validity -----------------------------------------------------------------------------------


def _validity_table(v: Any) -> str:
    lines = []
    summary = v.summary
    width = max((len(c) for c in summary["check"].to_list()), default=5)
    for r in summary.iter_rows(named=True):
        smallest = r["smallest_reliable_strength"]
        reliable = f"{smallest:g}" if smallest is not None else "never"
        alarms = "n/a" if r["false_alarm_rate"] is None else f"{r['false_alarms']}/{r['clean_runs']}"
        lines.append(
            f"  {r['check']:<{width}}  9-in-10 at {reliable:>6}  best {r['max_detection_rate']:.2f}  "
            f"false alarms {alarms:>5}  {r['planted']} ({r['unit']})"
        )
    return "\n".join(lines)


def cmd_validity(args: argparse.Namespace) -> int:

    from workbench import validity
    from workbench.embed import Embedder
    from workbench.report import validity_html

    df, checks, embeddings = _data_checks_embeddings(args)
    if args.seeds < 1:
        raise BadInput(f"--seeds must be at least 1; got {args.seeds}.")
    if args.max_rows is not None and args.max_rows < 40:
        raise BadInput(f"--max-rows must be at least 40; got {args.max_rows}.")
    embedder = Embedder(progress=False if args.quiet else None)
    progress = None if args.quiet else (lambda step: print(f"  {step}", file=sys.stderr, flush=True))
    v = validity.run(
        df,
        embeddings=embeddings,
        embedder=embedder,
        checks=checks,
        seeds=args.seeds,
        seed=args.seed,
        params=_params(args.param),
        level=args.level,
        max_rows=args.max_rows,
        progress=progress,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    doc = v.to_dict() | {"seconds": round(v.seconds, 1)}
    json_path = out / "validity.json"
    json_path.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n", "utf-8")
    html_path = out / "validity.html"
    html_path.write_text(validity_html(v), "utf-8")
    _say(f"validity on {v.n_rows} real rows, {v.seeds} data sets per strength, alarm = {v.level} ({v.seconds:.0f} s):")
    _say(_validity_table(v))
    for note in v.notes:
        _say(f"  note: {note}")
    _say(f"report: {html_path}  (JSON: {json_path})")
    return EXIT_OK


# -- freeze-anchor ------------------------------------------------------------------------------


def cmd_freeze_anchor(args: argparse.Namespace) -> int:
    import polars as pl

    from workbench.provenance import freeze_anchor

    df = _load(args.data, args.column, args.origin, args.format, args.role)
    rows = df.filter(pl.col("origin") == "real")
    if args.split:
        if "split" not in df.columns:
            raise BadInput(f"--split {args.split}: the data has no 'split' column; drop --split or add the column.")
        rows = rows.filter(pl.col("split") == args.split)
    if rows.height == 0:
        where = f" with split {args.split!r}" if args.split else ""
        raise BadInput(f"{args.data} has no real rows{where} to freeze; an anchor set holds real examples only.")
    if args.sample:
        if args.sample > rows.height:
            raise BadInput(f"--sample {args.sample} is more than the {rows.height} real rows available.")
        rows = rows.sample(args.sample, seed=args.seed, shuffle=True)
    anchor = freeze_anchor(rows, args.out, note=args.note, overwrite=args.overwrite)
    _say(f"froze {len(anchor)} real rows into {args.out} (set sha256 {anchor.manifest['set_sha256']})")
    _say(f"audit against it with: workbench audit DATA --anchor {args.out}")
    return EXIT_OK


# -- diary ------------------------------------------------------------------------------------


def _diary(args: argparse.Namespace, *, must_exist: bool = True) -> Any:
    from workbench.diary import Diary

    if must_exist and not Path(args.diary).is_file():
        raise BadInput(f"--diary {args.diary}: no such file; record an entry first with `workbench diary add`.")
    return Diary(args.diary)


def cmd_diary_add(args: argparse.Namespace) -> int:
    import polars as pl

    from workbench.diary import SEVERITIES

    if args.severity not in SEVERITIES:
        raise BadInput(f"--severity must be one of {SEVERITIES}; got {args.severity!r}.")
    if args.from_report:
        if args.input is not None:
            raise BadInput(
                "pass either --input/--expected (one entry) or --from-report/--check (evidence rows), not both."
            )
        if not args.check:
            raise BadInput("--from-report needs --check NAME: the check whose evidence rows to record.")
        try:
            doc = json.loads(Path(args.from_report).read_text("utf-8"))
        except FileNotFoundError:
            raise BadInput(f"--from-report {args.from_report}: no such file.") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadInput(f"--from-report {args.from_report} is not JSON ({_one_line(exc)}).") from None
        if not isinstance(doc, dict) or doc.get("schema") != "workbench.audit_report":
            raise BadInput(f"--from-report {args.from_report} is not a workbench audit report (audit.json).")
        check = next((c for c in doc.get("checks", []) if c.get("check") == args.check), None)
        if check is None:
            names = [c.get("check") for c in doc.get("checks", [])]
            raise BadInput(f"the report has no check {args.check!r}; it has {names}.")
        if not check["evidence"]:
            _say(f"check {args.check!r} has no evidence rows in the report; nothing recorded.")
            return EXIT_OK
        evidence = pl.DataFrame(check["evidence"], infer_schema_length=None)
        with _diary(args, must_exist=False) as diary:
            ids = diary.add_from_evidence(
                evidence,
                expected=args.expected,
                expected_column=args.expected_column,
                observed_column=args.observed_column,
                input_column=args.input_column,
                severity=args.severity,
                tags=[*args.tag, check["failure_mode"]],
                note=args.note,
                found_in=f"audit:{args.check}",
                author=args.author,
            )
        _say(f"recorded {len(ids)} entr{'y' if len(ids) == 1 else 'ies'} from {args.check!r} evidence in {args.diary}")
        return EXIT_OK
    if args.input is None or args.expected is None:
        raise BadInput("diary add needs --input TEXT and --expected OUTPUT (or --from-report FILE --check NAME).")
    with _diary(args, must_exist=False) as diary:
        entry = diary.record(
            args.input,
            args.expected,
            observed=args.observed,
            severity=args.severity,
            tags=args.tag,
            note=args.note,
            found_in=args.found_in,
            source_id=args.source_id,
            author=args.author,
        )
    _say(f"{entry} recorded in {args.diary}")
    return EXIT_OK


def cmd_diary_list(args: argparse.Namespace) -> int:
    with _diary(args) as diary:
        entries = diary.entries(
            include_retired=args.all, severity=args.severity or None, tags=args.tag or None, search=args.search
        )
    if args.json:
        for row in entries.select("entry_id", "input", "expected", "observed", "severity", "tags", "note", "found_in",
                                  "source_id", "status", "version").iter_rows(named=True):  # fmt: skip
            _say(json.dumps(row, ensure_ascii=False))
        return EXIT_OK
    if entries.height == 0:
        _say("no entries match.")
        return EXIT_OK
    for r in entries.iter_rows(named=True):
        tags = f" [{', '.join(r['tags'])}]" if r["tags"] else ""
        _say(f"{r['entry_id']}  {r['severity']:<8} v{r['version']}{tags}  found in {r['found_in']}")
        _say(f"    input:    {r['input']!r}")
        _say(
            f"    expected: {r['expected']!r}"
            + (f"   observed: {r['observed']!r}" if r["observed"] is not None else "")
        )
    _say(f"{entries.height} entr{'y' if entries.height == 1 else 'ies'}")
    return EXIT_OK


def _predictions(path: str) -> dict[str, str]:
    import polars as pl

    p = Path(path)
    if not p.is_file():
        raise BadInput(f"--predictions {path}: no such file; write one row per diary input with input and prediction.")
    try:
        if p.suffix in (".jsonl", ".ndjson"):
            df = pl.read_ndjson(p, infer_schema_length=None)
        elif p.suffix == ".parquet":
            df = pl.read_parquet(p)
        else:
            df = pl.read_csv(p, infer_schema_length=0)
    except Exception as exc:
        raise BadInput(
            f"--predictions {path} is unreadable ({_one_line(str(exc).splitlines()[0] if str(exc) else exc)})."
        ) from None
    key = "input" if "input" in df.columns else "text"
    if key not in df.columns or "prediction" not in df.columns:
        raise BadInput(f"--predictions needs columns 'input' (or 'text') and 'prediction'; found {df.columns}.")
    return {str(i): ("" if v is None else str(v)) for i, v in zip(df[key].to_list(), df["prediction"].to_list())}


def cmd_diary_evaluate(args: argparse.Namespace) -> int:
    with _diary(args) as diary:
        run = diary.evaluate(
            _predictions(args.predictions),
            args.run,
            headline=args.headline,
            headline_name=args.headline_name,
            higher_is_better=not args.lower_is_better,
            note=args.note,
        )
    head = "" if run.headline is None else f"; {run.headline_name} {run.headline:.4g}"
    _say(f"run {run.run!r}: {run.n_passed} of {run.outcomes.height} diary entries pass{head}")
    return EXIT_OK


def cmd_diary_compare(args: argparse.Namespace) -> int:
    with _diary(args) as diary:
        cmp = diary.compare(args.run_a, args.run_b)
    _say(cmp.verdict)
    counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in cmp.counts.items() if n)
    _say(f"entries: {counts}")
    for r in cmp.broken.iter_rows(named=True):
        _say(
            f"  broken {r['entry_id']} ({r['severity']}): {r['input']!r} expected {r['expected']!r}, got {r['observed_b']!r}"
        )
    if args.json:
        Path(args.json).write_text(cmp.table.write_json(), "utf-8")
    worse = cmp.n_broken > 0 if args.fail_on == "broken" else cmp.diary_worse
    return EXIT_FAILED if worse else EXIT_OK


# -- demo -------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    import polars as pl
    from tqdm import tqdm

    from workbench import demo
    from workbench.audit import Audit
    from workbench.diary import Diary
    from workbench.embed import Embedder
    from workbench.provenance import freeze_anchor

    out = Path(args.out)
    steps = tqdm(total=4, desc="demo", unit="step", file=sys.stderr, disable=args.quiet, leave=False)
    steps.set_postfix_str("data")
    df = demo.tour_dataset(seed=args.seed, n_real=args.rows, n_template=args.rows // 3, n_markov=args.rows // 3,
                           n_vendor=max(args.rows // 15, 1))  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    data_path = out / "demo.csv"
    df.write_csv(data_path)
    steps.update(1)
    steps.set_postfix_str("anchor")
    anchor = freeze_anchor(df.filter(pl.col("split") == "anchor"), out / "anchor", overwrite=True)
    steps.update(1)
    steps.set_postfix_str("audit")
    report = Audit(df, anchor=anchor, embedder=Embedder(progress=False if args.quiet else None), seed=args.seed).run()
    steps.update(1)
    steps.set_postfix_str("diary")
    diary_path = out / DEFAULT_DIARY
    with Diary(diary_path) as diary:
        # real reviews that a model trained on the synthetic rows gets wrong: the first diary entries
        vanishes = report.results.get("score_vanishes")
        if vanishes is not None and vanishes.evidence.height and "origin" in vanishes.evidence.columns:
            wrong_on_real = vanishes.evidence.filter(pl.col("origin") == "real")
            diary.add_from_evidence(
                wrong_on_real,
                expected_column="label",
                observed_column="prediction",
                found_in="audit:score_vanishes",
                tags=["artifact_learning"],
                note="a real review the synthetic-trained model gets wrong",
            )
        report.attach_diary(diary)
        n_entries = len(diary)
    json_path, html_path = report.to_json(out / "report" / "audit.json"), report.to_html(out / "report" / "audit.html")
    steps.update(1)
    steps.close()
    _say(f"demo data: {data_path} ({df.height} rows: real reviews and planted synthetic failures)")
    _say(f"anchor set: {out / 'anchor'}; failure diary: {diary_path} ({n_entries} entries)")
    _say(_status_table(report))
    _say(f"report: {html_path}  (JSON: {json_path})")
    failed = report.failed("fail")
    _say(f"as a CI gate this data would {'FAIL (exit 1): ' + ', '.join(failed) if failed else 'pass (exit 0)'}")
    _say(f"try: workbench audit {data_path} --anchor {out / 'anchor'} --out {out / 'report'} --fail-on warn")
    return EXIT_OK


# -- parser -----------------------------------------------------------------------------------

EPILOG = """\
exit codes: 0 clean, 1 a check failed at the --fail-on level, a check named in --checks could not
            run (unless --allow-skipped), or the diary got worse,
            2 bad input (one line says what and how to fix it), 3 internal error (a bug).

examples:
  workbench demo --out demo/                       # try everything on bundled data
  workbench freeze-anchor real.csv --out anchors/v1 --sample 500
  workbench audit data.csv --anchor anchors/v1 --out report/ --fail-on warn
  workbench audit chats.jsonl --column text=response --origin synthetic --checks provenance,contamination
  workbench validity real.csv --out validity/       # what a pass means on this data
  workbench diary add --input "Oh great, another sequel." --expected rotten --observed fresh --severity high
  workbench diary add --from-report report/audit.json --check label_shortcut --expected-column label
  workbench diary list --json > diary_inputs.jsonl
  workbench diary evaluate --run model-v2 --predictions predictions.csv --headline 0.91
  workbench diary compare model-v1 model-v2        # exit 1 when the diary got worse
"""


def _add_data_args(p: argparse.ArgumentParser) -> None:
    from workbench.formats import ALL_FORMATS

    p.add_argument("data", metavar="DATA", help="examples: CSV, TSV, Parquet, JSONL or JSON (tables or any --format), "
                   "or a dataset folder (Hugging Face save_to_disk, Argilla to_disk, distilabel Distiset)")  # fmt: skip
    p.add_argument("--column", action="append", default=[], metavar="NAME=SOURCE",
                   help="map a source column to a schema column, e.g. --column text=review (repeatable)")  # fmt: skip
    p.add_argument("--origin", choices=["real", "synthetic"], help="origin of rows whose file has no origin column")
    p.add_argument("--format", choices=ALL_FORMATS, metavar="FORMAT",
                   help="the data's format (default: recognised from its shape): " + ", ".join(ALL_FORMATS))  # fmt: skip
    p.add_argument("--role", metavar="ROLE", default="assistant",
                   help="chat data: whose turns become rows (default assistant; ShareGPT gpt is the same; human/user)")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="workbench",
        description="Can I trust this synthetic data? Audit it, gate a pipeline on the result, keep a failure diary.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser(
        "audit",
        help="run every check on DATA, write the report, exit 1 if a check fails",
        description="Run the registered checks on DATA, write audit.json and audit.html into --out, and exit 1 "
        "when any check reaches the --fail-on level, or a check named in --checks could not run (a CI gate).",
        epilog=textwrap.dedent("""\
            examples:
              workbench audit data.csv --anchor anchors/v1 --out report/
              workbench audit data.parquet --fail-on warn --embeddings cached.npy
              workbench audit chats.jsonl --format sharegpt --role gpt --out report/   # one row per gpt turn
              workbench audit data.csv --checks coverage_illusion --param coverage_illusion.k=10
              workbench audit data.csv --diary failure_diary.sqlite   # the diary's last two runs gate too
            """),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_args(p)
    p.add_argument("--anchor", metavar="DIR", help="a frozen anchor set (see freeze-anchor)")
    p.add_argument("--out", metavar="DIR", default="audit-report", help="where to write audit.json and audit.html")
    p.add_argument("--fail-on", choices=["warn", "fail"], default="fail", help="the status that fails the gate")
    p.add_argument("--checks", metavar="A,B",
                   help="run only these checks (comma-separated names); one that cannot run fails the gate")  # fmt: skip
    p.add_argument("--allow-skipped", action="store_true",
                   help="pass the gate even when checks asked for by name (or all checks) could not run")  # fmt: skip
    p.add_argument("--param", action="append", default=[], metavar="CHECK.NAME=VALUE",
                   help="override a check parameter, e.g. --param coverage_illusion.k=10 (repeatable; VALUE is "
                   "read as JSON, else as text); a value out of range is bad input (exit 2)")  # fmt: skip
    p.add_argument("--embeddings", metavar="FILE.npy", help="precomputed embeddings aligned with DATA's rows")
    p.add_argument("--diary", metavar="PATH", help="attach a failure diary; its last two runs are compared")
    p.add_argument("--validity-seeds", type=int, default=0, metavar="N",
                   help="also run the validity report (see `workbench validity`) with N data sets per strength, "
                   "on the audit's embeddings, and add its section to the report (default 0: off)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed for every random choice (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or check table")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser(
        "validity",
        help="what a pass means on DATA: plant each failure into its real rows, measure every check",
        description="Plant each failure mode at graded strengths into DATA's real rows (tells, a missing topic, "
        "leaked rows, diversity collapse, labeler biases, narrowing generations), draw as many clean resamples, "
        "run the registered checks, and write validity.json and validity.html into --out: per check, the "
        "detection rate by strength (Wilson intervals), the smallest strength detected 9 times in 10 and the "
        "false-alarm rate on clean resamples. Exit 0 unless the input is bad.",
        epilog=textwrap.dedent("""\
            examples:
              workbench validity real.csv --out validity/
              workbench validity data.parquet --embeddings cached.npy --seeds 5 --checks contamination,label_bias
              workbench validity data.csv --level warn      # count warnings as alarms too
            """),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_args(p)
    p.add_argument("--out", metavar="DIR", default="validity-report", help="where to write validity.json and .html")
    p.add_argument("--checks", metavar="A,B", help="measure only these checks (comma-separated names)")
    p.add_argument("--param", action="append", default=[], metavar="CHECK.NAME=VALUE",
                   help="measure a check with a parameter override, as `audit --param` (repeatable)")  # fmt: skip
    p.add_argument("--embeddings", metavar="FILE.npy", help="precomputed embeddings aligned with DATA's rows")
    p.add_argument("--seeds", type=int, default=10, help="data sets per strength, and clean resamples (default 10)")
    p.add_argument("--level", choices=["warn", "fail"], default="fail", help="the status that counts as an alarm")
    p.add_argument("--max-rows", type=int, default=2000, metavar="N",
                   help="a seeded sample of at most N real rows (default 2000)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed for every random choice (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_validity)

    p = sub.add_parser(
        "freeze-anchor",
        help="freeze real rows of DATA as the anchor set",
        description="Freeze DATA's real rows (optionally one split, optionally a seeded sample) as an anchor set: "
        "anchor.parquet plus manifest.json with content hashes, so any later change is detected.",
        epilog="example:\n  workbench freeze-anchor real.csv --out anchors/v1 --split anchor --sample 500 --seed 0",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_args(p)
    p.add_argument("--out", metavar="DIR", required=True, help="folder for the anchor set")
    p.add_argument("--split", help="only rows of this split (e.g. anchor)")
    p.add_argument("--sample", type=int, metavar="N", help="a seeded sample of N rows")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--note", default="", help="why this anchor set was frozen")
    p.add_argument("--overwrite", action="store_true", help="replace a different anchor set in --out deliberately")
    p.set_defaults(func=cmd_freeze_anchor)

    d = sub.add_parser(
        "diary",
        help="the failure diary: add, list, evaluate, compare",
        description="The failure diary: the most damaging errors with their exact inputs, re-run on every model.",
        epilog=textwrap.dedent("""\
            examples:
              workbench diary add --input "Oh great, another sequel." --expected rotten --observed fresh
              workbench diary list --severity critical
              workbench diary evaluate --run v2 --predictions preds.jsonl --headline 0.91
              workbench diary compare v1 v2
            """),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dsub = d.add_subparsers(dest="diary_command", metavar="ACTION", parser_class=_Parser)
    dsub.required = True

    def diary_parser(name: str, **kw: Any) -> argparse.ArgumentParser:
        q = dsub.add_parser(name, formatter_class=argparse.RawDescriptionHelpFormatter, **kw)
        q.add_argument(
            "--diary", metavar="PATH", default=DEFAULT_DIARY, help=f"the diary file (default {DEFAULT_DIARY})"
        )
        return q

    q = diary_parser(
        "add",
        help="record an entry, or every evidence row of a check in an audit report",
        description="Record one failure (--input, --expected) or the evidence rows of one check of an audit "
        "report (--from-report, --check). Entries are never altered; the same input and expected output "
        "recorded again is the same entry.",
        epilog="examples:\n  workbench diary add --input 'Not bad at all.' --expected fresh --observed rotten --tag negation\n"
        "  workbench diary add --from-report report/audit.json --check label_shortcut --expected-column label",
    )
    q.add_argument("--input", help="the exact input text that caused the error")
    q.add_argument("--expected", help="the right output (with --from-report: one expected output for every row)")
    q.add_argument("--observed", help="what the system gave")
    q.add_argument("--severity", default="high", help="low, medium, high (default) or critical")
    q.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    q.add_argument("--note", default="", help="why it matters")
    q.add_argument("--found-in", default="by hand", help="where it was found (default: by hand)")
    q.add_argument("--source-id", help="the id of the data row it came from")
    q.add_argument("--author", default=os.environ.get("USER", ""), help="who recorded it")
    q.add_argument("--from-report", metavar="AUDIT_JSON", help="an audit.json written by `workbench audit`")
    q.add_argument("--check", help="with --from-report: the check whose evidence rows to record")
    q.add_argument("--expected-column", help="with --from-report: the evidence column holding the expected output")
    q.add_argument("--observed-column", help="with --from-report: the evidence column holding the observed output")
    q.add_argument("--input-column", default="text", help="with --from-report: the evidence column holding the input")
    q.set_defaults(func=cmd_diary_add)

    q = diary_parser(
        "list",
        help="show entries (or JSON lines with --json)",
        description="Show the current version of every active entry, optionally filtered.",
        epilog="example:\n  workbench diary list --severity high --severity critical --tag negation",
    )
    q.add_argument("--severity", action="append", default=[], help="only these severities (repeatable)")
    q.add_argument("--tag", action="append", default=[], help="only entries with all these tags (repeatable)")
    q.add_argument("--search", help="case-insensitive text to find in input, expected, observed or note")
    q.add_argument("--all", action="store_true", help="include retired entries")
    q.add_argument("--json", action="store_true", help="one JSON object per line (to feed a model)")
    q.set_defaults(func=cmd_diary_list)

    q = diary_parser(
        "evaluate",
        help="store a model run's answers on every entry",
        description="Score a model run on the diary from a predictions file with columns input (or text) and "
        "prediction (CSV, JSONL or Parquet), one row per diary input.",
        epilog="example:\n  workbench diary list --json > inputs.jsonl   # run your model on the inputs\n"
        "  workbench diary evaluate --run v2 --predictions preds.csv --headline 0.91 --headline-name accuracy",
    )
    q.add_argument("--run", required=True, help="a new run name (runs are never overwritten)")
    q.add_argument("--predictions", required=True, metavar="FILE", help="CSV, JSONL or Parquet: input, prediction")
    q.add_argument("--headline", type=float, help="the model's headline score on its usual test set")
    q.add_argument("--headline-name", default="score", help="what the headline is (default: score)")
    q.add_argument("--lower-is-better", action="store_true", help="the headline is an error rate or loss")
    q.add_argument("--note", default="")
    q.set_defaults(func=cmd_diary_evaluate)

    q = diary_parser(
        "compare",
        help="entry-by-entry regressions between two runs; exit 1 when the diary got worse",
        description="Compare two runs entry by entry: fixed, broken (regressions), unchanged. Says plainly when the "
        "headline improved but the diary got worse. Exit 1 when the diary got worse (more entries broke than "
        "were fixed), or with --fail-on broken when any entry broke.",
        epilog="example:\n  workbench diary compare baseline better-mix --fail-on broken",
    )
    q.add_argument("run_a", metavar="RUN_A", help="the earlier run")
    q.add_argument("run_b", metavar="RUN_B", help="the later run")
    q.add_argument("--fail-on", choices=["worse", "broken"], default="worse",
                   help="worse (default): more broken than fixed; broken: any broken entry")  # fmt: skip
    q.add_argument("--json", metavar="FILE", help="also write the per-entry table as JSON")
    q.set_defaults(func=cmd_diary_compare)

    p = sub.add_parser(
        "demo",
        help="try everything on the bundled data: data, anchor, audit, diary, report",
        description="Write the bundled demo data (real reviews plus synthetic data with planted failures), freeze "
        "an anchor set, audit it, start a failure diary and write the report. Always exits 0; it prints what a "
        "gate would do.",
        epilog="example:\n  workbench demo --out demo/ && open demo/report/audit.html",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", metavar="DIR", default="workbench-demo", help="where to write everything")
    p.add_argument("--rows", type=int, default=300, help="real rows in the demo data (default 300)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_demo)
    return parser


def _version() -> str:
    from workbench import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `workbench` command; returns the exit code (see the module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except WorkbenchError as exc:
        _say(f"workbench: error: {_one_line(str(exc))}", err=True)
        return EXIT_BAD_INPUT
    except (FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        _say(f"workbench: error: {_one_line(str(exc))}", err=True)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # `workbench diary list --json | head`: the reader left; that is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        _say("workbench: interrupted", err=True)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        _say(
            f"workbench: internal error: {type(exc).__name__}: {_one_line(str(exc))[:300]} "
            "(a bug: rerun with --debug for the traceback and report it)",
            err=True,
        )
        return EXIT_CRASH


if __name__ == "__main__":
    sys.exit(main())
