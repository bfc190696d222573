"""fitting/fit.py: fit() from user data to a LinearFit, its pieces one at a time: the split of
the rows, the batch-size check, one SGD step from zero worked by hand on the standardized rows,
and the scale warning without standardization."""
import warnings

import numpy as np
import pytest
import torch

import torchlinreg as tl
from conftest import quiet_fit
from torchlinreg.engine.settings import make_settings
from torchlinreg.fitting.fit import _split, check_batch_size, warn_scales
from torchlinreg.inputs.arrays import as_design, as_response
from torchlinreg.inputs.rows import split_rows


@pytest.fixture
def rows(rng):
    X = rng.normal(size=(40, 2)) * [3, 0.2] + [5, 1]
    return X, X @ [1.0, -4.0] + 2 + rng.normal(size=40)


def parts(X, y, **options):
    settings = make_settings(seed=8, **options)
    design, response = as_design(X), as_response(y, len(X))
    return _split(design, response, None, settings, torch.Generator().manual_seed(8))


def test_a_fraction_holds_out_the_seeded_split_and_none_keeps_every_row(rows):
    X, y = rows
    (train, valid, train_index, valid_index) = parts(X, y, validation=0.3)
    expected_train, expected_valid = split_rows(40, 0.3, torch.Generator().manual_seed(8))
    assert train_index.tolist() == expected_train.tolist()
    assert valid_index.tolist() == expected_valid.tolist() and len(valid_index) == 12
    np.testing.assert_array_equal(train[0], X[train_index])
    np.testing.assert_array_equal(valid[1][:, 0], y[valid_index])
    train, valid, train_index, valid_index = parts(X, y)
    assert valid is None and train_index.tolist() == list(range(40)) and len(valid_index) == 0
    assert np.shares_memory(train[0].numpy(), X)  # no copy without a split


def test_explicit_validation_rows_are_validated_and_must_match_the_training_shape(rows):
    X, y = rows
    train, valid, train_index, valid_index = parts(X, y, validation=(X[:5] + 1, y[:5]))
    np.testing.assert_array_equal(valid[0], X[:5] + 1)
    assert train_index.tolist() == list(range(40)) and valid_index.size == 0
    with pytest.raises(tl.ShapeError, match="validation data has 1 columns and 1 outputs; the "
                                            "training data has 2 and 1"):
        parts(X, y, validation=(X[:5, :1], y[:5]))
    with pytest.raises(tl.InputError, match="X_valid contains NaN"):
        parts(X, y, validation=(np.full((5, 2), np.nan), y[:5]))


def test_a_batch_larger_than_the_training_rows_is_an_option_error():
    check_batch_size(make_settings(seed=1, batch_size=40), 40)
    with pytest.raises(tl.OptionError, match="batch_size 41 is larger than the 40 training rows"):
        check_batch_size(make_settings(seed=1, batch_size=41), 40)


def test_one_sgd_step_from_zero_is_twice_lr_times_the_standardized_cross_products(rows):
    """At θ = 0 the gradient of the standardized MSE is -2 [mean(z_y), mean(z_x z_y)]; with
    centred columns its intercept part is 0."""
    X, y = rows
    fit = quiet_fit(X, y, optimizer="sgd", lr=0.05, epochs=1, tol=0, precondition="standardize")
    zx = (X - X.mean(0)) / X.std(0, ddof=1)
    zy = (y - y.mean()) / y.std(ddof=1)
    np.testing.assert_allclose(fit.coef_standardized, 2 * 0.05 * zx.T @ zy / 40, rtol=1e-13)
    assert fit.intercept_standardized == 0.0
    assert fit.n_steps == 1 and fit.stop_reason == "max_epochs"


def test_columns_of_very_different_scales_warn_without_standardization():
    with pytest.warns(tl.ScaleWarning, match=r"differ in scale by a factor of 1e\+04 \('b': 100, "
                                             r"'a': 0\.01\)"):
        warn_scales(torch.tensor([0.01, 100.0], dtype=torch.float64), ["a", "b"], False, 2)
    with pytest.warns(tl.ScaleWarning, match=r"'\(Intercept\)': 1, 'a': 0\.0001"):
        warn_scales(torch.tensor([1e-4, 0.0], dtype=torch.float64), ["a", "zero"], True, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # within 1e3, or one column: no warning
        warn_scales(torch.tensor([1.0, 999.0], dtype=torch.float64), ["a", "b"], False, 2)
        warn_scales(torch.tensor([1e-9], dtype=torch.float64), ["a"], False, 2)
