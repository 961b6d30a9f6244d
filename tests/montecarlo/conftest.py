"""Fixtures of the Monte Carlo tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def fresh_draws(monkeypatch) -> list:
    """The batches (n, ·) that every fit's fresh_points(step) hands DeepXDE, in order (hjb.nn.pinn_fit.fit spied)."""
    import hjb.nn.pinn_fit as pinn_fit

    drawn, original = [], pinn_fit.fit

    def spy(*args, fresh_points=None, **kwargs):
        def draw(step):
            drawn.append(fresh_points(step))
            return drawn[-1]

        return original(*args, fresh_points=draw, **kwargs)

    monkeypatch.setattr(pinn_fit, "fit", spy)
    return drawn
