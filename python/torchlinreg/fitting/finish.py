"""The end of every fit: the trained parameters mapped back into a :class:`LinearFit`.

Shared by :func:`torchlinreg.fit`, :func:`torchlinreg.fit_files` and the
distributed fits: the trace becomes the history on the original scale,
aliased columns get NaN, and how the loop ended is reported (an error on
divergence, a warning at the step limit).
"""
import warnings

import numpy as np
import torch

from ..engine.objective import optimum_gap
from ..engine.settings import default_tol
from ..engine.threads import threads
from ..engine.training import training_state
from ..errors import ConvergenceWarning, DivergenceError, InputError
from ..results.fit import LinearFit


# A fit whose training loss is more than this fraction of y's variance above the
# least-squares minimum is not called converged, whatever its gradient says.
OPTIMUM_GAP = 1e-8


def finish_fit(model, optimizer, trace, generator, scaler, aliased, feature_names, response,
               settings, objective=None, **data):
    """The :class:`LinearFit` of a finished training loop, after reporting how it ended.

    ``objective``: the training objective, against whose least-squares minimum a
    converged fit is checked (:func:`check_optimum`). ``data``: ``train_data``,
    ``train_index``, ``valid_index`` and (for fits without the rows) ``statistics``
    and ``n_valid``, as :class:`LinearFit` takes them.
    """
    if not trace.loss:
        raise KeyboardInterrupt
    if trace.converged:
        check_optimum(trace, model, scaler, objective)
    at_minimum = trace.stop_reason == "max_epochs" and _at_default_precision(
        trace, model, settings, objective)
    state = training_state(model, optimizer, generator)
    # One thread for the history's products (steps × q numbers): waking numpy's BLAS pool
    # for them leaves its threads spinning on the other cores for a tenth of a second.
    with threads(1):
        result = _build_result(trace, scaler, aliased, feature_names, response, settings,
                               state=state, **data)
    _report_ending(trace, settings, result, at_minimum)
    return result


def _at_default_precision(trace, model, settings, objective):
    """True when a fit stopped at its epoch limit (``tol`` unmet: 0, or below what the data
    allow) is where the default ``tol`` would have called it converged: its gradient norm
    below that tol of its start, and its loss at the least-squares minimum."""
    start = float(trace.grad_norm[0]) or 1.0
    if objective is None or not float(trace.grad_norm[-1]) / start <= default_tol(settings):
        return False
    return not optimum_gap(objective, model) > OPTIMUM_GAP


def check_optimum(trace, model, scaler, objective):
    """Take back ``converged`` (stop reason ``"not_at_optimum"``, with a warning) when the
    coefficients on the original scale are not finite, or the loss is more than
    :data:`OPTIMUM_GAP` of y's variance above the least-squares minimum.

    The gradient test alone can pass far from the minimum: without
    standardization a column of tiny scale has a tiny gradient (1e-6 scale:
    its coefficient 0 instead of 1e6, "converged").
    """
    weight, bias = scaler.to_original(model.weight.detach().cpu(),
                                      torch.zeros(model.weight.shape[0]) if model.bias is None
                                      else model.bias.detach().cpu())
    finite = bool(torch.isfinite(weight).all() and torch.isfinite(bias).all())
    gap = optimum_gap(objective, model) if objective is not None and finite else 0.0
    if finite and not gap > OPTIMUM_GAP:
        return
    trace.converged, trace.stop_reason = False, "not_at_optimum"
    why = ("the coefficients on the original scale are not finite" if not finite else
           f"the training loss is still {gap:.3g} of y's variance above the least-squares "
           "minimum")
    warnings.warn(f"the gradient fell below tol, but {why}; the fit is not called converged. "
                  "Use standardize=True (the default) or optimizer='lbfgs', or compare with "
                  "fit.exact.", ConvergenceWarning, stacklevel=4)


def _unflatten(flat, n_outputs, intercept):
    """Split flat parameter rows ``(r, D)`` into weight ``(r, k, q)`` and bias ``(r, k)``."""
    rows = flat.shape[0]
    if intercept:
        return flat[:, n_outputs:].reshape(rows, n_outputs, -1), flat[:, :n_outputs]
    return flat.reshape(rows, n_outputs, -1), torch.zeros(rows, n_outputs, dtype=flat.dtype)


def _widen(weight, aliased):
    """Insert NaN columns for aliased features: ``(..., k, q)`` → ``(..., k, p)``."""
    if not bool(aliased.any()):
        return weight.to(torch.float64)
    full = torch.full(weight.shape[:-1] + (len(aliased),), float("nan"), dtype=torch.float64)
    full.index_copy_(-1, (~aliased).nonzero().flatten(), weight.to(torch.float64))
    return full


def _build_result(trace, scaler, aliased, feature_names, response, settings, train_data,
                  train_index, valid_index, statistics=None, n_valid=None, state=None):
    k = len(response.names)
    weight_std, bias_std = _unflatten(trace.parameters.stack(), k, settings.intercept)
    weight, bias = scaler.to_original(weight_std, bias_std)
    # The coefficients: the last row mapped on its own, as a fit of one step maps it (the
    # history's rows are mapped together, which may round differently in the last bit).
    last_weight, last_bias = scaler.to_original(weight_std[-1], bias_std[-1])
    weight[-1], bias[-1] = last_weight, last_bias
    history = _history(trace, _widen(weight, aliased), bias.to(torch.float64), aliased,
                       feature_names, response, settings.intercept)
    return LinearFit(
        weight=_widen(weight[-1], aliased).numpy(), bias=bias[-1].to(torch.float64).numpy(),
        weight_std=_widen(scaler.unrotate(weight_std[-1]), aliased).numpy(),
        bias_std=bias_std[-1].to(torch.float64).numpy(), aliased=aliased.numpy(),
        trace=trace, history=history, feature_names=feature_names,
        output_names=response.names, one_output=response.one_output,
        settings=settings.to_dict(), train_data=train_data,
        train_index=train_index, valid_index=valid_index, scaler=scaler, statistics=statistics,
        n_valid=n_valid, state=state)


def _history(trace, weight, bias, aliased, feature_names, response, intercept):
    """The trace's columns (the history DataFrame's, which LinearFit makes when first read):
    the losses, the gradient norm and one column per (non-aliased) coefficient."""
    start = float(trace.grad_norm[0]) or 1.0
    columns = {
        "iteration": np.arange(len(trace.loss)),
        "step": np.asarray(trace.steps),
        "loss": trace.in_y_units(trace.loss),
        "val_loss": trace.in_y_units(trace.val_loss),
        "grad_norm": np.asarray(trace.grad_norm) / start,
    }
    prefix = (lambda out: "") if response.one_output else (lambda out: f"{out}:")
    for i, out in enumerate(response.names):
        if intercept:
            columns[f"{prefix(out)}(Intercept)"] = bias[:, i].numpy()
        for j in np.flatnonzero(~aliased.numpy()):
            columns[f"{prefix(out)}{feature_names[j]}"] = weight[:, i, j].numpy()
    return columns


def _report_ending(trace, settings, result, at_minimum=False):
    if trace.stop_reason == "diverged" and not np.isfinite(trace.loss[0]):
        # Not the steps: unstandardized, the objective itself is in y's units, whose
        # squares (y above ~1e154) are beyond float64 at the starting point already.
        raise InputError(
            "the mean squared error of y, in y's units, overflows float64 (y is of the order "
            "of 1e154 or more) and standardize=False keeps the objective in them; use "
            "standardize=True (the default), or divide y by a power of ten.")
    if trace.stop_reason == "diverged":
        suggested = settings.lr / 10
        raise DivergenceError(
            f"the training loss diverged at step {trace.n_steps} (last finite loss "
            f"{trace.last_finite_loss():.6g}) with lr={settings.lr:g}; try lr={suggested:g}"
            + ("" if settings.standardize else " or standardize=True") + ".",
            step=trace.n_steps, last_finite_loss=trace.last_finite_loss(),
            suggested_lr=suggested, history=result.history)
    if trace.stop_reason == "max_epochs" and settings.batch_size is None:
        grad_norm = result.history_columns()["grad_norm"]
        target = ("fell to exactly 0 (tol=0)" if settings.tol == 0 else
                  f"fell below tol={settings.tol:g} of its start")
        stopped = (f"stopped after {trace.n_iter} steps before the gradient norm {target}; "
                   f"it is at {grad_norm[-1]:.3g} of its start")
        if at_minimum:
            message = (f"{stopped}, below the default tol={default_tol(settings):g}, and the "
                       "training loss is at the least-squares minimum: the coefficients are "
                       "least squares to the precision of a converged fit")
        else:
            message = (f"{stopped}; the coefficients are not least squares: "
                       f"{convergence_advice(grad_norm, settings)}")
        warnings.warn(message + ".", ConvergenceWarning, stacklevel=5)


def _round_up(value):
    """``value`` rounded up to two significant digits."""
    magnitude = 10 ** max(int(np.floor(np.log10(value))) - 1, 0)
    return int(np.ceil(value / magnitude) * magnitude)


# Steps over which the gradient norm's recent rate of decrease is measured.
ADVICE_WINDOW = 100


def convergence_advice(grad_norm, settings):
    """What would make an unconverged full-batch fit converge, from how it went.

    Without the QR preconditioner the likely cause is the design's
    conditioning; with it, either the gradient is still falling steadily
    (then more steps, as many as its recent rate needs) or it has stalled
    (a learning rate too large for the optimizer to settle, or too small).
    """
    if settings.precondition != "qr":
        return ("use precondition='qr' (the default), on which gradient descent converges "
                "whatever the correlations of the columns")
    recent = grad_norm[-min(ADVICE_WINDOW, len(grad_norm) - 1) - 1:]
    recent = recent[recent > 0]
    # tol=0 is never met: the epochs that the default tol needs.
    tol = settings.tol or default_tol(settings)
    if len(recent) >= 2 and recent[-1] < recent[0]:
        rate = (recent[-1] / recent[0]) ** (1 / (len(recent) - 1))
        if rate < 1 and recent[-1] > tol:
            # Half as many again: Adam's rate is not constant to the end.
            more = 1.5 * np.log(tol / recent[-1]) / np.log(rate)
            if more < 100 * settings.epochs:
                target = "" if settings.tol else f", to reach the default tol={tol:g}"
                return (f"it was still falling steadily; raise epochs to about "
                        f"{_round_up(settings.epochs + more):,}{target}")
            return (f"it falls too slowly at lr={settings.lr:g}; try lr={settings.lr * 10:g} "
                    "(or raise epochs a great deal)")
    return (f"it has stopped falling at lr={settings.lr:g}; try lr={settings.lr / 10:g}, or "
            "optimizer='lbfgs'")
