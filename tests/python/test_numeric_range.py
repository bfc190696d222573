"""The whole range of magnitudes lm() handles, and no "converged" for a wrong answer
(issue 17, item 7). The moments are summed in units of a power of two per column
(exact) where a column's magnitude is outside 2^±200, so its squares neither
overflow nor become subnormal; inside that range nothing changes, bit for bit."""
import warnings

import numpy as np
import pandas as pd
import pytest

import torchlinreg as tl
from torchlinreg.errors import ConvergenceWarning, InputError

N = 400


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N, 3))
    y = 1 + X @ [1.0, 2.0, 3.0] + rng.normal(size=N)
    return X, y


def lstsq(X, y):
    beta = np.linalg.lstsq(np.c_[np.ones(len(y)), X], y, rcond=None)[0]
    return beta[0], beta[1:]


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - b) / np.abs(b)))


@pytest.mark.parametrize("scale", [1e-159, 1e-160, 1e-165, 1e-300, 1e153, 1e200, 1e300])
@pytest.mark.parametrize("where", ["x", "x1", "y"])
def test_columns_of_any_float64_magnitude_give_lm_s_coefficients(data, scale, where):
    if where == "y" and scale > 1e153:
        pytest.skip("the loss in y's units (y² ~ 1e400) overflows: see the next test")
    X, y = data
    intercept, coef = lstsq(X, y)  # scaled exactly as the columns (to rounding)
    if where == "y":
        y, intercept, coef = y * scale, intercept * scale, coef * scale
    else:
        factors = np.array([scale] * 3 if where == "x" else [scale, 1, 1])
        X, coef = X * factors, coef / factors
    fit = tl.fit(X, y, seed=0)
    assert fit.converged and not fit.aliased.any()
    assert rel(fit.coef, coef) < 1e-10 and rel(fit.intercept, intercept) < 1e-10
    assert rel(fit.exact[0][0], coef) < 1e-12


def test_a_response_whose_squares_overflow_says_so_not_try_a_smaller_lr(data):
    X, y = data
    with pytest.raises(InputError, match="mean squared error of y, in y's units, overflows"):
        tl.fit(X, y * 1e200, seed=0)


def test_tiny_and_huge_columns_match_lm(data, r_lm):
    X, y = data
    X = X * [1e-300, 1e300, 1e-165]
    frame = pd.DataFrame(X, columns=["x1", "x2", "x3"]).assign(y=y)
    fit = tl.fit(frame[["x1", "x2", "x3"]], frame["y"], seed=0)
    reference = r_lm("y ~ x1 + x2 + x3", frame)
    assert rel(np.r_[fit.intercept, fit.coef], reference["coef"]) < 1e-10


@pytest.mark.parametrize("scale", [1e-165, 1e-300, 1e300])
def test_streamed_files_of_any_magnitude_give_the_same_coefficients(data, tmp_path, scale):
    X, y = data
    frame = pd.DataFrame(X * scale, columns=["x1", "x2", "x3"]).assign(y=y)
    path = tmp_path / "range.parquet"
    frame.to_parquet(path, index=False)
    streamed = tl.fit_files(path, "y", seed=0)
    coef = lstsq(X, y)[1] / scale
    assert streamed.converged and rel(streamed.coef, coef) < 1e-10
    # (exact and inference of a streamed fit come from its moments in units of y and x,
    # which do not hold squares of 1e-165: see README's reliability table)


def test_ordinary_magnitudes_are_summed_in_units_of_one(data):
    from torchlinreg.engine.moments import moments
    import torch
    X, y = (torch.as_tensor(v) for v in data)
    assert moments(X * 1e-58, y[:, None] * 1e58).unit is None
    assert moments(X * 1e-61, y[:, None]).unit is not None


def test_float32_scales_outside_its_range_are_an_error(data, tmp_path):
    X, y = data
    frame = pd.DataFrame(X * 1e-150, columns=["x1", "x2", "x3"]).assign(y=y)
    path = tmp_path / "tiny.parquet"
    frame.to_parquet(path, index=False)
    with pytest.raises(InputError, match="too small for float32"):
        tl.fit_files(path, "y", dtype="float32")


def test_the_float32_intercept_of_columns_with_a_large_offset(data):
    X, y = data
    X = X + 1e4
    X32, y32 = (np.asarray(v, np.float32).astype(np.float64) for v in (X, y))
    intercept, coef = lstsq(X32, y32)  # lm() of the float32 data the fit sees
    # The intercept's error is the slopes' float32 rounding times x̄ = 1e4: about
    # 4e-8 · 2 · 1e4 · 3 columns at most; standardized it was 3.8e-3 before the fix.
    for precondition, bound in (("standardize", 1e-3), ("qr", 2e-3)):
        fit = tl.fit(X, y, dtype="float32", seed=0, precondition=precondition)
        assert fit.converged
        assert abs(fit.intercept - intercept) < bound
        assert rel(fit.coef, coef) < 1e-6


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_standardize_false_never_says_converged_far_from_the_minimum(optimizer):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    y = 1 + X @ [1.0, 2.0, 3.0] + rng.normal(size=500)
    X = X * [1e-6, 1, 1]  # its gradient is tiny: the gradient test passes at coefficient ~0
    with pytest.warns(ConvergenceWarning, match="above the least-squares minimum"):
        fit = tl.fit(X, y, standardize=False, optimizer=optimizer, dtype="float32",
                     epochs=20000, seed=0)
    assert not fit.converged and fit.stop_reason == "not_at_optimum"
    assert rel(fit.coef[0], lstsq(X, y)[1][0]) > 0.1  # indeed wrong


def test_converged_fits_are_at_the_minimum(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        for options in (dict(), dict(optimizer="lbfgs", standardize=False),
                        dict(engine="autograd", epochs=3000), dict(dtype="float32")):
            assert tl.fit(X, y, seed=0, **options).converged, options


def test_float32_arrays_too_small_for_float32_are_an_error_not_zeros():
    """Values float32 rounds to zero would be aliased NaN columns 'converged': refused."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(100, 2)) * [1.0, 1e-50]
    with pytest.raises(tl.InputError, match=r"too small for float32 in column\(s\) \['x2'\]"):
        tl.fit(X, X[:, 0] + 1, dtype="float32")
    assert tl.fit(X, X[:, 0] + 1, seed=0).converged  # float64 holds them
