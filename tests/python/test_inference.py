"""Inference (``LinearFit.inference``) against ``summary.lm`` and ``predict.lm``.

Tolerances, per quantity, for a float64 fit that is within 1e-8 of ``lm()``:
estimates, standard errors, t values and F 1e-7 relative; sigma, R² and
adjusted R² 1e-9 (they depend on the residual sum of squares, which is
flat at the optimum); p values 1e-6 relative; degrees of freedom exact.
"""
import numpy as np
import pytest

import torchlinreg as tl
from conftest import FRUIT_X, ULTRA_X, frame
from torchlinreg.results import inference as inference_module
from torchlinreg.results.inference import prediction_intervals

COEF_RTOL = 1e-7
RSS_RTOL = 1e-9
P_RTOL = 1e-6


@pytest.fixture(scope="module")
def ultra_fit(_ultra):
    return tl.fit(_ultra[ULTRA_X], _ultra["time_in_seconds"], seed=1)


def _check_against_summary(inf, ref):
    np.testing.assert_allclose(inf.estimate, ref["coef"], rtol=COEF_RTOL)
    np.testing.assert_allclose(inf.std_error, ref["se"], rtol=COEF_RTOL)
    np.testing.assert_allclose(inf.t_value, ref["t"], rtol=COEF_RTOL)
    np.testing.assert_allclose(inf.p_value, ref["p"], rtol=P_RTOL, atol=1e-300)
    np.testing.assert_allclose(inf.sigma, ref["sigma"], rtol=RSS_RTOL)
    np.testing.assert_allclose(inf.r_squared, ref["r2"], rtol=RSS_RTOL)
    np.testing.assert_allclose(inf.adj_r_squared, ref["adj"], rtol=RSS_RTOL)
    np.testing.assert_allclose(inf.f_statistic, ref["fstat"][:, 0], rtol=COEF_RTOL)
    assert inf.f_df == (int(ref["fstat"][0, 1]), int(ref["fstat"][0, 2]))
    assert inf.df_residual == ref["df"] and inf.rank == ref["rank"]


def test_ultra_inference_matches_summary_lm(r_lm, ultra, ultra_fit):
    fit = ultra_fit
    ref = r_lm("time_in_seconds ~ distance + elevation_gain + elevation_loss", ultra)
    _check_against_summary(fit.inference, ref)
    assert fit.inference.term_names == ref["terms"]


def test_fruit_two_outputs_inference_matches_summary_lm(r_lm):
    fruit = tl.datasets.fruit()
    fit = tl.fit(fruit[FRUIT_X], fruit[["apples", "oranges"]], seed=1)
    ref = r_lm("cbind(apples, oranges) ~ temperature + rainfall + humidity", fruit)
    _check_against_summary(fit.inference, ref)


def test_weighted_no_intercept_inference_matches_summary_lm(r_lm, rng):
    X = rng.normal(1, 1, size=(40, 2))
    y = X @ [2.0, -1.0] + rng.normal(size=40)
    w = rng.uniform(0.5, 2, 40)
    fit = tl.fit(X, y, intercept=False, weights=w, seed=1)
    ref = r_lm("y ~ x1 + x2 - 1", frame(X, y), weights=w)
    _check_against_summary(fit.inference, ref)


def test_rank_deficient_inference_has_nan_where_lm_has_na(r_lm, rng):
    z = rng.normal(size=(30, 2))
    X = np.column_stack([z[:, 0], z[:, 1], z[:, 0] + z[:, 1]])
    y = 1 + z @ [1.0, 2.0] + rng.normal(size=30)
    fit = tl.fit(X, y, seed=1)
    ref = r_lm("y ~ x1 + x2 + x3", frame(X, y))
    inf = fit.inference
    np.testing.assert_array_equal(inf.aliased, [False, False, False, True])
    np.testing.assert_array_equal(np.isnan(inf.std_error), np.isnan(ref["se"]))
    _check_against_summary(inf, ref)


@pytest.mark.parametrize("block_rows", [5, 16])
def test_inference_from_blocks_of_rows_matches_summary_lm(r_lm, rng, monkeypatch, block_rows):
    """The blocked QR (last block shorter than the design is wide, for 5) with weights
    and an aliased column."""
    monkeypatch.setattr(inference_module, "QR_BLOCK_ROWS", block_rows)
    z = rng.normal(size=(43, 2))
    X = np.column_stack([z[:, 0], z[:, 1], z[:, 0] - z[:, 1]])
    y = 1 + z @ [1.0, 2.0] + rng.normal(size=43)
    w = rng.uniform(0.5, 2, 43)
    fit = tl.fit(X, y, weights=w, seed=1)
    ref = r_lm("y ~ x1 + x2 + x3", frame(X, y), weights=w)
    _check_against_summary(fit.inference, ref)


def test_conf_int_matches_confint(r_lm, ultra, ultra_fit):
    fit = ultra_fit
    ref = r_lm("time_in_seconds ~ distance + elevation_gain + elevation_loss", ultra, level=0.9)
    np.testing.assert_allclose(fit.inference.conf_int(0.9)[0], ref["confint"], rtol=COEF_RTOL)


@pytest.mark.parametrize("interval", ["confidence", "prediction"])
@pytest.mark.parametrize("level", [0.95, 0.8])
def test_prediction_intervals_match_predict_lm(r_lm, ultra, ultra_fit, interval, level):
    fit = ultra_fit
    new = ultra[ULTRA_X].iloc[[0, 5, 17]] * [1.1, 0.9, 1.0]
    ref = r_lm("time_in_seconds ~ distance + elevation_gain + elevation_loss", ultra,
               newdata=new, interval=interval, level=level)
    inf = fit.inference
    A_new = np.column_stack([np.ones(3), new.to_numpy()])
    out = prediction_intervals(A_new, fit.coefficients(), inf.aliased, inf.cov_unscaled, inf.sigma,
                               inf.df_residual, interval=interval, level=level)
    np.testing.assert_allclose(out["fit"][:, 0], ref["pred"][:, 0], rtol=COEF_RTOL)
    np.testing.assert_allclose(out["lwr"][:, 0], ref["pred"][:, 1], rtol=COEF_RTOL)
    np.testing.assert_allclose(out["upr"][:, 0], ref["pred"][:, 2], rtol=COEF_RTOL)
    np.testing.assert_allclose(out["se_fit"][:, 0], ref["se_fit"], rtol=COEF_RTOL)


def test_vcov_is_sigma_squared_times_unscaled(ultra_fit):
    inf = ultra_fit.inference
    np.testing.assert_allclose(np.sqrt(np.diag(inf.vcov())), inf.std_error[0], rtol=1e-12)
