"""precondition="qr": default fits reach lm()'s answer on hard designs (issue 14).

Each design is fitted with default settings and compared with R's lm() (through
rpy2) on every coefficient, relative to the largest coefficient of the output
(``COEF_RTOL``), and the fit must say ``converged``. The designs are the ones on
which the standardized Adam fit stopped unconverged or drifted: R's ``longley``
and ``iris`` with an interaction, random designs with p up to 400, n = p + 1
and p + 2, two columns correlated at 1 - 1e-7, a degree-5 polynomial.
"""
import warnings

import numpy as np
import pytest

import torchlinreg as tl
from conftest import _load_r

COEF_RTOL = 1e-10
# lm() itself solves the polynomial to 9-13 digits; the fit must be within one digit of it.
POLY_DIGITS = 1


@pytest.fixture(scope="session")
def r_design():
    """``r_design(formula, dataset)``: R's model matrix (without the intercept column), the
    response and its column names, for one of R's data sets."""
    ro = _load_r()
    code = ro.r("""function(f, d) {
      data <- get(d); mf <- model.frame(as.formula(f), data)
      x <- model.matrix(as.formula(f), mf)
      list(x = unname(x[, -1, drop = FALSE]), y = model.response(mf), names = colnames(x)[-1])
    }""")

    def design(formula, dataset):
        out = code(formula, dataset)
        x = np.array(out.rx2("x"), dtype=np.float64)
        return x, np.array(out.rx2("y"), dtype=np.float64), list(out.rx2("names"))
    return design


def default_fit(X, y, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("error", tl.ConvergenceWarning)
        return tl.fit(X, y, seed=1, **options)


def coef_error(fit, reference):
    """Largest coefficient difference, relative to the largest coefficient of each output."""
    ours, ref = fit.coefficients(), np.atleast_2d(reference.coef)
    scale = np.nanmax(np.abs(ref), axis=1, keepdims=True)
    return float(np.nanmax(np.abs(ours - ref) / scale))


@pytest.mark.parametrize("formula, dataset", [
    ("Employed ~ .", "longley"),
    ("Sepal.Length ~ Species * Petal.Length", "iris"),
    ("mpg ~ wt + hp + qsec + factor(cyl)", "mtcars"),
    ("dist ~ poly(speed, 3, raw = TRUE)", "cars"),
])
def test_r_data_sets_reach_lm(r_design, lm_check, formula, dataset):
    X, y, _ = r_design(formula, dataset)
    fit = default_fit(X, y)
    assert fit.converged and fit.settings["precondition"] == "qr"
    assert coef_error(fit, lm_check(X, y)) < COEF_RTOL


@pytest.mark.parametrize("p", [50, 100, 200, 400])
@pytest.mark.parametrize("seed", [0, 1])
def test_random_designs_up_to_400_columns_reach_lm(lm_check, p, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((1000, p))
    y = X @ rng.standard_normal(p) + rng.standard_normal(1000)
    fit = default_fit(X, y)
    assert fit.converged
    assert coef_error(fit, lm_check(X, y)) < COEF_RTOL


@pytest.mark.parametrize("extra", [1, 2])
def test_barely_more_rows_than_coefficients(lm_check, rng, extra):
    p = 30
    X = rng.standard_normal((p + 1 + extra - 1, p))
    y = rng.standard_normal(X.shape[0])
    fit = default_fit(X, y)
    assert fit.converged
    assert coef_error(fit, lm_check(X, y)) < COEF_RTOL


def exact_in_60_digits(X, y):
    """Least squares with an intercept, solved in 60-digit arithmetic (mpmath)."""
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(60):
        A = mpmath.matrix(np.column_stack([np.ones(len(y)), X]).tolist())
        b = mpmath.matrix(list(map(float, y)))
        return np.array([float(v) for v in mpmath.lu_solve(A.T * A, A.T * b)])


def test_two_columns_correlated_at_one_minus_1e7(lm_check, rng):
    """Condition number ~1e7: lm() itself is only good to about 4e-9 here, so both are
    measured against the solution in 60 digits; the fit must be within 1e-10 of it, or
    within a digit of lm()'s own error."""
    z = rng.standard_normal(500)
    X = np.column_stack([z, z + 1e-7 * rng.standard_normal(500), rng.standard_normal(500)])
    y = X @ [1.0, 2.0, 3.0] + rng.standard_normal(500)
    fit = default_fit(X, y)
    assert fit.converged
    exact = exact_in_60_digits(X, y)
    relative = lambda coef: np.max(np.abs(coef - exact)) / np.abs(exact).max()  # noqa: E731
    assert relative(fit.coefficients()[0]) < max(COEF_RTOL, 10 * relative(lm_check(X, y).coef[0]))


def test_a_degree_5_polynomial_within_a_digit_of_lm(lm_check):
    x = np.arange(21.0)
    X = np.vander(x, 6, increasing=True)[:, 1:]
    y = np.sin(x / 3) + x / 10
    fit = default_fit(X, y)
    assert fit.converged
    exact = np.linalg.lstsq(np.column_stack([np.ones(21), X]), y, rcond=None)[0]
    lm_error = np.max(np.abs(lm_check(X, y).coef[0] - exact) / np.abs(exact))
    ours = np.max(np.abs(fit.coefficients()[0] - exact) / np.abs(exact))
    assert ours <= max(lm_error, 1e-13) * 10 ** POLY_DIGITS


@pytest.mark.parametrize("variant", ["weights", "two_outputs", "no_intercept"])
def test_weights_outputs_and_no_intercept_reach_lm(lm_check, r_design, variant):
    X, y, _ = r_design("Employed ~ .", "longley")
    options, check = {}, {}
    if variant == "weights":
        w = np.linspace(0.5, 2.0, len(y))
        options["weights"] = check["weights"] = w
    elif variant == "two_outputs":
        y = np.column_stack([y, X[:, 0] - 3 * y])
    else:
        options["intercept"] = check["intercept"] = False
    fit = default_fit(X, y, **options)
    assert fit.converged
    assert coef_error(fit, lm_check(X, y, **check)) < COEF_RTOL


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs"])
def test_every_optimizer_converges_on_longley(r_design, lm_check, optimizer):
    X, y, _ = r_design("Employed ~ .", "longley")
    fit = default_fit(X, y, optimizer=optimizer)
    assert fit.converged
    assert coef_error(fit, lm_check(X, y)) < 1e-9


def test_fit_files_equals_fit_on_the_same_rows(r_design, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    X, y, names = r_design("Employed ~ .", "longley")
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    frame["y"] = y
    frame.iloc[:8].to_parquet(tmp_path / "a.parquet", index=False)
    frame.iloc[8:].to_parquet(tmp_path / "b.parquet", index=False)
    streamed = tl.fit_files(tmp_path, "y", seed=1)
    in_memory = default_fit(X, y)
    assert streamed.converged
    np.testing.assert_allclose(streamed.coefficients(), in_memory.coefficients(), rtol=1e-10)


def test_standardize_keeps_the_previous_path():
    """precondition="standardize" is the previous default: same steps, same tolerance."""
    X, y, _ = tl.simulate(300, 4, noise=0.5, seed=3)
    fit = tl.fit(X, y, seed=1, precondition="standardize")
    assert fit.settings["tol"] == 1e-12 and fit.scaler.rotation is None
    qr = tl.fit(X, y, seed=1)
    assert qr.settings["tol"] == 1e-14 and qr.scaler.rotation is not None
    np.testing.assert_allclose(qr.coef, fit.coef, rtol=1e-9)


def test_precondition_is_checked():
    X, y, _ = tl.simulate(50, 2, seed=1)
    with pytest.raises(tl.OptionError, match="precondition must be one of"):
        tl.fit(X, y, precondition="cholesky")
    with pytest.raises(tl.OptionError, match="standardize=False"):
        tl.fit(X, y, precondition="qr", standardize=False)
    assert tl.fit(X, y, standardize=False, seed=1, epochs=5).settings["precondition"] == "none"


def test_a_saved_preconditioned_fit_loads_resumes_and_refuses_tampering(tmp_path):
    X, y, _ = tl.simulate(200, 3, noise=0.5, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        half = tl.fit(X, y, seed=1, epochs=100, tol=0)
        whole = tl.fit(X, y, seed=1, epochs=200, tol=0)
        path = half.save(tmp_path / "half.npz")
        resumed = tl.fit(X, y, resume=tl.load(path), epochs=100)
    np.testing.assert_array_equal(resumed.coef, whole.coef)
    stored = dict(np.load(path))
    stored["weight_std"] = stored["weight_std"] * 1000
    np.savez(tmp_path / "bad.npz", **stored)
    with pytest.raises(tl.InputError, match="not the last step"):
        tl.load(tmp_path / "bad.npz")


def test_the_moments_factor_equals_the_rows_factor_on_a_well_conditioned_design(monkeypatch):
    """Below MOMENTS_CONDITION the factor comes from the moments (no pass over the rows);
    forced to come from the rows instead, the fit is the same to rounding."""
    from torchlinreg.engine import preconditioning
    X, y, _ = tl.simulate(500, 5, noise=0.5, seed=4)
    from_moments = default_fit(X, y)
    monkeypatch.setattr(preconditioning, "MOMENTS_CONDITION", 0.0)
    from_rows = default_fit(X, y)
    np.testing.assert_allclose(from_rows.coefficients(), from_moments.coefficients(), rtol=1e-12)


def test_an_ill_conditioned_design_takes_its_factor_from_the_rows(monkeypatch, r_design):
    from torchlinreg.engine import objective
    X, y, _ = r_design("Employed ~ .", "longley")
    calls = []
    real = objective.root_of_rows
    monkeypatch.setattr(objective, "root_of_rows", lambda *rows: calls.append(1) or real(*rows))
    default_fit(X, y)
    assert calls == [1]


def _advice(**options):
    X, y, _ = tl.simulate(200, 3, seed=1)
    with pytest.warns(tl.ConvergenceWarning) as caught:
        tl.fit(X, y, seed=1, **options)
    return X, y, str(caught[0].message)


def test_the_convergence_warning_advises_what_works():
    """Each piece of advice, followed, gives a converged fit."""
    import re
    X, y, message = _advice(epochs=100)
    epochs = int(re.search(r"raise epochs to about ([0-9,]+)", message).group(1).replace(",", ""))
    assert tl.fit(X, y, seed=1, epochs=epochs).converged
    X, y, _ = tl.simulate(200, 3, seed=1)
    X[:, 1] = X[:, 0] + 0.01 * X[:, 1]  # correlated at 0.99995: standardized SGD crawls
    with pytest.warns(tl.ConvergenceWarning, match="use precondition='qr'"):
        tl.fit(X, y, seed=1, epochs=2000, precondition="standardize", optimizer="sgd", lr=0.2)
    assert tl.fit(X, y, seed=1, epochs=2000, optimizer="sgd", lr=0.2).converged
    X, y, message = _advice(lr=1e-4, epochs=200)
    lr = float(re.search(r"try lr=([0-9.e-]+)", message).group(1))
    assert lr == 1e-3 and "too slowly" in message
