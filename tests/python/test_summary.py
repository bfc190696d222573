"""LinearFit.summary(): the printed numbers against summary(lm()) in R, and its tables."""
import re
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pytest

import torchlinreg
from torchlinreg.results.summary import Summary, fit_description, format_p, significance_stars

PREDICTORS = ["distance", "elevation_gain", "elevation_loss"]
NUMBER = r"-?(?:\d+\.?\d*(?:e[+-]?\d+)?|NA|<2e-16)"

R_SUMMARY = r"""
function(d, f, w) {
  fit <- if (is.null(w)) lm(as.formula(f), data = d) else lm(as.formula(f), data = d, weights = w)
  s <- summary(fit)
  list(coef = unname(coef(s)), ci = unname(confint(fit)), sigma = s$sigma, df = s$df[2],
       r2 = s$r.squared, adj = s$adj.r.squared, fstat = unname(s$fstatistic),
       fp = pf(s$fstatistic[1], s$fstatistic[2], s$fstatistic[3], lower.tail = FALSE))
}
"""


def r_summary(frame, formula, weights=None):
    from torchlinreg.interop.lm_check import start_r
    try:
        ro = start_r()
    except ImportError as error:
        pytest.skip(f"R/rpy2 missing: {error.__cause__!r}")
    from rpy2.robjects import pandas2ri
    from rpy2.robjects.conversion import localconverter
    with localconverter(ro.default_converter + pandas2ri.converter):
        r_frame = ro.conversion.get_conversion().py2rpy(frame.reset_index(drop=True))
    w = ro.NULL if weights is None else ro.FloatVector(np.asarray(weights, dtype=float))
    out = ro.r(R_SUMMARY)(r_frame, formula, w)
    get = lambda name: np.array(out.rx2(name), dtype=float)  # noqa: E731
    coef = get("coef").reshape(4, -1).T if get("coef").ndim == 1 else get("coef")
    return {"coef": coef, "ci": get("ci"), "sigma": get("sigma")[0], "df": get("df")[0],
            "r2": get("r2")[0], "adj": get("adj")[0], "fstat": get("fstat"), "fp": get("fp")[0]}


def parse_value(text):
    return {"NA": np.nan, "<2e-16": 0.0}[text] if text in ("NA", "<2e-16") else float(text)


def parse_coefficients(printed, terms):
    rows = {}
    for line in printed.splitlines():
        for term in terms:
            if line.startswith(term + " "):
                rows[term] = re.findall(NUMBER, line[len(term):])
    return rows


@pytest.fixture(scope="module", params=["unweighted", "weighted"])
def case(request):
    winners = torchlinreg.datasets.ultra_winners()
    weights = None
    if request.param == "weighted":
        weights = np.random.default_rng(2).uniform(0.5, 2.0, len(winners))
    fit = torchlinreg.fit(winners[PREDICTORS], winners["time_in_seconds"], validation=0.2,
                          seed=1, weights=weights)
    train = winners.iloc[fit.train_index]
    w = None if weights is None else weights[fit.train_index]
    formula = "time_in_seconds ~ distance + elevation_gain + elevation_loss"
    return fit, r_summary(train, formula, w)


def test_printed_coefficients_match_summary_lm(case):
    fit, r = case
    printed = str(fit.summary())
    rows = parse_coefficients(printed, fit.term_names)
    assert list(rows) == fit.term_names
    for i, term in enumerate(fit.term_names):
        est, se, t, p, lo, hi = (parse_value(v) for v in rows[term][:6])
        np.testing.assert_allclose([est, se, lo, hi],
                                   [r["coef"][i, 0], r["coef"][i, 1], r["ci"][i, 0], r["ci"][i, 1]],
                                   rtol=1e-5)  # printed with 6 significant digits
        assert t == pytest.approx(r["coef"][i, 2], abs=1e-4)  # printed with 4 decimals
        if r["coef"][i, 3] < 2.2e-16:
            assert "<2e-16" in rows[term][3]
        else:
            assert p == pytest.approx(r["coef"][i, 3], rel=1e-3)


def test_printed_model_statistics_match_summary_lm(case):
    fit, r = case
    printed = str(fit.summary())
    sigma, df = re.search(r"Residual standard error: (\S+) on (\d+) degrees", printed).groups()
    assert float(sigma) == pytest.approx(r["sigma"], rel=1e-5) and int(df) == r["df"]
    r2, adj = re.search(r"Multiple R-squared: (\S+),\s+Adjusted R-squared: (\S+)", printed).groups()
    assert float(r2) == pytest.approx(r["r2"], rel=1e-5)
    assert float(adj) == pytest.approx(r["adj"], rel=1e-5)
    f, df1, df2, p = re.search(r"F-statistic: (\S+) on (\d+) and (\d+) DF,\s+p-value: (\S+)",
                               printed).groups()
    assert float(f) == pytest.approx(r["fstat"][0], rel=1e-5)
    assert (int(df1), int(df2)) == tuple(int(v) for v in r["fstat"][1:])
    assert float(p) == pytest.approx(r["fp"], rel=1e-3)


def test_tables_are_the_inference_numbers(case):
    fit, _ = case
    summary = fit.summary()
    assert isinstance(summary, Summary)
    inference = fit.inference
    coefficients = summary.tables["coefficients"]
    np.testing.assert_array_equal(coefficients["Estimate"].to_numpy(), inference.estimate[0])
    np.testing.assert_array_equal(coefficients["Std. Error"].to_numpy(), inference.std_error[0])
    np.testing.assert_array_equal(coefficients["Pr(>|t|)"].to_numpy(), inference.p_value[0])
    model = summary.tables["model"]
    assert model["r_squared"].iloc[0] == inference.r_squared[0]
    assert model["f_statistic"].iloc[0] == inference.f_statistic[0]


def test_how_the_fit_ended_is_reported(case):
    fit, _ = case
    summary = fit.summary()
    opt = summary.optimization
    assert opt["optimizer"] == "adam" and opt["lr"] == 0.1
    assert opt["n_steps"] == fit.n_steps and opt["converged"] is True
    assert opt["grad_norm"] == fit.history["grad_norm"].iloc[-1]
    assert opt["max_rel_diff"] == pytest.approx(fit.compare()["rel_diff"].iloc[:-1].max())
    printed = str(summary)
    assert f"{fit.n_steps} steps" in printed and "converged" in printed
    assert "Max relative difference from exact least squares" in printed
    assert "validation loss" in printed


def test_two_outputs_print_one_block_each():
    fruit = torchlinreg.datasets.fruit()
    fit = torchlinreg.fit(fruit[["temperature", "rainfall", "humidity"]],
                          fruit[["apples", "oranges"]], seed=1)
    summary = fit.summary()
    printed = str(summary)
    assert "Response apples:" in printed and "Response oranges:" in printed
    assert printed.count("Residual standard error") == 2
    assert summary.tables["coefficients"].index.names == ["output", "term"]
    assert list(summary.model.index) == ["apples", "oranges"]


def test_confidence_level_and_formatting_helpers():
    fit = torchlinreg.fit(*torchlinreg.simulate(50, 2, seed=1)[:2], seed=1)
    table = fit.summary(level=0.9).coefficients["y"]
    assert {"5 %", "95 %"} <= set(table.columns)
    assert format_p(1e-20) == "<2e-16" and format_p(np.nan) == "NA"
    assert [significance_stars(p) for p in (1e-4, 0.005, 0.02, 0.07, 0.5)] == \
        ["***", "**", "*", ".", ""]
    assert isinstance(fit.summary().tables["optimization"], pd.DataFrame)


def _statsmodels_ols(fit, X, y):
    import statsmodels.api as sm
    return sm.OLS(y, sm.add_constant(np.asarray(X, dtype=float))).fit()


def test_diagnostics_match_statsmodels_summary():
    """Durbin-Watson, Omnibus, Jarque-Bera, skew, kurtosis (1e-6 relative: the residuals
    are the fit's, within 1e-9 of the exact ones) and the condition number (1e-6)."""
    from statsmodels.stats.stattools import durbin_watson, jarque_bera, omni_normtest
    winners = torchlinreg.datasets.ultra_winners()
    fit = torchlinreg.fit(winners[PREDICTORS], winners["time_in_seconds"], seed=1)
    res = _statsmodels_ols(fit, winners[PREDICTORS], winners["time_in_seconds"])
    diag = fit.summary().diagnostics.iloc[0]
    assert diag["durbin_watson"] == pytest.approx(durbin_watson(res.resid), rel=1e-6)
    omnibus, omnibus_p = omni_normtest(res.resid)
    assert diag["omnibus"] == pytest.approx(omnibus, rel=1e-6)
    assert diag["omnibus_p"] == pytest.approx(omnibus_p, rel=1e-5)
    jb, jb_p, skew, kurtosis = jarque_bera(res.resid)
    assert [diag["jarque_bera"], diag["skew"], diag["kurtosis"]] == pytest.approx(
        [jb, skew, kurtosis], rel=1e-6)
    assert diag["jarque_bera_p"] == pytest.approx(jb_p, rel=1e-5)
    assert fit.condition_number == pytest.approx(res.condition_number, rel=1e-6)
    model = fit.summary().model.iloc[0]
    assert model["llf"] == pytest.approx(res.llf, rel=1e-9)
    assert model["aic"] == pytest.approx(res.aic + 2, rel=1e-9)


def test_printed_residual_quantiles_and_likelihood_match_r(case):
    """print.summary.lm's residual quantiles and logLik/AIC/BIC, as printed (5 and 6 digits)."""
    from torchlinreg.interop.lm_check import start_r
    fit = case[0]
    frame = torchlinreg.datasets.ultra_winners().iloc[fit.train_index]
    formula = "time_in_seconds ~ distance + elevation_gain + elevation_loss"
    weights = fit._training_data()[2]
    ro = start_r()
    from rpy2.robjects import pandas2ri
    from rpy2.robjects.conversion import localconverter
    with localconverter(ro.default_converter + pandas2ri.converter):
        r_frame = ro.conversion.get_conversion().py2rpy(frame.reset_index(drop=True))
    w = ro.NULL if weights is None else ro.FloatVector(np.asarray(weights, dtype=float))
    out = ro.r("""function(d, f, w) {
      fit <- if (is.null(w)) lm(as.formula(f), data = d) else lm(as.formula(f), data = d, weights = w)
      c(quantile(weighted.residuals(fit)), logLik(fit), AIC(fit), BIC(fit))
    }""")(r_frame, formula, w)
    ref = np.array(out, dtype=float)
    summary = fit.summary()
    np.testing.assert_allclose(summary.residuals.iloc[0], ref[:5], rtol=1e-6)
    np.testing.assert_allclose(summary.model.iloc[0][["llf", "aic", "bic"]], ref[5:], rtol=1e-9)
    printed = str(summary)
    assert "Residuals:" in printed and f"AIC: {ref[6]:.6g}" in printed
    assert "Durbin-Watson:" in printed and "Condition number:" in printed


def test_html_for_notebooks(case):
    fit = case[0]
    page = fit._repr_html_()
    assert page.startswith("<p><code>LinearFit(") and "<table" in page
    assert "Std. Error" in fit.summary()._repr_html_() and "aic" in fit.summary()._repr_html_()


def test_summary_of_a_fit_from_files_leaves_out_what_needs_rows(tmp_path):
    rng = np.random.default_rng(3)
    data = pd.DataFrame(rng.normal(size=(60, 2)), columns=["x1", "x2"])
    data["y"] = data["x1"] - data["x2"] + rng.normal(size=60)
    data.to_csv(tmp_path / "rows.csv", index=False)
    summary = torchlinreg.fit_files([tmp_path / "rows.csv"], "y", ["x1", "x2"], seed=1).summary()
    assert np.isfinite(summary.model.iloc[0][["llf", "aic", "bic", "condition_number"]]).all()
    assert summary.diagnostics.isna().all().all() and summary.residuals.isna().all().all()
    assert "Residuals:" not in str(summary) and "Durbin-Watson" not in str(summary)


def test_the_description_says_how_the_fit_ended():
    # One sentence per stop reason; R prints the same one (the bridge returns it).
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 41))
    y = 2 * X[:, 0] + rng.normal(size=80)
    converged = torchlinreg.fit(X[:, :2], y, seed=1)
    assert fit_description(converged) == (
        f"Fitted by adam (lr 0.1, full batch, float64, engine gram) in {converged.n_steps} "
        f"steps: converged (gradient norm below {converged.settings['tol']:g} of its start).")
    assert fit_description(converged) in str(converged.summary())
    early = torchlinreg.fit(X, y, validation=0.3, patience=5, lr=0.01, seed=1)
    assert fit_description(early) == (
        f"Fitted by adam (lr 0.01, full batch, float64, engine gram) in {early.n_steps} steps: "
        "stopped early: the validation loss set no new low in 5 steps.")
    with pytest.warns(torchlinreg.ConvergenceWarning):
        limit = torchlinreg.fit(X[:, :2], y, optimizer="sgd", lr=1e-4, epochs=1, seed=1)
    assert fit_description(limit) == ("Fitted by sgd (lr 0.0001, full batch, float64, engine "
                                      "gram) in 1 step: stopped at the epoch limit before "
                                      "converging.")


def test_a_fit_that_is_not_at_the_optimum_is_not_described_as_converged():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    y = 1 + X @ [1.0, 2.0, 3.0] + rng.normal(size=500)
    with pytest.warns(torchlinreg.ConvergenceWarning, match="above the least-squares minimum"):
        fit = torchlinreg.fit(X * [1e-6, 1, 1], y, standardize=False, dtype="float32",
                              epochs=20000, seed=0)
    assert fit.stop_reason == "not_at_optimum"
    assert fit_description(fit).endswith(
        ": not converged: the gradient norm fell below tol, but not at the least-squares minimum.")


# --- statsmodels' export methods and summary2() -------------------------------------------------

def _winners_fit_and_statsmodels():
    import statsmodels.api as sm
    winners = torchlinreg.datasets.ultra_winners()
    fit = torchlinreg.fit(winners[PREDICTORS], winners["time_in_seconds"], seed=1)
    assert fit.converged
    res = sm.OLS(winners["time_in_seconds"], sm.add_constant(winners[PREDICTORS])).fit()
    return fit, res


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC3"])
def test_summary2_coefficients_match_statsmodels(cov_type):
    """summary2().tables[1] has statsmodels' columns and its numbers (1e-8 relative: a
    converged fit's coefficients are within 1e-9 of the exact ones), robust ones included."""
    fit, res = _winners_fit_and_statsmodels()
    if cov_type != "nonrobust":
        fit, res = fit.get_robustcov_results(cov_type), res.get_robustcov_results(cov_type)
    ours = fit.summary2(xname=res.model.exog_names).tables[1]
    ref = res.summary2().tables[1]
    assert list(ours.columns) == list(ref.columns) == ["Coef.", "Std.Err.", "t", "P>|t|",
                                                       "[0.025", "0.975]"]
    assert list(ours.index) == list(ref.index)
    np.testing.assert_allclose(ours.to_numpy(dtype=float), ref.to_numpy(dtype=float), rtol=1e-8)
    assert list(fit.summary2().tables[1].index) == fit.term_names
    narrow = fit.summary2(alpha=0.1).tables[1]
    assert list(narrow.columns[-2:]) == ["[0.05", "0.95]"]
    np.testing.assert_allclose(narrow.iloc[:, -2:].to_numpy(dtype=float),
                               np.asarray(res.conf_int(alpha=0.1)), rtol=1e-8)


def test_summary2_model_table_and_exports():
    import io
    fit, res = _winners_fit_and_statsmodels()
    summary = fit.summary2(yname="time", title="Winning times")
    info = summary.tables[0]
    cells = dict(zip(info.iloc[:, 0], info.iloc[:, 1])) | \
        dict(zip(info.iloc[:, 2], info.iloc[:, 3]))
    assert cells["Dependent Variable:"] == "time"
    assert int(cells["No. Observations:"]) == res.nobs
    assert int(cells["Df Residuals:"]) == res.df_resid
    assert float(cells["R-squared:"]) == pytest.approx(res.rsquared, abs=5e-4)
    text = summary.as_text()
    assert text == str(summary) and "Winning times" in text and "Coef." in text
    for export in (summary.as_text(), summary.as_html(), summary.as_latex()):
        for term in fit.term_names:
            assert term.replace("_", r"\_") in export or term in export
    latex = summary.as_latex()
    assert latex.count(r"\begin{tabular}") == latex.count(r"\end{tabular}") == len(summary.tables)
    assert r"elevation\_gain" in latex and r"\caption{Winning times}" in latex
    tables = re.findall(r"<table.*?</table>", summary.as_html(), flags=re.S)
    rows = ElementTree.fromstring(tables[1]).find("tbody").findall("tr")
    assert [row.find("th").text for row in rows] == fit.term_names
    assert [float(row.find("td").text) for row in rows] == \
        [float(summary.float_format % v) for v in fit.params]
    coefficients = pd.read_csv(io.StringIO(summary.as_csv().split("\n\n")[1]),
                               index_col=0, float_precision="round_trip")
    np.testing.assert_array_equal(coefficients["Coef."].to_numpy(), fit.params)


def test_summary2_of_two_outputs_and_bad_names_are_errors():
    fruit = torchlinreg.datasets.fruit()
    fit = torchlinreg.fit(fruit[["temperature", "rainfall", "humidity"]],
                          fruit[["apples", "oranges"]], seed=1)
    with pytest.raises(torchlinreg.ShapeError, match="one output"):
        fit.summary2()
    single = torchlinreg.fit(fruit[["temperature", "rainfall"]], fruit["apples"], seed=1)
    with pytest.raises(torchlinreg.InputError, match="xname"):
        single.summary2(xname=["a", "b"])


@pytest.mark.parametrize("outputs", [["apples"], ["apples", "oranges"]])
def test_summary_exports_as_statsmodels(outputs):
    """as_text() is str(); as_html(), as_latex() and as_csv() hold every coefficient, and the
    CSV tables read back with pandas to the summary's own numbers."""
    import io
    fruit = torchlinreg.datasets.fruit()
    fit = torchlinreg.fit(fruit[["temperature", "rainfall"]],
                          fruit[outputs], seed=1).get_robustcov_results("HC1")
    summary = fit.summary()
    assert summary.as_text() == str(summary)
    assert summary.as_html() == summary._repr_html_()
    latex = summary.as_latex()
    assert latex.count(r"\begin{tabular}") == latex.count(r"\end{tabular}") == len(outputs) + 1
    for name, table in summary.coefficients.items():
        for estimate in table["Estimate"]:
            assert f"{estimate:.6g}" in latex and f"{estimate:.6g}" in summary.as_html()
    sections = summary.as_csv().split("\n\n")
    coefficients = pd.read_csv(io.StringIO(sections[0]), index_col=[0, 1],
                               float_precision="round_trip")
    pd.testing.assert_frame_equal(coefficients, summary.tables["coefficients"],
                                  check_names=False, check_exact=True)
    model = pd.read_csv(io.StringIO(sections[1]), index_col=0, float_precision="round_trip")
    np.testing.assert_array_equal(model["r_squared"].to_numpy(), summary.model["r_squared"])
    assert "Covariance Type: HC1" in summary.as_text()
