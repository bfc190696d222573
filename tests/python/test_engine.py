"""The sufficient-statistics ("gram") engine against the autograd loop and exact OLS.

Tolerances, per quantity: trajectories 1e-10 relative (parameters, losses),
gradient norms 1e-10 absolute (they are relative to the start and fall to
rounding level), coefficients against ``ols()`` 1e-8 relative.
"""
import warnings

import numpy as np
import pytest
import torch

import torchlinreg as tl
from torchlinreg.engine import moments
from torchlinreg.engine.quadratic import Quadratic
from torchlinreg.errors import OptionError
from torchlinreg.engine.scaling import Scaler

TRAJECTORY_RTOL = 1e-10
GRAD_NORM_ATOL = 1e-10


@pytest.fixture
def data():
    rng = np.random.default_rng(20261123)
    n, p = 3000, 6
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 20, p) + rng.uniform(-50, 50, p)
    y = 3.0 + X @ rng.standard_normal(p) + rng.standard_normal(n)
    weights = rng.uniform(0.1, 2.0, n)
    return X, y, weights


def _both(X, y, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        return (tl.fit(X, y, engine="autograd", **options),
                tl.fit(X, y, engine="gram", **options))


def _assert_same_trajectory(a, g, rtol=TRAJECTORY_RTOL):
    assert a.engine == "autograd" and g.engine == "gram"
    if len(g.history) < len(a.history):
        # With the QR preconditioner the gram engine's gradient can become exactly 0.0
        # (L-BFGS lands on the optimum of an isotropic quadratic), and it stops there
        # even with tol=0; the autograd gradient is rounding, never 0. Up to there
        # the two agree.
        assert g.history["grad_norm"].iloc[-1] == 0.0
        a = a._with(history=a.history.iloc[:len(g.history)].reset_index(drop=True))
    assert len(a.history) == len(g.history)
    coefs = [c for c in a.history.columns
             if c not in ("iteration", "step", "loss", "val_loss", "grad_norm")]
    pa, pg = a.history[coefs].to_numpy(), g.history[coefs].to_numpy()
    scale = np.abs(pa).max(axis=1, keepdims=True)
    assert np.abs(pa - pg).max() <= rtol * scale.max()
    for column in ("loss", "val_loss"):
        np.testing.assert_allclose(g.history[column], a.history[column], rtol=rtol)
    np.testing.assert_allclose(g.history["grad_norm"], a.history["grad_norm"], atol=GRAD_NORM_ATOL)
    np.testing.assert_array_equal(g.history["step"], a.history["step"])


def test_adam_1000_steps_matches_autograd(data):
    X, y, _ = data
    a, g = _both(X, y, epochs=1000, tol=0, seed=1, lr=0.01, init="uniform", validation=0.2)
    assert g.n_iter == 1000
    _assert_same_trajectory(a, g)


def test_adam_zero_start_keeps_the_intercept_at_its_optimum(data):
    # From zeros the standardized intercept starts at its optimum, 0, where
    # the autograd loop's gradient is pure rounding; Adam divides by
    # sqrt(v) + eps and so amplifies it by about lr/eps a step, and the
    # intercept wanders. The gram engine uses the exact zero means of the
    # centred columns: its intercept stays at 0. The slopes do not depend
    # on it and agree.
    X, y, _ = data
    a, g = _both(X, y, epochs=1000, tol=0, seed=1)
    assert g.intercept_standardized == 0.0
    slopes = [f"x{j}" for j in range(1, 7)]
    # The gram engine may reach a point where its gradient is exactly 0.0 and
    # stop there even with tol=0; up to then the slopes agree.
    rows = len(g.history)
    assert g.stop_reason == "max_epochs" or g.history["grad_norm"].iloc[-1] == 0.0
    np.testing.assert_allclose(g.history[slopes], a.history[slopes].iloc[:rows],
                               rtol=TRAJECTORY_RTOL)
    np.testing.assert_allclose(g.coef, tl.ols(X, y).coef, rtol=1e-8)


@pytest.mark.parametrize("optimizer, lr, epochs", [
    ("sgd", 0.1, 300), ("adamw", 0.01, 300), ("adagrad", 0.1, 300), ("lbfgs", 1.0, 20),
])
@pytest.mark.parametrize("variant", ["weights", "no_intercept", "raw", "two_outputs"])
def test_optimizers_and_variants_match_autograd(data, optimizer, lr, epochs, variant):
    X, y, weights = data
    options = dict(optimizer=optimizer, lr=lr, epochs=epochs, tol=0, seed=2, init="uniform",
                   validation=0.25)
    if variant == "weights":
        options["weights"] = weights
    elif variant == "no_intercept":
        options["intercept"] = False
    elif variant == "raw":
        X = X[:, :3] / 30.0
        options.update(standardize=False, lr=lr / 10 if optimizer != "lbfgs" else lr)
    else:
        y = np.column_stack([y, X[:, 0] - 2 * y])
    a, g = _both(X, y, **options)
    _assert_same_trajectory(a, g)


def test_auto_uses_gram_and_reports_it(data):
    X, y, _ = data
    fit = tl.fit(X, y, seed=1)
    assert fit.engine == "gram" and fit.settings["engine"] == "gram"
    assert tl.fit(X, y, seed=1, engine="sufficient").engine == "gram"
    assert tl.fit(X, y, seed=1, engine="autograd").settings["engine"] == "autograd"


def test_unknown_engine_is_refused(data):
    X, y, _ = data
    with pytest.raises(OptionError, match="engine must be one of"):
        tl.fit(X, y, engine="fast")


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_default_fit_reaches_ols(data, intercept, weighted):
    X, y, weights = data
    if not intercept:
        X = X - X.mean(axis=0)  # uncentred columns without intercept are ill-conditioned
    w = weights if weighted else None
    fit = tl.fit(X, y, seed=3, intercept=intercept, weights=w)
    exact = tl.ols(X, y, intercept=intercept, weights=w)
    np.testing.assert_allclose(fit.coef, exact.coef, rtol=1e-8)
    np.testing.assert_allclose(fit.intercept, exact.intercept, rtol=1e-8, atol=1e-10)


def test_adam_default_reaches_ols(data):
    X, y, _ = data
    fit = tl.fit(X, y, seed=3)
    exact = tl.ols(X, y)
    assert fit.converged
    np.testing.assert_allclose(fit.coef, exact.coef, rtol=1e-8)
    np.testing.assert_allclose(fit.intercept, exact.intercept, rtol=1e-8)


def test_aliased_column_is_left_out_as_by_autograd(data):
    X, y, _ = data
    X = np.column_stack([X, X[:, 1] - 2 * X[:, 2]])
    a, g = _both(X, y, epochs=200, tol=0, seed=1, init="uniform", lr=0.01)
    assert g.aliased.tolist() == a.aliased.tolist() == [False] * 6 + [True]
    assert np.isnan(g.coef[-1])
    _assert_same_trajectory(a, g)


def test_float32_is_close_to_ols(data):
    X, y, _ = data
    fit = tl.fit(X, y, seed=1, dtype="float32")
    assert fit.engine == "gram"
    np.testing.assert_allclose(fit.coef, tl.ols(X, y).coef, rtol=1e-4)


def test_same_seed_gives_bitwise_the_same_history(data):
    X, y, _ = data
    first, second = (tl.fit(X, y, seed=5, epochs=300, validation=0.1) for _ in range(2))
    assert first.history.equals(second.history)


def test_chunked_statistics_do_not_depend_on_the_chunk(data, monkeypatch):
    X, y, weights = data
    whole = tl.fit(X, y, weights=weights, seed=1, epochs=100, tol=0)
    monkeypatch.setattr(moments, "CHUNK_ROWS", 97)
    chunked = tl.fit(X, y, weights=weights, seed=1, epochs=100, tol=0)
    np.testing.assert_allclose(chunked.history["loss"], whole.history["loss"], rtol=1e-12)
    np.testing.assert_allclose(chunked.coef, whole.coef, rtol=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
def test_moments_are_the_centred_products_exactly_symmetric(data, monkeypatch, weighted):
    """One product of the chunk's rows ``[z - c, 1]`` with themselves (symmetric rank-k
    update unweighted, a matrix product weighted) gives Σ w (z - c)(z - c)ᵀ, exactly
    symmetric, and in its last row Σ w (z - c)."""
    X, y, weights = data
    monkeypatch.setattr(moments, "CHUNK_ROWS", 1024)
    w = weights if weighted else np.ones(len(y))
    mom = moments.moments(torch.as_tensor(X), torch.as_tensor(y[:, None]),
                       torch.as_tensor(weights) if weighted else None)
    Z = np.column_stack([X, y]) - mom.center.numpy()
    np.testing.assert_allclose(mom.second.numpy(), (Z * w[:, None]).T @ Z, rtol=1e-12)
    np.testing.assert_allclose(mom.first.numpy(), w @ Z, rtol=1e-9, atol=1e-9 * np.abs(Z).max())
    assert torch.equal(mom.second, mom.second.T)


@pytest.mark.parametrize("intercept", [True, False])
def test_scaler_from_moments_equals_scaler_fit(data, intercept):
    X, y, weights = data
    Xt, Yt, wt = (torch.as_tensor(a) for a in (X, y[:, None], weights))
    expected = Scaler.fit(Xt, Yt, wt, intercept)
    got = moments.scaler_from_moments(moments.moments(Xt, Yt, wt), intercept, True, torch.float64)
    for name in ("x_center", "x_scale", "y_center", "y_scale"):
        torch.testing.assert_close(getattr(got, name), getattr(expected, name), rtol=1e-12, atol=1e-12)


def test_quadratic_form_is_the_mse(data):
    X, y, weights = data
    Xt, Yt, wt = (torch.as_tensor(a) for a in (X, y[:, None], weights))
    mom = moments.moments(Xt, Yt, wt)
    scaler = moments.scaler_from_moments(mom, True, True, torch.float64)
    quadratic = Quadratic.from_moments(mom, scaler, True)
    theta = torch.tensor([[0.3, 0.1, -0.2, 0.5, 0.0, 1.0, -0.7]], dtype=torch.float64)
    residual = theta[0, 0] + scaler.transform_x(Xt) @ theta[0, 1:] - scaler.transform_y(Yt)[:, 0]
    direct = (wt * residual ** 2).sum() / wt.sum()
    torch.testing.assert_close(quadratic.per_output(theta)[0], direct, rtol=1e-12, atol=0)


def test_gram_engine_makes_no_standardized_copy(data, monkeypatch):
    X, y, _ = data

    def refuse(*args):
        raise AssertionError("the gram engine standardized the whole design")
    monkeypatch.setattr(Scaler, "transform_x", refuse)
    monkeypatch.setattr(Scaler, "transform_y", refuse)
    tl.fit(X, y, seed=1, epochs=50, validation=0.2)
    tl.fit(X, y, seed=1, epochs=2, batch_size=100)
