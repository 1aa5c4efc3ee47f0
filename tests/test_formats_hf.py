"""Hugging Face `datasets` in, with fixtures made by `datasets` itself (it installs here): objects,
DatasetDict splits and `save_to_disk` folders, in plain-table and record formats."""

from __future__ import annotations

import sys

import polars as pl
import pytest

from workbench import formats
from workbench.data import load
from workbench.errors import InputError

datasets = pytest.importorskip("datasets")

CHATS = [
    [{"role": "user", "content": "Review Alien"}, {"role": "assistant", "content": "Tense."}],
    [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Review Cats"},
        {"role": "assistant", "content": "A mess."},
        {"role": "user", "content": "Why?"},
        {"role": "assistant", "content": "The songs."},
    ],
]


def chat_dataset() -> datasets.Dataset:
    return datasets.Dataset.from_dict({"messages": CHATS, "category": ["film", "musical"]})


def test_dataset_object_in_messages_format():
    imported = formats.read(chat_dataset())
    df = imported.frame
    assert imported.format == "messages" and imported.container == "hf Dataset"
    assert df["text"].to_list() == ["Tense.", "A mess.", "The songs."]
    assert df["prompt"].to_list() == ["Review Alien", "Review Cats", "Why?"]
    assert df["system"].to_list() == [None, "Be brief.", "Be brief."] and df["category"][2] == "musical"
    assert df["origin"].unique().to_list() == ["synthetic"]


def test_datasetdict_splits_become_split():
    dd = datasets.DatasetDict({"train": chat_dataset(), "test": chat_dataset().select([0])})
    df = load(dd)
    assert df["split"].to_list() == ["train", "train", "train", "test"]
    # the same conversation in train and test keeps distinct ids (the contamination check will see the pair)
    assert df["id"].n_unique() == df.height


def test_plain_table_dataset_goes_straight_to_a_frame():
    dd = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"text": ["a", "b"], "origin": ["real", "synthetic"], "label": [0, 1]}),
            "validation": datasets.Dataset.from_dict({"text": ["c"], "origin": ["real"], "label": [1]}),
        }
    )
    imported = formats.read(dd)
    assert imported.format == "hf" and imported.frame["split"].to_list() == ["train", "train", "validation"]
    assert imported.frame["label"].to_list() == ["0", "1", "1"]  # label is text in the schema


def test_save_to_disk_folders(tmp_path):
    chat_dataset().save_to_disk(str(tmp_path / "ds"))
    datasets.DatasetDict({"train": chat_dataset()}).save_to_disk(str(tmp_path / "dd"))
    a, b = formats.read(tmp_path / "ds"), formats.read(tmp_path / "dd")
    assert a.container == "hf Dataset from a save_to_disk folder" and a.frame.height == 3
    assert b.frame["split"].unique().to_list() == ["train"]
    assert a.frame.select("id", "text").equals(b.frame.select("id", "text"))
    assert formats.detect(tmp_path / "ds") == "messages"


def test_preference_dataset_and_selected_rows():
    rows = [
        {"prompt": f"Q{i}", "chosen": f"good {i}", "rejected": f"bad {i}", "score_chosen": 8.0, "score_rejected": 2.0}
        for i in range(5)
    ]
    ds = datasets.Dataset.from_list(rows).select([4, 0])  # an indices mapping: rows 4 and 0, in that order
    df = load(ds)
    assert (
        df["prompt"].to_list() == ["Q4", "Q4", "Q0", "Q0"] and df["preference"].to_list() == ["chosen", "rejected"] * 2
    )


def test_iterable_dataset():
    df = load(chat_dataset().to_iterable_dataset())
    assert df["text"].to_list() == ["Tense.", "A mess.", "The songs."]


def test_a_folder_without_datasets_installed_says_how_to_fix(tmp_path, monkeypatch):
    chat_dataset().save_to_disk(str(tmp_path / "ds"))
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets now raises ImportError
    with pytest.raises(InputError, match="pip install datasets"):
        load(tmp_path / "ds")


def test_a_plain_folder_is_refused_with_the_fix(tmp_path):
    (tmp_path / "notes").mkdir()
    with pytest.raises(InputError, match="is a directory; pass a data file .* save_to_disk"):
        load(tmp_path / "notes")


def test_polars_frames_convert_only_when_asked():
    frame = pl.DataFrame({"messages": CHATS})
    assert formats.read(frame, format="messages").frame["text"].to_list() == ["Tense.", "A mess.", "The songs."]
    with pytest.raises(Exception, match="'text' is missing"):
        load(frame)
