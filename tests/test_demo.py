"""Demo data and generators: bundled, seeded, and planting what they document."""

from __future__ import annotations

import json

import polars as pl
import pytest

from workbench import demo
from workbench.provenance import manifest


def test_bundled_real_data():
    df = demo.real()
    assert df.height == 6000
    assert dict(df["label"].value_counts().iter_rows()) == {"fresh": 2500, "rotten": 2500, "plot": 1000}
    assert set(df["origin"].unique()) == {"real"} and df["id"].n_unique() == 6000
    assert demo.real(100, labels=demo.LABELS, seed=1)["label"].is_in(demo.LABELS).all()


def test_generators_are_seeded_byte_for_byte():
    for make in (
        lambda s: demo.template_generator(50, seed=s),
        lambda s: demo.markov_by_label(demo.real(300, labels=demo.LABELS), 40, seed=s),
        lambda s: demo.biased_labeler(demo.real(200, labels=demo.LABELS), seed=s),
        lambda s: demo.tour_dataset(seed=s, n_real=40, n_template=10, n_markov=10, n_vendor=4),
    ):
        assert manifest(make(3))["set_sha256"] == manifest(make(3))["set_sha256"]
        assert manifest(make(3))["set_sha256"] != manifest(make(4))["set_sha256"]


def test_template_tells_are_planted_and_removable():
    t = demo.template_generator(200, seed=0, tells=True)
    fresh, rotten = t.filter(pl.col("label") == "fresh"), t.filter(pl.col("label") == "rotten")
    assert fresh["text"].str.ends_with("!").all() and rotten["text"].str.ends_with(".").all()
    assert fresh["text"].str.contains("truly").all() and rotten["text"].str.contains("ultimately").all()
    assert rotten["text"].str.len_chars().mean() > fresh["text"].str.len_chars().mean() + 20
    r = demo.template_generator(400, seed=0, tells=False)
    share = r.group_by("label").agg(pl.col("text").str.ends_with("!").mean().alias("bang"))
    assert all(0.35 < b < 0.65 for b in share["bang"])


def test_markov_temperature_collapses_diversity():
    train = demo.real(1000, labels=("fresh",), seed=0)
    gen = demo.MarkovGenerator(train["text"].to_list())
    vocab = [len(set(" ".join(gen.sample_texts(200, temperature=t, seed=0)).split())) for t in (1.0, 0.5, 0.2, 0.1)]
    assert vocab == sorted(vocab, reverse=True) and vocab[-1] < 0.5 * vocab[0]
    df = gen.sample(5, temperature=0.7, seed=1, label="fresh")
    assert json.loads(df["sampling"][0]) == {"order": 2, "seed": 1, "temperature": 0.7}
    with pytest.raises(ValueError, match="temperature"):
        gen.sample_texts(1, temperature=0)


def test_biased_labeler_bias_is_length():
    df = demo.biased_labeler(demo.real(2000, labels=demo.LABELS, seed=0), seed=0)
    words = df["text"].str.split(" ").list.len()
    wrong = df["label"] != df["reference_label"]
    long_err = wrong.filter(words > 25).mean()
    short_err = wrong.filter(words <= 25).mean()
    assert long_err > short_err + 0.2
    assert df["label_source"].unique().to_list() == ["model:demo-labeler-v1"]


def test_tour_dataset_shape():
    df = demo.tour_dataset(seed=0)
    assert df.height == 1040
    assert set(df["split"].unique()) == {"anchor", "eval", "train"}
    vendor = df.filter(pl.col("source") == "vendor-batch-7")
    assert vendor.height == 40 and vendor["generator"].null_count() == 40


def test_bundled_real_model_corpus_loads_with_provenance():
    m = demo.llm_manifest()
    assert m["generator"].startswith("SmolLM2") and m["generator_version"].startswith("sha256:")
    reviews = demo.llm_reviews()
    assert reviews.height == m["rows"]["smollm2_reviews.csv.gz"] and set(reviews["origin"]) == {"synthetic"}
    assert (
        reviews.select("generator", "generator_version", "prompt_id", "prompt", "sampling")
        .null_count()
        .sum_horizontal()[0]
        == 0
    )
    assert set(reviews["label"]) == set(demo.LABELS)
    assert set(reviews["temperature"]) == set(m["temperatures"])
    assert demo.llm_reviews(temperature=0.3).height == reviews.height // len(m["temperatures"])
    labels = demo.llm_labels()
    assert labels.height == m["rows"]["smollm2_labels.csv.gz"]
    assert labels["label_source"].str.starts_with("model:").all() and labels["reference_label"].is_in(demo.LABELS).all()
    assert labels["label_confidence"].is_between(0.5, 1.0).all()  # the top of two normalised probabilities
    for variant in ("model-only", "real-mixed"):
        chain = demo.llm_chain(variant)
        assert sorted(set(chain["generation"])) == list(range(m["chain"]["generations"]))
    anchor = demo.llm_chain_anchor()
    gen0_parents = set(",".join(demo.llm_chain().filter(pl.col("generation") == 0)["parent_id"]).split(","))
    assert gen0_parents <= set(anchor["id"]), "generation 0 was prompted with the anchor rows"
    with pytest.raises(ValueError, match="variant"):
        demo.llm_chain("nope")
