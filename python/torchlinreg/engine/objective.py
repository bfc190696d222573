"""The sufficient-statistics engine: the MSE of a linear model without the rows.

With the mean squared error, the loss of ``Θ = [b | W]`` on a part of the
data is ``θₖᵀ G θₖ - 2 θₖᵀ cₖ + yyₖ`` for each output ``k``, where ``G`` is
the (weighted, normalized) Gram matrix of ``[1, X]``, ``C`` its cross
products with ``Y`` and ``yy`` the mean squares of ``Y``, all in the
standardized space the optimizer works in. They are computed once, in
float64, from the raw data in chunks of rows (so no standardized ``n × p``
copy is made), and every step then costs ``O(k p²)`` instead of ``O(n k p)``.

The torch optimizers still make every update: the gradient is written to
``.grad`` and ``optimizer.step()`` is called, so each optimizer behaves as it
does in the autograd loop, whose trajectory this one matches to rounding.
Minibatch epochs are stepped by :mod:`torchlinreg.engine.minibatch`.
"""

import math

import numpy as np
import torch

from ..inputs.rows import epoch_order
from .linalg import aliased_from_gram, aliased_of_rows
from .loss import mean_loss
from .minibatch import BATCHES_PER_BLOCK, BlockMemory, standardize_rows, step_batches
from .preconditioning import preconditioned, root_of_rows, rotate_quadratic
from .quadratic import Quadratic
from .moments import moments, restrict, scaler_from_moments
from .scaling import Scaler


def _theta(model):
    """The parameters as one float64 matrix ``[b | W]`` ``(k, q)`` (the parameter's own
    memory in float64: not to be written to)."""
    theta = model.theta.detach()
    return theta if theta.dtype == torch.float64 else theta.to(torch.float64)


def _set_grad(model, grad):
    """Write a ``(k, q)`` gradient into ``theta.grad`` (in place once it exists)."""
    if model.theta.grad is None:
        model.theta.grad = grad.to(model.theta.dtype)
    else:
        model.theta.grad.copy_(grad)


class _NumpyQuadratic:
    """A CPU :class:`Quadratic` evaluated with numpy on the parameters' own memory.

    A step's arithmetic is a few operations on ``(k, q)`` arrays, where torch's
    dispatch costs several times numpy's operation, and the loop does them at
    every step. The results are the same numbers: the product goes through
    numpy either way (:mod:`torchlinreg.engine.products`; ``np.dot`` here, which
    calls the same BLAS routine as ``np.matmul`` for less dispatch) and the rest is
    elementwise, but for the order of the sums over ``q`` in the loss. Methods
    take the parameter ``theta`` itself (the model's, updated in place).
    """

    def __init__(self, quadratic):
        self.gram = quadratic.gram.numpy()
        self.cross = quadratic.cross.numpy()
        self.yy = quadratic.yy.numpy()
        self._views = None

    def _bind(self, theta):
        """numpy views ``(theta, theta.grad, own, as64, grad, residual)`` (made once, remade
        if either tensor is replaced) and ``theta`` in float64 (``as64``, a copy in float32)."""
        views = self._views
        if views is None or views[0] is not theta or views[1] is not theta.grad:
            if theta.grad is None:
                theta.grad = torch.zeros_like(theta)
            own = theta.detach().numpy()
            as64 = own if own.dtype == np.float64 else np.empty(own.shape, np.float64)
            views = self._views = (theta, theta.grad, own, as64, theta.grad.numpy(),
                                   np.empty(self.cross.shape, np.float64))
        if views[3] is not views[2]:
            np.copyto(views[3], views[2])
        return views

    def per_output(self, theta):
        own = self._bind(theta)[3]
        residual = np.dot(own, self.gram)
        residual -= self.cross
        return self._loss(own, residual)

    def loss_and_gradient(self, theta):
        views = self._bind(theta)
        own, residual = views[3], views[5]
        np.dot(own, self.gram, residual)
        residual -= self.cross
        np.multiply(residual, 2.0 / own.shape[0], out=views[4], casting="same_kind")
        return self._loss(own, residual)

    def gradient_norm(self):
        """The norm of the gradient last written (a float, in float64)."""
        grad = self._views[4].reshape(-1)
        if grad.dtype != np.float64:
            grad = grad.astype(np.float64)
        return math.sqrt(float(np.dot(grad, grad)))

    def _loss(self, theta, residual):
        if theta.shape[0] == 1:  # one output: a dot product instead of three array operations
            return np.array([np.dot(residual[0] - self.cross[0], theta[0]) + self.yy[0]])
        return ((residual - self.cross) * theta).sum(1) + self.yy

    def one_output_reader(self, theta, valid, scale):
        """:meth:`GramObjective.point_reader` for one float64 output: the same operations as
        :meth:`loss_and_gradient`, :meth:`gradient_norm` and ``valid.per_output``, on arrays
        bound once (a few µs a step, where the loop's time goes on small data)."""
        gram, cross, c, yy = self.gram, self.cross, self.cross[0], float(self.yy[0])
        if valid is not None:
            v_gram, v_cross, v_c = valid.gram, valid.cross, valid.cross[0]
            v_yy = float(valid.yy[0])
            held = np.empty(valid.cross.shape, np.float64)
            held_row, v_gap = held[0], np.empty(v_c.shape, np.float64)
        gap = np.empty(c.shape, np.float64)
        multiply, subtract, dot, sqrt = np.multiply, np.subtract, np.dot, math.sqrt
        nan = math.nan
        grad = own = gradient = residual = residual_row = row = g = None

        # The numbers are those of loss_and_gradient and per_output: the same array operations
        # into arrays made once, and the scalar ones on Python floats (the same IEEE doubles).
        def read():
            nonlocal grad, own, gradient, residual, residual_row, row, g
            if own is None or theta.grad is not grad:  # the first call, or a new gradient
                _, grad, own, _, gradient, residual = self._bind(theta)
                row, g, residual_row = own[0], gradient[0], residual[0]
            dot(own, gram, residual)
            subtract(residual, cross, residual)
            multiply(residual, 2.0, gradient)
            subtract(residual_row, c, gap)
            loss = (float(dot(gap, row)) + yy) * scale
            norm = sqrt(dot(g, g))
            if valid is None:
                return loss, nan, norm
            dot(own, v_gram, held)
            subtract(held, v_cross, held)
            subtract(held_row, v_c, v_gap)
            return loss, (float(dot(v_gap, row)) + v_yy) * scale, norm
        return read


class GramObjective:
    """One part of the data for the training loop, through its statistics.

    Offers what :class:`torchlinreg.engine.autograd.AutogradObjective` offers: the per-output
    loss, the loss with its gradient written to ``.grad``, an L-BFGS
    closure and a minibatch epoch. On the CPU the losses are numpy arrays
    (:class:`_NumpyQuadratic`), elsewhere tensors.
    """

    # The training loop runs the steps on one thread (see torchlinreg.engine.threads).
    threads = 1

    def __init__(self, quadratic, n_rows, data=None, scaler=None):
        self.quadratic = quadratic
        self.n_rows = n_rows
        self._data = data  # (X, Y, weights, rows, columns) of the raw data, for minibatches
        self._scaler = scaler
        self._numpy = _NumpyQuadratic(quadratic) if quadratic.gram.device.type == "cpu" else None

    def loss(self, model):
        """Each output's standardized MSE ``(k,)``."""
        if self._numpy is not None and model.theta.device.type == "cpu":
            return self._numpy.per_output(model.theta)
        return self.quadratic.per_output(_theta(model))

    def loss_and_gradient(self, model):
        """Each output's MSE; the gradient of their mean is written to ``.grad``."""
        if self._numpy is not None and model.theta.device.type == "cpu":
            return self._numpy.loss_and_gradient(model.theta)
        theta = _theta(model)
        residual = self.quadratic.residual(theta)
        _set_grad(model, residual * (2.0 / theta.shape[0]))
        return self.quadratic.per_output(theta, residual)

    def gradient_norm(self, model):
        """The norm of the gradient that :meth:`loss_and_gradient` wrote, a float."""
        if self._numpy is not None and model.theta.device.type == "cpu":
            return self._numpy.gradient_norm()
        return model.grad_norm()

    def closure(self, model):
        """An L-BFGS closure: the mean loss, with its gradient in ``.grad``."""
        def closure():
            return self.loss_and_gradient(model).mean()
        return closure

    def point_reader(self, model, valid, loss_scale):
        """A function of no arguments giving the current point's ``(loss, validation loss,
        gradient norm)`` as floats, the gradient written to ``.grad``: the losses are each
        output's (:meth:`loss_and_gradient`, ``valid.loss``) times ``loss_scale`` (a numpy
        array), averaged (NaN without ``valid``). Bound once to the parameter and the numpy
        quadratics for the loop's every step; None where they are not evaluated with numpy.
        """
        theta = model.theta
        held_out = None if valid is None else getattr(valid, "_numpy", None)
        if self._numpy is None or theta.device.type != "cpu" or \
                (valid is not None and held_out is None):
            return None
        train = self._numpy
        if theta.dtype == torch.float64 and theta.shape[0] == 1:
            return train.one_output_reader(theta, held_out, float(loss_scale[0]))

        def read():
            loss = mean_loss(train.loss_and_gradient(theta), loss_scale)
            return (loss, math.nan if held_out is None else
                    mean_loss(held_out.per_output(theta), loss_scale), train.gradient_norm())
        return read

    def minibatch_epoch(self, model, optimizer, schedule):
        """One pass in minibatches of ``schedule.batch_size`` rows in a seeded order.

        Rows are gathered and standardized :data:`BATCHES_PER_BLOCK` batches
        at a time; each batch is then a view, its gradient two matrix products.
        """
        X, Y, w, index, columns = self._data
        order = epoch_order(self.n_rows, schedule.shuffle, schedule.generator)
        if index is not None:
            order = index[order]
        rows = schedule.batch_size * BATCHES_PER_BLOCK
        memory = BlockMemory(X, Y, columns, min(rows, order.shape[0]), model.bias is not None)
        steps = 0
        for block in order.to(X.device).split(rows):
            xb, yb = standardize_rows(self._scaler, *memory.gather(X, Y, block))
            steps += step_batches(model, optimizer, xb, yb,
                                  None if w is None else w.index_select(0, block),
                                  schedule.batch_size, memory.design)
        return steps


def build_objectives(X, Y, weights, valid, intercept, precondition):
    """Scaler, training and validation objectives and the aliased columns.

    ``valid`` is None or ``(X, Y, weights)``. The aliased columns are left
    out of the statistics and of the minibatches without copying the data.
    The rows may be on a GPU: the statistics are computed there and the
    objectives' tensors put there; the returned scaler is on the CPU.
    ``precondition="qr"`` adds a pass over the rows for their QR factor when
    the design is too ill-conditioned for its moments (see :func:`quadratics`).
    """
    device = X.device
    valid_mom = None if valid is None else moments(*valid)
    train_mom = moments(X, Y, weights)
    aliased = aliased_of_rows(X, weights, intercept, train_mom.raw_gram(intercept))
    scaler, train_quadratic, valid_quadratic, aliased = quadratics(
        train_mom, valid_mom, intercept, precondition, X.dtype,
        lambda: root_of_rows(X, Y, weights), aliased[int(intercept):])
    columns = None if bool((~aliased).all()) else (~aliased).to(device)
    train = GramObjective(train_quadratic.to(device), X.shape[0],
                          (X, Y, weights, None, columns), scaler.to(device))
    valid_objective = None if valid is None else GramObjective(valid_quadratic.to(device),
                                                               valid[0].shape[0])
    return scaler, train, valid_objective, aliased


def quadratics(train_mom, valid_mom, intercept, precondition, dtype, root_of=None, aliased=None):
    """Scaler, training and validation :class:`Quadratic` s and the aliased columns.

    The alias check runs on ``AᵀWA`` rebuilt from the training moments, as
    :func:`torchlinreg.engine.linalg.aliased_columns` would compute it from the
    rows (unless ``aliased``, the features' mask, is given: from the rows);
    ``valid_mom`` may be None. With ``precondition="qr"`` the quadratics are
    in the preconditioned coordinates; ``root_of()`` returns the training
    rows' :class:`~torchlinreg.engine.preconditioning.RowRoot` and is called
    only when the design is too ill-conditioned for its moments.
    """
    standardize = precondition != "none"
    if aliased is None:
        aliased = aliased_from_gram(train_mom.raw_gram(intercept))[int(intercept):]
    kept = ~aliased
    train_mom = restrict(train_mom, kept)
    scaler = scaler_from_moments(train_mom, intercept, standardize, dtype)
    # In float32 the centres are rounded (by 5e-4 at an offset of 1e4): the standardized
    # means are then real, not rounding, and zeroing them moved the optimum.
    centred = intercept and standardize and dtype == torch.float64
    valid = None if valid_mom is None else Quadratic.from_moments(
        restrict(valid_mom, kept), scaler, intercept)
    train = Quadratic.from_moments(train_mom, scaler, intercept, centred)
    if precondition != "qr":
        return scaler, train, valid, aliased
    train, rotation = preconditioned(train, scaler, train_mom.total, intercept,
                                     lambda: root_of().restrict(kept.numpy()))
    if valid is not None:
        valid = rotate_quadratic(valid, rotation, intercept)
    return scaler.with_rotation(rotation), train, valid, aliased


def optimum_gap(objective, model):
    """How far the model's training loss is above the least-squares minimum, as a
    fraction of the loss of the best constant (of ``y``'s mean square without an
    intercept): the worst output's, from the objective's quadratic in float64.

    Scale-free (the same for any units of the columns), and ``O(p³)``: the
    autograd engine's standardized rows are first summed into their moments.
    NaN where the minimum cannot be solved for.
    """
    quadratic = getattr(objective, "quadratic", None)
    intercept = model.bias is not None
    if quadratic is None:  # an AutogradObjective: its (standardized) rows, where they are
        X, Y, w = objective.X.detach(), objective.Y.detach(), objective.weights
        identity = Scaler.identity(X.shape[1], Y.shape[1], torch.float64)
        quadratic = Quadratic.from_moments(moments(X, Y, w), identity, intercept)
    quadratic = quadratic.to("cpu")
    gram, cross = quadratic.gram, quadratic.cross
    try:
        best = torch.linalg.solve(gram, cross.T).T
    except RuntimeError:  # singular: nothing to compare with
        return float("nan")
    at_model = quadratic.per_output(_theta(model).cpu())
    at_best = quadratic.per_output(best)
    base = quadratic.yy - (cross[:, 0] ** 2 / gram[0, 0] if intercept else 0.0)
    gap = (at_model - at_best) / base.clamp_min(torch.finfo(torch.float64).tiny)
    return float(gap.max())
