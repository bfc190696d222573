"""Minibatch steps with closed-form gradients, no autograd graph.

Batches are cut from a seeded permutation, gathered and standardized a
block of batches at a time into reused memory, and each batch's gradient
is the closed form ``2/B · Aᵦᵀ(Aᵦθ - yᵦ)`` written to ``.grad`` before
``optimizer.step()``. Plain SGD needs no ``step()``: two fused matrix
products a batch (:mod:`torchlinreg.engine.plain_sgd`).
"""
import numpy as np
import torch

from .model import LinearModel, set_gradient
from .plain_sgd import design_rows, plain_sgd_steps, step_scales
from .stepping import stepper


# Minibatches gathered and standardized together (bounded memory, fewer ops per batch).
BATCHES_PER_BLOCK = 64


class BlockMemory:
    """The memory that each block of an epoch's minibatches is gathered into.

    A fresh block-sized tensor (megabytes) is mapped anew by the allocator
    and paged in at every allocation, which costs more than gathering into
    it (benchmarks/RESULTS.md, minibatch section). Float64 rows go straight
    into the columns of the design ``[1, x]`` that plain SGD steps on
    (:mod:`torchlinreg.engine.plain_sgd`).
    """

    def __init__(self, X, Y, columns, rows, intercept):
        self._columns = None if columns is None else columns.nonzero().flatten()
        p = X.shape[1] if columns is None else self._columns.shape[0]
        self.design = torch.empty(rows, p + 1, dtype=torch.float64, device=X.device)
        if X.dtype == torch.float64:
            self._x = self.design[:, int(intercept):][:, :p]
        else:
            self._x = torch.empty(rows, p, dtype=X.dtype, device=X.device)
        self._y = torch.empty(rows, Y.shape[1], dtype=Y.dtype, device=Y.device)
        self._all_columns = None if columns is None else torch.empty(
            rows, X.shape[1], dtype=X.dtype, device=X.device)

    def gather(self, X, Y, index):
        """Rows ``index`` of ``X`` (kept columns) and ``Y``, as views of this memory."""
        m = index.shape[0]
        x, y = self._x[:m], self._y[:m]
        if self._columns is None:
            torch.index_select(X, 0, index, out=x)
        else:
            torch.index_select(torch.index_select(X, 0, index, out=self._all_columns[:m]),
                               1, self._columns, out=x)
        if Y.shape[1] == 1 and Y.is_contiguous():  # one output: the 1-d gather, faster
            torch.index_select(Y.view(-1), 0, index, out=y.view(-1))
        else:
            torch.index_select(Y, 0, index, out=y)
        return x, y


def standardize_rows(scaler, x, y):
    """Standardize gathered rows in place (they must be copies, in the scaler's dtype), and
    rotate them into the preconditioned coordinates when there is a preconditioner."""
    x = x.to(scaler.x_center.dtype).sub_(scaler.x_center).div_(scaler.x_scale)
    y = y.to(scaler.y_center.dtype).sub_(scaler.y_center).div_(scaler.y_scale)
    return scaler.rotate_rows(x), y


def step_batches(model, optimizer, x, y, w, batch_size, design=None):
    """One optimizer step per ``batch_size`` rows of standardized ``x``, ``y`` (and weights ``w``).

    Plain SGD takes the same steps without ``optimizer.step()``
    (:mod:`torchlinreg.engine.plain_sgd`, in ``design`` if given); other
    optimizers step batch by batch. Returns the number of steps taken.
    """
    steps = plain_sgd_steps(model, optimizer, x, y, w, batch_size, design)
    if steps is not None:
        return steps
    if isinstance(model, LinearModel) and model.theta.dtype == torch.float64:
        return _theta_steps(model, optimizer, x, y, w, batch_size, design)
    steps, step = 0, stepper(optimizer)
    with torch.no_grad():
        for x_batch, y_batch, w_batch in zip(x.split(batch_size), y.split(batch_size),
                                             _split_or_none(w, batch_size, x.shape[0])):
            set_batch_gradient(model, x_batch, y_batch, w_batch)
            step()
            steps += 1
    return steps


def _theta_steps(model, optimizer, x, y, w, batch_size, design=None):
    """:func:`step_batches` for a float64 :class:`LinearModel`: each batch's gradient is
    two matrix products on the rows ``[1, x]`` (as plain SGD's steps), written straight
    into ``theta.grad``: ``2/(k Σw) · ((A θᵀ - y) · w)ᵀ A``. On the CPU with numpy, on the
    tensors' own memory (on arrays this small numpy's operations cost a fraction of torch's
    dispatch; see benchmarks/RESULTS.md, the per-step section)."""
    with torch.no_grad():
        rows = design_rows(x, model.intercept, design)
        theta = model.theta.detach()  # updated in place by every step
        if model.theta.grad is None:
            model.theta.grad = torch.zeros_like(model.theta)
        grad = model.theta.grad
        targets = y.to(torch.float64)
        scales = step_scales(x.shape[0], y.shape[1], w, batch_size, 1.0)
        weights = [None] * len(scales) if w is None else w.to(torch.float64).split(batch_size)
        step = stepper(optimizer)
        if theta.device.type == "cpu":
            _numpy_steps(step, rows.numpy(), targets.numpy(), theta.numpy(), grad.numpy(),
                         [None if v is None else v.numpy() for v in weights], scales, batch_size)
            return len(scales)
        for start, w_batch, scale in zip(range(0, x.shape[0], batch_size), weights, scales):
            a = rows[start:start + batch_size]
            residual = torch.matmul(a, theta.T)
            residual -= targets[start:start + batch_size]
            residual *= scale if w_batch is None else (w_batch * scale)[:, None]
            torch.matmul(residual.T, a, out=grad)
            step()
    return len(scales)


def _numpy_steps(step, rows, targets, theta, grad, weights, scales, batch_size):
    """The steps of :func:`_theta_steps` with numpy, into memory made once. One output is
    the same numbers through vectors (numpy's product of a matrix and a vector, the same
    sums as the matrix product's, and less work a batch)."""
    if theta.shape[0] == 1:
        theta, grad, targets = theta[0], grad[0], targets[:, 0]
        product = np.dot
    else:
        theta = theta.T
        product = np.matmul
    out = np.empty((batch_size,) + theta.shape[1:], np.float64)
    for start, w_batch, scale in zip(range(0, rows.shape[0], batch_size), weights, scales):
        a = rows[start:start + batch_size]
        residual = product(a, theta, out=out[:a.shape[0]])
        residual -= targets[start:start + batch_size]
        if w_batch is None:
            residual *= scale
        else:
            residual *= (w_batch * scale) if residual.ndim == 1 else (w_batch * scale)[:, None]
        product(residual.T, a, out=grad)
        step()


def _split_or_none(w, batch_size, n_rows):
    if w is None:
        return [None] * -(-n_rows // batch_size)
    return w.split(batch_size)


def set_batch_gradient(model, x, y, w):
    """The closed-form gradient of one minibatch's MSE, written to ``.grad``."""
    weight, bias = model.weight, model.bias
    residual = (x @ weight.T if bias is None else torch.addmm(bias, x, weight.T)).sub_(y)
    if w is None:
        residual.mul_(2.0 / residual.numel())
    else:
        residual.mul_((w * (2.0 / (residual.shape[1] * w.sum())))[:, None])
    set_gradient(model, residual.T @ x, None if bias is None else residual.sum(0))
