"""Label bias: automatic labels are a hypothesis about the label, not the label.

Statistics for trusting (or not) synthetic labels:

- Agreement: `cohen_kappa(a, b)` (Cohen 1960; equals scikit-learn's `cohen_kappa_score`),
  `fleiss_kappa(counts)` (Fleiss 1971; subjects x categories counts), `krippendorff_alpha(matrix,
  level)` (Krippendorff 2011, "Computing Krippendorff's alpha-reliability": coincidence matrices,
  nominal / ordinal / interval metrics, NaN = missing), with percentile bootstrap intervals over
  resampled units (`workbench.stats.bootstrap_interval`).
- Accuracy against trusted labels (human verdicts or `reference_label`): `label_accuracy`, per
  labeler and per label, with Wilson score intervals.
- `suspect_labels(df, embeddings=...)`: out-of-fold predicted probabilities of a logistic
  regression on embeddings, ranked in the manner of confident learning (Northcutt et al. 2021).
- `label_bias_test(df)`: does a labeler's disagreement with the reference (or another labeler)
  follow surface features: length, punctuation, exclamation marks, casing, specific tokens? Each
  feature's effect is an AUC (the probability that a disagreeing row has the higher feature value
  than an agreeing one) with a DeLong interval; p-values are Holm-corrected over every feature and
  token tested. The registered `label_bias` check uses it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl

from workbench.checks import register
from workbench.checks.base import Check, CheckResult, Context, param
from workbench.errors import InputError, SchemaError
from workbench.stats import (
    Z95,
    auc_interval,
    bootstrap_interval,
    delong_auc,
    fisher_exact_p,
    holm,
    mann_whitney_p,
    wilson_interval,
)
from workbench.text_features import SURFACE_FEATURES, surface_features, tokens

LEVELS = ("nominal", "ordinal", "interval")
# Rice & Harris (2005): AUC equivalents of Cohen's d = 0.2 / 0.5 / 0.8 (small / medium / large)
AUC_SMALL, AUC_MEDIUM, AUC_LARGE = 0.556, 0.639, 0.714


# --- agreement ---------------------------------------------------------------------------------


def _pair(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    a_arr, b_arr = np.asarray(list(a), dtype=object), np.asarray(list(b), dtype=object)
    if a_arr.shape != b_arr.shape or a_arr.ndim != 1:
        raise InputError(
            f"cohen_kappa needs two label sequences of the same length; got {len(a_arr)} and {len(b_arr)}."
        )
    if len(a_arr) == 0:
        raise InputError("cohen_kappa needs at least one pair of labels; both sequences are empty.")
    if any(v is None for v in a_arr) or any(v is None for v in b_arr):
        raise InputError("cohen_kappa got missing labels (None); drop the rows where either rater has no label.")
    return a_arr, b_arr


def cohen_kappa(a: Sequence[Any] | np.ndarray, b: Sequence[Any] | np.ndarray, *, weights: str | None = None) -> float:
    """Cohen's kappa between two raters' labels of the same items: (p_o - p_e) / (1 - p_e).

    1 = perfect agreement, 0 = what chance gives with these label frequencies, < 0 = worse than
    chance. `weights` None, "linear" or "quadratic" (weighted kappa; labels ordered by sorting), as
    in scikit-learn's `cohen_kappa_score`. NaN when both raters use one and the same label only.
    """
    a_arr, b_arr = _pair(a, b)
    cats = sorted(set(a_arr.tolist()) | set(b_arr.tolist()), key=lambda v: (str(type(v)), v))
    index = {c: i for i, c in enumerate(cats)}
    k = len(cats)
    conf = np.zeros((k, k))
    np.add.at(conf, ([index[v] for v in a_arr], [index[v] for v in b_arr]), 1)
    expected = np.outer(conf.sum(1), conf.sum(0)) / conf.sum()
    if weights is None:
        w = 1.0 - np.eye(k)
    elif weights in ("linear", "quadratic"):
        d = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(float)
        w = d if weights == "linear" else d**2
    else:
        raise InputError(f"weights must be None, 'linear' or 'quadratic'; got {weights!r}.")
    denom = float((w * expected).sum())
    if denom == 0:
        return math.nan
    return float(1.0 - (w * conf).sum() / denom)


def fleiss_kappa(counts: Any) -> float:
    """Fleiss' kappa for many raters: `counts[i, j]` = raters who put subject i in category j.

    Every subject must be rated by the same number of raters (at least two). NaN when every rating
    falls in one category (chance agreement is then perfect).
    """
    x = np.asarray(counts, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise InputError(f"fleiss_kappa needs a 2-D subjects x categories count table; got shape {x.shape}.")
    if (x < 0).any() or not np.allclose(x, np.round(x)):
        raise InputError("fleiss_kappa needs non-negative whole counts.")
    n = x.sum(1)
    if not np.allclose(n, n[0]) or n[0] < 2:
        raise InputError(
            f"fleiss_kappa needs the same number (>= 2) of raters per subject; row totals range {n.min():g}-{n.max():g}. "
            "For missing ratings use krippendorff_alpha."
        )
    r = n[0]
    p_i = ((x**2).sum(1) - r) / (r * (r - 1))
    p_j = x.sum(0) / x.sum()
    p_e = float((p_j**2).sum())
    if p_e == 1.0:
        return math.nan
    return float((p_i.mean() - p_e) / (1 - p_e))


def _values_matrix(matrix: Any, level: str) -> np.ndarray:
    if level not in LEVELS:
        raise InputError(f"level must be one of {LEVELS}; got {level!r}.")
    arr = np.asarray(matrix, dtype=object)
    if arr.ndim != 2:
        raise InputError(f"krippendorff_alpha needs a 2-D coders x units matrix; got shape {arr.shape}.")
    try:
        return np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError):
        if level != "nominal":
            raise InputError(f"{level} alpha needs numeric values; use level='nominal' for category names.") from None
    # category names: code them (None or NaN = missing)
    flat = [v for v in arr.ravel() if v is not None and not (isinstance(v, float) and math.isnan(v))]
    codes = {c: float(i) for i, c in enumerate(sorted(set(flat), key=str))}
    out = np.full(arr.shape, np.nan)
    for idx, v in np.ndenumerate(arr):
        if v is not None and not (isinstance(v, float) and math.isnan(v)):
            out[idx] = codes[v]
    return out


def krippendorff_alpha(matrix: Any, level: str = "nominal") -> float:
    """Krippendorff's alpha: 1 - observed / expected disagreement, from the coincidence matrix.

    `matrix`: coders x units (rows are coders), NaN (or None) = missing. Units with fewer than two
    values are not pairable and are dropped. `level`: "nominal" (any difference counts 1),
    "ordinal" (distance over the ranks of the values actually used) or "interval" (squared
    difference). 1 = perfect reliability, 0 = chance. NaN when fewer than two values are pairable
    or every pairable value is the same.
    """
    x = _values_matrix(matrix, level)
    values = np.unique(x[~np.isnan(x)])
    if len(values) == 0:
        return math.nan
    index = {v: i for i, v in enumerate(values)}
    k = len(values)
    coincidence = np.zeros((k, k))
    for u in range(x.shape[1]):
        col = x[:, u]
        col = col[~np.isnan(col)]
        m = len(col)
        if m < 2:
            continue
        counts = np.zeros(k)
        for v in col:
            counts[index[v]] += 1
        coincidence += (np.outer(counts, counts) - np.diag(counts)) / (m - 1)
    n_c = coincidence.sum(1)
    n = n_c.sum()
    if n < 2:
        return math.nan
    if level == "nominal":
        delta = 1.0 - np.eye(k)
    elif level == "interval":
        delta = np.subtract.outer(values, values) ** 2
    else:
        cum = np.cumsum(n_c)
        # sum of n_g for g from c to k, minus half the ends: cum[k] - cum[c-1] - (n_c + n_k) / 2
        lo = np.minimum.outer(np.arange(k), np.arange(k))
        hi = np.maximum.outer(np.arange(k), np.arange(k))
        between = cum[hi] - np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
        delta = (between - (n_c[lo] + n_c[hi]) / 2) ** 2
    d_o = float((coincidence * delta).sum()) / n
    d_e = float((np.outer(n_c, n_c) * delta).sum()) / (n * (n - 1))
    if d_e == 0:
        return math.nan
    return float(1.0 - d_o / d_e)


@dataclass
class Agreement:
    """Agreement between raters with 95% percentile bootstrap intervals (units resampled).

    `alpha` (`alpha_lo`, `alpha_hi`): Krippendorff's alpha; `cohen_kappa` (`_lo`, `_hi`): Cohen's
    kappa, for two raters only (None for a matrix); `n`: the units. Direction: higher is better
    (1 = perfect agreement, 0 = what chance gives, below 0 = worse than chance).
    """

    alpha: float
    alpha_lo: float
    alpha_hi: float
    n: int
    cohen_kappa: float | None = None
    cohen_kappa_lo: float | None = None
    cohen_kappa_hi: float | None = None


def agreement(
    a: Sequence[Any] | None = None,
    b: Sequence[Any] | None = None,
    *,
    matrix: Any = None,
    level: str = "nominal",
    n_boot: int = 1000,
    seed: int = 0,
) -> Agreement:
    """Agreement with 95% bootstrap intervals (units resampled), see `Agreement`.

    Two raters (`a`, `b`): Cohen's kappa and nominal alpha. A coders x units `matrix` (NaN
    missing): Krippendorff's alpha at `level`.
    """
    kappa: tuple[float | None, float | None, float | None] = (None, None, None)
    if matrix is None:
        if a is None or b is None:
            raise InputError("agreement() needs two label sequences (a, b) or a coders x units matrix=.")
        a_arr, b_arr = _pair(a, b)
        lo, hi = bootstrap_interval(lambda i: cohen_kappa(a_arr[i], b_arr[i]), len(a_arr), n_boot=n_boot, seed=seed)
        kappa = (cohen_kappa(a_arr, b_arr), lo, hi)
        matrix = np.array([a_arr, b_arr], dtype=object)
        level = "nominal"
    x = _values_matrix(matrix, level)
    alpha_lo, alpha_hi = bootstrap_interval(
        lambda i: krippendorff_alpha(x[:, i], level), x.shape[1], n_boot=n_boot, seed=seed
    )
    return Agreement(krippendorff_alpha(x, level), alpha_lo, alpha_hi, int(x.shape[1]), *kappa)


# --- accuracy against trusted labels -------------------------------------------------------------


def label_accuracy(
    df: pl.DataFrame,
    *,
    label: str = "label",
    reference: str = "reference_label",
    by: str | Sequence[str] | None = "label_source",
    per_label: bool = False,
) -> pl.DataFrame:
    """Accuracy of `label` against `reference` (rows where both are known), with Wilson 95% intervals.

    One row per group of `by` (e.g. `label_source` = the labeler; None = all rows together); with
    `per_label=True` also per reference label (each label's recall: how often the labeler gets
    rows of that true label right). Columns: the group columns, `n`, `correct`, `accuracy`, `lo`, `hi`.
    """
    for c in (label, reference):
        if c not in df.columns:
            raise SchemaError(f"label_accuracy needs column {c!r}; found {df.columns}.")
    groups = [] if by is None else ([by] if isinstance(by, str) else list(by))
    missing = [g for g in groups if g not in df.columns]
    if missing:
        raise SchemaError(f"label_accuracy: group column(s) {missing} not in the data; found {df.columns}.")
    if per_label:
        groups.append(reference)
    known = df.filter(pl.col(label).is_not_null() & pl.col(reference).is_not_null())
    known = known.with_columns(_correct=(pl.col(label).cast(pl.String) == pl.col(reference).cast(pl.String)))
    if groups:
        table = known.group_by(groups).agg(n=pl.len(), correct=pl.col("_correct").sum()).sort(groups, nulls_last=True)
    else:
        table = known.select(n=pl.len(), correct=pl.col("_correct").sum())
    intervals = [wilson_interval(int(k), int(n)) for k, n in zip(table["correct"], table["n"])]
    return table.with_columns(
        n=pl.col("n").cast(pl.Int64),
        correct=pl.col("correct").cast(pl.Int64),
        accuracy=pl.col("correct") / pl.col("n"),
        lo=pl.Series([i[0] for i in intervals], dtype=pl.Float64),
        hi=pl.Series([i[1] for i in intervals], dtype=pl.Float64),
    )


# --- suspect labels (confident learning) ---------------------------------------------------------


def out_of_fold_probabilities(
    embeddings: np.ndarray, y: np.ndarray, *, folds: int = 5, seed: int = 0, C: float = 1.0
) -> np.ndarray:
    """(n, k) out-of-fold class probabilities of a logistic regression on `embeddings` (stratified K-fold)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    k = int(y.max()) + 1
    smallest = int(np.bincount(y, minlength=k).min())
    n_splits = max(2, min(folds, smallest))
    probs = np.zeros((len(y), k))
    for train, test in StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(embeddings, y):
        model = LogisticRegression(C=C, max_iter=2000)
        model.fit(embeddings[train], y[train])
        probs[np.ix_(test, model.classes_)] = model.predict_proba(embeddings[test])
    return probs


@dataclass
class ConfidentLearning:
    """The confident-learning estimate of `confident_learning`: per-class `thresholds`, the k x k
    `confident_joint` counts (given label x confident label), `is_issue` per row (off the diagonal),
    `self_confidence` (the probability of the given label: lower is more suspect) and `suggested`
    (the confident class index per row)."""

    thresholds: np.ndarray
    confident_joint: np.ndarray
    is_issue: np.ndarray
    self_confidence: np.ndarray
    suggested: np.ndarray


def confident_learning(probs: np.ndarray, y: np.ndarray) -> ConfidentLearning:
    """Confident learning (Northcutt, Jiang & Chuang 2021) from out-of-fold probabilities.

    Per-class threshold t_j = mean predicted probability of class j over rows labelled j. A row
    labelled i is counted in the confident joint at (i, j), j the most probable class among those
    whose probability reaches its threshold; off-diagonal rows are label issues. `suggested` is the
    confident class, or the argmax when none reaches its threshold (see `ConfidentLearning`).
    """
    k = probs.shape[1]
    thresholds = np.array([probs[y == j, j].mean() if (y == j).any() else 1.0 for j in range(k)])
    above = probs >= thresholds - 1e-12
    masked = np.where(above, probs, -np.inf)
    confident = masked.argmax(1)
    has = above.any(1)
    suggested = np.where(has, confident, probs.argmax(1))
    joint = np.zeros((k, k), dtype=np.int64)
    np.add.at(joint, (y[has], confident[has]), 1)
    is_issue = has & (confident != y)
    return ConfidentLearning(
        thresholds=thresholds,
        confident_joint=joint,
        is_issue=is_issue,
        self_confidence=probs[np.arange(len(y)), y],
        suggested=suggested,
    )


def suspect_labels(
    df: pl.DataFrame,
    embeddings: np.ndarray | None = None,
    *,
    label: str = "label",
    folds: int = 5,
    seed: int = 0,
) -> pl.DataFrame:
    """Every labelled row ranked by how likely its label is wrong, most suspect first.

    Out-of-fold probabilities from a logistic regression on `embeddings` (aligned with `df` rows),
    then confident learning: rows in the off-diagonal of the confident joint are `is_issue`; the
    ranking puts issues first, each group ordered by `self_confidence` (the probability of the given
    label, lowest first), which is cleanlab's default ranking. Columns: `id`, `text`, `label`,
    `suggested_label`, `self_confidence`, `is_issue`, `suspicion` (1 - self_confidence), `rank`.
    """
    if embeddings is None:
        raise InputError("suspect_labels needs embeddings= aligned with the rows (e.g. Embedder().encode(df['text'])).")
    emb = np.asarray(embeddings, dtype=np.float64)
    if emb.ndim != 2 or emb.shape[0] != df.height:
        raise InputError(f"embeddings must have one row per data row: shape ({df.height}, d); got {emb.shape}.")
    if label not in df.columns:
        raise SchemaError(f"suspect_labels needs a {label!r} column; found {df.columns}.")
    keep = df[label].is_not_null().to_numpy()
    data = df.filter(pl.Series(keep))
    emb = emb[keep]
    classes = sorted(str(v) for v in data[label].unique().to_list())
    counts = data[label].cast(pl.String).value_counts()
    if len(classes) < 2 or int(counts["count"].to_numpy().min()) < 2:
        raise InputError(
            f"suspect_labels needs at least two labels with two rows each; found {dict(counts.iter_rows())}."
        )
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[str(v)] for v in data[label].to_list()], dtype=np.int64)
    probs = out_of_fold_probabilities(emb, y, folds=folds, seed=seed)
    cl = confident_learning(probs, y)
    ids = data["id"] if "id" in data.columns else pl.Series("id", [str(i) for i in range(data.height)])
    out = pl.DataFrame(
        {
            "id": ids.cast(pl.String),
            "text": data["text"] if "text" in data.columns else pl.Series([None] * data.height, dtype=pl.String),
            "label": data[label].cast(pl.String),
            "suggested_label": pl.Series([classes[i] for i in cl.suggested], dtype=pl.String),
            "self_confidence": cl.self_confidence,
            "is_issue": cl.is_issue,
            "suspicion": 1.0 - cl.self_confidence,
        }
    )
    order = np.lexsort((np.arange(len(y)), cl.self_confidence, ~cl.is_issue))
    return (
        out[order.tolist()]
        .with_row_index("rank", offset=1)
        .select("id", "text", "label", "suggested_label", "self_confidence", "is_issue", "suspicion", "rank")
    )


# --- label bias: does disagreement follow surface features? --------------------------------------

BIAS_FEATURES = (
    "n_words",
    "n_chars",
    "mean_word_length",
    "uppercase_share",
    "all_caps_words",
    "punctuation_share",
    "exclamations",
    "questions",
    "commas",
    "quotes",
    "ellipses",
    "digit_share",
    "ends_with_exclamation",
    "ends_with_question",
    "starts_lowercase",
)


@dataclass
class LabelBiasTest:
    """What `label_bias_test` found: does disagreement with the reference follow surface features?

    `table`: one row per feature and token tested, significant and strongest first (feature, kind,
    auc, lo, hi, p_value, p_holm, significant, direction, rate_high, rate_low, wrong_label); `n` rows
    with both labels, `n_disagree` of them disagreeing (`disagreement_rate`); `tested` features and
    tokens at family-wise `alpha`; `biased`: the significant ones; `examples`: disagreeing rows of
    the strongest. Direction: an AUC further from 0.5 is a stronger bias (0.5 = none).
    """

    table: pl.DataFrame
    n: int
    n_disagree: int
    disagreement_rate: float
    tested: int
    alpha: float
    biased: list[str]
    examples: pl.DataFrame


def _p_value(kind: str, values: np.ndarray, y: np.ndarray) -> float:
    """Two-sided p-value of a feature for disagreement. A token is present or absent: Fisher's exact test
    of that 2x2 table (the Mann-Whitney normal approximation on a 0/1 feature with 20-odd rows rejected
    a random labeler's noise about twice as often as Holm's 5% allows: 3 of 30 clean runs of the
    validity report). A surface feature: Mann-Whitney."""
    if kind != "token":
        return mann_whitney_p(values, y)
    has = values > 0
    table = [[int((has & y).sum()), int((has & ~y).sum())], [int((~has & y).sum()), int((~has & ~y).sum())]]
    return fisher_exact_p(table)


def label_bias_test(
    df: pl.DataFrame,
    *,
    label: str = "label",
    reference: str = "reference_label",
    features: Sequence[str] = BIAS_FEATURES,
    min_support: int = 20,
    max_tokens: int = 200,
    alpha: float = 0.05,
) -> LabelBiasTest:
    """Does disagreement between `label` and `reference` follow surface features of the text?

    Rows where both labels are known. For each surface feature (see `BIAS_FEATURES`; definitions in
    `workbench.text_features.surface_features`) that differs from its most common value in at
    least `min_support` rows, and each token in at least `min_support` rows (and absent from as
    many; the `max_tokens` most frequent), the effect size is the AUC of the feature for telling
    disagreeing from agreeing rows (0.5 = no relation; for a token, 0.5 + half the difference in
    disagreement rate with and without it) with a DeLong 95% interval, and a two-sided p-value
    (Mann-Whitney for a surface feature, Fisher's exact test for a token), Holm-corrected over all tests. `reference` may be another labeler's column.

    Returns a `LabelBiasTest`; in its `table`, `rate_high` is the disagreement rate in the top quarter
    of rows by the feature (or with the token), `rate_low` the rate in the rest, `wrong_label` the
    label most often given wrongly there.
    """
    for c in (label, reference):
        if c not in df.columns:
            raise SchemaError(f"label_bias_test needs column {c!r}; found {df.columns}.")
    unknown = [f for f in features if f not in SURFACE_FEATURES]
    if unknown:
        raise InputError(f"unknown surface feature(s) {unknown}; choose from {list(SURFACE_FEATURES)}.")
    data = df.filter(pl.col(label).is_not_null() & pl.col(reference).is_not_null())
    y = (data[label].cast(pl.String) != data[reference].cast(pl.String)).to_numpy()
    n, n_dis = len(y), int(y.sum())
    if n_dis < 2 or n - n_dis < 2:
        raise InputError(
            f"the label-bias test needs at least 2 agreeing and 2 disagreeing rows; found {n - n_dis} and {n_dis} "
            f"(of {n} rows with both {label!r} and {reference!r})."
        )
    texts = data["text"].to_list()
    labels_given = data[label].cast(pl.String).to_list()
    F = surface_features(texts)
    cols: list[tuple[str, str, np.ndarray]] = []
    for f in features:
        values = F[:, SURFACE_FEATURES.index(f)]
        # support: rows away from the most common value; a rare feature gives no valid large-sample test
        if n - int(np.unique(values, return_counts=True)[1].max()) >= min_support:
            cols.append((f, "surface", values))
    token_sets = [set(tokens(t)) for t in texts]
    freq: dict[str, int] = {}
    for s in token_sets:
        for tok in s:
            freq[tok] = freq.get(tok, 0) + 1
    frequent = sorted((t for t, c in freq.items() if min_support <= c <= n - min_support), key=lambda t: (-freq[t], t))
    for tok in frequent[:max_tokens]:
        cols.append((tok, "token", np.array([tok in s for s in token_sets], dtype=np.float64)))
    records: list[dict[str, Any]] = []
    for name, kind, values in cols:
        auc, var = delong_auc(y, values)
        lo, hi = auc_interval(auc, var, Z95)
        high = values > np.quantile(values, 0.75) if kind == "surface" else values > 0
        if kind == "surface" and not high.any():
            high = values >= np.quantile(values, 0.75)
        if auc < 0.5:
            high = ~high if kind == "token" else values < np.quantile(values, 0.25)
            if not high.any():
                high = values <= np.quantile(values, 0.25)
        wrong = [labels_given[i] for i in np.flatnonzero(high & y)]
        records.append(
            {
                "feature": name,
                "kind": kind,
                "auc": auc,
                "lo": lo,
                "hi": hi,
                "p_value": _p_value(kind, values, y),
                "rate_high": float(y[high].mean()) if high.any() else math.nan,
                "rate_low": float(y[~high].mean()) if (~high).any() else math.nan,
                "direction": "more disagreement when higher" if auc >= 0.5 else "more disagreement when lower",
                "wrong_label": max(set(wrong), key=lambda v: (wrong.count(v), v)) if wrong else None,
                "_values": values,
            }
        )
    p_holm = holm([r["p_value"] for r in records])
    for r, p in zip(records, p_holm):
        r["p_holm"] = float(p)
        r["significant"] = bool(p < alpha)
    records.sort(key=lambda r: (not r["significant"], -abs(r["auc"] - 0.5), r["feature"]))
    schema = {
        "feature": pl.String,
        "kind": pl.String,
        "auc": pl.Float64,
        "lo": pl.Float64,
        "hi": pl.Float64,
        "p_value": pl.Float64,
        "p_holm": pl.Float64,
        "significant": pl.Boolean,
        "direction": pl.String,
        "rate_high": pl.Float64,
        "rate_low": pl.Float64,
        "wrong_label": pl.String,
    }
    table = pl.DataFrame([{k: r[k] for k in schema} for r in records], schema=schema)
    biased = [r["feature"] for r in records if r["significant"]]
    keep = [c for c in ("id", "text", label, reference) if c in data.columns]
    if biased:
        top = records[0]
        order = np.argsort(-top["_values"] if top["auc"] >= 0.5 else top["_values"], kind="stable")
        picks = [int(i) for i in order if y[i]][:10]
        examples = data.select(keep)[picks].with_columns(feature=pl.lit(top["feature"]))
    else:
        examples = data.select(keep).clear().with_columns(feature=pl.lit(None, dtype=pl.String))
    return LabelBiasTest(
        table=table,
        n=n,
        n_disagree=n_dis,
        disagreement_rate=n_dis / n,
        tested=len(records),
        alpha=alpha,
        biased=biased,
        examples=examples,
    )


@dataclass
class LabelBiasCheck(Check):
    """Does the labeler's disagreement with `reference_label` follow surface features of the text?

    Runs `label_bias_test` per labeler (`label_source`; all rows as one labeler without it). `warn`
    when a feature or token is significant after Holm correction (`alpha`, 0.05 family-wise);
    `fail` when a significant effect is also large: AUC beyond `fail_auc` (0.714, the AUC of
    Cohen's d = 0.8 in Rice & Harris 2005) or below 1 - fail_auc.
    """

    name = "label_bias"
    failure_mode = "label_bias"
    description = "labeler disagreement with reference labels follows length, punctuation, casing or tokens"
    requires_columns = ("label", "reference_label")
    min_rows = 20
    alpha: float = param(0.05, ge=1e-10, lt=1)
    fail_auc: float = param(AUC_LARGE, ge=0.5, le=1)
    min_support: int = param(20, ge=1, le=1_000_000)

    def run(self, ctx: Context) -> CheckResult:
        df = ctx.df.filter(pl.col("label").is_not_null() & pl.col("reference_label").is_not_null())
        groups = (
            sorted(df["label_source"].drop_nulls().unique().to_list()) if "label_source" in df.columns else []
        ) or [None]
        found: list[tuple[str, LabelBiasTest]] = []
        notes: list[str] = []
        for g in groups:
            part = df if g is None else df.filter(pl.col("label_source") == g)
            try:
                r = label_bias_test(part, alpha=self.alpha, min_support=self.min_support)
            except InputError as exc:
                notes.append(f"{g or 'labels'}: {exc}")
                continue
            found.append((g or "labels", r))
        if not found:
            raise InputError("no labeler has enough rows for the label-bias test: " + " ".join(notes))
        status, worst, lines, evidence = "pass", 0.0, [], []
        for who, r in found:
            sig = r.table.filter(pl.col("significant"))
            rate = f"{r.disagreement_rate:.0%} of {r.n} rows disagree with the reference"
            if sig.height == 0:
                lines.append(f"{who}: {rate}; no surface feature explains the disagreements ({r.tested} tested).")
                continue
            strongest = sig.row(0, named=True)
            effect = abs(strongest["auc"] - 0.5) + 0.5
            worst = max(worst, effect)
            level = "fail" if effect >= self.fail_auc else "warn"
            status = "fail" if level == "fail" or status == "fail" else "warn"
            listing = "; ".join(
                f"'{f}' AUC {a:.2f} [{lo:.2f}, {hi:.2f}] ({d}; disagreement {rh:.0%} vs {rl:.0%}"
                + (f", wrongly '{w}'" if w else "")
                + ")"
                for f, a, lo, hi, d, rh, rl, w in sig.select(
                    "feature", "auc", "lo", "hi", "direction", "rate_high", "rate_low", "wrong_label"
                )
                .head(4)
                .iter_rows()
            )
            lines.append(f"{who}: {rate}, and they follow surface features: {listing}.")
            evidence.append(r.examples.with_columns(labeler=pl.lit(who)))
        summary = " ".join(lines)
        if status != "pass":
            summary += (
                " A labeler whose errors follow style is biased, not noisy: spot-check rows with these features, "
                "fix the labeling prompt or model, and relabel them."
            )
        ev = (
            pl.concat(evidence, how="diagonal_relaxed")
            if evidence
            else pl.DataFrame(schema={"id": pl.String, "text": pl.String})
        )
        return self.result(
            status,
            summary,
            score=worst if worst else 0.5,
            score_meaning="strongest significant AUC of a surface feature for labeler disagreement (0.5 = none; higher is worse)",
            threshold=self.fail_auc,
            evidence=ev,
            details={
                who: {k: v for k, v in asdict(r).items() if k not in ("table", "examples")}
                | {"table": r.table.to_dicts()}
                for who, r in found
            },
        )


register(LabelBiasCheck())
