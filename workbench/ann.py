"""Approximate nearest neighbours for PRDC at scale: inverted lists over the exact kernel.

Bottom layer: imports only errors and `workbench.knn`. Exact PRDC (`workbench.prdc` on
`workbench.knn`) computes (N^2 + N M + M^2) d multiply-adds; at 1M synthetic x 100k real rows of
384-d embeddings that is about 45 minutes on two cores. This module restricts every distance
computation to pairs of rows in *nearby cells* of one shared partition of the space, the
inverted-file (IVF) idea of faiss's `IndexIVFFlat`:

- `Partition.fit(x, n_lists, n_probe, seed)`: k-means centroids (Lloyd, on a seeded sample of
  `x`); every row belongs to the cell of its nearest centroid; cell c *probes* itself and its
  `n_probe - 1` nearest other cells (by centroid distance).
- `kth_neighbour_distances(x, k, partition)`: each row's k-NN radius among the rows of the cells
  its cell probes (the `knn.kth_neighbour_distances` convention: the row itself is its 0-th
  neighbour).
- `ball_pairs(x, y, x_radii, y_radii, partition)`: `knn.ball_pairs` restricted to the y rows in the
  cells x's cell probes.

Within those candidate sets the computation *is* `workbench.knn` (blocked matrix products, exact
float64 comparisons), so the only approximation is which pairs are looked at. Its errors are
one-sided: an approximate radius is never smaller than the exact one (the k-th nearest of a
subset), and every pair reported is a true pair under the radii used. Cost: about n_probe /
n_lists of the exact cost (cells are unequal in size, so somewhat more). With all cells probed
(`n_probe >= n_lists`) the results equal `workbench.knn`'s exactly.

Why not faiss or usearch: measured on this 2-core machine (100k x 384-d, busy), faiss 1.15
IndexIVFFlat took 44 s to build and 25 s for a self k-NN search at nprobe 16, HNSW32 32 s + 22 s,
and a flat faiss search ran at a fifth of the torch matrix product under `workbench.knn`; a
million rows would not fit ten minutes. Grouping the queries by cell turns IVF search into
matrix products on the kernel already here, with exact distances and no new dependency.

Reproducible: the partition depends only on the inputs and `seed` (sampling and k-means
initialisation come from `numpy.random.default_rng(seed)`; assignments use `knn.nearest`, whose
answers are exact and break ties by the lower index), so the same inputs and seed give the same
results whatever the thread count. `threads` sets how many cores the kernel uses (default: all
this process may run on) and is restored afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.errors import InputError
from workbench.knn import DEFAULT_MEMORY_MB, BallPairs, as_matrix, nearest
from workbench.knn import ball_pairs as exact_ball_pairs
from workbench.threads import budget, limit, workers

__all__ = [
    "DEFAULT_N_PROBE",
    "Partition",
    "ball_pairs",
    "default_n_lists",
    "kth_neighbour_distances",
    "threads",
]

DEFAULT_N_PROBE = 8
KMEANS_ITERATIONS = 8
KMEANS_SAMPLE_PER_LIST = 64  # k-means fits on at most this many rows per centroid (faiss uses 39-256)


@contextmanager
def threads(n: int | None) -> Iterator[int]:
    """Run the kernels on `n` worker threads (None: `workbench.threads.budget()`), each
    single-threaded; restored afterwards (`workbench.threads.workers`)."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
        raise InputError(f"threads must be a positive integer or None (all cores); got {n!r}.")
    with workers(None if n is None else int(n)) as in_force:
        yield in_force


def _map_cells(fn: Callable[[int], Any], cells: list[int], cost: np.ndarray) -> list[Any]:
    """`fn(cell)` for every cell, in the order given, on `workbench.threads.budget()` Python
    threads, each cell single-threaded (the way `workbench.knn` runs its blocks: a cell is
    mostly small matrix products, which two OpenMP threads run slower than one on a busy machine).
    The costliest cells start first. Torch's and BLAS's thread settings are restored afterwards."""
    n_workers = min(budget(), len(cells))
    with limit(1):
        if n_workers <= 1:
            return [fn(c) for c in cells]
        start = sorted(range(len(cells)), key=lambda i: (-cost[i], i))
        with ThreadPoolExecutor(n_workers) as pool:
            done = dict(zip(start, pool.map(lambda i: fn(cells[i]), start)))
    return [done[i] for i in range(len(cells))]


def default_n_lists(n_rows: int) -> int:
    """Cells for `n_rows` rows: n_rows / 2048 (cells of about 2,048 rows), at least sqrt(n_rows) / 4,
    with at least 256 rows a cell on average.

    Each cell is one call of the exact kernel on its rows and the rows of the `n_probe` cells it
    probes: about n_probe x 2,048 candidates a row, so the cost grows linearly with the rows (at
    1.1M rows, 537 cells and 1.5% of the exact arithmetic at n_probe 8). Smaller cells would make
    the kernel's fixed cost per call (a few ms) dominate; below about 270k rows sqrt(n)/4 cells
    (fewer, larger ones) keep that in check.
    """
    return int(max(1, min(max(round(math.sqrt(n_rows) / 4), round(n_rows / 2048)), n_rows // 256)))


def _lists(labels: np.ndarray, n_lists: int) -> tuple[np.ndarray, np.ndarray]:
    """(order, starts): the rows of cell c are order[starts[c]:starts[c+1]], in row order."""
    order = np.argsort(labels, kind="stable")
    starts = np.concatenate(([0], np.cumsum(np.bincount(labels, minlength=n_lists))))
    return order, starts


@dataclass(frozen=True)
class Partition:
    """k-means cells over the embedding space and, per cell, the cells its rows are compared with.

    `centroids` (n_lists, d); `probes[c]`: cell c first, then its nearest other cells, `n_probe`
    in all; `seed`: what fixed the sample and the initial centroids.
    """

    centroids: np.ndarray
    probes: np.ndarray
    seed: int

    @property
    def n_lists(self) -> int:
        return int(self.centroids.shape[0])

    @property
    def n_probe(self) -> int:
        return int(self.probes.shape[1])

    @classmethod
    def fit(
        cls,
        x: Any,
        n_lists: int | None = None,
        n_probe: int = DEFAULT_N_PROBE,
        *,
        seed: int = 0,
        iterations: int = KMEANS_ITERATIONS,
        memory_mb: float = DEFAULT_MEMORY_MB,
    ) -> Partition:
        """k-means (Lloyd, `iterations` rounds) on a seeded sample of at most 64 rows per cell of `x`.

        `n_lists`: the number of cells (default `default_n_lists(len(x))`); `n_probe`: how many
        cells each cell's rows are compared with, itself included (more: slower and closer to
        exact; `n_probe >= n_lists` is exact). An empty cell keeps its previous centroid.
        """
        x = as_matrix(x, "the")
        n = x.shape[0]
        if n == 0:
            raise InputError("a partition needs at least one row.")
        n_lists = default_n_lists(n) if n_lists is None else n_lists
        for value, name in ((n_lists, "n_lists"), (n_probe, "n_probe"), (iterations, "iterations")):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise InputError(f"{name} must be a positive integer; got {value!r}.")
        n_lists = int(min(n_lists, n))
        rng = np.random.default_rng(seed)
        size = min(n, KMEANS_SAMPLE_PER_LIST * n_lists)
        sample = x[np.sort(rng.choice(n, size=size, replace=False))] if size < n else x
        centroids = sample[np.sort(rng.choice(sample.shape[0], size=n_lists, replace=False))].astype(np.float64)
        for _ in range(iterations):
            labels = nearest(sample, centroids, 1, memory_mb=memory_mb)[1][:, 0]
            order, starts = _lists(labels, n_lists)
            filled = np.flatnonzero(np.diff(starts) > 0)
            sums = np.add.reduceat(sample[order].astype(np.float64), starts[filled], axis=0)
            centroids[filled] = sums / np.diff(starts)[filled, None]
        n_probe = int(min(n_probe, n_lists))
        near = nearest(centroids, centroids, n_probe, memory_mb=memory_mb)[1]
        probes = np.empty((n_lists, n_probe), dtype=np.int64)
        for c in range(n_lists):  # the cell itself first (duplicate centroids could tie with it)
            others = near[c][near[c] != c]
            probes[c, 0] = c
            probes[c, 1:] = others[: n_probe - 1]
        return cls(centroids=centroids, probes=probes, seed=int(seed))

    def assign(self, x: Any, *, memory_mb: float = DEFAULT_MEMORY_MB) -> np.ndarray:
        """The cell of every row of `x`: its nearest centroid (ties: the lower cell)."""
        x = as_matrix(x, "the")
        if x.shape[0] == 0:
            return np.zeros(0, dtype=np.int64)
        return nearest(x, self.centroids, 1, memory_mb=memory_mb)[1][:, 0]

    def pool(self, cell: int, order: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """The rows (of the set `order`/`starts` describes) in the cells that `cell` probes."""
        return np.concatenate([order[starts[c] : starts[c + 1]] for c in self.probes[cell]])


def _labels(partition: Partition, x: np.ndarray, labels: Any, memory_mb: float) -> np.ndarray:
    if labels is None:
        return partition.assign(x, memory_mb=memory_mb)
    lab = np.asarray(labels, dtype=np.int64).reshape(-1)
    if lab.shape[0] != x.shape[0] or (lab.size and (lab.min() < 0 or lab.max() >= partition.n_lists)):
        raise InputError(f"labels must give one cell (0..{partition.n_lists - 1}) per row; use Partition.assign.")
    return lab


def kth_neighbour_distances(
    x: Any,
    k: int,
    partition: Partition,
    *,
    labels: Any = None,
    squared: bool = False,
    memory_mb: float = DEFAULT_MEMORY_MB,
) -> np.ndarray:
    """Each row's distance to its k-th nearest neighbour among the rows of the cells its cell
    probes (the row itself is its 0-th neighbour, as in `knn.kth_neighbour_distances`).

    Never smaller than the exact radius; equal to it whenever the k nearest neighbours lie in the
    probed cells. A row whose probed cells hold fewer than k+1 rows gets its exact radius.
    `labels`: `partition.assign(x)`, when already computed.
    """
    x = as_matrix(x, "the")
    n = x.shape[0]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 or k > n - 1:
        raise InputError(f"k must be a positive integer below the number of rows ({n}); got {k!r}.")
    lab = _labels(partition, x, labels, memory_mb)
    order, starts = _lists(lab, partition.n_lists)
    out = np.empty(n, dtype=np.float64)
    sizes = np.diff(starts)

    def cell(c: int) -> None:
        rows = order[starts[c] : starts[c + 1]]
        pool = partition.pool(c, order, starts)
        if pool.size < k + 1:
            pool = np.arange(n)
        d2, _ = nearest(x[rows], x[pool], k + 1, squared=True, memory_mb=memory_mb)
        out[rows] = d2[:, k]  # cells hold disjoint rows

    cells = [c for c in range(partition.n_lists) if sizes[c]]
    _map_cells(cell, cells, np.array([sizes[c] * sizes[partition.probes[c]].sum() for c in cells]))
    return out if squared else np.sqrt(out)


def ball_pairs(
    x: Any,
    y: Any,
    x_radii: Any,
    y_radii: Any,
    partition: Partition,
    *,
    x_labels: Any = None,
    y_labels: Any = None,
    squared: bool = False,
    memory_mb: float = DEFAULT_MEMORY_MB,
) -> BallPairs:
    """`knn.ball_pairs` restricted to the pairs (i, j) whose y row j lies in a cell that x row i's
    cell probes: every pair returned is a true pair under the radii given (exact comparison,
    strict inequality); pairs across cells that are not probed are missed."""
    x, y = as_matrix(x, "the first"), as_matrix(y, "the second")
    rx = np.asarray(x_radii, dtype=np.float64).reshape(-1)
    ry = np.asarray(y_radii, dtype=np.float64).reshape(-1)
    if rx.shape[0] != x.shape[0] or ry.shape[0] != y.shape[0]:
        raise InputError("x_radii and y_radii must hold one radius per row of x and of y.")
    xl = _labels(partition, x, x_labels, memory_mb)
    yl = _labels(partition, y, y_labels, memory_mb)
    x_order, x_starts = _lists(xl, partition.n_lists)
    y_order, y_starts = _lists(yl, partition.n_lists)
    x_sizes, y_sizes = np.diff(x_starts), np.diff(y_starts)

    def cell(c: int) -> tuple[np.ndarray, ...]:
        rows = x_order[x_starts[c] : x_starts[c + 1]]
        pool = partition.pool(c, y_order, y_starts)
        p = exact_ball_pairs(x[rows], y[pool], rx[rows], ry[pool], squared=squared, memory_mb=memory_mb)
        return rows[p.x_ball_rows], pool[p.x_ball_cols], rows[p.y_ball_rows], pool[p.y_ball_cols]

    cost = x_sizes * np.array([y_sizes[partition.probes[c]].sum() for c in range(partition.n_lists)])
    cells = [c for c in range(partition.n_lists) if cost[c] > 0]
    parts = _map_cells(cell, cells, cost[cells])
    if not parts:
        none = np.zeros(0, dtype=np.int64)
        return BallPairs(none, none, none, none)
    return BallPairs(*(np.concatenate([p[i] for p in parts]) for i in range(4)))
