"""Minibatch steps with closed-form gradients, no autograd graph.

Batches are cut from a seeded permutation, gathered and standardized a
block of batches at a time into reused memory, and each batch's gradient
is the closed form ``2/B · Aᵦᵀ(Aᵦθ - yᵦ)`` written to ``.grad`` before
``optimizer.step()``. Plain SGD needs no ``step()``: two fused matrix
products a batch (:mod:`torchlinreg.engine.plain_sgd`).
"""
import torch

from .plain_sgd import plain_sgd_steps


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
        if Y.shape[1] == 1 and Y.is_contiguous():  # one output: the 1-d gather, 3x faster
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
    steps = 0
    with torch.no_grad():
        for x_batch, y_batch, w_batch in zip(x.split(batch_size), y.split(batch_size),
                                             _split_or_none(w, batch_size, x.shape[0])):
            set_batch_gradient(model, x_batch, y_batch, w_batch)
            optimizer.step()
            steps += 1
    return steps


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
    weight.grad = residual.T @ x
    if bias is not None:
        bias.grad = residual.sum(0)
