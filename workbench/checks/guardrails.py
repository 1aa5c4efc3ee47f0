"""Guardrails: provenance on every example, and the integrity of the frozen anchor set."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from workbench.checks import register
from workbench.checks.base import Check, CheckResult, Context
from workbench.data import TRAINING_SPLITS, text_hash


def _evidence(df: pl.DataFrame, problem: pl.Expr) -> pl.DataFrame:
    keep = [c for c in ("id", "text", "origin", "split", "generator", "generator_version") if c in df.columns]
    return df.select(*keep, problem.alias("problem"))


@dataclass
class ProvenanceCheck(Check):
    """Every example must say where it came from.

    Fails on rows without an origin, synthetic rows without a generator, and duplicate ids (they
    break spot checks, the diary and anchor sets). Warns on synthetic rows missing the generator
    version, the prompt (prompt_id or prompt) or sampling parameters, and on data with no split
    column (strict holdouts and contamination checks need one). Score: the share of rows with
    complete provenance (1.0 is clean).
    """

    name = "provenance"
    failure_mode = "provenance"
    description = "origin, generator, version, prompt, sampling and split recorded for every example"
    min_rows = 1

    def run(self, ctx: Context) -> CheckResult:
        df = ctx.df
        n = df.height
        synthetic = pl.col("origin") == "synthetic"

        def missing(col: str) -> pl.Expr:
            return pl.col(col).is_null() if col in df.columns else pl.lit(True)

        prompt_missing = missing("prompt_id") & missing("prompt")
        labels = [
            (pl.col("origin").is_null(), "no origin", "fail"),
            (synthetic & missing("generator"), "synthetic without generator", "fail"),
            (pl.col("id").is_duplicated(), "duplicate id", "fail"),
            (synthetic & missing("generator_version"), "synthetic without generator_version", "warn"),
            (synthetic & prompt_missing, "synthetic without prompt_id/prompt", "warn"),
            (synthetic & missing("sampling"), "synthetic without sampling parameters", "warn"),
        ]
        flagged = df.with_columns(
            pl.concat_list([pl.when(expr).then(pl.lit(label)) for expr, label, _ in labels])
            .list.drop_nulls()
            .list.join("; ")
            .alias("_problem")
        )
        counts = {label: int(df.select(expr.sum()).item()) for expr, label, _ in labels}
        severity = {label: sev for _, label, sev in labels}
        bad = flagged.filter(pl.col("_problem") != "")
        complete_share = 1.0 - bad.height / n if n else 1.0
        status = "pass"
        if any(counts[lbl] for lbl, sev in severity.items() if sev == "fail"):
            status = "fail"
        elif bad.height:
            status = "warn"
        notes = [f"{v} {k}" for k, v in counts.items() if v]
        if "split" not in df.columns:
            notes.append("no split column (add split = train/tune/eval/anchor to check holdouts and contamination)")
            status = "warn" if status == "pass" else status
        elif df["split"].null_count():
            notes.append(f"{df['split'].null_count()} row(s) without split")
            status = "warn" if status == "pass" else status
        summary = (
            f"{bad.height} of {n} rows have incomplete provenance: " + "; ".join(notes) + "."
            if notes
            else f"All {n} rows record origin and, for synthetic rows, generator, version, prompt and sampling."
        )
        evidence = _evidence(bad, pl.col("_problem"))
        return self.result(
            status,
            summary,
            score=round(complete_share, 6),
            score_meaning="share of rows with complete provenance (higher is better)",
            threshold=1.0,
            evidence=evidence,
            details={"counts": counts, "has_split_column": "split" in df.columns},
        )


@dataclass
class AnchorIntegrityCheck(Check):
    """The frozen real anchor set must be unchanged, real, and kept out of training data.

    Fails when rows were added, removed or edited since the freeze, when anchor rows are not real,
    when anchor texts appear in training splits (or, without a split column, among synthetic rows:
    the generator saw the anchor), or when the data's own `split == "anchor"` rows differ from the
    frozen set. Score: the number of anchor rows affected (0 is clean).
    """

    name = "anchor_integrity"
    failure_mode = "anchor"
    description = "the frozen anchor set is unchanged and does not leak into training data"
    requires_anchor = True
    min_rows = 0

    def run(self, ctx: Context) -> CheckResult:
        assert ctx.anchor is not None
        anchor = ctx.anchor
        a = anchor.df
        diff = anchor.diff()
        problems: list[pl.DataFrame] = []
        notes: list[str] = []
        if diff.changed:
            notes.append(f"changed since frozen: {diff.describe()}")
            changed = a.filter(pl.col("id").is_in(diff.added + diff.edited)).select(
                "id",
                "text",
                pl.when(pl.col("id").is_in(diff.added))
                .then(pl.lit("added"))
                .otherwise(pl.lit("edited"))
                .alias("problem"),
            )
            removed = pl.DataFrame(
                {"id": diff.removed, "text": [None] * len(diff.removed), "problem": ["removed"] * len(diff.removed)},
                schema={"id": pl.String, "text": pl.String, "problem": pl.String},
            )
            problems += [changed, removed]
        if "origin" in a.columns:
            not_real = a.filter(pl.col("origin") != "real")
            if not_real.height:
                notes.append(f"{not_real.height} anchor row(s) are not real")
                problems.append(not_real.select("id", "text", pl.lit("anchor row is not real").alias("problem")))
        df = ctx.df
        if df.height and a.height:
            anchor_hashes = {text_hash(t) for t in a["text"].to_list()}
            hashes = pl.Series([text_hash(t) for t in df["text"].to_list()])
            in_anchor = hashes.is_in(list(anchor_hashes))
            if "split" in df.columns:
                leak_mask = in_anchor & df["split"].is_in(TRAINING_SPLITS).fill_null(False)
                where = "training splits (" + "/".join(TRAINING_SPLITS) + ")"
            else:
                leak_mask = in_anchor & (df["origin"] == "synthetic").fill_null(False)
                where = "synthetic rows"
            leaks = df.filter(leak_mask)
            if leaks.height:
                notes.append(f"{leaks.height} anchor text(s) found in {where}")
                problems.append(leaks.select("id", "text", pl.lit(f"anchor text in {where}").alias("problem")))
            if "split" in df.columns:
                own = df.filter(pl.col("split") == "anchor")
                if own.height:
                    frozen_ids = set(a["id"].to_list())
                    stray = own.filter(
                        ~pl.col("id").is_in(list(frozen_ids))
                        | ~hashes.filter(df["split"] == "anchor").is_in(list(anchor_hashes))
                    )
                    if stray.height:
                        notes.append(f"{stray.height} row(s) of split 'anchor' are not in the frozen anchor set")
                        problems.append(
                            stray.select("id", "text", pl.lit("split 'anchor' row not in frozen set").alias("problem"))
                        )
        evidence = (
            pl.concat(problems, how="vertical_relaxed")
            if problems
            else pl.DataFrame(schema={"id": pl.String, "text": pl.String, "problem": pl.String})
        )
        affected = evidence["id"].n_unique() if evidence.height else 0
        where = f" ({anchor.path})" if anchor.path else ""
        if notes:
            summary = f"Anchor set{where} of {a.height} rows is compromised: " + "; ".join(notes) + "."
            status = "fail"
        else:
            summary = f"Anchor set{where} of {a.height} real rows is intact and none of its texts is in training data."
            status = "pass"
        return self.result(
            status,
            summary,
            score=float(affected),
            score_meaning="anchor rows added, removed, edited, not real or leaked (0 is clean)",
            threshold=0.0,
            evidence=evidence,
            details={"added": len(diff.added), "removed": len(diff.removed), "edited": len(diff.edited)},
        )


register(ProvenanceCheck())
register(AnchorIntegrityCheck())
