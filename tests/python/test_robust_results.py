"""``LinearFit.get_robustcov_results``: a results object whose default covariance is a robust
one, compared name by name with statsmodels' ``OLS(...).fit(cov_type=...)`` (normal
distribution, ``use_t=False``) and ``OLS(...).fit().get_robustcov_results(...)`` (which
keeps the fit's t, ``use_t=True``), WLS for a weighted fit.

statsmodels' results are at the exact least-squares coefficients, ours at the
gradient-descent ones (converged to tol 1e-14): quantities agree to ``RTOL``, but on
longley, where statsmodels' own rounding is larger: its sandwich ``H S H`` with ``H =
(AᵀA)⁻¹`` of condition 1e19 is 4e-6 from mpmath's HAC covariance (ours 8e-11), and its
``aᵀ V a`` for a prediction's standard error up to 1.3e-4 (ours, on the centred design,
1e-12); the test against mpmath below holds ours to 1e-9 there.
Data: statsmodels' longley (a time series: HAC), spector, and grunfeld (a panel of
firms: cluster by firm), weighted, without intercept, and with an aliased column.
"""
import functools

import numpy as np
import pytest
import statsmodels.api as sm

import torchlinreg as tl
from torchlinreg.results.hypothesis import linear_constraints

RTOL = 1e-8


def _longley():
    data = sm.datasets.longley.load_pandas().data
    X = data.drop(columns="TOTEMP")
    return dict(X=X, y=data["TOTEMP"], w=None, intercept=True, groups=None,
                hypotheses="GNPDEFL = 0, GNP = UNEMP", rtol=1e-4, rtol_prediction=1e-3)


def _spector_no_intercept():
    data = sm.datasets.spector.load_pandas().data
    return dict(X=data[["GPA", "TUCE", "PSI"]], y=data["GRADE"], w=None, intercept=False,
                groups=None, hypotheses="GPA = 0, TUCE + PSI = 0.1", rtol=RTOL)


def _grunfeld(weighted=False, aliased=False):
    data = sm.datasets.grunfeld.load_pandas().data
    X = data[["value", "capital"]].copy()
    if aliased:
        X["total"] = X["value"] + 2 * X["capital"]
    w = 1 / data["capital"].to_numpy() if weighted else None
    return dict(X=X, y=data["invest"], w=w, intercept=True, groups=data["firm"].to_numpy(),
                hypotheses="value = 0.1, capital = 0.3", rtol=RTOL)


CASES = {"longley": _longley, "spector_no_intercept": _spector_no_intercept,
         "grunfeld": _grunfeld, "grunfeld_weighted": lambda: _grunfeld(weighted=True),
         "grunfeld_aliased": lambda: _grunfeld(aliased=True)}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    c = CASES[request.param]()
    fit = tl.fit(c["X"], c["y"], weights=c["w"], intercept=c["intercept"], seed=1)
    assert fit.converged
    kept = ~fit.inference.aliased

    def design(rows):
        A = rows[c["X"].columns].to_numpy(dtype=float)
        return (np.column_stack([np.ones(len(A)), A]) if c["intercept"] else A)[:, kept]

    A, y = design(c["X"]), np.asarray(c["y"], float)
    model = sm.OLS(y, A) if c["w"] is None else sm.WLS(y, A, weights=c["w"])
    c.update(name=request.param, fit=fit, kept=kept, model=model, design=design)
    return c


def _specs(case):
    """``(cov_type, kwargs)`` for the case: HC always, HAC for all, cluster where there are
    groups."""
    specs = [("HC0", {}), ("HC1", {}), ("HC2", {}), ("HC3", {}),
             ("HAC", {"maxlags": 2}),
             ("HAC", {"maxlags": 3, "use_correction": True, "kernel": "uniform"})]
    if case["groups"] is not None:
        specs += [("cluster", {"groups": case["groups"]}),
                  ("cluster", {"groups": case["groups"], "use_correction": False,
                               "df_correction": False})]
    return specs


def _statsmodels(model, cov_type, kwargs, use_t):
    """statsmodels' results: ``fit(cov_type=...)`` for ``use_t=False`` (its default there),
    ``fit().get_robustcov_results(...)`` for ``use_t=None`` (which keeps the fit's t)."""
    if use_t is None:
        return model.fit().get_robustcov_results(cov_type, **kwargs)
    return model.fit(cov_type=cov_type, cov_kwds=dict(kwargs), use_t=use_t)


def close(ours, theirs, rtol=RTOL, atol=0.0, err_msg=""):
    np.testing.assert_allclose(np.asarray(ours, float), np.asarray(theirs, float), rtol=rtol,
                               atol=atol, err_msg=err_msg)


# HAC with the uniform kernel is not positive semi-definite on spector: NaN standard errors
# (with numpy's warning), as statsmodels'
@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")
@pytest.mark.parametrize("use_t", [None, False, True])
def test_every_name_is_statsmodels_robust_results(case, use_t):
    fit, kept = case["fit"], case["kept"]
    block = np.ix_(kept, kept)
    R, q = linear_constraints(case["hypotheses"], fit.term_names)
    new = case["X"].iloc[::7]
    for cov_type, kwargs in _specs(case):
        label = f"{cov_type} {list(kwargs)}"
        near = functools.partial(close, rtol=case["rtol"], err_msg=label)
        res = fit.get_robustcov_results(cov_type, use_t=use_t, **kwargs)
        ref = _statsmodels(case["model"], cov_type, kwargs, use_t)
        assert (res.cov_type, res.use_t) == (ref.cov_type, ref.use_t), label
        assert res.df_resid_inference == getattr(ref, "df_resid_inference", ref.df_resid)
        near(res.cov_params()[block], ref.cov_params(),
             atol=1e-13 * np.abs(ref.cov_params()).max())
        assert np.isnan(res.cov_params()[~kept]).all() and np.isnan(res.bse[~kept]).all()
        for name in ("bse", "tvalues", "pvalues"):
            near(getattr(res, name)[kept], getattr(ref, name))
        for alpha in (0.05, 0.1):
            near(res.conf_int(alpha=alpha)[kept], ref.conf_int(alpha=alpha))
        close(res.conf_int(0.9), res.conf_int(alpha=0.1), rtol=0)  # the same limits
        near([res.fvalue, res.f_pvalue], [ref.fvalue, ref.f_pvalue])
        # tests of linear hypotheses take the robust covariance and distribution by default
        ours, theirs = res.t_test(case["hypotheses"]), ref.t_test((R[:, kept], q))
        assert ours.distribution == theirs.distribution, label
        for name in ("effect", "sd", "tvalue", "pvalue"):
            near(np.ravel(getattr(ours, name)), np.ravel(getattr(theirs, name)))
        near(ours.conf_int(0.1), theirs.conf_int(0.1))
        ours, theirs = res.f_test(case["hypotheses"]), ref.f_test((R[:, kept], q))
        near([ours.fvalue, ours.pvalue], [theirs.fvalue, theirs.pvalue])
        assert (ours.df_num, ours.df_denom) == (theirs.df_num, theirs.df_denom)
        ours = res.wald_test(case["hypotheses"])
        theirs = ref.wald_test((R[:, kept], q), scalar=True)
        assert (ours.distribution, ours.df_denom) == (theirs.distribution, theirs.df_denom)
        near([ours.statistic, ours.pvalue], [theirs.statistic, theirs.pvalue])
        # predictions: the robust covariance of the mean, the normal or t quantiles
        weights = None if case["w"] is None else np.full(len(new), 2.0)
        ours = res.get_prediction(new, weights=weights).summary_frame(alpha=0.1)
        theirs = ref.get_prediction(case["design"](new), weights=weights,
                                    row_labels=new.index).summary_frame(alpha=0.1)
        near(ours, theirs, rtol=case.get("rtol_prediction", case["rtol"]))
        limits = res.predict(new, interval="confidence", level=0.9)
        close(limits[:, 1:], ours[["mean_ci_lower", "mean_ci_upper"]], rtol=1e-13)


def test_use_t_follows_statsmodels():
    """``get_robustcov_results`` keeps the fit's ``use_t`` (True) unless told; statsmodels'
    ``fit(cov_type=...)`` is ``get_robustcov_results(cov_type, use_t=False)``."""
    c = _longley()
    fit = tl.fit(c["X"], c["y"], seed=1)
    model = sm.OLS(c["y"], sm.add_constant(c["X"]))
    assert fit.get_robustcov_results().use_t is model.fit().get_robustcov_results().use_t
    assert fit.get_robustcov_results().cov_type == "HC1"  # statsmodels' default
    assert model.fit(cov_type="HC3").use_t is False
    ours = fit.get_robustcov_results("HC3", use_t=False)
    close(ours.pvalues, model.fit(cov_type="HC3").pvalues)
    # its tests are z tests, as statsmodels'
    ours, theirs = ours.t_test("GNP = 0, YEAR = 1000"), model.fit(cov_type="HC3").t_test(
        "GNP = 0, YEAR = 1000")
    assert list(ours.summary_frame().columns) == list(theirs.summary_frame().columns)
    close(ours.summary_frame(alpha=0.1), theirs.summary_frame(alpha=0.1), rtol=1e-6)
    assert "Test for constraints (normal)" in str(ours)
    ours = fit.get_robustcov_results("HC3", use_t=False)
    # the view of a view keeps the view's use_t, as statsmodels'
    assert ours.get_robustcov_results("HC0").use_t is False
    # and a nonrobust view with the normal distribution is statsmodels' fit(use_t=False)
    normal = fit.get_robustcov_results("nonrobust", use_t=False)
    theirs = model.fit(use_t=False)
    for name in ("bse", "pvalues"):
        close(getattr(normal, name), getattr(theirs, name))
    close(normal.conf_int(), theirs.conf_int())
    close([normal.fvalue, normal.f_pvalue], [theirs.fvalue, theirs.f_pvalue])


def test_the_view_shares_the_fit_and_leaves_it_unchanged():
    c = _grunfeld()
    fit = tl.fit(c["X"], c["y"], seed=1)
    before = (fit.bse.copy(), fit.pvalues.copy(), fit.conf_int(), fit.fvalue)
    res = fit.get_robustcov_results("cluster", groups=c["groups"])
    assert isinstance(res, tl.LinearFit)
    assert res._train is fit._train and res.coef is fit.coef
    assert res.inference is fit.inference  # computed once, not again
    assert (res.n_iter, res.converged) == (fit.n_iter, fit.converged)
    np.testing.assert_array_equal(res.params, fit.params)
    np.testing.assert_array_equal(res.predict(c["X"]), fit.predict(c["X"]))
    assert fit.cov_type == "nonrobust" and fit.use_t is True
    for ours, then in zip((fit.bse, fit.pvalues, fit.conf_int(), fit.fvalue), before):
        np.testing.assert_array_equal(ours, then)
    # the other covariances are still there by name, and the nonrobust one
    np.testing.assert_array_equal(res.cov_params("HC3"), fit.cov_HC3)
    np.testing.assert_array_equal(res.cov_params("nonrobust"), fit.cov_params())
    np.testing.assert_array_equal(res.HC3_se, fit.HC3_se)


def test_a_robust_result_is_not_saved_as_its_plain_fit_but_pickles(tmp_path):
    """save() would write the fit, which loads with the nonrobust standard errors: it is
    refused, saying what to do; a pickle keeps the result."""
    import pickle
    c = _grunfeld()
    fit = tl.fit(c["X"], c["y"], seed=1)
    res = fit.get_robustcov_results("HC3")
    with pytest.raises(tl.OptionError, match=r"get_robustcov_results\('HC3'\) result is not saved"):
        res.save(tmp_path / "robust")
    assert not list(tmp_path.iterdir())
    again = pickle.loads(pickle.dumps(res))
    np.testing.assert_array_equal(again.bse, res.bse)
    loaded = tl.load(fit.save(tmp_path / "fit", include_data=True))
    np.testing.assert_allclose(loaded.get_robustcov_results("HC3").bse, res.bse, rtol=1e-12)


def test_groups_of_every_input_row_follow_the_training_rows():
    """With validation rows held out, ``groups`` may have one value per input row (the
    training rows' are taken) or one per training row."""
    c = _grunfeld()
    fit = tl.fit(c["X"], c["y"], validation=0.2, seed=3)
    rows = fit.train_index
    res = fit.get_robustcov_results("cluster", groups=c["groups"])
    ref = sm.OLS(np.asarray(c["y"])[rows], sm.add_constant(c["X"].to_numpy()[rows])).fit(
        cov_type="cluster", cov_kwds={"groups": c["groups"][rows]})
    close(res.bse, ref.bse, rtol=1e-7)
    np.testing.assert_array_equal(
        fit.get_robustcov_results("cluster", groups=c["groups"][rows]).bse, res.bse)


def test_summary_shows_the_covariance_type_and_its_numbers():
    c = _longley()
    fit = tl.fit(c["X"], c["y"], seed=1)
    plain = str(fit.summary())
    assert "Covariance Type" not in plain and "t value" in plain
    for use_t, stat, p in ((None, "t value", "Pr(>|t|)"), (False, "z value", "Pr(>|z|)")):
        res = fit.get_robustcov_results("HC3", use_t=use_t)
        summary = res.summary(alpha=0.1)
        text = str(summary)
        assert "Covariance Type: HC3" in text
        assert "Standard Errors are heteroscedasticity robust (HC3)" in text
        table = summary.coefficients["TOTEMP"]
        assert list(table.columns[:4]) == ["Estimate", "Std. Error", stat, p]
        np.testing.assert_array_equal(table["Std. Error"], res.bse)
        np.testing.assert_array_equal(table[stat], res.tvalues)
        np.testing.assert_array_equal(table[p], res.pvalues)
        np.testing.assert_array_equal(table.iloc[:, 4:], res.conf_int(alpha=0.1))
        model = summary.model.iloc[0]
        assert (model["f_statistic"], model["f_p_value"]) == (res.fvalue, res.f_pvalue)
        assert f"F-statistic: {res.fvalue:.6g}" in text and stat in text
        assert "Covariance Type: HC3" in res._repr_html_()
    hac = str(fit.get_robustcov_results("HAC", maxlags=2, use_t=False).summary())
    assert "Covariance Type: HAC" in hac and "using 2 lags and without small sample" in hac
    # the nonrobust summary is the one it was
    assert str(fit.summary()) == plain


def test_several_outputs_give_one_value_per_output():
    fruit = tl.datasets.fruit()
    names = ["temperature", "rainfall", "humidity"]
    fit = tl.fit(fruit[names], fruit[["apples", "oranges"]], seed=1)
    res = fit.get_robustcov_results("HC2", use_t=False)
    assert res.bse.shape == (2, 4) and res.cov_params().shape == (2, 4, 4)
    assert res.conf_int().shape == (2, 4, 2) and np.shape(res.fvalue) == (2,)
    for i, output in enumerate(["apples", "oranges"]):
        one = tl.fit(fruit[names], fruit[output], seed=1).get_robustcov_results(
            "HC2", use_t=False)
        for name in ("bse", "tvalues", "pvalues", "fvalue", "f_pvalue"):
            close(getattr(res, name)[i], getattr(one, name), rtol=1e-7)
        close(res.conf_int()[i], one.conf_int(), rtol=1e-7)
        close(res.get_prediction(fruit[names]).se_mean[:, i],
              one.get_prediction(fruit[names]).se_mean, rtol=1e-7)
    assert "Covariance Type: HC2" in str(res.summary())
    with pytest.raises(tl.ShapeError, match="one output"):
        res.t_test("rainfall = 0")


def test_unsupported_types_and_options_are_option_errors():
    c = _grunfeld()
    fit = tl.fit(c["X"], c["y"], seed=1)
    for cov_type in ("HC4", "cluster-crv3", "hac-panel", "hac-groupsum", "fixed scale"):
        with pytest.raises(tl.OptionError, match=r"HC0.*HC3.*HAC.*cluster"):
            fit.get_robustcov_results(cov_type)
    with pytest.raises(tl.OptionError, match="HC3 takes no options.*maxlags"):
        fit.get_robustcov_results("HC3", maxlags=2)
    with pytest.raises(tl.OptionError, match="maxlags"):
        fit.get_robustcov_results("HAC")
    for bad in (-1, 1.5, "2", True):
        with pytest.raises(tl.OptionError, match="maxlags"):
            fit.get_robustcov_results("HAC", maxlags=bad)
    with pytest.raises(tl.OptionError, match="kernel.*bartlett.*uniform"):
        fit.get_robustcov_results("HAC", maxlags=2, kernel="parzen")
    with pytest.raises(tl.OptionError, match="HAC takes.*groups"):
        fit.get_robustcov_results("HAC", maxlags=2, groups=c["groups"])
    with pytest.raises(tl.OptionError, match="groups"):
        fit.get_robustcov_results("cluster")
    with pytest.raises(tl.OptionError, match="one grouping"):
        fit.get_robustcov_results("cluster", groups=np.column_stack([c["groups"]] * 2))
    with pytest.raises(tl.ShapeError, match="220"):
        fit.get_robustcov_results("cluster", groups=c["groups"][:-1])
    with pytest.raises(tl.InputError, match="missing"):
        fit.get_robustcov_results("cluster", groups=np.where(np.arange(220) == 5, None,
                                                              c["groups"]))
    with pytest.raises(tl.OptionError, match="use_correction"):
        fit.get_robustcov_results("cluster", groups=c["groups"], use_correction="yes")


def test_a_fit_from_files_has_no_rows_for_a_robust_covariance(tmp_path):
    c = _grunfeld(weighted=True)
    path = tmp_path / "data.csv"
    c["X"].assign(y=c["y"], w=c["w"]).to_csv(path, index=False)
    files = tl.fit_files(path, "y", ["value", "capital"], weights="w", seed=1)
    with pytest.raises(tl.MissingDataError) as today:
        files.cov_params("HC3")
    for cov_type, kwargs in (("HC3", {}), ("HAC", {"maxlags": 1}),
                             ("cluster", {"groups": c["groups"]})):
        with pytest.raises(tl.MissingDataError) as robust:
            files.get_robustcov_results(cov_type, **kwargs)
        assert str(robust.value) == str(today.value)
    # the nonrobust covariance needs only the moments: with the normal distribution too
    normal = files.get_robustcov_results("nonrobust", use_t=False)
    ref = sm.WLS(np.asarray(c["y"]), sm.add_constant(c["X"]), weights=c["w"]).fit(use_t=False)
    close(normal.pvalues, ref.pvalues, rtol=1e-6)
    assert "Covariance Type: nonrobust" in str(normal.summary())


def _sandwich_by_mpmath(mp, A, y, params, cov_type, maxlags=0, kernel="bartlett",
                        use_correction=False, groups=None):
    """statsmodels' sandwich ``H S H`` at ``params``, in mpmath's arithmetic."""
    A, n, k = mp.matrix(A.tolist()), A.shape[0], A.shape[1]
    e = mp.matrix(np.asarray(y, float).tolist()) - A * mp.matrix(np.asarray(params).tolist())
    H = (A.T * A) ** -1
    h = [(A[i, :] * H * A[i, :].T)[0] for i in range(n)]
    u = {"HC0": [1] * n, "HC3": [1 / (1 - h[i]) ** 2 for i in range(n)]}.get(cov_type, [1] * n)
    scores = [A[i, :].T * (e[i] * mp.sqrt(u[i])) for i in range(n)]
    S = mp.matrix(k, k)
    if cov_type == "cluster":
        for g in np.unique(groups):
            total = sum((scores[i] for i in np.flatnonzero(groups == g)), mp.matrix(k, 1))
            S += total * total.T
        G = len(np.unique(groups))
        S *= mp.mpf(G) / (G - 1) * mp.mpf(n - 1) / (n - k)
    else:
        for lag in range(maxlags + 1):
            weight = 1 - mp.mpf(lag) / (maxlags + 1) if kernel == "bartlett" else 1
            gamma = sum((scores[t] * scores[t - lag].T for t in range(lag, n)), mp.matrix(k, k))
            S += weight * (gamma if lag == 0 else gamma + gamma.T)
        if use_correction:
            S *= mp.mpf(n) / (n - k)
    return H * S * H


def test_longley_s_robust_covariances_f_and_prediction_errors_are_mpmath_s():
    """On longley (condition 1e9) the covariances, the robust F and the predictions'
    standard errors are those of exact arithmetic at the fit's coefficients to 1e-9."""
    mp = pytest.importorskip("mpmath")
    c = _longley()
    fit = tl.fit(c["X"], c["y"], seed=1)
    A = sm.add_constant(c["X"].to_numpy())
    new = c["X"].iloc[::5]
    for cov_type, kwargs in [("HC0", {}), ("HC3", {}), ("HAC", {"maxlags": 2}),
                             ("HAC", {"maxlags": 3, "kernel": "uniform",
                                      "use_correction": True}),
                             ("cluster", {"groups": np.arange(16) // 2})]:
        with mp.workdps(50):
            C = _sandwich_by_mpmath(mp, A, c["y"], fit.params, cov_type, **kwargs)
            slopes = mp.matrix([[C[i, j] for j in range(1, 7)] for i in range(1, 7)])
            b = mp.matrix(fit.params[1:].tolist())
            F = float((b.T * slopes ** -1 * b)[0] / 6)
            rows = sm.add_constant(new.to_numpy(), has_constant="add")
            var = [float((mp.matrix(a.tolist()).T * C * mp.matrix(a.tolist()))[0])
                   for a in rows]
            C = np.array(C.tolist(), dtype=float)
        res = fit.get_robustcov_results(cov_type, **kwargs)
        label = f"{cov_type} {kwargs}"
        close(res.cov_params(), C, rtol=1e-9, err_msg=label)
        close(res.fvalue, F, rtol=1e-9, err_msg=label)
        with np.errstate(invalid="ignore"):  # NaN: a negative variance (the uniform kernel)
            close(res.get_prediction(new).se_mean, np.sqrt(var), rtol=1e-9, err_msg=label)
