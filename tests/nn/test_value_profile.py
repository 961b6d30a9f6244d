"""The power-law output profile of the value network on log boxes, V = offset + scale·m(x)·N with
m(x) = Π (x_j/c_j)^{b_j}: its derivatives (through the profile) against finite differences, rescale keeping V,
the float32 twin, and run directories saved before profiles existed."""
import numpy as np
import pytest
import torch

from hjb.errors import ProblemError
from hjb.geometry import Box
from hjb.nn.value_network import ValueNetwork

LOG_BOX = Box([0.2, 0.5], [12.5, 4.0], scale="log")


def profiled() -> ValueNetwork:
    torch.manual_seed(3)
    critic = ValueNetwork(LOG_BOX, 16, 2)
    critic.set_profile(np.array([-2.0, 0.5]), np.sqrt(LOG_BOX.lo * LOG_BOX.hi))
    critic.set_output_scale(0.3, 2.0)
    return critic


def test_profile_multiplies_the_network_output_by_the_power_law():
    critic = profiled()
    x = torch.as_tensor(LOG_BOX.sample(32, "sobol", seed=0))
    layers = critic.net.linears
    with torch.no_grad():
        hidden = torch.tanh(layers[1](torch.tanh(layers[0](critic.net._input_transform(x)))))
        plain = 0.3 + 2.0 * layers[2](hidden)[:, 0]
    centre = np.sqrt(LOG_BOX.lo * LOG_BOX.hi)
    m = (x[:, 0] / centre[0]) ** -2.0 * (x[:, 1] / centre[1]) ** 0.5
    # V − offset = scale·m·N: with N from the layers by hand, independent of the output transform
    np.testing.assert_allclose(critic.value(x) - 0.3, m * (plain - 0.3), rtol=1e-12)
    np.testing.assert_allclose(critic.profile(x), m, rtol=1e-12)
    np.testing.assert_allclose(critic.magnitude(x), 2.0 * m, rtol=1e-12)


def test_derivatives_include_the_profile_and_match_finite_differences():
    critic = profiled()
    x = torch.as_tensor(LOG_BOX.sample(8, "sobol", seed=1))
    _, dV, d2V = critic.derivatives(x)
    h = 1e-5
    for j in range(2):
        e = torch.zeros(2, dtype=torch.float64)
        e[j] = h
        fd = (critic.value(x + e) - critic.value(x - e)) / (2 * h)
        np.testing.assert_allclose(dV[:, j], fd, rtol=1e-6, atol=1e-9)
        fd2 = (critic.gradient(x + e) - critic.gradient(x - e)) / (2 * h)
        np.testing.assert_allclose(d2V[:, :, j], fd2, rtol=1e-5, atol=1e-8)


def test_rescale_keeps_v_and_refuses_a_new_offset_with_a_profile():
    critic = profiled()
    x = torch.as_tensor(LOG_BOX.sample(16, "sobol", seed=2))
    before = critic.value(x).clone()
    critic.rescale(0.3, 7.0)
    np.testing.assert_allclose(critic.value(x), before, rtol=1e-12)
    assert critic.scale == 7.0
    with pytest.raises(ProblemError, match="keeps its offset"):
        critic.rescale(1.0, 7.0)


def test_twin_and_saved_states_keep_the_profile():
    critic = profiled()
    x = torch.as_tensor(LOG_BOX.sample(16, "sobol", seed=4))
    twin = critic.single_precision()
    error = float((twin.value(x) - critic.value(x)).abs().max() / critic.value(x).abs().max())
    assert 0 < error < 1e-5
    copy = ValueNetwork(LOG_BOX, 16, 2)
    copy.load_state(critic.state())
    assert copy.profiled
    np.testing.assert_allclose(copy.value(x), critic.value(x), rtol=1e-12)
    # a state saved before profiles existed (no v_power, v_centre) loads as an unprofiled network
    old = {k: v for k, v in critic.state().items() if k not in ("v_power", "v_centre")}
    legacy = ValueNetwork(LOG_BOX, 16, 2)
    legacy.load_state(old)
    assert not legacy.profiled
    np.testing.assert_allclose(legacy.profile(x), np.ones(16))


def test_a_profile_needs_a_log_box():
    with pytest.raises(ProblemError, match="log-scale"):
        ValueNetwork(Box(-1.0, 1.0), 4, 1).set_profile(np.array([1.0]), np.array([1.0]))
