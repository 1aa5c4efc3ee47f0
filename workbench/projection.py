"""2-D projections of embeddings for display. PCA by default (fast, deterministic); UMAP optional.

Projections are cached in memory by the content of the embeddings, the method and the seed, so
re-drawing a chart or re-opening a widget on the same data does not recompute them.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

from workbench.errors import InputError

METHODS = ("pca", "umap")
UMAP_INSTALL = 'pip install "synthetic-data-workbench[umap]"'
CACHE_SIZE = 16
_CACHE: OrderedDict[tuple[str, str, int], np.ndarray] = OrderedDict()


def project(embeddings: np.ndarray, method: str = "pca", *, seed: int = 0) -> np.ndarray:
    """Project (n, d) embeddings to (n, 2) float32 coordinates for a scatter plot.

    `method="pca"`: principal components (sign-fixed so the same data gives the same picture).
    `method="umap"`: UMAP (needs the optional extra: `pip install "synthetic-data-workbench[umap]"`),
    seeded with `seed`. Results are cached (the last `CACHE_SIZE` projections); a returned array is
    read-only, copy it to modify it.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(f"embeddings must be a 2-D array (n, d); got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise InputError("embeddings contain NaN or inf; recompute them or drop those rows.")
    if method not in METHODS:
        raise InputError(f"unknown projection {method!r}; use one of {list(METHODS)}.")
    key = (hashlib.sha256(x.tobytes() + repr(x.shape).encode()).hexdigest(), method, int(seed))
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    coords = _pca(x) if method == "pca" else _umap(x, seed)
    coords.setflags(write=False)
    _CACHE[key] = coords
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return coords


def clear_cache() -> None:
    """Forget every cached projection."""
    _CACHE.clear()


def _pca(x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32)
    centered = x - x.mean(axis=0)
    if n == 1 or x.shape[1] == 1:
        out = np.zeros((n, 2))
        out[:, 0] = centered[:, 0] if x.shape[1] else 0.0
        return out.astype(np.float32)
    # economy SVD; components' signs fixed by the largest-magnitude loading (as scikit-learn does)
    u, s, vt = np.linalg.svd(centered, full_matrices=False)
    k = min(2, vt.shape[0])
    signs = np.sign(vt[np.arange(k), np.argmax(np.abs(vt[:k]), axis=1)])
    signs[signs == 0] = 1
    coords = np.zeros((n, 2))
    coords[:, :k] = u[:, :k] * s[:k] * signs
    return coords.astype(np.float32)


def _umap(x: np.ndarray, seed: int) -> np.ndarray:
    try:
        import umap
    except ImportError:
        raise InputError(f"UMAP is an optional extra that is not installed; install it with: {UMAP_INSTALL}") from None
    n = x.shape[0]
    if n < 4:
        raise InputError(f"UMAP needs at least 4 rows; got {n}. Use method='pca' for tiny data.")
    reducer = umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), random_state=seed)
    return np.asarray(reducer.fit_transform(x), dtype=np.float32)
