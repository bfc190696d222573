"""Every input of issue 6's table: a correct result or a typed error that says what to change."""
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import torchlinreg as tl
from torchlinreg import (ConvergenceWarning, DivergenceError, InputError, OptionError,
                         ScaleWarning, ShapeError)


@pytest.fixture
def data():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(60, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 3.0 + rng.normal(scale=0.1, size=60)
    return X, y


def quick(X, y, **options):
    """The default fit (Adam on standardized data, stopped at 1e-12 of the gradient)."""
    options.setdefault("seed", 1)
    return tl.fit(X, y, **options)


def assert_matches_ols(fit, X, y, rtol=1e-8, **ols_options):
    exact = tl.ols(X, y, **ols_options)
    np.testing.assert_array_equal(np.isnan(fit.coef), np.isnan(exact.coef))
    np.testing.assert_allclose(fit.coef, exact.coef, rtol=rtol, atol=1e-10)
    np.testing.assert_allclose(fit.intercept, exact.intercept, rtol=rtol, atol=1e-10)


# --- NaN and Inf -----------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_x_names_column_and_row_count(data, bad):
    X, y = data
    X = pd.DataFrame(X, columns=["age", "km", "climb"])
    X.loc[[3, 7], "km"] = bad
    with pytest.raises(InputError, match=r"X contains NaN or infinite values in column 'km' \(2 rows\)"):
        tl.fit(X, y)


def test_non_finite_y_and_several_columns(data):
    X, y = data
    X = X.copy()
    X[0, 0] = np.nan
    X[1:4, 2] = np.inf
    with pytest.raises(InputError, match=r"'x1' \(1 rows\), 'x3' \(3 rows\).*drop or impute"):
        tl.fit(X, y)
    y = y.copy()
    y[5] = np.nan
    with pytest.raises(InputError, match=r"y contains NaN.*'y' \(1 rows\)"):
        tl.fit(data[0], y)


def test_non_finite_is_also_a_value_error(data):
    X, y = data
    X = X.copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError):
        tl.ols(X, y)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_too_large_for_float32_says_so(data):
    X, y = data
    X = X.copy()
    X[0, 0] = 1e300
    with pytest.raises(InputError, match=r"too large for float32.*dtype='float64'"):
        tl.fit(X, y, dtype="float32")


# --- shapes ----------------------------------------------------------------------------------

def test_mismatched_rows_give_both_shapes(data):
    X, y = data
    with pytest.raises(ShapeError, match=r"X has 60 rows but y has shape \(59,\)"):
        tl.fit(X, y[:-1])


def test_y_column_and_vector_are_the_same_fit(data):
    X, y = data
    as_vector, as_column = quick(X, y), quick(X, y[:, None])
    np.testing.assert_array_equal(as_vector.coef, as_column.coef)
    assert as_column.coef.shape == (3,) and as_column.predict(X).shape == (60,)


@pytest.mark.parametrize("what", ["X", "y"])
def test_three_dimensional_arrays(data, what):
    X, y = data
    X3, y3 = (X[:, :, None], y) if what == "X" else (X, y[:, None, None])
    with pytest.raises(ShapeError, match=rf"{what} must be .*got shape \(60, \d, 1\)"):
        tl.fit(X3, y3)


# --- non-numeric columns ---------------------------------------------------------------------

def test_string_columns_named(data):
    X, y = data
    frame = pd.DataFrame({"a": X[:, 0], "team": ["x", "y"] * 30, "b": X[:, 1],
                          "note": [object()] * 60})
    with pytest.raises(InputError, match=r"non-numeric columns \['team', 'note'\].*get_dummies"):
        tl.fit(frame, y)


def test_object_array_names_the_bad_columns(data):
    X, y = data
    mixed = X.astype(object)
    mixed[4, 1] = "4.5"
    with pytest.raises(InputError, match=r"non-numeric values in column\(s\) \[1\]"):
        tl.fit(mixed, y)


@pytest.mark.parametrize("dtype", [str, complex])
def test_string_and_complex_arrays(data, dtype):
    X, y = data
    with pytest.raises(InputError, match="must be numeric"):
        tl.fit(X.astype(dtype), y)
    with pytest.raises(InputError, match="must be numeric"):
        tl.fit(X, y.astype(dtype))


def test_object_array_of_numbers_is_accepted(data):
    X, y = data
    assert_matches_ols(quick(X.astype(object), y), X, y)


# --- too few rows ----------------------------------------------------------------------------

def test_no_rows_is_an_error(data):
    X, y = data
    with pytest.raises(InputError, match="has no rows; at least 1 row is needed"):
        tl.fit(X[:0], y[:0])
    with pytest.raises(InputError, match="has no rows"):
        tl.ols(X[:0], y[:0])


@pytest.mark.parametrize("n_rows", [1, 3])
def test_fewer_rows_than_coefficients_alias_the_rest_as_lm(data, n_rows):
    """lm() fits and gives NA beyond the rows' span (was an error here)."""
    X, y = data
    fit, exact = tl.fit(X[:n_rows], y[:n_rows], seed=0), tl.ols(X[:n_rows], y[:n_rows])
    assert fit.aliased.sum() == X.shape[1] + 1 - n_rows
    np.testing.assert_array_equal(fit.aliased, exact.aliased)
    np.testing.assert_allclose(fit.predict(X[:n_rows]), y[:n_rows], atol=1e-8)


def test_exactly_as_many_rows_as_coefficients(data):
    X, y = data
    assert_matches_ols(quick(X[:4], y[:4]), X[:4], y[:4], rtol=1e-7)


def test_validation_leaving_one_training_row_fits_it_as_lm(data):
    X, y = data
    fit = tl.fit(X, y, validation=0.99, seed=1)
    assert fit.n_train == 1 and fit.aliased.all() and fit.df_resid == 0


# --- aliased columns -------------------------------------------------------------------------

@pytest.mark.parametrize("extra", ["constant", "duplicate", "collinear"])
@pytest.mark.parametrize("engine", ["gram", "autograd"])
def test_aliased_column_is_nan_and_flagged(data, extra, engine):
    X, y = data
    column = {"constant": np.full(60, 2.5), "duplicate": X[:, 1],
              "collinear": X[:, 0] - 3 * X[:, 1]}[extra]
    wide = np.column_stack([X[:, :2], column, X[:, 2:]])
    fit = quick(wide, y, engine=engine)
    assert fit.aliased.tolist() == [False, False, True, False]
    assert np.isnan(fit.coef[2])
    assert_matches_ols(fit, wide, y)
    # the rest is the fit without the aliased column
    assert_matches_ols(quick(np.delete(wide, 2, axis=1), y), X, y)
    assert np.all(np.isfinite(fit.predict(wide)))


# --- options ---------------------------------------------------------------------------------

@pytest.mark.parametrize("options, message", [
    ({"optimizer": "adamx"}, r"unknown optimizer 'adamx'; choose one of \['adagrad', 'adam'"),
    ({"optimizer": 3}, r"optimizer must be a name in \["),
    ({"optimizer": "sgd", "momentun": 0.9}, r"SGD does not accept \['momentun'\]; valid options are .*'momentum'"),
    ({"lr": 0}, "lr must be a positive finite number; got 0"),
    ({"lr": -0.1}, "lr must be a positive finite number"),
    ({"lr": float("nan")}, "lr must be a positive finite number"),
    ({"lr": "0.1"}, "lr must be a positive finite number"),
    ({"epochs": 0}, "epochs must be at least 1; got 0"),
    ({"epochs": 2.5}, "epochs must be a whole number"),
    ({"batch_size": 0}, "batch_size must be at least 1; got 0"),
    ({"batch_size": 61}, r"batch_size 61 is larger than the 60 training rows"),
    ({"validation": 1.0}, r"validation must be a fraction in \[0, 1\)"),
    ({"validation": -0.2}, r"validation must be a fraction in \[0, 1\)"),
    ({"validation": True}, r"validation must be a fraction in \[0, 1\)"),
    ({"dtype": "float16"}, r"dtype must be one of \['float32', 'float64'\]"),
    ({"init": "ones"}, r"init must be one of \['zeros', 'uniform'\]"),
    ({"engine": "fast"}, r"engine must be one of \["),
    ({"tol": -1}, "tol must be a non-negative number"),
    ({"seed": -1}, "seed must be at least 0"),
    ({"optimizer": "lbfgs", "batch_size": 10}, "L-BFGS needs the full batch"),
])
def test_bad_options_list_the_valid_choices(data, options, message):
    X, y = data
    with pytest.raises((OptionError, InputError), match=message):
        tl.fit(X, y, **options)


def test_option_errors_are_value_errors(data):
    with pytest.raises(ValueError):
        tl.fit(*data, lr=0)


# --- integer, boolean and half-precision data ------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_large_int64_values_convert_without_overflow(dtype):
    rng = np.random.default_rng(2)
    X = rng.integers(0, 2 ** 40, size=(80, 2), dtype=np.int64)
    y = X @ np.array([3, -1], dtype=np.int64) + 7 + rng.integers(-2 ** 30, 2 ** 30, size=80)
    fit = quick(X, y, dtype=dtype)
    assert fit.coef.dtype == np.float64
    assert_matches_ols(fit, X.astype(np.float64), y.astype(np.float64),
                       rtol=1e-8 if dtype == "float64" else 1e-3)
    np.testing.assert_allclose(fit.coef, [3, -1], rtol=1e-2)


def test_int64_beyond_2_to_the_62_is_finite():
    X = np.array([[2 ** 62], [2 ** 62 - 2 ** 50], [2 ** 61], [1]], dtype=np.int64)
    fit = quick(X, np.arange(4), intercept=False)
    assert np.isfinite(fit.coef).all()


@pytest.mark.parametrize("kind", ["uint8", "bool", "int8", "float16", "torch_bfloat16",
                                  "torch_int32", "bool_frame", "nullable_int_frame"])
def test_small_and_odd_dtypes_give_the_ols_answer(kind):
    rng = np.random.default_rng(3)
    base = rng.integers(0, 2, size=(50, 2)) if "bool" in kind else rng.integers(0, 100, size=(50, 2))
    y = base @ np.array([1.5, -0.5]) + rng.normal(size=50)
    as_float = base.astype(np.float64)
    X = {"uint8": base.astype(np.uint8), "bool": base.astype(bool), "int8": (base - 50).astype(np.int8),
         "float16": base.astype(np.float16), "torch_bfloat16": torch.tensor(base, dtype=torch.bfloat16),
         "torch_int32": torch.tensor(base, dtype=torch.int32),
         "bool_frame": pd.DataFrame({"a": base[:, 0].astype(bool), "b": base[:, 1].astype(float)}),
         "nullable_int_frame": pd.DataFrame({"a": pd.array(base[:, 0], dtype="Int64"),
                                             "b": pd.array(base[:, 1], dtype="Int64")})}[kind]
    if kind == "int8":
        as_float = as_float - 50
    assert_matches_ols(quick(X, y), as_float, y)


def test_nullable_frame_with_missing_value_names_column():
    frame = pd.DataFrame({"a": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"),
                          "b": [1.0, 2, 3, 5, 8, 13]})
    with pytest.raises(InputError, match=r"column 'a' \(1 rows\)"):
        tl.fit(frame, np.arange(6.0))


def test_integer_y(data):
    X, _ = data
    y = (X @ [3, 1, 2] * 10).astype(np.int32)
    assert_matches_ols(quick(X, y), X, y.astype(float))


# --- divergence ------------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ["gram", "autograd"])
def test_divergence_names_step_last_loss_and_smaller_lr(data, engine):
    X, y = data
    with pytest.raises(DivergenceError) as caught:
        tl.fit(X, y, optimizer="sgd", lr=10.0, seed=0, engine=engine)
    error = caught.value
    assert isinstance(error, RuntimeError)
    assert error.step >= 1 and error.suggested_lr == 1.0
    message = str(error)
    assert f"diverged at step {error.step}" in message
    assert f"last finite loss {error.last_finite_loss:.6g}" in message
    assert "with lr=10; try lr=1." in message
    history = error.history
    assert len(history) == error.step + 1 and history["step"].iloc[-1] == error.step
    assert np.isfinite(error.last_finite_loss)
    assert error.last_finite_loss == history["loss"][np.isfinite(history["loss"])].iloc[-1]
    assert {"loss", "grad_norm", "(Intercept)", "x1"} <= set(history.columns)


def test_divergence_without_standardize_suggests_it(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScaleWarning)
        with pytest.raises(DivergenceError, match=r"try lr=0\.1 or standardize=True\."):
            tl.fit(X * [1, 1, 1e4], y, optimizer="sgd", lr=1.0, standardize=False)


def test_divergence_in_minibatches(data):
    X, y = data
    with pytest.raises(DivergenceError, match="diverged at step"):
        tl.fit(X, y, optimizer="sgd", lr=50.0, batch_size=10, epochs=50, seed=0)


# --- scales ----------------------------------------------------------------------------------

def test_huge_scale_difference_warns_and_reports_not_converged(data):
    X, y = data
    X = X * [1.0, 1e4, 1.0]
    with pytest.warns(ScaleWarning, match=r"differ in scale by a factor of .*'x2'.*standardize=True"):
        with pytest.warns(ConvergenceWarning):
            fit = tl.fit(X, y, standardize=False, optimizer="adam", lr=0.01, epochs=300, seed=0)
    assert not fit.converged and fit.stop_reason == "max_epochs"


def test_similar_scales_do_not_warn(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScaleWarning)
        tl.fit(X * [1, 20, 0.5], y, standardize=False, epochs=50)
        tl.fit(X * [1, 1e6, 1], y, epochs=50)  # standardized: no warning


# --- issue 17, item 8: clear, typed errors instead of raw or misleading ones ------------------

def test_repeated_column_names_say_so():
    frame = pd.DataFrame(np.ones((5, 2)), columns=["a", "a"])
    with pytest.raises(tl.InputError, match=r"repeated column names \['a'\]"):
        tl.fit(frame, np.arange(5.0))


def test_a_sparse_matrix_says_to_densify():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(tl.InputError, match="sparse matrix.*toarray"):
        tl.fit(sparse.csr_matrix(np.eye(5)), np.arange(5.0))


def test_ragged_rows_say_so():
    with pytest.raises(tl.InputError, match="not rectangular"):
        tl.fit([[1.0, 2.0], [3.0], [4.0, 5.0]], [1.0, 2.0, 3.0])


def test_a_seed_beyond_64_bits_is_an_option_error():
    with pytest.raises(tl.OptionError, match="seed must be at most"):
        tl.fit(np.eye(5), np.arange(5.0), seed=2 ** 64)


@pytest.mark.parametrize("name, value", [("intercept", "yes"), ("standardize", None),
                                         ("shuffle", 1)])
def test_flags_must_be_true_or_false(name, value):
    with pytest.raises(tl.OptionError, match=f"{name} must be True or False"):
        tl.fit(np.eye(5), np.arange(5.0), **{name: value})
