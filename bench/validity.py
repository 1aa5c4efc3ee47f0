"""The validity report on the bundled real data: every plant at every strength, ten seeds, 2,000 rows.

`python -m bench.validity` (or `python -m bench validity`): `workbench.validity.run` on a seeded sample
of 2,000 of the 6,000 bundled Rotten Tomatoes rows (reviews and plot synopses), every registered check
of a failure mode, the default strengths and `--seeds` data sets per strength (and as many clean
resamples per failure mode). Records how long it takes (the real rows' embeddings are first put in the
disk cache and that time reported apart; new texts, such as leaked copies and recombinations, are
embedded during the run, also once), each check's share of the time, the table, the per-check summary,
and the false-alarm rate at the `warn` level too (from the same runs' statuses). Prints the summary as
a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from bench._util import peak_rss_mb, write_result
from workbench import demo, validity
from workbench.embed import Embedder


def warn_detections(v: validity.ValidityReport) -> dict[tuple[str, str, float], int]:
    """Planted runs with a status of warn or fail, per check, plant and strength (the `--level warn` count)."""
    planted = v.runs.filter(pl.col("plant") != "clean")
    counts = planted.group_by("check", "plant", "strength").agg(pl.col("status").is_in(["warn", "fail"]).sum())
    return {(c, p, s): int(n) for c, p, s, n in counts.iter_rows()}


def markdown(v: validity.ValidityReport, warn_alarms: dict[str, tuple[int, int]]) -> str:
    lines = [
        "| check | planted (strength unit) | detected at fail (at warn, where more) by strength | 9 in 10 from "
        "| false alarms at fail | at warn |",
        "|---|---|---|---|---|---|",
    ]
    summary = {(r["check"], r["planted"]): r for r in v.summary.iter_rows(named=True)}
    warned = warn_detections(v)
    for (check, planted), rows in v.table.group_by("check", "planted", maintain_order=True):
        parts = []
        for plant, s, d, n in rows.select("plant", "strength", "detected", "runs").iter_rows():
            w = warned.get((str(check), plant, s), d)
            parts.append(f"{s:g}: {d}/{n}" + (f" ({w})" if w > d else ""))
        curve = ", ".join(parts)
        s = summary[(str(check), str(planted))]
        smallest = "never" if s["smallest_reliable_strength"] is None else f"{s['smallest_reliable_strength']:g}"
        w_alarms, w_runs = warn_alarms.get(str(check), (0, 0))
        lines.append(
            f"| {check} | {planted} ({rows['unit'][0]}) | {curve} | {smallest} | "
            f"{s['false_alarms']}/{s['clean_runs']} | {w_alarms}/{w_runs} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2000, help="real rows sampled from the bundled data")
    parser.add_argument("--seeds", type=int, default=10, help="data sets per strength (and clean resamples)")
    parser.add_argument("--quick", action="store_true", help="two seeds at the strongest level only (a smoke run)")
    args = parser.parse_args(argv)
    seeds = 2 if args.quick else args.seeds
    strengths = {p.name: [p.strengths[-1]] for p in validity.PLANTS} if args.quick else None

    real = demo.real()
    embedder = Embedder(progress=False)
    t0 = time.perf_counter()
    # the rows validity.run will sample (same seed), embedded first so the run's time excludes them
    idx = np.sort(np.random.default_rng(0).choice(real.height, size=min(args.rows, real.height), replace=False))
    embedder.encode(real["text"].gather(idx.tolist()).to_list())
    cache_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    v = validity.run(real, embedder=embedder, seeds=seeds, strengths=strengths, max_rows=args.rows)
    total_s = time.perf_counter() - t0
    per_check = (
        v.runs.group_by("check")
        .agg(pl.col("seconds").sum().round(1).alias("seconds"), pl.len().alias("runs"))
        .sort("seconds", descending=True)
    )
    clean = v.runs.filter(pl.col("plant") == "clean")
    warn_alarms = {
        str(c): (int(g["status"].is_in(["warn", "fail"]).sum()), g.height) for (c,), g in clean.group_by("check")
    }
    table_md = markdown(v, warn_alarms)
    write_result(
        "validity",
        {
            "rows": v.n_rows,
            "seeds": seeds,
            "level": v.level,
            "quick": args.quick,
            "seconds_total": round(total_s, 1),
            "seconds_embedding_real_rows_first": round(cache_s, 1),
            "new_texts_embedded": v.embedded,
            "runs": v.runs.height,
            "seconds_by_check": per_check.to_dicts(),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "false_alarms_at_warn": {k: {"alarms": a, "clean_runs": n} for k, (a, n) in sorted(warn_alarms.items())},
            "summary": v.to_dict()["summary"],
            "table": v.to_dict()["table"],
            "detected_at_warn": [
                {"check": c, "plant": p, "strength": s, "detected": n}
                for (c, p, s), n in sorted(warn_detections(v).items())
            ],
            "notes": v.notes,
            "readme_table": table_md,
        },
    )
    print(table_md)


if __name__ == "__main__":
    main()
