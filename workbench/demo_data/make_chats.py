"""Rebuild ``chats.jsonl``: a small ShareGPT chat file, the default input of notebook 01.

Usage: python -m workbench.demo_data.make_chats [OUT]   (default: chats.jsonl beside this file)

Every assistant turn comes from the demo's seeded generators (``workbench.demo``), never from a
language model: the file is small, offline and rebuilt byte for byte. Users ask for a positive or
negative one-line review of a film from the bundled Rotten Tomatoes data; half the conversations
ask a second time for the opposite verdict. Three batches, each with a planted problem:

- ``template-writer``: reviews from fill-in templates with tells (``demo.TEMPLATE_TELLS``); full
  provenance in the records (``model``, ``generator_version``, ``sampling``); a system turn.
- ``markov-writer``: a word-level Markov chain per verdict trained on real reviews, sampled at a low
  temperature (diversity collapse); its records give ``model`` and ``sampling`` but no version; a
  top-level ``system`` prompt.
- a vendor batch: randomised templates delivered without any record of the model that wrote them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import polars as pl

from workbench import demo

OUT = Path(__file__).with_name("chats.jsonl")
SYSTEM = "You are a film critic. Answer with a one-sentence review."
ASK = {"fresh": "Write a short positive review of {movie}.", "rotten": "Write a short negative review of {movie}."}
AGAIN = {"fresh": "Now a positive one, please.", "rotten": "Now a negative one, please."}
OTHER = {"fresh": "rotten", "rotten": "fresh"}
BATCHES = (("template-writer", 120), ("markov-writer", 120), ("vendor", 40))
MARKOV_TEMPERATURE = 0.5


def _title(movie: str) -> str:
    return " ".join(w.capitalize() for w in movie.split("_"))


def build(seed: int = 0) -> list[dict]:
    """The conversations, in file order (deterministic for a given seed)."""
    rng = np.random.default_rng(seed)
    real = demo.real(labels=demo.LABELS)
    movies = sorted({_title(m) for m in real["movie"].to_list()})
    # the Markov chains learn from the even-numbered real reviews only
    train = real.filter(pl.col("id").str.slice(3).cast(pl.Int64) % 2 == 0)
    chains = {
        label: demo.MarkovGenerator(train.filter(pl.col("label") == label)["text"].to_list(), name="markov-writer")
        for label in demo.LABELS
    }
    records: list[dict] = []
    n_conv = 0
    for batch, n in BATCHES:
        labels = [demo.LABELS[i % 2] for i in range(n)]
        two_turns = rng.random(n) < 0.5
        asked = labels + [OTHER[x] for x, again in zip(labels, two_turns) if again]
        needed = {lab: asked.count(lab) for lab in demo.LABELS}
        texts = _answers(batch, needed, chains, seed + n_conv)
        taken = dict.fromkeys(demo.LABELS, 0)

        def answer(label: str, texts: dict[str, list[str]] = texts, taken: dict[str, int] = taken) -> str:
            taken[label] += 1
            return texts[label][taken[label] - 1]

        for i in range(n):
            n_conv += 1
            label, movie = labels[i], movies[int(rng.integers(len(movies)))]
            turns = [
                {"from": "human", "value": ASK[label].format(movie=movie)},
                {"from": "gpt", "value": answer(label)},
            ]
            if two_turns[i]:
                turns += [
                    {"from": "human", "value": AGAIN[OTHER[label]]},
                    {"from": "gpt", "value": answer(OTHER[label])},
                ]
            rec: dict = {"id": f"chat-{n_conv:04d}"}
            if batch == "template-writer":
                rec["conversations"] = [{"from": "system", "value": SYSTEM}, *turns]
                rec.update(
                    model="template-writer", generator_version="1.0", sampling={"seed": seed, "template": "tells"}
                )
            elif batch == "markov-writer":
                sampling = {"temperature": MARKOV_TEMPERATURE, "seed": seed, "order": 2}
                rec.update(system=SYSTEM, conversations=turns, model="markov-writer", sampling=sampling)
            else:
                rec["conversations"] = turns
            records.append(rec)
    return records


def _answers(batch: str, needed: dict[str, int], chains: dict, seed: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, label in enumerate(demo.LABELS):
        n = needed[label]
        if batch == "markov-writer":
            out[label] = chains[label].sample_texts(n, temperature=MARKOV_TEMPERATURE, seed=seed + k)
        else:
            gen = demo.template_generator(2 * n, seed=seed + k, tells=batch == "template-writer")
            out[label] = gen.filter(pl.col("label") == label)["text"].to_list()[:n]
    return out


def main(out: str | Path = OUT) -> Path:
    path = Path(out)
    lines = [json.dumps(r, ensure_ascii=False) for r in build()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    written = main(*sys.argv[1:])
    print(f"wrote {written}")
