"""results/hypothesis.py: linear hypotheses read as patsy's ``linear_constraint`` reads them
(statsmodels' parser), the tests' results, and p-values adjusted as statsmodels'
``multipletests``."""
import numpy as np
import pandas as pd
import pytest
from patsy import DesignInfo
from statsmodels.stats.multitest import multipletests

import torchlinreg as tl
from torchlinreg.results.hypothesis import adjusted_p_values, linear_constraints, parse_constraints

NAMES = ["(Intercept)", "x1", "x2", "x10", "gb"]
PATSY_NAMES = ["Intercept", "x1", "x2", "x10", "gb"]


@pytest.mark.parametrize("text", [
    "x1 = 0", "x1 = x2, x10 = 1", "x1 + 2*x2 = 1", "x1 - x2/2 = -3 + x10", "2*(x1 - x2) = 4",
    "-x1", "Intercept = 0, gb = 2.5e-1", "x1*3 + x10 - 1.5 = 0", "(x1 + x2 + x10)/3 = gb",
])
def test_constraints_read_as_patsy_reads_them(text):
    R, q = parse_constraints(text, NAMES)
    theirs = DesignInfo(PATSY_NAMES).linear_constraint(text)
    np.testing.assert_allclose(R, theirs.coefs, rtol=1e-15)
    np.testing.assert_allclose(q, theirs.constants.ravel(), rtol=1e-15)


def test_arrays_tuples_and_lists_of_strings():
    R, q = linear_constraints([0, 1, 0, 0, 0], NAMES)
    assert R.shape == (1, 5) and q.tolist() == [0.0]
    R, q = linear_constraints((np.eye(5)[1:3], [1, 2]), NAMES)
    assert q.tolist() == [1.0, 2.0]
    R, q = linear_constraints(["x1 = 1", "x2"], NAMES)
    np.testing.assert_array_equal(R, np.eye(5)[1:3])
    assert q.tolist() == [1.0, 0.0]
    assert linear_constraints("const = 1", NAMES)[0][0, 0] == 1


@pytest.mark.parametrize("text,message", [
    ("x3 = 0", "unknown name 'x3'"), ("x1 * x2 = 0", "not linear"), ("x1 / x2", "divide only"),
    ("x1 / 0", "divide only"), ("3 = 1", "must involve a coefficient"), ("x1 = (x2", "expected '\\)'"),
    ("x1 = 0 x2", "expected ',' or the end"), ("x1 =", "expected a coefficient"),
    ("x100 = 1", "unknown name 'x100'"),
])
def test_bad_constraints_are_input_errors_that_say_where(text, message):
    with pytest.raises(tl.InputError, match=message):
        parse_constraints(text, NAMES)


def test_bad_arrays_are_shape_errors():
    with pytest.raises(tl.ShapeError, match="one column per coefficient"):
        linear_constraints(np.eye(3), NAMES)
    with pytest.raises(tl.ShapeError, match="one value per row"):
        linear_constraints((np.eye(5)[:2], [1, 2, 3]), NAMES)


def test_hypotheses_on_aliased_coefficients_and_dependent_ones_are_errors(rng):
    X = rng.normal(size=(30, 2))
    X = np.column_stack([X, X.sum(1)])
    fit = tl.fit(X, X[:, 0] + rng.normal(size=30), seed=1)
    assert fit.aliased.tolist() == [False, False, True]
    with pytest.raises(tl.InputError, match="aliased"):
        fit.t_test("x3 = 0")
    with pytest.raises(tl.InputError, match="not linearly independent"):
        fit.f_test("x1 = 0, 2*x1 = 0")
    assert fit.t_test("x1 = x2").effect.shape == (1,)


def test_results_read_well(rng):
    X = rng.normal(size=(40, 2))
    fit = tl.fit(X, X @ [1.0, 2.0] + rng.normal(size=40), seed=1)
    t = fit.t_test("x1 = 1, x2 = 2")
    text = str(t)
    assert "Test for constraints" in text and "c1" in text and "P>|t|" in text
    assert list(t.summary_frame().columns) == ["coef", "std err", "t", "P>|t|",
                                               "Conf. Int. Low", "Conf. Int. Upp."]
    f = fit.f_test("x1 = 1, x2 = 2")
    assert str(f).startswith("<F test: F=") and "df_num=2" in str(f)
    assert f.statistic == f.fvalue and np.ndim(f.fvalue) == 0
    assert fit.wald_test("x1 = 1", scalar=False).fvalue.shape == (1, 1)
    assert str(fit.wald_test("x1 = 1", use_f=False)).startswith("<Wald test (chi2)")
    with pytest.raises(tl.OptionError, match="t test"):
        f.conf_int()
    for bad in (0, 1.5, True):  # as LinearFit.conf_int and get_prediction().conf_int
        with pytest.raises(tl.OptionError, match="alpha must be a number between 0 and 1"):
            t.conf_int(bad)


@pytest.mark.parametrize("method", ["bonf", "b", "sidak", "holm", "fdr_bh", "hs"])
def test_adjusted_p_values_are_multipletests(method, rng):
    p = np.concatenate([rng.uniform(0, 0.1, 30), rng.uniform(0, 1, 30), [0.0, 1.0, 0.5, 0.5]])
    np.testing.assert_allclose(adjusted_p_values(p, method), multipletests(p, method=method)[1],
                               rtol=1e-12)
    with_nan = np.concatenate([p, [np.nan]])
    out = adjusted_p_values(with_nan, method)
    assert np.isnan(out[-1])
    np.testing.assert_allclose(out[:-1], adjusted_p_values(p, method), rtol=0)
    with pytest.raises(tl.OptionError, match="method must be one of"):
        adjusted_p_values(p, "bh")


# wald_test_terms and t_test_pairwise against statsmodels, on its bundled Grunfeld data
# (five firms as a factor, an interaction with a number, weights too).

@pytest.fixture(scope="module")
def grunfeld():
    import statsmodels.api as sm
    d = sm.datasets.grunfeld.load_pandas().data
    d = d[d.firm.isin(["General Motors", "US Steel", "Chrysler", "IBM", "Goodyear"])]
    d = d.assign(firm=d.firm.str.replace(" ", "_"), period=np.where(d.year < 1945, "early",
                                                                    "late"))
    return d.assign(w=1000 / d.value).reset_index(drop=True)


def _statsmodels(formula, d, weighted):
    import statsmodels.formula.api as smf
    return (smf.wls(formula, d, weights=d["w"]) if weighted else smf.ols(formula, d)).fit()


TERM_MODELS = ["invest ~ value + capital + firm + value:firm", "invest ~ firm + period",
               "invest ~ 0 + firm + capital", "invest ~ C(firm, Sum) + period + value"]


@pytest.mark.parametrize("formula", TERM_MODELS)
@pytest.mark.parametrize("weighted", [False, True])
def test_wald_test_terms_is_statsmodels(formula, weighted, grunfeld):
    fit = tl.fit_formula(formula, grunfeld, weights=grunfeld["w"] if weighted else None, seed=1)
    assert fit.converged
    theirs = _statsmodels(formula, grunfeld, weighted)
    combine = ["firm", "value"] if "value" in formula else ["firm"]
    for options in ({}, {"skip_single": True}, {"combine_terms": combine}):
        ours, ref = fit.wald_test_terms(**options), theirs.wald_test_terms(**options)
        assert list(ours.table.columns) == ["statistic", "pvalue", "df_constraint", "df_denom"]
        # patsy puts a factor's terms before a number's; ours are in R's order, and the
        # combined tests follow them in both
        k = len(ours.table) - len(options.get("combine_terms", []))
        assert sorted(ours.table.index[:k]) == sorted(ref.table.index[:k])
        ref_table = pd.concat([ref.table.iloc[:k].loc[ours.table.index[:k]],
                               ref.table.iloc[k:]])
        assert ours.table.index.tolist() == ref_table.index.tolist()
        np.testing.assert_allclose(ours.table.to_numpy(float), ref_table.to_numpy(float),
                                   rtol=1e-8, atol=1e-300)
        assert list(ours.summary_frame().columns) == list(ref.summary_frame().columns)
        np.testing.assert_allclose(ours.pvalues, ref_table["pvalue"], rtol=1e-8, atol=1e-300)
        assert ours.distribution == "F"
    assert "df constraint" in str(fit.wald_test_terms())


def test_wald_test_terms_options(grunfeld):
    formula = TERM_MODELS[0]
    fit, theirs = tl.fit_formula(formula, grunfeld, seed=1), _statsmodels(formula, grunfeld, False)
    extra = [("value and capital", "value = 0, capital = 0")]
    ours = fit.wald_test_terms(extra_constraints=extra, combine_terms=["firm"])
    ref = theirs.wald_test_terms(extra_constraints=extra, combine_terms=["firm"])
    assert ours.table.index[-2:].tolist() == ["firm", "value and capital"]
    np.testing.assert_allclose(ours.table.iloc[-2:].to_numpy(float),
                               ref.table.iloc[-2:].to_numpy(float), rtol=1e-8)
    with pytest.raises(tl.InputError, match="'capital' is in no term"):
        tl.fit_formula("invest ~ firm", grunfeld, seed=1).wald_test_terms(combine_terms=["capital"])
    array = tl.fit(grunfeld[["value", "capital"]], grunfeld["invest"], seed=1)
    ours = array.wald_test_terms()
    assert ours.table.index.tolist() == ["Intercept", "value", "capital"]
    ref = _statsmodels("invest ~ value + capital", grunfeld, False).wald_test_terms()
    np.testing.assert_allclose(ours.table.to_numpy(float), ref.table.to_numpy(float), rtol=1e-8)


@pytest.mark.parametrize("formula,term", [
    ("invest ~ value + capital + firm", "firm"), ("invest ~ period + firm + value", "firm"),
    ("invest ~ 0 + firm + capital", "firm"), ("invest ~ C(firm, Sum) + value", "C(firm, Sum)"),
    ("invest ~ firm + period + value", "period")])
@pytest.mark.parametrize("weighted", [False, True])
def test_t_test_pairwise_is_statsmodels(formula, term, weighted, grunfeld):
    fit = tl.fit_formula(formula, grunfeld, weights=grunfeld["w"] if weighted else None, seed=1)
    theirs = _statsmodels(formula, grunfeld, weighted)
    for options in ({}, {"method": ["bonferroni", "holm", "sidak", "hs"], "alpha": 0.01}):
        ours, ref = fit.t_test_pairwise(term, **options), theirs.t_test_pairwise(term, **options)
        assert list(ours.result_frame.columns) == list(ref.result_frame.columns)
        assert ours.result_frame.index.tolist() == ref.result_frame.index.tolist()
        numbers = [c for c in ref.result_frame.columns if not c.startswith("reject")]
        np.testing.assert_allclose(ours.result_frame[numbers].to_numpy(float),
                                   ref.result_frame[numbers].to_numpy(float), rtol=1e-8)
        rejects = [c for c in ref.result_frame.columns if c.startswith("reject")]
        assert (ours.result_frame[rejects].to_numpy() == ref.result_frame[rejects].to_numpy()).all()
        def used(c):  # the term's columns (placed otherwise in patsy's order)
            return c[:, np.abs(c).sum(0) > 0]
        np.testing.assert_allclose(used(ours.contrasts), used(ref.contrasts), rtol=0, atol=1e-15)


def test_t_test_pairwise_labels_and_refusals(grunfeld):
    fit = tl.fit_formula("invest ~ value + period + firm + value:firm", grunfeld, seed=1)
    labels = ["a", "b", "c", "d", "e"]
    frame = fit.t_test_pairwise("firm", factor_labels=labels).result_frame
    assert frame.index.tolist()[:2] == ["b-a", "c-a"]
    with pytest.raises(tl.InputError, match="factor_labels"):
        fit.t_test_pairwise("firm", factor_labels=labels[:3])
    with pytest.raises(tl.InputError, match="interaction"):
        fit.t_test_pairwise("value:firm")
    with pytest.raises(tl.InputError, match="not a factor"):
        fit.t_test_pairwise("value")
    with pytest.raises(tl.InputError, match="no term 'firms'"):
        fit.t_test_pairwise("firms")
    with pytest.raises(tl.OptionError, match="method must be one of"):
        fit.t_test_pairwise("firm", method="tukey")
    array = tl.fit(grunfeld[["value", "capital"]], grunfeld["invest"], seed=1)
    with pytest.raises(tl.InputError, match="formula"):
        array.t_test_pairwise("value")


@pytest.mark.parametrize("method", ["hs", "holm-sidak", "bonferroni", "holm", "sidak", "s"])
def test_multiple_tests_are_multipletests(method, rng):
    from torchlinreg.results.hypothesis import multiple_tests
    p = np.concatenate([rng.uniform(0, 0.02, 10), rng.uniform(0, 1, 20), [0.0, 1.0, 0.5, 0.5]])
    for alpha in (0.05, 0.2):
        reject, corrected = multiple_tests(p, method, alpha)
        theirs = multipletests(p, method=method, alpha=alpha)
        np.testing.assert_allclose(corrected, theirs[1], rtol=1e-12)
        assert (reject == theirs[0]).all()
