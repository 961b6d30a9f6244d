"""Component names (hjb.pdes.names): defaults x0…/a0…, checked at construction in one line, and carried into the CSV
header, the netCDF dimensions and coordinates, the export meta and the plot axes of every kind of problem."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import xarray as xr
from tiny_solver import hand_built

from hjb.errors import ProblemError
from hjb.geometry.box import Box
from hjb.geometry.spacetime import SpaceTime
from hjb.io.export import export_grid
from hjb.io.export_points import export_at, export_slice
from hjb.io.plots import comparison_figure, plot_grid, policy_figure, value_figure
from hjb.pdes import ControlProblem, Merton, StochasticLQR, seed_lqr
from hjb.pdes.finite_horizon import FiniteHorizonProblem
from hjb.pdes.names import component_names
from hjb.pdes.residual_pde import ResidualPDE
from hjb.settings import ResidualSettings
from hjb.solvers.residual import ResidualSolution, residual_network


def _zero(x, a):
    return torch.zeros(x.shape[0], 1, dtype=x.dtype)


def _control(**names) -> ControlProblem:
    return ControlProblem(name="named", drift=lambda x, a: -x + a, diffusion=lambda x, a: 0.3 * x.unsqueeze(-1),
                          reward=_zero, discount=0.1, domain=Box([-1.0, -1.0], [1.0, 1.0]), action_dim=2, **names)


def _finite(**names) -> FiniteHorizonProblem:
    return FiniteHorizonProblem(name="timed", drift=lambda x, a, t: a, diffusion=lambda x, a, t: x.unsqueeze(-1),
                                reward=lambda x, a, t: torch.zeros(len(x), 1, dtype=x.dtype),
                                terminal=lambda x: torch.zeros(len(x), 1, dtype=x.dtype), horizon=1.0,
                                domain=Box([0.0], [1.0]), action_dim=1, **names)


@pytest.fixture(scope="module")
def merton():
    return hand_built(Merton())


@pytest.fixture(scope="module")
def lqr2d():
    return hand_built(StochasticLQR(A=-np.eye(2), B=np.eye(2), Q=np.eye(2), R=np.eye(2), D=0.3 * np.eye(2),
                                    discount=0.1, name="lqr2d", state_names=("position", "speed"),
                                    action_names=("push", "steer")))


def test_every_kind_defaults_to_x0_and_a0_and_describes_its_names():
    lqr, control, finite = seed_lqr(), _control(), _finite()
    assert (lqr.state_names, lqr.action_names) == (("x0",), ("a0",))
    assert (control.state_names, control.action_names) == (("x0", "x1"), ("a0", "a1"))
    assert (finite.state_names, finite.action_names) == (("x0",), ("a0",))
    pde = ResidualPDE(name="heat", residual=lambda x, u, D: D.dt() - D.dxx(0, 0), domain=SpaceTime(Box(0.0, 1.0), 1.0))
    assert pde.state_names == ("x0",) and pde.describe()["state_names"] == ["x0"]
    named = _finite(state_names=["level"], action_names=("rate",))
    assert named.state_names == ("level",) and named.describe()["action_names"] == ["rate"]
    assert control.describe()["state_names"] == ["x0", "x1"]


def test_merton_names_its_wealth_and_its_two_actions():
    problem = Merton()
    assert problem.state_names == ("wealth",) and problem.action_names == ("pi", "consumption_rate")
    x = torch.tensor([[1.0]], dtype=torch.float64)
    # action 0 is π: it alone scales the noise πσx; action 1 is the consumption rate k: it alone lowers the drift
    assert problem.diffusion(x, torch.tensor([[0.5, 0.0]], dtype=torch.float64)).item() == pytest.approx(0.5 * 0.2)
    assert problem.drift(x, torch.tensor([[0.0, 0.01]], dtype=torch.float64)).item() == pytest.approx(0.03 - 0.01)


BAD_NAMES = [
    ({"state_names": ("x",)}, "state_names must hold 2 name(s), one per component; got 1: ['x']"),
    ({"state_names": ("p", "p")}, "state_names repeats 'p'; expected 2 different names"),
    ({"state_names": ("p", "")}, "state_names[1] = '' is not a name; expected a non-empty string"),
    ({"state_names": ("p", 3)}, "state_names[1] = 3 is not a name"),
    ({"state_names": ("p", "q r")}, "state_names[1] = 'q r' is not a name"),
    ({"state_names": "pq"}, "state_names must be a sequence of 2 names; got 'pq'"),
    ({"action_names": ("value", "b")}, "action_names[0] = 'value' is reserved for the exports"),
    ({"state_names": ("t", "q")}, "state_names[0] = 't' is reserved for the exports"),
    ({"state_names": ("p", "q"), "action_names": ("q", "b")}, "state_names and action_names share 'q'"),
]


@pytest.mark.parametrize(("names", "message"), BAD_NAMES)
def test_bad_names_are_refused_at_construction_in_one_line(names, message):
    with pytest.raises(ProblemError) as exc:
        _control(**names)
    assert str(exc.value).startswith(message) and "\n" not in str(exc.value)


def test_bad_names_of_a_finite_horizon_problem_and_a_residual_pde():
    with pytest.raises(ProblemError, match=r"action_names must hold 1 name\(s\)"):
        _finite(action_names=("a", "b"))
    with pytest.raises(ProblemError, match="state_names\\[0\\] = 'residual' is reserved"):
        ResidualPDE(name="p", residual=lambda x, u, D: D.dxx(0, 0), domain=Box(0.0, 1.0), state_names=("residual",))
    assert component_names(None, 3, "a", "action_names") == ("a0", "a1", "a2")


def test_merton_csv_header_netcdf_coords_and_meta_use_its_names(tmp_path, merton):
    lines = export_grid(merton, 4, "csv", tmp_path / "grid.csv").read_text().splitlines()
    assert lines[1] == "wealth,value,pi,consumption_rate,hjb_residual"
    meta = json.loads(lines[0][len("# meta: "):])
    assert meta["state_names"] == ["wealth"] and meta["action_names"] == ["pi", "consumption_rate"]
    with xr.open_dataset(export_grid(merton, 5, "netcdf", tmp_path / "grid.nc"), engine="scipy") as ds:
        assert dict(ds.sizes) == {"wealth": 5, "action": 2} and ds["policy"].dims == ("wealth", "action")
        assert list(ds["action"].values) == ["pi", "consumption_rate"]
        np.testing.assert_allclose(ds["wealth"].values, merton.problem.domain.grid(5)[:, 0])
        x = merton.problem.domain.grid(5)
        np.testing.assert_allclose(ds["policy"].sel(action="consumption_rate").values, merton.action(x)[:, 1])
    with np.load(export_grid(merton, 4, "npz", tmp_path / "grid.npz")) as data:  # the npz keys stay, names in meta
        assert sorted(data.files) == ["hjb_residual", "meta", "policy", "value", "x"]
        assert json.loads(str(data["meta"]))["action_names"] == ["pi", "consumption_rate"]


def test_points_and_slices_are_labelled_by_the_names(tmp_path, lqr2d):
    points = np.array([[0.1, -0.2], [1.0, 0.5]])
    lines = export_at(lqr2d, points, "csv", tmp_path / "at.csv").read_text().splitlines()
    assert lines[1] == "position,speed,value,push,steer,hjb_residual"
    with xr.open_dataset(export_at(lqr2d, points, "netcdf", tmp_path / "at.nc"), engine="scipy") as ds:
        np.testing.assert_array_equal(ds["speed"].values, points[:, 1])
        assert list(ds["action"].values) == ["push", "steer"]
    with xr.open_dataset(export_slice(lqr2d, "1,0", "netcdf", tmp_path / "s.nc", points_per_axis=3),
                         engine="scipy") as ds:
        assert ds["value"].dims == ("speed", "position") and ds["policy"].dims == ("speed", "position", "action")
        assert json.loads(ds.attrs["meta"])["order"] == "speed slowest, then position"
    with pytest.raises(ProblemError, match=r"expected d = 2 columns \(position..speed;"):
        export_at(lqr2d, np.zeros((2, 3)), "npz", tmp_path / "bad.npz")


def test_plot_axes_and_action_panels_carry_the_names(merton, lqr2d):
    value = value_figure(merton)
    assert value.axes[0].get_xlabel() == "wealth"
    policy = policy_figure(merton)
    assert policy.axes[0].get_xlabel() == "wealth"
    assert [t.get_text() for t in policy.axes[0].get_legend().get_texts()] == ["pi", "consumption_rate"]
    maps = policy_figure(lqr2d)
    panels = [ax for ax in maps.axes if ax.get_title()]  # the colour bars have no title
    assert [ax.get_title() for ax in panels] == ["push", "steer"]
    assert {(ax.get_xlabel(), ax.get_ylabel()) for ax in panels} == {("position", "speed")}
    grid = plot_grid(merton.problem.domain, names=merton.problem.state_names)
    x = grid.x
    compared = comparison_figure(grid, merton.action(x), merton.action(x), "a", "policy", merton.problem.action_names)
    legends = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in compared.axes]
    assert legends == [["pi solver", "pi closed form"], ["consumption_rate solver", "consumption_rate closed form"]]
    assert plot_grid(Box(0.0, 1.0)).xlabel == "x"  # a box without a problem keeps the old label


def test_a_residual_pde_exports_its_state_names_and_keeps_t(tmp_path):
    torch.manual_seed(0)
    pde = ResidualPDE(name="heat", residual=lambda x, u, D: D.dt() - D.dxx(0, 0),
                      domain=SpaceTime(Box(0.0, 1.0), 1.0), state_names=("rod",))
    settings = ResidualSettings()
    solution = ResidualSolution(pde, residual_network(pde, settings), [], settings, "not_converged")
    points = np.array([[0.25, 0.0], [0.75, 0.5]])
    lines = export_at(solution, points, "csv", tmp_path / "at.csv").read_text().splitlines()
    assert lines[1] == "t,rod,u,residual"
    meta = json.loads(lines[0][len("# meta: "):])
    assert meta["state_names"] == ["rod"] and "action_names" not in meta
    with xr.open_dataset(export_grid(solution, 3, "netcdf", tmp_path / "grid.nc", times=2), engine="scipy") as ds:
        assert ds["u"].dims == ("t", "rod") and "policy" not in ds
        np.testing.assert_allclose(ds["rod"].values, [0.0, 0.5, 1.0])


def test_the_factories_and_the_diffusion_model_take_names():
    """finite_horizon_lqr, periodic_lqr, hopf_lax, hjb_lqg and DiffusionModel pass state and action names through;
    a wrong count is refused as for any problem."""
    from hjb.pdes.data_laws import GaussianMixture
    from hjb.pdes.diffusion_model import DiffusionModel
    from hjb.pdes.hjb_lqg import hjb_lqg
    from hjb.pdes.hopf_lax import hopf_lax
    from hjb.pdes.noising import VPNoising
    from hjb.pdes.timed_lqr import finite_horizon_lqr, periodic_lqr

    one = np.eye(1)
    names = {"state_names": ["position"], "action_names": ["push"]}
    problems = [finite_horizon_lqr(one, one, one, one, one, one, horizon=1.0, **names),
                periodic_lqr(one, one, one, one, one, discount=0.5, **names),
                hopf_lax(dim=1, **names), hjb_lqg(dim=1, **names),
                DiffusionModel(GaussianMixture([1.0], [[0.0]], [[[1.0]]]), VPNoising(), **names)]
    for problem in problems:
        assert (problem.state_names, problem.action_names) == (("position",), ("push",)), problem.name
    with pytest.raises(ProblemError, match="state_names"):
        hopf_lax(dim=2, state_names=["only_one"])
