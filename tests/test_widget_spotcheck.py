"""SpotCheck driven through its traits, no browser: verdicts saved at once, undo, resume, escaping."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import widgets
from workbench import spotcheck
from workbench.data import validate
from workbench.spotcheck import VerdictStore

XSS = "<script>alert('x')</script><img src=x onerror=alert(1)> & more"


@pytest.fixture
def df():
    texts = [f"review {i}: a film about {i} things" for i in range(6)] + [XSS, "long " * 300]
    return validate(
        pl.DataFrame(
            {
                "text": texts,
                "origin": "synthetic",
                "label": ["fresh", "rotten"] * 4,
                "label_confidence": [0.9, 0.6, 0.7, 0.8, 0.55, 0.99, 0.5, 0.65],
                "label_b": ["fresh", "fresh", "rotten", "rotten", "fresh", "fresh", "rotten", "fresh"],
            }
        )
    )


@pytest.fixture
def store(tmp_path):
    s = VerdictStore(tmp_path / "w.sqlite")
    yield s
    s.close()


def _widget(df, store, **kw):
    labels = spotcheck.labels_long(
        df, labelers={"model-a": "label", "model-b": "label_b"}, confidences={"model-a": "label_confidence"}
    )
    return widgets.SpotCheck(df, store, reviewer="ann", labels=labels, **kw)


def test_side_by_side_labels_progress_and_immediate_saves(df, store):
    w = _widget(df, store)
    assert w.total == 8 and w.position == 0 and w.choices == ["fresh", "rotten"]
    assert [(x["labeler"], x["label"], x["confidence"]) for x in w.item["labels"]] == [
        ("model-a", "fresh", 0.9),
        ("model-b", "fresh", None),
    ]
    w.action = {"kind": "agree", "nonce": 1}  # what the agree button sends
    assert w.position == 1 and w.counts == {"agree": 1, "wrong": 0, "unsure": 0, "total": 1}
    saved = store.verdicts("ann").row(0, named=True)  # on disk already
    assert saved["example_id"] == df["id"][0] and saved["labeler"] == "model-a" and saved["label"] == "fresh"
    assert w.corrected_label == "fresh"  # the other choice, preselected for "wrong"
    w.note = "sarcastic"
    w.action = {"kind": "wrong", "corrected_label": "fresh", "nonce": 2}
    row = store.verdicts("ann").row(1, named=True)
    assert row["verdict"] == "wrong" and row["corrected_label"] == "fresh" and row["note"] == "sarcastic"
    assert w.note == ""  # cleared for the next item
    w.action = {"kind": "unsure", "nonce": 3}
    w.action = {"kind": "label", "choice": 1, "nonce": 4}  # key '2' = rotten = the shown label: agree
    assert store.verdicts("ann")["verdict"].to_list() == ["agree", "wrong", "unsure", "agree"]
    w.action = {"kind": "label", "choice": 1, "nonce": 5}  # shown fresh, key '2' = rotten: wrong -> rotten
    assert store.verdicts("ann").row(4, named=True)["corrected_label"] == "rotten"
    assert w.counts == {"agree": 2, "wrong": 2, "unsure": 1, "total": 5} and w.position == 5
    w.action = {"kind": "agree"}
    w.action = {"kind": "agree"}  # the same action twice, no nonce: two verdicts
    assert w.counts["total"] == 7 and w.action == {}


def test_undo_goes_back_and_withdraws(df, store):
    w = _widget(df, store)
    w.agree()
    w.wrong("fresh")
    assert w.position == 2
    w.action = {"kind": "undo", "nonce": 1}
    assert w.position == 1 and w.counts["total"] == 1 and w.item["verdict"] is None
    assert store.verdicts("ann").height == 1 and store.reviews(include_undone=True).height == 2
    w.undo()
    w.undo()
    assert w.message == "nothing to undo" and w.position == 0


def test_resume_in_a_new_session(df, store):
    w = _widget(df, store)
    w.agree(), w.agree(), w.unsure()
    again = _widget(df, store)  # days later: same store, same queue
    assert again.position == 3 and again.counts["total"] == 3
    other = widgets.SpotCheck(df, store, reviewer="bob")
    assert other.position == 0  # each reviewer resumes at their own place


def test_wrong_needs_a_different_label_and_done_state(df, store):
    w = _widget(df, store, ids=df["id"][:2].to_list(), queue="two")
    w.wrong("fresh")  # shown label is fresh
    assert "agree" in w.message and store.reviews().height == 0
    w.corrected_label = ""
    w.wrong()
    assert "corrected label" in w.message
    w.agree(), w.agree()
    assert w.done and w.item == {} and w.position == 2
    w.agree()
    assert "done" in w.message and store.reviews().height == 2
    w.previous()
    assert not w.done and w.item["verdict"] == "agree"  # going back shows the standing verdict


def test_neighbours_on_request(df, store):
    emb = np.eye(8, dtype=np.float32) + 0.1
    emb[1] = emb[0] * 0.9 + 0.05
    w = _widget(df, store, embeddings=emb, k_neighbours=3)
    assert w.neighbours == []
    w.action = {"kind": "neighbours", "nonce": 1}
    assert len(w.neighbours) == 3 and w.neighbours[0]["id"] == df["id"][1]
    assert w.neighbours[0]["labels"] == "model-a: rotten, model-b: fresh"
    w.agree()
    assert w.neighbours == []  # cleared with the item
    no_emb = _widget(df, store, queue="q2")
    no_emb.show_neighbours()
    assert "embeddings" in no_emb.message


def test_untrusted_text_is_never_markup(df, store):
    w = _widget(df, store)
    w._go(6)
    assert w.item["text"] == XSS  # sent raw; the view sets it with textContent only
    assert "textContent" in w._esm and "innerHTML" not in w._esm
    fallback = w.fallback_html()
    assert "<script>" not in fallback and "&lt;script&gt;" in fallback and "<img" not in fallback
    bundle = w._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "&lt;script&gt;" in data["text/html"] and "application/vnd.jupyter.widget-view+json" in data


def test_long_texts_collapse(df, store):
    w = _widget(df, store)
    w._go(7)
    assert len(w.item["text"]) > w.long_text and "<details" not in w.item["text"]
    assert "details" in w._esm and "show all" in w._esm


def test_bad_inputs(df, store):
    from workbench.errors import InputError

    with pytest.raises(InputError, match="reviewer"):
        widgets.SpotCheck(df, store, reviewer="")
    with pytest.raises(InputError, match="not in the data"):
        widgets.SpotCheck(df, store, reviewer="ann", ids=["nope"])
    with pytest.raises(InputError, match="embeddings"):
        widgets.SpotCheck(df, store, reviewer="ann", embeddings=np.zeros((2, 3)))
    w = _widget(df, store)
    w.action = {"kind": "dance"}
    assert "unknown action" in w.message


def test_a_locked_store_shows_why_and_the_view_keeps_working(df, tmp_path, hold_write_lock, finishes_within):
    locked = VerdictStore(tmp_path / "locked.sqlite", timeout=0.2)
    w = _widget(df, locked)
    release = hold_write_lock(locked.path)
    finishes_within(10, w.agree)
    assert "write lock" in w.message and w.position == 0 and w.counts["total"] == 0  # not saved, not moved on
    finishes_within(10, w.agree)  # and the next click does not hang
    release()
    finishes_within(10, w.agree)
    assert w.message == "" and w.position == 1 and locked.verdicts("ann").height == 1
    locked.close()
