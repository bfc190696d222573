"""The mean squared error of a linear model as a quadratic form in its parameters."""
from dataclasses import dataclass

import torch

from .products import matmul


@dataclass
class Quadratic:
    """The standardized MSE of one part of the data as a quadratic form.

    ``gram`` is ``(q, q)`` for the parameters ``θ = [b, w]`` (``[w]``
    without intercept), ``cross`` ``(k, q)`` and ``yy`` ``(k,)``; all are
    means over the rows (weighted means with weights).
    """

    gram: torch.Tensor
    cross: torch.Tensor
    yy: torch.Tensor

    @classmethod
    def from_moments(cls, mom, scaler, intercept, centred=False):
        """Express the moments in the standardized space of ``scaler``.

        ``centred``: the scaler's centres are these rows' means (the
        training part, standardized with an intercept).
        """
        p, d = mom.n_features, mom.center.shape[0]
        x_center, x_scale, y_center, y_scale = (
            t.to(torch.float64) for t in (scaler.x_center, scaler.x_scale,
                                          scaler.y_center, scaler.y_scale))
        # Rows map u = [1, z - c] to [1, (x - x_center)/x_scale, (y - y_center)/y_scale].
        transform = torch.zeros(1 + d, 1 + d, dtype=torch.float64)
        transform[0, 0] = 1.0
        scale, center = torch.cat([x_scale, y_scale]), torch.cat([x_center, y_center])
        if mom.unit is not None:  # the moments are of z * unit (powers of two: exact)
            scale, center = scale * mom.unit, center * mom.unit
        transform[1:, 0] = (mom.center - center) / scale
        transform[1:, 1:] = torch.diag(1.0 / scale)
        total = mom.total if mom.total > 0 else torch.ones((), dtype=torch.float64)
        stats = matmul(matmul(transform, mom.matrix()), transform.T) / total
        if centred:
            # Centred columns have mean 0 exactly; their computed means are
            # rounding, which Adam (dividing by sqrt(v) + eps) would amplify
            # into a wandering intercept when it starts at its optimum, 0.
            stats[0, 1:] = 0.0
            stats[1:, 0] = 0.0
        params = slice(0 if intercept else 1, 1 + p)
        return cls(stats[params, params].contiguous(), stats[1 + p:, params].contiguous(),
                   stats[1 + p:, 1 + p:].diagonal().contiguous())

    def to(self, device):
        """The same quadratic with its tensors on ``device``."""
        return Quadratic(self.gram.to(device), self.cross.to(device), self.yy.to(device))

    def residual(self, theta):
        """``Θ G - C`` (half the gradient of each output's MSE), ``(k, q)``."""
        return matmul(theta, self.gram) - self.cross

    def per_output(self, theta, residual=None):
        """Each output's MSE at ``Θ`` ``(k, q)``."""
        residual = self.residual(theta) if residual is None else residual
        return ((residual - self.cross) * theta).sum(1) + self.yy
