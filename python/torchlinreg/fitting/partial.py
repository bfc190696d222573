"""``partial_fit``: one more pass of steps over new rows, from where a fit stopped.

For data that arrive in pieces (scikit-learn's ``partial_fit``). The first
piece fixes what every later one is read with: the standardization (the
parameters live on its scale), the aliased columns and the options. Each
call runs one epoch of minibatch steps over the rows given (one full-batch
step without ``batch_size``), continuing the model, the optimizer state and
the random generator, so the history goes on row after row.

The fit keeps no rows: it keeps the moments of the rows given, so that
``inference``, ``summary()``, ``exact`` and ``compare()`` describe them (as
a fit from files does). A row given in several calls counts once per call:
after several passes over the same rows, ``nobs`` and the standard errors
are those of the repeated rows, not of the distinct ones.
"""
import warnings

import numpy as np
import torch

from ..engine.moments import Moments, checked_sums, common_unit, loss_units, moments, restrict
from ..engine.objective import GramObjective
from ..engine.preconditioning import rotate_quadratic
from ..engine.quadratic import Quadratic
from ..engine.settings import make_settings
from ..engine.training import Schedule, train
from ..errors import ConvergenceWarning, DivergenceError, OptionError, ShapeError
from ..inputs.arrays import as_design, as_response, as_weights, resolve_dtype
from ..results.statistics import TrainingStatistics
from .finish import finish_fit
from .fit import check_batch_size, fit
from .resume import restore_training


def partial_fit(previous, X, y, weights=None, **options):
    """One pass over ``(X, y)`` continuing ``previous`` (None: start a fit on them).

    ``options`` are :func:`torchlinreg.fit`'s, for the first piece only
    (``validation`` must stay 0: there is no held-out part of a stream).
    Returns a new :class:`~torchlinreg.LinearFit`; ``previous`` is unchanged.
    """
    if previous is None:
        return _first_piece(X, y, weights, options)
    if options:
        raise OptionError("partial_fit takes its options from the first piece; got "
                          f"{sorted(options)} again.")
    if previous._statistics is None:
        previous = _as_first_piece(previous)
    return _next_piece(previous, X, y, weights)


def _as_first_piece(previous):
    """A fit made by :func:`torchlinreg.fit` on rows in memory, as the first piece of a stream:
    the moments of its training rows (it held none out) take the place of the rows."""
    if previous.n_valid:
        raise OptionError(
            "partial_fit continues a fit that held no rows out: this one holds "
            f"{previous.n_valid} out for validation, and a stream has no held-out part. "
            "Start the stream with partial_fit(None, X, y, ...), or fit with validation=0.")
    X, Y, w = previous._training_data()
    return previous._with(train_data=None, train_index=None, valid_index=None,
                          statistics=TrainingStatistics(moments(X, Y, w),
                                                        previous.settings["intercept"]),
                          n_train=X.shape[0], n_valid=0)


def _first_piece(X, y, weights, options):
    if options.get("validation", 0) != 0:
        raise OptionError("partial_fit has no held-out rows: leave validation at 0.")
    if options.get("engine", "auto") == "autograd":
        raise OptionError("partial_fit runs on the sufficient-statistics engine; "
                          "leave engine at 'auto'.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # one pass is not meant to converge
        first = fit(X, y, weights=weights, **{**options, "epochs": 1, "tol": 0.0})
    return _as_first_piece(first)


def _next_piece(previous, X, y, weights):
    settings = _settings(previous)
    dtype = resolve_dtype(settings.dtype)
    design = as_design(X, dtype)
    if design.values.shape[1] != len(previous.feature_names):
        raise ShapeError(f"X has {design.values.shape[1]} columns; the fit has "
                         f"{len(previous.feature_names)} ({previous.feature_names}).")
    n = design.values.shape[0]
    response = as_response(y, n, dtype)
    if response.values.shape[1] != len(previous.output_names):
        raise ShapeError(f"y has {response.values.shape[1]} outputs; the fit has "
                         f"{len(previous.output_names)}.")
    response.names, response.one_output = previous.output_names, previous._one
    w = as_weights(weights, n, dtype)
    check_batch_size(settings, n)
    X, Y = design.values, response.values
    aliased = torch.as_tensor(np.asarray(previous.aliased, dtype=bool))
    piece = moments(X, Y, w)
    quadratic = Quadratic.from_moments(restrict(piece, ~aliased), previous.scaler,
                                       settings.intercept)
    if previous.scaler.rotation is not None:  # the QR preconditioner's coordinates
        quadratic = rotate_quadratic(quadratic, previous.scaler.rotation, settings.intercept)
    columns = None if bool((~aliased).all()) else ~aliased
    objective = GramObjective(quadratic, n, (X, Y, w, None, columns), previous.scaler)
    generator = torch.Generator()
    model, optimizer, start = restore_training(previous, settings, generator)
    # One more step or epoch; tol 0 so the pass is made whatever the gradient.
    schedule = Schedule(start.n_iter + 1, 0.0, settings.batch_size, settings.shuffle, generator)
    loss_scale, exponent = loss_units(previous.scaler.y_scale)
    trace = train(model, optimizer, objective, None, schedule, loss_scale, verbose=False,
                  start=start, loss_exponent=exponent)
    seen = _combined(previous._statistics.moments, piece)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            return finish_fit(model, optimizer, trace, generator, previous.scaler, aliased,
                              previous.feature_names, response, settings, train_data=None,
                              train_index=None, valid_index=None,
                              statistics=TrainingStatistics(seen, settings.intercept), n_valid=0)
        except DivergenceError as error:
            spread = _spread_in_first_scale(X, Y, previous.scaler, aliased)
            if spread <= _FAR:
                raise
            raise DivergenceError(
                f"this piece's values lie up to {spread:.3g} standard deviations of the first "
                "piece from its centre, and partial_fit steps on the first piece's "
                "standardization, so the loss diverged (a smaller lr only slows that down). "
                "Give the first piece rows representative of the whole data, or fit all the "
                "rows at once (torchlinreg.fit, or fit_files for files).",
                step=error.step, last_finite_loss=error.last_finite_loss,
                suggested_lr=error.suggested_lr, history=error.history) from error


# A piece whose values lie this many of the first piece's standard deviations from its
# centre is the cause, rather than the learning rate, when the steps diverge on it.
_FAR = 1e3


def _spread_in_first_scale(X, Y, scaler, aliased):
    """The largest ``|value - centre| / scale`` of the piece's columns and responses, in the
    first piece's standardization (``inf`` where it overflows)."""
    kept = ~aliased.numpy()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        x = np.abs((X.numpy()[:, kept] - scaler.x_center.numpy()[kept])
                   / scaler.x_scale.numpy()[kept])
        y = np.abs((Y.numpy() - scaler.y_center.numpy()) / scaler.y_scale.numpy())
    values = np.concatenate([x.ravel(), y.ravel()])
    return float(np.nanmax(values)) if values.size else 0.0


def _settings(previous):
    """The first piece's :class:`FitSettings`, with ``epochs`` the passes made so far."""
    given = dict(previous.settings)
    if not isinstance(given.get("optimizer"), str) or previous._state is None:
        raise OptionError("partial_fit continues a fit made by partial_fit.")
    given["epochs"] = max(previous.n_iter, 1) + 1
    return make_settings(**{name: given[name] for name in (
        "intercept", "optimizer", "lr", "epochs", "batch_size", "shuffle", "standardize",
        "dtype", "seed", "tol", "init", "engine", "device", "optimizer_options")
        if name in given}, precondition=given.get("precondition"))


def _combined(a, b):
    """The moments of the rows of ``a`` and of ``b`` together, about ``a``'s centre, in
    units both hold (:func:`~torchlinreg.engine.moments.common_unit`: a piece of far larger
    values than the pieces before sets its columns' units)."""
    unit = common_unit(a, b)
    a = a.in_units(unit)
    b = b.in_units(unit).shifted(a.center)
    return checked_sums(Moments(
        a.n_rows + b.n_rows, a.n_features, a.total + b.total, a.center, a.first + b.first,
        a.second + b.second, a.n_positive + b.n_positive, unit=a.unit,
        log_weight_sum=a.log_weight_sum + b.log_weight_sum))
