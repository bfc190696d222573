"""fit_formula(): designs, names and missing rows against lm() with an R formula, via rpy2."""
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("formulaic")
import torchlinreg  # noqa: E402
from torchlinreg.errors import InputError, OptionError  # noqa: E402
from torchlinreg.interop.formula import r_name  # noqa: E402

R_LM = r"""
function(d, f, w) {
  fit <- if (is.null(w)) lm(as.formula(f), data = d) else lm(as.formula(f), data = d, weights = w)
  list(names = names(coef(fit)), coef = unname(coef(fit)),
       se = unname(coef(summary(fit))[, 2]), nobs = nobs(fit), r2 = summary(fit)$r.squared)
}
"""


def r_lm(frame, formula, weights=None):
    from torchlinreg.interop.lm_check import start_r
    try:
        ro = start_r()
    except ImportError as error:
        pytest.skip(f"R/rpy2 missing: {error.__cause__!r}")
    from rpy2.robjects import pandas2ri
    from rpy2.robjects.conversion import localconverter
    with localconverter(ro.default_converter + pandas2ri.converter):
        r_frame = ro.conversion.get_conversion().py2rpy(frame)
    w = ro.NULL if weights is None else ro.FloatVector(frame[weights].to_numpy(dtype=float))
    out = ro.r(R_LM)(r_frame, formula, w)
    return {"names": list(out.rx2("names")), "coef": np.array(out.rx2("coef")),
            "se": np.array(out.rx2("se")), "nobs": int(out.rx2("nobs")[0]),
            "r2": float(out.rx2("r2")[0])}


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(7)
    n = 80
    d = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                      "group": rng.choice(["a", "b", "c"], n), "w": rng.uniform(0.5, 2, n)})
    d["y"] = (1 + 2 * d.x1 - d.x2 + 0.5 * d.x1 * d.x2 + 1.5 * (d.group == "b")
              + rng.normal(scale=0.3, size=n))
    d["y2"] = d.y - d.x2 + rng.normal(scale=0.2, size=n)
    d.loc[[3, 10], "x2"] = np.nan
    d.loc[[20], "y"] = np.nan
    return d


# (Python formula, R formula): formulaic's C(g) is R's factor g.
CASES = [
    ("y ~ x1 + C(group) + x1:x2", "y ~ x1 + group + x1:x2"),
    ("y ~ x1 + x2 + x1:x2", "y ~ x1 + x2 + x1:x2"),
    ("y ~ x2:x1 + group + x1", "y ~ x2:x1 + group + x1"),
    ("y ~ x1 * group", "y ~ x1 * group"),
    ("y ~ x1 + x2 - 1", "y ~ x1 + x2 - 1"),
    ("y ~ 0 + group + x1", "y ~ 0 + group + x1"),
]


@pytest.mark.parametrize("py_formula, r_formula", CASES)
def test_coefficients_and_names_match_lm(frame, py_formula, r_formula):
    fit = torchlinreg.fit_formula(py_formula, frame, seed=1)
    r = r_lm(frame, r_formula)
    assert fit.term_names == r["names"]
    np.testing.assert_allclose(fit.coefficients()[0], r["coef"], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(fit.inference.std_error[0], r["se"], rtol=1e-6)
    assert fit.inference.n_obs == r["nobs"]


def test_missing_rows_are_dropped_as_na_omit(frame):
    fit = torchlinreg.fit_formula("y ~ x1 + x2", frame, seed=1)
    assert fit.n_dropped == 3 and len(fit.row_labels) == len(frame) - 3
    assert not {3, 10, 20} & set(fit.row_labels)
    only_x1 = torchlinreg.fit_formula("y ~ x1", frame, seed=1)
    assert only_x1.n_dropped == 1  # x2's missing values do not matter here
    assert "3 rows with missing values dropped" in str(fit.summary())


def test_weights_column_matches_lm_weights(frame):
    fit = torchlinreg.fit_formula("y ~ x1 + C(group)", frame, weights="w", seed=1)
    r = r_lm(frame, "y ~ x1 + group", weights="w")
    assert fit.term_names == r["names"]
    np.testing.assert_allclose(fit.coefficients()[0], r["coef"], rtol=1e-8)
    np.testing.assert_allclose(fit.inference.r_squared[0], r["r2"], rtol=1e-8)


def test_two_responses(frame):
    fit = torchlinreg.fit_formula("y + y2 ~ x1 + x2", frame, seed=1)
    assert fit.output_names == ["y", "y2"] and fit.coefficients().shape == (2, 3)
    exact = torchlinreg.ols(frame.dropna()[["x1", "x2"]], frame.dropna()[["y", "y2"]])
    np.testing.assert_allclose(fit.coef, exact.coef, rtol=1e-8)


def test_fit_options_pass_through_and_formulaic_names(frame):
    fit = torchlinreg.fit_formula("y ~ x1 + C(group)", frame, optimizer="sgd", lr=0.3,
                                  validation=0.25, seed=2, coef_names="formulaic")
    assert fit.settings["optimizer"] == "sgd" and len(fit.valid_index) > 0
    assert fit.feature_names == ["x1", "C(group)[T.b]", "C(group)[T.c]"]


@pytest.mark.parametrize("name, expected", [
    ("Intercept", "(Intercept)"), ("x1", "x1"), ("x1:x2", "x1:x2"), ("g[T.b]", "gb"),
    ("C(g)[T.b]", "gb"), ("g[b]", "gb"), ("x1:g[T.b]", "x1:gb"),
    ("C(g, Sum)[S.b]", "C(g, Sum)[S.b]"), ("I(x1 ** 2)", "I(x1 ** 2)"),
])
def test_name_mapping(name, expected):
    assert r_name(name) == expected


def test_errors_say_what_to_change(frame):
    with pytest.raises(InputError, match="response"):
        torchlinreg.fit_formula("x1 + x2", frame)
    with pytest.raises(InputError, match="nope"):
        torchlinreg.fit_formula("y ~ nope", frame)
    with pytest.raises(OptionError, match="- 1"):
        torchlinreg.fit_formula("y ~ x1", frame, intercept=False)
    with pytest.raises(InputError, match="weights column"):
        torchlinreg.fit_formula("y ~ x1", frame, weights="missing")


R_PREDICT = r"""
function(d, f, nd, dates, times) {
  for (v in dates) { d[[v]] <- as.Date(d[[v]]); nd[[v]] <- as.Date(nd[[v]]) }
  for (v in times) { d[[v]] <- as.POSIXct(d[[v]], tz = "UTC"); nd[[v]] <- as.POSIXct(nd[[v]], tz = "UTC") }
  fit <- lm(as.formula(f), data = d)
  list(names = names(coef(fit)), coef = unname(coef(fit)),
       pred = unname(predict(fit, newdata = nd)))
}
"""


def r_predict(frame, formula, new, dates=(), times=()):
    """lm() and predict.lm on ``new``; columns in ``dates``/``times`` are ISO strings made Date/POSIXct."""
    from torchlinreg.interop.lm_check import start_r
    try:
        ro = start_r()
    except ImportError as error:
        pytest.skip(f"R/rpy2 missing: {error.__cause__!r}")
    from rpy2.robjects import pandas2ri
    from rpy2.robjects.conversion import localconverter
    with localconverter(ro.default_converter + pandas2ri.converter):
        to_r = ro.conversion.get_conversion().py2rpy
        d, nd = to_r(frame.reset_index(drop=True)), to_r(new.reset_index(drop=True))
    out = ro.r(R_PREDICT)(d, formula, nd, ro.StrVector(list(dates)), ro.StrVector(list(times)))
    return {"names": list(out.rx2("names")), "coef": np.array(out.rx2("coef")),
            "pred": np.array(out.rx2("pred"))}


@pytest.fixture(scope="module")
def typed():
    """A frame with an object, a pandas "string", a bool and a date column."""
    rng = np.random.default_rng(11)
    n = 60
    data = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["lo", "mid", "hi"], n),
                         "flag": rng.uniform(size=n) > 0.4})
    data["s"] = pd.array(rng.choice(["p", "q"], n), dtype="string")
    data["day"] = pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 400, n), "D")
    data["y"] = (data["x"] + (data["g"] == "hi") - data["flag"] + 0.01 * data["day"].dt.day
                 + (data["s"] == "q").astype(float) + rng.normal(size=n))
    return data


def _for_r(data):
    """The frame as R should see it: strings as character, dates as ISO strings."""
    out = data.copy()
    for name in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[name]):
            out[name] = out[name].dt.strftime("%Y-%m-%d %H:%M:%S" if (out[name].dt.normalize() != out[name]).any()
                                              else "%Y-%m-%d")
        elif pd.api.types.is_string_dtype(out[name]):
            out[name] = out[name].astype(object)
    return out


def test_predict_new_data_builds_the_design_from_the_formula(typed):
    """Was: X has non-numeric columns ['g'] ... use a formula interface."""
    formula = "y ~ g + x + g:x"
    fit = torchlinreg.fit_formula(formula, typed, optimizer="lbfgs", seed=1)
    new = typed.iloc[[3, 0, 7]][["x", "g"]].copy()
    new.loc[new.index[0], "g"] = "lo"
    ref = r_predict(_for_r(typed), formula, _for_r(new))
    assert fit.feature_names == ref["names"][1:]
    np.testing.assert_allclose(fit.predict(new), ref["pred"], rtol=1e-7)
    np.testing.assert_allclose(fit.predict(new.iloc[:1]), ref["pred"][:1], rtol=1e-7)
    limits = fit.predict(new, interval="prediction")
    assert limits.shape == (3, 3) and (limits[:, 1] < limits[:, 0]).all()
    new.loc[new.index[1], "x"] = np.nan  # predict.lm's na.pass: NA for that row
    pred = fit.predict(new)
    assert np.isnan(pred[1]) and np.isfinite(pred[[0, 2]]).all()


def test_a_level_unseen_in_training_is_a_clear_error(typed):
    fit = torchlinreg.fit_formula("y ~ g + x", typed, seed=1)
    new = pd.DataFrame({"x": [0.0, 1.0], "g": ["lo", "top"]})
    with pytest.raises(InputError, match=r"'g' has levels not seen in training: \['top'\]"):
        fit.predict(new)
    with pytest.raises(InputError, match="needs the column 'g'"):
        fit.predict(pd.DataFrame({"x": [0.0]}))


def test_a_formula_fit_pickles_and_predicts(typed):
    import pickle
    fit = torchlinreg.fit_formula("y ~ g + x", typed, seed=1)
    again = pickle.loads(pickle.dumps(fit))
    np.testing.assert_array_equal(again.predict(typed.head()), fit.predict(typed.head()))


@pytest.mark.parametrize("formula", ["y ~ s + x", "y ~ flag + x", "y ~ day + x",
                                     "y ~ g + s + flag + day + x"])
def test_string_bool_and_date_columns_as_lm_reads_them(typed, formula):
    """pandas "string" was a bare ValueError, a bool column was named flag (R: flagTRUE),
    a datetime column failed (R's lm reads a Date as days since 1970-01-01)."""
    fit = torchlinreg.fit_formula(formula, typed, optimizer="lbfgs", seed=1)
    new = typed.iloc[:4]
    ref = r_predict(_for_r(typed), formula, _for_r(new), dates=["day"])
    assert fit.term_names == ref["names"]
    np.testing.assert_allclose(fit.coefficients()[0], ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(fit.predict(new), ref["pred"], rtol=1e-7)


def test_datetimes_with_times_are_seconds_as_posixct(typed):
    data = typed.copy()
    data["when"] = data["day"] + pd.to_timedelta(np.arange(len(data)) * 3611, "s")
    fit = torchlinreg.fit_formula("y ~ when + x", data, optimizer="lbfgs", seed=1)
    ref = r_predict(_for_r(data), "y ~ when + x", _for_r(data.iloc[:3]), times=["when"])
    assert fit.term_names == ref["names"]
    np.testing.assert_allclose(fit.coefficients()[0], ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(fit.predict(data.iloc[:3]), ref["pred"], rtol=1e-7)


def test_a_categorical_keeps_its_levels_order_as_an_r_factor(frame):
    """Was: a categorical of strings was read as a string column, its levels sorted, so
    its reference level and coefficients were not lm()'s on the same factor."""
    data = frame.dropna().assign(group=pd.Categorical(frame.dropna().group,
                                                      categories=["c", "a", "b"]))
    fit = torchlinreg.fit_formula("y ~ group + x1", data, seed=1)
    r = r_lm(data, "y ~ group + x1")
    assert fit.term_names == r["names"] == ["(Intercept)", "groupa", "groupb", "x1"]
    np.testing.assert_allclose(fit.coefficients()[0], r["coef"], rtol=1e-8)
    np.testing.assert_allclose(fit.predict(data.head()), fit.predict(data.head().assign(
        group=data.head().group.astype(object))), rtol=1e-12)
