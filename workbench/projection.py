"""2-D projections of embeddings for display. PCA by default (fast, deterministic)."""

from __future__ import annotations

import numpy as np

from workbench.errors import InputError


def project(embeddings: np.ndarray, method: str = "pca", *, seed: int = 0) -> np.ndarray:
    """Project (n, d) embeddings to (n, 2) float32 coordinates for a scatter plot.

    `method="pca"`: principal components (sign-fixed so the same data gives the same picture).
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(f"embeddings must be a 2-D array (n, d); got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise InputError("embeddings contain NaN or inf; recompute them or drop those rows.")
    if method != "pca":
        raise InputError(f"unknown projection {method!r}; use 'pca'.")
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
