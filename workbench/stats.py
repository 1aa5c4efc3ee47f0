"""Intervals and tests: the one home of the statistics every check reports.

Bottom layer: imports only numpy, errors and (lazily, inside the functions that need it) scipy, so
`import workbench.stats` stays cheap. Every module above takes its intervals and tests from here;
none re-implements one.

- Proportions: `wilson_interval(k, n)` (Wilson 1927 score interval), `proportion(k, n)` (the
  estimate with it), `newcombe_interval(a, b)` (difference of two proportions, Newcombe 1998
  hybrid score interval), `two_proportion_p(...)` (one-sided pooled two-proportion z-test) and
  `two_proportion_exact_p(...)` (its exact, hypergeometric counterpart).
- Ranks: `delong_auc(y, scores)` (AUC and its DeLong et al. 1988 variance), `auc_interval`,
  `column_aucs` (Mann-Whitney AUC of every column), `mann_whitney_p`; `fisher_exact_p` (2x2 tables).
- Multiple testing: `holm(p_values)` (Holm 1979 step-down adjusted p-values).
- Means: `mean_interval(x)` (Student t interval).
- Resampling: `bootstrap_interval(statistic, n_units)` (percentile bootstrap over resampled units),
  `percentile_interval(replicates, confidence)`, `permutation_p(...)` (one-sided permutation test).
- Normal and t quantiles: `Z95` (the two-sided 95% normal quantile, the only one), `z_two_sided`,
  `z_upper`, `normal_sf`, `t_quantile`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from workbench.errors import InputError

__all__ = [
    "Z95",
    "Estimate",
    "auc_interval",
    "bootstrap_interval",
    "column_aucs",
    "delong_auc",
    "fisher_exact_p",
    "holm",
    "mann_whitney_p",
    "mean_interval",
    "newcombe_interval",
    "normal_sf",
    "percentile_interval",
    "permutation_p",
    "proportion",
    "t_quantile",
    "two_proportion_exact_p",
    "two_proportion_p",
    "wilson_interval",
    "z_two_sided",
    "z_upper",
]

Z95 = 1.959963984540054  # the standard normal quantile at 0.975: two-sided 95%


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval: `value` in [`lo`, `hi`] (NaN when undefined)."""

    value: float
    lo: float
    hi: float

    def __iter__(self) -> Iterator[float]:
        return iter((self.value, self.lo, self.hi))

    def as_dict(self) -> dict[str, float]:
        """`{"value", "lo", "hi"}` (a table row)."""
        return {"value": self.value, "lo": self.lo, "hi": self.hi}


# --- normal and t quantiles ----------------------------------------------------------------------


def z_two_sided(confidence: float) -> float:
    """The z with P(|Z| <= z) = `confidence` for a standard normal Z (1.96 at 0.95)."""
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be between 0 and 1 (e.g. 0.95); got {confidence}.")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def z_upper(alpha: float) -> float:
    """The z with P(Z > z) = `alpha` (upper-tail quantile; accurate for tiny Bonferroni alphas)."""
    from scipy.stats import norm

    return float(norm.isf(alpha))


def normal_sf(z: Any) -> Any:
    """P(Z > z) for a standard normal Z (elementwise for arrays)."""
    from scipy.stats import norm

    out = norm.sf(z)
    return float(out) if np.ndim(out) == 0 else out


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t distribution with `df` degrees of freedom."""
    from scipy.stats import t

    return float(t.ppf(p, df))


# --- proportions ---------------------------------------------------------------------------------


def wilson_interval(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n (NaN when n = 0).

    `k` and `n` may be effective (fractional) counts, e.g. n divided by a design effect.
    """
    if n == 0:
        return math.nan, math.nan
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion(k: float, n: float, z: float = Z95) -> Estimate:
    """k/n with its Wilson score interval (all NaN when n = 0)."""
    lo, hi = wilson_interval(k, n, z)
    return Estimate(k / n if n else math.nan, lo, hi)


def newcombe_interval(a: Iterable[float], b: Iterable[float]) -> Estimate:
    """Difference of two independent proportions a - b with Newcombe's (1998) hybrid score interval.

    `a` and `b` are (estimate, lo, hi) triples with their Wilson intervals (e.g. `proportion(k, n)`).
    """
    (p1, l1, u1), (p2, l2, u2) = a, b
    d = p1 - p2
    return Estimate(d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def two_proportion_p(x1: Any, n1: float, x2: Any, n2: float) -> np.ndarray:
    """One-sided pooled two-proportion z-test, elementwise: p-value that x2/n2 is below x1/n1.

    NaN where the pooled standard error is 0 (no rows in either sample, or all of them).
    """
    x1, x2 = np.asarray(x1, dtype=np.float64), np.asarray(x2, dtype=np.float64)
    pooled = (x1 + x2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (x1 / n1 - x2 / n2) / se
    return np.where(se > 0, normal_sf(z), np.nan)


def two_proportion_exact_p(x1: Any, n1: float, x2: Any, n2: float) -> np.ndarray:
    """One-sided exact (Fisher) p-value, elementwise, that x2/n2 is below x1/n1: given x1 + x2 rows in a
    group, x1 ~ Hypergeometric(n1 + n2, n1, x1 + x2) when both samples come from one distribution, and
    the p-value is P(X >= x1). The exact counterpart of `two_proportion_p` for small groups. 1 for an
    empty group."""
    from scipy.stats import hypergeom

    x1, x2 = np.asarray(x1, dtype=np.int64), np.asarray(x2, dtype=np.int64)
    p = hypergeom.sf(x1 - 1, int(n1 + n2), int(n1), x1 + x2)
    return np.where(x1 + x2 > 0, np.clip(p, 0.0, 1.0), 1.0)


# --- ranks and AUC -------------------------------------------------------------------------------


def delong_auc(y: Any, scores: Any) -> tuple[float, float]:
    """AUC of `scores` for binary `y` and its DeLong variance (DeLong et al. 1988).

    AUC = P(score of a positive > score of a negative) + half the ties (Mann-Whitney); the
    variance comes from the structural components V10 and V01 of the two classes.
    """
    from scipy.stats import rankdata

    y = np.asarray(y).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    pos, neg = s[y], s[~y]
    m, n = len(pos), len(neg)
    if m == 0 or n == 0:
        raise InputError("AUC needs rows of both classes.")
    tz = rankdata(np.concatenate([pos, neg]))
    tx, ty = rankdata(pos), rankdata(neg)
    auc = (tz[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (tz[:m] - tx) / n
    v01 = 1 - (tz[m:] - ty) / m
    var = (np.var(v10, ddof=1) / m if m > 1 else 0.0) + (np.var(v01, ddof=1) / n if n > 1 else 0.0)
    return float(auc), float(var)


def auc_interval(auc: float, var: float, z: float = Z95) -> tuple[float, float]:
    """Normal interval auc +- z * sqrt(var), clipped to [0, 1]."""
    se = math.sqrt(max(var, 0.0))
    return max(0.0, auc - z * se), min(1.0, auc + z * se)


def column_aucs(values: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-column AUC of `values` (n, d) for boolean `y` (Mann-Whitney, ties averaged)."""
    from scipy.stats import rankdata

    ranks = rankdata(values, axis=0)
    m, n = int(y.sum()), int((~y).sum())
    return (ranks[y].sum(0) - m * (m + 1) / 2) / (m * n)


def mann_whitney_p(values: np.ndarray, y: np.ndarray) -> float:
    """Two-sided Mann-Whitney p-value of `values` between rows where `y` is true and false (1 for a constant)."""
    from scipy.stats import mannwhitneyu

    if values.std() == 0:
        return 1.0
    return float(mannwhitneyu(values[y], values[~y], alternative="two-sided").pvalue)


def fisher_exact_p(table: Any, alternative: str = "two-sided") -> float:
    """Fisher's exact test p-value of a 2x2 count table (`alternative`: two-sided, greater, less)."""
    from scipy.stats import fisher_exact

    return float(fisher_exact(table, alternative=alternative).pvalue)


# --- multiple testing ----------------------------------------------------------------------------


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values: family-wise error control over all tests.

    NaN p-values (tests that could not be run) stay NaN and do not count in the family.
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if ok.size == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    out[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return out


# --- means ---------------------------------------------------------------------------------------


def mean_interval(x: Any) -> tuple[float, float, float]:
    """Mean and its 95% t interval (NaN interval for fewer than two values)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if x.size < 2:
        return m, math.nan, math.nan
    se = float(x.std(ddof=1)) / math.sqrt(x.size)
    t = t_quantile(0.975, x.size - 1)
    return m, m - t * se, m + t * se


# --- resampling ----------------------------------------------------------------------------------


def percentile_interval(replicates: Any, confidence: float = 0.95) -> tuple[float, float]:
    """The central `confidence` percentile interval of bootstrap replicates."""
    alpha = (1 - confidence) / 2
    reps = np.asarray(replicates, dtype=np.float64)
    return float(np.quantile(reps, alpha)), float(np.quantile(reps, 1 - alpha))


def bootstrap_interval(
    statistic: Callable[[np.ndarray], float],
    n_units: int,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of `statistic(indices)` over `n_units` resampled with replacement.

    `statistic` receives an index array (units drawn with replacement) and returns a number; NaN
    replicates (e.g. a resample where every rating agrees by chance) are left out.
    """
    if n_units < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    reps = np.array([statistic(rng.integers(0, n_units, n_units)) for _ in range(n_boot)], dtype=np.float64)
    reps = reps[~np.isnan(reps)]
    if len(reps) == 0:
        return math.nan, math.nan
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(reps, [tail, 100 - tail])
    return float(lo), float(hi)


def permutation_p(
    statistic: Callable[[np.ndarray], np.ndarray], n: int, m: int, n_perm: int, seed: int
) -> tuple[float, float]:
    """Observed statistic for the first `n` of `n + m` pooled rows, and its one-sided permutation
    p-value (1 + #{permuted >= observed}) / (1 + n_perm). `statistic` takes (p, n+m) 0/1 label rows
    (1 = the first sample) and returns one value per row."""
    base = np.zeros((1, n + m))
    base[0, :n] = 1
    observed = float(statistic(base)[0])
    rng = np.random.default_rng(seed)
    perms = np.zeros((n_perm, n + m))
    for i in range(n_perm):
        perms[i, rng.permutation(n + m)[:n]] = 1
    null = statistic(perms) if n_perm else np.zeros(0)
    return observed, (1 + int(np.sum(null >= observed))) / (1 + n_perm)
