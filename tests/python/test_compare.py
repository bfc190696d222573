"""interop/compare.py: the compare_lm() table, the same columns in Python and in R.

``comparison`` is checked on hand-made numbers; ``compare_lm`` against R's
``lm()`` (the ``r_lm`` fixture, which runs lm() on a formula, not the
``lm_check`` that compare_lm uses) and against :func:`torchlinreg.ols`.
"""
import numpy as np
import pandas as pd
import pytest

import torchlinreg as tl
from torchlinreg.interop.compare import COLUMNS, comparison, compare_lm

from conftest import FRUIT_X, frame


def test_comparison_from_hand_made_numbers():
    nan = float("nan")
    table = comparison(["(Intercept)", "x", "x2"], ["y"], estimate=[[2.0, -3.0, nan]],
                       std_error=[[0.5, 0.375, nan]], lm_estimate=[[1.0, -4.0, nan]],
                       lm_std_error=[[0.25, 0.25, nan]], exact=[[1.5, -2.0, nan]])
    assert tuple(table.columns) == COLUMNS
    assert table["response"].tolist() == ["y"] * 3
    assert table["term"].tolist() == ["(Intercept)", "x", "x2"]
    np.testing.assert_array_equal(table["rel_diff_lm"], [1.0, 0.25, nan])
    np.testing.assert_array_equal(table["rel_diff_exact"], [0.5 / 1.5, 0.5, nan])
    np.testing.assert_array_equal(table["diff_in_se"], [4.0, 4.0, nan])
    np.testing.assert_array_equal(table["se_rel_diff"], [1.0, 0.5, nan])


def test_comparison_goes_response_by_response():
    table = comparison(["(Intercept)", "x"], ["a", "b"], estimate=[[1, 2], [3, 4]],
                       std_error=np.ones((2, 2)), lm_estimate=[[1, 2], [3, 4]],
                       lm_std_error=np.ones((2, 2)), exact=[[1, 2], [3, 4]])
    assert table["response"].tolist() == ["a", "a", "b", "b"]
    assert table["term"].tolist() == ["(Intercept)", "x"] * 2
    assert table["estimate"].tolist() == [1, 2, 3, 4]
    assert (table["rel_diff_lm"] == 0).all()


def test_compare_lm_against_lm_and_ols(r_lm):
    fruit = tl.datasets.fruit()
    fit = tl.fit(fruit[FRUIT_X], fruit["apples"], seed=1, verbose=False)
    table = compare_lm(fit)
    assert tuple(table.columns) == COLUMNS
    ref = r_lm("apples ~ temperature + rainfall + humidity", fruit)
    assert table["term"].tolist() == ref["terms"] == fit.term_names
    assert table["response"].tolist() == ["apples"] * 4
    np.testing.assert_allclose(table["lm"], ref["coef"][0], rtol=1e-12)
    np.testing.assert_allclose(table["lm_std_error"], ref["se"][0], rtol=1e-12)
    exact = tl.ols(fruit[FRUIT_X], fruit["apples"])
    np.testing.assert_allclose(table["exact"], np.r_[exact.intercept, exact.coef], rtol=1e-12)
    np.testing.assert_array_equal(table["estimate"], fit.coefficients()[0])
    np.testing.assert_array_equal(table["std_error"], fit.inference.std_error[0])
    # the differences are those of the columns beside them, and small for a converged fit
    diff = (table["estimate"] - table["lm"]).abs()
    np.testing.assert_array_equal(table["rel_diff_lm"], diff / table["lm"].abs())
    np.testing.assert_array_equal(table["diff_in_se"], diff / table["lm_std_error"])
    assert table["rel_diff_lm"].max() < 1e-8 and table["se_rel_diff"].max() < 1e-8
    assert "R version" in table.attrs["r_version"]


def test_compare_lm_with_two_responses_aliased_column_weights_and_held_out_rows(r_lm, rng):
    X = rng.normal(size=(60, 2))
    X = np.column_stack([X, 2 * X[:, 0]])
    Y = X[:, :2] @ [[1.0, -1.0], [0.5, 2.0]] + rng.normal(size=(60, 2))
    w = rng.uniform(0.5, 2, size=60)
    fit = tl.fit(frame(X), pd.DataFrame(Y, columns=["y1", "y2"]), weights=w, validation=0.25,
                 seed=3, verbose=False)
    table = compare_lm(fit)
    train = fit.train_index
    ref = r_lm("cbind(y1, y2) ~ x1 + x2 + x3", frame(X[train], Y[train]), weights=w[train])
    assert table["response"].tolist() == ["y1"] * 4 + ["y2"] * 4
    np.testing.assert_allclose(table["lm"], ref["coef"].ravel(), rtol=1e-12)
    np.testing.assert_allclose(table["lm_std_error"], ref["se"].ravel(), rtol=1e-12)
    aliased = table["term"] == "x3"
    assert table.loc[aliased, ["estimate", "lm", "exact", "std_error", "rel_diff_lm"]].isna().all().all()
    assert table.loc[~aliased, "rel_diff_lm"].max() < 1e-8


def test_compare_lm_needs_the_rows(tmp_path):
    fruit = tl.datasets.fruit()
    fit = tl.fit(fruit[FRUIT_X], fruit["apples"], seed=1, verbose=False)
    loaded = tl.load(fit.save(tmp_path / "fit"))
    with pytest.raises(tl.MissingDataError):
        compare_lm(loaded)
