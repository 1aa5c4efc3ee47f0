"""Privacy and memorization: does the synthetic data copy the real records it was made from?

Data convention (DESIGN.md): real rows with `split="train"` are what the generator learned from
(fine-tuning data, few-shot examples); real rows with `split="holdout"` are real data from the same
source it never saw; synthetic rows are `origin="synthetic"` (any split). Everything is measured
against the holdout: fresh real data is what "generalisation, not memorization" looks like.

- **Distance to closest record** (`dcr_test`; `table_dcr_test` for tables): for every synthetic
  row, its distance to the closest training record and to the closest holdout record, computed
  exactly with the shared kernel (`workbench.knn.nearest`, blocked: no n x m matrix). In embedding
  space (cosine distance 1 - cos) and in character n-gram space (`ngram_vectors`: TF-IDF of
  character 3-grams, feature-hashed, cosine). The headline is the share of synthetic rows closer
  to training than to the holdout (SDMetrics' `DCROverfittingProtection` definition). If the
  generator's output does not depend on which real rows it saw, the closest real record of a
  synthetic row is equally likely to be any of the train + holdout rows, so the expected share is
  n_train / (n_train + n_holdout) (0.5 for equal sizes). The test conditions on the pooled real
  rows and randomises the train/holdout labels (a design-based variance that stays valid when many
  synthetic rows share one closest record); its interval is Wilson's at the design's effective
  sample size (Kish 1965). Also: the share of synthetic rows closer to training than the holdout's
  own `quantile` (default 5th percentile) of distances to training (expected: `quantile`), and the
  nearest-neighbour distance ratio (NNDR: closest / second-closest training record; a copy has a
  ratio near 0), compared with the holdout's.
- **Copies** (`find_copies`): exact (normalised text equal), near (character 3-gram Jaccard >=
  `threshold`, 0.5; candidates from MinHash LSH and from each row's closest records in n-gram
  space, each pair then verified with the exact Jaccard) and long n-gram (a shared `span_n`-word
  sequence, 13 as in GPT-3's contamination test) copies of training records inside synthetic rows.
- **Rare-string leakage** (`leaked_spans`): PII-like spans (emails, URLs, phone and other long
  numbers, mixed letter-digit ids; `pii_spans`) and `span_n`-word sequences that occur in a
  synthetic row and in a training record, and are rare in the real data: in at most `rare_df`
  training records (k-eidetic memorization, Carlini et al. 2021: a record and its duplicate) and in
  no holdout record. A span that fresh real data also contains is not evidence of memorization;
  boilerplate and templates occur in many records and are never rare.
- **Canaries** (`plant_canaries`, `canary_report`): unique random secret-bearing sentences planted
  in training records; the report counts full and partial reproductions in synthetic rows and,
  with a local language model, each canary's exposure (Carlini et al. 2019, "The Secret Sharer"):
  log2 of the number of candidates minus log2 of the secret's rank among random candidates of the
  same format by the model's log-probability.

The registered `privacy` check fails on a verbatim copy of a rare span or on significant
memorization (closer-to-training share above its expectation, in any space); it warns when synthetic
rows copy training records (exact or near) significantly more often than holdout rows do. Rare spans
are judged against the real data's own behaviour: when no real record shares a rare span with a
training record (holdout rows with training, training rows with each other), any synthetic row
that does fails; when real records do (the data's own duplicates), synthetic rows must do it
significantly more often. The tests (DCR per space, rare spans and copies against their real
baselines) form one Holm family at `alpha`, so same-distribution real data alarms in at most about
`alpha` of audits. Without a holdout the summary says what to add; copies (warning on any) and rare
spans (rare in training alone) are still checked.
"""

from __future__ import annotations

import math
import re
import string
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from workbench import knn
from workbench.checks import register
from workbench.checks.base import Check, CheckResult, Context, Status, param
from workbench.data import stable_ids
from workbench.errors import InputError, SchemaError, WorkbenchWarning
from workbench.minhash import key_pairs, lsh_candidates, lsh_params, minhash_signatures, normalize, shingle_hashes
from workbench.stats import Estimate, fisher_exact_p, holm, normal_sf, proportion

__all__ = [
    "COPY_KINDS",
    "PII_KINDS",
    "DCRTest",
    "PrivacyCheck",
    "canary_report",
    "dcr_test",
    "find_copies",
    "leaked_spans",
    "ngram_vectors",
    "pii_spans",
    "plant_canaries",
    "table_dcr_test",
]

TRAIN_SPLIT = "train"
HOLDOUT_SPLIT = "holdout"
COPY_KINDS = ("exact", "near", "ngram")
PII_KINDS = ("email", "url", "number", "id")
COPY_SCHEMA = {
    "id": pl.String,
    "text": pl.String,
    "match_id": pl.String,
    "match_text": pl.String,
    "kind": pl.String,
    "similarity": pl.Float64,
}
SPAN_SCHEMA = {
    "id": pl.String,
    "text": pl.String,
    "kind": pl.String,
    "span": pl.String,
    "match_id": pl.String,
    "match_text": pl.String,
    "df_train": pl.Int64,
    "df_holdout": pl.Int64,
}
HISTOGRAM_BINS = 30

# --- inputs --------------------------------------------------------------------------------------


def _texts_ids(data: Any, what: str) -> tuple[pl.Series, np.ndarray]:
    """Texts and ids of a frame (with `text`, optional `id`) or a sequence of strings."""
    if isinstance(data, pl.DataFrame):
        if "text" not in data.columns:
            raise SchemaError(f"the {what} frame has no 'text' column; found {data.columns}.")
        texts = data["text"].cast(pl.String).fill_null("")
        if "id" in data.columns:
            return texts, data["id"].cast(pl.String).to_numpy().astype(object)
    elif isinstance(data, str) or not isinstance(data, Sequence | pl.Series):
        raise InputError(
            f"the {what} rows must be a polars frame with 'text' or a list of strings; got {type(data).__name__}."
        )
    else:
        texts = pl.Series("text", list(data), dtype=pl.String).fill_null("")
    return texts, np.array(stable_ids(texts.to_list()), dtype=object)


# --- PII-like spans ------------------------------------------------------------------------------

_EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
_URL = r"(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]"
_NUMBER = r"\+?\(?\d(?:[\s().\-/]{0,2}\d)+"
_ID = r"\b[A-Za-z0-9]*[0-9][A-Za-z0-9]*\b"
MIN_NUMBER_DIGITS = 7  # phone numbers, account and card numbers, national ids: at least 7 digits
MIN_ID_CHARS = 6


def pii_spans(texts: Any) -> pl.DataFrame:
    """PII-like spans in each text: `row, kind, span, key`.

    Kinds: `email`, `url`, `number` (a run of digits with separators holding at least 7 digits:
    phone, account, card and id numbers, IP addresses), `id` (a token of at least 6 letters and
    digits with at least 2 digits and a letter). `key` is what matching compares: lower case; a
    number's digits only, so "555-123-4567" and "(555) 123 4567" are the same number. Emails and
    URLs are removed before numbers and ids are looked for, so one string is one span.
    """
    s = texts if isinstance(texts, pl.Series) else pl.Series("text", list(texts), dtype=pl.String)
    s = s.cast(pl.String).fill_null("")
    frame = pl.DataFrame({"row": np.arange(s.len(), dtype=np.int64), "t": s})
    parts = []
    rest = pl.col("t")
    for kind, pattern in (("email", _EMAIL), ("url", _URL)):
        parts.append(frame.select("row", pl.lit(kind).alias("kind"), rest.str.extract_all(pattern).alias("span")))
        rest = rest.str.replace_all(pattern, " ")
    parts.append(frame.select("row", pl.lit("number").alias("kind"), rest.str.extract_all(_NUMBER).alias("span")))
    parts.append(frame.select("row", pl.lit("id").alias("kind"), rest.str.extract_all(_ID).alias("span")))
    out = pl.concat(parts).explode("span").drop_nulls("span")
    digits = pl.col("span").str.replace_all(r"\D", "")
    out = out.with_columns(
        key=pl.when(pl.col("kind") == "number").then(digits).otherwise(pl.col("span").str.to_lowercase()),
        span=pl.col("span").str.strip_chars(),
    )
    n_digits = digits.str.len_chars()
    keep = (
        pl.col("kind").is_in(["email", "url"])
        | ((pl.col("kind") == "number") & (n_digits >= MIN_NUMBER_DIGITS))
        | (
            (pl.col("kind") == "id")
            & (pl.col("span").str.len_chars() >= MIN_ID_CHARS)
            & (n_digits >= 2)
            & pl.col("span").str.contains("[A-Za-z]")
        )
    )
    schema = {"row": pl.Int64, "kind": pl.String, "span": pl.String, "key": pl.String}
    return out.filter(keep).select("row", "kind", "span", "key").unique(maintain_order=True).cast(schema)  # type: ignore[arg-type]


# --- n-gram space --------------------------------------------------------------------------------


CHUNK_DOCS = 5_000  # documents hashed at a time: bounds the shingling's temporary arrays
CHUNK_PAIRS = 10_000  # candidate pairs verified at a time: bounds the Jaccard join


def _char_shingles(texts: pl.Series, k: int) -> pl.DataFrame:
    """Unique (doc, h) character k-shingles of the normalised texts, with their count `tf`."""
    parts = []
    for s in range(0, max(1, texts.len()), CHUNK_DOCS):
        hashes, doc = shingle_hashes(texts.slice(s, CHUNK_DOCS), k=k, unit="char")
        frame = pl.DataFrame({"doc": doc + s, "h": hashes}, schema={"doc": pl.Int64, "h": pl.UInt64})
        parts.append(frame.group_by("doc", "h").len(name="tf"))
    return pl.concat(parts).sort("doc", "h")


def _minhash(texts: pl.Series, *, num_perm: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`minhash_signatures` of the texts, a chunk of documents at a time (the same permutations)."""
    sigs, has = [], []
    for s in range(0, max(1, texts.len()), CHUNK_DOCS):
        sig, h = minhash_signatures(texts.slice(s, CHUNK_DOCS), num_perm=num_perm, k=k, unit="char", seed=seed)
        sigs.append(sig)
        has.append(h)
    return np.concatenate(sigs), np.concatenate(has)


def _vectors_from_shingles(shingles: pl.DataFrame, n_docs: int, idf_docs: np.ndarray, dim: int) -> np.ndarray:
    in_idf = idf_docs.astype(bool)[shingles["doc"].to_numpy()] if shingles.height else np.zeros(0, dtype=bool)
    df = shingles.filter(pl.Series(in_idf, dtype=pl.Boolean)).group_by("h").len(name="df")
    n_idf = int(idf_docs.sum())
    weighted = shingles.join(df, on="h", how="left").with_columns(pl.col("df").fill_null(0))
    h = weighted["h"].to_numpy()
    idf = np.log((1.0 + n_idf) / (1.0 + weighted["df"].to_numpy())) + 1.0  # smooth idf, as scikit-learn's
    tf = 1.0 + np.log(weighted["tf"].to_numpy().astype(np.float64))  # sublinear term frequency
    sign = np.where((h >> np.uint64(63)) == 1, -1.0, 1.0)  # signed feature hashing (Weinberger et al. 2009)
    bucket = (h % np.uint64(dim)).astype(np.int64)
    doc = weighted["doc"].to_numpy()
    out = np.zeros((n_docs, dim), dtype=np.float32)
    step = max(1, (1 << 22) // dim)
    starts = np.searchsorted(doc, np.arange(0, n_docs + step, step)) if doc.size else np.zeros(0, np.int64)
    for i, s in enumerate(range(0, n_docs, step)):
        e = min(n_docs, s + step)
        lo, hi = (int(starts[i]), int(starts[i + 1])) if doc.size else (0, 0)
        if hi <= lo:
            continue
        flat = np.bincount(
            (doc[lo:hi] - s) * dim + bucket[lo:hi], weights=(sign * tf * idf)[lo:hi], minlength=(e - s) * dim
        )
        block = flat.reshape(e - s, dim)
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        out[s:e] = block / np.where(norms == 0, 1.0, norms)
    return out


def ngram_vectors(texts: Any, *, n: int = 3, dim: int = 256, idf_rows: Any = None) -> np.ndarray:
    """Each text as a unit vector in character n-gram space: (len(texts), dim) float32.

    TF-IDF of the character `n`-grams of the normalised text (`workbench.minhash.normalize`),
    sublinear term frequency and smooth idf, feature-hashed with a sign into `dim` dimensions, L2
    normalised. The idf comes from the rows `idf_rows` (a boolean mask or indices; default all):
    use the real rows, so n-grams common in the real data weigh little. Texts without any n-gram
    are the zero vector. Cosine distance in this space is the n-gram DCR of `dcr_test`.
    """
    s = texts if isinstance(texts, pl.Series) else pl.Series("text", list(texts), dtype=pl.String)
    if n < 1 or dim < 1:
        raise InputError(f"n and dim must be >= 1; got n={n}, dim={dim}.")
    mask = np.ones(s.len(), dtype=bool)
    if idf_rows is not None:
        rows = np.asarray(idf_rows)
        mask = rows.astype(bool) if rows.dtype == bool else np.isin(np.arange(s.len()), rows)
    return _vectors_from_shingles(_char_shingles(s.cast(pl.String).fill_null(""), n), s.len(), mask, dim)


# --- distance to closest record ------------------------------------------------------------------


@dataclass(frozen=True)
class DCRTest:
    """Distance to closest record: synthetic rows against the training records and a holdout.

    `closer_to_train`: share of synthetic rows strictly closer to their closest training record than
    to their closest holdout record (SDMetrics' `DCROverfittingProtection`; `sdmetrics_score` is its
    score, min(1, 2 (1 - share))), with the Wilson interval at the design's effective sample size.
    `expected`: its value when the generator did not memorize, n_train / (n_train + n_holdout).
    `p_value`: one-sided, that the share exceeds `expected` (labels of the pooled real rows
    randomised). `memorized`: (share - expected) / (1 - expected), the share of synthetic rows that
    sit on a training record beyond chance (0 is clean), with its interval.
    `below_holdout_quantile`: share of synthetic rows closer to training than the holdout's own
    `quantile` of distances to training (expected `quantile`; higher means closer than fresh real
    data). NNDR: distance to the closest over the second-closest training record (Euclidean; 0 for a
    copy); `nndr_below_holdout_quantile` compares it with the holdout's the same way. Larger
    shares are worse everywhere. Arrays: per synthetic row `synthetic_to_train`,
    `synthetic_to_holdout`, `nearest_train` (index of the closest training record),
    `synthetic_nndr`; per holdout row `holdout_to_train`, `holdout_nndr`; `synthetic_neighbours`
    and `holdout_neighbours`: indices of each row's two closest training records (one when there is
    one training record).
    """

    space: str
    metric: str
    n_synthetic: int
    n_train: int
    n_holdout: int
    closer_to_train: Estimate
    expected: float
    p_value: float
    memorized: Estimate
    sdmetrics_score: float
    quantile: float
    below_holdout_quantile: Estimate
    nndr_synthetic_median: float
    nndr_holdout_median: float
    nndr_below_holdout_quantile: Estimate
    design_effect: float
    synthetic_to_train: np.ndarray = field(repr=False)
    synthetic_to_holdout: np.ndarray = field(repr=False)
    nearest_train: np.ndarray = field(repr=False)
    synthetic_nndr: np.ndarray = field(repr=False)
    holdout_to_train: np.ndarray = field(repr=False)
    holdout_nndr: np.ndarray = field(repr=False)
    synthetic_neighbours: np.ndarray = field(repr=False)
    holdout_neighbours: np.ndarray = field(repr=False)

    def histogram(self, bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
        """The two distributions of distances to training (synthetic -> train, holdout -> train) on
        shared bins: `edges`, and the share of each set's rows per bin (what the report charts)."""
        both = np.concatenate([self.synthetic_to_train, self.holdout_to_train])
        hi = float(both.max()) if both.size else 1.0
        edges = np.linspace(0.0, hi if hi > 0 else 1.0, bins + 1)
        s, _ = np.histogram(self.synthetic_to_train, edges)
        h, _ = np.histogram(self.holdout_to_train, edges)
        return {
            "space": self.space,
            "metric": self.metric,
            "edges": [round(float(e), 6) for e in edges],
            "synthetic": [round(float(v), 6) for v in s / max(1, s.sum())],
            "holdout": [round(float(v), 6) for v in h / max(1, h.sum())],
        }

    def as_dict(self) -> dict[str, Any]:
        """The numbers without the per-row arrays (JSON-ready)."""
        return {
            "space": self.space,
            "metric": self.metric,
            "n_synthetic": self.n_synthetic,
            "n_train": self.n_train,
            "n_holdout": self.n_holdout,
            "closer_to_train": self.closer_to_train.as_dict(),
            "expected": self.expected,
            "p_value": self.p_value,
            "memorized": self.memorized.as_dict(),
            "sdmetrics_score": self.sdmetrics_score,
            "quantile": self.quantile,
            "below_holdout_quantile": self.below_holdout_quantile.as_dict(),
            "nndr_synthetic_median": self.nndr_synthetic_median,
            "nndr_holdout_median": self.nndr_holdout_median,
            "nndr_below_holdout_quantile": self.nndr_below_holdout_quantile.as_dict(),
            "design_effect": self.design_effect,
        }


def _nndr(d: np.ndarray) -> np.ndarray:
    """Closest over second-closest distance per row (0 when both are 0: a copy of a duplicated record)."""
    if d.shape[1] < 2:
        return np.full(d.shape[0], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(d[:, 1] > 0, d[:, 0] / np.where(d[:, 1] > 0, d[:, 1], 1.0), 0.0)


def _share_below(values: np.ndarray, reference: np.ndarray, q: float) -> Estimate:
    if values.size == 0 or reference.size == 0 or np.isnan(reference).all():
        return Estimate(math.nan, math.nan, math.nan)
    thr = float(np.nanquantile(reference, q))
    return proportion(int((values < thr).sum()), values.size)


def _dcr_result(
    *,
    space: str,
    metric: str,
    s_train: np.ndarray,  # (n_s, k<=2) distances, closest first
    s_train_idx: np.ndarray,  # (n_s, k<=2)
    s_hold: np.ndarray,  # (n_s,)
    s_hold_idx: np.ndarray,
    h_train: np.ndarray,  # (n_h, k<=2)
    h_train_idx: np.ndarray,
    nndr_s: np.ndarray,
    nndr_h: np.ndarray,
    n_train: int,
    n_holdout: int,
    quantile: float,
) -> DCRTest:
    n_s = s_train.shape[0]
    closer = s_train[:, 0] < s_hold
    share = float(closer.mean())
    n_real = n_train + n_holdout
    p0 = n_train / n_real
    # Design-based null: the pooled real rows are fixed, the train/holdout labels a random split.
    # c_j counts the synthetic rows whose closest real record is j; the share is then a sample of
    # n_train of the c_j without replacement: Var = n_t n_h / (N (N - 1)) * sum (c_j - mean)^2 / n_s^2.
    nearest_real = np.where(closer, s_train_idx[:, 0], n_train + s_hold_idx)
    c = np.bincount(nearest_real, minlength=n_real).astype(np.float64)
    ss = float(((c - n_s / n_real) ** 2).sum())
    var = n_train * n_holdout / (n_real * (n_real - 1)) * ss / n_s**2 if n_real > 1 else 0.0
    if var > 0:
        p_value = float(normal_sf((share - p0) / math.sqrt(var)))
        n_eff = min(float(n_s), p0 * (1 - p0) / var)
    else:
        p_value = 0.0 if share > p0 else 1.0
        n_eff = float(n_s)
    est = proportion(share * n_eff, n_eff)
    est = Estimate(share, est.lo, est.hi)
    scale = 1 - p0
    memorized = Estimate((share - p0) / scale, (est.lo - p0) / scale, (est.hi - p0) / scale)
    return DCRTest(
        space=space,
        metric=metric,
        n_synthetic=n_s,
        n_train=n_train,
        n_holdout=n_holdout,
        closer_to_train=est,
        expected=p0,
        p_value=p_value,
        memorized=memorized,
        sdmetrics_score=min(1.0, 2.0 * (1.0 - share)),
        quantile=quantile,
        below_holdout_quantile=_share_below(s_train[:, 0], h_train[:, 0], quantile),
        nndr_synthetic_median=float(np.nanmedian(nndr_s)) if not np.isnan(nndr_s).all() else math.nan,
        nndr_holdout_median=float(np.nanmedian(nndr_h)) if not np.isnan(nndr_h).all() else math.nan,
        nndr_below_holdout_quantile=_share_below(nndr_s, nndr_h, quantile),
        design_effect=float(n_s / n_eff) if n_eff > 0 else math.nan,
        synthetic_to_train=s_train[:, 0].copy(),
        synthetic_to_holdout=s_hold.copy(),
        nearest_train=s_train_idx[:, 0].copy(),
        synthetic_nndr=nndr_s,
        holdout_to_train=h_train[:, 0].copy(),
        holdout_nndr=nndr_h,
        synthetic_neighbours=s_train_idx,
        holdout_neighbours=h_train_idx,
    )


def _check_sets(n_s: int, n_t: int, n_h: int) -> None:
    if n_t == 0:
        raise InputError(
            "no training records: mark the real rows the generator learned from with split='train' (its fine-tuning "
            "data or few-shot examples)."
        )
    if n_h == 0:
        raise InputError(
            "no holdout: distance to closest record needs real rows the generator never saw, from the same source, "
            "marked split='holdout' (e.g. a random 20-50% of the real data set aside before generating). Without "
            "one, copies and rare spans can still be checked (find_copies, leaked_spans)."
        )
    if n_s == 0:
        raise InputError("no synthetic rows to measure.")


def _check_quantile(q: float) -> float:
    if not isinstance(q, int | float) or not 0 < q < 1:
        raise InputError(f"quantile must be between 0 and 1 (e.g. 0.05); got {q!r}.")
    return float(q)


def dcr_test(
    synthetic: Any,
    train: Any,
    holdout: Any,
    *,
    metric: str = "cosine",
    quantile: float = 0.05,
    space: str = "embedding",
    memory_mb: float = knn.DEFAULT_MEMORY_MB,
) -> DCRTest:
    """Distance to closest record of synthetic rows (vectors) vs training records and a holdout.

    `synthetic`, `train`, `holdout`: (n, d) arrays (embeddings, or `ngram_vectors`). `metric`:
    `cosine` (1 - cos; rows are L2-normalised first) or `euclidean`. Exact, blocked nearest
    neighbours (`workbench.knn.nearest`); see `DCRTest` for what each number means.
    """
    if metric not in ("cosine", "euclidean"):
        raise InputError(f"metric must be 'cosine' or 'euclidean'; got {metric!r}.")
    quantile = _check_quantile(quantile)
    mats = []
    for x, name in ((synthetic, "synthetic"), (train, "training"), (holdout, "holdout")):
        arr = np.asarray(x)
        if arr.ndim == 2 and arr.shape[0] == 0:
            mats.append(arr.astype(np.float32))
            continue
        m = knn.as_matrix(arr, name)
        if metric == "cosine":
            norms = np.linalg.norm(m, axis=1, keepdims=True)
            m = (m / np.where(norms == 0, 1.0, norms)).astype(m.dtype)
        mats.append(m)
    s, t, h = mats
    _check_sets(s.shape[0], t.shape[0], h.shape[0])
    k = min(2, t.shape[0])
    st2, st_i = knn.nearest(s, t, k, squared=True, memory_mb=memory_mb)
    sh2, sh_i = knn.nearest(s, h, 1, squared=True, memory_mb=memory_mb)
    ht2, ht_i = knn.nearest(h, t, k, squared=True, memory_mb=memory_mb)

    def dist(sq: np.ndarray) -> np.ndarray:
        return sq / 2.0 if metric == "cosine" else np.sqrt(sq)

    return _dcr_result(
        space=space,
        metric=metric,
        s_train=dist(st2),
        s_train_idx=st_i,
        s_hold=dist(sh2)[:, 0],
        s_hold_idx=sh_i[:, 0],
        h_train=dist(ht2),
        h_train_idx=ht_i,
        nndr_s=_nndr(np.sqrt(st2)),
        nndr_h=_nndr(np.sqrt(ht2)),
        n_train=t.shape[0],
        n_holdout=h.shape[0],
        quantile=quantile,
    )


# --- distance to closest record on tables (SDMetrics' definition) -------------------------------


def _as_polars(frame: Any, what: str) -> pl.DataFrame:
    if isinstance(frame, pl.DataFrame):
        return frame
    try:
        return pl.from_pandas(frame)
    except Exception:
        raise InputError(
            f"the {what} table must be a polars or pandas DataFrame; got {type(frame).__name__}."
        ) from None


def _table_columns(
    frames: list[pl.DataFrame], columns: Sequence[str] | None, categorical: Sequence[str] | None
) -> list[tuple[str, bool]]:
    common = [c for c in frames[0].columns if all(c in f.columns for f in frames[1:])]
    chosen = list(columns) if columns is not None else common
    missing = [c for c in chosen if c not in common]
    if missing:
        raise InputError(f"column(s) {missing} are not in all three tables; common columns: {common}.")
    if not chosen:
        raise InputError("the three tables share no column to measure distances on.")
    forced = set(categorical or ())
    out = []
    for c in chosen:
        dtype = frames[0].schema[c]
        numeric = (dtype.is_numeric() or dtype.is_temporal()) and dtype != pl.Boolean and c not in forced
        out.append((c, numeric))
    return out


def _numeric(frame: pl.DataFrame, col: str) -> np.ndarray:
    s = frame[col]
    if s.dtype == pl.Duration:
        s = s.dt.total_microseconds() / 1e6
    elif s.dtype.is_temporal():
        s = s.cast(pl.Datetime("us")).dt.epoch("us") / 1e6
    return s.cast(pl.Float64).to_numpy().astype(np.float64)


def _table_terms_exact(
    q_num: list[np.ndarray],
    r_num: list[np.ndarray],
    q_cat: list[np.ndarray],
    r_cat: list[np.ndarray],
    layout: list[tuple[bool, int]],
    ranges: list[float],
    rows: np.ndarray,
    cols: np.ndarray,
) -> np.ndarray:
    """SDMetrics' distance of the pairs (query `rows`, reference `cols`), in float64 and in its order of
    operations: |ref - data| / range capped at 1 per numeric column (0/1 for a zero range; missing:
    1 when one is, 0 when both are), 0/1 per categorical column, summed in column order, / columns."""
    acc = np.zeros(rows.size)
    for is_num, j in layout:
        if is_num:
            a, b, rng_j = q_num[j][rows], r_num[j][cols], ranges[j]
            diff = np.abs(b - a)
            term = (diff > 0).astype(np.float64) if rng_j == 0 else np.minimum(diff / rng_j, 1.0)
            na_a, na_b = np.isnan(a), np.isnan(b)
            term = np.where(na_a & na_b, 0.0, np.where(na_a | na_b, 1.0, term))
            acc += term
        else:
            acc += q_cat[j][rows] != r_cat[j][cols]
    return acc / len(layout)


def _table_nearest(
    q_num: list[np.ndarray],
    r_num: list[np.ndarray],
    q_cat: list[np.ndarray],
    r_cat: list[np.ndarray],
    layout: list[tuple[bool, int]],
    ranges: list[float],
    k: int,
    memory_mb: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The k smallest SDMetrics distances of each query row to the reference rows, exactly.

    As `workbench.knn` does for Euclidean distances: blocks of query rows are screened in float32
    (columns centred on the reference minimum, so every term that is not capped at 1 is computed
    to within a few float32 roundings; a bound `slack` covers them and the float32 sum), and every
    reference row that the bound cannot rule out of a row's k nearest is recomputed exactly in
    float64 (`_table_terms_exact`). Ties: the lower reference index first. Blocks stay within
    the CPU cache and `memory_mb`, on a few threads (numpy releases the GIL).
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    n = q_num[0].size if q_num else q_cat[0].size
    m = r_num[0].size if r_num else r_cat[0].size
    d_out = np.empty((n, k))
    i_out = np.empty((n, k), dtype=np.int64)
    if n == 0:
        return d_out, i_out
    n_cols = len(layout)
    # per term: a capped term is exact in both; an uncapped one (|a - b| < 2 ranges, so both scaled
    # values are within 3 of 0) is off by at most ~8 float32 roundings; the float32 sum of
    # n_cols terms in [0, 1] adds n_cols roundings of at most n_cols. Generous by a factor of 10.
    slack = 10 * (8 * n_cols + n_cols * n_cols) * 2.0**-24
    # screening copies: centred on the reference minimum and scaled by the range, so a term is
    # min(|a' - b'|, 1); a zero-range column's term is whether the query differs from the constant
    q32, r32, constant_differs = [], [], []
    for j, (q, r) in enumerate(zip(q_num, r_num)):
        finite = r[~np.isnan(r)]
        lo = float(finite.min()) if finite.size else 0.0
        scale = ranges[j] if ranges[j] > 0 else 1.0
        with np.errstate(over="ignore", invalid="ignore"):
            q32.append(((q - lo) / scale).astype(np.float32))
            r32.append(((r - lo) / scale).astype(np.float32))
        constant_differs.append((q != lo).astype(np.float32))
    r_nan = [np.isnan(r) for r in r_num]
    r_has_nan = [bool(x.any()) for x in r_nan]
    workers = max(1, min(4, os.cpu_count() or 1))
    block = max(1, min(int(memory_mb * 2**20 // (m * 4 * 3 * workers)), (1 << 15) // m))

    def run(s: int) -> None:
        e = min(n, s + block)
        acc = np.zeros((e - s, m), dtype=np.float32)
        tmp = np.empty((e - s, m), dtype=np.float32)
        for is_num, j in layout:
            if is_num:
                a = q32[j][s:e, None]
                if ranges[j] == 0:
                    tmp[:] = constant_differs[j][s:e, None]
                else:
                    np.subtract(a, r32[j][None, :], out=tmp)
                    np.abs(tmp, out=tmp)
                    np.minimum(tmp, 1.0, out=tmp)
                na_a = np.isnan(a)
                if r_has_nan[j] or na_a.any():
                    na_b = r_nan[j][None, :]
                    np.copyto(tmp, np.where(na_a & na_b, 0.0, 1.0).astype(np.float32), where=na_a | na_b)
                acc += tmp
            else:
                acc += q_cat[j][s:e, None] != r_cat[j][None, :]
        kth = np.partition(acc, k - 1, axis=1)[:, k - 1] if m > k else acc.max(axis=1)
        rows, cols = np.nonzero(acc <= (kth + np.float32(2 * slack))[:, None])
        rows = rows + s
        exact = _table_terms_exact(q_num, r_num, q_cat, r_cat, layout, ranges, rows, cols)
        order = np.lexsort((cols, exact, rows))
        counts = np.bincount(rows - s, minlength=e - s)
        first = np.concatenate(([0], np.cumsum(counts)[:-1]))
        pick = order[first[:, None] + np.arange(k)[None, :]]
        d_out[s:e] = exact[pick]
        i_out[s:e] = cols[pick]

    starts = range(0, n, block)
    if workers == 1 or len(starts) == 1:
        for s in starts:
            run(s)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, starts))
    return d_out, i_out


def table_dcr_test(
    train: Any,
    synthetic: Any,
    holdout: Any,
    *,
    columns: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    quantile: float = 0.05,
    memory_mb: float = knn.DEFAULT_MEMORY_MB,
) -> DCRTest:
    """`DCRTest` of a numeric/categorical table under SDMetrics' own distance (its `calculate_dcr`).

    Per column: numeric and datetime columns |a - b| / (range of the reference table), capped at 1
    (0/1 when the range is 0; 1 when exactly one is missing, 0 when both are); categorical and
    boolean columns 0 when equal (or both missing), else 1. The distance is the mean over columns.
    Distances to training use the training table's ranges, to the holdout the holdout's, as
    SDMetrics does, so `closer_to_train` and `sdmetrics_score` equal its
    `DCROverfittingProtection.compute_breakdown` (without subsampling). Computed exactly in blocks
    of rows (`memory_mb`), never as a cross join. `columns` picks columns (default: all common
    ones); `categorical` forces columns to be compared as categories. Frames: polars or pandas.
    """
    quantile = _check_quantile(quantile)
    t, s, h = (_as_polars(f, w) for f, w in ((train, "training"), (synthetic, "synthetic"), (holdout, "holdout")))
    _check_sets(s.height, t.height, h.height)
    cols = _table_columns([t, s, h], columns, categorical)
    layout: list[tuple[bool, int]] = []
    nums: dict[str, list[np.ndarray]] = {"t": [], "s": [], "h": []}
    cats: dict[str, list[np.ndarray]] = {"t": [], "s": [], "h": []}
    for name, is_num in cols:
        if is_num:
            layout.append((True, len(nums["t"])))
            for key, f in (("t", t), ("s", s), ("h", h)):
                nums[key].append(_numeric(f, name))
        else:
            layout.append((False, len(cats["t"])))
            values = pl.concat([f[name].cast(pl.String) for f in (t, s, h)])
            codes = values.cast(pl.Categorical).to_physical().cast(pl.Int64).fill_null(-1).to_numpy()
            cats["t"].append(codes[: t.height])
            cats["s"].append(codes[t.height : t.height + s.height])
            cats["h"].append(codes[t.height + s.height :])

    def ranges(key: str) -> list[float]:
        out = []
        for x in nums[key]:
            finite = x[~np.isnan(x)]
            out.append(float(finite.max() - finite.min()) if finite.size else 0.0)
        return out

    k = min(2, t.height)
    st, st_i = _table_nearest(nums["s"], nums["t"], cats["s"], cats["t"], layout, ranges("t"), k, memory_mb)
    sh, sh_i = _table_nearest(nums["s"], nums["h"], cats["s"], cats["h"], layout, ranges("h"), 1, memory_mb)
    ht, ht_i = _table_nearest(nums["h"], nums["t"], cats["h"], cats["t"], layout, ranges("t"), k, memory_mb)
    return _dcr_result(
        space="table",
        metric="sdmetrics",
        s_train=st,
        s_train_idx=st_i,
        s_hold=sh[:, 0],
        s_hold_idx=sh_i[:, 0],
        h_train=ht,
        h_train_idx=ht_i,
        nndr_s=_nndr(st),
        nndr_h=_nndr(ht),
        n_train=t.height,
        n_holdout=h.height,
        quantile=quantile,
    )


# --- copies --------------------------------------------------------------------------------------


def _pair_jaccard(shingles: pl.DataFrame, pairs: np.ndarray) -> np.ndarray:
    """Exact Jaccard similarity of the shingle sets of each (a, b) row pair."""
    if len(pairs) == 0:
        return np.zeros(0)
    sets = shingles.select("doc", "h")
    sizes = np.bincount(sets["doc"].to_numpy(), minlength=int(pairs.max()) + 1)
    common = np.zeros(len(pairs))
    for s in range(0, len(pairs), CHUNK_PAIRS):
        chunk = pairs[s : s + CHUNK_PAIRS]
        p = pl.DataFrame({"pid": np.arange(len(chunk)), "a": chunk[:, 0], "b": chunk[:, 1]})
        inter = (
            p.join(sets.rename({"doc": "a"}), on="a")
            .join(sets.rename({"doc": "b"}), on=["b", "h"])
            .group_by("pid")
            .len(name="n")
        )
        common[s + inter["pid"].to_numpy()] = inter["n"].to_numpy()
    union = sizes[pairs[:, 0]] + sizes[pairs[:, 1]] - common
    return np.where(union > 0, common / np.where(union > 0, union, 1), 0.0)


def _word_grams(texts: pl.Series, n: int) -> pl.DataFrame:
    hashes, doc = shingle_hashes(texts, k=n, unit="word", short="drop")
    return pl.DataFrame({"doc": doc, "g": hashes}, schema={"doc": pl.Int64, "g": pl.UInt64}).unique()


def _copy_pairs(
    texts: pl.Series,
    query: np.ndarray,
    train: np.ndarray,
    *,
    kinds: Sequence[str],
    threshold: float,
    shingle_size: int,
    num_perm: int,
    ngram_n: int,
    seed: int,
    candidates: np.ndarray | None,
    shingles: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """(q, t, kind, similarity) for every query row q copying training row t; rows index `texts`."""
    norm = normalize(texts)
    usable = (norm.str.len_chars() > 0).to_numpy()
    q_rows, t_rows = query[usable[query]], train[usable[train]]
    frames = []
    schema = {"q": pl.Int64, "t": pl.Int64, "kind": pl.String, "similarity": pl.Float64}
    if "exact" in kinds:
        keys = norm.hash(seed=11).to_numpy().astype(np.uint64)
        pairs = key_pairs(keys, [(q_rows, t_rows)])
        pairs = _orient(pairs, query)
        frames.append(pl.DataFrame({"q": pairs[:, 0], "t": pairs[:, 1], "kind": "exact", "similarity": 1.0}))
    if "near" in kinds:
        sig, has = _minhash(texts, num_perm=num_perm, k=shingle_size, seed=seed)
        bands, r = lsh_params(threshold, num_perm)
        lsh = _orient(lsh_candidates(sig, bands, r, [(q_rows[has[q_rows]], t_rows[has[t_rows]])]), query)
        # banding proposes many pairs far below the threshold: verify exactly only those whose MinHash
        # estimate is within 3 standard errors of it (a pair at the threshold is dropped 0.1% of the time)
        floor = threshold - 3 * math.sqrt(threshold * (1 - threshold) / num_perm)
        estimate = np.concatenate(
            [
                (sig[lsh[i : i + CHUNK_PAIRS, 0]] == sig[lsh[i : i + CHUNK_PAIRS, 1]]).mean(axis=1)
                for i in range(0, len(lsh), CHUNK_PAIRS)
            ]
            or [np.zeros(0)]
        )
        found = [lsh[estimate >= floor]]
        if candidates is not None and len(candidates):
            c = np.asarray(candidates, dtype=np.int64).reshape(-1, 2)
            found.append(c[usable[c[:, 0]] & usable[c[:, 1]]])
        pairs = np.unique(np.concatenate(found), axis=0) if any(len(f) for f in found) else np.zeros((0, 2), np.int64)
        if shingles is None:
            shingles = _char_shingles(texts, shingle_size)
        sims = _pair_jaccard(shingles, pairs)
        keep = sims >= threshold
        frames.append(
            pl.DataFrame(
                {"q": pairs[keep, 0], "t": pairs[keep, 1], "kind": "near", "similarity": np.round(sims[keep], 6)}
            )
        )
    if "ngram" in kinds:
        grams = _word_grams(texts, ngram_n)
        qg = grams.filter(pl.col("doc").is_in(q_rows.tolist()))
        tg = grams.filter(pl.col("doc").is_in(t_rows.tolist())).rename({"doc": "t"})
        n_grams = qg.group_by("doc").len(name="n_q")
        shared = (
            qg.join(tg, on="g")
            .group_by("doc", "t")
            .len(name="shared")
            .join(n_grams, on="doc")
            .select(
                pl.col("doc").alias("q"),
                "t",
                pl.lit("ngram").alias("kind"),
                (pl.col("shared") / pl.col("n_q")).alias("similarity"),
            )
        )
        frames.append(shared)
    out = pl.concat([f.cast(schema) for f in frames]) if frames else pl.DataFrame(schema=schema)  # type: ignore[arg-type]
    return out


def _nearest_candidates(
    shingles: pl.DataFrame, n_docs: int, query: np.ndarray, train: np.ndarray, idf_rows: np.ndarray, *, dim: int
) -> np.ndarray:
    """(query row, training row) pairs: each query row's two closest training records in n-gram space.

    MinHash LSH misses a share of pairs near its threshold (its S-curve); the exact closest records
    in n-gram space catch the near copies it misses, so near-copy recall does not rest on banding luck.
    """
    mask = np.zeros(n_docs, dtype=bool)
    mask[idf_rows] = True
    vec = _vectors_from_shingles(shingles, n_docs, mask, dim)
    k = min(2, train.size)
    _, idx = knn.nearest(vec[query], vec[train], k)
    return np.stack([np.repeat(query, k), train[idx.reshape(-1)]], axis=1)


def _orient(pairs: np.ndarray, query: np.ndarray) -> np.ndarray:
    """(query row, training row) from unordered pairs with one row of each."""
    if len(pairs) == 0:
        return np.zeros((0, 2), np.int64)
    is_q = np.isin(pairs[:, 0], query)
    return np.stack([np.where(is_q, pairs[:, 0], pairs[:, 1]), np.where(is_q, pairs[:, 1], pairs[:, 0])], axis=1)


def _strongest(pairs: pl.DataFrame) -> pl.DataFrame:
    """One row per (query, training) pair: its strongest kind (exact > near > ngram)."""
    order = {k: i for i, k in enumerate(COPY_KINDS)}
    return (
        pairs.with_columns(pl.col("kind").replace_strict(order, return_dtype=pl.Int64).alias("_k"))
        .sort(["_k", "similarity", "q", "t"], descending=[False, True, False, False])
        .unique(["q", "t"], keep="first", maintain_order=True)
        .drop("_k")
    )


def find_copies(
    synthetic: Any,
    train: Any,
    *,
    kinds: Sequence[str] = COPY_KINDS,
    threshold: float = 0.5,
    shingle_size: int = 3,
    num_perm: int = 128,
    ngram_n: int = 13,
    seed: int = 0,
) -> pl.DataFrame:
    """Synthetic rows that copy training records: `id, text, match_id, match_text, kind, similarity`.

    `synthetic`, `train`: frames with `text` (and `id`; content hashes otherwise) or lists of texts.
    Kinds: `exact` (normalised texts equal; similarity 1), `near` (exact Jaccard of character
    `shingle_size`-gram sets >= `threshold`; candidate pairs from MinHash LSH with `num_perm`
    permutations, verified exactly), `ngram` (a shared `ngram_n`-word sequence; similarity: the share
    of the synthetic row's `ngram_n`-grams in the record). One row per pair with its strongest kind
    (exact, then near, then ngram), most similar first. Empty texts never match.
    """
    unknown = [k for k in kinds if k not in COPY_KINDS]
    if unknown or not kinds:
        raise InputError(f"unknown copy kind(s) {unknown}; choose from {list(COPY_KINDS)}.")
    if not 0 < threshold <= 1:
        raise InputError(f"threshold must be in (0, 1]; got {threshold}.")
    s_texts, s_ids = _texts_ids(synthetic, "synthetic")
    t_texts, t_ids = _texts_ids(train, "training")
    texts = pl.concat([s_texts, t_texts])
    n_s = s_texts.len()
    query, ref = np.arange(n_s), np.arange(n_s, texts.len())
    candidates, shingles = None, None
    if "near" in kinds and n_s and ref.size:
        shingles = _char_shingles(texts, shingle_size)
        candidates = _nearest_candidates(shingles, texts.len(), query, ref, ref, dim=256)
    pairs = _copy_pairs(
        texts, query, ref, kinds=kinds, threshold=threshold, shingle_size=shingle_size, num_perm=num_perm,
        ngram_n=ngram_n, seed=seed, candidates=candidates, shingles=shingles,
    )  # fmt: skip
    return _copy_frame(_strongest(pairs), texts, np.concatenate([s_ids, t_ids]))


def _copy_frame(pairs: pl.DataFrame, texts: pl.Series, ids: np.ndarray) -> pl.DataFrame:
    if pairs.height == 0:
        return pl.DataFrame(schema=COPY_SCHEMA)
    q, t = pairs["q"].to_numpy(), pairs["t"].to_numpy()
    return pl.DataFrame(
        {
            "id": ids[q].tolist(),
            "text": texts.gather(q.tolist()),
            "match_id": ids[t].tolist(),
            "match_text": texts.gather(t.tolist()),
            "kind": pairs["kind"],
            "similarity": pairs["similarity"],
        },
        schema=COPY_SCHEMA,
    )


# --- rare spans ----------------------------------------------------------------------------------


def _span_items(texts: pl.Series, n: int) -> pl.DataFrame:
    """Every row's spans: (doc, key_h, kind, span) for its `n`-word sequences and PII-like strings."""
    grams = (
        _word_grams(texts, n).rename({"g": "key_h"}).with_columns(kind=pl.lit("ngram"), span=pl.lit(None, pl.String))
    )
    pii = pii_spans(texts).rename({"row": "doc"})
    pii = (
        pii.with_columns(key_h=pl.col("key").hash(seed=3))
        .select("doc", "key_h", "kind", "span")
        .unique(["doc", "key_h", "kind"])
    )
    items = pl.concat([grams.select("doc", "key_h", "kind", "span"), pii], how="vertical_relaxed")
    return items.with_columns(pl.col("doc").cast(pl.Int64))


def _rare_span_hits(
    items: pl.DataFrame, query: np.ndarray, train: np.ndarray, holdout: np.ndarray, *, rare_df: int, role: str
) -> pl.DataFrame:
    """(q, t, key_h, kind, span, df_train, df_holdout): each rare span of a query row found in another training row.

    A span is rare when it is in at most `rare_df` training rows and in no holdout row, not counting
    the query row itself: `role` says which set the query rows belong to (`synthetic`, or the
    baselines `holdout` and `train`: how often fresh and training records share rare spans with
    training records on their own).
    """
    own_t, own_h = (1, 0) if role == "train" else (0, 1) if role == "holdout" else (0, 0)
    in_t = items.filter(pl.col("doc").is_in(train.tolist()))
    df_t = in_t.group_by("key_h", "kind").agg(pl.col("doc").n_unique().alias("df_train"))
    df_h = (
        items.filter(pl.col("doc").is_in(holdout.tolist()))
        .group_by("key_h", "kind")
        .agg(pl.col("doc").n_unique().alias("df_holdout"))
    )
    rare = (
        df_t.filter(pl.col("df_train").is_between(1 + own_t, rare_df + own_t))
        .join(df_h, on=["key_h", "kind"], how="left")
        .with_columns(pl.col("df_holdout").fill_null(0))
        .filter(pl.col("df_holdout") == own_h)
    )
    hits = (
        items.filter(pl.col("doc").is_in(query.tolist()))
        .join(rare, on=["key_h", "kind"])
        .join(in_t.select(pl.col("doc").alias("t"), "key_h", "kind"), on=["key_h", "kind"])
        .filter(pl.col("doc") != pl.col("t"))
    )
    return hits.rename({"doc": "q"})


def _span_text(text: str, grams: set[int], n: int) -> str:
    """The maximal runs of `n`-word sequences of `text` (normalised) whose hashes are in `grams`."""
    words = [w for w in normalize([text])[0].split(" ") if w]
    hashes, _ = shingle_hashes([text], k=n, unit="word", short="drop")
    hit = [int(h) in grams for h in hashes.tolist()]
    runs, i = [], 0
    while i < len(hit):
        if hit[i]:
            j = i
            while j + 1 < len(hit) and hit[j + 1]:
                j += 1
            runs.append(" ".join(words[i : j + n]))
            i = j + 1
        else:
            i += 1
    return " … ".join(runs)


def _span_frame(hits: pl.DataFrame, texts: pl.Series, ids: np.ndarray, n: int) -> pl.DataFrame:
    if hits.height == 0:
        return pl.DataFrame(schema=SPAN_SCHEMA)
    rows = []
    ngram_hits = hits.filter(pl.col("kind") == "ngram")
    by_pair: dict[tuple[int, int], set[int]] = {}
    for q, t, g in ngram_hits.select("q", "t", "key_h").iter_rows():
        by_pair.setdefault((q, t), set()).add(int(g))
    agg = ngram_hits.group_by("q", "t").agg(pl.col("df_train").min(), pl.col("df_holdout").max())
    for q, t, df_t, df_h in agg.sort("q", "t").iter_rows():
        span = _span_text(texts[q], by_pair[(q, t)], n)
        rows.append((ids[q], texts[q], "ngram", span, ids[t], texts[t], df_t, df_h))
    for q, t, kind, span, df_t, df_h in (
        hits.filter(pl.col("kind") != "ngram")
        .sort("q", "t", "kind")
        .select("q", "t", "kind", "span", "df_train", "df_holdout")
        .iter_rows()
    ):
        rows.append((ids[q], texts[q], f"pii:{kind}", span, ids[t], texts[t], df_t, df_h))
    return pl.DataFrame(rows, schema=SPAN_SCHEMA, orient="row")


def leaked_spans(synthetic: Any, train: Any, holdout: Any = None, *, n: int = 13, rare_df: int = 2) -> pl.DataFrame:
    """Rare strings that travel from training records into synthetic rows.

    Spans: PII-like strings (`pii_spans`: emails, URLs, long numbers, letter-digit ids; matched by
    their key, so a phone number is found whatever its separators) and `n`-word sequences of the
    normalised text. A span counts when it occurs in a synthetic row and in a training record and
    is rare in the real data: in at most `rare_df` training records and in no `holdout` record (a
    span fresh real data also contains is not evidence of memorization; boilerplate is never rare).
    Without a holdout only the training frequency is checked. Returns `id, text, kind` (`ngram` or
    `pii:<kind>`), `span` (normalised words for n-grams, as written for PII), `match_id, match_text`
    (the training record), `df_train, df_holdout`; one row per synthetic row, training record and
    kind (a PII row per span).
    """
    if n < 1 or rare_df < 1:
        raise InputError(f"n and rare_df must be >= 1; got n={n}, rare_df={rare_df}.")
    parts = [_texts_ids(synthetic, "synthetic"), _texts_ids(train, "training")]
    if holdout is not None:
        parts.append(_texts_ids(holdout, "holdout"))
    texts = pl.concat([p[0] for p in parts])
    ids = np.concatenate([p[1] for p in parts])
    sizes = np.cumsum([0] + [p[0].len() for p in parts])
    query, ref = np.arange(sizes[0], sizes[1]), np.arange(sizes[1], sizes[2])
    held = np.arange(sizes[2], sizes[3]) if holdout is not None else np.zeros(0, np.int64)
    hits = _rare_span_hits(_span_items(texts, n), query, ref, held, rare_df=rare_df, role="synthetic")
    return _span_frame(hits, texts, ids, n)


# --- canaries ------------------------------------------------------------------------------------

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
CANARY_FORMAT = "The secret code of {name} is {secret}."
SECRET_DIGITS = 9


def _pseudo_name(rng: np.random.Generator) -> str:
    """A pronounceable random name (consonant-vowel x 3, e.g. 'Tavoli'): unique context for a canary."""
    letters = []
    for i in range(6):
        pool = _CONSONANTS if i % 2 == 0 else _VOWELS
        letters.append(pool[int(rng.integers(len(pool)))])
    return "".join(letters).capitalize()


def _secret(rng: np.random.Generator) -> str:
    d = "".join(str(int(x)) for x in rng.integers(0, 10, SECRET_DIGITS))
    return f"{d[:3]}-{d[3:6]}-{d[6:]}"


def plant_canaries(
    df: pl.DataFrame, n: int, seed: int = 0, *, split: str | None = TRAIN_SPLIT
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Plant `n` canaries: unique random secret-bearing sentences appended to `n` training records.

    Each canary reads "The secret code of <Name> is <ddd-ddd-ddd>." with a random pronounceable name
    and 9 random digits (10^9 possible secrets, Carlini et al. 2019). Records are drawn (seeded) from
    the real rows of `split` (all real rows when `split` is None or the frame has no split column).
    Returns `(planted, canaries)`: `df` with those records' texts extended (ids kept: the record is
    the same record, now holding a secret), and one row per canary: `canary_id, id` (the record),
    `name, prefix` (the sentence up to the secret), `secret, sentence`. Feed `planted` to the
    generator (fine-tuning data or few-shot examples), then `canary_report(synthetic, canaries)`.
    """
    if not isinstance(df, pl.DataFrame) or "text" not in df.columns:
        raise InputError("plant_canaries takes a polars frame with a 'text' column (workbench.data.load).")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InputError(f"n must be a non-negative integer; got {n!r}.")
    from workbench.data import validate

    df = validate(df, require_origin=False)
    eligible = pl.lit(True)
    if "origin" in df.columns:
        eligible = eligible & (pl.col("origin") == "real")
    if split is not None and "split" in df.columns:
        eligible = eligible & (pl.col("split") == split)
    rows = np.flatnonzero(df.select(eligible.fill_null(False).alias("e"))["e"].to_numpy())
    if n > rows.size:
        where = f"real rows with split={split!r}" if split is not None and "split" in df.columns else "real rows"
        raise InputError(f"cannot plant {n} canaries: there are {rows.size} {where}.")
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(rows, size=n, replace=False)) if n else np.zeros(0, np.int64)
    names: set[str] = set()
    records = []
    texts = df["text"].to_list()
    for i, row in enumerate(picked.tolist()):
        name = _pseudo_name(rng)
        while name in names:
            name = _pseudo_name(rng)
        names.add(name)
        secret = _secret(rng)
        sentence = CANARY_FORMAT.format(name=name, secret=secret)
        prefix = sentence[: sentence.index(secret)].rstrip()
        texts[row] = f"{texts[row].rstrip()} {sentence}"
        records.append(
            {
                "canary_id": f"canary-{seed}-{i}",
                "id": df["id"][row],
                "name": name,
                "prefix": prefix,
                "secret": secret,
                "sentence": sentence,
            }
        )
    planted = df.with_columns(text=pl.Series(texts, dtype=pl.String))
    schema = {k: pl.String for k in ("canary_id", "id", "name", "prefix", "secret", "sentence")}
    return planted, pl.DataFrame(records, schema=schema)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def canary_report(
    synthetic: Any,
    canaries: pl.DataFrame,
    *,
    model: Any = None,
    context: str | Mapping[str, str] | None = None,
    n_candidates: int = 256,
    seed: int = 0,
    batch_size: int = 32,
) -> pl.DataFrame:
    """How the planted canaries (`plant_canaries`) show up in the synthetic rows, one row per canary.

    `full`: synthetic rows holding the canary's secret (its digits in order, whatever the
    separators); `partial`: rows holding a run of at least half the secret's digits but not all;
    `name_only`: rows naming the canary's name without its secret (the model copied the sentence, not
    the secret); `rows`: the ids of the full and partial rows.

    With `model` (a `workbench.generate.LocalLM`, or anything with a `tokenizer` and
    `continuation_logprobs(prompt_ids, continuation_ids)`): `exposure` (Carlini et al. 2019):
    log2(m + 1) - log2(rank), where rank is the secret's rank (1 = most likely) among itself and `m`
    = `n_candidates` random secrets of the same format, by the model's log-probability of the
    secret after the context and the canary's prefix. It ranges from 0 to log2(m + 1) (`exposure_max`;
    reached means the secret beat every candidate: the true exposure may be higher). Random
    guessing gives about 1 bit. `context`: the text the model saw before answering (one string for
    all canaries or canary_id -> string); default: the first synthetic row's `prompt` that contains
    the canary's sentence (few-shot generation), else nothing (the canary was in the model's training).
    """
    if not isinstance(canaries, pl.DataFrame) or not {"canary_id", "prefix", "secret", "name"} <= set(canaries.columns):
        raise InputError("canaries must be the frame plant_canaries returned (canary_id, name, prefix, secret, ...).")
    s_texts, s_ids = _texts_ids(synthetic, "synthetic")
    if isinstance(n_candidates, bool) or not isinstance(n_candidates, int) or n_candidates < 1:
        raise InputError(f"n_candidates must be a positive integer; got {n_candidates!r}.")
    texts = s_texts.to_list()
    digit_texts = [_digits(t) for t in texts]
    lower = [t.lower() for t in texts]
    prompts = (
        synthetic["prompt"].to_list() if isinstance(synthetic, pl.DataFrame) and "prompt" in synthetic.columns else None
    )
    rows = []
    rng = np.random.default_rng(seed)
    for c in canaries.iter_rows(named=True):
        secret = _digits(c["secret"])
        half = math.ceil(len(secret) / 2)
        halves = {secret[i : i + half] for i in range(len(secret) - half + 1)}
        full = [i for i, d in enumerate(digit_texts) if secret in d]
        is_full = set(full)
        partial = [i for i, d in enumerate(digit_texts) if i not in is_full and any(h in d for h in halves)]
        name_only = [i for i, t in enumerate(lower) if c["name"].lower() in t and i not in is_full]
        row: dict[str, Any] = {
            "canary_id": c["canary_id"],
            "secret": c["secret"],
            "full": len(full),
            "partial": len(partial),
            "name_only": len(name_only),
            "rows": [str(s_ids[i]) for i in full + partial],
            "exposure": None,
            "rank": None,
            "n_candidates": None,
            "exposure_max": None,
        }
        if model is not None:
            if isinstance(context, Mapping):
                ctx = context.get(c["canary_id"], "")
            elif isinstance(context, str):
                ctx = context
            else:
                sentence = c.get("sentence") or c["prefix"]
                ctx = next((p for p in (prompts or []) if p and sentence in p), "")
            rank = _secret_rank(model, ctx, c["prefix"], c["secret"], n_candidates, rng, batch_size)
            row |= {
                "exposure": math.log2(n_candidates + 1) - math.log2(rank),
                "rank": rank,
                "n_candidates": n_candidates,
                "exposure_max": math.log2(n_candidates + 1),
            }
        rows.append(row)
    schema: dict[str, Any] = {
        "canary_id": pl.String, "secret": pl.String, "full": pl.Int64, "partial": pl.Int64, "name_only": pl.Int64,
        "rows": pl.List(pl.String), "exposure": pl.Float64, "rank": pl.Int64, "n_candidates": pl.Int64,
        "exposure_max": pl.Float64,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def _random_like(secret: str, rng: np.random.Generator) -> str:
    return "".join(str(int(rng.integers(10))) if ch in string.digits else ch for ch in secret)


def _secret_rank(
    model: Any, context: str, prefix: str, secret: str, m: int, rng: np.random.Generator, batch_size: int
) -> int:
    """1 + the number of `m` random same-format secrets the model finds more likely than `secret`."""
    candidates: list[str] = []
    seen = {secret}
    while len(candidates) < m:
        cand = _random_like(secret, rng)
        if cand not in seen:
            seen.add(cand)
            candidates.append(cand)
    tok = model.tokenizer
    prompt_ids = list(tok(context + prefix, add_special_tokens=False)["input_ids"])
    conts = [list(tok(" " + s, add_special_tokens=False)["input_ids"]) for s in [secret, *candidates]]
    scores = np.asarray(model.continuation_logprobs([prompt_ids], conts, batch_size=batch_size))[0]
    return 1 + int((scores[1:] > scores[0]).sum())


# --- the registered check ------------------------------------------------------------------------


@dataclass
class PrivacyCheck(Check):
    """Synthetic rows must not copy or memorize the real training records (split 'train').

    Fails on a verbatim copy of a rare span (PII-like, or a `span_n`-word sequence, in at most
    `rare_df` training records and no holdout record): any, when real records never share one with
    a training record; else significantly more often than real records do. Fails when synthetic
    rows are significantly closer to training than to the holdout (distance to closest record in
    embedding and n-gram space; expected share n_train / (n_train + n_holdout)). Warns when
    synthetic rows copy training records (exact, or near: character `shingle_size`-gram Jaccard >=
    `threshold`) significantly more often than holdout rows do (any copy without a holdout). The
    tests form one Holm family at `alpha`. Score: the share of synthetic rows closer to training than
    to the holdout (SDMetrics' DCR share), in embedding space when embeddings are available, else
    n-gram space; threshold: its expectation.
    """

    name = "privacy"
    failure_mode = "privacy"
    description = "synthetic rows that copy or memorize real training records: DCR vs a holdout, copies, rare spans"
    requires_origins = ("real", "synthetic")
    min_rows = 2
    alpha: float = param(0.05, ge=1e-10, lt=1)
    quantile: float = param(0.05, gt=0, lt=1)
    threshold: float = param(0.5, gt=0, le=1)
    shingle_size: int = param(3, ge=1, le=100)
    num_perm: int = param(128, ge=1, le=1024)
    span_n: int = param(13, ge=1, le=200)
    rare_df: int = param(2, ge=1, le=1000)
    ngram_dim: int = param(256, ge=8, le=4096)
    embedding: bool = True
    evidence_rows: int = param(200, ge=1, le=100_000)

    def run(self, ctx: Context) -> CheckResult:
        if "split" not in ctx.df.columns:
            return self.result(
                "skipped",
                "Skipped: the data has no 'split' column. Mark the real rows the generator learned from with "
                "split='train' and real rows it never saw with split='holdout' (synthetic rows: any split).",
                details={"reason": "no split column"},
            )
        df = ctx.df.with_columns(pl.col("split").cast(pl.String))
        origin, split = df["origin"], df["split"].fill_null("")
        train = np.flatnonzero(((origin == "real") & (split == TRAIN_SPLIT)).to_numpy())
        hold = np.flatnonzero(((origin == "real") & (split == HOLDOUT_SPLIT)).to_numpy())
        synth = np.flatnonzero((origin == "synthetic").to_numpy())
        found = sorted(set(df.filter(pl.col("origin") == "real")["split"].drop_nulls().to_list()))
        if train.size == 0:
            return self.result(
                "skipped",
                f"Skipped: no training records. Mark the real rows the generator learned from (its fine-tuning data or "
                f"few-shot examples) with split='train', and real rows it never saw with split='holdout'; the real rows "
                f"have splits {found}.",
                details={"reason": "no real rows with split='train'", "splits": found},
            )
        ids = df["id"].cast(pl.String).to_numpy().astype(object)
        overlap = sorted(set(ids[train].tolist()) & set(ids[hold].tolist()))
        if overlap:
            return self.result(
                "skipped",
                f"Skipped: {len(overlap)} record id(s) are both training and holdout rows (e.g. {overlap[:3]}): a "
                "holdout must be real data the generator never saw. Give each record one split.",
                details={"reason": "holdout ids overlap training ids", "overlapping_ids": overlap[:50]},
            )
        texts = df["text"].cast(pl.String).fill_null("")
        norm = normalize(texts)
        held_in_train = (
            int(norm.gather(hold.tolist()).is_in(norm.gather(train.tolist()).to_list()).sum()) if hold.size else 0
        )
        has_holdout = hold.size > 0
        details: dict[str, Any] = {
            "training_rows": int(train.size),
            "holdout_rows": int(hold.size),
            "synthetic_rows": int(synth.size),
            "holdout_texts_in_training": held_in_train,
        }

        # distance to closest record: embedding space (when embeddings) and n-gram space
        dcr: dict[str, DCRTest] = {}
        ngram_candidates: list[np.ndarray] = []
        shingles = _char_shingles(texts, self.shingle_size)
        if has_holdout and train.size >= 1:
            real_mask = np.zeros(df.height, dtype=bool)
            real_mask[train] = True
            real_mask[hold] = True
            vec = _vectors_from_shingles(shingles, df.height, real_mask, self.ngram_dim)
            dcr["ngram"] = dcr_test(vec[synth], vec[train], vec[hold], quantile=self.quantile, space="ngram")
            # each synthetic and holdout row's two closest training records are near-copy candidates
            for rows, idx in ((synth, dcr["ngram"].synthetic_neighbours), (hold, dcr["ngram"].holdout_neighbours)):
                k = idx.shape[1]
                ngram_candidates.append(np.stack([np.repeat(rows, k), train[idx.reshape(-1)]], axis=1))
            if self.embedding and ctx.can_embed:
                emb = ctx.embeddings()
                dcr["embedding"] = dcr_test(
                    emb[synth], emb[train], emb[hold], quantile=self.quantile, space="embedding"
                )
        details["dcr"] = {name: t.as_dict() | {"histogram": t.histogram()} for name, t in dcr.items()}

        # copies: synthetic -> train, and the holdout -> train baseline
        query = np.concatenate([synth, hold])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WorkbenchWarning)
            pairs = _copy_pairs(
                texts, query, train, kinds=("exact", "near"), threshold=self.threshold, shingle_size=self.shingle_size,
                num_perm=self.num_perm, ngram_n=self.span_n, seed=ctx.seed,
                candidates=np.concatenate(ngram_candidates) if ngram_candidates else None, shingles=shingles,
            )  # fmt: skip
        pairs = _strongest(pairs)
        is_synth = pl.col("q").is_in(synth.tolist())
        s_pairs, h_pairs = pairs.filter(is_synth), pairs.filter(~is_synth)
        s_copied, h_copied = s_pairs["q"].n_unique(), h_pairs["q"].n_unique()
        s_exact = s_pairs.filter(pl.col("kind") == "exact")["q"].n_unique()
        details["copies"] = {
            "synthetic_rows_copying": s_copied,
            "synthetic_exact": s_exact,
            "synthetic_near": s_copied - s_exact,
            "holdout_rows_copying": h_copied,
            "synthetic_share": s_copied / synth.size if synth.size else None,
            "holdout_share": h_copied / hold.size if has_holdout else None,
        }

        # rare spans: synthetic -> train; the baseline: how often real records share rare spans with
        # training records on their own (holdout rows, and training rows with the other training rows)
        items = _span_items(texts, self.span_n)
        s_hits = _rare_span_hits(items, synth, train, hold, rare_df=self.rare_df, role="synthetic")
        base_hits = [_rare_span_hits(items, train, train, hold, rare_df=self.rare_df, role="train")]
        if has_holdout:
            base_hits.append(_rare_span_hits(items, hold, train, hold, rare_df=self.rare_df, role="holdout"))
        spans = _span_frame(s_hits, texts, ids, self.span_n)
        s_leaking = s_hits["q"].n_unique()
        b_sharing = sum(h["q"].n_unique() for h in base_hits)
        n_base = int(train.size + hold.size)
        details["spans"] = {
            "synthetic_rows_leaking": s_leaking,
            "real_rows_sharing": b_sharing,
            "real_rows": n_base,
            "by_kind": {k: int(v) for k, v in spans.group_by("kind").len().sort("kind").iter_rows()},
        }

        # the tests: one Holm family (DCR per space, rare spans and copies against their real baselines)
        names, p_raw = [], []
        for name, t in dcr.items():
            names.append(f"dcr_{name}")
            p_raw.append(t.p_value)
        if s_leaking and b_sharing:
            names.append("spans")
            table = [[s_leaking, synth.size - s_leaking], [b_sharing, n_base - b_sharing]]
            p_raw.append(fisher_exact_p(table, alternative="greater"))
        if has_holdout:
            names.append("copies")
            table = [[s_copied, synth.size - s_copied], [h_copied, hold.size - h_copied]]
            p_raw.append(fisher_exact_p(table, alternative="greater") if s_copied else 1.0)
        p_adj = holm(p_raw) if p_raw else np.zeros(0)
        adjusted = dict(zip(names, [float(p) for p in p_adj]))
        details["p_values"] = dict(zip(names, [float(p) for p in p_raw]))
        details["p_values_holm"] = adjusted
        memorized = [n for n in dcr if adjusted[f"dcr_{n}"] < self.alpha]
        copies_significant = adjusted.get("copies", 1.0) < self.alpha if has_holdout else s_copied > 0
        # any rare span leaks when real records never share one; else only significantly more often
        spans_fail = bool(s_leaking) and (b_sharing == 0 or adjusted["spans"] < self.alpha)

        evidence = self._evidence(
            spans, pairs=s_pairs, texts=texts, ids=ids, dcr=dcr, synth=synth, train=train, memorized=memorized
        )
        headline = dcr.get("embedding") or dcr.get("ngram")
        score = None if headline is None else round(headline.closer_to_train.value, 6)
        threshold = None if headline is None else round(headline.expected, 6)
        status, summary = self._verdict(
            dcr=dcr, memorized=memorized, adjusted=adjusted, spans_fail=spans_fail, s_leaking=s_leaking,
            b_sharing=b_sharing, n_base=n_base, spans=spans, s_copied=s_copied, s_exact=s_exact, h_copied=h_copied,
            copies_significant=copies_significant, n_synth=int(synth.size), n_hold=int(hold.size),
            held_in_train=held_in_train,
        )  # fmt: skip
        return self.result(
            status,
            summary,
            score=score,
            score_meaning=(
                "share of synthetic rows closer to a training record than to any holdout record (distance to "
                "closest record; higher is worse, the threshold is its value without memorization)"
            ),
            threshold=threshold,
            evidence=evidence,
            details=details,
        )

    def _evidence(
        self,
        spans: pl.DataFrame,
        *,
        pairs: pl.DataFrame,
        texts: pl.Series,
        ids: np.ndarray,
        dcr: dict[str, DCRTest],
        synth: np.ndarray,
        train: np.ndarray,
        memorized: list[str],
    ) -> pl.DataFrame:
        cols = ["id", "text", "kind", "span", "match_id", "match_text", "similarity"]
        parts = [spans.with_columns(similarity=pl.lit(None, pl.Float64)).select(cols)]
        copies = _copy_frame(pairs, texts, ids)
        parts.append(copies.with_columns(span=pl.lit(None, pl.String)).select(cols))
        for name in memorized:
            t = dcr[name]
            order = np.argsort(t.synthetic_to_train, kind="stable")[:20]
            q, m = synth[order], train[t.nearest_train[order]]
            parts.append(
                pl.DataFrame(
                    {
                        "id": ids[q].tolist(),
                        "text": texts.gather(q.tolist()),
                        "kind": [f"closest ({name})"] * q.size,
                        "span": [None] * q.size,
                        "match_id": ids[m].tolist(),
                        "match_text": texts.gather(m.tolist()),
                        "similarity": np.round(1.0 - t.synthetic_to_train[order], 6),
                    },
                    schema={c: pl.Float64 if c == "similarity" else pl.String for c in cols},
                )
            )
        return pl.concat(parts).head(self.evidence_rows)

    def _verdict(
        self,
        *,
        dcr: dict[str, DCRTest],
        memorized: list[str],
        adjusted: dict[str, float],
        spans_fail: bool,
        s_leaking: int,
        b_sharing: int,
        n_base: int,
        spans: pl.DataFrame,
        s_copied: int,
        s_exact: int,
        h_copied: int,
        copies_significant: bool,
        n_synth: int,
        n_hold: int,
        held_in_train: int,
    ) -> tuple[Status, str]:
        sentences: list[str] = []
        kinds = ", ".join(f"{v} {k}" for k, v in spans.group_by("kind").len().sort("kind").iter_rows())
        shared = (
            f"real records share such strings with training records on their own: {b_sharing} of {n_base}"
            if b_sharing
            else "no real record shares one with another"
        )
        if spans_fail:
            sentences.append(
                f"{s_leaking} of {n_synth} synthetic rows reproduce rare strings of training records verbatim ({kinds}): "
                f"strings in at most {self.rare_df} training records and no holdout record ({shared})."
            )
        for name in memorized:
            t = dcr[name]
            sentences.append(
                f"In {name} space {t.closer_to_train.value:.1%} of synthetic rows are closer to a training record than to "
                f"any holdout record (expected {t.expected:.1%} without memorization; 95% interval "
                f"{t.closer_to_train.lo:.1%}-{t.closer_to_train.hi:.1%}, Holm p={adjusted[f'dcr_{name}']:.2g}): about "
                f"{max(0.0, t.memorized.value):.1%} of the synthetic rows sit on training records."
            )
        if copies_significant or ((spans_fail or memorized) and s_copied):
            baseline = (
                f" (holdout rows: {h_copied} of {n_hold}, {h_copied / n_hold:.1%})"
                if n_hold
                else " (no holdout to compare with)"
            )
            sentences.append(
                f"{s_copied} synthetic rows ({s_copied / n_synth:.1%}) copy training records: {s_exact} exact, "
                f"{s_copied - s_exact} near (character {self.shingle_size}-gram Jaccard >= {self.threshold}){baseline}."
            )
        fix = (
            " Drop the synthetic rows that copy training records (the evidence pairs), filter rare spans and PII out of "
            "the prompts or training data, deduplicate the training data, and vary the prompts (fewer, rotated few-shot "
            "examples)."
        )
        no_holdout = (
            " No holdout: mark real rows the generator never saw with split='holdout' (a random part of the real data "
            "set aside before generating) to test memorization by distance to closest record and to tell copies from "
            "the real data's own duplicates."
            if not n_hold
            else ""
        )
        overlap = (
            f" {held_in_train} holdout texts also occur among the training texts (duplicates in the real data)."
            if held_in_train
            else ""
        )
        if spans_fail or memorized:
            return "fail", " ".join(sentences) + fix + no_holdout + overlap
        if copies_significant:
            return "warn", " ".join(sentences) + fix + no_holdout + overlap
        measured = ", ".join(
            f"{name} space {t.closer_to_train.value:.1%} closer to training (expected {t.expected:.1%})"
            for name, t in dcr.items()
        )
        notes = ""
        if s_copied:
            notes += f"; {s_copied} rows copy training records, no more often than holdout rows do ({h_copied})"
        if s_leaking:
            notes += (
                f"; {s_leaking} rows share rare strings with training records, no more often than real records do "
                f"({b_sharing} of {n_base}: the real data's own duplicates)"
            )
        else:
            notes += "; no rare training string is reproduced"
        quiet = (
            f"No sign of memorization in {n_synth} synthetic rows: "
            f"{measured or 'distance to closest record not measured'}{notes}."
        )
        return "pass", quiet + no_holdout + overlap


register(PrivacyCheck())
