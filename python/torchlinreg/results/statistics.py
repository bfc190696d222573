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

from ..engine.linalg import aliased_from_gram
from ..engine.moments import Moments, restrict
from .inference import assemble_inference


@dataclass
class TrainingStatistics:
    """What a fit without its rows keeps of them: moments and the intercept flag."""

    moments: Moments
    intercept: bool

    @property
    def n_rows(self):
        return self.moments.n_rows

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
        weight = torch.full((slope.shape[0], len(aliased)), float("nan"), dtype=torch.float64)
        weight[:, ~aliased] = slope
        return weight, bias

    def residual_sums(self, weight, bias):
        """``Σ w (y - b - x·W)²`` of each output at full-length ``weight`` ``(k, p)``."""
        v = self._residual_forms(weight, bias)
        return ((v @ self.moments.matrix()) * v).sum(1).clamp_min(0)

    def residual_products(self, weight, bias):
        """``Σ w rᵢ rⱼ`` between the outputs' residuals ``(k, k)`` (``RᵀWR``)."""
        v = self._residual_forms(weight, bias)
        return v @ self.moments.matrix() @ v.T

    def _residual_forms(self, weight, bias):
        """``v`` ``(k, 1 + p + k)`` with each output's residual ``vᵀ u``, ``u = [1, x - c_x, y - c_y]``."""
        mom = self.moments
        p = mom.n_features
        weight = torch.nan_to_num(torch.as_tensor(weight, dtype=torch.float64))
        bias = torch.as_tensor(bias, dtype=torch.float64)
        # v = [c_y - b - W c_x, -W, e_k].
        k = weight.shape[0]
        v = torch.zeros(k, 1 + mom.center.shape[0], dtype=torch.float64)
        v[:, 0] = mom.center[p:] - bias - weight @ mom.center[:p]
        v[:, 1:1 + p] = -weight
        v[:, 1 + p:] = torch.eye(k, dtype=torch.float64)
        return v

    def loss(self, weight, bias):
        """The (weighted) mean squared error averaged over outputs."""
        return float((self.residual_sums(weight, bias) / self.moments.total).mean())

    def inference(self, coefficients, aliased, term_names, output_names):
        """:class:`~torchlinreg.results.inference.Inference` at ``coefficients`` ``(k, m)``."""
        intercept = self.intercept
        kept_features = ~aliased[int(intercept):]
        mom = restrict(self.moments, kept_features)
        p = mom.n_features
        B = coefficients.to(torch.float64)[:, ~aliased]
        weight = B[:, int(intercept):]
        bias = B[:, 0] if intercept else torch.zeros(B.shape[0], dtype=torch.float64)
        rss = TrainingStatistics(mom, intercept).residual_sums(weight, bias)
        about = _about_mean(mom) if intercept else _about_zero(mom)
        mss = ((weight @ about[:p, :p]) * weight).sum(1)
        return assemble_inference(coefficients, aliased, rss, mss,
                                  _unscaled_covariance(mom, intercept), mom.n_positive,
                                  intercept, term_names, output_names,
                                  center=mom.mean()[:p] if intercept else None,
                                  weight_total=float(mom.total))


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
