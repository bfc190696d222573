"""Property tests: random well-conditioned designs reach ols(); random bad inputs get the typed error.

Derandomized and with few examples, so CI runs the same cases every time.
"""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import torchlinreg as tl
from torchlinreg import InputError, OptionError, ShapeError

FAST = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


@st.composite
def designs(draw):
    """A well-conditioned problem: columns of any scale and offset, a few outputs."""
    p = draw(st.integers(1, 5))
    n = draw(st.integers(p + 3, 150))
    k = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    scales = 10.0 ** rng.uniform(-3, 3, size=p)
    offsets = rng.normal(scale=5, size=p) * scales
    X = rng.normal(size=(n, p)) * scales + offsets
    beta = rng.normal(size=(p, k)) / scales[:, None]
    Y = X @ beta + rng.normal(size=k) * 3 + rng.normal(scale=0.5, size=(n, k))
    return X, (Y[:, 0] if k == 1 else Y)


def relative_error(estimate, exact):
    estimate, exact = np.ravel(estimate), np.ravel(exact)
    return np.linalg.norm(estimate - exact) / max(np.linalg.norm(exact), 1e-300)


@FAST
@given(problem=designs(), intercept=st.booleans(), seed=st.integers(0, 2 ** 31),
       engine=st.sampled_from(["gram", "autograd"]))
def test_converged_fit_matches_ols(problem, intercept, seed, engine):
    X, y = problem
    fit = tl.fit(X, y, intercept=intercept, seed=seed, engine=engine)
    exact = tl.ols(X, y, intercept=intercept)
    assert fit.converged, fit.history["grad_norm"].iloc[-1]
    assert relative_error(fit.coef, exact.coef) < 1e-8
    if intercept:
        assert relative_error(fit.intercept, exact.intercept) < 1e-8


@FAST
@given(problem=designs(), which=st.integers(0, 10), how=st.sampled_from(["duplicate", "constant", "sum"]))
def test_aliased_columns_are_nan_and_the_rest_matches_ols(problem, which, how):
    X, y = problem
    j = which % X.shape[1]
    extra = {"duplicate": X[:, j], "constant": np.full(len(X), 7.0), "sum": X.sum(1)}[how]
    wide = np.column_stack([X, extra])
    if len(wide) < wide.shape[1] + 1:
        return
    fit = tl.fit(wide, y, seed=0)
    exact = tl.ols(wide, y)
    assert fit.aliased[-1] and exact.aliased[-1] and not fit.aliased[:-1].any()
    assert np.isnan(np.atleast_2d(fit.coef)[:, -1]).all()
    assert relative_error(np.atleast_2d(fit.coef)[:, :-1], np.atleast_2d(exact.coef)[:, :-1]) < 1e-8


def _corrupt(X, y, how, rng):
    """Bad data and the error it must raise (class, a phrase of its message)."""
    n, p = X.shape
    X, y = X.copy(), np.array(y, dtype=float)
    i, j = rng.integers(n), rng.integers(p)
    if how == "nan_x":
        X[i, j] = rng.choice([np.nan, np.inf, -np.inf])
        return X, y, {}, InputError, f"column 'x{j + 1}'"
    if how == "nan_y":
        y[i] = np.nan
        return X, y, {}, InputError, "NaN or infinite"
    if how == "rows":
        return X, y[:-1 - i], {}, ShapeError, "same number of rows"
    if how == "3d":
        return X[:, :, None], y, {}, ShapeError, "must be 2-D"
    if how == "strings":
        bad = X.astype(object)
        bad[i, j] = "oops"
        return bad, y, {}, InputError, f"column(s) [{j}]"
    if how == "few_rows":  # fewer rows than coefficients fit as lm(); none is an error
        return X[:0], y[:0], {}, InputError, "has no rows"
    options = {"lr": {"lr": -float(rng.uniform(0, 1))},
               "epochs": {"epochs": -int(rng.integers(0, 5))},
               "batch_small": {"batch_size": 0},
               "batch_big": {"batch_size": n + 1 + int(rng.integers(0, 5))},
               "validation": {"validation": float(rng.choice([1.0, 1.5, -0.1]))},
               "optimizer": {"optimizer": "adamm"},
               "option": {"optimizer": "sgd", "momentumm": 0.9}}[how]
    return X, y, options, OptionError, ""


BAD = ["nan_x", "nan_y", "rows", "3d", "strings", "few_rows", "lr", "epochs", "batch_small",
       "batch_big", "validation", "optimizer", "option"]


@FAST
@given(problem=designs(), how=st.sampled_from(BAD), seed=st.integers(0, 2 ** 32 - 1))
def test_bad_input_gets_the_typed_error(problem, how, seed):
    X, y = problem
    if np.ndim(y) == 2:
        y = y[:, 0]
    X_bad, y_bad, options, error, phrase = _corrupt(X, y, how, np.random.default_rng(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error) as caught:
            tl.fit(X_bad, y_bad, epochs=options.pop("epochs", 5), **options)
    assert type(caught.value) is error
    assert phrase in str(caught.value)
