"""Analysis of variance tables, as R's ``anova()``, ``car::Anova()`` and statsmodels'
``anova_lm``.

One fit, type I: the sequential sum of squares of each term, in the order the formula
gives them, from the QR factor of ``√W [A, y]`` (the squared "effects" of ``lm()``),
against the fit's own residual sum of squares at its coefficients. Types II and III, as
statsmodels computes them (``anova2_lm_single``, ``anova3_lm_single``) and as
``car::Anova`` reports them: a Wald F test per term of the fit's coefficients and
covariance, its sum of squares ``F · df · σ²``. Type III tests each term's coefficients
(and the intercept) given all others; type II tests a term given all terms that do not
contain it, by the part of the hypothesis "the term and the terms containing it are 0"
that is orthogonal, in the covariance's metric, to "the terms containing it are 0".
Several fits of the same response: each against the one before, the F statistics over
the last fit's ``scale``, as statsmodels (R takes the fit with the fewest residual degrees
of freedom: the same when they are given from the smallest model to the largest).
"""

import numpy as np
import torch

from ..errors import InputError, OptionError, ShapeError
from .distributions import f_sf
from .hypothesis import term_columns, wald_test
from .inference import centred_factor

_TYPES = {1: 1, "I": 1, 2: 2, "II": 2, 3: 3, "III": 3}
_ROBUST = {"hc0": "HC0", "hc1": "HC1", "hc2": "HC2", "hc3": "HC3"}


def sequential_sums(X, Y, weights, intercept, kept_features):
    """The squared effects ``(rank - intercept, k)`` of the kept feature columns, in order:
    each one's sum of squares after those before it (and the intercept)."""
    kept_features = torch.as_tensor(kept_features, dtype=torch.bool)
    k = Y.shape[1]
    XY = torch.cat([X.to(torch.float64), Y.to(torch.float64)], 1)
    kept = torch.cat([kept_features, torch.ones(k, dtype=torch.bool)])
    _, R = centred_factor(XY, weights, intercept, kept)
    start, stop = int(intercept), int(intercept) + int(kept_features.sum())
    return (R[start:stop, stop:] ** 2).numpy()


def anova_lm(*fits, typ=1, scale=None, test="F", robust=None):
    """The ANOVA table of one fit, or of several nested fits of the same data.

    One fit, ``typ=1`` (``"I"``): statsmodels' ``anova_lm(res, typ=1)`` (R's
    ``anova(fit)``): one row per term (a formula's terms, or each column of an array
    fit), then ``Residual``; columns ``df``, ``sum_sq``, ``mean_sq``, ``F``, ``PR(>F)``.
    Aliased columns count for nothing; a term left with none is left out, as in R.

    One fit, ``typ=2`` or ``3`` (``"II"``, ``"III"``): statsmodels' ``anova_lm(res,
    typ=2)`` and ``typ=3``, and ``car::Anova(fit, type=2)``, ``type=3`` (with the fit's
    contrasts): columns ``sum_sq``, ``df``, ``F``, ``PR(>F)``; type III has an
    ``Intercept`` row first. ``robust="hc0"`` … ``"hc3"`` takes the F tests with that
    heteroscedasticity-consistent covariance (the sums of squares are then ``F · df ·
    σ²``, as statsmodels). They need only the coefficients and their covariance, so a fit
    from files has them too (not ``robust``, which needs the rows). Aliased columns are
    an :class:`InputError` (``car::Anova(type=3)`` refuses them too).

    Several fits (smallest first, ``typ=1`` only): statsmodels' nested table (R's
    ``anova(f1, f2)``): ``df_resid``, ``ssr``, ``df_diff``, ``ss_diff``, ``F``,
    ``Pr(>F)``.

    ``scale`` replaces the residual variance the F statistics are divided by. ``test``
    is ``"F"`` only: statsmodels accepts ``"Chisq"`` and ``"Cp"`` but leaves their
    columns 0.
    """
    if typ not in _TYPES:
        raise OptionError(f"typ must be 1, 2 or 3 (or 'I', 'II', 'III'); got typ={typ!r}.")
    typ = _TYPES[typ]
    if test != "F":
        raise OptionError(f"only test='F' is implemented; got {test!r} (statsmodels' "
                          "anova_lm accepts 'Chisq' and 'Cp' but fills their columns with 0).")
    cov_type = _cov_type(robust, typ, scale)
    if not fits:
        raise InputError("anova_lm needs at least one fit.")
    for fit in fits:
        if not hasattr(fit, "_anova_sums"):
            raise InputError(f"anova_lm takes LinearFit objects; got {type(fit).__name__}.")
        if not fit._one:
            raise ShapeError("anova_lm is for fits of one output; fit each output on its own.")
    if len(fits) > 1 and typ != 1:
        raise OptionError(f"several fits are compared by type I sums of squares only (as in "
                          f"statsmodels); got typ={typ}.")
    if len(fits) == 1:
        return _one_fit(fits[0], scale) if typ == 1 else _wald_table(fits[0], typ, scale,
                                                                     cov_type)
    return _nested(fits, scale)


def _cov_type(robust, typ, scale):
    if robust is None:
        return "nonrobust"
    if not isinstance(robust, str) or robust.lower() not in _ROBUST:
        raise OptionError(f"robust must be one of [None, 'hc0', 'hc1', 'hc2', 'hc3']; got "
                          f"{robust!r}.")
    if typ == 1:
        raise OptionError("robust= is for typ=2 or 3: type I sums of squares are sequential "
                          "and have no robust form (statsmodels ignores robust there).")
    if scale is not None:
        raise OptionError("give robust= or scale=, not both: a robust covariance has no "
                          "scale to replace.")
    return _ROBUST[robust.lower()]


def _wald_table(fit, typ, scale, cov_type):
    """Types II and III: a Wald F test per term (and the intercept, type III)."""
    import pandas as pd  # off the fit path
    if np.asarray(fit.aliased).any():
        raise InputError(f"type {'II' if typ == 2 else 'III'} tests need every coefficient "
                         f"estimated; {np.asarray(fit.feature_names)[fit.aliased].tolist()} "
                         "are aliased (car::Anova(type = 3) refuses too): drop them.")
    sigma2 = fit.scale if scale is None else float(scale)
    cov = fit.cov_params(cov_type) if scale is None else fit.normalized_cov_params * sigma2
    eye = np.eye(len(fit.term_names))
    terms = term_columns(fit)
    if typ == 3:
        rows = [("Intercept", eye[[0]])] if fit.settings["intercept"] else []
        rows += [(name, eye[columns]) for name, columns, _ in terms]
    else:
        rows = [(name, _adjusted(eye, columns, [c for _, others, bigger in terms
                                               if factors < bigger for c in others], cov))
                for name, columns, factors in terms]
    tests = [wald_test(R, np.zeros(len(R)), fit.params, cov, fit.inference.aliased,
                       fit.df_resid) for _, R in rows]
    F = np.array([t.fvalue for t in tests] + [np.nan])
    df = np.array([t.df_num for t in tests] + [fit.df_resid], dtype=np.float64)
    sum_sq = np.append(F[:-1] * df[:-1] * sigma2, fit.ssr)
    p = np.array([t.pvalue for t in tests] + [np.nan])
    return pd.DataFrame({"sum_sq": sum_sq, "df": df, "F": F, "PR(>F)": p},
                        index=[name for name, _ in rows] + ["Residual"])


def _adjusted(eye, columns, containing, cov):
    """Type II's hypothesis for a term: the rows of "the term and the terms ``containing``
    it are 0" orthogonal, in ``cov``'s metric, to "the terms containing it are 0"."""
    L1 = eye[columns + containing]
    if not containing:
        return L1
    L2 = eye[containing]
    Q, _ = np.linalg.qr(L1 @ cov @ L2.T, mode="complete")
    return Q[:, L2.shape[0]:].T @ L1


def _one_fit(fit, scale):
    import pandas as pd  # off the fit path
    terms, sums = fit._anova_sums()
    scale = fit.scale if scale is None else scale
    names = [name for name, _ in terms] + ["Residual"]
    df = np.array([len(columns) for _, columns in terms] + [fit.df_resid], dtype=np.float64)
    sum_sq = np.array([float(sums[columns].sum()) for _, columns in terms] + [fit.ssr])
    mean_sq = sum_sq / df
    F = np.append(mean_sq[:-1] / scale, np.nan)
    p = _p_values(F, df, fit.df_resid)
    return pd.DataFrame({"df": df, "sum_sq": sum_sq, "mean_sq": mean_sq, "F": F, "PR(>F)": p},
                        index=names)


def _p_values(F, df, df_resid):
    return np.array([f_sf(f, d, df_resid)[()] if np.isfinite(f) else np.nan
                     for f, d in zip(F, df)])


def _nested(fits, scale):
    import pandas as pd  # off the fit path
    first = fits[0]
    for fit in fits[1:]:
        if not first._same_data_as(fit):
            raise InputError("the fits must be of the same response, rows and weights.")
    scale = fits[-1].scale if scale is None else scale
    df_resid = np.array([fit.df_resid for fit in fits], dtype=np.float64)
    ssr = np.array([fit.ssr for fit in fits], dtype=np.float64)
    df_diff = np.append(0.0, -np.diff(df_resid))
    ss_diff = np.append(np.nan, -np.diff(ssr))
    with np.errstate(divide="ignore", invalid="ignore"):
        F = np.where(df_diff > 0, ss_diff / df_diff / scale, np.nan)
    p = np.array([f_sf(f, d, fits[-1].df_resid)[()] if np.isfinite(f) and d > 0 else np.nan
                  for f, d in zip(F, df_diff)])
    return pd.DataFrame({"df_resid": df_resid, "ssr": ssr, "df_diff": df_diff,
                         "ss_diff": ss_diff, "F": F, "Pr(>F)": p})
