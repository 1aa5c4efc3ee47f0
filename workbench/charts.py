"""Charts: functions that take data and return an `alt.Chart`. They never display anything.

Rendering offline is the caller's business (`widgets.setup()` does it once per notebook). Charts
over `MAX_POINTS` rows show a seeded sample and say so in their title.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl

MAX_POINTS = 5000
ORIGIN_COLORS = alt.Scale(domain=["real", "synthetic"], range=["#1f77b4", "#ff7f0e"])
STATUS_COLORS = alt.Scale(
    domain=["pass", "warn", "fail", "error", "skipped"], range=["#1a7f37", "#d4a72c", "#cf222e", "#8250df", "#afb8c1"]
)


def origin_mix(df: pl.DataFrame, by: str = "split") -> alt.Chart:
    """Rows by origin, stacked within each value of `by` (split, generator, source ...)."""
    key = by if by in df.columns else None
    cols = ["origin"] + ([key] if key else [])
    data = (
        df.select(pl.col(c).fill_null("(missing)") for c in cols).group_by(cols).agg(pl.len().alias("rows")).sort(cols)
    )
    y = alt.Y(f"{key}:N", title=key) if key else alt.Y("origin:N", title="origin")
    return (
        alt.Chart(data, title=f"Real and synthetic rows by {key or 'origin'}")
        .mark_bar()
        .encode(
            x=alt.X("rows:Q", title="rows", stack="zero"),
            y=y,
            color=alt.Color("origin:N", scale=ORIGIN_COLORS),
            tooltip=[*cols, "rows:Q"],
        )
    )


def provenance_chart(df: pl.DataFrame) -> alt.Chart:
    """Rows per generator (and version), coloured by origin; missing provenance shows as '(missing)'."""
    data = df.select(
        pl.col("origin").fill_null("(missing)"),
        pl.concat_str(
            [
                pl.col("generator").fill_null("(missing)") if "generator" in df.columns else pl.lit("(missing)"),
                pl.col("generator_version").fill_null("?") if "generator_version" in df.columns else pl.lit("?"),
            ],
            separator=" v",
        ).alias("generator"),
    )
    data = data.with_columns(
        pl.when(pl.col("origin") == "real")
        .then(pl.lit("(real data)"))
        .otherwise(pl.col("generator"))
        .alias("generator")
    )
    data = data.group_by("origin", "generator").agg(pl.len().alias("rows")).sort("generator")
    return (
        alt.Chart(data, title="Where every example came from")
        .mark_bar()
        .encode(
            x=alt.X("rows:Q"),
            y=alt.Y("generator:N", sort="-x", title="generator and version"),
            color=alt.Color("origin:N", scale=ORIGIN_COLORS),
            tooltip=["origin", "generator", "rows"],
        )
    )


def sample_for_display(frame: pl.DataFrame, max_points: int = MAX_POINTS, seed: int = 0) -> tuple[pl.DataFrame, str]:
    """At most `max_points` rows (a seeded sample) and a note saying so, or ('', all rows)."""
    if frame.height <= max_points:
        return frame, ""
    return frame.sample(max_points, seed=seed), f" (sample of {max_points:,} of {frame.height:,} points)"


def embedding_map(
    frame: pl.DataFrame,
    *,
    color: str = "origin",
    tooltip: tuple[str, ...] = ("origin", "text"),
    title: str = "Embedding map: real vs synthetic",
    max_points: int = MAX_POINTS,
    seed: int = 0,
) -> alt.Chart:
    """Scatter of 2-D coordinates (`x`, `y` columns) with a brush selection named `brush`.

    `frame` needs `id`, `x`, `y` and the `color` and `tooltip` columns. Texts are cut to 200
    characters in tooltips.
    """
    missing = [c for c in ("id", "x", "y", color, *tooltip) if c not in frame.columns]
    if missing:
        raise ValueError(f"embedding_map needs columns {missing}")
    data, note = sample_for_display(frame, max_points, seed)
    keep = list(dict.fromkeys(["id", "x", "y", color, *tooltip]))
    data = data.select(keep)
    if "text" in data.columns:
        data = data.with_columns(pl.col("text").str.slice(0, 200))
    brush = alt.selection_interval(name="brush")
    scale = ORIGIN_COLORS if color == "origin" else alt.Undefined
    return (
        alt.Chart(data, title=title + note)
        .mark_circle(size=28, opacity=0.65)
        .encode(
            x=alt.X("x:Q", title="component 1", axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y("y:Q", title="component 2", axis=alt.Axis(labels=False, ticks=False)),
            color=alt.Color(f"{color}:N", scale=scale),
            tooltip=list(tooltip),
        )
        .add_params(brush)
        .properties(width=420, height=360)
    )


def audit_status(table: pl.DataFrame) -> alt.Chart:
    """One cell per check, grouped by failure mode, coloured by status."""
    data = table.select("check", "failure_mode", "status", "score", "summary").with_columns(
        pl.col("summary").str.slice(0, 160)
    )
    return (
        alt.Chart(data, title="Audit: status of every check")
        .mark_rect(stroke="white", strokeWidth=2)
        .encode(
            x=alt.X("failure_mode:N", title=None, axis=alt.Axis(labelAngle=-30)),
            y=alt.Y("check:N", title=None),
            color=alt.Color("status:N", scale=STATUS_COLORS),
            tooltip=["check", "failure_mode", "status", "score", "summary"],
        )
        .properties(width=alt.Step(90), height=alt.Step(24))
    )


def spec(chart: Any) -> dict[str, Any]:
    """The chart's Vega-Lite spec as a dict (what tests assert on)."""
    return chart.to_dict()


# --- issue 7 ---


def duplicate_pairs_chart(pairs: pl.DataFrame) -> alt.Chart:
    """Similarity of duplicate pairs across splits, binned, one colour per kind (from `find_duplicates`)."""
    data = pairs.select("kind", "similarity", "split_a", "split_b")
    title = f"Duplicate pairs across splits ({pairs.height:,} pairs, binned)"
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            x=alt.X("similarity:Q", bin=alt.Bin(maxbins=30), title="similarity (Jaccard estimate, cosine, or share)"),
            y=alt.Y("count():Q", title="pairs"),
            color=alt.Color("kind:N"),
            tooltip=["kind:N", "count():Q"],
        )
        .properties(width=420, height=200)
    )


def diversity_comparison_chart(table: pl.DataFrame) -> alt.Chart:
    """Relative change of each diversity metric, synthetic vs real, with its interval (from
    `diversity.compare`); left of zero means the synthetic data is less diverse."""
    data = table.select("metric", "change", "ci_low", "ci_high")
    base = alt.Chart(data, title="Synthetic vs real: relative change in diversity (negative = less diverse)")
    bars = base.mark_rule(strokeWidth=2).encode(
        y=alt.Y("metric:N", title=None), x=alt.X("ci_low:Q", title="relative change"), x2="ci_high:Q"
    )
    points = base.mark_point(filled=True, size=70).encode(
        y="metric:N",
        x="change:Q",
        color=alt.condition("datum.ci_high < 0", alt.value("#cf222e"), alt.value("#1f77b4")),
        tooltip=["metric", alt.Tooltip("change:Q", format="+.1%"), "ci_low", "ci_high"],
    )
    zero = alt.Chart(pl.DataFrame({"x": [0.0]})).mark_rule(color="gray", strokeDash=[4, 3]).encode(x="x:Q")
    return (bars + points + zero).properties(width=420, height=alt.Step(26))


def generation_trend_chart(
    table: pl.DataFrame, metrics: tuple[str, ...] = ("distinct_2", "vendi_score"), reset_point: int | None = None
) -> alt.Chart:
    """Metrics by generation (from `drift.generation_report(...).table`), one panel per metric, and
    the recommended reset point as a dashed rule."""
    present = [m for m in metrics if m in table.columns]
    long = table.select("generation", *present).unpivot(index="generation", variable_name="metric", value_name="value")
    line = (
        alt.Chart()
        .mark_line(point=True)
        .encode(
            x=alt.X("generation:O", title="generation"),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            tooltip=["generation", "metric", alt.Tooltip("value:Q", format=".4g")],
        )
    )
    layers = [line]
    if reset_point is not None:
        layers.append(
            alt.Chart()
            .mark_rule(color="#cf222e", strokeDash=[5, 3])
            .encode(x="generation:O")
            .transform_filter(alt.datum.generation == reset_point)
        )
    return (
        alt.layer(*layers, data=long)
        .properties(width=260, height=160)
        .facet(facet=alt.Facet("metric:N", title=None), columns=3)
        .resolve_scale(y="independent")
        .properties(title="Feedback amplification: metrics by generation (dashed: reset point)")
    )


# --- issue 6: sensitivity and calibration ---


def sensitivity_curve(table: pl.DataFrame, metric: str = "flip_rate") -> alt.Chart:
    """`metric` (flip_rate, accuracy, confidence_shift or failure_rate) against perturbation strength.

    One line per perturbation with its 95% interval as a band; for accuracy every line starts at
    the unperturbed baseline (strength 0).
    """
    allowed = ("flip_rate", "accuracy", "confidence_shift", "failure_rate")
    if metric not in allowed:
        raise ValueError(f"metric must be one of {allowed}; got {metric!r}")
    lo, hi = f"{metric}_lo", f"{metric}_hi"
    data = table.filter(pl.col("perturbation") != "none")
    if metric in ("accuracy",):
        base = table.filter(pl.col("perturbation") == "none")
        if base.height:
            starts = data.select("perturbation", "expectation").unique().sort("perturbation")
            data = pl.concat(
                [
                    base.drop("perturbation", "expectation").join(starts, how="cross").select(data.columns),
                    data,
                ]
            )
    data = data.select("perturbation", "expectation", "strength", metric, lo, hi).filter(pl.col(metric).is_not_nan())
    titles = {
        "flip_rate": "Share of changed texts whose prediction flipped",
        "accuracy": "Accuracy under perturbation",
        "confidence_shift": "Change in confidence of the original answer",
        "failure_rate": "Behavioural test failure rate (INV / DIR)",
    }
    base_chart = alt.Chart(data, title=titles[metric]).encode(
        x=alt.X("strength:Q", title="perturbation strength", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("perturbation:N"),
    )
    band = base_chart.mark_area(opacity=0.15).encode(y=alt.Y(f"{lo}:Q"), y2=alt.Y2(f"{hi}:Q"))
    line = base_chart.mark_line(point=True).encode(
        y=alt.Y(f"{metric}:Q", title=metric.replace("_", " ")),
        strokeDash=alt.StrokeDash("expectation:N"),
        tooltip=["perturbation", "expectation", "strength", metric, lo, hi],
    )
    return (band + line).properties(width=420, height=280)


def reliability_diagram(table: pl.DataFrame, title: str = "Reliability diagram") -> alt.Chart:
    """Accuracy against confidence per bin (from `calibration.reliability_table`), with the diagonal.

    Bars sit at each bin's mean confidence; a `strength` column, if present, colours one series
    per strength (from `calibration.reliability_under_shift`).
    """
    data = table.filter(pl.col("n") > 0)
    color = "strength:O" if "strength" in data.columns else alt.value("#1f77b4")
    diagonal = alt.Chart(pl.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]})).mark_line(color="#999", strokeDash=[4, 4])
    points = (
        alt.Chart(data, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("confidence:Q", title="mean confidence in bin", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("accuracy:Q", title="accuracy in bin", scale=alt.Scale(domain=[0, 1])),
            color=color,
            size=alt.Size("n:Q", title="rows in bin"),
            tooltip=[
                c
                for c in ("strength", "bin", "lower", "upper", "n", "confidence", "accuracy", "gap")
                if c in data.columns
            ],
        )
    )
    return (diagonal.encode(x="x:Q", y="y:Q") + points).properties(width=320, height=320)


def transfer_accuracy(
    table: pl.DataFrame, title: str = "Trained on synthetic: where does the score hold?"
) -> alt.Chart:
    """Accuracy with 95% intervals per training variant (`variant`) and evaluation set (`evaluated_on`).

    `table` needs `variant`, `evaluated_on`, `accuracy`, `lo`, `hi` (e.g. from
    the `accuracy` estimates of `workbench.checks.artifacts.paraphrase_test` results, one row per
    variant and set).
    """
    base = alt.Chart(table, title=title).encode(
        x=alt.X("evaluated_on:N", title=None, sort=None),
        xOffset=alt.XOffset("variant:N", sort=None),
        color=alt.Color("variant:N", sort=None),
    )
    bars = base.mark_bar().encode(
        y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1])),
        tooltip=["variant", "evaluated_on", "accuracy", "lo", "hi"],
    )
    return (bars + base.mark_rule(color="black").encode(y="lo:Q", y2="hi:Q")).properties(width=420, height=260)


# --- issue 4: coverage ---

COVERAGE_STATUS = ("real, uncovered", "real, covered", "synthetic")


def coverage_sample(frame: pl.DataFrame, max_points: int = MAX_POINTS, seed: int = 0) -> tuple[pl.DataFrame, str]:
    """At most `max_points` rows for display, keeping uncovered real rows first (they are the
    point of the chart: up to half the budget), then a seeded sample of the rest; and a note
    saying what was sampled ('' when every row fits)."""
    if frame.height <= max_points:
        return frame, ""
    uncovered = frame.filter(pl.col("status") == COVERAGE_STATUS[0])
    keep_unc = uncovered if uncovered.height <= max_points // 2 else uncovered.sample(max_points // 2, seed=seed)
    rest = frame.filter(pl.col("status") != COVERAGE_STATUS[0])
    rest = rest.sample(min(rest.height, max_points - keep_unc.height), seed=seed)
    shown = pl.concat([rest, keep_unc])
    note = (
        f" (sample of {shown.height:,} of {frame.height:,} points; "
        f"{keep_unc.height:,} of {uncovered.height:,} uncovered real shown)"
    )
    return shown, note


def coverage_map(
    frame: pl.DataFrame,
    *,
    title: str = "Coverage: real vs synthetic",
    max_points: int = MAX_POINTS,
    seed: int = 0,
) -> alt.Chart:
    """Scatter of real and synthetic rows in 2-D, real rows coloured by cluster, uncovered real
    rows drawn as large crosses, synthetic rows as small grey dots.

    `frame` needs `id`, `x`, `y`, `status` (one of `COVERAGE_STATUS`), `cluster` and `text`
    (see `TailAudit.map_frame`). Params: `brush` (interval on x/y) and `pick` (click: a cluster).
    Over `max_points` rows a sample is drawn (uncovered real rows first) and the title says so.
    """
    missing = [c for c in ("id", "x", "y", "status", "cluster", "text") if c not in frame.columns]
    if missing:
        raise ValueError(f"coverage_map needs columns {missing}; build the frame with TailAudit.map_frame")
    data, note = coverage_sample(frame, max_points, seed)
    data = data.select("id", "x", "y", "status", "cluster", pl.col("text").str.slice(0, 200)).with_columns(
        group=pl.when(pl.col("status") == "synthetic")
        .then(pl.lit("synthetic"))
        .otherwise(pl.format("cluster {}", pl.col("cluster")))
    )
    clusters = sorted(frame.filter(pl.col("status") != "synthetic")["cluster"].unique().to_list())
    palette = [
        "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#d62728", "#ff7f0e",
        "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#31a354", "#756bb1", "#e6550d",
    ]  # fmt: skip
    domain = [f"cluster {c}" for c in clusters] + ["synthetic"]
    colors = [palette[i % len(palette)] for i in range(len(clusters))] + ["#b0b0b0"]
    brush = alt.selection_interval(name="brush")
    pick = alt.selection_point(name="pick", fields=["cluster"], on="click")
    return (
        alt.Chart(data, title=title + note)
        .mark_point(filled=True)
        .encode(
            x=alt.X("x:Q", title="component 1", axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y("y:Q", title="component 2", axis=alt.Axis(labels=False, ticks=False)),
            color=alt.Color("group:N", scale=alt.Scale(domain=domain, range=colors), title="real cluster"),
            shape=alt.Shape(
                "status:N",
                scale=alt.Scale(domain=list(COVERAGE_STATUS), range=["cross", "circle", "circle"]),
                title="point",
            ),
            size=alt.Size("status:N", scale=alt.Scale(domain=list(COVERAGE_STATUS), range=[90, 22, 10]), legend=None),
            opacity=alt.Opacity(
                "status:N", scale=alt.Scale(domain=list(COVERAGE_STATUS), range=[1.0, 0.55, 0.35]), legend=None
            ),
            order=alt.Order("status:N", sort="descending"),
            tooltip=["status", "cluster", "text"],
        )
        .add_params(brush, pick)
        .properties(width=460, height=380)
    )


def cluster_coverage(clusters: pl.DataFrame, top: int = 15, title: str | None = None) -> alt.Chart:
    """The `top` worst-covered clusters of a `TailAudit.clusters` table: bar = 1 - gap, the smaller
    of coverage / expected coverage and synthetic share / real share (1 for same-distribution
    data, 0 for a cluster the synthetic data misses), with both in the tooltip. `title` is
    prefixed to the chart's title (e.g. "before" / "after" when two are shown side by side)."""
    data = clusters.head(top).select(
        pl.format("#{} cluster {}", pl.col("rank"), pl.col("cluster")).alias("name"),
        (1 - pl.col("gap")).alias("covered"),
        "coverage",
        "representation",
        "real_share",
        "top_terms",
        "rank",
    )
    return (
        alt.Chart(
            data,
            title=(f"{title}: how well" if title else "How well")
            + f" the worst {min(top, clusters.height)} clusters are covered",
        )
        .mark_bar()
        .encode(
            x=alt.X(
                "covered:Q",
                scale=alt.Scale(domain=[0, 1]),
                title="min(coverage / expected, synthetic share / real share)",
            ),
            y=alt.Y("name:N", sort=alt.EncodingSortField("rank"), title=None),
            color=alt.Color("covered:Q", scale=alt.Scale(scheme="redyellowgreen", domain=[0, 1]), legend=None),
            tooltip=["name", "coverage", "representation", "real_share", "top_terms"],
        )
        .properties(width=300, height=alt.Step(18))
    )


# --- issue 5: label bias ---


def label_bias_chart(table: pl.DataFrame, top: int = 10, title: str | None = None) -> alt.Chart:
    """Which surface features a labeler's disagreements follow: AUC with 95% intervals, strongest first.

    `table` is `workbench.checks.labels.label_bias_test(...).table`; the `top` features by
    distance from 0.5 are drawn, coloured by significance after Holm correction. AUC 0.5 = no relation.
    """
    shown = table.with_columns(strength=(pl.col("auc") - 0.5).abs()).sort("strength", descending=True).head(top)
    shown = shown.with_columns(
        significant=pl.when(pl.col("significant"))
        .then(pl.lit("significant (Holm)"))
        .otherwise(pl.lit("not significant"))
    )
    order = shown["feature"].to_list()
    base = alt.Chart(
        shown, title=title or f"Labeler disagreement vs surface features (top {len(order)} of {table.height})"
    )
    bars = base.mark_bar().encode(
        y=alt.Y("feature:N", sort=order, title=None),
        x=alt.X("auc:Q", scale=alt.Scale(domain=[0, 1]), title="AUC for disagreement (0.5 = none)"),
        color=alt.Color(
            "significant:N",
            scale=alt.Scale(domain=["significant (Holm)", "not significant"], range=["#d62728", "#9e9e9e"]),
        ),
        tooltip=["feature", "kind", "auc", "lo", "hi", "p_holm", "rate_high", "rate_low", "wrong_label"],
    )
    rules = base.mark_rule(color="black").encode(y=alt.Y("feature:N", sort=order), x="lo:Q", x2="hi:Q")
    half = alt.Chart(pl.DataFrame({"x": [0.5]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    return (bars + rules + half).properties(width=420, height=22 * max(len(order), 1))


# --- issue 8: failure diary and audit report ---

DIARY_CHANGES = ["fixed", "broken", "still_failing", "still_passing", "new", "dropped"]
DIARY_CHANGE_COLORS = alt.Scale(
    domain=DIARY_CHANGES, range=["#1a7f37", "#cf222e", "#d4a72c", "#8c959f", "#0969da", "#d0d7de"]
)


def diary_comparison(comparison: Any) -> alt.Chart:
    """Diary entries fixed, broken and unchanged from run a to run b, stacked by severity.

    `comparison` is a `workbench.diary.DiaryComparison` (or anything with `run_a`, `run_b` and a
    `table` holding `change` and `severity`). Broken entries are regressions on known failures.
    """
    t = comparison.table
    data = (
        t.group_by("change", "severity")
        .agg(pl.len().alias("entries"))
        .with_columns(
            pl.col("severity")
            .replace_strict({"low": 0, "medium": 1, "high": 2, "critical": 3}, default=4, return_dtype=pl.Int64)
            .alias("severity_rank")
        )
        .sort("change", "severity_rank")
    )
    n_broken = int((t["change"] == "broken").sum())
    n_fixed = int((t["change"] == "fixed").sum())
    title = f"Diary: {comparison.run_a} → {comparison.run_b} ({n_fixed} fixed, {n_broken} broken)"
    return (
        alt.Chart(data, title=title)
        .mark_bar(stroke="white", strokeWidth=1)
        .encode(
            y=alt.Y("change:N", sort=DIARY_CHANGES, title=None, scale=alt.Scale(domain=DIARY_CHANGES)),
            x=alt.X("entries:Q", title="diary entries", stack="zero"),
            color=alt.Color("change:N", scale=DIARY_CHANGE_COLORS, legend=None),
            opacity=alt.Opacity(
                "severity:N",
                scale=alt.Scale(domain=["low", "medium", "high", "critical"], range=[0.35, 0.55, 0.8, 1.0]),
            ),
            order=alt.Order("severity_rank:Q"),
            tooltip=["change", "severity", "entries"],
        )
        .properties(width=420, height=alt.Step(26))
    )


# --- issue 13: privacy ---


def dcr_distributions(histograms: Any) -> alt.Chart:
    """Distances to the closest training record: synthetic rows vs holdout rows (fresh real data).

    `histograms`: a `privacy.DCRTest`, its `.histogram()` dict, or a list (or space -> dict mapping)
    of them, as the privacy check stores in `details["dcr"]`. One panel per space; each line is the
    share of a set's rows per distance bin. Synthetic mass left of the holdout's (closer to training
    than fresh real data is) is what memorization looks like.
    """
    if hasattr(histograms, "histogram"):
        histograms = [histograms.histogram()]
    elif isinstance(histograms, dict) and "edges" in histograms:
        histograms = [histograms]
    elif isinstance(histograms, dict):
        histograms = [h.get("histogram", h) for h in histograms.values()]
    rows = []
    for h in histograms:
        edges = h["edges"]
        for who, label in (("synthetic", "synthetic -> train"), ("holdout", "holdout -> train")):
            for i, share in enumerate(h[who]):
                rows.append(
                    {"space": h["space"], "distance": (edges[i] + edges[i + 1]) / 2, "share": share, "rows": label}
                )
    data = pl.DataFrame(
        rows, schema={"space": pl.String, "distance": pl.Float64, "share": pl.Float64, "rows": pl.String}
    )
    colors = alt.Scale(domain=["synthetic -> train", "holdout -> train"], range=["#ff7f0e", "#1f77b4"])
    return (
        alt.Chart(data, title="Distance to the closest training record")
        .mark_line(point=True, interpolate="step-after")
        .encode(
            x=alt.X("distance:Q", title="distance (cosine: 1 - cos)"),
            y=alt.Y("share:Q", title="share of rows", axis=alt.Axis(format="%")),
            color=alt.Color("rows:N", scale=colors, title=None),
            tooltip=[
                "space:N",
                "rows:N",
                alt.Tooltip("distance:Q", format=".3f"),
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
        .properties(width=300, height=180)
        .facet(column=alt.Column("space:N", title=None))
    )


# --- issue 16: the validity report ---


def validity_chart(table: pl.DataFrame) -> alt.Chart:
    """Detection rate against planted strength (from `validity.run(...).table`): one panel per check,
    one line per plant with its Wilson 95% interval, the check's false-alarm rate on clean resamples as
    a dashed rule, and 0.9 (detected 9 times in 10) as a dotted one."""
    data = table.select(
        "check",
        "plant",
        "planted",
        "strength",
        "unit",
        "detection_rate",
        "ci_low",
        "ci_high",
        "false_alarm_rate",
        "runs",
    )
    base = alt.Chart().encode(
        x=alt.X("strength:Q", title="planted strength (unit: see tooltip)"),
        color=alt.Color("plant:N", title="planted"),
    )
    bars = base.mark_errorbar().encode(
        y=alt.Y("ci_low:Q", title="detection rate", scale=alt.Scale(domain=[0, 1])), y2="ci_high:Q"
    )
    line = base.mark_line(point=True).encode(
        y=alt.Y("detection_rate:Q"),
        tooltip=["check", "planted", "unit", "strength", alt.Tooltip("detection_rate:Q", format=".2f"), "runs"],
    )
    alarms = (
        alt.Chart()
        .mark_rule(color="#cf222e", strokeDash=[5, 3])
        .encode(y="mean(false_alarm_rate):Q", tooltip=[alt.Tooltip("mean(false_alarm_rate):Q", title="false alarms")])
    )
    reliable = alt.Chart().mark_rule(color="#6e7781", strokeDash=[1, 3]).encode(y=alt.datum(0.9))
    return (
        alt.layer(bars, line, alarms, reliable, data=data)
        .properties(width=220, height=150)
        .facet(facet=alt.Facet("check:N", title=None), columns=3)
        .resolve_scale(x="independent")
        .properties(
            title="Validity on this data: detection rate by planted strength (dashed: false alarms on clean data)"
        )
    )
