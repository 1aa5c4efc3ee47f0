"""The one SQLite layer under every durable record the workbench keeps (spot-check verdicts, the failure diary).

`Store(path, kind=..., ddl=..., schema_version=...)` opens one SQLite file for records that must
survive a killed kernel and several writers at once: WAL journal, `synchronous=FULL` (a commit is
on disk when it returns), foreign keys on, a busy timeout. Every write is one immediate transaction
(`with store.transaction() as conn: ...`) that takes the write lock up front, commits on success,
rolls back on any error, and always releases both the SQLite transaction and the store's own
thread lock, also when the lock could not be had. A writer that cannot get the lock within the
timeout gets a `StoreLockedError` saying who holds it and what to do, never a hang.

The schema is created on first open and its version kept in a `meta` table; a file of another
version, a file that is not a database, a folder, or a disk where SQLite refuses WAL are refused
with an `InputError`. Timestamps are UTC ISO 8601 with microseconds (`utc_now`). `StoreFile` is
the base of a class kept in one such file (`VerdictStore`, `Diary`): it declares the file's kind,
schema and version, and gets opening, closing and the integrity check.

Bottom layer: imports only the standard library and `workbench.errors`.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Self

from workbench.errors import InputError, WorkbenchError

_LOCK_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class StoreLockedError(WorkbenchError):
    """The store's write lock was held by another process or connection for longer than the timeout."""


def utc_now() -> str:
    """Now, in UTC, as ISO 8601 with microseconds (`2026-01-31T12:00:00.123456+00:00`): the one timestamp format."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def split_statements(script: str) -> list[str]:
    """The complete SQL statements of `script`, in order (a trigger body's inner `;` does not split it)."""
    out: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                out.append(pending.strip())
            pending = ""
    if pending.strip(" \t\r\n;"):
        out.append(pending.strip().rstrip(";"))  # a last statement without its ';'
    return out


def _is_lock_error(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _LOCK_CODES
    return "locked" in str(exc) or "busy" in str(exc)


class Store:
    """One SQLite file of durable records: WAL, `synchronous=FULL`, immediate transactions that always release.

    `kind` names the file for people ("verdict store", "failure diary"); `ddl` is the schema
    (statements separated by `;`, all `IF NOT EXISTS`), created in one transaction on first open;
    `schema_version` is stored in table `meta` (which `ddl` must not define) and checked on every
    open; `meta` adds further keys written once. `default_name` is the file name suggested when
    `path` is a folder. `timeout` (seconds) is how long a write waits for another writer's lock.

    One connection per store, usable from several threads (widget callbacks): writes are serialised
    by a thread lock as well as by SQLite's lock. Reads (`execute`) need no lock in WAL mode.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        kind: str,
        ddl: str,
        schema_version: int,
        default_name: str,
        timeout: float = 60.0,
        meta: Mapping[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.kind = kind
        try:
            self.timeout = float(timeout)
        except (TypeError, ValueError):
            self.timeout = float("nan")
        if not self.timeout > 0:
            raise InputError(f"timeout must be a positive number of seconds; got {timeout!r}.")
        if self.path.is_dir():
            raise InputError(f"{self.path} is a folder; pass a file path such as {self.path / default_name}.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            # isolation_level=None: no implicit transactions; every write is an explicit BEGIN IMMEDIATE
            self.conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise InputError(f"{self.path} cannot be opened as a {kind} ({exc}); pass a writable file path.") from None
        try:
            self._open(ddl, schema_version, dict(meta or {}))
        except BaseException:
            self.conn.close()
            raise

    def _open(self, ddl: str, schema_version: int, meta: dict[str, str]) -> None:
        try:
            mode = str(self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            if mode.lower() != "wal":
                raise InputError(
                    f"{self.path}: SQLite refused WAL mode (got {mode!r}); put the {self.kind} on a local disk."
                )
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            with self.transaction() as c:
                c.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                for stmt in split_statements(ddl):
                    c.execute(stmt)
                c.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(schema_version),))
                for key, value in meta.items():
                    c.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, value))
                version = c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            if _is_lock_error(exc):
                raise self._locked() from None
            raise InputError(f"{self.path} is not a usable {self.kind} ({exc}); pass a new file path.") from None
        if str(version) != str(schema_version):
            raise InputError(
                f"{self.path} is a {self.kind} of schema version {version}; this workbench reads {schema_version}. "
                "Open it with the workbench version that wrote it, or pass a new file path."
            )
        self.schema_version = schema_version

    def _locked(self) -> StoreLockedError:
        return StoreLockedError(
            f"{self.path} is locked: another process or connection has held the {self.kind}'s write lock for "
            f"more than {self.timeout:g} s (a transaction left open, e.g. in another notebook kernel or an "
            "sqlite3 shell). Nothing was saved. Commit or close that other writer, then try again; pass "
            "timeout= (seconds) to wait longer."
        )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One immediate write transaction: `with store.transaction() as conn: conn.execute(...)`.

        Takes SQLite's write lock at the start (`BEGIN IMMEDIATE`, waiting up to `timeout`), commits
        (with a full sync) when the block ends, rolls back when it raises. Both the SQLite
        transaction and the thread lock are released on every path; raises `StoreLockedError` when
        the lock cannot be had in time, having changed nothing.
        """
        if not self._lock.acquire(timeout=self.timeout):
            raise StoreLockedError(
                f"{self.path}: another thread of this process has been writing to the {self.kind} for more "
                f"than {self.timeout:g} s. Nothing was saved; try again when it has finished."
            )
        try:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if _is_lock_error(exc):
                    raise self._locked() from None
                raise
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
        finally:
            self._lock.release()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run one read (outside any transaction); WAL lets it proceed while another process writes."""
        return self.conn.execute(sql, tuple(params))

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of one read query."""
        return self.execute(sql, params).fetchall()

    def integrity_check(self) -> str:
        """SQLite's `PRAGMA integrity_check` ('ok' when the file is sound)."""
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, kind={self.kind!r}, schema_version={self.schema_version})"


class StoreFile:
    """Base of a class whose records live in one `Store` file (`VerdictStore`, `Diary`).

    A subclass declares its file: `KIND` (a name for people), `DDL`, `SCHEMA_VERSION`,
    `DEFAULT_NAME` (suggested when a folder is passed) and optionally `META`; `Cls(path,
    timeout=60.0)` opens it. The instance has `path`, `integrity_check()`, `close()`, and closes
    at the end of a `with` block; it reads and writes through `self._db` (the `Store`).
    """

    KIND: ClassVar[str]
    DDL: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int]
    DEFAULT_NAME: ClassVar[str]
    META: ClassVar[Mapping[str, str]] = {}

    def __init__(self, path: str | Path, *, timeout: float = 60.0) -> None:
        self._db = Store(
            path,
            kind=self.KIND,
            ddl=self.DDL,
            schema_version=self.SCHEMA_VERSION,
            default_name=self.DEFAULT_NAME,
            timeout=timeout,
            meta=self.META,
        )
        self.path = self._db.path

    def integrity_check(self) -> str:
        """SQLite's `PRAGMA integrity_check` ('ok' when the file is sound)."""
        return self._db.integrity_check()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


__all__ = ["Store", "StoreFile", "StoreLockedError", "split_statements", "utc_now"]
