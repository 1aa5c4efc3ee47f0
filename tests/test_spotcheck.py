"""Verdict store (durability with real processes, undo, resume, reviewers x labelers), sampling, export."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from workbench import spotcheck
from workbench.data import validate
from workbench.errors import InputError, SchemaError
from workbench.spotcheck import VerdictStore
from workbench.store import StoreLockedError

ROOT = Path(__file__).resolve().parent.parent

WRITER = textwrap.dedent(
    """
    import sys, time
    from workbench.spotcheck import VerdictStore
    path, who, n, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    store = VerdictStore(path)
    print("ready", flush=True)
    sys.stdin.readline()  # wait for "go", so concurrent writers really overlap
    for i in range(n):
        rid = store.record(f"ex{i}", "wrong" if i % 3 == 0 else "agree", reviewer=who,
                           corrected_label="rotten" if i % 3 == 0 else None, label="fresh", note=f"n{i}")
        print(rid, flush=True)
        time.sleep(pause)  # a reviewer between clicks; lets the other writer in (SQLite locks are not fair)
    """
)


def _writer(path: Path, who: str, n: int, pause: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), who, str(n), str(pause)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _go(proc: subprocess.Popen) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()


@pytest.fixture
def store(tmp_path):
    s = VerdictStore(tmp_path / "p.sqlite")
    yield s
    s.close()


@pytest.fixture
def frame():
    texts = [f"review number {i} " + ("long " * (i % 7)) for i in range(40)]
    return validate(
        pl.DataFrame(
            {
                "text": texts,
                "origin": "synthetic",
                "label": ["fresh" if i % 4 else "rotten" for i in range(40)],
                "label_confidence": [((i * 37) % 40) / 40 for i in range(40)],
                "label_b": ["fresh" if i % 5 else "rotten" for i in range(40)],
            }
        )
    )


def test_kill_9_during_1000_writes_loses_no_committed_verdict(tmp_path):
    path = tmp_path / "crash.sqlite"
    proc = _writer(path, "ann", 1000, pause=0.001)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    _go(proc)
    committed = []
    for line in proc.stdout:
        committed.append(int(line))
        if len(committed) == 300:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with VerdictStore(path) as s:
        assert s.integrity_check() == "ok"
        got = set(s.reviews()["review_id"].to_list())
        assert set(committed) <= got
        assert len(got) < 1000  # it really was killed mid-way
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "shared.sqlite"
    VerdictStore(path).close()
    procs = [_writer(path, who, 400, pause=0.002) for who in ("ann", "bob")]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        _go(p)
    ids = {}
    for who, p in zip(("ann", "bob"), procs):
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0
        ids[who] = [int(x) for x in out.split()]
    with VerdictStore(path) as s:
        reviews = s.reviews()
        assert reviews.height == 800
        assert set(reviews["review_id"].to_list()) == set(ids["ann"]) | set(ids["bob"])
        assert reviews.group_by("reviewer").len().sort("reviewer")["len"].to_list() == [400, 400]
        assert s.integrity_check() == "ok"
        # the writes interleaved: neither writer ran entirely before the other
        order = reviews.sort("review_id")["reviewer"].to_list()
        assert order.index("bob") < len(order) - 1 - order[::-1].index("ann")


def test_record_while_another_connection_holds_the_write_lock_raises_then_recovers(
    tmp_path, hold_write_lock, finishes_within
):
    path = tmp_path / "locked.sqlite"
    store = VerdictStore(path, timeout=0.2)
    release = hold_write_lock(path)  # a second real connection: BEGIN IMMEDIATE, never committed
    for _ in range(2):  # the second try must fail the same way, not hang on the store's own thread lock
        with pytest.raises(StoreLockedError, match="write lock") as err:
            finishes_within(10, lambda: store.record("a", "agree", reviewer="ann", label="fresh"))
        assert str(path) in str(err.value) and "try again" in str(err.value)
    assert store.reviews().height == 0  # nothing half-saved
    release()
    rid = finishes_within(10, lambda: store.record("a", "agree", reviewer="ann", label="fresh"))
    assert store.reviews()["review_id"].to_list() == [rid]
    assert finishes_within(10, lambda: store.undo("ann"))["review_id"] == rid
    store.close()


def test_wal_mode_and_record_fields(store):
    assert store._db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.add_labels(pl.DataFrame({"id": ["a"], "labeler": ["m1"], "label": ["fresh"], "confidence": [0.9]}))
    rid = store.record("a", "wrong", reviewer="ann", labeler="m1", corrected_label="rotten", note="sarcasm")
    row = store.reviews().row(0, named=True)
    assert row["review_id"] == rid and row["label"] == "fresh" and row["corrected_label"] == "rotten"
    assert row["note"] == "sarcasm" and row["reviewer"] == "ann" and row["created_at"].endswith("+00:00")
    assert store.verdicts()["human_label"].to_list() == ["rotten"]


def test_bad_verdicts_are_refused(store):
    with pytest.raises(InputError, match="one of"):
        store.record("a", "maybe", reviewer="ann")
    with pytest.raises(InputError, match="corrected_label"):
        store.record("a", "wrong", reviewer="ann")
    with pytest.raises(InputError, match="reviewer"):
        store.record("a", "agree", reviewer="")
    with pytest.raises(InputError, match="only"):
        store.record("a", "agree", reviewer="ann", corrected_label="x")
    assert store.reviews().height == 0


def test_undo_and_supersede(store):
    store.record("a", "agree", reviewer="ann", label="fresh")
    store.record("b", "agree", reviewer="ann", label="fresh")
    store.record("b", "wrong", reviewer="ann", label="fresh", corrected_label="rotten")  # changes her mind
    store.record("a", "unsure", reviewer="bob", label="fresh")
    assert store.counts("ann") == {"agree": 1, "wrong": 1, "unsure": 0, "total": 2}
    undone = store.undo("ann")
    assert undone is not None and undone["example_id"] == "b" and undone["verdict"] == "wrong"
    v = store.verdicts("ann")
    assert dict(zip(v["example_id"], v["verdict"])) == {"a": "agree", "b": "agree"}  # her earlier verdict stands
    assert store.reviews(include_undone=True).height == 4 and store.reviews().height == 3
    assert store.counts("bob")["unsure"] == 1
    store.undo("ann"), store.undo("ann")
    assert store.undo("ann") is None and store.counts("ann")["total"] == 0


def test_resume_where_the_reviewer_stopped(tmp_path):
    path = tmp_path / "r.sqlite"
    with VerdictStore(path) as s:
        s.save_queue("batch1", ["a", "b", "c", "d"], strategy="random", seed=3)
        s.record("a", "agree", reviewer="ann", label="x")
        s.record("b", "agree", reviewer="ann", label="x")
        s.record("a", "agree", reviewer="bob", label="x")
    with VerdictStore(path) as s:  # days later, a new kernel
        assert s.queue("batch1") == ["a", "b", "c", "d"]
        assert s.resume("batch1", "ann") == 2 and s.resume("batch1", "bob") == 1 and s.resume("batch1", "cy") == 0
        s.undo("ann")
        assert s.resume("batch1", "ann") == 1
        s.save_queue("batch1", ["a", "b", "c", "d"])  # same queue again: fine
        with pytest.raises(InputError, match="already exists"):
            s.save_queue("batch1", ["a", "z"])
        assert s.queues().row(0, named=True)["n"] == 4


def test_reviewers_majority_and_export(store, frame):
    ids = frame["id"].to_list()
    store.record(ids[0], "agree", reviewer="ann", label="fresh")
    store.record(ids[0], "agree", reviewer="bob", label="fresh")
    store.record(ids[0], "wrong", reviewer="cy", label="fresh", corrected_label="rotten")
    store.record(ids[1], "agree", reviewer="ann", label="fresh")
    store.record(ids[1], "wrong", reviewer="bob", label="fresh", corrected_label="rotten")  # tie
    store.record(ids[2], "unsure", reviewer="ann", label="fresh")
    ref = store.reference_labels()
    got = {r["id"]: r for r in ref.iter_rows(named=True)}
    assert got[ids[0]]["reference_label"] == "fresh" and got[ids[0]]["share"] == pytest.approx(2 / 3)
    assert got[ids[1]]["reference_label"] is None and ids[2] not in got
    out = spotcheck.apply_verdicts(frame.with_columns(reference_label=pl.lit("gold")), store)
    assert out["id"].to_list() == ids  # row order kept
    assert out["reference_label"].to_list()[:3] == ["fresh", "gold", "gold"]
    kept = spotcheck.apply_verdicts(frame.with_columns(reference_label=pl.lit("gold")), store, overwrite=False)
    assert set(kept["reference_label"].to_list()) == {"gold"}
    fresh = spotcheck.apply_verdicts(frame, store)
    assert fresh["reference_label"].null_count() == frame.height - 1


def test_several_labelers_per_example(store, frame):
    long = spotcheck.labels_long(frame, labelers={"a": "label", "b": "label_b"}, confidences={"a": "label_confidence"})
    assert long.height == 2 * frame.height and set(long["labeler"]) == {"a", "b"}
    store.add_labels(long)
    assert store.labels().height == 2 * frame.height
    i = frame["id"][0]
    store.record(i, "agree", reviewer="ann", labeler="b")
    assert store.verdicts()["label"].to_list() == [frame["label_b"][0]]
    d = spotcheck.disagreement(long)
    expect = [0.5 if a != b else 0.0 for a, b in zip(frame["label"], frame["label_b"])]
    assert dict(zip(d["id"], d["disagreement"])) == dict(zip(frame["id"], expect))
    default = spotcheck.labels_long(frame)
    assert set(default["labeler"]) == {"labeler"}
    with pytest.raises(SchemaError, match="label_zz"):
        spotcheck.labels_long(frame, labelers={"z": "label_zz"})


@pytest.mark.parametrize("strategy", spotcheck.STRATEGIES)
def test_every_strategy_is_seeded_and_complete(frame, strategy):
    emb = np.random.default_rng(0).normal(size=(frame.height, 6)).astype(np.float32)
    long = spotcheck.labels_long(frame, labelers={"a": "label", "b": "label_b"})
    kw = {"labels": long, "embeddings": emb}
    a = spotcheck.sample(frame, 10, strategy, seed=1, **kw)
    b = spotcheck.sample(frame, 10, strategy, seed=1, **kw)
    assert a.equals(b) and a.height == 10 and a["id"].n_unique() == 10
    assert a["priority"].to_list() == list(range(1, 11)) and set(a["strategy"]) == {strategy}
    everything = spotcheck.sample(frame, 1000, strategy, seed=1, **kw)
    assert sorted(everything["id"]) == sorted(frame["id"])
    rest = spotcheck.sample(frame, 1000, strategy, seed=1, exclude=a["id"].to_list(), **kw)
    assert set(rest["id"]).isdisjoint(a["id"]) and rest.height == frame.height - 10


def test_strategies_pick_what_they_promise(frame):
    low = spotcheck.sample(frame, 5, "lowest_confidence")
    assert low["label_confidence"].to_list() == sorted(frame["label_confidence"].to_list())[:5]
    strat = spotcheck.sample(frame, 8, "stratified", seed=2)
    assert strat["label"].value_counts()["count"].to_list() == [4, 4]  # rotten is 1 in 4, still half the sample
    long = spotcheck.labels_long(frame, labelers={"a": "label", "b": "label_b"})
    dis = spotcheck.sample(frame, 5, "disagreement", labels=long)
    assert all(a != b for a, b in zip(dis["label"], dis["label_b"]))
    r1, r2 = spotcheck.sample(frame, 10, "random", seed=1), spotcheck.sample(frame, 10, "random", seed=2)
    assert r1["id"].to_list() != r2["id"].to_list()


def test_cluster_and_suspicion_sampling():
    rng = np.random.default_rng(0)
    centers = np.array([[10.0, 0], [0, 10.0], [-10.0, 0], [0, -10.0]])
    group = np.repeat(np.arange(4), [60, 20, 10, 10])
    emb = centers[group] + rng.normal(size=(100, 2))
    labels = np.where(group < 2, "fresh", "rotten")  # linearly separable: x + y > 0
    flipped = [0, 1, 2]
    labels[flipped] = "rotten"
    df = validate(pl.DataFrame({"text": [f"t{i}" for i in range(100)], "origin": "synthetic", "label": labels}))
    picked = spotcheck.sample(df, 8, "cluster", embeddings=emb, n_clusters=4)
    seen_groups = {int(group[df["id"].to_list().index(i)]) for i in picked["id"]}
    assert seen_groups == {0, 1, 2, 3}  # a random 8 from 100 would often miss a group of 10
    sus = spotcheck.sample(df, 3, "suspicion", embeddings=emb)
    assert set(sus["id"]) == {df["id"][i] for i in flipped}


def test_sampling_errors(frame):
    with pytest.raises(InputError, match="unknown strategy"):
        spotcheck.sample(frame, 3, "vibes")
    with pytest.raises(InputError, match="labels="):
        spotcheck.sample(frame, 3, "disagreement")
    with pytest.raises(InputError, match="embeddings"):
        spotcheck.sample(frame, 3, "cluster")
    with pytest.raises(InputError, match="shape"):
        spotcheck.sample(frame, 3, "cluster", embeddings=np.zeros((2, 2)))
    with pytest.raises(SchemaError, match="label_confidence"):
        spotcheck.sample(frame.drop("label_confidence"), 3, "lowest_confidence")


def test_store_errors(tmp_path):
    with pytest.raises(InputError, match="folder"):
        VerdictStore(tmp_path)
    bad = tmp_path / "junk.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(InputError, match="not a usable verdict store"):
        VerdictStore(bad)
    with pytest.raises(InputError, match="project name"):
        VerdictStore.for_project("a/b", root=tmp_path)
    s = VerdictStore.for_project("demo", root=tmp_path)
    assert s.path == tmp_path / "demo.sqlite"
    s.close()


# --- review sessions (no widgets) --------------------------------------------------------------


@pytest.fixture
def review_frame():
    return validate(
        pl.DataFrame(
            {
                "text": [f"review {i}" for i in range(6)],
                "origin": "synthetic",
                "label": ["fresh", "rotten", "fresh", "rotten", "fresh", "fresh"],
                "label_confidence": [0.9, 0.6, 0.7, 0.8, 0.55, 0.99],
                "label_b": ["fresh", "fresh", "rotten", "rotten", "fresh", "rotten"],
            }
        )
    )


def _session(df, store, **kw):
    labels = spotcheck.labels_long(
        df, labelers={"model-a": "label", "model-b": "label_b"}, confidences={"model-a": "label_confidence"}
    )
    return spotcheck.ReviewSession(df, store, reviewer=kw.pop("reviewer", "ann"), labels=labels, **kw)


def test_review_session_shows_judges_and_moves_on(review_frame, store):
    ids = review_frame["id"].to_list()
    s = _session(review_frame, store)
    assert (s.total, s.position, s.current, s.done) == (6, 0, ids[0], False)
    assert s.choices == ["fresh", "rotten"] and s.primary == "model-a"
    assert s.item == {
        "id": ids[0],
        "text": "review 0",
        "labels": [
            {"labeler": "model-a", "label": "fresh", "confidence": 0.9},
            {"labeler": "model-b", "label": "fresh", "confidence": None},
        ],
        "verdict": None,
        "corrected_label": None,
    }
    assert s.shown_label == "fresh" and s.suggested_correction == "rotten"
    rid = s.agree(note="clear")
    assert s.position == 1 and s.counts == {"agree": 1, "wrong": 0, "unsure": 0, "total": 1}
    saved = store.verdicts("ann").row(0, named=True)  # on disk when agree() returned
    assert saved["review_id"] == rid and saved["example_id"] == ids[0] and saved["labeler"] == "model-a"
    assert saved["label"] == "fresh" and saved["note"] == "clear"
    # "wrong" needs a corrected label, and one other than the label shown; a refusal changes nothing
    with pytest.raises(InputError, match="corrected label"):
        s.wrong(None)
    with pytest.raises(InputError, match="that is an agree"):
        s.wrong("rotten")  # shown: rotten
    assert s.position == 1 and store.reviews().height == 1
    s.wrong("fresh")
    assert store.verdicts("ann").row(1, named=True)["corrected_label"] == "fresh"
    s.choose(0)  # shown fresh, choice 1 = fresh: agree
    s.choose(0)  # shown rotten, choice 1 = fresh: wrong -> fresh
    assert store.verdicts("ann")["verdict"].to_list() == ["agree", "wrong", "agree", "wrong"]
    with pytest.raises(InputError, match="no choice 3"):
        s.choose(2)
    s.next()  # skip ids[4]
    s.unsure()  # ids[5]; the next one not judged is the skipped one, from the start
    assert s.current == ids[4] and s.counts == {"agree": 2, "wrong": 2, "unsure": 1, "total": 5}
    s.agree()
    assert s.done and s.current is None and s.item == {} and s.position == 6
    with pytest.raises(InputError, match="done"):
        s.agree()
    s.previous()
    assert not s.done and s.item["verdict"] == "unsure"  # going back shows the standing verdict
    assert s.verdict_of(ids[1]) == {"verdict": "wrong", "corrected_label": "fresh"}
    s.go(-5)
    assert s.position == 0
    s.go(99)
    assert s.position == 6 and s.done


def test_review_session_undo_and_resume(review_frame, store):
    ids = review_frame["id"].to_list()
    s = _session(review_frame, store, ids=ids[:4], queue="first")
    s.agree(), s.wrong("fresh"), s.agree()
    undone = s.undo()
    assert undone is not None and undone["example_id"] == ids[2] and s.position == 2
    assert s.counts["total"] == 2 and s.item["verdict"] is None
    assert store.reviews(include_undone=True).height == 3 and store.verdicts("ann").height == 2
    again = _session(
        review_frame, store, ids=ids[:4], queue="first"
    )  # a new kernel, days later: same store, same queue
    assert again.position == 2 and again.counts == s.counts
    bob = _session(review_frame, store, reviewer="bob", ids=ids[:4], queue="first")
    assert bob.position == 0  # each reviewer at their own place
    other = _session(review_frame, store, ids=ids[4:], queue="rest")
    assert other.position == 0 and other.counts["total"] == 0  # counts are per queue
    other.agree()
    assert s.undo()["example_id"] == ids[4] and s.position == 2  # not in s's queue: s stays put
    s.undo(), s.undo()
    assert s.undo() is None and s.position == 0 and s.counts["total"] == 0


def test_review_session_neighbours_and_bad_inputs(review_frame, store):
    emb = np.eye(6, dtype=np.float32) + 0.1
    emb[1] = emb[0] * 0.9 + 0.05
    s = _session(review_frame, store, embeddings=emb)
    near = s.neighbours(2)
    assert [n["id"] for n in near][:1] == [review_frame["id"][1]] and len(near) == 2
    assert near[0]["text"] == "review 1" and near[0]["labels"][0] == {
        "labeler": "model-a",
        "label": "rotten",
        "confidence": 0.6,
    }
    s.go(s.total)
    assert s.neighbours() == []
    with pytest.raises(InputError, match="embeddings"):
        _session(review_frame, store, queue="q2").neighbours()
    with pytest.raises(InputError, match="reviewer"):
        spotcheck.ReviewSession(review_frame, store, reviewer="")
    with pytest.raises(InputError, match="not in the data"):
        spotcheck.ReviewSession(review_frame, store, reviewer="ann", ids=["nope"], queue="q3")
    with pytest.raises(InputError, match="one row per data row"):
        spotcheck.ReviewSession(review_frame, store, reviewer="ann", embeddings=np.zeros((2, 3)))
    with pytest.raises(InputError, match="'id' and 'text'"):
        spotcheck.ReviewSession(review_frame.drop("text"), store, reviewer="ann")
    default = spotcheck.ReviewSession(review_frame, store, reviewer="cy", queue="own-labels")
    assert default.primary == "labeler" and default.shown_label == "fresh"


def test_review_session_needs_no_widget_library():
    code = "import sys, workbench.spotcheck; print(sorted(m for m in ('ipywidgets', 'anywidget', 'traitlets') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr
