"""The one matrix validator (hjb.pdes.matrices) behind the LQR problem, the Riccati and Gaussian closed forms."""
import numpy as np
import pytest

from hjb.errors import ProblemError
from hjb.pdes.matrices import matrix, square, symmetric


def test_matrix_reads_numbers_vectors_and_columns():
    assert matrix(2.0, "a").shape == (1, 1)
    assert matrix([1.0, 2.0], "row").shape == (1, 2)
    np.testing.assert_array_equal(matrix([1.0, 2.0], "B", rows=2, column=True), [[1.0], [2.0]])
    assert matrix(np.ones((3, 2)), "B", rows=3).shape == (3, 2)


@pytest.mark.parametrize("call, message", [
    (lambda: matrix(np.ones((3, 2)), "B", rows=2), r"B must be a \(2, ·\) matrix; got shape \(3, 2\)"),
    (lambda: matrix([[1.0, np.inf]], "D"), "D must have finite entries"),
    (lambda: matrix([[1.0], [1.0, 2.0]], "A"), "A must be a numeric matrix"),
    (lambda: square(np.ones((2, 3)), "A"), r"A must be a square \(d, d\) matrix; got shape \(2, 3\)"),
    (lambda: symmetric(np.array([[1.0, 0.5], [0.0, 1.0]]), "Q"), "Q must be symmetric"),
    (lambda: symmetric(np.array([[1.0, 2.0], [2.0, 1.0]]), "R", "positive"), "R must be positive definite"),
    (lambda: symmetric(np.zeros((1, 1)), "R", "positive"), "R must be positive definite"),
    (lambda: symmetric(-np.eye(2), "Q", "semi"), "Q must be positive semi-definite"),
])
def test_bad_matrices_are_refused_naming_what_was_expected(call, message):
    with pytest.raises(ProblemError, match=message):
        call()


def test_symmetric_returns_the_symmetric_part_and_accepts_the_semi_definite():
    M = np.array([[2.0, 1.0], [1.0 + 1e-14, 2.0]])
    S = symmetric(M, "S", "positive")
    np.testing.assert_array_equal(S, S.T)
    assert symmetric(np.zeros((2, 2)), "Q", "semi").shape == (2, 2)
    E = np.eye(3)
    assert symmetric(E, "I") is not E and np.array_equal(symmetric(E, "I"), E)
