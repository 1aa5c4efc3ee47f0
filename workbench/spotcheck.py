"""Human spot checks of synthetic labels: a verdict store that survives crashes, review sessions, sampling.

`VerdictStore` keeps every verdict in one SQLite file per project (`workbench.store`: WAL journal,
`synchronous=FULL`, one immediate transaction per verdict): a verdict is on disk when `record()`
returns, a killed kernel loses nothing already recorded, and several kernels can write to one
store at once. A verdict says of a
shown label: `agree`, `wrong` (with the corrected label) or `unsure`, by a named reviewer, with a
note. Several labelers per example (`add_labels`) and several reviewers per example are
first-class; `undo` withdraws a reviewer's latest verdict (kept in the history, marked undone);
review queues are stored too, so `resume` finds where a reviewer stopped days later.

`sample(df, n, strategy)` chooses what to review: `random`, `stratified` (equal share per label),
`lowest_confidence`, `disagreement` (between labelers), `suspicion` (`suspect_labels` ranking) or
`cluster` (round robin over k-means clusters of the embeddings). Every strategy is seeded.
`apply_verdicts` exports the human labels into the `reference_label` column the label checks use.

`ReviewSession` is one reviewer working through one queue: which example is shown, which comes
next, the counts, "a wrong verdict needs another label", undo and resume. `widgets.SpotCheck`
mirrors its state and calls it; it computes nothing itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from workbench.errors import InputError, SchemaError
from workbench.store import StoreFile, utc_now

VERDICTS = ("agree", "wrong", "unsure")
STRATEGIES = ("random", "stratified", "lowest_confidence", "disagreement", "suspicion", "cluster")
SCHEMA_VERSION = 1

_DDL = """
CREATE TABLE IF NOT EXISTS labels (
    example_id TEXT NOT NULL, labeler TEXT NOT NULL, label TEXT, confidence REAL,
    PRIMARY KEY (example_id, labeler)
);
CREATE TABLE IF NOT EXISTS reviews (
    review_id INTEGER PRIMARY KEY AUTOINCREMENT,
    example_id TEXT NOT NULL, reviewer TEXT NOT NULL, labeler TEXT, label TEXT,
    verdict TEXT NOT NULL CHECK (verdict IN ('agree', 'wrong', 'unsure')),
    corrected_label TEXT, note TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, undone_at TEXT,
    CHECK (verdict != 'wrong' OR corrected_label IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS reviews_by_reviewer ON reviews (reviewer, review_id);
CREATE INDEX IF NOT EXISTS reviews_by_example ON reviews (example_id);
CREATE TABLE IF NOT EXISTS queues (
    name TEXT NOT NULL, position INTEGER NOT NULL, example_id TEXT NOT NULL, PRIMARY KEY (name, position)
);
CREATE TABLE IF NOT EXISTS queue_info (name TEXT PRIMARY KEY, strategy TEXT, seed INTEGER, created_at TEXT NOT NULL);
"""

_REVIEW_SCHEMA = {
    "review_id": pl.Int64,
    "example_id": pl.String,
    "reviewer": pl.String,
    "labeler": pl.String,
    "label": pl.String,
    "verdict": pl.String,
    "corrected_label": pl.String,
    "note": pl.String,
    "created_at": pl.String,
    "undone_at": pl.String,
}


def human_label(verdict: str, label: str | None, corrected_label: str | None) -> str | None:
    """The label a verdict vouches for: the shown label if `agree`, the correction if `wrong`, none if `unsure`."""
    if verdict == "agree":
        return label
    if verdict == "wrong":
        return corrected_label
    return None


class VerdictStore(StoreFile):
    """Reviewers' verdicts on labels, in one SQLite file (WAL) per project.

    `VerdictStore("reviews/my_project.sqlite")` or `VerdictStore.for_project("my_project")`
    (under `.workbench/spotcheck/`). Safe across processes: each write is one immediate
    transaction (`workbench.store.Store`), committed with a full sync before `record` returns. A
    write that cannot get the file's lock within `timeout` seconds (another process left a
    transaction open) raises `workbench.store.StoreLockedError`, saves nothing, and the store
    keeps working once the other writer lets go.
    """

    KIND = "verdict store"
    DDL = _DDL
    SCHEMA_VERSION = SCHEMA_VERSION
    DEFAULT_NAME = "spotcheck.sqlite"

    @classmethod
    def for_project(cls, project: str, root: str | Path = ".workbench/spotcheck") -> VerdictStore:
        """The store of `project`: `<root>/<project>.sqlite` (one file per project)."""
        if not project or any(c in project for c in "/\\:"):
            raise InputError(f"project name {project!r} must be non-empty and free of '/', '\\' and ':'.")
        return cls(Path(root) / f"{project}.sqlite")

    # -- plumbing -------------------------------------------------------------------------------

    def _frame(self, sql: str, params: Sequence[Any], schema: dict[str, Any]) -> pl.DataFrame:
        return pl.DataFrame(self._db.rows(sql, params), schema=schema, orient="row")

    # -- labels ---------------------------------------------------------------------------------

    def add_labels(self, labels: pl.DataFrame) -> int:
        """Store labelers' labels: a frame with `id`, `labeler`, `label` and optionally `confidence`
        (see `labels_long`). A labeler's label for an example replaces its earlier one. Returns rows stored."""
        missing = [c for c in ("id", "labeler", "label") if c not in labels.columns]
        if missing:
            raise SchemaError(
                f"add_labels needs columns id, labeler, label; missing {missing}. Build it with spotcheck.labels_long(df)."
            )
        conf = labels["confidence"] if "confidence" in labels.columns else pl.Series([None] * labels.height)
        rows = [
            (str(i), str(who), None if lab is None else str(lab), None if c is None else float(c))
            for i, who, lab, c in zip(labels["id"], labels["labeler"], labels["label"], conf)
        ]
        with self._db.transaction() as c:
            c.executemany("INSERT OR REPLACE INTO labels VALUES (?, ?, ?, ?)", rows)
        return len(rows)

    def labels(self) -> pl.DataFrame:
        """Every stored label: `id`, `labeler`, `label`, `confidence`."""
        return self._frame(
            "SELECT example_id, labeler, label, confidence FROM labels ORDER BY example_id, labeler",
            (),
            {"id": pl.String, "labeler": pl.String, "label": pl.String, "confidence": pl.Float64},
        )

    # -- verdicts -------------------------------------------------------------------------------

    def record(
        self,
        example_id: str,
        verdict: str,
        *,
        reviewer: str,
        corrected_label: str | None = None,
        note: str = "",
        labeler: str | None = None,
        label: str | None = None,
    ) -> int:
        """Save one verdict now (committed and synced when this returns); returns its `review_id`.

        `verdict` is `agree`, `wrong` (needs `corrected_label`) or `unsure`, about the `label`
        given by `labeler` (looked up in the stored labels when `label` is not passed). A later
        verdict by the same reviewer on the same example supersedes this one.
        """
        if verdict not in VERDICTS:
            raise InputError(f"verdict must be one of {VERDICTS}; got {verdict!r}.")
        if not reviewer or not isinstance(reviewer, str):
            raise InputError("record() needs reviewer= (the reviewer's name), a non-empty string.")
        if verdict == "wrong" and not corrected_label:
            raise InputError("a 'wrong' verdict needs corrected_label= (the right label); use 'unsure' if unknown.")
        if verdict != "wrong" and corrected_label is not None:
            raise InputError(f"corrected_label= goes with verdict 'wrong' only; got verdict {verdict!r}.")
        with self._db.transaction() as c:
            if label is None and labeler is not None:
                row = c.execute(
                    "SELECT label FROM labels WHERE example_id = ? AND labeler = ?", (str(example_id), labeler)
                ).fetchone()
                label = row[0] if row else None
            cur = c.execute(
                "INSERT INTO reviews (example_id, reviewer, labeler, label, verdict, corrected_label, note, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (str(example_id), reviewer, labeler, label, verdict, corrected_label, note or "", utc_now()),
            )
            review_id = cur.lastrowid
        assert review_id is not None
        return int(review_id)

    def undo(self, reviewer: str) -> dict[str, Any] | None:
        """Withdraw `reviewer`'s latest standing verdict (kept in the history as undone); returns it, or None."""
        with self._db.transaction() as c:
            row = c.execute(
                "SELECT * FROM reviews WHERE reviewer = ? AND undone_at IS NULL ORDER BY review_id DESC LIMIT 1",
                (reviewer,),
            ).fetchone()
            if row is None:
                return None
            undone = utc_now()
            c.execute("UPDATE reviews SET undone_at = ? WHERE review_id = ?", (undone, row[0]))
        out = dict(zip(_REVIEW_SCHEMA, row))
        out["undone_at"] = undone
        return out

    def reviews(self, *, include_undone: bool = False) -> pl.DataFrame:
        """The full history of verdicts in the order given (one row per verdict)."""
        where = "" if include_undone else "WHERE undone_at IS NULL"
        return self._frame(f"SELECT * FROM reviews {where} ORDER BY review_id", (), _REVIEW_SCHEMA)

    def verdicts(self, reviewer: str | None = None) -> pl.DataFrame:
        """Standing verdicts: each reviewer's latest, not undone, verdict per example, with `human_label`."""
        params: list[Any] = []
        where = "undone_at IS NULL"
        if reviewer is not None:
            where += " AND reviewer = ?"
            params.append(reviewer)
        sql = (
            f"SELECT * FROM reviews WHERE review_id IN (SELECT MAX(review_id) FROM reviews WHERE {where} "
            "GROUP BY example_id, reviewer) ORDER BY review_id"
        )
        df = self._frame(sql, params, _REVIEW_SCHEMA)
        return df.with_columns(
            human_label=pl.when(pl.col("verdict") == "agree")
            .then(pl.col("label"))
            .when(pl.col("verdict") == "wrong")
            .then(pl.col("corrected_label"))
            .otherwise(None)
        )

    def counts(self, reviewer: str | None = None) -> dict[str, int]:
        """Standing verdicts by kind: {'agree': .., 'wrong': .., 'unsure': .., 'total': ..}."""
        v = self.verdicts(reviewer)
        out = {k: int((v["verdict"] == k).sum()) for k in VERDICTS}
        out["total"] = v.height
        return out

    def reference_labels(self) -> pl.DataFrame:
        """One human label per reviewed example: the majority of reviewers' labels (unsure verdicts
        abstain; a tie gives null). Columns: `id`, `reference_label`, `n_reviewers`, `share` (of the
        majority label among the reviewers who gave one)."""
        v = self.verdicts().filter(pl.col("human_label").is_not_null())
        if v.height == 0:
            return pl.DataFrame(
                schema={"id": pl.String, "reference_label": pl.String, "n_reviewers": pl.Int64, "share": pl.Float64}
            )
        per = v.group_by("example_id", "human_label").agg(n=pl.len())
        tot = per.group_by("example_id").agg(total=pl.col("n").sum(), top=pl.col("n").max())
        best = per.join(tot, on="example_id").filter(pl.col("n") == pl.col("top"))
        out = best.group_by("example_id").agg(
            reference_label=pl.when(pl.len() == 1).then(pl.col("human_label").first()).otherwise(None),
            n_reviewers=pl.col("total").first(),
            share=(pl.col("top").first() / pl.col("total").first()),
        )
        return out.rename({"example_id": "id"}).with_columns(pl.col("n_reviewers").cast(pl.Int64)).sort("id")

    # -- queues: what to review, in which order, and where each reviewer stopped -----------------

    def save_queue(self, name: str, ids: Sequence[str], *, strategy: str = "", seed: int | None = None) -> None:
        """Store a review queue (the sample's ids in order). Saving a queue that exists with other ids
        is refused: a reviewer's place in it would be lost."""
        ids = [str(i) for i in ids]
        existing = self.queue(name)
        if existing:
            if existing != ids:
                raise InputError(
                    f"queue {name!r} already exists with other examples ({len(existing)}); resume it or pick a new name."
                )
            return
        with self._db.transaction() as c:
            c.execute("INSERT INTO queue_info VALUES (?, ?, ?, ?)", (name, strategy, seed, utc_now()))
            c.executemany("INSERT INTO queues VALUES (?, ?, ?)", [(name, i, e) for i, e in enumerate(ids)])

    def queue(self, name: str) -> list[str]:
        """The ids of queue `name` in order ([] when there is no such queue)."""
        rows = self._db.rows("SELECT example_id FROM queues WHERE name = ? ORDER BY position", (name,))
        return [r[0] for r in rows]

    def queues(self) -> pl.DataFrame:
        """Stored queues: `name`, `strategy`, `seed`, `created_at`, `n`."""
        return self._frame(
            "SELECT i.name, i.strategy, i.seed, i.created_at, COUNT(q.position) FROM queue_info i "
            "LEFT JOIN queues q ON q.name = i.name GROUP BY i.name ORDER BY i.created_at",
            (),
            {"name": pl.String, "strategy": pl.String, "seed": pl.Int64, "created_at": pl.String, "n": pl.Int64},
        )

    def resume(self, name: str, reviewer: str) -> int:
        """Position in queue `name` of the first example `reviewer` has no standing verdict on
        (the queue's length when all are done)."""
        done = set(self.verdicts(reviewer)["example_id"].to_list())
        q = self.queue(name)
        return next((i for i, e in enumerate(q) if e not in done), len(q))


# --- labels in long form -----------------------------------------------------------------------


def labels_long(
    df: pl.DataFrame,
    labelers: dict[str, str] | None = None,
    confidences: dict[str, str] | None = None,
) -> pl.DataFrame:
    """Labels of one or several labelers as a long frame: `id`, `labeler`, `label`, `confidence`.

    Default: the frame's own `label`, labeler named by `label_source` (or 'labeler'), confidence
    from `label_confidence`. With several labelers on the same rows, map each labeler's name to
    its label column (`labelers={"gpt": "label_gpt", "rules": "label_rules"}`) and, optionally, to
    its confidence column (`confidences=`).
    """
    if "id" not in df.columns:
        raise SchemaError("labels_long needs an 'id' column; run workbench.data.validate(df) first.")
    parts = []
    if labelers is None:
        if "label" not in df.columns:
            raise SchemaError(f"no 'label' column; pass labelers={{'name': 'column'}}. Found {df.columns}.")
        who = pl.col("label_source").fill_null("labeler") if "label_source" in df.columns else pl.lit("labeler")
        conf = pl.col("label_confidence") if "label_confidence" in df.columns else pl.lit(None, dtype=pl.Float64)
        parts.append(df.select("id", labeler=who, label=pl.col("label").cast(pl.String), confidence=conf))
    else:
        for name, col in labelers.items():
            if col not in df.columns:
                raise SchemaError(f"label column {col!r} of labeler {name!r} is not in the data; found {df.columns}.")
            ccol = (confidences or {}).get(name)
            if ccol is not None and ccol not in df.columns:
                raise SchemaError(f"confidence column {ccol!r} of labeler {name!r} is not in the data.")
            conf = pl.col(ccol).cast(pl.Float64) if ccol else pl.lit(None, dtype=pl.Float64)
            parts.append(df.select("id", labeler=pl.lit(name), label=pl.col(col).cast(pl.String), confidence=conf))
    out = pl.concat(parts).filter(pl.col("label").is_not_null())
    return out.with_columns(pl.col("confidence").cast(pl.Float64))


def disagreement(labels: pl.DataFrame) -> pl.DataFrame:
    """Per example: `n_labelers`, `n_distinct`, and `disagreement` = 1 - the share of labelers
    giving the most common label (0 = unanimous; (k-1)/k at most for k labelers)."""
    per = labels.group_by("id", "label").agg(n=pl.len())
    return (
        per.group_by("id")
        .agg(n_labelers=pl.col("n").sum(), n_distinct=pl.len(), top=pl.col("n").max())
        .with_columns(disagreement=1 - pl.col("top") / pl.col("n_labelers"))
        .drop("top")
        .sort("id")
    )


# --- sampling ----------------------------------------------------------------------------------


def _tiebreak(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n)


def sample(
    df: pl.DataFrame,
    n: int,
    strategy: str = "random",
    *,
    seed: int = 0,
    label: str = "label",
    confidence: str = "label_confidence",
    labels: pl.DataFrame | None = None,
    embeddings: np.ndarray | None = None,
    n_clusters: int = 8,
    exclude: Sequence[str] = (),
) -> pl.DataFrame:
    """Choose `n` rows of `df` to spot-check, in review order. Seeded: same inputs, same sample.

    Strategies: `random`; `stratified` (the same number per label, leftovers spread over labels
    that still have rows); `lowest_confidence` (column `confidence`, lowest first); `disagreement`
    (between labelers in `labels`, a long frame from `labels_long`, highest first); `suspicion`
    (`suspect_labels` on `embeddings`, most suspect first); `cluster` (k-means with `n_clusters`
    on `embeddings`, then round robin over clusters so every region of the data gets reviewed).
    Ties are broken by a seeded random order. `exclude`: ids already reviewed.
    Returns the chosen rows (all columns) plus `strategy` and `priority` (1 = review first).
    """
    if strategy not in STRATEGIES:
        raise InputError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}.")
    if n < 0:
        raise InputError(f"n must be >= 0; got {n}.")
    if "id" not in df.columns:
        raise SchemaError("sample needs an 'id' column; run workbench.data.validate(df) first.")
    if embeddings is not None:
        embeddings = np.asarray(embeddings)
        if embeddings.ndim != 2 or embeddings.shape[0] != df.height:
            raise InputError(f"embeddings must have shape ({df.height}, d) to match the rows; got {embeddings.shape}.")
    keep = ~df["id"].is_in(list(exclude)).to_numpy() if exclude else np.ones(df.height, dtype=bool)
    rows = np.flatnonzero(keep)
    m = len(rows)
    tie = _tiebreak(m, seed)  # tie[i]: random rank of candidate i
    if strategy == "random":
        order = rows[np.argsort(tie, kind="stable")]
    elif strategy == "stratified":
        if label not in df.columns:
            raise SchemaError(f"stratified sampling needs a {label!r} column; found {df.columns}.")
        values = df[label].cast(pl.String).fill_null("(none)").to_numpy()[rows]
        groups = {g: rows[values == g][np.argsort(tie[values == g], kind="stable")] for g in sorted(set(values))}
        order_list: list[int] = []
        depth = 0
        while len(order_list) < m:  # round robin: one per label per round, rare labels run out first
            for g in sorted(groups):
                if depth < len(groups[g]):
                    order_list.append(int(groups[g][depth]))
            depth += 1
        order = np.array(order_list, dtype=np.int64)
    elif strategy == "lowest_confidence":
        if confidence not in df.columns:
            raise SchemaError(f"lowest_confidence needs a {confidence!r} column; found {df.columns}.")
        conf = df[confidence].cast(pl.Float64).fill_null(math.inf).to_numpy()[rows]
        order = rows[np.lexsort((tie, conf))]
    elif strategy == "disagreement":
        if labels is None:
            raise InputError(
                "disagreement sampling needs labels= (several labelers' labels; see spotcheck.labels_long)."
            )
        d = disagreement(labels)
        dis = dict(zip(d["id"].to_list(), d["disagreement"].to_list()))
        score = np.array([dis.get(i, 0.0) for i in df["id"].to_list()])[rows]
        order = rows[np.lexsort((tie, -score))]
    elif strategy == "suspicion":
        if embeddings is None:
            raise InputError("suspicion sampling needs embeddings= aligned with the rows.")
        from workbench.checks.labels import suspect_labels

        ranked = suspect_labels(df, embeddings, label=label, seed=seed)
        pos = {i: r for i, r in zip(ranked["id"].to_list(), ranked["rank"].to_list())}
        score = np.array([pos.get(i, len(pos) + 1) for i in df["id"].to_list()], dtype=np.float64)[rows]
        order = rows[np.lexsort((tie, score))]
    else:  # cluster
        if embeddings is None:
            raise InputError("cluster sampling needs embeddings= aligned with the rows.")
        from sklearn.cluster import KMeans

        k = max(1, min(n_clusters, m))
        if m == 0:
            order = rows
        else:
            assign = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(embeddings[rows])
            members = [rows[assign == c][np.argsort(tie[assign == c], kind="stable")] for c in range(k)]
            order_list = []
            depth = 0
            while len(order_list) < m:
                for c in range(k):
                    if depth < len(members[c]):
                        order_list.append(int(members[c][depth]))
                depth += 1
            order = np.array(order_list, dtype=np.int64)
    chosen = order[:n].tolist()
    return df[chosen].with_columns(strategy=pl.lit(strategy), priority=pl.int_range(1, len(chosen) + 1, dtype=pl.Int64))


# --- export ------------------------------------------------------------------------------------


def apply_verdicts(
    df: pl.DataFrame, store: VerdictStore, *, column: str = "reference_label", overwrite: bool = True
) -> pl.DataFrame:
    """`df` with the reviewers' labels in `column` (default `reference_label`, which the label checks
    compare against). Rows without a human label keep their value; `overwrite=False` also keeps
    values already present."""
    if "id" not in df.columns:
        raise SchemaError("apply_verdicts needs an 'id' column; run workbench.data.validate(df) first.")
    ref = store.reference_labels().select("id", pl.col("reference_label").alias("_human"))
    out = df.join(ref, on="id", how="left", maintain_order="left")
    current = pl.col(column).cast(pl.String) if column in df.columns else pl.lit(None, dtype=pl.String)
    new = pl.coalesce(pl.col("_human"), current) if overwrite else pl.coalesce(current, pl.col("_human"))
    return out.with_columns(new.alias(column)).drop("_human")


def nearest_neighbours(embeddings: np.ndarray, index: int, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """The `k` rows most similar (cosine) to row `index`, itself excluded: (row indices, similarities),
    most similar first. Shown beside a spot-checked item so the reviewer sees how similar texts were labelled."""
    emb = np.asarray(embeddings, dtype=np.float32)
    if emb.ndim != 2 or not 0 <= index < emb.shape[0]:
        raise InputError(f"index {index} is outside the {emb.shape[0]} embedded rows.")
    norms = np.linalg.norm(emb, axis=1)
    sims = emb @ emb[index] / np.maximum(norms * norms[index], 1e-12)
    sims[index] = -np.inf
    k = min(k, emb.shape[0] - 1)
    if k <= 0:
        return np.array([], dtype=np.int64), np.array([], dtype=np.float32)
    top = np.argpartition(-sims, k - 1)[:k]
    top = top[np.lexsort((top, -sims[top]))]
    return top.astype(np.int64), sims[top]


# --- review sessions ---------------------------------------------------------------------------


class ReviewSession:
    """One reviewer working through one review queue: what is shown, what comes next, counts, undo, resume.

    `df`: the data (with `id`, `text`); `store`: the `VerdictStore` every verdict is written to
    before the session moves on; `reviewer`: who signs the verdicts. `ids`: the review order
    (e.g. `sample(df, 50, "disagreement", ...)["id"]`; default every row), saved in the store as
    queue `queue`, so a new session on the same store and queue resumes at the first example
    `reviewer` has not judged. `labels`: the labelers' labels as a long frame (`labels_long`;
    default the frame's own `label`); the first labeler is the one whose label a verdict judges
    (`primary`). `choices`: the labels a reviewer may pick (default every label seen).
    `embeddings` (aligned with `df`) enable `neighbours()`.

    State: `position` (0-based; `total` when the queue is done), `current` (the id shown, None when
    done), `item`, `counts`. Actions: `agree()`, `wrong(label)`, `unsure()`, `choose(k)` ("the
    right label is choice k"), `undo()`, `next()`, `previous()`, `go(position)`. A verdict that
    cannot be recorded raises `InputError` (the queue is done, `wrong` without a corrected label
    or with the label shown) and changes nothing. After a verdict the session moves to the next
    example the reviewer has not judged (after the current one, else from the start).
    """

    def __init__(
        self,
        df: pl.DataFrame,
        store: VerdictStore,
        *,
        reviewer: str,
        ids: Sequence[Any] | pl.Series | None = None,
        queue: str = "default",
        labels: pl.DataFrame | None = None,
        choices: Sequence[str] | None = None,
        embeddings: np.ndarray | None = None,
    ) -> None:
        if "id" not in df.columns or "text" not in df.columns:
            raise InputError(
                "a review session needs a frame with 'id' and 'text' columns (run workbench.data.validate)."
            )
        if not reviewer or not isinstance(reviewer, str):
            raise InputError("a review session needs reviewer= (your name): every verdict is signed.")
        if embeddings is not None:
            embeddings = np.asarray(embeddings)
            if embeddings.ndim != 2 or embeddings.shape[0] != df.height:
                raise InputError(
                    f"embeddings must have one row per data row ({df.height}); got shape {embeddings.shape}."
                )
        self.df, self.store, self.reviewer, self.queue, self.embeddings = df, store, reviewer, queue, embeddings
        self._ids = [str(i) for i in df["id"].to_list()]
        self._row = {i: r for r, i in enumerate(self._ids)}
        self._texts = df["text"].to_list()
        self.order = [str(i) for i in (df["id"] if ids is None else ids)]
        unknown = [i for i in self.order if i not in self._row]
        if unknown:
            raise InputError(f"{len(unknown)} id(s) to review are not in the data, e.g. {unknown[:3]}.")
        self.labels = labels_long(df) if labels is None else labels
        self.labelers = list(dict.fromkeys(self.labels["labeler"].to_list()))
        self.primary: str | None = self.labelers[0] if self.labelers else None
        self._by_id: dict[str, list[dict[str, Any]]] = {}
        for i, who, lab, conf in self.labels.select("id", "labeler", "label", "confidence").iter_rows():
            self._by_id.setdefault(str(i), []).append({"labeler": who, "label": lab, "confidence": conf})
        seen = sorted({str(v) for v in self.labels["label"].drop_nulls().to_list()})
        self.choices = [str(c) for c in choices] if choices else seen
        store.add_labels(self.labels.filter(pl.col("id").is_in(self.order)))
        store.save_queue(queue, self.order, strategy="spotcheck")
        self._mine: dict[str, dict[str, Any]] = {}
        self._reload()
        self.position = 0
        self.go(store.resume(queue, reviewer))

    # -- state ----------------------------------------------------------------------------------

    @property
    def total(self) -> int:
        return len(self.order)

    @property
    def done(self) -> bool:
        """Whether the session is past the last example (every one judged, or the reviewer went past it)."""
        return self.position >= self.total

    @property
    def current(self) -> str | None:
        """The id of the example shown, or None when the queue is done."""
        return None if self.done else self.order[self.position]

    def labels_of(self, example_id: str) -> list[dict[str, Any]]:
        """Each labeler's `label` and `confidence` for one example, primary labeler first."""
        return list(self._by_id.get(example_id, []))

    def verdict_of(self, example_id: str) -> dict[str, Any] | None:
        """The reviewer's standing verdict on an example: {'verdict', 'corrected_label'}, or None."""
        mine = self._mine.get(example_id)
        return None if mine is None else dict(mine)

    @property
    def item(self) -> dict[str, Any]:
        """What to show: `id`, `text`, `labels` (each labeler's), and the reviewer's standing
        `verdict` and `corrected_label` (None when not judged yet); {} when the queue is done."""
        example = self.current
        if example is None:
            return {}
        mine = self._mine.get(example, {})
        return {
            "id": example,
            "text": self._texts[self._row[example]],
            "labels": self.labels_of(example),
            "verdict": mine.get("verdict"),
            "corrected_label": mine.get("corrected_label"),
        }

    @property
    def shown_label(self) -> str | None:
        """The primary labeler's label of the current example: what `agree` vouches for."""
        example = self.current
        if example is None:
            return None
        return next((x["label"] for x in self._by_id.get(example, []) if x["labeler"] == self.primary), None)

    @property
    def suggested_correction(self) -> str:
        """The first choice other than the shown label: the preselected label for `wrong` ('' if none)."""
        shown = self.shown_label
        return next((c for c in self.choices if c != shown), "")

    @property
    def counts(self) -> dict[str, int]:
        """The reviewer's standing verdicts on this queue: {'agree', 'wrong', 'unsure', 'total'}."""
        kinds = [self._mine[i]["verdict"] for i in self.order if i in self._mine]
        return {k: kinds.count(k) for k in VERDICTS} | {"total": len(kinds)}

    # -- actions --------------------------------------------------------------------------------

    def record(self, verdict: str, corrected_label: str | None = None, *, note: str = "") -> int:
        """Save a verdict on the current example (on disk when this returns), then move to the next
        example not yet judged. Returns the verdict's `review_id`."""
        example = self.current
        if example is None:
            raise InputError("the queue is done; undo or go back to change a verdict.")
        shown = self.shown_label
        if verdict == "wrong":
            if not corrected_label:
                raise InputError("a 'wrong' verdict needs the corrected label; choose it first.")
            if corrected_label == shown:
                raise InputError(f"'{corrected_label}' is the label shown; that is an agree.")
        review_id = self.store.record(
            example,
            verdict,
            reviewer=self.reviewer,
            corrected_label=corrected_label,
            note=note,
            labeler=self.primary,
            label=shown,
        )
        self._mine[example] = {"verdict": verdict, "corrected_label": corrected_label if verdict == "wrong" else None}
        after = (i for i in range(self.position + 1, self.total) if self.order[i] not in self._mine)
        anywhere = (i for i in range(self.total) if self.order[i] not in self._mine)
        self.go(next(after, next(anywhere, self.total)))
        return review_id

    def agree(self, *, note: str = "") -> int:
        return self.record("agree", note=note)

    def wrong(self, corrected_label: str | None, *, note: str = "") -> int:
        return self.record("wrong", corrected_label, note=note)

    def unsure(self, *, note: str = "") -> int:
        return self.record("unsure", note=note)

    def choose(self, k: int, *, note: str = "") -> int:
        """The right label is `choices[k]` (0-based): agree when it is the label shown, else wrong with it."""
        if not 0 <= k < len(self.choices):
            raise InputError(f"there is no choice {k + 1}; choices are 1-{len(self.choices)}.")
        pick = self.choices[k]
        return self.agree(note=note) if pick == self.shown_label else self.wrong(pick, note=note)

    def undo(self) -> dict[str, Any] | None:
        """Withdraw the reviewer's latest verdict (`VerdictStore.undo`) and go to its example when it is
        in this queue. Returns the withdrawn verdict, or None when there was nothing to undo."""
        undone = self.store.undo(self.reviewer)
        if undone is None:
            return None
        self._reload()
        target = undone["example_id"]
        self.go(self.order.index(target) if target in self.order else self.position)
        return undone

    def go(self, position: int) -> None:
        """Show the example at `position` (clamped to 0..total; total means done)."""
        self.position = max(0, min(int(position), self.total))

    def next(self) -> None:
        self.go(self.position + 1)

    def previous(self) -> None:
        self.go(self.position - 1)

    def neighbours(self, k: int = 5) -> list[dict[str, Any]]:
        """The `k` rows most similar to the current example (cosine on `embeddings`), most similar
        first: `id`, `text`, `similarity`, `labels` (each labeler's). [] when the queue is done."""
        if self.embeddings is None:
            raise InputError("no embeddings given: pass embeddings= to see nearest neighbours.")
        example = self.current
        if example is None:
            return []
        idx, sims = nearest_neighbours(self.embeddings, self._row[example], k)
        return [
            {
                "id": self._ids[j],
                "text": self._texts[j],
                "similarity": float(s),
                "labels": self.labels_of(self._ids[j]),
            }
            for j, s in zip(idx.tolist(), sims.tolist())
        ]

    def _reload(self) -> None:
        v = self.store.verdicts(self.reviewer)
        self._mine = {
            e: {"verdict": vd, "corrected_label": c}
            for e, vd, c in v.select("example_id", "verdict", "corrected_label").iter_rows()
        }

    def __repr__(self) -> str:
        c = self.counts
        return (
            f"ReviewSession({self.reviewer!r}, queue {self.queue!r}: {c['total']} of {self.total} judged, "
            f"at {min(self.position + 1, self.total)})"
        )
