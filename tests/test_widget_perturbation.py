"""PerturbationExplorer driven through its traits, no browser."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import widgets
from workbench import charts, perturb
from workbench.data import validate

TEXTS = [
    "This film is truly wonderful: the acting feels gripping!",
    "A dull, tedious picture that never finds its story.",
    "<script>alert('x')</script> is a wonderful trick & more",
    "日本語のレビューです。",
]


class Keyword:
    classes_ = ("fresh", "rotten")

    def predict_proba(self, texts):
        return np.array([[0.9, 0.1] if "wonderful" in t.lower() else [0.2, 0.8] for t in texts])


@pytest.fixture
def df():
    return validate(pl.DataFrame({"text": TEXTS, "origin": "real", "label": ["fresh", "rotten", "fresh", "rotten"]}))


@pytest.fixture
def explorer(df):
    widgets.setup()
    return widgets.PerturbationExplorer(df, Keyword())


def test_traits_drive_the_view(explorer):
    explorer.perturbation = "synonyms"
    explorer.strength = 1.0
    expected = perturb.perturb_text(TEXTS[0], "synonyms", 1.0, 0)
    assert explorer.perturbed_text == expected != TEXTS[0]
    assert explorer.chooser.value == "synonyms" and explorer.slider.value == 1.0
    assert "wb-added" in explorer.text_view.value and "wb-removed" in explorer.text_view.value
    explorer.strength = 0.0
    assert explorer.perturbed_text == TEXTS[0] and "unchanged at this strength" in explorer.text_view.value
    explorer.picker.value = 1  # the control drives the trait too
    assert explorer.index == 1 and explorer.perturbed_text == TEXTS[1]


def test_predictions_before_and_after(explorer):
    explorer.perturbation = "typos"
    explorer.index = 0
    explorer.strength = 1.0
    assert explorer.before == {"prediction": "fresh", "confidence": pytest.approx(0.9)}
    after = Keyword().predict_proba([explorer.perturbed_text])[0]
    assert explorer.after["confidence"] == pytest.approx(after.max())
    assert "before" in explorer.prediction_view.value and "after" in explorer.prediction_view.value


def test_user_text_is_escaped(explorer):
    explorer.index = 2
    for strength in (0.0, 1.0):
        explorer.strength = strength
        for view in (explorer.original, explorer.text_view):
            assert "<script>" not in view.value and "&lt;script&gt;" in view.value


def test_sensitivity_curve_follows_the_perturbation(explorer):
    spec = explorer.chart.spec
    assert "typos" in str(spec["title"])
    explorer.perturbation = "casing"
    data = next(iter(explorer.chart.chart.to_dict()["datasets"].values()))
    assert {d["perturbation"] for d in data} == {"casing"}
    assert "casing" in explorer.curve_table.value  # the plain fallback table
    table = explorer.curve("casing")
    assert table["strength"].to_list() == [0.0, 0.25, 0.5, 0.75, 1.0]
    charts.spec(charts.sensitivity_curve(table, "flip_rate"))


def test_without_a_model_only_text(df):
    ex = widgets.PerturbationExplorer(df)
    ex.perturbation = "casing"
    ex.strength = 1.0
    assert ex.perturbed_text != TEXTS[0] and ex.chart is None
    assert "Pass predict_fn" in ex.prediction_view.value and ex.before == {}


def test_needs_text(df):
    with pytest.raises(ValueError, match="'text' column"):
        widgets.PerturbationExplorer(df.clear())
