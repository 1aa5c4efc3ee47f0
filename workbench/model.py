"""The one adapter for a user's model: whatever the user has, one way to ask it for answers.

Bottom layer: imports only numpy and errors. Perturbation sensitivity, calibration and the
failure diary all take a user's model through `as_model`; none has rules of its own.

A model can be

- a callable: a list of texts -> an (n, k) array of class probabilities (rows summing to 1; a
  1-D array is read as P(class 1) of a binary model), or -> one answer per text; name the k
  columns with `classes=`;
- a scikit-learn style estimator: `predict_proba` (and `classes_`) for probabilities, `predict`
  for answers (a pipeline from text works as it is);
- a mapping text (or id) -> answer, e.g. read from a predictions file: answers only;
- a probability array, one row per text already scored: probabilities (and answers with `classes=`).

`Model.probabilities(texts)` returns a validated (n, k) float array; `Model.answers(texts)` one
answer (a string, or None) per text. Bad models and bad outputs raise `InputError` saying what was
expected and how to fix it. `check_probabilities(probs)` is the validation of a probability array.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from workbench.errors import InputError, WorkbenchError

__all__ = ["SUM_TOLERANCE", "Model", "as_model", "check_probabilities"]

SUM_TOLERANCE = 1e-3
KINDS = ("callable", "estimator", "labeler", "mapping", "probabilities")  # see `Model.kind`


def check_probabilities(probs: Any, n: int | None = None, *, who: str = "probs") -> np.ndarray:
    """`probs` as a float64 (n, k) array, or an `InputError` naming what is wrong and how to fix it.

    Accepts a 1-D array of positive-class probabilities for binary problems (stacked to [1-p, p]).
    Refuses: wrong length, fewer than two columns, NaN or infinite values, negative values or
    values above 1, and rows that do not sum to 1 (within 1e-3): logits or scores are not
    probabilities.
    """
    try:
        arr = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            f"{who} must return numbers: an (n, k) array of class probabilities; got {type(probs).__name__}."
        ) from None
    if arr.ndim == 1:
        if n is not None and arr.shape[0] != n:
            raise InputError(f"{who} returned {arr.shape[0]} values for {n} texts; it must return one row per text.")
        _check_finite(arr, who)
        if ((arr < 0) | (arr > 1)).any():
            raise InputError(
                f"{who} returned a 1-D array with values outside [0, 1]; a 1-D result is read as P(class 1), "
                "so pass probabilities (apply a sigmoid to scores) or an (n, k) array."
            )
        arr = np.column_stack([1 - arr, arr])
    if arr.ndim != 2:
        raise InputError(f"{who} must return an (n, k) array of class probabilities; got shape {arr.shape}.")
    if n is not None and arr.shape[0] != n:
        raise InputError(
            f"{who} returned {arr.shape[0]} rows for {n} texts (shape {arr.shape}); it must return one row per "
            "text, in order."
        )
    if arr.shape[1] < 2:
        raise InputError(
            f"{who} returned {arr.shape[1]} column(s); it must return one probability per class (at least 2). "
            "For a binary model returning P(positive), stack [1 - p, p]."
        )
    _check_finite(arr, who)
    if (arr < -1e-9).any() or (arr > 1 + 1e-9).any():
        raise InputError(
            f"{who} returned values outside [0, 1] (min {arr.min():.3g}, max {arr.max():.3g}); these look like "
            "logits or scores. Return probabilities (apply softmax)."
        )
    sums = arr.sum(1)
    bad = np.flatnonzero(np.abs(sums - 1) > SUM_TOLERANCE)
    if bad.size:
        raise InputError(
            f"{who} returned rows that do not sum to 1 (e.g. row {int(bad[0])} sums to {sums[bad[0]]:.4g}; "
            f"{bad.size} such rows). Return normalised class probabilities (apply softmax)."
        )
    return np.clip(arr, 0.0, 1.0)


def _check_finite(arr: np.ndarray, who: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = np.flatnonzero(bad.reshape(arr.shape[0], -1).any(1))
        raise InputError(
            f"{who} returned NaN or infinite values in {rows.size} row(s) (e.g. row {int(rows[0])}); "
            "every row must hold finite class probabilities. Check the model for empty or unusual inputs."
        )


def _is_probability_array(source: Any) -> bool:
    return isinstance(source, np.ndarray) and source.dtype.kind in "fiub" and source.ndim in (1, 2)


class Model:
    """A user's model behind one interface (build it with `as_model`).

    `kind`: `callable`, `estimator` (has `predict_proba`), `labeler` (has `predict` only), `mapping`
    or `probabilities` (an array scored beforehand). `classes`: the names of the probability
    columns, from `classes=` or the model's `classes_` (None when unknown).
    """

    def __init__(self, source: Any, *, classes: Sequence[Any] | None = None, who: str = "predict_fn") -> None:
        self.source = source
        self.who = who
        if isinstance(source, Mapping):
            self.kind = "mapping"
        elif _is_probability_array(source):
            self.kind = "probabilities"
        elif hasattr(source, "predict_proba"):
            self.kind = "estimator"
        elif callable(getattr(source, "predict", None)):
            self.kind = "labeler"
        elif callable(source):
            self.kind = "callable"
        else:
            raise InputError(
                f"{who} must be a callable (list of texts -> (n, k) probabilities or one answer per text), a model "
                "with predict_proba/predict, a mapping text -> answer, or an array of probabilities; "
                f"got {type(source).__name__}."
            )
        found = classes if classes is not None else getattr(source, "classes_", None)
        self.classes: list[str] | None = None if found is None else [str(c) for c in found]

    def __repr__(self) -> str:
        return f"Model(kind={self.kind!r}, classes={self.classes!r})"

    # -- calling the user's code -----------------------------------------------------------------

    def _call(self, fn: Callable[[list[str]], Any], texts: list[str], returns: str) -> Any:
        try:
            return fn(list(texts))
        except WorkbenchError:
            raise
        except Exception as exc:
            raise InputError(
                f"{self.who} raised {type(exc).__name__}: {exc} (on a batch of {len(texts)} texts, first: "
                f"{(texts[0] if texts else '')[:60]!r}). It must take a list of str and return {returns}; fix the "
                "model function and run again."
            ) from None

    def _checked(self, out: Any, n: int) -> np.ndarray:
        probs = check_probabilities(out, n, who=self.who)
        if self.classes is not None and probs.shape[1] != len(self.classes):
            raise InputError(
                f"{self.who} returned {probs.shape[1]} columns but classes= names {len(self.classes)} classes "
                f"{self.classes}; they must match, one column per class in that order."
            )
        return probs

    # -- what the callers ask for ----------------------------------------------------------------

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """An (n, k) array of class probabilities for `texts`, validated (see `check_probabilities`)."""
        texts = list(texts)
        if self.kind == "mapping":
            raise InputError(
                f"{self.who} is a mapping text -> answer: it gives answers, not class probabilities. Pass a callable "
                "returning (n, k) probabilities or a model with predict_proba."
            )
        if self.kind == "labeler":
            raise InputError(
                f"{self.who} has predict() but no predict_proba(): it gives answers, not class probabilities. Pass "
                "a model with predict_proba or a callable returning (n, k) probabilities."
            )
        if self.kind == "probabilities":
            return self._checked(self.source, len(texts))
        fn = self.source.predict_proba if self.kind == "estimator" else self.source
        out = self._call(fn, texts, "an (n, k) array of class probabilities")
        return self._checked(out, len(texts))

    def answers(self, texts: Sequence[str], ids: Sequence[Any] | None = None) -> list[str | None]:
        """One answer per text, as a string (None where the model gave none).

        A mapping is looked up by text, then by the row's id (`ids`, aligned with `texts`) when given.
        Probabilities (from an estimator's `predict_proba` only when it has no `predict`, a callable
        returning an (n, k) array, or a probability array) answer with the most probable class, which
        needs the class names.
        """
        texts = list(texts)
        if self.kind == "mapping":
            table = self.source
            keys = list(ids) if ids is not None else [None] * len(texts)
            missing = [t for t, i in zip(texts, keys) if t not in table and (i is None or i not in table)]
            if missing:
                raise InputError(
                    f"the predictions lack {len(missing)} of the {len(texts)} inputs (first: {missing[0][:60]!r}); "
                    "give an answer for every input (for a diary: every input Diary.entries() lists, or "
                    "`workbench diary list --json`)."
                )
            out: Any = [table[t] if t in table else table[i] for t, i in zip(texts, keys)]
        elif self.kind == "probabilities":
            out = self.source
        else:
            predict = getattr(self.source, "predict", None)
            fn = predict if callable(predict) else getattr(self.source, "predict_proba", self.source)
            out = self._call(fn, texts, "one answer per text (or an (n, k) array of class probabilities)")
        arr = np.asarray(out, dtype=object)
        if arr.ndim == 2 and arr.shape[0] == len(texts):
            if self.classes is None:
                raise InputError(
                    f"{self.who} returned an array of shape {arr.shape} (class probabilities?) but no class names; "
                    "pass classes=[...] naming its columns, or return one answer per text."
                )
            probs = self._checked(out, len(texts))
            return [self.classes[i] for i in probs.argmax(1)]
        if arr.ndim != 1 or arr.shape[0] != len(texts):
            raise InputError(
                f"{self.who} returned {arr.shape[0] if arr.ndim else 'a scalar'} answers for {len(texts)} texts "
                f"(shape {arr.shape}); return exactly one answer per text."
            )
        return [None if v is None else str(v) for v in arr.tolist()]


def as_model(source: Any, *, classes: Sequence[Any] | None = None, who: str = "predict_fn") -> Model:
    """`source` (a callable, estimator, mapping or probability array) as a `Model`; a `Model` as it is
    (with `classes` replaced when given). `who` names it in error messages."""
    if isinstance(source, Model):
        if classes is None:
            return source
        return Model(source.source, classes=classes, who=source.who)
    return Model(source, classes=classes, who=who)
