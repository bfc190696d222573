"""Resuming a fit where it stopped, with its optimizer state.

``fit(X, y, resume=previous)`` rebuilds the model and the optimizer from
the state the previous fit kept (or a loaded file holds) and runs on, so
500 steps, a save, a load and 500 more give the coefficients and history
of 1,000 steps in one go, bit for bit.
"""
import copy
import dataclasses
import inspect
import warnings

import numpy as np
import torch

from ..engine.devices import on
from ..engine.model import LinearModel, one_tensor_state
from ..engine.moments import loss_units
from ..engine.optimizers import OPTIMIZERS, make_optimizer
from ..engine.stepping import without_dynamo_import
from ..engine.settings import make_settings
from ..engine.training import Schedule, train
from ..errors import InputError, OptionError
from ..results.saving import _TRACE_LISTS
from .data import check_same_data


# Options that may change when a fit is resumed; every other one must match.
_MAY_CHANGE = ("epochs", "tol", "device", "patience")


def resume_settings(previous, given, defaults):
    """The settings for continuing ``previous``.

    ``given`` holds ``fit()``'s arguments and ``defaults`` their defaults: an
    option left at its default takes the previous fit's value; one given must
    equal it. ``epochs`` counts further steps (default: the previous limit
    again) and ``tol`` may change.
    """
    if getattr(previous, "_state", None) is None:
        raise OptionError("resume needs a fit that kept its optimizer state: a LinearFit from "
                          "fit() or torchlinreg.load().")
    before = previous.settings
    options = {}
    for name, default in defaults.items():
        value = given[name]
        if name in _MAY_CHANGE or not _is_default(value, default):
            options[name] = value
        elif name == "optimizer_options":
            options[name] = before[name]
        else:
            options[name] = _previous_value(previous, name)
    extra = before["epochs"] if options["epochs"] is None else options["epochs"]
    options["epochs"] = extra
    options["tol"] = before["tol"] if options["tol"] is None else options["tol"]
    settings = make_settings(**options, complete_options=options["optimizer_options"]
                             is before["optimizer_options"])
    now = settings.to_dict()
    for name, value in before.items():
        if name not in _MAY_CHANGE and name in now and now[name] != value:
            raise OptionError(
                f"resume continues the previous fit, which used {name}={value!r}; got "
                f"{name}={now[name]!r}. Leave {name} out to keep it, or fit afresh without resume.")
    settings.epochs = previous.n_iter + settings.epochs
    return settings


def _is_default(value, default):
    if isinstance(value, (tuple, list, np.ndarray, torch.Tensor)) or inspect.isclass(value):
        return False
    return value == default or (value is None and default is None)


def _previous_value(previous, name):
    value = previous.settings[name]
    if name == "validation" and value == "explicit":
        raise OptionError("the previous fit was validated on explicit data; pass "
                          "validation=(X_valid, y_valid) again to resume it.")
    if name == "optimizer" and value not in OPTIMIZERS:
        raise OptionError(f"the previous fit used the optimizer class "
                          f"{previous._state['optimizer_class']}; pass it again as optimizer= to resume.")
    return value


def continue_training(previous, settings, train_data, aliased, train_split, valid_split, scaler,
                      generator, verbose=None):
    """Rebuild the model, optimizer and generator of ``previous`` and run on.

    Returns ``(model, optimizer, trace)``, the trace holding the previous
    rows followed by the new ones.
    """
    check_same_data(previous, train_data)
    if not np.array_equal(np.asarray(aliased), previous.aliased):
        raise InputError("the aliased columns differ from the previous fit's; pass the same data.")
    model, optimizer, start = restore_training(previous, settings, generator)
    schedule = Schedule(settings.epochs, settings.tol, settings.batch_size, settings.shuffle,
                        generator, settings.patience)
    loss_scale, exponent = loss_units(scaler.y_scale)
    trace = train(model, optimizer, train_split, valid_split, schedule, loss_scale, verbose,
                  start=start, loss_exponent=exponent)
    return model, optimizer, trace


def restore_training(previous, settings, generator):
    """``(model, optimizer, trace)`` of ``previous`` as it stopped, ``generator`` set to its state.

    The trace is a copy to go on from (its last row the model's point).
    """
    state = previous._state
    k = len(previous.output_names)
    flat = _resume_point(previous).clone()
    bias = flat[:k].clone() if settings.intercept else None
    weight = flat[k if settings.intercept else 0:].reshape(k, -1).clone()
    model = LinearModel(*on(settings.device, weight, bias))
    optimizer = make_optimizer(settings.optimizer_class, model.parameters(), settings.lr,
                               settings.optimizer_options)
    with without_dynamo_import():
        optimizer.load_state_dict(one_tensor_state(copy.deepcopy(state["optimizer"]), k,
                                                   settings.intercept))
    generator.set_state(state["generator"].clone())
    before = previous._trace
    # Every field of the trace (the loop's own bookkeeping included) goes on as it was.
    start = dataclasses.replace(
        before, converged=False, stop_reason="",
        **{name: list(getattr(before, name)) for name in ("parameters",) + _TRACE_LISTS})
    return model, optimizer, start


def _resume_point(previous):
    """The parameters to resume from: the saved ones, or after a Ctrl-C that cut a step
    short, the last recorded row (with a warning: then it cannot be bit for bit)."""
    state, trace = previous._state, previous._trace
    steps = [value["step"] for value in state["optimizer"].get("state", {}).values()
             if isinstance(value, dict) and "step" in value]
    if trace.steps[-1] == trace.n_steps and torch.equal(state["parameters"], trace.parameters[-1]) \
            and all(int(step) == trace.n_steps for step in steps):
        return state["parameters"]
    warnings.warn(
        f"this fit was interrupted in the middle of a step; resuming from its last recorded "
        f"step ({trace.steps[-1]}) with the optimizer state as the interruption left it, so "
        "the result will differ slightly from an uninterrupted run.", UserWarning, stacklevel=4)
    return trace.parameters[-1]
