"""Over-regularization: synthetic outputs that are bland and safe, less diverse than real data.

Metrics (all on a list of texts, embeddings where named):

- `distinct_n(texts, n)`: distinct n-grams over all n-grams in the corpus (Li et al. 2016), n=1..3.
- `compression_ratio(texts)`: raw bytes over gzip-compressed bytes of the joined texts; repetitive
  text compresses well, so higher means *less* diverse (Shaib et al. 2024).
- `type_token_stats(texts)`: tokens, types, type-token ratio, and the moving-average type-token
  ratio MATTR (window 50, Covington & McFall 2010), which does not shrink with corpus length.
- `mean_pairwise_similarity(embeddings)`: mean cosine similarity over distinct pairs (higher is
  less diverse); comparisons use the mean pairwise cosine distance, 1 minus it, because a relative
  change of a similarity near 0 is meaningless.
- `vendi_score(embeddings)`: the exponential of the Shannon entropy of the eigenvalues of K/n with
  the cosine kernel K (Friedman & Dieng 2023): the effective number of distinct items; n identical
  rows score 1, n orthogonal rows score n.
- `length_spread(texts)`: standard deviation, IQR and coefficient of variation of word counts.

`compare(real, synthetic)` puts the two side by side on equal-size samples (sample-size dependent
metrics need equal sizes) with bootstrap intervals for the relative change, signed so that a
negative change means the synthetic data is less diverse. The registered `over_regularization`
check fails when a metric shows a significant (Bonferroni-corrected across metrics) and material
(at least `min_drop`) loss of diversity. Mitigation (the seed's): mix real data, raise the sampling
temperature or add diversity constraints, and audit samples.
"""

from __future__ import annotations

import gzip
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl

from workbench.checks import register
from workbench.checks.base import Check, CheckResult, Context, Status, param
from workbench.errors import InputError

_WORD = re.compile(r"[\w'’]+")
MATTR_WINDOW = 50
# metric -> True when a higher value means more diverse
HIGHER_IS_DIVERSE: dict[str, bool] = {
    "distinct_1": True,
    "distinct_2": True,
    "distinct_3": True,
    "compression_ratio": False,
    "mattr": True,
    "length_std": True,
    "mean_pairwise_distance": True,
    "vendi_score": True,
}
TEXT_METRICS = ("distinct_1", "distinct_2", "distinct_3", "compression_ratio", "mattr", "length_std")
EMBEDDING_METRICS = ("mean_pairwise_distance", "vendi_score")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased word tokens (letters, digits, apostrophes) of each text."""
    return [_WORD.findall((t or "").lower()) for t in texts]


def _ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct n-grams / all n-grams over the corpus (0 when there are none)."""
    if n < 1:
        raise InputError(f"n must be >= 1; got {n}.")
    grams = [g for toks in tokenize(texts) for g in _ngrams(toks, n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def compression_ratio(texts: Sequence[str]) -> float:
    """Bytes of the newline-joined texts over their gzip size (higher = more repetitive)."""
    raw = "\n".join(t or "" for t in texts).encode("utf-8")
    if not raw:
        return 0.0
    return len(raw) / len(gzip.compress(raw, compresslevel=9, mtime=0))


def _mattr(ids: np.ndarray, window: int = MATTR_WINDOW) -> float:
    """Moving-average type-token ratio of a token-id stream (plain TTR when shorter than the window)."""
    n = ids.size
    if n == 0:
        return 0.0
    if n <= window:
        return len(np.unique(ids)) / n
    # prev[i]: the last earlier position of the same token (-1 if none); a window starting at s
    # holds as many types as positions i in it with prev[i] < s
    order = np.lexsort((np.arange(n), ids))
    prev = np.full(n, -1, dtype=np.int64)
    same = ids[order][1:] == ids[order][:-1]
    prev[order[1:][same]] = order[:-1][same]
    windows = np.lib.stride_tricks.sliding_window_view(prev, window)
    starts = np.arange(n - window + 1)[:, None]
    return float((windows < starts).sum(axis=1).mean() / window)


def type_token_stats(texts: Sequence[str], *, window: int = MATTR_WINDOW) -> dict[str, float]:
    """`tokens`, `types`, `ttr` (types/tokens) and `mattr` (moving-average TTR over `window` tokens)."""
    toks = [t for ts in tokenize(texts) for t in ts]
    if not toks:
        return {"tokens": 0.0, "types": 0.0, "ttr": 0.0, "mattr": 0.0}
    _, ids = np.unique(np.array(toks, dtype=object), return_inverse=True)
    types = int(ids.max()) + 1
    return {"tokens": float(len(toks)), "types": float(types), "ttr": types / len(toks), "mattr": _mattr(ids, window)}


def length_spread(texts: Sequence[str]) -> dict[str, float]:
    """Word-count spread: `mean`, `std`, `iqr` and `cv` (std/mean). Collapse narrows it."""
    lengths = np.array([len(t) for t in tokenize(texts)], dtype=np.float64)
    if lengths.size == 0:
        return {"mean": 0.0, "std": 0.0, "iqr": 0.0, "cv": 0.0}
    q1, q3 = np.quantile(lengths, [0.25, 0.75])
    mean = float(lengths.mean())
    std = float(lengths.std(ddof=1)) if lengths.size > 1 else 0.0
    return {"mean": mean, "std": std, "iqr": float(q3 - q1), "cv": std / mean if mean else 0.0}


def _unit_rows(embeddings: Any) -> np.ndarray:
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(f"embeddings must be a 2-D array (rows x dimensions); got shape {x.shape}.")
    if x.shape[0] == 0:
        raise InputError("embeddings are empty; need at least one row.")
    if not np.all(np.isfinite(x)):
        raise InputError("embeddings contain NaN or infinite values; recompute them.")
    norms = np.linalg.norm(x, axis=1)
    if np.any(norms == 0):
        raise InputError(
            f"{int((norms == 0).sum())} embedding row(s) are all zeros; the cosine kernel is undefined for them."
        )
    return x / norms[:, None]


def vendi_score(embeddings: Any, weights: np.ndarray | None = None) -> float:
    """Vendi score with the cosine kernel (Friedman & Dieng 2023): exp of the eigenvalue entropy of K/n.

    The effective number of distinct items: 1 for n identical rows, n for n orthogonal rows.
    `weights` (non-negative, e.g. bootstrap counts) weight rows as if repeated. Computed from the
    d x d matrix X^T W X / sum(W), which has the same non-zero eigenvalues as K/n.
    """
    x = _unit_rows(embeddings)
    w = np.ones(x.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    total = w.sum()
    if total <= 0:
        raise InputError("weights must have a positive sum.")
    n, d = x.shape
    if n <= d:
        xs = x * np.sqrt(w / total)[:, None]
        lam = np.linalg.eigvalsh(xs @ xs.T)
    else:
        lam = np.linalg.eigvalsh((x.T * (w / total)) @ x)
    lam = lam[lam > 1e-12]
    return float(np.exp(-np.sum(lam * np.log(lam))))


def mean_pairwise_similarity(embeddings: Any, weights: np.ndarray | None = None) -> float:
    """Mean cosine similarity over distinct pairs of rows (NaN for fewer than two rows)."""
    x = _unit_rows(embeddings)
    w = np.ones(x.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    m = w.sum()
    if m < 2:
        return float("nan")
    s = (x * w[:, None]).sum(axis=0)
    return float((s @ s - w.sum()) / (m * (m - 1)))


def diversity_metrics(texts: Sequence[str], embeddings: Any = None) -> dict[str, float]:
    """Every headline metric for one set of texts (embedding metrics when `embeddings` is given)."""
    out = {f"distinct_{n}": distinct_n(texts, n) for n in (1, 2, 3)}
    out["compression_ratio"] = compression_ratio(texts)
    out["mattr"] = type_token_stats(texts)["mattr"]
    out["length_std"] = length_spread(texts)["std"]
    if embeddings is not None:
        out["mean_pairwise_similarity"] = mean_pairwise_similarity(embeddings)
        out["mean_pairwise_distance"] = 1.0 - out["mean_pairwise_similarity"]
        out["vendi_score"] = vendi_score(embeddings)
    return out


class _Group:
    """One set of texts, pre-tokenised so that resampled metrics are cheap."""

    def __init__(self, texts: Sequence[str], embeddings: np.ndarray | None, vocab: dict[Any, int]) -> None:
        self.texts = [t or "" for t in texts]
        toks = tokenize(self.texts)
        self.lengths = np.array([len(t) for t in toks], dtype=np.float64)
        self.words = [np.array([vocab.setdefault(w, len(vocab)) for w in t], dtype=np.int64) for t in toks]
        self.grams = {
            n: [np.array([vocab.setdefault(g, len(vocab)) for g in _ngrams(t, n)], dtype=np.int64) for t in toks]
            for n in (2, 3)
        }
        self.emb = None if embeddings is None else _unit_rows(embeddings)

    def metrics(self, idx: np.ndarray, with_emb: bool) -> dict[str, float]:
        out: dict[str, float] = {}
        for n in (1, 2, 3):
            arrs = self.words if n == 1 else self.grams[n]
            flat = np.concatenate([arrs[i] for i in idx]) if idx.size else np.zeros(0, np.int64)
            out[f"distinct_{n}"] = len(np.unique(flat)) / flat.size if flat.size else 0.0
        out["compression_ratio"] = compression_ratio([self.texts[i] for i in idx])
        words = np.concatenate([self.words[i] for i in idx]) if idx.size else np.zeros(0, np.int64)
        out["mattr"] = _mattr(words)
        out["length_std"] = float(self.lengths[idx].std(ddof=1)) if idx.size > 1 else 0.0
        if with_emb and self.emb is not None:
            counts = np.bincount(idx, minlength=self.emb.shape[0]).astype(np.float64)
            used = counts > 0
            out["mean_pairwise_distance"] = 1.0 - mean_pairwise_similarity(self.emb[used], counts[used])
            out["vendi_score"] = vendi_score(self.emb[used], counts[used])
        return out


def _relative_change(real: float, synthetic: float, higher_is_diverse: bool) -> float:
    """(synthetic - real) / |real|, sign flipped for lower-is-diverse metrics: negative = less diverse."""
    if real == 0:
        return 0.0 if synthetic == 0 else math.copysign(math.inf, synthetic)
    change = (synthetic - real) / abs(real)
    return change if higher_is_diverse else -change


def compare(
    real_texts: Sequence[str],
    synthetic_texts: Sequence[str],
    *,
    real_embeddings: Any = None,
    synthetic_embeddings: Any = None,
    n_boot: int = 200,
    confidence: float = 0.95,
    max_rows: int | None = 1000,
    seed: int = 0,
) -> pl.DataFrame:
    """Synthetic vs real diversity, metric by metric, with bootstrap intervals.

    Both groups are first reduced to the same size m = min(n_real, n_synthetic, `max_rows`) by a
    seeded sample without replacement (distinct-n, compression, Vendi depend on sample size). The
    interval for `change` (relative, negative = synthetic less diverse) is the normal bootstrap
    interval: estimate +- z * standard deviation over `n_boot` resamples with replacement of each
    group (Efron & Tibshirani 1993, ch. 13). Returns `metric, real, synthetic, change, ci_low,
    ci_high, higher_is_diverse`.
    """
    if len(real_texts) < 2 or len(synthetic_texts) < 2:
        raise InputError(
            f"comparing diversity needs at least 2 texts per group; got {len(real_texts)} real and "
            f"{len(synthetic_texts)} synthetic."
        )
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be between 0 and 1; got {confidence}.")
    with_emb = real_embeddings is not None and synthetic_embeddings is not None
    for name, emb, texts in (
        ("real_embeddings", real_embeddings, real_texts),
        ("synthetic_embeddings", synthetic_embeddings, synthetic_texts),
    ):
        if emb is not None and np.asarray(emb).shape[0] != len(texts):
            raise InputError(f"{name} has {np.asarray(emb).shape[0]} rows but there are {len(texts)} texts.")
    rng = np.random.default_rng(seed)
    m = min(len(real_texts), len(synthetic_texts), max_rows or len(real_texts) + len(synthetic_texts))
    vocab: dict[Any, int] = {}
    groups = []
    for texts, emb in ((real_texts, real_embeddings), (synthetic_texts, synthetic_embeddings)):
        keep = np.sort(rng.choice(len(texts), size=m, replace=False))
        sub_emb = None if not with_emb else np.asarray(emb)[keep]
        groups.append(_Group([texts[i] for i in keep], sub_emb, vocab))
    full = np.arange(m)
    point = [g.metrics(full, with_emb) for g in groups]
    names = [k for k in HIGHER_IS_DIVERSE if k in point[0]]
    boots = np.empty((n_boot, len(names)))
    for b in range(n_boot):
        r = groups[0].metrics(rng.integers(0, m, m), with_emb)
        s = groups[1].metrics(rng.integers(0, m, m), with_emb)
        boots[b] = [_relative_change(r[k], s[k], HIGHER_IS_DIVERSE[k]) for k in names]
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    rows = []
    for j, k in enumerate(names):
        change = _relative_change(point[0][k], point[1][k], HIGHER_IS_DIVERSE[k])
        finite = boots[:, j][np.isfinite(boots[:, j])]
        se = float(finite.std(ddof=1)) if finite.size > 1 else math.inf
        rows.append(
            {
                "metric": k,
                "real": point[0][k],
                "synthetic": point[1][k],
                "change": change,
                "ci_low": change - z * se,
                "ci_high": change + z * se,
                "higher_is_diverse": HIGHER_IS_DIVERSE[k],
            }
        )
    return pl.DataFrame(rows).with_columns(pl.lit(m).alias("rows_per_group"))


def stock_phrases(texts: Sequence[str], n: int = 3) -> list[tuple[str, int]]:
    """For each text, its most widely shared n-gram and how many texts contain it."""
    toks = tokenize(texts)
    per_text = [set(_ngrams(t, n)) for t in toks]
    df = Counter(g for s in per_text for g in s)
    out = []
    for s in per_text:
        if not s:
            out.append(("", 0))
            continue
        g = max(s, key=lambda x: (df[x], x))
        out.append((" ".join(g), df[g]))
    return out


def stock_phrase_evidence(rows: pl.DataFrame, limit: int = 50) -> pl.DataFrame:
    """`rows` (with `text`) plus each row's most widely shared 3-gram and how many rows share it,
    the most formulaic first: the evidence of a diversity collapse."""
    phrases = stock_phrases(rows["text"].to_list())
    return (
        rows.with_columns(
            pl.Series("stock_phrase", [p for p, _ in phrases], dtype=pl.String),
            pl.Series("rows_sharing_it", [c for _, c in phrases], dtype=pl.Int64),
        )
        .sort(["rows_sharing_it", "id"], descending=[True, False])
        .head(limit)
    )


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
