"""The model of the tutorials: a matrix multiply plus a bias, ``X @ W.T + b``."""

import math

import numpy as np
import torch
from torch import nn


class LinearModel(nn.Module):
    """``k`` outputs from ``p`` features: ``X @ weight.T + bias``.

    ``weight`` has shape ``(k, p)`` as in ``torch.nn.Linear``; ``bias`` has
    shape ``(k,)`` and is absent for a model without intercept. Both are
    views of the one parameter ``theta = [bias | weight]`` ``(k, q)``, which
    the optimizer updates: one tensor a step instead of two (torch's
    for-loop optimizers pay per tensor, every step), with
    ``theta.grad`` in the layout the moments' gradient comes in.
    """

    def __init__(self, weight, bias=None):
        super().__init__()
        self.intercept = bias is not None
        theta = weight if bias is None else torch.cat([bias.to(weight.dtype)[:, None], weight], 1)
        self.theta = nn.Parameter(theta.detach().clone(memory_format=torch.contiguous_format))
        self._numpy_view = None

    @property
    def weight(self):
        """``(k, p)``, a view of ``theta``."""
        return self.theta[:, int(self.intercept):]

    @property
    def bias(self):
        """``(k,)``, a view of ``theta``, or None without intercept."""
        return self.theta[:, 0] if self.intercept else None

    def forward(self, X):
        """Predictions ``(n, k)`` for a design ``(n, p)``."""
        out = X @ self.weight.T
        return out if self.bias is None else out + self.bias

    def parameter_row(self):
        """:meth:`flat_parameters` as a numpy array on the CPU (a view where the layouts
        agree: one output or no intercept), for the history; a CPU tensor elsewhere."""
        theta = self.theta
        if theta.device.type != "cpu":
            return self.flat_parameters().cpu()
        if self._numpy_view is None or self._numpy_view[0] is not theta:
            self._numpy_view = (theta, theta.detach().numpy())
        own = self._numpy_view[1]
        if not self.intercept or own.shape[0] == 1:
            return own.reshape(-1)
        return np.concatenate([own[:, 0], own[:, 1:].reshape(-1)])

    def row_reader(self):
        """A function of no arguments giving :meth:`parameter_row`: on the CPU, where the
        layouts agree, the same numpy view of ``theta`` every time (nothing to compute)."""
        theta = self.theta
        if theta.device.type != "cpu" or (self.intercept and theta.shape[0] > 1):
            return self.parameter_row
        row = theta.detach().numpy().reshape(-1)
        parameters = self._parameters
        return lambda: row if parameters["theta"] is theta else self.parameter_row()

    def flat_parameters(self):
        """All parameters as one detached vector: the bias first, then ``weight`` row by row."""
        theta = self.theta.detach()
        if not self.intercept or theta.shape[0] == 1:
            return theta.reshape(-1)
        return torch.cat([theta[:, 0], theta[:, 1:].reshape(-1)])

    def grad_norm(self):
        """Euclidean norm of the current gradient over all parameters, a float (in float64;
        with numpy on the CPU, whose few operations cost less than torch's dispatch)."""
        grad = self.theta.grad
        if grad is None:
            return 0.0
        if grad.device.type != "cpu":
            return float(grad.to(torch.float64).norm())
        values = grad.numpy().reshape(-1).astype(np.float64, copy=False)
        return math.sqrt(float(np.dot(values, values)))

    def set_gradient(self, weight_grad, bias_grad=None):
        """Write ``(k, p)`` and ``(k,)`` gradients into ``theta.grad`` (in place once it exists)."""
        grad = self.theta.grad
        if grad is None:
            grad = self.theta.grad = torch.empty_like(self.theta)
        if self.intercept:
            grad[:, 0] = bias_grad
        grad[:, int(self.intercept):] = weight_grad


def set_gradient(model, weight_grad, bias_grad=None):
    """Write the gradients of ``weight`` and ``bias`` into a :class:`LinearModel` or a
    ``torch.nn.Linear``."""
    if isinstance(model, LinearModel):
        model.set_gradient(weight_grad, bias_grad)
        return
    model.weight.grad = weight_grad.to(model.weight.dtype)
    if model.bias is not None:
        model.bias.grad = bias_grad.to(model.bias.dtype)


def one_tensor_state(state, n_outputs, intercept):
    """An optimizer ``state_dict`` saved with the model's two parameters (``weight``, then
    ``bias``: files written before ``theta``) in the layout of the one parameter ``theta``.

    Per-element statistics (Adam's moments, momentum buffers, ...) are joined as ``[bias |
    weight]``; L-BFGS's flat vectors (``weight`` flattened, then ``bias``) are permuted to
    ``theta``'s order; counts are kept. A state with one parameter is returned as it is.
    """
    groups = state.get("param_groups", [])
    ids = [i for group in groups for i in group.get("params", [])]
    if len(ids) != 2 or not intercept:
        return state
    per_param = state.get("state", {})
    weight_state, bias_state = per_param.get(ids[0], {}), per_param.get(ids[1], {})
    k = n_outputs

    def flat_to_theta(v):
        if isinstance(v, torch.Tensor) and v.dim() == 1 and v.numel() % k == 0 and v.numel() > k:
            p = v.numel() // k - 1
            return torch.cat([v[k * p:, None], v[: k * p].reshape(k, p)], 1).reshape(-1)
        if isinstance(v, list):
            return [flat_to_theta(x) for x in v]
        return v

    joined = {}
    for key, value in weight_state.items():
        other = bias_state.get(key)
        if isinstance(value, torch.Tensor) and isinstance(other, torch.Tensor) \
                and value.dim() == 2 and other.shape == (k,):
            joined[key] = torch.cat([other.to(value.dtype)[:, None], value], 1)
        else:
            joined[key] = flat_to_theta(value)
    new_groups = [dict(group, params=[ids[0]]) if ids[0] in group.get("params", []) else
                  dict(group, params=[]) for group in groups]
    return {"state": {ids[0]: joined} if weight_state else {}, "param_groups": new_groups}


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
