"""Aliased columns as lm() finds them: more coefficients than rows, and decisions the
Gram matrix's rounding could tip (taken on the rows' QR factor, as dqrdc2 does)."""
import numpy as np
import pandas as pd
import pytest
import torch

import torchlinreg as tl
from torchlinreg.engine.linalg import aliased_columns, aliased_from_gram, aliased_of_rows, with_intercept


def _frame(X, y):
    return pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(X.shape[1])]).assign(y=y)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_more_coefficients_than_rows_alias_the_rest_as_lm(r_lm, rng, optimizer):
    """Was refused ('at least 21 rows are needed'); lm() keeps the first n - 1 columns."""
    X = rng.normal(size=(12, 20))
    y = rng.normal(size=12)
    fit = tl.fit(X, y, optimizer=optimizer, seed=0)
    ref = r_lm("y ~ " + " + ".join(f"x{j + 1}" for j in range(20)), _frame(X, y))
    np.testing.assert_array_equal(np.isnan(fit.params), np.isnan(ref["coef"][0]))
    np.testing.assert_allclose(fit.params[:12], ref["coef"][0, :12], rtol=1e-6)
    np.testing.assert_allclose(fit.predict(X), y, atol=1e-7)
    assert fit.df_resid == 0 and np.isnan(fit.bse).all()
    exact = tl.ols(X, y)
    np.testing.assert_array_equal(exact.aliased, fit.aliased)


def test_weighted_rows_and_repeated_rows_alias_the_same_columns():
    """scikit-learn's sample-weight check: weights 0-4 on 15 rows of 30 columns against the
    rows repeated. The Gram matrix put one column 1.1e-7 of its norm from the span (the
    weighted) and the other below 1e-7 (the repeated): they aliased 21 and 22 columns."""
    rng = np.random.RandomState(42)
    X = rng.rand(15, 30)
    y = rng.randint(0, 3, size=15).astype(float)
    w = rng.randint(0, 5, size=15).astype(float)
    weighted = tl.fit(X, y, weights=w, optimizer="lbfgs", seed=0)
    repeated = tl.fit(X.repeat(w.astype(int), axis=0), y.repeat(w.astype(int)),
                      optimizer="lbfgs", seed=0)
    np.testing.assert_array_equal(weighted.aliased, repeated.aliased)
    assert weighted.aliased.sum() == 30 - (int((w > 0).sum()) - 1)
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), atol=1e-8)
    A = with_intercept(torch.as_tensor(X), True) * torch.as_tensor(w).sqrt()[:, None]
    rows = aliased_columns(A)
    np.testing.assert_array_equal(aliased_of_rows(torch.as_tensor(X), torch.as_tensor(w), True,
                                                  A.T @ A), rows)
    assert rows.sum() == 22 and aliased_from_gram(A.T @ A).sum() != 22  # the Gram alone erred


def test_a_clear_gram_decides_without_the_rows(rng):
    X = torch.as_tensor(rng.normal(size=(50, 3)))
    A = with_intercept(X, True)
    # The rows are not read when the Gram matrix is clear: pass none.
    assert not aliased_of_rows(None, None, True, A.T @ A).any()
