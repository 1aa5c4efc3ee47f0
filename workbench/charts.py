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
