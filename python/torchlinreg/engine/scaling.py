"""Standardization of the design and the response, and the way back.

With an intercept every column is z-scored, ``(x - mean) / sd`` with the
sample standard deviation as R's ``sd()`` computes it. Unlike the
ultramarathon tutorial's ``(mean(x) - x) / sd(x)``, this keeps the sign:
a positive standardized coefficient means a positive effect. Without an
intercept, centring would change the model, so columns are only divided by
their root mean square. Coefficients are mapped back to the original scale
exactly, so ``coef`` is what ``lm()`` reports.
"""

from dataclasses import dataclass

import math

import torch

from .products import matmul


# A column whose largest magnitude (in the moments: in their first chunk, or a later
# one of values far beyond it) is outside
# [2^-RANGE_EXPONENT, 2^RANGE_EXPONENT] is summed in units of a power of two
# (see unit_of): its squares, times any row count, neither overflow nor lose
# digits as subnormals. Inside it the unit is 1, so the sums are unchanged.
RANGE_EXPONENT = 200


@dataclass
class Scaler:
    """Per-column centres and scales of the design (``x_*``) and response (``y_*``).

    ``rotation`` (float64, ``(q, q)``, or None) is the QR preconditioner's
    ``M``: the optimizer's coefficients ``u`` are ``w = M u`` on the
    standardized scale, and its rows are the standardized rows times ``M``
    (:mod:`torchlinreg.engine.preconditioning`).
    """

    x_center: torch.Tensor
    x_scale: torch.Tensor
    y_center: torch.Tensor
    y_scale: torch.Tensor
    rotation: torch.Tensor = None

    @classmethod
    def identity(cls, n_features, n_outputs, dtype):
        """A scaler that changes nothing (``standardize=False``)."""
        return cls(torch.zeros(n_features, dtype=dtype), torch.ones(n_features, dtype=dtype),
                   torch.zeros(n_outputs, dtype=dtype), torch.ones(n_outputs, dtype=dtype))

    @classmethod
    def fit(cls, X, Y, weights=None, intercept=True):
        """Centres and scales of ``X`` ``(n, p)`` and ``Y`` ``(n, k)``, weighted if given."""
        x_center, x_scale = _center_and_scale(X, weights, intercept)
        y_center, y_scale = _center_and_scale(Y, weights, intercept)
        return cls(x_center, x_scale, y_center, y_scale)

    def to(self, device):
        """The same scaler with its tensors on ``device``."""
        return Scaler(*(t.to(device) for t in (self.x_center, self.x_scale, self.y_center,
                                                self.y_scale)),
                      None if self.rotation is None else self.rotation.to(device))

    def with_rotation(self, rotation):
        """The same standardization followed by the preconditioner ``rotation``."""
        return Scaler(self.x_center, self.x_scale, self.y_center, self.y_scale, rotation)

    def rotate_rows(self, x):
        """Standardized rows into the optimizer's coordinates (``x M``); as they are without."""
        if self.rotation is None:
            return x
        return matmul(x, self.rotation.to(x.dtype))

    def unrotate(self, weight):
        """The optimizer's coefficients ``(..., k, q)`` on the standardized scale (``u Mᵀ``)."""
        if self.rotation is None:
            return weight
        return matmul(weight.to(torch.float64), self.rotation.T.contiguous())

    def transform_x(self, X):
        """Standardize a design matrix (and rotate it, with a preconditioner)."""
        return self.rotate_rows((X - self.x_center) / self.x_scale)

    def transform_y(self, Y):
        """Standardize a response matrix."""
        return (Y - self.y_center) / self.y_scale

    def to_original(self, weight, bias):
        """Map standardized ``(W, b)`` to the original scale.

        ``weight`` is ``(..., k, p)`` and ``bias`` ``(..., k)``: leading
        dimensions (such as history rows) are carried through, as one matrix
        product over all of them (numpy's stacked products, a product per row,
        cost far more); each row rounds as a product of its own
        would but for the order of sums inside the BLAS. With a preconditioner,
        ``weight`` is in the optimizer's coordinates. In float64 whatever the
        fit's dtype: in float32, ``W · x_center`` of columns with a large offset
        lost the intercept's digits (1.8e-4 of it at an offset of 1e4).
        """
        shape = weight.shape
        flat = weight.reshape(math.prod(shape[:-1]), shape[-1])
        weight = self.unrotate(flat).to(torch.float64)
        bias = bias.to(torch.float64)
        x_center, x_scale, y_center, y_scale = (t.to(torch.float64) for t in (
            self.x_center, self.x_scale, self.y_center, self.y_scale))
        weight_orig = (weight.reshape(shape) * y_scale[:, None] / x_scale)
        rows = weight_orig.reshape(math.prod(shape[:-1]), shape[-1])
        bias_orig = y_center + y_scale * bias - matmul(rows, x_center).reshape(bias.shape)
        return weight_orig, bias_orig


def _center_and_scale(values, weights, intercept):
    unit = unit_of(values) if values.shape[0] else None
    if unit is not None:  # squares beyond float64: in units of a power of two (exact)
        values = values * unit
    n = values.shape[0]
    w = torch.ones(n, dtype=values.dtype, device=values.device) if weights is None else weights
    total = w.sum()
    if intercept:
        center = (w @ values) / total
        spread = (w @ (values - center) ** 2) / total
        # Bessel's correction, so unweighted scales equal R's sd().
        spread = spread * n / max(n - 1, 1)
    else:
        center = torch.zeros(values.shape[1], dtype=values.dtype, device=values.device)
        spread = (w @ values ** 2) / total
    scale = spread.sqrt()
    if unit is not None:
        center, scale = center / unit, scale / unit
    return center, torch.where(scale > 0, scale, torch.ones_like(scale))


def unit_of(block):
    """Per column, the power of two to sum ``block`` ``(rows, width)`` in: 1 where its
    largest magnitude is within ``2^±RANGE_EXPONENT`` (or zero), else about its inverse;
    None when every unit is 1."""
    return unit_for(magnitudes(block))


def magnitudes(block):
    """Each column's largest magnitude in ``block`` ``(rows, width)`` (NaN where it holds
    one), with no temporary of the block's size."""
    return torch.maximum(block.amax(0), block.amin(0).neg())


def unit_for(largest):
    """:func:`unit_of` given each column's largest magnitude."""
    exponent = torch.frexp(largest).exponent
    outside = (largest > 0) & (exponent.abs() > RANGE_EXPONENT)
    if not bool(outside.any()):
        return None
    unit = torch.ones_like(largest)
    unit[outside] = torch.ldexp(torch.ones_like(largest[outside]), -exponent[outside])
    return unit
