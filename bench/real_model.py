"""Every registered check on real model output vs real text, and on a real-vs-real control.

The README's table (issue 12, part 5) comes from here: `python -m bench real_model` writes
`bench/results/real_model.json` and prints the markdown table.

- real: 600 bundled Rotten Tomatoes snippets (fresh/rotten), 100 anchor, 100 eval, 400 train.
- model: the bundled SmolLM2 corpus's 288 label-conditioned reviews (`demo.llm_reviews()`), split
  train, with their full provenance.
- control: the same real rows and 288 *other* real snippets standing in for the synthetic rows
  (origin synthetic, a complete provenance record naming them a real resample): what the checks
  say when there is nothing to find.

Scores and intervals are each check's own (see `details`); both audits use the same seed and the
cached embeddings of the bundled model.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import polars as pl

from bench._util import write_result
from workbench import demo
from workbench.audit import Audit
from workbench.embed import Embedder

N_REAL = 600


def _real() -> pl.DataFrame:
    df = demo.real(N_REAL, labels=demo.LABELS, seed=11)
    split = ["anchor"] * 100 + ["eval"] * 100 + ["train"] * (df.height - 200)
    return df.with_columns(split=pl.Series(split), source=pl.lit("rotten_tomatoes"))


def _model_rows() -> pl.DataFrame:
    return demo.llm_reviews().with_columns(split=pl.lit("train"), source=pl.lit("smollm2"))


def _control_rows(exclude: set[str], n: int) -> pl.DataFrame:
    pool = demo.real(labels=demo.LABELS, seed=12).filter(~pl.col("id").is_in(list(exclude)))
    rows = pool.sample(n, seed=12)
    return rows.with_columns(
        origin=pl.lit("synthetic"),
        split=pl.lit("train"),
        source=pl.lit("rotten_tomatoes"),
        generator=pl.lit("real-resample"),
        generator_version=pl.lit("control"),
        prompt_id=pl.lit("none"),
        sampling=pl.lit('{"temperature": null}'),
        id=pl.format("ctl-{}", pl.col("id")),
    )


def _interval(details: Any, score: float | None) -> list[float] | None:
    """The 95% interval a check reports for its headline score: a {value|auc, lo, hi} record in its
    details whose value is the score (intervals of other quantities are not the score's)."""
    if score is None:
        return None
    if isinstance(details, dict):
        value = details.get("value", details.get("auc"))
        lo, hi = details.get("lo"), details.get("hi")
        numbers = all(isinstance(v, int | float) for v in (value, lo, hi))
        if numbers and math.isclose(float(value), score, rel_tol=1e-9, abs_tol=1e-12):  # type: ignore[arg-type]
            return [round(float(lo), 3), round(float(hi), 3)]  # type: ignore[arg-type]
        children = list(details.values())
    elif isinstance(details, list | tuple):
        children = list(details)
    else:
        return None
    for child in children:
        found = _interval(child, score)
        if found is not None:
            return found
    return None


def _audit(
    df: pl.DataFrame, embedder: Embedder, anchor: Any = None, checks: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    report = Audit(df, anchor=anchor, embedder=embedder, seed=0, checks=checks).run()
    out = {}
    for name, r in report.results.items():
        out[name] = {
            "failure_mode": r.failure_mode,
            "status": r.status,
            "score": None if r.score is None else round(float(r.score), 3),
            "threshold": None if r.threshold is None else round(float(r.threshold), 3),
            "interval": _interval(r.details, None if r.score is None else float(r.score)),
            "summary": r.summary,
        }
    return out


def _cell(r: dict[str, Any]) -> str:
    if r["status"] == "skipped":
        return "skipped"
    score = "" if r["score"] is None else f" {r['score']:.3g}"
    ci = "" if r["interval"] is None else f" [{r['interval'][0]:.3g}, {r['interval'][1]:.3g}]"
    return f"{r['status']}{score}{ci}"


def _chains() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The real chain (anchor + 6 generations) and its control: real rows dealt into generations."""
    anchor = demo.llm_chain_anchor().with_columns(source=pl.lit("rotten_tomatoes"))
    chain = demo.llm_chain("model-only").with_columns(split=pl.lit("train"))
    per_gen = chain.group_by("generation").len()["len"].max()
    n_gen = chain["generation"].n_unique()
    ctl = _control_rows(set(anchor["id"]), int(per_gen) * n_gen).with_columns(
        generation=pl.int_range(pl.len()) // int(per_gen)
    )
    return (
        pl.concat([anchor, chain], how="diagonal_relaxed"),
        pl.concat([anchor, ctl], how="diagonal_relaxed"),
    )


def _labelled() -> tuple[pl.DataFrame, pl.DataFrame]:
    """SmolLM2's zero-shot labels (reference_label = the true label), and a control labeler with the
    same error rate whose errors fall at random, independent of any style."""
    real_model = demo.llm_labels().with_columns(split=pl.lit("train"))
    wrong = (real_model["label"] != real_model["reference_label"]).sum()
    import numpy as np

    rng = np.random.default_rng(0)
    flip = np.zeros(real_model.height, dtype=bool)
    flip[rng.choice(real_model.height, size=int(wrong), replace=False)] = True
    other = {"fresh": "rotten", "rotten": "fresh"}
    ref = real_model["reference_label"].to_list()
    control = real_model.with_columns(
        label=pl.Series([other[r] if f else r for r, f in zip(ref, flip, strict=True)]),
        label_source=pl.lit("model:random-errors"),
    )
    return real_model, control


def main() -> None:
    import tempfile

    from workbench.provenance import freeze_anchor

    real = _real()
    model = pl.concat([real, _model_rows()], how="diagonal_relaxed")
    control = pl.concat([real, _control_rows(set(real["id"]), demo.llm_reviews().height)], how="diagonal_relaxed")
    chain, chain_control = _chains()
    labelled, labelled_control = _labelled()
    embedder = Embedder(progress=False)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        anchor = freeze_anchor(real.filter(pl.col("split") == "anchor"), f"{tmp}/anchor")
        on_model = _audit(model, embedder, anchor)
        on_control = _audit(control, embedder, anchor)
    # the chain and the labels are their own data sets: one check each
    on_model["feedback_amplification"] = _audit(chain, embedder, checks=["feedback_amplification"])[
        "feedback_amplification"
    ]
    on_control["feedback_amplification"] = _audit(chain_control, embedder, checks=["feedback_amplification"])[
        "feedback_amplification"
    ]
    on_model["label_bias"] = _audit(labelled, embedder, checks=["label_bias"])["label_bias"]
    on_control["label_bias"] = _audit(labelled_control, embedder, checks=["label_bias"])["label_bias"]
    seconds = time.perf_counter() - t0
    lines = ["| check | failure mode | SmolLM2 output vs real | real vs real (control) |", "|---|---|---|---|"]
    for name in on_model:
        lines.append(
            f"| `{name}` | {on_model[name]['failure_mode']} | {_cell(on_model[name])} | {_cell(on_control[name])} |"
        )
    table = "\n".join(lines)
    print(table)
    write_result(
        "real_model",
        {
            "rows": {"real": real.height, "model": model.height - real.height, "control": control.height - real.height},
            "generator_version": demo.llm_manifest()["generator_version"],
            "seconds_both_audits": round(seconds, 1),
            "model": on_model,
            "control": on_control,
            "markdown": table,
        },
    )
    json.dumps(on_model)  # everything above is plain data


if __name__ == "__main__":
    main()
