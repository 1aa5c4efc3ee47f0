"""OpenAI Batch API output files: one JSON line per request.

Schema (OpenAI Batch API reference, "The request output object"): `{"id": "batch_req_...",
"custom_id": ..., "response": {"status_code": 200, "request_id": ..., "body": {...}}, "error":
null | {"code", "message"}}`, where `body` is the endpoint's response: a chat completion (`model`,
`choices[].message.content`, `choices[].finish_reason`, `usage`, `system_fingerprint`), a legacy
completion (`choices[].text`) or a Responses API response (`output[].content[].text`).

Mapping: the content -> `text` (one row per choice), `custom_id` -> `id` and `prompt_id` (the
request it answers; `custom_id/<index>` ids when a request has several choices), `model` ->
`generator`, `system_fingerprint` -> `generator_version`, `usage` and `finish_reason` kept. The
output file holds no prompts or sampling settings (they are in the batch input file): the
provenance check names them. Failed requests (an `error`, or a status other than 200) have no
output: they are left out with one warning that counts them.
"""

from __future__ import annotations

import json
from typing import Any

from workbench.formats._base import Converter, RecordError, attach
from workbench.formats.chat import content_text


class Failed(Exception):
    """A request the batch could not answer: not malformed, just without output."""


class OpenAIBatch(Converter):
    name = "openai_batch"
    unit = "requests"

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.failed: list[str] = []
        self.notes.append(
            "the batch output holds no prompts or sampling settings: custom_id is kept as prompt_id; "
            "join the batch input file on custom_id to add them"
        )

    @staticmethod
    def matches(rec: dict[str, Any]) -> bool:
        return "custom_id" in rec and ("response" in rec or "error" in rec)

    def rows(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        cid = rec.get("custom_id")
        if not isinstance(cid, (str, int)) or isinstance(cid, bool) or str(cid) == "":
            raise RecordError("has no 'custom_id'; every batch request needs one")
        cid = str(cid)
        response = rec.get("response")
        body = response.get("body") if isinstance(response, dict) else None
        status = response.get("status_code") if isinstance(response, dict) else None
        if rec.get("error") or not isinstance(body, dict) or status not in (None, 200) or body.get("error"):
            self.failed.append(cid)
            raise Failed(cid)
        texts = self._texts(body)
        if not texts:
            raise RecordError(f"request {cid!r}: the response body has no choices[] or output[] with content")
        base: dict[str, Any] = {"prompt_id": cid}
        for key, col in (("model", "generator"), ("system_fingerprint", "generator_version")):
            if isinstance(body.get(key), str):
                base[col] = body[key]
        if body.get("usage") is not None:
            base["usage"] = body["usage"]
        for key, col in (("id", "response_id"), ("created", "created"), ("created_at", "created")):
            if body.get(key) is not None:
                base[col] = body[key]
        if isinstance(response, dict) and response.get("request_id"):
            base["request_id"] = response["request_id"]
        if isinstance(rec.get("id"), str):
            base["batch_request_id"] = rec["id"]
        rows = []
        for index, text, finish in texts:
            row = {**base, "id": cid if len(texts) == 1 else f"{cid}/{index}", "text": text}
            if finish is not None:
                row["finish_reason"] = finish
            rows.append(row)
        self.mapping.update(
            {
                "text": "response.body.choices[].message.content (or .text, or output[].content[].text)",
                "id": "custom_id (custom_id/<choice> for several choices)",
                "prompt_id": "custom_id",
                "origin": "synthetic (model responses)",
            }
        )
        if "generator" in base:
            self.mapping["generator"] = "response.body.model"
        if "generator_version" in base:
            self.mapping["generator_version"] = "response.body.system_fingerprint"
        if "usage" in base:
            self.mapping["usage"] = "response.body.usage (kept)"
        return attach(rec, ["custom_id", "response", "error", "id"], rows)

    @staticmethod
    def _texts(body: dict[str, Any]) -> list[tuple[int, str, Any]]:
        out: list[tuple[int, str, Any]] = []
        choices = body.get("choices")
        if isinstance(choices, list):
            for i, c in enumerate(choices):
                if not isinstance(c, dict):
                    continue
                index = c.get("index", i)
                msg = c.get("message")
                if isinstance(msg, dict):
                    content = msg.get("content")
                    if content is None and msg.get("refusal"):
                        content = msg["refusal"]
                    if content is None and msg.get("tool_calls"):
                        content = json.dumps(msg["tool_calls"], sort_keys=True)
                    if content is not None:
                        out.append((index, content_text(content), c.get("finish_reason")))
                elif isinstance(c.get("text"), str):
                    out.append((index, c["text"], c.get("finish_reason")))
        output = body.get("output")
        if not out and isinstance(output, list):  # the Responses API
            parts = [
                p.get("text", "")
                for item in output
                if isinstance(item, dict) and item.get("type") == "message"
                for p in item.get("content") or []
                if isinstance(p, dict) and p.get("type") in ("output_text", "text")
            ]
            if parts:
                out.append((0, "".join(parts), body.get("status")))
        return out
