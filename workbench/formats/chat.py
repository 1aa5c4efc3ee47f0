"""Chat data: OpenAI/Hugging Face `messages` and ShareGPT `conversations`, one row per turn.

Schemas: OpenAI chat messages (`{"role": "system" | "user" | "assistant" | "tool", "content": str |
[{"type": "text", "text": ...}]}`, also the Hugging Face chat-template convention and TRL's
conversational format; LMSYS-Chat-1M and WildChat put the same list under `conversation`) and
ShareGPT (`{"id": ..., "conversations": [{"from": "human" | "gpt" | "system", "value": str}]}`,
optionally a top-level `system`, as in FastChat and LLaMA-Factory). Each turn of the chosen role
becomes a row: `text` (its content), `conversation_id` (the record's id, else a content hash),
`turn` (the message's position, 0-based), `prompt` (the nearest preceding user turn) and `system`
(the system prompt). The model's turns load as `origin=synthetic`, people's turns as `real`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from workbench.formats._base import Converter, RecordError, attach, content_hash, own_key

# Role names seen in the wild, mapped to what they are. `role=` matches a turn when either its
# own name or its meaning agrees: role="gpt" and role="assistant" are the same choice.
ROLES = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "bing": "assistant",
    "claude": "assistant",
    "system": "system",
    "developer": "system",
    "tool": "tool",
    "function": "tool",
    "observation": "tool",
    "ipython": "tool",
    "function_call": "tool_call",
}
MODEL_ROLES = ("assistant", "tool_call")
ID_FIELDS = ("conversation_id", "id", "conv_id", "uuid")


_CANONICAL: dict[Any, str] = {}


def canonical_role(role: Any) -> str:
    """What a role name means (`gpt` -> `assistant`, `human` -> `user`); unknown names as they are."""
    known = _CANONICAL.get(role)
    if known is None:
        r = str(role).strip().lower()
        known = ROLES.get(r, r)
        if len(_CANONICAL) < 10_000 and isinstance(role, str):  # a handful of names in practice
            _CANONICAL[role] = known
    return known


def content_text(content: Any) -> str:
    """A message's text: a string as it is, content parts (`[{"type": "text", "text": ...}]`) joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return "" if content is None else str(content)


def origin_for_role(role: str) -> str:
    return "synthetic" if canonical_role(role) in MODEL_ROLES else "real"


def parse_turns(
    messages: Any,
    *,
    key: str,
    role_key: str,
    content_key: str,
    alt_role: str,
    alt_content: str,
    ordered: bool = True,
) -> list[tuple[str, Any, dict[str, Any]]]:
    """(role, content, message) per message, checking the structure and the order of roles.

    Refuses, naming the message and the fix: a message that is not an object, without a role or
    content (a model turn that only calls tools is fine), a system prompt after the conversation
    started, a conversation whose first turn is not the user's, and two user (or two model) turns
    in a row. `ordered=False` checks only the structure (for fragments such as a completion).
    """
    if not isinstance(messages, list):
        raise RecordError(f"'{key}' must be a list of {{'{role_key}', '{content_key}'}} objects")
    if not messages:
        raise RecordError(f"'{key}' is empty; drop the record or add its turns")
    turns: list[tuple[str, Any, dict[str, Any]]] = []
    started = False
    previous: tuple[int, str, str] | None = None  # (index, raw role, canonical) of the last user/model turn
    for j, m in enumerate(messages):
        if not isinstance(m, dict):
            raise RecordError(f"'{key}' must be a list of {{'{role_key}', '{content_key}'}} objects")
        role = m.get(role_key)
        if role is None:
            role = m.get(alt_role)
        if not isinstance(role, str) or not role.strip():
            raise RecordError(f"message {j} has no '{role_key}'; give every turn a role (e.g. {_example(role_key)})")
        content = m.get(content_key)
        if content is None:
            content = m.get(alt_content)
        canon = canonical_role(role)
        if content is None and not (canon in MODEL_ROLES and (m.get("tool_calls") or m.get("function_call"))):
            raise RecordError(
                f"message {j} ({role!r}) has no '{content_key}'; fill it or remove the turn"
                " (a turn without content is usually a truncated export)"
            )
        if not ordered:
            pass
        elif canon == "system":
            if started:
                raise RecordError(
                    f"roles out of order: message {j} is a {role!r} prompt after the conversation started;"
                    " move it to the start"
                )
        elif canon in ("user", "assistant"):
            if not started and canon != "user":
                raise RecordError(
                    f"roles out of order: the first turn (message {j}) is {role!r}, not the user's;"
                    " the user turn it answers is missing (a truncated conversation?)"
                )
            if previous is not None and previous[2] == canon:
                raise RecordError(
                    f"roles out of order: messages {previous[0]} and {j} are both {role!r} turns;"
                    " merge them or fix their roles"
                )
            started = True
            previous = (j, role, canon)
        else:  # tool calls and tool results sit between model turns
            started = started or canon == "tool_call"
            previous = None
        turns.append((role, content, m))
    return turns


def _example(role_key: str) -> str:
    return "'from': 'human'" if role_key == "from" else "'role': 'user'"


class _Chat(Converter):
    unit = "conversations"
    key_column = "conversation_id"
    part_column = "turn"
    keys: ClassVar[tuple[str, ...]] = ()
    role_key: ClassVar[str] = "role"
    content_key: ClassVar[str] = "content"

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.want = canonical_role(self.role)
        self.origin = origin_for_role(self.role)
        self._described: set[tuple[Any, ...]] = set()

    def _key(self, rec: dict[str, Any]) -> str:
        return next((k for k in self.keys if isinstance(rec.get(k), list)), self.keys[0])

    def rows(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        key = self._key(rec)
        alt_role, alt_content = ("from", "value") if self.role_key == "role" else ("role", "content")
        turns = parse_turns(
            rec.get(key),
            key=key,
            role_key=self.role_key,
            content_key=self.content_key,
            alt_role=alt_role,
            alt_content=alt_content,
        )
        cid, id_field = own_key(rec, ID_FIELDS)
        hashed = cid is None
        if hashed:
            cid = content_hash(*(f"{r}\x1e{content_text(c)}" for r, c, _ in turns))
        top_system = rec.get("system") if isinstance(rec.get("system"), str) and rec.get("system") else None
        system_parts = [top_system] if top_system else []
        model = rec.get("model") if isinstance(rec.get("model"), str) else None
        rows: list[dict[str, Any]] = []
        matched: set[str] = set()
        last_user: str | None = None
        want_user = self.want == "user"
        for j, (role, content, _m) in enumerate(turns):
            canon = canonical_role(role)
            text = None if content is None else content if isinstance(content, str) else content_text(content)
            if text is not None and (canon == self.want or role == self.role):
                row: dict[str, Any] = {"text": text, "conversation_id": cid, "_hashed": hashed, "turn": j}
                if last_user is not None and not want_user:
                    row["prompt"] = last_user
                if system_parts:
                    row["system"] = system_parts[0] if len(system_parts) == 1 else "\n\n".join(system_parts)
                if model is not None:
                    row["generator"] = model
                rows.append(row)
                matched.add(role)
            if canon == "system" and text:
                system_parts.append(text)
            elif canon == "user" and text is not None:
                last_user = text
        if not rows:
            roles = sorted({r for r, _, _ in turns})
            raise RecordError(f"has no message with role {self.role!r} (roles: {roles}); pass role= one of them")
        consumed = [key] + (["system"] if top_system else []) + (["model"] if model else [])
        consumed += [id_field] if id_field else []
        attach(rec, consumed, rows, derived=("id",))
        has_prompt, has_system = "prompt" in rows[-1], "system" in rows[0]
        signature = (key, tuple(sorted(matched)), id_field, has_prompt, has_system, bool(top_system), model is not None)
        if signature not in self._described:  # the mapping is the same for every record shaped alike
            self._described.add(signature)
            self._describe(*signature)
        return rows

    def _describe(
        self, key: str, matched: tuple[str, ...], id_field: str | None, has_prompt: bool, has_system: bool,
        top_system: bool, has_model: bool,
    ) -> None:  # fmt: skip
        self.mapping.update(
            {
                "text": f"{key}[].{self.content_key} where {self.role_key} is " + " or ".join(map(repr, matched)),
                "conversation_id": id_field or "a content hash of the conversation",
                "turn": f"the turn's position in {key} (0-based)",
                "origin": f"{self.origin} ({'model' if self.origin == 'synthetic' else 'human'} turns)",
            }
        )
        if has_prompt:
            self.mapping["prompt"] = "the preceding user turn"
        if has_system:
            self.mapping["system"] = "system (top-level field)" if top_system else f"the system turn of {key}[]"
        if has_model:
            self.mapping["generator"] = "model"


class Messages(_Chat):
    """OpenAI / Hugging Face chat messages: `{"messages": [{"role", "content"}]}`."""

    name = "messages"
    keys = ("messages", "conversation")

    @staticmethod
    def matches(rec: dict[str, Any]) -> bool:
        if "messages" in rec:  # whatever it holds: a malformed list is then named, not taken for a table row
            return True
        msgs = rec.get("conversation")
        return isinstance(msgs, list) and bool(msgs) and isinstance(msgs[0], dict)


class ShareGPT(_Chat):
    """ShareGPT: `{"conversations": [{"from": "human" | "gpt" | "system", "value"}]}`."""

    name = "sharegpt"
    keys = ("conversations",)
    role_key = "from"
    content_key = "value"

    @staticmethod
    def matches(rec: dict[str, Any]) -> bool:
        return "conversations" in rec
