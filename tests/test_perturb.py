"""Perturbations: deterministic, honest about their expectation, safe on awkward text; sensitivity."""

from __future__ import annotations

import hashlib
import unicodedata

import numpy as np
import polars as pl
import pytest

from workbench import perturb
from workbench.data import validate
from workbench.errors import InputError, SchemaError
from workbench.perturb import LABEL_CHANGING, LABEL_PRESERVING, REGISTRY

ENGLISH = [
    "This film is truly wonderful: the acting feels gripping!",
    "It's not a good movie, and Tom Hanks can't save it in 1999.",
    "The script is clever, the cast is great and the ending works.",
    "A dull, tedious picture that never finds its story.",
]
AWKWARD = [
    "a",
    "!",
    "7",
    "日本語のレビューです。",
    "मैं फ़िल्म देखी",
    "مراجعة عربية",
    "🙂👍🏽 great",
    "ß İ ﬁ",
    "x\u0301y\u0327",
]


def _frame(texts, **extra):
    return validate(pl.DataFrame({"text": texts, "origin": ["real"] * len(texts), **extra}))


def _digest(df: pl.DataFrame) -> str:
    return hashlib.sha256(df.write_csv().encode()).hexdigest()


def test_registry_covers_the_issue():
    expected = {
        "typos",
        "casing",
        "punctuation",
        "whitespace",
        "word_dropout",
        "local_shuffle",
        "synonyms",
        "number_swap",
        "entity_swap",
        "neutral_padding",
        "template_affix",
        "negation",
    }
    assert set(REGISTRY) == expected
    assert REGISTRY["negation"].expectation == LABEL_CHANGING and REGISTRY["negation"].test == "DIR"
    assert all(p.expectation == LABEL_PRESERVING for n, p in REGISTRY.items() if n != "negation")
    assert perturb.describe().height == len(REGISTRY)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_apply_is_deterministic_and_records_provenance(name):
    df = _frame(ENGLISH, label=["fresh", "rotten", "fresh", "rotten"])
    a = perturb.apply(df, name, 1.0, seed=3)
    b = perturb.apply(df, name, 1.0, seed=3)
    assert _digest(a) == _digest(b)
    assert a["parent_id"].to_list() == df["id"].to_list()
    assert set(a["perturbation"]) == {name} and set(a["strength"]) == {1.0} and set(a["seed"]) == {3}
    assert a["id"].n_unique() == df.height and not set(a["id"]) & set(df["id"])
    assert a["label"].to_list() == df["label"].to_list()
    assert a["changed"].to_list() == [x != y for x, y in zip(df["text"], a["text"])]
    # a row's perturbation depends on its text, not its position
    rev = perturb.apply(df.reverse(), name, 1.0, seed=3)
    assert rev["text"].to_list() == a["text"].to_list()[::-1]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_strength_zero_changes_nothing(name):
    df = _frame(ENGLISH)
    out = perturb.apply(df, name, 0.0, seed=1)
    assert out["text"].to_list() == ENGLISH and not out["changed"].any()


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_perturbation_changes_some_english_text(name):
    out = perturb.apply(_frame(ENGLISH), name, 1.0, seed=0)
    assert out["changed"].any(), name


def test_seed_matters():
    df = _frame(ENGLISH)
    assert perturb.apply(df, "typos", 0.5, 0)["text"].to_list() != perturb.apply(df, "typos", 0.5, 1)["text"].to_list()


def test_stronger_changes_a_superset_of_words():
    text = " ".join(f"word{i}" for i in range(60))
    weak = perturb.perturb_text(text, "casing", 0.2, 5).split()
    strong = perturb.perturb_text(text, "casing", 0.7, 5).split()
    changed_weak = {i for i, w in enumerate(weak) if w != f"word{i}"}
    changed_strong = {i for i, w in enumerate(strong) if w != f"word{i}"}
    assert changed_weak < changed_strong
    assert 0.05 < len(changed_weak) / 60 < 0.4 and 0.5 < len(changed_strong) / 60 < 0.9


def _grapheme_clusters(text):
    from workbench.perturb import _clusters

    return set(_clusters(unicodedata.normalize("NFC", text)))


@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("text", AWKWARD)
def test_awkward_text_is_not_corrupted(name, text):
    for strength in (0.5, 1.0):
        out = perturb.perturb_text(text, name, strength, seed=2)
        assert isinstance(out, str) and out.strip()
        out.encode("utf-8")  # no lone surrogates
        if name in ("neutral_padding", "template_affix"):
            assert text in out  # the original is kept whole, English sentences added around it
            continue
        if name == "casing":
            continue  # case mapping may legitimately change characters (ß -> SS)
        # every non-ASCII grapheme in the output was already in the input: nothing split or mangled
        source = _grapheme_clusters(text)
        for cluster in _grapheme_clusters(out):
            if not cluster.isascii() and cluster != "•":  # the whitespace perturbation adds bullets
                assert cluster in source, (name, text, out, cluster)


def test_empty_and_blank_text_is_returned_unchanged():
    raw = pl.DataFrame({"text": ["", "   ", None, "ok then"], "origin": ["real"] * 4})
    for name in REGISTRY:
        out = perturb.apply(raw, name, 1.0, seed=0)
        assert out["text"].to_list()[:3] == ["", "   ", None]
        assert out["changed"].to_list()[:3] == [False, False, False]


def test_never_blanks_a_text():
    for name in ("punctuation", "word_dropout"):
        for text in ("!", "...", "a", "word"):
            assert perturb.perturb_text(text, name, 1.0, 0).strip()


def test_word_dropout_keeps_negators_and_one_word():
    out = perturb.perturb_text("I did not like it at all", "word_dropout", 1.0, 0)
    assert out == "not"
    out = perturb.perturb_text("wonderful", "word_dropout", 1.0, 0)
    assert out == "wonderful"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This film is truly wonderful.", "This film is not truly wonderful."),
        ("It was fun and it is clever.", "It was not fun and it is clever."),
        ("The movie doesn't work.", "The movie does work."),
        ("It's not a good movie.", "It's a good movie."),
        ("This won't end well.", "This will end well."),
        ("The ending never lands.", "The ending always lands."),
        ("It's a charming story.", "It's not a charming story."),
        ("Is it good? It was fun.", "Is it good? It was not fun."),
        ("Beautifully shot, gorgeously scored.", "Beautifully shot, gorgeously scored."),
    ],
)
def test_negation_hand_written_cases(text, expected):
    assert perturb.perturb_text(text, "negation", 1.0) == expected


@pytest.mark.parametrize(
    ("name", "text", "check"),
    [
        (
            "synonyms",
            "A wonderful film, truly GREAT.",
            lambda o: o != "A wonderful film, truly GREAT." and "GREAT" not in o,
        ),
        ("number_swap", "Released in 1999 with 3 sequels.", lambda o: "1999" not in o and "3 sequels" not in o),
        (
            "entity_swap",
            "I saw it with Tom Hanks yesterday.",
            lambda o: "Tom Hanks" not in o and o.startswith("I saw it with "),
        ),
        ("casing", "quiet words here", lambda o: o.lower() == "quiet words here" and o != "quiet words here"),
        ("punctuation", "Yes, it works!", lambda o: o.replace(",", "").replace("!", "") == "Yes it works"),
        (
            "whitespace",
            "One. Two three.",
            lambda o: (
                o.split()
                in (
                    ["One.", "Two", "three."],
                    ["-", "One.", "Two", "three."],
                    ["•", "One.", "Two", "three."],
                    ["One.", "-", "Two", "three."],
                    ["One.", "•", "Two", "three."],
                    ["-", "One.", "-", "Two", "three."],
                    ["•", "One.", "•", "Two", "three."],
                    ["-", "One.", "•", "Two", "three."],
                    ["•", "One.", "-", "Two", "three."],
                )
            ),
        ),
        (
            "local_shuffle",
            "alpha beta gamma delta",
            lambda o: sorted(o.split()) == ["alpha", "beta", "delta", "gamma"] and o != "alpha beta gamma delta",
        ),
        ("template_affix", "Good film.", lambda o: "Good film." in o and len(o) > len("Good film.")),
        ("neutral_padding", "Good film.", lambda o: o.count(".") == 5),
    ],
)
def test_hand_written_label_preserving_cases(name, text, check):
    out = perturb.perturb_text(text, name, 1.0, seed=4)
    assert check(out), out


def test_synonyms_keep_polarity():
    from workbench import lexicon

    positive = {"good", "great", "wonderful", "beautiful", "charming", "brilliant"}
    negative = {"bad", "terrible", "dull", "boring", "awful", "tedious"}
    table = lexicon.synonym_table()
    for word in positive:
        assert not set(table[word]) & negative
    for word in negative:
        assert not set(table[word]) & positive


def test_bad_arguments_are_named():
    df = _frame(ENGLISH)
    with pytest.raises(InputError, match=r"unknown perturbation 'typo'.*Did you mean 'typos'"):
        perturb.apply(df, "typo", 0.5, 0)
    with pytest.raises(InputError, match=r"strength must be in \[0, 1\]"):
        perturb.apply(df, "typos", 1.5, 0)
    with pytest.raises(InputError, match="strength must be a number"):
        perturb.apply(df, "typos", "high", 0)
    with pytest.raises(InputError, match="seed must be a non-negative integer"):
        perturb.apply(df, "typos", 0.5, -1)
    with pytest.raises(SchemaError, match="column 'text' is missing"):
        perturb.apply(pl.DataFrame({"review": ["x"]}), "typos", 0.5, 0)


def test_diff_spans_mark_changes():
    spans = perturb.diff_spans("a good film", "a great film!")
    assert ("removed", "good") in spans and ("added", "great") in spans
    assert "".join(t for k, t in spans if k != "removed") == "a great film!"
    assert "".join(t for k, t in spans if k != "added") == "a good film"


def test_paraphrase_chains_and_points_at_parents():
    df = _frame(ENGLISH)
    out = perturb.paraphrase(df, 1.0, seed=0)
    assert out["parent_id"].to_list() == df["id"].to_list()
    assert set(out["perturbation"]) == {"paraphrase"} and out["changed"].all()
    assert _digest(out) == _digest(perturb.paraphrase(df, 1.0, seed=0))


# --- sensitivity ----------------------------------------------------------------------------------


class KeywordModel:
    """A transparent model: 'fresh' if it sees a positive word, confidence from counts; negation flips."""

    classes_ = ("fresh", "rotten")
    positive = ("wonderful", "great", "clever", "good")

    def predict_proba(self, texts):
        out = []
        for t in texts:
            low = t.lower()
            score = sum(low.count(w) for w in self.positive) - sum(low.count(w) for w in ("dull", "tedious"))
            if " not " in f" {low} " or "n't" in low:
                score = -score
            p = 1 / (1 + np.exp(-2 * score))
            out.append([p, 1 - p])
        return np.array(out)


@pytest.fixture
def labelled():
    return _frame(ENGLISH, label=["fresh", "rotten", "fresh", "rotten"])


def test_sensitivity_table_and_behavioural_tests(labelled):
    rep = perturb.sensitivity(KeywordModel(), labelled, ["casing", "typos", "negation"], (0.5, 1.0), seed=0)
    t = rep.table
    assert t.height == 1 + 3 * 2
    base = t.filter(pl.col("perturbation") == "none").row(0, named=True)
    assert base["accuracy"] == 1.0
    casing = t.filter(pl.col("perturbation") == "casing")
    assert casing["flip_rate"].to_list() == [0.0, 0.0] and casing["accuracy"].to_list() == [1.0, 1.0]
    neg = t.filter((pl.col("perturbation") == "negation") & (pl.col("strength") == 1.0)).row(0, named=True)
    assert neg["test"] == "DIR" and neg["expectation"] == LABEL_CHANGING
    typos = t.filter((pl.col("perturbation") == "typos") & (pl.col("strength") == 1.0)).row(0, named=True)
    assert typos["test"] == "INV" and typos["flip_rate"] > 0  # misspelt keywords are invisible to the model
    for row in t.filter(pl.col("perturbation") != "none").iter_rows(named=True):
        assert row["flip_rate_lo"] <= row["flip_rate"] <= row["flip_rate_hi"]
    f = rep.failures
    assert {"id", "parent_id", "text", "original_text", "prediction_before", "prediction_after", "reason"} <= set(
        f.columns
    )
    inv = f.filter(pl.col("test") == "INV")
    assert (inv["prediction_before"] != inv["prediction_after"]).all()
    assert set(f["parent_id"]) <= set(labelled["id"])


def test_negation_directional_test_catches_a_model_that_ignores_negation(labelled):
    class Ignores(KeywordModel):
        def predict_proba(self, texts):
            return super().predict_proba([t.replace("not", "").replace("n't", "") for t in texts])

    good = perturb.sensitivity(KeywordModel(), labelled, ["negation"], (1.0,))
    bad = perturb.sensitivity(Ignores(), labelled, ["negation"], (1.0,))
    row_good = good.table.filter(pl.col("perturbation") == "negation").row(0, named=True)
    row_bad = bad.table.filter(pl.col("perturbation") == "negation").row(0, named=True)
    assert row_bad["failures"] > row_good["failures"]
    assert row_bad["failure_rate"] == 1.0
    assert (bad.failures["test"] == "DIR").all()
    # for a label-changing perturbation the expected label of a changed row is the other class
    assert row_good["accuracy"] > row_bad["accuracy"]


def test_sensitivity_accepts_a_plain_function_with_classes(labelled):
    m = KeywordModel()
    rep = perturb.sensitivity(lambda texts: m.predict_proba(texts), labelled, ["casing"], (1.0,), classes=m.classes_)
    assert rep.classes == ["fresh", "rotten"] and rep.table["accuracy"][0] == 1.0


def test_sensitivity_without_labels_still_gives_flips():
    df = _frame(ENGLISH)
    rep = perturb.sensitivity(KeywordModel(), df, ["typos"], (1.0,))
    row = rep.table.filter(pl.col("perturbation") == "typos").row(0, named=True)
    assert np.isnan(row["accuracy"]) and row["flip_rate"] >= 0


def _bad(kind):
    def fn(texts):
        n = len(texts)
        if kind == "raises":
            raise RuntimeError("model exploded")
        if kind == "shape":
            return np.full((n + 1, 2), 0.5)
        if kind == "nan":
            out = np.full((n, 2), 0.5)
            out[0, 0] = np.nan
            return out
        if kind == "logits":
            return np.tile([2.0, -1.0], (n, 1))
        if kind == "unnormalised":
            return np.tile([0.5, 0.7], (n, 1))
        if kind == "one_column":
            return np.full((n, 1), 1.0)
        if kind == "text":
            return ["fresh"] * n
        raise AssertionError(kind)

    return fn


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("raises", "predict_fn raised RuntimeError: model exploded"),
        ("shape", "returned 5 rows for 4 texts"),
        ("nan", "NaN or infinite"),
        ("logits", "look like logits"),
        ("unnormalised", "do not sum to 1"),
        ("one_column", "one probability per class"),
        ("text", "must return numbers"),
    ],
)
def test_bad_predict_fn_gives_a_clear_error(labelled, kind, message):
    with pytest.raises(InputError, match=message):
        perturb.sensitivity(_bad(kind), labelled, ["casing"], (1.0,), classes=["fresh", "rotten"])


def test_sensitivity_bad_arguments(labelled):
    with pytest.raises(InputError, match="unknown perturbation"):
        perturb.sensitivity(KeywordModel(), labelled, ["nope"], (1.0,))
    with pytest.raises(InputError, match="strengths is empty"):
        perturb.sensitivity(KeywordModel(), labelled, ["casing"], ())
    with pytest.raises(InputError, match="columns but classes"):
        perturb.sensitivity(KeywordModel(), labelled, ["casing"], (1.0,), classes=["a", "b", "c"])
    with pytest.raises(InputError, match="data is empty"):
        perturb.sensitivity(KeywordModel(), labelled.clear(), ["casing"], (1.0,))
    with pytest.raises(InputError, match="must be a callable"):
        perturb.sensitivity(42, labelled, ["casing"], (1.0,))


def test_sensitivity_chart(labelled):
    from workbench import charts

    rep = perturb.sensitivity(KeywordModel(), labelled, ["casing", "typos"], (0.5, 1.0))
    spec = charts.spec(rep.chart("flip_rate"))
    assert spec["layer"][1]["encoding"]["y"]["field"] == "flip_rate"
    data = next(iter(spec["datasets"].values()))
    assert {d["perturbation"] for d in data} == {"casing", "typos"}
    with pytest.raises(ValueError, match="metric must be one of"):
        rep.chart("nonsense")
