"""The optimizer loop: full batch or minibatches, with everything tracked.

Each history row holds the parameters and the losses *at the same point*:
row 0 is the starting point and row ``t`` the state after ``t`` updates
(steps for full batch, epochs for minibatches). The loop stops when the
gradient norm falls below ``tol`` times its starting value, when the
validation loss has set no new low for ``patience`` updates (early
stopping), at the step or epoch limit, on divergence, or on Ctrl-C.
"""

import copy
import math
import sys
import time
from dataclasses import dataclass
from dataclasses import field

import numpy as np
import torch

from .interrupts import ctrl_c_between_steps
from .loss import mean_loss
from .stepping import stepper, without_dynamo_import
from .threads import threads


# A loss this many times its starting value means the steps are growing,
# not converging: stop before it overflows.
DIVERGENCE_FACTOR = 1e8


# The precision-floor stop (see _stop_check): within this factor of
# the tolerance, and no new low for this many updates.
FLOOR_FACTOR = 10


FLOOR_PATIENCE = 200


@dataclass
class Schedule:
    """How long and how to train."""

    max_epochs: int
    tol: float
    batch_size: int = None
    shuffle: bool = True
    generator: torch.Generator = None
    patience: int = None


class Rows:
    """The parameter history: rows of one length, appended into memory that grows by
    doubling (one copy a step, no tensor made), read back as tensors."""

    def __init__(self, rows=()):
        self._data, self._n = None, 0
        for row in rows:
            self.append(row)

    def append(self, row):
        """Append ``row`` (an array or a CPU tensor), copied."""
        if not isinstance(row, np.ndarray):
            row = row.numpy()
        data, n = self._data, self._n
        if data is None or n == data.shape[0]:
            data = self._make_room(row)
        data[n] = row
        self._n = n + 1

    def _make_room(self, row):
        if self._data is None:
            self._data = np.empty((16, row.shape[0]), row.dtype)
        elif self._n == self._data.shape[0]:
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
        return self._data

    def __len__(self):
        return self._n

    def __getitem__(self, index):
        return torch.from_numpy(self.matrix()[index].copy())

    def __iter__(self):
        return (self[i] for i in range(self._n))

    def __delitem__(self, index):
        if not (isinstance(index, slice) and index.step is None and index.stop is None):
            raise TypeError("only the rows from an index on can be deleted")
        self._n = min(self._n, range(self._n)[index].start if self._n else 0)

    def matrix(self):
        """The rows as one ``(n, m)`` array (a view)."""
        return self._data[:self._n] if self._data is not None else np.empty((0, 0))

    def stack(self):
        """The rows as one ``(n, m)`` tensor (a copy)."""
        return torch.from_numpy(self.matrix().copy())


@dataclass
class Trace:
    """What the loop recorded; losses are on the original scale of ``y``, times
    ``2^-loss_exponent`` (see :func:`torchlinreg.engine.moments.loss_units`; :meth:`in_y_units`).

    ``best_grad_norm`` and ``best_iter`` follow the lowest gradient norm so
    far, for the precision-floor stop; ``best_val_loss`` and ``best_val_iter``
    the lowest validation loss, for early stopping.
    """

    parameters: Rows = field(default_factory=Rows)
    best_grad_norm: float = math.inf
    best_iter: int = 0
    loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    n_steps: int = 0
    converged: bool = False
    stop_reason: str = ""
    best_val_loss: float = math.inf
    best_val_iter: int = 0
    loss_exponent: int = 0

    def __post_init__(self):
        if not isinstance(self.parameters, Rows):
            self.parameters = Rows(self.parameters)

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
        """The most recent finite training loss (in ``y``'s units), or NaN."""
        return float(self.in_y_units(
            next((v for v in reversed(self.loss) if math.isfinite(v)), float("nan"))))

    def in_y_units(self, losses):
        """Recorded losses (a list or a float) in ``y``'s units, as a numpy array or float:
        infinite where the loss itself is beyond float64."""
        with np.errstate(over="ignore"):
            return np.ldexp(np.asarray(losses, dtype=np.float64), self.loss_exponent)


def _recorder(trace, read_point, read_row):
    """A function of no arguments that appends the current point to ``trace``: parameters,
    losses, gradient norm, steps (the appends bound once, for the loop's every step).

    ``read_point()`` gives the training and validation losses (in ``y``'s units,
    averaged over the outputs) and the gradient norm (:func:`_point_reader`);
    ``read_row()`` the parameters as one row.
    """
    append_row, append_step = trace.parameters.append, trace.steps.append
    append_loss, append_val_loss, append_norm = (
        trace.loss.append, trace.val_loss.append, trace.grad_norm.append)

    def record():
        loss, val_loss, norm = read_point()
        append_row(read_row())
        append_loss(loss)
        append_val_loss(val_loss)
        append_norm(norm)
        append_step(trace.n_steps)
    return record


def _point_reader(model, train, valid, loss_scale):
    """A function of no arguments for :func:`_recorder`: the objective's own where it has one
    (bound once for every step), else from its methods."""
    fast = getattr(train, "point_reader", None)
    read = None if fast is None else fast(model, valid, loss_scale[1])
    if read is not None:
        return read
    norm = getattr(train, "gradient_norm", None)

    def read():
        loss = _mean_loss(train.loss_and_gradient(model), loss_scale)
        return (loss, math.nan if valid is None else _mean_loss(valid.loss(model), loss_scale),
                model.grad_norm() if norm is None else norm(model))
    return read


def _mean_loss(per_output, loss_scale):
    """The mean over the outputs of their losses in ``y``'s units, a float."""
    return mean_loss(per_output, loss_scale[1 if isinstance(per_output, np.ndarray) else 0])


def _stop_check(trace, schedule):
    """A function of no arguments giving why to stop after the latest record of ``trace``, or
    ``""`` to go on; what the first row fixes is computed once, for the loop's every step.

    - ``"diverged"``: a loss that is not finite or :data:`DIVERGENCE_FACTOR` times the first.
    - ``"converged"``: the gradient norm at most ``tol`` times the first; or at the precision
      floor: parameters are rounded to the dtype's precision (about 6e-8 in float32), so the
      gradient cannot fall below a floor that depends on the data; once it is within
      :data:`FLOOR_FACTOR` of the tolerance and has set no new low (``best_grad_norm``,
      ``best_iter``) for :data:`FLOOR_PATIENCE` updates, going on only lets Adam drift away.
    - ``"early_stopping"``: the validation loss has set no new low (``best_val_loss``,
      ``best_val_iter``) for ``schedule.patience`` updates (scikit-learn's
      ``n_iter_no_change``, brulee's ``stop_iter``).
    - ``"max_epochs"``: ``schedule.max_epochs`` updates recorded after the start.
    """
    losses, norms, val_losses = trace.loss, trace.grad_norm, trace.val_loss
    too_large = DIVERGENCE_FACTOR * max(losses[0], 1e-300)
    small = schedule.tol * norms[0]
    near = FLOOR_FACTOR * schedule.tol * norms[0]
    patience, max_epochs, isfinite = schedule.patience, schedule.max_epochs, math.isfinite

    def stop_reason():
        loss, grad = losses[-1], norms[-1]
        if not isfinite(loss) or loss > too_large:
            return "diverged"
        if grad <= small:
            return "converged"
        n_iter = len(losses) - 1
        if grad < trace.best_grad_norm:
            trace.best_grad_norm, trace.best_iter = grad, n_iter
        if grad <= near and n_iter - trace.best_iter >= FLOOR_PATIENCE:
            return "converged"
        if patience is not None:
            val_loss = val_losses[-1]
            if val_loss < trace.best_val_loss:
                trace.best_val_loss, trace.best_val_iter = val_loss, n_iter
            if n_iter - trace.best_val_iter >= patience:
                return "early_stopping"
        if n_iter >= max_epochs:
            return "max_epochs"
        return ""
    return stop_reason


def train(model, optimizer, train, valid, schedule, loss_scale, verbose=None, start=None,
          loss_exponent=0):
    """Run the optimizer on ``train`` and return the :class:`Trace`.

    ``train`` and ``valid`` are :class:`~torchlinreg.engine.autograd.AutogradObjective` objects or
    :class:`torchlinreg.engine.objective.GramObjective` objects (sufficient statistics).
    ``loss_scale`` (one value per output) turns standardized squared errors
    into squared errors in the units of ``y`` times ``2^-loss_exponent``
    (:func:`torchlinreg.engine.moments.loss_units`). A Ctrl-C ends the loop with
    ``stop_reason="interrupted"`` and the history so far: after the step (or
    epoch) in progress, so that resuming is bit for bit, or at once on a
    second Ctrl-C (:mod:`torchlinreg.engine.interrupts`). ``verbose``: see
    :func:`progress_bar`. ``start``: a :class:`Trace` to go on from (resuming;
    its last row is the model's current point, ``schedule.max_epochs`` the total).
    """
    trace = Trace() if start is None else start
    trace.loss_exponent = loss_exponent
    loss_scale = loss_scale.to(model.theta.device)
    loss_scale = (loss_scale, loss_scale.to(torch.float64).cpu().numpy())
    bar = progress_bar(schedule, verbose)
    try:
        with threads(getattr(train, "threads", None)), ctrl_c_between_steps() as ctrl_c:
            reason = _loop(trace, model, optimizer, train, valid, schedule, loss_scale, bar,
                           ctrl_c)
    except KeyboardInterrupt:
        reason = "interrupted"
        trace.drop_incomplete_row()
    finally:
        if bar is not None:
            bar.close()
    trace.stop_reason = reason
    trace.converged = reason == "converged"
    return trace


def _loop(trace, model, optimizer, train, valid, schedule, loss_scale, bar, ctrl_c):
    """Record, step, record, ... until a stop reason (or ``ctrl_c.requested``); return it."""
    record = _recorder(trace, _point_reader(model, train, valid, loss_scale), model.row_reader())
    if trace.loss:  # resuming: the current point is recorded; only its gradient is needed
        train.loss_and_gradient(model)
    else:
        record()
    step, stop_reason = stepper(optimizer), _stop_check(trace, schedule)
    update = None  # a full-batch step: the gradient is already in place from the record
    if schedule.batch_size is not None:
        def update():
            return train.minibatch_epoch(model, optimizer, schedule)
    elif isinstance(optimizer, torch.optim.LBFGS):
        def update():
            step(train.closure(model))
            return 1
    while not (reason := stop_reason() or ("interrupted" if ctrl_c.requested else "")):
        if update is None:
            step()
            trace.n_steps += 1
        else:
            trace.n_steps += update()
        record()
        if bar is not None:
            bar.show(trace)
    return reason


class _Bar:
    """A tqdm bar over steps (or epochs) showing the losses, refreshed at most 10 times a second."""

    def __init__(self, tqdm, schedule, delay):
        self._bar = tqdm(total=schedule.max_epochs, delay=delay, leave=False, file=sys.stderr,
                         unit="step" if schedule.batch_size is None else "epoch",
                         mininterval=0.1, dynamic_ncols=True)
        self._shown = 0.0

    def show(self, trace):
        self._bar.update(1)
        now = time.monotonic()
        if now - self._shown >= 0.1:
            self._shown = now
            loss, val_loss = trace.in_y_units([trace.loss[-1], trace.val_loss[-1]])
            self._bar.set_postfix(loss=f"{loss:.6g}", val_loss=f"{val_loss:.6g}", refresh=False)

    def close(self):
        self._bar.close()


def progress_bar(schedule, verbose=None):
    """A progress bar, or None: ``verbose=None`` shows one only when stderr is a terminal
    and the fit lasts over a second; True always; False never. Needs ``tqdm``."""
    if verbose is False or (verbose is None and not _stderr_is_terminal()):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return _Bar(tqdm, schedule, delay=1.0 if verbose is None else 0.0)


def _stderr_is_terminal():
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def training_state(model, optimizer, generator):
    """What resuming needs, copied so that later steps cannot change it."""
    with without_dynamo_import():
        state = optimizer.state_dict()
    return {"parameters": model.flat_parameters().to("cpu", copy=True),
            "optimizer": copy.deepcopy(state),
            "optimizer_class": f"{type(optimizer).__module__}.{type(optimizer).__qualname__}",
            "generator": generator.get_state().clone()}
