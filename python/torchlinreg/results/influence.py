"""Leverage, studentized residuals, Cook's distance and DFFITS of a fit.

The names are statsmodels' (``OLSInfluence``), the numbers R's
``influence.measures`` and ``lm.influence``: both define them from the
residuals ``e``, the hat values ``h`` and the residual sum of squares, and
here ``e`` are the residuals at the gradient-descent coefficients. With
weights, as in R, the weighted residuals ``√w e`` and the hat values of
``√W A`` are used; rows of weight zero are not observations and get NaN.

The hat values come from the QR factor of the centred design
(:func:`~torchlinreg.results.inference.centred_factor`), row block by row
block: ``hᵢ = wᵢ ‖[1, xᵢ - c] R⁻¹‖²``, a sum of squares, with no ``n × n``
matrix.
"""

from functools import cached_property

import numpy as np
import torch

from .distributions import f_sf
from .inference import centred_design, centred_factor, row_blocks


def hat_values(X, weights, intercept, kept_features):
    """The diagonal of the hat matrix ``(n,)`` and the factor ``(center, R)`` it came from."""
    kept_features = torch.as_tensor(kept_features)
    center, R = centred_factor(X, weights, intercept, kept_features)
    eye = torch.eye(R.shape[0], dtype=torch.float64)
    R_inv = torch.linalg.solve_triangular(R, eye, upper=True)
    parts = []
    for rows in row_blocks(X.shape[0]):
        Q = centred_design(X[rows], center, intercept, kept_features) @ R_inv
        parts.append((Q ** 2).sum(1))
    h = torch.cat(parts)
    if weights is not None:
        h = h * weights.to(torch.float64)
    return h.numpy(), (center, R)


class FitInfluence:
    """Influence measures of a :class:`~torchlinreg.LinearFit` (``fit.get_influence()``).

    Arrays are ``(n,)`` for one output and ``(n, k)`` for several, one row
    per training row (``fit.train_index``), at the fitted coefficients.
    """

    def __init__(self, hat, weighted_resid, df_residual, rank, index=None):
        self._h = hat
        self._e = weighted_resid
        self._one = weighted_resid.ndim == 1
        self.df_resid = df_residual
        self.k_vars = rank
        self._index = index

    def _per_output(self, values):
        return values[:, 0] if self._one else values

    @property
    def _E(self):
        return self._e[:, None] if self._one else self._e

    @cached_property
    def hat_matrix_diag(self):
        """Leverages: the diagonal of the hat matrix (R's ``hatvalues``)."""
        return self._h

    @cached_property
    def scale(self):
        """The residual variance ``RSS / df``, one per output (statsmodels' ``mse_resid``)."""
        E = np.nan_to_num(self._E)
        return (E ** 2).sum(0) / self.df_resid

    @cached_property
    def sigma2_not_obsi(self):
        """The residual variance without row i: ``(RSS - eᵢ²/(1 - hᵢ)) / (df - 1)`` (R's ``sigma``²)."""
        rss = self.scale * self.df_resid
        with np.errstate(divide="ignore", invalid="ignore"):
            dropped = self._E ** 2 / (1 - self._h)[:, None]
        return self._per_output((rss[None, :] - dropped) / (self.df_resid - 1))

    @cached_property
    def resid_studentized_internal(self):
        """Residuals over ``σ √(1 - h)`` (R's ``rstandard``)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            r = self._E / np.sqrt(self.scale)[None, :] / np.sqrt(1 - self._h)[:, None]
        return self._per_output(r)

    @cached_property
    def resid_studentized_external(self):
        """Residuals over ``σ₍ᵢ₎ √(1 - h)``, σ without row i (R's ``rstudent``)."""
        sigma_i = np.sqrt(self.sigma2_not_obsi)
        sigma_i = sigma_i[:, None] if self._one else sigma_i
        with np.errstate(divide="ignore", invalid="ignore"):
            r = self._E / sigma_i / np.sqrt(1 - self._h)[:, None]
        return self._per_output(r)

    @cached_property
    def cooks_distance(self):
        """Cook's distance and its F(p, df) p-value, as a tuple (statsmodels' order; R's ``cooks.distance``)."""
        r = self.resid_studentized_internal
        factor = self._h / (1 - self._h)
        d = r ** 2 / self.k_vars * (factor if self._one else factor[:, None])
        return d, f_sf(d, self.k_vars, self.df_resid)

    @cached_property
    def dffits(self):
        """DFFITS from the external studentized residuals, and the threshold ``2 √(p/n)`` (a tuple)."""
        factor = np.sqrt(self._h / (1 - self._h))
        r = self.resid_studentized_external
        n = int(np.isfinite(self._h).sum())
        return r * (factor if self._one else factor[:, None]), 2 * np.sqrt(self.k_vars / n)

    def summary_frame(self):
        """A DataFrame of the measures, one row per training row (one output only)."""
        if not self._one:
            raise ValueError("summary_frame() is for one output; index the arrays for several.")
        import pandas as pd  # off the fit path
        return pd.DataFrame({
            "hat_diag": self.hat_matrix_diag,
            "standard_resid": self.resid_studentized_internal,
            "student_resid": self.resid_studentized_external,
            "cooks_d": self.cooks_distance[0],
            "dffits": self.dffits[0],
        }, index=self._index)
