"""Malformed variants of each format get one clear error naming the record and the fix (and, with
skip_bad=True, are left out with one warning while the good records load). Property-based: valid
files are generated, then one record is broken in one of the ways real dumps break."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.data import load
from workbench.errors import InputError, WorkbenchError, WorkbenchWarning

words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
                min_size=1, max_size=12)  # fmt: skip
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def conversations(draw, style: str = "messages") -> dict:
    role, content = ("role", "content") if style == "messages" else ("from", "value")
    user, model = ("user", "assistant") if style == "messages" else ("human", "gpt")
    n = draw(st.integers(1, 3))
    turns = [{role: "system", content: draw(words)}] if draw(st.booleans()) else []
    for _ in range(n):
        turns += [{role: user, content: draw(words)}, {role: model, content: draw(words)}]
    return {"messages" if style == "messages" else "conversations": turns}


# (name, how to break a conversation record, what the error must say)
def _no_content(rec, key, rk, ck, i):
    turn = next(t for t in rec[key] if t[rk] != "system")
    del turn[ck]
    return rf"message \d+ \('\w+'\) has no '{ck}'; fill it or remove the turn"


def _null_content(rec, key, rk, ck, i):
    rec[key][-1][ck] = None
    return rf"message {len(rec[key]) - 1} \('\w+'\) has no '{ck}'"


def _model_first(rec, key, rk, ck, i):
    rec[key] = [t for t in rec[key] if t[rk] != "system"]
    rec[key][0], rec[key][1] = rec[key][1], rec[key][0]
    return r"roles out of order: the first turn \(message 0\) is '\w+', not the user's"


def _two_in_a_row(rec, key, rk, ck, i):
    first_user = next(j for j, t in enumerate(rec[key]) if t[rk] != "system")
    rec[key].insert(first_user, dict(rec[key][first_user]))
    return rf"roles out of order: messages {first_user} and {first_user + 1} are both '\w+' turns"


def _late_system(rec, key, rk, ck, i):
    rec[key] = [t for t in rec[key] if t[rk] != "system"]
    rec[key].insert(2, {rk: "system", ck: "late"})
    return r"roles out of order: message 2 is a 'system' prompt after the conversation started"


def _not_a_list(rec, key, rk, ck, i):
    rec[key] = {"0": rec[key][0]}
    return rf"'{key}' must be a list of"


BREAKS = [_no_content, _null_content, _model_first, _two_in_a_row, _late_system, _not_a_list]


def write(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", "utf-8")
    return path


def check_one_clear_error(path: Path, line: int, pattern: str, n_good: int) -> None:
    with pytest.raises(InputError) as info:
        load(path)
    msg = str(info.value)
    assert "\n" not in msg, msg
    assert msg.startswith(f"{path.name} line {line}"), msg
    assert re.search(pattern, msg), (pattern, msg)
    assert "skip_bad=True" in msg
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = load(path, skip_bad=True)
    left_out = [
        str(w.message) for w in caught if issubclass(w.category, WorkbenchWarning) and "left out" in str(w.message)
    ]
    assert len(left_out) == 1 and f"line {line}" in left_out[0], left_out
    assert df["conversation_id"].n_unique() == n_good


@SETTINGS
@given(
    convs=st.lists(conversations(), min_size=2, max_size=5),
    style=st.sampled_from(["messages", "sharegpt"]),
    which=st.integers(0, 10),
    brk=st.sampled_from(BREAKS),
)
def test_broken_conversation_named_with_its_fix(tmp_path_factory, convs, style, which, brk):
    if style == "sharegpt":
        convs = [
            {
                "conversations": [
                    {"from": {"user": "human", "assistant": "gpt"}.get(t["role"], t["role"]), "value": t["content"]}
                    for t in c["messages"]
                ]
            }
            for c in convs
        ]
    key, rk, ck = ("messages", "role", "content") if style == "messages" else ("conversations", "from", "value")
    i = which % len(convs)
    pattern = brk(convs[i], key, rk, ck, i)
    path = write(tmp_path_factory.mktemp("bad") / "chats.jsonl", convs)
    check_one_clear_error(path, i + 1, pattern, len(convs) - 1)


@SETTINGS
@given(convs=st.lists(conversations(), min_size=2, max_size=5), which=st.integers(0, 10))
def test_mixed_formats_in_one_file(tmp_path_factory, convs, which):
    i = 1 + which % (len(convs) - 1)
    turns = convs[i]["messages"]
    convs[i] = {"conversations": [{"from": t["role"], "value": t["content"]} for t in turns]}
    path = write(tmp_path_factory.mktemp("mixed") / "mixed.jsonl", convs)
    check_one_clear_error(
        path, i + 1, r"is a sharegpt record, but line 1 is a messages record: the file mixes formats", len(convs) - 1
    )


@SETTINGS
@given(convs=st.lists(conversations(), min_size=2, max_size=6), cut=st.floats(0.05, 0.95))
def test_truncated_jsonl_names_the_last_line(tmp_path_factory, convs, cut):
    text = "\n".join(json.dumps(c, ensure_ascii=False) for c in convs)
    last = json.dumps(convs[-1], ensure_ascii=False)
    keep = len(text) - len(last) + max(1, int(len(last) * cut))
    path = tmp_path_factory.mktemp("trunc") / "dump.jsonl"
    path.write_text(text[:keep], "utf-8")
    check_one_clear_error(
        path, len(convs), r"is not valid JSON .*the file ends in the middle of this record", len(convs) - 1
    )


@SETTINGS
@given(convs=st.lists(conversations(), min_size=2, max_size=6), cut=st.floats(0.05, 0.95))
def test_truncated_json_list_recovers_complete_records(tmp_path_factory, convs, cut):
    text = json.dumps(convs, ensure_ascii=False, indent=1)
    last = json.dumps(convs[-1], ensure_ascii=False, indent=1)
    start = text.rindex(last[:20]) if last[:20] in text else len(text) - len(last)
    end = start + max(2, int((len(text) - 1 - start) * cut))
    path = tmp_path_factory.mktemp("trunc") / "dump.json"
    path.write_text(text[:end], "utf-8")
    with pytest.raises(InputError) as info:
        load(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("dump.json is truncated: it ends inside record"), msg
    assert "skip_bad=True" in msg
    with pytest.warns(WorkbenchWarning, match="truncated inside record"):
        df = load(path, skip_bad=True)
    assert df["conversation_id"].n_unique() == len(convs) - 1


# other formats: a missing required field names the record and the field
@pytest.mark.parametrize(
    ("records", "pattern"),
    [
        ([{"instruction": "i", "input": "", "output": "o"}, {"instruction": "i", "input": "", "output": None}],
         r"line 2: 'output' is missing or null"),
        ([{"prompt": "p", "completion": "c"}, {"prompt": "p", "completion": 3}], r"line 2: 'completion' must be a text"),
        ([{"chosen": "a", "rejected": "b"}, {"chosen": "a", "rejected": None}], r"line 2: 'rejected' is missing or null"),
        ([{"chosen": "a", "rejected": "b"}, {"chosen": [{"role": "user", "content": "x"}], "rejected": "b"}],
         r"line 2: 'chosen' and 'rejected' must both be texts or both be lists"),
        ([{"custom_id": "a", "response": {"status_code": 200, "body": {"choices": []}}}],
         r"line 1: request 'a': the response body has no choices"),
        ([{"fields": {"text": "t"}, "suggestions": {}, "responses": {}}], r"line 1: has no 'id'"),
        ([{"generation": None, "model_name": "m"}], r"line 1: no output column"),
    ],
)  # fmt: skip
def test_other_formats_name_the_record_and_field(tmp_path, records, pattern):
    with pytest.raises(InputError, match=pattern):
        load(write(tmp_path / "f.jsonl", records))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    record=st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), words),
        lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(words, children, max_size=3)),
        max_leaves=12,
    ),
    keys=st.lists(
        st.sampled_from(
            [
                "messages",
                "conversations",
                "chosen",
                "rejected",
                "prompt",
                "completion",
                "instruction",
                "output",
                "custom_id",
                "response",
                "fields",
                "suggestions",
                "distilabel_metadata",
                "model_name",
                "generation",
                "text",
                "origin",
            ]
        ),
        max_size=4,
    ),
)
def test_arbitrary_records_only_raise_workbench_errors(tmp_path, record, keys):
    rec = {k: record for k in keys} or {"x": record}
    path = write(tmp_path / "any.jsonl", [rec])
    try:
        df = load(path)
    except WorkbenchError:
        return
    assert {"id", "text", "origin"} <= set(df.columns)
