"""fitting/partial.py: partial_fit, one pass over each new piece of rows from where the fit
stopped: a full-batch piece is one gradient step on that piece (numpy's gradient), the kept
moments are those of every row given (exact solution = lstsq), and the first piece's options
hold."""
import numpy as np
import pytest
import torch

import torchlinreg as tl
from conftest import quiet_fit
from torchlinreg.engine.moments import moments
from torchlinreg.fitting.partial import partial_fit

OPTIONS = dict(optimizer="sgd", lr=0.1, precondition="standardize", seed=3)


@pytest.fixture
def pieces(rng):
    X = rng.normal(size=(90, 2)) * [2, 0.5] + [1, -3]
    y = 1 + X @ [0.7, -2.0] + rng.normal(scale=0.3, size=90)
    w = rng.uniform(0.5, 2, 90)
    return [(X[i:i + 30], y[i:i + 30], w[i:i + 30]) for i in (0, 30, 60)]


def standardized_theta(fit):
    return np.concatenate([[fit.intercept_standardized], fit.coef_standardized])


def test_a_full_batch_piece_is_one_gradient_step_on_that_piece(pieces):
    (X1, y1, w1), (X2, y2, w2), _ = pieces
    first = partial_fit(None, X1, y1, w1, **OPTIONS)
    assert first.n_iter == 1 and first.n_train == 30
    second = partial_fit(first, X2, y2, w2)
    scaler = first.scaler
    A = np.column_stack([np.ones(30), (X2 - scaler.x_center.numpy()) / scaler.x_scale.numpy()])
    target = (y2 - float(scaler.y_center[0])) / float(scaler.y_scale[0])
    theta = standardized_theta(first)
    gradient = 2 * (w2 * (A @ theta - target)) @ A / w2.sum()
    np.testing.assert_allclose(standardized_theta(second), theta - 0.1 * gradient, rtol=1e-12)
    assert second.n_iter == 2 and len(second.history) == 3
    assert second.history.iloc[:2].equals(first.history)  # the history goes on
    np.testing.assert_array_equal(first.scaler.x_center, second.scaler.x_center)


def test_the_kept_moments_are_of_every_row_given_and_the_exact_solution_is_lstsq(pieces):
    fit = None
    for X, y, w in pieces:
        fit = partial_fit(fit, X, y, w, **({} if fit else OPTIONS))
    X, y, w = (np.concatenate(part) for part in zip(*pieces))
    kept = fit._statistics.moments
    whole = moments(torch.as_tensor(X), torch.as_tensor(y[:, None]), torch.as_tensor(w))
    assert (kept.n_rows, kept.n_positive) == (90, 90)
    assert kept.log_weight_sum == pytest.approx(whole.log_weight_sum, rel=1e-13)
    np.testing.assert_allclose(kept.mean(), whole.mean(), rtol=1e-13)
    np.testing.assert_allclose(kept.shifted(whole.center).second, whole.second, rtol=1e-12)
    weight, bias = fit.exact
    exact = tl.ols(X, y, weights=w)
    np.testing.assert_allclose(weight[0], exact.coef, rtol=1e-10)
    assert float(bias[0]) == pytest.approx(exact.intercept, rel=1e-10)
    assert fit.nobs == 90


def test_the_same_rows_again_are_another_epoch_of_a_fit(pieces):
    X, y, w = pieces[0]
    again = partial_fit(partial_fit(None, X, y, w, **OPTIONS), X, y, w)
    straight = quiet_fit(X, y, weights=w, epochs=2, tol=0, **OPTIONS)
    np.testing.assert_allclose(again.coef, straight.coef, rtol=1e-12)
    np.testing.assert_allclose(again.history["loss"], straight.history["loss"], rtol=1e-12)


def test_minibatches_make_one_epoch_per_piece(pieces):
    (X1, y1, _), (X2, y2, _), _ = pieces
    first = partial_fit(None, X1, y1, batch_size=8, **OPTIONS)
    second = partial_fit(first, X2, y2)
    assert (first.n_steps, second.n_steps) == (4, 8)


def test_the_first_piece_fixes_the_options_and_the_shapes(pieces):
    X, y, w = pieces[0]
    first = partial_fit(None, X, y, **OPTIONS)
    with pytest.raises(tl.OptionError, match=r"takes its options from the first piece; got \['lr'\]"):
        partial_fit(first, X, y, lr=0.5)
    with pytest.raises(tl.OptionError, match="no held-out rows: leave validation at 0"):
        partial_fit(None, X, y, validation=0.2)
    with pytest.raises(tl.OptionError, match="sufficient-statistics engine"):
        partial_fit(None, X, y, engine="autograd")
    with pytest.raises(tl.ShapeError, match=r"X has 1 columns; the fit has 2 \(\['x1', 'x2'\]\)"):
        partial_fit(first, X[:, :1], y)
    with pytest.raises(tl.ShapeError, match="y has 2 outputs; the fit has 1"):
        partial_fit(first, X, np.column_stack([y, y]))
    with pytest.raises(tl.OptionError, match="continues a fit made by partial_fit"):
        partial_fit(first._with(state=None), X, y)


def test_a_fit_made_by_fit_continues_as_the_first_piece_of_a_stream(pieces):
    (X1, y1, w1), (X2, y2, w2), _ = pieces
    made = quiet_fit(X1, y1, weights=w1, epochs=3, tol=0, **OPTIONS)
    continued = partial_fit(made, X2, y2, w2)
    X, y, w = np.concatenate([X1, X2]), np.concatenate([y1, y2]), np.concatenate([w1, w2])
    exact = tl.ols(X, y, weights=w)
    weight, bias = continued.exact
    np.testing.assert_allclose(weight[0], exact.coef, rtol=1e-10)
    assert float(bias[0]) == pytest.approx(exact.intercept, rel=1e-10)
    assert continued.nobs == 60 and continued.n_iter == 4
    assert made.nobs == 30 and made._statistics is None  # the fit given is unchanged
    # the step is one epoch on the second piece, from where fit() stopped
    through_stream = partial_fit(partial_fit(None, X1, y1, w1, **OPTIONS), X1, y1, w1)
    through_stream = partial_fit(partial_fit(through_stream, X1, y1, w1), X2, y2, w2)
    np.testing.assert_allclose(continued.coef, through_stream.coef, rtol=1e-12)


def test_a_fit_with_held_out_rows_does_not_start_a_stream(pieces):
    X, y, w = pieces[0]
    held_out = quiet_fit(X, y, validation=0.2, **OPTIONS)
    with pytest.raises(tl.OptionError, match="holds 6 out for validation"):
        partial_fit(held_out, X, y)


def test_a_piece_far_outside_the_first_piece_s_scale_says_so_not_try_a_smaller_lr(pieces):
    (X1, y1, _), (X2, y2, _), _ = pieces
    first = partial_fit(None, X1, y1, **OPTIONS)
    with pytest.raises(tl.DivergenceError, match="standard deviations of the first piece") as caught:
        partial_fit(first, X2, y2 * 1e6)
    assert "try lr" not in str(caught.value)
    assert caught.value.history is not None
