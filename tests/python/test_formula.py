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
