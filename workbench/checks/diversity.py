"""Over-regularization: synthetic outputs that are bland and safe, less diverse than real data.

The metrics live in `workbench.diversity_metrics` (re-exported here): distinct-n (Li et al. 2016),
compression ratio (Shaib et al. 2024), MATTR (Covington & McFall 2010), length spread, mean pairwise
cosine distance and the Vendi score (Friedman & Dieng 2023). `compare(real, synthetic)` puts the two
side by side on equal-size samples with bootstrap intervals for the relative change, signed so that
a negative change means the synthetic data is less diverse.

The registered `over_regularization` check fails when a metric shows a significant
(Bonferroni-corrected across metrics) and material (at least `min_drop`) loss of diversity.
Mitigation (the seed's): mix real data, raise the sampling temperature or add diversity
constraints, and audit samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from workbench.checks import register
from workbench.checks.base import Check, CheckResult, Context, Status, param
from workbench.diversity_metrics import (
    EMBEDDING_METRICS,
    HIGHER_IS_DIVERSE,
    MATTR_WINDOW,
    TEXT_METRICS,
    LengthSpread,
    TypeTokenStats,
    compare,
    compression_ratio,
    distinct_n,
    diversity_metrics,
    length_spread,
    mean_pairwise_similarity,
    stock_phrase_evidence,
    stock_phrases,
    type_token_stats,
    vendi_score,
)
from workbench.text_features import word_tokens as tokenize

__all__ = [
    "EMBEDDING_METRICS",
    "HIGHER_IS_DIVERSE",
    "MATTR_WINDOW",
    "TEXT_METRICS",
    "LengthSpread",
    "OverRegularizationCheck",
    "TypeTokenStats",
    "compare",
    "compression_ratio",
    "distinct_n",
    "diversity_metrics",
    "length_spread",
    "mean_pairwise_similarity",
    "stock_phrase_evidence",
    "stock_phrases",
    "tokenize",
    "type_token_stats",
    "vendi_score",
]


@dataclass
class OverRegularizationCheck(Check):
    """Synthetic text must be about as diverse as real text.

    Compares synthetic with real rows on distinct-1/2/3, compression ratio, MATTR, length spread
    and, with embeddings, mean pairwise cosine distance and the Vendi score, on equal-size samples.
    Fails when some metric drops by at least `min_drop` (relative) and its bootstrap interval at
    family-wise `confidence` (Bonferroni over the metrics) lies entirely below zero; warns when the
    drop is significant but smaller. Score: the largest significant relative loss (negative; 0
    when none). Evidence: synthetic rows built around the most widely shared stock phrases.
    """

    name = "over_regularization"
    failure_mode = "over_regularization"
    description = "synthetic text less diverse than real: distinct-n, compression, MATTR, length, Vendi"
    requires_origins = ("real", "synthetic")
    min_rows_per_origin = 20
    min_drop: float = param(0.1, ge=0, le=1)
    confidence: float = param(0.95, gt=0, lt=1)
    n_boot: int = param(100, ge=10, le=10_000)
    max_rows: int = param(1000, ge=20, le=1_000_000)
    use_embeddings: bool = True

    def run(self, ctx: Context) -> CheckResult:
        df = ctx.df
        real_mask, syn_mask = ctx.origin_mask("real"), ctx.origin_mask("synthetic")
        texts = df["text"].to_list()
        real_t = [t for t, k in zip(texts, real_mask) if k]
        syn_t = [t for t, k in zip(texts, syn_mask) if k]
        emb = ctx.embeddings() if (self.use_embeddings and ctx.can_embed) else None
        n_metrics = len(TEXT_METRICS) + (len(EMBEDDING_METRICS) if emb is not None else 0)
        level = 1 - (1 - self.confidence) / n_metrics
        table = compare(
            real_t,
            syn_t,
            real_embeddings=None if emb is None else emb[real_mask],
            synthetic_embeddings=None if emb is None else emb[syn_mask],
            n_boot=self.n_boot,
            confidence=level,
            max_rows=self.max_rows,
            seed=ctx.seed,
        )
        significant = table.filter(pl.col("ci_high") < 0)
        material = significant.filter(pl.col("change") <= -self.min_drop)
        score = float(significant["change"].min()) if significant.height else 0.0  # type: ignore[arg-type]
        status: Status = "fail" if material.height else ("warn" if significant.height else "pass")

        def describe(rows: pl.DataFrame) -> str:
            return ", ".join(f"{r['metric']} {r['change']:+.0%}" for r in rows.sort("change").iter_rows(named=True))

        m = int(table["rows_per_group"][0])
        if status == "fail":
            summary = (
                f"Synthetic text is less diverse than real ({describe(material)}, on {m} rows each, intervals at "
                f"{self.confidence:.0%} family-wise): bland, repetitive outputs. Mix in real data, raise the "
                "sampling temperature or add diversity constraints, and audit a sample of the stock phrases below."
            )
        elif status == "warn":
            summary = (
                f"Synthetic text is slightly but significantly less diverse than real ({describe(significant)}; "
                f"under the {self.min_drop:.0%} that fails). Watch it as generation continues."
            )
        else:
            summary = (
                f"No significant loss of diversity: on {m} rows each, synthetic text is within the bootstrap "
                f"intervals of real text on {table.height} metrics."
            )
        syn = df.filter(pl.Series(syn_mask))
        evidence = stock_phrase_evidence(syn.select("id", "text"))
        return self.result(
            status,
            summary,
            score=round(score, 6),
            score_meaning="largest significant relative loss of diversity, synthetic vs real (negative is worse)",
            threshold=-self.min_drop,
            evidence=evidence,
            details={"metrics": table.to_dicts(), "interval_level_per_metric": level},
        )


register(OverRegularizationCheck())
