"""A :class:`LinearFit` to and from its saved file (:mod:`torchlinreg.persist.format`).

The file holds the coefficients (original and standardized scale), the
optimizer's state, the seeded generator's state, the history and the
trace behind it, the settings, and a summary of the training data (rows,
names, centres and scales, and a hash of the values). The training data
themselves are stored only with ``include_data=True``; without them a loaded
fit predicts, prints and resumes, but ``compare()``, ``exact``,
``inference`` and ``summary()`` need the data back:
``torchlinreg.load(path, X=X, y=y)``.

Loading checks what it reads: the members a fit of the stored shape has
and no others, each no larger than that shape allows, and the parts
consistent with one another (the coefficients are the last step of the
stored trace and history), so a damaged or altered file is an
:class:`~torchlinreg.InputError`, never a fit that predicts something else.
"""
import dataclasses
import json
import math
import os
import re

import numpy as np
import torch

from .._version import __version__
from ..engine.moments import Moments
from ..engine.scaling import Scaler
from ..engine.training import Trace
from ..errors import InputError
from ..persist.format import FORMAT, FORMAT_VERSION, decode, encode, read, write
from .statistics import TrainingStatistics

_SCALER_FIELDS = ("x_center", "x_scale", "y_center", "y_scale")


_TRACE_LISTS = ("loss", "val_loss", "grad_norm", "steps")


def _trace_scalars(trace):
    """The trace's fields other than its per-row lists (step count, how it ended, ...)."""
    rows = ("parameters",) + _TRACE_LISTS
    return {f.name: getattr(trace, f.name) for f in dataclasses.fields(trace) if f.name not in rows}


def save_fit(fit, path, include_data=False, r_object=None):
    """Write ``fit`` to exactly ``path``, replacing any file there atomically; return ``path``.

    ``include_data=True`` also stores the training rows, so that a loaded fit
    can ``compare()`` and compute ``inference`` on its own. ``r_object`` is
    the R package's part (plain nested values and arrays), stored in the
    same file (members ``r_object`` and ``r/blob/N``) by the same one write.
    """
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
    statistics = fit._statistics
    if statistics is not None:
        arrays.update(_moment_arrays(statistics.moments))
    for name in _SCALER_FIELDS:
        arrays[f"scaler/{name}"] = getattr(fit.scaler, name).numpy()
    if fit.scaler.rotation is not None:
        arrays["scaler/rotation"] = fit.scaler.rotation.numpy()
    history = fit.history_columns()
    for i, column in enumerate(history.values()):
        arrays[f"history/{i}"] = column
    arrays["trace/parameters"] = trace.parameters.stack().numpy()
    for name in _TRACE_LISTS:
        arrays[f"trace/{name}"] = np.asarray(getattr(trace, name))
    if include_data:
        for name, tensor in zip("XYw", fit._train):
            if tensor is not None:
                arrays[f"data/{name}"] = tensor.numpy()
    state = fit._state
    meta = {
        "format": FORMAT, "version": FORMAT_VERSION, "torchlinreg": __version__,
        "settings": encode(fit.settings, arrays),
        "feature_names": fit.feature_names, "output_names": fit.output_names,
        "one_output": bool(fit._one), "history_columns": list(history),
        "trace": _trace_scalars(trace),
        "data": {"n_train": int(fit.n_train), "n_valid": int(fit.n_valid),
                 "n_features": p, "fingerprint": fit.fingerprint,
                 "included": bool(include_data)},
        "state": None if state is None else encode(state, arrays),
    }
    if r_object is not None:
        blobs = {}
        tree = encode(r_object, blobs)
        arrays.update({f"r/{key}": value for key, value in blobs.items()})
        arrays["r_object"] = np.array(json.dumps(tree))
    return write(path, arrays, meta)


_MOMENT_FIELDS = ("total", "center", "first", "second")


def _moment_arrays(mom):
    """The moments of a fit without its rows (from files), as arrays to store."""
    out = {f"moments/{name}": getattr(mom, name).numpy() for name in _MOMENT_FIELDS}
    out["moments/counts"] = np.array([mom.n_rows, mom.n_features, mom.n_positive])
    if mom.log_weight_sum is not None:
        out["moments/log_weight_sum"] = np.array([mom.log_weight_sum])
    if mom.unit is not None:
        out["moments/unit"] = mom.unit.numpy()
    return out


def _statistics(arrays, settings):
    """The stored moments as :class:`~torchlinreg.results.statistics.TrainingStatistics`, or None."""
    if "moments/counts" not in arrays:
        return None
    n_rows, n_features, n_positive = (int(v) for v in arrays["moments/counts"])
    values = {name: torch.from_numpy(arrays[f"moments/{name}"].astype(np.float64))
              for name in _MOMENT_FIELDS}
    unit = None if "moments/unit" not in arrays else \
        _real(arrays, "moments/unit").astype(np.float64)
    if unit is not None and not (np.isfinite(unit) & (np.frexp(unit)[0] == 0.5)).all():
        raise InputError("the stored moments' units are not positive powers of two.")
    log_weight_sum = arrays.get("moments/log_weight_sum")
    moments = Moments(n_rows, n_features, n_positive=n_positive, **values,
                      unit=None if unit is None else torch.from_numpy(unit),
                      log_weight_sum=None if log_weight_sum is None else float(log_weight_sum[0]))
    return TrainingStatistics(moments, settings["intercept"])


def read_parts(path):
    """``(parts, r_object)`` of a file :func:`save_fit` wrote, without executing any code.

    ``parts`` are :class:`~torchlinreg.results.fit.LinearFit`'s constructor
    arguments; ``r_object`` is the R part (None if saved from Python). Raises
    :class:`~torchlinreg.InputError` for a file that is not a fit, is
    damaged, or whose parts do not agree.
    """
    where = os.fspath(path)
    arrays, meta = read(where, _expected_members)
    r_object = None
    if "r_object" in arrays:
        blobs = {key[2:]: arrays.pop(key) for key in list(arrays) if key.startswith("r/")}
        try:
            r_object = decode(json.loads(str(arrays.pop("r_object"))), blobs)
        except (ValueError, TypeError, RecursionError) as error:
            raise InputError(f"{where}: its R part is damaged ({error}).") from None
    try:
        parts = _parts(arrays, meta)
    except InputError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError) as error:
        raise InputError(f"{where} is not a consistent torchlinreg fit ({type(error).__name__}: "
                         f"{error}).") from None
    _check_consistent(parts, where)
    return parts, r_object


def _sizes(meta):
    """``(p, k, history rows at most, training and validation rows)`` a file declares."""
    data = meta["data"]
    p, k = _count(data["n_features"]), len(meta["output_names"])
    epochs = _count(_settings_value(meta, "epochs"))
    return p, k, epochs + 1, _count(data["n_train"]) + _count(data["n_valid"])


def _settings_value(meta, name):
    for key, value in meta["settings"]["__dict__"]:
        if key == name:
            return value
    raise KeyError(name)


def _count(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2 ** 40:
        raise InputError(f"a saved count is {value!r}, not a whole number torchlinreg writes.")
    return value


_PATTERNS = [(re.compile(pattern), size) for pattern, size in [
    (r"weight|weight_std", lambda p, k, h, n: k * p),
    (r"bias|bias_std", lambda p, k, h, n: k),
    (r"aliased|scaler/x_center|scaler/x_scale", lambda p, k, h, n: p),
    (r"scaler/y_center|scaler/y_scale", lambda p, k, h, n: k),
    (r"scaler/rotation", lambda p, k, h, n: p * p),
    (r"train_index|valid_index", lambda p, k, h, n: n),
    (r"history/\d+|trace/(loss|val_loss|grad_norm|steps)", lambda p, k, h, n: h),
    (r"trace/parameters", lambda p, k, h, n: h * k * (p + 1)),
    (r"data/X", lambda p, k, h, n: n * p),
    (r"data/Y", lambda p, k, h, n: n * k),
    (r"data/w", lambda p, k, h, n: n),
    (r"moments/total", lambda p, k, h, n: 1),
    (r"moments/counts", lambda p, k, h, n: 3),
    (r"moments/log_weight_sum", lambda p, k, h, n: 1),
    (r"moments/unit", lambda p, k, h, n: p + k),
    (r"moments/center|moments/first", lambda p, k, h, n: p + k),
    (r"moments/second", lambda p, k, h, n: (p + k) ** 2),
    # optimizer state (one tensor per parameter and statistic) and the generator's state
    (r"blob/\d+", lambda p, k, h, n: max(k * (p + 1) * max(h, 1), 1 << 14)),
    # the R package's part: its description, and arrays of at most the model frame's size
    (r"r_object", lambda p, k, h, n: 1),
    (r"r/blob/\d+", lambda p, k, h, n: (n + 1) * (p + k + 4) + (1 << 14)),
]]


def _expected_members(meta):
    """For :func:`~torchlinreg.persist.format.read`: the size each member may have."""
    try:
        sizes = _sizes(meta)
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"the saved description is incomplete ({type(error).__name__}: "
                         f"{error}).") from None

    def allowed(name):
        for pattern, size in _PATTERNS:
            if pattern.fullmatch(name):
                return size(*sizes)
        return None
    return allowed


def _real(arrays, name, shape=None):
    value = arrays[name]
    if value.dtype.kind not in "biuf":
        raise InputError(f"member {name!r} holds {value.dtype} values, not numbers.")
    if shape is not None and value.shape != shape:
        raise InputError(f"member {name!r} has shape {value.shape}; this fit needs {shape}.")
    return value


def _parts(arrays, meta):
    """:class:`LinearFit`'s constructor arguments from the members and the description."""
    import pandas as pd  # the history is checked as a frame (not needed to fit: not at the top)
    settings = decode(meta["settings"], arrays)
    p, k = meta["data"]["n_features"], len(meta["output_names"])
    known = {f.name for f in dataclasses.fields(Trace)}
    rows = [_real(arrays, f"trace/{name}").tolist() for name in _TRACE_LISTS]
    trace = Trace(parameters=list(torch.from_numpy(_real(arrays, "trace/parameters").astype(
                      np.float64 if settings["dtype"] == "float64" else np.float32))),
                  **dict(zip(_TRACE_LISTS, rows)),
                  **{key: v for key, v in meta["trace"].items() if key in known})
    columns = meta["history_columns"]
    history = pd.DataFrame({name: _real(arrays, f"history/{i}") for i, name in enumerate(columns)})
    kept = int((~_real(arrays, "aliased", (p,)).astype(bool)).sum())
    scaler = Scaler(*(torch.from_numpy(_real(arrays, f"scaler/{name}", (kept if name[0] == "x" else k,)))
                      for name in _SCALER_FIELDS),
                    torch.from_numpy(_real(arrays, "scaler/rotation", (kept, kept)).astype(np.float64))
                    if "scaler/rotation" in arrays else None)
    data = meta["data"]
    train_data = None
    if data["included"]:
        train_data = tuple(torch.from_numpy(_real(arrays, f"data/{name}"))
                           if f"data/{name}" in arrays else None for name in "XYw")
    return dict(
        weight=_real(arrays, "weight", (k, p)).astype(np.float64),
        bias=_real(arrays, "bias", (k,)).astype(np.float64),
        weight_std=_real(arrays, "weight_std", (k, p)).astype(np.float64),
        bias_std=_real(arrays, "bias_std", (k,)).astype(np.float64),
        aliased=_real(arrays, "aliased", (p,)).astype(bool), trace=trace, history=history,
        feature_names=_strings(meta["feature_names"], p), output_names=_strings(meta["output_names"], k),
        one_output=bool(meta["one_output"]), settings=settings, train_data=train_data,
        train_index=arrays.get("train_index"), valid_index=arrays.get("valid_index"),
        scaler=scaler, statistics=_statistics(arrays, settings), n_valid=data["n_valid"],
        state=None if meta["state"] is None else decode(meta["state"], arrays),
        fingerprint=data["fingerprint"])


def _strings(values, count):
    if not isinstance(values, list) or len(values) != count or \
            not all(isinstance(v, str) for v in values):
        raise InputError(f"the saved names are not {count} strings.")
    return values


def _check_consistent(parts, where):
    """Raise unless the coefficients are the last step of the stored trace and history."""
    trace, history = parts["trace"], parts["history"]
    rows = len(trace.loss)
    if not rows or any(len(getattr(trace, name)) != rows for name in ("val_loss", "grad_norm", "steps")) \
            or len(trace.parameters) != rows or len(history) != rows:
        raise InputError(f"{where}: the stored trace and history disagree on the number of steps.")
    if trace.n_iter != rows - 1 or (trace.steps and trace.steps[-1] > trace.n_steps):
        raise InputError(f"{where}: the stored step counts disagree with the trace.")
    k, p = parts["weight"].shape
    intercept = bool(parts["settings"]["intercept"])
    kept = ~parts["aliased"]
    last = trace.parameters[-1]
    standardized = np.concatenate(([parts["bias_std"]] if intercept else [])
                                  + [parts["weight_std"][:, kept].reshape(-1)])
    if last.numel() != standardized.size or not _same_step(last, standardized, parts, k, intercept):
        raise InputError(f"{where}: the stored coefficients are not the last step of the stored "
                         "trace; the file was altered or damaged.")
    names = parts["feature_names"]
    one = parts["one_output"]
    for i, out in enumerate(parts["output_names"]):
        prefix = "" if one else f"{out}:"
        expected = ([(f"{prefix}(Intercept)", parts["bias"][i])] if intercept else []) + \
            [(f"{prefix}{names[j]}", parts["weight"][i, j]) for j in np.flatnonzero(kept)]
        for column, value in expected:
            if column not in history or not _same(history[column].iloc[-1], value):
                raise InputError(f"{where}: the stored coefficient {column!r} is not the last "
                                 "row of the stored history; the file was altered or damaged.")


def _same_step(last, standardized, parts, k, intercept):
    """The trace's last parameters are the stored standardized coefficients (mapped from
    the preconditioned coordinates, where there is a preconditioner)."""
    scaler = parts["scaler"]
    if scaler.rotation is None:
        return np.array_equal(last.to(torch.float64).numpy(), standardized)
    weight = last[k if intercept else 0:].reshape(k, -1)
    mapped = np.concatenate(([last[:k].to(torch.float64).numpy()] if intercept else [])
                            + [scaler.unrotate(weight).numpy().reshape(-1)])
    return np.allclose(mapped, standardized, rtol=1e-12, atol=0)


def _same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b
