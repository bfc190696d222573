"""The autograd objective: losses and gradients by a pass over the rows.

The tutorials' forward pass and ``backward()``: the reference that the
moment-based objective (:mod:`torchlinreg.engine.objective`) matches to
rounding, and the engine used with ``engine="autograd"``.
"""
from dataclasses import dataclass

import torch

from ..inputs.rows import epoch_order
from .linalg import aliased_columns, with_intercept
from .loss import squared_error_by_output
from .moments import moments
from .preconditioning import preconditioned, root_of_rows
from .quadratic import Quadratic
from .scaling import Scaler
from .stepping import stepper, without_dynamo_import


@dataclass
class AutogradObjective:
    """Standardized design, response and weights of one part of the data.

    The autograd engine: every loss and gradient is a pass over the rows
    with ``backward()``, as in the tutorials. :class:`torchlinreg.engine.objective.GramObjective`
    offers the same four methods from sufficient statistics.
    """

    X: torch.Tensor
    Y: torch.Tensor
    weights: torch.Tensor = None

    @property
    def n_rows(self):
        return self.X.shape[0]

    def loss(self, model):
        """Each output's standardized MSE ``(k,)``."""
        with torch.no_grad():
            return squared_error_by_output(model(self.X), self.Y, self.weights)

    def loss_and_gradient(self, model):
        """Each output's MSE; backpropagate their mean into ``.grad``."""
        for parameter in model.parameters():
            parameter.grad = None
        per_output = squared_error_by_output(model(self.X), self.Y, self.weights)
        per_output.mean().backward()
        return per_output.detach()

    def closure(self, model):
        """An L-BFGS closure: the mean loss, backpropagated."""
        return lambda: self.loss_and_gradient(model).mean()

    def minibatch_epoch(self, model, optimizer, schedule):
        """One pass in minibatches: slices of a seeded order, forward and ``backward()``."""
        order = epoch_order(self.n_rows, schedule.shuffle, schedule.generator)
        steps, step = 0, stepper(optimizer)
        with without_dynamo_import():  # zero_grad() is wrapped as construction is
            for index in order.split(schedule.batch_size):
                weights = None if self.weights is None else self.weights[index]
                optimizer.zero_grad()
                loss = squared_error_by_output(model(self.X[index]), self.Y[index],
                                               weights).mean()
                loss.backward()
                step()
                steps += 1
                if not torch.isfinite(loss):
                    break
        return steps


def _autograd_splits(X, Y, w, valid, settings):
    """Scaler (on the CPU), standardized training and validation :class:`AutogradObjective` s (where
    the rows are), aliased columns."""
    A = with_intercept(X, settings.intercept)
    aliased = aliased_columns(A if w is None else A * w.sqrt()[:, None])[int(settings.intercept):]
    kept = (~aliased).to(X.device)
    scaler = (Scaler.fit(X[:, kept], Y, w, settings.intercept) if settings.standardize
              else Scaler.identity(int(kept.sum()), Y.shape[1], X.dtype).to(X.device))
    if settings.precondition == "qr":
        # The same coordinates as the moments engine's, chosen the same way.
        X_kept, cpu_scaler = X[:, kept], scaler.to("cpu")
        mom = moments(X_kept, Y, w)
        quadratic = Quadratic.from_moments(mom, cpu_scaler, settings.intercept,
                                           centred=settings.intercept)
        _, rotation = preconditioned(quadratic, cpu_scaler, mom.total, settings.intercept,
                                     lambda: root_of_rows(X_kept, Y, w))
        scaler = scaler.with_rotation(rotation.to(X.device))
    train_split = AutogradObjective(scaler.transform_x(X[:, kept]), scaler.transform_y(Y), w)
    valid_split = None if valid is None else AutogradObjective(
        scaler.transform_x(valid[0][:, kept]), scaler.transform_y(valid[1]), valid[2])
    return scaler.to("cpu"), train_split, valid_split, aliased
