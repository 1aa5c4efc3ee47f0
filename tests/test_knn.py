"""The exact nearest-neighbour kernel against brute-force numpy and scikit-learn, in both screens."""

from __future__ import annotations

import numpy as np
import pytest

from workbench import knn
from workbench.errors import InputError
from workbench.prdc import prdc


@pytest.fixture(params=["float32", "bfloat16"])
def each_screen(request, monkeypatch):
    """Run a test once with each screening precision (bfloat16 only where this machine does it soundly)."""
    monkeypatch.setenv("WORKBENCH_PRDC_SCREEN", request.param)
    return request.param


def _distances(x, y):
    x64, y64 = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return np.sqrt(((x64[:, None] - y64[None]) ** 2).sum(-1))


def _data(n, m, d, seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(n, d)) + 20).astype(dtype)  # far from the origin: centring matters
    y = (rng.normal(size=(m, d)) * 1.1 + 20.2).astype(dtype)
    return x, y


def test_the_environment_variable_forces_the_screen(monkeypatch):
    monkeypatch.setenv("WORKBENCH_PRDC_SCREEN", "float32")
    assert knn._choose_screen(32).dtype == "float32"
    monkeypatch.setenv("WORKBENCH_PRDC_SCREEN", "bfloat16")
    sound, _ = knn._bfloat16_soundness(32)
    assert knn._choose_screen(32).dtype == ("bfloat16" if sound else "float32")


@pytest.mark.parametrize(
    ("n", "d", "k", "dtype"), [(300, 8, 5, np.float32), (200, 384, 3, np.float32), (150, 16, 1, np.float64)]
)
def test_kth_neighbour_distances_equal_brute_force(each_screen, n, d, k, dtype):
    x, _ = _data(n, 1, d, seed=n, dtype=dtype)
    x[10:16] = x[9]  # a point with k or more duplicates: radius 0
    want = np.sort(_distances(x, x), axis=1)[:, k]
    got = knn.kth_neighbour_distances(x, k)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert np.all(got[9:16] == 0)  # seven copies: six duplicates each
    np.testing.assert_allclose(knn.kth_neighbour_distances(x, k, squared=True), want**2, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize(("n", "m", "d", "k"), [(120, 300, 8, 1), (200, 150, 64, 5), (50, 400, 384, 10)])
def test_nearest_equals_sklearn(each_screen, n, m, d, k):
    from sklearn.neighbors import NearestNeighbors

    x, y = _data(n, m, d, seed=d)
    dist, idx = knn.nearest(x, y, k)
    ref = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(y.astype(np.float64))
    ref_dist, ref_idx = ref.kneighbors(x.astype(np.float64))
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-9)
    np.testing.assert_allclose(dist, np.take_along_axis(_distances(x, y), idx, axis=1), rtol=1e-12)
    assert np.all(np.diff(dist, axis=1) >= 0)


def test_nearest_breaks_ties_by_index_and_finds_itself(each_screen):
    grid = np.array([[i, j] for i in range(6) for j in range(6)], dtype=np.float64)
    query = np.array([[2.5, 2.5], [0.0, 0.0]])
    dist, idx = knn.nearest(query, grid, 4)
    # (2.5, 2.5) has four neighbours at exactly the same distance: in index order
    assert idx[0].tolist() == [14, 15, 20, 21] and np.all(dist[0] == dist[0, 0])
    assert idx[1].tolist() == [0, 1, 6, 7] and dist[1, 0] == 0
    self_dist, self_idx = knn.nearest(grid, grid, 1)
    assert np.all(self_dist == 0) and self_idx[:, 0].tolist() == list(range(36))
    empty_d, empty_i = knn.nearest(np.zeros((0, 2)), grid, 2)
    assert empty_d.shape == (0, 2) and empty_i.shape == (0, 2)


def test_count_within_and_ball_pairs_equal_brute_force(each_screen):
    rng = np.random.default_rng(3)
    # small integers: every squared distance is exact, so radii equal to a distance are exact ties
    x = (rng.integers(-4, 5, size=(250, 16)) + 20).astype(np.float32)
    y = (rng.integers(-4, 5, size=(220, 16)) + 20).astype(np.float32)
    y[:15] = x[:15]  # exact duplicates across the sets: distance 0 sits on every boundary
    d = _distances(x, y)
    rx = np.sort(d, axis=1)[:, 4]  # radii exactly equal to a distance: strict inequality excludes it
    ry = np.sort(d, axis=0)[2, :]
    np.testing.assert_array_equal(knn.count_within(x, y, rx), (d < rx[:, None]).sum(1))
    pairs = knn.ball_pairs(x, y, rx, ry)
    inside_x = np.zeros_like(d, dtype=bool)
    inside_x[pairs.x_ball_rows, pairs.x_ball_cols] = True
    np.testing.assert_array_equal(inside_x, d < rx[:, None])
    inside_y = np.zeros_like(d, dtype=bool)
    inside_y[pairs.y_ball_rows, pairs.y_ball_cols] = True
    np.testing.assert_array_equal(inside_y, d < ry[None, :])
    assert knn.ball_pairs(x, y, rx).y_ball_rows.size == 0
    zero = knn.count_within(x, y, np.zeros(len(x)))
    assert not zero.any()  # a ball of radius 0 holds nothing, not even an identical point


def test_squared_radii_compare_exactly():
    x, y = _data(200, 180, 12, seed=4)
    r2 = knn.kth_neighbour_distances(x, 3, squared=True)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    d2 = ((x64[:, None] - y64[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(knn.count_within(x, y, r2, squared=True), (d2 < r2[:, None]).sum(1))


def test_radius_threshold_is_exact_in_squared_space():
    # `e < t` must hold exactly when `sqrt(e) < r`: a point at exactly distance r stays outside
    rng = np.random.default_rng(6)
    r = np.abs(rng.normal(size=20_000)) * rng.choice([1e-3, 1.0, 1e3], 20_000)
    t = knn._squared_threshold(r)
    e = r * r
    for _ in range(3):
        for v in (e, t, np.nextafter(t, 0.0)):
            np.testing.assert_array_equal(v < t, np.sqrt(v) < r)
        e = np.nextafter(e, np.inf)
    assert knn._squared_threshold(np.array([0.0, -1.0, np.inf])).tolist() == [0.0, 0.0, np.inf]


def test_thread_setting_is_restored_and_results_do_not_depend_on_it():
    import torch

    x, y = _data(400, 300, 32, seed=5)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        two = knn.nearest(x, y, 3)
        assert torch.get_num_threads() == 2
        torch.set_num_threads(1)
        one = knn.nearest(x, y, 3)
    finally:
        torch.set_num_threads(before)
    np.testing.assert_array_equal(two[1], one[1])
    np.testing.assert_array_equal(two[0], one[0])


def test_bad_input_names_the_problem():
    ok = np.random.default_rng(0).normal(size=(20, 4))
    with pytest.raises(InputError, match="different dimensions"):
        knn.nearest(ok, ok[:, :3])
    with pytest.raises(InputError, match="need at least 21 rows"):
        knn.nearest(ok, ok, 21)
    with pytest.raises(InputError, match="besides the row itself"):
        knn.kth_neighbour_distances(ok, 20)
    with pytest.raises(InputError, match="positive integer"):
        knn.kth_neighbour_distances(ok, 0)
    bad = ok.copy()
    bad[2, 1] = np.nan
    with pytest.raises(InputError, match=r"NaN or inf in 1 row\(s\) \(rows 2\)"):
        knn.nearest(bad, ok)
    with pytest.raises(InputError, match="one radius per row"):
        knn.count_within(ok, ok, np.ones(3))
    with pytest.raises(InputError, match="memory_mb"):
        knn.nearest(ok, ok, memory_mb=0)
    with pytest.raises(InputError, match="2-D"):
        knn.nearest(ok[0], ok)


# --- the screen ----------------------------------------------------------------------------------


def test_small_memory_budget_gives_same_result_in_small_blocks(monkeypatch):
    rng = np.random.default_rng(3)
    real = rng.normal(size=(300, 16)).astype(np.float32)
    fake = rng.normal(size=(260, 16)).astype(np.float32)
    block_sizes = []
    original = knn._Side.left

    def spy(self, s, e):
        block_sizes.append(e - s)
        return original(self, s, e)

    monkeypatch.setattr(knn._Side, "left", spy)
    small = prdc(real, fake, memory_mb=0.05)
    assert max(block_sizes) <= 16  # never a whole n x m matrix at this budget
    assert small == prdc(real, fake)
    d_small, i_small = knn.nearest(fake, real, 3, memory_mb=0.05)
    d_big, i_big = knn.nearest(fake, real, 3)
    np.testing.assert_array_equal(i_small, i_big)
    np.testing.assert_array_equal(d_small, d_big)


@pytest.mark.parametrize("screen", ["float32", "bfloat16", "bfloat16-nearest"])
def test_screening_error_bound_holds(screen):
    # the screen must never be further from the exact squared distance than its bound
    sound, nearest = knn._bfloat16_soundness(96)
    if (screen != "float32" and not sound) or (screen == "bfloat16-nearest" and not nearest):
        pytest.skip("this machine's bfloat16 product does not qualify; prdc uses the float32 screen")
    rng = np.random.default_rng(11)
    x = (rng.normal(size=(200, 96)) * rng.uniform(0.01, 10, size=(200, 1)) + 50).astype(np.float32)
    centre = x.mean(axis=0, dtype=np.float64)
    sc = {
        "float32": knn._float32_screen(96),
        "bfloat16": knn._bfloat16_screen(96),
        "bfloat16-nearest": knn._bfloat16_screen(96, round_to_nearest=True),
    }[screen]
    side = knn._prepare(x, centre, sc)
    screened = (side.left(0, 200) @ side.right.T).double().numpy()
    x64 = x.astype(np.float64)
    exact = ((x64[:, None] - x64[None]) ** 2).sum(-1)
    err = sc.coef * (side.norm[:, None] + side.norm[None, :]) ** 2
    assert np.all(np.abs(screened - exact) <= err + sc.u_out * np.abs(screened) / (1 - sc.u_out))
    assert np.all(sc.upper(screened, err) >= exact)
    # a pair whose exact distance is under a threshold always screens under `up` of it
    thr = np.quantile(exact, 0.1, axis=1)[:, None]
    assert np.all(screened[exact <= thr] <= np.broadcast_to(sc.up(thr, err), exact.shape)[exact <= thr])
    # and the bound is not so loose that everything is recomputed
    assert np.median(err / np.maximum(exact, 1e-12)) < (1e-3 if screen == "float32" else 0.05)
    if screen != "float32":  # and it is a bound, not a guess: the worst case uses most of it
        assert np.max(np.abs(screened - exact) / (err + sc.u_out * np.abs(screened))) > 0.05
