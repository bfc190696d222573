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
    with pytest.raises(tl.InputError, match="same response"):
        tl.anova_lm(fit, tl.fit_formula("x2 ~ x1 + g", data, seed=1))
    with pytest.raises(tl.InputError, match="LinearFit"):
        tl.anova_lm(fit, "fit")
    two = tl.fit(data[["x1", "x2"]], data[["y", "w"]], seed=1)
    with pytest.raises(tl.ShapeError, match="one output"):
        tl.anova_lm(two)


# Types II and III: car::Anova (through rpy2) and statsmodels' anova_lm(typ=2, 3), on R's
# warpbreaks (rows dropped, so unbalanced; tension's levels L, M, H in R's order, not
# sorted) and mtcars (cyl, gear, am as factors), with interactions, weighted too.

_R_CAR = r"""
function(formula, d, w, type) {
  fit <- if (is.null(w)) lm(as.formula(formula), data = d)
         else lm(as.formula(formula), data = d, weights = w)
  a <- car::Anova(fit, type = type)
  list(rows = rownames(a), table = as.matrix(a))
}
"""


@pytest.fixture(scope="module")
def r_datasets():
    ro = _load_r()
    from rpy2.robjects import pandas2ri
    with (ro.default_converter + pandas2ri.converter).context():
        get = ro.conversion.get_conversion().rpy2py
        warpbreaks, mtcars = get(ro.r("warpbreaks")), get(ro.r("mtcars"))
    warpbreaks = warpbreaks.iloc[[i for i in range(len(warpbreaks)) if i % 7 != 3]]
    warpbreaks = warpbreaks.assign(w=np.linspace(0.5, 2.0, len(warpbreaks)))
    mtcars = mtcars.assign(cyl=mtcars.cyl.astype(int).astype(str),
                           gear=mtcars.gear.astype(int).astype(str),
                           am=mtcars.am.astype(int).astype(str), w=1 / mtcars.disp * 100)
    return {"warpbreaks": warpbreaks.reset_index(drop=True), "mtcars": mtcars}


@pytest.fixture(scope="module")
def car_anova():
    ro = _load_r()
    from rpy2.robjects import pandas2ri
    converter = ro.default_converter + pandas2ri.converter
    code = ro.r(_R_CAR)

    def call(formula, data, weights, typ):
        with converter.context():
            d = ro.conversion.get_conversion().py2rpy(data.reset_index(drop=True))
        out = code(formula, d, ro.NULL if weights is None else ro.FloatVector(weights), typ)
        return list(out.rx2("rows")), np.array(out.rx2("table"), dtype=np.float64)
    return call


MODELS = [("warpbreaks", "breaks ~ wool + tension + wool:tension"),
          ("warpbreaks", "breaks ~ tension + wool"),
          ("mtcars", "mpg ~ wt + cyl + am + wt:cyl"),
          ("mtcars", "mpg ~ hp + cyl + gear + am + cyl:am"),
          ("mtcars", "mpg ~ 0 + cyl + wt")]


@pytest.mark.parametrize("name,formula", MODELS)
@pytest.mark.parametrize("typ", [2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_types_2_and_3_are_car_anova_and_statsmodels(name, formula, typ, weighted, r_datasets,
                                                     car_anova):
    d = r_datasets[name]
    w = d["w"].to_numpy() if weighted else None
    fit = tl.fit_formula(formula, d, weights=w, seed=1)
    assert fit.converged
    table = tl.anova_lm(fit, typ=typ)
    model = smf.ols(formula, d) if w is None else smf.wls(formula, d, weights=w)
    theirs = sm.stats.anova_lm(model.fit(), typ=typ)
    assert list(table.columns) == ["sum_sq", "df", "F", "PR(>F)"] == list(theirs.columns)
    # patsy puts a factor's terms before a number's; the rows are R's order (car's)
    assert sorted(table.index) == sorted(theirs.index)
    np.testing.assert_allclose(table.to_numpy(), theirs.loc[table.index].to_numpy(), rtol=RTOL,
                               atol=1e-12)
    rows, ref = car_anova(formula, d, w, typ)
    assert [r.replace("(Intercept)", "Intercept").replace("Residuals", "Residual")
            for r in rows] == table.index.tolist()
    np.testing.assert_allclose(table.to_numpy(), ref, rtol=RTOL, atol=1e-12)
    assert tl.anova_lm(fit, typ={2: "II", 3: "III"}[typ]).equals(table)


@pytest.mark.parametrize("robust", ["hc0", "hc1", "HC2", "hc3"])
@pytest.mark.parametrize("typ", [2, 3])
def test_robust_types_2_and_3_are_statsmodels(robust, typ, r_datasets):
    d = r_datasets["mtcars"]
    formula = "mpg ~ wt + cyl + am + wt:cyl"
    table = tl.anova_lm(tl.fit_formula(formula, d, seed=1), typ=typ, robust=robust)
    theirs = sm.stats.anova_lm(smf.ols(formula, d).fit(), typ=typ, robust=robust)
    assert sorted(table.index) == sorted(theirs.index)
    np.testing.assert_allclose(table.to_numpy(), theirs.loc[table.index].to_numpy(), rtol=RTOL,
                               atol=1e-12)


@pytest.mark.parametrize("typ", [2, 3])
def test_an_array_fit_has_a_term_per_column_in_types_2_and_3(typ, data):
    fit = tl.fit(data[["x1", "x2"]], data["y"], weights=data["w"], seed=1)
    theirs = sm.stats.anova_lm(smf.wls("y ~ x1 + x2", data, weights=data["w"]).fit(), typ=typ)
    table = tl.anova_lm(fit, typ=typ)
    assert table.index.tolist() == theirs.index.tolist()
    np.testing.assert_allclose(table.to_numpy(), theirs.to_numpy(), rtol=RTOL)


@pytest.mark.parametrize("typ", [2, 3])
def test_scale_divides_types_2_and_3_f_statistics(typ, data):
    fit = tl.fit_formula("y ~ x1 + g + x1:g", data, seed=1)
    table, scaled = tl.anova_lm(fit, typ=typ), tl.anova_lm(fit, typ=typ, scale=2.5)
    np.testing.assert_allclose(scaled["sum_sq"], table["sum_sq"], rtol=1e-12)
    terms = table.index[:-1]
    np.testing.assert_allclose(scaled.loc[terms, "F"],
                               table.loc[terms, "sum_sq"] / table.loc[terms, "df"] / 2.5,
                               rtol=1e-12)


def test_a_fit_from_files_gives_types_2_and_3_from_its_moments(tmp_path, data):
    path = tmp_path / "d.csv"
    data[["y", "x1", "x2", "w"]].to_csv(path, index=False)
    files = tl.fit_files(path, "y", ["x1", "x2"], weights="w", seed=1)
    memory = tl.fit(data[["x1", "x2"]], data["y"], weights=data["w"], seed=1)
    for typ in (2, 3):
        pd.testing.assert_frame_equal(tl.anova_lm(files, typ=typ), tl.anova_lm(memory, typ=typ),
                                      rtol=1e-8)
    pd.testing.assert_frame_equal(files.wald_test_terms().table, memory.wald_test_terms().table,
                                  rtol=1e-8)
    with pytest.raises(tl.MissingDataError, match="moments"):
        tl.anova_lm(files, typ=2, robust="hc3")
    with pytest.raises(tl.MissingDataError, match="moments"):
        tl.anova_lm(files)


def test_types_2_and_3_refuse_what_they_cannot_answer(data):
    fit = tl.fit_formula("y ~ x1 + g", data, seed=1)
    with pytest.raises(tl.OptionError, match="typ"):
        tl.anova_lm(fit, typ=4)
    with pytest.raises(tl.OptionError, match="type I"):
        tl.anova_lm(fit, fit, typ=2)
    with pytest.raises(tl.OptionError, match="robust"):
        tl.anova_lm(fit, robust="hc3")  # type I sums of squares have no robust form
    with pytest.raises(tl.OptionError, match="robust must be one of"):
        tl.anova_lm(fit, typ=2, robust="hc4")
    with pytest.raises(tl.OptionError, match="scale"):
        tl.anova_lm(fit, typ=2, robust="hc3", scale=2.0)
    aliased = tl.fit_formula("y ~ x1 + x2 + x3 + g", data, seed=1)
    for typ in (2, 3):
        with pytest.raises(tl.InputError, match="aliased"):
            tl.anova_lm(aliased, typ=typ)


@pytest.mark.parametrize("test", ["Chisq", "Cp"])
def test_chisq_and_cp_are_refused_as_statsmodels_leaves_them_empty(test, data):
    # statsmodels' anova_lm accepts these names but fills their columns with zeros
    fit = tl.fit_formula("y ~ x1 + g", data, seed=1)
    theirs = sm.stats.anova_lm(smf.ols("y ~ x1 + g", data).fit(), test=test)
    assert (theirs[test] == 0).all()
    with pytest.raises(tl.OptionError, match="test='F'"):
        tl.anova_lm(fit, test=test)
