"""2-D projections: PCA by default, UMAP as an optional extra, cached."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from workbench import projection
from workbench.errors import InputError
from workbench.projection import project


def test_pca_is_deterministic_and_keeps_the_main_axis():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 10)) * np.array([10.0] + [1.0] * 9)
    projection.clear_cache()
    a = project(x)
    projection.clear_cache()
    b = project(x.copy())
    assert a.shape == (200, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    # the first component is the high-variance axis
    assert abs(np.corrcoef(a[:, 0], x[:, 0])[0, 1]) > 0.99


def test_projection_is_cached_and_read_only():
    x = np.random.default_rng(1).normal(size=(50, 4))
    first = project(x)
    assert project(x.copy()) is first  # same content, same cached array
    assert project(x, seed=1) is not first  # the seed is part of the key
    with pytest.raises(ValueError):
        first[0, 0] = 1.0


def test_umap_missing_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)  # import umap -> ImportError
    projection.clear_cache()
    with pytest.raises(InputError) as err:
        project(np.random.default_rng(2).normal(size=(30, 4)), "umap")
    assert 'pip install "synthetic-data-workbench[umap]"' in str(err.value)


def test_bad_input():
    with pytest.raises(InputError, match="2-D"):
        project(np.zeros(5))
    with pytest.raises(InputError, match="NaN or inf"):
        project(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(InputError, match="unknown projection"):
        project(np.zeros((3, 2)), "tsne")
    assert project(np.zeros((0, 3))).shape == (0, 2)
