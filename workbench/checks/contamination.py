"""Contamination: evaluation data that resembles training data (leakage across splits).

`find_duplicates(df)` returns pairs of rows in different splits that are duplicates of one kind:

- `exact`: the same text after normalisation (Unicode NFKC, lower case, punctuation dropped,
  whitespace collapsed). Similarity 1.
- `near`: MinHash (Broder 1997) over character (or word) shingles of the normalised text, with
  locality-sensitive hashing (banding, as in Leskovec et al., *Mining of Massive Datasets*, ch. 3)
  to find candidate pairs; a candidate is kept when its MinHash estimate of the Jaccard similarity
  of the two shingle sets reaches `threshold`. Similarity: that estimate (standard error
  sqrt(J(1-J)/num_perm)). Vectorised numpy; no per-document Python loop.
- `ngram`: long word n-gram overlap (n=13, as in the GPT-3 contamination analysis, Brown et al.
  2020): a pair shares at least one 13-gram. Similarity: the share of the first row's 13-grams
  found in the second. Texts shorter than n words have no n-grams and never match this way.
- `semantic`: cosine similarity of sentence embeddings at or above `semantic_threshold`, computed
  block by block so memory stays bounded (`block_bytes`) whatever the number of rows.

The registered `contamination` check fails when rows held out for evaluation (`eval`, `test`,
`holdout`, `anchor` splits, and the frozen anchor set) have exact, near or n-gram duplicates in
training splits (`train`, `tune`, `dev`, `validation`); semantic-only matches warn. Evidence: the
pairs side by side. Mitigation (the seed's): strict holdouts, provenance, and dropping the training
rows that duplicate held-out ones (`drop_leaks`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from workbench.checks import register
from workbench.checks.base import Check, CheckResult, Context, Status, param
from workbench.data import HELD_OUT_SPLITS, TRAINING_SPLITS, stable_ids
from workbench.errors import InputError, SchemaError, WorkbenchWarning
from workbench.minhash import jaccard as jaccard
from workbench.minhash import key_pairs as _key_pairs
from workbench.minhash import lsh_candidates as lsh_candidates
from workbench.minhash import lsh_params as lsh_params
from workbench.minhash import minhash_signatures as minhash_signatures
from workbench.minhash import normalize as normalize
from workbench.minhash import shingle_hashes as shingle_hashes

KINDS = ("exact", "near", "ngram", "semantic")
PAIR_SCHEMA = {
    "id_a": pl.String,
    "id_b": pl.String,
    "split_a": pl.String,
    "split_b": pl.String,
    "kind": pl.String,
    "similarity": pl.Float64,
    "text_a": pl.String,
    "text_b": pl.String,
}


# --- pairs across splits -------------------------------------------------------------------------


@dataclass
class _Pairing:
    """Which pairs count: rows in `a` splits against rows in `b` splits, or any two different splits."""

    split: np.ndarray  # split name per row (object array)
    splits_a: tuple[str, ...] | None
    splits_b: tuple[str, ...] | None

    def orient(self, pairs: np.ndarray) -> np.ndarray:
        """Keep the pairs that count, as (a, b): held-out side first when no sides are given."""
        if pairs.size == 0:
            return pairs.reshape(0, 2)
        i, j = pairs[:, 0], pairs[:, 1]
        si, sj = self.split[i], self.split[j]
        if self.splits_a is None:
            keep = si != sj
            rank_i = np.isin(si, HELD_OUT_SPLITS)
            rank_j = np.isin(sj, HELD_OUT_SPLITS)
            swap = rank_j & ~rank_i
            a = np.where(swap, j, i)[keep]
            b = np.where(swap, i, j)[keep]
            return np.stack([a, b], axis=1)
        assert self.splits_b is not None
        fwd = np.isin(si, self.splits_a) & np.isin(sj, self.splits_b)
        back = np.isin(sj, self.splits_a) & np.isin(si, self.splits_b) & ~fwd
        a = np.concatenate([i[fwd], j[back]])
        b = np.concatenate([j[fwd], i[back]])
        return np.stack([a, b], axis=1)

    def combos(self, usable: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """The (left, right) row sets whose cross pairs count: sides a x b, or each two splits."""
        if self.splits_a is not None:
            return [(self.rows("a")[usable[self.rows("a")]], self.rows("b")[usable[self.rows("b")]])]
        names = sorted(set(self.split[usable].tolist()) - {""})
        by = {name: np.flatnonzero(usable & (self.split == name)) for name in names}
        return [(by[x], by[y]) for i, x in enumerate(names) for y in names[i + 1 :]]

    def rows(self, side: str) -> np.ndarray:
        splits = self.splits_a if side == "a" else self.splits_b
        if splits is None:
            return np.arange(self.split.size)
        return np.flatnonzero(np.isin(self.split, splits))


def _exact_pairs(norm: pl.Series, usable: np.ndarray, pairing: _Pairing) -> tuple[np.ndarray, np.ndarray]:
    keys = norm.hash(seed=11).to_numpy().astype(np.uint64)
    pairs = pairing.orient(_key_pairs(keys, pairing.combos(usable)))
    return pairs, np.ones(len(pairs))


def _near_pairs(
    texts: pl.Series,
    usable: np.ndarray,
    pairing: _Pairing,
    *,
    threshold: float,
    num_perm: int,
    k: int,
    unit: str,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    sig, has = minhash_signatures(texts, num_perm=num_perm, k=k, unit=unit, seed=seed)
    bands, r = lsh_params(threshold, num_perm)
    pairs = pairing.orient(lsh_candidates(sig, bands, r, pairing.combos(usable & has)))
    if not len(pairs):
        return pairs, np.zeros(0)
    sims = np.empty(len(pairs))
    step = 1 << 14
    for s in range(0, len(pairs), step):
        p = pairs[s : s + step]
        sims[s : s + step] = (sig[p[:, 0]] == sig[p[:, 1]]).mean(axis=1)
    keep = sims >= threshold
    return pairs[keep], sims[keep]


def _ngram_pairs(texts: pl.Series, usable: np.ndarray, pairing: _Pairing, *, n: int) -> tuple[np.ndarray, np.ndarray]:
    hashes, doc = shingle_hashes(texts, k=n, unit="word", short="drop")
    keep = usable[doc]
    grams = pl.DataFrame({"doc": doc[keep], "g": hashes[keep]}, schema={"doc": pl.Int64, "g": pl.UInt64}).unique()
    n_grams = np.bincount(grams["doc"].to_numpy(), minlength=len(usable)) if grams.height else np.zeros(len(usable))
    shared = grams.filter(pl.col("g").is_duplicated())
    found = []
    for left, right in pairing.combos(usable):
        fl = shared.filter(pl.col("doc").is_in(left))
        fr = shared.filter(pl.col("doc").is_in(right)).rename({"doc": "doc_b"})
        counted = (
            fl.join(fr, on="g")
            .filter(pl.col("doc") != pl.col("doc_b"))
            .select(pl.min_horizontal("doc", "doc_b").alias("lo"), pl.max_horizontal("doc", "doc_b").alias("hi"), "g")
            .unique()
            .group_by("lo", "hi")
            .len(name="shared")
        )
        found.append(counted)
    if not found:
        return np.zeros((0, 2), np.int64), np.zeros(0)
    allp = pl.concat(found).group_by("lo", "hi").agg(pl.col("shared").max()).sort("lo", "hi")
    if allp.height == 0:
        return np.zeros((0, 2), np.int64), np.zeros(0)
    unordered = allp.select("lo", "hi").to_numpy().astype(np.int64)
    count = dict(zip(map(tuple, unordered.tolist()), allp["shared"].to_list()))
    pairs = pairing.orient(unordered)
    sims = np.array(
        [count[(min(a, b), max(a, b))] / n_grams[a] for a, b in pairs.tolist()],
        dtype=np.float64,
    )
    return pairs, sims


def _semantic_pairs(
    emb: np.ndarray, usable: np.ndarray, pairing: _Pairing, *, threshold: float, block_bytes: int
) -> tuple[np.ndarray, np.ndarray]:
    rows_a = np.intersect1d(pairing.rows("a"), np.flatnonzero(usable))
    rows_b = np.intersect1d(pairing.rows("b"), np.flatnonzero(usable))
    same = pairing.splits_a is None
    contiguous = len(rows_b) > 0 and rows_b[-1] - rows_b[0] + 1 == len(rows_b)
    eb = emb[rows_b[0] : rows_b[-1] + 1] if contiguous else emb[rows_b]  # a view when possible: no copy
    block = max(1, block_bytes // max(1, 4 * len(rows_b)))
    found_i, found_j, found_s = [], [], []
    for s in range(0, len(rows_a), block):
        ra = rows_a[s : s + block]
        if same:
            # the upper triangle only: each unordered pair once
            sims = emb[ra] @ eb[s:].T
            ii, jj = np.nonzero(sims >= threshold)
            keep = jj > ii
            ii, jj = ii[keep], jj[keep]
            found_j.append(rows_b[s:][jj])
        else:
            sims = emb[ra] @ eb.T
            ii, jj = np.nonzero(sims >= threshold)
            found_j.append(rows_b[jj])
        found_i.append(ra[ii])
        found_s.append(sims[ii, jj].astype(np.float64))
    if not found_i:
        return np.zeros((0, 2), np.int64), np.zeros(0)
    i, j, sim = np.concatenate(found_i), np.concatenate(found_j), np.concatenate(found_s)
    keep = i != j
    i, j, sim = i[keep], j[keep], sim[keep]
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    pairs = np.stack([lo, hi], axis=1).astype(np.int64)
    lookup = dict(zip(map(tuple, pairs.tolist()), sim.tolist()))
    if pairs.size:
        pairs = np.unique(pairs, axis=0)
    oriented = pairing.orient(pairs)
    sims_out = np.array([lookup[(min(a, b), max(a, b))] for a, b in oriented.tolist()], dtype=np.float64)
    return oriented, np.minimum(sims_out, 1.0)


def _as_unit_vectors(embeddings: Any, n: int) -> np.ndarray:
    emb = np.asarray(embeddings, dtype=np.float32)
    if emb.ndim != 2 or emb.shape[0] != n:
        raise InputError(f"embeddings must be an (n_rows, dim) array aligned with the {n} rows; got shape {emb.shape}.")
    if not np.all(np.isfinite(emb)):
        raise InputError("embeddings contain NaN or infinite values; recompute them.")
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    if np.all(np.abs(norms - 1.0) < 1e-4):
        return emb  # already unit length (the Embedder's output): no copy
    return emb / np.where(norms == 0, 1.0, norms)


def find_duplicates(
    df: pl.DataFrame,
    kinds: Sequence[str] = ("exact", "near", "semantic"),
    *,
    splits_a: Sequence[str] | None = None,
    splits_b: Sequence[str] | None = None,
    threshold: float = 0.5,
    shingle_size: int = 3,
    shingle: str = "char",
    num_perm: int = 128,
    ngram_n: int = 13,
    semantic_threshold: float = 0.9,
    embeddings: np.ndarray | None = None,
    embedder: Any = None,
    block_bytes: int = 64 << 20,
    seed: int = 0,
) -> pl.DataFrame:
    """Pairs of rows in different splits that duplicate each other, one row per pair and kind.

    `df` needs `text` and `split` (and uses `id` when present, content hashes otherwise). `kinds`
    picks from `exact`, `near`, `ngram`, `semantic` (see the module docstring). By default every
    pair of rows in two different splits counts, the held-out row (`eval`, `test`, `holdout`,
    `anchor`) as `a`; `splits_a=["eval"], splits_b=["train"]` restricts to those sides.

    Near duplicates: `shingle` unit (`char` or `word`) and `shingle_size` k; `threshold` on the
    estimated Jaccard similarity; `num_perm` MinHash permutations. Semantic: `embeddings` aligned
    with rows, else `embedder.encode` (default: the bundled `Embedder`); `block_bytes` bounds the
    similarity block held in memory.

    Documented behaviour: texts that are empty after normalisation are skipped (with a
    `WorkbenchWarning`); texts shorter than the shingle size are one shingle (their whole text);
    texts shorter than `ngram_n` words have no n-grams. Returns columns `id_a, id_b, split_a,
    split_b, kind, similarity, text_a, text_b`, sorted by kind, then similarity (highest first).
    """
    if not isinstance(df, pl.DataFrame):
        raise InputError(
            f"find_duplicates() takes a polars DataFrame; got {type(df).__name__}. Use workbench.data.load()."
        )
    kinds = tuple(kinds)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise InputError(f"unknown duplicate kind(s) {unknown}; choose from {list(KINDS)}.")
    if "text" not in df.columns:
        raise SchemaError(f"column 'text' is missing; found {df.columns}. Map one with load(path, text='your_column').")
    if "split" not in df.columns:
        raise SchemaError(
            "find_duplicates compares splits, but the data has no 'split' column. Add one naming each row's "
            "split, e.g. df.with_columns(split=pl.lit('train')) for training rows and 'eval' (or 'anchor') for "
            "held-out rows, then concatenate them."
        )
    if (splits_a is None) != (splits_b is None):
        raise InputError("pass both splits_a and splits_b (the two sides to compare), or neither.")
    if shingle_size < 1 or ngram_n < 1:
        raise InputError("shingle_size and ngram_n must be >= 1.")
    n = df.height
    split = df["split"].cast(pl.String).fill_null("").to_numpy().astype(object)
    present = sorted(set(split.tolist()) - {""})
    if splits_a is None:
        if n and len(present) < 2:
            raise InputError(
                f"the data has a single split {present}; duplicates across splits need at least two. Mark the "
                "held-out rows, e.g. split='eval' (or 'anchor'), or pass splits_a=[...], splits_b=[...] with the "
                "same split on both sides to find duplicates inside it."
            )
        pairing = _Pairing(split, None, None)
    else:
        assert splits_b is not None
        sa, sb = tuple(splits_a), tuple(splits_b)
        missing = [s for s in (*sa, *sb) if s not in present]
        if n and (not set(sa) & set(present) or not set(sb) & set(present)):
            raise InputError(f"split(s) {missing} are not in the data; found splits {present}.")
        pairing = _Pairing(split, sa, sb)

    texts = df["text"].cast(pl.String)
    ids = (
        df["id"].cast(pl.String).to_numpy()
        if "id" in df.columns
        else np.array(stable_ids(texts.fill_null("").to_list()))
    )
    norm = normalize(texts)
    usable = (norm.str.len_chars() > 0).to_numpy() & (split != "")
    n_empty = int((norm.str.len_chars() == 0).sum())
    if n_empty:
        warnings.warn(
            f"{n_empty} row(s) have no text after normalisation (empty, or punctuation only); they are never "
            "counted as duplicates. Drop or fill them (load(..., drop_empty=True)).",
            WorkbenchWarning,
            stacklevel=2,
        )
    emb: np.ndarray | None = None
    if "semantic" in kinds and n:
        if embeddings is None:
            if embedder is None:
                from workbench.embed import Embedder

                embedder = Embedder()
            embeddings = embedder.encode(texts.fill_null("").to_list())
        emb = _as_unit_vectors(embeddings, n)

    frames = []
    for kind in kinds:
        if n == 0:
            break
        if kind == "exact":
            pairs, sims = _exact_pairs(norm, usable, pairing)
        elif kind == "near":
            pairs, sims = _near_pairs(
                texts, usable, pairing, threshold=threshold, num_perm=num_perm, k=shingle_size, unit=shingle, seed=seed
            )
        elif kind == "ngram":
            pairs, sims = _ngram_pairs(texts, usable, pairing, n=ngram_n)
        else:
            assert emb is not None
            pairs, sims = _semantic_pairs(emb, usable, pairing, threshold=semantic_threshold, block_bytes=block_bytes)
        if not len(pairs):
            continue
        a, b = pairs[:, 0], pairs[:, 1]
        frames.append(
            pl.DataFrame(
                {
                    "id_a": ids[a].tolist(),
                    "id_b": ids[b].tolist(),
                    "split_a": split[a].tolist(),
                    "split_b": split[b].tolist(),
                    "kind": [kind] * len(a),
                    "similarity": np.round(sims.astype(np.float64), 6),
                    "text_a": texts.gather(a.tolist()),
                    "text_b": texts.gather(b.tolist()),
                },
                schema=PAIR_SCHEMA,
            )
        )
    if not frames:
        return pl.DataFrame(schema=PAIR_SCHEMA)
    order = {k: i for i, k in enumerate(KINDS)}
    out = pl.concat(frames)
    return (
        out.with_columns(pl.col("kind").replace_strict(order, return_dtype=pl.Int64).alias("_k"))
        .sort(["_k", "similarity", "id_a", "id_b"], descending=[False, True, False, False])
        .drop("_k")
    )


def drop_leaks(df: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """The mitigation: `df` without the training-side rows (`id_b`) of the given duplicate pairs.

    Held-out rows stay untouched, so the evaluation set is unchanged and training no longer
    contains its duplicates.
    """
    if "id" not in df.columns:
        raise SchemaError("drop_leaks needs the 'id' column that find_duplicates reported; validate the data first.")
    return df.filter(~pl.col("id").is_in(pairs["id_b"].unique().to_list()))


# --- the registered check ------------------------------------------------------------------------


@dataclass
class ContaminationCheck(Check):
    """Held-out rows (eval, test, holdout, anchor splits and the frozen anchor set) must not be
    duplicated in training splits (train, tune, dev, validation).

    Fails on exact, near (MinHash Jaccard >= `threshold` over character `shingle_size`-grams) or
    `ngram_n`-gram duplicates; warns when the only matches are semantic (embedding cosine >=
    `semantic_threshold`, run when embeddings are available), since paraphrase and same-topic are
    harder to tell apart. Score: the share of held-out rows with a duplicate in training (0 is clean).
    Evidence: the pairs side by side (held-out row first).
    """

    name = "contamination"
    failure_mode = "contamination"
    description = "held-out (eval/anchor) rows duplicated in training splits: exact, near, 13-gram, semantic"
    requires_columns = ("split",)
    min_rows = 2
    threshold: float = param(0.5, gt=0, le=1)
    shingle_size: int = param(3, ge=1, le=100)
    num_perm: int = param(128, ge=1, le=1024)
    ngram_n: int = param(13, ge=1, le=100)
    semantic_threshold: float = param(0.9, gt=0, le=1)
    semantic: bool = True

    def run(self, ctx: Context) -> CheckResult:
        df = ctx.df.with_columns(pl.col("split").cast(pl.String))
        held_mask = df["split"].is_in(HELD_OUT_SPLITS).fill_null(False)
        train_mask = df["split"].is_in(TRAINING_SPLITS).fill_null(False)
        parts = [df.filter(held_mask | train_mask).select("id", "text", "split")]
        use_semantic = self.semantic and ctx.can_embed
        emb_parts: list[np.ndarray] = []
        if use_semantic:
            emb_parts.append(ctx.embeddings()[(held_mask | train_mask).to_numpy()])
        if ctx.anchor is not None and ctx.anchor.df.height:
            a = ctx.anchor.df
            extra = ~a["id"].is_in(parts[0]["id"].to_list())
            parts.append(a.filter(extra).select("id", "text", pl.lit("anchor").alias("split")))
            if use_semantic:
                emb_parts.append(ctx.anchor_embeddings()[extra.to_numpy()])
        data = pl.concat(parts)
        n_held = int(data["split"].is_in(HELD_OUT_SPLITS).sum())
        n_train = int(data["split"].is_in(TRAINING_SPLITS).sum())
        if n_held == 0 or n_train == 0:
            found = sorted(set(df["split"].drop_nulls().to_list()))
            return self.result(
                "skipped",
                f"Skipped: needs held-out rows (split in {list(HELD_OUT_SPLITS)} or an anchor set) and training rows "
                f"(split in {list(TRAINING_SPLITS)}); the data has splits {found}. Mark rows with those split names.",
                details={"reason": "no held-out or no training rows", "splits": found},
            )
        kinds = ["exact", "near", "ngram"] + (["semantic"] if use_semantic else [])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WorkbenchWarning)
            pairs = find_duplicates(
                data,
                kinds=kinds,
                splits_a=HELD_OUT_SPLITS,
                splits_b=TRAINING_SPLITS,
                threshold=self.threshold,
                shingle_size=self.shingle_size,
                num_perm=self.num_perm,
                ngram_n=self.ngram_n,
                semantic_threshold=self.semantic_threshold,
                embeddings=np.concatenate(emb_parts) if use_semantic else None,
                seed=ctx.seed,
            )
        # one row per pair, its strongest kind first (exact > near > ngram > semantic)
        collapsed = pairs.unique(["id_a", "id_b"], keep="first", maintain_order=True)
        strong = collapsed.filter(pl.col("kind") != "semantic")
        leaked = collapsed["id_a"].n_unique()
        leaked_strong = strong["id_a"].n_unique()
        by_kind = {k: int(v) for k, v in collapsed.group_by("kind").len().iter_rows()}
        score = leaked / n_held
        evidence = collapsed.select(
            pl.col("id_a").alias("id"),
            pl.col("text_a").alias("text"),
            pl.col("split_a").alias("split"),
            pl.col("id_b").alias("match_id"),
            pl.col("text_b").alias("match_text"),
            pl.col("split_b").alias("match_split"),
            "kind",
            "similarity",
        )
        status: Status
        kinds_text = ", ".join(f"{v} {k}" for k, v in sorted(by_kind.items()))
        if leaked_strong:
            status = "fail"
            summary = (
                f"{leaked} of {n_held} held-out rows ({score:.1%}) have duplicates in training splits ({kinds_text} "
                "pairs): evaluation on them measures memory, not generalisation. Drop the training rows "
                "(contamination.drop_leaks(df, pairs)) or rebuild the holdout, and keep provenance to prevent it."
            )
        elif leaked:
            status = "warn"
            summary = (
                f"{leaked} of {n_held} held-out rows have semantic near-matches (cosine >= {self.semantic_threshold}) "
                "in training splits, but no exact, near or 13-gram duplicates. Read the pairs: paraphrases leak, "
                "same-topic texts do not."
            )
        else:
            status = "pass"
            summary = (
                f"None of {n_held} held-out rows has an exact, near (Jaccard >= {self.threshold}), {self.ngram_n}-gram"
                + (" or semantic" if use_semantic else "")
                + f" duplicate among {n_train} training rows."
            )
        return self.result(
            status,
            summary,
            score=round(score, 6),
            score_meaning="share of held-out rows with a duplicate in training splits (0 is clean)",
            threshold=0.0,
            evidence=evidence,
            details={
                "held_out_rows": n_held,
                "training_rows": n_train,
                "pairs_by_kind": by_kind,
                "held_out_with_strong_duplicates": leaked_strong,
                "semantic": use_semantic,
            },
        )


register(ContaminationCheck())
