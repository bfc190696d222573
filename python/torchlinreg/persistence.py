"""Saving, loading and resuming fits, in a file that loads without running code.

A fit is one ``.npz`` file: the numbers as arrays, everything else as one
JSON document stored under the key ``"meta"`` (a unicode array, not a
pickle). :func:`load` reads it with ``numpy.load(allow_pickle=False)``, so a
file from anywhere can be opened safely.

The file holds the coefficients (original and standardized scale), the
optimizer's state, the seeded generator's state, the history and the
trace behind it, the settings, and a summary of the training data (rows,
names, centres and scales, and a hash of the values). The training data
themselves are stored only with ``include_data=True``; without them a loaded
fit predicts, prints and resumes, but ``compare()``, ``exact``,
``inference`` and ``summary()`` need the data back:
``load(path, X=X, y=y)``.

Resuming (``fit(X, y, resume=previous)``) rebuilds the model and the
optimizer from that state and runs on, so 500 steps, a save, a load and
500 more give the coefficients and history of 1,000 steps in one go, bit
for bit.
"""
import copy
import dataclasses
import hashlib
import inspect
import json
import os
import warnings

import numpy as np
import pandas as pd
import torch

from ._version import __version__
from .data import as_design, as_response, as_weights, resolve_dtype, split_rows
from .devices import on
from .errors import InputError, OptionError
from .model import LinearModel
from .optimizers import OPTIMIZERS, make_optimizer
from .scaling import Scaler
from .settings import make_settings
from .training import Schedule, Trace, train

FORMAT = "torchlinreg-fit"
FORMAT_VERSION = 1
_SCALER_FIELDS = ("x_center", "x_scale", "y_center", "y_scale")
_TRACE_LISTS = ("loss", "val_loss", "grad_norm", "steps")


# --- the state a fit keeps for saving and resuming ------------------------------------------

def training_state(model, optimizer, generator):
    """What resuming needs, copied so that later steps cannot change it."""
    return {"parameters": model.flat_parameters().to("cpu", copy=True),
            "optimizer": copy.deepcopy(optimizer.state_dict()),
            "optimizer_class": f"{type(optimizer).__module__}.{type(optimizer).__qualname__}",
            "generator": generator.get_state().clone()}


def _trace_scalars(trace):
    """The trace's fields other than its per-row lists (step count, how it ended, ...)."""
    rows = ("parameters",) + _TRACE_LISTS
    return {f.name: getattr(trace, f.name) for f in dataclasses.fields(trace) if f.name not in rows}


def fingerprint(train_data):
    """A hash of the training ``(X, Y, weights)``: same data, same hash."""
    digest = hashlib.blake2b(digest_size=16)
    for tensor in train_data:
        if tensor is None:
            digest.update(b"none")
            continue
        array = np.ascontiguousarray(tensor.detach().cpu().numpy())
        digest.update(f"{array.shape}{array.dtype}".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def fit_fingerprint(fit):
    """The stored hash of a fit's training data (computed once)."""
    if getattr(fit, "_fingerprint", None) is None and fit._train is not None:
        fit._fingerprint = fingerprint(fit._train)
    return fit._fingerprint


# --- nested values (optimizer state, settings) as JSON plus arrays ----------------------------

def _encode(value, arrays):
    """JSON-ready ``value``; tensors and arrays go to ``arrays`` under a fresh key."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        key = f"blob/{len(arrays)}"
        if isinstance(value, torch.Tensor):
            arrays[key] = value.detach().cpu().numpy()
            return {"__tensor__": key}
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, dict):
        return {"__dict__": [[k, _encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot save a value of type {type(value).__name__}: {value!r}")


def _decode(value, arrays):
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        return torch.from_numpy(np.array(arrays[value["__tensor__"]]))
    if "__array__" in value:
        return np.array(arrays[value["__array__"]])
    if "__tuple__" in value:
        return tuple(_decode(v, arrays) for v in value["__tuple__"])
    return {k: _decode(v, arrays) for k, v in value["__dict__"]}


# --- save ------------------------------------------------------------------------------------

def save_fit(fit, path, include_data=False):
    """Write ``fit`` to ``path`` (``.npz`` is added if missing); return the path written.

    ``include_data=True`` also stores the training rows, so that a loaded fit
    can ``compare()`` and compute ``inference`` on its own.
    """
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    if include_data and fit._train is None:
        raise InputError("this fit has no training data to include; load it with "
                         "torchlinreg.load(path, X=X, y=y) first.")
    arrays = {}
    trace = fit._trace
    k, p = fit._weight.shape
    arrays.update(weight=fit._weight, bias=fit._bias,
                  weight_std=np.asarray(fit.coef_standardized).reshape(k, p),
                  bias_std=np.asarray(fit.intercept_standardized).reshape(k),
                  aliased=fit.aliased)
    if fit.train_index is not None:
        arrays.update(train_index=np.asarray(fit.train_index),
                      valid_index=np.asarray(fit.valid_index))
    statistics = getattr(fit, "_statistics", None)
    if statistics is not None:
        arrays.update(_moment_arrays(statistics.moments))
    for name in _SCALER_FIELDS:
        arrays[f"scaler/{name}"] = getattr(fit.scaler, name).numpy()
    for i, column in enumerate(fit.history.columns):
        arrays[f"history/{i}"] = fit.history[column].to_numpy()
    arrays["trace/parameters"] = torch.stack(trace.parameters).numpy()
    for name in _TRACE_LISTS:
        arrays[f"trace/{name}"] = np.asarray(getattr(trace, name))
    if include_data:
        for name, tensor in zip("XYw", fit._train):
            if tensor is not None:
                arrays[f"data/{name}"] = tensor.numpy()
    state = getattr(fit, "_state", None)
    meta = {
        "format": FORMAT, "version": FORMAT_VERSION, "torchlinreg": __version__,
        "settings": _encode(fit.settings, arrays),
        "feature_names": fit.feature_names, "output_names": fit.output_names,
        "one_output": bool(fit._one), "history_columns": list(map(str, fit.history.columns)),
        "trace": _trace_scalars(trace),
        "data": {"n_train": int(fit.n_train), "n_valid": int(fit.n_valid),
                 "n_features": p, "fingerprint": fit_fingerprint(fit),
                 "included": bool(include_data)},
        "state": None if state is None else _encode(state, arrays),
    }
    arrays["meta"] = np.array(json.dumps(meta))
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    return path


_MOMENT_FIELDS = ("total", "center", "first", "second")


def _moment_arrays(mom):
    """The moments of a fit without its rows (from files), as arrays to store."""
    out = {f"moments/{name}": getattr(mom, name).numpy() for name in _MOMENT_FIELDS}
    out["moments/counts"] = np.array([mom.n_rows, mom.n_features, mom.n_positive])
    return out


def _statistics(arrays, settings):
    """The stored moments as :class:`~torchlinreg.sufficient.TrainingStatistics`, or None."""
    if "moments/counts" not in arrays:
        return None
    from .gram import Moments
    from .sufficient import TrainingStatistics
    n_rows, n_features, n_positive = (int(v) for v in arrays["moments/counts"])
    values = {name: torch.from_numpy(arrays[f"moments/{name}"]) for name in _MOMENT_FIELDS}
    return TrainingStatistics(Moments(n_rows, n_features, n_positive=n_positive, **values),
                              settings["intercept"])


# --- load ------------------------------------------------------------------------------------

def load_fit(path, X=None, y=None, weights=None):
    """Read a fit written by :meth:`LinearFit.save`, without executing any code.

    Give the training data back (``X``, ``y`` and ``weights`` as passed to
    ``fit()``; validation rows are split off again by the saved seed) to use
    ``compare()``, ``exact``, ``inference`` and ``summary()`` on a fit saved
    without ``include_data=True``; they are checked against the saved hash.
    """
    from .results import LinearFit
    try:
        with np.load(os.fspath(path), allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError) as error:
        raise InputError(f"{path!s} is not a fit saved by torchlinreg ({error}).") from None
    if meta.get("format") != FORMAT or meta.get("version", 0) > FORMAT_VERSION:
        raise InputError(f"{path!s} is not a torchlinreg fit of a version this one reads "
                         f"(format {meta.get('format')!r} version {meta.get('version')!r}); "
                         "update torchlinreg.")
    settings = _decode(meta["settings"], arrays)
    known = {f.name for f in dataclasses.fields(Trace)}
    trace = Trace(parameters=list(torch.from_numpy(arrays["trace/parameters"])),
                  **{name: arrays[f"trace/{name}"].tolist() for name in _TRACE_LISTS},
                  **{k: v for k, v in meta["trace"].items() if k in known})
    history = pd.DataFrame({name: arrays[f"history/{i}"]
                            for i, name in enumerate(meta["history_columns"])})
    scaler = Scaler(*(torch.from_numpy(arrays[f"scaler/{name}"]) for name in _SCALER_FIELDS))
    data = meta["data"]
    train_data = None
    if data["included"]:
        train_data = tuple(torch.from_numpy(arrays[f"data/{name}"]) if f"data/{name}" in arrays
                           else None for name in "XYw")
    fit = LinearFit(
        weight=arrays["weight"], bias=arrays["bias"], weight_std=arrays["weight_std"],
        bias_std=arrays["bias_std"], aliased=arrays["aliased"], trace=trace, history=history,
        feature_names=meta["feature_names"], output_names=meta["output_names"],
        one_output=meta["one_output"], settings=settings, train_data=train_data,
        train_index=arrays.get("train_index"), valid_index=arrays.get("valid_index"),
        scaler=scaler, statistics=_statistics(arrays, settings), n_valid=data["n_valid"])
    fit._trace = trace
    fit._state = None if meta["state"] is None else _decode(meta["state"], arrays)
    fit._fingerprint = data["fingerprint"]
    if X is not None:
        attach_data(fit, X, y, weights)
    return fit


def training_rows(settings, X, y, weights):
    """The training ``(X, Y, weights)`` that ``fit()`` with these settings used."""
    dtype = resolve_dtype(settings["dtype"])
    design = as_design(X, dtype)
    n_rows = design.values.shape[0]
    response = as_response(y, n_rows, dtype)
    w = as_weights(weights, n_rows, dtype)
    data = (design.values, response.values, w)
    if isinstance(settings["validation"], (int, float)) and settings["validation"] > 0:
        generator = torch.Generator().manual_seed(settings["seed"])
        train_index, _ = split_rows(n_rows, settings["validation"], generator)
        data = tuple(None if t is None else t[train_index] for t in data)
    return data


def attach_data(fit, X, y, weights=None):
    """Give a loaded fit its training data back, after checking they are the same."""
    if y is None:
        raise InputError("give both X and y (and weights if the fit used them).")
    data = training_rows(fit.settings, X, y, weights)
    check_same_data(fit, data)
    fit._train = data
    return fit


def check_same_data(previous, data):
    """Raise unless ``data`` (training ``X, Y, w``) are those ``previous`` was fitted on."""
    expected = fit_fingerprint(previous)
    if expected is None or fingerprint(data) == expected:
        return
    X, Y, _ = data
    raise InputError(
        f"these are not the data the fit was trained on: it used {len(previous.train_index)} "
        f"training rows of {len(previous.feature_names)} columns and {len(previous.output_names)} "
        f"output(s), here there are {X.shape[0]} rows of {X.shape[1]} columns and {Y.shape[1]} "
        "output(s), or the values differ. Pass the same X, y, weights and validation.")


# --- resume ----------------------------------------------------------------------------------

# Options that may change when a fit is resumed; every other one must match.
_MAY_CHANGE = ("epochs", "tol", "device")


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
    settings = make_settings(**options)
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
    state = previous._state
    k = len(previous.output_names)
    flat = _resume_point(previous).clone()
    bias = flat[:k].clone() if settings.intercept else None
    weight = flat[k if settings.intercept else 0:].reshape(k, -1).clone()
    model = LinearModel(*on(settings.device, weight, bias))
    optimizer = make_optimizer(settings.optimizer_class, model.parameters(), settings.lr,
                               settings.optimizer_options)
    optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))
    generator.set_state(state["generator"].clone())
    before = previous._trace
    # Every field of the trace (the loop's own bookkeeping included) goes on as it was.
    start = dataclasses.replace(
        before, converged=False, stop_reason="",
        **{name: list(getattr(before, name)) for name in ("parameters",) + _TRACE_LISTS})
    schedule = Schedule(settings.epochs, settings.tol, settings.batch_size, settings.shuffle,
                        generator)
    trace = train(model, optimizer, train_split, valid_split, schedule, scaler.y_scale ** 2,
                  verbose, start=start)
    return model, optimizer, trace


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
