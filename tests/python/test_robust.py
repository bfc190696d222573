"""results/robust.py: robust_covariance's HC0-HC3 against statsmodels' cov_HC0..3 and the
sandwich formula in numpy (weighted rows, rows of weight zero, aliased columns, several
outputs, rows in blocks); HAC and cluster against statsmodels' cov_hac and cov_cluster;
the options get_robustcov_results checks; group labels of the training rows."""
import numpy as np
import pytest
import torch

from torchlinreg.results import inference
from torchlinreg.results.influence import hat_values
import torchlinreg as tl
from torchlinreg.results.robust import (robust_covariance, robust_options, training_groups)

sm = pytest.importorskip("statsmodels.api")

HC = ["HC0", "HC1", "HC2", "HC3"]


@pytest.fixture
def rows(rng):
    X = rng.normal(size=(60, 3)) * [1, 4, 0.5] + [100, 0, -3]
    noise = rng.normal(size=(60, 2)) * (1 + np.abs(X[:, :1] - 100))  # heteroscedastic
    Y = np.column_stack([X @ [1.0, -0.5, 2] + 3, X @ [0.0, 0.2, -1] - 1]) + noise
    return X, Y, rng.uniform(0.2, 3, 60)


def hc(X, Y, w, cov_type, intercept=True, kept=None, **options):
    """robust_covariance at the exact least-squares coefficients, as LinearFit calls it."""
    kept = np.ones(X.shape[1], bool) if kept is None else kept
    Xt = torch.as_tensor(X)
    wt = None if w is None else torch.as_tensor(w)
    hat, factor = hat_values(Xt, wt, intercept, kept)
    A = X[:, kept]
    A = np.column_stack([np.ones(len(X)), A]) if intercept else A
    weight = np.ones(len(X)) if w is None else w
    root = np.sqrt(weight)[:, None]
    E = Y - A @ np.linalg.lstsq(A * root, Y * root, rcond=None)[0]
    with np.errstate(invalid="ignore"):
        weighted_resid = np.where(weight[:, None] > 0, root * E, np.nan)
    return robust_covariance(Xt, wt, intercept, kept, factor, weighted_resid, hat, cov_type,
                             **options)


@pytest.mark.parametrize("cov_type", HC)
@pytest.mark.parametrize("intercept", [True, False])
def test_each_output_is_statsmodels_hc_covariance(rows, cov_type, intercept):
    X, Y, _ = rows
    got = hc(X, Y, None, cov_type, intercept)
    assert got.shape == (2, 4 - (not intercept), 4 - (not intercept))
    A = sm.add_constant(X) if intercept else X
    for i in range(2):
        expected = getattr(sm.OLS(Y[:, i], A).fit(), f"cov_{cov_type}")
        np.testing.assert_allclose(got[i], expected, rtol=1e-9)


@pytest.mark.parametrize("cov_type", HC)
def test_weighted_rows_are_the_sandwich_of_the_weighted_design(rows, cov_type):
    """(AᵀWA)⁻¹ (Σ uᵢ wᵢ aᵢ aᵢᵀ) (AᵀWA)⁻¹, uᵢ = wᵢeᵢ² scaled as each type scales it,
    hᵢ = wᵢ aᵢᵀ(AᵀWA)⁻¹aᵢ: statsmodels' WLS gives the same on its whitened rows."""
    X, Y, w = rows
    got = hc(X, Y, w, cov_type)
    A = sm.add_constant(X)
    bread = np.linalg.inv((A * w[:, None]).T @ A)
    h = w * np.einsum("ni,ij,nj->n", A, bread, A)
    for i in range(2):
        res = sm.WLS(Y[:, i], A, weights=w).fit()
        e2 = w * res.resid ** 2
        u = {"HC0": e2, "HC1": e2 * 60 / 56, "HC2": e2 / (1 - h), "HC3": e2 / (1 - h) ** 2}[cov_type]
        sandwich = bread @ ((A * (u * w)[:, None]).T @ A) @ bread
        np.testing.assert_allclose(got[i], sandwich, rtol=1e-9)
        np.testing.assert_allclose(got[i], getattr(res, f"cov_{cov_type}"), rtol=1e-9)


@pytest.mark.parametrize("cov_type", HC)
def test_rows_of_weight_zero_are_not_observations(rows, cov_type):
    X, Y, w = rows
    w = w.copy()
    w[[3, 17, 40]] = 0
    keep = w > 0
    np.testing.assert_allclose(hc(X, Y, w, cov_type), hc(X[keep], Y[keep], w[keep], cov_type),
                               rtol=1e-10)


def test_an_aliased_column_is_left_out(rows):
    X, Y, _ = rows
    design = np.column_stack([X, X[:, 0] + X[:, 1]])
    kept = np.array([True, True, True, False])
    got = hc(design, Y, None, "HC3", kept=kept)
    np.testing.assert_allclose(got[0], sm.OLS(Y[:, 0], sm.add_constant(X)).fit().cov_HC3,
                               rtol=1e-9)


def test_rows_in_blocks_give_the_same_covariance(rows, monkeypatch):
    X, Y, w = rows
    whole = hc(X, Y, w, "HC2")
    monkeypatch.setattr(inference, "QR_BLOCK_ROWS", 7)
    np.testing.assert_allclose(hc(X, Y, w, "HC2"), whole, rtol=1e-11)


def _sandwich_covariance(res, cov_type, groups=None, **options):
    from statsmodels.stats import sandwich_covariance as sw
    if cov_type == "cluster":
        return sw.cov_cluster(res, groups, use_correction=options.get("use_correction", True))
    kernel = sw.kernel_dict[options.get("kernel", "bartlett")]
    return sw.cov_hac(res, nlags=options["maxlags"], weights_func=kernel,
                      use_correction=options.get("use_correction", False))


CORRELATED = [("HAC", {"maxlags": 1}), ("HAC", {"maxlags": 4, "use_correction": True}),
              ("HAC", {"maxlags": 2, "kernel": "uniform"}), ("HAC", {"maxlags": 0}),
              ("cluster", {}), ("cluster", {"use_correction": False})]


@pytest.mark.parametrize("cov_type,options", CORRELATED)
@pytest.mark.parametrize("weighted", [False, True])
def test_hac_and_cluster_are_statsmodels_of_each_output(rows, cov_type, options, weighted):
    X, Y, w = rows
    w = w if weighted else None
    groups = np.arange(60) % 7 if cov_type == "cluster" else None
    got = hc(X, Y, w, cov_type, groups=groups, **options)
    A = sm.add_constant(X)
    for i in range(2):
        res = (sm.OLS(Y[:, i], A) if w is None else sm.WLS(Y[:, i], A, weights=w)).fit()
        np.testing.assert_allclose(got[i], _sandwich_covariance(res, cov_type, groups, **options),
                                   rtol=1e-9)


@pytest.mark.parametrize("cov_type,options", CORRELATED)
def test_lags_and_groups_reach_across_blocks_of_rows(rows, monkeypatch, cov_type, options):
    """Rows in blocks of 3 (fewer than the lags) or 7 give the covariance of one block."""
    X, Y, w = rows
    groups = (np.arange(60) * 5) % 11 if cov_type == "cluster" else None
    whole = hc(X, Y, w, cov_type, groups=groups, **options)
    for size in (3, 7):
        monkeypatch.setattr(inference, "QR_BLOCK_ROWS", size)
        np.testing.assert_allclose(hc(X, Y, w, cov_type, groups=groups, **options), whole,
                                   rtol=1e-11)


@pytest.mark.parametrize("cov_type,options", CORRELATED)
def test_rows_of_weight_zero_add_no_scores(rows, cov_type, options):
    """A row of weight zero adds nothing to a lag's or group's sums; HAC's lags still count
    it as a time step, and n (use_correction) counts only observations, as lm()."""
    X, Y, w = rows
    w = w.copy()
    w[[3, 17, 40]] = 0
    groups = np.arange(60) % 7 if cov_type == "cluster" else None
    got = hc(X, Y, w, cov_type, groups=groups, **options)
    scale = 57 / 60 * (60 - 4) / (57 - 4)  # statsmodels' n counts the rows of weight zero
    if cov_type == "cluster":
        scale = (57 - 1) / (60 - 1) * (60 - 4) / (57 - 4)
    if not options.get("use_correction", cov_type == "cluster"):
        scale = 1.0
    A = sm.add_constant(X)
    for i in range(2):
        res = sm.WLS(Y[:, i], A, weights=w).fit()
        np.testing.assert_allclose(got[i], scale * _sandwich_covariance(res, cov_type, groups,
                                                                        **options), rtol=1e-9)


def test_options_are_checked_and_filled_in():
    assert robust_options("hc3", {}) == ("HC3", {})
    assert robust_options("hac", {"maxlags": 2}) == (
        "HAC", {"maxlags": 2, "kernel": "bartlett", "use_correction": False})
    assert robust_options("CLUSTER", {"groups": [1, 2]}) == (
        "cluster", {"groups": [1, 2], "use_correction": True, "df_correction": True})
    assert robust_options("nonrobust", {}) == ("nonrobust", {})
    for cov_type, options, match in [
            ("HC5", {}, "HC0"), (3, {}, "cov_type"), ("HC0", {"groups": 1}, "no options"),
            ("HAC", {"lags": 2}, "maxlags, kernel, use_correction"),
            ("HAC", {"maxlags": np.int64(-2)}, "from 0"),
            ("cluster", {"groups": [1], "df_correction": 1}, "df_correction")]:
        with pytest.raises(tl.OptionError, match=match):
            robust_options(cov_type, options)


def test_groups_are_codes_of_the_training_rows():
    labels = np.array(["b", "a", "b", "c", "a"])
    np.testing.assert_array_equal(training_groups(labels, 5), [1, 0, 1, 2, 0])
    # one label per input row: the training rows' are taken, in their order
    np.testing.assert_array_equal(training_groups(labels, 3, np.array([3, 0, 2]), 5), [1, 0, 0])
    with pytest.raises(tl.ShapeError, match=r"training row \(3\) or per input row \(5\)"):
        training_groups(labels[:4], 3, np.array([3, 0, 2]), 5)
    with pytest.raises(tl.InputError, match="missing"):
        training_groups(np.array([1.0, np.nan, 2.0]), 3)
