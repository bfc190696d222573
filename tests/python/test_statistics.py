"""results/statistics.py: what a fit without its rows computes from their moments (the exact
solution, residual sums, the loss and summary.lm's inference) against numpy's least squares,
statsmodels' WLS and the row-based inference."""
import numpy as np
import pytest
import torch

from torchlinreg.engine import moments as moments_module
from torchlinreg.engine.moments import moments
from torchlinreg.results.inference import compute_inference
from torchlinreg.results.statistics import TrainingStatistics

sm = pytest.importorskip("statsmodels.api")


@pytest.fixture
def rows(rng):
    # a column of mean 1e6 and sd 1: raw cross products would cancel 12 digits
    X = rng.normal(size=(80, 3)) * [1, 5, 0.3] + [1e6, 0, 2]
    Y = np.column_stack([X @ [2.0, -0.4, 3] - 2e6, X @ [0.0, 1, 1] + 1]) + rng.normal(size=(80, 2))
    return X, Y, rng.uniform(0.3, 2, 80)


def statistics(X, Y, w, intercept=True):
    return TrainingStatistics(moments(torch.as_tensor(X), torch.as_tensor(Y),
                                      None if w is None else torch.as_tensor(w)), intercept)


def lstsq(A, Y, w):
    root = np.sqrt(w)[:, None]
    return np.linalg.lstsq(A * root, Y * root, rcond=None)[0].T


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("chunk_rows", [1 << 15, 16])
def test_the_exact_solution_is_weighted_least_squares(rows, intercept, chunk_rows, monkeypatch):
    monkeypatch.setattr(moments_module, "CHUNK_ROWS", chunk_rows)
    X, Y, w = rows
    weight, bias = statistics(X, Y, w, intercept).exact()
    A = np.column_stack([np.ones(80), X]) if intercept else X
    expected = lstsq(A, Y, w)
    np.testing.assert_allclose(weight, expected[:, int(intercept):], rtol=1e-8)
    np.testing.assert_allclose(bias, expected[:, 0] if intercept else 0, rtol=1e-8)


def test_an_aliased_column_is_nan_in_the_exact_solution(rows):
    X, Y, w = rows
    stats = statistics(np.column_stack([X, X[:, 1] - X[:, 2]]), Y, w)
    assert stats.aliased().tolist() == [False, False, False, True]
    weight, bias = stats.exact()
    assert np.isnan(weight[:, 3]).all()
    expected = lstsq(np.column_stack([np.ones(80), X]), Y, w)
    np.testing.assert_allclose(weight[:, :3], expected[:, 1:], rtol=1e-8)
    np.testing.assert_allclose(bias, expected[:, 0], rtol=1e-8)


def test_residual_sums_products_and_loss_at_any_coefficients(rows):
    X, Y, w = rows
    stats = statistics(X, Y, w)
    weight = np.array([[1.9, -0.3, 3.1], [0.1, 1.0, 0.8]])
    bias = np.array([-1.9e6, -1e5])
    R = Y - X @ weight.T - bias
    np.testing.assert_allclose(stats.residual_sums(weight, bias), w @ R ** 2, rtol=1e-9)
    np.testing.assert_allclose(stats.residual_products(weight, bias), (R * w[:, None]).T @ R,
                               rtol=1e-9)
    assert stats.loss(weight, bias) == pytest.approx(np.mean(w @ R ** 2 / w.sum()), rel=1e-9)
    assert stats.n_rows == 80


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("chunk_rows", [1 << 15, 16])
def test_inference_is_statsmodels_wls_at_the_exact_solution(rows, intercept, chunk_rows,
                                                            monkeypatch):
    """With chunks of 16 rows the moments are about the first chunk's mean, not the mean."""
    monkeypatch.setattr(moments_module, "CHUNK_ROWS", chunk_rows)
    X, Y, w = rows
    stats = statistics(X, Y, w, intercept)
    weight, bias = stats.exact()
    coefficients = torch.cat([bias[:, None], weight], 1) if intercept else weight
    aliased = torch.zeros(coefficients.shape[1], dtype=torch.bool)
    got = stats.inference(coefficients, aliased, None, ["a", "b"])
    A = sm.add_constant(X) if intercept else X
    for i in range(2):
        res = sm.WLS(Y[:, i], A, weights=w).fit()
        np.testing.assert_allclose(got.estimate[i], res.params, rtol=1e-8)
        np.testing.assert_allclose(got.std_error[i], res.bse, rtol=1e-7)
        np.testing.assert_allclose(got.t_value[i], res.tvalues, rtol=1e-7)
        np.testing.assert_allclose(got.p_value[i], res.pvalues, rtol=1e-6, atol=1e-300)
        assert got.r_squared[i] == pytest.approx(res.rsquared, rel=1e-9)
        assert got.adj_r_squared[i] == pytest.approx(res.rsquared_adj, rel=1e-9)
        assert got.f_statistic[i] == pytest.approx(res.fvalue, rel=1e-7)
        assert got.sigma[i] == pytest.approx(np.sqrt(res.scale), rel=1e-9)
    assert (got.df_residual, got.rank, got.n_obs) == (80 - A.shape[1], A.shape[1], 80)
    assert got.output_names == ["a", "b"] and got.weight_total == pytest.approx(w.sum())


def test_inference_away_from_the_optimum_is_the_row_based_inference(rows):
    """At coefficients off the optimum (as gradient descent stops) and with rows of weight
    zero (not observations), the moments give what the rows give."""
    X, Y, w = rows
    w = w.copy()
    w[[0, 5]] = 0
    stats = statistics(X, Y, w)
    weight, bias = stats.exact()
    coefficients = torch.cat([bias[:, None], weight], 1) * (1 + 1e-4)
    aliased = torch.zeros(4, dtype=torch.bool)
    got = stats.inference(coefficients, aliased, None, None)
    rows_based = compute_inference(torch.as_tensor(X), torch.as_tensor(Y), coefficients, aliased,
                                   torch.as_tensor(w))
    assert got.n_obs == rows_based.n_obs == 78
    for name in ("std_error", "t_value", "sigma", "r_squared", "f_statistic", "cov_unscaled",
                 "center"):
        np.testing.assert_allclose(getattr(got, name), getattr(rows_based, name), rtol=1e-7,
                                   err_msg=name)
