"""Surface features and tokens: what each feature and tokenizer means, on hand examples."""

from __future__ import annotations

from workbench.text_features import (
    SURFACE_FEATURES,
    marked_ngrams,
    surface_features,
    token_ngrams,
    tokens,
    word_tokens,
)


def test_surface_features_shape_and_meaning():
    F = surface_features(["Hello there!", "hello there.", "Other words here\n- bullet", "日本語"])
    names = list(SURFACE_FEATURES)
    assert F.shape == (4, len(names))
    assert F[0, names.index("ends_with_exclamation")] == 1 and F[1, names.index("ends_with_period")] == 1
    assert F[0, names.index("opening_frequency")] == 0.5  # 'hello there' opens two of four texts
    assert F[2, names.index("bullet_lines")] == 1 and F[3, names.index("non_ascii_share")] == 1


def test_surface_features_of_nothing():
    assert surface_features([]).shape == (0, len(SURFACE_FEATURES))
    F = surface_features([""])
    assert F[0, SURFACE_FEATURES.index("n_words")] == 0 and F[0, SURFACE_FEATURES.index("n_sentences")] == 1


def test_tokens_keep_punctuation_and_contractions():
    assert tokens("It's GREAT, isn't it?!") == ["it's", "great", ",", "isn't", "it", "?", "!"]
    assert tokens("l’été — déjà") == ["l’été", "—", "déjà"]


def test_marked_ngrams_mark_openings_and_closings():
    grams = marked_ngrams("Great film!", 2)
    assert grams[:3] == ["great", "film", "!"]  # unigrams without the markers
    assert "[start] great" in grams and "! [end]" in grams and "[start]" not in grams
    assert marked_ngrams("a b", 1) == ["a", "b"]


def test_word_tokens_and_ngrams():
    assert word_tokens(["It's great, isn't it?", "", None]) == [["it's", "great", "isn't", "it"], [], []]
    assert token_ngrams(["a", "b", "c"], 2) == [("a", "b"), ("b", "c")]
    assert token_ngrams(["a"], 2) == []
