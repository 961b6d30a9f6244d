"""hjb.io.pdefile.load_problem: PDE files load into (problem, settings); every bad file gives a one-line HJBError."""
from __future__ import annotations

import pytest
from tiny_solver import LQR1D_FILE, MERTON_FILE, TINY_SETTINGS, write

from hjb.errors import HJBError, PDEFileError, ProblemError, ShapeError
from hjb.io.pdefile import load_problem
from hjb.pdes import Merton, StochasticLQR


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_loads_problem_and_settings(tmp_path):
    problem, settings = load_problem(write(tmp_path / "lqr.py", LQR1D_FILE))
    assert isinstance(problem, StochasticLQR) and problem.name == "lqr1d"
    assert settings == TINY_SETTINGS


def test_settings_are_optional(tmp_path):
    problem, settings = load_problem(write(tmp_path / "merton.py", MERTON_FILE))
    assert isinstance(problem, Merton) and settings is None


def test_files_with_the_same_name_load_independently(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    p1, _ = load_problem(write(tmp_path / "a" / "pde.py", MERTON_FILE))
    p2, _ = load_problem(write(tmp_path / "b" / "pde.py", LQR1D_FILE))
    assert isinstance(p1, Merton) and isinstance(p2, StochasticLQR)


def test_no_bytecode_cache_beside_the_file(tmp_path):
    load_problem(write(tmp_path / "lqr.py", LQR1D_FILE))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lqr.py"]


def test_missing_file(tmp_path):
    with pytest.raises(PDEFileError) as exc:
        load_problem(tmp_path / "nope.py")
    assert _one_line(exc) == f"PDE file not found: {tmp_path / 'nope.py'}"


def test_not_a_python_file(tmp_path):
    with pytest.raises(PDEFileError) as exc:
        load_problem(write(tmp_path / "pde.txt", MERTON_FILE))
    assert "not a Python file" in _one_line(exc) and ".py" in str(exc.value)


def test_directory(tmp_path):
    (tmp_path / "dir.py").mkdir()
    with pytest.raises(PDEFileError) as exc:
        load_problem(tmp_path / "dir.py")
    assert "is a directory" in _one_line(exc)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("x = 1 / 0\n", "failed to import: ZeroDivisionError: division by zero"),
        ("def broken(:\n", "failed to import: SyntaxError"),
        ("import no_such_module_hjb\n", "failed to import: ModuleNotFoundError: No module named 'no_such_module_hjb'"),
        ("raise SystemExit(3)\n", "failed to import: SystemExit: 3"),
        ("raise RuntimeError('line one\\nline two')\n", "failed to import: RuntimeError: line one"),
    ],
)
def test_import_errors_are_one_line(tmp_path, source, expected):
    path = write(tmp_path / "bad.py", source)
    with pytest.raises(PDEFileError) as exc:
        load_problem(path)
    assert _one_line(exc).startswith(f"PDE file {path} {expected}")


def test_no_problem(tmp_path):
    path = write(tmp_path / "empty.py", "x = 1\n")
    with pytest.raises(PDEFileError) as exc:
        load_problem(path)
    assert _one_line(exc) == (
        f"PDE file {path} defines no module-level `problem` or `pde`; expected one: problem = ControlProblem(...) (or "
        "FiniteHorizonProblem(...)) or pde = ResidualPDE(...)"
    )


def test_problem_of_the_wrong_type(tmp_path):
    with pytest.raises(PDEFileError) as exc:
        load_problem(write(tmp_path / "wrong.py", "problem = {'A': 1}\n"))
    assert "`problem` is a dict" in _one_line(exc) and "ControlProblem" in str(exc.value)


def test_settings_of_the_wrong_type(tmp_path):
    with pytest.raises(PDEFileError) as exc:
        load_problem(write(tmp_path / "wrong.py", MERTON_FILE + "settings = {'width': 8}\n"))
    assert "`settings` is a dict" in _one_line(exc) and "SolverSettings" in str(exc.value)


def test_wrong_drift_shape_is_a_shape_error(tmp_path):
    source = (
        "import torch\nfrom hjb.pdes import ControlProblem, seed_lqr\nb = seed_lqr()\n"
        "problem = ControlProblem(name='bad', drift=lambda x, a: torch.cat([x, x], 1), diffusion=b.diffusion,\n"
        "                         reward=b.reward, discount=0.1, domain=b.domain, action_dim=1)\n"
    )
    with pytest.raises(ShapeError) as exc:
        load_problem(write(tmp_path / "shape.py", source))
    message = _one_line(exc)
    assert "drift" in message and "(5, 2)" in message and "(5, 1)" in message


def test_problem_function_raising_is_a_pde_file_error(tmp_path):
    source = (
        "from hjb.pdes import ControlProblem, seed_lqr\nb = seed_lqr()\n"
        "def reward(x, a):\n    raise TypeError('reward is broken')\n"
        "problem = ControlProblem(name='bad', drift=b.drift, diffusion=b.diffusion, reward=reward, discount=0.1,\n"
        "                         domain=b.domain, action_dim=1)\n"
    )
    with pytest.raises(PDEFileError) as exc:
        load_problem(write(tmp_path / "raising.py", source))
    assert "TypeError: reward is broken" in _one_line(exc)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from hjb.pdes import seed_lqr, StochasticLQR\nproblem = StochasticLQR(1, 1, 1, 1, 1, discount=0)\n",
         "discount must be a positive number"),
        ("from hjb.pdes import Merton\nproblem = Merton(gamma=0.5, discount=0.01)\n", "infeasible Merton parameters"),
    ],
)
def test_problem_errors_keep_their_class_and_name_the_file(tmp_path, source, expected):
    path = write(tmp_path / "params.py", source)
    with pytest.raises(ProblemError) as exc:
        load_problem(path)
    message = _one_line(exc)
    assert message.startswith(f"PDE file {path}: ") and expected in message
    assert isinstance(exc.value, HJBError)
