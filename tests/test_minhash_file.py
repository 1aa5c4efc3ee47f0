"""near_duplicates_file: the in-memory near-duplicate pairs, from a file read in batches."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from workbench.checks.contamination import find_duplicates
from workbench.errors import InputError
from workbench.minhash import near_duplicates_file


def _docs(n: int = 500, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    vocab = [f"word{i}" for i in range(300)]
    texts = [" ".join(rng.choice(vocab, size=rng.integers(6, 25))) for _ in range(n)]
    for i in rng.choice(n, size=n // 4, replace=False):
        words = texts[i].split()
        words[int(rng.integers(len(words)))] = "edited"
        texts.append(" ".join(words))
    texts += ["", "!!!", None]  # no text after normalisation: never a pair
    return pl.DataFrame({"id": [f"doc{i}" for i in range(len(texts))], "text": texts})


def _in_memory(df: pl.DataFrame, **kw) -> set[tuple[str, str, float]]:
    got = find_duplicates(
        df.with_columns(split=pl.lit("all")),
        kinds=("near",),
        splits_a=["all"],
        splits_b=["all"],
        boilerplate=False,
        **kw,
    )
    return set(zip(got["id_a"], got["id_b"], got["similarity"]))


@pytest.mark.filterwarnings("ignore::workbench.errors.WorkbenchWarning")
@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_same_pairs_as_in_memory(tmp_path, fmt):
    df = _docs()
    path = tmp_path / f"docs.{fmt}"
    if fmt == "parquet":
        df.write_parquet(path, row_group_size=100)
    else:
        df.write_ndjson(path)
    got = near_duplicates_file(path, id_column="id", batch_rows=77, num_perm=64, seed=5, progress=False)
    want = _in_memory(df, num_perm=64, seed=5)
    assert len(want) > 100
    assert set(zip(got["id_a"], got["id_b"], got["similarity"])) == want
    assert (got["row_a"] < got["row_b"]).all()
    assert got["similarity"].is_sorted(descending=True)
    # word shingles and another threshold agree too
    got_w = near_duplicates_file(path, id_column="id", batch_rows=200, unit="word", k=2, threshold=0.7)
    assert set(zip(got_w["id_a"], got_w["id_b"], got_w["similarity"])) == _in_memory(
        df, shingle="word", shingle_size=2, threshold=0.7
    )


def test_progress_bar_only_when_asked(tmp_path, capsys):
    path = tmp_path / "d.parquet"
    _docs(50).write_parquet(path)
    near_duplicates_file(path, progress=False)
    assert "minhash" not in capsys.readouterr().err
    near_duplicates_file(path, progress=True)
    assert "minhash d.parquet" in capsys.readouterr().err
    near_duplicates_file(path)  # stderr is not a terminal under pytest: no bar
    assert "minhash" not in capsys.readouterr().err


def test_bad_inputs_name_the_problem_and_the_fix(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        near_duplicates_file(tmp_path / "missing.parquet")
    csv = tmp_path / "d.csv"
    csv.write_text("text\na\n")
    with pytest.raises(InputError, match=r"Parquet \(.parquet\) or JSON lines.*write_parquet"):
        near_duplicates_file(csv)
    pq = tmp_path / "d.parquet"
    pl.DataFrame({"review": ["a b c"], "n": [1]}).write_parquet(pq)
    with pytest.raises(InputError, match=r"no column 'text'; found \['review', 'n'\]"):
        near_duplicates_file(pq)
    with pytest.raises(InputError, match="holds int64, not text"):
        near_duplicates_file(pq, column="n")
    broken_pq = tmp_path / "broken.parquet"
    broken_pq.write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        near_duplicates_file(broken_pq)

    js = tmp_path / "d.jsonl"
    js.write_text(json.dumps({"text": "one two three"}) + "\n" + '{"text": "cut off' + "\n")
    with pytest.raises(InputError, match=r"line 2 is not valid JSON.*fix or remove that line"):
        near_duplicates_file(js)
    with pytest.warns(match="left out 1 malformed"):
        assert near_duplicates_file(js, skip_bad=True).height == 0
    js.write_text(json.dumps({"review": "x"}) + "\n")
    with pytest.raises(InputError, match=r"line 1 has no field 'text' \(it has \['review'\]\)"):
        near_duplicates_file(js)
    js.write_text(json.dumps({"text": 3}) + "\n")
    with pytest.raises(InputError, match=r"field 'text' is not text \(it is int\)"):
        near_duplicates_file(js)
    js.write_bytes(json.dumps({"text": "caf"}).encode()[:-2] + b'\xe9"}\n')
    with pytest.raises(InputError, match=r"not valid utf-8.*line 1.*UTF-8"):
        near_duplicates_file(js)


def test_signatures_in_document_batches_are_the_same(monkeypatch):
    import workbench.minhash as mh

    texts = _docs(300)["text"]
    whole = mh.minhash_signatures(texts, num_perm=32)
    monkeypatch.setattr(mh, "_SIGNATURE_DOCS", 41)
    batched = mh.minhash_signatures(texts, num_perm=32)
    assert np.array_equal(whole[0], batched[0]) and np.array_equal(whole[1], batched[1])
