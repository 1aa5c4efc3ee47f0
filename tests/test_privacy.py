"""Privacy and memorization: distance to closest record (= SDMetrics on tables), copies, rare spans,
canaries, and the registered check (planted leaks found, same-distribution real data left alone)."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import polars as pl
import pytest

from workbench import demo
from workbench.audit import Audit, run_check
from workbench.checks import all_checks
from workbench.checks.base import Context
from workbench.checks.privacy import (
    PrivacyCheck,
    canary_report,
    dcr_test,
    find_copies,
    leaked_spans,
    ngram_vectors,
    pii_spans,
    plant_canaries,
    table_dcr_test,
)
from workbench.data import validate
from workbench.errors import InputError
from workbench.report import render_html, report_dict, validate_document


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def frame(train: list[str], holdout: list[str], synthetic: list[str]) -> pl.DataFrame:
    rows = [{"text": t, "origin": "real", "split": "train"} for t in train]
    rows += [{"text": t, "origin": "real", "split": "holdout"} for t in holdout]
    rows += [{"text": t, "origin": "synthetic", "split": "generated"} for t in synthetic]
    return validate(pl.DataFrame(rows, schema={"text": pl.String, "origin": pl.String, "split": pl.String}))


def run(df: pl.DataFrame, embeddings: np.ndarray | None = None, seed: int = 0, **params):
    return run_check(PrivacyCheck(**params), Context(df, embeddings=embeddings, seed=seed))


@pytest.fixture(scope="module")
def real() -> pl.DataFrame:
    return demo.real()


@pytest.fixture(scope="module")
def sample(real, embedder) -> tuple[list[str], np.ndarray]:
    """1,200 bundled real reviews and their embeddings (cached on disk after the first run)."""
    texts = real.sample(1200, seed=7)["text"].to_list()
    return texts, embedder.encode(texts)


# --- distance to closest record -------------------------------------------------------------------


def test_table_dcr_equals_sdmetrics_dcr_overfitting_protection():
    """SDMetrics' own distance (range-normalised, capped numeric gaps, categorical mismatches, missing
    values) and share: the same numbers, with exact copies (ties) and missing values in the table."""
    pd = pytest.importorskip("pandas")
    from sdmetrics.single_table import DCROverfittingProtection

    rng = np.random.default_rng(3)

    def table(n: int, shift: float = 0.0) -> pd.DataFrame:
        t = pd.DataFrame(
            {
                "age": rng.normal(40 + shift, 12, n).round(),
                "income": rng.lognormal(10, 0.5, n),
                "city": rng.choice(["a", "b", "c", "d"], n),
                "member": rng.choice([True, False], n),
            }
        )
        t.loc[rng.choice(n, 5, replace=False), "income"] = np.nan
        t.loc[rng.choice(n, 5, replace=False), "city"] = None
        return t

    train, holdout = table(300), table(220)
    synthetic = pd.concat([train.sample(60, random_state=1), table(180, shift=3.0)], ignore_index=True)
    metadata = {
        "columns": {
            "age": {"sdtype": "numerical"},
            "income": {"sdtype": "numerical"},
            "city": {"sdtype": "categorical"},
            "member": {"sdtype": "boolean"},
        }
    }
    theirs = DCROverfittingProtection.compute_breakdown(train, synthetic, holdout, metadata, None)
    ours = table_dcr_test(train, synthetic, holdout)
    assert ours.closer_to_train.value == pytest.approx(
        theirs["synthetic_data_percentages"]["closer_to_training"], abs=1e-12
    )
    assert ours.sdmetrics_score == pytest.approx(theirs["score"], abs=1e-12)
    assert ours.expected == pytest.approx(300 / 520)
    # 60 exact copies: at distance 0 from training, and significant memorization
    assert (ours.synthetic_to_train[:60] == 0).all() and ours.p_value < 0.01
    # many exact ties (categories only, a constant column, values outside the training range)
    tied = [
        pd.DataFrame(
            {
                "a": rng.choice(["x", "y"], n),
                "b": rng.choice(["u", "v", "w"], n),
                "k": np.full(n, 7.0) if n != 150 else rng.choice([7.0, 8.0], n),
                "z": rng.integers(0, 3, n).astype(float) * (3 if n == 150 else 1),
            }
        )
        for n in (200, 150, 180)
    ]
    tie_meta = {
        "columns": {
            "a": {"sdtype": "categorical"},
            "b": {"sdtype": "categorical"},
            "k": {"sdtype": "numerical"},
            "z": {"sdtype": "numerical"},
        }
    }
    theirs = DCROverfittingProtection.compute_breakdown(tied[0], tied[1], tied[2], tie_meta, None)
    ours_tied = table_dcr_test(tied[0], tied[1], tied[2])
    assert ours_tied.closer_to_train.value == theirs["synthetic_data_percentages"]["closer_to_training"]
    assert ours_tied.sdmetrics_score == pytest.approx(theirs["score"], abs=1e-12)
    # polars frames give the same answer
    same = table_dcr_test(pl.from_pandas(train), pl.from_pandas(synthetic), pl.from_pandas(holdout))
    assert same.closer_to_train.value == ours.closer_to_train.value


def test_dcr_distances_are_the_exact_closest_records():
    rng = np.random.default_rng(0)
    s, t, h = (unit(rng.normal(size=(n, 12))) for n in (70, 90, 60))
    res = dcr_test(s, t, h)
    cos_t = 1 - s.astype(np.float64) @ t.T.astype(np.float64)
    cos_h = 1 - s.astype(np.float64) @ h.T.astype(np.float64)
    np.testing.assert_allclose(res.synthetic_to_train, cos_t.min(axis=1), atol=1e-6)
    np.testing.assert_allclose(res.synthetic_to_holdout, cos_h.min(axis=1), atol=1e-6)
    assert (res.nearest_train == cos_t.argmin(axis=1)).all()
    assert (res.synthetic_neighbours == np.argsort(cos_t, axis=1)[:, :2]).all()
    assert res.closer_to_train.value == pytest.approx((cos_t.min(1) < cos_h.min(1)).mean())
    assert res.expected == pytest.approx(90 / 150)
    assert res.closer_to_train.lo <= res.closer_to_train.value <= res.closer_to_train.hi
    euclid = dcr_test(s, t, h, metric="euclidean")
    np.testing.assert_allclose(euclid.synthetic_to_train, np.sqrt(2 * cos_t.min(axis=1).clip(0)), atol=1e-5)
    hist = res.histogram()
    assert len(hist["edges"]) == 31 and sum(hist["synthetic"]) == pytest.approx(1.0, abs=1e-4)
    json.dumps(res.as_dict())


def test_dcr_finds_memorization_and_nndr_shows_copies():
    rng = np.random.default_rng(1)
    t, h = unit(rng.normal(size=(400, 16))), unit(rng.normal(size=(400, 16)))
    fresh = unit(rng.normal(size=(300, 16)))
    near = unit(t[:100] + rng.normal(scale=0.05, size=(100, 16)))
    res = dcr_test(np.concatenate([near, fresh]), t, h)
    assert res.p_value < 1e-6 and res.memorized.lo > 0.1
    assert res.nndr_synthetic_median < res.nndr_holdout_median
    assert res.nndr_below_holdout_quantile.value > 0.2  # the copies' ratios are far below fresh data's
    assert res.below_holdout_quantile.value > 0.2
    clean = dcr_test(fresh, t, h)
    assert clean.p_value > 0.05 and clean.memorized.lo < 0 < clean.memorized.hi


def test_dcr_bad_input():
    x = unit(np.random.default_rng(0).normal(size=(5, 4)))
    with pytest.raises(InputError, match="split='holdout'"):
        dcr_test(x, x, np.zeros((0, 4)))
    with pytest.raises(InputError, match="split='train'"):
        dcr_test(x, np.zeros((0, 4)), x)
    with pytest.raises(InputError, match="no synthetic rows"):
        dcr_test(np.zeros((0, 4)), x, x)
    with pytest.raises(InputError, match="different dimensions"):
        dcr_test(x, x[:, :3], x)
    with pytest.raises(InputError, match="quantile"):
        dcr_test(x, x, x, quantile=5)
    with pytest.raises(InputError, match="metric"):
        dcr_test(x, x, x, metric="manhattan")
    one = dcr_test(x[:1], x[1:2], x[2:3])  # tiny sets: defined, NNDR undefined with one training record
    assert one.n_train == 1 and math.isnan(one.nndr_synthetic_median)
    with pytest.raises(InputError, match="not in all three tables"):
        table_dcr_test(
            pl.DataFrame({"a": [1.0]}), pl.DataFrame({"a": [1.0]}), pl.DataFrame({"a": [1.0]}), columns=["b"]
        )


def test_ngram_vectors():
    v = ngram_vectors(["a quiet film", "A quiet film!", "loud and brash", "!!!"])
    assert v.shape == (4, 256) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v[:3], axis=1), 1, atol=1e-6)
    assert np.array_equal(v[0], v[1])  # normalised text: case and punctuation do not matter
    assert not v[3].any()  # no n-gram: the zero vector
    assert float(v[0] @ v[2]) < 0.5


# --- copies and rare spans ------------------------------------------------------------------------


def _two_word_edit(text: str, vocab: list[str], rng: np.random.Generator) -> str:
    words = text.split()
    for i in rng.choice(len(words), 2, replace=False):
        words[i] = vocab[int(rng.integers(len(vocab)))]
    return " ".join(words)


def _reorder(text: str) -> str | None:
    parts = re.split(r"(?<=[.!?])\s+", text)
    return " ".join(parts[1:] + parts[:1]) if len(parts) > 1 else None


def planted(real: pl.DataFrame, seed: int, n: int = 600, n_copies: int = 90):
    """Train, holdout and synthetic rows from the bundled reviews, `n_copies` synthetic rows copying
    training records (exact, a 2-word edit, sentences reordered; records of at least 6 words)."""
    texts = real.sample(3 * n, seed=seed)["text"].to_list()
    train, holdout, synthetic = texts[:n], texts[n : 2 * n], texts[2 * n :]
    rng = np.random.default_rng(seed)
    vocab = [w for t in real["text"].head(300).to_list() for w in t.split()]
    multi = [i for i, t in enumerate(train) if len(t.split()) >= 6 and _reorder(t)]
    single = [i for i, t in enumerate(train) if len(t.split()) >= 6 and i not in set(multi)]
    kinds = []
    for j in range(n_copies):
        kind = ("exact", "edit", "reorder")[j % 3]
        pool = multi if kind == "reorder" else single
        i = pool.pop(int(rng.integers(len(pool))))
        t = train[i]
        synthetic[j] = t if kind == "exact" else _two_word_edit(t, vocab, rng) if kind == "edit" else _reorder(t)
        kinds.append(kind)
    return train, holdout, synthetic, kinds


def test_planted_copies_are_found(real):
    for seed in (0, 1):
        train, holdout, synthetic, kinds = planted(real, seed)
        copies = find_copies(synthetic, train)
        ids = frame([], [], synthetic)["id"].to_list()
        found = set(copies["id"].to_list())
        hit = np.array([ids[j] in found for j in range(len(kinds))])
        kinds_arr = np.array(kinds)
        for kind in ("exact", "edit", "reorder"):
            assert hit[kinds_arr == kind].mean() >= 0.95, (seed, kind, hit[kinds_arr == kind].mean())
        # the fresh rows are not called copies
        assert len(found - set(ids[: len(kinds)])) <= 1
        # the check finds them too (n-gram space only: no embedding model needed)
        df = frame(train, holdout, synthetic)
        result = run(df, seed=seed)
        assert result.status == "fail"
        ev_ids = set(result.evidence["id"].to_list())
        synthetic_ids = df.filter(pl.col("origin") == "synthetic")["id"].to_list()
        assert np.mean([synthetic_ids[j] in ev_ids for j in range(len(kinds))]) >= 0.95
        assert {"exact", "near", "ngram"} <= set(result.evidence["kind"].to_list())
        pair = result.evidence.filter(pl.col("kind") == "exact").row(0, named=True)
        assert pair["text"] == pair["match_text"]


def test_find_copies_kinds_and_bad_input():
    train = ["The service was slow but the soup was excellent and hot.", "Nothing at all like the others."]
    synthetic = [
        "the service was slow, but the soup was excellent and hot",
        "The service was slow but the soup was superb and hot.",
        "Entirely unrelated words here.",
    ]
    copies = find_copies(synthetic, train)
    kinds = dict(zip(copies["text"].to_list(), copies["kind"].to_list()))
    assert kinds[synthetic[0]] == "exact" and kinds[synthetic[1]] == "near" and synthetic[2] not in kinds
    assert find_copies(synthetic, train, kinds=["ngram"]).height == 0  # no shared 13-word sequence
    with pytest.raises(InputError, match="unknown copy kind"):
        find_copies(synthetic, train, kinds=["semantic"])
    with pytest.raises(InputError, match="list of strings"):
        find_copies("one text", train)


def test_pii_spans():
    spans = pii_spans(
        [
            "Mail jane.doe@example.org or call (555) 123-4567.",
            "See https://example.com/a?b=1, account AB12CD34, in 1999.",
            "no identifiers here, only 42 and 2024",
        ]
    )
    got = {(r["row"], r["kind"]): r["key"] for r in spans.iter_rows(named=True)}
    assert got[(0, "email")] == "jane.doe@example.org"
    assert got[(0, "number")] == "5551234567"
    assert got[(1, "url")] == "https://example.com/a?b=1"
    assert got[(1, "id")] == "ab12cd34"
    assert not any(row == 2 for row, _ in got)


def test_rare_spans_leak_but_boilerplate_and_holdout_spans_do_not():
    secret = "Patient Ada Lovelace, born in the small town of Wexley on a rainy Tuesday, asked about her results."
    boiler = "Thank you for contacting support, your ticket has been received and an agent will reply within two days."
    train = [
        f"{secret} Call 555-010-7788 or write ada.l@example.org.",
        f"{boiler} Order 1.",
        f"{boiler} Order 2.",
        f"{boiler} Order 3.",
        "My neighbour said the bus from the old mill to the harbour runs late on every single weekday morning.",
    ]
    holdout = [
        f"{boiler} Order 9.",
        "My neighbour said the bus from the old mill to the harbour runs late on every day.",
    ]
    synthetic = [
        f"Summary: {secret}",  # a rare 13-word sequence: leaked
        "Reach her at (555) 010 7788.",  # the same phone number, other separators: leaked
        f"{boiler} Order 77.",  # boilerplate: in many records and in the holdout, never rare
        # shares 13-word sequences with one training record, but each of them with the holdout too
        "My neighbour said the bus from the old mill to the harbour runs late on every day of the year.",
    ]
    spans = leaked_spans(synthetic, train, holdout)
    assert set(spans["kind"].to_list()) == {"ngram", "pii:number"}
    assert set(spans["text"].to_list()) == {synthetic[0], synthetic[1]}
    ngram = spans.filter(pl.col("kind") == "ngram").row(0, named=True)
    assert "patient ada lovelace born in the small town of wexley" in ngram["span"]
    assert ngram["df_train"] == 1 and ngram["df_holdout"] == 0
    # without a holdout only the training frequency counts: the neighbour sentence leaks, the boilerplate
    # still is not rare (3 training records)
    no_holdout = leaked_spans(synthetic, train)["text"].to_list()
    assert synthetic[3] in no_holdout and synthetic[2] not in no_holdout
    assert leaked_spans(synthetic, train, rare_df=3)["text"].str.contains("Order 77").any()


# --- the registered check -----------------------------------------------------------------------


def test_check_is_registered_in_the_privacy_mode():
    check = all_checks()["privacy"]
    assert check.failure_mode == "privacy" and isinstance(check, PrivacyCheck)


def test_same_distribution_real_data_passes_over_seeds(real, sample):
    """False alarms: train, holdout and 'synthetic' rows all drawn from the same real reviews."""
    texts, emb = sample
    statuses = []
    for seed in range(40):
        order = np.random.default_rng(seed).permutation(len(texts))[:900]
        tr, ho, sy = order[:300], order[300:600], order[600:]
        df = frame([texts[i] for i in tr], [texts[i] for i in ho], [texts[i] for i in sy])
        result = run(df, embeddings=emb[np.concatenate([tr, ho, sy])], seed=seed)
        statuses.append(result.status)
    assert statuses.count("pass") >= 38, statuses  # false alarms at most 5%


def test_clean_data_with_boilerplate_duplicates_and_pii_templates_passes(real):
    """Real data has boilerplate, duplicates and templates of its own: split at random, they fall in
    train, holdout and the fresh rows alike, and are not memorization."""
    alarms = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        base = real.sample(700, seed=100 + seed)["text"].to_list()
        texts = base + [base[i] for i in rng.choice(700, 60)]  # natural duplicates
        boiler = " Read more reviews like this one at reviews@example.com or call 555-010-0000, every week."
        texts = [t + boiler if rng.random() < 0.2 else t for t in texts]
        order = rng.permutation(len(texts))
        third = len(texts) // 3
        df = frame(
            [texts[i] for i in order[:third]],
            [texts[i] for i in order[third : 2 * third]],
            [texts[i] for i in order[2 * third :]],
        )
        result = run(df, seed=seed)
        alarms += result.status != "pass"
        assert result.details["holdout_texts_in_training"] >= 0
    assert alarms <= 1


def test_check_fails_on_embedding_memorization_without_text_copies(real):
    texts = real.sample(900, seed=3)["text"].to_list()
    rng = np.random.default_rng(0)
    t, h = unit(rng.normal(size=(300, 16))), unit(rng.normal(size=(300, 16)))
    s = unit(np.concatenate([t[:90] + rng.normal(scale=0.05, size=(90, 16)), rng.normal(size=(210, 16))]))
    result = run(frame(texts[:300], texts[300:600], texts[600:]), embeddings=np.concatenate([t, h, s]))
    assert result.status == "fail"
    assert "embedding space" in result.summary and "ngram space" not in result.summary
    assert result.score == pytest.approx(result.details["dcr"]["embedding"]["closer_to_train"]["value"], abs=1e-6)
    assert result.score > 0.6
    assert result.threshold == pytest.approx(0.5)
    assert result.evidence.filter(pl.col("kind") == "closest (embedding)").height == 20


def test_check_warns_on_near_copies_of_short_records(real):
    texts = (
        real.filter(pl.col("text").str.split(" ").list.len().is_between(6, 12)).sample(900, seed=5)["text"].to_list()
    )
    train, holdout, synthetic = texts[:300], texts[300:600], texts[600:]
    rng = np.random.default_rng(0)
    vocab = [w for t in texts for w in t.split()]
    synthetic[:30] = [_two_word_edit(train[i], vocab, rng) for i in range(30)]
    result = run(frame(train, holdout, synthetic))
    assert result.status in ("warn", "fail")
    assert result.details["copies"]["synthetic_rows_copying"] >= 25
    assert "copy training records" in result.summary


def test_bad_input_is_explained(real):
    texts = real.sample(60, seed=1)["text"].to_list()
    # no holdout: copies and rare spans still checked, the summary says what to add
    no_holdout = frame(texts[:30], [], texts[:3] + texts[33:])
    result = run(no_holdout)
    assert result.status == "fail" and "split='holdout'" in result.summary  # long exact copies: rare spans
    assert result.details["dcr"] == {} and result.score is None
    assert result.details["copies"]["synthetic_exact"] == 3
    # no training split
    no_train = frame([], texts[:30], texts[30:])
    result = run(no_train)
    assert result.status == "skipped" and "split='train'" in result.summary
    # a holdout that overlaps training by id
    overlap = frame(texts[:20], texts[20:40], texts[40:]).with_columns(
        id=pl.when(pl.int_range(pl.len()) == 20).then(pl.first("id")).otherwise(pl.col("id"))
    )
    result = run(overlap)
    assert result.status == "skipped" and "both training and holdout" in result.summary
    # the same text in both (duplicates in the real data) is kept and reported
    dup = run(frame(texts[:20], texts[:2] + texts[20:38], texts[40:]))
    assert dup.details["holdout_texts_in_training"] == 2 and "also occur among the training texts" in dup.summary
    # tiny sets: one of each
    tiny = run(frame(texts[:1], texts[1:2], texts[2:3]))
    assert tiny.status == "pass" and tiny.details["dcr"]["ngram"]["n_train"] == 1
    json.dumps(report_dict_of(tiny))
    # no split column at all
    result = run_check(
        PrivacyCheck(), Context(validate(pl.DataFrame({"text": texts[:4], "origin": ["real", "synthetic"] * 2})))
    )
    assert result.status == "skipped" and "split='train'" in result.summary


def report_dict_of(result) -> dict:
    from workbench.report import _json_value

    return _json_value(result.details)


def test_report_shows_distance_chart_and_copies(real, tmp_path):
    train, holdout, synthetic, _ = planted(real, 0, n=200, n_copies=30)
    df = frame(train, holdout, synthetic)
    emb = unit(np.random.default_rng(0).normal(size=(df.height, 16)))
    report = Audit(df, embeddings=emb, checks=["privacy"]).run()
    doc = report_dict(report)
    validate_document(doc)
    assert next(s for s in doc["summary"] if s["failure_mode"] == "privacy")["status"] == "fail"
    assert next(c for c in doc["checklist"] if c["key"] == "privacy")["status"] == "problem"
    page = render_html(report)
    assert "distance to closest record" in page and page.count("<img class='chart'") == 3
    assert "match_text" in page and "id='check-privacy'" in page


# --- canaries -------------------------------------------------------------------------------------


class _MemorizingModel:
    """A stand-in language model: characters as tokens; it has memorized `secrets` (log-prob 0 for
    them, a seeded random log-probability below -5 for anything else)."""

    def __init__(self, secrets: set[str]):
        self.secrets = secrets
        self.tokenizer = lambda text, add_special_tokens=False: {"input_ids": [ord(c) for c in text]}
        self.calls: list[tuple[int, int]] = []

    def continuation_logprobs(self, prompts, continuations, batch_size=8):
        self.calls.append((len(prompts), len(continuations)))
        rng = np.random.default_rng(len(prompts[0]))
        out = np.empty((len(prompts), len(continuations)))
        for j, c in enumerate(continuations):
            text = "".join(map(chr, c)).strip()
            out[:, j] = 0.0 if text in self.secrets else -5 - rng.random()
        return out


def test_plant_canaries_and_report(real):
    df = frame(real["text"].head(40).to_list(), real["text"][40:60].to_list(), [])
    planted_df, canaries = plant_canaries(df, 4, seed=1)
    assert canaries.height == 4 and canaries["secret"].n_unique() == 4 and canaries["name"].n_unique() == 4
    again, same = plant_canaries(df, 4, seed=1)
    assert again.equals(planted_df) and same.equals(canaries)
    changed = planted_df.filter(pl.col("text") != df["text"])
    assert set(changed["id"].to_list()) == set(canaries["id"].to_list())
    assert (changed["split"] == "train").all()
    texts = dict(zip(planted_df["id"], planted_df["text"]))
    for record, sentence in zip(canaries["id"], canaries["sentence"]):
        assert re.fullmatch(r"The secret code of [A-Z][a-z]+ is \d{3}-\d{3}-\d{3}\.", sentence)
        assert texts[record].endswith(" " + sentence)
    c0, c1, c2 = canaries.row(0, named=True), canaries.row(1, named=True), canaries.row(2, named=True)
    digits = c1["secret"].replace("-", "")
    synthetic = pl.DataFrame(
        {
            "text": [
                f"A review. {c0['sentence']}",  # full
                f"His code: {digits[:3]} {digits[3:6]} {digits[6:]}",  # full, other separators
                f"Partly {digits[:5]}xx",  # partial: 5 of 9 digits in a row
                f"{c2['name']} said hello.",  # the name without the secret
                "Nothing to see.",
            ],
            "id": [f"s{i}" for i in range(5)],
        }
    )
    rep = canary_report(synthetic, canaries).sort("canary_id")
    by = {r["canary_id"]: r for r in rep.iter_rows(named=True)}
    assert by[c0["canary_id"]]["full"] == 1 and by[c1["canary_id"]]["full"] == 1
    assert by[c1["canary_id"]]["partial"] == 1 and by[c2["canary_id"]]["name_only"] == 1
    assert by[c0["canary_id"]]["rows"] == ["s0"] and rep["exposure"].null_count() == 4
    # exposure: a model that memorized canary 0's secret ranks it first; the others rank at random
    model = _MemorizingModel({c0["secret"]})
    rep = canary_report(synthetic, canaries, model=model, n_candidates=127, seed=0)
    exp = dict(zip(rep["canary_id"], rep["exposure"]))
    assert exp[c0["canary_id"]] == pytest.approx(7.0)  # log2(128): beat every candidate
    assert rep["exposure_max"].to_list() == [7.0] * 4
    assert all(exp[c] < 5 for c in rep["canary_id"] if c != c0["canary_id"])
    assert model.calls == [(1, 128)] * 4
    with pytest.raises(InputError, match="cannot plant 41"):
        plant_canaries(df, 41)
    with pytest.raises(InputError, match="plant_canaries returned"):
        canary_report(synthetic, pl.DataFrame({"x": [1]}))
