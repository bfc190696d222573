"""The optimizer loop: full batch or minibatches, with everything tracked.

Each history row holds the parameters and the losses *at the same point*:
row 0 is the starting point and row ``t`` the state after ``t`` updates
(steps for full batch, epochs for minibatches). The loop stops when the
gradient norm falls below ``tol`` times its starting value, at the step or
epoch limit, on divergence, or on Ctrl-C.
"""
import math
from dataclasses import dataclass, field

import torch

from .data import batch_indices
from .loss import squared_error_by_output

# A loss this many times its starting value means the steps are growing,
# not converging: stop before it overflows.
DIVERGENCE_FACTOR = 1e8


@dataclass
class Split:
    """Standardized design, response and weights of one part of the data."""

    X: torch.Tensor
    Y: torch.Tensor
    weights: torch.Tensor = None


@dataclass
class Schedule:
    """How long and how to train."""

    max_epochs: int
    tol: float
    batch_size: int = None
    shuffle: bool = True
    generator: torch.Generator = None


@dataclass
class Trace:
    """What the loop recorded; losses are on the original scale of ``y``."""

    parameters: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    n_steps: int = 0
    converged: bool = False
    stop_reason: str = ""

    @property
    def n_iter(self):
        """Updates recorded after the start: steps (full batch) or epochs (minibatch)."""
        return len(self.loss) - 1

    def drop_incomplete_row(self):
        """Cut every record to the rows that were completed (after an interruption)."""
        rows = min(len(self.parameters), len(self.loss), len(self.val_loss),
                   len(self.grad_norm), len(self.steps))
        for name in ("parameters", "loss", "val_loss", "grad_norm", "steps"):
            del getattr(self, name)[rows:]

    def last_finite_loss(self):
        """The most recent finite training loss, or NaN."""
        return next((v for v in reversed(self.loss) if math.isfinite(v)), float("nan"))


def _loss_and_gradient(model, split, loss_scale):
    """Backpropagate the standardized MSE; return ``(original-scale loss, grad norm)``."""
    for parameter in model.parameters():
        parameter.grad = None
    per_output = squared_error_by_output(model(split.X), split.Y, split.weights)
    per_output.mean().backward()
    return float((per_output.detach() * loss_scale).mean()), float(model.grad_norm())


def _loss(model, split, loss_scale):
    if split is None:
        return float("nan")
    with torch.no_grad():
        per_output = squared_error_by_output(model(split.X), split.Y, split.weights)
    return float((per_output * loss_scale).mean())


def _record(trace, model, train, valid, loss_scale):
    loss, grad_norm = _loss_and_gradient(model, train, loss_scale)
    trace.parameters.append(model.flat_parameters().clone())
    trace.loss.append(loss)
    trace.val_loss.append(_loss(model, valid, loss_scale))
    trace.grad_norm.append(grad_norm)
    trace.steps.append(trace.n_steps)


def _stop_reason(trace, schedule):
    """Why to stop after the latest record, or ``""`` to go on."""
    loss, start = trace.loss[-1], trace.loss[0]
    if not math.isfinite(loss) or loss > DIVERGENCE_FACTOR * max(start, 1e-300):
        return "diverged"
    if trace.grad_norm[-1] <= schedule.tol * trace.grad_norm[0]:
        return "converged"
    if trace.n_iter >= schedule.max_epochs:
        return "max_epochs"
    return ""


def _full_batch_update(model, optimizer, train, loss_scale):
    """One optimizer step; gradients are already in place from the record."""
    if isinstance(optimizer, torch.optim.LBFGS):
        def closure():
            optimizer.zero_grad()
            loss = squared_error_by_output(model(train.X), train.Y, train.weights).mean()
            loss.backward()
            return loss
        optimizer.step(closure)
    else:
        optimizer.step()
    return 1


def _minibatch_epoch(model, optimizer, train, schedule):
    """One pass over the data in minibatches; returns the number of steps taken."""
    steps = 0
    for index in batch_indices(train.X.shape[0], schedule.batch_size, schedule.shuffle,
                               schedule.generator):
        weights = None if train.weights is None else train.weights[index]
        optimizer.zero_grad()
        loss = squared_error_by_output(model(train.X[index]), train.Y[index], weights).mean()
        loss.backward()
        optimizer.step()
        steps += 1
        if not torch.isfinite(loss):
            break
    return steps


def train(model, optimizer, train, valid, schedule, loss_scale):
    """Run the optimizer on ``train`` and return the :class:`Trace`.

    ``loss_scale`` (one value per output) turns standardized squared errors
    into squared errors in the units of ``y``. A Ctrl-C ends the loop with
    ``stop_reason="interrupted"`` and the history so far.
    """
    trace = Trace()
    try:
        _record(trace, model, train, valid, loss_scale)
        while not (reason := _stop_reason(trace, schedule)):
            if schedule.batch_size is None:
                trace.n_steps += _full_batch_update(model, optimizer, train, loss_scale)
            else:
                trace.n_steps += _minibatch_epoch(model, optimizer, train, schedule)
            _record(trace, model, train, valid, loss_scale)
    except KeyboardInterrupt:
        reason = "interrupted"
        trace.drop_incomplete_row()
    trace.stop_reason = reason
    trace.converged = reason == "converged"
    return trace
