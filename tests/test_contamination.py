"""Contamination: exact / near / n-gram / semantic duplicates across splits, and the registered check."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench import demo
from workbench.checks import all_checks
from workbench.checks.base import Context
from workbench.checks.contamination import (
    ContaminationCheck,
    drop_leaks,
    find_duplicates,
    jaccard,
    lsh_params,
    minhash_signatures,
    normalize,
    shingle_hashes,
)
from workbench.data import validate
from workbench.errors import InputError, SchemaError, WorkbenchWarning
from workbench.provenance import AnchorSet, manifest


@pytest.fixture(scope="module")
def real() -> pl.DataFrame:
    return demo.real().drop("source")


@pytest.fixture(scope="module")
def clean(real: pl.DataFrame) -> pl.DataFrame:
    ev = real.head(1500).with_columns(split=pl.lit("eval"))
    tr = real.tail(4500).with_columns(split=pl.lit("train"))
    return pl.concat([ev, tr], how="diagonal_relaxed")


@pytest.fixture(scope="module")
def leaked(clean: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    leaks = demo.plant_leaks(clean.filter(pl.col("split") == "eval"), 1000, n_swaps=2, n_typos=2, seed=3)
    return pl.concat([clean, leaks], how="diagonal_relaxed"), leaks


def _frame(texts: list[str], splits: list[str]) -> pl.DataFrame:
    return validate(pl.DataFrame({"text": texts, "split": splits, "origin": ["real"] * len(texts)}))


def test_near_duplicate_recall_on_planted_leaks_and_few_false_pairs(leaked, clean) -> None:
    df, leaks = leaked
    pairs = find_duplicates(df, kinds=("near",))
    planted = set(zip(leaks["parent_id"].to_list(), leaks["id"].to_list()))
    found = set(zip(pairs["id_a"].to_list(), pairs["id_b"].to_list()))
    recall = len(planted & found) / len(planted)
    assert recall >= 0.95, recall
    false_pairs = len(found - planted)
    assert false_pairs <= 0.01 * len(found), false_pairs
    assert set(pairs["split_a"]) == {"eval"} and set(pairs["split_b"]) == {"train"}
    # clean data: at most 1% of eval rows get a (false) near-duplicate pair
    clean_pairs = find_duplicates(clean, kinds=("near",))
    assert clean_pairs["id_a"].n_unique() <= 0.01 * 1500


def test_exact_matching_alone_misses_the_paraphrased_leaks(leaked) -> None:
    df, _ = leaked
    assert find_duplicates(df, kinds=("exact",)).height == 0


def test_minhash_estimates_agree_with_exact_jaccard_within_expected_error(real) -> None:
    texts = real["text"].head(400).to_list()
    # pairs spanning the whole Jaccard range: light to heavy perturbations, plus unrelated texts
    others = [demo.perturb_text(t, n_swaps=i % 5, n_typos=(i * 3) % 9, seed=i) for i, t in enumerate(texts)]
    others[::4] = texts[1::4][: len(others[::4])]
    num_perm = 256
    sig, has = minhash_signatures(texts + others, num_perm=num_perm, k=3, seed=1)
    assert has.all()
    n = len(texts)
    est = (sig[:n] == sig[n:]).mean(axis=1)
    exact = np.array([jaccard(a, b, k=3) for a, b in zip(texts, others)])
    assert exact.min() < 0.2 and exact.max() > 0.8
    se = np.sqrt(np.maximum(exact * (1 - exact), 1e-4) / num_perm)
    z = (est - exact) / se
    assert np.abs(z).max() < 4.5, np.abs(z).max()
    # the spread of the errors is what sqrt(J(1-J)/num_perm) predicts, and there is no bias
    assert 0.75 < np.sqrt(np.mean(z**2)) < 1.3
    assert abs(np.mean(est - exact)) < 3 * np.sqrt(np.mean(se**2) / n)


def test_minhash_is_deterministic_and_seeded(real) -> None:
    texts = real["text"].head(50).to_list()
    a, _ = minhash_signatures(texts, seed=5)
    b, _ = minhash_signatures(texts, seed=5)
    c, _ = minhash_signatures(texts, seed=6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # chunking does not change the signatures
    d, _ = minhash_signatures(texts, seed=5, chunk_shingles=37)
    assert np.array_equal(a, d)


def test_lsh_params_fit_the_budget_and_put_the_s_curve_at_the_threshold() -> None:
    for threshold in (0.3, 0.5, 0.8):
        b, r = lsh_params(threshold, 128)
        assert b * r <= 128
        assert abs((1 / b) ** (1 / r) - threshold) < 0.12


def test_shingles_of_short_empty_and_normal_texts() -> None:
    h, d = shingle_hashes(["abcdef", "ab", "", "ab"], k=3)
    assert np.bincount(d, minlength=4).tolist() == [4, 1, 0, 1]
    assert h[d == 1][0] == h[d == 3][0]
    assert jaccard("Hello, World!", "hello world") == 1.0
    assert normalize(["  Ｆｕｌｌ-width  TEXT!! "]).to_list() == ["fullwidth text"]


def test_texts_shorter_than_the_shingle_size_match_only_when_equal() -> None:
    df = _frame(["ok", "ok!", "no", "fine film"], ["eval", "train", "train", "train"])
    pairs = find_duplicates(df, kinds=("near",), shingle_size=5)
    assert pairs.select("text_a", "text_b").rows() == [("ok", "ok!")]


def test_exact_duplicates_across_splits_after_normalisation() -> None:
    df = _frame(
        ["A great film.", "a GREAT film", "A great  film!", "Something else entirely"],
        ["eval", "train", "eval", "tune"],
    )
    pairs = find_duplicates(df, kinds=("exact",))
    # eval-train twice; the two eval rows are in the same split and do not count
    assert pairs.height == 2
    assert set(pairs["split_a"]) == {"eval"} and set(pairs["split_b"]) == {"train"}
    assert pairs["similarity"].to_list() == [1.0, 1.0]
    assert pairs.columns == ["id_a", "id_b", "split_a", "split_b", "kind", "similarity", "text_a", "text_b"]


def test_thirteen_gram_overlap_between_eval_and_train() -> None:
    shared = "the quiet detective walks through the rain soaked city streets at night looking for"
    assert len(shared.split()) == 14
    df = _frame(
        [
            shared + " answers",
            "Prologue. " + shared + " a lost cat and a better script, which never comes.",
            " ".join(shared.split()[:12]) + " and then something else happens entirely in this one",
        ],
        ["eval", "train", "train"],
    )
    pairs = find_duplicates(df, kinds=("ngram",), boilerplate=False)
    assert pairs.height == 1  # the 12-word overlap is below 13 words
    assert pairs["text_b"][0].startswith("Prologue")
    # 14 of the eval item's 15 words lie in 13-grams the train row also has (its last word does not)
    assert pairs["similarity"][0] == pytest.approx(14 / 15, abs=1e-6)
    # with boilerplate set aside: the 12 words all three rows share are more than a leak explains in
    # three rows (boilerplate_cut(3) = 2), which leaves the eval row 3 words of its own: no 13-gram
    assert find_duplicates(df, kinds=("ngram",)).height == 0


def test_semantic_duplicates_chunked_give_the_same_pairs_in_bounded_blocks() -> None:
    rng = np.random.default_rng(0)
    n = 400
    emb = rng.normal(size=(n, 24)).astype(np.float32)
    emb[200:220] = emb[:20] + 0.02 * rng.normal(size=(20, 24))
    splits = ["eval"] * 100 + ["test"] * 100 + ["train"] * 200
    df = _frame([f"text {i}" for i in range(n)], splits)
    big = find_duplicates(df, kinds=("semantic",), embeddings=emb)
    small = find_duplicates(df, kinds=("semantic",), embeddings=emb, block_bytes=4 * n * 3)
    sided = find_duplicates(
        df, kinds=("semantic",), embeddings=emb, splits_a=["eval", "test"], splits_b=["train"], block_bytes=1
    )
    assert big.height == 20
    assert big.equals(small)
    assert big.select("id_a", "id_b").sort("id_a").equals(sided.select("id_a", "id_b").sort("id_a"))
    assert (big["similarity"] >= 0.9).all()
    assert set(big["split_a"]) == {"eval"}


def test_sides_restrict_which_pairs_count() -> None:
    df = _frame(["same text here", "same text here", "same text here"], ["eval", "train", "tune"])
    assert find_duplicates(df, kinds=("exact",)).height == 3  # eval-train, eval-tune, train-tune
    sided = find_duplicates(df, kinds=("exact",), splits_a=["eval"], splits_b=["train", "tune"])
    assert sided.height == 2 and set(sided["split_a"]) == {"eval"}
    within = find_duplicates(
        _frame(["x y z", "x y z"], ["train", "train"]), kinds=("exact",), splits_a=["train"], splits_b=["train"]
    )
    assert within.height == 1


def test_no_split_column_says_what_to_add() -> None:
    df = validate(pl.DataFrame({"text": ["a b c", "a b c"], "origin": ["real", "real"]}))
    with pytest.raises(SchemaError, match=r"no 'split' column.*split=pl\.lit"):
        find_duplicates(df, kinds=("exact",))


def test_a_single_split_is_a_clear_error() -> None:
    df = _frame(["a b c", "a b c"], ["train", "train"])
    with pytest.raises(InputError, match="single split"):
        find_duplicates(df, kinds=("exact",))
    with pytest.raises(InputError, match="not in the data"):
        find_duplicates(df, kinds=("exact",), splits_a=["eval"], splits_b=["train"])
    with pytest.raises(InputError, match="unknown duplicate kind"):
        find_duplicates(df, kinds=("fuzzy",))


def test_empty_texts_are_skipped_with_a_warning() -> None:
    df = pl.DataFrame(
        {"text": ["", "!!!", "a real text", "a real text", None], "split": ["eval", "train", "eval", "train", "train"]}
    )
    with pytest.warns(WorkbenchWarning, match="no text after normalisation"):
        pairs = find_duplicates(df, kinds=("exact", "near"))
    assert pairs["text_a"].to_list() == ["a real text", "a real text"]


def test_semantic_needs_aligned_embeddings() -> None:
    df = _frame(["a", "b"], ["eval", "train"])
    with pytest.raises(InputError, match="aligned"):
        find_duplicates(df, kinds=("semantic",), embeddings=np.zeros((3, 4)))


def test_contamination_check_fails_with_pairs_side_by_side_and_mitigation_passes(leaked) -> None:
    df, _ = leaked
    df = df.head(1500 + 1000).vstack(df.filter(pl.col("parent_id").is_not_null()).select(df.columns))
    check = all_checks()["contamination"]
    res = check.run(Context(df))
    assert res.status == "fail"
    assert {"id", "text", "split", "match_id", "match_text", "match_split", "kind", "similarity"} <= set(
        res.evidence.columns
    )
    assert res.evidence.height >= 950
    assert res.score == pytest.approx(res.evidence["id"].n_unique() / 1500)
    pairs = find_duplicates(df, kinds=("exact", "near", "ngram"))
    fixed = drop_leaks(df, pairs)
    assert fixed.filter(pl.col("split") == "eval").height == 1500
    assert check.run(Context(fixed)).status == "pass"


def test_contamination_check_compares_the_frozen_anchor_set(real) -> None:
    anchor_df = real.head(200)
    train = pl.concat(
        [real.slice(200, 800), demo.plant_leaks(anchor_df, 5, seed=1).drop("parent_id")], how="diagonal_relaxed"
    ).with_columns(split=pl.lit("train"))
    anchor = AnchorSet(df=anchor_df, manifest=manifest(anchor_df))
    check = ContaminationCheck(semantic=False)
    res = check.run(Context(validate(train), anchor=anchor))
    assert res.status == "fail"
    assert set(res.evidence["split"]) == {"anchor"} and res.evidence["id"].n_unique() >= 4
    # without the anchor there is nothing held out: skipped, with the split names to use
    skipped = check.run(Context(validate(train)))
    assert skipped.status == "skipped" and "eval" in skipped.summary


def test_semantic_only_matches_warn() -> None:
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(6, 8)).astype(np.float32)
    emb[3] = emb[0]
    df = _frame(
        ["the film was wonderful", "a b c d", "e f g h", "I loved this picture", "i j k l", "m n o p"],
        ["eval", "eval", "eval", "train", "train", "train"],
    )
    res = ContaminationCheck().run(Context(df, embeddings=emb))
    assert res.status == "warn" and res.evidence["match_text"].to_list() == ["I loved this picture"]
    assert ContaminationCheck(semantic=False).run(Context(df, embeddings=emb)).status == "pass"


def test_duplicate_pairs_chart_bins_similarity_by_kind() -> None:
    from workbench import charts

    pairs = find_duplicates(_frame(["same words here", "same words here!"], ["eval", "train"]), kinds=("exact", "near"))
    spec = charts.spec(charts.duplicate_pairs_chart(pairs))
    assert spec["encoding"]["x"]["bin"] == {"maxbins": 30} and spec["encoding"]["color"]["field"] == "kind"
    assert "2 pairs" in spec["title"]


def test_word_shingles_find_near_duplicates_of_longer_texts() -> None:
    base = "the director keeps every scene moving and the cast makes the quiet moments land with real weight"
    edited = base.replace("quiet", "silent")
    other = "a loud and tiresome sequel that forgets everything that made the first film worth a ticket"
    df = _frame([base, edited, other], ["eval", "train", "train"])
    pairs = find_duplicates(df, kinds=("near",), shingle="word", shingle_size=2, threshold=0.6)
    assert pairs.select("text_a", "text_b").rows() == [(base, edited)]
    assert pairs["similarity"][0] == pytest.approx(jaccard(base, edited, k=2, unit="word"), abs=0.2)
    with pytest.raises(InputError, match="'char' or 'word'"):
        find_duplicates(df, kinds=("near",), shingle="sentence")
