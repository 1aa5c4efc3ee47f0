"""PRDC: precision, recall, density and coverage of synthetic embeddings against real ones.

Naeem et al. 2020 ("Reliable Fidelity and Diversity Metrics for Generative Models"), Euclidean
distance, each point's radius the distance to its k-th nearest neighbour within its own set.
Bottom layer, on the exact nearest-neighbour kernel `workbench.knn`: the coverage check
(`workbench.checks.coverage`, which re-exports `prdc`, `prdc_result`, `PRDCResult`,
`expected_coverage`) and the feedback-amplification check both measure with it.

- `prdc(real, fake, k)`: the four numbers as a dict (the public API of `checks.coverage.prdc`).
- `prdc_result(real, fake, k)`: the same with per-example flags and bootstrap intervals.
- `expected_coverage(N, M, k)`: what two samples of the same distribution give.

Results equal the definitions computed in exact arithmetic (see `workbench.knn`). The `prdc`
package rounds distances to float32, so the two can differ only where a distance and a radius
agree to about 7 significant digits (a tie at float32 precision).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.errors import InputError, WorkbenchWarning
from workbench.knn import DEFAULT_MEMORY_MB, as_matrix, ball_pairs, kth_neighbour_distances
from workbench.stats import percentile_interval

__all__ = ["DEFAULT_MEMORY_MB", "METRICS", "PRDCResult", "check_inputs", "expected_coverage", "prdc", "prdc_result"]

METRICS = ("precision", "recall", "density", "coverage")


def check_inputs(real: Any, fake: Any, k: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Real and synthetic embeddings as (n, d) arrays and k as an int, or an `InputError` saying
    what is wrong: mismatched dimensions, NaN/inf, an empty synthetic set, fewer than k+1 rows."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be a positive integer (the nearest-neighbour count, 5 in the paper); got {k!r}.")
    k = int(k)
    r = as_matrix(real, "real")
    f = as_matrix(fake, "synthetic")
    if r.shape[1] != f.shape[1]:
        raise InputError(
            f"real and synthetic embeddings have different dimensions ({r.shape[1]} vs {f.shape[1]}); "
            "embed both with the same model."
        )
    if f.shape[0] == 0:
        raise InputError("the synthetic set is empty; coverage of the real data by nothing is undefined.")
    for arr, name in ((r, "real"), (f, "synthetic")):
        if arr.shape[0] < k + 1:
            raise InputError(
                f"the {name} set has {arr.shape[0]} row(s); k-nearest-neighbour radii with k={k} need at "
                f"least k+1={k + 1}. Add rows or lower k."
            )
    return r, f, k


def expected_coverage(n_real: int, n_fake: int, k: int = 5) -> float:
    """Expected coverage when real and synthetic are samples of the same distribution.

    A real point is uncovered when its k nearest neighbours among the other N-1 real and the M
    synthetic points are all real: prod_{t<k} (N-1-t)/(N+M-1-t) (Naeem et al. 2020, section 3.3).
    For N = M large this is 1 - 2^-k (0.969 at k=5).
    """
    miss = 1.0
    for t in range(k):
        miss *= max(0, n_real - 1 - t) / (n_real + n_fake - 1 - t)
    return 1.0 - miss


@dataclass
class PRDCResult:
    """PRDC metrics with the per-example facts they average.

    - `real_covered[i]`: some synthetic point lies strictly inside real i's k-NN ball (coverage).
    - `real_in_synthetic_manifold[i]`: real i lies inside some synthetic k-NN ball (recall).
    - `synthetic_in_real_manifold[j]`: synthetic j lies inside some real k-NN ball (precision).
    - `synthetic_ball_count[j]`: how many real k-NN balls contain synthetic j (density = mean / k).
    - `real_ball_count[i]`: how many synthetic points lie inside real i's ball.
    - `real_radius`, `synthetic_radius`: the k-NN radii (0 for a point with k or more duplicates:
      its ball is empty under the strict inequality of the definition, so it is never covered).
    - `ci`: {metric: (low, high)} percentile bootstrap intervals when requested, else None.
    """

    k: int
    precision: float
    recall: float
    density: float
    coverage: float
    real_radius: np.ndarray
    synthetic_radius: np.ndarray
    real_covered: np.ndarray
    real_in_synthetic_manifold: np.ndarray
    real_ball_count: np.ndarray
    synthetic_in_real_manifold: np.ndarray
    synthetic_ball_count: np.ndarray
    expected_coverage: float
    ci: dict[str, tuple[float, float]] | None = None
    confidence: float | None = None

    def metrics(self) -> dict[str, float]:
        return {m: getattr(self, m) for m in METRICS}

    def bootstrap(
        self, n_boot: int = 1000, *, confidence: float = 0.95, seed: int = 0
    ) -> dict[str, tuple[float, float]]:
        """Percentile bootstrap intervals for the four metrics, resampling examples.

        The k-NN radii (the estimated manifolds) are held fixed and the per-example flags and counts
        are resampled with replacement (real rows for recall and coverage, synthetic rows for
        precision and density). Recomputing radii on a resample would put duplicate points in it,
        whose zero radii make the metrics meaningless. So the intervals describe the sampling error
        of the averages given the manifolds.
        """
        if n_boot < 1:
            raise InputError(f"n_boot must be at least 1; got {n_boot}.")
        if not 0 < confidence < 1:
            raise InputError(f"confidence must be between 0 and 1 (e.g. 0.95); got {confidence}.")
        rng = np.random.default_rng(seed)
        n, m = self.real_covered.size, self.synthetic_ball_count.size
        per_real = {
            "recall": self.real_in_synthetic_manifold.astype(float),
            "coverage": self.real_covered.astype(float),
        }
        per_fake = {
            "precision": self.synthetic_in_real_manifold.astype(float),
            "density": self.synthetic_ball_count / self.k,
        }
        out: dict[str, tuple[float, float]] = {}
        boot_batch = max(1, 20_000_000 // max(n, m))
        for values, size in ((per_real, n), (per_fake, m)):
            for name, v in values.items():
                means = []
                for s in range(0, n_boot, boot_batch):
                    idx = rng.integers(0, size, size=(min(boot_batch, n_boot - s), size))
                    means.append(v[idx].mean(axis=1))
                dist = np.concatenate(means)
                out[name] = percentile_interval(dist, confidence)
        return {m_: out[m_] for m_ in METRICS}


def prdc_result(
    real: Any,
    fake: Any,
    k: int = 5,
    *,
    bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    memory_mb: float = DEFAULT_MEMORY_MB,
) -> PRDCResult:
    """Precision, recall, density and coverage (Naeem et al. 2020) with per-example flags.

    `real` (N, d) and `fake` (M, d) are embeddings (any float dtype). Euclidean distance; the
    k-NN radius of a point is the distance to its k-th nearest neighbour in its own set. Works in
    row blocks sized to `memory_mb` (never an N x M matrix). `bootstrap=B` adds percentile intervals
    (`ci`) from B resamples (see `PRDCResult.bootstrap`).

    Bad input raises `InputError`: mismatched dimensions, NaN/inf, an empty synthetic set, fewer
    than k+1 rows in either set. Duplicate points are allowed (documented behaviour, as in the
    paper and the `prdc` package): a point with k or more exact duplicates has radius 0 and an
    empty ball; a `WorkbenchWarning` says how many such points there are.
    """
    r, f, k = check_inputs(real, fake, k)
    if memory_mb <= 0:
        raise InputError(f"memory_mb must be positive; got {memory_mb}.")
    r2 = kth_neighbour_distances(r, k, squared=True, memory_mb=memory_mb)
    s2 = kth_neighbour_distances(f, k, squared=True, memory_mb=memory_mb)
    zero_r, zero_f = int((r2 == 0).sum()), int((s2 == 0).sum())
    if zero_r or zero_f:
        warnings.warn(
            f"{zero_r} real and {zero_f} synthetic point(s) have {k} or more exact duplicates, so their "
            "k-NN radius is 0 and their ball is empty (such real points count as uncovered). "
            "Deduplicate the embeddings (e.g. drop repeated texts) for meaningful coverage.",
            WorkbenchWarning,
            stacklevel=2,
        )
    n, m = r.shape[0], f.shape[0]
    pairs = ball_pairs(r, f, r2, s2, squared=True, memory_mb=memory_mb)
    real_ball_count = np.bincount(pairs.x_ball_rows, minlength=n)
    synthetic_ball_count = np.bincount(pairs.x_ball_cols, minlength=m)
    real_in_fake = np.zeros(n, dtype=bool)
    real_in_fake[pairs.y_ball_rows] = True
    result = PRDCResult(
        k=k,
        precision=float((synthetic_ball_count > 0).mean()),
        recall=float(real_in_fake.mean()),
        density=float(synthetic_ball_count.sum() / (k * m)),
        coverage=float((real_ball_count > 0).mean()),
        real_radius=np.sqrt(r2),
        synthetic_radius=np.sqrt(s2),
        real_covered=real_ball_count > 0,
        real_in_synthetic_manifold=real_in_fake,
        real_ball_count=real_ball_count,
        synthetic_in_real_manifold=synthetic_ball_count > 0,
        synthetic_ball_count=synthetic_ball_count,
        expected_coverage=expected_coverage(n, m, k),
    )
    if bootstrap:
        result.ci = result.bootstrap(bootstrap, confidence=confidence, seed=seed)
        result.confidence = confidence
    return result


def prdc(
    real: Any,
    fake: Any,
    k: int = 5,
    *,
    bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    memory_mb: float = DEFAULT_MEMORY_MB,
) -> dict[str, Any]:
    """`{"precision", "recall", "density", "coverage"}` of Naeem et al. 2020 (Euclidean distance).

    Precision: share of synthetic points inside some real k-NN ball (fidelity). Recall: share of
    real points inside some synthetic k-NN ball. Density: how many real balls contain a synthetic
    point, averaged and divided by k (about 1 for same-distribution data). Coverage: share of real
    points whose own k-NN ball contains a synthetic point (about 1 - 2^-k for same-distribution
    data; the diversity measure this module is about). With `bootstrap=B` the dict also has
    `ci`: {metric: (low, high)}. See `prdc_result` for per-example flags.
    """
    res = prdc_result(real, fake, k, bootstrap=bootstrap, confidence=confidence, seed=seed, memory_mb=memory_mb)
    out: dict[str, Any] = res.metrics()
    if res.ci is not None:
        out["ci"] = res.ci
    return out
