"""results/fit.py: ``LinearFit``: predictions, comparison with the exact solution, export."""
import json

import numpy as np
import pandas as pd
import pytest

import torchlinreg as tl
from conftest import FRUIT_X


@pytest.fixture
def fit_and_data(rng):
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    y = pd.Series(1 + X @ [2.0, -1.0, 0.5] + rng.normal(0, 0.2, 60), name="out")
    return tl.fit(X, y, seed=1), X, y


def test_predict_is_x_w_plus_b(fit_and_data):
    fit, X, _ = fit_and_data
    expected = X.to_numpy() @ fit.coef + fit.intercept
    np.testing.assert_allclose(fit.predict(X), expected, rtol=1e-14)
    np.testing.assert_allclose(fit.predict(X.to_numpy()), expected, rtol=1e-14)


def test_predict_matches_dataframe_columns_by_name(fit_and_data):
    fit, X, _ = fit_and_data
    np.testing.assert_array_equal(fit.predict(X[["c", "a", "b"]].assign(extra=1.0)), fit.predict(X))


def test_predict_with_wrong_columns(fit_and_data):
    fit, X, _ = fit_and_data
    with pytest.raises(tl.ShapeError, match=r"X has 2 columns but the model was fitted on 3"):
        fit.predict(X.to_numpy()[:, :2])


def test_two_outputs_shapes():
    fruit = tl.datasets.fruit()
    fit = tl.fit(fruit[FRUIT_X], fruit[["apples", "oranges"]], seed=1)
    assert fit.coef.shape == (2, 3) and fit.coef_standardized.shape == (2, 3)
    assert fit.intercept.shape == (2,)
    assert fit.predict(fruit[FRUIT_X]).shape == (15, 2)
    assert "apples:(Intercept)" in fit.history.columns and "oranges:humidity" in fit.history.columns


def test_compare_against_the_exact_solution(fit_and_data):
    fit, X, y = fit_and_data
    table = fit.compare()
    assert list(table.columns) == ["output", "term", "estimate", "exact", "abs_diff", "rel_diff"]
    assert table["term"].tolist() == ["(Intercept)", "a", "b", "c", "loss"]
    exact = tl.ols(X, y)
    np.testing.assert_allclose(table["exact"].iloc[:4], np.r_[exact.intercept, exact.coef], rtol=1e-12)
    assert (table["rel_diff"].iloc[:4] <= 1e-8).all()
    assert table["exact"].iloc[-1] == pytest.approx(exact.loss, rel=1e-12)
    assert table["estimate"].iloc[-1] >= table["exact"].iloc[-1] * (1 - 1e-15)


def test_loss_is_the_training_mse(fit_and_data):
    fit, X, y = fit_and_data
    assert fit.loss() == pytest.approx(np.mean((y - fit.predict(X)) ** 2), rel=1e-12)
    assert fit.loss() == pytest.approx(fit.history["loss"].iloc[-1], rel=1e-10)


def test_to_dict_is_json_ready(fit_and_data):
    fit, _, _ = fit_and_data
    out = json.loads(json.dumps(fit.to_dict()))
    assert out["coef"] == fit.coef.tolist() and out["feature_names"] == ["a", "b", "c"]
    assert out["converged"] is True and out["settings"]["seed"] == 1
    assert len(out["history"]["loss"]) == fit.n_iter + 1


def test_repr_says_how_the_fit_ended(fit_and_data):
    fit, _, _ = fit_and_data
    text = repr(fit)
    assert "optimizer='adam'" in text and "converged=True" in text and "features=['a', 'b', 'c']" in text


def test_settings_record_every_option(fit_and_data):
    fit, _, _ = fit_and_data
    assert {"intercept", "optimizer", "lr", "epochs", "batch_size", "shuffle", "validation",
            "standardize", "dtype", "seed", "tol", "init", "precondition"} <= set(fit.settings)
    assert fit.settings["dtype"] == "float64" and fit.settings["precondition"] == "qr"
    assert fit.settings["tol"] == 1e-14  # the QR preconditioner's default (1e-12 otherwise)
