"""Feedback amplification: generated data trains the next generator and errors reinforce themselves.

For data with a `generation` column, `generation_report(...)` measures every generation against the
frozen real anchor set and against the first generation:

- diversity: distinct-2, vocabulary size (types on equal-size samples), MATTR; with embeddings the
  Vendi score and mean pairwise similarity (`workbench.diversity_metrics`);
- coverage of the anchor: precision / recall / density / coverage (Naeem et al. 2020, from
  `workbench.prdc`, the same as the coverage check) and *tail-cluster coverage*: the
  anchor is clustered (k-means), the smallest clusters holding at most `tail_share` of it are its
  tail, and a generation covers the share of tail clusters it puts at least one row in;
- distance: the unbiased MMD^2 (Gretton et al. 2012) with an RBF kernel whose bandwidth is the
  median pairwise distance (median heuristic), with a permutation p-value, to the anchor;
- drift: whether a generation lies further from the anchor than the first generation does
  (`further_test`: a permutation test on the difference of the two MMD^2 values).

A generation is *degraded* when its diversity dropped significantly (bootstrap, Bonferroni across
generations and metrics) and materially (at least `min_drop`) below the first generation's, or when
it lies significantly further from the anchor than the first generation (Bonferroni across
generations). The recommended reset point is the last generation before the first degraded one.
Mitigation (the seed's): periodic refresh from real signals, reset points, independent sources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from workbench.checks import register
from workbench.checks.base import Check, CheckResult, Context, Status, param
from workbench.diversity_metrics import (
    compare,
    distinct_n,
    mean_pairwise_similarity,
    stock_phrase_evidence,
    type_token_stats,
    unit_rows,
    vendi_score,
)
from workbench.errors import InputError, SchemaError
from workbench.prdc import prdc
from workbench.stats import permutation_p, wilson_interval

SIGNIFICANCE_METRICS = ("distinct_2", "distinct_3", "mattr")


def median_heuristic(x: np.ndarray, y: np.ndarray) -> float:
    """The median pairwise Euclidean distance of the pooled sample (RBF bandwidth; Gretton et al. 2012)."""
    z = np.concatenate([x, y]).astype(np.float64)
    sq = np.sum(z * z, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * z @ z.T, 0.0)
    iu = np.triu_indices(z.shape[0], 1)
    med = float(np.sqrt(np.median(d2[iu]))) if iu[0].size else 0.0
    return med if med > 0 else 1.0


@dataclass(frozen=True)
class MMDTest:
    """The unbiased MMD^2 between two samples (`mmd2`; 0 in expectation for one distribution, larger is
    further apart), its one-sided permutation `p_value` (small: the samples differ) and the RBF
    `bandwidth` used."""

    mmd2: float
    p_value: float
    bandwidth: float


@dataclass(frozen=True)
class FurtherTest:
    """`difference` = MMD^2(x, reference) - MMD^2(y, reference) (positive: x lies further from the
    reference, which is worse for a later generation), its one-sided permutation `p_value` (small: x
    is significantly further) and the RBF `bandwidth` used."""

    difference: float
    p_value: float
    bandwidth: float


def mmd_test(x: Any, y: Any, *, bandwidth: float | None = None, n_perm: int = 200, seed: int = 0) -> MMDTest:
    """Two-sample test with the unbiased MMD^2 and an RBF kernel exp(-|a-b|^2 / (2 bandwidth^2)).

    `bandwidth` defaults to the median heuristic. The p-value is (1 + #{permuted >= observed}) /
    (1 + n_perm) over random relabellings of the pooled sample (see `MMDTest`).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise InputError(f"mmd_test needs two 2-D arrays of the same width; got {x.shape} and {y.shape}.")
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise InputError(f"mmd_test needs at least 2 rows per sample; got {x.shape[0]} and {y.shape[0]}.")
    bw = median_heuristic(x, y) if bandwidth is None else float(bandwidth)
    z = np.concatenate([x, y])
    sq = np.sum(z * z, axis=1)
    k = np.exp(-np.maximum(sq[:, None] + sq[None, :] - 2 * z @ z.T, 0.0) / (2 * bw * bw))
    np.fill_diagonal(k, 0.0)
    n, m = x.shape[0], y.shape[0]

    def stat(labels: np.ndarray) -> np.ndarray:
        # labels: (p, n+m) with 1 for the first sample; unbiased MMD^2 for each row
        a = labels.astype(np.float64)
        b = 1.0 - a
        ka, kb = a @ k, b @ k
        sxx = np.sum(ka * a, axis=1)
        syy = np.sum(kb * b, axis=1)
        sxy = np.sum(ka * b, axis=1)
        return sxx / (n * (n - 1)) + syy / (m * (m - 1)) - 2 * sxy / (n * m)

    observed, p = permutation_p(stat, n, m, n_perm, seed)
    return MMDTest(observed, p, bw)


def further_test(
    x: Any, y: Any, reference: Any, *, bandwidth: float | None = None, n_perm: int = 200, seed: int = 0
) -> FurtherTest:
    """Is `x` further from `reference` than `y` is? Permutation test on MMD^2(x, ref) - MMD^2(y, ref).

    Under the null hypothesis x and y come from one distribution, so their rows are exchangeable
    and relabelling them gives the null distribution of the difference (the reference stays
    fixed). RBF kernel, bandwidth by the median heuristic over all three samples (see `FurtherTest`);
    a small p-value means x lies further from the reference.
    """
    x, y, r = (np.asarray(v, dtype=np.float64) for v in (x, y, reference))
    if min(x.shape[0], y.shape[0]) < 2 or r.shape[0] < 1:
        raise InputError("further_test needs at least 2 rows in x and y and 1 reference row.")
    n, m = x.shape[0], y.shape[0]
    z = np.concatenate([x, y])
    bw = median_heuristic(z, r) if bandwidth is None else float(bandwidth)

    def rbf(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d2 = np.sum(a * a, 1)[:, None] + np.sum(b * b, 1)[None, :] - 2 * a @ b.T
        return np.exp(-np.maximum(d2, 0.0) / (2 * bw * bw))

    k = rbf(z, z)
    np.fill_diagonal(k, 0.0)
    to_ref = rbf(z, r).mean(axis=1)

    def stat(labels: np.ndarray) -> np.ndarray:
        a = labels.astype(np.float64)
        b = 1.0 - a
        dx = np.sum((a @ k) * a, 1) / (n * (n - 1)) - 2 * (a @ to_ref) / n
        dy = np.sum((b @ k) * b, 1) / (m * (m - 1)) - 2 * (b @ to_ref) / m
        return dx - dy

    observed, p = permutation_p(stat, n, m, n_perm, seed)
    return FurtherTest(observed, p, bw)


def tail_clusters(anchor_embeddings: Any, *, n_clusters: int = 20, tail_share: float = 0.2, seed: int = 0):
    """k-means on the anchor; returns (fitted model, ids of the tail clusters).

    Tail: the smallest clusters, taken in order of size while together they hold at most
    `tail_share` of the anchor rows (at least one cluster).
    """
    from sklearn.cluster import KMeans

    a = unit_rows(anchor_embeddings)
    k = max(2, min(n_clusters, a.shape[0] // 5))
    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(a)
    sizes = np.bincount(km.labels_, minlength=k)
    order = np.argsort(sizes, kind="stable")
    cum = np.cumsum(sizes[order]) / a.shape[0]
    n_tail = max(1, int(np.sum(cum <= tail_share)))
    return km, order[:n_tail]


def _prdc(anchor: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float] | None:
    if anchor.shape[0] <= k or fake.shape[0] <= k:
        return None
    out = prdc(anchor, fake, k=k)
    return {key: float(out[key]) for key in ("precision", "recall", "density", "coverage")}


@dataclass
class DriftReport:
    """Per-generation metrics (`table`), the anchor's own values (`anchor`), which generations are
    degraded and why, and the recommended reset point (None when no generation is degraded)."""

    table: pl.DataFrame
    anchor: dict[str, float]
    degraded: list[int]
    reasons: dict[int, str]
    reset_point: int | None
    first_generation: int
    rows_per_generation: int
    notes: list[str] = field(default_factory=list)


def _sample(rng: np.random.Generator, idx: np.ndarray, m: int) -> np.ndarray:
    return np.sort(rng.choice(idx, size=m, replace=False)) if idx.size > m else idx


def generation_report(
    df: pl.DataFrame,
    anchor: pl.DataFrame | None = None,
    *,
    embeddings: Any = None,
    anchor_embeddings: Any = None,
    min_drop: float = 0.1,
    alpha: float = 0.05,
    n_boot: int = 100,
    n_perm: int = 200,
    max_rows: int = 500,
    n_clusters: int = 20,
    tail_share: float = 0.2,
    k: int = 5,
    seed: int = 0,
) -> DriftReport:
    """Every generation of `df` (rows with a non-null `generation`) against the first and the anchor.

    `anchor`: the frozen real data (a frame with `text`; its embeddings in `anchor_embeddings`).
    Without it the anchor columns are null. `embeddings` are aligned with `df` rows. All metrics
    use equal-size seeded samples of m = min(rows per generation, anchor rows, `max_rows`) rows.
    See the module docstring for the degradation rule; `alpha` is the family-wise error rate.
    """
    if "generation" not in df.columns:
        raise SchemaError(
            "the data has no 'generation' column; add the generation number of each row (0 for data from the "
            "first generator, 1 for data from a generator trained on generation 0, ...)."
        )
    gen_col = df["generation"].cast(pl.Int64, strict=False)
    if gen_col.null_count() > df["generation"].null_count():
        raise SchemaError("column 'generation' must hold whole numbers (0, 1, 2, ...).")
    gens = sorted(gen_col.drop_nulls().unique().to_list())
    if len(gens) < 2:
        raise InputError(
            f"feedback amplification needs at least 2 generations; found {gens}. Add rows from later generations."
        )
    gen_np = gen_col.fill_null(-(10**18)).to_numpy()
    texts = df["text"].to_list()
    emb = None if embeddings is None else unit_rows(embeddings)
    if emb is not None and emb.shape[0] != df.height:
        raise InputError(f"embeddings have {emb.shape[0]} rows; the data has {df.height}.")
    a_texts = anchor["text"].to_list() if anchor is not None and anchor.height else []
    a_emb = None if anchor_embeddings is None or not a_texts else unit_rows(anchor_embeddings)
    counts = {g: int((gen_np == g).sum()) for g in gens}
    small = [g for g, c in counts.items() if c < 2]
    if small:
        raise InputError(f"generation(s) {small} have fewer than 2 rows; each generation needs at least 2.")
    m = min([*counts.values(), max_rows] + ([len(a_texts)] if len(a_texts) >= 2 else []))
    rng = np.random.default_rng(seed)
    picks = {g: _sample(rng, np.flatnonzero(gen_np == g), m) for g in gens}
    a_pick = _sample(rng, np.arange(len(a_texts)), m) if a_texts else np.zeros(0, np.int64)
    notes: list[str] = []

    km, tail = (None, None)
    if a_emb is not None and a_emb.shape[0] >= 10 and emb is not None:
        km, tail = tail_clusters(a_emb, n_clusters=n_clusters, tail_share=tail_share, seed=seed)

    def text_metrics(ts: list[str]) -> dict[str, float]:
        tt = type_token_stats(ts)
        return {"distinct_2": distinct_n(ts, 2), "vocab_size": float(tt.types), "mattr": tt.mattr}

    anchor_metrics: dict[str, float] = {}
    if len(a_pick):
        anchor_metrics = text_metrics([a_texts[i] for i in a_pick])
        if a_emb is not None:
            anchor_metrics["vendi_score"] = vendi_score(a_emb[a_pick])
    elif anchor is None:
        notes.append("no anchor set: metrics against the anchor are empty")

    first = gens[0]
    n_tests = len(gens) - 1
    # enough permutations that a Bonferroni-corrected p-value can be reached at all
    n_perm = max(n_perm, math.ceil(2 * n_tests / alpha))
    rows = []
    p_vs_first: dict[int, float] = {}
    for g in gens:
        idx = picks[g]
        ts = [texts[i] for i in idx]
        row: dict[str, Any] = {"generation": g, "rows": counts[g], **text_metrics(ts)}
        if emb is not None:
            e = emb[idx]
            row["vendi_score"] = vendi_score(e)
            row["mean_pairwise_similarity"] = mean_pairwise_similarity(e)
            if a_emb is not None and len(a_pick) >= 2:
                test = mmd_test(e, a_emb[a_pick], n_perm=n_perm, seed=seed + g)
                row["mmd2_to_anchor"], row["mmd_p_to_anchor"] = test.mmd2, test.p_value
                pr = _prdc(a_emb[a_pick], e, k)
                if pr is not None:
                    row.update(pr)
                if km is not None and tail is not None:
                    hit = np.unique(km.predict(e))
                    row["tail_coverage"] = float(np.isin(tail, hit).mean())
                if g != first:
                    further = further_test(e, emb[picks[first]], a_emb[a_pick], n_perm=n_perm, seed=seed + 7919 * g)
                    row["further_from_anchor_p"] = p_vs_first[g] = further.p_value
        rows.append(row)
    table = pl.DataFrame(rows)
    if emb is not None and a_emb is not None and "precision" not in table.columns:
        notes.append(f"precision/recall/density/coverage omitted: PRDC with k={k} needs more than {k} rows per sample")

    # degradation vs the first generation
    level = 1 - alpha / (n_tests * len(SIGNIFICANCE_METRICS))
    first_texts = [texts[i] for i in picks[first]]
    degraded: list[int] = []
    reasons: dict[int, str] = {}
    changes: dict[int, dict[str, float]] = {}
    for g in gens[1:]:
        cmp = compare(first_texts, [texts[i] for i in picks[g]], n_boot=n_boot, confidence=level, seed=seed + g)
        cmp = cmp.filter(pl.col("metric").is_in(SIGNIFICANCE_METRICS))
        changes[g] = dict(zip(cmp["metric"].to_list(), cmp["change"].to_list()))
        lost = cmp.filter((pl.col("ci_high") < 0) & (pl.col("change") <= -min_drop))
        why = []
        if lost.height:
            why.append(
                "diversity loss vs generation "
                + str(first)
                + ": "
                + ", ".join(f"{r['metric']} {r['change']:+.0%}" for r in lost.iter_rows(named=True))
            )
        if g in p_vs_first and p_vs_first[g] < alpha / n_tests:
            d = dict(zip(table["generation"].to_list(), table["mmd2_to_anchor"].to_list()))
            why.append(
                f"drifted away from the anchor (MMD^2 to anchor {d[first]:.4f} -> {d[g]:.4f}, "
                f"further than generation {first}: permutation p={p_vs_first[g]:.3f})"
            )
        if why:
            degraded.append(g)
            reasons[g] = "; ".join(why)
    table = table.with_columns(
        pl.Series(
            "distinct_2_change_vs_first", [changes.get(g, {}).get("distinct_2", 0.0) for g in gens], dtype=pl.Float64
        ),
        pl.Series("degraded", [g in degraded for g in gens], dtype=pl.Boolean),
    )
    reset = None
    if degraded:
        reset = gens[gens.index(degraded[0]) - 1]
    return DriftReport(
        table=table,
        anchor=anchor_metrics,
        degraded=degraded,
        reasons=reasons,
        reset_point=reset,
        first_generation=first,
        rows_per_generation=m,
        notes=notes,
    )


def phrase_share(df: pl.DataFrame, pattern: str, *, by: str = "generation") -> pl.DataFrame:
    """Share of rows whose text matches the regular expression `pattern`, per value of `by`, with
    Wilson 95% intervals: how far a formula (e.g. assistant-speak such as "here's a rewritten
    version") spreads through the generations of a self-consuming chain.

    Columns: `by`, `n` (rows), `k` (matching rows), `share`, `lo`, `hi`; sorted by `by`. Without a
    `by` column (e.g. the anchor set) all rows form one group with `by` null.
    """
    if "text" not in df.columns:
        raise SchemaError(f"phrase_share needs a 'text' column; found {df.columns}.")
    try:
        matches = df["text"].str.contains(pattern)
    except pl.exceptions.ComputeError as e:
        raise InputError(f"pattern {pattern!r} is not a valid regular expression: {e}") from None
    groups = df[by] if by in df.columns else pl.Series(by, [None] * df.height, dtype=pl.Int64)
    table = (
        pl.DataFrame({by: groups, "_m": matches.fill_null(False)})
        .group_by(by)
        .agg(n=pl.len().cast(pl.Int64), k=pl.col("_m").sum().cast(pl.Int64))
        .sort(by, nulls_last=True)
    )
    intervals = [wilson_interval(int(k), int(n)) for k, n in zip(table["k"], table["n"])]
    return table.with_columns(
        share=pl.col("k") / pl.col("n"),
        lo=pl.Series([i[0] for i in intervals], dtype=pl.Float64),
        hi=pl.Series([i[1] for i in intervals], dtype=pl.Float64),
    )


@dataclass
class FeedbackAmplificationCheck(Check):
    """Generations of recursively trained generators must not drift away from the real anchor.

    Runs `generation_report` (anchor: the frozen anchor set, else the data's real rows without a
    generation). Fails when a generation is degraded (significant and material diversity loss vs
    the first generation, or a significant shift away from the anchor), naming the recommended
    reset point. Score: distinct-2 change of the last generation vs the first (negative = loss).
    Evidence: rows of the last generation, most widely shared stock phrases first.
    """

    name = "feedback_amplification"
    failure_mode = "feedback_amplification"
    description = "per-generation diversity, coverage and MMD vs the anchor; reset point"
    requires_columns = ("generation",)
    min_rows = 4
    min_drop: float = param(0.1, ge=0, le=1)
    alpha: float = param(0.05, ge=0.001, lt=1)
    n_boot: int = param(100, ge=10, le=10_000)
    n_perm: int = param(200, ge=10, le=10_000)
    max_rows: int = param(500, ge=2, le=1_000_000)
    use_embeddings: bool = True

    def missing_inputs(self, ctx: Context) -> str | None:
        reason = super().missing_inputs(ctx)
        if reason is not None:
            return reason
        gens = ctx.df["generation"].drop_nulls()
        counts = gens.value_counts()
        enough = counts.filter(pl.col("count") >= 2)
        if enough.height < 2:
            return f"needs at least 2 generations with 2+ rows each; found {sorted(gens.unique().to_list())}"
        if counts.height != enough.height:
            return "every generation needs at least 2 rows"
        return None

    def run(self, ctx: Context) -> CheckResult:
        df = ctx.df
        use_emb = self.use_embeddings and ctx.can_embed
        gen_mask = df["generation"].is_not_null().to_numpy()
        anchor_df: pl.DataFrame | None = None
        a_emb = None
        emb = ctx.embeddings() if use_emb else None
        if ctx.anchor is not None and ctx.anchor.df.height:
            anchor_df = ctx.anchor.df
            a_emb = ctx.anchor_embeddings() if use_emb else None
            ref = "the frozen anchor set"
        else:
            real = ctx.origin_mask("real") & ~gen_mask
            if real.sum() >= 2:
                anchor_df = df.filter(pl.Series(real))
                a_emb = emb[real] if emb is not None else None
                ref = "the data's real rows"
            else:
                ref = "no anchor (pass one, or include real rows)"
        gens_df = df.filter(pl.Series(gen_mask))
        report = generation_report(
            gens_df,
            anchor_df,
            embeddings=emb[gen_mask] if emb is not None else None,
            anchor_embeddings=a_emb,
            min_drop=self.min_drop,
            alpha=self.alpha,
            n_boot=self.n_boot,
            n_perm=self.n_perm,
            max_rows=self.max_rows,
            seed=ctx.seed,
        )
        t = report.table
        last = int(t["generation"][-1])
        score = float(t["distinct_2_change_vs_first"][-1])
        status: Status = "fail" if report.degraded else "pass"
        d2 = t["distinct_2"].to_list()
        trend = " -> ".join(f"{v:.3f}" for v in d2)
        if report.degraded:
            first_bad = report.degraded[0]
            summary = (
                f"Feedback amplification over {t.height} generations (reference: {ref}): generation {first_bad} "
                f"is degraded ({report.reasons[first_bad]}). Distinct-2 by generation: {trend}. Recommended reset "
                f"point: generation {report.reset_point}; retrain from it with fresh real data mixed in, and "
                "keep an independent real source in every generation."
            )
        else:
            summary = (
                f"No feedback amplification over {t.height} generations (reference: {ref}): no generation lost "
                f"diversity significantly or drifted away from the anchor. Distinct-2 by generation: {trend}."
            )
        if report.notes:
            summary += " Note: " + "; ".join(report.notes) + "."
        last_rows = gens_df.filter(pl.col("generation") == last)
        evidence = stock_phrase_evidence(last_rows.select("id", "text", "generation"))
        return self.result(
            status,
            summary,
            score=round(score, 6) if math.isfinite(score) else None,
            score_meaning="relative distinct-2 change of the last generation vs the first (negative = loss)",
            threshold=-self.min_drop,
            evidence=evidence,
            details={
                "generations": t.to_dicts(),
                "anchor": report.anchor,
                "degraded": report.degraded,
                "reasons": {str(k): v for k, v in report.reasons.items()},
                "reset_point": report.reset_point,
                "rows_per_generation": report.rows_per_generation,
                "reference": ref,
            },
        )


register(FeedbackAmplificationCheck())
