"""The one module that imports DeepXDE: it selects the PyTorch backend before DeepXDE's first import.

Importing hjb does not import DeepXDE; `dde` below is loaded on first attribute access.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys

from hjb.errors import BackendError

_BACKEND = "pytorch"
_loaded = None


def load_deepxde():
    """Import DeepXDE on the PyTorch backend in float64; raise BackendError if another backend is loaded."""
    global _loaded
    if _loaded is not None:
        return _loaded
    if "deepxde" in sys.modules:
        name = getattr(sys.modules["deepxde"].backend, "backend_name", None)
        if name != _BACKEND:
            raise BackendError(
                f"DeepXDE is already loaded with backend {name!r}; hjb needs 'pytorch' "
                "(set DDE_BACKEND=pytorch before importing deepxde)"
            )
    else:
        requested = os.environ.get("DDE_BACKEND", _BACKEND)
        if requested != _BACKEND:
            raise BackendError(f"DDE_BACKEND is {requested!r}; hjb needs 'pytorch'")
        os.environ["DDE_BACKEND"] = _BACKEND
    # DeepXDE prints its backend banner on import; keep the import quiet.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import deepxde

        deepxde.config.set_default_float("float64")
    _loaded = deepxde
    return deepxde


class _LazyDeepXDE:
    def __getattr__(self, item):
        return getattr(load_deepxde(), item)


dde = _LazyDeepXDE()


def quiet():
    """A context that swallows what DeepXDE prints to stdout (compile and training banners)."""
    return contextlib.redirect_stdout(io.StringIO())
