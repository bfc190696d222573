"""The results object's statsmodels names (resid, llf, aic, bic, get_influence, cov_params
HC0-HC3, predict intervals) against statsmodels and against R (lm, influence.measures,
sandwich::vcovHC, logLik/AIC/BIC, predict.lm).

Both references are evaluated at the gradient-descent coefficients: statsmodels'
``OLSResults``/``WLSResults`` are built from the fit's ``params``, and R's ``lm`` object
gets the fit's coefficients, fitted values and residuals, so each quantity is compared
exactly as defined, whatever the distance of the fit from the exact solution.

Tolerances (relative), per quantity: residuals and fitted values 1e-10 (absolute, in
units of y, scaled); hat values, studentized residuals, Cook's distance, DFFITS 1e-8;
llf, AIC, BIC 1e-10; nonrobust and HC covariances 1e-8; intervals 1e-8.
"""
import numpy as np
import pandas as pd
import pytest
from scipy import stats
import statsmodels.api as sm
from statsmodels.stats.outliers_influence import OLSInfluence

import torchlinreg as tl
from conftest import ULTRA_X, _load_r, frame
from torchlinreg.errors import MissingDataError
from torchlinreg.results import inference as inference_module

RESID_RTOL = 1e-10
INFLUENCE_RTOL = 1e-8
LLF_RTOL = 1e-10
COV_RTOL = 1e-8
INTERVAL_RTOL = 1e-8
HC = ["HC0", "HC1", "HC2", "HC3"]

_R_AT = r"""
function(formula, d, w, b, newdata, level) {
  f <- as.formula(formula)
  fit <- if (is.null(w)) lm(f, data = d) else lm(f, data = d, weights = w)
  X <- model.matrix(fit)
  keep <- !is.na(coef(fit))
  b <- setNames(b, names(coef(fit)))
  b[!keep] <- NA
  fit$coefficients <- b
  fit$fitted.values <- drop(X[, keep, drop = FALSE] %*% b[keep])
  fit$residuals <- model.response(model.frame(fit)) - fit$fitted.values
  out <- list(resid = unname(residuals(fit)), fitted = unname(fitted(fit)),
              hat = unname(hatvalues(fit)), cooks = unname(cooks.distance(fit)),
              rstudent = unname(rstudent(fit)), rstandard = unname(rstandard(fit)),
              dffits = unname(dffits(fit)), loglik = as.numeric(logLik(fit)),
              aic = AIC(fit), bic = BIC(fit), vcov = unname(vcov(fit)))
  for (type in c("HC0", "HC1", "HC2", "HC3"))
    out[[type]] <- unname(sandwich::vcovHC(fit, type = type))
  if (!is.null(newdata)) {
    for (interval in c("confidence", "prediction")) {
      p <- predict(fit, newdata = newdata, interval = interval, level = level, se.fit = TRUE)
      out[[interval]] <- unname(as.matrix(p$fit))
      out$se_fit <- unname(as.numeric(p$se.fit))
    }
  }
  out
}
"""


@pytest.fixture(scope="module")
def r_at():
    """``r_at(formula, data, params, weights=None, newdata=None, level=0.95)``: R's numbers at ``params``."""
    ro = _load_r()
    from rpy2.robjects import pandas2ri
    converter = ro.default_converter + pandas2ri.converter
    code = ro.r(_R_AT)

    def to_r(data):
        with converter.context():
            return ro.conversion.get_conversion().py2rpy(data.reset_index(drop=True))

    def call(formula, data, params, weights=None, newdata=None, level=0.95):
        result = code(formula, to_r(data),
                      ro.NULL if weights is None else ro.FloatVector(np.asarray(weights, float)),
                      ro.FloatVector(np.nan_to_num(params, nan=0.0)),
                      ro.NULL if newdata is None else to_r(newdata), level)
        return {name: np.array(result.rx2(name), dtype=np.float64) for name in result.names}
    return call


def _statsmodels_at(fit, X, y, weights=None):
    """statsmodels' results for ``y ~ X`` evaluated at the fit's ``params``."""
    A = sm.add_constant(np.asarray(X, dtype=float), has_constant="add")
    model = sm.OLS(y, A) if weights is None else sm.WLS(y, A, weights=weights)
    exact = model.fit()
    results = sm.regression.linear_model.OLSResults if weights is None \
        else sm.regression.linear_model.RegressionResults
    at = results(model, fit.params, exact.normalized_cov_params, 1.0)
    return results(model, fit.params, exact.normalized_cov_params, at.ssr / at.df_resid)


@pytest.fixture(scope="module")
def ultra_case(_ultra):
    formula = "time_in_seconds ~ distance + elevation_gain + elevation_loss"
    return formula, _ultra, tl.fit(_ultra[ULTRA_X], _ultra["time_in_seconds"], seed=1)


@pytest.fixture(scope="module")
def weighted_case():
    """Weighted, heteroscedastic, a column of mean 1e3, 7 rows per QR block (blocked paths)."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(45, 3))
    X[:, 0] += 1e3
    y = X @ [1.0, 2.0, -1.0] + rng.normal(size=45) * (1 + np.abs(X[:, 1]))
    w = rng.uniform(0.5, 2, 45)
    return "y ~ x1 + x2 + x3", frame(X, y), X, y, w, tl.fit(X, y, weights=w, seed=2)


def test_resid_and_fitted_values_match_lm_at_the_fitted_coefficients(r_at, ultra_case):
    formula, data, fit = ultra_case
    ref = r_at(formula, data, fit.params)
    scale = np.abs(data["time_in_seconds"]).max()
    np.testing.assert_allclose(fit.fittedvalues, ref["fitted"], rtol=0, atol=RESID_RTOL * scale)
    np.testing.assert_allclose(fit.resid, ref["resid"], rtol=0, atol=RESID_RTOL * scale)
    np.testing.assert_allclose(fit.resid, data["time_in_seconds"] - fit.predict(data[ULTRA_X]),
                               rtol=0, atol=RESID_RTOL * scale)


def test_influence_matches_influence_measures_and_statsmodels(r_at, ultra_case):
    formula, data, fit = ultra_case
    ref = r_at(formula, data, fit.params)
    smi = OLSInfluence(_statsmodels_at(fit, data[ULTRA_X], data["time_in_seconds"]))
    infl = fit.get_influence()
    for mine, r_name, sm_name in [("hat_matrix_diag", "hat", "hat_matrix_diag"),
                                  ("resid_studentized_external", "rstudent",
                                   "resid_studentized_external"),
                                  ("resid_studentized_internal", "rstandard",
                                   "resid_studentized_internal")]:
        np.testing.assert_allclose(getattr(infl, mine), ref[r_name], rtol=INFLUENCE_RTOL)
        np.testing.assert_allclose(getattr(infl, mine), getattr(smi, sm_name), rtol=INFLUENCE_RTOL)
    np.testing.assert_allclose(infl.cooks_distance[0], ref["cooks"], rtol=INFLUENCE_RTOL)
    np.testing.assert_allclose(infl.cooks_distance[1], smi.cooks_distance[1], rtol=INFLUENCE_RTOL)
    np.testing.assert_allclose(infl.dffits[0], ref["dffits"], rtol=INFLUENCE_RTOL)
    assert infl.dffits[1] == pytest.approx(smi.dffits[1], rel=1e-12)
    frame_ = infl.summary_frame()
    assert list(frame_.columns) == ["hat_diag", "standard_resid", "student_resid", "cooks_d",
                                    "dffits"]
    assert len(frame_) == fit.nobs


def test_weighted_blocked_influence_matches_influence_measures(r_at, weighted_case, monkeypatch):
    formula, data, X, y, w, fit = weighted_case
    monkeypatch.setattr(inference_module, "QR_BLOCK_ROWS", 7)
    fit = fit._with()  # fresh cached properties, computed in blocks of 7 rows
    ref = r_at(formula, data, fit.params, weights=w)
    infl = fit.get_influence()
    np.testing.assert_allclose(infl.hat_matrix_diag, ref["hat"], rtol=INFLUENCE_RTOL)
    np.testing.assert_allclose(infl.resid_studentized_external, ref["rstudent"],
                               rtol=INFLUENCE_RTOL)
    np.testing.assert_allclose(infl.cooks_distance[0], ref["cooks"], rtol=INFLUENCE_RTOL)
    np.testing.assert_allclose(infl.dffits[0], ref["dffits"], rtol=INFLUENCE_RTOL)
    for cov_type in HC:
        np.testing.assert_allclose(fit.cov_params(cov_type), ref[cov_type], rtol=COV_RTOL)


@pytest.mark.parametrize("cov_type", ["nonrobust"] + HC)
def test_cov_params_match_sandwich_and_statsmodels(r_at, ultra_case, cov_type):
    formula, data, fit = ultra_case
    ref = r_at(formula, data, fit.params)
    res = _statsmodels_at(fit, data[ULTRA_X], data["time_in_seconds"])
    expected_r = ref["vcov"] if cov_type == "nonrobust" else ref[cov_type]
    expected_sm = res.cov_params() if cov_type == "nonrobust" else getattr(res, f"cov_{cov_type}")
    np.testing.assert_allclose(fit.cov_params(cov_type), expected_r, rtol=COV_RTOL)
    np.testing.assert_allclose(fit.cov_params(cov_type), expected_sm, rtol=COV_RTOL)
    se = fit.bse if cov_type == "nonrobust" else getattr(fit, f"{cov_type}_se")
    np.testing.assert_allclose(se, np.sqrt(np.diag(expected_r)), rtol=COV_RTOL)
    limits = fit.conf_int(0.9, cov_type=cov_type)
    half = stats.t.ppf(0.95, fit.df_resid) * np.sqrt(np.diag(expected_r))
    np.testing.assert_allclose(limits, np.column_stack([fit.params - half, fit.params + half]),
                               rtol=COV_RTOL)
    if cov_type == "nonrobust":
        np.testing.assert_allclose(limits, res.conf_int(0.1), rtol=COV_RTOL)


def test_weighted_wls_cov_params_match_statsmodels(weighted_case):
    _, _, X, y, w, fit = weighted_case
    res = _statsmodels_at(fit, X, y, weights=w)
    for cov_type in HC:
        np.testing.assert_allclose(fit.cov_params(cov_type), getattr(res, f"cov_{cov_type}"),
                                   rtol=COV_RTOL)
    assert fit.llf == pytest.approx(res.llf, rel=LLF_RTOL)


@pytest.mark.parametrize("case", ["ultra", "weighted"])
def test_llf_aic_bic_are_r_loglik_aic_bic(r_at, ultra_case, weighted_case, case):
    """R counts σ as a parameter (df = rank + 1); statsmodels' aic and bic leave it out."""
    if case == "ultra":
        formula, data, fit = ultra_case
        ref = r_at(formula, data, fit.params)
        res = _statsmodels_at(fit, data[ULTRA_X], data["time_in_seconds"])
    else:
        formula, data, X, y, w, fit = weighted_case
        ref = r_at(formula, data, fit.params, weights=w)
        res = _statsmodels_at(fit, X, y, weights=w)
    assert fit.llf == pytest.approx(ref["loglik"][0], rel=LLF_RTOL)
    assert fit.aic == pytest.approx(ref["aic"][0], rel=LLF_RTOL)
    assert fit.bic == pytest.approx(ref["bic"][0], rel=LLF_RTOL)
    assert fit.llf == pytest.approx(res.llf, rel=LLF_RTOL)
    assert fit.aic - res.aic == pytest.approx(2, rel=1e-8)
    assert fit.bic - res.bic == pytest.approx(np.log(fit.nobs), rel=1e-8)


def test_predict_intervals_match_predict_lm(r_at, ultra_case):
    formula, data, fit = ultra_case
    new = data[ULTRA_X].iloc[[0, 5, 17]] * [1.1, 0.9, 1.0]
    ref = r_at(formula, data, fit.params, newdata=new, level=0.9)
    for interval in ("confidence", "prediction"):
        out = fit.predict(new, interval=interval, level=0.9)
        assert out.shape == (3, 3)
        np.testing.assert_allclose(out, ref[interval], rtol=INTERVAL_RTOL)
    np.testing.assert_allclose(fit.predict(new), ref["confidence"][:, 0], rtol=INTERVAL_RTOL)
    with pytest.raises(ValueError, match="interval must be"):
        fit.predict(new, interval="mean")


def test_se_fit_far_from_zero_matches_predict_lm(r_lm, rng):
    """A column of mean 1e6 and sd 1: R's predict.lm is 1.9e-11 off; the uncentred
    quadratic form aᵀ(AᵀA)⁻¹a was 1.6e-4 off."""
    x = 1e6 + rng.normal(size=200)
    y = 3 + 0.5 * (x - 1e6) + rng.normal(size=200)
    fit = tl.fit(x[:, None], y, seed=1)
    new = pd.DataFrame({"x1": 1e6 + np.array([-2.0, 0.0, 0.5, 3.0])})
    ref = r_lm("y ~ x1", frame(x[:, None], y), newdata=new, interval="confidence")
    inf = fit.inference
    A = np.column_stack([np.ones(4), new["x1"]])
    out = inference_module.prediction_intervals(
        A, fit.coefficients(), inf.aliased, inf.cov_unscaled, inf.sigma, inf.df_residual,
        center=inf.center, weight_total=inf.weight_total)
    np.testing.assert_allclose(out["se_fit"][:, 0], ref["se_fit"], rtol=1e-9)
    half = (fit.predict(new, interval="confidence")[:, 2] - fit.predict(new, interval="confidence")[:, 1]) / 2
    np.testing.assert_allclose(half, ref["pred"][:, 2] - ref["pred"][:, 0], rtol=1e-9)


def test_rank_deficient_influence_and_hc_match_r(r_at, rng):
    z = rng.normal(size=(30, 2))
    X = np.column_stack([z[:, 0], z[:, 1], z[:, 0] + z[:, 1]])
    y = 1 + z @ [1.0, 2.0] + rng.normal(size=30)
    fit = tl.fit(X, y, seed=1)
    ref = r_at("y ~ x1 + x2 + x3", frame(X, y), fit.params)
    np.testing.assert_allclose(fit.get_influence().hat_matrix_diag, ref["hat"], rtol=INFLUENCE_RTOL)
    np.testing.assert_allclose(fit.get_influence().cooks_distance[0], ref["cooks"],
                               rtol=INFLUENCE_RTOL)
    cov = fit.cov_params("HC3")
    assert np.isnan(cov[3]).all() and np.isnan(cov[:, 3]).all()
    np.testing.assert_allclose(cov[:3, :3], ref["HC3"], rtol=COV_RTOL)


def test_two_outputs_give_one_column_per_output():
    fruit = tl.datasets.fruit()
    X, Y = fruit[["temperature", "rainfall", "humidity"]], fruit[["apples", "oranges"]]
    fit = tl.fit(X, Y, seed=1)
    assert fit.resid.shape == (len(fruit), 2) and fit.llf.shape == (2,)
    assert fit.cov_params("HC1").shape == (2, 4, 4)
    assert fit.predict(X.iloc[:3], interval="prediction").shape == (3, 2, 3)
    for i, name in enumerate(["apples", "oranges"]):
        res = _statsmodels_at(tl.fit(X, Y[name], seed=1), X, Y[name])
        one = OLSInfluence(res)
        np.testing.assert_allclose(fit.get_influence().cooks_distance[0][:, i],
                                   one.cooks_distance[0], rtol=1e-6)
        np.testing.assert_allclose(fit.cov_params("HC1")[i], res.cov_HC1, rtol=1e-6)


def test_a_fit_from_files_has_llf_but_not_rows(tmp_path, rng):
    X = rng.normal(size=(80, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=80)
    path = tmp_path / "rows.csv"
    frame(X, y).to_csv(path, index=False)
    streamed = tl.fit_files([path], "y", ["x1", "x2"], seed=1)
    in_memory = tl.fit(X, y, seed=1)
    assert streamed.llf == pytest.approx(in_memory.llf, rel=1e-9)
    assert streamed.aic == pytest.approx(in_memory.aic, rel=1e-9)
    np.testing.assert_allclose(streamed.conf_int(), in_memory.conf_int(), rtol=1e-7)
    np.testing.assert_allclose(streamed.cov_params(), in_memory.cov_params(), rtol=1e-7)
    new = X[:5] + 1e3  # far from the training rows: leverages taken about the moments' means
    for interval in ("confidence", "prediction"):
        np.testing.assert_allclose(streamed.predict(new, interval=interval),
                                   in_memory.predict(new, interval=interval), rtol=1e-7)
    for needs_rows in (lambda f: f.resid, lambda f: f.get_influence(),
                       lambda f: f.cov_params("HC3")):
        with pytest.raises(MissingDataError, match="keeps only the moments"):
            needs_rows(streamed)


@pytest.mark.parametrize("scale", [1.0, "mean one"])
def test_a_weighted_fit_from_files_has_lm_s_llf(tmp_path, rng, scale):
    """Σ log w comes from the moments (also after a save and load), so llf, aic and bic are the
    in-memory fit's (R's logLik, see test_llf_aic_bic_are_r_loglik_aic_bic); weights scaled to
    mean one sum to n, which must not pass for an unweighted fit."""
    X = rng.normal(size=(80, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=80)
    w = rng.uniform(0.2, 3.0, size=80)
    w = w / w.mean() if scale == "mean one" else w
    data = frame(X, y)
    data["w"] = w
    path = tmp_path / "rows.csv"
    data.to_csv(path, index=False)
    streamed = tl.fit_files([path], "y", ["x1", "x2"], weights="w", seed=1)
    in_memory = tl.fit(X, y, weights=w, seed=1)
    streamed.save(tmp_path / "fit.npz")
    loaded = tl.load(tmp_path / "fit.npz")
    for fit in (streamed, loaded):
        assert fit.llf == pytest.approx(in_memory.llf, rel=1e-9)
        assert fit.aic == pytest.approx(in_memory.aic, rel=1e-9)
        assert fit.bic == pytest.approx(in_memory.bic, rel=1e-9)


def test_a_weighted_file_fit_saved_without_its_log_weights_says_so(tmp_path, rng):
    """A file written before the moments kept Σ log w: llf is an error, not lm()'s number less it."""
    X = rng.normal(size=(40, 1))
    data = frame(X, X[:, 0] + rng.normal(size=40))
    data["w"] = rng.uniform(0.2, 3.0, size=40)
    data.to_csv(tmp_path / "rows.csv", index=False)
    tl.fit_files([tmp_path / "rows.csv"], "y", ["x1"], weights="w", seed=1).save(tmp_path / "new.npz")
    with np.load(tmp_path / "new.npz") as stored:
        members = {name: stored[name] for name in stored.files if name != "moments/log_weight_sum"}
    np.savez(tmp_path / "old.npz", **members)
    with pytest.raises(MissingDataError, match="saved by an earlier version"):
        tl.load(tmp_path / "old.npz").llf
