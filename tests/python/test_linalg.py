"""engine/linalg.py: lm()'s aliased columns (in column order, tol 1e-7 of a column's norm,
scale-free), the blocked QR factor, and the least-squares solution and (AᵀWA)⁻¹ against
numpy and lm()."""
import numpy as np
import pandas as pd
import pytest
import torch

from torchlinreg.engine import linalg
from torchlinreg.engine.linalg import (aliased_columns, aliased_from_gram, aliased_from_r,
                                       combined_r, exact_solution, solve_least_squares,
                                       unscaled_covariance, with_intercept)


@pytest.fixture
def X(rng):
    return rng.normal(size=(40, 3)) * [1, 10, 0.1] + [0, 5, -1]


def test_with_intercept_prepends_ones_and_without_returns_the_design(X):
    Xt = torch.as_tensor(X)
    A = with_intercept(Xt, True)
    assert A.shape == (40, 4) and torch.all(A[:, 0] == 1) and torch.equal(A[:, 1:], Xt)
    assert with_intercept(Xt, False) is Xt


def test_later_columns_that_combine_earlier_ones_are_aliased_in_column_order(X):
    a, b, c = X.T
    design = np.column_stack([a, b, a - 2 * b, c, 3 * c, np.zeros(40), a])
    mask = aliased_columns(torch.as_tensor(design))
    assert mask.tolist() == [False, False, True, False, True, True, True]
    # with the intercept, a constant column is the intercept again
    A = with_intercept(torch.as_tensor(np.column_stack([a, np.full(40, 7.0)])), True)
    assert aliased_columns(A).tolist() == [False, False, True]


def test_the_threshold_is_lms_1e_7_of_the_columns_norm(r_lm, X):
    """A column 1e-6 of its norm off the span of the others is kept, 1e-9 aliased, by lm()
    as here (its NA)."""
    a, b, _ = X.T
    noise = np.random.default_rng(3).normal(size=40)
    noise -= np.column_stack([np.ones(40), a, b]) @ np.linalg.lstsq(
        np.column_stack([np.ones(40), a, b]), noise, rcond=None)[0]  # orthogonal to the span
    for off, expected in [(1e-6, False), (1e-9, True)]:
        near = a + b + off * np.linalg.norm(a + b) * noise / np.linalg.norm(noise)
        design = np.column_stack([a, b, near])
        mask = aliased_columns(with_intercept(torch.as_tensor(design), True))
        assert mask.tolist() == [False, False, False, expected]
        data = pd.DataFrame(design, columns=["a", "b", "near"]).assign(y=a + noise)
        assert np.isnan(r_lm("y ~ a + b + near", data)["coef"][0, 3]) == expected


def test_the_decision_is_scale_free(X):
    a, b, _ = X.T
    for scale in (1e-300, 1.0, 1e300):
        design = torch.as_tensor(np.column_stack([a * scale, b * scale, (a + b) * scale]))
        assert aliased_columns(design).tolist() == [False, False, True], scale


def test_blocks_of_rows_give_the_factor_of_all_rows_up_to_row_signs(X, monkeypatch):
    A = with_intercept(torch.as_tensor(X), True)
    blocks = [torch.linalg.qr(A[i:i + 7], mode="r").R for i in range(0, 40, 7)]
    R = combined_r(blocks)
    np.testing.assert_allclose(R.T @ R, A.T @ A, rtol=1e-12)
    np.testing.assert_allclose(R.abs(), torch.linalg.qr(A, mode="r").R.abs(), rtol=1e-12, atol=1e-12)
    assert combined_r(blocks[:1]) is blocks[0]
    near = torch.cat([A, A[:, 1:2] + A[:, 2:3]], 1)
    whole = aliased_columns(near)
    monkeypatch.setattr(linalg, "ALIAS_BLOCK_ROWS", 7)
    assert torch.equal(aliased_columns(near), whole) and whole.tolist()[-1]


def test_the_factor_and_a_clear_gram_decide_as_the_rows_do(X):
    A = with_intercept(torch.as_tensor(np.column_stack([X, X[:, 0] - X[:, 2]])), True)
    rows = aliased_columns(A)
    assert rows.tolist() == [False, False, False, False, True]
    assert torch.equal(aliased_from_r(torch.linalg.qr(A, mode="r").R), rows)
    assert torch.equal(aliased_from_gram(A.T @ A), rows)


@pytest.mark.parametrize("weighted", [False, True])
def test_the_least_squares_solution_and_its_unscaled_covariance_are_numpys(X, rng, weighted):
    A = np.column_stack([np.ones(40), X])
    Y = rng.normal(size=(40, 2)) + A @ rng.normal(size=(4, 2))
    w = rng.uniform(0.1, 3, 40) if weighted else np.ones(40)
    root = np.sqrt(w)[:, None]
    expected = np.linalg.lstsq(A * root, Y * root, rcond=None)[0]
    got = solve_least_squares(torch.as_tensor(A), torch.as_tensor(Y),
                              torch.as_tensor(w) if weighted else None)
    np.testing.assert_allclose(got, expected, rtol=1e-11)
    R = torch.linalg.qr(torch.as_tensor(A * root), mode="r").R
    np.testing.assert_allclose(unscaled_covariance(R), np.linalg.inv((A * w[:, None]).T @ A),
                               rtol=1e-10)


@pytest.mark.parametrize("intercept", [True, False])
def test_the_exact_solution_is_nan_where_aliased_and_lstsq_elsewhere(X, rng, intercept):
    design = np.column_stack([X[:, 0], 2 * X[:, 0], X[:, 1:]])
    y = design @ [1.0, 0.0, -0.5, 3.0] + 2 * intercept + rng.normal(size=40)
    w = rng.uniform(0.5, 1.5, 40)
    weight, bias, aliased = exact_solution(torch.as_tensor(design), torch.as_tensor(y[:, None]),
                                           torch.as_tensor(w), intercept)
    assert aliased.tolist() == [False, True, False, False]
    kept = design[:, [0, 2, 3]]
    A = np.column_stack([np.ones(40), kept]) if intercept else kept
    expected = np.linalg.lstsq(A * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
    np.testing.assert_allclose(weight[0, [0, 2, 3]], expected[int(intercept):], rtol=1e-11)
    assert np.isnan(weight[0, 1]) and weight.shape == (1, 4)
    assert float(bias[0]) == (pytest.approx(expected[0], rel=1e-11) if intercept else 0.0)
