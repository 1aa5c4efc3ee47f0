"""MinHash near-duplicate machinery: normalisation, shingles, signatures and LSH banding.

Bottom layer (imports only errors): the contamination check (duplicates across splits) and the
privacy check (copies of training records inside synthetic rows) both find near duplicates with it.

- `normalize(texts)`: the text exact and near matching compare (NFKC, lower case, no punctuation,
  single spaces).
- `shingle_hashes(texts, k, unit)`: 64-bit hashes of every character (or word) k-shingle, vectorised.
- `jaccard(a, b)`: exact Jaccard similarity of two texts' shingle sets (what MinHash estimates).
- `minhash_signatures(texts, num_perm)`: MinHash (Broder 1997) signatures, (n, num_perm) uint32.
- `lsh_params(threshold, num_perm)` and `lsh_candidates(sig, bands, rows, combos)`: banding
  (Leskovec et al., *Mining of Massive Datasets*, ch. 3) to find candidate pairs without comparing
  every pair; `key_pairs(keys, combos)`: the hash join under both; `signature_similarity(sig,
  pairs)`: the MinHash estimate each candidate is kept or dropped by.
- `near_duplicates_file(path, column)`: near-duplicate pairs inside a Parquet or JSONL file larger
  than memory, read in batches: only signatures (and ids) are held, never the texts.

`engine="ray"` on `minhash_signatures`, `lsh_candidates` and `near_duplicates_file` runs them on the
connected Ray cluster (`workbench.distributed`), with the same results.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from workbench.errors import InputError

__all__ = [
    "jaccard",
    "key_pairs",
    "lsh_candidates",
    "lsh_params",
    "minhash_signatures",
    "near_duplicates_file",
    "normalize",
    "shingle_hashes",
    "signature_similarity",
]

_MASK64 = (1 << 64) - 1
_HORNER = np.uint64(0x100000001B3)  # FNV-1a 64-bit prime: an odd multiplier for polynomial hashing
_U32 = np.uint64(32)
_SIGNATURE_DOCS = 50_000  # documents shingled at a time by minhash_signatures


# --- normalisation and shingles ------------------------------------------------------------------


def normalize(texts: pl.Series | Sequence[str]) -> pl.Series:
    """The text that `exact` and `near` compare: NFKC, lower case, no punctuation, single spaces.

    Null texts become empty strings (they never match anything).
    """
    s = texts if isinstance(texts, pl.Series) else pl.Series("text", list(texts), dtype=pl.String)
    return (
        s.cast(pl.String)
        .fill_null("")
        .str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all(r"[^\w\s]", "")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads polynomial hashes over all 64 bits (in place on a copy)."""
    x = x.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _token_stream(norm: pl.Series, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """All documents' tokens as one uint64 array, and each document's token count."""
    if unit == "char":
        lengths = norm.str.len_chars().cast(pl.Int64).to_numpy()
        joined = "".join(norm.to_list())
        tokens = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    elif unit == "word":
        words = norm.str.split(" ").list.eval(pl.element().filter(pl.element() != ""))
        lengths = words.list.len().cast(pl.Int64).to_numpy()
        flat = words.explode().drop_nulls()
        tokens = flat.hash(seed=7).to_numpy().astype(np.uint64) if flat.len() else np.zeros(0, np.uint64)
    else:
        raise InputError(f"shingle unit must be 'char' or 'word'; got {unit!r}.")
    return tokens, lengths


def shingle_hashes(
    texts: pl.Series | Sequence[str], *, k: int = 3, unit: str = "char", short: str = "whole"
) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every k-shingle of every normalised text, vectorised.

    Returns `(hashes, doc)`: `doc[i]` is the row of `hashes[i]`, sorted by row. A text with fewer
    than `k` tokens gets one shingle, the hash of its whole text, when `short="whole"` (so two
    identical short texts still match and different ones do not), or none when `short="drop"`.
    Empty texts get none.
    """
    if k < 1:
        raise InputError(f"shingle size must be >= 1; got {k}.")
    norm = normalize(texts)
    tokens, lengths = _token_stream(norm, unit)
    n_docs = len(lengths)
    starts = np.zeros(n_docs, dtype=np.int64)
    if n_docs:
        starts[1:] = np.cumsum(lengths)[:-1]
    parts_h: list[np.ndarray] = []
    parts_d: list[np.ndarray] = []
    total = tokens.size
    if total >= k:
        m = total - k + 1
        acc = tokens[:m].copy()
        for j in range(1, k):
            acc *= _HORNER
            acc += tokens[j : j + m]
        doc_of = np.repeat(np.arange(n_docs), lengths)[:m]
        pos = np.arange(m) - starts[doc_of]
        valid = pos <= (lengths[doc_of] - k)
        parts_h.append(acc[valid])
        parts_d.append(doc_of[valid])
    if short == "whole":
        short_docs = np.flatnonzero((lengths > 0) & (lengths < k))
        if short_docs.size:
            hs = np.empty(short_docs.size, dtype=np.uint64)
            for out_i, d in enumerate(short_docs):
                h = int(lengths[d]) * 0x9E3779B97F4A7C15
                for t in tokens[starts[d] : starts[d] + lengths[d]].tolist():
                    h = (h * 0x100000001B3 + t) & _MASK64
                hs[out_i] = h
            parts_h.append(hs)
            parts_d.append(short_docs)
    elif short != "drop":
        raise InputError(f"short must be 'whole' or 'drop'; got {short!r}.")
    if not parts_h:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    hashes = np.concatenate(parts_h)
    doc = np.concatenate(parts_d).astype(np.int64)
    order = np.argsort(doc, kind="stable")
    return _mix64(hashes[order]), doc[order]


def jaccard(text_a: str, text_b: str, *, k: int = 3, unit: str = "char") -> float:
    """Exact Jaccard similarity of the two texts' shingle sets (what MinHash estimates)."""
    h, d = shingle_hashes([text_a, text_b], k=k, unit=unit)
    a, b = set(h[d == 0].tolist()), set(h[d == 1].tolist())
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


# --- MinHash and LSH -----------------------------------------------------------------------------


def minhash_signatures(
    texts: pl.Series | Sequence[str],
    *,
    num_perm: int = 128,
    k: int = 3,
    unit: str = "char",
    seed: int = 0,
    chunk_shingles: int = 1 << 16,
    engine: str = "local",
) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures, shape (n_texts, num_perm) uint32, and a mask of texts with any shingle.

    Permutation i maps a 32-bit shingle hash x to ((a_i x + b_i) mod 2^64) >> 32 (multiply-add-shift
    universal hashing, Dietzfelbinger 1996); the signature holds each permutation's minimum. The
    share of equal positions in two signatures estimates the Jaccard similarity of their shingle
    sets, with standard error sqrt(J(1-J)/num_perm). Memory: `chunk_shingles * num_perm * 8` bytes
    at a time.

    `engine="ray"`: the texts in shards on Ray tasks; a signature depends only on its own text and
    the seed, so the result is the same array.
    """
    if num_perm < 1:
        raise InputError(f"num_perm must be >= 1; got {num_perm}.")
    if _engine(engine) == "ray" and len(texts):
        from workbench import distributed

        col = texts if isinstance(texts, pl.Series) else pl.Series("text", list(texts), dtype=pl.String)
        fn = partial(_signature_range, num_perm=num_perm, k=k, unit=unit, seed=seed, chunk_shingles=chunk_shingles)
        ranges = distributed.split_range(len(col), min_rows=2048, max_rows=_SIGNATURE_DOCS)
        parts = distributed.map_ranges(fn, ranges, col)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    n = len(texts)
    if n > _SIGNATURE_DOCS:
        # a signature depends only on its own text: batches of documents bound the shingle arrays
        # (about 40 bytes a character of text) without changing a value
        col = texts if isinstance(texts, pl.Series) else pl.Series("text", list(texts), dtype=pl.String)
        parts = [
            minhash_signatures(
                col.slice(s, _SIGNATURE_DOCS),
                num_perm=num_perm,
                k=k,
                unit=unit,
                seed=seed,
                chunk_shingles=chunk_shingles,
            )
            for s in range(0, n, _SIGNATURE_DOCS)
        ]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    hashes, doc = shingle_hashes(texts, k=k, unit=unit)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 1 << 63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 1 << 63, size=num_perm, dtype=np.uint64)
    sig = np.full((n, num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    has = np.zeros(n, dtype=bool)
    if hashes.size == 0:
        return sig, has
    x = hashes >> _U32
    docs, first = np.unique(doc, return_index=True)
    has[docs] = True
    bounds = np.append(first, hashes.size)
    # (num_perm, shingles) layout: the minimum over each document's shingles then runs along
    # contiguous memory, several times faster than reducing down the columns
    buf = np.empty((num_perm, min(chunk_shingles, hashes.size)), dtype=np.uint64)
    a_col, b_col = a[:, None], b[:, None]
    i = 0
    while i < docs.size:
        # as many whole documents as fit in one chunk (at least one)
        j = int(np.searchsorted(bounds, bounds[i] + chunk_shingles, side="right")) - 1
        j = max(j, i + 1)
        lo, hi = bounds[i], bounds[j]
        rows = hi - lo
        if rows > buf.shape[1]:
            buf = np.empty((num_perm, rows), dtype=np.uint64)
        h = buf[:, :rows]
        np.multiply(a_col, x[None, lo:hi], out=h)
        h += b_col
        h >>= _U32
        sig[docs[i:j]] = np.minimum.reduceat(h, bounds[i:j] - lo, axis=1).T.astype(np.uint32)
        i = j
    return sig, has


@cache
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands b and rows r (b*r <= num_perm) minimising the equally weighted areas of false
    positives below `threshold` and false negatives above it under the S-curve 1-(1-s^r)^b."""
    if not 0.0 < threshold < 1.0:
        raise InputError(f"threshold must be between 0 and 1 (exclusive); got {threshold}.")
    s = np.linspace(0.0, 1.0, 2001)
    best: tuple[float, int, int] = (float(np.inf), 1, 1)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            p = 1.0 - (1.0 - s**r) ** b
            fp = np.trapezoid(np.where(s < threshold, p, 0.0), s)
            fn = np.trapezoid(np.where(s >= threshold, 1.0 - p, 0.0), s)
            err = float(0.5 * fp + 0.5 * fn)
            if err < best[0]:
                best = (err, b, r)
    return best[1], best[2]


def key_pairs(keys: np.ndarray, combos: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Unordered pairs (a < b) of rows sharing a key, one side from each (left, right) row set.

    A hash join per side combination: only pairs that can count are ever built, so a large group
    of identical training texts costs nothing unless held-out rows share its key.
    """
    out = []
    for left, right in combos:
        if not len(left) or not len(right):
            continue
        fl = pl.DataFrame({"k": keys[left], "a": left}, schema={"k": pl.UInt64, "a": pl.Int64})
        fr = pl.DataFrame({"k": keys[right], "b": right}, schema={"k": pl.UInt64, "b": pl.Int64})
        joined = fl.join(fr, on="k").filter(pl.col("a") != pl.col("b"))
        if joined.height:
            out.append(joined.select("a", "b").to_numpy())
    if not out:
        return np.zeros((0, 2), np.int64)
    p = np.concatenate(out).astype(np.int64)
    p = np.stack([p.min(axis=1), p.max(axis=1)], axis=1)
    return np.unique(p, axis=0)


def _band_keys(sig: np.ndarray, lo: int, hi: int) -> np.ndarray:
    key = np.full(sig.shape[0], np.uint64(0xCBF29CE484222325))
    for c in range(lo, hi):
        key ^= sig[:, c].astype(np.uint64)
        key *= _HORNER
    return _mix64(key)


def lsh_candidates(
    sig: np.ndarray,
    bands: int,
    rows_per_band: int,
    combos: list[tuple[np.ndarray, np.ndarray]],
    *,
    engine: str = "local",
) -> np.ndarray:
    """Unordered candidate pairs (row indices, one from each side of a combo) that agree on every
    value of at least one band of their MinHash signatures, sorted.

    `engine="ray"`: a shuffle on Ray tasks. Map tasks compute the band keys of a range of rows and
    split (band, key, row) by key into partitions; each reduce task joins its partition's buckets
    per band and combo (`key_pairs`). The union is the same sorted pair array.
    """
    if _engine(engine) == "ray" and sig.shape[0]:
        return _lsh_candidates_ray(sig, bands, rows_per_band, combos)
    found = []
    for band in range(bands):
        keys = _band_keys(sig, band * rows_per_band, (band + 1) * rows_per_band)
        found.append(key_pairs(keys, combos))
    pairs = np.concatenate(found) if found else np.zeros((0, 2), np.int64)
    return np.unique(pairs, axis=0) if pairs.size else pairs


def signature_similarity(sig: np.ndarray, pairs: np.ndarray, *, step: int = 1 << 14) -> np.ndarray:
    """The share of equal signature positions of each pair: the MinHash estimate of its Jaccard
    similarity (standard error sqrt(J(1-J)/num_perm)), `step` pairs at a time."""
    sims = np.empty(len(pairs))
    for s in range(0, len(pairs), step):
        p = pairs[s : s + step]
        sims[s : s + step] = (sig[p[:, 0]] == sig[p[:, 1]]).mean(axis=1)
    return sims


# --- near duplicates in a file larger than memory -------------------------------------------------

NEAR_FILE_SCHEMA = {
    "row_a": pl.Int64,
    "row_b": pl.Int64,
    "id_a": pl.String,
    "id_b": pl.String,
    "similarity": pl.Float64,
}


def _text_batches(
    path: Path, column: str, id_column: str | None, batch_rows: int, progress: bool | None, skip_bad: bool
) -> Iterator[tuple[list[Any], list[Any] | None]]:
    """(texts, ids) of the file in batches; every problem an `InputError` naming it and the fix."""
    suffix = path.suffix.lower()
    wanted = [column] + ([id_column] if id_column else [])
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq
        from tqdm import tqdm

        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:
            raise InputError(f"{path.name} is not a readable Parquet file ({exc}); re-write it.") from None
        names = pf.schema_arrow.names
        missing = [c for c in wanted if c not in names]
        if missing:
            raise InputError(f"{path.name} has no column {missing[0]!r}; found {names}. Pass column=... naming one.")
        kind = pf.schema_arrow.field(column).type
        if str(kind) not in ("string", "large_string", "string_view"):
            raise InputError(
                f"column {column!r} of {path.name} holds {kind}, not text; cast it to strings when writing the file."
            )
        show = progress if progress is not None else sys.stderr.isatty()
        with tqdm(total=pf.metadata.num_rows, desc=f"minhash {path.name}", unit="row", disable=not show) as bar:
            for b in pf.iter_batches(batch_size=batch_rows, columns=wanted):
                texts = b.column(column).to_pylist()
                ids = [None if v is None else str(v) for v in b.column(id_column).to_pylist()] if id_column else None
                yield texts, ids
                bar.update(b.num_rows)
        return
    if suffix in (".jsonl", ".ndjson"):
        from workbench.formats._reader import Problems, jsonl_batches

        problems = Problems(path.name, skip_bad)
        bar_on = progress if progress is not None else sys.stderr.isatty()
        batch_texts: list[Any] = []
        batch_ids: list[Any] = []
        for batch in jsonl_batches(path, "utf-8", problems, progress=bar_on):
            for where, rec in batch:
                if column not in rec:
                    problems.bad(where, f" has no field {column!r} (it has {sorted(rec)}); pass column=... naming one.")
                    continue
                value = rec[column]
                if value is not None and not isinstance(value, str):
                    problems.bad(
                        where,
                        f" field {column!r} is not text (it is {type(value).__name__}); store texts as JSON strings.",
                    )
                    continue
                batch_texts.append(value)
                if id_column:
                    batch_ids.append(None if rec.get(id_column) is None else str(rec[id_column]))
                if len(batch_texts) >= batch_rows:
                    yield batch_texts, (batch_ids if id_column else None)
                    batch_texts, batch_ids = [], []
        if batch_texts:
            yield batch_texts, (batch_ids if id_column else None)
        problems.report()
        return
    raise InputError(
        f"near_duplicates_file reads Parquet (.parquet) or JSON lines (.jsonl, .ndjson); got {path.name}. "
        "Convert it: workbench.data.load(path).write_parquet('data.parquet')."
    )


def _parquet_rows(path: Path) -> int | None:
    if path.suffix.lower() not in (".parquet", ".pq"):
        return None
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:
        return None  # _text_batches says what is wrong with the file


def near_duplicates_file(
    path: str | Path,
    column: str = "text",
    *,
    id_column: str | None = None,
    threshold: float = 0.5,
    num_perm: int = 128,
    k: int = 3,
    unit: str = "char",
    seed: int = 0,
    batch_rows: int = 50_000,
    progress: bool | None = None,
    skip_bad: bool = False,
    engine: str = "local",
) -> pl.DataFrame:
    """Near-duplicate pairs among the rows of a Parquet or JSONL file, read `batch_rows` at a time.

    The same MinHash/LSH as `find_duplicates(kinds=("near",))`: every pair of rows whose estimated
    Jaccard similarity of `k`-shingle sets (`unit` char or word) reaches `threshold`, with `num_perm`
    permutations and `seed`. Only the signatures (`num_perm * 4` bytes a row) and the ids stay in
    memory, never the texts. The result equals `find_duplicates` of the same rows in one split
    (`splits_a=[s], splits_b=[s]`, `boilerplate=False`: boilerplate needs a pass over all n-grams).

    Returns `row_a < row_b` (0-based rows of the file; blank JSONL lines, and lines left out by `skip_bad`, not counted), `id_a, id_b`
    (from `id_column`, else null) and `similarity`, highest first. `progress`: a bar on stderr
    (None: when stderr is a terminal). Missing file, missing column, non-text values, bytes that
    are not UTF-8 and lines that are not JSON raise an `InputError` naming the row and the fix
    (`skip_bad=True` leaves malformed JSONL lines out, with a warning). `engine="ray"` finds the
    candidate pairs on the connected Ray cluster.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file: {path}; pass the path of a .parquet or .jsonl file.")
    if batch_rows < 1:
        raise InputError(f"batch_rows must be >= 1; got {batch_rows}.")
    bands, r = lsh_params(threshold, num_perm)
    known = _parquet_rows(path)  # Parquet says its row count: fill one array, no copy at the end
    sig_buf = np.empty((known, num_perm), dtype=np.uint32) if known is not None else None
    sig_parts: list[np.ndarray] = []
    has_parts: list[np.ndarray] = []
    id_parts: list[list[Any]] = []
    filled = 0
    for texts, ids in _text_batches(path, column, id_column, batch_rows, progress, skip_bad):
        sig, has = minhash_signatures(texts, num_perm=num_perm, k=k, unit=unit, seed=seed)
        if sig_buf is not None:
            sig_buf[filled : filled + len(sig)] = sig
        else:
            sig_parts.append(sig)
        filled += len(sig)
        has_parts.append(has)
        if ids is not None:
            id_parts.append(ids)
        del texts, sig
    if not filled:
        return pl.DataFrame(schema=NEAR_FILE_SCHEMA)
    # JSON lines: the parts joined once (briefly twice n * num_perm * 4 bytes): LSH needs the rows together
    sig = sig_buf[:filled] if sig_buf is not None else np.concatenate(sig_parts)
    del sig_parts
    has = np.concatenate(has_parts)
    rows = np.flatnonzero(has)
    pairs = lsh_candidates(sig, bands, r, [(rows, rows)], engine=engine)
    sims = signature_similarity(sig, pairs)
    keep = sims >= threshold
    pairs, sims = pairs[keep], sims[keep]
    all_ids = [i for part in id_parts for i in part] if id_column else None
    out = pl.DataFrame(
        {
            "row_a": pairs[:, 0],
            "row_b": pairs[:, 1],
            "id_a": [all_ids[i] for i in pairs[:, 0]] if all_ids else [None] * len(pairs),
            "id_b": [all_ids[i] for i in pairs[:, 1]] if all_ids else [None] * len(pairs),
            "similarity": np.round(sims, 6),
        },
        schema=NEAR_FILE_SCHEMA,
    )
    return out.sort(["similarity", "row_a", "row_b"], descending=[True, False, False])


# --- engine="ray" (workbench.distributed runs these module-level functions on its tasks) ----------


def _engine(engine: Any) -> str:
    if engine == "local":
        return "local"
    from workbench import distributed

    return distributed.check_engine(engine)


def _signature_range(s: int, e: int, texts: pl.Series, **kw: Any) -> tuple[np.ndarray, np.ndarray]:
    return minhash_signatures(texts.slice(s, e - s), **kw)


def _membership(n: int, combos: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """(n, n_combos) masks: row i on the left (right) side of combo c."""
    left = np.zeros((n, len(combos)), dtype=bool)
    right = np.zeros((n, len(combos)), dtype=bool)
    for c, (lo, hi) in enumerate(combos):
        left[lo, c] = True
        right[hi, c] = True
    return left, right


def _bucket_map(
    s: int,
    e: int,
    n_parts: int,
    sig: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    *,
    bands: int,
    rows_per_band: int,
) -> list[tuple[np.ndarray, ...]]:
    """(band, key, row, left, right) of rows s:e on either side of a combo, split by key into parts."""
    rows = np.arange(s, e)
    keep = left[s:e].any(axis=1) | right[s:e].any(axis=1)
    rows = rows[keep]
    out_b, out_k, out_r = [], [], []
    for band in range(bands):
        out_k.append(_band_keys(sig[rows], band * rows_per_band, (band + 1) * rows_per_band))
        out_b.append(np.full(rows.size, band, dtype=np.int64))
        out_r.append(rows)
    b = np.concatenate(out_b) if out_b else np.zeros(0, np.int64)
    k = np.concatenate(out_k) if out_k else np.zeros(0, np.uint64)
    r = np.concatenate(out_r) if out_r else np.zeros(0, np.int64)
    part = (k % np.uint64(n_parts)).astype(np.int64)
    return [(b[part == p], k[part == p], r[part == p], left[r[part == p]], right[r[part == p]]) for p in range(n_parts)]


def _bucket_reduce(pieces: list[tuple[np.ndarray, ...]]) -> np.ndarray:
    """The candidate pairs of one partition: per band, `key_pairs` over its buckets and the combos."""
    b, k, r, left, right = (np.concatenate([p[i] for p in pieces]) for i in range(5))
    found = []
    for band in np.unique(b):
        m = b == band
        keys, rows, lm, rm = k[m], r[m], left[m], right[m]
        local = [(np.flatnonzero(lm[:, c]), np.flatnonzero(rm[:, c])) for c in range(lm.shape[1])]
        pairs = key_pairs(keys, local)
        if pairs.size:
            found.append(rows[pairs])
    if not found:
        return np.zeros((0, 2), np.int64)
    p = np.concatenate(found)
    return np.stack([p.min(axis=1), p.max(axis=1)], axis=1).astype(np.int64)


def _lsh_candidates_ray(
    sig: np.ndarray, bands: int, rows_per_band: int, combos: list[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    from workbench import distributed

    left, right = _membership(sig.shape[0], combos)
    ranges = distributed.split_range(sig.shape[0], min_rows=4096, max_rows=250_000)
    n_parts = max(1, min(2 * distributed.cluster_cpus(), len(ranges) * 2))
    fn = partial(_bucket_map, bands=bands, rows_per_band=rows_per_band)
    found = [p for p in distributed.map_reduce(fn, ranges, _bucket_reduce, n_parts, sig, left, right) if p.size]
    pairs = np.concatenate(found) if found else np.zeros((0, 2), np.int64)
    return np.unique(pairs, axis=0) if pairs.size else pairs
