"""results/hypothesis.py: linear hypotheses read as patsy's ``linear_constraint`` reads them
(statsmodels' parser), the tests' results, and p-values adjusted as statsmodels'
``multipletests``."""
import numpy as np
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


@pytest.mark.parametrize("method", ["bonf", "b", "sidak", "holm", "fdr_bh"])
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
