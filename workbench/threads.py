"""Explicit thread budgets for the numeric hot paths.

Bottom layer: imports only errors (threadpoolctl on first use; torch only when something has
already imported it). A researcher's machine is never idle: a second kernel, a browser, a build.
Multi-threaded BLAS and torch work in lockstep, every thread waiting (spinning) for the slowest,
so when another process holds a core each small operation waits for a descheduled thread.
Measured on this 2-core machine with a second process keeping both cores busy: `eigvalsh` of a
384 x 384 matrix took 1.87 s with the default two BLAS threads and 0.025 s with one (75x). So:

- Small dense operations (a d x d eigen-decomposition, a Gram matrix of a few thousand rows, a
  logistic regression) run on ONE thread: at these sizes a second thread saves little on an idle
  machine and costs a lot on a busy one (`single_threaded()`).
- Large loops get their parallelism from work pulling, not lockstep: independent blocks on
  `budget()` Python threads, each single-threaded (`workbench.knn` screens distances that way, the
  embedder runs batches that way). A descheduled core then delays one block, not every operation,
  and sharing the machine costs about a fair share.

`budget()` is the number of worker threads: `$WORKBENCH_THREADS` when set (a positive integer),
else the cores this process may run on (`os.sched_getaffinity`). `limit(n)` sets BLAS/OpenMP
(threadpoolctl) and torch's intra-op threads to `n` inside a `with` block and restores both after.
"""

from __future__ import annotations

import contextvars
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from workbench.errors import InputError

__all__ = ["ENV_THREADS", "available_cores", "budget", "limit", "single_threaded", "workers"]

ENV_THREADS = "WORKBENCH_THREADS"
_TORCH_LOCK = threading.RLock()  # torch's thread setting is process-wide
_WORKERS: contextvars.ContextVar[int | None] = contextvars.ContextVar("workbench_workers", default=None)
_CONTROLLER: list[Any] = [None, -1]  # threadpoolctl's view of the loaded libraries, len(sys.modules) then


def _controller() -> Any:
    """A cached `ThreadpoolController` (building one scans the loaded libraries: ~2 ms), rebuilt when
    modules were imported since, which may have loaded another BLAS or OpenMP runtime."""
    if _CONTROLLER[0] is None or _CONTROLLER[1] != len(sys.modules):
        from threadpoolctl import ThreadpoolController

        _CONTROLLER[0] = ThreadpoolController()
        _CONTROLLER[1] = len(sys.modules)
    return _CONTROLLER[0]


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def budget() -> int:
    """Worker threads for work-pulling loops: the innermost `workers(n)` block's n, else
    `$WORKBENCH_THREADS`, else `available_cores()`."""
    override = _WORKERS.get()
    if override is not None:
        return override
    raw = os.environ.get(ENV_THREADS, "").strip()
    if not raw:
        return available_cores()
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise InputError(
            f"{ENV_THREADS}={raw!r} is not a positive integer; set it to the number of threads the workbench may "
            f"use (e.g. {ENV_THREADS}=2) or unset it to use every core this process may run on."
        )
    return n


def _positive(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        try:
            import numpy as np

            if isinstance(n, np.integer) and n >= 1:
                return int(n)
        except ImportError:  # pragma: no cover - numpy is a dependency
            pass
        raise InputError(f"{what} must be a positive integer; got {n!r}.")
    return int(n)


@contextmanager
def workers(n: int | None) -> Iterator[int]:
    """`budget()` is `n` inside the block (in this thread and context); None leaves it as it is.
    Yields the budget in force."""
    if n is None:
        yield budget()
        return
    token = _WORKERS.set(_positive(n, "threads"))
    try:
        yield budget()
    finally:
        _WORKERS.reset(token)


@contextmanager
def limit(n: int) -> Iterator[None]:
    """BLAS/OpenMP thread pools (threadpoolctl) and torch's intra-op threads set to `n` inside the
    block, restored after. Torch is limited only when already imported (this never imports it)."""
    n = _positive(n, "a thread limit")
    torch: Any = sys.modules.get("torch")
    with _controller().limit(limits=n):
        if torch is None:
            yield
            return
        with _TORCH_LOCK:
            previous = torch.get_num_threads()
            torch.set_num_threads(n)
        try:
            yield
        finally:
            with _TORCH_LOCK:
                torch.set_num_threads(previous)


@contextmanager
def single_threaded() -> Iterator[None]:
    """`limit(1)`: for small dense operations, which a second thread barely speeds up on an idle
    machine and slows down many times over on a busy one."""
    with limit(1):
        yield
