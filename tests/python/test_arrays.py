"""inputs/arrays.py: input validation at the edge: shapes, names, numeric types, finite values."""
import numpy as np
import pandas as pd
import pytest
import torch

import torchlinreg as tl
from torchlinreg.engine.loss import squared_error_by_output
from torchlinreg.inputs.arrays import (as_design, as_response, as_weights, check_enough_rows,
                                       check_has_rows, fingerprint, resolve_dtype)


@pytest.fixture
def xy(rng):
    X = rng.normal(size=(30, 2))
    return X, X @ [1.0, -2.0] + 0.5 + rng.normal(0, 0.1, 30)


@pytest.mark.parametrize("shape", ["n", "n1"])
def test_n_and_n_by_1_targets_are_both_one_output(xy, shape):
    X, y = xy
    fit = tl.fit(X, y if shape == "n" else y[:, None], seed=1)
    assert fit.coef.shape == (2,) and isinstance(fit.intercept, float)
    assert fit.predict(X).shape == (30,)
    np.testing.assert_allclose(fit.coef, tl.ols(X, y).coef, rtol=1e-8)


def test_n_and_n_by_1_targets_give_identical_fits(xy):
    X, y = xy
    a, b = tl.fit(X, y, seed=1), tl.fit(X, y[:, None], seed=1)
    assert a.coef.tobytes() == b.coef.tobytes()


def test_n_target_never_broadcasts_against_n_by_1_prediction():
    pred, target = torch.zeros(5, 1), torch.zeros(5)
    with pytest.raises(tl.ShapeError, match=r"prediction has shape \(5, 1\) but target has shape \(5,\)"):
        squared_error_by_output(pred, target)


@pytest.mark.parametrize("X", [np.arange(10.0), np.zeros((10, 2, 2))], ids=["1d", "3d"])
def test_design_must_be_2d(X):
    with pytest.raises(tl.ShapeError, match=r"X must be 2-D .*got shape"):
        tl.fit(X, np.arange(10.0))


def test_one_dimensional_design_suggests_reshape():
    with pytest.raises(tl.ShapeError, match=r"reshape\(-1, 1\)"):
        tl.fit(np.arange(10.0), np.arange(10.0))


def test_target_must_be_1d_or_2d(xy):
    X, _ = xy
    with pytest.raises(tl.ShapeError, match=r"y must be 1-D .* got shape \(30, 1, 1\)"):
        tl.fit(X, np.zeros((30, 1, 1)))


def test_mismatched_rows_name_both_shapes(xy):
    X, y = xy
    with pytest.raises(tl.ShapeError, match=r"X has 30 rows but y has shape \(29,\)"):
        tl.fit(X, y[:29])
    with pytest.raises(tl.ShapeError, match=r"X has 30 rows but y has shape \(31, 2\)"):
        tl.fit(X, np.zeros((31, 2)))


def test_non_numeric_columns_are_named(xy):
    X, y = xy
    data = pd.DataFrame(X, columns=["a", "b"]).assign(city="Oslo", flag=True)
    with pytest.raises(tl.InputError, match=r"non-numeric columns \['city'\]"):
        tl.fit(data, y)


def test_non_numeric_array_is_refused(xy):
    _, y = xy
    with pytest.raises(tl.InputError, match="must be numeric"):
        tl.fit(np.array([["a", "b"]] * 30), y)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_named_by_column(xy, bad):
    X, y = xy
    data = pd.DataFrame(X, columns=["speed", "height"])
    data.loc[[3, 7], "height"] = bad
    with pytest.raises(tl.InputError, match=r"NaN or infinite values in column 'height' \(2 rows\)"):
        tl.fit(data, y)


def test_non_finite_target_is_named(xy):
    X, y = xy
    y = pd.Series(y, name="time")
    y[0] = np.nan
    with pytest.raises(tl.InputError, match=r"y contains NaN or infinite values in column 'time'"):
        tl.fit(X, y)


def test_dataframe_names_are_kept(xy):
    X, y = xy
    fit = tl.fit(pd.DataFrame(X, columns=["speed", "height"]), pd.Series(y, name="time"), seed=1)
    assert fit.feature_names == ["speed", "height"]
    assert fit.output_names == ["time"]
    assert fit.term_names == ["(Intercept)", "speed", "height"]


def test_default_names(xy):
    X, y = xy
    fit = tl.fit(X, np.column_stack([y, -y]), seed=1)
    assert fit.feature_names == ["x1", "x2"] and fit.output_names == ["y1", "y2"]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_design_and_response_are_2d_of_the_dtype(xy, dtype):
    X, y = xy
    design = as_design(X, dtype)
    response = as_response(y, 30, dtype)
    assert design.values.shape == (30, 2) and design.values.dtype == dtype
    assert response.values.shape == (30, 1) and response.one_output


def test_unknown_dtype_is_refused(xy):
    X, y = xy
    with pytest.raises(tl.OptionError, match=r"dtype must be one of \['float32', 'float64'\]"):
        tl.fit(X, y, dtype="float16")


def test_too_few_rows(xy):
    X, y = xy
    with pytest.raises(tl.InputError, match="has no rows"):
        tl.fit(X[:0], y[:0])
    assert tl.fit(X[:2], y[:2], seed=1).aliased.tolist() == [False, True]  # as lm()


# --- the module's functions, one at a time ---------------------------------------------------

def test_resolve_dtype_takes_names_and_torch_dtypes():
    assert resolve_dtype("float32") is torch.float32 and resolve_dtype(torch.float64) is torch.float64
    with pytest.raises(tl.OptionError, match="dtype must be one of"):
        resolve_dtype(torch.float16)


def test_a_contiguous_float64_array_is_shared_and_others_are_copied_once(xy):
    X, _ = xy
    assert np.shares_memory(as_design(X).values.numpy(), X)
    fortran = np.asfortranarray(X)  # R's column-major matrices
    values = as_design(fortran).values
    assert values.is_contiguous() and torch.equal(values, torch.as_tensor(X))
    read_only = X.copy()
    read_only.flags.writeable = False
    assert not np.shares_memory(as_design(read_only).values.numpy(), read_only)
    numbers = np.array([[1, 2.5], [True, 4]], dtype=object)
    assert as_design(numbers).values.tolist() == [[1.0, 2.5], [1.0, 4.0]]


@pytest.mark.parametrize("weights, error, message", [
    (np.ones(29), tl.ShapeError, r"one value per row \(30\); got shape \(29,\)"),
    (np.ones((30, 2)), tl.ShapeError, r"got shape \(30, 2\)"),
    (np.r_[-1.0, np.ones(29)], tl.InputError, "finite and non-negative"),
    (np.r_[np.nan, np.ones(29)], tl.InputError, "finite and non-negative"),
    (np.zeros(30), tl.InputError, "weights are all zero"),
])
def test_bad_weights_are_named(weights, error, message):
    with pytest.raises(error, match=message):
        as_weights(weights, 30)


def test_weights_of_a_column_are_one_per_row():
    w = as_weights(np.arange(1.0, 31.0)[:, None], 30, torch.float32)
    assert w.shape == (30,) and w.dtype == torch.float32 and float(w[-1]) == 30.0
    assert as_weights(None, 30) is None


def test_the_fingerprint_changes_with_any_value_shape_or_dtype(xy):
    X, y = xy
    data = (torch.as_tensor(X), torch.as_tensor(y[:, None]), None)
    assert fingerprint(data) == fingerprint(tuple(t.clone() if t is not None else None for t in data))
    changed = X.copy()
    changed[17, 1] = np.nextafter(changed[17, 1], np.inf)  # one bit
    others = [(torch.as_tensor(changed), data[1], None), (data[0].float(), data[1], None),
              (data[0].reshape(60, 1), data[1], None), (data[0], data[1], torch.ones(30))]
    assert len({fingerprint(data)} | {fingerprint(other) for other in others}) == 5


def test_row_counts_are_checked_against_the_coefficients():
    check_enough_rows(3, 3)
    with pytest.raises(tl.InputError, match="has 2 rows but the model has 3 coefficients"):
        check_enough_rows(2, 3)
    with pytest.raises(tl.InputError, match="the validation rows has no rows"):
        check_has_rows(0, "the validation rows")


@pytest.mark.parametrize("options", [{}, {"validation": 0.3}, {"batch_size": 16, "epochs": 2},
                                     {"engine": "autograd", "epochs": 2}, {"dtype": "float32"}])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_values_are_named_whichever_pass_finds_them(xy, options, bad):
    """fit() leaves the search for NaN and infinite values to the moments' pass over the
    rows (its sums are then not finite) and then names them as the input check does:
    in held-out rows, in minibatch fits, with weights; the autograd engine checks first."""
    X, y = xy
    data = pd.DataFrame(X, columns=["speed", "height"])
    data.loc[[len(y) - 1], "speed"] = bad
    with pytest.raises(tl.InputError, match=r"NaN or infinite values in column 'speed' \(1 rows\)"):
        tl.fit(data, y, weights=np.linspace(1, 2, len(y)), seed=0, **options)


def test_values_beyond_float32_are_named_after_the_moments_pass(xy):
    X, y = xy
    X = X.copy()
    X[4, 1] = 1e300
    with pytest.raises(tl.InputError, match=r"values too large for float32 \(largest magnitude 1e\+300\)"):
        tl.fit(X, y, dtype="float32")
