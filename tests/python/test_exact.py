"""``ols()``, the exact reference, against numpy and ``lm()``.

Tolerance: 1e-10 relative against ``numpy.linalg.lstsq`` and ``lm()`` (both
solve the same problem in float64 by a different factorization).
"""
import numpy as np
import pytest

import torchlinreg as tl
from conftest import frame, rel_err

EXACT_RTOL = 1e-10


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("k", [1, 3])
def test_ols_matches_numpy_lstsq(rng, intercept, k):
    X = rng.normal(size=(50, 4)) * [1, 10, 0.1, 100] + 5
    Y = rng.normal(size=(50, k)) + X @ rng.normal(size=(4, k))
    A = np.column_stack([np.ones(50), X]) if intercept else X
    expected = np.linalg.lstsq(A, Y, rcond=None)[0].T  # (k, m)
    fit = tl.ols(X, Y if k > 1 else Y[:, 0], intercept=intercept)
    coef = np.atleast_2d(fit.coef)
    if intercept:
        coef = np.column_stack([np.atleast_1d(fit.intercept), coef])
    else:
        assert np.all(np.asarray(fit.intercept) == 0)
    np.testing.assert_allclose(coef, expected, rtol=EXACT_RTOL)
    assert fit.rank == 4 + intercept
    residual = Y - A @ expected.T
    assert fit.loss == pytest.approx(np.mean(residual ** 2), rel=1e-12)


def test_ols_with_weights_is_lstsq_on_scaled_rows(rng):
    X = rng.normal(size=(40, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=40)
    w = rng.uniform(0.1, 4, 40)
    A = np.column_stack([np.ones(40), X]) * np.sqrt(w)[:, None]
    expected = np.linalg.lstsq(A, y * np.sqrt(w), rcond=None)[0]
    fit = tl.ols(X, y, weights=w)
    np.testing.assert_allclose(np.r_[fit.intercept, fit.coef], expected, rtol=EXACT_RTOL)


def test_ols_matches_lm(r_lm, rng):
    X = rng.normal(size=(30, 3))
    y = 2 + X @ [1.0, 0.0, -3.0] + rng.normal(size=30)
    ref = r_lm("y ~ x1 + x2 + x3", frame(X, y))
    fit = tl.ols(X, y)
    assert rel_err(np.r_[fit.intercept, fit.coef], ref["coef"][0]) <= EXACT_RTOL


@pytest.mark.parametrize("intercept", [True, False])
def test_aliased_columns_are_nan_where_lm_gives_na(r_lm, rng, intercept):
    z = rng.normal(size=(40, 3))
    # x2 = 2 x1, x4 = x1 - x3 + const (aliased with the intercept only when there is one),
    # x5 = 0 (always aliased).
    X = np.column_stack([z[:, 0], 2 * z[:, 0], z[:, 1], z[:, 0] - z[:, 1] + 3, np.zeros(40), z[:, 2]])
    y = 1 + z @ [1.0, 2.0, 3.0] + rng.normal(size=40)
    ref = r_lm("y ~ x1 + x2 + x3 + x4 + x5 + x6" + ("" if intercept else " - 1"), frame(X, y))
    fit = tl.ols(X, y, intercept=intercept)
    lm_coef = ref["coef"][0, int(intercept):]
    np.testing.assert_array_equal(np.isnan(fit.coef), np.isnan(lm_coef))
    np.testing.assert_array_equal(fit.aliased, np.isnan(lm_coef))
    assert fit.rank == ref["rank"]
    assert rel_err(fit.coef, lm_coef) <= EXACT_RTOL


def test_ols_keeps_names(rng):
    import pandas as pd
    X = pd.DataFrame(rng.normal(size=(10, 2)), columns=["a", "b"])
    fit = tl.ols(X, pd.Series(rng.normal(size=10), name="out"))
    assert fit.feature_names == ["a", "b"] and fit.output_names == ["out"]
