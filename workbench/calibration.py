"""Calibration: does a model's confidence track how often it is right, and does that survive shift?

- `expected_calibration_error(probs, labels, n_bins=15)`: top-label ECE with equal-width bins
  (Guo et al. 2017, "On Calibration of Modern Neural Networks"): the confidence of a row is its
  largest class probability, bin m holds confidences in ((m-1)/M, m/M] (a confidence of exactly 0
  goes to the first bin), and ECE = sum over bins of |B_m|/n * |accuracy(B_m) - confidence(B_m)|.
- `brier_score(probs, labels)`: Brier's (1950) multi-class score, the mean over rows of
  sum_k (p_k - y_k)^2 with y one-hot; 0 is perfect, 2 the worst. For two classes this is twice
  the binary form `mean((p_positive - y)^2)` that scikit-learn's `brier_score_loss` computes.
- `reliability_table(probs, labels)`: the reliability diagram's data (one row per bin);
  `workbench.charts.reliability_diagram` draws it.
- `calibration_under_shift(report)`: ECE (with a bootstrap interval), Brier, accuracy and mean
  confidence for every perturbation and strength of a `perturb.sensitivity` report.

Probabilities are an (n, k) array whose rows sum to 1; a 1-D array is read as the probability of
class 1 in a binary problem (validated by `workbench.model.check_probabilities`). Labels are class
indices 0..k-1, or class names with `classes=`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from workbench.errors import InputError
from workbench.model import check_probabilities
from workbench.stats import percentile_interval

if TYPE_CHECKING:
    from workbench.perturb import SensitivityReport


def _labels(labels: Any, n: int, k: int, classes: Sequence[Any] | None) -> np.ndarray:
    values = list(labels) if not isinstance(labels, np.ndarray) else labels.tolist()
    if len(values) != n:
        raise InputError(f"labels has {len(values)} entries but probs has {n} rows; pass one label per row.")
    if classes is not None:
        index = {str(c): i for i, c in enumerate(classes)}
        if len(index) != k:
            raise InputError(f"classes names {len(index)} classes but probs has {k} columns.")
        unknown = sorted({str(v) for v in values if str(v) not in index})
        if unknown:
            raise InputError(f"labels {unknown[:5]} are not among classes {list(index)}.")
        return np.array([index[str(v)] for v in values], dtype=np.int64)
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            "labels must be class indices 0..k-1 matching the columns of probs; for class names pass classes=[...]."
        ) from None
    if arr.size and (np.isnan(arr).any() or (arr != np.round(arr)).any() or arr.min() < 0 or arr.max() >= k):
        raise InputError(f"labels must be integers in [0, {k - 1}] (one per column of probs); got {values[:5]}...")
    return arr.astype(np.int64)


def _prepare(probs: Any, labels: Any, classes: Sequence[Any] | None) -> tuple[np.ndarray, np.ndarray]:
    p = check_probabilities(probs)
    if p.shape[0] == 0:
        raise InputError("probs is empty; calibration needs at least one prediction.")
    return p, _labels(labels, p.shape[0], p.shape[1], classes)


def _bins(conf: np.ndarray, n_bins: int) -> np.ndarray:
    # bin m (0-based) holds (m/M, (m+1)/M], as in Guo et al.: a confidence equal to a right edge
    # belongs to that bin. Edges are computed as exact quotients so 0.6 lands in (0.4, 0.6].
    edges = np.arange(1, n_bins + 1) / n_bins
    return np.clip(np.searchsorted(edges, conf, side="left"), 0, n_bins - 1)


def _check_bins(n_bins: Any) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise InputError(f"n_bins must be a positive integer; got {n_bins!r}.")
    return int(n_bins)


def _ece(conf: np.ndarray, correct: np.ndarray, n_bins: int) -> float:
    b = _bins(conf, n_bins)
    count = np.bincount(b, minlength=n_bins)
    gap = np.abs(np.bincount(b, correct, n_bins) - np.bincount(b, conf, n_bins))
    return float(gap.sum() / max(count.sum(), 1))


def expected_calibration_error(
    probs: Any, labels: Any, n_bins: int = 15, *, classes: Sequence[Any] | None = None
) -> float:
    """Top-label expected calibration error with `n_bins` equal-width bins (Guo et al. 2017).

    0 means confidence equals accuracy in every bin; larger is worse (at most 1).
    """
    n_bins = _check_bins(n_bins)
    p, y = _prepare(probs, labels, classes)
    pred = p.argmax(1)
    return _ece(p.max(1), (pred == y).astype(np.float64), n_bins)


def brier_score(probs: Any, labels: Any, *, classes: Sequence[Any] | None = None) -> float:
    """Multi-class Brier score: mean over rows of sum_k (p_k - onehot(y)_k)^2, in [0, 2]."""
    p, y = _prepare(probs, labels, classes)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    return float(((p - onehot) ** 2).sum(1).mean())


def reliability_table(
    probs: Any, labels: Any, n_bins: int = 15, *, classes: Sequence[Any] | None = None
) -> pl.DataFrame:
    """One row per bin: `bin`, `lower`, `upper`, `n`, `confidence` (mean), `accuracy`, `gap`.

    Empty bins have n = 0 and null confidence/accuracy. The n-weighted mean of |gap| is the ECE.
    """
    n_bins = _check_bins(n_bins)
    p, y = _prepare(probs, labels, classes)
    conf = p.max(1)
    correct = (p.argmax(1) == y).astype(np.float64)
    b = _bins(conf, n_bins)
    count = np.bincount(b, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(b, conf, n_bins) / count
        acc = np.bincount(b, correct, n_bins) / count
    return pl.DataFrame(
        {
            "bin": np.arange(n_bins),
            "lower": np.arange(n_bins) / n_bins,
            "upper": np.arange(1, n_bins + 1) / n_bins,
            "n": count,
            "confidence": mean_conf,
            "accuracy": acc,
            "gap": acc - mean_conf,
        }
    ).with_columns(pl.col("confidence", "accuracy", "gap").fill_nan(None))


def ece_interval(
    probs: Any,
    labels: Any,
    n_bins: int = 15,
    *,
    classes: Sequence[Any] | None = None,
    n_boot: int = 200,
    seed: int = 0,
) -> tuple[float, float, float]:
    """ECE with a seeded 95% percentile bootstrap interval over rows: (ece, low, high)."""
    n_bins = _check_bins(n_bins)
    p, y = _prepare(probs, labels, classes)
    conf = p.max(1)
    correct = (p.argmax(1) == y).astype(np.float64)
    ece = _ece(conf, correct, n_bins)
    if len(y) < 2 or n_boot < 1:
        return ece, math.nan, math.nan
    rng = np.random.default_rng(seed)
    boots = [_ece(conf[i], correct[i], n_bins) for i in rng.integers(0, len(y), size=(n_boot, len(y)))]
    lo, hi = percentile_interval(boots, 0.95)
    return ece, lo, hi


def calibration_under_shift(
    report: SensitivityReport, n_bins: int = 15, *, n_boot: int = 200, seed: int = 0
) -> pl.DataFrame:
    """Calibration of the model in a sensitivity report, per perturbation and strength.

    Columns: `perturbation`, `strength`, `n` (rows with a known expected label), `accuracy`,
    `confidence` (mean top-label probability), `overconfidence` (confidence minus accuracy),
    `ece` with `ece_lo`/`ece_hi` (bootstrap), `brier`. A model whose confidence tracks correctness
    keeps a small ECE as strength grows; a brittle one loses accuracy but not confidence.
    Needs labels: the data's `label` column and the model's classes.
    """
    if report.labels is None:
        raise InputError(
            "calibration needs labels: the data had no 'label' column or the model's classes are unknown "
            "(pass classes= to sensitivity)."
        )
    rows = []
    for (name, strength), probs in report.probabilities.items():
        expected = report.expected_labels(name, strength)
        if expected is None or not (expected >= 0).any():
            continue
        known = expected >= 0
        p, y = probs[known], expected[known]
        ece, lo, hi = ece_interval(p, y, n_bins, n_boot=n_boot, seed=seed)
        acc = float((p.argmax(1) == y).mean())
        conf = float(p.max(1).mean())
        rows.append(
            {
                "perturbation": name,
                "strength": float(strength),
                "n": int(known.sum()),
                "accuracy": acc,
                "confidence": conf,
                "overconfidence": conf - acc,
                "ece": ece,
                "ece_lo": lo,
                "ece_hi": hi,
                "brier": brier_score(p, y),
            }
        )
    if not rows:
        raise InputError("no condition in the report has rows with known labels; check the 'label' column.")
    return pl.DataFrame(rows).sort("perturbation", "strength")


def reliability_under_shift(report: SensitivityReport, perturbation: str, n_bins: int = 15) -> pl.DataFrame:
    """Reliability tables of the baseline and every strength of `perturbation`, stacked with `strength`."""
    if report.labels is None:
        raise InputError("reliability needs labels: the data had no 'label' column or the classes are unknown.")
    frames = []
    for (name, strength), probs in report.probabilities.items():
        if name not in ("none", perturbation):
            continue
        expected = report.expected_labels(name, strength)
        if expected is None:
            continue
        known = expected >= 0
        if not known.any():
            continue
        frames.append(
            reliability_table(probs[known], expected[known], n_bins).with_columns(
                strength=pl.lit(float(strength)), perturbation=pl.lit(perturbation)
            )
        )
    if len(frames) < 2:
        raise InputError(f"the report has no labelled results for perturbation {perturbation!r}.")
    return pl.concat(frames)
