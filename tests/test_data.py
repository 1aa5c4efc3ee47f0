"""workbench.data: loading every format, column mapping, validation, and bad input."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.data import SCHEMA, load, stable_ids, validate
from workbench.errors import InputError, SchemaError, WorkbenchError, WorkbenchWarning


def test_csv_with_column_map(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("review,score,kind\nGood film,pos,real\nBad film,neg,synthetic\n", "utf-8")
    df = load(p, text="review", label="score", origin="kind")
    assert df.columns[:3] == ["id", "text", "origin"]
    assert df["text"].to_list() == ["Good film", "Bad film"]
    assert df["label"].to_list() == ["pos", "neg"]


def test_parquet_jsonl_json_and_frames_agree(tmp_path):
    base = pl.DataFrame({"text": ["x y", "z"], "origin": ["real", "synthetic"], "generation": [0, 1]})
    base.write_parquet(tmp_path / "d.parquet")
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in base.to_dicts()), "utf-8")
    (tmp_path / "d.json").write_text(json.dumps(base.to_dicts()), "utf-8")
    frames = [load(tmp_path / f"d.{ext}") for ext in ("parquet", "jsonl", "json")]
    frames += [load(base), load(base.to_pandas())]
    for f in frames:
        assert f.select("id", "text", "origin", "generation").equals(
            frames[0].select("id", "text", "origin", "generation")
        )
        assert f["generation"].dtype == pl.Int64


def test_chat_jsonl_takes_chosen_role(tmp_path):
    rows = [
        {
            "messages": [
                {"role": "user", "content": "Review Alien"},
                {"role": "assistant", "content": "Tense and great."},
            ],
            "origin": "synthetic",
        },
        {
            "messages": [
                {"role": "user", "content": "Review Cats"},
                {"role": "assistant", "content": [{"type": "text", "text": "A mess."}]},
            ],
            "origin": "synthetic",
        },
    ]
    p = tmp_path / "chat.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows), "utf-8")
    df = load(p)
    assert df["text"].to_list() == ["Tense and great.", "A mess."]
    assert df["prompt"].to_list() == ["Review Alien", "Review Cats"]
    assert load(p, role="user")["text"].to_list() == ["Review Alien", "Review Cats"]
    with pytest.raises(InputError, match="role 'system'"):
        load(p, role="system")


def test_stable_content_ids():
    df1 = load(pl.DataFrame({"text": ["a", "b", "a"], "origin": ["real"] * 3}))
    df2 = load(pl.DataFrame({"text": ["a", "b", "a"], "origin": ["real"] * 3}))
    assert df1["id"].to_list() == df2["id"].to_list()
    assert df1["id"].n_unique() == 3 and df1["id"][2] == df1["id"][0] + "~2"
    assert stable_ids(["a"]) == [df1["id"][0]]


def test_defaults_fill_constant_columns():
    df = load(pl.DataFrame({"text": ["a"]}), defaults={"origin": "synthetic", "generator": "gpt"})
    assert df["origin"][0] == "synthetic" and df["generator"][0] == "gpt"


def test_origin_values_are_normalised_and_checked():
    assert load(pl.DataFrame({"text": ["a"], "origin": [" Real "]}))["origin"][0] == "real"
    with pytest.raises(SchemaError, match="must be 'real' or 'synthetic'.*'gen'"):
        load(pl.DataFrame({"text": ["a"], "origin": ["gen"]}))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            pl.DataFrame({"review": ["a"], "origin": ["real"]}),
            r"column 'text' is missing; found \['review', 'origin'\]\. Pass text='review'",
        ),
        (pl.DataFrame({"text": ["a"]}), r"column 'origin' is missing.*defaults=\{'origin': 'real'\}"),
        (
            pl.DataFrame({"text": ["a", None], "origin": ["real"] * 2}),
            r"null, NaN or blank in 1 row\(s\) \(rows 1\).*drop_empty=True",
        ),
        (
            pl.DataFrame({"text": ["a"], "origin": ["real"], "generation": ["two"]}),
            r"column 'generation' must be Int64.*'two'",
        ),
        (pl.DataFrame({"text": ["a"], "origin": ["real"], "sampling": ["hot"]}), r"'sampling' must hold a JSON object"),
    ],
)
def test_schema_errors_name_problem_and_fix(frame, message):
    with pytest.raises(SchemaError, match=message):
        validate(frame)


def test_misnamed_mapping_suggests(tmp_path):
    with pytest.raises(SchemaError, match="Did you mean 'review'"):
        load(pl.DataFrame({"review": ["a"], "origin": ["real"]}), text="reveiw")
    with pytest.raises(SchemaError, match="not a schema column"):
        load(pl.DataFrame({"review": ["a"], "origin": ["real"]}), body="review")


def test_drop_empty_warns():
    with pytest.warns(WorkbenchWarning, match="dropped 2"):
        df = load(pl.DataFrame({"text": ["a", "  ", None], "origin": ["real"] * 3}), drop_empty=True)
    assert df.height == 1


def test_nan_text_from_pandas():
    with pytest.raises(SchemaError, match="null, NaN or blank"):
        load(pd.DataFrame({"text": ["a", float("nan")], "origin": ["real", "real"]}))


def test_pandas_mixed_object_column_is_repaired_with_warning():
    pdf = pd.DataFrame({"text": ["a", "b", "c"], "origin": ["real"] * 3, "label": [1, "two", 3.0]})
    with pytest.warns(WorkbenchWarning, match=r"\['label'\] mix value types"):
        df = load(pdf)
    assert df["label"].to_list() == ["1", "two", "3.0"]


def test_duplicate_ids_warn():
    with pytest.warns(WorkbenchWarning, match="occur more than once"):
        df = load(pl.DataFrame({"id": ["x", "x"], "text": ["a", "b"], "origin": ["real"] * 2}))
    assert df.height == 2


def test_huge_text_is_truncated_with_warning():
    big = "word " * 220_000  # ~1.1 MB
    with pytest.warns(WorkbenchWarning, match="truncated"):
        df = load(pl.DataFrame({"text": [big, "ok"], "origin": ["real"] * 2}))
    assert df["text"].str.len_chars()[0] == 100_000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load(pl.DataFrame({"text": [big], "origin": ["real"]}), max_chars=None)["text"].str.len_chars()[
            0
        ] == len(big)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "e.csv", "is empty"),
        (b"text,origin\n", "h.csv", "header but no rows"),
        (b"text,origin\na,real\nb,real,extra\n", "r.csv", "line 3 has 3 fields but the header has 2"),
        (b"text,origin\ncaf\xe9,real\n", "l.csv", r"not valid utf-8: byte b'\\xe9'.*encoding='latin-1'"),
        (b'{"text": "a", "origin": "real"}\n{broken\n', "b.jsonl", "line 2 is not valid JSON"),
        (b"[1, 2]", "n.json", "list of objects"),
        (b"not parquet", "x.parquet", "could not read x.parquet as parquet"),
        (b"a,b", "x.txt", "cannot tell the format"),
    ],
)
def test_broken_files(tmp_path, content, name, message):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load(p)


def test_latin1_with_encoding(tmp_path):
    p = tmp_path / "l.csv"
    p.write_bytes("text,origin\ncafé,real\n".encode("latin-1"))
    assert load(p, encoding="latin-1")["text"][0] == "café"


def test_missing_file_and_wrong_type(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="takes a file path"):
        load(42)


def test_unknown_columns_kept_untouched():
    df = load(pl.DataFrame({"text": ["a"], "origin": ["real"], "my_score": [0.5]}))
    assert df["my_score"][0] == 0.5 and df["my_score"].dtype == pl.Float64


def test_schema_lists_design_columns():
    for col in (
        "id",
        "text",
        "origin",
        "label",
        "split",
        "source",
        "generator",
        "generator_version",
        "prompt_id",
        "prompt",
        "sampling",
        "parent_id",
        "generation",
        "label_source",
        "label_confidence",
        "reference_label",
    ):
        assert col in SCHEMA


# --- property-based: load() never raises anything but a WorkbenchError on arbitrary input -----------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=300), ext=st.sampled_from(["csv", "tsv", "jsonl", "json", "parquet"]))
def test_load_arbitrary_bytes_only_raises_workbench_errors(tmp_path, content, ext):
    p = tmp_path / f"f.{ext}"
    p.write_bytes(content)
    try:
        df = load(p)
    except WorkbenchError:
        return
    assert {"id", "text", "origin"} <= set(df.columns)


cells = st.one_of(st.none(), st.text(max_size=20), st.integers(), st.floats(allow_nan=True), st.booleans())


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(cells, min_size=0, max_size=6),
    origins=st.lists(
        st.one_of(st.none(), st.sampled_from(["real", "synthetic", "REAL", "fake", ""])), min_size=0, max_size=6
    ),
    extra=st.lists(cells, min_size=0, max_size=6),
)
def test_validate_arbitrary_pandas_frames(texts, origins, extra):
    n = min(len(texts), len(origins), len(extra))
    pdf = pd.DataFrame({"text": texts[:n], "origin": origins[:n], "label": extra[:n]}, dtype=object)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WorkbenchWarning)
            df = validate(pdf)
    except WorkbenchError:
        return
    assert df.height == n
    assert set(df["origin"].to_list()) <= {"real", "synthetic"}
    assert df["text"].null_count() == 0
