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
  2020): a pair shares a 13-gram of the rows' own words. Similarity: the share of the first row's
  own words that lie in 13-grams found in the second. Texts shorter than n words have no n-grams.
- `semantic`: cosine similarity of sentence embeddings at or above `semantic_threshold`, computed
  block by block so memory stays bounded (`block_bytes`) whatever the number of rows.

Boilerplate is not evidence (`boilerplate=True`). An n-gram in more distinct texts than a leak can
explain (`boilerplate_cut`: a leak gives an n-gram 1 + its distinct copies; GPT-3 ignored 13-grams in
more than 10 training documents as "common cultural phrases, legal boilerplate", Brown et al. 2020,
appendix C) is a footer, a signature, a system prompt or an instruction template. Its words are
set aside: word 5-grams (`boilerplate_n`) and whole lines (CCNet's paragraphs, Wenzek et al. 2020)
found that often. What is left is each row's own text: `ngram` matches n-grams of it, `near`
compares it, and `ngram_overlap` reports per held-out row the share of it covered by n-grams found
in training (the per-example overlap fraction of the Llama 2 analysis, Touvron et al. 2023, appendix
A.6, and of PaLM's, Chowdhery et al. 2022, section 8) and the shared templates.

The registered `contamination` check fails when rows held out for evaluation (`eval`, `test`,
`holdout`, `anchor` splits, and the frozen anchor set) have exact or near duplicates in training
splits (`train`, `tune`, `dev`, `validation`), or at least 80% of their own words in shared 13-grams
(Llama 2's "dirty"); 20-80% ("not clean") and semantic-only matches warn. Templates are reported
beside it ("N rows share this template; it is not counted as leakage"). Evidence: the pairs side by
side. Mitigation (the seed's): strict holdouts, provenance, and dropping the training rows that
duplicate held-out ones (`drop_leaks`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
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
from workbench.minhash import signature_similarity

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
    engine: str = "local",
) -> tuple[np.ndarray, np.ndarray]:
    sig, has = minhash_signatures(texts, num_perm=num_perm, k=k, unit=unit, seed=seed, engine=engine)
    bands, r = lsh_params(threshold, num_perm)
    pairs = pairing.orient(lsh_candidates(sig, bands, r, pairing.combos(usable & has), engine=engine))
    if not len(pairs):
        return pairs, np.zeros(0)
    sims = signature_similarity(sig, pairs)
    keep = sims >= threshold
    return pairs[keep], sims[keep]


def _semantic_blocks(
    lo: int, hi: int, emb: np.ndarray, rows_a: np.ndarray, rows_b: np.ndarray, same: bool, block: int, threshold: float
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Pairs at or above `threshold` for the blocks of `rows_a` starting at lo, lo + block, ... < hi."""
    contiguous = len(rows_b) > 0 and rows_b[-1] - rows_b[0] + 1 == len(rows_b)
    eb = emb[rows_b[0] : rows_b[-1] + 1] if contiguous else emb[rows_b]  # a view when possible: no copy
    found_i, found_j, found_s = [], [], []
    for s in range(lo, hi, block):
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
    return found_i, found_j, found_s


def _semantic_pairs(
    emb: np.ndarray,
    usable: np.ndarray,
    pairing: _Pairing,
    *,
    threshold: float,
    block_bytes: int,
    engine: str = "local",
) -> tuple[np.ndarray, np.ndarray]:
    rows_a = np.intersect1d(pairing.rows("a"), np.flatnonzero(usable))
    rows_b = np.intersect1d(pairing.rows("b"), np.flatnonzero(usable))
    same = pairing.splits_a is None
    block = max(1, block_bytes // max(1, 4 * len(rows_b)))
    if engine == "ray" and len(rows_a):
        from workbench import distributed

        # shards of whole blocks: every block is the same matrix product as in-process
        ranges = distributed.split_range(len(rows_a), align=block, min_rows=block)
        parts = distributed.map_ranges(_semantic_blocks, ranges, emb, rows_a, rows_b, same, block, threshold)
        found_i, found_j, found_s = ([x for p in parts for x in p[t]] for t in range(3))
    else:
        found_i, found_j, found_s = _semantic_blocks(0, len(rows_a), emb, rows_a, rows_b, same, block, threshold)
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


# --- long n-gram overlap, with boilerplate set aside ---------------------------------------------

BOILERPLATE_N = 5
MAX_LEAK_COPIES = 10
BOILERPLATE_SHARE = 0.01
TEMPLATE_SCHEMA = {"text": pl.String, "words": pl.Int64, "rows": pl.Int64, "rows_a": pl.Int64, "rows_b": pl.Int64}
_OVERLAP_PAIR_SCHEMA = {"a": pl.Int64, "b": pl.Int64, "covered": pl.Int64, "similarity": pl.Float64}


def boilerplate_cut(n_texts: int, *, max_copies: int = MAX_LEAK_COPIES, share: float = BOILERPLATE_SHARE) -> int:
    """The document frequency above which an n-gram is boilerplate, among `n_texts` distinct texts.

    A leak puts an example's n-grams into its own held-out row and into the training rows that copy
    it, so leakage gives an n-gram a document frequency of 1 + (distinct copies), whatever the size of
    the data; exact copies count once (frequencies are counted over distinct texts). An n-gram in
    more rows than that is a formula many documents share (a footer, a signature, a system prompt,
    an instruction template), not evidence that one example leaked. GPT-3's decontamination ignored
    13-grams found in more than 10 training documents for this reason ("common cultural phrases,
    legal boilerplate"; Brown et al. 2020, appendix C): `max_copies`. On small data 10 rows is a large
    part of it, so the cut is `share` (1%) of the distinct texts when that is smaller, and never below
    2: a held-out row and one copy of it are never boilerplate.
    """
    if max_copies < 2:
        raise InputError(f"max_copies must be >= 2 (a row and one copy are never boilerplate); got {max_copies}.")
    if not 0.0 < share <= 1.0:
        raise InputError(f"the boilerplate share must be in (0, 1]; got {share}.")
    return max(2, min(max_copies, math.floor(share * max(n_texts, 0))))


@dataclass(frozen=True)
class NgramOverlap:
    """How much of each row's own text lies in long n-grams it shares with rows on the other side.

    `rows`, one per input row, in order: `tokens` (words after `normalize`), `boilerplate_tokens`
    (words inside a boilerplate `boilerplate_n`-gram), `own_tokens` (the rest), `covered_tokens` (own
    words inside an `n`-gram that a row on the other side also contains; boilerplate n-grams never
    count), `overlap` = covered / own: the per-example overlap fraction (0 is clean, 1 is all of the
    row's own text found in training; null for a row with no own words), and `match` (the row on the
    other side that covers most of it). `pairs`: `a`, `b` (row positions, `a` the held-out side),
    `covered` and `similarity`: the share of `a`'s own words covered by n-grams shared with `b`.
    `templates`: the boilerplate, one row per shared span (`text`, `words`, `rows` holding it, of
    which `rows_a` on side a and `rows_b` on side b), most rows first. `stripped`: each row's
    normalised text without its boilerplate words. `cut`: n-grams in more than `cut` of the
    `n_texts` distinct texts are boilerplate (`boilerplate_cut`); None when boilerplate was kept.
    """

    rows: pl.DataFrame
    pairs: pl.DataFrame
    templates: pl.DataFrame
    stripped: list[str]
    n: int
    boilerplate_n: int | None
    cut: int | None
    n_texts: int


def _gram_positions(texts: pl.Series, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Word k-gram hashes, their rows, and their positions (first word) within the row."""
    h, d = shingle_hashes(texts, k=k, unit="word", short="drop")
    return h, d, np.arange(d.size) - np.searchsorted(d, d, side="left")


def _covered(first: np.ndarray, length: np.ndarray | int, total: int) -> np.ndarray:
    """Mask over the token stream: the tokens inside any span [first, first + length)."""
    depth = np.bincount(first, minlength=total + 1) - np.bincount(first + length, minlength=total + 1)
    return np.cumsum(depth[:total]) > 0


_LINE_SALT = np.uint64(0x5BD1E9955BD1E995)


def _lines(texts: pl.Series, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every non-empty line (paragraph) of every row: its hash (of the normalised line), row, first
    word's position within the row, and word count. Rows whose lines do not add up to the row's
    words (exotic Unicode normalisation across a line break) give none."""
    lines = (
        pl.DataFrame({"doc": np.arange(len(texts), dtype=np.int64), "t": texts.fill_null("")})
        .with_columns(pl.col("t").str.split("\n"))
        .explode("t")
    )
    norm = normalize(lines["t"])
    words = norm.str.split(" ").list.eval(pl.element().filter(pl.element() != "")).list.len().fill_null(0)
    frame = pl.DataFrame(
        {"doc": lines["doc"], "w": words.cast(pl.Int64), "h": norm.hash(seed=13) ^ _LINE_SALT}
    ).with_columns((pl.col("w").cum_sum().over("doc") - pl.col("w")).alias("off"))
    per_doc = frame.group_by("doc").agg(pl.col("w").sum()).sort("doc")
    bad = per_doc.filter(pl.Series(per_doc["w"].to_numpy() != lengths[per_doc["doc"].to_numpy()]))["doc"]
    frame = frame.filter((pl.col("w") > 0) & ~pl.col("doc").is_in(bad.implode()))
    return (
        frame["h"].to_numpy(),
        frame["doc"].to_numpy(),
        frame["off"].to_numpy(),
        frame["w"].to_numpy(),
    )


def _overlap(
    texts: pl.Series,
    usable: np.ndarray,
    pairing: _Pairing,
    *,
    n: int,
    boilerplate_n: int | None = BOILERPLATE_N,
    max_copies: int = MAX_LEAK_COPIES,
    share: float = BOILERPLATE_SHARE,
    match: bool = True,
) -> NgramOverlap:
    """See `NgramOverlap`. `match=False` finds the boilerplate only (for near duplicates)."""
    n_rows = len(usable)
    norm = normalize(texts)
    words = norm.str.split(" ").list.eval(pl.element().filter(pl.element() != ""))
    lengths = words.list.len().cast(pl.Int64).fill_null(0).to_numpy()
    flat_words = words.explode().drop_nulls()
    total = int(lengths.sum())
    starts = np.zeros(n_rows, dtype=np.int64)
    if n_rows:
        starts[1:] = np.cumsum(lengths)[:-1]
    token_doc = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
    side_a = np.zeros(n_rows, dtype=bool)
    side_a[pairing.rows("a")] = True
    side_b = np.zeros(n_rows, dtype=bool)
    side_b[pairing.rows("b")] = True
    universe = usable & (side_a | side_b)
    text_key = norm.hash(seed=11).to_numpy()
    n_texts = int(np.unique(text_key[universe]).size)
    cut = boilerplate_cut(n_texts, max_copies=max_copies, share=share) if boilerplate_n else None

    def doc_freq(h: np.ndarray, d: np.ndarray) -> np.ndarray:
        """For each occurrence: in how many distinct compared texts its n-gram occurs."""
        inside = universe[d]
        counts = (
            pl.DataFrame({"g": h[inside], "t": text_key[d[inside]]}, schema={"g": pl.UInt64, "t": pl.UInt64})
            .unique()
            .group_by("g")
            .len()
        )
        occ = pl.DataFrame({"g": h}, schema={"g": pl.UInt64}).join(counts, on="g", how="left", maintain_order="left")
        return occ["len"].fill_null(0).to_numpy()

    boiler = np.zeros(total, dtype=bool)
    templates = pl.DataFrame(schema=TEMPLATE_SCHEMA)
    if boilerplate_n and cut is not None and total:
        # boilerplate: word n-grams (GPT-3's frequent 13-grams, shorter) and whole lines (CCNet's
        # paragraphs) found in more distinct texts than a leak explains
        hb, db, pb = _gram_positions(texts, boilerplate_n)
        dfb = doc_freq(hb, db)
        isb = (dfb > cut) & universe[db]
        hl, dl, ol, wl = _lines(texts, lengths)
        dfl = doc_freq(hl, dl)
        isl = (dfl > cut) & universe[dl]
        first = np.concatenate([starts[db[isb]] + pb[isb], starts[dl[isl]] + ol[isl]]).astype(np.int64)
        span = np.concatenate([np.full(int(isb.sum()), boilerplate_n), wl[isl]]).astype(np.int64)
        boiler = _covered(first, span, total)
        if boiler.any():
            templates = _templates(
                boiler,
                starts,
                lengths,
                token_doc,
                flat_words,
                np.concatenate([hb[isb], hl[isl]]),
                np.concatenate([dfb[isb], dfl[isl]]),
                first,
                side_a,
                side_b,
            )
    own = ~boiler
    own_per_doc = np.bincount(token_doc[own], minlength=n_rows).astype(np.int64)
    stripped = [""] * n_rows
    if total:
        kept = pl.DataFrame({"doc": token_doc[own], "w": flat_words.filter(pl.Series(own))})
        for doc_i, text in kept.group_by("doc").agg(pl.col("w").str.join(" ")).iter_rows():
            stripped[doc_i] = text

    pairs = pl.DataFrame(schema=_OVERLAP_PAIR_SCHEMA)
    covered = np.zeros(n_rows, dtype=np.int64)
    best = np.full(n_rows, -1, dtype=np.int64)
    if match and total:
        # n-grams of each row's own words (boilerplate removed), so that a template around a few
        # shared words is never a long match
        own_texts = pl.Series("text", stripped, dtype=pl.String)
        own_len = normalize(own_texts).str.split(" ").list.eval(pl.element().filter(pl.element() != ""))
        own_per_doc = own_len.list.len().cast(pl.Int64).fill_null(0).to_numpy()
        matched = _matched_positions(own_texts, usable & (own_per_doc > 0), pairing, n=n, cut=cut, doc_freq=doc_freq)
        if matched.height:
            a, b, pos = (matched[c].to_numpy() for c in ("doc", "other", "pos"))
            width = max(n_rows, 1)
            pair_key, pair_of = np.unique(a * width + b, return_inverse=True)
            per_pair = _union_length(pair_of, pos, n, pair_key.size)
            covered = _union_length(a, pos, n, n_rows)
            pa, pb_ = pair_key // width, pair_key % width
            pairs = pl.DataFrame(
                {"a": pa, "b": pb_, "covered": per_pair, "similarity": per_pair / np.maximum(own_per_doc[pa], 1)},
                schema=_OVERLAP_PAIR_SCHEMA,
            ).sort(["a", "covered", "b"], descending=[False, True, False])
            top = pairs.unique("a", keep="first", maintain_order=True)
            best[top["a"].to_numpy()] = top["b"].to_numpy()
    overlap = np.where(own_per_doc > 0, covered / np.maximum(own_per_doc, 1), np.nan)
    rows = pl.DataFrame(
        {
            "row": np.arange(n_rows, dtype=np.int64),
            "tokens": lengths.astype(np.int64),
            "boilerplate_tokens": (lengths - own_per_doc).astype(np.int64),
            "own_tokens": own_per_doc,
            "covered_tokens": covered,
            "overlap": overlap,
            "match": best,
        }
    ).with_columns(
        pl.col("overlap").fill_nan(None),
        pl.when(pl.col("match") >= 0).then(pl.col("match")).otherwise(None).alias("match"),
    )
    return NgramOverlap(rows, pairs, templates, stripped, n, boilerplate_n, cut, n_texts)


def _union_length(group: np.ndarray, pos: np.ndarray, n: int, n_groups: int) -> np.ndarray:
    """Per group: how many positions the intervals [pos, pos + n) cover together (no expansion into
    tokens: sorted starts, each adds the part before the next start)."""
    order = np.lexsort((pos, group))
    g, p = group[order], pos[order]
    same_next = np.concatenate([g[1:] == g[:-1], [False]])
    step = np.concatenate([p[1:] - p[:-1], [n]])
    add = np.where(same_next, np.minimum(step, n), n)
    return np.bincount(g, weights=add, minlength=n_groups).astype(np.int64)


def _matched_positions(
    texts: pl.Series, usable: np.ndarray, pairing: _Pairing, *, n: int, cut: int | None, doc_freq: Any
) -> pl.DataFrame:
    """(doc, other, pos): an n-gram at `pos` of row `doc` also occurs in row `other`, the pair oriented
    as `_Pairing.orient` does (doc on the held-out side); boilerplate n-grams left out."""
    h, d, p = _gram_positions(texts, n)
    keep = usable[d]
    if cut is not None:
        keep &= doc_freq(h, d) <= cut
    schema = {"doc": pl.Int64, "pos": pl.Int64, "g": pl.UInt64}
    grams = pl.DataFrame({"doc": d[keep], "pos": p[keep], "g": h[keep]}, schema=schema)
    shared = grams.filter(pl.col("g").is_duplicated())
    found = []
    for left, right in pairing.combos(usable):
        fl = shared.filter(pl.col("doc").is_in(left.tolist()))
        fr = shared.filter(pl.col("doc").is_in(right.tolist()))
        # positions in one side's rows of n-grams the other side has; both ways when either may be `a`
        for x, y in [(fl, fr)] if pairing.splits_a is not None else [(fl, fr), (fr, fl)]:
            other = y.select(pl.col("doc").alias("other"), "g").unique()
            found.append(x.join(other, on="g").filter(pl.col("doc") != pl.col("other")).select("doc", "other", "pos"))
    empty = pl.DataFrame(schema={"doc": pl.Int64, "other": pl.Int64, "pos": pl.Int64})
    matched = pl.concat(found).unique() if found else empty
    if not matched.height:
        return empty
    unordered = (
        matched.select(pl.min_horizontal("doc", "other").alias("lo"), pl.max_horizontal("doc", "other").alias("hi"))
        .unique()
        .sort("lo", "hi")
        .to_numpy()
        .astype(np.int64)
    )
    oriented = pl.DataFrame(pairing.orient(unordered), schema={"doc": pl.Int64, "other": pl.Int64}, orient="row")
    return matched.join(oriented, on=["doc", "other"], how="semi").sort("doc", "other", "pos")


def _templates(
    boiler: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    token_doc: np.ndarray,
    flat_words: pl.Series,
    gram_hash: np.ndarray,
    gram_df: np.ndarray,
    gram_first: np.ndarray,
    side_a: np.ndarray,
    side_b: np.ndarray,
) -> pl.DataFrame:
    """The boilerplate as shared spans. Each maximal run of boilerplate words in a row is keyed by its
    most widely shared n-gram or line, so one template is one entry even where some rows extend it by
    a word; its text is the run most rows have."""
    total = boiler.size
    doc_start = np.zeros(total, dtype=bool)
    doc_start[starts[lengths > 0]] = True
    previous = np.concatenate([[False], boiler[:-1]])
    run_id = np.cumsum(boiler & (doc_start | ~previous)) - 1
    keys = (
        pl.DataFrame({"run": run_id[gram_first], "df": gram_df, "g": gram_hash})
        .sort(["run", "df", "g"], descending=[False, True, False])
        .unique("run", keep="first")
        .select("run", "g")
    )
    docs = token_doc[boiler]
    runs = (
        pl.DataFrame({"run": run_id[boiler], "doc": docs, "w": flat_words.filter(pl.Series(boiler))})
        .group_by("run")
        .agg(pl.col("doc").first(), pl.col("w").str.join(" ").alias("text"), pl.len().alias("words"))
        .join(keys, on="run")
    )
    doc_np = runs["doc"].to_numpy()
    runs = runs.with_columns(a=pl.Series(side_a[doc_np]), b=pl.Series(side_b[doc_np]))
    text = (
        runs.group_by("g", "text")
        .agg(pl.len().alias("k"), pl.col("words").first())
        .sort(["g", "k", "words", "text"], descending=[False, True, True, False])
        .unique("g", keep="first")
        .select("g", "text", "words")
    )
    counts = runs.group_by("g").agg(
        pl.col("doc").n_unique().alias("rows"),
        pl.col("doc").filter(pl.col("a")).n_unique().alias("rows_a"),
        pl.col("doc").filter(pl.col("b")).n_unique().alias("rows_b"),
    )
    return (
        counts.join(text, on="g")
        .sort(["rows", "words", "text"], descending=[True, True, False])
        .select(list(TEMPLATE_SCHEMA))
        .cast(TEMPLATE_SCHEMA)  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class _Prepared:
    texts: pl.Series
    norm: pl.Series
    ids: np.ndarray
    split: np.ndarray
    usable: np.ndarray
    pairing: _Pairing


def _prepare(
    df: pl.DataFrame,
    splits_a: Sequence[str] | None,
    splits_b: Sequence[str] | None,
    *,
    caller: str,
    stacklevel: int = 3,
) -> _Prepared:
    """Validate the frame and the sides to compare (the errors say what to add)."""
    if not isinstance(df, pl.DataFrame):
        raise InputError(f"{caller}() takes a polars DataFrame; got {type(df).__name__}. Use workbench.data.load().")
    if "text" not in df.columns:
        raise SchemaError(f"column 'text' is missing; found {df.columns}. Map one with load(path, text='your_column').")
    if "split" not in df.columns:
        raise SchemaError(
            f"{caller} compares splits, but the data has no 'split' column. Add one naming each row's "
            "split, e.g. df.with_columns(split=pl.lit('train')) for training rows and 'eval' (or 'anchor') for "
            "held-out rows, then concatenate them."
        )
    if (splits_a is None) != (splits_b is None):
        raise InputError("pass both splits_a and splits_b (the two sides to compare), or neither.")
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
    empty = (norm.str.len_chars() == 0).to_numpy()
    usable = ~empty & (split != "")
    if empty.any():
        warnings.warn(
            f"{int(empty.sum())} row(s) have no text after normalisation (empty, or punctuation only); they are never "
            "counted as duplicates. Drop or fill them (load(..., drop_empty=True)).",
            WorkbenchWarning,
            stacklevel=stacklevel,
        )
    return _Prepared(texts, norm, ids, split, usable, pairing)


def _pair_frame(prep: _Prepared, kind: str, pairs: np.ndarray, sims: np.ndarray) -> pl.DataFrame:
    a, b = pairs[:, 0], pairs[:, 1]
    return pl.DataFrame(
        {
            "id_a": prep.ids[a].tolist(),
            "id_b": prep.ids[b].tolist(),
            "split_a": prep.split[a].tolist(),
            "split_b": prep.split[b].tolist(),
            "kind": [kind] * len(a),
            "similarity": np.round(sims.astype(np.float64), 6),
            "text_a": prep.texts.gather(a.tolist()),
            "text_b": prep.texts.gather(b.tolist()),
        },
        schema=PAIR_SCHEMA,
    )


def _find(
    prep: _Prepared,
    kinds: tuple[str, ...],
    *,
    threshold: float,
    shingle_size: int,
    shingle: str,
    num_perm: int,
    ngram_n: int,
    semantic_threshold: float,
    emb: np.ndarray | None,
    block_bytes: int,
    seed: int,
    boilerplate: bool,
    boilerplate_n: int,
    max_leak_copies: int,
    boilerplate_share: float,
    overlap: bool = False,
    engine: str = "local",
) -> tuple[pl.DataFrame, NgramOverlap | None]:
    """The pairs of every kind, and the n-gram overlap they were found with (when computed)."""
    texts, usable, pairing = prep.texts, prep.usable, prep.pairing
    res: NgramOverlap | None = None
    if len(texts) and (overlap or "ngram" in kinds or ("near" in kinds and boilerplate)):
        res = _overlap(
            texts,
            usable,
            pairing,
            n=ngram_n,
            boilerplate_n=boilerplate_n if boilerplate else None,
            max_copies=max_leak_copies,
            share=boilerplate_share,
            match=overlap or "ngram" in kinds,
        )
    frames = []
    for kind in kinds:
        if not len(texts):
            break
        if kind == "exact":
            pairs, sims = _exact_pairs(prep.norm, usable, pairing)
        elif kind == "near":
            near_texts = texts
            near_usable = usable
            if boilerplate and res is not None and res.templates.height:
                # whole rows less their boilerplate: a shared footer or system prompt makes no pair
                near_texts = pl.Series("text", res.stripped, dtype=pl.String)
                near_usable = usable & (res.rows["own_tokens"] > 0).to_numpy()
            pairs, sims = _near_pairs(
                near_texts,
                near_usable,
                pairing,
                threshold=threshold,
                num_perm=num_perm,
                k=shingle_size,
                unit=shingle,
                seed=seed,
                engine=engine,
            )
        elif kind == "ngram":
            assert res is not None
            p = res.pairs
            pairs = np.stack([p["a"].to_numpy(), p["b"].to_numpy()], axis=1).reshape(-1, 2).astype(np.int64)
            sims = p["similarity"].to_numpy()
        else:
            assert emb is not None
            pairs, sims = _semantic_pairs(
                emb, usable, pairing, threshold=semantic_threshold, block_bytes=block_bytes, engine=engine
            )
        if len(pairs):
            frames.append(_pair_frame(prep, kind, pairs, sims))
    return _sorted_pairs(frames), res


def _sorted_pairs(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Pairs of every kind in one frame: by kind (exact, near, ngram, semantic), then similarity."""
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame(schema=PAIR_SCHEMA)
    order = {k: i for i, k in enumerate(KINDS)}
    return (
        pl.concat(frames)
        .with_columns(pl.col("kind").replace_strict(order, return_dtype=pl.Int64).alias("_k"))
        .sort(["_k", "similarity", "id_a", "id_b"], descending=[False, True, False, False])
        .drop("_k")
    )


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
    boilerplate: bool = True,
    boilerplate_n: int = BOILERPLATE_N,
    max_leak_copies: int = MAX_LEAK_COPIES,
    boilerplate_share: float = BOILERPLATE_SHARE,
    engine: str = "local",
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

    Boilerplate (`boilerplate=True`): `boilerplate_n`-word sequences found in more distinct texts
    than a leak explains (`boilerplate_cut(max_copies=max_leak_copies, share=boilerplate_share)`)
    are footers, signatures, system prompts or templates, not leaks: `ngram` never counts them and
    `near` compares each row's text less its boilerplate words. `exact` always compares whole rows.

    Documented behaviour: texts that are empty after normalisation are skipped (with a
    `WorkbenchWarning`); texts shorter than the shingle size are one shingle (their whole text);
    texts shorter than `ngram_n` words have no n-grams. Returns columns `id_a, id_b, split_a,
    split_b, kind, similarity, text_a, text_b`, sorted by kind, then similarity (highest first).

    `engine="ray"` (or a Ray `Dataset` as `df`, gathered to the driver as a frame) runs `near`
    (signatures, band buckets and candidate pairs) and `semantic` (blocks of rows, the embeddings
    put once in the object store) on the connected Ray cluster, and embeds there when it embeds
    (`Embedder.encode(engine="ray")`); the pairs are the same frame as in-process. `exact` and
    `ngram` run on the driver. See README, "Scaling out with Ray".
    """
    from workbench import distributed

    engine = distributed.check_engine(engine)
    if distributed.is_dataset(df):
        df, engine = distributed.dataset_to_polars(df), "ray"
    kinds = tuple(kinds)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise InputError(f"unknown duplicate kind(s) {unknown}; choose from {list(KINDS)}.")
    if shingle_size < 1 or ngram_n < 1 or boilerplate_n < 1:
        raise InputError("shingle_size, ngram_n and boilerplate_n must be >= 1.")
    prep = _prepare(df, splits_a, splits_b, caller="find_duplicates")
    emb: np.ndarray | None = None
    if "semantic" in kinds and df.height:
        if embeddings is None:
            if embedder is None:
                from workbench.embed import Embedder

                embedder = Embedder()
            texts = prep.texts.fill_null("").to_list()
            embeddings = embedder.encode(texts) if engine == "local" else embedder.encode(texts, engine=engine)
        emb = _as_unit_vectors(embeddings, df.height)
    pairs, _ = _find(
        prep,
        kinds,
        threshold=threshold,
        shingle_size=shingle_size,
        shingle=shingle,
        num_perm=num_perm,
        ngram_n=ngram_n,
        semantic_threshold=semantic_threshold,
        emb=emb,
        block_bytes=block_bytes,
        seed=seed,
        boilerplate=boilerplate,
        boilerplate_n=boilerplate_n,
        max_leak_copies=max_leak_copies,
        boilerplate_share=boilerplate_share,
        engine=engine,
    )
    return pairs


def ngram_overlap(
    df: pl.DataFrame,
    *,
    splits_a: Sequence[str] = HELD_OUT_SPLITS,
    splits_b: Sequence[str] = TRAINING_SPLITS,
    n: int = 13,
    boilerplate: bool = True,
    boilerplate_n: int = BOILERPLATE_N,
    max_leak_copies: int = MAX_LEAK_COPIES,
    boilerplate_share: float = BOILERPLATE_SHARE,
) -> NgramOverlap:
    """The per-example overlap fraction of held-out rows (`splits_a`) with training rows (`splits_b`).

    For each held-out row: the share of its own words (those outside boilerplate) that lie in an
    `n`-word sequence some training row also contains, as in the Llama 2 contamination analysis (a
    token is contaminated when it lies in a long n-gram found in both the example and the training
    data; Touvron et al. 2023, appendix A.6) and PaLM's (the share of an example's 8-grams seen in
    training; Chowdhery et al. 2022, section 8). Boilerplate: `boilerplate_n`-word sequences in more
    distinct texts than a leak explains (`boilerplate_cut`); their words are neither evidence nor
    part of the share, and they are listed in `templates`. `boilerplate=False` counts every shared
    n-gram. Returns an `NgramOverlap` whose `rows` also carry `id`, `split` and `match_id`.
    """
    if n < 1 or boilerplate_n < 1:
        raise InputError("n and boilerplate_n must be >= 1.")
    prep = _prepare(df, splits_a, splits_b, caller="ngram_overlap")
    res = _overlap(
        prep.texts,
        prep.usable,
        prep.pairing,
        n=n,
        boilerplate_n=boilerplate_n if boilerplate else None,
        max_copies=max_leak_copies,
        share=boilerplate_share,
    )
    return replace(res, rows=_with_ids(res.rows, prep))


def _with_ids(rows: pl.DataFrame, prep: _Prepared) -> pl.DataFrame:
    match = rows["match"].to_list()
    return rows.with_columns(
        id=pl.Series(prep.ids.tolist(), dtype=pl.String),
        split=pl.Series(prep.split.tolist(), dtype=pl.String),
        match_id=pl.Series([None if m is None else prep.ids[m] for m in match], dtype=pl.String),
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


def _clip(text: str, n: int = 90) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


@dataclass
class ContaminationCheck(Check):
    """Held-out rows (eval, test, holdout, anchor splits and the frozen anchor set) must not leak
    into training splits (train, tune, dev, validation).

    What counts as a leak, held-out row by held-out row:

    - an `exact` duplicate of the whole row (normalised text), or a `near` duplicate: MinHash Jaccard
      >= `threshold` over character `shingle_size`-grams of the row's text less its boilerplate;
    - long n-gram overlap: at least `overlap_fail` (0.8) of the row's own words lie in `ngram_n`-word
      sequences (13, GPT-3's test) that a training row also contains. This is the per-example overlap
      fraction of the Llama 2 contamination analysis, which calls a sample "dirty" above 80% of its
      tokens and "clean" below 20% (Touvron et al. 2023, appendix A.6); PaLM's rule is similar (70%
      of an example's 8-grams seen in training; Chowdhery et al. 2022, section 8).

    Boilerplate is not evidence: `boilerplate_n`-word sequences found in more distinct texts than a
    leak explains (`boilerplate_cut`: more than `max_leak_copies` = 10 rows, GPT-3's cut, or 1% of
    the rows on small data) are footers, signatures, system prompts and instruction templates. Their
    words neither match nor count in a row's share, and near duplicates are compared without them.
    The templates are reported in the summary and in `details["templates"]` ("N rows share this
    template; it is not counted as leakage").

    Warns on partial overlap (`overlap_warn`, 0.2, up to `overlap_fail`: quoted or reused passages)
    and when the only matches are semantic (embedding cosine >= `semantic_threshold`, run when
    embeddings are available): paraphrase and same-topic text are harder to tell apart. Score: the
    share of held-out rows with a finding (0 is clean). Evidence: the pairs side by side, held-out
    row first, with each row's `overlap` share.
    """

    name = "contamination"
    failure_mode = "contamination"
    description = "held-out (eval/anchor) rows leaked into training splits: exact, near, 13-gram overlap, semantic"
    requires_columns = ("split",)
    min_rows = 2
    threshold: float = param(0.5, gt=0, le=1)
    shingle_size: int = param(3, ge=1, le=100)
    num_perm: int = param(128, ge=1, le=1024)
    ngram_n: int = param(13, ge=1, le=100)
    overlap_fail: float = param(0.8, gt=0, le=1)
    overlap_warn: float = param(0.2, gt=0, le=1)
    boilerplate_n: int = param(BOILERPLATE_N, ge=1, le=100)
    max_leak_copies: int = param(MAX_LEAK_COPIES, ge=2, le=1_000_000)
    boilerplate_share: float = param(BOILERPLATE_SHARE, gt=0, le=1)
    semantic_threshold: float = param(0.9, gt=0, le=1)
    semantic: bool = True

    def _own_text_embeddings(
        self, ctx: Context, prep: _Prepared, overlap: NgramOverlap, emb: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, str]:
        """Embeddings of each row's own text: a whole-row embedding is dominated by a long shared
        template, so rows carrying boilerplate are embedded again without it (the embedding cache
        keeps them). Rows that are all boilerplate have nothing of their own to compare."""
        emb = _as_unit_vectors(emb, len(prep.usable))
        own = overlap.rows["own_tokens"].to_numpy()
        carrying = np.flatnonzero((overlap.rows["boilerplate_tokens"].to_numpy() > 0) & (own > 0) & prep.usable)
        usable = prep.usable & (own > 0)
        if not carrying.size:
            return emb, usable, ""
        if not ctx.can_embed_texts:
            usable[carrying] = False
            return (
                emb,
                usable,
                f" Semantic matching skipped {carrying.size} row(s) that carry boilerplate: with precomputed "
                "embeddings only, their own text cannot be embedded (pass embedder=).",
            )
        own_emb = _as_unit_vectors(ctx.embedder.encode([overlap.stripped[i] for i in carrying]), carrying.size)
        emb = emb.copy()
        emb[carrying] = own_emb
        return emb, usable, ""

    def run(self, ctx: Context) -> CheckResult:
        df = ctx.df.with_columns(pl.col("split").cast(pl.String))
        held_mask = df["split"].is_in(HELD_OUT_SPLITS).fill_null(False)
        train_mask = df["split"].is_in(TRAINING_SPLITS).fill_null(False)
        parts = [df.filter(held_mask | train_mask).select("id", "text", "split")]
        use_semantic = self.semantic and ctx.can_embed
        emb_parts: list[np.ndarray] = []
        if ctx.anchor is not None and ctx.anchor.df.height:
            a = ctx.anchor.df
            extra = ~a["id"].is_in(parts[0]["id"].to_list())
            parts.append(a.filter(extra).select("id", "text", pl.lit("anchor").alias("split")))
        else:
            extra = None
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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WorkbenchWarning)
            prep = _prepare(data, HELD_OUT_SPLITS, TRAINING_SPLITS, caller="contamination")
            pairs, overlap = _find(
                prep,
                ("exact", "near", "ngram"),
                threshold=self.threshold,
                shingle_size=self.shingle_size,
                shingle="char",
                num_perm=self.num_perm,
                ngram_n=self.ngram_n,
                semantic_threshold=self.semantic_threshold,
                emb=None,
                block_bytes=64 << 20,
                seed=ctx.seed,
                boilerplate=True,
                boilerplate_n=self.boilerplate_n,
                max_leak_copies=self.max_leak_copies,
                boilerplate_share=self.boilerplate_share,
                overlap=True,
            )
        assert overlap is not None
        semantic_note = ""
        if use_semantic:
            emb_parts.append(ctx.embeddings()[(held_mask | train_mask).to_numpy()])
            if extra is not None:
                emb_parts.append(ctx.anchor_embeddings()[extra.to_numpy()])
            emb, sem_usable, semantic_note = self._own_text_embeddings(ctx, prep, overlap, np.concatenate(emb_parts))
            sem_pairs, sem_sims = _semantic_pairs(
                emb, sem_usable, prep.pairing, threshold=self.semantic_threshold, block_bytes=64 << 20
            )
            if len(sem_pairs):
                pairs = _sorted_pairs([pairs, _pair_frame(prep, "semantic", sem_pairs, sem_sims)])
        rows = _with_ids(overlap.rows, prep).filter(pl.col("split").is_in(HELD_OUT_SPLITS))
        share = rows.select("id", pl.col("overlap").round(6), "own_tokens", "tokens")
        heavy = rows.filter(pl.col("overlap") >= self.overlap_fail)["id"]
        partial = rows.filter((pl.col("overlap") >= self.overlap_warn) & (pl.col("overlap") < self.overlap_fail))["id"]
        faint = rows.filter((pl.col("overlap") > 0) & (pl.col("overlap") < self.overlap_warn)).height
        # n-gram pairs are findings only for rows whose overlap share reaches overlap_warn
        counted = pairs.filter(
            (pl.col("kind") != "ngram") | pl.col("id_a").is_in(pl.concat([heavy, partial]).implode())
        )
        # one row per pair, its strongest kind first (exact > near > ngram > semantic)
        collapsed = counted.unique(["id_a", "id_b"], keep="first", maintain_order=True)
        whole = collapsed.filter(pl.col("kind").is_in(["exact", "near"]))["id_a"].unique()
        leaked = pl.concat([whole, heavy]).unique()
        found_any = collapsed["id_a"].n_unique()
        partial_only = partial.filter(~partial.is_in(leaked.implode()))
        semantic_only = collapsed.filter(
            ~pl.col("id_a").is_in(pl.concat([leaked, partial_only]).implode()) & (pl.col("kind") == "semantic")
        )["id_a"].n_unique()
        by_kind = {k: int(v) for k, v in collapsed.group_by("kind").len().iter_rows()}
        n_exact = collapsed.filter(pl.col("kind") == "exact")["id_a"].n_unique()
        n_near = collapsed.filter(pl.col("kind") == "near")["id_a"].n_unique()
        score = found_any / n_held
        evidence = collapsed.select(
            pl.col("id_a").alias("id"),
            pl.col("text_a").alias("text"),
            pl.col("split_a").alias("split"),
            pl.col("id_b").alias("match_id"),
            pl.col("text_b").alias("match_text"),
            pl.col("split_b").alias("match_split"),
            "kind",
            "similarity",
        ).join(share.select("id", "overlap"), on="id", how="left", maintain_order="left")
        templates = overlap.templates
        template_note = ""
        if templates.height:
            shown = "; ".join(
                f"{r} rows share this template ('{_clip(t)}')"
                for t, r in templates.select("text", "rows").head(3).iter_rows()
            )
            more = f" (and {templates.height - 3} more shared spans)" if templates.height > 3 else ""
            template_note = (
                f" Boilerplate: {shown}{more}; it is not counted as leakage (a {self.boilerplate_n}-word sequence "
                f"or a line in more than {overlap.cut} distinct rows is more than a leak explains)."
            )
        status: Status
        if leaked.len():
            status = "fail"
            how = []
            if n_exact:
                how.append(f"{n_exact} exact")
            if n_near:
                how.append(f"{n_near} near (MinHash Jaccard >= {self.threshold} on the text less boilerplate)")
            if heavy.len():
                how.append(
                    f"{heavy.len()} with >= {self.overlap_fail:.0%} of their own words in shared {self.ngram_n}-grams"
                )
            summary = (
                f"{leaked.len()} of {n_held} held-out rows ({leaked.len() / n_held:.1%}) leak into training splits "
                f"({', '.join(how)}): evaluation on them measures memory, not generalisation. Drop the training rows "
                "(contamination.drop_leaks(df, pairs)) or rebuild the holdout, and keep provenance to prevent it."
            )
            if partial_only.len() or semantic_only:
                summary += (
                    f" Also {partial_only.len()} row(s) with partial {self.ngram_n}-gram overlap and {semantic_only} with "
                    "semantic matches only."
                )
        elif partial_only.len():
            status = "warn"
            summary = (
                f"{partial_only.len()} of {n_held} held-out rows have {self.overlap_warn:.0%}-{self.overlap_fail:.0%} of "
                f"their own words in {self.ngram_n}-word sequences shared with training rows (partial overlap: quoted or "
                "reused passages), but no exact or near duplicate. Read the pairs."
            )
            if semantic_only:
                summary += f" {semantic_only} more have semantic matches only."
        elif semantic_only:
            status = "warn"
            summary = (
                f"{semantic_only} of {n_held} held-out rows have semantic near-matches (cosine >= "
                f"{self.semantic_threshold}) in training splits, but no exact, near or {self.ngram_n}-gram duplicates. "
                "Read the pairs: paraphrases leak, same-topic texts do not."
            )
        else:
            status = "pass"
            summary = (
                f"None of {n_held} held-out rows has an exact or near (Jaccard >= {self.threshold}) duplicate, "
                f"{self.overlap_warn:.0%} or more of its own words in shared {self.ngram_n}-grams"
                + (", or a semantic match" if use_semantic else "")
                + f" among {n_train} training rows."
            )
        if faint:
            summary += (
                f" {faint} held-out row(s) share a few {self.ngram_n}-word sequences (under {self.overlap_warn:.0%} of "
                "their own words; not counted)."
            )
        summary += template_note + semantic_note
        return self.result(
            status,
            summary,
            score=round(score, 6),
            score_meaning="share of held-out rows with a duplicate or long n-gram overlap in training splits (0 is clean)",
            threshold=0.0,
            evidence=evidence,
            details={
                "held_out_rows": n_held,
                "training_rows": n_train,
                "pairs_by_kind": by_kind,
                "held_out_leaked": leaked.len(),
                "held_out_with_strong_duplicates": leaked.len(),
                "held_out_partial_overlap": partial_only.len(),
                "held_out_semantic_only": semantic_only,
                "semantic": use_semantic,
                "boilerplate_cut": overlap.cut,
                "distinct_texts": overlap.n_texts,
                "templates": templates.head(20).to_dicts(),
                "overlap": share.filter(pl.col("overlap") > 0).sort("overlap", descending=True).head(200).to_dicts(),
            },
        )


register(ContaminationCheck())
