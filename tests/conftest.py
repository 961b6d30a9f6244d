"""Shared fixtures: numpy floating-point errors raise (so a silent NaN/overflow fails a test); torch on one thread."""
from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _strict_numpy():
    """np.seterr(all="raise") for the duration of each test (torch and scipy run clean under it), then restore."""
    old = np.seterr(all="raise")
    try:
        yield
    finally:
        np.seterr(**old)



@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Small networks run fastest on one CPU thread, and two threads contend badly on a 2-core CI machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
