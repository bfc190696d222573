"""The exact solution, the loss and the inference of a fit from its moments.

A fit made without holding the rows (:func:`torchlinreg.fit_files`, or a
distributed fit) keeps only the :class:`~torchlinreg.engine.moments.Moments` of its
training rows. Everything ``lm()`` reports is a function of them: with
``u = [1, x - c, y - c]`` and ``M = Σ w u uᵀ``, a residual is linear in
``u``, so each sum of squares is a quadratic form in ``M``. Moments about
the mean keep these forms free of the cancellation that raw ``XᵀX`` suffers.

The exact solution here solves the normal equations of the centred (and
unit-scaled) columns by Cholesky: about the square of the design's
condition number in rounding, against QR's first power, which is still
1e-12 or better for the conditioning gradient descent can handle.
"""

from dataclasses import dataclass

import torch

from ..engine.linalg import aliased_from_gram, with_intercept
from ..engine.moments import Moments, restrict
from .inference import assemble_inference, from_units, in_units


@dataclass
class TrainingStatistics:
    """What a fit without its rows keeps of them: moments and the intercept flag.

    The moments may be in power-of-two units (:attr:`Moments.unit`, for
    columns too small or too large to square in float64); everything is
    computed in them and given back in the data's units (:func:`from_units`).
    """

    moments: Moments
    intercept: bool

    @property
    def n_rows(self):
        return self.moments.n_rows

    def _units(self, intercept=None):
        """``(term_unit, y_unit)``: the units of ``[1, x]`` (or ``x`` when ``intercept`` is
        False; default the fit's) and of ``y``, or None when the moments have none."""
        mom = self.moments
        if mom.unit is None:
            return None
        p = mom.n_features
        unit = mom.unit.to(torch.float64)
        intercept = self.intercept if intercept is None else intercept
        return with_intercept(unit[None, :p], intercept)[0], unit[p:]

    def _coefficients(self, weight, bias):
        """``[b | W]`` ``(k, 1 + p)`` in the moments' units, from ``weight`` and ``bias``."""
        weight = torch.nan_to_num(torch.as_tensor(weight, dtype=torch.float64))
        bias = torch.as_tensor(bias, dtype=torch.float64)
        B = torch.cat([bias[:, None], weight], 1)
        units = self._units(intercept=True)
        return B if units is None else in_units(B, *units)

    def aliased(self):
        """The aliased feature columns, as ``lm()`` finds them."""
        return aliased_from_gram(self.moments.raw_gram(self.intercept))[int(self.intercept):]

    def exact(self):
        """``(weight (k, p), bias (k,))`` of exact least squares, NaN for aliased columns."""
        aliased = self.aliased()
        mom = restrict(self.moments, ~aliased)
        p = mom.n_features
        about = _about_mean(mom) if self.intercept else _about_zero(mom)
        gram, cross = about[:p, :p], about[:p, p:]
        slope = _solve_spd(gram, cross).T
        mean = mom.mean()
        bias = (mean[p:] - slope @ mean[:p] if self.intercept
                else torch.zeros(slope.shape[0], dtype=torch.float64))
        if mom.unit is not None:  # back from the units (powers of two: exact)
            unit = mom.unit.to(torch.float64)
            slope, bias = slope * (unit[None, :p] / unit[p:, None]), bias / unit[p:]
        weight = torch.full((slope.shape[0], len(aliased)), float("nan"), dtype=torch.float64)
        weight[:, ~aliased] = slope
        return weight, bias

    def residual_sums(self, weight, bias):
        """``Σ w (y - b - x·W)²`` of each output at full-length ``weight`` ``(k, p)``
        (infinite where it is beyond float64)."""
        return self._in_y_units(_residual_sums(self.moments, self._coefficients(weight, bias)))

    def residual_products(self, weight, bias):
        """``Σ w rᵢ rⱼ`` between the outputs' residuals ``(k, k)`` (``RᵀWR``)."""
        v = _residual_forms(self.moments, self._coefficients(weight, bias))
        products = v @ self.moments.matrix() @ v.T
        units = self._units()
        return products if units is None else products / units[1][:, None] / units[1][None, :]

    def loss(self, weight, bias):
        """The (weighted) mean squared error averaged over outputs."""
        sums = _residual_sums(self.moments, self._coefficients(weight, bias))
        return float(self._in_y_units(sums / self.moments.total).mean())

    def _in_y_units(self, squares):
        """Per-output squares in the moments' units of ``y`` in ``y``'s own units."""
        units = self._units()
        return squares if units is None else squares / units[1] / units[1]

    def total_sums(self):
        """``(centered, uncentered)``: each output's ``Σ w (y - ȳ)²`` and ``Σ w y²``
        (statsmodels' ``centered_tss`` and ``uncentered_tss``; ȳ the weighted mean)."""
        p = self.moments.n_features
        centered = _about_mean(self.moments).diagonal()[p:]
        uncentered = _about_zero(self.moments).diagonal()[p:]
        return self._in_y_units(centered).numpy(), self._in_y_units(uncentered).numpy()

    def gram(self):
        """``AᵀWA`` of the design ``A = [1, X]`` (or ``X``) in the data's units, every
        column (aliased ones too), as statsmodels forms ``wexogᵀ wexog``."""
        return self.moments.unscaled().raw_gram(self.intercept).numpy()

    def inference(self, coefficients, aliased, term_names, output_names):
        """:class:`~torchlinreg.results.inference.Inference` at ``coefficients`` ``(k, m)``."""
        units = self._units()
        if units is None:
            return self._inference(coefficients, aliased, term_names, output_names)
        inference = self._inference(in_units(coefficients, *units), aliased, term_names,
                                    output_names)
        return from_units(inference, coefficients, *units)

    def _inference(self, coefficients, aliased, term_names, output_names):
        """The inference at ``coefficients`` given in the moments' units."""
        intercept = self.intercept
        kept_features = ~aliased[int(intercept):]
        mom = restrict(self.moments, kept_features)
        p = mom.n_features
        B = coefficients.to(torch.float64)[:, ~aliased]
        weight = B[:, int(intercept):]
        bias = B[:, 0] if intercept else torch.zeros(B.shape[0], dtype=torch.float64)
        rss = _residual_sums(mom, torch.cat([bias[:, None], weight], 1))
        about = _about_mean(mom) if intercept else _about_zero(mom)
        mss = ((weight @ about[:p, :p]) * weight).sum(1)
        return assemble_inference(coefficients, aliased, rss, mss,
                                  _unscaled_covariance(mom, intercept), mom.n_positive,
                                  intercept, term_names, output_names,
                                  center=mom.mean()[:p] if intercept else None,
                                  weight_total=float(mom.total))


def _residual_sums(mom, coefficients):
    """Each output's ``Σ w r²`` at ``[b | W]`` ``(k, 1 + p)`` in the moments' units."""
    v = _residual_forms(mom, coefficients)
    return ((v @ mom.matrix()) * v).sum(1).clamp_min(0)


def _residual_forms(mom, coefficients):
    """``v`` ``(k, 1 + p + k)`` with each output's residual ``vᵀ u``,
    ``u = [1, x - c_x, y - c_y]``, at ``[b | W]`` in the moments' units."""
    p = mom.n_features
    bias, weight = coefficients[:, 0], coefficients[:, 1:]
    # v = [c_y - b - W c_x, -W, e_k].
    k = weight.shape[0]
    v = torch.zeros(k, 1 + mom.center.shape[0], dtype=torch.float64)
    v[:, 0] = mom.center[p:] - bias - weight @ mom.center[:p]
    v[:, 1:1 + p] = -weight
    v[:, 1 + p:] = torch.eye(k, dtype=torch.float64)
    return v


def _about_mean(mom):
    """``Σ w (z - z̄)(z - z̄)ᵀ``: the sums of squares and products about the mean."""
    if mom.total <= 0:
        return mom.second.clone()
    return mom.second - torch.outer(mom.first, mom.first) / mom.total


def _about_zero(mom):
    """``Σ w z zᵀ``: the raw sums of squares and products."""
    return mom.shifted(torch.zeros_like(mom.center)).second


def _solve_spd(gram, rhs):
    """Solve ``gram X = rhs`` for a symmetric positive definite ``gram``, scaled to unit diagonal."""
    scale = gram.diagonal().clamp_min(torch.finfo(torch.float64).tiny).sqrt()
    factor = torch.linalg.cholesky(gram / torch.outer(scale, scale))
    return torch.cholesky_solve(rhs / scale[:, None], factor) / scale[:, None]


def _unscaled_covariance(mom, intercept):
    """``(AᵀWA)⁻¹`` for ``A = [1, X]`` (or ``X``) over the kept columns.

    With an intercept, ``AᵀWA = L Mₓ Lᵀ`` for the moments ``Mₓ`` of
    ``[1, x - c]`` and ``L = [[1, 0], [c, I]]``, so the inverse is
    ``L⁻ᵀ Mₓ⁻¹ L⁻¹`` with ``L⁻¹ = [[1, 0], [-c, I]]``: no raw cross products.
    """
    p = mom.n_features
    if not intercept:
        return torch.cholesky_inverse(torch.linalg.cholesky(_about_zero(mom)[:p, :p]))
    moments_x = mom.matrix()[: 1 + p, : 1 + p]
    inverse = torch.cholesky_inverse(torch.linalg.cholesky(moments_x))
    lift_inv = torch.eye(1 + p, dtype=torch.float64)
    lift_inv[1:, 0] = -mom.center[:p]
    return lift_inv.T @ inverse @ lift_inv
