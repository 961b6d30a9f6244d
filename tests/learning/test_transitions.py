"""Transitions (hjb.learning.transitions): validation with one-line errors, the .npz round trip, and
collect_transitions' count, bounds and uniform exploration."""
import numpy as np
import pytest

from hjb.errors import ProblemError, ShapeError
from hjb.geometry.box import Box
from hjb.learning.environment import Environment
from hjb.learning.transitions import (
    Transitions,
    collect_transitions,
    load_transitions,
    save_transitions,
)

N = 1000


def arrays(n=N, d=2, m=1, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(size=(n, d)), "a": rng.uniform(-1, 1, size=(n, m)), "r": rng.normal(size=n),
            "x_next": rng.normal(size=(n, d)), "dt": np.full(n, 0.01)}


def drifting_env(low=(-2.0, 0.0), high=(2.0, 1.0)) -> Environment:
    """x' = x + a₀·dt, r = a₁: a deterministic 1-D environment with two actions, stepping a counter of calls."""
    calls = []

    def step(x, a, dt, rng):
        calls.append(len(x))
        return x + a[:, :1] * dt, a[:, 1]

    env = Environment(name="drift", reset=lambda n, rng: rng.uniform(-1, 1, size=(n, 1)), step=step, dt=0.1,
                      discount=1.0, domain=Box(-1, 1), action_low=low, action_high=high)
    env.calls = calls
    return env


def test_valid_transitions_are_float64_read_only_with_a_scalar_dt_broadcast():
    data = arrays()
    data["dt"] = 0.05
    data["x"] = data["x"].astype(np.float32)
    t = Transitions(**data)
    assert (len(t), t.state_dim, t.action_dim) == (N, 2, 1)
    assert t.x.dtype == np.float64 and t.dt.shape == (N,) and np.all(t.dt == 0.05)
    with pytest.raises(ValueError):
        t.r[0] = 1.0


@pytest.mark.parametrize("key, shape", [("a", (N - 1, 1)), ("r", (N, 2)), ("x_next", (N, 3)), ("dt", (N - 1,)),
                                        ("x", (N, 2, 1))])
def test_mismatched_shapes_raise_shape_error_naming_every_array(key, shape):
    data = arrays()
    data[key] = np.zeros(shape)
    with pytest.raises(ShapeError) as info:
        Transitions(**data)
    message = str(info.value)
    assert "\n" not in message and f"{key} {shape}" in message
    assert all(f"{name} " in message for name in ("x", "a", "r", "x_next", "dt"))


@pytest.mark.parametrize("key", ["x", "a", "r", "x_next", "dt"])
def test_nan_or_inf_names_the_array_and_counts_rows(key):
    data = arrays()
    data[key] = data[key].copy()
    data[key][[3, 10, 700]] = [np.nan, np.inf, -np.inf] if data[key].ndim == 1 else np.nan
    with pytest.raises(ProblemError, match=rf"^transitions contain NaN/inf in '{key}' \(3 of {N} rows\)$"):
        Transitions(**data)


@pytest.mark.parametrize("dt", [0.0, -0.1, np.array([0.01] * (N - 1) + [0.0])])
def test_non_positive_dt_is_refused(dt):
    data = arrays()
    data["dt"] = dt
    with pytest.raises(ProblemError, match="dt > 0; 1 of|dt > 0; 1000 of"):
        Transitions(**data)


def test_empty_and_non_numeric_transitions_are_refused():
    with pytest.raises(ProblemError, match="no rows"):
        Transitions(**arrays(n=0))
    data = arrays()
    data["r"] = ["a"] * N
    with pytest.raises(ProblemError, match="'r' must be numeric"):
        Transitions(**data)


def test_npz_round_trip_is_exact_and_1d_states_and_actions_are_columns(tmp_path):
    t = Transitions(**arrays(m=2))
    path = save_transitions(tmp_path / "sub" / "data.npz", t)
    back = load_transitions(path)
    for key in ("x", "a", "r", "x_next", "dt"):
        np.testing.assert_array_equal(getattr(back, key), getattr(t, key))
    assert sorted(p.name for p in path.parent.iterdir()) == ["data.npz"]  # no temporary left behind
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.arange(5.0), a=np.ones(5), r=np.zeros(5), x_next=np.arange(5.0) + 1, dt=np.full(5, 0.1))
    loaded = load_transitions(plain)
    assert loaded.x.shape == (5, 1) and loaded.a.shape == (5, 1) and loaded.state_dim == 1


def test_a_missing_key_or_an_unreadable_file_is_one_line_listing_the_keys(tmp_path):
    path = tmp_path / "partial.npz"
    np.savez(path, x=np.zeros((3, 1)), a=np.zeros((3, 1)), r=np.zeros(3))
    with pytest.raises(ProblemError, match=r"lacks x_next, dt; expected the keys x, a, r, x_next, dt$"):
        load_transitions(path)
    (tmp_path / "junk.npz").write_text("not an archive")
    with pytest.raises(ProblemError, match="cannot read transitions") as info:
        load_transitions(tmp_path / "junk.npz")
    assert "\n" not in str(info.value)
    with pytest.raises(ProblemError, match="cannot read transitions"):
        load_transitions(tmp_path / "absent.npz")


def test_collect_returns_exactly_n_rows_in_one_step_call_per_time_step_with_actions_uniform_on_the_bounds():
    env = drifting_env()
    t = collect_transitions(env, 1234, np.random.default_rng(1), episode_steps=50)
    assert len(t) == 1234 and (t.state_dim, t.action_dim) == (1, 2)
    assert env.calls == [25] * 50  # ⌈1234/50⌉ episodes stepped together
    assert np.all(t.dt == env.dt)
    np.testing.assert_allclose(t.x_next, t.x + t.a[:, :1] * env.dt)  # each row is one real transition
    np.testing.assert_array_equal(t.r, t.a[:, 1])
    np.testing.assert_array_equal(t.x[1:50], t.x_next[:49])  # rows are episode by episode, chained
    for j, (lo, hi) in enumerate([(-2.0, 2.0), (0.0, 1.0)]):
        a = t.a[:, j]
        assert lo <= a.min() and a.max() <= hi
        counts = np.histogram(a, bins=5, range=(lo, hi))[0]
        expected = len(t) / 5
        assert np.sum((counts - expected) ** 2 / expected) < 18.5  # χ² with 4 dof, p ≈ 0.001
        assert abs(a.mean() - (lo + hi) / 2) < 4 * (hi - lo) / np.sqrt(12 * len(t))


def test_collect_refuses_an_infinite_bound_naming_the_action():
    env = drifting_env(low=(-2.0, 0.0), high=(2.0, np.inf))
    with pytest.raises(ProblemError, match=r"infinite bound on action 'a1'.*explore uniformly on the bounds.*finite"):
        collect_transitions(env, 10, np.random.default_rng(0))
    with pytest.raises(ProblemError, match="positive integer"):
        collect_transitions(drifting_env(), 0, np.random.default_rng(0))
