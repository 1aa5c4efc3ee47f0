"""Coverage illusion: does the synthetic data cover the real distribution, and where does it not?

A great average can hide a catastrophic tail. This module measures how much of the real
distribution the synthetic set covers and *where* it does not:

- `prdc(real, fake, k)`: precision, recall, density and coverage of Naeem et al. 2020 ("Reliable
  Fidelity and Diversity Metrics for Generative Models"), Euclidean distance, each point's radius
  the distance to its k-th nearest neighbour within its own set. `prdc_result` adds per-example
  flags (which real examples are covered, which synthetic examples lie inside the real manifold)
  and bootstrap intervals.
- `tail_audit(...)`: clusters the real embeddings (k-means) and reports, per cluster, its share of
  the real data, the synthetic coverage and density inside it, top terms and representative texts,
  ranked by how badly it is covered; `TailAudit.by(column)` does the same by any column.
- `CoverageIllusionCheck` (registered as `coverage_illusion`): fails when overall coverage is well
  below what same-distribution data would give, or a cluster holding a meaningful share of the
  real data is essentially uncovered; its evidence lists the uncovered real rows.

Exactness and memory: distances are screened in blocks (one matrix product per block of rows,
never a full n x m matrix) with a rigorous rounding-error bound; every pair whose comparison the
bound cannot decide is recomputed exactly in float64. The product runs in bfloat16 where this
machine computes it soundly (float32 accumulation, checked at first use) and at least 1.5x faster
than float32 (CPUs with AVX512-BF16 or AMX: 3-4x), else in float32; the wider bfloat16 bound only
means more exact recomputations, never a different answer. Results therefore equal the
definition computed in exact arithmetic (to float64 rounding). The `prdc` package rounds distances
to float32, so the two can differ only where a distance and a radius agree to about 7 significant
digits (a tie at float32 precision).
"""

from __future__ import annotations

import math
import os
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from workbench.checks import register
from workbench.checks.base import Check, CheckResult, Context, param
from workbench.errors import InputError, WorkbenchWarning

__all__ = [
    "CoverageIllusionCheck",
    "PRDCResult",
    "TailAudit",
    "default_n_clusters",
    "expected_coverage",
    "prdc",
    "prdc_result",
    "tail_audit",
]

METRICS = ("precision", "recall", "density", "coverage")
DEFAULT_MEMORY_MB = 256
_U32 = 2.0**-24  # unit roundoff of float32
_LOCK = threading.Lock()  # one blocked computation at a time changes torch's thread setting


# --- validation ----------------------------------------------------------------------------------


def _as_matrix(x: Any, name: str) -> np.ndarray:
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


def _check_inputs(real: Any, fake: Any, k: Any) -> tuple[np.ndarray, np.ndarray, int]:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be a positive integer (the nearest-neighbour count, 5 in the paper); got {k!r}.")
    k = int(k)
    r = _as_matrix(real, "real")
    f = _as_matrix(fake, "synthetic")
    if r.shape[1] != f.shape[1]:
        raise InputError(
            f"real and synthetic embeddings have different dimensions ({r.shape[1]} vs {f.shape[1]}); "
            "embed both with the same model."
        )
    if f.shape[0] == 0:
        raise InputError("the synthetic set is empty; coverage of the real data by nothing is undefined.")
    for arr, name in ((r, "real"), (f, "synthetic")):
        if arr.shape[0] < k + 1:
            raise InputError(
                f"the {name} set has {arr.shape[0]} row(s); k-nearest-neighbour radii with k={k} need at "
                f"least k+1={k + 1}. Add rows or lower k."
            )
    return r, f, k


# --- blocked exact distance machinery -----------------------------------------------------------
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
    """`fn(start, end)` over row blocks, on as many Python threads as torch has intra-op threads.

    Each block runs single-threaded (torch releases the GIL), so the cores pull blocks as they
    free up: on a shared machine a descheduled core delays one block, not every operation (as it
    does when each product is split across all cores in lockstep). Torch's thread setting is
    restored afterwards.
    """
    import torch

    blocks = [(s, min(n, s + chunk)) for s in range(0, n, chunk)]
    workers = min(torch.get_num_threads(), len(blocks))
    if workers <= 1:
        return [fn(s, e) for s, e in blocks]
    from concurrent.futures import ThreadPoolExecutor

    with _LOCK:
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(workers) as pool:
                return list(pool.map(lambda b: fn(*b), blocks))
        finally:
            torch.set_num_threads(previous)


def _block_rows(n_cols: int, memory_mb: float) -> int:
    """Rows per block so that every worker's block (float32 distances, masks, temporaries: about
    16 bytes an element) fits `memory_mb` together; at most 256 rows (a few MB stay in cache
    between the product and the comparisons)."""
    import torch

    rows = int(memory_mb * 2**20 // (n_cols * 16 * max(1, torch.get_num_threads())))
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
    real: _Side, fake: _Side, r2: np.ndarray, s2: np.ndarray, screen: _Screen, memory_mb: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (real i, synthetic j) with d < r_i (synthetic j in real i's ball) and with d < s_j
    (real i in synthetic j's ball), exactly and with the paper's strict inequality; one screened
    product per block of real rows serves both."""
    row_thr = screen.up(r2, screen.coef * (real.norm + float(fake.norm.max())) ** 2)
    col_thr = _f32_up(screen.up(s2, screen.coef * (float(real.norm.max()) + fake.norm) ** 2))[None, :]
    chunk = _block_rows(fake.n, memory_mb)

    def block(s: int, e: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        a = real.left(s, e) @ fake.right.T
        possible = a <= _f32_up(row_thr[s:e])[:, None]
        possible |= a <= col_thr
        rows, cols = _sparse_nonzero(possible)
        rows += s
        exact = _exact_sq(real.x, fake.x, rows, cols)
        in_real_ball = exact < r2[rows]
        in_fake_ball = exact < s2[cols]
        return rows[in_real_ball], cols[in_real_ball], rows[in_fake_ball], cols[in_fake_ball]

    parts = _map_blocks(block, real.n, chunk)
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))  # type: ignore[return-value]


# --- PRDC ----------------------------------------------------------------------------------------


def expected_coverage(n_real: int, n_fake: int, k: int = 5) -> float:
    """Expected coverage when real and synthetic are samples of the same distribution.

    A real point is uncovered when its k nearest neighbours among the other N-1 real and the M
    synthetic points are all real: prod_{t<k} (N-1-t)/(N+M-1-t) (Naeem et al. 2020, section 3.3).
    For N = M large this is 1 - 2^-k (0.969 at k=5).
    """
    miss = 1.0
    for t in range(k):
        miss *= max(0, n_real - 1 - t) / (n_real + n_fake - 1 - t)
    return 1.0 - miss


@dataclass
class PRDCResult:
    """PRDC metrics with the per-example facts they average.

    - `real_covered[i]`: some synthetic point lies strictly inside real i's k-NN ball (coverage).
    - `real_in_synthetic_manifold[i]`: real i lies inside some synthetic k-NN ball (recall).
    - `synthetic_in_real_manifold[j]`: synthetic j lies inside some real k-NN ball (precision).
    - `synthetic_ball_count[j]`: how many real k-NN balls contain synthetic j (density = mean / k).
    - `real_ball_count[i]`: how many synthetic points lie inside real i's ball.
    - `real_radius`, `synthetic_radius`: the k-NN radii (0 for a point with k or more duplicates:
      its ball is empty under the strict inequality of the definition, so it is never covered).
    - `ci`: {metric: (low, high)} percentile bootstrap intervals when requested, else None.
    """

    k: int
    precision: float
    recall: float
    density: float
    coverage: float
    real_radius: np.ndarray
    synthetic_radius: np.ndarray
    real_covered: np.ndarray
    real_in_synthetic_manifold: np.ndarray
    real_ball_count: np.ndarray
    synthetic_in_real_manifold: np.ndarray
    synthetic_ball_count: np.ndarray
    expected_coverage: float
    ci: dict[str, tuple[float, float]] | None = None
    confidence: float | None = None

    def metrics(self) -> dict[str, float]:
        return {m: getattr(self, m) for m in METRICS}

    def bootstrap(
        self, n_boot: int = 1000, *, confidence: float = 0.95, seed: int = 0
    ) -> dict[str, tuple[float, float]]:
        """Percentile bootstrap intervals for the four metrics, resampling examples.

        The k-NN radii (the estimated manifolds) are held fixed and the per-example flags and counts
        are resampled with replacement (real rows for recall and coverage, synthetic rows for
        precision and density). Recomputing radii on a resample would put duplicate points in it,
        whose zero radii make the metrics meaningless. So the intervals describe the sampling error
        of the averages given the manifolds.
        """
        if n_boot < 1:
            raise InputError(f"n_boot must be at least 1; got {n_boot}.")
        if not 0 < confidence < 1:
            raise InputError(f"confidence must be between 0 and 1 (e.g. 0.95); got {confidence}.")
        rng = np.random.default_rng(seed)
        n, m = self.real_covered.size, self.synthetic_ball_count.size
        per_real = {
            "recall": self.real_in_synthetic_manifold.astype(float),
            "coverage": self.real_covered.astype(float),
        }
        per_fake = {
            "precision": self.synthetic_in_real_manifold.astype(float),
            "density": self.synthetic_ball_count / self.k,
        }
        alpha = (1 - confidence) / 2
        out: dict[str, tuple[float, float]] = {}
        boot_batch = max(1, 20_000_000 // max(n, m))
        for values, size in ((per_real, n), (per_fake, m)):
            for name, v in values.items():
                means = []
                for s in range(0, n_boot, boot_batch):
                    idx = rng.integers(0, size, size=(min(boot_batch, n_boot - s), size))
                    means.append(v[idx].mean(axis=1))
                dist = np.concatenate(means)
                out[name] = (float(np.quantile(dist, alpha)), float(np.quantile(dist, 1 - alpha)))
        return {m_: out[m_] for m_ in METRICS}


def prdc_result(
    real: Any,
    fake: Any,
    k: int = 5,
    *,
    bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    memory_mb: float = DEFAULT_MEMORY_MB,
) -> PRDCResult:
    """Precision, recall, density and coverage (Naeem et al. 2020) with per-example flags.

    `real` (N, d) and `fake` (M, d) are embeddings (any float dtype). Euclidean distance; the
    k-NN radius of a point is the distance to its k-th nearest neighbour in its own set. Works in
    row blocks sized to `memory_mb` (never an N x M matrix). `bootstrap=B` adds percentile intervals
    (`ci`) from B resamples (see `PRDCResult.bootstrap`).

    Bad input raises `InputError`: mismatched dimensions, NaN/inf, an empty synthetic set, fewer
    than k+1 rows in either set. Duplicate points are allowed (documented behaviour, as in the
    paper and the `prdc` package): a point with k or more exact duplicates has radius 0 and an
    empty ball; a `WorkbenchWarning` says how many such points there are.
    """
    r, f, k = _check_inputs(real, fake, k)
    if memory_mb <= 0:
        raise InputError(f"memory_mb must be positive; got {memory_mb}.")
    centre = r.mean(axis=0, dtype=np.float64)
    screen = _choose_screen(r.shape[1])
    rs, fs = _prepare(r, centre, screen), _prepare(f, centre, screen)
    r2 = _knn_radii_sq(rs, k, screen, memory_mb)
    s2 = _knn_radii_sq(fs, k, screen, memory_mb)
    zero_r, zero_f = int((r2 == 0).sum()), int((s2 == 0).sum())
    if zero_r or zero_f:
        warnings.warn(
            f"{zero_r} real and {zero_f} synthetic point(s) have {k} or more exact duplicates, so their "
            "k-NN radius is 0 and their ball is empty (such real points count as uncovered). "
            "Deduplicate the embeddings (e.g. drop repeated texts) for meaningful coverage.",
            WorkbenchWarning,
            stacklevel=2,
        )
    n, m = r.shape[0], f.shape[0]
    b_rows, b_cols, real_rows_in_fake, _ = _cross_pairs(rs, fs, r2, s2, screen, memory_mb)
    real_ball_count = np.bincount(b_rows, minlength=n)
    synthetic_ball_count = np.bincount(b_cols, minlength=m)
    real_in_fake = np.zeros(n, dtype=bool)
    real_in_fake[real_rows_in_fake] = True
    result = PRDCResult(
        k=k,
        precision=float((synthetic_ball_count > 0).mean()),
        recall=float(real_in_fake.mean()),
        density=float(synthetic_ball_count.sum() / (k * m)),
        coverage=float((real_ball_count > 0).mean()),
        real_radius=np.sqrt(r2),
        synthetic_radius=np.sqrt(s2),
        real_covered=real_ball_count > 0,
        real_in_synthetic_manifold=real_in_fake,
        real_ball_count=real_ball_count,
        synthetic_in_real_manifold=synthetic_ball_count > 0,
        synthetic_ball_count=synthetic_ball_count,
        expected_coverage=expected_coverage(n, m, k),
    )
    if bootstrap:
        result.ci = result.bootstrap(bootstrap, confidence=confidence, seed=seed)
        result.confidence = confidence
    return result


def prdc(
    real: Any,
    fake: Any,
    k: int = 5,
    *,
    bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    memory_mb: float = DEFAULT_MEMORY_MB,
) -> dict[str, Any]:
    """`{"precision", "recall", "density", "coverage"}` of Naeem et al. 2020 (Euclidean distance).

    Precision: share of synthetic points inside some real k-NN ball (fidelity). Recall: share of
    real points inside some synthetic k-NN ball. Density: how many real balls contain a synthetic
    point, averaged and divided by k (about 1 for same-distribution data). Coverage: share of real
    points whose own k-NN ball contains a synthetic point (about 1 - 2^-k for same-distribution
    data; the diversity measure this module is about). With `bootstrap=B` the dict also has
    `ci`: {metric: (low, high)}. See `prdc_result` for per-example flags.
    """
    res = prdc_result(real, fake, k, bootstrap=bootstrap, confidence=confidence, seed=seed, memory_mb=memory_mb)
    out: dict[str, Any] = res.metrics()
    if res.ci is not None:
        out["ci"] = res.ci
    return out


# --- tail audit ----------------------------------------------------------------------------------


def default_n_clusters(n: int) -> int:
    """k-means clusters for `n` real rows: the rule of thumb sqrt(n/2), between 1 and 30.

    Enough clusters that a missing topic of a few percent of the data shows as its own cluster,
    few enough that each holds tens of rows and the table stays readable.
    """
    return int(min(30, max(1, round(math.sqrt(n / 2)))))


def _kmeans(x: np.ndarray, n_clusters: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.cluster import KMeans

    n_clusters = min(n_clusters, int(np.unique(x, axis=0).shape[0]))
    if n_clusters <= 1:
        return np.zeros(x.shape[0], dtype=np.int64), x.mean(axis=0, keepdims=True)
    km = KMeans(n_clusters=n_clusters, n_init=3, random_state=seed).fit(x)
    labels = km.labels_.astype(np.int64)
    centers = km.cluster_centers_
    # number clusters by size (0 = largest) so the same data gives the same names whatever k-means did
    sizes = np.bincount(labels, minlength=n_clusters)
    order = np.lexsort((np.arange(n_clusters), -sizes))
    rename = np.empty(n_clusters, dtype=np.int64)
    rename[order] = np.arange(n_clusters)
    return rename[labels], centers[order]


def _nearest_center(x: np.ndarray, centers: np.ndarray) -> np.ndarray:
    if x.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    d = (x**2).sum(1)[:, None] - 2 * x @ centers.T + (centers**2).sum(1)[None, :]
    return d.argmin(axis=1).astype(np.int64)


def top_terms(texts: Sequence[str], groups: np.ndarray, n_groups: int, n_terms: int = 6) -> list[list[str]]:
    """Class-based TF-IDF (as in BERTopic): the words that set each group's texts apart.

    Each group's texts are one document; weight = term frequency in the group (normalised by the
    group's word count) x log(1 + average words per group / the term's total frequency).
    """
    from sklearn.feature_extraction.text import CountVectorizer

    if not texts or n_groups == 0:
        return [[] for _ in range(n_groups)]
    vec = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[^\W\d_][\w'-]+\b", lowercase=True)
    try:
        counts = vec.fit_transform(texts)
    except ValueError:  # no word at all (emoji, digits, stop words only)
        return [[] for _ in range(n_groups)]
    import scipy.sparse as sp

    member = sp.csr_matrix((np.ones(len(groups)), (groups, np.arange(len(groups)))), shape=(n_groups, len(groups)))
    per_group = np.asarray((member @ counts).todense(), dtype=np.float64)
    words = per_group.sum(axis=1, keepdims=True)
    tf = np.divide(per_group, words, out=np.zeros_like(per_group), where=words > 0)
    total = per_group.sum(axis=0)
    idf = np.log1p(words.mean() / np.maximum(total, 1))
    weight = tf * idf
    vocab = vec.get_feature_names_out()
    out = []
    for g in range(n_groups):
        order = np.lexsort((vocab, -weight[g]))
        out.append([str(vocab[j]) for j in order[:n_terms] if weight[g, j] > 0])
    return out


@dataclass
class TailAudit:
    """Where the synthetic data does and does not cover the real data.

    `clusters`: one row per k-means cluster of the real embeddings, worst covered first. Columns:
    its real rows and share, the synthetic rows nearest its centre and their share, `coverage`
    (share of its real rows covered) and `coverage_ratio` (over `expected_coverage`), `density`
    (synthetic points in its real rows' balls, relative to a same-distribution sample: about 1),
    `representation` (synthetic share / real share: about 1), `p_under` (Holm-adjusted p-value
    that the synthetic share is below the real share, as in NDB), `gap` (1 - the smaller of
    coverage_ratio and representation, in [0, 1]: the ranking key), `uncovered_rows`, `top_terms`
    (class-based TF-IDF) and `examples` (the real texts nearest the centre). `real_rows`: the real rows with `cluster`, `covered`, `in_synthetic_manifold`,
    `ball_count`. `synthetic_rows`: the synthetic rows with their nearest `cluster` and
    `in_real_manifold`. `prdc`: the overall metrics and flags. `uncovered()`: the uncovered real
    rows, worst clusters first. `by(column)`: the same table grouped by any column.
    """

    clusters: pl.DataFrame
    real_rows: pl.DataFrame
    synthetic_rows: pl.DataFrame
    prdc: PRDCResult
    centers: np.ndarray
    n_terms: int = 6
    n_examples: int = 3

    @property
    def expected_coverage(self) -> float:
        return self.prdc.expected_coverage

    def uncovered(self) -> pl.DataFrame:
        """Real rows no synthetic point covers, ordered by their cluster's rank (worst first)."""
        ranks = self.clusters.select("cluster", "rank", pl.col("coverage").alias("cluster_coverage"))
        return (
            self.real_rows.filter(~pl.col("covered"))
            .join(ranks, on="cluster", how="left")
            .sort("rank", "distance_to_center")
        )

    def map_frame(self, coords: Any) -> pl.DataFrame:
        """Real then synthetic rows with 2-D `coords` (e.g. `projection.project` of the stacked
        real and synthetic embeddings): `id, text, origin, cluster, status, x, y` where status is
        'real, uncovered', 'real, covered' or 'synthetic' (what `charts.coverage_map` draws)."""
        xy = np.asarray(coords, dtype=np.float64)
        n, m = self.real_rows.height, self.synthetic_rows.height
        if xy.shape != (n + m, 2):
            raise InputError(
                f"coords must have shape ({n + m}, 2): the real rows then the synthetic rows; got {xy.shape}."
            )

        def part(df: pl.DataFrame, origin: str, status: pl.Expr) -> pl.DataFrame:
            text = pl.col("text").cast(pl.String) if "text" in df.columns else pl.lit("", dtype=pl.String)
            return df.select(
                pl.col("id").cast(pl.String), text.alias("text"), pl.lit(origin).alias("origin"), "cluster", status
            )

        real = part(
            self.real_rows,
            "real",
            pl.when(pl.col("covered"))
            .then(pl.lit("real, covered"))
            .otherwise(pl.lit("real, uncovered"))
            .alias("status"),
        )
        synth = part(self.synthetic_rows, "synthetic", pl.lit("synthetic").alias("status"))
        return pl.concat([real, synth]).with_columns(x=pl.Series(xy[:, 0]), y=pl.Series(xy[:, 1]))

    def by(self, column: str, synthetic_column: str | None = None) -> pl.DataFrame:
        """Coverage by the values of a column of the real rows (label, a length bucket, a scenario).

        Synthetic rows are counted by `synthetic_column` (default: the same column, when the
        synthetic rows have it). Same columns as `clusters`, with `group` holding the value.
        """
        if column not in self.real_rows.columns:
            raise InputError(
                f"column {column!r} is not in the real rows; they have {self.real_rows.columns}. "
                "Add it to the frame passed to tail_audit."
            )
        groups = self.real_rows[column].cast(pl.String).fill_null("(missing)")
        values = sorted(groups.unique().to_list())
        index = {v: i for i, v in enumerate(values)}
        codes = np.array([index[v] for v in groups.to_list()], dtype=np.int64)
        scol = synthetic_column or column
        if scol in self.synthetic_rows.columns:
            s_groups = self.synthetic_rows[scol].cast(pl.String).fill_null("(missing)").to_list()
            s_codes = np.array([index.get(v, -1) for v in s_groups], dtype=np.int64)
        else:
            s_codes = None
        table = _group_table(self, codes, len(values), s_codes)
        names = pl.Series("group", values, dtype=pl.String)
        return table.with_columns(group=names.gather(table["cluster"])).select(
            "rank", "group", pl.exclude("rank", "group", "cluster")
        )


GROUP_COLUMNS = (
    "rank",
    "cluster",
    "real_rows",
    "real_share",
    "synthetic_rows",
    "synthetic_share",
    "coverage",
    "coverage_ratio",
    "density",
    "representation",
    "p_under",
    "gap",
    "uncovered_rows",
    "top_terms",
    "examples",
)


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error control over the groups); NaN kept."""
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if ok.size == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adjusted
    return out


def _under_representation_p(real_rows: np.ndarray, n: int, s_rows: np.ndarray, m: int) -> np.ndarray:
    """One-sided two-proportion z-test per group: is the synthetic share below the real share?

    The per-bin test of NDB (Richardson & Weiss 2018, "On GANs and GMMs"): real data binned by
    k-means, synthetic rows assigned to the nearest centre, proportions compared. Holm-adjusted.
    """
    from scipy.stats import norm

    pooled = (real_rows + s_rows) / (n + m)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (real_rows / n - s_rows / m) / se
    p = np.where(se > 0, norm.sf(z), np.nan)
    return _holm(p)


def _group_table(audit: TailAudit, codes: np.ndarray, n_groups: int, s_codes: np.ndarray | None) -> pl.DataFrame:
    res = audit.prdc
    n, m, k = res.real_covered.size, res.synthetic_ball_count.size, res.k
    real_rows = np.bincount(codes, minlength=n_groups)
    covered = np.bincount(codes, weights=res.real_covered, minlength=n_groups)
    balls = np.bincount(codes, weights=res.real_ball_count, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        coverage = np.where(real_rows > 0, covered / np.maximum(real_rows, 1), np.nan)
        # density restricted to the real rows of a group: synthetic points in their balls, over k
        # times the synthetic points a same-distribution sample would put there (M * share)
        density = np.where(real_rows > 0, balls * n / (k * m * np.maximum(real_rows, 1)), np.nan)
    if s_codes is not None:
        s_rows = np.bincount(s_codes[s_codes >= 0], minlength=n_groups)
        s_share = s_rows / max(1, m)
        with np.errstate(invalid="ignore", divide="ignore"):
            representation = np.where(real_rows > 0, s_share / (real_rows / n), np.nan)
        p_under = _under_representation_p(real_rows, n, s_rows, m)
    else:
        s_rows = np.full(n_groups, -1)
        s_share = representation = p_under = np.full(n_groups, np.nan)
    cov_ratio = coverage / res.expected_coverage
    # how badly a group is covered: the worse of the local (k-NN coverage) and the group-level
    # (share of synthetic rows) measure, both 1 for same-distribution data and 0 when it is missing
    gap = np.clip(1 - np.fmin(cov_ratio, representation), 0, 1)
    texts = audit.real_rows["text"].to_list() if "text" in audit.real_rows.columns else []
    terms = top_terms(texts, codes, n_groups, audit.n_terms) if texts else [[] for _ in range(n_groups)]
    dist = audit.real_rows["distance_to_center"].to_numpy()
    examples: list[list[str]] = []
    for g in range(n_groups):
        members = np.flatnonzero(codes == g)
        members = members[np.argsort(dist[members], kind="stable")][: audit.n_examples]
        examples.append([texts[i] for i in members] if texts else [])
    table = pl.DataFrame(
        {
            "cluster": np.arange(n_groups),
            "real_rows": real_rows.astype(np.int64),
            "real_share": real_rows / max(1, n),
            "synthetic_rows": s_rows.astype(np.int64),
            "synthetic_share": s_share,
            "coverage": coverage,
            "coverage_ratio": cov_ratio,
            "density": density,
            "representation": representation,
            "p_under": p_under,
            "gap": gap,
            "uncovered_rows": (real_rows - covered).astype(np.int64),
            "top_terms": [", ".join(t) for t in terms],
            "examples": examples,
        },
        schema_overrides={"synthetic_rows": pl.Int64, "examples": pl.List(pl.String)},
    )
    if s_codes is None:
        table = table.with_columns(pl.lit(None, dtype=pl.Int64).alias("synthetic_rows"))
    table = table.with_columns(pl.col("synthetic_share", "representation", "p_under").fill_nan(None))
    # worst covered first; among equals the larger share of the real data first
    table = table.sort(
        ["gap", "coverage", "real_share", "cluster"], descending=[True, False, True, False], nulls_last=True
    )
    return table.with_row_index("rank", offset=1).with_columns(pl.col("rank").cast(pl.Int64)).select(GROUP_COLUMNS)


def _frame_for(df: pl.DataFrame | None, n: int, name: str) -> pl.DataFrame:
    if df is None:
        return pl.DataFrame({"id": [f"{name}-{i}" for i in range(n)]}, schema={"id": pl.String})
    if df.height != n:
        raise InputError(f"the {name} frame has {df.height} rows but its embeddings have {n}; align them row by row.")
    if "id" not in df.columns:
        df = df.with_columns(pl.Series("id", [f"{name}-{i}" for i in range(n)], dtype=pl.String))
    return df


def tail_audit(
    real_embeddings: Any,
    synthetic_embeddings: Any,
    real: pl.DataFrame | None = None,
    synthetic: pl.DataFrame | None = None,
    *,
    k: int = 5,
    n_clusters: int | None = None,
    seed: int = 0,
    n_terms: int = 6,
    n_examples: int = 3,
    result: PRDCResult | None = None,
    memory_mb: float = DEFAULT_MEMORY_MB,
) -> TailAudit:
    """Cluster the real embeddings and measure synthetic coverage inside each cluster.

    `real` / `synthetic`: frames aligned with the embeddings (for ids, texts and columns to group
    by); optional. `n_clusters`: default `default_n_clusters(N)`. `result`: a `prdc_result` already
    computed on the same embeddings (saves recomputing). The cluster table is ranked by coverage,
    worst first; a cluster whose coverage is far below `expected_coverage` is a tail the synthetic
    data misses: its top terms and examples say what to generate.
    """
    r, f, k = _check_inputs(real_embeddings, synthetic_embeddings, k)
    if n_clusters is not None and (isinstance(n_clusters, bool) or int(n_clusters) < 1):
        raise InputError(f"n_clusters must be a positive integer or None; got {n_clusters!r}.")
    res = result if result is not None else prdc_result(r, f, k, memory_mb=memory_mb)
    if res.real_covered.size != r.shape[0] or res.synthetic_ball_count.size != f.shape[0] or res.k != k:
        raise InputError("result= was computed on other embeddings or another k; leave it out to recompute.")
    real_df = _frame_for(real, r.shape[0], "real")
    synth_df = _frame_for(synthetic, f.shape[0], "synthetic")
    labels, centers = _kmeans(r, n_clusters or default_n_clusters(r.shape[0]), seed)
    dist = np.sqrt(((r - centers[labels]) ** 2).sum(axis=1))
    real_rows = real_df.with_columns(
        pl.Series("cluster", labels, dtype=pl.Int64),
        pl.Series("covered", res.real_covered),
        pl.Series("in_synthetic_manifold", res.real_in_synthetic_manifold),
        pl.Series("ball_count", res.real_ball_count.astype(np.int64)),
        pl.Series("distance_to_center", dist),
    )
    s_labels = _nearest_center(f, centers)
    synth_rows = synth_df.with_columns(
        pl.Series("cluster", s_labels, dtype=pl.Int64),
        pl.Series("in_real_manifold", res.synthetic_in_real_manifold),
    )
    audit = TailAudit(
        clusters=pl.DataFrame(),
        real_rows=real_rows,
        synthetic_rows=synth_rows,
        prdc=res,
        centers=centers,
        n_terms=n_terms,
        n_examples=n_examples,
    )
    audit.clusters = _group_table(audit, labels, centers.shape[0], s_labels)
    return audit


# --- the registered check ------------------------------------------------------------------------


# the evidence `reason` of a real row: three different findings
REASON_UNCOVERED_CLUSTER = "in an essentially uncovered cluster"
REASON_UNDER_REPRESENTED_CLUSTER = "in an under-represented cluster"
REASON_UNCOVERED_ROW = "uncovered"


@dataclass
class CoverageIllusionCheck(Check):
    """Synthetic data that covers the real distribution on average but misses parts of it.

    Real rows: the frozen anchor set when there is one, else the rows with origin 'real'. The
    reference is what two samples of the *same* distribution give: coverage about
    `expected_coverage(N, M, k)` (1 - 2^-k = 0.97 at k=5), and in every cluster a synthetic share
    equal to the real share. Fails when

    - overall coverage is below `fail_ratio` of the reference, or
    - a cluster holding at least `min_cluster_share` of the real data (and `min_cluster_rows`
      rows) is *essentially uncovered*: its coverage is below `cluster_fail_ratio` of the reference
      (each real point is uncovered with probability 2^-k under the same distribution, so half of
      a ten-row cluster uncovered has odds below one in a million), or
    - such a cluster is *under-represented*: covered, but holding less than `min_representation`
      of its share of synthetic rows with a Holm-adjusted one-sided two-proportion test (NDB,
      Richardson & Weiss 2018) below `alpha`.

    The two are different findings, named apart in the summary, in the evidence `reason` and in
    `details` (`uncovered_clusters`, `under_represented_clusters`): an uncovered cluster has no
    synthetic examples near its real rows; an under-represented one has them, too few.

    Warns when overall coverage is below `warn_ratio` of the reference. Score: the coverage.
    Evidence: the real rows of the failing clusters (uncovered ones first), then every other
    uncovered real row.
    """

    name = "coverage_illusion"
    failure_mode = "coverage_illusion"
    description = "synthetic data covers the real distribution, tails included (PRDC coverage, tail audit)"
    requires_embeddings = True
    min_rows = 0

    k: int = param(5, ge=1, le=1000)
    n_clusters: int | None = param(None, ge=1, le=10_000)
    warn_ratio: float = param(0.9, ge=0, le=1)
    fail_ratio: float = param(0.75, ge=0, le=1)
    cluster_fail_ratio: float = param(0.5, ge=0, le=1)
    min_representation: float = param(0.5, ge=0, le=1)
    alpha: float = param(0.05, ge=1e-10, lt=1)
    min_cluster_share: float = param(0.01, ge=0, le=1)
    min_cluster_rows: int = param(10, ge=1, le=1_000_000)

    def _real(self, ctx: Context) -> tuple[pl.DataFrame, str]:
        if ctx.anchor is not None:
            return ctx.anchor.df, "anchor set"
        return ctx.df.filter(ctx.origin_mask("real")), "real rows"

    def missing_inputs(self, ctx: Context) -> str | None:
        if "origin" not in ctx.df.columns:
            return "needs an 'origin' column (real | synthetic)"
        real, where = self._real(ctx)
        n_synth = int(ctx.origin_mask("synthetic").sum())
        if real.height < self.k + 1:
            return f"needs at least k+1={self.k + 1} real rows ({where}); found {real.height}"
        if n_synth < self.k + 1:
            return f"needs at least k+1={self.k + 1} synthetic rows; found {n_synth}"
        return super().missing_inputs(ctx)

    def run(self, ctx: Context) -> CheckResult:
        real_df, where = self._real(ctx)
        synth_mask = ctx.origin_mask("synthetic")
        emb = ctx.embeddings()
        if ctx.anchor is not None:
            real_emb = ctx.anchor_embeddings()
        else:
            real_emb = emb[ctx.origin_mask("real")]
        synth_df = ctx.df.filter(synth_mask)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", WorkbenchWarning)
            audit = tail_audit(
                real_emb, emb[synth_mask], real_df, synth_df, k=self.k, n_clusters=self.n_clusters, seed=ctx.seed
            )
        res = audit.prdc
        expected = res.expected_coverage
        n_real = res.real_covered.size
        meaningful = audit.clusters.filter(
            (pl.col("real_share") >= self.min_cluster_share) & (pl.col("real_rows") >= self.min_cluster_rows)
        )
        uncovered_c = pl.col("coverage") < self.cluster_fail_ratio * expected
        missing_c = (pl.col("representation") < self.min_representation) & (pl.col("p_under") < self.alpha)
        uncovered = meaningful.filter(uncovered_c)
        under = meaningful.filter(~uncovered_c & missing_c.fill_null(False))
        notes = []
        if res.coverage < self.fail_ratio * expected or uncovered.height or under.height:
            status = "fail"
        elif res.coverage < self.warn_ratio * expected:
            status = "warn"
        else:
            status = "pass"
        head = (
            f"Synthetic data covers {res.coverage:.1%} of the {n_real} {where} (same-distribution data would "
            f"cover about {expected:.1%}; precision {res.precision:.2f}, density {res.density:.2f})."
        )

        def listing(clusters: pl.DataFrame) -> str:
            return "; ".join(
                f"cluster {c} ({s:.1%} of real, {r:.0%} of its share in synthetic, coverage {v:.0%}: {t or 'no terms'})"
                for c, s, r, v, t in clusters.select("cluster", "real_share", "representation", "coverage", "top_terms")
                .head(3)
                .iter_rows()
            )

        if uncovered.height:
            notes.append(
                f"{uncovered.height} cluster(s) holding {float(uncovered['real_share'].sum()):.1%} of the real data "
                f"are essentially uncovered (coverage below {self.cluster_fail_ratio:.0%} of the same-distribution "
                f"level: many of their real rows have no synthetic example nearby): {listing(uncovered)}. "
                "Generate examples like their evidence rows."
            )
        if under.height:
            notes.append(
                f"{under.height} cluster(s) holding {float(under['real_share'].sum()):.1%} of the real data are "
                f"under-represented: covered, but with significantly less than {self.min_representation:.0%} of "
                f"their share of the synthetic rows: {listing(under)}. Generate more examples like their evidence "
                "rows (or reweight), so a model sees them as often as real data does."
            )
        if not (uncovered.height or under.height) and status == "pass":
            notes.append(
                "No cluster holding a meaningful share of the real data is left uncovered or under-represented."
            )
        zero = int((res.real_radius == 0).sum())
        if zero:
            notes.append(f"{zero} real row(s) have k or more exact duplicates (radius 0; counted as uncovered).")
        for w in caught:
            if not issubclass(w.category, WorkbenchWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        flagged, thin = uncovered["cluster"].to_list(), under["cluster"].to_list()
        ranks = audit.clusters.select("cluster", "rank", pl.col("coverage").alias("cluster_coverage"))
        rows = audit.real_rows.join(ranks, on="cluster", how="left").with_columns(
            pl.when(pl.col("cluster").is_in(flagged))
            .then(pl.lit(REASON_UNCOVERED_CLUSTER))
            .when(pl.col("cluster").is_in(thin))
            .then(pl.lit(REASON_UNDER_REPRESENTED_CLUSTER))
            .when(~pl.col("covered"))
            .then(pl.lit(REASON_UNCOVERED_ROW))
            .otherwise(None)
            .alias("reason")
        )
        order = {REASON_UNCOVERED_CLUSTER: 0, REASON_UNDER_REPRESENTED_CLUSTER: 1, REASON_UNCOVERED_ROW: 2}
        rows = rows.filter(pl.col("reason").is_not_null()).sort(
            pl.col("reason").replace_strict(order, return_dtype=pl.Int8),
            "rank",
            pl.col("covered"),
            "distance_to_center",
        )
        keep = [
            c
            for c in ("id", "text", "label", "cluster", "rank", "cluster_coverage", "covered", "reason")
            if c in rows.columns
        ]
        evidence = rows.select(keep).with_columns(pl.col("id").cast(pl.String))
        if "text" not in evidence.columns:
            evidence = evidence.with_columns(pl.lit(None, dtype=pl.String).alias("text"))
        return self.result(
            status,
            " ".join([head, *notes]),
            score=round(res.coverage, 6),
            score_meaning=f"coverage of the real data by the synthetic data (higher is better; about {expected:.3f} "
            "for same-distribution data)",
            threshold=round(self.fail_ratio * expected, 6),
            evidence=evidence,
            details={
                "prdc": {m: round(v, 6) for m, v in res.metrics().items()},
                "expected_coverage": round(expected, 6),
                "k": self.k,
                "real_source": where,
                "n_real": n_real,
                "n_synthetic": int(res.synthetic_ball_count.size),
                "uncovered_clusters": flagged,
                "under_represented_clusters": thin,
                "clusters": audit.clusters.drop("examples").to_dicts(),
            },
        )


register(CoverageIllusionCheck())
