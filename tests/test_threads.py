"""Thread budgets: the environment variable, limits that always restore, and answers that do not depend on them."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from workbench import knn, threads
from workbench.errors import InputError


def _blas() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_budget_from_environment(monkeypatch):
    monkeypatch.delenv(threads.ENV_THREADS, raising=False)
    assert threads.budget() == threads.available_cores() >= 1
    monkeypatch.setenv(threads.ENV_THREADS, "3")
    assert threads.budget() == 3
    for bad in ("0", "-1", "two"):
        monkeypatch.setenv(threads.ENV_THREADS, bad)
        with pytest.raises(InputError, match="WORKBENCH_THREADS.*positive integer"):
            threads.budget()


def test_limit_sets_and_restores_blas_and_torch():
    import torch

    torch_before, blas_before = torch.get_num_threads(), _blas()
    with threads.single_threaded():
        assert torch.get_num_threads() == 1
        assert set(_blas()) == {1}
    assert torch.get_num_threads() == torch_before and _blas() == blas_before
    with pytest.raises(RuntimeError), threads.limit(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == torch_before and _blas() == blas_before  # restored on error too
    with pytest.raises(InputError, match="positive integer"), threads.limit(0):
        pass


def test_knn_answers_do_not_depend_on_the_budget(monkeypatch):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(700, 16)), rng.normal(size=(900, 16))
    answers = []
    for n in ("1", "2", "3"):
        monkeypatch.setenv(threads.ENV_THREADS, n)
        d, i = knn.nearest(x, y, 3, memory_mb=1)  # small blocks: many of them, pulled by n threads
        answers.append((d, i, knn.kth_neighbour_distances(y, 4, memory_mb=1)))
    for d, i, r in answers[1:]:
        assert np.array_equal(d, answers[0][0]) and np.array_equal(i, answers[0][1])
        assert np.array_equal(r, answers[0][2])


def test_audit_runs_checks_single_threaded(small_df):
    from workbench.audit import run_check
    from workbench.checks.base import Check, Context

    seen = {}

    class Probe(Check):
        name = "probe"
        failure_mode = "provenance"

        def run(self, ctx):
            seen["blas"] = _blas()
            return self.result("pass", "probed")

    res = run_check(Probe(), Context(small_df))
    assert res.status == "pass" and set(seen["blas"]) == {1}


def test_workers_block_overrides_the_budget(monkeypatch):
    monkeypatch.setenv(threads.ENV_THREADS, "2")
    with threads.workers(1) as n:
        assert n == 1 == threads.budget()
        with threads.workers(None) as inner:
            assert inner == 1
    assert threads.budget() == 2
    with pytest.raises(InputError, match="threads must be a positive integer"), threads.workers(0):
        pass
