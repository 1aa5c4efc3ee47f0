"""workbench.distributed without a cluster: engine values, ranges, and the errors a person sees."""

from __future__ import annotations

import itertools
import sys

import polars as pl
import pytest

from workbench import distributed
from workbench.errors import InputError


def test_engine_values():
    assert distributed.check_engine("local") == "local" and distributed.check_engine("ray") == "ray"
    with pytest.raises(InputError, match=r"engine must be one of \['local', 'ray'\]; got 'dask'"):
        distributed.check_engine("dask")


@pytest.mark.parametrize(
    ("n", "parts", "align", "min_rows", "max_rows"),
    [(10, 4, 1, 1, None), (1000, 4, 64, 1, None), (5, 8, 1, 2, None), (1000, 2, 1, 1, 100), (1, 4, 8, 1, None)],
)
def test_split_range_covers_every_row_once(n, parts, align, min_rows, max_rows):
    got = distributed.split_range(n, parts, align=align, min_rows=min_rows, max_rows=max_rows)
    assert got[0][0] == 0 and got[-1][1] == n
    assert all(a[1] == b[0] for a, b in itertools.pairwise(got))
    assert all(s % align == 0 for s, _ in got)
    if max_rows:
        assert all(e - s <= max_rows for s, e in got)
    assert distributed.split_range(0, parts) == []


def test_without_ray_installed_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(InputError, match=r"pip install 'synthetic-data-workbench\[ray\]'"):
        distributed.connect()


def test_workers_without_the_package_get_an_error_with_the_fix():
    class FakeRay:
        @staticmethod
        def get(refs):
            raise RuntimeError("ray::task() ModuleNotFoundError: No module named 'workbench'")

    with pytest.raises(InputError, match="install synthetic-data-workbench on every node"):
        distributed._get(FakeRay, [])


def test_frames_are_not_datasets():
    assert not distributed.is_dataset(pl.DataFrame({"text": ["a"]}))
    assert not distributed.is_dataset(["a"])
