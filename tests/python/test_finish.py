"""fitting/finish.py: a trained model into a LinearFit. The coefficients and history mapped to
the original scale by hand, NaN for aliased columns, the check that a "converged" fit is at
the least-squares minimum, how the loop's ending is reported, and the convergence advice's
arithmetic."""
import re
import warnings

import numpy as np
import pytest
import torch

import torchlinreg as tl
from torchlinreg.engine.autograd import AutogradObjective
from torchlinreg.engine.model import LinearModel
from torchlinreg.engine.scaling import Scaler
from torchlinreg.engine.settings import make_settings
from torchlinreg.engine.training import Trace
from torchlinreg.fitting.finish import check_optimum, convergence_advice, finish_fit
from torchlinreg.inputs.arrays import Response

SCALER = Scaler(torch.tensor([10.0, -2.0], dtype=torch.float64),
                torch.tensor([2.0, 0.5], dtype=torch.float64),
                torch.tensor([100.0, 0.0], dtype=torch.float64),
                torch.tensor([4.0, 1.0], dtype=torch.float64))


def trace_of(rows, stop_reason="max_epochs", converged=False, loss=None):
    """A trace of parameter rows ``[b1, b2, w11, w12, w21, w22]`` (two outputs)."""
    n = len(rows)
    return Trace(parameters=[torch.tensor(r, dtype=torch.float64) for r in rows],
                 loss=loss or [1.0 / (i + 1) for i in range(n)], val_loss=[float("nan")] * n,
                 grad_norm=[8.0 / 2 ** i for i in range(n)], steps=list(range(n)), n_steps=n - 1,
                 converged=converged, stop_reason=stop_reason)


def finish(trace, aliased=(False, False), settings=None, last=None):
    """finish_fit of a two-output model at the trace's last row (or at ``last``)."""
    last = trace.parameters.stack()[-1] if last is None else torch.tensor(last, dtype=torch.float64)
    model = LinearModel(last[2:].reshape(2, -1).clone(), last[:2].clone())
    p = len(aliased)
    return finish_fit(model, torch.optim.SGD(model.parameters(), lr=0.1), trace,
                      torch.Generator(), SCALER, torch.tensor(aliased), ["a", "b", "c"][:p],
                      Response(torch.zeros(3, 2), ["u", "v"], False),
                      settings or make_settings(seed=1, tol=0),
                      train_data=(torch.zeros(3, p), torch.zeros(3, 2), None),
                      train_index=np.arange(3), valid_index=np.arange(0))


def quiet_finish(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        return finish(*args, **kwargs)


def test_coefficients_and_history_are_mapped_to_the_original_scale():
    """w = w_std · y_scale / x_scale and b = y_center + y_scale b_std - w · x_center."""
    rows = [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.5, -1.0, 0.2, 0.4, -0.6, 1.0]]
    fit = quiet_finish(trace_of(rows))
    weight = np.array([[0.2 * 4 / 2, 0.4 * 4 / 0.5], [-0.6 * 1 / 2, 1.0 * 1 / 0.5]])
    bias = np.array([100 + 4 * 0.5, 0 - 1.0]) - weight @ [10.0, -2.0]
    np.testing.assert_allclose(fit.coef, weight, rtol=1e-15)
    np.testing.assert_allclose(fit.intercept, bias, rtol=1e-15)
    np.testing.assert_array_equal(fit.coef_standardized, [[0.2, 0.4], [-0.6, 1.0]])
    history = fit.history
    assert list(history.columns) == ["iteration", "step", "loss", "val_loss", "grad_norm",
                                     "u:(Intercept)", "u:a", "u:b", "v:(Intercept)", "v:a", "v:b"]
    assert history["grad_norm"].tolist() == [1.0, 0.5]  # relative to the start
    np.testing.assert_allclose(history.iloc[-1][["u:a", "u:b", "v:a", "v:b"]], weight.ravel())
    np.testing.assert_allclose(history.iloc[0][["u:(Intercept)", "v:(Intercept)"]], [100, 0])
    assert fit._state["parameters"].tolist() == rows[-1]


def test_an_aliased_column_is_nan_and_has_no_history_column():
    rows = [[0.0] * 6, [0.5, -1.0, 0.2, 0.4, -0.6, 1.0]]
    fit = quiet_finish(trace_of(rows), aliased=(False, True, False))
    assert np.isnan(fit.coef[:, 1]).all() and fit.coef.shape == (2, 3)
    np.testing.assert_allclose(fit.coef[:, [0, 2]], [[0.4, 3.2], [-0.3, 2.0]], rtol=1e-15)
    assert "u:b" not in fit.history and "u:c" in fit.history


def test_how_the_loop_ended_is_reported():
    rows = [[0.0] * 6, [1.0] * 6]
    with pytest.raises(KeyboardInterrupt):
        finish(Trace(), last=rows[-1])  # interrupted before anything was recorded
    with pytest.raises(tl.DivergenceError, match=r"diverged at step 1 \(last finite loss 1\) "
                                                 r"with lr=0\.01; try lr=0\.001 or standardize=True"):
        finish(trace_of(rows, "diverged", loss=[1.0, float("inf")]),
               settings=make_settings(seed=1, lr=0.01, standardize=False))
    with pytest.raises(tl.InputError, match="overflows float64"):
        finish(trace_of(rows, "diverged", loss=[float("inf")] * 2))
    with pytest.warns(tl.ConvergenceWarning,
                      match=r"stopped after 1 steps .*; it is at 0\.5 of its start"):
        finish(trace_of(rows))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # minibatch epochs at their limit: no warning
        finish(trace_of(rows), settings=make_settings(seed=1, batch_size=4))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_converged_fit_away_from_the_minimum_is_not_called_converged(rng):
    X = torch.as_tensor(rng.normal(size=(50, 1)))
    Y = 3 * X + torch.as_tensor(rng.normal(size=(50, 1)))
    objective = AutogradObjective(X, Y)
    identity = Scaler.identity(1, 1, torch.float64)
    best = torch.linalg.lstsq(torch.cat([torch.ones(50, 1, dtype=torch.float64), X], 1), Y).solution
    at_minimum = LinearModel(best[1:].T.clone(), best[0].clone())
    trace = Trace(converged=True, stop_reason="converged")
    check_optimum(trace, at_minimum, identity, objective)
    assert trace.converged and trace.stop_reason == "converged"
    away = LinearModel(best[1:].T * 0.99, best[0].clone())
    with pytest.warns(tl.ConvergenceWarning, match="still .* of y's variance above the least"):
        check_optimum(trace, away, identity, objective)
    assert not trace.converged and trace.stop_reason == "not_at_optimum"
    tiny = Scaler(identity.x_center, torch.tensor([1e-320], dtype=torch.float64),
                  identity.y_center, identity.y_scale)
    trace = Trace(converged=True, stop_reason="converged")
    with pytest.warns(tl.ConvergenceWarning, match="on the original scale are not finite"):
        check_optimum(trace, at_minimum, tiny, None)
    assert trace.stop_reason == "not_at_optimum"


def test_the_advice_is_the_epochs_the_gradients_rate_needs():
    """Falling by 0.9 a step from 1e-5 to tol 1e-14: 1.5 · log(1e-9)/log(0.9) = 295 more
    steps after 100, rounded up to two digits: 400."""
    settings = make_settings(seed=1, epochs=100, tol=1e-14)
    steady = 1e-5 / 0.9 ** np.arange(100, -1, -1.0)
    assert convergence_advice(steady, settings) == \
        "it was still falling steadily; raise epochs to about 400"
    slow = 1e-5 / 0.99999 ** np.arange(100, -1, -1.0)
    assert convergence_advice(slow, settings) == \
        "it falls too slowly at lr=0.1; try lr=1 (or raise epochs a great deal)"
    flat = np.full(101, 1e-5)
    assert convergence_advice(flat, settings) == \
        "it has stopped falling at lr=0.1; try lr=0.01, or optimizer='lbfgs'"
    assert convergence_advice(steady, make_settings(seed=1, precondition="standardize")) \
        .startswith("use precondition='qr' (the default)")


def _epoch_limit_warning(X, y, **options):
    with pytest.warns(tl.ConvergenceWarning) as caught:
        fit = tl.fit(X, y, seed=1, **options)
    assert fit.stop_reason == "max_epochs" and not fit.converged
    return fit, " ".join(str(w.message) for w in caught)


def test_tol_0_at_the_least_squares_minimum_is_not_called_not_least_squares(rng):
    """tol=0 runs to the epoch limit unless the gradient is exactly 0; a fit that got to
    rounding level is least squares (ols to 1e-12), and the warning says so instead of
    'not least squares ... try lr=0.01'."""
    X = rng.normal(size=(2000, 20))
    y = X @ rng.normal(size=20) + rng.normal(size=2000)
    fit, message = _epoch_limit_warning(X, y, epochs=1000, tol=0)
    exact = tl.ols(X, y)
    np.testing.assert_allclose(fit.coef, exact.coef, rtol=1e-12)
    assert "the coefficients are least squares to the precision of a converged fit" in message
    assert "not least squares" not in message and "try lr" not in message


def test_tol_0_still_falling_advises_the_epochs_of_the_default_tol(rng):
    X = rng.normal(size=(500, 4))
    y = X @ [1.0, -2.0, 0.5, 3.0] + rng.normal(size=500)
    _, message = _epoch_limit_warning(X, y, epochs=50, tol=0)
    assert "not least squares" in message
    epochs = int(re.search(r"raise epochs to about ([0-9,]+), to reach the default tol",
                           message).group(1).replace(",", ""))
    assert tl.fit(X, y, seed=1, epochs=epochs).converged
