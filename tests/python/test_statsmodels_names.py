"""``LinearFit`` has statsmodels' OLSResults names, with statsmodels' numbers.

Each data set (statsmodels' longley, a weighted fit, a fit without intercept, a formula
fit with a factor, a fit with an aliased column) is compared with statsmodels' results
evaluated at the fit's own (gradient-descent) coefficients, so quantities of the
coefficients agree to rounding; with an aliased column, with statsmodels on the design
without it (statsmodels' pinv would estimate it). R's ``summary.lm`` (through rpy2) is
the second reference where it has the number, at its exact coefficients: the fits are
converged, so within 1e-8.
"""
import numpy as np
import pandas as pd
import patsy
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from statsmodels.stats.outliers_influence import outlier_test

import torchlinreg as tl
from torchlinreg.results.hypothesis import linear_constraints

RTOL = 1e-10  # statsmodels at the same coefficients: rounding only
EXACT_RTOL = 1e-8  # R at its exact coefficients, against a converged fit


def _longley():
    data = sm.datasets.longley.load_pandas().data
    names = ["GNPDEFL", "GNP", "UNEMP", "ARMED", "POP", "YEAR"]
    fit = tl.fit(data[names], data["TOTEMP"], seed=1)
    return dict(fit=fit, X=data[names], y=data["TOTEMP"], w=None, intercept=True,
                data=data, formula="TOTEMP ~ " + " + ".join(names),
                hypotheses="GNPDEFL = 0, GNP = UNEMP", restricted=["GNP", "POP", "YEAR"])


def _weighted():
    rng = np.random.default_rng(11)
    X = pd.DataFrame(rng.normal(size=(60, 3)) * [1, 3, 0.5] + [0, 5, 2], columns=["a", "b", "c"])
    w = rng.uniform(0.3, 3, 60)
    y = 1 + X @ [2.0, -0.5, 1.5] + rng.normal(size=60) / np.sqrt(w)
    return dict(fit=tl.fit(X, y, weights=w, seed=1), X=X, y=y, w=w, intercept=True,
                data=X.assign(y=y), formula="y ~ a + b + c", hypotheses="a + 2*b = 1, c = 0",
                restricted=["a"])


def _no_intercept():
    rng = np.random.default_rng(12)
    X = pd.DataFrame(rng.normal(size=(50, 3)) + [1, 2, -1], columns=["x1", "x2", "x3"])
    y = X @ [1.0, 0.5, -2.0] + 3 + rng.normal(size=50)  # y not centred: uncentered tss
    return dict(fit=tl.fit(X, y, intercept=False, seed=1), X=X, y=y, w=None, intercept=False,
                data=X.assign(y=y), formula="y ~ 0 + x1 + x2 + x3", hypotheses="x1 = x2",
                restricted=["x1", "x2"])


def _factor():
    rng = np.random.default_rng(13)
    data = pd.DataFrame({"x1": rng.normal(size=45), "g": rng.choice(["a", "b", "c"], 45),
                         "x2": rng.uniform(0, 10, 45)})
    data["y"] = (2 + data.x1 - 0.3 * data.x2 + data.g.map({"a": 0, "b": 1.0, "c": -2.0})
                 + rng.normal(size=45))
    fit = tl.fit_formula("y ~ x1 + g + x2", data, seed=1)
    return dict(fit=fit, X=None, y=data["y"], w=None, intercept=True, data=data,
                formula="y ~ x1 + g + x2", hypotheses="gb = gc, x1 + x2 = 0.5",
                restricted="y ~ x1 + x2")


def _aliased():
    rng = np.random.default_rng(14)
    X = pd.DataFrame(rng.normal(size=(40, 2)), columns=["x1", "x2"])
    X["x3"] = X.x1 + 2 * X.x2
    X["x4"] = rng.normal(size=40)
    y = 1 + X.x1 - X.x4 + rng.normal(size=40)
    return dict(fit=tl.fit(X, y, seed=1), X=X, y=y, w=None, intercept=True, data=X.assign(y=y),
                formula="y ~ x1 + x2 + x3 + x4", hypotheses="x1 = 1, x4 = -1",
                restricted=["x1"])


CASES = {"longley": _longley, "weighted": _weighted, "no_intercept": _no_intercept,
         "factor": _factor, "aliased": _aliased}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    c = CASES[request.param]()
    fit = c["fit"]
    assert fit.converged
    kept = ~fit.inference.aliased
    if c["X"] is None:
        # the formula fit: patsy's design (statsmodels' formula), in the fit's column order
        # (patsy puts factors first)
        info = patsy.dmatrix(c["formula"].split("~")[1], c["data"]).design_info
        sm_names = [{"(Intercept)": "Intercept"}.get(n, n) for n in fit.term_names]
        order = [info.column_names.index(
            f"g[T.{n[1:]}]" if n in ("gb", "gc") else n) for n in sm_names]
        design = lambda new: np.asarray(patsy.dmatrix(info, new))[:, order]  # noqa: E731
    else:
        def design(new):
            A = new[c["X"].columns].to_numpy(dtype=float)
            return (np.column_stack([np.ones(len(A)), A]) if c["intercept"] else A)[:, kept]
    A, y = design(c["data"]), np.asarray(c["y"], float)
    model = sm.OLS(y, A) if c["w"] is None else sm.WLS(y, A, weights=c["w"])
    c.update(name=request.param, kept=kept, model=model, sm=_at(model, fit.params[kept]),
             sm_exact=model.fit(), design=design)
    return c


def _at(model, params):
    """statsmodels' results of ``model`` at ``params`` (its scale from their residuals)."""
    exact = model.fit()
    kind = sm.regression.linear_model.OLSResults if type(model) is sm.OLS \
        else sm.regression.linear_model.RegressionResults
    at = kind(model, params, exact.normalized_cov_params, 1.0)
    return kind(model, params, exact.normalized_cov_params, at.ssr / at.df_resid)


def close(ours, theirs, rtol=RTOL, atol=0.0):
    np.testing.assert_allclose(np.asarray(ours, float), np.asarray(theirs, float), rtol=rtol,
                               atol=atol)


def test_the_scalars_are_statsmodels(case):
    fit, res = case["fit"], case["sm"]
    for name in ["nobs", "df_model", "df_resid", "k_constant", "ssr", "centered_tss",
                 "uncentered_tss", "mse_resid", "mse_total", "scale", "rsquared",
                 "rsquared_adj", "fvalue", "f_pvalue", "llf"]:
        close(getattr(fit, name), getattr(res, name), rtol=1e-9), name
    # ess: summary.lm's model sum of squares at the coefficients; statsmodels' tss - ssr
    # (the same at the exact solution)
    for name in ["ess", "mse_model"]:
        close(getattr(fit, name), getattr(res, name), rtol=EXACT_RTOL)
    assert fit.cov_type == res.cov_type and fit.use_t == res.use_t


def test_the_arrays_are_statsmodels(case):
    fit, res, kept = case["fit"], case["sm"], case["kept"]
    close(fit.wresid, res.wresid, atol=1e-9 * np.abs(res.wresid).max())
    close(fit.resid_pearson, res.resid_pearson, atol=1e-9 * np.abs(res.resid_pearson).max())
    block = np.ix_(kept, kept)
    assert np.isnan(fit.normalized_cov_params[~kept]).all()
    close(fit.normalized_cov_params[block], res.normalized_cov_params, rtol=1e-8)
    for kind in ("HC0", "HC1", "HC2", "HC3"):
        ours = getattr(fit, f"cov_{kind}")
        close(ours[block], getattr(res, f"cov_{kind}"), rtol=1e-7,
              atol=1e-12 * np.abs(getattr(res, f"cov_{kind}")).max())
        np.testing.assert_array_equal(ours, fit.cov_params(kind))


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")
def test_eigenvals_are_those_of_the_whole_design(case):
    fit = case["fit"]
    whole = case["model"] if fit.aliased.sum() == 0 else sm.OLS(
        case["model"].endog, np.column_stack([np.ones(len(case["X"])), case["X"]]))
    theirs = whole.fit().eigenvals
    assert len(fit.eigenvals) == len(fit.term_names)
    close(fit.eigenvals, theirs, rtol=1e-9, atol=1e-12 * theirs[0])


def test_r_summary_lm_has_the_same_f_r2_and_sigma(case, r_lm):
    fit = case["fit"]
    ref = r_lm(case["formula"], case["data"], weights=case["w"])
    close(fit.fvalue, ref["fstat"][0, 0], rtol=EXACT_RTOL)
    assert (fit.df_model, fit.df_resid) == tuple(ref["fstat"][0, 1:])
    close(fit.rsquared, ref["r2"][0], rtol=EXACT_RTOL)
    close(fit.mse_resid, ref["sigma"][0] ** 2, rtol=EXACT_RTOL)
    close(fit.ess / (fit.ess + fit.ssr), ref["r2"][0], rtol=EXACT_RTOL)


def _new_rows(case):
    data = case["data"].iloc[::4]
    return data if case["X"] is None else data[case["X"].columns]


def test_get_prediction_is_statsmodels(case):
    fit, res, kept = case["fit"], case["sm"], case["kept"]
    new = _new_rows(case)
    theirs = res.get_prediction(case["design"](new), row_labels=new.index).summary_frame(
        alpha=0.1)
    ours = fit.get_prediction(new).summary_frame(alpha=0.1)
    assert list(ours.columns) == list(theirs.columns)
    pd.testing.assert_index_equal(ours.index, theirs.index, exact=False)
    close(ours, theirs, rtol=1e-8)  # longley: (AᵀA)⁻¹ of condition 1e19 to about 1e-9
    limits = fit.predict(new, interval="prediction", level=0.9)
    close(ours[["obs_ci_lower", "obs_ci_upper"]], limits[:, 1:], rtol=1e-13)


def test_get_prediction_of_the_training_rows_uses_their_weights(case):
    fit, res = case["fit"], case["sm"]
    ours, theirs = fit.get_prediction(), res.get_prediction()
    close(ours.predicted_mean, theirs.predicted_mean, rtol=1e-12)
    close(ours.se_mean, theirs.se_mean, rtol=1e-8)
    close(ours.se_obs, theirs.se_obs, rtol=1e-8)
    close(ours.conf_int(obs=True), theirs.conf_int(obs=True), rtol=1e-8)
    if case["w"] is not None:
        w = np.full(3, 2.5)
        new = _new_rows(case).iloc[:3]
        close(fit.get_prediction(new, weights=w).conf_int(obs=True, alpha=0.01),
              res.get_prediction(case["design"](new), weights=w).conf_int(obs=True, alpha=0.01),
              rtol=1e-9)


def test_t_f_and_wald_tests_are_statsmodels(case):
    fit, res, kept = case["fit"], case["sm"], case["kept"]
    R, q = linear_constraints(case["hypotheses"], fit.term_names)
    theirs_R = (R[:, kept], q)
    ours, theirs = fit.t_test(case["hypotheses"]), res.t_test(theirs_R)
    for name in ("effect", "sd", "tvalue", "pvalue"):
        close(np.ravel(getattr(ours, name)), np.ravel(getattr(theirs, name)), rtol=1e-9)
    close(ours.conf_int(0.1), theirs.conf_int(0.1), rtol=1e-9)
    assert ours.df_denom == theirs.df_denom
    for use_f in (True, False):
        ours = fit.wald_test(case["hypotheses"], use_f=use_f)
        theirs = res.wald_test(theirs_R, use_f=use_f, scalar=True)
        close(ours.statistic, theirs.statistic, rtol=1e-9)
        close(ours.pvalue, theirs.pvalue, rtol=1e-8)
        assert (ours.df_denom, ours.distribution) == (theirs.df_denom, theirs.distribution)
    ours, theirs = fit.f_test(case["hypotheses"]), res.f_test(theirs_R)
    close(ours.fvalue, theirs.fvalue, rtol=1e-9)
    assert (ours.df_num, ours.df_denom) == (theirs.df_num, theirs.df_denom)
    # a robust covariance, given as cov_p (statsmodels) or by name
    robust = fit.t_test((R, q), cov_p=fit.cov_HC3)
    close(robust.sd, np.ravel(res.t_test(theirs_R, cov_p=res.cov_HC3).sd), rtol=1e-7)
    np.testing.assert_array_equal(robust.sd, fit.t_test(R if not q.any() else (R, q),
                                                        cov_type="HC3").sd)


def test_the_longley_hypotheses_read_as_statsmodels_reads_them():
    case = _longley()
    res = sm.OLS(case["y"], sm.add_constant(case["X"])).fit()
    for text in ["GNPDEFL = 0, GNP = UNEMP", "const + 2*YEAR = 1", "(GNP + POP)/2 - 3 = ARMED",
                 "YEAR"]:
        ours, theirs = case["fit"].f_test(text), res.f_test(text)
        close(ours.fvalue, theirs.fvalue, rtol=1e-7)
        close(case["fit"].t_test(text).effect, np.ravel(res.t_test(text).effect), rtol=1e-7)


def _restricted(case):
    spec = case["restricted"]
    if isinstance(spec, str):
        return tl.fit_formula(spec, case["data"], seed=1), smf.ols(spec, case["data"]).fit()
    X = case["X"][spec]
    fit = tl.fit(X, case["y"], weights=case["w"], intercept=case["intercept"], seed=1)
    A = sm.add_constant(X) if case["intercept"] else X
    model = sm.OLS(case["y"], A) if case["w"] is None else sm.WLS(case["y"], A, weights=case["w"])
    return fit, model.fit()


def test_compare_f_and_lr_tests_are_statsmodels(case):
    small, small_sm = _restricted(case)
    exact = case["sm_exact"]
    for ours, theirs in [(case["fit"].compare_f_test(small), exact.compare_f_test(small_sm)),
                         (case["fit"].compare_lr_test(small), exact.compare_lr_test(small_sm))]:
        close(ours[:2], tuple(theirs)[:2], rtol=1e-7)
        assert ours[2] == theirs[2]
    with pytest.raises(tl.InputError, match="fewer parameters"):
        small.compare_f_test(case["fit"])


def test_outlier_test_is_statsmodels(case):
    fit, res = case["fit"], case["sm"]
    if case["w"] is not None:  # WLS is OLS of √w y on √w A; statsmodels' influence is OLS's
        res = _at(sm.OLS(case["model"].wendog, case["model"].wexog), res.params)
    labels = case["data"].index
    for method in ("bonf", "sidak", "holm", "fdr_bh"):
        ours, theirs = fit.outlier_test(method), outlier_test(res, method, labels=labels)
        assert list(ours.columns) == list(theirs.columns)
        pd.testing.assert_index_equal(ours.index, theirs.index, exact=False)
        close(ours, theirs, rtol=1e-8)
    ours, theirs = fit.outlier_test(order=True), outlier_test(res, order=True, labels=labels)
    np.testing.assert_array_equal(np.asarray(ours.index), np.asarray(theirs.index))
    close(fit.outlier_test(cutoff=0.999), outlier_test(res, cutoff=0.999, labels=labels),
          rtol=1e-8)


def test_without_an_intercept_the_sums_of_squares_are_uncentered():
    fit = _no_intercept()["fit"]
    assert fit.k_constant == 0
    close(fit.ess + fit.ssr, fit.uncentered_tss, rtol=1e-8)
    close(fit.rsquared, 1 - fit.ssr / fit.uncentered_tss, rtol=1e-8)
    close(fit.mse_total, fit.uncentered_tss / fit.nobs, rtol=1e-14)
    assert fit.centered_tss < fit.uncentered_tss


def test_several_outputs_give_one_value_per_output_or_a_clear_error():
    fruit = tl.datasets.fruit()
    names = ["temperature", "rainfall", "humidity"]
    fit = tl.fit(fruit[names], fruit[["apples", "oranges"]], seed=1)
    for i, output in enumerate(["apples", "oranges"]):
        one = tl.fit(fruit[names], fruit[output], seed=1)
        for name in ["fvalue", "ess", "centered_tss", "mse_resid", "scale"]:
            close(getattr(fit, name)[i], getattr(one, name), rtol=1e-8)
        close(fit.resid_pearson[:, i], one.resid_pearson, rtol=1e-6, atol=1e-9)
        close(fit.get_prediction().se_mean[:, i], one.get_prediction().se_mean, rtol=1e-8)
    assert fit.cov_HC1.shape == (2, 4, 4) and fit.normalized_cov_params.shape == (4, 4)
    assert fit.get_prediction(fruit[names]).conf_int().shape == (15, 2, 2)
    for call in (lambda: fit.t_test("rainfall = 0"), lambda: fit.f_test(np.eye(4)),
                 fit.outlier_test, lambda: fit.get_prediction().summary_frame()):
        with pytest.raises(tl.ShapeError, match="one output"):
            call()


def test_a_fit_from_files_answers_from_its_moments(tmp_path):
    case = _weighted()
    path = tmp_path / "data.csv"
    case["data"].assign(w=case["w"]).to_csv(path, index=False)
    files = tl.fit_files(path, "y", ["a", "b", "c"], weights="w", seed=1)
    fit = case["fit"]
    for name in ["fvalue", "f_pvalue", "ess", "centered_tss", "uncentered_tss", "mse_model",
                 "mse_resid", "mse_total", "scale", "k_constant", "normalized_cov_params"]:
        close(getattr(files, name), getattr(fit, name), rtol=1e-7)
    close(files.eigenvals, fit.eigenvals, rtol=1e-10)
    close(files.f_test("a + 2*b = 1, c = 0").fvalue, fit.f_test("a + 2*b = 1, c = 0").fvalue,
          rtol=1e-6)
    new = case["X"].iloc[:5]
    close(files.get_prediction(new).summary_frame(), fit.get_prediction(new).summary_frame(),
          rtol=1e-7)
    for name in ("wresid", "resid_pearson", "cov_HC0", "outlier_test"):
        with pytest.raises(tl.MissingDataError):
            getattr(files, name)() if name == "outlier_test" else getattr(files, name)
    with pytest.raises(tl.MissingDataError):
        files.get_prediction()


def test_conf_int_takes_statsmodels_alpha_and_refuses_a_level_that_reads_as_one():
    case = _longley()
    fit = case["fit"]
    res = sm.OLS(case["y"], sm.add_constant(case["X"])).fit()
    np.testing.assert_allclose(fit.conf_int(alpha=0.1), np.asarray(res.conf_int(alpha=0.1)),
                               rtol=1e-6)  # gradient descent against exact, longley's κ ~ 1e9
    np.testing.assert_array_equal(fit.conf_int(alpha=0.1), fit.conf_int(0.9))
    np.testing.assert_array_equal(fit.conf_int(alpha=0.1, cov_type="HC1"),
                                  fit.conf_int(0.9, cov_type="HC1"))
    # statsmodels' positional conf_int(0.05) means alpha: as a level it would be 5% limits
    with pytest.raises(tl.OptionError, match=r"pass alpha=0.05 for 0.95 limits"):
        fit.conf_int(0.05)
    with pytest.raises(tl.OptionError, match="not both"):
        fit.conf_int(0.9, alpha=0.1)
    for bad in (0, 1, 1.5, "0.1", True):
        with pytest.raises(tl.OptionError, match="between 0 and 1"):
            fit.conf_int(alpha=bad)
    assert str(fit.summary(alpha=0.1)) == str(fit.summary(0.9))
    with pytest.raises(tl.OptionError, match="reads as statsmodels' alpha"):
        fit.summary(0.1)
    narrow = fit.conf_int(alpha=0.6)  # a 40% interval, asked for by name
    assert (np.diff(narrow, axis=-1) < np.diff(fit.conf_int(), axis=-1)).all()
