"""workbench.model: every kind of user model behind one interface, and clear errors for bad ones."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.errors import InputError, SchemaError
from workbench.model import Model, as_model, check_probabilities

TEXTS = ["a great film", "a dull film", "a film"]


def probs_fn(texts):
    return np.array([[0.9, 0.1] if "great" in t else [0.2, 0.8] for t in texts])


class Estimator:
    classes_ = np.array(["fresh", "rotten"])

    def predict_proba(self, texts):
        return probs_fn(texts)

    def predict(self, texts):
        return np.array(["rotten"] * len(texts))  # deliberately not the argmax: answers come from predict


class Labeler:
    def predict(self, texts):
        return ["fresh" for _ in texts]


def test_each_kind_is_recognised():
    assert as_model(probs_fn).kind == "callable"
    assert as_model(Estimator()).kind == "estimator"
    assert as_model(Labeler()).kind == "labeler"
    assert as_model({"a": "b"}).kind == "mapping"
    assert as_model(np.array([[0.5, 0.5]])).kind == "probabilities"
    m = as_model(probs_fn, classes=["fresh", "rotten"])
    assert as_model(m) is m and as_model(m, classes=["x", "y"]).classes == ["x", "y"]
    assert isinstance(m, Model) and "callable" in repr(m)


def test_classes_come_from_classes_or_the_estimator():
    assert as_model(Estimator()).classes == ["fresh", "rotten"]
    assert as_model(Estimator(), classes=["a", "b"]).classes == ["a", "b"]
    assert as_model(probs_fn).classes is None


def test_probabilities_from_callables_estimators_and_arrays():
    np.testing.assert_allclose(as_model(probs_fn).probabilities(TEXTS), probs_fn(TEXTS))
    np.testing.assert_allclose(as_model(Estimator()).probabilities(TEXTS), probs_fn(TEXTS))
    arr = probs_fn(TEXTS)
    np.testing.assert_allclose(as_model(arr).probabilities(TEXTS), arr)
    binary = as_model(lambda texts: np.array([0.25] * len(texts))).probabilities(TEXTS)
    np.testing.assert_allclose(binary, [[0.75, 0.25]] * 3)  # 1-D is P(class 1)


def test_answers_from_every_kind():
    assert as_model(probs_fn, classes=["fresh", "rotten"]).answers(TEXTS) == ["fresh", "rotten", "rotten"]
    assert as_model(Estimator()).answers(TEXTS) == ["rotten"] * 3  # predict, not predict_proba
    assert as_model(Labeler()).answers(TEXTS) == ["fresh"] * 3
    assert as_model(lambda texts: [1, None, 3]).answers(TEXTS) == ["1", None, "3"]
    table = {"a great film": "fresh", "a dull film": "rotten", "id-3": "fresh"}
    assert as_model(table).answers(TEXTS, ids=["id-1", "id-2", "id-3"]) == ["fresh", "rotten", "fresh"]
    scored = as_model(probs_fn(TEXTS), classes=["fresh", "rotten"])
    assert scored.answers(TEXTS) == ["fresh", "rotten", "rotten"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (lambda texts: 1 / 0, "predict_fn raised ZeroDivisionError"),
        (lambda texts: probs_fn(texts)[:2], "returned 2 rows for 3 texts"),
        (lambda texts: np.full((len(texts), 2), np.nan), "NaN or infinite"),
        (lambda texts: np.full((len(texts), 2), 3.0), "look like logits"),
        (lambda texts: np.full((len(texts), 2), 0.2), "do not sum to 1"),
        (lambda texts: np.ones((len(texts), 1)), "one probability per class"),
        (lambda texts: ["x"] * len(texts), "must return numbers"),
        ({"a": "b"}, "gives answers, not class probabilities"),
        (Labeler(), "no predict_proba"),
    ],
)
def test_bad_probabilities_are_named(source, message):
    with pytest.raises(InputError, match=message):
        as_model(source).probabilities(TEXTS)


def test_bad_answers_and_bad_models_are_named():
    with pytest.raises(InputError, match="class names"):
        as_model(probs_fn).answers(TEXTS)
    with pytest.raises(InputError, match="one answer per text"):
        as_model(lambda texts: ["x"]).answers(TEXTS)
    with pytest.raises(InputError, match="lack 1 of the 3"):
        as_model({"a great film": "x", "a dull film": "y"}).answers(TEXTS)
    with pytest.raises(InputError, match="columns but classes"):
        as_model(probs_fn, classes=["a", "b", "c"]).probabilities(TEXTS)
    with pytest.raises(InputError, match="must be a callable"):
        as_model(42)

    def refuses(texts):
        raise SchemaError("the model's own message")

    with pytest.raises(SchemaError, match="own message"):  # the workbench's own errors pass through unchanged
        as_model(refuses).answers(TEXTS)


def test_check_probabilities_alone():
    np.testing.assert_allclose(check_probabilities([0.2, 0.9]), [[0.8, 0.2], [0.1, 0.9]])
    with pytest.raises(InputError, match="probs returned 3 rows"):
        check_probabilities(np.full((3, 2), 0.5), 2)
    with pytest.raises(InputError, match="shape"):
        check_probabilities(np.zeros((2, 2, 2)))
