"""What the training loop records and how it stops.

Tolerances: history losses against a numpy recomputation 1e-12 relative
(float64); parameters at the last row equal ``coef`` exactly.
"""
import warnings

import numpy as np
import pandas as pd
import pytest

import torchlinreg as tl

LOSS_RTOL = 1e-12
META = ["iteration", "step", "loss", "val_loss", "grad_norm"]


@pytest.fixture
def xy(rng):
    X = rng.normal(5, 2, size=(100, 3))
    return X, X @ [1.0, -0.5, 2.0] + 10 + rng.normal(0, 0.5, 100)


def _params(history):
    return history[[c for c in history.columns if c not in META]]


def _hand_mse(X, y, row):
    """Mean squared error computed by numpy from one history row's parameters."""
    b, w = row["(Intercept)"], row[[f"x{j + 1}" for j in range(X.shape[1])]].to_numpy(float)
    return np.mean((y - (X @ w + b)) ** 2)


@pytest.mark.parametrize("options", [{}, {"optimizer": "sgd"}, {"batch_size": 10, "epochs": 7}],
                         ids=["adam", "sgd", "minibatch"])
def test_history_rows_and_columns(xy, options):
    X, y = xy
    fit = tl.fit(X, y, seed=1, **options)
    h = fit.history
    assert isinstance(h, pd.DataFrame)
    assert list(h.columns) == META + ["(Intercept)", "x1", "x2", "x3"]
    assert len(h) == fit.n_iter + 1
    np.testing.assert_array_equal(h["iteration"], np.arange(fit.n_iter + 1))
    per_row = 1 if "batch_size" not in options else int(np.ceil(100 / 10))
    np.testing.assert_array_equal(h["step"], np.arange(fit.n_iter + 1) * per_row)
    assert h["step"].iloc[-1] == fit.n_steps
    assert h["val_loss"].isna().all()
    assert h["grad_norm"].iloc[0] == 1.0


def test_row_zero_is_the_zero_start_on_the_standardized_scale(xy):
    X, y = xy
    fit = tl.fit(X, y, seed=1)
    first = _params(fit.history).iloc[0].to_numpy()
    # All standardized parameters 0: slopes 0 and the intercept mean(y) on the original scale.
    np.testing.assert_array_equal(first[1:], 0.0)
    assert first[0] == pytest.approx(y.mean(), rel=1e-12)
    assert fit.history["loss"].iloc[0] == pytest.approx(np.mean((y - y.mean()) ** 2), rel=LOSS_RTOL)


def test_last_row_parameters_equal_coef(xy):
    X, y = xy
    fit = tl.fit(X, y, seed=1)
    last = _params(fit.history).iloc[-1].to_numpy()
    np.testing.assert_array_equal(last, fit.coefficients()[0])


@pytest.mark.parametrize("options", [{}, {"batch_size": 10, "epochs": 5}], ids=["full", "minibatch"])
def test_loss_column_is_the_mse_of_that_row(xy, options):
    X, y = xy
    fit = tl.fit(X, y, seed=1, **options)
    for i in [0, 1, 2, len(fit.history) // 2, len(fit.history) - 1]:
        row = fit.history.iloc[i]
        assert row["loss"] == pytest.approx(_hand_mse(X, y, row), rel=LOSS_RTOL)


def test_val_loss_is_the_mse_on_held_out_rows(xy):
    X, y = xy
    fit = tl.fit(X, y, seed=3, validation=0.3)
    v, t = fit.valid_index, fit.train_index
    assert len(v) == 30
    for i in [0, 5, len(fit.history) - 1]:
        row = fit.history.iloc[i]
        assert row["val_loss"] == pytest.approx(_hand_mse(X[v], y[v], row), rel=LOSS_RTOL)
        assert row["loss"] == pytest.approx(_hand_mse(X[t], y[t], row), rel=LOSS_RTOL)


def test_explicit_validation_data(xy, rng):
    X, y = xy
    Xv = rng.normal(5, 2, size=(20, 3))
    yv = Xv @ [1.0, -0.5, 2.0] + 10
    fit = tl.fit(X, y, seed=1, validation=(Xv, yv))
    assert len(fit.train_index) == 100 and len(fit.valid_index) == 0
    row = fit.history.iloc[-1]
    assert row["val_loss"] == pytest.approx(_hand_mse(Xv, yv, row), rel=LOSS_RTOL)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "lbfgs"])
def test_loss_decreases_overall(xy, optimizer):
    X, y = xy
    h = tl.fit(X, y, seed=1, optimizer=optimizer).history
    assert h["loss"].iloc[-1] < 0.01 * h["loss"].iloc[0]
    assert h["loss"].iloc[-1] == pytest.approx(h["loss"].min(), rel=1e-9)


def test_stops_on_tolerance_and_says_why(xy):
    X, y = xy
    fit = tl.fit(X, y, seed=1)
    assert fit.converged and fit.stop_reason == "converged"
    assert fit.history["grad_norm"].iloc[-1] <= fit.settings["tol"]
    assert (fit.history["grad_norm"].iloc[:-1] > fit.settings["tol"]).all()


def test_max_epochs_warns_and_is_recorded(xy):
    X, y = xy
    with pytest.warns(tl.ConvergenceWarning, match="stopped after 3 steps"):
        fit = tl.fit(X, y, seed=1, epochs=3)
    assert not fit.converged and fit.stop_reason == "max_epochs" and fit.n_iter == 3


def test_minibatch_stops_at_epochs_without_warning(xy):
    X, y = xy
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = tl.fit(X, y, seed=1, batch_size=30, epochs=4)
    assert fit.n_iter == 4 and fit.n_steps == 16 and fit.stop_reason == "max_epochs"


def test_divergence_raises_with_a_smaller_lr(xy):
    X, y = xy
    with pytest.raises(tl.DivergenceError, match=r"diverged .* with lr=50; try lr=5") as info:
        tl.fit(X, y, optimizer="sgd", lr=50.0, seed=1)
    assert info.value.suggested_lr == 5.0
    assert isinstance(info.value.history, pd.DataFrame)


def test_the_parameter_history_grows_is_cut_and_stacks():
    import torch
    from torchlinreg.engine.training import Rows, Trace
    rows = Rows()
    expected = [np.arange(3.0) + i for i in range(40)]  # past the first allocation (16)
    for row in expected[:20]:
        rows.append(row)
    for row in expected[20:]:
        rows.append(torch.from_numpy(row))
    assert len(rows) == 40 and torch.equal(rows[-1], torch.from_numpy(expected[-1]))
    np.testing.assert_array_equal(rows.stack().numpy(), np.stack(expected))
    del rows[25:]
    assert len(rows) == 25 and torch.equal(rows[24], torch.from_numpy(expected[24]))
    rows.append(expected[0])
    assert torch.equal(rows[25], torch.from_numpy(expected[0]))
    assert len(Trace(parameters=[torch.ones(2), torch.zeros(2)]).parameters) == 2


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("k", [1, 3])
def test_the_cpu_step_gives_the_quadratics_loss_and_gradient(rng, dtype, k):
    """The CPU path (numpy on the parameter's memory) against the Quadratic's own torch
    computation: the same gradient bit for bit, the same losses to rounding."""
    import torch
    from torchlinreg.engine.model import LinearModel
    from torchlinreg.engine.objective import build_objectives
    X = torch.as_tensor(rng.normal(size=(50, 4)))
    Y = torch.as_tensor(rng.normal(size=(50, k)))
    _, train, _, _ = build_objectives(X, Y, None, None, True, "standardize")
    torch_dtype = getattr(torch, dtype)
    model = LinearModel(torch.as_tensor(rng.normal(size=(k, 4))).to(torch_dtype),
                        torch.as_tensor(rng.normal(size=k)).to(torch_dtype))
    losses = train.loss_and_gradient(model)
    theta = model.theta.detach().to(torch.float64)
    residual = train.quadratic.residual(theta)
    assert torch.equal(model.theta.grad, (residual * (2.0 / k)).to(torch_dtype))
    np.testing.assert_allclose(losses, train.quadratic.per_output(theta, residual), rtol=1e-14)
    np.testing.assert_allclose(train.loss(model), losses, rtol=0)
    np.testing.assert_allclose(train.gradient_norm(model),
                               float(model.theta.grad.to(torch.float64).norm()), rtol=1e-14)
