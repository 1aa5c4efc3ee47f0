"""Argilla 2.x record exports: model suggestions and human responses per record.

Schemas (the Argilla 2.x SDK): `Record.to_dict()`, written by `dataset.records.to_json(path)` and
as `records.json` by `dataset.to_disk(folder)` (beside `settings.json`):
`{"id", "fields": {name: value}, "metadata": {...}, "suggestions": {question: {"value", "score",
"agent"}}, "responses": {question: [{"value", "user_id"}]}, "vectors": {...}, "_server_id"}`;
the server's suggestions also carry `type` (`model` | `human`). The flattened form
(`records.to_list(flatten=True)`, `to_datasets()`) puts fields and metadata at the top level with
`<question>.suggestion`, `.suggestion.score`, `.suggestion.agent`, `<question>.responses`,
`.responses.users`, `.responses.status`.

Mapping, for the record's main question (the first in `settings.json`, else `label`, else the first
seen): the suggestion -> `label` with `label_source` `model:<agent>` (`human` for a human
suggestion) and `label_confidence` (its score); the majority of submitted responses ->
`reference_label` (null on a tie; without a suggestion it is also the `label`, source `human`).
`Imported.labels` holds every suggestion and response in the long per-labeler form
(`id, labeler, label, confidence`) that `spotcheck` and the agreement statistics use. The texts are
the records' fields: their origin is not in the export and is taken as `real` unless the record
says otherwise (`defaults={"origin": "synthetic"}` if they are model output).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from workbench.formats._base import Converter, RecordError, own_key

# top-level keys of a flattened record that are not fields
SKIP_TOP = frozenset(
    [
        "id",
        "_server_id",
        "fields",
        "metadata",
        "suggestions",
        "responses",
        "vectors",
        "status",
        "inserted_at",
        "updated_at",
    ]
)
Parts = tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]


def read_settings(folder: Path) -> dict[str, list[str]]:
    """Field and question names, in order, from an Argilla `settings.json` (empty if unreadable)."""
    try:
        data = json.loads((folder / "settings.json").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    out: dict[str, list[str]] = {}
    for key in ("fields", "questions"):
        items = data.get(key) if isinstance(data, dict) else None
        if isinstance(items, list):
            out[key] = [str(i["name"]) for i in items if isinstance(i, dict) and "name" in i]
    return out


def _value(v: Any) -> str | None:
    if v is None:
        return None
    return v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str)


def _is_flat(rec: dict[str, Any]) -> bool:
    return any(k.endswith((".suggestion", ".responses")) for k in rec)


class Argilla(Converter):
    name = "argilla"

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        settings = self.options.get("settings") or {}
        self.field_order: list[str] = settings.get("fields", [])
        self.question_order: list[str] = settings.get("questions", [])
        self.question: str | None = self.options.get("question")
        self.origin = "real"
        self.ties = 0

    @staticmethod
    def matches(rec: dict[str, Any]) -> bool:
        return (isinstance(rec.get("fields"), dict) and ("suggestions" in rec or "responses" in rec)) or _is_flat(rec)

    def _parts(self, rec: dict[str, Any]) -> Parts:
        """fields, metadata, suggestions {question: {value, score, agent, type}}, responses {question: [..]}."""
        if not _is_flat(rec):
            fields = rec.get("fields") or {}
            metadata = rec.get("metadata") or {}
            raw_s = rec.get("suggestions") or {}
            raw_r = rec.get("responses") or {}
            if isinstance(raw_s, list):  # the server's list form
                raw_s = {s.get("question_name"): s for s in raw_s if isinstance(s, dict)}
            if isinstance(raw_r, list):
                grouped: dict[str, list[dict[str, Any]]] = {}
                for r in raw_r:
                    if isinstance(r, dict):
                        grouped.setdefault(str(r.get("question_name")), []).append(r)
                raw_r = grouped
            if not isinstance(fields, dict) or not isinstance(raw_s, dict) or not isinstance(raw_r, dict):
                raise RecordError("'fields' and 'suggestions' must be objects and 'responses' an object of lists")
            suggestions = {str(q): s for q, s in raw_s.items() if isinstance(s, dict)}
            responses = {
                str(q): [r for r in rs if isinstance(r, dict)] for q, rs in raw_r.items() if isinstance(rs, list)
            }
            return fields, metadata if isinstance(metadata, dict) else {}, suggestions, responses
        questions = {k.split(".")[0] for k in rec if k.endswith((".suggestion", ".responses"))}
        suggestions, responses = {}, {}
        for q in questions:
            if f"{q}.suggestion" in rec and rec[f"{q}.suggestion"] is not None:
                suggestions[q] = {
                    "value": rec[f"{q}.suggestion"],
                    "score": rec.get(f"{q}.suggestion.score"),
                    "agent": rec.get(f"{q}.suggestion.agent"),
                }
            values = rec.get(f"{q}.responses") or []
            users = rec.get(f"{q}.responses.users") or []
            status = rec.get(f"{q}.responses.status") or []
            responses[q] = [
                {
                    "value": v,
                    "user_id": users[i] if i < len(users) else None,
                    "status": status[i] if i < len(status) else None,
                }
                for i, v in enumerate(values if isinstance(values, list) else [values])
            ]
        own = {k for k in rec if k.split(".")[0] in questions}
        fields = {k: v for k, v in rec.items() if k not in own and k not in SKIP_TOP}
        return fields, {}, suggestions, responses

    def rows(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        fields, metadata, suggestions, responses = self._parts(rec)
        rid, id_field = own_key(rec, ("id", "_server_id", "external_id"))
        if rid is None:
            raise RecordError("has no 'id'; Argilla exports carry one per record (re-export, or add ids)")
        text_field = next(
            (f for f in [*self.field_order, "text"] if isinstance(fields.get(f), str)),
            next((f for f, v in fields.items() if isinstance(v, str)), None),
        )
        if text_field is None:
            raise RecordError(f"has no text field (fields: {sorted(fields)}); map one with load(path, text='field')")
        questions = list(dict.fromkeys([*suggestions, *responses]))
        q = self.question or next(
            (x for x in [*self.question_order, "label"] if x in questions), questions[0] if questions else None
        )
        row: dict[str, Any] = {"id": rid, "text": fields[text_field]}
        for k, v in fields.items():
            if k != text_field:
                row[k] = v
        for k, v in metadata.items():
            row[f"metadata.{k}" if k in row else k] = v
        for other in questions:
            if other == q:
                continue
            if other in suggestions:
                row[f"{other}.suggestion"] = _value(suggestions[other].get("value"))
            if responses.get(other):
                row[f"{other}.responses"] = [_value(r.get("value")) for r in responses[other]]
        if q is not None:
            self._main_question(rid, q, suggestions.get(q), responses.get(q, []), row)
        self.mapping.update(
            {
                "id": id_field or "id",
                "text": text_field if _is_flat(rec) else f"fields.{text_field}",
                "origin": "real (not in the export; assumed)",
            }
        )
        if isinstance(rec.get("status"), str):
            row["status"] = rec["status"]  # the record's review status (pending, completed)
        return [row]

    def _main_question(
        self, rid: str, q: str, suggestion: dict[str, Any] | None, responses: list[dict[str, Any]], row: dict[str, Any]
    ) -> None:
        submitted = [r for r in responses if r.get("status") in (None, "submitted") and r.get("value") is not None]
        for r in submitted:
            user = r.get("user_id")
            self.labels.append(
                {
                    "id": rid,
                    "labeler": f"human:{user}" if user else "human",
                    "label": _value(r["value"]),
                    "confidence": None,
                }
            )
        votes = Counter(_value(r["value"]) for r in submitted)
        reference = None
        if votes:
            (top, n), *rest = votes.most_common()
            if rest and rest[0][1] == n:
                self.ties += 1
            else:
                reference = top
        row["reference_label"] = reference
        row["n_responses"] = len(submitted)
        self.mapping["reference_label"] = f"the majority of submitted responses to {q!r} (null on a tie)"
        if suggestion is not None and suggestion.get("value") is not None:
            human = str(suggestion.get("type") or "").lower() == "human"
            agent = suggestion.get("agent")
            source = "human" if human else f"model:{agent or 'unknown'}"
            score = suggestion.get("score")
            score = float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None
            row.update({"label": _value(suggestion["value"]), "label_source": source, "label_confidence": score})
            self.labels.append({"id": rid, "labeler": source, "label": row["label"], "confidence": score})
            self.mapping.update(
                {
                    "label": f"suggestions.{q}.value",
                    "label_source": f"model:<suggestions.{q}.agent> (human if its type is human)",
                    "label_confidence": f"suggestions.{q}.score",
                }
            )
        elif reference is not None:
            row.update({"label": reference, "label_source": "human"})
            self.mapping.setdefault("label", f"the majority response to {q!r} (no suggestion)")
