"""Exceptions raised by hjb; each message is one line naming what is wrong and what was expected."""


class HJBError(Exception):
    """Base class of every error hjb raises on bad input or a failed solve."""


class ProblemError(HJBError, ValueError):
    """A control problem is declared inconsistently (discount, dimensions, bounds, parameters)."""


def positive_int(value, name: str) -> int:
    """`value` as an int if it is an integer ≥ 1 (not a bool), else ProblemError naming `name`."""
    import numpy as np

    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ProblemError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def finite_number(value, requirement: str, accept) -> float:
    """`value` as a float if it is a finite number (not a bool) with accept(value) true, else ProblemError
    "{requirement}; got {value!r}"."""
    import math

    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ProblemError(f"{requirement}; got {value!r}") from None
    if isinstance(value, bool) or not (math.isfinite(number) and accept(number)):
        raise ProblemError(f"{requirement}; got {value!r}")
    return number


def non_negative(value, name: str) -> float:
    """`value` as a float if it is a finite number ≥ 0, else ProblemError naming `name`."""
    return finite_number(value, f"{name} must be a number ≥ 0", lambda number: number >= 0)


def positive(value, requirement: str) -> float:
    """`value` as a float if it is a finite number > 0, else ProblemError "{requirement}; got {value!r}"."""
    return finite_number(value, requirement, lambda number: number > 0)


class ShapeError(ProblemError):
    """A problem function returned an array of the wrong shape."""


class PDEFileError(HJBError):
    """A PDE file is missing, does not import, or defines no usable `problem`."""


class RunDirError(HJBError):
    """A path given as a run directory is not one written by `hjb solve`."""


class UnknownNameError(HJBError, KeyError):
    """A name (suite, format, problem, option) is not one of the valid choices."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class TrainingDivergedError(HJBError, FloatingPointError):
    """Training produced NaN or inf; the last finite weights are kept on the solver."""

    def __init__(self, message: str, iteration: int, last_finite=None):
        super().__init__(message)
        self.iteration = iteration
        self.last_finite = last_finite


class BackendError(HJBError, RuntimeError):
    """DeepXDE is already loaded with a backend other than PyTorch."""


class DataLawError(ProblemError):
    """A data law is not a density (negative weights, non-PSD covariance) or a sample array is unusable."""
