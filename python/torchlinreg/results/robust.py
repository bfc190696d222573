"""Robust covariances of the coefficients, and what ``get_robustcov_results`` needs with them.

Each is the sandwich ``(AᵀWA)⁻¹ M (AᵀWA)⁻¹`` of a meat ``M`` made from the scores
``sᵢ = wᵢ eᵢ aᵢ`` (statsmodels' ``wexog * wresid``), ``e`` the residuals at the fitted
coefficients, over the training rows in their order:

- HC0–HC3 (``sandwich::vcovHC``, statsmodels' ``cov_HC*``): ``Σ sᵢ sᵢᵀ``, each term times
  ``n / (n - p)`` (HC1), over ``1 - hᵢ`` (HC2) or ``(1 - hᵢ)²`` (HC3);
- HAC (Newey–West, statsmodels' ``cov_hac``): ``Γ₀ + Σₗ kₗ (Γₗ + Γₗᵀ)`` for lags
  ``l = 1 … maxlags``, ``Γₗ = Σₜ sₜ sₜ₋ₗᵀ``, kernel weights ``kₗ = 1 - l / (maxlags + 1)``
  (Bartlett) or 1 (uniform); times ``n / (n - p)`` with ``use_correction``;
- cluster (CRV1, statsmodels' ``cov_cluster``): ``Σ_g S_g S_gᵀ``, ``S_g`` the sum of the
  scores of group ``g``; times ``G / (G - 1) · (n - 1) / (n - p)`` with ``use_correction``.

``n`` counts the rows of positive weight (observations, as in ``lm()``), ``p`` is the
rank and ``G`` the number of groups among those rows. It is computed on the centred
design, as ``R⁻¹ M' R⁻ᵀ`` with the scores of ``G = √W [1, X - c] R⁻¹`` taken block by
block (a lag reaches into the block before), then carried back to the coefficients of
``[1, X]`` (:func:`~torchlinreg.results.inference.lift_covariance`).
"""

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError, OptionError, ShapeError
from .distributions import norm_quantile, t_quantile
from .inference import centred_design, lift_covariance, row_blocks

#: What ``LinearFit.cov_params(cov_type=)`` computes by name.
COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3")
#: What ``LinearFit.get_robustcov_results`` takes: HAC and cluster need options.
ROBUST_COV_TYPES = COV_TYPES + ("HAC", "cluster")

# Each type's options and their defaults (statsmodels'); None: required.
_OPTIONS = {"HAC": {"maxlags": None, "kernel": "bartlett", "use_correction": False},
            "cluster": {"groups": None, "use_correction": True, "df_correction": True}}

KERNELS = {"bartlett": lambda maxlags: 1 - np.arange(maxlags + 1) / (maxlags + 1.0),
           "uniform": lambda maxlags: np.ones(maxlags + 1)}

# statsmodels' cov_kwds["description"], which its summary prints.
_DESCRIPTIONS = {
    "nonrobust": "Standard Errors assume that the covariance matrix of the errors is "
                 "correctly specified.",
    **{hc: f"Standard Errors are heteroscedasticity robust ({hc})"
       for hc in ("HC0", "HC1", "HC2", "HC3")},
    "HAC": "Standard Errors are heteroscedasticity and autocorrelation robust (HAC) using "
           "{maxlags} lags and {correction} small sample correction",
    "cluster": "Standard Errors are robust to cluster correlation (CRV1)",
}


def robust_options(cov_type, options):
    """``(cov_type, options)`` checked: the type's name as :data:`ROBUST_COV_TYPES` spells
    it (statsmodels' any case is read) and every option of the type, defaults filled in.
    An :class:`OptionError` names what is supported."""
    names = {name.lower(): name for name in ROBUST_COV_TYPES}
    if not isinstance(cov_type, str) or cov_type.lower() not in names:
        raise OptionError(
            f"cov_type must be one of {ROBUST_COV_TYPES} (HAC with maxlags=, cluster with "
            "groups=); statsmodels' cluster-crv3, cluster-jk, hac-panel, hac-groupsum and "
            f"fixed scale are not implemented; got {cov_type!r}.")
    cov_type = names[cov_type.lower()]
    allowed = _OPTIONS.get(cov_type, {})
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) if allowed else "no options"
        raise OptionError(f"{cov_type} takes {takes}; got {unknown}.")
    checked = {**allowed, **options}
    missing = [name for name, value in checked.items() if value is None]
    if missing:
        raise OptionError(f"{cov_type} needs {missing[0]}= (" + {
            "maxlags": "the number of lags, an integer from 0",
            "groups": "one label per training row"}[missing[0]] + ").")
    if "maxlags" in checked:
        maxlags = checked["maxlags"]
        if isinstance(maxlags, (bool, np.bool_)) or not isinstance(maxlags, (int, np.integer)) \
                or maxlags < 0:
            raise OptionError(f"maxlags must be an integer from 0; got {maxlags!r}.")
        if checked["kernel"] not in KERNELS:
            raise OptionError(f"kernel must be one of {sorted(KERNELS)}; got "
                              f"{checked['kernel']!r}.")
    for name in ("use_correction", "df_correction"):
        if name in checked and not isinstance(checked[name], (bool, np.bool_)):
            raise OptionError(f"{name} must be True or False; got {checked[name]!r}.")
    if "groups" in checked and np.ndim(checked["groups"]) != 1:
        raise OptionError("groups must be one grouping, one label per row (two-way "
                          f"clustering is not implemented); got shape "
                          f"{np.shape(checked['groups'])}.")
    return cov_type, checked


def describe(cov_type, options):
    """statsmodels' description of the covariance (its summary's note)."""
    if cov_type == "HAC":
        return _DESCRIPTIONS["HAC"].format(
            maxlags=options["maxlags"],
            correction="with" if options["use_correction"] else "without")
    return _DESCRIPTIONS[cov_type]


def training_groups(groups, n_train, train_index=None, n_input=None):
    """``groups`` as integer codes ``(n_train,)`` of the training rows: given one label per
    training row, or one per input row (``n_input`` of them) of a fit whose
    ``train_index`` held rows out."""
    values = np.asarray(groups)
    if len(values) == n_train:
        pass
    elif train_index is not None and len(values) == n_input:
        values = values[train_index]
    else:
        also = f" or per input row ({n_input})" if train_index is not None \
            and n_input != n_train else ""
        raise ShapeError(f"groups must have one label per training row ({n_train}){also}; "
                         f"got {len(values)}.")
    if values.dtype.kind == "f":
        missing = np.isnan(values)
    elif values.dtype.kind == "O":
        missing = np.array([v is None or v != v for v in values], dtype=bool)
    else:
        missing = np.zeros(len(values), dtype=bool)
    if missing.any():
        raise InputError(f"groups has missing labels (training rows "
                         f"{np.flatnonzero(missing)[:5].tolist()}...): give every row a group.")
    return np.unique(values, return_inverse=True)[1].reshape(-1)


def observed_groups(codes, weighted_resid):
    """The number of groups among the rows of positive weight (``weighted_resid`` finite)."""
    return len(np.unique(codes[np.isfinite(weighted_resid[:, 0])]))


@dataclass
class Sandwich:
    """A robust covariance of each output's estimated coefficients, kept on the centred
    design: ``centred`` ``(k, rank, rank)`` is that of the coefficients of ``[1, X - c]``
    (``X`` without an intercept), ``center`` ``c`` (None without an intercept)."""

    centred: np.ndarray
    center: np.ndarray = None

    def lifted(self):
        """The covariances ``(k, rank, rank)`` of the coefficients of ``[1, X]``."""
        if self.center is None:
            return self.centred
        return np.stack([lift_covariance(torch.as_tensor(c), torch.as_tensor(self.center))
                         .numpy() for c in self.centred])

    def mean_variance(self, X_kept):
        """Variances ``(n, k)`` of the predicted means of rows ``X_kept`` ``(n, p)`` (the
        estimated feature columns): ``dᵀ V d`` for ``d = [1, x - c]``, free of the
        cancellation ``aᵀ V a`` suffers on a column far from zero. Negative where ``V``
        is not positive semi-definite (HAC with the uniform kernel can be)."""
        X_kept = np.asarray(X_kept, dtype=np.float64)
        d = X_kept if self.center is None else np.column_stack(
            [np.ones(len(X_kept)), X_kept - self.center])
        return np.einsum("ni,kij,nj->nk", d, self.centred, d)


def robust_covariance(X, weights, intercept, kept_features, factor, weighted_resid, hat,
                      cov_type, **options):
    """The ``cov_type`` covariances ``(k, rank, rank)`` over the estimated terms, one per
    output (:func:`robust_sandwich`'s, of the coefficients of ``[1, X]``)."""
    return robust_sandwich(X, weights, intercept, kept_features, factor, weighted_resid, hat,
                           cov_type, **options).lifted()


def robust_sandwich(X, weights, intercept, kept_features, factor, weighted_resid, hat,
                    cov_type, groups=None, maxlags=None, kernel="bartlett", use_correction=None):
    """The ``cov_type`` covariances over the estimated terms, one per output (:class:`Sandwich`).

    ``factor`` is ``(center, R)`` of :func:`centred_factor`; ``weighted_resid``
    ``(n, k)`` are ``√w e`` (NaN where the weight is zero); ``hat`` ``(n,)``. HAC takes
    ``maxlags``, ``kernel`` and ``use_correction`` (default False); cluster takes
    ``groups`` (integer codes of the training rows, :func:`training_groups`) and
    ``use_correction`` (default True).
    """
    kept_features = torch.as_tensor(kept_features)
    center, R = factor
    E = torch.as_tensor(np.nan_to_num(weighted_resid), dtype=torch.float64)
    n_obs = int(np.isfinite(weighted_resid[:, 0]).sum())
    rank = R.shape[0]
    R_inv = torch.linalg.solve_triangular(R, torch.eye(rank, dtype=torch.float64), upper=True)
    blocks = _score_blocks(X, weights, intercept, kept_features, center, R_inv)
    with np.errstate(divide="ignore"):  # inf: no residual degrees of freedom
        small_sample = np.float64(n_obs) / (n_obs - rank)
    correction = 1.0
    if cov_type == "HAC":
        meat = _hac_meat(blocks, E, maxlags, KERNELS[kernel](maxlags))
        if use_correction:
            correction = small_sample
    elif cov_type == "cluster":
        n_groups = observed_groups(groups, weighted_resid)
        if n_groups < 2:
            raise InputError(f"cluster needs two groups or more; the training rows of positive "
                             f"weight are in {n_groups}.")
        meat = _cluster_meat(blocks, E, torch.as_tensor(groups, dtype=torch.int64))
        if use_correction is None or use_correction:
            with np.errstate(divide="ignore"):
                correction = np.float64(n_groups) / (n_groups - 1) * (n_obs - 1) / (n_obs - rank)
    else:
        meat = _hc_meat(blocks, E, torch.as_tensor(np.nan_to_num(hat), dtype=torch.float64),
                        cov_type, float(small_sample))
    centred = (R_inv @ (float(correction) * meat) @ R_inv.T).numpy()
    return Sandwich(centred, None if center is None else center.numpy())


def _score_blocks(X, weights, intercept, kept_features, center, R_inv):
    """``(rows, G)`` for each block of rows: ``G = √w [1, X - c] R⁻¹``."""
    for rows in row_blocks(X.shape[0]):
        G = centred_design(X[rows], center, intercept, kept_features) @ R_inv
        if weights is not None:
            G = G * weights[rows].to(torch.float64).sqrt()[:, None]
        yield rows, G


def _hc_meat(blocks, E, h, cov_type, hc1):
    scale = {"HC0": lambda e: e ** 2,
             "HC1": lambda e: e ** 2 * hc1,
             "HC2": lambda e: e ** 2 / (1 - h[:, None]),
             "HC3": lambda e: (e / (1 - h[:, None])) ** 2}[cov_type]
    U = scale(E)
    meat = 0
    for rows, G in blocks:
        meat = meat + torch.einsum("ni,nk,nj->kij", G, U[rows], G)
    return meat


def _cluster_meat(blocks, E, codes):
    """``Σ_g S_g S_gᵀ`` per output, ``S_g`` summed block by block."""
    sums = None
    for rows, G in blocks:
        scores = E[rows].T[:, :, None] * G[None, :, :]  # (k, n, rank)
        if sums is None:
            sums = torch.zeros(E.shape[1], int(codes.max()) + 1, G.shape[1],
                               dtype=torch.float64)
        sums.index_add_(1, codes[rows], scores)
    return torch.einsum("kgi,kgj->kij", sums, sums)


def _hac_meat(blocks, E, maxlags, kernel_weights):
    """``Γ₀ + Σₗ kₗ (Γₗ + Γₗᵀ)`` per output; the last ``maxlags`` rows' scores of a block
    are kept for the lags of the next."""
    meat, before = 0, None
    for rows, G in blocks:
        scores = E[rows].T[:, :, None] * G[None, :, :]  # (k, n, rank)
        meat = meat + torch.einsum("kti,ktj->kij", scores, scores)
        chain = scores if before is None else torch.cat([before, scores], dim=1)
        start = chain.shape[1] - scores.shape[1]  # where this block's rows begin in chain
        for lag in range(1, maxlags + 1):
            first = max(lag - start, 0)  # this block's first row with a row lag before it
            if first >= scores.shape[1]:
                break
            now = scores[:, first:]
            then = chain[:, start + first - lag:chain.shape[1] - lag]
            gamma = torch.einsum("kti,ktj->kij", now, then)
            meat = meat + kernel_weights[lag] * (gamma + gamma.transpose(1, 2))
        before = chain[:, max(chain.shape[1] - maxlags, 0):] if maxlags else None
    return meat


def slopes_wald_f(coefficients, cov, aliased, intercept, df):
    """statsmodels' ``fvalue`` and ``f_pvalue`` of a robust covariance: the Wald F of all
    estimated coefficients but the intercept being 0, on ``(their number, df)`` degrees of
    freedom; one per output ``(k,)``. NaN without slopes, or where their covariance is
    singular (fewer clusters than slopes), where statsmodels takes a pseudo-inverse."""
    from .hypothesis import wald_test
    k, m = coefficients.shape
    slopes = np.eye(m)[int(intercept):][~aliased[int(intercept):]]
    F, p = np.full(k, np.nan), np.full(k, np.nan)
    if len(slopes) == 0:
        return F, p
    for i in range(k):
        try:
            test = wald_test(slopes, np.zeros(len(slopes)), coefficients[i], cov[i], aliased,
                             df)
        except InputError:  # a singular covariance of the slopes
            continue
        F[i], p[i] = test.fvalue, test.pvalue
    return F, p


def with_limits(fit, var_fit, sigma, quantile, interval="none", pred_weights=1.0):
    """``fit`` and ``se_fit`` ``(n, k)`` from the predictions and their variances, with
    ``lwr`` and ``upr`` for ``interval`` ``"confidence"`` or ``"prediction"``: ``fit ±
    quantile × se``, a new observation's variance ``sigma² / pred_weights`` added for a
    prediction interval (statsmodels' ``get_prediction`` of a robust results, whose
    ``use_t`` chooses the quantile; a negative variance of the mean, from a covariance
    that is not positive semi-definite, gives NaN ``se_fit`` as there)."""
    with np.errstate(invalid="ignore"):
        out = {"fit": fit, "se_fit": np.sqrt(var_fit)}
    if interval == "none":
        return out
    spread = var_fit
    if interval == "prediction":
        spread = spread + np.asarray(sigma, dtype=np.float64)[None, :] ** 2 / np.reshape(
            np.asarray(pred_weights, dtype=np.float64), (-1, 1))
    with np.errstate(invalid="ignore"):
        half = quantile * np.sqrt(spread)
    out["lwr"], out["upr"] = fit - half, fit + half
    return out


def student_or_normal(use_t, df):
    """The ``q`` quantile function of Student's t on ``df`` (``use_t``) or of the normal."""
    return (lambda q: t_quantile(q, df)) if use_t else norm_quantile
