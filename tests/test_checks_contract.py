"""Contract: every registered check handles empty data, one row, unicode, and missing inputs.

Parametrized over the registry, so a new check is covered the moment it is registered.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench.audit import run_check
from workbench.checks import FAILURE_MODES, GUARDRAILS, all_checks
from workbench.checks.base import STATUSES, Context
from workbench.data import validate
from workbench.provenance import AnchorSet, manifest

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
