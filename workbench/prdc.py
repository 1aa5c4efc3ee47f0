"""PRDC: precision, recall, density and coverage of synthetic embeddings against real ones.

Naeem et al. 2020 ("Reliable Fidelity and Diversity Metrics for Generative Models"), Euclidean
distance, each point's radius the distance to its k-th nearest neighbour within its own set.
Bottom layer, on the exact nearest-neighbour kernel `workbench.knn`: the coverage check
(`workbench.checks.coverage`, which re-exports `prdc`, `prdc_result`, `PRDCResult`,
`expected_coverage`) and the feedback-amplification check both measure with it.

- `prdc(real, fake, k)`: the four numbers as a dict (the public API of `checks.coverage.prdc`).
- `prdc_result(real, fake, k)`: the same with per-example flags and bootstrap intervals.
- `expected_coverage(N, M, k)`: what two samples of the same distribution give.
- `choose_method(method, N, M, d)`, `estimated_exact_seconds(N, M, d)`: which path `method="auto"`
  takes, and why.

Two paths (`method=`). "exact": results equal the definitions computed in exact arithmetic (see
`workbench.knn`); the `prdc` package rounds distances to float32, so the two can differ only
where a distance and a radius agree to about 7 significant digits (a tie at float32 precision).
"approximate": the same computation restricted to pairs of rows in nearby cells of a k-means
partition (`workbench.ann`); radii can only come out too large and ball memberships can only be
missed across cells not probed. Its agreement with exact is *measured* on every run: a seeded
sample of real and synthetic rows gets its flags computed exactly (their exact radii, their exact
nearest-neighbour distances, with `workbench.knn`) and compared (`PRDCResult.agreement`, with
Wilson intervals); below `min_agreement` a `WorkbenchWarning` says so. "auto" (the default) is
exact whenever its estimated time fits `exact_budget_s`, which every size up to about 190k x
190k does on two cores: there the result is what it always was.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench import ann, distributed
from workbench.errors import InputError, WorkbenchWarning
from workbench.knn import DEFAULT_MEMORY_MB, as_matrix, ball_pairs, kth_neighbour_distances, nearest
from workbench.stats import percentile_interval, wilson_interval
from workbench.threads import budget

__all__ = [
    "DEFAULT_AGREEMENT_SAMPLE",
    "DEFAULT_MEMORY_MB",
    "EXACT_BUDGET_S",
    "METHODS",
    "METRICS",
    "MIN_AGREEMENT",
    "PRDCResult",
    "check_inputs",
    "choose_method",
    "estimated_exact_seconds",
    "expected_coverage",
    "measure_agreement",
    "prdc",
    "prdc_result",
]

METRICS = ("precision", "recall", "density", "coverage")
METHODS = ("auto", "exact", "approximate")
FLAGS = ("real_covered", "real_in_synthetic_manifold", "synthetic_in_real_manifold")
# multiply-adds per second and core of the exact kernel at d=384: 100k x 100k (3e10 pairs) took
# 74 s on this 2-core machine (bench/results/coverage.json)
EXACT_RATE_PER_CORE = 7.5e10
EXACT_BUDGET_S = 300.0
DEFAULT_AGREEMENT_SAMPLE = 2000
MIN_AGREEMENT = 0.99


def estimated_exact_seconds(n_real: int, n_fake: int, dim: int, cores: int | None = None) -> float:
    """Estimated seconds of exact PRDC: (N^2 + N M + M^2) d multiply-adds (the two k-NN radius
    passes and the cross pass) at the measured rate of `EXACT_RATE_PER_CORE` per core."""
    cores = budget() if cores is None else max(1, int(cores))
    return (n_real * n_real + n_real * n_fake + n_fake * n_fake) * dim / (EXACT_RATE_PER_CORE * cores)


def choose_method(
    method: str, n_real: int, n_fake: int, dim: int, *, exact_budget_s: float = EXACT_BUDGET_S, cores: int | None = None
) -> tuple[str, str]:
    """("exact" | "approximate", reason): `method` itself unless it is "auto", which is exact when
    `estimated_exact_seconds` fits `exact_budget_s`. An unknown method is an `InputError`."""
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(repr(m) for m in METHODS)}; got {method!r}.")
    if method != "auto":
        return method, f"method={method!r} was asked for"
    est = estimated_exact_seconds(n_real, n_fake, dim, cores)
    fits = est <= exact_budget_s
    return (
        "exact" if fits else "approximate",
        f"auto: exact PRDC of {n_real:,} real x {n_fake:,} synthetic rows ({dim}-d) is estimated at {est:,.0f} s, "
        f"{'within' if fits else 'over'} the {exact_budget_s:,.0f} s budget",
    )


def check_inputs(real: Any, fake: Any, k: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Real and synthetic embeddings as (n, d) arrays and k as an int, or an `InputError` saying
    what is wrong: mismatched dimensions, NaN/inf, an empty synthetic set, fewer than k+1 rows."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be a positive integer (the nearest-neighbour count, 5 in the paper); got {k!r}.")
    k = int(k)
    r = as_matrix(real, "real")
    f = as_matrix(fake, "synthetic")
    if r.shape[1] != f.shape[1]:
        raise InputError(
            f"real and synthetic embeddings have different dimensions ({r.shape[1]} vs {f.shape[1]}); "
            "embed both with the same model."
        )
    if f.shape[0] == 0:
        raise InputError("the synthetic set is empty; coverage of the real data by nothing is undefined.")
    for arr, name in ((r, "real"), (f, "synthetic")):
        if arr.shape[0] < k + 1:
            raise InputError(
                f"the {name} set has {arr.shape[0]} row(s); k-nearest-neighbour radii with k={k} need at "
                f"least k+1={k + 1}. Add rows or lower k."
            )
    return r, f, k


def expected_coverage(n_real: int, n_fake: int, k: int = 5) -> float:
    """Expected coverage when real and synthetic are samples of the same distribution.

    A real point is uncovered when its k nearest neighbours among the other N-1 real and the M
    synthetic points are all real: prod_{t<k} (N-1-t)/(N+M-1-t) (Naeem et al. 2020, section 3.3).
    For N = M large this is 1 - 2^-k (0.969 at k=5).
    """
    miss = 1.0
    for t in range(k):
        miss *= max(0, n_real - 1 - t) / (n_real + n_fake - 1 - t)
    return 1.0 - miss


@dataclass
class PRDCResult:
    """PRDC metrics with the per-example facts they average.

    - `real_covered[i]`: some synthetic point lies strictly inside real i's k-NN ball (coverage).
    - `real_in_synthetic_manifold[i]`: real i lies inside some synthetic k-NN ball (recall).
    - `synthetic_in_real_manifold[j]`: synthetic j lies inside some real k-NN ball (precision).
    - `synthetic_ball_count[j]`: how many real k-NN balls contain synthetic j (density = mean / k).
    - `real_ball_count[i]`: how many synthetic points lie inside real i's ball.
    - `real_radius`, `synthetic_radius`: the k-NN radii (0 for a point with k or more duplicates:
      its ball is empty under the strict inequality of the definition, so it is never covered).
    - `ci`: {metric: (low, high)} percentile bootstrap intervals when requested, else None.
    - `method`: "exact" or "approximate" (the path that ran) and `method_reason` (why: asked for,
      or auto's time estimate against the budget); `approximation`: the approximate path's
      settings (`n_lists`, `n_probe`, `seed`) and seconds per stage, else None; `agreement`: its
      measured agreement with exact on a sample (see `measure_agreement`), else None.
    """

    k: int
    precision: float
    recall: float
    density: float
    coverage: float
    real_radius: np.ndarray
    synthetic_radius: np.ndarray
    real_covered: np.ndarray
    real_in_synthetic_manifold: np.ndarray
    real_ball_count: np.ndarray
    synthetic_in_real_manifold: np.ndarray
    synthetic_ball_count: np.ndarray
    expected_coverage: float
    ci: dict[str, tuple[float, float]] | None = None
    confidence: float | None = None
    method: str = "exact"
    method_reason: str = ""
    agreement: dict[str, Any] | None = None
    approximation: dict[str, Any] | None = None

    def metrics(self) -> dict[str, float]:
        return {m: getattr(self, m) for m in METRICS}

    @property
    def low_agreement(self) -> bool:
        """The approximate path agreed with exact on fewer sampled flags than `min_agreement`."""
        return bool(self.agreement and self.agreement["below_threshold"])

    def flag_agreement(self, flag: str = "real_covered") -> float | None:
        """The measured agreement of one flag (None when the exact path ran or nothing was measured)."""
        return None if not self.agreement else float(self.agreement["flags"][flag]["agreement"])

    def method_note(self) -> str:
        """One sentence on the path used ("" for exact): the settings and the measured agreement."""
        if self.method != "approximate":
            return ""
        a = self.approximation or {}
        text = (
            f"Approximate nearest neighbours ({a.get('n_probe')} of {a.get('n_lists')} k-means cells probed; "
            f"{self.method_reason})"
        )
        if not self.agreement:
            return text + "; agreement with exact was not measured (agreement_sample=0)."
        g = self.agreement
        parts = ", ".join(
            f"{name.replace('_', ' ')} {v['agreement']:.1%} [{v['low']:.1%}, {v['high']:.1%}]"
            for name, v in g["flags"].items()
        )
        low = [name.replace("_", " ") for name, v in g["flags"].items() if v["agreement"] < g["threshold"]]
        verdict = (
            f" BELOW the {g['threshold']:.0%} threshold for {', '.join(low)}: raise n_probe or use method='exact'."
            if low
            else ""
        )
        return (
            f"{text}; on an exact sample of {g['sample_real']:,} real and {g['sample_synthetic']:,} synthetic rows "
            f"its per-example flags agree with exact: {parts}.{verdict}"
        )

    def bootstrap(
        self, n_boot: int = 1000, *, confidence: float = 0.95, seed: int = 0
    ) -> dict[str, tuple[float, float]]:
        """Percentile bootstrap intervals for the four metrics, resampling examples.

        The k-NN radii (the estimated manifolds) are held fixed and the per-example flags and counts
        are resampled with replacement (real rows for recall and coverage, synthetic rows for
        precision and density). Recomputing radii on a resample would put duplicate points in it,
        whose zero radii make the metrics meaningless. So the intervals describe the sampling error
        of the averages given the manifolds.
        """
        if n_boot < 1:
            raise InputError(f"n_boot must be at least 1; got {n_boot}.")
        if not 0 < confidence < 1:
            raise InputError(f"confidence must be between 0 and 1 (e.g. 0.95); got {confidence}.")
        rng = np.random.default_rng(seed)
        n, m = self.real_covered.size, self.synthetic_ball_count.size
        per_real = {
            "recall": self.real_in_synthetic_manifold.astype(float),
            "coverage": self.real_covered.astype(float),
        }
        per_fake = {
            "precision": self.synthetic_in_real_manifold.astype(float),
            "density": self.synthetic_ball_count / self.k,
        }
        out: dict[str, tuple[float, float]] = {}
        boot_batch = max(1, 20_000_000 // max(n, m))
        for values, size in ((per_real, n), (per_fake, m)):
            for name, v in values.items():
                means = []
                for s in range(0, n_boot, boot_batch):
                    idx = rng.integers(0, size, size=(min(boot_batch, n_boot - s), size))
                    means.append(v[idx].mean(axis=1))
                dist = np.concatenate(means)
                out[name] = percentile_interval(dist, confidence)
        return {m_: out[m_] for m_ in METRICS}


def _partition(
    r: np.ndarray, f: np.ndarray, n_lists: int | None, n_probe: int, seed: int, memory_mb: float
) -> tuple[ann.Partition, np.ndarray, np.ndarray]:
    """One k-means partition of the pooled real and synthetic rows, fitted on a seeded sample
    (never a copy of both sets), and every row's cell."""
    n, m = r.shape[0], f.shape[0]
    lists = ann.default_n_lists(n + m) if n_lists is None else n_lists
    if isinstance(lists, bool) or not isinstance(lists, (int, np.integer)) or lists < 1:
        raise InputError(
            f"n_lists must be a positive integer or None (default ann.default_n_lists(N + M)); got {n_lists!r}."
        )
    if isinstance(n_probe, bool) or not isinstance(n_probe, (int, np.integer)) or n_probe < 1:
        raise InputError(f"n_probe must be a positive integer (cells each cell is compared with); got {n_probe!r}.")
    size = min(n + m, ann.KMEANS_SAMPLE_PER_LIST * int(lists))
    pick = np.sort(np.random.default_rng([seed, 1]).choice(n + m, size=size, replace=False))
    sample = np.concatenate([r[pick[pick < n]], f[pick[pick >= n] - n]])
    part = ann.Partition.fit(sample, min(int(lists), size), n_probe, seed=seed, memory_mb=memory_mb)
    return part, part.assign(r, memory_mb=memory_mb), part.assign(f, memory_mb=memory_mb)


def _sq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise squared distances |a_t - b_t|^2 in float64, as `workbench.knn` computes them exactly."""
    out = np.empty(a.shape[0], dtype=np.float64)
    for s in range(0, a.shape[0], 4096):
        diff = a[s : s + 4096].astype(np.float64) - b[s : s + 4096]
        out[s : s + 4096] = np.einsum("ij,ij->i", diff, diff)
    return out


def _rate(agree: np.ndarray, exact: np.ndarray, approx: np.ndarray) -> dict[str, Any]:
    n = int(agree.size)
    lo, hi = wilson_interval(float(agree.sum()), n)
    return {
        "agreement": float(agree.mean()) if n else float("nan"),
        "low": lo,
        "high": hi,
        "n": n,
        "exact_share": float(exact.mean()) if n else float("nan"),
        "approximate_share": float(approx.mean()) if n else float("nan"),
    }


def measure_agreement(
    r: np.ndarray,
    f: np.ndarray,
    result: PRDCResult,
    size: int = DEFAULT_AGREEMENT_SAMPLE,
    *,
    seed: int = 0,
    min_agreement: float = MIN_AGREEMENT,
    memory_mb: float = DEFAULT_MEMORY_MB,
) -> dict[str, Any]:
    """How often `result`'s per-example flags (an approximate run) equal the exact ones, on a seeded
    sample of `size` real and `size` synthetic rows (fewer when a set is smaller).

    Exact flags of a sampled row need only exact quantities: a real row's exact radius (its k+1
    nearest real rows) and every synthetic row strictly inside that ball (coverage, ball count); a
    synthetic row inside its ball with the exact radius of that synthetic row (recall). The
    approximate radii are never smaller than the exact ones, so the rows inside approximate balls
    are the only candidates: their exact radii are computed, most promising first. Likewise for a
    sampled synthetic row and the real balls around it (precision, density). Cost: about
    size x (N + M) distances plus a few radii per row, against (N^2 + N M + M^2) for exact PRDC.

    Returns `{"flags": {flag: {agreement, low, high, n, exact_share, approximate_share}},
    "real_radius_exact_share", "real_ball_count_exact_share", "synthetic_ball_count_exact_share",
    "sample_real", "sample_synthetic", "seed", "threshold", "minimum", "below_threshold"}`
    (intervals: Wilson, 95%; `exact_share`: the flag's rate among the sampled rows, exactly).
    """
    k, n, m = result.k, r.shape[0], f.shape[0]
    rng = np.random.default_rng([seed, 2])
    sr = np.sort(rng.choice(n, size=min(size, n), replace=False))
    ss = np.sort(rng.choice(m, size=min(size, m), replace=False))
    r2a = result.real_radius.astype(np.float64) ** 2  # only as candidate bounds (see below)
    s2a = result.synthetic_radius.astype(np.float64) ** 2
    # sqrt then square can round below the exact squared radius: widen by a few ulps, so that the
    # candidate sets stay supersets (exact comparisons below decide)
    r2a, s2a = r2a * (1 + 1e-12), s2a * (1 + 1e-12)

    # sampled real rows: exact radius, the synthetic rows in their exact balls, and the candidate
    # synthetic balls around them (d < approximate radius, which is at least the exact one)
    r2e = nearest(r[sr], r, k + 1, squared=True, memory_mb=memory_mb)[0][:, k]
    p = ball_pairs(r[sr], f, r2e, s2a, squared=True, memory_mb=memory_mb)
    count_r = np.bincount(p.x_ball_rows, minlength=sr.size)
    rows, cols = p.y_ball_rows, p.y_ball_cols
    d2 = _sq(r[sr[rows]], f[cols])
    s2e = np.full(m, np.nan)

    def exact_synthetic_radii(js: np.ndarray) -> None:
        js = np.unique(js[np.isnan(s2e[js])])
        if js.size:
            s2e[js] = nearest(f[js], f, k + 1, squared=True, memory_mb=memory_mb)[0][:, k]

    recall = np.zeros(sr.size, dtype=bool)
    if rows.size:
        # first the most promising candidate of each row (deepest inside its approximate ball)
        order = np.lexsort((d2 / np.maximum(s2a[cols], 1e-300), rows))
        first = order[np.concatenate(([True], rows[order][1:] != rows[order][:-1]))]
        exact_synthetic_radii(cols[first])
        recall[rows[first][d2[first] < s2e[cols[first]]]] = True
        rest = ~recall[rows]
        exact_synthetic_radii(cols[rest])
        hit = rest & (d2 < np.where(np.isnan(s2e[cols]), -1.0, s2e[cols]))
        recall[rows[hit]] = True

    # sampled synthetic rows: the real balls around them under the approximate radii, then exactly
    q = ball_pairs(f[ss], r, np.zeros(ss.size), r2a, squared=True, memory_mb=memory_mb)
    rows, cols = q.y_ball_rows, q.y_ball_cols
    count_s = np.zeros(ss.size, dtype=np.int64)
    if rows.size:
        uniq, inv = np.unique(cols, return_inverse=True)
        r2e_c = nearest(r[uniq], r, k + 1, squared=True, memory_mb=memory_mb)[0][:, k]
        inside = _sq(f[ss[rows]], r[cols]) < r2e_c[inv]
        count_s = np.bincount(rows[inside], minlength=ss.size)

    flags = {
        "real_covered": _rate(result.real_covered[sr] == (count_r > 0), count_r > 0, result.real_covered[sr]),
        "real_in_synthetic_manifold": _rate(
            result.real_in_synthetic_manifold[sr] == recall, recall, result.real_in_synthetic_manifold[sr]
        ),
        "synthetic_in_real_manifold": _rate(
            result.synthetic_in_real_manifold[ss] == (count_s > 0), count_s > 0, result.synthetic_in_real_manifold[ss]
        ),
    }
    minimum = min(v["agreement"] for v in flags.values())
    return {
        "flags": flags,
        "real_radius_exact_share": float((result.real_radius[sr] == np.sqrt(r2e)).mean()),
        "real_ball_count_exact_share": float((result.real_ball_count[sr] == count_r).mean()),
        "synthetic_ball_count_exact_share": float((result.synthetic_ball_count[ss] == count_s).mean()),
        "sample_real": int(sr.size),
        "sample_synthetic": int(ss.size),
        "seed": int(seed),
        "threshold": float(min_agreement),
        "minimum": float(minimum),
        "below_threshold": bool(minimum < min_agreement),
    }


def prdc_result(
    real: Any,
    fake: Any,
    k: int = 5,
    *,
    bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    memory_mb: float = DEFAULT_MEMORY_MB,
    method: str = "auto",
    exact_budget_s: float = EXACT_BUDGET_S,
    n_lists: int | None = None,
    n_probe: int = ann.DEFAULT_N_PROBE,
    agreement_sample: int = DEFAULT_AGREEMENT_SAMPLE,
    min_agreement: float = MIN_AGREEMENT,
    threads: int | None = None,
    engine: str = "local",
) -> PRDCResult:
    """Precision, recall, density and coverage (Naeem et al. 2020) with per-example flags.

    `real` (N, d) and `fake` (M, d) are embeddings (any float dtype). Euclidean distance; the
    k-NN radius of a point is the distance to its k-th nearest neighbour in its own set. Works in
    row blocks sized to `memory_mb` (never an N x M matrix). `bootstrap=B` adds percentile intervals
    (`ci`) from B resamples (see `PRDCResult.bootstrap`).

    `method`: "exact", "approximate" or "auto" (exact when `estimated_exact_seconds` fits
    `exact_budget_s`); `result.method` and `result.method_reason` say which ran and why. The
    approximate path (`workbench.ann`) partitions the pooled rows into `n_lists` k-means cells
    (default `ann.default_n_lists(N + M)`) and compares each cell's rows with those of `n_probe`
    cells; `agreement_sample` real and as many synthetic rows (seeded by `seed`) then get their
    flags computed exactly, and `result.agreement` holds per-flag agreement rates with Wilson
    intervals (a `WorkbenchWarning` when one is below `min_agreement`). `threads`: cores for the
    kernel (None: `workbench.threads.budget()`), restored afterwards. `engine="ray"` runs the exact
    searches as Ray tasks (`workbench.distributed`; identical results): "auto" then means exact
    (the cluster brings the compute), and the approximate path stays in process (asking for it
    with `engine="ray"` is an `InputError`).

    Bad input raises `InputError`: mismatched dimensions, NaN/inf, an empty synthetic set, fewer
    than k+1 rows in either set. Duplicate points are allowed (documented behaviour, as in the
    paper and the `prdc` package): a point with k or more exact duplicates has radius 0 and an
    empty ball; a `WorkbenchWarning` says how many such points there are.
    """
    r, f, k = check_inputs(real, fake, k)
    if memory_mb <= 0:
        raise InputError(f"memory_mb must be positive; got {memory_mb}.")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1):
        raise InputError(f"threads must be a positive integer or None (all cores); got {threads!r}.")
    engine = distributed.check_engine(engine)
    if engine == "ray":
        if method == "approximate":
            raise InputError(
                "method='approximate' runs in process; with engine='ray' the searches are exact on the cluster. "
                "Pass method='exact' (or 'auto'), or engine='local' for the approximate path."
            )
        chosen, reason = "exact", "engine='ray': exact nearest-neighbour searches on the Ray cluster"
        if method not in METHODS:
            chosen, reason = choose_method(method, 1, 1, 1)
    else:
        chosen, reason = choose_method(
            method, r.shape[0], f.shape[0], r.shape[1], exact_budget_s=exact_budget_s, cores=threads
        )
    if (
        isinstance(agreement_sample, bool)
        or not isinstance(agreement_sample, (int, np.integer))
        or agreement_sample < 0
    ):
        raise InputError(
            f"agreement_sample must be a non-negative integer (0: do not measure); got {agreement_sample!r}."
        )
    if not 0 <= min_agreement <= 1:
        raise InputError(f"min_agreement must be between 0 and 1 (e.g. 0.99); got {min_agreement}.")
    with ann.threads(threads):  # None: the budget in force
        return _prdc_result(
            r,
            f,
            k,
            chosen,
            reason,
            bootstrap,
            confidence,
            seed,
            memory_mb,
            n_lists,
            n_probe,
            int(agreement_sample),
            min_agreement,
            engine,
        )


def _prdc_result(
    r: np.ndarray,
    f: np.ndarray,
    k: int,
    method: str,
    reason: str,
    bootstrap: int,
    confidence: float,
    seed: int,
    memory_mb: float,
    n_lists: int | None,
    n_probe: int,
    agreement_sample: int,
    min_agreement: float,
    engine: str = "local",
) -> PRDCResult:
    n, m = r.shape[0], f.shape[0]
    approximation: dict[str, Any] | None = None
    if method == "exact":
        r2 = kth_neighbour_distances(r, k, squared=True, memory_mb=memory_mb, engine=engine)
        s2 = kth_neighbour_distances(f, k, squared=True, memory_mb=memory_mb, engine=engine)
    else:
        t0 = time.perf_counter()
        part, r_lab, f_lab = _partition(r, f, n_lists, n_probe, seed, memory_mb)
        t1 = time.perf_counter()
        r2 = ann.kth_neighbour_distances(r, k, part, labels=r_lab, squared=True, memory_mb=memory_mb)
        s2 = ann.kth_neighbour_distances(f, k, part, labels=f_lab, squared=True, memory_mb=memory_mb)
        t2 = time.perf_counter()
        approximation = {
            "n_lists": part.n_lists,
            "n_probe": part.n_probe,
            "seed": part.seed,
            "seconds": {"partition": round(t1 - t0, 3), "radii": round(t2 - t1, 3)},
        }
    zero_r, zero_f = int((r2 == 0).sum()), int((s2 == 0).sum())
    if zero_r or zero_f:
        warnings.warn(
            f"{zero_r} real and {zero_f} synthetic point(s) have {k} or more exact duplicates, so their "
            "k-NN radius is 0 and their ball is empty (such real points count as uncovered). "
            "Deduplicate the embeddings (e.g. drop repeated texts) for meaningful coverage.",
            WorkbenchWarning,
            stacklevel=3,
        )
    if approximation is None:
        pairs = ball_pairs(r, f, r2, s2, squared=True, memory_mb=memory_mb, engine=engine)
    else:
        t2 = time.perf_counter()
        pairs = ann.ball_pairs(r, f, r2, s2, part, x_labels=r_lab, y_labels=f_lab, squared=True, memory_mb=memory_mb)
        approximation["seconds"]["pairs"] = round(time.perf_counter() - t2, 3)
    real_ball_count = np.bincount(pairs.x_ball_rows, minlength=n)
    synthetic_ball_count = np.bincount(pairs.x_ball_cols, minlength=m)
    real_in_fake = np.zeros(n, dtype=bool)
    real_in_fake[pairs.y_ball_rows] = True
    result = PRDCResult(
        k=k,
        precision=float((synthetic_ball_count > 0).mean()),
        recall=float(real_in_fake.mean()),
        density=float(synthetic_ball_count.sum() / (k * m)),
        coverage=float((real_ball_count > 0).mean()),
        real_radius=np.sqrt(r2),
        synthetic_radius=np.sqrt(s2),
        real_covered=real_ball_count > 0,
        real_in_synthetic_manifold=real_in_fake,
        real_ball_count=real_ball_count,
        synthetic_in_real_manifold=synthetic_ball_count > 0,
        synthetic_ball_count=synthetic_ball_count,
        expected_coverage=expected_coverage(n, m, k),
        method=method,
        method_reason=reason,
        approximation=approximation,
    )
    if approximation is not None and agreement_sample:
        t3 = time.perf_counter()
        result.agreement = measure_agreement(
            r, f, result, agreement_sample, seed=seed, min_agreement=min_agreement, memory_mb=memory_mb
        )
        approximation["seconds"]["agreement"] = round(time.perf_counter() - t3, 3)
        if result.low_agreement:
            warnings.warn(result.method_note(), WorkbenchWarning, stacklevel=3)
    if bootstrap:
        result.ci = result.bootstrap(bootstrap, confidence=confidence, seed=seed)
        result.confidence = confidence
    return result


def prdc(
    real: Any,
    fake: Any,
    k: int = 5,
    *,
    bootstrap: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    memory_mb: float = DEFAULT_MEMORY_MB,
    method: str = "auto",
    **approximate: Any,
) -> dict[str, Any]:
    """`{"precision", "recall", "density", "coverage"}` of Naeem et al. 2020 (Euclidean distance).

    Precision: share of synthetic points inside some real k-NN ball (fidelity). Recall: share of
    real points inside some synthetic k-NN ball. Density: how many real balls contain a synthetic
    point, averaged and divided by k (about 1 for same-distribution data). Coverage: share of real
    points whose own k-NN ball contains a synthetic point (about 1 - 2^-k for same-distribution
    data; the diversity measure this module is about). With `bootstrap=B` the dict also has
    `ci`: {metric: (low, high)}. See `prdc_result` for per-example flags, `method` and the
    approximate path's settings (`**approximate`: exact_budget_s, n_lists, n_probe,
    agreement_sample, min_agreement, threads).
    """
    res = prdc_result(
        real,
        fake,
        k,
        bootstrap=bootstrap,
        confidence=confidence,
        seed=seed,
        memory_mb=memory_mb,
        method=method,
        **approximate,
    )
    out: dict[str, Any] = res.metrics()
    if res.ci is not None:
        out["ci"] = res.ci
    return out
