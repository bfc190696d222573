"""The model of the tutorials: a matrix multiply plus a bias, ``X @ W.T + b``."""

import torch
from torch import nn


class LinearModel(nn.Module):
    """``k`` outputs from ``p`` features: ``X @ weight.T + bias``.

    ``weight`` has shape ``(k, p)`` as in ``torch.nn.Linear``; ``bias`` has
    shape ``(k,)`` and is absent for a model without intercept.
    """

    def __init__(self, weight, bias=None):
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.bias = None if bias is None else nn.Parameter(bias)

    def forward(self, X):
        """Predictions ``(n, k)`` for a design ``(n, p)``."""
        out = X @ self.weight.T
        return out if self.bias is None else out + self.bias

    def flat_parameters(self):
        """All parameters as one detached vector: the bias first, then ``weight`` row by row."""
        parts = [self.weight.detach().reshape(-1)]
        if self.bias is not None:
            parts.insert(0, self.bias.detach())
        return torch.cat(parts)

    def grad_norm(self):
        """Euclidean norm of the current gradient over all parameters."""
        grads = [p.grad.reshape(-1) for p in self.parameters() if p.grad is not None]
        return torch.cat(grads).norm() if grads else torch.tensor(0.0)


def initial_parameters(init, n_outputs, n_features, intercept, dtype, generator):
    """Starting ``(weight, bias)`` in the standardized space.

    ``"zeros"`` starts every parameter at 0, as the ultramarathon tutorial
    does; ``"uniform"`` draws them as ``torch.nn.Linear`` does, from
    ``U(-1/sqrt(p), 1/sqrt(p))``, with the fit's seeded generator.
    """
    shape = (n_outputs, n_features)
    if init == "zeros":
        weight = torch.zeros(shape, dtype=dtype)
        bias = torch.zeros(n_outputs, dtype=dtype)
    else:
        bound = 1.0 / max(n_features, 1) ** 0.5
        weight = (torch.rand(shape, generator=generator, dtype=dtype) * 2 - 1) * bound
        bias = (torch.rand(n_outputs, generator=generator, dtype=dtype) * 2 - 1) * bound
    return weight, (bias if intercept else None)
