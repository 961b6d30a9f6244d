"""Shared fixtures: numpy floating-point errors raise (so a silent NaN/overflow fails a test)."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _strict_numpy():
    """np.seterr(all="raise") for the duration of each test (torch and scipy run clean under it), then restore."""
    old = np.seterr(all="raise")
    try:
        yield
    finally:
        np.seterr(**old)

