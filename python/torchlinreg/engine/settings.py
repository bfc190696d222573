"""Fitting options: validated once, with defaults that reach ``lm()``'s answer.

Why these defaults: on standardized data (``standardize=True``) full-batch
Adam with the tutorial's learning rate 0.1 reaches the least-squares
solution once the gradient norm has fallen to ``1e-12`` of its starting
value: about 1,400 steps and 2e-9 relative error on the ultramarathon
data, whose two elevation columns correlate at -0.997, and 3e-10 or better
on the other tutorial and simulated data sets. ``1e-13`` would give 10x
the accuracy, but on some designs (mtcars with ``factor(cyl)``) Adam
drifts away before reaching it.
``epochs=10000`` leaves room for harder designs. Adam cannot "overshoot
and wander" past that point because the loop stops on the tolerance.

In float32 the parameters themselves are rounded to about 6e-8, so the
gradient stops falling somewhere between 3e-9 and 4e-8 of its start,
depending on the data; below that, Adam's steps no longer shrink and the
iterates drift (a tolerance of 1e-8 is never reached on simulated data).
The float32 tolerance is ``3e-8``: 5e-5 relative accuracy on the
ill-conditioned ultramarathon data (1.8e-4 at 1e-7), 1e-5 or better
elsewhere. Where the floor lies above it, the loop stops as converged once
the gradient is within 10 times the tolerance and has set no new low for
200 steps (``training._stop_check``). Plain SGD's steps ``lr * g``
round away sooner, near 2e-7, so it gets ``3e-7``.
"""

import math
import numbers
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field

import numpy as np
import torch

from ..errors import OptionError
from ..inputs.arrays import resolve_dtype
from .devices import resolve_device
from .optimizers import check_options, default_lr, default_options, resolve_optimizer


DEFAULT_TOL = {torch.float64: 1e-12, torch.float32: 3e-8}
# With the QR preconditioner the loss is isotropic and Adam settles instead of
# drifting, so the gradient can fall further: 1e-14 puts the coefficients within
# a few 1e-12 of exact least squares on designs of condition number 1e4 (100
# or so more steps than 1e-12).
QR_TOL = {torch.float64: 1e-14}


FLOAT32_TOL_BY_OPTIMIZER = {"sgd": 3e-7}


DEFAULT_EPOCHS = {"full_batch": 10_000, "minibatch": 100}


INITS = ("zeros", "uniform")


# Every case fit() handles uses the mean squared error, so "auto" can always
# use the sufficient statistics; "sufficient" is another name for "gram".
ENGINES = {"auto": "gram", "gram": "gram", "sufficient": "gram", "autograd": "autograd"}


@dataclass
class FitSettings:
    """The options of one fit, after validation and defaults."""

    intercept: bool
    optimizer: str
    lr: float
    epochs: int
    batch_size: int
    shuffle: bool
    validation: object
    standardize: bool
    dtype: str
    seed: int
    tol: float
    init: str
    engine: str = "gram"
    device: str = "cpu"
    precondition: str = "qr"
    optimizer_options: dict = field(default_factory=dict)
    optimizer_class: type = None
    patience: int = None

    def to_dict(self):
        """Plain values, for ``LinearFit.settings`` and R."""
        out = asdict(self)
        out.pop("optimizer_class")
        if not isinstance(self.validation, (int, float)):
            out["validation"] = "explicit"
        return out


# The options of every fit (fit(), fit_files(), the distributed fits, the bridge) and
# their defaults, in one place; keyword arguments not named here are the optimizer's.
FIT_OPTIONS = {"intercept": True, "optimizer": "adam", "lr": None, "epochs": None,
               "batch_size": None, "shuffle": True, "validation": 0.0, "standardize": True,
               "dtype": "float64", "seed": None, "tol": None, "init": "zeros",
               "engine": "auto", "device": "cpu", "precondition": None, "patience": None}


def split_options(options):
    """``(fit options, optimizer options)`` of keyword arguments as the public functions
    take them: the names in :data:`FIT_OPTIONS`, and the rest (``momentum``, ...)."""
    fit_options = {name: value for name, value in options.items() if name in FIT_OPTIONS}
    return fit_options, {name: value for name, value in options.items()
                         if name not in FIT_OPTIONS}


def _flag(value, name):
    """``True`` or ``False`` (numpy's bools too); anything else is an :class:`OptionError`."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise OptionError(f"{name} must be True or False; got {value!r}.")


def as_int(value, name, minimum=None, maximum=None):
    """Accept ints and integral floats (R's doubles); raise otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not float(value).is_integer():
        raise OptionError(f"{name} must be a whole number; got {value!r}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise OptionError(f"{name} must be at least {minimum}; got {value}.")
    if maximum is not None and value > maximum:
        raise OptionError(f"{name} must be at most {maximum}; got {value}.")
    return value


def as_probability(value, name):
    """``value`` as a float strictly between 0 and 1 (a level or an ``alpha``), or an
    :class:`OptionError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise OptionError(f"{name} must be a number between 0 and 1; got {value!r}.")
    return float(value)


def _positive_float(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise OptionError(f"{name} must be a positive finite number; got {value!r}.")
    return float(value)


def _check_validation(validation):
    if isinstance(validation, (tuple, list)) and len(validation) == 2:
        return validation
    if isinstance(validation, bool) or not isinstance(validation, numbers.Real) \
            or not 0 <= validation < 1:
        raise OptionError("validation must be a fraction in [0, 1) of rows to hold out, "
                          f"or a pair (X_valid, y_valid); got {validation!r}.")
    return float(validation)


def fresh_seed():
    return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] % 2 ** 63)


def make_settings(*, intercept=True, optimizer="adam", lr=None, epochs=None, batch_size=None,
                  shuffle=True, validation=0.0, standardize=True, dtype="float64", seed=None,
                  tol=None, init="zeros", engine="auto", device="cpu", optimizer_options=None,
                  precondition=None, patience=None, complete_options=False):
    """Validate every option and fill in the defaults; see :func:`torchlinreg.fit`.

    ``complete_options``: ``optimizer_options`` are a previous fit's, defaults included
    (resuming): they are taken as they are, without today's defaults.
    """
    name, optimizer_class = resolve_optimizer(optimizer)
    given = dict(optimizer_options or {})
    check_options(optimizer_class, given)
    options = given if complete_options else \
        {**default_options(name, optimizer_class, given), **given}
    torch_dtype = resolve_dtype(dtype)
    batch_size = None if batch_size is None else as_int(batch_size, "batch_size", 1)
    if batch_size is not None and optimizer_class is torch.optim.LBFGS:
        raise OptionError("L-BFGS needs the full batch; use batch_size=None or another optimizer.")
    if init not in INITS:
        raise OptionError(f"init must be one of {list(INITS)}; got {init!r}.")
    if not isinstance(engine, str) or engine not in ENGINES:
        raise OptionError(f"engine must be one of {list(ENGINES)}; got {engine!r}.")
    mode = "full_batch" if batch_size is None else "minibatch"
    precondition = _precondition(precondition, _flag(standardize, "standardize"))
    validation = _check_validation(validation)
    return FitSettings(
        intercept=_flag(intercept, "intercept"),
        optimizer=name,
        lr=_positive_float(default_lr(name) if lr is None else lr, "lr"),
        epochs=as_int(DEFAULT_EPOCHS[mode] if epochs is None else epochs, "epochs", 1),
        batch_size=batch_size,
        shuffle=_flag(shuffle, "shuffle"),
        validation=validation,
        standardize=precondition != "none",
        dtype=str(torch_dtype).replace("torch.", ""),
        seed=fresh_seed() if seed is None else as_int(seed, "seed", 0, 2 ** 63 - 1),
        tol=_default_tol(torch_dtype, name, precondition, ENGINES[engine]) if tol is None
        else _non_negative(tol, "tol"),
        init=init,
        engine=ENGINES[engine],
        device=resolve_device(device),
        optimizer_options=options,
        optimizer_class=optimizer_class,
        precondition=precondition,
        patience=_check_patience(patience, validation),
    )


def _check_patience(patience, validation):
    """Early stopping's patience: None (off), or updates without a new validation low."""
    if patience is None:
        return None
    patience = as_int(patience, "patience", 1)
    if isinstance(validation, float) and validation == 0:
        raise OptionError("patience stops on the validation loss, which needs validation data: "
                          "give validation=0.2 (a fraction held out) or (X_valid, y_valid).")
    return patience


PRECONDITIONERS = ("qr", "standardize", "none")


def _precondition(precondition, standardize):
    """The preconditioner: ``"qr"`` by default, ``"none"`` for ``standardize=False``."""
    if precondition is None:
        return "qr" if standardize else "none"
    if not isinstance(precondition, str) or precondition not in PRECONDITIONERS:
        raise OptionError(f"precondition must be one of {list(PRECONDITIONERS)}; "
                          f"got {precondition!r}.")
    if not standardize and precondition != "none":
        raise OptionError(f"standardize=False asks for the raw columns, but precondition="
                          f"{precondition!r} works on standardized ones; give one of the two "
                          "(precondition='none' is standardize=False).")
    return precondition


def _non_negative(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise OptionError(f"{name} must be a non-negative number; got {value!r}.")
    return float(value)


def default_tol(settings):
    """The ``tol`` a fit of these settings has when none is given."""
    return _default_tol(getattr(torch, settings.dtype), settings.optimizer, settings.precondition,
                        settings.engine)


def _default_tol(dtype, optimizer_name, precondition="standardize", engine="gram"):
    # (The autograd engine's gradients are sums over the rows, whose rounding
    # stays above 1e-14 of the start.)
    if precondition == "qr" and engine == "gram" and dtype in QR_TOL:
        return QR_TOL[dtype]
    if dtype == torch.float32:
        return FLOAT32_TOL_BY_OPTIMIZER.get(optimizer_name, DEFAULT_TOL[dtype])
    return DEFAULT_TOL[dtype]
