"""Validity on your own data: what does a `pass` mean here?

`run(df)` takes the user's real rows and, for every failure mode a registered check covers, builds
data sets from them with the failure planted at graded strengths, and as many clean resamples
(random real rows in the same layout, nothing planted). It runs the checks of that failure mode on
each and reports, per check and strength, how often the check raised an alarm (status at or above
`level`): the detection rate with its Wilson 95% interval, the smallest strength detected at least
9 times in 10, and the false-alarm rate on the clean resamples. A check that misses its planted
failure at every strength, or cries wolf on clean resamples of this data, tells the user how far to
trust its verdict on the real audit.

What is planted (`PLANTS`), always into the user's own real rows; "synthetic" rows are real rows
relabelled, so a clean resample is a generator that reproduces the real distribution exactly:

- artifact learning: `tells`: a stock opening and a final punctuation mark on a share of the synthetic
  rows, tied to the label when there is one (a different pair per label), as template generators leave;
- coverage illusion: `cluster_gap`: one topic kept at 50%, 25% or 0% of its share in the synthetic rows:
  of the k-means clusters (k=8) of the real rows' embeddings that hold 5-25% of them, the most coherent
  (its rows' nearest neighbours most often in it): a region of the space, not a slice of it;
- contamination: `leak_verbatim`, `leak_light_edits`, `leak_heavy_edits`: k held-out rows copied into
  training verbatim, or with typos and adjacent-word swaps on 10% or 30% of their words
  (`workbench.perturb`); the data's own near duplicates are set aside first, so a clean split is clean;
- over-regularization: `recombination` (a share of the synthetic rows replaced by halves of a few
  rows stitched together) and `typical_only` (the least typical share of the synthetic rows, by
  cosine to the real centroid, dropped);
- label bias: `length_bias`, `punctuation_bias`, `token_bias`: an automatic labeler that disagrees
  with the reference 10% of the time at random, and additionally with probability s on the longest
  quarter of rows, the most punctuated quarter, or the rows containing one frequent word;
- feedback amplification: `narrowing`: four generations, each drawn from the most typical
  (1 - s)^g of the rows, against an anchor of real rows.

Guardrails have nothing to plant, and privacy (memorised training rows) has no plant yet: their checks
are listed in `notes` as not measured.

Embeddings: the real rows' vectors are taken from `embeddings` (or the `Audit` passed in, whose
embeddings were already computed) and looked up by text; only new texts (planted leaks,
recombinations, rows' text without boilerplate) go to `embedder`, once each (the embedder's disk
cache keeps them across runs).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from workbench.audit import Audit, run_check
from workbench.checks import all_checks
from workbench.checks.base import FAILURE_MODES, GUARDRAILS, STATUS_ORDER, Context
from workbench.data import validate
from workbench.errors import InputError
from workbench.stats import wilson_interval
from workbench.text_features import SURFACE_FEATURES, surface_features, word_tokens

if TYPE_CHECKING:
    import altair as alt

LEVELS = ("warn", "fail")
RELIABLE = 0.9  # "detected 9 times in 10"
TABLE_SCHEMA = {
    "check": pl.String,
    "failure_mode": pl.String,
    "planted": pl.String,
    "plant": pl.String,
    "strength": pl.Float64,
    "unit": pl.String,
    "runs": pl.Int64,
    "detected": pl.Int64,
    "detection_rate": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "clean_runs": pl.Int64,
    "false_alarms": pl.Int64,
    "false_alarm_rate": pl.Float64,
    "false_alarm_ci_low": pl.Float64,
    "false_alarm_ci_high": pl.Float64,
}
RUN_SCHEMA = {
    "check": pl.String,
    "failure_mode": pl.String,
    "plant": pl.String,
    "strength": pl.Float64,
    "rep": pl.Int64,
    "seed": pl.Int64,
    "status": pl.String,
    "alarm": pl.Boolean,
    "score": pl.Float64,
    "seconds": pl.Float64,
}
OPENERS = ("Honestly,", "Frankly,", "Overall,", "In short,", "Simply put,", "Truly,")
ENDINGS = ("!", "?", "...", ";", ":", "~")  # one distinct mark per label


# --- the pool: the user's real rows, and what plants need to know about them ----------------------


class _Vectors:
    """An embedder for planted data: the real rows' vectors by text; any new text is embedded once by
    `embedder` (created on first need) and remembered."""

    def __init__(self, texts: list[str], emb: np.ndarray, embedder: Any) -> None:
        self.known: dict[str, np.ndarray] = dict(zip(texts, emb))
        self._embedder = embedder
        self.embedded = 0

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from workbench.embed import Embedder

            self._embedder = Embedder()
        return self._embedder

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        if missing:
            vecs = np.asarray(self.embedder.encode(missing), dtype=np.float32)
            self.known.update(zip(missing, vecs))
            self.embedded += len(missing)
        if not texts:
            dim = next(iter(self.known.values())).shape[0] if self.known else 0
            return np.zeros((0, dim), dtype=np.float32)
        return np.stack([self.known[t] for t in texts]).astype(np.float32, copy=False)


@dataclass
class _Pool:
    """The real rows plants are drawn from, with their unit embeddings and lazily computed facts."""

    rows: pl.DataFrame  # id, text, label (when labelled)
    emb: np.ndarray
    seed: int
    _clusters: np.ndarray | None = None
    _distinct: np.ndarray | None = None

    @property
    def n(self) -> int:
        return self.rows.height

    @property
    def texts(self) -> list[str]:
        return self.rows["text"].to_list()

    @property
    def labels(self) -> list[str] | None:
        if "label" not in self.rows.columns or self.rows["label"].null_count() == self.n:
            return None
        values = sorted(self.rows["label"].drop_nulls().unique().to_list())
        return values if len(values) >= 2 else None

    def typicality(self) -> np.ndarray:
        """Cosine of each row to the centroid of all real rows (higher: more typical)."""
        centre = self.emb.mean(axis=0)
        centre = centre / max(float(np.linalg.norm(centre)), 1e-12)
        return self.emb @ centre

    def clusters(self) -> np.ndarray:
        """Topic of each row: k-means (k=8) on the embeddings, seeded."""
        if self._clusters is None:
            from sklearn.cluster import KMeans

            k = min(8, max(2, self.n // 50))
            self._clusters = KMeans(n_clusters=k, n_init=3, random_state=self.seed).fit_predict(self.emb)
        return self._clusters

    def topic(self) -> int:
        """The most coherent topic: of the clusters holding 5-25% of the rows, the one whose rows' 10
        nearest neighbours most often lie in it (a region of the embedding space, not a slice of it)."""
        from workbench.knn import nearest

        clusters = self.clusters()
        shares = np.bincount(clusters) / self.n
        eligible = np.flatnonzero((shares >= 0.05) & (shares <= 0.25))
        if not eligible.size:
            eligible = np.array([int(np.argmin(np.abs(shares - 0.1)))])
        k = min(10, self.n - 1)
        _, idx = nearest(self.emb, self.emb, k + 1)
        purity = (clusters[idx[:, 1:]] == clusters[:, None]).mean(axis=1)
        by = [float(purity[clusters == c].mean()) for c in eligible]
        return int(eligible[int(np.argmax(by))])

    def distinct(self) -> np.ndarray:
        """Rows that are no exact or near duplicate of an earlier row (contamination's own detectors)."""
        if self._distinct is None:
            from workbench.checks.contamination import find_duplicates

            frame = self.rows.select("id", "text").with_columns(split=pl.lit("pool"))
            dups = find_duplicates(frame, kinds=("exact", "near"), splits_a=["pool"], splits_b=["pool"])
            self._distinct = ~self.rows["id"].is_in(dups["id_b"].implode()).to_numpy()
        return self._distinct


def _frame(pool: _Pool, src: np.ndarray, texts: Sequence[str] | None = None, **columns: Any) -> pl.DataFrame:
    """A data set of pool rows `src` (texts replaced where `texts` is given), with layout `columns`."""
    n = len(src)
    base = pool.rows[src.tolist()] if n else pool.rows.clear()
    data: dict[str, Any] = {
        "id": [f"v{i:05d}" for i in range(n)],
        "text": list(texts) if texts is not None else base["text"].to_list(),
    }
    if "label" in base.columns:
        data["label"] = base["label"].cast(pl.String).to_list()
    for name, value in columns.items():
        data[name] = value if isinstance(value, (list, np.ndarray, pl.Series)) else [value] * n
    return validate(pl.DataFrame(data), require_origin=False)


def _halves(pool: _Pool, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(pool.n)
    return np.sort(order[: pool.n // 2]), np.sort(order[pool.n // 2 :])


def _real_vs_synthetic(pool: _Pool, real: np.ndarray, synth: np.ndarray, synth_texts: Sequence[str] | None = None):
    texts = None
    if synth_texts is not None:
        texts = pool.rows["text"].gather(real.tolist()).to_list() + list(synth_texts)
    src = np.concatenate([real, synth])
    origin = ["real"] * len(real) + ["synthetic"] * len(synth)
    return _frame(pool, src, texts, origin=origin)


# --- plants ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plant:
    """One way to plant a failure: `build(pool, strength, rng)` returns the data set; `clean(pool, rng)`
    (shared by the plants of a failure mode) the same layout with nothing planted."""

    failure_mode: str
    name: str
    planted: str
    unit: str
    strengths: tuple[float, ...]
    build: Callable[[_Pool, float, np.random.Generator], pl.DataFrame]
    needs_labels: bool = False


def _with_tell(text: str, opener: str, ending: str) -> str:
    body = text.strip()
    body = body.rstrip(".!?;:… ") or body
    if body[:1].isupper() and not body[:2].isupper():
        body = body[0].lower() + body[1:]
    return f"{opener} {body}{ending}"


def _plant_tells(pool: _Pool, strength: float, rng: np.random.Generator) -> pl.DataFrame:
    real, synth = _halves(pool, rng)
    labels = pool.labels
    texts = pool.rows["text"].gather(synth.tolist()).to_list()
    label_of = pool.rows["label"].cast(pl.String).gather(synth.tolist()).to_list() if labels else [None] * len(synth)
    marked = rng.random(len(synth)) < strength
    out = []
    for t, lab, m in zip(texts, label_of, marked):
        if not m:
            out.append(t)
            continue
        i = labels.index(lab) if labels and lab in labels else 0
        out.append(_with_tell(t, OPENERS[i % len(OPENERS)], ENDINGS[i % len(ENDINGS)]))
    return _real_vs_synthetic(pool, real, synth, out)


def _clean_halves(pool: _Pool, rng: np.random.Generator) -> pl.DataFrame:
    real, synth = _halves(pool, rng)
    return _real_vs_synthetic(pool, real, synth)


def _plant_cluster_gap(pool: _Pool, strength: float, rng: np.random.Generator) -> pl.DataFrame:
    real, synth = _halves(pool, rng)
    clusters = pool.clusters()
    target = pool.topic()
    inside = synth[clusters[synth] == target]
    drop = rng.choice(inside, size=round(strength * inside.size), replace=False) if inside.size else inside
    return _real_vs_synthetic(pool, real, np.setdiff1d(synth, drop))


def _split_held_out(pool: _Pool, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    rows = np.flatnonzero(pool.distinct())
    rows = rows[rng.permutation(rows.size)]
    n_held = max(1, round(0.3 * rows.size))
    return np.sort(rows[:n_held]), np.sort(rows[n_held:])


def _contamination_frame(pool: _Pool, held: np.ndarray, train: np.ndarray, copies: list[tuple[int, str]]):
    src = np.concatenate([held, train, np.array([c[0] for c in copies], dtype=np.int64)])
    texts = pool.rows["text"].gather(np.concatenate([held, train]).tolist()).to_list() + [c[1] for c in copies]
    split = ["eval"] * len(held) + ["train"] * (len(train) + len(copies))
    return _frame(pool, src, texts, origin="real", split=split)


def _clean_split(pool: _Pool, rng: np.random.Generator) -> pl.DataFrame:
    held, train = _split_held_out(pool, rng)
    return _contamination_frame(pool, held, train, [])


def _leak(edit: float) -> Callable[[_Pool, float, np.random.Generator], pl.DataFrame]:
    def build(pool: _Pool, strength: float, rng: np.random.Generator) -> pl.DataFrame:
        from workbench.perturb import perturb_text

        held, train = _split_held_out(pool, rng)
        k = min(int(strength), held.size)
        picked = rng.choice(held, size=k, replace=False)
        copies = []
        for i in picked.tolist():
            text = pool.rows["text"][i]
            if edit > 0:
                s = int(rng.integers(1 << 31))
                text = perturb_text(perturb_text(text, "typos", edit, seed=s), "local_shuffle", edit, seed=s + 1)
            copies.append((i, text))
        return _contamination_frame(pool, held, train, copies)

    return build


def _plant_recombination(pool: _Pool, strength: float, rng: np.random.Generator) -> pl.DataFrame:
    real, synth = _halves(pool, rng)
    texts = pool.rows["text"].gather(synth.tolist()).to_list()
    n_pool = max(10, round(0.05 * len(synth)))
    sources = rng.choice(len(synth), size=min(n_pool, len(synth)), replace=False)
    replaced = np.flatnonzero(rng.random(len(synth)) < strength)
    out = list(texts)
    for r in replaced.tolist():
        a, b = rng.choice(sources, size=2, replace=False)
        wa, wb = texts[a].split(), texts[b].split()
        out[r] = " ".join(wa[: max(1, len(wa) // 2)] + wb[len(wb) // 2 :])
    return _real_vs_synthetic(pool, real, synth, out)


def _plant_typical_only(pool: _Pool, strength: float, rng: np.random.Generator) -> pl.DataFrame:
    real, synth = _halves(pool, rng)
    typical = pool.typicality()[synth]
    keep = synth[np.argsort(-typical, kind="stable")[: max(2, round((1 - strength) * len(synth)))]]
    return _real_vs_synthetic(pool, real, np.sort(keep))


BASE_DISAGREEMENT = 0.1


def _labeler(pool: _Pool, rng: np.random.Generator, biased: np.ndarray | None, strength: float) -> pl.DataFrame:
    labels = pool.labels
    assert labels is not None
    ref = pool.rows["label"].cast(pl.String).to_list()
    p = np.full(pool.n, BASE_DISAGREEMENT)
    if biased is not None:
        p[biased] = np.minimum(1.0, BASE_DISAGREEMENT + strength)
    flip = rng.random(pool.n) < p
    given = []
    for r, f in zip(ref, flip):
        if not f or r not in labels:
            given.append(r)
            continue
        others = [lab for lab in labels if lab != r]
        given.append(others[int(rng.integers(len(others)))])
    return _frame(
        pool,
        np.arange(pool.n),
        origin="synthetic",
        reference_label=ref,
        label=given,
        label_source="model:validity-labeler",
    )


def _clean_labeler(pool: _Pool, rng: np.random.Generator) -> pl.DataFrame:
    return _labeler(pool, rng, None, 0.0)


def _biased_by(group: Callable[[_Pool], np.ndarray]) -> Callable[[_Pool, float, np.random.Generator], pl.DataFrame]:
    def build(pool: _Pool, strength: float, rng: np.random.Generator) -> pl.DataFrame:
        return _labeler(pool, rng, group(pool), strength)

    return build


def _top_quarter(feature: str) -> Callable[[_Pool], np.ndarray]:
    def group(pool: _Pool) -> np.ndarray:
        values = surface_features(pool.texts)[:, SURFACE_FEATURES.index(feature)]
        return values > np.quantile(values, 0.75)

    return group


def _frequent_token(pool: _Pool) -> np.ndarray:
    """Rows containing the word whose document frequency is closest to a quarter of the rows."""
    sets = [set(t) for t in word_tokens(pool.texts)]
    counts: dict[str, int] = {}
    for s in sets:
        for w in s:
            counts[w] = counts.get(w, 0) + 1
    target = 0.25 * pool.n
    word = min(sorted(counts), key=lambda w: abs(counts[w] - target))
    return np.array([word in s for s in sets])


GENERATIONS = 4


def _chain(pool: _Pool, rng: np.random.Generator, strength: float | None) -> pl.DataFrame:
    order = rng.permutation(pool.n)
    n_anchor = max(2, pool.n // 4)
    anchor, rest = np.sort(order[:n_anchor]), order[n_anchor:]
    m = max(2, min(250, rest.size // GENERATIONS))
    parts = []
    if strength is None:
        for g in range(GENERATIONS):
            parts.append(np.sort(rest[g * m : (g + 1) * m]))
    else:
        typical = pool.typicality()[rest]
        ranked = rest[np.argsort(-typical, kind="stable")]
        for g in range(GENERATIONS):
            allowed = ranked[: max(m, math.ceil((1 - strength) ** g * ranked.size))]
            parts.append(np.sort(rng.choice(allowed, size=m, replace=False)))
    src = np.concatenate([anchor, *parts])
    generation: list[int | None] = [None] * len(anchor)
    for g, part in enumerate(parts):
        generation += [g] * len(part)
    origin = ["real"] * len(anchor) + ["synthetic"] * (len(src) - len(anchor))
    return _frame(pool, src, origin=origin, generation=pl.Series(generation, dtype=pl.Int64))


PLANTS: tuple[Plant, ...] = (
    Plant(
        "artifact_learning",
        "tells",
        "stock opening and final punctuation (tied to the label) on a share of synthetic rows",
        "share of synthetic rows",
        (0.1, 0.25, 0.5, 1.0),
        _plant_tells,
    ),
    Plant(
        "coverage_illusion",
        "cluster_gap",
        "the most coherent topic (5-25% of the real rows) missing from a share of its synthetic rows",
        "share of the topic's synthetic rows removed",
        (0.5, 0.75, 1.0),
        _plant_cluster_gap,
    ),
    Plant(
        "contamination",
        "leak_verbatim",
        "k held-out rows copied into training verbatim",
        "leaked rows",
        (1, 3, 10),
        _leak(0.0),
    ),
    Plant(
        "contamination",
        "leak_light_edits",
        "k held-out rows copied into training, 10% of words with typos and swaps",
        "leaked rows",
        (1, 3, 10),
        _leak(0.1),
    ),
    Plant(
        "contamination",
        "leak_heavy_edits",
        "k held-out rows copied into training, 30% of words with typos and swaps",
        "leaked rows",
        (1, 3, 10),
        _leak(0.3),
    ),
    Plant(
        "over_regularization",
        "recombination",
        "a share of synthetic rows stitched from halves of a few rows",
        "share of synthetic rows",
        (0.25, 0.5, 1.0),
        _plant_recombination,
    ),
    Plant(
        "over_regularization",
        "typical_only",
        "only the most typical synthetic rows kept",
        "share of synthetic rows dropped (least typical first)",
        (0.25, 0.5, 0.75),
        _plant_typical_only,
    ),
    Plant(
        "label_bias",
        "length_bias",
        "labeler wrong more often on the longest quarter of rows",
        "extra disagreement rate",
        (0.1, 0.2, 0.4, 0.8),
        _biased_by(_top_quarter("n_words")),
        needs_labels=True,
    ),
    Plant(
        "label_bias",
        "punctuation_bias",
        "labeler wrong more often on the most punctuated quarter of rows",
        "extra disagreement rate",
        (0.1, 0.2, 0.4, 0.8),
        _biased_by(_top_quarter("punctuation_share")),
        needs_labels=True,
    ),
    Plant(
        "label_bias",
        "token_bias",
        "labeler wrong more often on rows containing one frequent word",
        "extra disagreement rate",
        (0.1, 0.2, 0.4, 0.8),
        _biased_by(_frequent_token),
        needs_labels=True,
    ),
    Plant(
        "feedback_amplification",
        "narrowing",
        "four generations, each drawn from the most typical (1 - s)^g of the rows",
        "share dropped per generation",
        (0.15, 0.3, 0.5),
        lambda pool, s, rng: _chain(pool, rng, s),
    ),
)
CLEAN: dict[str, Callable[[_Pool, np.random.Generator], pl.DataFrame]] = {
    "artifact_learning": _clean_halves,
    "coverage_illusion": _clean_halves,
    "contamination": _clean_split,
    "over_regularization": _clean_halves,
    "label_bias": _clean_labeler,
    "feedback_amplification": lambda pool, rng: _chain(pool, rng, None),
}
CLEAN_LABELS_NEEDED = {"label_bias"}


# --- the report ------------------------------------------------------------------------------------


@dataclass
class ValidityReport:
    """What the checks' verdicts mean on this data.

    `table`: one row per check, plant and strength: `check`, `failure_mode`, `planted` (what was
    planted, in words), `plant` (its key in `PLANTS`), `strength` (in `unit`), `runs` and `detected`,
    `detection_rate` with its Wilson 95% interval `ci_low`-`ci_high`, and from the clean resamples
    `clean_runs`, `false_alarms`, `false_alarm_rate` (Wilson interval `false_alarm_ci_low`-`_ci_high`).
    An alarm is a status at or above `level`. `runs`: every single run. `summary`: per check and plant,
    the smallest strength detected at least 9 times in 10 and the false-alarm rate. `notes`: what
    could not be planted or run, and why.
    """

    table: pl.DataFrame
    runs: pl.DataFrame
    level: str
    seeds: int
    n_rows: int
    seconds: float
    notes: list[str] = field(default_factory=list)
    embedded: int = 0

    @property
    def summary(self) -> pl.DataFrame:
        """Per check and plant: `smallest_reliable_strength` (detection rate >= 0.9; null when no strength
        reaches it), `max_detection_rate`, and the check's `false_alarm_rate` on clean resamples."""
        if not self.table.height:
            return pl.DataFrame(
                schema={
                    "check": pl.String,
                    "failure_mode": pl.String,
                    "planted": pl.String,
                    "unit": pl.String,
                    "smallest_reliable_strength": pl.Float64,
                    "max_detection_rate": pl.Float64,
                    "clean_runs": pl.Int64,
                    "false_alarms": pl.Int64,
                    "false_alarm_rate": pl.Float64,
                    "false_alarm_ci_high": pl.Float64,
                }
            )
        return (
            self.table.group_by("check", "failure_mode", "plant", "planted", "unit", maintain_order=True)
            .agg(
                pl.col("strength")
                .filter(pl.col("detection_rate") >= RELIABLE)
                .min()
                .alias("smallest_reliable_strength"),
                pl.col("detection_rate").max().alias("max_detection_rate"),
                pl.col("clean_runs").first(),
                pl.col("false_alarms").first(),
                pl.col("false_alarm_rate").first(),
                pl.col("false_alarm_ci_high").first(),
            )
            .drop("plant")
        )

    def chart(self) -> alt.Chart:
        """Detection rate against strength per check (one panel each), the false-alarm rate dashed."""
        from workbench.charts import validity_chart

        return validity_chart(self.table)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): settings, the table, the summary and the notes. No timings: the same
        data and arguments give the same document."""
        return {
            "level": self.level,
            "seeds": self.seeds,
            "n_rows": self.n_rows,
            "embedded_new_texts": self.embedded,
            "notes": list(self.notes),
            "table": _plain(self.table),
            "summary": _plain(self.summary),
        }

    def __repr__(self) -> str:
        return f"ValidityReport({self.table['check'].n_unique()} checks, {self.runs.height} runs, level={self.level!r})"


def _plain(frame: pl.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dicts():
        out.append({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()})
    return out


# --- running ---------------------------------------------------------------------------------------


def _strengths(plant: Plant, strengths: Mapping[str, Sequence[float]] | None) -> tuple[float, ...]:
    if strengths is None:
        return plant.strengths
    for key in (plant.name, plant.failure_mode):
        if key in strengths:
            values = tuple(float(s) for s in strengths[key])
            if not values:
                raise InputError(f"strengths[{key!r}] is empty; give at least one strength.")
            return values
    return plant.strengths


def run(
    df: Any,
    embeddings: np.ndarray | None = None,
    embedder: Any = None,
    checks: Iterable[str] | None = None,
    seeds: int = 10,
    seed: int = 0,
    *,
    strengths: Mapping[str, Sequence[float]] | None = None,
    plants: Iterable[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    level: str = "fail",
    max_rows: int | None = 2000,
    progress: Callable[[str], None] | None = None,
) -> ValidityReport:
    """Plant each failure mode at graded strengths in the real rows of `df` and measure the checks.

    `df`: the data (its `origin == 'real'` rows are used; all rows when there is no origin column) or
    an `Audit`, whose data, embeddings, embedder, checks and parameters are then used. `embeddings`:
    aligned with `df`'s rows (the real rows' vectors are taken from it); `embedder` embeds new texts
    (default: the bundled model). `checks`: names to measure (default: every registered check of a
    failure mode; guardrails have nothing to plant). `seeds`: planted data sets per strength, and clean
    resamples per failure mode. `strengths`: per plant name or failure mode, e.g.
    `{"contamination": [10], "tells": [1.0]}`; `plants`: the plant names to use (default all). `level`:
    the status that counts as an alarm (`fail`, as the CLI gate's default, or `warn`). `max_rows`: a
    seeded sample of at most that many real rows (None: all). Same arguments, same report.
    """
    t0 = time.perf_counter()
    checks = None if checks is None else list(checks)
    if level not in LEVELS:
        raise InputError(f"level must be one of {LEVELS}; got {level!r}.")
    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
        raise InputError(f"seeds must be a positive integer (data sets per strength); got {seeds!r}.")
    if isinstance(df, Audit):
        audit = df
        frame = audit.df
        audit_ctx = audit.context
        if embeddings is None and audit_ctx.can_embed:
            embeddings = audit_ctx.embeddings()  # computed once: what the audit's checks already used
        if embedder is None and audit_ctx.can_embed_texts:
            embedder = audit_ctx.embedder
        if checks is None:
            checks = [c.name for c in audit.checks]
        configured = {c.name: c for c in audit.checks}
    else:
        frame = validate(df, require_origin=False)
        configured = {}
    registry = all_checks()
    names = [n for n in (list(checks) if checks is not None else registry) if n in registry or n in configured]
    unknown = sorted(set(checks or []) - set(registry))
    if unknown:
        raise InputError(f"unknown check(s) {unknown}; registered: {sorted(registry)}.")
    params = dict(params or {})
    bad = sorted(set(params) - set(registry))
    if bad:
        raise InputError(f"params for unknown check(s) {bad}; registered: {sorted(registry)}.")
    chosen = {n: configured.get(n, registry[n]).configure(params.get(n, {})) for n in names}
    chosen = {n: c for n, c in chosen.items() if c.failure_mode not in GUARDRAILS}
    notes: list[str] = []
    wanted_plants = None if plants is None else set(plants)
    if wanted_plants is not None:
        unknown_p = sorted(wanted_plants - {p.name for p in PLANTS})
        if unknown_p:
            raise InputError(f"unknown plant(s) {unknown_p}; choose from {[p.name for p in PLANTS]}.")

    # the pool: the user's real rows (and their vectors)
    if embeddings is not None:
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or embeddings.shape[0] != frame.height:
            raise InputError(
                f"embeddings must be an (n_rows, dim) array aligned with the data's {frame.height} rows; "
                f"got shape {embeddings.shape}."
            )
    real_mask = (
        (frame["origin"] == "real").fill_null(False).to_numpy()
        if "origin" in frame.columns and (frame["origin"] == "real").any()
        else np.ones(frame.height, dtype=bool)
    )
    idx = np.flatnonzero(real_mask)
    if idx.size < 40:
        raise InputError(
            f"the validity report plants failures into real rows and needs at least 40 of them; found {idx.size}. "
            "Mark real rows with origin='real'."
        )
    if max_rows is not None and idx.size > max_rows:
        idx = np.sort(np.random.default_rng(seed).choice(idx, size=max_rows, replace=False))
        notes.append(f"a seeded sample of {max_rows} of the data's {int(real_mask.sum())} real rows was used")
    keep = [c for c in ("id", "text", "label") if c in frame.columns]
    rows = frame[idx.tolist()].select(keep)
    texts = rows["text"].to_list()
    if embeddings is not None:
        emb = embeddings[idx]
        vectors = _Vectors(texts, emb, embedder)
    else:
        vectors = _Vectors([], np.zeros((0, 1), np.float32), embedder)
        emb = vectors.encode(texts)
        vectors.embedded = 0
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    pool = _Pool(rows=rows, emb=emb / np.where(norms == 0, 1.0, norms), seed=seed)

    run_rows: list[dict[str, Any]] = []
    modes = sorted({c.failure_mode for c in chosen.values()})
    for mode in modes:
        mode_i = FAILURE_MODES.index(mode)  # stable: the same plant gets the same seeds whatever else is measured
        mode_checks = [c for c in chosen.values() if c.failure_mode == mode]
        mode_plants = [
            p for p in PLANTS if p.failure_mode == mode and (wanted_plants is None or p.name in wanted_plants)
        ]
        if not mode_plants or mode not in CLEAN:
            notes.append(
                f"{mode}: no plant defined; its checks ({', '.join(c.name for c in mode_checks)}) are not measured"
            )
            continue
        if pool.labels is None and (mode in CLEAN_LABELS_NEEDED or all(p.needs_labels for p in mode_plants)):
            notes.append(f"{mode}: needs a label column with two or more labels; not measured")
            continue
        jobs: list[tuple[Plant | None, float | None, int]] = [(None, None, rep) for rep in range(seeds)]
        for p in mode_plants:
            if p.needs_labels and pool.labels is None:
                notes.append(f"{p.name}: needs labels; not planted")
                continue
            for s in _strengths(p, strengths):
                jobs += [(p, s, rep) for rep in range(seeds)]
        for plant, strength, rep in jobs:
            plant_i = 0 if plant is None else 1 + PLANTS.index(plant)
            strength_i = 0 if strength is None else round(strength * 1000)
            run_seed = int(np.random.SeedSequence([seed, mode_i, plant_i, strength_i, rep]).generate_state(1)[0])
            rng = np.random.default_rng(run_seed)
            data = CLEAN[mode](pool, rng) if plant is None else plant.build(pool, float(strength or 0.0), rng)
            if progress:
                progress(f"{mode}: {plant.name if plant else 'clean'} {strength if plant else ''} #{rep}")
            ctx = Context(data, embedder=vectors, seed=run_seed % (1 << 31))  # type: ignore[arg-type]
            for check in mode_checks:
                t = time.perf_counter()
                res = run_check(check, ctx)
                run_rows.append(
                    {
                        "check": check.name,
                        "failure_mode": mode,
                        "plant": plant.name if plant else "clean",
                        "strength": strength,
                        "rep": rep,
                        "seed": run_seed,
                        "status": res.status,
                        "alarm": res.status not in ("skipped", "error")
                        and STATUS_ORDER[res.status] >= STATUS_ORDER[level],
                        "score": None if res.score is None or not math.isfinite(res.score) else float(res.score),
                        "seconds": time.perf_counter() - t,
                    }
                )
    runs = pl.DataFrame(run_rows, schema=RUN_SCHEMA)
    table = _table(runs)
    skipped = runs.filter(pl.col("status") == "skipped")["check"].unique().sort().to_list()
    for name in skipped:
        n = runs.filter((pl.col("check") == name) & (pl.col("status") == "skipped")).height
        notes.append(f"{name}: skipped in {n} of {runs.filter(pl.col('check') == name).height} runs (inputs missing)")
    errors = runs.filter(pl.col("status") == "error")["check"].unique().sort().to_list()
    if errors:
        notes.append(f"check(s) {errors} crashed in some runs (status error; counted as no alarm)")
    return ValidityReport(
        table=table,
        runs=runs,
        level=level,
        seeds=seeds,
        n_rows=pool.n,
        seconds=time.perf_counter() - t0,
        notes=notes,
        embedded=vectors.embedded,
    )


def _table(runs: pl.DataFrame) -> pl.DataFrame:
    ran = runs.filter(pl.col("status") != "skipped")
    if not ran.height:
        return pl.DataFrame(schema=TABLE_SCHEMA)
    described = {p.name: (p.planted, p.unit) for p in PLANTS}
    clean = (
        ran.filter(pl.col("plant") == "clean")
        .group_by("check")
        .agg(pl.len().alias("clean_runs"), pl.col("alarm").sum().cast(pl.Int64).alias("false_alarms"))
    )
    planted = (
        ran.filter(pl.col("plant") != "clean")
        .group_by("check", "failure_mode", "plant", "strength", maintain_order=True)
        .agg(pl.len().alias("runs"), pl.col("alarm").sum().cast(pl.Int64).alias("detected"))
        .join(clean, on="check", how="left")
        .sort("failure_mode", "check", "plant", "strength")
    )
    rows = []
    for r in planted.iter_rows(named=True):
        lo, hi = wilson_interval(r["detected"], r["runs"])
        clean_runs = r["clean_runs"] or 0
        alarms = r["false_alarms"] or 0
        fa_lo, fa_hi = wilson_interval(alarms, clean_runs)
        text, unit = described[r["plant"]]
        rows.append(
            {
                "check": r["check"],
                "failure_mode": r["failure_mode"],
                "planted": text,
                "plant": r["plant"],
                "strength": r["strength"],
                "unit": unit,
                "runs": r["runs"],
                "detected": r["detected"],
                "detection_rate": r["detected"] / r["runs"],
                "ci_low": lo,
                "ci_high": hi,
                "clean_runs": clean_runs,
                "false_alarms": alarms,
                "false_alarm_rate": alarms / clean_runs if clean_runs else None,
                "false_alarm_ci_low": fa_lo if clean_runs else None,
                "false_alarm_ci_high": fa_hi if clean_runs else None,
            }
        )
    return pl.DataFrame(rows, schema=TABLE_SCHEMA)


__all__ = ["CLEAN", "LEVELS", "PLANTS", "Plant", "ValidityReport", "run"]
