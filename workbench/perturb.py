"""Controlled, seeded perturbations of text, and a model's sensitivity to them.

A model that learned the generator rather than the task is brittle: its score vanishes under small
changes a person would not notice. This module makes those changes reproducibly and measures the
damage.

- `REGISTRY` maps a name to a `Perturbation`: a function of (text, strength, random generator)
  with a declared expectation, `label-preserving` (a correct model keeps its answer) or
  `label-changing` (negation: the answer should move away from the original one).
- `apply(df, name, strength, seed)` perturbs every row and records where each new row came from
  (`parent_id`, `perturbation`, `strength`, `seed`, `changed`). Same inputs, same output, byte for
  byte: each row's random draws come from (seed, perturbation name, the row's text), never from
  its position, and are the same at every strength, so a stronger perturbation changes a superset
  of what a weaker one changed (for the per-unit perturbations).
- `sensitivity(predict_fn, df, perturbations, strengths)` runs a model on every perturbed copy and
  reports accuracy, flip rate and confidence shift with 95% intervals, plus CheckList-style
  behavioural tests (Ribeiro et al. 2020): invariance (INV) for label-preserving perturbations,
  directional expectations (DIR) for label-changing ones, failing rows returned as evidence.

Documented behaviour on awkward text: empty or blank texts and null texts are returned unchanged;
a perturbation never turns a non-blank text blank (it keeps the original instead); word-level
perturbations work on Unicode word characters of any script, typos move whole grapheme clusters
(a base character with its combining marks), so non-Latin text is never split mid-character;
English-only operations (synonyms, negation, keyboard typos, name swaps) leave other scripts as
they are; padding and template affixes add English sentences.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from workbench import lexicon
from workbench.errors import InputError, SchemaError
from workbench.model import as_model
from workbench.schema import _as_polars, _missing_message, stable_ids
from workbench.stats import mean_interval, wilson_interval

if TYPE_CHECKING:
    import altair as alt

LABEL_PRESERVING = "label-preserving"
LABEL_CHANGING = "label-changing"
EXPECTATIONS = (LABEL_PRESERVING, LABEL_CHANGING)

_APOSTROPHES = "'’"
_SENTENCE_END = frozenset(".!?…。！？")
_SYNONYMS = lexicon.synonym_table()
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _keyboard_neighbours() -> dict[str, str]:
    pos = {c: (r, i) for r, row in enumerate(_KEYBOARD_ROWS) for i, c in enumerate(row)}
    out = {}
    for c, (r, i) in pos.items():
        near = [d for d, (r2, j) in pos.items() if d != c and abs(r2 - r) <= 1 and abs(j - i) <= 1]
        out[c] = "".join(sorted(near))
    return out


_NEIGHBOURS = _keyboard_neighbours()


@dataclass(frozen=True)
class Perturbation:
    """One registered perturbation. `fn(text, strength, rng) -> text`; strength 0 changes nothing."""

    name: str
    expectation: str
    description: str
    strength_meaning: str
    fn: Callable[[str, float, np.random.Generator], str] = field(repr=False)

    def __post_init__(self) -> None:
        if self.expectation not in EXPECTATIONS:
            raise ValueError(f"expectation must be one of {EXPECTATIONS}; got {self.expectation!r}")

    @property
    def test(self) -> str:
        """The behavioural test this perturbation supports: INV (invariance) or DIR (directional)."""
        return "INV" if self.expectation == LABEL_PRESERVING else "DIR"

    def __call__(self, text: str, strength: float = 0.5, seed: int = 0) -> str:
        """Perturb one text, exactly as `apply` would perturb a row holding it."""
        return _perturb_one(self, text, _check_strength(strength), _check_seed(seed))


# --- tokens and clusters -------------------------------------------------------------------------


@cache
def _word_pattern() -> re.Pattern[str]:
    """Words of any script: word characters plus combining marks (which `\\w` alone would split off)."""
    ranges, start = [], None
    for cp in range(sys.maxunicode + 2):
        mark = cp <= sys.maxunicode and unicodedata.category(chr(cp)) in ("Mn", "Mc", "Me")
        if mark and start is None:
            start = cp
        elif not mark and start is not None:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(cp - 1))}")
            start = None
    unit = r"(?:\w|[" + "".join(ranges) + r"\u200d])"
    return re.compile(rf"({unit}+(?:[{_APOSTROPHES}]{unit}+)*)")


def _split(text: str) -> list[str]:
    """[sep, word, sep, word, ..., sep]: words at odd positions, everything else kept verbatim."""
    return _word_pattern().split(text)


def _clusters(word: str) -> list[str]:
    """Grapheme-like clusters: a base character with its combining marks, joiners and selectors."""
    out: list[str] = []
    for ch in word:
        joins = unicodedata.category(ch) in ("Mn", "Mc", "Me") or ch == "\u200d" or "\ufe00" <= ch <= "\ufe0f"
        if out and (joins or out[-1].endswith("\u200d")):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _match_case(template: str, word: str) -> str:
    if len(template) > 1 and template.isupper():
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def _sentence_start(parts: list[str], i: int) -> bool:
    """Is the word at parts[i] the first of a sentence?"""
    before = "".join(parts[:i]).rstrip()
    return not before or before[-1] in _SENTENCE_END or "\n" in parts[i - 1]


# --- the perturbations ----------------------------------------------------------------------------


def _typos(text: str, strength: float, rng: np.random.Generator) -> str:
    parts = _split(text)
    words = parts[1::2]
    draws = rng.random((len(words), 4))
    for k, word in enumerate(words):
        u, op, where, pick = draws[k]
        if u >= strength or word.isdigit():
            continue
        cl = _clusters(word)
        n = len(cl)
        j = min(int(where * n), n - 1)
        ascii_letter = len(cl[j]) == 1 and cl[j].lower() in _NEIGHBOURS
        kind = int(op * 4) if n >= 2 else 2
        if kind == 0:  # swap two neighbouring clusters
            j = min(j, n - 2)
            cl[j], cl[j + 1] = cl[j + 1], cl[j]
            if cl[j] == cl[j + 1]:
                kind = 2
        if kind == 1:  # drop a cluster
            del cl[j]
        elif kind in (2, 3):  # insert or replace with a keyboard neighbour (other scripts: repeat it)
            if ascii_letter:
                near = _NEIGHBOURS[cl[j].lower()]
                c = near[min(int(pick * len(near)), len(near) - 1)]
                c = c.upper() if cl[j].isupper() else c
                if kind == 2:
                    cl.insert(j + 1, c)
                else:
                    cl[j] = c
            else:
                cl.insert(j + 1, cl[j])
        parts[2 * k + 1] = "".join(cl)
    return "".join(parts)


def _casing(text: str, strength: float, rng: np.random.Generator) -> str:
    parts = _split(text)
    words = parts[1::2]
    draws = rng.random((len(words), 2))
    for k, word in enumerate(words):
        if draws[k, 0] >= strength:
            continue
        modes = (str.upper, str.lower, lambda w: w[:1].upper() + w[1:].lower())
        start = int(draws[k, 1] * 3)
        for m in range(3):
            new = modes[(start + m) % 3](word)
            if new != word:
                parts[2 * k + 1] = new
                break
    return "".join(parts)


def _punctuation(text: str, strength: float, rng: np.random.Generator) -> str:
    chars = list(text)
    marks = [i for i, c in enumerate(chars) if unicodedata.category(c).startswith("P")]
    draws = rng.random((len(marks), 2))
    for k, i in enumerate(marks):
        if draws[k, 0] < strength:
            chars[i] = "" if draws[k, 1] < 0.5 else chars[i] * 2
    return "".join(chars)


_SENTENCE_GAPS = ("\n", "\n\n", "\n- ", "\n• ", "  ")
_WORD_GAPS = ("  ", "\t", "\n", "   ")
_LEADING = ("- ", "• ", "  ", "\n")
_TRAILING = ("\n", "  ", " \n", "\n\n")


def _whitespace(text: str, strength: float, rng: np.random.Generator) -> str:
    pieces = re.split(r"(\s+)", text)
    gaps = [i for i in range(1, len(pieces), 2)]
    draws = rng.random((len(gaps) + 2, 2))
    for k, i in enumerate(gaps):
        if draws[k, 0] >= strength:
            continue
        after_sentence = bool(pieces[i - 1]) and pieces[i - 1][-1] in _SENTENCE_END
        options = _SENTENCE_GAPS if after_sentence else _WORD_GAPS
        pieces[i] = options[min(int(draws[k, 1] * len(options)), len(options) - 1)]
    out = "".join(pieces)
    if not out.strip():
        return out
    lead, trail = draws[-2], draws[-1]
    if lead[0] < strength:
        out = _LEADING[min(int(lead[1] * len(_LEADING)), len(_LEADING) - 1)] + out
    if trail[0] < strength:
        out = out + _TRAILING[min(int(trail[1] * len(_TRAILING)), len(_TRAILING) - 1)]
    return out


def _join_gap(left: str, right: str) -> str:
    merged = left + right
    merged = re.sub(r"[ \t]+([,.;:!?])", r"\1", merged)
    return re.sub(r"[ \t]{2,}", " ", merged)


def _word_dropout(text: str, strength: float, rng: np.random.Generator) -> str:
    parts = _split(text)
    words = parts[1::2]
    draws = rng.random(len(words))
    droppable = [k for k, w in enumerate(words) if w.lower() not in lexicon.NEGATORS and not w.lower().endswith("n't")]
    drop = {k for k in droppable if draws[k] < strength}
    if drop and len(drop) == len(words):  # keep the word that would be dropped last
        drop.discard(max(drop, key=lambda k: (draws[k], -k)))
    if not drop:
        return text
    seps, kept = [parts[0]], []
    for k, word in enumerate(words):
        if k in drop:
            seps[-1] = _join_gap(seps[-1], parts[2 * k + 2])
        else:
            kept.append(word)
            seps.append(parts[2 * k + 2])
    out = seps[0]
    for word, sep in zip(kept, seps[1:]):
        out += word + sep
    if not parts[0]:
        out = out.lstrip()
    return out.rstrip() if not parts[-1] else out


def _local_shuffle(text: str, strength: float, rng: np.random.Generator) -> str:
    parts = _split(text)
    words = parts[1::2]
    draws = rng.random(len(words))
    k = 0
    while k < len(words) - 1:
        if draws[k] < strength:
            parts[2 * k + 1], parts[2 * k + 3] = parts[2 * k + 3], parts[2 * k + 1]
            k += 2
        else:
            k += 1
    return "".join(parts)


def _synonyms(text: str, strength: float, rng: np.random.Generator) -> str:
    parts = _split(text)
    words = parts[1::2]
    draws = rng.random((len(words), 2))
    for k, word in enumerate(words):
        subs = _SYNONYMS.get(word.lower())
        if subs and draws[k, 0] < strength:
            parts[2 * k + 1] = _match_case(word, subs[min(int(draws[k, 1] * len(subs)), len(subs) - 1)])
    return "".join(parts)


def _number_swap(text: str, strength: float, rng: np.random.Generator) -> str:
    pieces = re.split(r"([0-9]+)", text)
    numbers = list(range(1, len(pieces), 2))
    draws = rng.random((len(numbers), 2))
    for k, i in enumerate(numbers):
        if draws[k, 0] >= strength:
            continue
        digits = len(pieces[i])
        lo = 0 if digits == 1 else 10 ** (digits - 1)
        span = 10**digits - lo
        value = lo + min(int(draws[k, 1] * span), span - 1)
        if str(value) == pieces[i]:
            value = lo + (value - lo + 1) % span
        pieces[i] = str(value)
    return "".join(pieces)


def _entity_swap(text: str, strength: float, rng: np.random.Generator) -> str:
    parts = _split(text)
    n_words = len(parts) // 2
    runs: list[list[int]] = []
    for k in range(n_words):
        i = 2 * k + 1
        w = parts[i]
        is_name = len(w) > 1 and w.isalpha() and w[0].isupper() and not w.isupper() and w.lower() != "i"
        if not is_name:
            continue
        if runs and runs[-1][-1] == i - 2 and parts[i - 1] == " ":
            runs[-1].append(i)
        elif not _sentence_start(parts, i):
            runs.append([i])
    draws = rng.random((len(runs), 3))
    for r, run in enumerate(runs):
        if draws[r, 0] >= strength:
            continue
        first = lexicon.FIRST_NAMES[min(int(draws[r, 1] * len(lexicon.FIRST_NAMES)), len(lexicon.FIRST_NAMES) - 1)]
        last = lexicon.LAST_NAMES[min(int(draws[r, 2] * len(lexicon.LAST_NAMES)), len(lexicon.LAST_NAMES) - 1)]
        new = [first] if len(run) == 1 else [first, last]
        if [parts[i] for i in run][: len(new)] == new:
            new = [lexicon.LAST_NAMES[0] if n == lexicon.FIRST_NAMES[0] else lexicon.FIRST_NAMES[0] for n in new]
        parts[run[0]] = " ".join(new)
        for i in run[1:]:
            parts[i] = ""
            parts[i - 1] = ""
    return "".join(parts)


_PAD_MAX = 4


def _neutral_padding(text: str, strength: float, rng: np.random.Generator) -> str:
    draws = rng.random((_PAD_MAX, 2))
    k = math.ceil(strength * _PAD_MAX - 1e-12)
    before: list[str] = []
    after: list[str] = []
    for j in range(k):
        sentence = lexicon.NEUTRAL_SENTENCES[int(draws[j, 0] * len(lexicon.NEUTRAL_SENTENCES))]
        (before if draws[j, 1] < 0.5 else after).append(sentence)
    return " ".join([*before, text, *after]) if k else text


def _template_affix(text: str, strength: float, rng: np.random.Generator) -> str:
    d = rng.random(4)
    out = text
    if d[0] < strength:
        out = lexicon.TEMPLATE_PREFIXES[int(d[1] * len(lexicon.TEMPLATE_PREFIXES))] + " " + out
    if d[2] < strength:
        out = out + " " + lexicon.TEMPLATE_SUFFIXES[int(d[3] * len(lexicon.TEMPLATE_SUFFIXES))]
    return out


_CONTRACTIONS = {"won't": "will", "can't": "can", "ain't": "is", "shan't": "shall"}
_AUX = re.compile(
    r"\b(" + "|".join(lexicon.AUXILIARIES) + r"|(?:it|that|there|he|she|this|what|who|here)['’]s|\w+['’]re)\b",
    re.IGNORECASE,
)
_NEGATED = re.compile(r"\b(won['’]t|can['’]t|ain['’]t|shan['’]t|(\w+)n['’]t|not|never)\b", re.IGNORECASE)


def _negation(text: str, strength: float, rng: np.random.Generator) -> str:
    """Negate the first clause: remove an existing negation, or add 'not' after the first auxiliary."""
    if rng.random() >= strength:
        return text
    m = _NEGATED.search(text)
    if m:
        word = m.group(1)
        low = word.lower().replace("’", "'")
        if low in _CONTRACTIONS:
            return text[: m.start()] + _match_case(word, _CONTRACTIONS[low]) + text[m.end() :]
        if m.group(2):  # doesn't -> does, isn't -> is
            return text[: m.start()] + m.group(2) + text[m.end() :]
        if low == "never":
            return text[: m.start()] + _match_case(word, "always") + text[m.end() :]
        start = m.start()
        if start and text[start - 1] == " ":
            start -= 1
        return text[:start] + text[m.end() :]
    for m in _AUX.finditer(text):
        following = text[m.end() :]
        if not re.match(r"\s+\w", following):
            continue
        if not text[: m.start()].strip() and m.group(1).isalpha():  # a question's leading auxiliary: "Is it good?"
            continue
        return text[: m.end()] + " not" + following
    return text


REGISTRY: dict[str, Perturbation] = {
    p.name: p
    for p in (
        Perturbation(
            "typos",
            LABEL_PRESERVING,
            "character typos: swap, drop, or insert/replace a keyboard neighbour (other scripts: repeat a character)",
            "probability that each word gets one typo",
            _typos,
        ),
        Perturbation(
            "casing",
            LABEL_PRESERVING,
            "change the case of words (UPPER, lower, Title)",
            "probability that each word changes case",
            _casing,
        ),
        Perturbation(
            "punctuation",
            LABEL_PRESERVING,
            "drop or double punctuation marks",
            "probability that each punctuation mark is dropped or doubled",
            _punctuation,
        ),
        Perturbation(
            "whitespace",
            LABEL_PRESERVING,
            "formatting: line breaks, bullets, tabs and extra spaces between words and sentences",
            "probability that each gap (and the start and end) is reformatted",
            _whitespace,
        ),
        Perturbation(
            "word_dropout",
            LABEL_PRESERVING,
            "drop words (never negators such as 'not'; at least one word is kept)",
            "probability that each word is dropped",
            _word_dropout,
        ),
        Perturbation(
            "local_shuffle",
            LABEL_PRESERVING,
            "swap neighbouring words (local word order)",
            "probability that each word swaps with the next",
            _local_shuffle,
        ),
        Perturbation(
            "synonyms",
            LABEL_PRESERVING,
            "replace words with same-polarity synonyms from the bundled lexicon (workbench.lexicon)",
            "probability that each word with synonyms is replaced",
            _synonyms,
        ),
        Perturbation(
            "number_swap",
            LABEL_PRESERVING,
            "replace numbers with other numbers of the same number of digits",
            "probability that each number is replaced",
            _number_swap,
        ),
        Perturbation(
            "entity_swap",
            LABEL_PRESERVING,
            "replace capitalised names (not at a sentence start) with other person names",
            "probability that each name is replaced",
            _entity_swap,
        ),
        Perturbation(
            "neutral_padding",
            LABEL_PRESERVING,
            "add neutral sentences before or after the text (changes length, not meaning)",
            f"number of sentences added: ceil(strength x {_PAD_MAX})",
            _neutral_padding,
        ),
        Perturbation(
            "template_affix",
            LABEL_PRESERVING,
            "add a generator-style stock opening ('Sure! Here is a review:') and/or closing",
            "probability of a prefix, and independently of a suffix",
            _template_affix,
        ),
        Perturbation(
            "negation",
            LABEL_CHANGING,
            "negate the first clause: add 'not' after the first auxiliary, or remove an existing negation",
            "probability that a text is negated (texts with no auxiliary are left unchanged)",
            _negation,
        ),
    )
}


def describe() -> pl.DataFrame:
    """The registry as a table: name, expectation, test, description, what strength means."""
    return pl.DataFrame(
        [
            {
                "name": p.name,
                "expectation": p.expectation,
                "test": p.test,
                "description": p.description,
                "strength": p.strength_meaning,
            }
            for p in REGISTRY.values()
        ]
    )


# --- applying -------------------------------------------------------------------------------------


def _check_strength(strength: Any) -> float:
    if isinstance(strength, bool) or not isinstance(strength, (int, float, np.integer, np.floating)):
        raise InputError(f"strength must be a number in [0, 1]; got {strength!r}.")
    s = float(strength)
    if not (0.0 <= s <= 1.0):
        raise InputError(f"strength must be in [0, 1] (0 = unchanged, 1 = strongest); got {s}.")
    return s


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer; got {seed!r}.")
    return int(seed)


def _get(name: Any) -> Perturbation:
    if isinstance(name, Perturbation):
        return name
    if name not in REGISTRY:
        close = difflib.get_close_matches(str(name), list(REGISTRY), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InputError(f"unknown perturbation {name!r}; known: {sorted(REGISTRY)}.{hint}")
    return REGISTRY[name]


def _rng(seed: int, name: str, text: str) -> np.random.Generator:
    digest = hashlib.sha256(name.encode() + b"\x00" + text.encode("utf-8", "surrogatepass")).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


def _perturb_one(p: Perturbation, text: str, strength: float, seed: int) -> str:
    if strength == 0.0 or not text.strip():
        return text
    out = p.fn(text, strength, _rng(seed, p.name, text))
    return out if out.strip() else text


def _derived_ids(parents: list[str], name: str, strength: float, seed: int) -> list[str]:
    tag = f"|{name}|{strength!r}|{seed}"
    return [hashlib.sha256((pid + tag).encode("utf-8", "surrogatepass")).hexdigest()[:16] for pid in parents]


def apply(df: Any, name: str, strength: float, seed: int = 0) -> pl.DataFrame:
    """A perturbed copy of `df`: every text perturbed by `REGISTRY[name]` at `strength` in [0, 1].

    The copy keeps every column, gets new ids (derived from the parent id, the perturbation, the
    strength and the seed) and records its provenance: `parent_id` (the id of the row it was made
    from), `perturbation`, `strength`, `seed`, and `changed` (False where the perturbation found
    nothing to change, e.g. negation in a text without an auxiliary). Origin is kept. The same
    arguments give the same frame, byte for byte.
    """
    p = _get(name)
    strength = _check_strength(strength)
    seed = _check_seed(seed)
    frame = _as_polars(df)
    if "text" not in frame.columns:
        raise SchemaError(_missing_message("text", frame.columns))
    if frame["text"].dtype != pl.String:
        raise SchemaError(f"column 'text' must hold strings; it holds {frame['text'].dtype}. Cast it first.")
    texts = frame["text"].to_list()
    if "id" in frame.columns and frame["id"].null_count() == 0:
        parents = frame["id"].cast(pl.String).to_list()
    else:
        parents = stable_ids([t or "" for t in texts])
    new = [t if t is None else _perturb_one(p, t, strength, seed) for t in texts]
    ids = _derived_ids(parents, p.name, strength, seed)
    return frame.with_columns(
        pl.Series("id", ids, dtype=pl.String),
        pl.Series("text", new, dtype=pl.String),
        pl.Series("parent_id", parents, dtype=pl.String),
        pl.lit(p.name, dtype=pl.String).alias("perturbation"),
        pl.lit(strength, dtype=pl.Float64).alias("strength"),
        pl.lit(seed, dtype=pl.Int64).alias("seed"),
        pl.Series("changed", [a != b for a, b in zip(texts, new)], dtype=pl.Boolean),
    )


def perturb_text(text: str, name: str, strength: float, seed: int = 0) -> str:
    """One text perturbed exactly as `apply` would perturb a row holding it."""
    if not isinstance(text, str):
        raise InputError(f"text must be a string; got {type(text).__name__}.")
    return _get(name)(text, strength, seed)


def diff_spans(before: str, after: str) -> list[tuple[str, str]]:
    """Word-level differences as (kind, text) spans, kind in {'same', 'added', 'removed'}.

    What a viewer highlights: the perturbed text is the concatenation of 'same' and 'added' spans.
    """
    a, b = re.split(r"(\s+)", before), re.split(r"(\s+)", after)
    spans: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            spans.append(("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            spans.append(("removed", "".join(a[i1:i2])))
        if j2 > j1:
            spans.append(("added", "".join(b[j1:j2])))
    return [s for s in spans if s[1]]


# --- sensitivity ----------------------------------------------------------------------------------


@dataclass
class SensitivityReport:
    """What `sensitivity` found.

    `table`: one row per (perturbation, strength) plus the unperturbed baseline (`none`, 0.0):
    `n`, `changed` (share of rows the perturbation changed), `accuracy` with its Wilson interval,
    `accuracy_drop` (baseline minus perturbed), `flip_rate` (share of changed rows whose predicted
    class changed) with its interval, `confidence_shift` (mean change, over changed rows, of the
    probability of the originally predicted class; negative = less sure) with its t interval, and
    the behavioural test (`INV` or `DIR`) with `failures` and `failure_rate`.
    `failures`: the failing rows (evidence: perturbed and original text, predictions before and
    after). `predictions`: every row's prediction under every condition. `probabilities`: the
    (n, k) arrays by (perturbation, strength), for calibration under shift.
    """

    table: pl.DataFrame
    failures: pl.DataFrame
    predictions: pl.DataFrame
    probabilities: dict[tuple[str, float], np.ndarray]
    labels: np.ndarray | None
    classes: list[str] | None

    def chart(self, metric: str = "flip_rate") -> alt.Chart:
        """Sensitivity curves: `metric` against strength, one line per perturbation."""
        from workbench import charts

        return charts.sensitivity_curve(self.table, metric)

    def expected_labels(self, perturbation: str, strength: float) -> np.ndarray | None:
        """Class indices a correct model should give under this condition (-1 = unknown)."""
        if self.labels is None:
            return None
        rows = self.predictions.filter(
            (pl.col("perturbation") == perturbation) & (pl.col("strength") == float(strength))
        )
        return rows["expected_index"].to_numpy()


def sensitivity(
    predict_fn: Any,
    df: Any,
    perturbations: Sequence[str] | None = None,
    strengths: Sequence[float] = (0.25, 0.5, 1.0),
    *,
    seed: int = 0,
    classes: Sequence[Any] | None = None,
    batch_size: int | None = None,
) -> SensitivityReport:
    """Run `predict_fn` on `df` and on every perturbed copy; report which small changes break it.

    `predict_fn`: a callable taking a list of texts and returning an (n, k) array of class
    probabilities (rows summing to 1), or a fitted scikit-learn style model with `predict_proba`
    and `classes_` (taken through `workbench.model.as_model`, which validates every output).
    `classes` names the k columns (needed for accuracy when `predict_fn` has no
    `classes_`; the data's `label` column is compared with them). Without labels the report still
    gives flip rates, confidence shifts and behavioural tests, which need no labels.
    For label-changing perturbations (negation) the expected answer of a changed row is the other
    class when there are exactly two classes (accuracy is left empty otherwise).
    """
    frame = _as_polars(df)
    if "text" not in frame.columns:
        raise SchemaError(_missing_message("text", frame.columns))
    if frame.height == 0:
        raise InputError("sensitivity needs at least one row; the data is empty.")
    if frame["text"].null_count():
        raise InputError("column 'text' has nulls; drop or fill them before measuring sensitivity.")
    names = list(REGISTRY) if perturbations is None else list(perturbations)
    if not names:
        raise InputError(f"perturbations is empty; pass names from {sorted(REGISTRY)} or None for all.")
    for n in names:
        _get(n)
    levels = [_check_strength(s) for s in strengths]
    if not levels:
        raise InputError("strengths is empty; pass values in [0, 1], e.g. (0.25, 0.5, 1.0).")
    seed = _check_seed(seed)
    model = as_model(predict_fn, classes=classes)

    def predict(texts: list[str]) -> np.ndarray:
        if not batch_size:
            return model.probabilities(texts)
        return np.vstack([model.probabilities(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)])

    if "id" not in frame.columns:
        frame = frame.with_columns(pl.Series("id", stable_ids(frame["text"].to_list()), dtype=pl.String))
    base_texts = frame["text"].to_list()
    p0 = predict(base_texts)
    k = p0.shape[1]
    cls = model.classes
    labels: np.ndarray | None = None
    if "label" in frame.columns and cls is not None:
        index = {c: i for i, c in enumerate(cls)}
        labels = np.array([index.get(str(v), -1) if v is not None else -1 for v in frame["label"].to_list()])
    pred0 = p0.argmax(1)
    conf0 = p0[np.arange(len(pred0)), pred0]

    rows: list[dict[str, Any]] = []
    pred_frames: list[pl.DataFrame] = []
    fail_frames: list[pl.DataFrame] = []
    probabilities: dict[tuple[str, float], np.ndarray] = {("none", 0.0): p0}

    def summarise(name: str, strength: float, probs: np.ndarray, changed: np.ndarray, pert: pl.DataFrame | None):
        p = REGISTRY.get(name)
        expectation = p.expectation if p else ""
        test = p.test if p else ""
        pred = probs.argmax(1)
        conf_orig = probs[np.arange(len(pred0)), pred0]
        flipped = pred != pred0
        expected = None
        acc = lo = hi = math.nan
        if labels is not None:
            expected = labels.copy()
            if expectation == LABEL_CHANGING:
                expected = np.where(changed & (labels >= 0), 1 - labels, labels) if k == 2 else None
            if expected is not None:
                known = expected >= 0
                n_known = int(known.sum())
                correct = int((pred[known] == expected[known]).sum())
                acc = correct / n_known if n_known else math.nan
                lo, hi = wilson_interval(correct, n_known)
        n_changed = int(changed.sum())
        n_flip = int((flipped & changed).sum())
        flip = n_flip / n_changed if n_changed else math.nan
        flo, fhi = wilson_interval(n_flip, n_changed)
        shift, slo, shi = mean_interval((conf_orig - conf0)[changed])
        if test == "INV":
            failing = changed & flipped
        elif test == "DIR":
            failing = changed & (conf_orig >= conf0)
        else:
            failing = np.zeros(len(pred0), dtype=bool)
        n_fail = int(failing.sum())
        rlo, rhi = wilson_interval(n_fail, n_changed) if test else (math.nan, math.nan)
        rows.append(
            {
                "perturbation": name,
                "expectation": expectation or "baseline",
                "test": test or "",
                "strength": strength,
                "n": len(pred0),
                "changed": n_changed / len(pred0),
                "accuracy": acc,
                "accuracy_lo": lo,
                "accuracy_hi": hi,
                "flip_rate": flip if test else math.nan,
                "flip_rate_lo": flo if test else math.nan,
                "flip_rate_hi": fhi if test else math.nan,
                "confidence_shift": shift if test else math.nan,
                "confidence_shift_lo": slo if test else math.nan,
                "confidence_shift_hi": shi if test else math.nan,
                "failures": n_fail,
                "failure_rate": n_fail / n_changed if (test and n_changed) else math.nan,
                "failure_rate_lo": rlo,
                "failure_rate_hi": rhi,
            }
        )
        label_names = (lambda idx: [cls[i] for i in idx]) if cls is not None else (lambda idx: [str(i) for i in idx])
        pred_frames.append(
            pl.DataFrame(
                {
                    "perturbation": [name] * len(pred),
                    "strength": [strength] * len(pred),
                    "id": pert["id"].to_list() if pert is not None else frame["id"].to_list(),
                    "parent_id": frame["id"].to_list(),
                    "changed": changed,
                    "prediction": label_names(pred),
                    "confidence": probs.max(1),
                    "flipped": flipped,
                    "expected_index": expected if expected is not None else np.full(len(pred), -1),
                },
                schema_overrides={"strength": pl.Float64, "expected_index": pl.Int64},
            )
        )
        if n_fail and pert is not None:
            idx = np.flatnonzero(failing)
            reason = (
                "prediction changed under a label-preserving perturbation"
                if test == "INV"
                else "confidence in the original answer did not drop under a label-changing perturbation"
            )
            fail_frames.append(
                pl.DataFrame(
                    {
                        "id": pert["id"].gather(idx).to_list(),
                        "parent_id": frame["id"].gather(idx).to_list(),
                        "perturbation": [name] * len(idx),
                        "strength": [strength] * len(idx),
                        "test": [test] * len(idx),
                        "text": pert["text"].gather(idx).to_list(),
                        "original_text": frame["text"].gather(idx).to_list(),
                        "label": (
                            frame["label"].cast(pl.String).gather(idx).to_list()
                            if "label" in frame.columns
                            else [None] * len(idx)
                        ),
                        "prediction_before": label_names(pred0[idx]),
                        "prediction_after": label_names(pred[idx]),
                        "confidence_before": conf0[idx],
                        "confidence_after": conf_orig[idx],
                        "reason": [reason] * len(idx),
                    },
                    schema_overrides={"strength": pl.Float64, "label": pl.String},
                )
            )

    summarise("none", 0.0, p0, np.zeros(len(pred0), dtype=bool), None)
    for name in names:
        for s in levels:
            pert = apply(frame, name, s, seed)
            probs = predict(pert["text"].to_list())
            if probs.shape != p0.shape:
                raise InputError(
                    f"predict_fn returned shape {probs.shape} for perturbed texts but {p0.shape} for the originals; "
                    "it must return the same number of class columns every time."
                )
            probabilities[(name, s)] = probs
            summarise(name, s, probs, pert["changed"].to_numpy(), pert)

    failures = (
        pl.concat(fail_frames).sort(
            [
                pl.col("perturbation"),
                pl.col("strength"),
                (pl.col("confidence_after") - pl.col("confidence_before")).abs(),
            ],
            descending=[False, False, True],
        )
        if fail_frames
        else pl.DataFrame(
            schema={
                "id": pl.String,
                "parent_id": pl.String,
                "perturbation": pl.String,
                "strength": pl.Float64,
                "test": pl.String,
                "text": pl.String,
                "original_text": pl.String,
                "label": pl.String,
                "prediction_before": pl.String,
                "prediction_after": pl.String,
                "confidence_before": pl.Float64,
                "confidence_after": pl.Float64,
                "reason": pl.String,
            }
        )
    )
    return SensitivityReport(
        table=pl.DataFrame(rows),
        failures=failures,
        predictions=pl.concat(pred_frames),
        probabilities=probabilities,
        labels=labels,
        classes=cls,
    )


PARAPHRASE_CHAIN = ("synonyms", "punctuation", "casing")


def paraphrase(df: Any, strength: float = 0.5, seed: int = 0) -> pl.DataFrame:
    """A light, label-preserving paraphrase: `PARAPHRASE_CHAIN` applied in turn at `strength`.

    Synonyms from the bundled lexicon, dropped or doubled punctuation and changed casing: the
    meaning stays, the surface a shortcut-learning model relies on does not. `parent_id` points at
    the original rows, `perturbation` is 'paraphrase', `changed` says whether any step changed it.
    """
    frame = _as_polars(df)
    out = frame
    for k, name in enumerate(PARAPHRASE_CHAIN):
        out = apply(out, name, strength, seed + k)
    first = apply(frame, PARAPHRASE_CHAIN[0], strength, seed)
    original = frame["text"].to_list()
    return out.with_columns(
        pl.Series("id", _derived_ids(first["parent_id"].to_list(), "paraphrase", float(strength), seed)),
        parent_id=first["parent_id"],
        perturbation=pl.lit("paraphrase"),
        seed=pl.lit(seed, dtype=pl.Int64),
        changed=pl.Series([a != b for a, b in zip(original, out["text"].to_list())], dtype=pl.Boolean),
    )


def predict(predict_fn: Any, texts: Sequence[str], *, classes: Sequence[Any] | None = None) -> pl.DataFrame:
    """A model's answer for each text: `prediction` (class name, or index without classes),
    `confidence` (its probability) and `probabilities` (all of them), checked like `sensitivity`."""
    model = as_model(predict_fn, classes=classes)
    probs = model.probabilities(list(texts))
    best = probs.argmax(1)
    names = model.classes
    return pl.DataFrame(
        {
            "prediction": [names[i] if names is not None else str(i) for i in best],
            "confidence": probs[np.arange(len(best)), best],
            "probabilities": probs.tolist(),
        },
        schema={"prediction": pl.String, "confidence": pl.Float64, "probabilities": pl.List(pl.Float64)},
    )
