"""interop/lm_check.py: lm() through rpy2 returns lm()'s numbers, checked against numpy's least
squares and statsmodels (so the matrices cross to R in the right order): coefficients, standard
errors, sigma, R², F, degrees of freedom, fitted values; weights, several outputs, no
intercept, aliased and intercept-only models."""
import numpy as np
import pandas as pd
import pytest

sm = pytest.importorskip("statsmodels.api")


@pytest.fixture
def rows(rng):
    X = rng.normal(size=(30, 3)) * [1, 10, 0.1] + [0, 50, 1]
    Y = np.column_stack([X @ [1.0, 0.2, -3] + 4, X @ [-1.0, 0.0, 2]]) + rng.normal(size=(30, 2))
    return pd.DataFrame(X, columns=["a", "b", "c"]), Y, rng.uniform(0.5, 2, 30)


@pytest.mark.parametrize("intercept", [True, False])
def test_one_output_is_statsmodels_wls(lm_check, rows, intercept):
    X, Y, w = rows
    got = lm_check(X, Y[:, 0], intercept=intercept, weights=w)
    A = sm.add_constant(X.to_numpy()) if intercept else X.to_numpy()
    res = sm.WLS(Y[:, 0], A, weights=w).fit()
    assert got.term_names == (["(Intercept)"] if intercept else []) + ["a", "b", "c"]
    assert got.output_names == ["y"] and got.coef.shape == (1, A.shape[1])
    np.testing.assert_allclose(got.coef[0], res.params, rtol=1e-10)
    np.testing.assert_allclose(got.std_error[0], res.bse, rtol=1e-9)
    assert got.sigma[0] == pytest.approx(np.sqrt(res.scale), rel=1e-10)
    assert got.r_squared[0] == pytest.approx(res.rsquared, rel=1e-10)
    assert got.adj_r_squared[0] == pytest.approx(res.rsquared_adj, rel=1e-10)
    np.testing.assert_allclose(got.f_statistic[0], [res.fvalue, res.df_model, res.df_resid],
                               rtol=1e-9)
    assert (got.df_residual, got.rank) == (30 - A.shape[1], A.shape[1])
    np.testing.assert_allclose(got.fitted[:, 0], res.fittedvalues, rtol=1e-10)
    assert got.r_version.startswith("R version")


def test_several_outputs_are_one_row_each(lm_check, rows):
    X, Y, _ = rows
    got = lm_check(X.to_numpy(), Y)
    assert got.term_names == ["(Intercept)", "x1", "x2", "x3"] and got.output_names == ["y1", "y2"]
    A = np.column_stack([np.ones(30), X.to_numpy()])
    np.testing.assert_allclose(got.coef, np.linalg.lstsq(A, Y, rcond=None)[0].T, rtol=1e-10)
    np.testing.assert_allclose(got.fitted, A @ got.coef.T, rtol=1e-12)
    assert got.sigma.shape == (2,) and got.f_statistic.shape == (2, 3)


def test_an_aliased_column_is_nan_and_no_columns_is_the_mean(lm_check, rows):
    X, Y, _ = rows
    got = lm_check(X.assign(d=X["a"] + X["b"]), Y[:, 0])
    assert np.isnan(got.coef[0, 4]) and np.isnan(got.std_error[0, 4]) and got.rank == 4
    mean = lm_check(np.zeros((30, 0)), Y[:, 0])
    assert mean.term_names == ["(Intercept)"] and mean.coef[0, 0] == pytest.approx(Y[:, 0].mean())
    assert mean.std_error[0, 0] == pytest.approx(Y[:, 0].std(ddof=1) / np.sqrt(30), rel=1e-12)
    assert np.isnan(mean.f_statistic).all()
