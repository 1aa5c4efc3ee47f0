"""Ray as an engine: the same calls, run on a Ray cluster, with the same results.

Bottom layer. It owns everything about Ray (the lazy import, the connection, tasks, the shuffle and
the Ray Data embedding pipeline) and imports no other workbench module but `errors`: the modules
whose work it spreads (`knn`, `minhash`, `embed`, the contamination check) hand it their own
module-level functions, so one kernel serves both engines and the import graph has no cycle.

- `check_engine(engine)`: `"local"` (in this process, the default everywhere) or `"ray"`.
- `connect()`: the `ray` module, connected. An already initialised Ray (`ray.init(address=...)`
  for a real cluster) is used as it is; with none, `RAY_ADDRESS` is honoured, else a local cluster
  is started on this machine with a `WorkbenchWarning` that says how to use a real one.
- `map_ranges(fn, ranges, *shared)`: `fn(start, end, *shared)` for each row range, one Ray task
  each; every shared object (a reference matrix, a signature matrix) is put in the object store
  once and read by every task without a copy.
- `map_reduce(map_fn, ranges, reduce_fn, n_partitions, *shared)`: a hash shuffle (what MinHash's
  band buckets need): each map task splits its output into `n_partitions` parts, each reduce task
  gets its part from every map task.
- `encode(embedder, texts)`: Ray Data `map_batches` over actors that each hold the model.
- `is_dataset(obj)`, `dataset_to_polars(ds)`, `dataset_column(ds, column)`: Ray `Dataset` inputs.

Workers import `workbench` (and for embedding, the model package or directory): on a real cluster
install the package on every node, or pass `runtime_env={"pip": [...]}` to `ray.init`.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from workbench.errors import InputError, WorkbenchWarning

__all__ = [
    "ENGINES",
    "check_engine",
    "connect",
    "dataset_column",
    "dataset_to_polars",
    "encode",
    "is_dataset",
    "map_ranges",
    "map_reduce",
    "split_range",
]

ENGINES = ("local", "ray")
_INSTALL = "pip install 'synthetic-data-workbench[ray]'"


def check_engine(engine: Any) -> str:
    """`engine` if it is one of `ENGINES`, else an `InputError` naming the accepted values."""
    if engine not in ENGINES:
        raise InputError(
            f"engine must be one of {list(ENGINES)}; got {engine!r}. 'local' runs in this process, "
            f"'ray' on the connected Ray cluster ({_INSTALL})."
        )
    return str(engine)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InputError(f"engine='ray' needs Ray, which is not installed: {_INSTALL}") from None
    return ray


def connect() -> Any:
    """The `ray` module, connected to a cluster.

    Ray already initialised (`ray.init(address="ray://HEAD:10001")` for a real cluster, or any
    `ray.init(...)` of the user's): used as it is. Not initialised: `ray.init()` joins the cluster
    named by `RAY_ADDRESS` when set, else starts a local cluster on this machine's cores (with a
    `WorkbenchWarning` saying so: on one machine Ray only adds overhead to the in-process engine).
    """
    ray = _ray()
    if not ray.is_initialized():
        if not os.environ.get("RAY_ADDRESS"):
            warnings.warn(
                "engine='ray' with no Ray cluster connected: starting a local one on this machine. "
                "For a real cluster call ray.init(address='ray://HEAD:10001') (or set RAY_ADDRESS) first.",
                WorkbenchWarning,
                stacklevel=3,
            )
        ray.init(include_dashboard=False, log_to_driver=False)
    return ray


def cluster_cpus() -> int:
    """CPUs of the connected cluster (at least 1)."""
    return max(1, int(connect().cluster_resources().get("CPU", 1)))


def split_range(
    n: int, parts: int | None = None, *, align: int = 1, min_rows: int = 1, max_rows: int | None = None
) -> list[tuple[int, int]]:
    """`[0, n)` in contiguous ranges: `parts` of them (default: twice the cluster's CPUs), fewer when
    that would make ranges under `min_rows` rows, more when it would make them over `max_rows`;
    every boundary but the last a multiple of `align`."""
    if n <= 0:
        return []
    if parts is None:
        parts = 2 * cluster_cpus()
    parts = max(1, min(parts, math.ceil(n / max(1, min_rows))))
    if max_rows:
        parts = max(parts, math.ceil(n / max_rows))
    step = math.ceil(n / parts)
    step = max(align, math.ceil(step / align) * align)
    return [(s, min(n, s + step)) for s in range(0, n, step)]


def _get(ray: Any, refs: Any) -> Any:
    """`ray.get(refs)`, turning a worker that cannot import the workbench into an `InputError`."""
    try:
        return ray.get(refs)
    except Exception as exc:
        missing_workbench = "No module named 'workbench'" in str(exc)
        if missing_workbench:
            raise InputError(
                "the Ray workers cannot import workbench: install synthetic-data-workbench on every node, or "
                "ray.init(address=..., runtime_env={'pip': ['synthetic-data-workbench']})."
            ) from exc
        raise


def _apply(fn: Callable[..., Any], start: int, end: int, *args: Any) -> Any:
    return fn(start, end, *args)


def map_ranges(fn: Callable[..., Any], ranges: Sequence[tuple[int, int]], *shared: Any) -> list[Any]:
    """`[fn(s, e, *shared) for s, e in ranges]`, one Ray task per range, results in range order.

    `fn` must be a module-level function (or a `functools.partial` of one): workers import it by
    name. Each shared object is put in the object store once; numpy arrays reach the tasks without a
    copy (read-only).
    """
    if not ranges:
        return []
    ray = connect()
    refs = [ray.put(obj) for obj in shared]
    task = ray.remote(_apply)
    return list(_get(ray, [task.remote(fn, s, e, *refs) for s, e in ranges]))


def _map_parts(map_fn: Callable[..., list[Any]], start: int, end: int, n_parts: int, *args: Any) -> Any:
    parts = map_fn(start, end, n_parts, *args)
    return tuple(parts) if n_parts > 1 else parts[0]


def _reduce_parts(reduce_fn: Callable[[list[Any]], Any], *pieces: Any) -> Any:
    return reduce_fn(list(pieces))


def map_reduce(
    map_fn: Callable[..., list[Any]],
    ranges: Sequence[tuple[int, int]],
    reduce_fn: Callable[[list[Any]], Any],
    n_partitions: int,
    *shared: Any,
) -> list[Any]:
    """A hash shuffle on Ray tasks: `map_fn(s, e, n_partitions, *shared)` returns `n_partitions`
    parts for each range; `reduce_fn([part p of every range])` runs once per partition p. Returns the
    reduce results in partition order. Map outputs stay in the object store (the driver only holds
    references) until their reduce task reads them."""
    if not ranges:
        return []
    ray = connect()
    refs = [ray.put(obj) for obj in shared]
    mapper = ray.remote(_map_parts).options(num_returns=n_partitions)
    outs = [mapper.remote(map_fn, s, e, n_partitions, *refs) for s, e in ranges]
    if n_partitions == 1:
        outs = [[o] for o in outs]
    reducer = ray.remote(_reduce_parts)
    return list(_get(ray, [reducer.remote(reduce_fn, *[o[p] for o in outs]) for p in range(n_partitions)]))


# --- Ray Dataset inputs ----------------------------------------------------------------------------


def is_dataset(obj: Any) -> bool:
    """Is `obj` a Ray Data `Dataset`? (Without importing Ray.)"""
    return type(obj).__module__.startswith("ray.data") and hasattr(obj, "iter_batches")


@contextmanager
def _in_order(ds: Any) -> Iterator[None]:
    """`ds` runs with `preserve_order` (rows come back in the Dataset's order, whatever finishes
    first), then as before. A Dataset keeps its own copy of the DataContext it was made under, so
    the flag is set on that copy."""
    from ray.data import DataContext

    context = getattr(ds, "context", None) or DataContext.get_current()
    options = context.execution_options
    before = options.preserve_order
    options.preserve_order = True
    try:
        yield
    finally:
        options.preserve_order = before


def dataset_to_polars(ds: Any) -> Any:
    """A Ray `Dataset` as one polars frame on the driver, in the Dataset's row order (streamed in
    Arrow batches)."""
    import polars as pl

    frames: list[pl.DataFrame] = []
    with _in_order(ds):
        for b in ds.iter_batches(batch_format="pyarrow", batch_size=65_536):
            f = pl.from_arrow(b)
            if isinstance(f, pl.DataFrame) and f.height:
                frames.append(f)
    if not frames:
        return pl.DataFrame(schema={c: pl.String for c in ds.columns() or []})
    return pl.concat(frames, how="vertical_relaxed")


def dataset_column(ds: Any, column: str = "text") -> list[Any]:
    """One column of a Ray `Dataset` as a list on the driver, in row order, or an `InputError` naming
    the columns."""
    cols = ds.columns() or []
    if column not in cols:
        raise InputError(f"the Ray Dataset has no column {column!r}; found {cols}. Rename one to {column!r} first.")
    out: list[Any] = []
    with _in_order(ds):
        for b in ds.iter_batches(batch_format="pyarrow", batch_size=65_536):
            out.extend(b.column(column).to_pylist())
    return out


# --- embedding: Ray Data actors holding the model ---------------------------------------------------


class _EmbedActor:
    """One model per actor: a copy of the driver's `Embedder` (its model spec and settings, never its
    cache or a loaded model: `Embedder.__getstate__` drops both), loaded once per actor."""

    def __init__(self, embedder: Any) -> None:
        embedder.use_cache = False
        embedder.progress = False
        embedder.threads = 1  # the actor holds one CPU
        self.embedder = embedder

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out_pos, out_vec = [], []
        for pos, texts in zip(batch["pos"], batch["texts"]):
            out_pos.append(np.asarray(pos, dtype=np.int64))
            out_vec.append(np.asarray(self.embedder._compute([str(t) for t in texts]), dtype=np.float32))
        return {"pos": np.concatenate(out_pos), "vec": np.concatenate(out_vec)}


def encode(embedder: Any, texts: Sequence[str], *, concurrency: int | None = None) -> np.ndarray:
    """Vectors of `texts` computed by Ray Data actors that each hold `embedder`'s model.

    The batches are the ones the in-process call makes (`Embedder.plan_batches`: sorted by token
    count, longest first, cut to the token budget or `batch_size`; the driver loads the tokenizer
    with the model for that): they are cut here on the driver and each travels whole to one actor,
    so every text is padded exactly as in-process and the vectors agree to float32 rounding of the
    kernels (see README, "Scaling out with Ray"). Each actor runs torch on one thread (it asks Ray
    for one CPU).
    """
    n = len(texts)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    connect()
    import ray.data as ray_data

    items = [
        {"pos": idx.astype(np.int64), "texts": np.array([texts[i] for i in idx], dtype=object)}
        for idx in embedder.plan_batches(list(texts))
    ]
    actors = concurrency or min(cluster_cpus(), len(items))
    ds = ray_data.from_items(items, override_num_blocks=min(len(items), 4 * actors))
    out = ds.map_batches(
        _EmbedActor,
        fn_constructor_kwargs={"embedder": embedder},
        batch_size=1,
        batch_format="numpy",
        concurrency=actors,
        num_cpus=1,
    )
    result: np.ndarray | None = None
    for b in out.iter_batches(batch_format="numpy", batch_size=None):
        vec = np.asarray(b["vec"], dtype=np.float32)
        if result is None:
            result = np.empty((n, vec.shape[1]), dtype=np.float32)
        result[np.asarray(b["pos"], dtype=np.int64)] = vec
    assert result is not None
    return result
