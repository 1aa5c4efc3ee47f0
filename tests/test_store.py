"""The one SQLite layer: pragmas, schema versions, transactions that always release, lock errors, timestamps."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import textwrap
import threading

import pytest

from workbench.errors import InputError
from workbench.store import Store, StoreLockedError, split_statements, utc_now

DDL = """
CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, CHECK (name != 'bad'));
CREATE TABLE IF NOT EXISTS log (item INTEGER NOT NULL REFERENCES items(id));
CREATE TRIGGER IF NOT EXISTS items_no_delete BEFORE DELETE ON items
    BEGIN SELECT RAISE(ABORT, 'items are append-only; keep them'); END;
"""


def _open(path, **kw) -> Store:
    kw = {"kind": "test store", "ddl": DDL, "schema_version": 3, "default_name": "t.sqlite", **kw}
    return Store(path, **kw)


@pytest.fixture
def store(tmp_path):
    with _open(tmp_path / "s.sqlite", timeout=0.2) as s:
        yield s


def _names(s: Store) -> list[str]:
    return [r[0] for r in s.rows("SELECT name FROM items ORDER BY id")]


def test_pragmas_schema_and_meta(tmp_path):
    path = tmp_path / "s.sqlite"
    with _open(path, timeout=2.5, meta={"kind": "a test"}) as s:
        conn = s.conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
        assert dict(s.rows("SELECT key, value FROM meta")) == {"schema_version": "3", "kind": "a test"}
        assert s.integrity_check() == "ok" and s.schema_version == 3
    with _open(path, meta={"kind": "something else"}) as s:  # reopening: meta is written once, never changed
        assert dict(s.rows("SELECT key, value FROM meta"))["kind"] == "a test"
    with pytest.raises(InputError, match="schema version 3; this workbench reads 4"):
        _open(path, schema_version=4)


def test_bad_paths_and_arguments(tmp_path):
    with pytest.raises(InputError, match="folder.*t.sqlite"):
        _open(tmp_path)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 200)
    with pytest.raises(InputError, match="not a usable test store"):
        _open(junk)
    with pytest.raises(InputError, match="timeout"):
        _open(tmp_path / "x.sqlite", timeout=0)
    with pytest.raises(InputError, match="timeout"):
        _open(tmp_path / "x.sqlite", timeout="soon")
    nested = _open(tmp_path / "a" / "b" / "c.sqlite")  # folders are made
    nested.close()


def test_transaction_commits_and_rolls_back_everything(store):
    with store.transaction() as c:
        c.execute("INSERT INTO items (name) VALUES ('one')")
        c.execute("INSERT INTO items (name) VALUES ('two')")
    assert _names(store) == ["one", "two"]
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as c:
        c.execute("INSERT INTO items (name) VALUES ('three')")
        c.execute("INSERT INTO items (name) VALUES ('bad')")  # the whole transaction goes
    with pytest.raises(sqlite3.IntegrityError, match="append-only"), store.transaction() as c:
        c.execute("DELETE FROM items")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"), store.transaction() as c:
        c.execute("INSERT INTO log VALUES (99)")
    with pytest.raises(KeyboardInterrupt), store.transaction() as c:
        c.execute("INSERT INTO items (name) VALUES ('four')")
        raise KeyboardInterrupt
    assert _names(store) == ["one", "two"]
    assert not store.conn.in_transaction and not store._lock.locked()
    with store.transaction() as c:  # still takes writes
        c.execute("INSERT INTO items (name) VALUES ('five')")
    assert _names(store) == ["one", "two", "five"]


def test_another_connection_holding_the_lock_gives_a_clear_error_then_recovers(store, hold_write_lock, finishes_within):
    release = hold_write_lock(store.path)

    def write(name: str) -> None:
        with store.transaction() as c:
            c.execute("INSERT INTO items (name) VALUES (?)", (name,))

    for _ in range(3):
        with pytest.raises(StoreLockedError, match="write lock") as err:
            finishes_within(10, lambda: write("blocked"))
        assert not store._lock.locked() and not store.conn.in_transaction
    message = str(err.value)
    assert str(store.path) in message and "test store" in message and "0.2 s" in message
    assert "Nothing was saved" in message and "try again" in message and "timeout=" in message
    release()
    finishes_within(10, lambda: write("after"))
    assert _names(store) == ["after"]


HOLDER = textwrap.dedent(
    """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    sys.stdin.readline()  # hold the write lock until told; exiting releases it
    """
)


def test_another_process_holding_the_lock(store, finishes_within):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store.path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"

        def write() -> None:
            with store.transaction() as c:
                c.execute("INSERT INTO items (name) VALUES ('x')")

        with pytest.raises(StoreLockedError, match="another process or connection"):
            finishes_within(10, write)
        assert _names(store) == []  # reads are not blocked by the other writer (WAL)
    finally:
        proc.communicate("go\n", timeout=30)
    finishes_within(10, write)
    assert _names(store) == ["x"]


def test_a_thread_writing_too_long_gives_the_other_thread_a_clear_error(store, finishes_within):
    inside, leave = threading.Event(), threading.Event()

    def slow() -> None:
        with store.transaction() as c:
            c.execute("INSERT INTO items (name) VALUES ('slow')")
            inside.set()
            leave.wait(10)

    t = threading.Thread(target=slow)
    t.start()
    try:
        assert inside.wait(10)

        def quick() -> None:
            with store.transaction() as c:
                c.execute("INSERT INTO items (name) VALUES ('quick')")

        with pytest.raises(StoreLockedError, match="another thread"):
            finishes_within(10, quick)
    finally:
        leave.set()
        t.join(10)
    finishes_within(10, quick)
    assert _names(store) == ["slow", "quick"]


def test_threads_sharing_one_store_lose_nothing(tmp_path):
    with _open(tmp_path / "t.sqlite") as s:

        def writer(who: str) -> None:
            for i in range(100):
                with s.transaction() as c:
                    c.execute("INSERT INTO items (name) VALUES (?)", (f"{who}{i}",))

        threads = [threading.Thread(target=writer, args=(w,)) for w in "ab"]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        names = _names(s)
        assert len(names) == 200 and set(names) == {f"{w}{i}" for w in "ab" for i in range(100)}
        assert s.integrity_check() == "ok"


def test_a_closed_store_releases_its_lock(store):
    store.close()
    with pytest.raises(sqlite3.ProgrammingError), store.transaction():
        pass
    assert not store._lock.locked()


def test_split_statements_keeps_trigger_bodies_whole():
    parts = split_statements(DDL)
    assert len(parts) == 3 and parts[2].startswith("CREATE TRIGGER") and parts[2].endswith("END;")
    assert split_statements("SELECT 'a;b'; SELECT 2") == ["SELECT 'a;b';", "SELECT 2;"]
    assert split_statements("  ;\n ; ") == []


def test_utc_now_is_iso_utc_with_microseconds():
    stamp = utc_now()
    parsed = dt.datetime.fromisoformat(stamp)
    assert stamp.endswith("+00:00") and parsed.utcoffset() == dt.timedelta(0)
    assert len(stamp.split("T")[1].split("+")[0]) == len("12:00:00.123456")
    assert abs((dt.datetime.now(dt.UTC) - parsed).total_seconds()) < 60


def test_store_module_imports_only_the_standard_library_and_errors():
    import ast
    from pathlib import Path

    import workbench.store

    tree = ast.parse(Path(workbench.store.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    local = {m for m in imported if m.split(".")[0] == "workbench"}
    assert local == {"workbench.errors"}, local
    assert all(m.split(".")[0] in sys.stdlib_module_names or m in local or m == "__future__" for m in imported)
