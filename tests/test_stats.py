"""workbench.stats: every interval and test against published values, hand examples and scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workbench import stats as S
from workbench.errors import InputError

# --- proportions: Newcombe (1998) published examples ---------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        # Newcombe 1998, "Two-sided confidence intervals for the single proportion", Table I, method 3
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998(k, n, lo, hi):
    got = S.wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=5e-5)
    est = S.proportion(k, n)
    assert est.value == k / n and (est.lo, est.hi) == got


def test_wilson_edge_cases():
    assert all(math.isnan(v) for v in S.wilson_interval(0, 0))
    assert S.wilson_interval(10, 10)[1] == pytest.approx(1.0)
    lo, hi = S.wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    # a wider z gives a wider interval
    assert S.wilson_interval(5, 10, z=2.576)[0] < lo


@pytest.mark.parametrize(
    ("a", "b", "lo", "hi"),
    [
        # Newcombe 1998, "Interval estimation for the difference between independent proportions",
        # Table II, method 10 (hybrid score, no continuity correction)
        ((56, 70), (48, 80), 0.0524, 0.3339),
        ((9, 10), (3, 10), 0.1705, 0.8090),
    ],
)
def test_newcombe_matches_published_examples(a, b, lo, hi):
    d = S.newcombe_interval(S.proportion(*a), S.proportion(*b))
    assert d.value == pytest.approx(a[0] / a[1] - b[0] / b[1])
    assert (d.lo, d.hi) == pytest.approx((lo, hi), abs=5e-5)
    value, low, high = d  # an Estimate unpacks like a triple
    assert (value, low, high) == (d.value, d.lo, d.hi)
    assert d.as_dict() == {"value": d.value, "lo": d.lo, "hi": d.hi}


def test_two_proportion_p_hand_example():
    # 30/100 vs 20/100: pooled 0.25, se = sqrt(0.25 * 0.75 * 0.02), z = 0.1 / se = 1.633, one-sided
    p = S.two_proportion_p(np.array([30]), 100, np.array([20]), 100)
    assert p[0] == pytest.approx(S.normal_sf(0.1 / math.sqrt(0.25 * 0.75 * 0.02)))
    assert p[0] == pytest.approx(0.05124, abs=1e-5)
    assert np.isnan(S.two_proportion_p(np.array([0]), 10, np.array([0]), 10)[0])  # no rows either side


# --- quantiles -----------------------------------------------------------------------------------


def test_one_z95_and_quantiles_agree():
    assert pytest.approx(1.959963984540054, abs=1e-12) == S.Z95
    assert S.z_two_sided(0.95) == pytest.approx(S.Z95, abs=1e-12)
    assert S.z_upper(0.025) == pytest.approx(S.Z95, abs=1e-12)
    assert S.normal_sf(S.Z95) == pytest.approx(0.025)
    assert S.t_quantile(0.975, 2) == pytest.approx(4.302653, abs=1e-6)
    with pytest.raises(InputError, match="confidence"):
        S.z_two_sided(1.5)


def test_mean_interval_t():
    m, lo, hi = S.mean_interval(np.array([1.0, 2.0, 3.0]))
    half = 4.302653 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n), sd = 1
    assert m == 2.0 and lo == pytest.approx(2 - half, abs=1e-6) and hi == pytest.approx(2 + half, abs=1e-6)
    assert math.isnan(S.mean_interval(np.array([1.0]))[1])
    assert all(math.isnan(v) for v in S.mean_interval(np.array([])))


# --- AUC -----------------------------------------------------------------------------------------


def test_delong_hand_example():
    # positives 0.8, 0.6; negatives 0.3, 0.7: 3 of 4 pairs ordered, AUC 0.75.
    # V10 = (1, 0.5), V01 = (1, 0.5): var = 0.125 / 2 + 0.125 / 2 = 0.125
    auc, var = S.delong_auc(np.array([1, 1, 0, 0]), np.array([0.8, 0.6, 0.3, 0.7]))
    assert auc == 0.75 and var == pytest.approx(0.125)
    assert S.delong_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == (1.0, 0.0)
    with pytest.raises(InputError, match="both classes"):
        S.delong_auc(np.array([1, 1]), np.array([0.1, 0.2]))


def _delong_by_definition(y, s):
    """DeLong et al. 1988 from the pairwise kernel psi(x, y) = 1 if x > y, 1/2 if equal (O(mn))."""
    pos, neg = s[y], s[~y]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(1), psi.mean(0)
    return psi.mean(), v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)


def test_delong_matches_sklearn_and_the_definition():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.random(300) < 0.4
    s = np.round(rng.normal(size=300) + y, 1)  # rounded: ties included
    auc, var = S.delong_auc(y, s)
    assert auc == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    ref_auc, ref_var = _delong_by_definition(y, s)
    assert auc == pytest.approx(ref_auc) and var == pytest.approx(ref_var)
    lo, hi = S.auc_interval(auc, var)
    assert lo == pytest.approx(auc - S.Z95 * math.sqrt(var)) and hi == pytest.approx(auc + S.Z95 * math.sqrt(var))
    assert S.auc_interval(0.99, 0.01) == (pytest.approx(0.99 - S.Z95 * 0.1), 1.0)  # clipped


def test_delong_variance_is_close_to_the_bootstrap():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.random(300) < 0.4
    s = rng.normal(size=300) + y
    auc, var = S.delong_auc(y, s)
    assert auc == pytest.approx(roc_auc_score(y, s))
    # DeLong's variance is close to the bootstrap variance
    boots = []
    for _ in range(400):
        i = rng.integers(0, 300, 300)
        boots.append(roc_auc_score(y[i], s[i]))
    assert var == pytest.approx(np.var(boots), rel=0.3)
    assert S.delong_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == (1.0, 0.0)


def test_column_aucs_match_sklearn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    y = rng.random(120) < 0.5
    values = np.column_stack([rng.normal(size=120) + y, rng.integers(0, 3, 120), -y.astype(float)])
    got = S.column_aucs(values, y)
    np.testing.assert_allclose(got, [roc_auc_score(y, values[:, j]) for j in range(3)], atol=1e-12)


def test_rank_tests():
    rng = np.random.default_rng(2)
    y = np.arange(60) < 30
    assert S.mann_whitney_p(np.ones(60), y) == 1.0
    assert S.mann_whitney_p(rng.normal(size=60) + 3 * y, y) < 1e-6
    # the lady tasting tea (Fisher 1935): 3 of 4 right, one-sided p = 17/70
    assert S.fisher_exact_p([[3, 1], [1, 3]], alternative="greater") == pytest.approx(17 / 70)


# --- multiple testing ----------------------------------------------------------------------------


def test_holm_hand_example():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04; running max 0.06
    np.testing.assert_allclose(S.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(S.holm([0.5, 0.9]), [1.0, 1.0])  # capped at 1
    # NaN (a test that could not run) stays NaN and is not counted in the family
    np.testing.assert_allclose(S.holm([0.01, math.nan, 0.04]), [0.02, math.nan, 0.04])
    assert S.holm([]).size == 0


# --- resampling ----------------------------------------------------------------------------------


def test_bootstrap_interval_is_seeded_and_covers():
    x = np.random.default_rng(3).normal(size=200)
    lo, hi = S.bootstrap_interval(lambda i: float(x[i].mean()), len(x), n_boot=400, seed=1)
    assert lo < x.mean() < hi and hi - lo < 0.4
    assert S.bootstrap_interval(lambda i: float(x[i].mean()), len(x), n_boot=400, seed=1) == (lo, hi)
    assert all(math.isnan(v) for v in S.bootstrap_interval(lambda i: 0.0, 1))
    assert all(math.isnan(v) for v in S.bootstrap_interval(lambda i: math.nan, 10, n_boot=5))


def test_percentile_interval():
    reps = np.arange(101, dtype=float)
    assert S.percentile_interval(reps, 0.9) == pytest.approx((5.0, 95.0))


def test_permutation_p():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=30), rng.normal(size=30)
    pooled = np.concatenate([a, b])

    def mean_difference(labels: np.ndarray) -> np.ndarray:
        return (labels @ pooled) / 30 - ((1 - labels) @ pooled) / 30

    observed, p = S.permutation_p(mean_difference, 30, 30, 199, seed=0)
    assert observed == pytest.approx(a.mean() - b.mean()) and p > 0.05
    pooled = np.concatenate([a + 2, b])
    _, p = S.permutation_p(mean_difference, 30, 30, 199, seed=0)
    assert p == pytest.approx(1 / 200)  # nothing permuted reaches the observed shift


def test_two_proportion_exact_p_is_the_hypergeometric_tail_and_fisher():
    from scipy.stats import fisher_exact

    p = S.two_proportion_exact_p(np.array([24, 16, 0]), 300, np.array([8, 16, 0]), 300)
    # 24 real and 8 synthetic rows in a bin of 32: Fisher's one-sided test of the 2x2 table
    assert p[0] == pytest.approx(fisher_exact([[24, 276], [8, 292]], alternative="greater").pvalue, rel=1e-9)
    assert p[1] > 0.5 and p[2] == 1.0  # an even split is no evidence; an empty group none at all
