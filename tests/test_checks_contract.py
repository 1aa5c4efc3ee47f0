"""Contract: every registered check handles empty data, one row, unicode, missing inputs, and any
parameter value (a valid result or an InputError, never another exception).

Parametrized over the registry, so a new check is covered the moment it is registered.
"""

from __future__ import annotations

import tempfile
from functools import cache

import numpy as np
import polars as pl
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from workbench.audit import run_check
from workbench.checks import FAILURE_MODES, GUARDRAILS, all_checks
from workbench.checks.base import STATUSES, Context
from workbench.data import validate
from workbench.errors import InputError
from workbench.provenance import AnchorSet, manifest

# hypothesis keeps caches in ./.hypothesis even without an example database: not in the working tree
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="workbench-hypothesis-"))
CHECKS = all_checks()
UNICODE = [
    "Ünïcödé 🎬🍿 review",
    "日本語のレビューです。",
    "مراجعة عربية",
    "𝔣𝔞𝔫𝔠𝔶 text",
    "emoji only 🙂🙃",
    "tab\tand\nnewline",
]


def _frame(texts, origins, **extra):
    return validate(pl.DataFrame({"text": texts, "origin": origins, **extra}))


def _ctx(df, with_anchor=True, seed=0):
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(df.height, 8)).astype(np.float32)
    emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-9)
    anchor = None
    if with_anchor:
        a = _frame(["anchor one", "anchor two", "anchor three"], ["real"] * 3)
        anchor = AnchorSet(df=a, manifest=manifest(a))
        a_emb = rng.normal(size=(3, 8)).astype(np.float32)
    return Context(df, anchor=anchor, embeddings=emb, anchor_embeddings=a_emb if with_anchor else None, seed=seed)


def _assert_valid(result, check):
    assert result.check == check.name
    assert result.failure_mode == check.failure_mode
    assert result.status in STATUSES
    assert result.status != "error", result.summary
    assert isinstance(result.summary, str) and result.summary
    assert "id" in result.evidence.columns


def test_registry_is_well_formed():
    assert CHECKS, "no checks registered"
    for name, check in CHECKS.items():
        assert check.name == name
        assert check.failure_mode in FAILURE_MODES + GUARDRAILS


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_empty_data(name):
    check = CHECKS[name]
    _assert_valid(run_check(check, _ctx(_frame([], []))), check)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_single_row(name):
    check = CHECKS[name]
    _assert_valid(run_check(check, _ctx(_frame(["just one"], ["synthetic"]))), check)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_unicode_rich_text(name):
    check = CHECKS[name]
    texts = UNICODE * 4
    origins = ["real", "synthetic"] * (len(texts) // 2)
    df = _frame(
        texts,
        origins,
        label=["a", "b", "a"] * (len(texts) // 3),
        split=["train", "eval"] * (len(texts) // 2),
        generation=[i % 3 for i in range(len(texts))],
    )
    _assert_valid(run_check(check, _ctx(df)), check)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_missing_inputs_skip_with_reason(name):
    check = CHECKS[name]
    df = _frame(["some text", "more text"], ["real", "real"])
    ctx = Context(df, anchor=None, embedder=None, embeddings=None)
    reason = check.missing_inputs(ctx)
    needs_something = (
        check.requires_columns
        or check.requires_anchor
        or check.requires_embeddings
        or "synthetic" in check.requires_origins
    )
    if needs_something:
        assert reason, f"{name} should skip without its inputs"
        result = run_check(check, ctx)
        assert result.status == "skipped" and result.details["reason"] == reason
    else:
        _assert_valid(run_check(check, ctx), check)


# -- parameters -----------------------------------------------------------------------------------

WORDS = ("the", "a", "film", "plot", "acting", "great", "dull", "sequel", "script", "scene", "cast", "music", "ending")
# whatever a user might pass: ints, floats incl. nan/inf/negative, text, None, bools, lists, and values
# near the usual ranges (so valid values run the check, not only the validation)
ANY_VALUE = st.one_of(
    st.integers(),
    st.integers(min_value=-3, max_value=30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-0.5, max_value=1.5),
    st.sampled_from([0, 1, 2, -1, 0.0, 1.0, 0.5, 1e-12, 1 - 1e-12, float("nan"), float("inf"), -float("inf")]),
    st.text(max_size=6),
    st.none(),
    st.booleans(),
    st.lists(st.integers(min_value=-2, max_value=9), max_size=3),
)
CONFIGURABLE = sorted(n for n, c in CHECKS.items() if c.params())


def _in_range(spec) -> st.SearchStrategy:
    """Values the parameter accepts (small ints: the check must also run fast)."""
    b = spec.bounds
    if "choices" in b:
        return st.sampled_from(b["choices"])
    if bool in spec.kinds:
        return st.booleans()
    lo = b.get("ge", b.get("gt", 0))
    hi = b.get("le", b.get("lt", lo + 1))
    if int in spec.kinds:
        return st.integers(min_value=int(lo) + ("gt" in b), max_value=min(int(hi) - ("lt" in b), int(lo) + 12))
    return st.floats(min_value=lo, max_value=hi, exclude_min="gt" in b, exclude_max="lt" in b)


@cache
def _everything_ctx() -> Context:
    """60 rows on which every registered check runs: real and synthetic, labels and reference labels,
    splits, generations, provenance, an anchor set, and random embeddings (no model)."""
    rng = np.random.default_rng(0)

    def text(i: int, tag: str) -> str:
        return " ".join(rng.choice(WORDS, size=int(rng.integers(3, 12)))) + f" {tag}{i}" + "!."[i % 2]

    n = 30
    labels = ["fresh", "rotten"] * n
    df = _frame(
        [text(i, "r") for i in range(n)] + [text(i, "s") for i in range(n)],
        ["real"] * n + ["synthetic"] * n,
        label=labels,
        reference_label=[lab if i % 4 else {"fresh": "rotten", "rotten": "fresh"}[lab] for i, lab in enumerate(labels)],
        split=["anchor", "eval", "train", "holdout", "eval", "anchor"] * (n // 6)
        + ["train", "eval", "train"] * (n // 3),
        generation=[None] * n + [i % 3 for i in range(n)],
        generator=[None] * n + ["gen"] * n,
        generator_version=[None] * n + ["1"] * n,
        prompt_id=[None] * n + ["p"] * n,
        sampling=[None] * n + ['{"temperature": 1}'] * n,
    )
    emb = rng.normal(size=(df.height, 8)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    is_anchor = (df["split"] == "anchor").to_numpy()
    anchor = df.filter(pl.Series(is_anchor))
    return Context(
        df, anchor=AnchorSet(df=anchor, manifest=manifest(anchor)), embeddings=emb, anchor_embeddings=emb[is_anchor]
    )


def test_every_check_runs_on_the_parameter_data():
    """The data the parameter test uses lets every check run (so valid values are really exercised)."""
    for name, check in CHECKS.items():
        result = run_check(check, _everything_ctx())
        _assert_valid(result, check)
        assert result.status != "skipped", (name, result.summary)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_every_parameter_declares_its_range(name):
    """Numbers declare bounds (ints both ends: a huge int must not reach numpy); defaults are valid."""
    for pname, spec in CHECKS[name].params().items():
        if bool in spec.kinds or "choices" in spec.bounds:
            continue
        assert {"ge", "gt"} & set(spec.bounds), f"{name}.{pname} declares no lower bound"
        if int in spec.kinds:
            assert {"le", "lt"} & set(spec.bounds), f"{name}.{pname} declares no upper bound"
        assert spec.check(name, spec.default) == spec.default


@pytest.mark.parametrize("name", CONFIGURABLE)
@settings(max_examples=30, deadline=None, database=None)
@given(data=st.data())
def test_parameters_give_a_result_or_an_input_error(name, data):
    """Hole 2: any value for any parameter configures a check that runs to a valid result, or is refused
    up front with an InputError naming the check, the parameter, what it accepts and its default."""
    check = CHECKS[name]
    specs = check.params()
    n = data.draw(st.integers(min_value=1, max_value=min(3, len(specs))), label="how many")
    chosen = data.draw(st.permutations(sorted(specs)), label="params")[:n]
    # half the examples stay in range, so the checks really run on what validation lets through
    in_range = data.draw(st.booleans(), label="in range")
    overrides = {p: data.draw(_in_range(specs[p]) if in_range else ANY_VALUE, label=p) for p in chosen}
    try:
        configured = check.configure(overrides)
    except InputError as exc:
        message = str(exc)
        bad = [
            p for p in chosen if f"parameter {p!r} takes {specs[p].accepts} (default {specs[p].default!r})" in message
        ]
        assert message.startswith(f"{name}: ") and bad, message
        event("refused")
        return
    for p, value in overrides.items():
        assert getattr(configured, p) == value and (value is None or type(getattr(configured, p)) in specs[p].kinds)
    result = run_check(configured, _everything_ctx())
    _assert_valid(result, configured)
    event(f"ran: {result.status}")
