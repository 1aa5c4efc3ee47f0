"""Build the bundled real-model corpus (issue 12, part 3) with the bundled SmolLM2: a SKELETON.

Usage: python workbench/demo_data/build_llm_corpus.py [--quick] [--out DIR]

Writes three files and a manifest (seed, the model's generator_version with its weights' sha256,
library versions, the sizes used) into DIR (default: this folder):

- `smollm2_reviews.csv.gz`: label-conditioned movie reviews (fresh/rotten) from several prompt
  templates at several temperatures, with full provenance per row.
- `smollm2_labels.csv.gz`: SmolLM2's zero-shot labels on the bundled Rotten Tomatoes snippets
  (`id`, `label`, `label_confidence`, `label_source`), to compare with the real labels.
- `smollm2_chain.csv.gz`: a self-consuming chain: generation g is few-shot prompted with samples of
  generation g-1 (generation 0 with real anchor rows), `GENERATIONS` generations, once with
  model output only and once with a share of real rows mixed back into every prompt's examples
  (column `variant`).

`--quick` runs tiny sizes (a smoke test of the pipeline, a minute or two); the full sizes below
take roughly 40 minutes on one core. The sizes, templates and labeler settings are first choices,
to revisit when the corpus is measured and the lessons are written (parts 3-5 of issue 12).
Deterministic: the same seed, sizes, batch size and library versions give the same files.
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
MAX_NEW_TOKENS = 64
TEMPLATES = {
    "review-short": "Write a short {sentiment} review of the movie {movie}.",
    "review-critic": "You are a film critic. In one or two sentences, give a {sentiment} verdict on {movie}.",
    "review-snippet": "Write a one-sentence {sentiment} quote about the film {movie}, like a review snippet.",
}
SENTIMENT = {"fresh": "positive", "rotten": "negative"}
TEMPERATURES = (0.3, 0.7, 1.0)
LABELER_VERBALISERS = {"fresh": "good", "rotten": "bad"}  # 0.72 on 100 rows (bench/generate.py)
GENERATIONS = 5
CHAIN_TEMPLATE = "Here are some movie reviews:\n{examples}\nWrite one more movie review like these."
CHAIN_K = 3
REAL_SHARE = 0.5  # the mixed variant: this share of each prompt's examples are real anchor rows

FULL: dict[str, Any] = {
    "reviews_per_cell": 50,
    "labels": None,
    "chain_rows": 200,
}  # labels None: every fresh/rotten snippet
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


def build_chain(lm: LocalLM, rows: int, seed: int) -> pl.DataFrame:
    """Generation g few-shot prompted with generation g-1 (generation 0 with real anchor rows)."""
    anchor = demo.real(max(rows, 50), labels=demo.LABELS, seed=seed + 1).select("id", "text")
    frames = []
    for variant, real_share in (("model-only", 0.0), ("real-mixed", REAL_SHARE)):
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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of the pipeline")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    lm = LocalLM().load()
    args.out.mkdir(parents=True, exist_ok=True)
    parts = {
        "smollm2_reviews.csv.gz": build_reviews(lm, sizes["reviews_per_cell"], SEED),
        "smollm2_labels.csv.gz": build_labels(lm, sizes["labels"], SEED),
        "smollm2_chain.csv.gz": build_chain(lm, sizes["chain_rows"], SEED),
    }
    import gzip

    for name, frame in parts.items():
        (args.out / name).write_bytes(gzip.compress(frame.write_csv().encode(), mtime=0))
    import torch
    import transformers

    manifest: dict[str, Any] = {
        "seed": SEED,
        "sizes": sizes,
        "quick": args.quick,
        "generator": lm.name,
        "generator_version": lm.version,
        "batch_size": BATCH_SIZE,
        "max_new_tokens": MAX_NEW_TOKENS,
        "templates": TEMPLATES,
        "temperatures": TEMPERATURES,
        "labeler_verbalisers": LABELER_VERBALISERS,
        "chain": {"generations": GENERATIONS, "k": CHAIN_K, "real_share": REAL_SHARE, "template": CHAIN_TEMPLATE},
        "rows": {name: frame.height for name, frame in parts.items()},
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        },
        "threads": lm.threads,
    }
    (args.out / "smollm2_manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(json.dumps(manifest["rows"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
