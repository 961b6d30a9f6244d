"""hjb.geometry: boxes, their point sets and residual-weighted picks."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hjb.errors import ProblemError, UnknownNameError
from hjb.geometry import Box, residual_weighted_pick, unit_grid, unit_points

# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "lo, hi",
    [(1.0, 1.0), (2.0, 1.0), ([0.0, 0.0], [1.0, 0.0]), ([0.0, 0.0], [1.0]), (0.0, np.inf), (np.nan, 1.0),
     ([[0.0]], [[1.0]])],
    ids=["empty", "reversed", "one_axis_empty", "length_mismatch", "infinite", "nan", "2d_bounds"],
)
def test_box_rejects_bad_bounds(lo, hi):
    with pytest.raises(ProblemError):
        Box(lo, hi)


def test_box_log_scale_needs_positive_lo():
    for lo in (0.0, -1.0):
        with pytest.raises(ProblemError, match="lo > 0"):
            Box(lo, 5.0, scale="log")
    with pytest.raises(ProblemError, match="lo > 0"):
        Box([1.0, 0.0], [2.0, 2.0], scale="log")
    assert Box(0.5, 5.0, scale="log").scale == "log"


def test_box_unknown_scale():
    with pytest.raises(UnknownNameError, match="sqrt"):
        Box(0.0, 1.0, scale="sqrt")
    assert issubclass(UnknownNameError, KeyError)
    # The message is not wrapped in quotes as KeyError would do.
    try:
        Box(0.0, 1.0, scale="sqrt")
    except UnknownNameError as exc:
        assert str(exc).startswith("unknown Box scale")


def test_box_properties_and_round_trip():
    box = Box([-1.0, 0.0, 2.0], [1.0, 3.0, 2.5])
    assert box.dim == 3
    assert Box(0.5, 5.0).dim == 1
    again = Box.from_dict(box.to_dict())
    np.testing.assert_array_equal(again.lo, box.lo)
    np.testing.assert_array_equal(again.hi, box.hi)
    log = Box.from_dict(Box(0.5, 5.0, scale="log").to_dict())
    assert log.scale == "log"
    inside = np.array([[0.0, 1.0, 2.2], [1.0, 3.0, 2.5], [1.01, 1.0, 2.2], [0.0, -0.1, 2.2]])
    np.testing.assert_array_equal(box.contains(inside), [True, True, False, False])


# ---------------------------------------------------------------- sampling


@pytest.mark.parametrize("method", ["sobol", "uniform"])
@pytest.mark.parametrize("scale", ["linear", "log"])
def test_sample_inside_and_deterministic(method, scale):
    box = Box([0.5, 1.0, 2.0], [5.0, 1.5, 20.0], scale=scale)
    x = box.sample(100, method, seed=11)
    assert x.shape == (100, 3)
    assert np.all(box.contains(x))
    np.testing.assert_array_equal(x, box.sample(100, method, seed=11))
    other = box.sample(100, method, seed=12)
    assert np.abs(x - other).max() > 0.1
    # Each axis is covered: a uniform (in the box's scale) sample has mean ≈ the axis centre.
    u = (np.log(x) - np.log(box.lo)) / np.log(box.hi / box.lo) if scale == "log" else (x - box.lo) / (box.hi - box.lo)
    se = np.sqrt(1 / 12 / 100)
    assert np.all(np.abs(u.mean(axis=0) - 0.5) < 4 * se)


def test_sobol_sample_is_balanced():
    """The first 2^m scrambled-Sobol points put exactly 2^m / 2^j points in each dyadic interval of width 2^-j."""
    u = Box([0.0, 0.0], [1.0, 1.0]).sample(64, "sobol", seed=3)
    for axis in range(2):
        counts = np.bincount((u[:, axis] * 8).astype(int), minlength=8)
        np.testing.assert_array_equal(counts, np.full(8, 8))
    # n that is not a power of two: the first n of the 2^m-point set, so its leading 32 points are balanced too.
    box = Box([0.0, 0.0], [1.0, 1.0])
    v = box.sample(48, "sobol", seed=3)
    np.testing.assert_array_equal(v, u[:48])
    for axis in range(2):
        np.testing.assert_array_equal(np.bincount((v[:32, axis] * 4).astype(int), minlength=4), np.full(4, 8))


def test_sample_grid_method_rounds_up():
    box = Box([0.0, 0.0], [2.0, 1.0])
    x = box.sample(10, "grid")  # per axis ⌈√10⌉ = 4 → 16 points
    assert x.shape == (16, 2)
    np.testing.assert_allclose(np.unique(x[:, 0]), [0.0, 2 / 3, 4 / 3, 2.0])


def test_unknown_sampling_method():
    with pytest.raises(UnknownNameError, match="halton"):
        Box(0.0, 1.0).sample(10, "halton")
    with pytest.raises(UnknownNameError, match="sobol"):  # the message lists the valid choices
        unit_points(10, 2, "lhs")


def test_grid_shape_and_ordering():
    box = Box([0.0, 10.0], [1.0, 11.0])
    g = box.grid(3)
    expected = np.array([[a, b] for a in (0.0, 0.5, 1.0) for b in (10.0, 10.5, 11.0)])  # first axis slowest
    np.testing.assert_allclose(g, expected)
    g3 = Box([0.0] * 3, [1.0] * 3).grid(4)
    assert g3.shape == (64, 3)
    assert len(np.unique(g3, axis=0)) == 64
    np.testing.assert_allclose(g3[:4, 2], np.linspace(0, 1, 4))  # last axis fastest
    np.testing.assert_allclose(g3[::16, 0], np.linspace(0, 1, 4))  # first axis slowest
    np.testing.assert_allclose(unit_grid(2, 2), [[0, 0], [0, 1], [1, 0], [1, 1]])
    with pytest.raises(ProblemError):
        box.grid(1)


def test_log_scale_sampling_density():
    """Uniform in log x: the median is the geometric mean √(lo·hi), not the midpoint; log x passes a KS test."""
    box = Box(0.5, 5.0, scale="log")
    n = 4000
    x = box.sample(n, "uniform", seed=21)[:, 0]
    log_range = np.log(10.0)
    # Standard error of the sample median of log x (uniform density 1/log_range): log_range / (2√n).
    se = log_range / (2 * np.sqrt(n))
    assert abs(np.log(np.median(x)) - np.log(np.sqrt(0.5 * 5.0))) < 4 * se
    assert abs(np.median(x) - 2.75) > 1.0  # far from the linear-scale median
    u = (np.log(x) - np.log(0.5)) / log_range
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    # Same point set mapped linearly is not uniform in log x.
    lin = Box(0.5, 5.0).sample(n, "uniform", seed=21)[:, 0]
    assert stats.kstest((np.log(lin) - np.log(0.5)) / log_range, "uniform").pvalue < 1e-6


def test_from_unit_log_maps_geometric():
    box = Box([1.0, 0.1], [100.0, 10.0], scale="log")
    np.testing.assert_allclose(box.from_unit(np.array([[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]])),
                               [[1.0, 0.1], [10.0, 1.0], [100.0, 10.0]], rtol=1e-12)


def test_spread_points_include_corners():
    box = Box([-1.0, 0.0], [1.0, 2.0])
    x = box.spread_points(20, seed=1)
    assert x.shape == (20, 2)
    corners = {(-1.0, 0.0), (-1.0, 2.0), (1.0, 0.0), (1.0, 2.0)}
    assert corners <= {tuple(p) for p in x}
    assert np.all(box.contains(x))
    np.testing.assert_array_equal(x, box.spread_points(20, seed=1))
    # Too few points for the corners (2^d > n/2): only Sobol points, none a corner.
    y = box.spread_points(6, seed=1)
    assert y.shape == (6, 2) and not (corners & {tuple(p) for p in y})
    # 1-D: the two end points of the interval.
    z = Box(0.5, 5.0, scale="log").spread_points(8)
    assert {0.5, 5.0} <= set(z[:, 0].tolist()) and len(z) == 8


# ---------------------------------------------------------------- residual-weighted picks


def test_residual_weighted_pick_basic():
    cand = np.arange(40.0).reshape(20, 2)
    res = np.linspace(1.0, 2.0, 20)
    pick = residual_weighted_pick(cand, res, 8, seed=4)
    assert pick.shape == (8, 2)
    rows = {tuple(p) for p in pick}
    assert len(rows) == 8 and rows <= {tuple(c) for c in cand}  # without replacement, from the candidates
    np.testing.assert_array_equal(pick, residual_weighted_pick(cand, res, 8, seed=4))
    assert residual_weighted_pick(cand, res, 50).shape == (20, 2)  # n capped at the number of candidates
    # A zero or non-finite residual falls back to uniform picks instead of failing.
    assert residual_weighted_pick(cand, np.zeros(20), 5).shape == (5, 2)
    assert residual_weighted_pick(cand, np.full(20, np.nan), 5).shape == (5, 2)


def test_residual_weighted_pick_favours_high_residuals():
    """A single pick lands in the high-residual group with probability Σ_high|r| / Σ|r| (binomial check)."""
    cand = np.arange(100.0)[:, None]
    res = np.ones(100)
    res[:10] = -10.0  # |r| counts, sign does not
    p_high = 100.0 / 190.0
    trials = 2000
    hits = sum(residual_weighted_pick(cand, res, 1, seed=s)[0, 0] < 10 for s in range(trials))
    se = np.sqrt(p_high * (1 - p_high) / trials)
    assert abs(hits / trials - p_high) < 4 * se
    # Larger picks: the high group is over-represented relative to its 10% share of the candidates.
    picks = np.concatenate([residual_weighted_pick(cand, res, 20, seed=s)[:, 0] for s in range(200)])
    share = np.mean(picks < 10)
    assert share > 0.3
    # Zero-residual candidates are never picked while there are enough others.
    res0 = np.r_[np.zeros(50), np.ones(50)]
    assert np.all(residual_weighted_pick(cand, res0, 30, seed=1)[:, 0] >= 50)


def test_residual_weighted_pick_with_few_nonzero_residuals_still_returns_n_distinct_points():
    candidates = np.arange(10.0)[:, None]
    picks = residual_weighted_pick(candidates, np.r_[1.0, np.zeros(9)], 5, seed=0)
    assert len(np.unique(picks)) == 5 and 0.0 in picks  # the one non-zero residual is always picked


def test_integrate_is_exact_for_bilinear_functions_and_close_for_a_gaussian():
    box = Box([0.0, -1.0], [2.0, 3.0])
    assert abs(box.integrate(lambda x: 1.0 + x[:, 0] * x[:, 1], 11) - (8.0 + 2.0 * 4.0)) < 1e-12
    wide = Box([-6.0, -6.0], [6.0, 6.0])
    gauss = wide.integrate(lambda x: np.exp(-0.5 * (x**2).sum(1)) / (2 * np.pi), 201)
    assert abs(gauss - 1.0) < 1e-6
