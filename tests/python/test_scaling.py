"""Standardization and the way back to the original scale.

Tolerances: round trips 1e-12 relative; relations between fitted
coefficients 1e-10 relative; standardize=False against True 1e-8 (both
within 1e-8 of the exact solution).
"""
import numpy as np
import pytest
import torch

import torchlinreg as tl
from torchlinreg.engine.scaling import Scaler, unit_of

ROUND_TRIP_RTOL = 1e-12


@pytest.fixture
def xy(rng):
    X = rng.normal([10, -200, 0.01], [2, 50, 0.003], size=(80, 3))
    return X, 4 + X @ [1.5, 0.02, 300] + rng.normal(0, 0.5, 80)


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("k", [1, 2])
def test_to_original_predicts_what_the_standardized_model_predicts(rng, intercept, k):
    """Mapped back, the coefficients give the same predictions on the raw rows as the
    standardized ones give on the standardized rows, mapped back to y's scale."""
    X = torch.as_tensor(rng.normal(3, 2, size=(40, 4)))
    Y = torch.as_tensor(rng.normal(-1, 5, size=(40, k)))
    scaler = Scaler.fit(X, Y, intercept=intercept)
    W, b = torch.as_tensor(rng.normal(size=(k, 4))), torch.as_tensor(rng.normal(size=k))
    standardized = scaler.transform_x(X) @ W.T + b
    expected = standardized * scaler.y_scale + scaler.y_center
    W2, b2 = scaler.to_original(W, b)
    torch.testing.assert_close(X @ W2.T + b2, expected, rtol=ROUND_TRIP_RTOL, atol=1e-12)


def test_scaler_uses_r_sd_and_keeps_the_sign(rng):
    X = torch.as_tensor(rng.normal(3, 2, size=(40, 2)))
    Y = torch.as_tensor(rng.normal(size=(40, 1)))
    scaler = Scaler.fit(X, Y)
    np.testing.assert_allclose(scaler.x_scale, X.numpy().std(axis=0, ddof=1), rtol=1e-13)
    np.testing.assert_allclose(scaler.x_center, X.numpy().mean(axis=0), rtol=1e-13)
    z = scaler.transform_x(X).numpy()
    assert np.all(np.sign(z) == np.sign(X.numpy() - X.numpy().mean(axis=0)))


def test_without_intercept_columns_are_only_scaled(rng):
    X = torch.as_tensor(rng.normal(3, 2, size=(40, 2)))
    scaler = Scaler.fit(X, X[:, :1], intercept=False)
    assert torch.all(scaler.x_center == 0)
    np.testing.assert_allclose(scaler.x_scale, np.sqrt((X.numpy() ** 2).mean(axis=0)), rtol=1e-13)


def test_coef_standardized_relates_to_coef_by_the_scales(xy):
    X, y = xy
    fit = tl.fit(X, y, seed=1)
    sd_x, sd_y = X.std(axis=0, ddof=1), y.std(ddof=1)
    # Hand-derived: y = b + X w  and  (y - ȳ)/s_y = b* + Σ w*_j (x_j - x̄_j)/s_j
    # give w = w* s_y / s_j and b = ȳ + s_y b* - Σ w_j x̄_j.
    np.testing.assert_allclose(fit.coef, fit.coef_standardized * sd_y / sd_x, rtol=1e-10)
    expected_b = y.mean() + sd_y * fit.intercept_standardized - fit.coef @ X.mean(axis=0)
    assert fit.intercept == pytest.approx(expected_b, rel=1e-10)
    # ...and the standardized coefficients are least squares on z-scored data.
    z = (X - X.mean(axis=0)) / sd_x
    exact = tl.ols(z, (y - y.mean()) / sd_y)
    np.testing.assert_allclose(fit.coef_standardized, exact.coef, rtol=1e-8)
    assert abs(fit.intercept_standardized) < 1e-10


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("adam", 0.05)])
def test_standardize_false_gives_the_same_answer_on_well_scaled_data(rng, optimizer, lr):
    X = rng.normal(size=(200, 3))
    y = 0.5 + X @ [1.0, -1.0, 0.5] + rng.normal(0, 0.2, 200)
    raw = tl.fit(X, y, standardize=False, optimizer=optimizer, lr=lr, seed=1)
    std = tl.fit(X, y, optimizer=optimizer, lr=lr, seed=1)
    assert raw.converged and std.converged
    np.testing.assert_allclose(raw.coefficients(), std.coefficients(), rtol=1e-8)
    # Without standardization the standardized coefficients are the raw ones.
    np.testing.assert_array_equal(raw.coef_standardized, raw.coef)
    assert raw.intercept_standardized == raw.intercept


def test_history_parameters_are_on_the_original_scale(xy):
    X, y = xy
    fit = tl.fit(X, y, seed=1)
    np.testing.assert_allclose(fit.history[["x1", "x2", "x3"]].iloc[-1], fit.coef, rtol=0)


def test_units_are_powers_of_two_only_outside_two_to_the_200():
    assert unit_of(torch.tensor([[1e50, -3.0], [0.0, 1e-50]], dtype=torch.float64)) is None
    unit = unit_of(torch.tensor([[3e-250, 1.0, 0.0], [-1e-251, 2.0, 0.0]], dtype=torch.float64))
    mantissa, exponent = np.frexp(unit.numpy())
    assert mantissa.tolist() == [0.5, 0.5, 0.5] and exponent.tolist()[1:] == [1, 1]
    assert 0.5 <= 3e-250 * float(unit[0]) < 1  # the largest magnitude brought to [0.5, 1)


def test_magnitudes_are_each_column_s_largest_absolute_value_nan_included():
    from torchlinreg.engine.scaling import magnitudes
    block = torch.tensor([[-3.0, 0.0, 1e300, float("nan")], [2.0, -0.0, -float("inf"), 1.0]],
                         dtype=torch.float64)
    expected = block.abs().amax(0)
    got = magnitudes(block)
    assert torch.equal(got[:3], expected[:3]) and torch.isnan(got[3]) and torch.isnan(expected[3])
