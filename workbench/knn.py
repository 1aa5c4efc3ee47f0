"""Exact nearest neighbours in blocks: the kernel under coverage, drift and privacy.

Bottom layer: imports only errors (and torch lazily, on first use). Every measurement built on
Euclidean nearest neighbours of embeddings uses these functions; none computes distances itself.

- `kth_neighbour_distances(x, k)`: each row's distance to its k-th nearest neighbour within `x`
  (the row itself is its 0-th neighbour, so duplicates count: the k-NN radius of Naeem et al. 2020).
- `nearest(x, y, k)`: each row of `x`, its `k` nearest rows of `y`: distances and indices, nearest
  first, ties broken by the lower index.
- `count_within(x, y, radii)`: each row i of `x`, how many rows of `y` lie strictly within
  `radii[i]` of it.
- `ball_pairs(x, y, x_radii, y_radii)`: the pairs (i, j) with |x_i - y_j| < x_radii[i] and the pairs
  with |x_i - y_j| < y_radii[j], from one pass (what PRDC needs).
- `as_matrix(x, name)`: the validation every function applies to its inputs.

Radii and distances are Euclidean; `squared=True` takes and returns squared distances (exact
float64 values, so a squared radius from one call compares exactly in the next).

Exactness and memory: distances are screened in blocks (one matrix product per block of rows,
never a full n x m matrix) with a rigorous rounding-error bound; every pair whose comparison the
bound cannot decide is recomputed exactly in float64. The product runs in bfloat16 where this
machine computes it soundly (float32 accumulation, checked at first use) and at least 1.5x faster
than float32 (CPUs with AVX512-BF16 or AMX: 3-4x), else in float32; the wider bfloat16 bound only
means more exact recomputations, never a different answer. `WORKBENCH_PRDC_SCREEN=float32|bfloat16`
forces one (bfloat16 only where it is sound). Results therefore equal the definitions computed in
exact arithmetic (to float64 rounding). Blocks are sized to `memory_mb` and run on
`workbench.threads.budget()` Python threads, each single-threaded (work pulling: see threads).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from workbench.errors import InputError
from workbench.threads import budget, limit

__all__ = [
    "DEFAULT_MEMORY_MB",
    "BallPairs",
    "as_matrix",
    "ball_pairs",
    "count_within",
    "kth_neighbour_distances",
    "nearest",
]

DEFAULT_MEMORY_MB = 256
_U32 = 2.0**-24  # unit roundoff of float32
_LOCK = threading.Lock()  # one blocked computation at a time changes torch's thread setting


# --- validation ----------------------------------------------------------------------------------


def as_matrix(x: Any, name: str = "the") -> np.ndarray:
    """`x` as a C-contiguous (n, d) float array (float32 stays float32, anything else becomes
    float64), or an `InputError` naming `name` and what is wrong: not numeric, not 2-D, no
    dimensions, NaN or inf (with the rows)."""
    try:
        arr = np.asarray(x)
        # float32 stays float32 (no copy of large embedding arrays); anything else becomes float64
        if arr.dtype != np.float32:
            arr = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} embeddings must be a numeric (n, d) array; got {type(x).__name__}.") from None
    if arr.ndim != 2:
        raise InputError(f"{name} embeddings must be a 2-D array (n_rows, dim); got shape {arr.shape}.")
    if arr.shape[1] == 0:
        raise InputError(f"{name} embeddings have 0 dimensions; embed the texts first (workbench.embed.Embedder).")
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(str(r) for r in rows[:5]) + (" ..." if rows.size > 5 else "")
        raise InputError(
            f"{name} embeddings contain NaN or inf in {rows.size} row(s) (rows {shown}); "
            "recompute those embeddings or drop the rows."
        )
    return np.ascontiguousarray(arr)


# --- the blocked exact machinery ----------------------------------------------------------------
#
# Screening: squared distances of a block of rows to a whole set come from ONE matrix product of
# augmented vectors, [-2x, |x|^2, 1] . [y, 1, |y|^2] = |x - y|^2 (torch, in float32 or, where the
# machine does it soundly and fast, bfloat16; see `_Screen`). A rigorous bound on its rounding
# error on centred data decides every comparison it can; the few pairs within the bound of a
# threshold are recomputed exactly in float64. Nothing larger than one block x set matrix is
# ever held.


@dataclass(frozen=True)
class _Screen:
    """How distances are screened: the dtype of the matrix product and its error model.

    A screened value `a` of an exact squared distance `e` satisfies |a - e| <= E + u_out |a| / (1 - u_out)
    with E = coef * (|x| + |y|)^2 (norms of the centred points) and u_out the relative rounding of
    the product's output (0 for float32, whose output rounding `coef` already covers).
    """

    dtype: str  # "float32" or "bfloat16"
    coef: float
    u_out: float

    def up(self, value: np.ndarray, err: np.ndarray) -> np.ndarray:
        """A screening threshold: every pair whose exact squared distance is <= `value` screens at
        or below it (for value >= 0; err is E for the pair's rows)."""
        u = self.u_out
        return (value + err) * (1 - u) / (1 - 2 * u)

    def upper(self, screened: np.ndarray, err: np.ndarray) -> np.ndarray:
        """An upper bound on the exact squared distance of a pair that screened at `screened`."""
        return screened + err + self.u_out * np.abs(screened) / (1 - self.u_out)


def _float32_screen(dim: int) -> _Screen:
    """float32 product of augmented vectors [-2x, |x|^2, 1] . [y, 1, |y|^2]; E = c (|x|+|y|)^2.

    With u the float32 unit roundoff: rounding the centred inputs moves |x - y|^2 by at most
    ~2u(|x|+|y|)^2, rounding the squared norms by u(|x|^2 + |y|^2), accumulating dim+2 products by
    (dim+2) u (|x|+|y|)^2 (any summation order), rounding the output by u(|x|+|y|)^2. Doubled for
    safety: a larger bound only costs a few more exact recomputations. The output's rounding is
    in c, so u_out = 0.
    """
    return _Screen("float32", 2.0 * (dim + 8) * _U32, 0.0)


def _bfloat16_screen(dim: int, *, round_to_nearest: bool = False) -> _Screen:
    """bfloat16 inputs, float32 accumulation, bfloat16 output (CPUs with AVX512-BF16 or AMX run it
    3-4x faster than float32).

    With u = 2^-8 (bfloat16 unit roundoff; + 2 u32 for a double rounding from float64) and n = dim + 4
    accumulated terms, on the augmented vectors [-2x, hi(|x|^2), lo(|x|^2), 1, 1] . [y, 1, 1, hi, lo]:
    rounding the inputs moves -2 x.y by at most (4u + 2u^2)|x||y| <= (u + u^2/2)(|x|+|y|)^2; the
    hi/lo split of the squared norms leaves at most 2u^2 (|x|^2+|y|^2); float32 accumulation adds
    gamma_n (1 + 3u)(|x|+|y|)^2. The output's relative rounding (u_out: 2^-8 when the product
    rounds to nearest, as `_bfloat16_soundness` checks, else 2^-7, which covers truncation)
    is handled separately by `_Screen`. A 25% margin on top.
    """
    u = 2.0**-8 + 2 * _U32
    gamma = (dim + 4) * _U32 / (1 - (dim + 4) * _U32)
    return _Screen("bfloat16", 1.25 * (u + 2.5 * u * u + gamma * (1 + 3 * u)), 2.0**-8 if round_to_nearest else 2.0**-7)


_BF16_SOUND: dict[int, tuple[bool, bool]] = {}  # dim -> (float32 accumulation, output rounded to nearest)
_BF16_FAST: dict[int, bool] = {}


def _bfloat16_soundness(dim: int) -> tuple[bool, bool]:
    """Does this machine's bfloat16 product accumulate in float32 (checked on cases a bfloat16
    accumulator gets wrong), and does it round its output to nearest?"""
    import torch

    if dim not in _BF16_SOUND:
        try:
            ones = torch.ones((4, dim + 4), dtype=torch.bfloat16)
            exact_sum = (ones @ ones.T).float()  # a bfloat16 accumulator stalls at 256
            rng = np.random.default_rng(0)
            a = torch.from_numpy(rng.normal(size=(64, dim + 4))).to(torch.bfloat16)
            b = torch.from_numpy(rng.normal(size=(64, dim + 4))).to(torch.bfloat16)
            ref = a.double() @ b.double().T
            err = (a @ b.T).double() - ref
            bound = (dim + 4) * _U32 * 1.01 * (a.double().abs() @ b.double().abs().T) + 2.0**-7 * ref.abs()
            sound = bool((exact_sum == dim + 4).all()) and bool((err.abs() <= bound).all())
            # 1 + 2^-8 + 2^-10 rounds to 1 + 2^-7 to nearest, to 1 when truncated
            pair = torch.tensor([[1.0, 2.0**-8 + 2.0**-10]], dtype=torch.bfloat16)
            nearest = float((pair @ torch.ones((2, 1), dtype=torch.bfloat16)).item()) == 1 + 2.0**-7
            _BF16_SOUND[dim] = (sound, nearest)
        except RuntimeError:  # no bfloat16 matrix product in this build
            _BF16_SOUND[dim] = (False, False)
    return _BF16_SOUND[dim]


def _bfloat16_is_fast(dim: int) -> bool:
    """At least 1.5x faster than float32 on one screening block (CPUs with AVX512-BF16 or AMX)."""
    import torch

    if dim not in _BF16_FAST:
        rng = np.random.default_rng(0)
        left = torch.from_numpy(rng.normal(size=(256, dim + 4)).astype(np.float32))
        right = torch.from_numpy(rng.normal(size=(4096, dim + 4)).astype(np.float32))
        lb, rb = left.bfloat16(), right.bfloat16()

        def best(fn: Callable[[], Any]) -> float:
            fn()
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            return min(times)

        _BF16_FAST[dim] = best(lambda: lb @ rb.T) * 1.5 <= best(lambda: left @ right.T)
    return _BF16_FAST[dim]


def _choose_screen(dim: int) -> _Screen:
    """bfloat16 screening where it is sound and fast, else float32; both give exact results.

    `WORKBENCH_PRDC_SCREEN=float32|bfloat16` forces one (bfloat16 only where it is sound).
    """
    forced = os.environ.get("WORKBENCH_PRDC_SCREEN", "").strip().lower()
    if forced == "float32":
        return _float32_screen(dim)
    sound, nearest = _bfloat16_soundness(dim)
    if sound and (forced == "bfloat16" or _bfloat16_is_fast(dim)):
        return _bfloat16_screen(dim, round_to_nearest=nearest)
    return _float32_screen(dim)


@dataclass
class _Side:
    """One point set prepared for screening."""

    x: np.ndarray  # the original rows (float32 or float64), used for exact distances
    right: Any  # torch tensor [x~, 1, |x~|^2] (float32) or [x~, 1, 1, hi, lo] (bfloat16), x~ centred
    norm: np.ndarray  # |x~| (float64)

    @property
    def n(self) -> int:
        return self.x.shape[0]

    def left(self, s: int, e: int) -> Any:
        """[-2x~, |x~|^2, 1] (or [-2x~, hi, lo, 1, 1]) for rows s:e (scaling by -2 is exact)."""
        blk = self.right[s:e].clone()
        d = self.x.shape[1]
        h = (blk.shape[1] - d) // 2
        blk[:, :d] *= -2
        blk[:, d : d + h] = self.right[s:e, d + h :]
        blk[:, d + h :] = 1
        return blk


def _prepare(x: np.ndarray, centre: np.ndarray, screen: _Screen) -> _Side:
    import torch

    n, d = x.shape
    bf16 = screen.dtype == "bfloat16"
    dtype = torch.bfloat16 if bf16 else torch.float32
    right = torch.empty((n, d + (4 if bf16 else 2)), dtype=dtype)
    norm = np.empty(n, dtype=np.float64)
    for s in range(0, n, 2048):
        xc = x[s : s + 2048].astype(np.float64) - centre
        sq = np.einsum("ij,ij->i", xc, xc)
        norm[s : s + 2048] = np.sqrt(sq)
        right[s : s + 2048, :d] = torch.from_numpy(xc).to(dtype)
        if bf16:
            hi = torch.from_numpy(sq).to(dtype)
            right[s : s + 2048, d : d + 2] = 1
            right[s : s + 2048, d + 2] = hi
            right[s : s + 2048, d + 3] = torch.from_numpy(sq - hi.double().numpy()).to(dtype)
        else:
            right[s : s + 2048, d] = 1
            right[s : s + 2048, d + 1] = torch.from_numpy(sq)
    return _Side(x=x, right=right, norm=norm)


def _f32_up(x: np.ndarray) -> Any:
    """float32 torch values >= x, so a float32 comparison never drops a pair float64 would keep."""
    import torch

    y = x.astype(np.float32)
    low = y.astype(np.float64) < x
    y[low] = np.nextafter(y[low], np.float32(np.inf))
    return torch.from_numpy(y)


def _exact_sq(a: np.ndarray, b: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Squared distances |a[rows] - b[cols]|^2 in float64, computed directly (no cancellation)."""
    out = np.empty(rows.size, dtype=np.float64)
    step = max(1, 131_072 // max(1, a.shape[1]))  # about 1 MB of float64 per operand and step
    for s in range(0, rows.size, step):
        diff = a[rows[s : s + step]].astype(np.float64) - b[cols[s : s + step]]
        out[s : s + step] = np.einsum("ij,ij->i", diff, diff)
    return out


def _segment_kth(rows: np.ndarray, vals: np.ndarray, n_rows: int, kth: int) -> np.ndarray:
    """Per row, the `kth` smallest (0-based) of `vals` grouped by `rows` (every row has > kth values)."""
    order = np.lexsort((vals, rows))
    counts = np.bincount(rows, minlength=n_rows)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return vals[order][starts + kth]


def _sparse_nonzero(mask: Any) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of a sparse boolean torch matrix, scanning it 8 bytes at a time."""
    import torch

    n_cols = mask.shape[1]
    flat = mask.contiguous().reshape(-1)
    if flat.numel() % 8:
        nz = torch.nonzero(mask).numpy()
        return nz[:, 0], nz[:, 1]
    words = torch.nonzero(flat.view(torch.int64)).reshape(-1).numpy()
    hit_w, hit_b = np.nonzero(flat.numpy().reshape(-1, 8)[words])
    pos = words[hit_w] * 8 + hit_b
    return pos // n_cols, pos % n_cols


def _map_blocks(fn: Callable[[int, int], Any], n: int, chunk: int) -> list[Any]:
    """`fn(start, end)` over row blocks, on `workbench.threads.budget()` Python threads.

    Each block runs single-threaded (torch releases the GIL), so the cores pull blocks as they
    free up: on a shared machine a descheduled core delays one block, not every operation (as it
    does when each product is split across all cores in lockstep). Torch's and BLAS's thread
    settings are restored afterwards.
    """
    from concurrent.futures import ThreadPoolExecutor

    blocks = [(s, min(n, s + chunk)) for s in range(0, n, chunk)]
    workers = min(budget(), len(blocks))
    with _LOCK, limit(1):
        if workers <= 1:
            return [fn(s, e) for s, e in blocks]
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(lambda b: fn(*b), blocks))


def _block_rows(n_cols: int, memory_mb: float) -> int:
    """Rows per block so that every worker's block (float32 distances, masks, temporaries: about
    16 bytes an element) fits `memory_mb` together; at most 256 rows (a few MB stay in cache
    between the product and the comparisons)."""
    rows = int(memory_mb * 2**20 // (n_cols * 16 * budget()))
    return max(8, min(rows, 256)) // 8 * 8


def _knn_radii_sq(side: _Side, k: int, screen: _Screen, memory_mb: float) -> np.ndarray:
    """Squared distance of every point to its k-th nearest neighbour within its own set (exact).

    As in the paper (and the `prdc` package), the point itself counts as its 0-th neighbour, so
    the radius is the (k+1)-th smallest distance including the zero to itself; duplicates count.
    """
    import torch

    n = side.n
    err = screen.coef * (side.norm + float(side.norm.max())) ** 2
    chunk = _block_rows(n, memory_mb)
    out = np.empty(n, dtype=np.float64)

    def block(s: int, e: int) -> None:
        a = side.left(s, e) @ side.right.T
        kth = torch.topk(a, k + 1, dim=1, largest=False, sorted=True).values[:, k].double().numpy()
        # the exact radius is at most the screened k-th value's upper bound, so every column whose
        # exact distance is at most the exact radius screens at or below `thr` (at least k+1 do)
        thr = screen.up(screen.upper(kth, err[s:e]), err[s:e])
        rows, cols = _sparse_nonzero(a <= _f32_up(thr)[:, None])
        exact = _exact_sq(side.x, side.x, rows + s, cols)
        out[s:e] = _segment_kth(rows, exact, e - s, k)

    _map_blocks(block, n, chunk)
    return out


def _cross_pairs(
    xs: _Side, ys: _Side, rx2: np.ndarray, ry2: np.ndarray | None, screen: _Screen, memory_mb: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (x i, y j) with d < r_i (y j in x i's ball) and, when `ry2` is given, with d < s_j
    (x i in y j's ball), exactly and with strict inequality; one screened product per block of x
    rows serves both. Radii are squared."""
    row_thr = screen.up(rx2, screen.coef * (xs.norm + float(ys.norm.max())) ** 2)
    col_thr = (
        None if ry2 is None else _f32_up(screen.up(ry2, screen.coef * (float(xs.norm.max()) + ys.norm) ** 2))[None, :]
    )
    chunk = _block_rows(ys.n, memory_mb)
    none = np.zeros(0, dtype=np.int64)

    def block(s: int, e: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        a = xs.left(s, e) @ ys.right.T
        possible = a <= _f32_up(row_thr[s:e])[:, None]
        if col_thr is not None:
            possible |= a <= col_thr
        rows, cols = _sparse_nonzero(possible)
        rows += s
        exact = _exact_sq(xs.x, ys.x, rows, cols)
        in_x_ball = exact < rx2[rows]
        if ry2 is None:
            return rows[in_x_ball], cols[in_x_ball], none, none
        in_y_ball = exact < ry2[cols]
        return rows[in_x_ball], cols[in_x_ball], rows[in_y_ball], cols[in_y_ball]

    parts = _map_blocks(block, xs.n, chunk)
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))  # type: ignore[return-value]


def _nearest(xs: _Side, ys: _Side, k: int, screen: _Screen, memory_mb: float) -> tuple[np.ndarray, np.ndarray]:
    """Squared distances (n, k) and indices (n, k) of each x row's k nearest y rows (exact; ties by index)."""
    import torch

    err = screen.coef * (xs.norm + float(ys.norm.max())) ** 2
    chunk = _block_rows(ys.n, memory_mb)
    out_d = np.empty((xs.n, k), dtype=np.float64)
    out_i = np.empty((xs.n, k), dtype=np.int64)

    def block(s: int, e: int) -> None:
        a = xs.left(s, e) @ ys.right.T
        kth = torch.topk(a, k, dim=1, largest=False, sorted=True).values[:, k - 1].double().numpy()
        # the exact k-th distance is at most the screened k-th value's upper bound, so every column
        # whose exact distance is at most it (ties included) screens at or below `thr`
        thr = screen.up(screen.upper(kth, err[s:e]), err[s:e])
        rows, cols = _sparse_nonzero(a <= _f32_up(thr)[:, None])
        exact = _exact_sq(xs.x, ys.x, rows + s, cols)
        order = np.lexsort((cols, exact, rows))
        counts = np.bincount(rows, minlength=e - s)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        pick = order[starts[:, None] + np.arange(k)[None, :]]
        out_d[s:e] = exact[pick]
        out_i[s:e] = cols[pick]

    _map_blocks(block, xs.n, chunk)
    return out_d, out_i


# --- the public API ------------------------------------------------------------------------------


def _check_memory(memory_mb: Any) -> float:
    if isinstance(memory_mb, bool) or not isinstance(memory_mb, (int, float)) or not memory_mb > 0:
        raise InputError(f"memory_mb must be positive; got {memory_mb!r}.")
    return float(memory_mb)


def _check_k(k: Any, n: int, what: str) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be a positive integer (the nearest-neighbour count); got {k!r}.")
    if k > n:
        raise InputError(f"k={k} neighbours need at least {k} rows in {what}; there are {n}. Lower k or add rows.")
    return int(k)


def _same_width(x: np.ndarray, y: np.ndarray) -> None:
    if x.shape[1] != y.shape[1]:
        raise InputError(
            f"the two point sets have different dimensions ({x.shape[1]} vs {y.shape[1]}); embed both with the "
            "same model."
        )


def _squared_threshold(r: np.ndarray) -> np.ndarray:
    """t with `e < t` exactly when `sqrt(e) < r`, for every float64 e >= 0 (r*r alone can round
    either way, which would put a point at exactly distance r inside its ball)."""
    t = np.where(r > 0, r * r, 0.0)
    pos = r > 0
    for _ in range(4):  # sqrt is correctly rounded and monotone: one or two steps settle it
        down = pos & (np.sqrt(np.nextafter(t, 0.0)) >= r)
        up = pos & (np.sqrt(t) < r)
        if not (down.any() or up.any()):
            break
        t = np.where(down, np.nextafter(t, 0.0), np.where(up, np.nextafter(t, np.inf), t))
    return t


def _radii(radii: Any, n: int, name: str, squared: bool) -> np.ndarray:
    r = np.asarray(radii, dtype=np.float64).reshape(-1)
    if r.shape[0] != n:
        raise InputError(f"{name} must hold one radius per row ({n}); got {r.shape[0]}.")
    if np.isnan(r).any():
        raise InputError(f"{name} contains NaN.")
    return r if squared else _squared_threshold(r)


def kth_neighbour_distances(
    x: Any, k: int, *, squared: bool = False, memory_mb: float = DEFAULT_MEMORY_MB, engine: str = "local"
) -> np.ndarray:
    """Distance of every row of `x` to its k-th nearest neighbour within `x`, exactly.

    The row itself counts as its 0-th neighbour, so the result is the (k+1)-th smallest distance
    including the zero to itself (the k-NN radius of Naeem et al. 2020 and the `prdc` package); exact
    duplicates count, and a row with k or more duplicates gets 0. Needs at least k+1 rows.

    `engine="ray"`: rows of `x` in shards on Ray tasks, `x` put once in the object store; each shard
    runs this exact kernel, so the result is the same array.
    """
    x = as_matrix(x, "the")
    k = _check_k(k, max(0, x.shape[0] - 1), "x besides the row itself")
    memory_mb = _check_memory(memory_mb)
    if _engine(engine) == "ray" and x.shape[0]:
        from workbench import distributed

        parts = distributed.map_ranges(partial(_kth_range, k=k, memory_mb=memory_mb), _ranges(x.shape[0]), x)
        r2 = np.concatenate(parts)
        return r2 if squared else np.sqrt(r2)
    screen = _choose_screen(x.shape[1])
    side = _prepare(x, x.mean(axis=0, dtype=np.float64), screen)
    r2 = _knn_radii_sq(side, k, screen, memory_mb)
    return r2 if squared else np.sqrt(r2)


def nearest(
    x: Any,
    y: Any,
    k: int = 1,
    *,
    squared: bool = False,
    memory_mb: float = DEFAULT_MEMORY_MB,
    engine: str = "local",
) -> tuple[np.ndarray, np.ndarray]:
    """For each row of `x`, its `k` nearest rows of `y`, exactly: `(distances, indices)`, both (n, k).

    Nearest first; among equal distances the lower index of `y` first. When `x` and `y` are the same
    set each row finds itself first (distance 0): ask for k+1 and drop the first column.

    `engine="ray"`: query rows in shards on Ray tasks, `y` put once in the object store; each shard
    runs this exact kernel, so the results are the same arrays.
    """
    x, y = as_matrix(x, "the query"), as_matrix(y, "the reference")
    _same_width(x, y)
    k = _check_k(k, y.shape[0], "y")
    memory_mb = _check_memory(memory_mb)
    if x.shape[0] == 0:
        return np.zeros((0, k)), np.zeros((0, k), dtype=np.int64)
    if _engine(engine) == "ray":
        from workbench import distributed

        parts = distributed.map_ranges(partial(_nearest_range, k=k, memory_mb=memory_mb), _ranges(x.shape[0]), x, y)
        d2 = np.concatenate([p[0] for p in parts])
        return (d2 if squared else np.sqrt(d2)), np.concatenate([p[1] for p in parts])
    screen = _choose_screen(x.shape[1])
    centre = y.mean(axis=0, dtype=np.float64)
    d2, idx = _nearest(_prepare(x, centre, screen), _prepare(y, centre, screen), k, screen, memory_mb)
    return (d2 if squared else np.sqrt(d2)), idx


@dataclass(frozen=True)
class BallPairs:
    """Index pairs (x row, y row) from `ball_pairs`, as parallel arrays.

    (`x_ball_rows[t]`, `x_ball_cols[t]`): y row `x_ball_cols[t]` lies strictly inside the ball of x
    row `x_ball_rows[t]`. (`y_ball_rows[t]`, `y_ball_cols[t]`): x row `y_ball_rows[t]` lies strictly
    inside the ball of y row `y_ball_cols[t]` (empty when no y radii were given).
    """

    x_ball_rows: np.ndarray
    x_ball_cols: np.ndarray
    y_ball_rows: np.ndarray
    y_ball_cols: np.ndarray


def ball_pairs(
    x: Any,
    y: Any,
    x_radii: Any,
    y_radii: Any = None,
    *,
    squared: bool = False,
    memory_mb: float = DEFAULT_MEMORY_MB,
    engine: str = "local",
) -> BallPairs:
    """Every pair (i, j) with |x_i - y_j| < x_radii[i], and with |x_i - y_j| < y_radii[j], exactly.

    Strict inequality, as in the PRDC definitions: a ball of radius 0 holds nothing. One screened
    pass over x serves both directions.

    `engine="ray"`: rows of `x` in shards on Ray tasks (`y` and the radii put once in the object
    store), the same exact kernel on each: the same pairs, ordered by x row.
    """
    x, y = as_matrix(x, "the first"), as_matrix(y, "the second")
    _same_width(x, y)
    memory_mb = _check_memory(memory_mb)
    rx2 = _radii(x_radii, x.shape[0], "x_radii", squared)
    ry2 = None if y_radii is None else _radii(y_radii, y.shape[0], "y_radii", squared)
    if x.shape[0] == 0 or y.shape[0] == 0:
        none = np.zeros(0, dtype=np.int64)
        return BallPairs(none, none, none, none)
    if _engine(engine) == "ray":
        from workbench import distributed

        fn = partial(_ball_range, memory_mb=memory_mb)
        got = distributed.map_ranges(fn, _ranges(x.shape[0]), x, y, rx2, ry2)
        return BallPairs(*(np.concatenate([g[i] for g in got]) for i in range(4)))
    screen = _choose_screen(x.shape[1])
    centre = x.mean(axis=0, dtype=np.float64)
    parts = _cross_pairs(_prepare(x, centre, screen), _prepare(y, centre, screen), rx2, ry2, screen, memory_mb)
    return BallPairs(*parts)


def count_within(
    x: Any,
    y: Any,
    radii: Any,
    *,
    squared: bool = False,
    memory_mb: float = DEFAULT_MEMORY_MB,
    engine: str = "local",
) -> np.ndarray:
    """For each row i of `x`, how many rows of `y` lie strictly within `radii[i]` of it (exactly)."""
    x_n = as_matrix(x, "the first").shape[0]
    pairs = ball_pairs(x, y, radii, squared=squared, memory_mb=memory_mb, engine=engine)
    return np.bincount(pairs.x_ball_rows, minlength=x_n)


# --- engine="ray": the same kernel on shards of the query rows (workbench.distributed) ------------


def _engine(engine: Any) -> str:
    if engine == "local":
        return "local"
    from workbench import distributed

    return distributed.check_engine(engine)


def _ranges(n: int) -> list[tuple[int, int]]:
    from workbench import distributed

    return distributed.split_range(n, min_rows=256)


def _nearest_range(s: int, e: int, x: np.ndarray, y: np.ndarray, *, k: int, memory_mb: float) -> Any:
    return nearest(x[s:e], y, k, squared=True, memory_mb=memory_mb)


def _kth_range(s: int, e: int, x: np.ndarray, *, k: int, memory_mb: float) -> np.ndarray:
    # the (k+1)-th smallest exact squared distance among all rows (itself included, at 0): the
    # k-NN radius, from the same exact float64 distances `_knn_radii_sq` takes
    return nearest(x[s:e], x, k + 1, squared=True, memory_mb=memory_mb)[0][:, k]


def _ball_range(
    s: int, e: int, x: np.ndarray, y: np.ndarray, rx2: np.ndarray, ry2: np.ndarray | None, *, memory_mb: float
) -> tuple[np.ndarray, ...]:
    got = ball_pairs(x[s:e], y, rx2[s:e], ry2, squared=True, memory_mb=memory_mb)
    return (got.x_ball_rows + s, got.x_ball_cols, got.y_ball_rows + s, got.y_ball_cols)
