"""Analysis of variance tables, as R's ``anova()`` and statsmodels' ``anova_lm(typ=1)``.

One fit: the sequential (type I) sum of squares of each term, in the order the formula
gives them, from the QR factor of ``√W [A, y]`` (the squared "effects" of ``lm()``),
against the fit's own residual sum of squares at its coefficients. Several fits of the
same response: each against the one before, the F statistics over the last fit's
``scale``, as statsmodels (R takes the fit with the fewest residual degrees of freedom:
the same when they are given from the smallest model to the largest).
"""

import numpy as np
import torch

from ..errors import InputError, OptionError, ShapeError
from .distributions import f_sf
from .inference import centred_factor


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


def anova_lm(*fits, typ=1, scale=None, test="F"):
    """The ANOVA table of one fit, or of several nested fits of the same data.

    One fit: statsmodels' ``anova_lm(res, typ=1)`` (R's ``anova(fit)``): one row per term
    (a formula's terms, or each column of an array fit), then ``Residual``; columns
    ``df``, ``sum_sq``, ``mean_sq``, ``F``, ``PR(>F)``. Aliased columns count for
    nothing; a term left with none is left out, as in R.

    Several fits (smallest first): statsmodels' nested table (R's ``anova(f1, f2)``):
    ``df_resid``, ``ssr``, ``df_diff``, ``ss_diff``, ``F``, ``Pr(>F)``.

    ``scale`` replaces the residual variance the F statistics are divided by. Only
    ``typ=1`` and ``test="F"`` are implemented (an :class:`OptionError` otherwise).
    """
    if typ not in (1, "I"):
        raise OptionError(f"only typ=1 (sequential sums of squares, R's anova()) is "
                          f"implemented; got typ={typ!r}.")
    if test != "F":
        raise OptionError(f"only test='F' is implemented; got {test!r}.")
    if not fits:
        raise InputError("anova_lm needs at least one fit.")
    for fit in fits:
        if not hasattr(fit, "_anova_sums"):
            raise InputError(f"anova_lm takes LinearFit objects; got {type(fit).__name__}.")
        if not fit._one:
            raise ShapeError("anova_lm is for fits of one output; fit each output on its own.")
    if len(fits) == 1:
        return _one_fit(fits[0], scale)
    return _nested(fits, scale)


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
