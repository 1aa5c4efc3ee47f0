"""workbench.formats: every synthetic-data format into the schema, with its provenance mapped.

Where the producing library installs here (`datasets`), tests/test_formats_hf.py makes the fixture
with it. The other fixtures are built by hand from each format's documented schema, cited at each
test; they are small, but each field is where the producer puts it.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import polars as pl
import pytest

from workbench import formats
from workbench.audit import Audit
from workbench.data import load, stable_id_series, stable_ids
from workbench.demo_data import CHATS
from workbench.errors import InputError, SchemaError, WorkbenchWarning

ROOT = Path(__file__).resolve().parent.parent


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", "utf-8")
    return path


def provenance(df: pl.DataFrame):
    return Audit(df, checks=["provenance"], embeddings=None).run().results["provenance"]


# --- chat -----------------------------------------------------------------------------------------


def chat(*turns: tuple[str, str], key: str = "messages", role: str = "role", content: str = "content") -> list[dict]:
    return [{role: r, content: c} for r, c in turns]


def test_messages_multi_turn_one_row_per_assistant_turn(tmp_path):
    """OpenAI chat format (platform.openai.com/docs/api-reference/chat: messages of {role, content},
    content a string or a list of {"type": "text", "text"} parts), one conversation per line."""
    rows = [
        {
            "messages": chat(
                ("system", "You are a critic."),
                ("user", "Review Alien"),
                ("assistant", "Tense and great."),
                ("user", "And Cats?"),
                ("assistant", [{"type": "text", "text": "A "}, {"type": "text", "text": "mess."}]),
            ),
            "model": "gpt-4o-mini",
        },
        {"messages": chat(("user", "Hi"), ("assistant", "Hello"))},
    ]
    imported = formats.read(write_jsonl(tmp_path / "chat.jsonl", rows))
    df = imported.frame
    assert imported.format == "messages" and imported.container == "jsonl" and imported.n_records == 2
    assert df["text"].to_list() == ["Tense and great.", "A mess.", "Hello"]
    assert df["prompt"].to_list() == ["Review Alien", "And Cats?", "Hi"]  # the preceding user turn
    assert df["turn"].to_list() == [2, 4, 1] and df["turn"].dtype == pl.Int64
    assert df["system"].to_list() == ["You are a critic.", "You are a critic.", None]
    assert df["origin"].unique().to_list() == ["synthetic"]  # model turns, without being told
    assert df["generator"].to_list() == ["gpt-4o-mini", "gpt-4o-mini", None]
    c = df["conversation_id"].to_list()
    assert c[0] == c[1] != c[2] and df["id"].to_list() == [f"{c[0]}/2", f"{c[0]}/4", f"{c[2]}/1"]
    assert imported.mapping["prompt"] == "the preceding user turn"
    assert "generator_version" in imported.missing and "sampling" in imported.missing
    line = imported.describe()
    assert "\n" not in line and "messages" in line and "2 conversations -> 3 rows" in line and "text <-" in line


def test_sharegpt_roles_and_role_choice(tmp_path):
    """ShareGPT (FastChat / LLaMA-Factory data/README "sharegpt"): {"id", "conversations": [{"from":
    "human" | "gpt" | "system", "value"}]}, optionally a top-level "system"."""
    rows = [
        {
            "id": "c1",
            "system": "Be brief.",
            "conversations": [
                {"from": "human", "value": "Review Alien"},
                {"from": "gpt", "value": "Tense."},
                {"from": "human", "value": "Cats?"},
                {"from": "gpt", "value": "A mess."},
            ],
        }
    ]
    p = write_jsonl(tmp_path / "sg.jsonl", rows)
    for role in ("gpt", "assistant", None):
        df = formats.read(p, role=role).frame
        assert df["text"].to_list() == ["Tense.", "A mess."] and df["id"].to_list() == ["c1/1", "c1/3"]
        assert df["system"].to_list() == ["Be brief.", "Be brief."] and df["conversation_id"][0] == "c1"
    human = load(p, role="human")
    assert human["text"].to_list() == ["Review Alien", "Cats?"]
    assert human["origin"].unique().to_list() == ["real"] and "prompt" not in human.columns  # people's turns
    with pytest.raises(InputError, match=r"line 1: has no message with role 'tool'.*pass role="):
        load(p, role="tool")


def test_identical_conversations_get_distinct_ids_and_own_ids_are_kept(tmp_path):
    same = {"messages": chat(("user", "Hi"), ("assistant", "Hello"))}
    df = load(write_jsonl(tmp_path / "d.jsonl", [same, same, {**same, "id": "y"}]))
    ids = df["id"].to_list()
    assert ids[1] == ids[0].replace("/1", "~2/1") and ids[2] == "y/1" and len(set(ids)) == 3
    with pytest.warns(WorkbenchWarning, match="occur more than once"):  # the records' own ids repeat: theirs
        load(write_jsonl(tmp_path / "e.jsonl", [{**same, "id": "x"}, {**same, "id": "x"}]))


def test_record_provenance_wins_over_derived_and_clashes_are_kept(tmp_path):
    rows = [
        {
            "messages": chat(("user", "Q"), ("assistant", "A")),
            "model": "gpt-4",
            "generator": "my-gen",
            "sampling": {"temperature": 0.7},
            "prompt": "the record's own prompt field",
            "origin": "real",
        }
    ]
    df = load(write_jsonl(tmp_path / "c.jsonl", rows))
    assert df["generator"][0] == "my-gen" and json.loads(df["sampling"][0]) == {"temperature": 0.7}
    assert df["origin"][0] == "real"  # the record says so
    assert df["prompt"][0] == "Q" and df["record_prompt"][0] == "the record's own prompt field"


def test_explicit_mapping_replaces_a_derived_column(tmp_path):
    rows = [{"messages": chat(("user", "Q"), ("assistant", "A")), "answer_clean": "A, cleaned"}]
    df = load(write_jsonl(tmp_path / "c.jsonl", rows), text="answer_clean")
    assert df["text"].to_list() == ["A, cleaned"]


def test_defaults_beat_the_format_default_origin(tmp_path):
    rows = [{"messages": chat(("user", "Q"), ("assistant", "A"))}]
    assert load(write_jsonl(tmp_path / "c.jsonl", rows), defaults={"origin": "real"})["origin"][0] == "real"


# --- instruction data, preference pairs ----------------------------------------------------------------


def test_alpaca(tmp_path):
    """Stanford Alpaca alpaca_data.json: a JSON list of {"instruction", "input", "output"}."""
    data = [
        {"instruction": "Give a one-line review of Alien.", "input": "", "output": "Tense and great."},
        {"instruction": "Summarise the plot.", "input": "A crew meets a creature.", "output": "Crew vs creature."},
    ]
    (tmp_path / "alpaca_data.json").write_text(json.dumps(data, indent=4), "utf-8")
    imported = formats.read(tmp_path / "alpaca_data.json")
    df = imported.frame
    assert imported.format == "alpaca" and imported.container == "json"
    assert df["text"].to_list() == ["Tense and great.", "Crew vs creature."]
    assert df["prompt"].to_list() == [
        "Give a one-line review of Alien.",
        "Summarise the plot.\n\nA crew meets a creature.",
    ]
    assert df["origin"].unique().to_list() == ["synthetic"]
    assert imported.missing == {"generator": 2, "generator_version": 2, "sampling": 2}


def test_prompt_completion_text_and_conversational(tmp_path):
    """OpenAI legacy fine-tuning JSONL {"prompt", "completion"}; TRL's conversational prompt-completion
    type (huggingface.co/docs/trl/dataset_formats): both as lists of messages."""
    rows = [
        {"prompt": "The sky is", "completion": " blue."},
        {
            "prompt": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Sky colour?"}],
            "completion": [{"role": "assistant", "content": "Blue."}],
        },
    ]
    df = load(write_jsonl(tmp_path / "pc.jsonl", rows))
    assert df["text"].to_list() == [" blue.", "Blue."]
    assert df["prompt"].to_list() == ["The sky is", "Sky colour?"] and df["system"].to_list() == [None, "Be terse."]


def test_preference_pairs_both_rows_with_pair_id(tmp_path):
    """TRL preference type {"prompt", "chosen", "rejected"}; UltraFeedback binarized (conversational,
    with score_chosen/score_rejected, prompt_id); Anthropic HH-RLHF (transcripts, no prompt)."""
    rows = [
        {"prompt": "Q1", "chosen": "good answer", "rejected": "bad", "score_chosen": 8.0, "score_rejected": 3.0},
        {
            "prompt": "Q2",
            "prompt_id": "p2",
            "chosen": [{"role": "user", "content": "Q2"}, {"role": "assistant", "content": "Yes."}],
            "rejected": [{"role": "user", "content": "Q2"}, {"role": "assistant", "content": "No."}],
            "score_chosen": 9,
            "score_rejected": 2,
        },
    ]
    df = load(write_jsonl(tmp_path / "pref.jsonl", rows))
    assert df.height == 4 and df["preference"].to_list() == ["chosen", "rejected"] * 2
    assert df["label"].to_list() == df["preference"].to_list()
    assert df["text"].to_list() == ["good answer", "bad", "Yes.", "No."]
    assert df["prompt"].to_list() == ["Q1", "Q1", "Q2", "Q2"]
    assert df["preference_score"].to_list() == [8.0, 3.0, 9.0, 2.0]
    assert df["pair_id"][0] == df["pair_id"][1] != df["pair_id"][2]
    assert df["id"][0] == df["pair_id"][0] + "/chosen" and df["prompt_id"][2] == "p2"
    assert df["origin"].unique().to_list() == ["synthetic"]

    hh = [
        {
            "chosen": "\n\nHuman: What is a good film?\n\nAssistant: Alien is a classic.",
            "rejected": "\n\nHuman: What is a good film?\n\nAssistant: I don't know.",
        }
    ]
    df = load(write_jsonl(tmp_path / "hh.jsonl", hh))
    assert df["text"].to_list() == ["Alien is a classic.", "I don't know."]
    assert df["prompt"][0] == "Human: What is a good film?\n\nAssistant:"

    implicit = [{"chosen": rows[1]["chosen"], "rejected": rows[1]["rejected"]}]
    df = load(write_jsonl(tmp_path / "implicit.jsonl", implicit))
    assert df["text"].to_list() == ["Yes.", "No."] and df["prompt"].to_list() == ["Q2", "Q2"]


# --- distilabel ---------------------------------------------------------------------------------


PIPELINE_YAML = """\
distilabel:
  version: 1.5.3
pipeline:
  name: reviews
  description: null
  steps:
  - step:
      name: load_data_from_dicts_0
      type_info:
        module: distilabel.steps.generators.data
        name: LoadDataFromDicts
    name: load_data_from_dicts_0
  - step:
      name: text_generation_0
      llm:
        generation_kwargs:
          temperature: 0.7
          max_new_tokens: 128
        model_id: HuggingFaceTB/SmolLM2-135M-Instruct
        revision: main
        type_info:
          module: distilabel.models.llms.huggingface.transformers
          name: TransformersLLM
      num_generations: 1
      type_info:
        module: distilabel.steps.tasks.text_generation
        name: TextGeneration
    name: text_generation_0
  connections:
  - from: load_data_from_dicts_0
    to:
    - text_generation_0
  - from: text_generation_0
    to: []
  routing_batch_functions: []
  type_info:
    module: distilabel.pipeline.local
    name: Pipeline
requirements: []
"""


def distilabel_rows() -> list[dict]:
    """Rows of a TextGeneration leaf step (distilabel Task.format_output + Task._add_metadata): the
    task's output column, model_name, and distilabel_metadata with raw_input_<step> (the chat the LLM
    saw), raw_output_<step> and statistics_<step>."""
    out = []
    for instruction, generation in (("Review Alien.", "Tense and great."), ("Review Cats.", "A mess.")):
        out.append(
            {
                "instruction": instruction,
                "generation": generation,
                "distilabel_metadata": {
                    "raw_input_text_generation_0": [
                        {"role": "system", "content": "You are a critic."},
                        {"role": "user", "content": instruction},
                    ],
                    "raw_output_text_generation_0": generation,
                    "statistics_text_generation_0": {"input_tokens": 12, "output_tokens": 5},
                },
                "model_name": "HuggingFaceTB/SmolLM2-135M-Instruct",
            }
        )
    return out


def test_distilabel_with_pipeline_yaml(tmp_path):
    """A pushed Distiset keeps pipeline.yaml at the root and rows in <config>/train-*.parquet."""
    (tmp_path / "pipeline.yaml").write_text(PIPELINE_YAML, "utf-8")
    (tmp_path / "default").mkdir()
    data = tmp_path / "default" / "train-00000-of-00001.parquet"
    pl.DataFrame(distilabel_rows()).write_parquet(data)
    imported = formats.read(data)
    df = imported.frame
    assert imported.format == "distilabel" and imported.container == "parquet"
    assert df["text"].to_list() == ["Tense and great.", "A mess."]
    assert df["prompt"].to_list() == ["Review Alien.", "Review Cats."] and df["system"][0] == "You are a critic."
    assert df["generator"][0] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert df["generator_version"][0] == (
        "distilabel 1.5.3; TransformersLLM(model=HuggingFaceTB/SmolLM2-135M-Instruct, revision=main)"
    )
    assert json.loads(df["sampling"][0]) == {"max_new_tokens": 128, "temperature": 0.7}
    assert json.loads(df["statistics_text_generation_0"][0]) == {"input_tokens": 12, "output_tokens": 5}
    assert df["raw_output_text_generation_0"][0] == "Tense and great."
    assert df["origin"].unique().to_list() == ["synthetic"] and imported.missing == {}
    assert provenance(df.with_columns(split=pl.lit("train"))).status == "pass"


def test_distilabel_without_pipeline_yaml_names_what_is_missing(tmp_path):
    p = write_jsonl(tmp_path / "distiset.jsonl", distilabel_rows())
    imported = formats.read(p)
    assert "generator_version" not in imported.frame.columns and "sampling" not in imported.frame.columns
    assert imported.missing == {"generator_version": 2, "sampling": 2}
    assert any("no pipeline.yaml" in n for n in imported.notes)
    result = provenance(imported.frame.with_columns(split=pl.lit("train")))
    assert result.status == "warn"
    assert "without generator_version" in result.summary and "without sampling" in result.summary


def test_distilabel_grouped_generations_one_row_each(tmp_path):
    """group_generations / CombineOutputs: `generations` and `model_names` lists."""
    rows = [{"instruction": "Q", "generations": ["A1", "A2", None], "model_names": ["m1", "m2", "m3"]}]
    df = load(write_jsonl(tmp_path / "g.jsonl", rows), format="distilabel")
    assert df["text"].to_list() == ["A1", "A2"] and df["generator"].to_list() == ["m1", "m2"]
    assert df["prompt"].to_list() == ["Q", "Q"]


def test_saved_distiset_folder(tmp_path):
    """Distiset.save_to_disk: <dir>/<config>/ (datasets save_to_disk) and <dir>/distiset_configs/pipeline.yaml."""
    datasets = pytest.importorskip("datasets")
    root = tmp_path / "my-distiset"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(distilabel_rows())}).save_to_disk(str(root / "default"))
    (root / "distiset_configs").mkdir()
    (root / "distiset_configs" / "pipeline.yaml").write_text(PIPELINE_YAML, "utf-8")
    imported = formats.read(root)
    assert imported.format == "distilabel" and imported.frame["split"].unique().to_list() == ["train"]
    assert imported.frame["generator_version"][0].startswith("distilabel 1.5.3; TransformersLLM")


# --- Argilla --------------------------------------------------------------------------------------


def argilla_records() -> list[dict]:
    """Argilla 2.x Record.to_dict() as written by dataset.records.to_json() and Dataset.to_disk()
    (records.json): suggestions {question: {value, score, agent}}, responses {question: [{value, user_id}]}."""
    return [
        {
            "id": "rec-1",
            "fields": {"text": "A tense, great film."},
            "metadata": {"source": "web"},
            "suggestions": {"sentiment": {"value": "positive", "score": 0.91, "agent": "gpt-4o-mini"}},
            "responses": {
                "sentiment": [
                    {"value": "positive", "user_id": "u-ann"},
                    {"value": "negative", "user_id": "u-bob"},
                    {"value": "positive", "user_id": "u-cy"},
                ]
            },
            "vectors": {},
            "_server_id": "7d9a",
        },
        {
            "id": "rec-2",
            "fields": {"text": "A dull mess."},
            "metadata": {},
            "suggestions": {"sentiment": {"value": "positive", "score": 0.55, "agent": "gpt-4o-mini", "type": "model"}},
            "responses": {
                "sentiment": [{"value": "negative", "user_id": "u-ann"}, {"value": "positive", "user_id": "u-bob"}]
            },
            "vectors": {},
            "_server_id": "8e0b",
        },
    ]


def test_argilla_records_json_suggestions_and_responses(tmp_path):
    (tmp_path / "records.json").write_text(json.dumps(argilla_records()), "utf-8")
    imported = formats.read(tmp_path / "records.json")
    df = imported.frame
    assert imported.format == "argilla"
    assert df["id"].to_list() == ["rec-1", "rec-2"] and df["text"][0] == "A tense, great film."
    assert df["label"].to_list() == ["positive", "positive"]  # the model's suggestion
    assert df["label_source"].to_list() == ["model:gpt-4o-mini"] * 2 and df["label_confidence"].to_list() == [
        0.91,
        0.55,
    ]
    assert df["reference_label"].to_list() == ["positive", None]  # majority of people; a tie is no verdict
    assert df["origin"].unique().to_list() == ["real"] and df["source"][0] == "web"
    labels = imported.labels
    assert labels is not None and labels.columns == ["id", "labeler", "label", "confidence"]
    assert labels.height == 7 and set(labels["labeler"]) == {
        "model:gpt-4o-mini",
        "human:u-ann",
        "human:u-bob",
        "human:u-cy",
    }
    # the long form is what spot checks and agreement use
    from workbench.spotcheck import disagreement

    d = dict(disagreement(labels).select("id", "disagreement").iter_rows())
    assert d["rec-1"] == pytest.approx(1 / 4) and d["rec-2"] == pytest.approx(1 / 3)


def test_argilla_to_disk_folder_and_flattened_export(tmp_path):
    """Dataset.to_disk(folder) writes settings.json and records.json; records.to_list(flatten=True)
    puts fields at the top level with <question>.suggestion(.score/.agent) and .responses(.users/.status)."""
    folder = tmp_path / "argilla-export"
    folder.mkdir()
    (folder / "records.json").write_text(json.dumps(argilla_records()), "utf-8")
    (folder / "settings.json").write_text(
        json.dumps({"fields": [{"name": "text", "type": "text"}], "questions": [{"name": "sentiment"}]}), "utf-8"
    )
    assert formats.read(folder).frame["label"].to_list() == ["positive", "positive"]
    flat = [
        {
            "id": "rec-1",
            "text": "A tense, great film.",
            "sentiment.suggestion": "positive",
            "sentiment.suggestion.score": 0.91,
            "sentiment.suggestion.agent": "gpt-4o-mini",
            "sentiment.responses": ["positive", "negative"],
            "sentiment.responses.users": ["u-ann", "u-bob"],
            "sentiment.responses.status": ["submitted", "discarded"],
        }
    ]
    imported = formats.read(write_jsonl(tmp_path / "flat.jsonl", flat))
    assert imported.frame["reference_label"].to_list() == ["positive"]  # the discarded response does not vote
    assert imported.labels is not None and imported.labels.height == 2


# --- OpenAI batch output ----------------------------------------------------------------------------


def batch_line(custom_id: str, content: str | None = "Hello.", *, error: bool = False) -> dict:
    """The Batch API's request output object (platform.openai.com/docs/api-reference/batch/request-output)."""
    if error:
        return {"id": f"batch_req_{custom_id}", "custom_id": custom_id, "response": None,
                "error": {"code": "batch_expired", "message": "This request could not be executed."}}  # fmt: skip
    return {
        "id": f"batch_req_{custom_id}",
        "custom_id": custom_id,
        "response": {
            "status_code": 200,
            "request_id": f"req_{custom_id}",
            "body": {
                "id": f"chatcmpl-{custom_id}",
                "object": "chat.completion",
                "created": 1711652795,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 22, "completion_tokens": 2, "total_tokens": 24},
                "system_fingerprint": "fp_44709d6fcb",
            },
        },
        "error": None,
    }


def test_openai_batch_output(tmp_path):
    p = write_jsonl(
        tmp_path / "batch_output.jsonl", [batch_line("r-1"), batch_line("r-2", "Bye."), batch_line("r-3", error=True)]
    )
    with pytest.warns(WorkbenchWarning, match=r"1 of 3 batch requests .* failed .*r-3"):
        imported = formats.read(p)
    df = imported.frame
    assert imported.format == "openai_batch"
    assert df["id"].to_list() == ["r-1", "r-2"] and df["prompt_id"].to_list() == ["r-1", "r-2"]
    assert df["text"].to_list() == ["Hello.", "Bye."] and df["generator"][0] == "gpt-4o-mini-2024-07-18"
    assert df["generator_version"][0] == "fp_44709d6fcb" and df["finish_reason"][0] == "stop"
    assert json.loads(df["usage"][0]) == {"completion_tokens": 2, "prompt_tokens": 22, "total_tokens": 24}
    assert imported.missing == {"sampling": 2}  # the output file has no sampling settings: named, not invented


# --- tables stay tables; detection, streaming, ids ---------------------------------------------------


def test_plain_tables_are_not_converted(tmp_path):
    base = pl.DataFrame({"text": ["a", "b"], "origin": ["real", "synthetic"], "prompt": ["p", "q"]})
    base.write_csv(tmp_path / "t.csv")
    imported = formats.read(tmp_path / "t.csv")
    assert imported.format == "csv" and imported.frame["text"].to_list() == ["a", "b"]
    assert formats.read(base).format == "polars frame"


def test_format_argument_overrides_and_unknown_formats(tmp_path):
    rows = [{"prompt": "P", "completion": "C", "instruction": "I", "output": "O"}]
    p = write_jsonl(tmp_path / "both.jsonl", rows)
    assert formats.read(p).format == "alpaca"  # the more specific shape wins
    assert formats.read(p, format="prompt_completion").frame["text"].to_list() == ["C"]
    assert load(p, format="alpaca")["text"].to_list() == ["O"]
    with pytest.raises(InputError, match=r"unknown format 'yaml'.*sharegpt"):
        load(p, format="yaml")
    with pytest.raises(InputError, match="format='hf' reads a datasets.Dataset"):
        load(p, format="hf")


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([{"messages": [{"role": "user", "content": "x"}]}], "messages"),
        ([{"conversations": [{"from": "human", "value": "x"}]}], "sharegpt"),
        ([{"instruction": "i", "input": "", "output": "o"}], "alpaca"),
        ([{"prompt": "p", "completion": "c"}], "prompt_completion"),
        ([{"chosen": "a", "rejected": "b"}], "preference"),
        ([{"generation": "g", "model_name": "m"}], "distilabel"),
        ([{"fields": {"text": "t"}, "suggestions": {}, "responses": {}}], "argilla"),
        ([{"custom_id": "c", "response": {}}], "openai_batch"),
        ([{"text": "t", "origin": "real"}], "jsonl"),
    ],
)
def test_detect(tmp_path, records, expected):
    assert formats.detect(write_jsonl(tmp_path / "d.jsonl", records)) == expected


def test_streaming_in_small_chunks_gives_the_same_frame(tmp_path, monkeypatch):
    """Chunk boundaries never change a row or a type: ints then floats then texts in one column."""
    rows = [
        {
            "messages": chat(("user", f"q{i} é"), ("assistant", f"answer {i} \u2028 ok")),
            "score": i if i < 30 else (i + 0.5 if i < 60 else f"s{i}"),
            "meta": {"k": i} if i % 7 == 0 else None,
            "flag": i % 2 == 0,
            "ratio": i if i < 40 or i % 3 else i + 0.25,  # ints, then ints and floats: Float64
        }
        for i in range(90)
    ]
    p = write_jsonl(tmp_path / "s.jsonl", rows)
    whole = load(p)
    from workbench.formats import _reader

    monkeypatch.setattr(_reader, "CHUNK_BYTES", 300)
    chunked = load(p)
    assert chunked.equals(whole) and chunked.height == 90
    assert whole["score"].dtype == pl.String and whole["score"][0] == "0" and whole["score"][30] == "30.5"
    assert whole["flag"].dtype == pl.Boolean and whole["meta"][0] == '{"k": 0}'
    assert whole["ratio"].dtype == pl.Float64 and whole["ratio"][42] == 42.25 and whole["ratio"][1] == 1.0


def test_progress_bar_on_request(tmp_path, capsys):
    p = write_jsonl(tmp_path / "s.jsonl", [{"messages": chat(("user", "q"), ("assistant", "a"))}])
    load(p, progress=True)
    assert "load s.jsonl" in capsys.readouterr().err
    load(p)
    assert "load s.jsonl" not in capsys.readouterr().err  # small files: no bar by default


def test_stable_id_series_matches_stable_ids():
    texts = ["a", "b", "a", "", "é", "a", "b"] * 5
    assert stable_id_series(pl.Series(texts), block=3).to_list() == stable_ids(texts)


def test_load_signature_unchanged():
    params = inspect.signature(load).parameters
    assert next(iter(params)) == "source" and params["source"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    for name in ("format", "encoding", "role", "defaults", "drop_empty", "max_chars"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY


def test_importing_and_loading_files_never_imports_datasets(tmp_path):
    write_jsonl(tmp_path / "c.jsonl", [{"messages": chat(("user", "q"), ("assistant", "a"))}])
    pl.DataFrame({"text": ["a"], "origin": ["real"]}).write_csv(tmp_path / "t.csv")
    code = (
        "import sys, workbench, workbench.data as d, workbench.formats as f\n"
        f"d.load({str(tmp_path / 'c.jsonl')!r}); d.load({str(tmp_path / 't.csv')!r})\n"
        "assert 'datasets' not in sys.modules, 'datasets was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_mapping_table_and_repr(tmp_path):
    imported = formats.read(CHATS)
    table = imported.mapping_table()
    assert table.columns == ["column", "from", "rows"]
    assert dict(table.select("column", "rows").iter_rows())["text"] == imported.frame.height
    assert repr(imported).startswith("Imported(chats.jsonl: sharegpt")


# --- the bundled chat file ------------------------------------------------------------------------


def test_bundled_chats_rebuild_byte_for_byte(tmp_path):
    from workbench.demo_data import make_chats

    out = make_chats.main(tmp_path / "chats.jsonl")
    assert out.read_bytes() == CHATS.read_bytes()


def test_bundled_chats_load_with_their_planted_gaps():
    imported = formats.read(CHATS)
    df = imported.frame
    assert imported.format == "sharegpt" and imported.n_records == 280
    assert df["origin"].unique().to_list() == ["synthetic"] and df["turn"].is_in([1, 2, 3, 4]).all()
    by_gen = dict(df.group_by("generator").len().iter_rows())
    assert by_gen[None] > 0 and by_gen["template-writer"] > 0 and by_gen["markov-writer"] > 0
    assert imported.missing["generator"] == by_gen[None]  # the vendor batch names no model
    assert imported.missing["generator_version"] == by_gen[None] + by_gen["markov-writer"]


# --- errors stay WorkbenchErrors ------------------------------------------------------------------


def test_errors_are_one_line_and_name_the_record(tmp_path):
    rows = [{"messages": chat(("user", "q"), ("assistant", "a"))}, {"messages": [{"role": "user"}]}]
    with pytest.raises(InputError) as info:
        load(write_jsonl(tmp_path / "bad.jsonl", rows))
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("bad.jsonl line 2: message 0 ('user') has no 'content'")
    assert "skip_bad=True" in msg
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WorkbenchWarning)
        assert load(write_jsonl(tmp_path / "bad.jsonl", rows), skip_bad=True).height == 1
    with pytest.raises(SchemaError, match="null, NaN or blank"):  # a blank answer: refused by validate, as always
        load(write_jsonl(tmp_path / "blank.jsonl", [{"messages": chat(("user", "q"), ("assistant", "  "))}]))
