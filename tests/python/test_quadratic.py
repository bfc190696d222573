"""engine/quadratic.py: the moments as the quadratic form ``θ G θᵀ - 2 θ Cᵀ + yy`` of each
output's (weighted) MSE, against the MSE of the standardized rows, its autograd gradient and
the exact least-squares solution."""
import numpy as np
import pytest
import torch

from torchlinreg.engine.moments import moments, scaler_from_moments
from torchlinreg.engine.quadratic import Quadratic
from torchlinreg.engine.scaling import Scaler


@pytest.fixture
def rows(rng):
    X = rng.normal(size=(150, 3)) * [2, 40, 0.1] + [1, -50, 3]
    Y = np.column_stack([X @ [1.0, 0.05, -8] + 4, X @ [-2.0, 0.0, 1] - 1]) + rng.normal(size=(150, 2))
    return X, Y, rng.uniform(0.3, 2, 150)


def quadratic_of(X, Y, w, intercept, scaler=None, centred=False):
    X, Y, w = torch.as_tensor(X), torch.as_tensor(Y), None if w is None else torch.as_tensor(w)
    mom = moments(X, Y, w)
    scaler = scaler or scaler_from_moments(mom, intercept, True, torch.float64)
    return Quadratic.from_moments(mom, scaler, intercept, centred), scaler


def standardized_design(X, scaler, intercept):
    Z = (X - scaler.x_center.numpy()) / scaler.x_scale.numpy()
    return np.column_stack([np.ones(len(X)), Z]) if intercept else Z


def theta_for(intercept):
    theta = np.array([[0.3, 0.1, -0.2, 0.5], [-1.0, 0.4, 0.0, 2.0]])
    return theta if intercept else theta[:, 1:]


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("weighted", [True, False])
def test_each_outputs_loss_is_the_weighted_mse_of_the_standardized_rows(rows, intercept, weighted):
    X, Y, w = rows
    w = w if weighted else None
    quadratic, scaler = quadratic_of(X, Y, w, intercept)
    weight = np.ones(len(X)) if w is None else w
    A = standardized_design(X, scaler, intercept)
    Ys = (Y - scaler.y_center.numpy()) / scaler.y_scale.numpy()
    theta = theta_for(intercept)
    mse = weight @ (Ys - A @ theta.T) ** 2 / weight.sum()
    np.testing.assert_allclose(quadratic.per_output(torch.as_tensor(theta)), mse, rtol=1e-12)
    # the parts themselves: G = AᵀWA/Σw, C = YᵀWA/Σw, yy = mean squares of Y
    np.testing.assert_allclose(quadratic.gram, (A * weight[:, None]).T @ A / weight.sum(),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(quadratic.cross, (Ys * weight[:, None]).T @ A / weight.sum(),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(quadratic.yy, weight @ Ys ** 2 / weight.sum(), rtol=1e-12)


@pytest.mark.parametrize("intercept", [True, False])
def test_the_residual_is_half_the_gradient_of_each_outputs_mse(rows, intercept):
    X, Y, w = rows
    quadratic, _ = quadratic_of(X, Y, w, intercept)
    theta = torch.tensor(theta_for(intercept), requires_grad=True)
    quadratic.per_output(theta).sum().backward()
    np.testing.assert_allclose(2 * quadratic.residual(theta.detach()), theta.grad, rtol=1e-12,
                               atol=1e-14)
    # and per_output with the residual given is per_output without it
    residual = quadratic.residual(theta.detach())
    assert torch.equal(quadratic.per_output(theta.detach(), residual),
                       quadratic.per_output(theta.detach()))


@pytest.mark.parametrize("intercept", [True, False])
def test_its_minimum_is_the_least_squares_solution(rows, intercept):
    """G θ = C solved on the standardized scale, mapped back, is lstsq on the raw rows."""
    X, Y, w = rows
    quadratic, scaler = quadratic_of(X, Y, w, intercept)
    best = torch.linalg.solve(quadratic.gram, quadratic.cross.T).T
    weight, bias = (best[:, 1:], best[:, 0]) if intercept else (best, torch.zeros(2, dtype=best.dtype))
    coef, const = scaler.to_original(weight, bias)
    root = np.sqrt(w)[:, None]
    A = np.column_stack([np.ones(len(X)), X]) if intercept else X
    exact = np.linalg.lstsq(A * root, Y * root, rcond=None)[0].T
    np.testing.assert_allclose(coef, exact[:, 1:] if intercept else exact, rtol=1e-10)
    if intercept:
        np.testing.assert_allclose(const, exact[:, 0], rtol=1e-10)
    else:
        np.testing.assert_allclose(const, scaler.y_center.numpy(), atol=0)
    # at the minimum, each loss is that output's weighted RSS over Σw, in units of y's scale²
    loss = quadratic.per_output(best)
    residual = (Y - A @ exact.T) * root
    np.testing.assert_allclose(loss * scaler.y_scale ** 2, (residual ** 2).sum(0) / w.sum(),
                               rtol=1e-9)


def test_centred_zeroes_the_intercepts_cross_terms_and_keeps_the_loss(rows):
    X, Y, w = rows
    plain, _ = quadratic_of(X, Y, w, True)
    centred, _ = quadratic_of(X, Y, w, True, centred=True)
    assert torch.all(centred.gram[0, 1:] == 0) and torch.all(centred.gram[1:, 0] == 0)
    assert torch.all(centred.cross[:, 0] == 0)
    assert float(plain.gram[0, 1:].abs().max()) < 1e-14  # rounding, not a real mean
    theta = torch.as_tensor(theta_for(True))
    np.testing.assert_allclose(centred.per_output(theta), plain.per_output(theta), rtol=1e-13)


def test_the_identity_scaler_gives_the_raw_mse(rows):
    X, Y, w = rows
    identity = Scaler.identity(3, 2, torch.float64)
    quadratic, _ = quadratic_of(X, Y, w, True, scaler=identity)
    theta = np.array([[4.0, 1.0, 0.05, -8.0], [-1.0, -2.0, 0.0, 1.0]])
    A = np.column_stack([np.ones(len(X)), X])
    np.testing.assert_allclose(quadratic.per_output(torch.as_tensor(theta)),
                               w @ (Y - A @ theta.T) ** 2 / w.sum(), rtol=1e-9)


def test_columns_summed_in_units_of_a_power_of_two_give_the_same_quadratic(rows):
    """x × 2⁻⁹⁰⁰ standardizes to exactly what x does: the quadratic is scale-free."""
    X, Y, w = rows
    quadratic, _ = quadratic_of(X, Y, w, True)
    tiny, scaler = quadratic_of(np.ldexp(X, -900), Y, w, True)
    assert float(scaler.x_scale[0]) < 1e-250
    for name in ("gram", "cross", "yy"):
        torch.testing.assert_close(getattr(tiny, name), getattr(quadratic, name), rtol=1e-13,
                                   atol=1e-15)
