"""Artifact learning: does the synthetic data carry "tells" a model can learn instead of the task?

Four checks, each usable as a function on a frame and registered for `Audit`:

- `origin_tells` (`origin_test`): can a simple cross-validated classifier tell synthetic from real
  rows? Logistic regression on interpretable surface features (length, punctuation, casing,
  formatting, how many rows share the opening/closing words) and, separately, on word n-grams
  with start/end markers. AUC from repeated stratified cross-validation with a conservative
  DeLong-based interval (see `_cv_auc`); the two intervals are simultaneous 95% intervals
  (Bonferroni: 97.5% each). The most telling features are listed with example rows.
- `label_shortcut` (`label_shortcut_test`): how well do surface features alone predict the label
  on synthetic rows, compared with the same on labelled real rows?
- `token_label_skew` (`token_label_stats`): the token-label statistic of Gardner et al. 2021
  ("Competency Problems"): for every token, z = (p_hat - p0) / sqrt(p0 (1 - p0) / n) with p0 = 1/K
  (uniform over K labels), n the rows containing the token and p_hat the share of them with a given
  label; significant at alpha = 0.01 with a Bonferroni correction over every (token, label) tested.
  A skewed token is an artifact when labelled real data contradicts its skew (one-sided Fisher exact
  test, Bonferroni over the skewed tokens).
- `score_vanishes` (`paraphrase_test`): a model trained on synthetic data, scored on held-out
  synthetic rows, on real rows, and on paraphrased copies of both (`perturb.paraphrase`). A model
  that learned the generator scores high on synthetic and loses it on real or paraphrased text.

Features whose values order the rows identically (e.g. "ends with '!'" and "has one '!'" in a
template) cannot be told apart by any test; they are reported as one entry (`same_as`). Surface
features and tokens come from `workbench.text_features`, intervals and tests from `workbench.stats`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy import sparse, stats

from workbench.checks import register
from workbench.checks.base import Check, CheckResult, Context, param
from workbench.errors import InputError
from workbench.stats import (
    Z95,
    Estimate,
    auc_interval,
    column_aucs,
    delong_auc,
    fisher_exact_p,
    newcombe_interval,
    normal_sf,
    proportion,
    z_upper,
)
from workbench.text_features import SURFACE_FEATURES, marked_ngrams, surface_features, tokens

Z_SIMULTANEOUS = z_upper(0.05 / 4)  # two intervals, two-sided: 97.5% each
# --- statistics ----------------------------------------------------------------------------------


@dataclass
class CVAUC:
    """A cross-validated AUC with its conservative interval `lo`..`hi` (see `_cv_auc`), its standard
    error and the number of held-out folds. Direction: higher means the features separate the
    classes better; 0.5 is no better than chance."""

    auc: float
    lo: float
    hi: float
    se: float
    folds: int


@dataclass
class FeatureSetTest(CVAUC):
    """`CVAUC` of one feature set (surface features or n-grams) in `origin_test`: `tell` is True when
    the interval lies above 0.5, `features` the most telling features (dicts: feature, same_as, auc,
    direction, and the feature's mean or share in each group). Higher AUC is worse."""

    tell: bool = False
    features: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ShortcutAUC(CVAUC):
    """`CVAUC` of predicting the label from surface features on `n` rows (`label_shortcut_test`).
    Higher is worse on synthetic rows, unless the real rows show the same."""

    n: int = 0


def _folds(y: np.ndarray, folds: int) -> int:
    smallest = int(np.bincount(y).min()) if len(y) else 0
    return max(2, min(folds, smallest))


def _cv_auc(X: Any, y: np.ndarray, folds: int, repeats: int, seed: int, z: float, *, scale: bool) -> CVAUC:
    """Cross-validated AUC of a logistic regression with a conservative interval.

    Repeated stratified K-fold: each held-out fold gives an AUC (binary: DeLong; K > 2 classes:
    macro one-vs-rest) and its DeLong variance. The estimate is their mean; the interval uses the
    mean of their variances, an upper bound on the variance of the mean of correlated estimates,
    so it never claims more certainty than a single held-out fold gives. A held-out AUC is an
    exact Mann-Whitney statistic under the null (the model never saw the test labels).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import RepeatedStratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    k = int(y.max()) + 1
    aucs, variances = [], []
    cv = RepeatedStratifiedKFold(n_splits=_folds(y, folds), n_repeats=repeats, random_state=seed)
    for train, test in cv.split(np.zeros(len(y)), y):
        model = LogisticRegression(C=1.0, max_iter=2000)
        if scale:
            model = make_pipeline(StandardScaler(), model)
        model.fit(X[train], y[train])
        probs = np.zeros((len(test), k))
        probs[:, model.classes_] = model.predict_proba(X[test])
        classes = range(k) if k > 2 else (1,)
        per_class = [delong_auc(y[test] == c, probs[:, c]) for c in classes if 0 < (y[test] == c).sum() < len(test)]
        aucs.append(float(np.mean([a for a, _ in per_class])))
        variances.append(float(np.mean([v for _, v in per_class])))
    auc = float(np.mean(aucs))
    var = float(np.mean(variances))
    lo, hi = auc_interval(auc, var, z)
    return CVAUC(auc, lo, hi, math.sqrt(max(var, 0.0)), len(aucs))


def _merge_identical(order: list[int], columns: Any, names: list[str], limit: int) -> list[tuple[int, list[str]]]:
    """Walk `order`; columns that order the rows the same way as an earlier one (or exactly in
    reverse) join its entry. Returns up to `limit` (column, [names of identical columns])."""
    groups: list[tuple[int, list[str]]] = []
    keys: dict[bytes, int] = {}
    for j in order:
        col = columns(j)
        r = stats.rankdata(col)
        key, rev = r.tobytes(), stats.rankdata(-col).tobytes()
        hit = keys.get(key, keys.get(rev))
        if hit is not None:
            groups[hit][1].append(names[j])
            continue
        if len(groups) >= limit:
            continue
        keys[key] = len(groups)
        groups.append((j, []))
    return groups


def _rank_surface(F: np.ndarray, y: np.ndarray, top_k: int, positive: str, negative: str) -> list[dict[str, Any]]:
    aucs = column_aucs(F, y)
    strength = np.abs(aucs - 0.5)
    order = [int(j) for j in np.argsort(-strength, kind="stable") if F[:, j].std() > 0]
    groups = _merge_identical(order, lambda j: F[:, j], list(SURFACE_FEATURES), top_k)
    out = []
    for j, same in groups:
        out.append(
            {
                "feature": SURFACE_FEATURES[j],
                "same_as": same,
                "auc": float(aucs[j]),
                "direction": f"higher in {positive}" if aucs[j] > 0.5 else f"higher in {negative}",
                f"mean_{positive}": float(F[y, j].mean()),
                f"mean_{negative}": float(F[~y, j].mean()),
                "_column": j,
            }
        )
    return out


def _rank_ngrams(X: sparse.csr_matrix, vocab: list[str], y: np.ndarray, top_k: int, positive: str, negative: str):
    p1 = np.asarray(X[y].mean(0)).ravel()
    p0 = np.asarray(X[~y].mean(0)).ravel()
    diff = p1 - p0
    candidates = [int(j) for j in np.lexsort((np.arange(len(diff)), -np.abs(diff)))[: max(50, 10 * top_k)]]
    Xc = X.tocsc()
    groups = _merge_identical(candidates, lambda j: Xc[:, j].toarray().ravel(), vocab, top_k)
    return [
        {
            "feature": vocab[j],
            "same_as": same,
            "auc": float(0.5 + diff[j] / 2),
            "direction": f"more in {positive}" if diff[j] > 0 else f"more in {negative}",
            f"share_{positive}": float(p1[j]),
            f"share_{negative}": float(p0[j]),
            "_column": j,
        }
        for j, same in groups
    ]


def _examples(
    df: pl.DataFrame, features: list[dict[str, Any]], column: Any, mask: np.ndarray, per_feature: int = 2
) -> pl.DataFrame:
    """Rows that show each feature: rows in `mask` with the most extreme value in its telling direction."""
    picks: list[tuple[int, str, float]] = []
    for f in features:
        values = column(f["_column"])
        sign = 1.0 if f["auc"] >= 0.5 else -1.0
        idx = np.flatnonzero(mask)
        if not len(idx):
            continue
        order = idx[np.argsort(-sign * values[idx], kind="stable")][:per_feature]
        picks += [(int(i), f["feature"], float(values[i])) for i in order]
    keep = [c for c in ("id", "text", "origin", "label") if c in df.columns]
    if not picks:
        return pl.DataFrame(schema={"id": pl.String, "text": pl.String, "feature": pl.String, "value": pl.Float64})
    rows = df.select(keep)[[p[0] for p in picks]]
    return rows.with_columns(
        feature=pl.Series([p[1] for p in picks], dtype=pl.String),
        value=pl.Series([p[2] for p in picks], dtype=pl.Float64),
    )


def _public(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in f.items() if not k.startswith("_")} for f in features]


def _sample_per_group(df: pl.DataFrame, column: str, cap: int, seed: int) -> pl.DataFrame:
    parts = []
    for value in sorted(df[column].drop_nulls().unique().to_list()):
        part = df.filter(pl.col(column) == value)
        parts.append(part.sample(cap, seed=seed) if part.height > cap else part)
    return pl.concat(parts) if parts else df.clear()


# --- the tests as functions ----------------------------------------------------------------------


@dataclass
class OriginTest:
    """What `origin_test` found: can a classifier tell synthetic rows from real ones?

    `surface` and `ngrams`: the cross-validated AUC of each feature set with its simultaneous 95%
    interval and most telling features; `tells`: the features of the sets whose interval lies above
    0.5; `examples`: rows that show them. Direction: a higher AUC is worse (0.5 = indistinguishable).
    """

    n_real: int
    n_synthetic: int
    surface: FeatureSetTest
    ngrams: FeatureSetTest
    tells: list[str]
    examples: pl.DataFrame


def origin_test(
    df: pl.DataFrame,
    *,
    seed: int = 0,
    folds: int = 2,
    repeats: int = 5,
    top_k: int = 5,
    ngram_max: int = 2,
    min_df: int = 2,
    max_rows_per_origin: int = 2000,
) -> OriginTest:
    """Real vs synthetic: cross-validated AUC (with simultaneous 95% intervals) from surface features
    and from n-grams, the `top_k` most telling features of each, and example rows (see `OriginTest`).
    """
    from sklearn.feature_extraction.text import CountVectorizer

    data = _sample_per_group(
        df.filter(pl.col("origin").is_in(["real", "synthetic"])), "origin", max_rows_per_origin, seed
    )
    y = (data["origin"] == "synthetic").to_numpy()
    if y.sum() < 2 or (~y).sum() < 2:
        raise InputError("the origin test needs at least 2 real and 2 synthetic rows.")
    texts = data["text"].to_list()
    yi = y.astype(np.int64)
    F = surface_features(texts)
    cv = _cv_auc(F, yi, folds, repeats, seed, Z_SIMULTANEOUS, scale=True)
    surface = _rank_surface(F, y, top_k, "synthetic", "real")
    surface_test = FeatureSetTest(**asdict(cv), tell=cv.lo > 0.5, features=_public(surface))
    vec = CountVectorizer(analyzer=lambda t: marked_ngrams(t, ngram_max), binary=True, min_df=min(min_df, len(texts)))
    try:
        X = vec.fit_transform(texts).tocsr().astype(np.float64)
    except ValueError:  # no n-gram occurs min_df times
        X = None
    if X is not None and X.shape[1]:
        vocab = list(vec.get_feature_names_out())
        cv = _cv_auc(X, yi, folds, repeats, seed, Z_SIMULTANEOUS, scale=False)
        grams = _rank_ngrams(X, vocab, y, top_k, "synthetic", "real")
        ngram_test = FeatureSetTest(**asdict(cv), tell=cv.lo > 0.5, features=_public(grams))
    else:
        grams = []
        ngram_test = FeatureSetTest(math.nan, math.nan, math.nan, math.nan, 0)
    tells = []
    for test, feats in ((surface_test, surface), (ngram_test, grams)):
        if test.tell:
            tells += [f["feature"] for f in feats]
    examples = [_examples(data, surface, lambda j: F[:, j], y).with_columns(kind=pl.lit("surface"))]
    if grams and X is not None:
        Xc = X.tocsc()
        examples.append(
            _examples(data, grams, lambda j: Xc[:, j].toarray().ravel(), y).with_columns(kind=pl.lit("ngram"))
        )
    return OriginTest(
        n_real=int((~y).sum()),
        n_synthetic=int(y.sum()),
        surface=surface_test,
        ngrams=ngram_test,
        tells=tells,
        examples=pl.concat(examples, how="diagonal_relaxed"),
    )


def _labelled(df: pl.DataFrame, origin: str) -> pl.DataFrame:
    return df.filter((pl.col("origin") == origin) & pl.col("label").is_not_null())


@dataclass
class LabelShortcut:
    """What `label_shortcut_test` found: do surface features alone predict the label?

    `synthetic` and `real` (None without enough labelled real rows): the cross-validated AUC of
    predicting the label from surface features; `excess` = synthetic AUC - real AUC with its z
    (`excess_z`); `features`: the most telling features on synthetic rows; `examples`: rows showing
    them. Direction: a higher synthetic AUC is worse when the real rows do not show the same (a
    positive, significant `excess` is a shortcut the generator put there).
    """

    labels: list[Any]
    synthetic: ShortcutAUC
    real: ShortcutAUC | None
    excess: float | None
    excess_z: float | None
    features: list[dict[str, Any]]
    examples: pl.DataFrame


def label_shortcut_test(
    df: pl.DataFrame,
    *,
    seed: int = 0,
    folds: int = 2,
    repeats: int = 5,
    top_k: int = 5,
    min_rows_per_label: int = 10,
) -> LabelShortcut:
    """How well surface features alone predict the label: on synthetic rows, and on labelled real
    rows as the baseline of what the task itself allows (see `LabelShortcut`).
    """
    syn = _labelled(df, "synthetic")
    counts = syn.group_by("label").len()
    labels = sorted(counts.filter(pl.col("len") >= min_rows_per_label)["label"].to_list())
    if len(labels) < 2:
        raise InputError(
            f"the label-shortcut test needs two or more labels with at least {min_rows_per_label} synthetic rows each; "
            f"found {dict(counts.iter_rows())}."
        )
    index = {lab: i for i, lab in enumerate(labels)}

    def measure(part: pl.DataFrame) -> tuple[ShortcutAUC, np.ndarray, np.ndarray]:
        y = np.array([index[v] for v in part["label"].to_list()], dtype=np.int64)
        F = surface_features(part["text"].to_list())
        cv = _cv_auc(F, y, folds, repeats, seed, Z95, scale=True)
        return ShortcutAUC(**asdict(cv), n=part.height), F, y

    syn = syn.filter(pl.col("label").is_in(labels))
    synthetic, F, y = measure(syn)
    real_auc: ShortcutAUC | None = None
    excess: float | None = None
    excess_z: float | None = None
    real = _labelled(df, "real").filter(pl.col("label").is_in(labels))
    real_counts = real.group_by("label").len()
    if real_counts.height == len(labels) and int(real_counts["len"].to_numpy().min()) >= min_rows_per_label:
        real_auc, _, _ = measure(real)
        diff = synthetic.auc - real_auc.auc
        se = math.hypot(synthetic.se, real_auc.se)
        excess = diff
        excess_z = diff / se if se > 0 else (math.inf if diff > 0 else 0.0)
    # telling features: for two labels, label 1 vs label 0; for more, the label each feature separates best
    feats: list[dict[str, Any]] = []
    if len(labels) == 2:
        feats = _rank_surface(F, y == 1, top_k, str(labels[1]), str(labels[0]))
        mask = np.ones(len(y), dtype=bool)
    else:
        best: dict[str, dict[str, Any]] = {}
        for c, lab in enumerate(labels):
            for f in _rank_surface(F, y == c, len(SURFACE_FEATURES), str(lab), f"not {lab}"):
                if f["feature"] not in best or abs(f["auc"] - 0.5) > abs(best[f["feature"]]["auc"] - 0.5):
                    best[f["feature"]] = f
        feats = sorted(best.values(), key=lambda f: -abs(f["auc"] - 0.5))[:top_k]
        mask = np.ones(len(y), dtype=bool)
    return LabelShortcut(
        labels=labels,
        synthetic=synthetic,
        real=real_auc,
        excess=excess,
        excess_z=excess_z,
        features=_public(feats),
        examples=_examples(syn, feats, lambda j: F[:, j], mask),
    )


@dataclass
class TokenLabelStats:
    """What `token_label_stats` found: tokens whose label distribution is improbably skewed.

    `table`: the most skewed tokens first (token, same_as, label, n, p_hat, z, p_value, significant,
    real_n, real_p_hat, artifact); `threshold_z`: the Bonferroni-corrected critical z over `tested`
    (token, label) tests; `artifacts`: the skewed tokens the real rows do not share, found in
    `artifact_row_share` of the synthetic rows (`artifact_rows`); `has_real`: whether labelled real rows
    were there to tell task words from artifacts. Direction: a higher `artifact_row_share` is worse.
    """

    table: pl.DataFrame
    threshold_z: float
    tested: int
    labels: list[Any]
    has_real: bool
    n_significant: int
    artifacts: list[str]
    artifact_row_share: float
    artifact_rows: pl.DataFrame


def token_label_stats(
    df: pl.DataFrame,
    *,
    alpha: float = 0.01,
    min_count: int = 10,
    top_k: int = 20,
) -> TokenLabelStats:
    """Gardner et al. (2021) token-label statistic on synthetic rows, checked against real rows
    (see `TokenLabelStats`)."""
    syn = _labelled(df, "synthetic")
    labels = sorted(syn["label"].unique().to_list())
    if len(labels) < 2:
        raise InputError("the token-label statistic needs labelled synthetic rows with at least two labels.")
    k = len(labels)
    p0 = 1.0 / k

    def counts(part: pl.DataFrame) -> tuple[Counter[str], dict[str, Counter[str]], dict[str, list[int]]]:
        total: Counter[str] = Counter()
        by_label: dict[str, Counter[str]] = {lab: Counter() for lab in labels}
        rows: dict[str, list[int]] = {}
        for i, (text, lab) in enumerate(zip(part["text"].to_list(), part["label"].to_list())):
            for tok in set(tokens(text)):
                total[tok] += 1
                if lab in by_label:
                    by_label[lab][tok] += 1
                rows.setdefault(tok, []).append(i)
        return total, by_label, rows

    total, by_label, rows = counts(syn)
    vocab = sorted(t for t, n in total.items() if n >= min_count)
    tested = len(vocab) * k
    z_crit = z_upper(alpha / max(tested, 1))
    real = _labelled(df, "real").filter(pl.col("label").is_in(labels))
    has_real = real.height > 0
    r_total, r_by_label, _ = counts(real) if has_real else (Counter(), {lab: Counter() for lab in labels}, {})
    records: list[dict[str, Any]] = []
    seen: dict[tuple[int, ...], int] = {}
    for tok in vocab:
        n = total[tok]
        best = max(labels, key=lambda lab: (by_label[lab][tok], -labels.index(lab)))
        p_hat = by_label[best][tok] / n
        z = (p_hat - p0) / math.sqrt(p0 * (1 - p0) / n)
        key = tuple(rows[tok])
        if key in seen:  # the same rows exactly: one feature, shown once
            records[seen[key]]["same_as"].append(tok)
            continue
        seen[key] = len(records)
        rn = r_total.get(tok, 0)
        rp = r_by_label[best].get(tok, 0) / rn if rn else None
        records.append(
            {
                "token": tok,
                "same_as": [],
                "label": best,
                "n": n,
                "p_hat": p_hat,
                "z": z,
                "p_value": normal_sf(z),
                "significant": z > z_crit,
                "real_n": rn,
                "real_p_hat": rp,
            }
        )
    # an artifact: significantly skewed in synthetic data, and the real rows containing the token
    # lean toward that label significantly less (one-sided Fisher exact test, Bonferroni over the
    # skewed tokens). A token absent from the real rows gives no evidence either way.
    sig = [r for r in records if r["significant"]]
    for r in records:
        r["artifact"] = False
        if not r["significant"] or not has_real or not r["real_n"]:
            continue
        syn_hits = by_label[r["label"]][r["token"]]
        real_hits = r_by_label[r["label"]].get(r["token"], 0)
        table_2x2 = [[syn_hits, r["n"] - syn_hits], [real_hits, r["real_n"] - real_hits]]
        p = fisher_exact_p(table_2x2, alternative="greater")
        r["artifact"] = p < alpha / len(sig)
    schema: dict[str, Any] = {
        "token": pl.String,
        "same_as": pl.List(pl.String),
        "label": pl.String,
        "n": pl.Int64,
        "p_hat": pl.Float64,
        "z": pl.Float64,
        "p_value": pl.Float64,
        "significant": pl.Boolean,
        "real_n": pl.Int64,
        "real_p_hat": pl.Float64,
        "artifact": pl.Boolean,
    }
    table = pl.DataFrame(records, schema=schema) if records else pl.DataFrame(schema=schema)
    table = table.sort(["z", "n", "token"], descending=[True, True, False])
    artifacts = table.filter(pl.col("artifact"))
    flagged_rows: set[int] = set()
    for tok in artifacts["token"].to_list():
        flagged_rows.update(rows[tok])
    return TokenLabelStats(
        table=table.head(max(top_k, artifacts.height)),
        threshold_z=z_crit,
        tested=tested,
        labels=labels,
        has_real=has_real,
        n_significant=len(sig),
        artifacts=artifacts["token"].to_list(),
        artifact_row_share=len(flagged_rows) / syn.height if syn.height else 0.0,
        artifact_rows=syn[sorted(flagged_rows)] if flagged_rows else syn.clear(),
    )


def _accuracy(correct: np.ndarray) -> Estimate:
    return proportion(int(correct.sum()), len(correct))


@dataclass
class ParaphraseTest:
    """What `paraphrase_test` found: does a model trained on synthetic data keep its score?

    `accuracy`: {"synthetic", "synthetic_paraphrased", "real", "real_paraphrased"} -> an `Estimate`
    (value with its Wilson interval); `real_gap` = synthetic - real accuracy and `paraphrase_drop` =
    synthetic - paraphrased synthetic accuracy, each with Newcombe's interval; `examples`: real rows the
    model gets wrong most confidently and paraphrased synthetic rows whose prediction flipped.
    Direction: larger gaps are worse (0 = the score transfers).
    """

    labels: list[Any]
    n_synthetic: int
    n_real: int
    strength: float
    accuracy: dict[str, Estimate]
    real_gap: Estimate
    paraphrase_drop: Estimate
    examples: pl.DataFrame


def paraphrase_test(
    df: pl.DataFrame,
    *,
    seed: int = 0,
    folds: int = 5,
    strength: float = 0.5,
    max_rows_per_origin: int = 2000,
) -> ParaphraseTest:
    """Train on synthetic, score on synthetic (cross-validated), real, and paraphrased copies of both.

    The model: word 1-2-gram TF-IDF and logistic regression. Accuracies with Wilson intervals, the
    gaps with Newcombe intervals, and example rows (see `ParaphraseTest`).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline

    from workbench.perturb import paraphrase

    syn = _labelled(df, "synthetic")
    real = _labelled(df, "real")
    shared = sorted(set(syn["label"].unique().to_list()) & set(real["label"].unique().to_list()))
    syn = syn.filter(pl.col("label").is_in(shared))
    syn_counts = syn.group_by("label").len()
    if len(shared) < 2 or int(syn_counts["len"].to_numpy().min()) < 2:
        raise InputError(
            "the paraphrase test needs labelled real and synthetic rows sharing at least two labels "
            f"(synthetic labels: {sorted(_labelled(df, 'synthetic')['label'].unique().to_list())}, "
            f"real labels: {sorted(real['label'].unique().to_list())})."
        )
    real = _sample_per_group(real.filter(pl.col("label").is_in(shared)), "label", max_rows_per_origin, seed)
    syn = _sample_per_group(syn, "label", max_rows_per_origin, seed)
    index = {lab: i for i, lab in enumerate(shared)}
    y_syn = np.array([index[v] for v in syn["label"].to_list()])
    y_real = np.array([index[v] for v in real["label"].to_list()])
    syn_texts = syn["text"].to_list()
    syn_para = paraphrase(syn, strength, seed)["text"].to_list()
    real_para = paraphrase(real, strength, seed)["text"].to_list()

    def model() -> Any:
        return make_pipeline(
            TfidfVectorizer(token_pattern=r"(?u)\b\w+\b|[^\w\s]", ngram_range=(1, 2), sublinear_tf=True),
            LogisticRegression(C=10.0, max_iter=2000),
        )

    p_syn = np.zeros((len(y_syn), len(shared)))
    p_syn_para = np.zeros_like(p_syn)
    cv = StratifiedKFold(n_splits=_folds(y_syn, folds), shuffle=True, random_state=seed)
    for train, test in cv.split(np.zeros(len(y_syn)), y_syn):
        m = model().fit([syn_texts[i] for i in train], y_syn[train])
        cols = m.classes_
        p_syn[np.ix_(test, cols)] = m.predict_proba([syn_texts[i] for i in test])
        p_syn_para[np.ix_(test, cols)] = m.predict_proba([syn_para[i] for i in test])
    full = model().fit(syn_texts, y_syn)
    p_real = np.zeros((len(y_real), len(shared)))
    p_real_para = np.zeros_like(p_real)
    p_real[:, full.classes_] = full.predict_proba(real["text"].to_list())
    p_real_para[:, full.classes_] = full.predict_proba(real_para)
    acc = {
        "synthetic": _accuracy(p_syn.argmax(1) == y_syn),
        "synthetic_paraphrased": _accuracy(p_syn_para.argmax(1) == y_syn),
        "real": _accuracy(p_real.argmax(1) == y_real),
        "real_paraphrased": _accuracy(p_real_para.argmax(1) == y_real),
    }
    wrong = np.flatnonzero(p_real.argmax(1) != y_real)
    wrong = wrong[np.argsort(-p_real[wrong].max(1), kind="stable")][:10]
    flipped = np.flatnonzero(p_syn.argmax(1) != p_syn_para.argmax(1))[:10]
    keep = [c for c in ("id", "text", "origin", "label") if c in df.columns]
    ex_real = real.select(keep)[wrong.tolist()].with_columns(
        prediction=pl.Series([shared[i] for i in p_real[wrong].argmax(1)], dtype=pl.String),
        confidence=pl.Series(p_real[wrong].max(1), dtype=pl.Float64),
        why=pl.lit("real row the synthetic-trained model gets wrong"),
    )
    ex_para = syn.select(keep)[flipped.tolist()].with_columns(
        paraphrased=pl.Series([syn_para[i] for i in flipped], dtype=pl.String),
        prediction=pl.Series([shared[i] for i in p_syn_para[flipped].argmax(1)], dtype=pl.String),
        confidence=pl.Series(p_syn_para[flipped].max(1), dtype=pl.Float64),
        why=pl.lit("synthetic row whose prediction flipped when paraphrased"),
    )
    return ParaphraseTest(
        labels=shared,
        n_synthetic=len(y_syn),
        n_real=len(y_real),
        strength=strength,
        accuracy=acc,
        real_gap=newcombe_interval(acc["synthetic"], acc["real"]),
        paraphrase_drop=newcombe_interval(acc["synthetic"], acc["synthetic_paraphrased"]),
        examples=pl.concat([ex_real, ex_para], how="diagonal_relaxed"),
    )


# --- the registered checks -----------------------------------------------------------------------


def _fmt_features(features: list[dict[str, Any]], n: int = 5) -> str:
    out = []
    for f in features[:n]:
        same = f" (= {', '.join(f['same_as'][:2])})" if f["same_as"] else ""
        out.append(f"'{f['feature']}'{same} [{f['direction']}]")
    return "; ".join(out)


@dataclass
class OriginTellsCheck(Check):
    """Can a simple classifier tell synthetic rows from real ones? If so, it names how.

    Status: `pass` when both simultaneous 95% intervals of the cross-validated AUC include 0.5 (no
    detectable tell); `warn` when one lies above 0.5; `fail` when, in addition, the AUC reaches
    `fail_auc` (0.8: "excellent discrimination" in Hosmer & Lemeshow's convention).
    """

    name = "origin_tells"
    failure_mode = "artifact_learning"
    description = "real vs synthetic classifier on surface features and n-grams; names the tells"
    requires_origins = ("real", "synthetic")
    min_rows = 40
    min_rows_per_origin = 20
    fail_auc: float = param(0.8, ge=0.5, le=1)
    folds: int = param(2, ge=2, le=20)
    repeats: int = param(5, ge=1, le=100)
    top_k: int = param(5, ge=1, le=1000)
    max_rows_per_origin: int = param(2000, ge=20, le=1_000_000)

    def run(self, ctx: Context) -> CheckResult:
        r = origin_test(
            ctx.df,
            seed=ctx.seed,
            folds=self.folds,
            repeats=self.repeats,
            top_k=self.top_k,
            max_rows_per_origin=self.max_rows_per_origin,
        )
        s, g = r.surface, r.ngrams
        best = max([x for x in (s, g) if not math.isnan(x.auc)], key=lambda x: x.auc)
        detected = s.tell or g.tell
        status = "pass" if not detected else ("fail" if best.auc >= self.fail_auc else "warn")
        head = (
            f"A cross-validated classifier tells synthetic from real rows with AUC {s.auc:.2f} "
            f"[{s.lo:.2f}, {s.hi:.2f}] from surface features and {g.auc:.2f} [{g.lo:.2f}, {g.hi:.2f}] "
            f"from n-grams ({r.n_synthetic} synthetic, {r.n_real} real rows)."
        )
        if detected:
            parts = []
            if s.tell:
                parts.append("surface tells: " + _fmt_features(s.features))
            if g.tell:
                parts.append("n-gram tells: " + _fmt_features(g.features))
            summary = (
                head + " " + ". ".join(parts) + ". A model trained on this mix can learn these instead of the task: "
                "vary the generator's templates, openings and length, or mix generators."
            )
        else:
            summary = head + " Both intervals include 0.5: no detectable tell."
        details = {k: v for k, v in asdict(r).items() if k != "examples"}
        return self.result(
            status,
            summary,
            score=best.auc,
            score_meaning="cross-validated AUC of a real-vs-synthetic classifier (0.5 = indistinguishable; higher is worse)",
            threshold=self.fail_auc,
            evidence=r.examples if detected else r.examples.clear(),
            details=details,
        )


@dataclass
class LabelShortcutCheck(Check):
    """Do surface features alone (length, punctuation, casing, formatting) predict the label?

    Compares the cross-validated AUC on synthetic rows with the same on labelled real rows: a
    shortcut is a surface signal the synthetic data has and the real task does not. `warn` when the
    synthetic AUC's 95% interval lies above 0.5 and (with real labels) it is significantly higher
    than the real AUC (z > 1.96); `fail` when it also reaches `fail_auc` (0.8).
    """

    name = "label_shortcut"
    failure_mode = "artifact_learning"
    description = "surface features alone predict the label on synthetic data (but not on real data)"
    requires_columns = ("label",)
    requires_origins = ("synthetic",)
    min_rows = 20
    min_rows_per_origin = 20
    fail_auc: float = param(0.8, ge=0.5, le=1)
    folds: int = param(2, ge=2, le=20)
    repeats: int = param(5, ge=1, le=100)
    top_k: int = param(5, ge=1, le=1000)

    def run(self, ctx: Context) -> CheckResult:
        r = label_shortcut_test(ctx.df, seed=ctx.seed, folds=self.folds, repeats=self.repeats, top_k=self.top_k)
        s, real = r.synthetic, r.real
        above = s.lo > 0.5
        beyond_real = real is None or (r.excess_z is not None and r.excess_z > Z95)
        detected = above and beyond_real
        status = "pass" if not detected else ("fail" if s.auc >= self.fail_auc else "warn")
        text = f"Surface features alone predict the synthetic labels with AUC {s.auc:.2f} [{s.lo:.2f}, {s.hi:.2f}]"
        if real is not None:
            text += f"; on real rows the same features reach {real.auc:.2f} [{real.lo:.2f}, {real.hi:.2f}]"
        else:
            text += " (no labelled real rows to compare with)"
        if detected:
            text += (
                ". Label shortcuts: " + _fmt_features(r.features) + ". A model can score well on this data "
                "without learning the task: randomise these surface choices per label."
            )
        elif above:
            text += ". The real data shows the same surface signal, so it belongs to the task, not the generator."
        else:
            text += ". No surface shortcut to the label."
        details = {k: v for k, v in asdict(r).items() if k != "examples"}
        return self.result(
            status,
            text,
            score=s.auc,
            score_meaning="cross-validated AUC of predicting the label from surface features on synthetic rows (higher is worse)",
            threshold=self.fail_auc,
            evidence=r.examples if detected else r.examples.clear(),
            details=details,
        )


@dataclass
class TokenLabelSkewCheck(Check):
    """Gardner et al. (2021): tokens whose label distribution is improbably skewed.

    Significant at `alpha` (0.01, Bonferroni over every token and label). Skewed tokens that real
    labelled data contradicts are artifacts: `warn` if any exist, `fail` if they occur in at least
    `fail_share` (25%) of the synthetic rows. Without labelled real rows the skewed tokens are
    listed, and status is `warn` when any exist (task signal and artifact cannot be told apart).
    """

    name = "token_label_skew"
    failure_mode = "artifact_learning"
    description = "tokens whose label distribution is improbably skewed (Gardner et al. 2021)"
    requires_columns = ("label",)
    requires_origins = ("synthetic",)
    min_rows = 20
    min_rows_per_origin = 20
    alpha: float = param(0.01, ge=1e-10, lt=1)
    min_count: int = param(10, ge=1, le=1_000_000)
    fail_share: float = param(0.25, ge=0, le=1)

    def run(self, ctx: Context) -> CheckResult:
        r = token_label_stats(ctx.df, alpha=self.alpha, min_count=self.min_count)
        table = r.table
        keep = [c for c in ("id", "text", "origin", "label") if c in ctx.df.columns]
        if r.has_real:
            flagged = r.artifacts
            share = r.artifact_row_share
            status = "pass" if not flagged else ("fail" if share >= self.fail_share else "warn")
            shown = table.filter(pl.col("artifact")).head(8)
            listing = ", ".join(
                f"'{t}' -> {lab} ({p:.0%} of {n} synthetic rows; {rp:.0%} in real)"
                for t, lab, p, n, rp in shown.select("token", "label", "p_hat", "n", "real_p_hat").iter_rows()
            )
            summary = (
                f"{r.n_significant} token(s) have an improbably skewed label distribution in the synthetic rows "
                f"(z > {r.threshold_z:.2f}, Bonferroni over {r.tested} tests); "
                + (
                    f"{len(flagged)} of them are artifacts the real data does not share, found in {share:.0%} of "
                    f"synthetic rows: {listing}."
                    if flagged
                    else "the real data shows the same skews, so they carry the task, not the generator."
                )
            )
            evidence = r.artifact_rows.select(keep).head(50)
            score = share
            meaning = "share of synthetic rows containing an artifact token (higher is worse)"
        else:
            sig = table.filter(pl.col("significant"))
            status = "warn" if sig.height else "pass"
            score = float(sig.height)
            meaning = "number of tokens with a significantly skewed label distribution"
            summary = (
                f"{sig.height} token(s) have an improbably skewed label distribution (z > {r.threshold_z:.2f}): "
                + ", ".join(f"'{t}' -> {lab}" for t, lab in sig.select("token", "label").head(8).iter_rows())
                + ". Add labelled real rows to tell task words from generator artifacts."
                if sig.height
                else "No token has an improbably skewed label distribution."
            )
            evidence = ctx.df.clear().select(keep)
        details = {k: v for k, v in asdict(r).items() if k not in ("table", "artifact_rows")}
        details["table"] = table.with_columns(pl.col("same_as").list.join(", ")).to_dicts()
        return self.result(
            status,
            summary,
            score=score,
            score_meaning=meaning,
            threshold=self.fail_share if r.has_real else None,
            evidence=evidence,
            details=details,
        )


@dataclass
class ScoreVanishesCheck(Check):
    """A model trained on synthetic data: does its score survive real data and paraphrase?

    `warn` when the synthetic-minus-real accuracy gap or the drop under paraphrase has a 95%
    interval above 0; `fail` when one of them is also at least `fail_gap` (0.10, ten points).
    """

    name = "score_vanishes"
    failure_mode = "artifact_learning"
    description = "synthetic-trained model: accuracy on synthetic vs real vs paraphrased text"
    requires_columns = ("label",)
    requires_origins = ("real", "synthetic")
    min_rows = 40
    min_rows_per_origin = 20
    fail_gap: float = param(0.10, ge=0, le=1)
    strength: float = param(0.5, ge=0, le=1)
    folds: int = param(5, ge=2, le=20)

    def run(self, ctx: Context) -> CheckResult:
        r = paraphrase_test(ctx.df, seed=ctx.seed, folds=self.folds, strength=self.strength)
        a, gap, drop = r.accuracy, r.real_gap, r.paraphrase_drop
        significant = [g for g in (gap, drop) if g.lo > 0]
        status = "pass"
        if significant:
            status = "fail" if any(g.value >= self.fail_gap for g in significant) else "warn"
        summary = (
            f"Trained on {r.n_synthetic} synthetic rows, the model scores {a['synthetic'].value:.0%} on held-out "
            f"synthetic rows, {a['synthetic_paraphrased'].value:.0%} on paraphrased ones, "
            f"{a['real'].value:.0%} on {r.n_real} real rows and {a['real_paraphrased'].value:.0%} on paraphrased "
            f"real rows. Gap to real: {gap.value:+.2f} [{gap.lo:+.2f}, {gap.hi:+.2f}]; drop under paraphrase: "
            f"{drop.value:+.2f} [{drop.lo:+.2f}, {drop.hi:+.2f}]."
        )
        summary += (
            " The score does not transfer: the model learned the generator, not the task."
            if status != "pass"
            else " The score holds up."
        )
        return self.result(
            status,
            summary,
            score=max(gap.value, drop.value),
            score_meaning="accuracy lost from held-out synthetic to real or paraphrased synthetic text (higher is worse)",
            threshold=self.fail_gap,
            evidence=r.examples if status != "pass" else r.examples.clear(),
            details={k: v for k, v in asdict(r).items() if k != "examples"},
        )


register(OriginTellsCheck())
register(LabelShortcutCheck())
register(TokenLabelSkewCheck())
register(ScoreVanishesCheck())
