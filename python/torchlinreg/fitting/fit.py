"""``fit()``: from user data to a :class:`LinearFit`.

The path reads straight: validate → drop aliased columns → split →
standardize → train → map back to the original scale.
"""

import inspect
import warnings

import numpy as np
import torch

from ..engine.autograd import _autograd_splits
from ..engine.devices import on
from ..engine.model import LinearModel, initial_parameters
from ..engine.moments import NonFiniteSums, loss_units
from ..engine.objective import build_objectives
from ..engine.optimizers import make_optimizer
from ..engine.settings import make_settings
from ..engine.training import Schedule, train
from ..errors import OptionError, ScaleWarning, ShapeError
from ..inputs.arrays import as_design, as_response, as_weights, check_has_rows, resolve_dtype
from ..inputs.rows import split_rows
from ..inputs.torch_data import is_torch_data, read_torch_data
from .finish import finish_fit


def fit(X, y, *, intercept=True, optimizer="adam", lr=None, epochs=None, batch_size=None,
        shuffle=True, validation=0.0, standardize=True, dtype="float64", seed=None, tol=None,
        init="zeros", weights=None, engine="auto", device="cpu", verbose=None, resume=None,
        precondition=None, patience=None, **optimizer_options):
    """Fit ``y ≈ X Wᵀ + b`` by gradient descent on the mean squared error.

    Parameters
    ----------
    X : array-like or pandas.DataFrame, shape (n, p), or torch Dataset or DataLoader
        Numeric predictors; DataFrame column names become coefficient names.
        A torch ``Dataset``/``DataLoader`` of ``(x, y)`` pairs is read once into
        tensors (pass ``y=None``); a ``DataLoader`` lends its ``batch_size``.
    y : array-like, shape (n,) or (n, k)
        One output, or several fitted side by side (one row of ``W`` each).
    intercept : bool, default True
        Fit the bias ``b``; False is ``lm(y ~ x - 1)``.
    optimizer : str or torch.optim.Optimizer subclass, default "adam"
        "sgd", "adam", "adamw", "rmsprop", "adagrad" or "lbfgs".
    lr : float, optional
        Learning rate; defaults per optimizer (0.1 for Adam and SGD).
    epochs : int, optional
        At most this many steps (full batch, default 10,000) or passes over
        the data (minibatches, default 100).
    batch_size : int, optional
        None for full batch; else minibatches of this many rows from a
        seeded permutation each epoch.
    shuffle : bool, default True
        Draw a new permutation each epoch; False keeps the row order.
    validation : float or (X_valid, y_valid), default 0
        A fraction of rows held out by a seeded split, or explicit data. Its
        loss is tracked at every step; it affects the fit only through
        ``patience``.
    precondition : {"qr", "standardize", "none"}, optional
        What the optimizer works on. "qr" (the default): the coefficients
        of the orthonormalized, centred and standardized design, so the loss
        it sees has an identity Hessian whatever the correlations and every
        design ``lm()`` solves converges; "standardize": z-scored columns and
        response (the tutorials' choice, their curves); "none": the raw
        columns (``standardize=False``). Results are reported on the
        original scale in every case.
    standardize : bool, default True
        Optimize on z-scored columns and target; coefficients are reported
        on the original scale too.
    dtype : {"float64", "float32"}, default "float64"
    seed : int, optional
        Seeds the split, the batches and random starts; drawn and recorded in
        ``settings`` when omitted.
    tol : float, optional
        Stop when the gradient norm falls below ``tol`` times its start
        (default 1e-12 in float64; 3e-8 in float32, 3e-7 for SGD).
    init : {"zeros", "uniform"}, default "zeros"
        Starting values: zeros (as the ultramarathon tutorial) or
        ``torch.nn.Linear``'s uniform draw.
    weights : array-like, shape (n,), optional
        Observation weights, as ``lm(weights = )``.
    engine : {"auto", "gram", "autograd"}, default "auto"
        "gram" (alias "sufficient") computes ``XᵀX``, ``Xᵀy`` and ``yᵀy`` once
        and runs each full-batch step in ``O(p²)``, minibatches with closed-form
        gradients; "autograd" is the tutorials' forward/``backward()`` loop.
        Both give the same trajectory up to rounding; "auto" picks "gram".
        The engine used is ``fit.engine``.
    device : {"cpu", "cuda", "cuda:N", "auto"}, default "cpu"
        Where the rows are processed ("auto": a CUDA GPU when torch sees one).
        On a GPU the statistics, the minibatch gradients or the autograd
        passes run there; results come back to the CPU. ``settings["device"]``
        records the device used.
    verbose : bool, optional
        A progress bar (needs ``tqdm``): None shows it only in a terminal
        and after the first second; True always; False never.
    resume : LinearFit, optional
        Continue this fit (from ``fit()`` or :func:`torchlinreg.load`) where it
        stopped, with its optimizer state: ``epochs`` then counts further steps
        (default: the previous limit again) and the history goes on from the
        previous one. Pass the same data; options left out keep the previous
        values, and one that differs (except ``epochs``, ``tol``) is an error.
    patience : int, optional
        Early stopping: stop when the validation loss has set no new low for
        this many steps (full batch) or epochs (minibatch), with
        ``stop_reason="early_stopping"``; the fit keeps its last coefficients
        (the history shows the best). Needs ``validation``.
    **optimizer_options
        Passed to the torch optimizer (``momentum``, ``betas``, ...).

    Returns
    -------
    LinearFit

    Raises
    ------
    InputError, ShapeError, OptionError
        For data or options that cannot be used; the message says what to change.
    DivergenceError
        When the loss becomes non-finite or explodes; try a smaller ``lr``.
    """
    if is_torch_data(X):
        X, y, loader_batch_size = read_torch_data(X, y)
        batch_size = loader_batch_size if batch_size is None else batch_size
    options = dict(intercept=intercept, optimizer=optimizer, lr=lr, epochs=epochs,
                   batch_size=batch_size, shuffle=shuffle, validation=validation,
                   standardize=standardize, dtype=dtype, seed=seed, tol=tol, init=init,
                   engine=engine, device=device, optimizer_options=optimizer_options,
                   precondition=precondition, patience=patience)
    if resume is None:
        settings = make_settings(**options)
    else:
        from .resume import resume_settings
        settings = resume_settings(resume, options, _DEFAULTS)
    torch_dtype = resolve_dtype(settings.dtype)
    # The moments engine's pass over the rows shows NaN or infinite values (its sums are
    # then not finite), so the rows are not read once more beforehand to look for them.
    design = as_design(X, torch_dtype, check_finite=settings.engine != "gram")
    n_rows = design.values.shape[0]
    response = as_response(y, n_rows, torch_dtype)
    w = as_weights(weights, n_rows, torch_dtype)
    generator = torch.Generator().manual_seed(settings.seed)
    parts = _split(design, response, w, settings, generator)
    try:
        return _fit_parts(parts, design.names, response, settings, generator, verbose, resume)
    except NonFiniteSums:
        design.check_finite()  # NaN or infinite values: the error naming their columns
        raise


# fit()'s option defaults, for telling which options a resumed fit was given.
_DEFAULTS = {name: ({} if name == "optimizer_options" else p.default)
             for name, p in inspect.signature(fit).parameters.items()
             if name not in ("X", "y", "weights", "verbose", "resume")}


def _split(design, response, w, settings, generator):
    """Training and validation ``(X, Y, w)`` and the row indices of each."""
    n_rows = design.values.shape[0]
    if isinstance(settings.validation, float):
        train_index, valid_index = split_rows(n_rows, settings.validation, generator)
        take = lambda t, idx: None if t is None else t[idx]  # noqa: E731
        train = (design.values, response.values, w) if len(valid_index) == 0 else \
            tuple(take(t, train_index) for t in (design.values, response.values, w))
        valid = tuple(take(t, valid_index) for t in (design.values, response.values, w))
        if len(valid_index) == 0:
            valid = None
        return train, valid, train_index.numpy(), valid_index.numpy()
    X_valid, y_valid = settings.validation
    valid_design = as_design(X_valid, design.values.dtype, what="X_valid")
    valid_response = as_response(y_valid, valid_design.values.shape[0], design.values.dtype, "y_valid")
    if valid_design.values.shape[1] != design.values.shape[1] or \
            valid_response.values.shape[1] != response.values.shape[1]:
        raise ShapeError(f"validation data has {valid_design.values.shape[1]} columns and "
                         f"{valid_response.values.shape[1]} outputs; the training data has "
                         f"{design.values.shape[1]} and {response.values.shape[1]}.")
    train = (design.values, response.values, w)
    valid = (valid_design.values, valid_response.values, None)
    return train, valid, np.arange(n_rows), np.arange(0)


def _fit_parts(parts, feature_names, response, settings, generator, verbose=None, resume=None):
    (X, Y, w), valid, train_index, valid_index = parts
    n_train, n_features = X.shape
    check_has_rows(n_train)  # as lm(): more coefficients than rows alias the rest
    check_batch_size(settings, n_train)
    # The objectives work on the rows where the fit runs; the result keeps the CPU rows.
    rows = on(settings.device, X, Y, w)
    valid_rows = None if valid is None else on(settings.device, *valid)
    if settings.engine == "gram":
        scaler, train_split, valid_split, aliased = build_objectives(
            *rows, valid_rows, settings.intercept, settings.precondition)
    else:
        scaler, train_split, valid_split, aliased = _autograd_splits(*rows, valid_rows, settings)
    if not settings.standardize:
        _warn_scales(X, ~aliased, settings.intercept, feature_names)
    if resume is None:
        model, optimizer, trace = run_training(train_split, valid_split, scaler, aliased,
                                               Y.shape[1], settings, generator, verbose)
    else:
        from .resume import continue_training
        model, optimizer, trace = continue_training(resume, settings, (X, Y, w), aliased,
                                                    train_split, valid_split, scaler, generator,
                                                    verbose)
    return finish_fit(model, optimizer, trace, generator, scaler, aliased, feature_names,
                      response, settings, objective=train_split, train_data=(X, Y, w),
                      train_index=train_index, valid_index=valid_index)


def check_batch_size(settings, n_train):
    """Raise unless the minibatch size fits the training rows."""
    if settings.batch_size is not None and settings.batch_size > n_train:
        raise OptionError(f"batch_size {settings.batch_size} is larger than the {n_train} "
                          "training rows; use a smaller batch_size or None for full batch.")


def run_training(train_split, valid_split, scaler, aliased, n_outputs, settings, generator,
                 verbose=None):
    """A fresh model and optimizer trained on the objectives: ``(model, optimizer, trace)``."""
    start = initial_parameters(settings.init, n_outputs, int((~aliased).sum()),
                               settings.intercept, resolve_dtype(settings.dtype), generator)
    model = LinearModel(*on(settings.device, *start))
    optimizer = make_optimizer(settings.optimizer_class, model.parameters(), settings.lr,
                               settings.optimizer_options)
    schedule = Schedule(settings.epochs, settings.tol, settings.batch_size, settings.shuffle,
                        generator, settings.patience)
    loss_scale, exponent = loss_units(scaler.y_scale)
    trace = train(model, optimizer, train_split, valid_split, schedule, loss_scale, verbose,
                  loss_exponent=exponent)
    return model, optimizer, trace


# Columns whose scales differ by more than this make unstandardized gradient
# descent slow or unstable (the loss Hessian's condition number is the square).
SCALE_RATIO_WARNING = 1e3


def _warn_scales(X, kept, intercept, feature_names):
    """Warn when ``standardize=False`` leaves columns of hugely different scales."""
    if X.shape[0] == 0 or not bool(kept.any()):
        return
    rms = (torch.linalg.vector_norm(X, dim=0) / X.shape[0] ** 0.5).to(torch.float64)[kept]
    warn_scales(rms, [n for n, k in zip(feature_names, kept.tolist()) if k], intercept,
                stacklevel=5)


def warn_scales(rms, names, intercept, stacklevel):
    """:func:`_warn_scales` given the root mean square of each kept column.

    ``stacklevel`` points the warning at the user's call.
    """
    if intercept:
        rms, names = torch.cat([torch.ones(1, dtype=torch.float64), rms]), ["(Intercept)"] + names
    positive = rms > 0
    rms, names = rms[positive], [n for n, k in zip(names, positive.tolist()) if k]
    if len(names) < 2 or float(rms.max() / rms.min()) <= SCALE_RATIO_WARNING:
        return
    big, small = int(rms.argmax()), int(rms.argmin())
    warnings.warn(
        f"with standardize=False the columns differ in scale by a factor of "
        f"{float(rms[big] / rms[small]):.3g} ({names[big]!r}: {float(rms[big]):.3g}, "
        f"{names[small]!r}: {float(rms[small]):.3g}), so gradient descent may need very many "
        "steps or diverge; use standardize=True (the default), which reports coefficients "
        "on the original scale all the same.", ScaleWarning, stacklevel=stacklevel)
