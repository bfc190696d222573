"""Early stopping on the validation loss: fit(patience=), the estimator's early_stopping."""
from contextlib import nullcontext

import numpy as np
import pytest

import torchlinreg as tl
from torchlinreg.errors import OptionError


@pytest.fixture(scope="module")
def overfitting():
    """40 noise columns beside one real one on 80 rows: the validation loss falls, then rises."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 41))
    y = 2 * X[:, 0] + rng.normal(size=80)
    return X, y


def _stopped_as_documented(fit, patience):
    val = fit.history["val_loss"].to_numpy()
    best = int(np.argmin(val))
    assert fit.stop_reason == "early_stopping" and not fit.converged
    assert fit.n_iter == best + patience  # no new low in the last `patience` updates
    assert (val[best + 1:] >= val[best]).all()
    np.testing.assert_array_equal(fit.coef, fit.history[fit.feature_names].iloc[-1])


@pytest.mark.parametrize("batch_size", [None, 16])
def test_patience_stops_when_the_validation_loss_stops_falling(overfitting, batch_size):
    X, y = overfitting
    fit = tl.fit(X, y, validation=0.3, patience=5, batch_size=batch_size, lr=0.01, seed=1)
    _stopped_as_documented(fit, 5)
    assert fit.settings["patience"] == 5
    with pytest.warns(tl.ConvergenceWarning) if batch_size is None else nullcontext():
        without = tl.fit(X, y, validation=0.3, batch_size=batch_size, lr=0.01, seed=1,
                         epochs=fit.n_iter + 50)
    assert without.n_iter > fit.n_iter  # the same fit runs on without patience
    np.testing.assert_array_equal(without.history["val_loss"].iloc[:fit.n_iter + 1],
                                  fit.history["val_loss"])


def test_patience_needs_validation_data(overfitting):
    X, y = overfitting
    with pytest.raises(OptionError, match="patience stops on the validation loss"):
        tl.fit(X, y, patience=5)
    with pytest.raises(OptionError, match="patience must be at least 1"):
        tl.fit(X, y, validation=0.2, patience=0)


def test_explicit_validation_data_and_a_patience_longer_than_the_fit(overfitting):
    X, y = overfitting
    fit = tl.fit(X[:60], y[:60], validation=(X[60:], y[60:]), patience=3, lr=0.01, seed=1)
    _stopped_as_documented(fit, 3)
    patient = tl.fit(X[:60, :1], y[:60], validation=(X[60:, :1], y[60:]), patience=10_000,
                     seed=1)
    assert patient.stop_reason == "converged"


def test_estimator_early_stopping_uses_scikit_learns_names(overfitting):
    X, y = overfitting
    est = tl.TorchLinearRegression(early_stopping=True, n_iter_no_change=4,
                                   validation_fraction=0.25, lr=0.01, random_state=1).fit(X, y)
    fit = est.linear_fit_
    _stopped_as_documented(fit, 4)
    assert fit.settings["validation"] == 0.25 and fit.n_valid == 20
    assert est.n_iter_ == fit.n_iter
    plain = tl.TorchLinearRegression(lr=0.01, random_state=1, max_iter=fit.n_iter + 10)
    with pytest.warns(tl.ConvergenceWarning):
        assert plain.fit(X, y).linear_fit_.stop_reason == "max_epochs"
