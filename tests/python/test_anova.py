"""results/anova.py: ``torchlinreg.anova_lm`` is R's ``anova()`` (through rpy2) and
statsmodels' ``anova_lm(typ=1)``, for one fit (sequential sums of squares per term) and
for nested fits. R's numbers are at its exact coefficients, the fits are converged:
within 1e-8."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import torchlinreg as tl
from conftest import _load_r

RTOL = 1e-8

_R_ANOVA = r"""
function(formulas, d, w) {
  fits <- lapply(formulas, function(f)
    if (is.null(w)) lm(as.formula(f), data = d) else lm(as.formula(f), data = d, weights = w))
  a <- do.call(anova, unname(fits))
  list(rows = rownames(a), table = as.matrix(a))
}
"""


@pytest.fixture(scope="module")
def r_anova():
    ro = _load_r()
    from rpy2.robjects import pandas2ri
    converter = ro.default_converter + pandas2ri.converter
    code = ro.r(_R_ANOVA)

    def call(formulas, data, weights=None):
        with converter.context():
            d = ro.conversion.get_conversion().py2rpy(data.reset_index(drop=True))
        out = code(ro.StrVector(formulas), d,
                   ro.NULL if weights is None else ro.FloatVector(np.asarray(weights, float)))
        return list(out.rx2("rows")), np.array(out.rx2("table"), dtype=np.float64)
    return call


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(21)
    d = pd.DataFrame({"x1": rng.normal(size=60), "g": rng.choice(["a", "b", "c"], 60),
                      "x2": rng.uniform(0, 10, 60), "w": rng.uniform(0.5, 2, 60)})
    d["x3"] = d.x1 - d.x2  # aliased in "x1 + x2 + x3"
    d["y"] = (1 + d.x1 - 0.2 * d.x2 + d.g.map({"a": 0.0, "b": 1.0, "c": -1.0})
              + 0.5 * d.x1 * (d.g == "b") + rng.normal(size=60))
    return d


@pytest.mark.parametrize("formula", ["y ~ g + x1 + x2", "y ~ x1 + g + x2 + x1:g",
                                     "y ~ x1 + x2 + x3 + g", "y ~ 0 + x1 + x2", "y ~ 0 + g + x1"])
@pytest.mark.parametrize("weighted", [False, True])
def test_one_fit_is_r_anova(formula, weighted, data, r_anova):
    w = data["w"] if weighted else None
    fit = tl.fit_formula(formula, data, weights=w, seed=1)
    assert fit.converged
    table = tl.anova_lm(fit)
    rows, ref = r_anova([formula], data, w)
    assert table.index.tolist() == [r if r != "Residuals" else "Residual" for r in rows]
    assert list(table.columns) == ["df", "sum_sq", "mean_sq", "F", "PR(>F)"]
    np.testing.assert_allclose(table.to_numpy(), ref, rtol=RTOL)


def test_one_fit_is_statsmodels_anova_lm(data):
    formula = "y ~ g + x1 + x2"  # patsy's order of the terms is formulaic's (and R's) here
    ours = tl.anova_lm(tl.fit_formula(formula, data, seed=1))
    theirs = sm.stats.anova_lm(smf.ols(formula, data).fit(), typ=1)
    assert ours.index.tolist() == theirs.index.tolist()
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=RTOL)


def test_an_array_fit_has_a_term_per_column(data):
    X = data[["x1", "x2"]]
    fit = tl.fit(X, data["y"], seed=1)
    theirs = sm.stats.anova_lm(smf.ols("y ~ x1 + x2", data).fit(), typ=1)
    np.testing.assert_allclose(tl.anova_lm(fit).to_numpy(), theirs.to_numpy(), rtol=RTOL)


@pytest.mark.parametrize("weighted", [False, True])
def test_nested_fits_are_r_anova_and_statsmodels(weighted, data, r_anova):
    w = data["w"] if weighted else None
    formulas = ["y ~ x1", "y ~ x1 + g", "y ~ x1 + g + x2 + x1:g"]
    fits = [tl.fit_formula(f, data, weights=w, seed=1) for f in formulas]
    table = tl.anova_lm(*fits)
    assert list(table.columns) == ["df_resid", "ssr", "df_diff", "ss_diff", "F", "Pr(>F)"]
    _, ref = r_anova(formulas, data, w)
    ours = table.to_numpy().copy()
    ours[0, 2] = np.nan  # R's first Df is NA, statsmodels' 0
    np.testing.assert_allclose(ours, ref, rtol=RTOL)
    models = [smf.ols(f, data) if w is None else smf.wls(f, data, weights=w) for f in formulas]
    theirs = sm.stats.anova_lm(*[m.fit() for m in models])
    # a p-value near 1e-9 moves by its F's rounding times F's density
    np.testing.assert_allclose(table.to_numpy(), theirs.to_numpy(), rtol=RTOL, atol=1e-8)


def test_what_is_not_implemented_or_not_comparable_says_so(data):
    fit = tl.fit_formula("y ~ x1 + g", data, seed=1)
    with pytest.raises(tl.OptionError, match="typ=1"):
        tl.anova_lm(fit, typ=2)
    with pytest.raises(tl.InputError, match="same response"):
        tl.anova_lm(fit, tl.fit_formula("x2 ~ x1 + g", data, seed=1))
    with pytest.raises(tl.InputError, match="LinearFit"):
        tl.anova_lm(fit, "fit")
    two = tl.fit(data[["x1", "x2"]], data[["y", "w"]], seed=1)
    with pytest.raises(tl.ShapeError, match="one output"):
        tl.anova_lm(two)
