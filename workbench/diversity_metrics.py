"""Diversity metrics of text and embeddings, and the synthetic-vs-real comparison.

Bottom layer: the measurements under the over-regularization check (`checks/diversity.py`) and
the feedback-amplification check (`checks/drift.py`); imports only text_features, stats and errors.
`workbench.checks.diversity` re-exports the public names (`vendi_score`, `compare`, ...).

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
- `compare(real, synthetic)`: the two side by side on equal-size samples (sample-size dependent
  metrics need equal sizes) with bootstrap intervals for the relative change, signed so that a
  negative change means the synthetic data is less diverse.
- `stock_phrases(texts)`, `stock_phrase_evidence(rows)`: each text's most widely shared n-gram.

Words are `text_features.word_tokens` (lower-cased letters, digits, apostrophes).
"""

from __future__ import annotations

import gzip
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from workbench.errors import InputError
from workbench.stats import z_two_sided
from workbench.text_features import token_ngrams, word_tokens
from workbench.threads import single_threaded

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


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct n-grams / all n-grams over the corpus (0 when there are none)."""
    if n < 1:
        raise InputError(f"n must be >= 1; got {n}.")
    grams = [g for toks in word_tokens(texts) for g in token_ngrams(toks, n)]
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


@dataclass(frozen=True)
class TypeTokenStats:
    """Word `tokens` and distinct `types` of a corpus, `ttr` = types / tokens and `mattr`, the
    moving-average type-token ratio (Covington & McFall 2010). Higher ttr and mattr: more diverse."""

    tokens: int
    types: int
    ttr: float
    mattr: float


@dataclass(frozen=True)
class LengthSpread:
    """Spread of word counts per text: `mean`, `std`, `iqr` and `cv` (std / mean). A wider spread is
    more diverse; collapse narrows it."""

    mean: float
    std: float
    iqr: float
    cv: float


def type_token_stats(texts: Sequence[str], *, window: int = MATTR_WINDOW) -> TypeTokenStats:
    """Tokens, types, type-token ratio and MATTR over `window` tokens (see `TypeTokenStats`)."""
    toks = [t for ts in word_tokens(texts) for t in ts]
    if not toks:
        return TypeTokenStats(0, 0, 0.0, 0.0)
    _, ids = np.unique(np.array(toks, dtype=object), return_inverse=True)
    types = int(ids.max()) + 1
    return TypeTokenStats(len(toks), types, types / len(toks), _mattr(ids, window))


def length_spread(texts: Sequence[str]) -> LengthSpread:
    """Word-count spread: mean, standard deviation, IQR and coefficient of variation (see `LengthSpread`)."""
    lengths = np.array([len(t) for t in word_tokens(texts)], dtype=np.float64)
    if lengths.size == 0:
        return LengthSpread(0.0, 0.0, 0.0, 0.0)
    q1, q3 = np.quantile(lengths, [0.25, 0.75])
    mean = float(lengths.mean())
    std = float(lengths.std(ddof=1)) if lengths.size > 1 else 0.0
    return LengthSpread(mean, std, float(q3 - q1), std / mean if mean else 0.0)


def unit_rows(embeddings: Any) -> np.ndarray:
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
    x = unit_rows(embeddings)
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
    x = unit_rows(embeddings)
    w = np.ones(x.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    m = w.sum()
    if m < 2:
        return float("nan")
    s = (x * w[:, None]).sum(axis=0)
    return float((s @ s - w.sum()) / (m * (m - 1)))


def diversity_metrics(texts: Sequence[str], embeddings: Any = None) -> dict[str, float]:
    """Every headline metric for one set of texts, by metric name (embedding metrics when `embeddings`
    is given); `HIGHER_IS_DIVERSE` says each one's direction."""
    out = {f"distinct_{n}": distinct_n(texts, n) for n in (1, 2, 3)}
    out["compression_ratio"] = compression_ratio(texts)
    out["mattr"] = type_token_stats(texts).mattr
    out["length_std"] = length_spread(texts).std
    if embeddings is not None:
        out["mean_pairwise_similarity"] = mean_pairwise_similarity(embeddings)
        out["mean_pairwise_distance"] = 1.0 - out["mean_pairwise_similarity"]
        out["vendi_score"] = vendi_score(embeddings)
    return out


class _Group:
    """One set of texts, pre-tokenised so that resampled metrics are cheap."""

    def __init__(self, texts: Sequence[str], embeddings: np.ndarray | None, vocab: dict[Any, int]) -> None:
        self.texts = [t or "" for t in texts]
        toks = word_tokens(self.texts)
        self.lengths = np.array([len(t) for t in toks], dtype=np.float64)
        self.words = [np.array([vocab.setdefault(w, len(vocab)) for w in t], dtype=np.int64) for t in toks]
        self.grams = {
            n: [np.array([vocab.setdefault(g, len(vocab)) for g in token_ngrams(t, n)], dtype=np.int64) for t in toks]
            for n in (2, 3)
        }
        self.emb = None if embeddings is None else unit_rows(embeddings)

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
    with single_threaded():  # 2 (n_boot + 1) small eigen-decompositions: see workbench.threads
        point = [g.metrics(full, with_emb) for g in groups]
        names = [k for k in HIGHER_IS_DIVERSE if k in point[0]]
        boots = np.empty((n_boot, len(names)))
        for b in range(n_boot):
            r = groups[0].metrics(rng.integers(0, m, m), with_emb)
            s = groups[1].metrics(rng.integers(0, m, m), with_emb)
            boots[b] = [_relative_change(r[k], s[k], HIGHER_IS_DIVERSE[k]) for k in names]
    z = z_two_sided(confidence)
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
    toks = word_tokens(texts)
    per_text = [set(token_ngrams(t, n)) for t in toks]
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
