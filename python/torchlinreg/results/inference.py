"""Standard errors, tests, R² and intervals, computed as ``summary.lm`` does.

Everything is evaluated at the coefficients the optimizer found (not at
the exact solution), on the training rows, in float64. Python's
``LinearFit.inference`` and R's ``summary.torch_lm`` both read these
numbers, so there is one implementation.
"""

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from ..engine.linalg import combined_r, unscaled_covariance, with_intercept
from ..engine.scaling import unit_for, unit_of
from .distributions import f_sf, t_quantile, t_sf


@dataclass
class Inference:
    """Inference for a fitted linear model, one row per output.

    Arrays indexed by term have one column per coefficient, the intercept
    first; aliased terms hold NaN.

    Attributes
    ----------
    term_names, output_names : list of str
    estimate, std_error, t_value, p_value : numpy.ndarray, shape (k, m)
    aliased : numpy.ndarray of bool, shape (m,)
    sigma : numpy.ndarray, shape (k,)
        Residual standard error.
    r_squared, adj_r_squared : numpy.ndarray, shape (k,)
    model_ss : numpy.ndarray, shape (k,)
        ``summary.lm``'s model sum of squares at the coefficients: ``Σ w (ŷ - ȳ_ŷ)²``
        (``Σ w ŷ²`` without an intercept), from which R² and F are made
        (statsmodels' ``ess``).
    f_statistic, f_p_value : numpy.ndarray, shape (k,)
        NaN for a model with no terms beside the intercept.
    p_value, f_p_value
        Computed when first read (:func:`t_p_values`, :func:`f_p_values`): a fit
        needs none, and the distributions' module takes longer to import than a
        small fit takes.
    f_df : tuple of int
        Numerator and denominator degrees of freedom.
    df_residual, rank, n_obs : int
    has_intercept : bool
    cov_unscaled : numpy.ndarray, shape (rank, rank)
        ``(XᵀWX)⁻¹`` over the estimated terms.
    center : numpy.ndarray or None
        The weighted means of the estimated feature columns (models with an
        intercept): leverages of new rows are taken about them, free of the
        cancellation ``xᵀ (XᵀWX)⁻¹ x`` suffers on a column far from zero.
    weight_total : float or None
        ``Σ w`` over the training rows (their number without weights).
    term_unit : numpy.ndarray or None, shape (rank,)
        For columns beyond ``2^±200`` (see :func:`compute_inference`): a power of two
        per estimated term (the intercept's 1), and ``cov_in_units`` and
        ``center_in_units`` are ``(AᵀWA)⁻¹`` and the centre of the design whose terms
        are times these units. ``cov_unscaled = U cov_in_units U`` for ``U =
        diag(term_unit)``, exact where float64 holds it; beyond about ``1e±154`` it
        does not, and leverages, prediction limits and the condition number are
        computed from the units instead. None (and the two None) where every unit is 1.
    """

    term_names: list
    output_names: list
    estimate: np.ndarray
    std_error: np.ndarray
    t_value: np.ndarray
    aliased: np.ndarray
    sigma: np.ndarray
    r_squared: np.ndarray
    adj_r_squared: np.ndarray
    f_statistic: np.ndarray
    f_df: tuple
    df_residual: int
    rank: int
    n_obs: int
    has_intercept: bool
    cov_unscaled: np.ndarray
    center: np.ndarray = None
    weight_total: float = None
    term_unit: np.ndarray = None
    cov_in_units: np.ndarray = None
    center_in_units: np.ndarray = None
    model_ss: np.ndarray = None

    @cached_property
    def p_value(self):
        return t_p_values(self.t_value, self.df_residual)

    @cached_property
    def f_p_value(self):
        return f_p_values(self.f_statistic, *self.f_df)

    def vcov(self, output=0):
        """Covariance matrix ``(m, m)`` of the coefficients of one output; NaN rows for aliased terms."""
        m = len(self.term_names)
        full = np.full((m, m), np.nan)
        kept = np.flatnonzero(~self.aliased)
        with np.errstate(over="ignore"):  # inf: a variance beyond float64 (y above ~1e154)
            full[np.ix_(kept, kept)] = self.sigma[output] ** 2 * self.cov_unscaled
        return full

    def conf_int(self, level=0.95):
        """Confidence limits, shape ``(k, m, 2)``: estimate ± t quantile × std. error."""
        q = t_quantile((1 + level) / 2, self.df_residual)
        half = q * self.std_error
        return np.stack([self.estimate - half, self.estimate + half], axis=-1)

    def table(self, output=0, level=0.95):
        """The coefficient table of one output as a DataFrame (``summary.lm``'s columns)."""
        import pandas as pd  # off the fit path, as scipy.stats
        limits = self.conf_int(level)[output]
        pct = [f"{100 * (1 - level) / 2:g} %", f"{100 * (1 + level) / 2:g} %"]
        return pd.DataFrame({
            "Estimate": self.estimate[output],
            "Std. Error": self.std_error[output],
            "t value": self.t_value[output],
            "Pr(>|t|)": self.p_value[output],
            pct[0]: limits[:, 0],
            pct[1]: limits[:, 1],
        }, index=self.term_names)

    def to_dict(self):
        """Plain numbers and nested lists, for JSON or R."""
        out = {name: getattr(self, name)
               for name in [*self.__dataclass_fields__, "p_value", "f_p_value"]}
        return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in out.items()}


# Rows per block of the fitted values and the blocked QR in compute_inference.
QR_BLOCK_ROWS = 1 << 15


def compute_inference(X, Y, coefficients, aliased, weights=None, intercept=True,
                      term_names=None, output_names=None):
    """Inference at ``coefficients`` for the training rows ``X`` (no intercept column).

    Parameters
    ----------
    X : torch.Tensor, shape (n, p)
        Training features; ``intercept`` adds the column of ones.
    Y : torch.Tensor, shape (n, k)
    coefficients : torch.Tensor, shape (k, m)
        The intercept first when ``intercept``; NaN in aliased columns.
    aliased : torch.Tensor of bool, shape (m,)
    weights : torch.Tensor, shape (n,), optional
        Rows of weight zero do not count as observations, as in ``lm()``.

    The rows are taken in blocks, in float64: the fitted values and the QR
    factor of ``√W A`` (:func:`torchlinreg.engine.linalg.combined_r`) need no
    ``n × m`` copy of the design. Columns whose largest magnitude is outside
    ``2^±200`` are first put in units of a power of two (:func:`from_units`), so
    that their squares neither overflow nor vanish.
    """
    x_unit, y_unit = unit_of(X), unit_of(Y)
    if x_unit is not None or y_unit is not None:
        x_unit, y_unit = (torch.ones(t.shape[1], dtype=torch.float64) if u is None
                          else u.to("cpu", torch.float64) for t, u in ((X, x_unit), (Y, y_unit)))
        term_unit = with_intercept(x_unit[None, :], intercept)[0]
        inference = compute_inference(
            X.to(torch.float64) * x_unit.to(X.device), Y.to(torch.float64) * y_unit.to(Y.device),
            in_units(coefficients, term_unit, y_unit), aliased, weights, intercept, term_names,
            output_names)
        return from_units(inference, coefficients, term_unit, y_unit)
    kept = ~aliased
    B = coefficients.to(torch.float64)[:, kept]
    w = torch.ones(X.shape[0], dtype=torch.float64) if weights is None else weights.to(torch.float64)
    center, R = centred_factor(X, weights, intercept, kept[int(intercept):])
    fitted = torch.cat([with_intercept(X[rows].to(torch.float64), intercept)[:, kept] @ B.T
                        for rows in row_blocks(X.shape[0])])
    rss = w @ (Y.to(torch.float64) - fitted) ** 2
    cov = lift_covariance(unscaled_covariance(R), center)
    mss = model_sum_of_squares(fitted, w, intercept)
    return assemble_inference(coefficients, aliased, rss, mss, cov, int((w > 0).sum()),
                              intercept, term_names, output_names,
                              center=center, weight_total=float(w.sum()))


def in_units(coefficients, term_unit, y_unit):
    """Coefficients ``(k, m)`` on the terms times ``term_unit`` ``(m,)`` (the intercept's 1)
    of the outputs times ``y_unit`` ``(k,)``, from those in the data's units: times powers
    of two, so exact."""
    return coefficients.to(torch.float64) * (y_unit[:, None] / term_unit[None, :])


def from_units(inference, coefficients, term_unit, y_unit):
    """``inference``, computed in power-of-two units (:func:`in_units`), in the data's
    units at ``coefficients``: standard errors, sigma, ``(AᵀWA)⁻¹`` and the centre times
    powers of two (exact, or infinite where the value is beyond float64); t and p values,
    R² and F are the same in any units."""
    ratio = (term_unit[None, :] / y_unit[:, None]).numpy()
    kept = term_unit[torch.as_tensor(~inference.aliased)].numpy()
    center = inference.center
    # What leverages need, in the units (the data's may be beyond float64).
    units = {} if (kept == 1).all() else dict(
        term_unit=kept, cov_in_units=inference.cov_unscaled, center_in_units=center)
    with np.errstate(over="ignore"):  # inf: the value itself is beyond float64
        return dataclasses.replace(
            inference, estimate=coefficients.to(torch.float64).numpy(),
            std_error=inference.std_error * ratio, sigma=inference.sigma / y_unit.numpy(),
            model_ss=None if inference.model_ss is None
            else inference.model_ss / y_unit.numpy() / y_unit.numpy(),  # y_unit² may underflow
            cov_unscaled=inference.cov_unscaled * kept[:, None] * kept[None, :],
            center=None if center is None else center / kept[int(inference.has_intercept):],
            **units)


def row_blocks(n_rows):
    """Slices of ``QR_BLOCK_ROWS`` rows covering ``range(n_rows)``."""
    return [slice(start, start + QR_BLOCK_ROWS) for start in range(0, n_rows, QR_BLOCK_ROWS)]


def centred_design(X, center, intercept, kept_features):
    """``[1, X - c]`` (or ``X``) over the kept feature columns, float64."""
    X = X.to(torch.float64)[:, kept_features]
    return with_intercept(X - center, True) if intercept else X


def centred_factor(X, weights, intercept, kept_features):
    """``(center, R)``: the weighted column means and the QR factor R of ``√W [1, X - c]``.

    The hat matrix and every quantity of ``lm()`` are the same for ``[1, X]``
    and ``[1, X - c]``; the centred design keeps ``R`` (and all that comes
    from it) free of the cancellation a column of mean 1e6 and sd 1 causes.
    Without an intercept nothing is centred (``center`` is None).
    """
    kept_features = torch.as_tensor(kept_features)
    center = None
    if intercept:
        Xk = X[:, kept_features].to(torch.float64)
        w = None if weights is None else weights.to(torch.float64)
        total = X.shape[0] if w is None else w.sum()
        center = (Xk.sum(0) if w is None else w @ Xk) / total
    factors = []
    for rows in row_blocks(X.shape[0]):
        A = centred_design(X[rows], center, intercept, kept_features)
        if weights is not None:
            A = A * weights[rows].to(torch.float64).sqrt()[:, None]
        factors.append(torch.linalg.qr(A, mode="r").R)
    return center, combined_r(factors)


def gram_eigenvalues(X, weights, intercept):
    """Eigenvalues of ``AᵀWA`` for ``A = [1, X]`` (or ``X``), every column, largest first:
    the squared singular values of the QR factor of ``√W A`` (as statsmodels' ``eigenvals``
    from the SVD of ``√W A``), not of ``AᵀWA`` formed, whose smallest ones rounding spoils."""
    A = with_intercept(X.to(torch.float64), intercept)
    _, R = centred_factor(A, weights, False, torch.ones(A.shape[1], dtype=torch.bool))
    return (torch.linalg.svdvals(R) ** 2).numpy()


def lift_covariance(cov_centred, center):
    """``T C Tᵀ``: a covariance of ``[1, X - c]``'s coefficients as one of ``[1, X]``'s.

    ``[1, X] β = [1, X - c] γ`` for ``β = T γ``, ``T = [[1, -cᵀ], [0, I]]``.
    """
    if center is None:
        return cov_centred
    T = torch.eye(cov_centred.shape[0], dtype=torch.float64)
    T[0, 1:] = -center
    return T @ cov_centred @ T.T


def assemble_inference(coefficients, aliased, rss, mss, cov, n_obs, intercept, term_names=None,
                       output_names=None, center=None, weight_total=None):
    """An :class:`Inference` from the sums of squares and ``(AᵀWA)⁻¹``.

    ``rss`` and ``mss`` hold one value per output; ``cov`` is ``(rank, rank)``
    over the estimated terms; ``n_obs`` counts the rows of positive weight.
    Shared by the row-based :func:`compute_inference` and the statistics-based
    :func:`torchlinreg.sufficient.inference_from_moments`.
    """
    kept = ~aliased
    rank = int(kept.sum())
    df = n_obs - rank
    resvar = rss / df if df > 0 else torch.full_like(rss, float("nan"))
    se_kept = (resvar[:, None] * torch.diagonal(cov)[None, :]).sqrt()

    k, m = coefficients.shape
    std_error = torch.full((k, m), float("nan"), dtype=torch.float64)
    std_error[:, kept] = se_kept
    estimate = coefficients.to(torch.float64).numpy()
    se = std_error.numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        t_value = estimate / se

    r2, adj, f_stat = fit_measures(mss.numpy(), rss.numpy(), n_obs, rank, intercept)
    numdf = rank - int(intercept)

    return Inference(
        term_names=list(term_names) if term_names is not None else [f"b{j}" for j in range(m)],
        output_names=list(output_names) if output_names is not None else [f"y{i + 1}" for i in range(k)],
        estimate=estimate, std_error=se, t_value=t_value,
        aliased=aliased.numpy().copy(), sigma=resvar.sqrt().numpy(),
        r_squared=r2, adj_r_squared=adj, f_statistic=f_stat,
        f_df=(numdf, df), df_residual=df, rank=rank, n_obs=n_obs,
        has_intercept=bool(intercept), cov_unscaled=cov.numpy(),
        center=None if center is None else np.asarray(center, dtype=np.float64),
        weight_total=None if weight_total is None else float(weight_total),
        model_ss=np.asarray(mss, dtype=np.float64),
    )


def model_sum_of_squares(fitted, w, intercept):
    """``summary.lm``'s model sum of squares of each column of ``fitted`` (tensors or arrays)."""
    if intercept:
        center = (w @ fitted) / w.sum()
        return w @ (fitted - center) ** 2
    return w @ fitted ** 2


def t_p_values(t_value, df):
    """Two-sided p-values of t statistics with ``df`` degrees of freedom (NaN unless
    ``df > 0``), as ``summary.lm``'s."""
    return 2 * t_sf(np.abs(t_value), df)


def f_p_values(f_statistic, numdf, df):
    """The p-values of F statistics on ``(numdf, df)`` degrees of freedom (NaN unless both
    are positive), as ``summary.lm``'s."""
    if numdf > 0 and df > 0:
        return f_sf(f_statistic, numdf, df)
    return np.full_like(np.asarray(f_statistic, dtype=np.float64), np.nan)


def fit_measures(mss, rss, n_obs, rank, intercept):
    """R², adjusted R² and F, as ``summary.lm`` computes them.

    ``mss`` and ``rss`` (one value per output) are the model and residual
    sums of squares; F is NaN for a model with no terms beside the intercept.
    """
    mss, rss = np.asarray(mss, dtype=np.float64), np.asarray(rss, dtype=np.float64)
    df_int = int(intercept)
    df, numdf = n_obs - rank, rank - df_int
    nan = np.full_like(mss, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = mss / (mss + rss)
        adj = 1 - (1 - r2) * ((n_obs - df_int) / df) if df > 0 else nan
        f_stat = (mss / numdf) / (rss / df) if numdf > 0 and df > 0 else nan
    return r2, adj, f_stat


def within_float64(cov_unscaled):
    """True unless a variance of ``(AᵀWA)⁻¹`` is beyond float64's normal numbers (columns
    beyond about 1e±154, whose inference is computed in power-of-two units): then its
    entries overflowed or lost their digits, and what is computed from them would be
    wrong (a leverage of 0 at x × 1e300)."""
    variances = np.diagonal(np.asarray(cov_unscaled, dtype=np.float64))
    return bool((np.isfinite(variances) & (variances >= np.finfo(np.float64).tiny)).all())


def prediction_intervals(A_new, coefficients, aliased, cov_unscaled, sigma, df_residual,
                         interval="none", level=0.95, pred_weights=1.0, center=None,
                         weight_total=None, term_unit=None, pred_var=None):
    """Predictions with optional confidence or prediction limits, as ``predict.lm``.

    Parameters
    ----------
    A_new : numpy.ndarray, shape (n, m)
        New design with the intercept column first when the model has one.
    coefficients : numpy.ndarray, shape (k, m)
    aliased : numpy.ndarray of bool, shape (m,)
    cov_unscaled : numpy.ndarray, shape (rank, rank)
    sigma : numpy.ndarray, shape (k,)
    df_residual : int
    interval : {"none", "confidence", "prediction"}
    level : float
    pred_weights : float or numpy.ndarray, shape (n,)
        Weights of the new observations (prediction intervals only): the
        variance of a new observation is ``sigma² / pred_weights``.
    pred_var : float or numpy.ndarray, shape (n,) or (n, k), optional
        The variance of each new observation, in y's units squared, instead
        of ``sigma² / pred_weights`` (``predict.lm(pred.var = )``).
    center, weight_total : numpy.ndarray and float, optional
        :attr:`Inference.center` and :attr:`Inference.weight_total` of a
        model with an intercept: the leverage is then ``1/Σw + (x - c)ᵀ D
        (x - c)`` (``D`` the slopes' block of ``cov_unscaled``), a sum of
        positive terms, instead of ``aᵀ (AᵀWA)⁻¹ a``, which loses about
        ``mean² / sd²`` of relative precision on a column far from zero.
    term_unit : numpy.ndarray, shape (rank,), optional
        :attr:`Inference.term_unit`: ``cov_unscaled`` and ``center`` are then
        :attr:`Inference.cov_in_units` and :attr:`Inference.center_in_units`, and the
        new rows' estimated terms are put in the same units (times powers of two,
        exact) for the leverage, which is the same in any units; so it is right for
        columns whose ``(AᵀWA)⁻¹`` is beyond float64 (about 1e±154).

    The squares of ``sigma`` and of ``se_fit`` are taken in units of a power of two of
    each output's ``sigma`` where it is beyond ``2^±200``, so that limits of a response
    beyond about 1e±154 neither overflow nor collapse onto the fit; elsewhere the unit is
    1 and nothing changes.

    Returns
    -------
    dict
        ``fit`` ``(n, k)``, ``se_fit`` ``(n, k)``, and ``lwr``/``upr`` when an
        interval is asked for.
    """
    kept = ~np.asarray(aliased, dtype=bool)
    A = np.asarray(A_new, dtype=np.float64)[:, kept]
    B = np.asarray(coefficients, dtype=np.float64)[:, kept]
    sigma = np.asarray(sigma, dtype=np.float64)
    fit = A @ B.T
    if term_unit is not None:
        A = A * np.asarray(term_unit, dtype=np.float64)[None, :]
    cov = np.asarray(cov_unscaled, dtype=np.float64)
    if center is not None and weight_total is not None:
        d = A[:, 1:] - np.asarray(center, dtype=np.float64)[None, :]
        leverage = 1.0 / float(weight_total) + np.einsum("ij,jk,ik->i", d, cov[1:, 1:], d)
        cov = cov[1:, 1:]
    else:
        leverage = np.einsum("ij,jk,ik->i", A, cov, A)
    if not within_float64(cov):  # an overflow (inf) or a square that vanished (too small)
        leverage = np.full_like(leverage, np.nan)
    y_unit = unit_for(torch.as_tensor(sigma))
    y_unit = None if y_unit is None else y_unit.numpy()
    if y_unit is not None:
        sigma = sigma * y_unit
    se_fit = np.sqrt(leverage)[:, None] * sigma[None, :]
    out = {"fit": fit, "se_fit": se_fit if y_unit is None else _from_unit(se_fit, y_unit)}
    if interval == "none":
        return out
    q = t_quantile((1 + level) / 2, df_residual)
    spread = se_fit ** 2
    if interval == "prediction":
        if pred_var is None:
            spread = spread + sigma[None, :] ** 2 / np.asarray(pred_weights, dtype=np.float64).reshape(-1, 1)
        else:  # in the units of sigma above
            variance = np.asarray(pred_var, dtype=np.float64)
            variance = variance.reshape(-1, 1) if variance.ndim < 2 else variance
            # times the unit twice: its square may be beyond float64 where the product is not
            spread = spread + (variance if y_unit is None
                               else variance * y_unit[None, :] * y_unit[None, :])
    half = q * np.sqrt(spread)
    if y_unit is not None:
        half = _from_unit(half, y_unit)
    out["lwr"], out["upr"] = fit - half, fit + half
    return out


def _from_unit(values, y_unit):
    """``values`` ``(n, k)`` in units ``y_unit`` ``(k,)`` (powers of two) in the data's:
    exact, infinite where beyond float64."""
    with np.errstate(over="ignore"):
        return values / y_unit[None, :]


def condition_number(inference):
    """``√(λmax / λmin)`` of ``AᵀWA`` in the data's units (intercept column included), as
    statsmodels' ``condition_number`` (the ratio of the extreme singular values of
    ``√W A``); ``inf`` where it is beyond float64.

    Computed as ``√(λmax(AᵀWA) λmax((AᵀWA)⁻¹))``, each largest eigenvalue (which
    rounding leaves accurate) taken of the matrix in the units of
    :attr:`Inference.term_unit` and scaled back by exponents, so it holds for columns
    whose ``AᵀWA`` or inverse is beyond float64. The ratio of the eigenvalues of one
    matrix is not used: its smallest carries rounding of about ``ε λmax``, already
    1e-3 of the value at a condition number of 3e7.
    """
    if inference.term_unit is None:
        cov = np.asarray(inference.cov_unscaled, dtype=np.float64)
        if cov.size == 0 or not within_float64(cov):  # no units to take it in (saved before)
            return float("nan")
        unit = np.ones(cov.shape[0])
    else:
        cov = np.asarray(inference.cov_in_units, dtype=np.float64)
        unit = np.asarray(inference.term_unit, dtype=np.float64)
    exponent = np.frexp(unit)[1] - 1  # unit = 2^exponent
    gram = np.linalg.inv(cov)
    gram_value, gram_exponent = _largest_eigenvalue((gram + gram.T) / 2, -exponent)
    cov_value, cov_exponent = _largest_eigenvalue(cov, exponent)
    value, exponent = gram_value * cov_value, gram_exponent + cov_exponent
    if exponent % 2:
        value, exponent = value * 2, exponent - 1
    with np.errstate(over="ignore"):
        return float(np.ldexp(np.sqrt(value), exponent // 2))


def _largest_eigenvalue(matrix, exponent):
    """``(value, shift)``: ``λmax(D M D) = value · 2^shift`` for ``D = diag(2^exponent)``,
    the product formed divided by ``2^shift`` (no entry grows; those that vanish are below
    ``2^-1000`` of the largest diagonal's, nothing to ``λmax``)."""
    top = int(exponent.max())
    scale = np.ldexp(1.0, exponent - top)
    return float(np.linalg.eigvalsh(matrix * scale[:, None] * scale[None, :])[-1]), 2 * top
