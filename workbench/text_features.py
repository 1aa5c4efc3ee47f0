"""Surface features and tokens of text: length, punctuation, casing, formatting, n-grams.

Bottom layer: shared by every check that looks at the surface of text (artifact learning, label
bias, diversity, feedback amplification); imports only numpy and the standard library.

- `SURFACE_FEATURES` and `surface_features(texts)`: an (n, 27) array of interpretable surface
  features (word and character counts, punctuation, casing, formatting, how many texts share the
  opening / closing words).
- `tokens(text)`: lower-cased word *and punctuation* tokens (a "!" is a token);
  `marked_ngrams(text, n_max)`: those tokens and their n-grams with start / end markers.
- `word_tokens(texts)`: lower-cased word tokens only (letters, digits, apostrophes) of each text;
  `token_ngrams(tokens, n)`: the n-grams of one token list, as tuples. The diversity metrics
  (distinct-n, MATTR, stock phrases) count these.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

__all__ = [
    "END",
    "START",
    "SURFACE_FEATURES",
    "marked_ngrams",
    "surface_features",
    "token_ngrams",
    "tokens",
    "word_tokens",
]

_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
_WORDS = re.compile(r"\w+(?:['’]\w+)*")
START, END = "[start]", "[end]"

SURFACE_FEATURES = (
    "n_words",
    "n_chars",
    "mean_word_length",
    "n_sentences",
    "type_token_ratio",
    "uppercase_share",
    "digit_share",
    "punctuation_share",
    "non_ascii_share",
    "exclamations",
    "questions",
    "commas",
    "colons_semicolons",
    "quotes",
    "parentheses",
    "dashes",
    "ellipses",
    "line_breaks",
    "bullet_lines",
    "all_caps_words",
    "ends_with_period",
    "ends_with_exclamation",
    "ends_with_question",
    "ends_without_punctuation",
    "starts_lowercase",
    "opening_frequency",
    "closing_frequency",
)


def surface_features(texts: list[str]) -> np.ndarray:
    """An (n, len(SURFACE_FEATURES)) float array of interpretable surface features.

    `opening_frequency` / `closing_frequency`: the share of the given texts that open / close
    with the same two words as this one; a stock opening or sign-off shows up here.
    """
    words = [_WORDS.findall(t.lower()) for t in texts]
    opening = Counter(tuple(w[:2]) for w in words)
    closing = Counter(tuple(w[-2:]) for w in words)
    n = max(len(texts), 1)
    rows = []
    for t, w in zip(texts, words):
        stripped = t.strip()
        letters = sum(c.isalpha() for c in t)
        chars = max(len(t), 1)
        last = stripped[-1:] if stripped else ""
        punct = sum(1 for c in t if not c.isalnum() and not c.isspace())
        rows.append(
            [
                len(w),
                len(t),
                float(np.mean([len(x) for x in w])) if w else 0.0,
                max(1, len(re.findall(r"[.!?]+(?:\s|$)", stripped))),
                len(set(w)) / len(w) if w else 0.0,
                sum(c.isupper() for c in t) / max(letters, 1),
                sum(c.isdigit() for c in t) / chars,
                punct / chars,
                sum(ord(c) > 127 for c in t) / chars,
                t.count("!"),
                t.count("?"),
                t.count(","),
                t.count(":") + t.count(";"),
                sum(t.count(q) for q in "\"'“”‘’") - len(re.findall(r"\w['’]\w", t)),
                t.count("(") + t.count(")"),
                t.count("-") + t.count("–") + t.count("—"),
                t.count("...") + t.count("…"),
                t.count("\n"),
                len(re.findall(r"(?m)^\s*(?:[-*•]|\d+[.)])\s", t)),
                sum(1 for x in re.findall(r"\b[^\W\d_]{2,}\b", t) if x.isupper()),
                float(last == "."),
                float(last == "!"),
                float(last == "?"),
                float(bool(last) and last.isalnum()),
                float(stripped[:1].islower()),
                opening[tuple(w[:2])] / n,
                closing[tuple(w[-2:])] / n,
            ]
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(texts), len(SURFACE_FEATURES))


def tokens(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens (punctuation marks are tokens too)."""
    return _TOKEN.findall(text.lower())


def marked_ngrams(text: str, n_max: int = 2) -> list[str]:
    """The `tokens` of `text` and its 2..`n_max`-grams, with [start] / [end] markers at the edges
    (so "[start] hello" is an opening and "! [end]" a closing; the markers alone are not grams)."""
    toks = [START, *tokens(text), END]
    out = toks[1:-1]
    for n in range(2, n_max + 1):
        out += [" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)]
    return out


_WORD_TOKEN = re.compile(r"[\w'’]+")


def word_tokens(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased word tokens (letters, digits, apostrophes) of each text."""
    return [_WORD_TOKEN.findall((t or "").lower()) for t in texts]


def token_ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    """The n-grams of one token list, in order, as tuples."""
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
