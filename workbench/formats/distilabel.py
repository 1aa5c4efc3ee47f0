"""distilabel pipeline outputs (distilabel 1.x `Distiset` rows, as saved or pushed).

Schema (distilabel's `Task`: `format_output` plus `_add_metadata`, `DAG.dump`, `Distiset.save_to_disk`):
a row holds the task's output column (`generation` for TextGeneration/ChatGeneration, `generations`
with `model_names` after CombineOutputs or with `group_generations`), `model_name`, and, when the
pipeline keeps metadata, `distilabel_metadata` with `raw_input_<step>` (the chat messages the LLM
was given), `raw_output_<step>` (its raw answer) and `statistics_<step>` (token counts).
`pipeline.yaml` (beside the data, in `distiset_configs/` of a saved Distiset, or at the root of a
pushed dataset) is the serialised pipeline: `distilabel: {version}` and `pipeline: {steps: [{name,
step: {llm: {model | model_id | ..., generation_kwargs, type_info: {module, name}}}}]}`.

Mapping: the output -> `text` (one row per generation), `model_name` -> `generator`, the user turn
of `raw_input_<step>` -> `prompt` (its system turn -> `system`), `raw_output_<step>` and
`statistics_<step>` kept as columns, and from `pipeline.yaml` the distilabel version and the step's
LLM (class, model, revision) -> `generator_version`, its `generation_kwargs` -> `sampling`.
Without `pipeline.yaml` those two stay empty and the provenance check names them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.formats._base import Converter, RecordError, attach
from workbench.formats.chat import canonical_role, content_text

OUTPUT_COLUMNS = ("generation", "generations", "response", "responses", "output", "completion")
MODEL_KEYS = ("model", "model_id", "model_name", "model_path", "endpoint_name", "tokenizer_id")
PIPELINE_FILE = "pipeline.yaml"


def find_pipeline_yaml(path: Path | None) -> Path | None:
    """`pipeline.yaml` beside the data or up to two folders up (a pushed dataset keeps its data in
    `<config>/train-*.parquet`), directly or in `distiset_configs/` (a saved Distiset)."""
    if path is None:
        return None
    start = path if path.is_dir() else path.parent
    for folder in [start, *list(start.parents)[:2]]:
        for candidate in (folder / PIPELINE_FILE, folder / "distiset_configs" / PIPELINE_FILE):
            if candidate.is_file():
                return candidate
    return None


def read_pipeline(path: Path) -> dict[str, dict[str, Any]] | None:
    """Per step with an LLM: `generator_version` (distilabel version and LLM config), `sampling`
    (the LLM's generation kwargs as JSON, or None) and `model`. None when the file is not a
    distilabel pipeline (another tool's pipeline.yaml)."""
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML comes with jupyter; say what to do if not
        raise InputError(f"reading {path} needs PyYAML: pip install pyyaml") from None
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(
            f"{path} is not a readable pipeline.yaml ({str(exc).splitlines()[0]}); fix or remove it."
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("pipeline"), dict) or "distilabel" not in data:
        return None
    version = (data.get("distilabel") or {}).get("version")
    steps: dict[str, dict[str, Any]] = {}
    for entry in data["pipeline"].get("steps") or []:
        step = entry.get("step") if isinstance(entry, dict) else None
        if not isinstance(step, dict) or not isinstance(step.get("llm"), dict):
            continue
        llm = step["llm"]
        name = entry.get("name") or step.get("name")
        cls = (llm.get("type_info") or {}).get("name") or "LLM"
        model = next((str(llm[k]) for k in MODEL_KEYS if llm.get(k)), None)
        config = [f"model={model}"] if model else []
        if llm.get("revision"):
            config.append(f"revision={llm['revision']}")
        kwargs = llm.get("generation_kwargs") or {}
        steps[str(name)] = {
            "generator_version": f"distilabel {version or 'unknown'}; {cls}({', '.join(config)})",
            "sampling": json.dumps(kwargs, sort_keys=True, default=str) if kwargs else None,
            "model": model,
        }
    return steps


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):  # metadata kept as JSON text by a CSV round trip
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


class Distilabel(Converter):
    name = "distilabel"

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        pipeline = self.options.get("pipeline_yaml") or find_pipeline_yaml(self.path)
        steps = read_pipeline(pipeline) if pipeline else None
        self.pipeline_path: Path | None = pipeline if steps is not None else None
        self.steps: dict[str, dict[str, Any]] = steps or {}
        if pipeline and steps is None:
            self.notes.append(f"{pipeline} is not a distilabel pipeline.yaml; ignored")
        if self.pipeline_path:
            self.notes.append(f"pipeline: {pipeline}")
        else:
            self.notes.append(
                "no pipeline.yaml beside the data: generator_version (distilabel version, LLM config) and sampling "
                "(generation kwargs) are not recorded; put the pipeline's pipeline.yaml next to the file"
            )

    @staticmethod
    def matches(rec: dict[str, Any]) -> bool:
        return "distilabel_metadata" in rec or (
            "model_name" in rec and any(c in rec for c in ("generation", "generations"))
        )

    def _step(self, meta: dict[str, Any], text: str) -> str | None:
        steps = [k[len("raw_output_") :] for k in meta if k.startswith("raw_output_")]
        steps += [k[len("raw_input_") :] for k in meta if k.startswith("raw_input_") and k[10:] not in steps]
        for s in steps:  # the step whose raw output is this text produced it
            if meta.get(f"raw_output_{s}") == text:
                return s
        if steps:
            return steps[0]
        return next(iter(self.steps)) if len(self.steps) == 1 else None

    def rows(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        raw_meta = rec.get("distilabel_metadata")
        out_col = next((c for c in OUTPUT_COLUMNS if rec.get(c) is not None), None)
        model = rec.get("model_name")
        models = rec.get("model_names")
        if out_col is None and isinstance(rec.get("text"), str) and rec.get("labels", rec.get("label")) is not None:
            return self._labelled(rec, model)
        if out_col is None:
            meta = _as_dict(raw_meta)
            raw = [k for k, v in meta.items() if k.startswith("raw_output_") and isinstance(v, str)]
            if not raw:
                raise RecordError(
                    f"no output column ({', '.join(OUTPUT_COLUMNS)}) and no raw_output_<step> in distilabel_metadata;"
                    " map the output column with load(path, text='your_column')"
                )
            values: list[Any] = [meta[raw[0]]]
            metas = [meta]
            self.mapping["text"] = f"distilabel_metadata.{raw[0]}"
        else:
            value = rec[out_col]
            values = value if isinstance(value, list) else [value]
            metas = raw_meta if isinstance(raw_meta, list) else [_as_dict(raw_meta)] * len(values)
            self.mapping["text"] = out_col + ("[] (one row per generation)" if isinstance(value, list) else "")
        rows = []
        for i, text in enumerate(values):
            if text is None:
                continue  # a generation the LLM failed to produce: distilabel stores None
            if not isinstance(text, str):
                text = json.dumps(text, sort_keys=True, default=str)
            meta = _as_dict(metas[i] if i < len(metas) else {})
            step = self._step(meta, text)
            row: dict[str, Any] = {"text": text}
            gen = models[i] if isinstance(models, list) and i < len(models) else model
            info = self.steps.get(step or "", {})
            gen = gen or info.get("model")
            if gen:
                row["generator"] = str(gen)
                self.mapping["generator"] = "model_names[]" if isinstance(models, list) else "model_name"
            if step:
                row["distilabel_step"] = step
            if info.get("generator_version"):
                row["generator_version"] = info["generator_version"]
                self.mapping["generator_version"] = "pipeline.yaml: distilabel version and the step's LLM"
            if info.get("sampling"):
                row["sampling"] = info["sampling"]
                self.mapping["sampling"] = "pipeline.yaml: the step's llm.generation_kwargs"
            raw_input = meta.get(f"raw_input_{step}") if step else None
            if isinstance(raw_input, list):
                for m in raw_input:
                    if not isinstance(m, dict):
                        continue
                    role = canonical_role(m.get("role", ""))
                    if role == "user":
                        row["prompt"] = content_text(m.get("content"))
                    elif role == "system":
                        row["system"] = content_text(m.get("content"))
                self.mapping["prompt"] = f"distilabel_metadata.raw_input_{step} (the user turn)"
            elif isinstance(raw_input, str):
                row["prompt"] = raw_input
                self.mapping["prompt"] = f"distilabel_metadata.raw_input_{step}"
            for k, v in meta.items():
                if k != f"raw_input_{step}":
                    row[k] = v  # raw_output_<step>, statistics_<step>, other steps' metadata: kept
            if "prompt" not in row:
                for c in ("instruction", "prompt"):
                    if isinstance(rec.get(c), str):
                        row["prompt"] = rec[c]
                        self.mapping["prompt"] = c
                        break
            rows.append(row)
        if not rows:
            raise RecordError(f"every value of '{out_col}' is null: the LLM produced no output for this record")
        self.mapping["origin"] = "synthetic (LLM output)"
        if any(k.startswith(("raw_output_", "statistics_")) for r in rows for k in r):
            self.mapping["raw_output_<step>, statistics_<step>"] = "distilabel_metadata (kept)"
        consumed = ["distilabel_metadata", "model_name", "model_names"] + ([out_col] if out_col else [])
        return attach(rec, consumed, rows)

    def _labelled(self, rec: dict[str, Any], model: Any) -> list[dict[str, Any]]:
        """A labelling step (e.g. TextClassification): the texts are its inputs, the label is the LLM's."""
        label = rec.get("labels", rec.get("label"))
        row: dict[str, Any] = {
            "text": rec["text"],
            "label": label if isinstance(label, str) else json.dumps(label, sort_keys=True, default=str),
            "label_source": f"model:{model}" if model else "model",
        }
        step = self._step(_as_dict(rec.get("distilabel_metadata")), "")
        if step:
            row["distilabel_step"] = step
        row.update(_as_dict(rec.get("distilabel_metadata")))
        self.origin = "real"
        self.mapping.update(
            {
                "text": "text (the step's input)",
                "label": "labels (the LLM's label)",
                "label_source": "model:<model_name>",
                "origin": "real (assumed: the texts are the labelling step's inputs; pass defaults= if not)",
            }
        )
        return attach(rec, ["text", "labels", "label", "model_name", "distilabel_metadata"], [row])
