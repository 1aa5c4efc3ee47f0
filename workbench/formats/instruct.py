"""Instruction data and preference pairs.

Schemas:
- Alpaca (Stanford Alpaca `alpaca_data.json`, also LLaMA-Factory's "alpaca" format):
  `{"instruction", "input", "output"}`, optional `system`. `output` (the model's answer) -> `text`;
  `instruction`, plus a blank line and `input` when it is not empty -> `prompt`.
- Prompt/completion (OpenAI's legacy fine-tuning files, TRL's "prompt-completion" type):
  `{"prompt", "completion"}`, each a text or (TRL conversational) a list of messages.
- Preference pairs (TRL's "preference" type; Anthropic HH-RLHF; UltraFeedback binarized):
  `{"prompt"?, "chosen", "rejected"}`, texts or lists of messages. Without a prompt, the shared
  beginning of chosen and rejected is the prompt (HH-RLHF transcripts: up to the last
  "\n\nAssistant:"). Both answers become rows with `pair_id`, `preference` (chosen | rejected, also
  the `label` unless the record has its own) and `preference_score` where the record scores them.
Completions and both preference answers are model output: `origin=synthetic`.
"""

from __future__ import annotations

from typing import Any

from workbench.formats._base import Converter, RecordError, attach, content_hash, own_key
from workbench.formats.chat import canonical_role, content_text, parse_turns

HH_ASSISTANT = "\n\nAssistant:"
# where preference datasets name each answer's model and score (chosen_model, chosen_rating, score_chosen)
MODEL_SUFFIXES = ("_model", "_policy", "-model")
SCORE_SUFFIXES = ("_score", "_rating", "-rating")


def _text_field(rec: dict[str, Any], key: str) -> str:
    v = rec.get(key)
    if v is None:
        raise RecordError(f"'{key}' is missing or null; fill it or drop the record")
    if not isinstance(v, str):
        raise RecordError(f"'{key}' must be a text; found {type(v).__name__}")
    return v


def _turns(messages: Any, key: str) -> list[tuple[str, Any, dict[str, Any]]]:
    if not messages:
        return []
    return parse_turns(
        messages, key=key, role_key="role", content_key="content", alt_role="from", alt_content="value", ordered=False
    )


def _split_messages(turns: list[tuple[str, Any, dict[str, Any]]]) -> tuple[str | None, str | None]:
    """(the last user turn, the system prompt) of a prompt given as messages."""
    user = system = None
    for role, content, _ in turns:
        canon = canonical_role(role)
        if canon == "user":
            user = content_text(content)
        elif canon == "system":
            system = content_text(content)
    return user, system


def _answer(turns: list[tuple[str, Any, dict[str, Any]]]) -> str:
    """The model's part of a completion given as messages (all of it when no turn is the model's)."""
    mine = [content_text(c) for r, c, _ in turns if canonical_role(r) == "assistant" and c is not None]
    return "\n\n".join(mine) if mine else "\n\n".join(content_text(c) for _, c, _ in turns if c is not None)


class Alpaca(Converter):
    name = "alpaca"

    @staticmethod
    def matches(rec: dict[str, Any]) -> bool:
        return "instruction" in rec and "output" in rec and ("input" in rec or "text" not in rec)

    def rows(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        instruction = _text_field(rec, "instruction")
        output = _text_field(rec, "output")
        extra = rec.get("input")
        if extra is not None and not isinstance(extra, str):
            raise RecordError(f"'input' must be a text; found {type(extra).__name__}")
        prompt = f"{instruction}\n\n{extra}" if extra and extra.strip() else instruction
        row: dict[str, Any] = {"text": output, "prompt": prompt}
        consumed = ["instruction", "input", "output"]
        if isinstance(rec.get("system"), str) and rec["system"]:
            row["system"] = rec["system"]
            consumed.append("system")
            self.mapping["system"] = "system"
        self.mapping.update(
            {"text": "output", "prompt": "instruction (+ blank line + input)", "origin": "synthetic (model output)"}
        )
        return attach(rec, consumed, [row])


class PromptCompletion(Converter):
    name = "prompt_completion"

    @staticmethod
    def matches(rec: dict[str, Any]) -> bool:
        return "prompt" in rec and "completion" in rec and ("text" not in rec or isinstance(rec["completion"], list))

    def rows(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        prompt, completion = rec.get("prompt"), rec.get("completion")
        if completion is None:
            raise RecordError("'completion' is missing or null; fill it or drop the record")
        row: dict[str, Any] = {}
        if isinstance(completion, list):
            row["text"] = _answer(_turns(completion, "completion"))
            self.mapping["text"] = "the model's turns of completion[]"
        elif isinstance(completion, str):
            row["text"] = completion
            self.mapping["text"] = "completion"
        else:
            raise RecordError(f"'completion' must be a text or a list of messages; found {type(completion).__name__}")
        if isinstance(prompt, list):
            user, system = _split_messages(_turns(prompt, "prompt"))
            row["prompt"] = user
            self.mapping["prompt"] = "the last user turn of prompt[]"
            if system is not None:
                row["system"] = system
                self.mapping["system"] = "the system turn of prompt[]"
        elif isinstance(prompt, str):
            row["prompt"] = prompt
            self.mapping["prompt"] = "prompt"
        elif prompt is not None:
            raise RecordError(f"'prompt' must be a text or a list of messages; found {type(prompt).__name__}")
        self.mapping["origin"] = "synthetic (model output)"
        return attach(rec, ["prompt", "completion"], [row])


class Preference(Converter):
    name = "preference"
    unit = "pairs"
    key_column = "pair_id"
    part_column = "preference"

    @staticmethod
    def matches(rec: dict[str, Any]) -> bool:
        return "chosen" in rec and "rejected" in rec and (isinstance(rec["chosen"], list) or "text" not in rec)

    def rows(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        chosen, rejected, prompt = rec.get("chosen"), rec.get("rejected"), rec.get("prompt")
        if chosen is None or rejected is None:
            missing = "chosen" if chosen is None else "rejected"
            raise RecordError(f"'{missing}' is missing or null; a preference pair needs both answers")
        system = None
        if isinstance(chosen, str) and isinstance(rejected, str):
            if prompt is None:
                prompt_text, answers = self._split_transcripts(chosen, rejected)
                if prompt_text is not None:
                    self.mapping["prompt"] = "the shared beginning of chosen and rejected (up to the last Assistant:)"
            elif isinstance(prompt, str):
                prompt_text, answers = prompt, (chosen, rejected)
                self.mapping["prompt"] = "prompt"
            else:
                raise RecordError(
                    f"'prompt' must be a text when chosen and rejected are; found {type(prompt).__name__}"
                )
        elif isinstance(chosen, list) and isinstance(rejected, list):
            c_turns, r_turns = _turns(chosen, "chosen"), _turns(rejected, "rejected")
            if isinstance(prompt, list):
                p_turns = _turns(prompt, "prompt")
                self.mapping["prompt"] = "the last user turn of prompt[]"
            elif prompt is None:  # implicit prompt: the turns chosen and rejected share
                k = 0
                while k < min(len(c_turns), len(r_turns)) and c_turns[k][:2] == r_turns[k][:2]:
                    k += 1
                p_turns, c_turns, r_turns = c_turns[:k], c_turns[k:], r_turns[k:]
                self.mapping["prompt"] = "the last user turn chosen and rejected share"
            elif isinstance(prompt, str):
                p_turns = []
                self.mapping["prompt"] = "prompt"
                c_turns, r_turns = self._drop_prompt(c_turns, prompt), self._drop_prompt(r_turns, prompt)
            else:
                raise RecordError(f"'prompt' must be a text or a list of messages; found {type(prompt).__name__}")
            user, system = _split_messages(p_turns)
            prompt_text = prompt if isinstance(prompt, str) else user
            if not c_turns or not r_turns:
                raise RecordError("chosen and rejected are identical turn for turn: there is no pair to compare")
            answers = (_answer(c_turns), _answer(r_turns))
            self.mapping.setdefault("text", "the model's turns of chosen[] / rejected[] after the prompt")
        else:
            raise RecordError(
                "'chosen' and 'rejected' must both be texts or both be lists of messages; "
                f"found {type(chosen).__name__} and {type(rejected).__name__}"
            )
        pid, id_field = own_key(rec, ("pair_id", "id"))
        hashed = pid is None
        if hashed:
            pid = content_hash(prompt_text or "", *answers)
        rows = []
        for which, text in zip(("chosen", "rejected"), answers):
            row: dict[str, Any] = {
                "text": text,
                "preference": which,
                "label": which,
                "pair_id": pid,
                "_hashed": hashed,
            }
            if prompt_text is not None:
                row["prompt"] = prompt_text
            if system is not None:
                row["system"] = system
                self.mapping["system"] = "the system turn"
            for name in (f"{which}{s}" for s in MODEL_SUFFIXES):
                if isinstance(rec.get(name), str):
                    row["generator"] = rec[name]
                    self.mapping["generator"] = "chosen_model / rejected_model"
            for name in (f"score_{which}", *(f"{which}{s}" for s in SCORE_SUFFIXES)):
                if isinstance(rec.get(name), (int, float)) and not isinstance(rec.get(name), bool):
                    row["preference_score"] = float(rec[name])
                    self.mapping["preference_score"] = "score_chosen / score_rejected"
            rows.append(row)
        consumed = ["chosen", "rejected", "prompt"] + ([id_field] if id_field else [])
        consumed += [f"{w}{s}" for w in ("chosen", "rejected") for s in (*MODEL_SUFFIXES, *SCORE_SUFFIXES)]
        consumed += ["score_chosen", "score_rejected"]
        self.mapping.setdefault("text", "chosen / rejected (one row each)")
        self.mapping.update(
            {
                "pair_id": id_field or "a content hash of the pair",
                "preference": "chosen | rejected (also the label)",
                "origin": "synthetic (model answers)",
            }
        )
        return attach(rec, consumed, rows, derived=("id",))

    @staticmethod
    def _split_transcripts(chosen: str, rejected: str) -> tuple[str | None, tuple[str, str]]:
        """HH-RLHF style: the common beginning up to the last `\\n\\nAssistant:` is the prompt."""
        same = next((i for i, (a, b) in enumerate(zip(chosen, rejected)) if a != b), min(len(chosen), len(rejected)))
        cut = chosen[:same].rfind(HH_ASSISTANT)
        if cut < 0:
            return None, (chosen, rejected)
        cut += len(HH_ASSISTANT)
        return chosen[:cut].strip(), (chosen[cut:].strip(), rejected[cut:].strip())

    @staticmethod
    def _drop_prompt(
        turns: list[tuple[str, Any, dict[str, Any]]], prompt: str
    ) -> list[tuple[str, Any, dict[str, Any]]]:
        if turns and canonical_role(turns[0][0]) == "user" and content_text(turns[0][1]).strip() == prompt.strip():
            return turns[1:]
        return turns
