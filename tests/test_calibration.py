"""Calibration: ECE against a hand-computed example and an independent implementation; Brier; shift."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench import calibration, charts
from workbench.errors import InputError

# Five predictions, five bins (0, .2], (.2, .4], (.4, .6], (.6, .8], (.8, 1]:
#   conf .90 right, conf .95 right   -> bin 5: accuracy 1,  confidence .925 -> |gap| .075 x 2/5 = .03
#   conf .80 wrong, conf .70 right   -> bin 4: accuracy .5, confidence .75  -> |gap| .25  x 2/5 = .10
#   conf .60 wrong (on the edge)     -> bin 3: accuracy 0,  confidence .60  -> |gap| .60  x 1/5 = .12
HAND_PROBS = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.05, 0.95]])
HAND_LABELS = np.array([0, 1, 1, 0, 1])


def test_ece_matches_hand_computed_example():
    assert calibration.expected_calibration_error(HAND_PROBS, HAND_LABELS, n_bins=5) == pytest.approx(0.25)


def test_reliability_table_matches_hand_example():
    t = calibration.reliability_table(HAND_PROBS, HAND_LABELS, n_bins=5)
    assert t["n"].to_list() == [0, 0, 1, 2, 2]
    assert t["accuracy"].to_list()[2:] == [0.0, 0.5, 1.0]
    assert t["confidence"].to_list()[2:] == pytest.approx([0.6, 0.75, 0.925])
    weighted = (t["n"] * t["gap"].abs()).sum() / t["n"].sum()
    assert weighted == pytest.approx(0.25)


def _reference_ece(probs, labels, n_bins):
    """Straight from the definition, one bin at a time."""
    conf = probs.max(1)
    correct = probs.argmax(1) == labels
    total = 0.0
    for m in range(1, n_bins + 1):
        lo, hi = (m - 1) / n_bins, m / n_bins
        in_bin = (conf > lo) & (conf <= hi)
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - conf[in_bin].mean())
    return total


@pytest.mark.parametrize("k", [2, 3, 5])
def test_ece_matches_definition_on_random_data(k):
    rng = np.random.default_rng(k)
    logits = rng.normal(size=(500, k)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(k, p=p) for p in probs])
    for n_bins in (1, 10, 15):
        assert calibration.expected_calibration_error(probs, labels, n_bins) == pytest.approx(
            _reference_ece(probs, labels, n_bins)
        )


def test_perfectly_calibrated_and_overconfident():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.5, 1.0, 20000)
    labels = (rng.random(20000) >= p).astype(int)  # class 0 is right with probability p
    probs = np.column_stack([p, 1 - p])
    assert calibration.expected_calibration_error(probs, labels) < 0.02
    sharp = np.column_stack([np.full(20000, 0.99), np.full(20000, 0.01)])
    assert calibration.expected_calibration_error(sharp, labels) > 0.2


def test_one_dimensional_probabilities_are_binary():
    p1 = HAND_PROBS[:, 1]
    assert calibration.expected_calibration_error(p1, HAND_LABELS, 5) == pytest.approx(0.25)


def test_class_name_labels():
    names = np.array(["a", "b"])[HAND_LABELS]
    assert calibration.expected_calibration_error(HAND_PROBS, names, 5, classes=["a", "b"]) == pytest.approx(0.25)


def test_brier_score():
    from sklearn.metrics import brier_score_loss

    assert calibration.brier_score(HAND_PROBS, HAND_LABELS) == pytest.approx(
        2 * brier_score_loss(HAND_LABELS, HAND_PROBS[:, 1])
    )
    assert calibration.brier_score(np.eye(3), [0, 1, 2]) == 0.0
    assert calibration.brier_score(np.eye(3), [1, 2, 0]) == 2.0


@pytest.mark.parametrize(
    ("probs", "labels", "message"),
    [
        (np.array([[0.5, np.nan]]), [0], "NaN or infinite"),
        (np.array([[2.0, -1.0]]), [0], "look like logits"),
        (np.array([[0.5, 0.7]]), [0], "do not sum to 1"),
        (np.array([[0.5, 0.5]]), [2], r"integers in \[0, 1\]"),
        (np.array([[0.5, 0.5]]), [0, 1], "labels has 2 entries"),
        (np.zeros((0, 2)), [], "probs is empty"),
        (np.array([[0.5, 0.5]]), ["x"], "class indices"),
    ],
)
def test_bad_input(probs, labels, message):
    with pytest.raises(InputError, match=message):
        calibration.expected_calibration_error(probs, labels)


def test_bad_bins():
    with pytest.raises(InputError, match="n_bins must be a positive integer"):
        calibration.expected_calibration_error(HAND_PROBS, HAND_LABELS, n_bins=0)


def test_ece_interval_brackets_the_estimate():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.5, 1, 400)
    probs = np.column_stack([p, 1 - p])
    labels = (rng.random(400) > 0.8).astype(int)
    ece, lo, hi = calibration.ece_interval(probs, labels, seed=0)
    assert lo <= ece <= hi and hi - lo > 0.01
    assert (ece, lo, hi) == calibration.ece_interval(probs, labels, seed=0)


def test_reliability_chart():
    spec = charts.spec(charts.reliability_diagram(calibration.reliability_table(HAND_PROBS, HAND_LABELS, 5)))
    layer = spec["layer"][1]
    assert layer["encoding"]["x"]["field"] == "confidence" and layer["encoding"]["y"]["field"] == "accuracy"


class _Overconfident:
    """Right on clean text, equally sure when typos hide its keyword: calibration breaks under shift."""

    classes_ = ("fresh", "rotten")

    def predict_proba(self, texts):
        return np.array([[0.97, 0.03] if "wonderful" in t.lower() else [0.03, 0.97] for t in texts])


def test_calibration_under_shift_grows_with_strength():
    from workbench import perturb
    from workbench.data import validate

    texts = [f"A wonderful film number {i}." for i in range(40)] + [f"A dreary film number {i}." for i in range(40)]
    df = validate(pl.DataFrame({"text": texts, "origin": "real", "label": ["fresh"] * 40 + ["rotten"] * 40}))
    rep = perturb.sensitivity(_Overconfident(), df, ["typos", "casing"], (0.5, 1.0), seed=0)
    table = calibration.calibration_under_shift(rep, n_boot=50)
    ece = {(r["perturbation"], r["strength"]): r["ece"] for r in table.iter_rows(named=True)}
    assert ece[("none", 0.0)] < 0.05
    assert ece[("typos", 0.5)] > ece[("none", 0.0)] + 0.1
    assert ece[("typos", 1.0)] > ece[("typos", 0.5)]
    assert ece[("casing", 1.0)] == pytest.approx(ece[("none", 0.0)])  # casing does not fool this model
    rel = calibration.reliability_under_shift(rep, "typos")
    assert set(rel["strength"]) == {0.0, 0.5, 1.0}
    charts.spec(charts.reliability_diagram(rel))


def test_calibration_under_shift_needs_labels():
    from workbench import perturb
    from workbench.data import validate

    df = validate(pl.DataFrame({"text": ["a wonderful film", "a dull one"], "origin": "real"}))
    rep = perturb.sensitivity(_Overconfident(), df, ["casing"], (1.0,))
    with pytest.raises(InputError, match="calibration needs labels"):
        calibration.calibration_under_shift(rep)
