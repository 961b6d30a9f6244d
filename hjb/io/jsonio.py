"""Strict JSON for files hjb writes: numpy scalars and arrays become numbers and lists, NaN/±inf become null."""
from __future__ import annotations

import json
import math

import numpy as np


def plain(value):
    """A copy of value made of dict/list/str/int/float/bool/None, non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if hasattr(value, "detach") and hasattr(value, "tolist"):  # a torch tensor
        return plain(value.detach().cpu().tolist())
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(value, indent: int | None = 2) -> str:
    """JSON text of plain(value) (standard JSON: no NaN or Infinity tokens)."""
    return json.dumps(plain(value), indent=indent, allow_nan=False, ensure_ascii=False) + ("\n" if indent else "")
