"""Functions made for reticulate: the R package's only door into the core.

Every function takes plain values (R doubles are accepted where whole
numbers are meant), one numeric matrix in, and returns a ``dict`` of numpy
arrays, plain numbers, strings and dicts. No torch tensor crosses, and
nothing is 1-based: R adds 1 to row indices itself. The one object that
crosses is ``torch_lm_fit``'s ``python_fit`` (the :class:`LinearFit`, without
its training rows), which R only hands back: to ``torch_lm_fit(resume=)`` and
``save_fit``.

``torch_lm_files`` is ``torch_lm_fit`` for data in Parquet or CSV files, which
the core streams and does not keep: its result has no fitted values,
residuals or row indices, and its inference comes from the moments.

Each is named after the R function it serves: ``torch_lm_fit`` (R's
``torch_lm_fit()`` and ``torch_lm()``, which fits its model matrix with it,
as ``lm()`` with ``lm.fit()``), ``torch_lm_files``, ``predict_torch_lm``,
``confint_torch_lm``, ``compare_lm``, ``save_fit`` and ``load_fit``.

``call`` runs any of them and turns a Python exception into a plain
description (types and message), which R raises as a classed condition
without a Python traceback.
"""

import math
import warnings
from types import SimpleNamespace

import numpy as np

from ..engine.settings import as_int
from ..errors import DivergenceError
from ..fitting.data import load_with_r_object
from ..inputs.arrays import NamedColumns
from ..inputs.files import open_files
# fit is the name of save_fit()'s argument, as in R's save_fit(fit, path).
from ..fitting.fit import fit as fit_in_memory
from ..results import saving
from ..results.exact import ols
from ..results.inference import (Inference, f_p_values, fit_measures, model_sum_of_squares,
                                 prediction_intervals, t_p_values)
from ..results.summary import fit_description
from ..scale.streaming import fit_files as stream_files
from .compare import comparison
from .sigint import sigint_to_python


__all__ = ["torch_lm_fit", "torch_lm_files", "torch_lm_files_columns", "predict_torch_lm",
           "confint_torch_lm", "p_values_torch_lm", "compare_lm", "save_fit", "load_fit",
           "call"]


def _names(names, count, prefix):
    if names is None:
        return [f"{prefix}{j + 1}" for j in range(count)]
    names = [names] if isinstance(names, str) else [str(n) for n in names]
    if len(names) != count:
        raise ValueError(f"got {len(names)} names for {count} columns.")
    return names


def _matrix(values, what, without=None):
    """``values`` as a float64 matrix, without column ``without`` if given (a row-major
    copy only where R lent its memory read-only)."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise ValueError(f"{what} must be a matrix; got shape {array.shape}.")
    if without is not None:
        column = as_int(without, "intercept_column", 0)
        if column >= array.shape[1]:
            raise ValueError(f"intercept_column is {column} but {what} has {array.shape[1]} "
                             "columns.")
        array = array[:, 1:] if column == 0 else np.delete(array, column, axis=1)
    if not array.flags.writeable:
        # reticulate lends R's memory read-only; torch refuses to wrap that,
        # so take the one copy here, already in the row-major order torch uses.
        array = np.array(array, order="C")
    return array


def torch_lm_fit(x, y, *, names=None, response_names=None, weights=None, offset=None,
               verbose=False, resume=None, hold_warnings=False, intercept_column=None,
               **options):
    """Fit ``y ~ x`` and return every number R needs, as plain values.

    Parameters
    ----------
    x : numeric matrix (n, p)
        The design *without* the intercept column (``intercept`` adds it),
        unless ``intercept_column`` says which column it is.
    y : numeric vector (n,) or matrix (n, k)
    names, response_names : list of str, optional
        Column names of ``x`` and ``y``; they name aliased columns and the
        history's columns.
    weights : numeric vector (n,), optional
    offset : numeric vector (n,), optional
        A known part of the linear predictor, as ``lm(offset = )``: fitted
        to ``y - offset``, added back to the fitted values.
    resume : LinearFit, optional
        The ``python_fit`` of an earlier result: continue its optimizer
        (``epochs`` further steps), as ``fit(..., resume=)``.
    intercept_column : int, optional
        The 0-based column of ``x`` holding the intercept's ones, left out
        here: R sends its whole model matrix, with no copy made without it
        (the first column is left out without a copy here too).
    hold_warnings : bool
        Return the warnings the fit raised as ``warnings`` (a list of
        ``{"type", "message"}``) instead of letting Python print them; R's
        progress bar runs a fit in chunks and reports only the last chunk's.
    **options
        The options of :func:`torchlinreg.fit` by name (``intercept``,
        ``optimizer``, ``lr``, ``epochs``, ..., optimizer options such as
        ``momentum``); whole numbers may come as R's doubles.

    Returns
    -------
    dict
        ``coefficients`` (k, m) with the intercept first and NaN where
        aliased; ``aliased`` (m,); ``term_names``; ``response_names``;
        ``fitted_values`` and ``residuals`` (n, k) on every row;
        ``train_index`` and ``valid_index`` (0-based); ``history`` (a dict
        of columns); ``convergence`` (``converged``, ``n_iter``, ``n_steps``,
        ``stop_reason``, ``engine`` and ``description``, the sentence of
        :func:`~torchlinreg.results.summary.fit_description`); ``settings``;
        ``inference`` (without p-values: :func:`p_values_torch_lm` gives them);
        ``python_fit``, the :class:`LinearFit` itself (without its training
        rows, only their hash), which R keeps for ``resume`` and ``save_fit``.
    """
    X = _matrix(x, "x", without=intercept_column)
    Y = _matrix(y, "y")
    offset = None if offset is None else _matrix(offset, "offset")
    target = Y if offset is None else Y - offset
    design = NamedColumns(X, _names(names, X.shape[1], "x"))
    outputs = _names(response_names, Y.shape[1], "y")
    response = NamedColumns(target if Y.shape[1] > 1 else target[:, 0], outputs)
    with warnings.catch_warnings(record=bool(hold_warnings)) as held:
        if hold_warnings:
            warnings.simplefilter("always")
        result = fit_in_memory(
            design, response, weights=None if weights is None else np.array(weights, np.float64),
            verbose=verbose, resume=resume, **_from_r(options))
    values = _fit_values(result, X, Y, weights, offset)
    if hold_warnings:
        values["warnings"] = [{"type": w.category.__name__, "message": str(w.message)}
                              for w in held]
    # R keeps the fit only to save or resume it: the hash of the training
    # rows is all that needs, so the rows themselves are let go.
    values["python_fit"] = result._with(train_data=None)
    return values


def torch_lm_files(paths, response, predictors=None, *, format=None, batch_rows=None,
              weights=None, verbose=False, **options):
    """Fit on Parquet or CSV files with :func:`torchlinreg.fit_files`, for R.

    Parameters
    ----------
    paths : str or list of str
        Files, directories or glob patterns.
    response : str or list of str
        The response column(s).
    predictors : list of str, optional
        The predictor columns; every other column (but ``weights``) when None.
    weights : str, optional
        The name of a column of observation weights.
    batch_rows : whole number (an R double accepted)
    format, verbose, **options
        As for :func:`torchlinreg.fit_files` (the options of :func:`torchlinreg.fit`).

    Returns
    -------
    dict
        What :func:`torch_lm_fit` returns except ``fitted_values``,
        ``residuals``, ``train_index`` and ``valid_index`` (the rows are not
        kept): ``n_train`` and ``n_valid`` count them instead. The
        inference, ``residual_cov`` included, comes from the training rows'
        moments.
    """
    result = stream_files(paths, response, predictors, format=format,
                          batch_rows=batch_rows, weights=weights, verbose=verbose,
                          **_from_r(options))
    values = _result_values(result, _inference_values(result.inference,
                                                      _moment_residual_products(result)))
    values.update(n_train=int(result.n_train), n_valid=int(result.n_valid), python_fit=result,
                  # Σ log w over the training rows of positive weight, for R's logLik()
                  log_weight_sum=float(result._statistics.moments.log_weight_sum))
    return values


def torch_lm_files_columns(paths, format=None):
    """The columns the files share, in their order: R's ``terms()`` expands ``.`` over them."""
    return list(open_files(paths, format).columns)


def _moment_residual_products(result):
    """``RᵀWR`` between outputs from the moments of a fit that did not keep its rows."""
    coefficients = result.coefficients()
    intercept = bool(result.settings["intercept"])
    bias = coefficients[:, 0] if intercept else np.zeros(coefficients.shape[0])
    weight = coefficients[:, int(intercept):]
    return result._statistics.residual_products(weight, bias).numpy()


def _fit_values(result, X, Y, weights, offset=None):
    coefficients = np.nan_to_num(result.coefficients())  # aliased terms count as 0
    intercept = bool(result.settings["intercept"])
    # X @ Wᵀ + b: no [1, X] copy of the (n, p) design.
    fitted = X @ coefficients[:, int(intercept):].T
    if intercept:
        fitted += coefficients[:, 0]
    if offset is not None:
        fitted = fitted + offset
    residuals = Y - fitted
    train = result.train_index
    w = None if weights is None else np.array(weights, dtype=np.float64)[train]
    weighted = residuals[train] * np.sqrt(np.ones(len(train)) if w is None else w)[:, None]
    with np.errstate(over="ignore"):  # inf: residuals beyond about 1e154, squares beyond float64
        products = weighted.T @ weighted
    inference = _inference_values(result.inference, products)
    if offset is not None:
        _offset_fit_measures(inference, fitted[train], w, intercept)
    return {
        **_result_values(result, inference),
        "fitted_values": fitted,
        "residuals": residuals,
        "train_index": np.asarray(result.train_index, dtype=np.int64),
        "valid_index": np.asarray(result.valid_index, dtype=np.int64),
    }


def _aliased_terms(result):
    """Aliased flags over all terms, the intercept (never aliased) first when present."""
    intercept = bool(result.settings["intercept"])
    return np.concatenate([[False] * intercept, result.aliased]).astype(bool)


def _result_values(result, inference):
    """The numbers of a fit that do not depend on holding its rows."""
    return {
        "coefficients": result.coefficients(),
        "aliased": _aliased_terms(result),
        "term_names": result.term_names,
        "response_names": result.output_names,
        "history": result.history_columns(),
        "convergence": {"converged": bool(result.converged), "n_iter": int(result.n_iter),
                        "n_steps": int(result.n_steps), "stop_reason": result.stop_reason,
                        "engine": result.engine, "description": fit_description(result)},
        "settings": _plain_settings(result.settings),
        "inference": inference,
    }


def _offset_fit_measures(values, fitted, w, intercept):
    """R², adjusted R² and F as ``summary.lm`` computes them with an offset.

    ``summary.lm`` takes the model sum of squares from the fitted values
    *including* the offset, while the core fitted ``y - offset``.
    """
    w = np.ones(fitted.shape[0]) if w is None else w
    rss = values["sigma"] ** 2 * values["df_residual"]
    values["r_squared"], values["adj_r_squared"], values["f_statistic"] = fit_measures(
        model_sum_of_squares(fitted, w, intercept), rss, values["n_obs"], values["rank"],
        intercept)


# R's integers stop at 2^31 - 1 and its doubles hold whole numbers exactly only up to
# 2^53, while a seed is any whole number below 2^63 (a fit made in Python draws one of
# 63 bits): R is given such a seed as its decimal digits, and gives them back.
_R_INTEGER_MAX = 2 ** 31 - 1


def _from_r(options):
    """``options`` from R with a seed given as its decimal digits made a whole number."""
    seed = options.get("seed")
    if isinstance(seed, str) and seed.isdigit():
        return {**options, "seed": int(seed)}
    return options


def _plain_settings(settings):
    out = dict(settings)
    if isinstance(out.get("seed"), int) and out["seed"] > _R_INTEGER_MAX:
        out["seed"] = str(out["seed"])
    out["optimizer_options"] = {k: (list(v) if isinstance(v, tuple) else v)
                                for k, v in out.get("optimizer_options", {}).items()}
    return out


def _inference_values(inference, residual_products):
    """``inference`` as plain values; ``residual_products`` is ``RᵀWR`` ``(k, k)`` on the
    training rows."""
    k = len(inference.output_names)
    # The residual covariance between outputs, as R's estVar() for mlm's vcov().
    df = inference.df_residual
    residual_cov = residual_products / df if df > 0 else np.full((k, k), np.nan)
    return {
        "std_error": inference.std_error,
        "t_value": inference.t_value,
        "sigma": np.asarray(inference.sigma, dtype=np.float64),
        "r_squared": np.asarray(inference.r_squared, dtype=np.float64),
        "adj_r_squared": np.asarray(inference.adj_r_squared, dtype=np.float64),
        "f_statistic": np.asarray(inference.f_statistic, dtype=np.float64),
        "f_numdf": int(inference.f_df[0]),
        "f_dendf": int(inference.f_df[1]),
        "df_residual": int(df),
        "rank": int(inference.rank),
        "n_obs": int(inference.n_obs),
        "cov_unscaled": np.asarray(inference.cov_unscaled, dtype=np.float64),
        # For predict_torch_lm: leverages about the training means (see prediction_intervals);
        # no centre (empty) without an intercept.
        "center": np.asarray([] if inference.center is None else inference.center, np.float64),
        "weight_total": float(inference.weight_total),
        # Beyond 2^±200 (empty where every unit is 1): the terms' units, and (AᵀWA)⁻¹ and
        # the centre in them, which predict_torch_lm uses (the data's may be beyond float64).
        **{name: np.asarray([] if value is None else value, np.float64) for name, value in (
            ("term_unit", inference.term_unit), ("cov_in_units", inference.cov_in_units),
            ("center_in_units", inference.center_in_units))},
        "vcov": np.stack([inference.vcov(i) for i in range(k)]),
        "residual_cov": residual_cov,
    }


def predict_torch_lm(x, coefficients, aliased, cov_unscaled, sigma, df_residual,
                   interval="none", level=0.95, pred_weights=1.0, center=None,
                   weight_total=None, term_unit=None, cov_in_units=None, center_in_units=None,
                   pred_var=None):
    """Predictions (and limits) for the design ``x`` from stored numbers.

    ``x`` includes the intercept column when the model has one; the other
    arguments are what :func:`torch_lm_fit` returned (``center`` and
    ``weight_total`` too, for a model with an intercept: without them a
    column far from zero loses precision in ``se_fit``; ``term_unit``,
    ``cov_in_units`` and ``center_in_units`` for columns beyond ``2^±200``, whose
    ``cov_unscaled`` may be beyond float64: without them ``se_fit`` is NaN there).
    ``df_residual`` may be ``inf`` (``predict.lm(scale = )``'s default ``df``), and
    ``pred_var`` the variance of each new observation (``predict.lm(pred.var = )``).
    Returns ``fit``, ``se_fit`` and, for an interval, ``lwr`` and ``upr``, each ``(n, k)``.
    """
    if interval not in ("none", "confidence", "prediction"):
        raise ValueError("interval must be 'none', 'confidence' or 'prediction'; "
                         f"got {interval!r}.")
    coefficients = _matrix(coefficients, "coefficients")
    if coefficients.shape[1] == 1 and np.asarray(aliased).size > 1:
        coefficients = coefficients.T
    kept = int(np.sum(~np.asarray(aliased, dtype=bool)))
    if term_unit is not None and np.size(term_unit):  # the leverages in the terms' units
        cov_unscaled, center = cov_in_units, center_in_units
        term_unit = np.asarray(term_unit, dtype=np.float64).reshape(-1)
    else:
        term_unit = None
    cov = np.asarray(cov_unscaled, dtype=np.float64).reshape(kept, kept)  # (0, 0) for y ~ 0
    # Rows of newdata with missing values (na.pass) predict NA, quietly.
    with np.errstate(invalid="ignore"):
        return prediction_intervals(_matrix(x, "x"), coefficients,
                                    np.asarray(aliased, dtype=bool).reshape(-1), cov,
                                    np.asarray(sigma, dtype=np.float64).reshape(-1),
                                    _degrees_of_freedom(df_residual), interval, float(level),
                                    np.asarray(pred_weights, dtype=np.float64),
                                    None if center is None or np.size(center) == 0
                                    else np.asarray(center, dtype=np.float64).reshape(-1),
                                    None if weight_total is None else float(weight_total),
                                    term_unit,
                                    None if pred_var is None
                                    else np.asarray(pred_var, dtype=np.float64))


def _degrees_of_freedom(df):
    """A whole number of degrees of freedom, or ``inf`` (a known residual scale)."""
    return math.inf if isinstance(df, float) and math.isinf(df) and df > 0 else \
        as_int(df, "df_residual", 0)


def p_values_torch_lm(t_value, df_residual, f_statistic, f_numdf, f_dendf):
    """``p_value`` (the shape of ``t_value``) and ``f_p_value`` (of ``f_statistic``), as
    :class:`Inference` computes them. The fits return none: R asks when a summary needs
    them, so that a fit does not import the distributions' module (scipy.special)."""
    with np.errstate(invalid="ignore"):
        return {"p_value": t_p_values(_matrix(t_value, "t_value"),
                                      as_int(df_residual, "df_residual")),
                "f_p_value": f_p_values(np.asarray(f_statistic, dtype=np.float64).reshape(-1),
                                        as_int(f_numdf, "f_numdf"), as_int(f_dendf, "f_dendf"))}


def confint_torch_lm(estimate, std_error, df_residual, level=0.95):
    """Confidence limits ``(k, m, 2)`` as :meth:`Inference.conf_int` computes them."""
    numbers = SimpleNamespace(estimate=_matrix(estimate, "estimate"),
                              std_error=_matrix(std_error, "std_error"),
                              df_residual=as_int(df_residual, "df_residual"))
    with np.errstate(invalid="ignore"):  # aliased coefficients: NA limits, quietly
        return Inference.conf_int(numbers, float(level))


def compare_lm(x, y, estimate, std_error, lm_estimate, lm_std_error, *, term_names,
               response_names, aliased, weights=None, offset=None, intercept_column=None):
    """R's ``compare_lm()`` table, built by :func:`torchlinreg.interop.compare.comparison`.

    Parameters
    ----------
    x : numeric matrix (n, m)
        ``lm()``'s model matrix (its training rows), the intercept column
        included; ``intercept_column`` (0-based) says which it is.
    y : numeric vector (n,) or matrix (n, k)
    estimate, std_error, lm_estimate, lm_std_error : numeric matrices (k, m)
        The fit's and ``lm()``'s, NA (NaN) where aliased.
    term_names, response_names : list of str
    aliased : logical vector (m,)
        The fit's aliased terms; the exact solution leaves them out too.
    weights, offset : numeric vectors (n,), optional

    Returns
    -------
    dict
        The table's columns by name (:data:`~torchlinreg.interop.compare.COLUMNS`),
        numbers as numpy arrays and names as lists of strings.
    """
    table = comparison(_names(term_names, len(aliased), "x"),
                       _names(response_names, _matrix(y, "y").shape[1], "y"),
                       _matrix(estimate, "estimate"), _matrix(std_error, "std_error"),
                       _matrix(lm_estimate, "lm_estimate"), _matrix(lm_std_error, "lm_std_error"),
                       _exact_coefficients(x, y, aliased, weights, offset, intercept_column))
    return {name: table[name].tolist() if table[name].dtype == object else table[name].to_numpy()
            for name in table.columns}


def _exact_coefficients(x, y, aliased, weights, offset, intercept_column):
    """Exact least squares ``(k, m)`` on the design ``x`` without its aliased columns."""
    X = _matrix(x, "x")
    Y = _matrix(y, "y") - (0 if offset is None else _matrix(offset, "offset"))
    kept = ~np.asarray(aliased, dtype=bool).reshape(-1)
    slopes = kept.copy()
    if intercept_column is not None:
        slopes[as_int(intercept_column, "intercept_column", 0)] = False
    solution = ols(X[:, slopes], Y, intercept=intercept_column is not None,
                   weights=None if weights is None else np.asarray(weights, dtype=np.float64))
    exact = np.full((Y.shape[1], X.shape[1]), np.nan)
    exact[:, slopes] = np.asarray(solution.coef).reshape(Y.shape[1], -1)
    if intercept_column is not None:
        exact[:, int(intercept_column)] = solution.intercept
    return exact


def save_fit(fit, path, r_object=None):
    """Write ``fit`` (a ``python_fit``) and R's part to exactly ``path``, in one atomic write.

    ``r_object`` is R's object as plain values (nested dicts, lists, strings,
    numbers and numpy arrays); it goes into the same ``.npz``, its arrays as
    arrays and the rest as JSON under ``"r_object"``, so the file still loads
    without running code, from Python (``torchlinreg.load``) as from R.
    Returns the path written.
    """
    return saving.save_fit(fit, path, r_object=r_object)


def load_fit(path):
    """Read a file :func:`save_fit` wrote: ``python_fit``, ``r_object`` (``None`` when
    the file was saved from Python) and the fit's ``description`` (for files saved
    before the R object kept it)."""
    fit, r_object = load_with_r_object(path)
    return {"python_fit": fit, "r_object": r_object, "description": fit_description(fit)}


def _error_values(error):
    types = [cls.__name__ for cls in type(error).__mro__
             if cls not in (BaseException, Exception, object)]
    out = {"types": types, "message": str(error) or types[0]}
    if isinstance(error, DivergenceError):
        out.update(step=int(error.step), last_finite_loss=float(error.last_finite_loss),
                   suggested_lr=float(error.suggested_lr),
                   history={c: error.history[c].to_numpy() for c in error.history.columns})
    return out


def call(name, kwargs=None, args=None, take_sigint=False):
    """Run ``name(*args, **kwargs)`` from this module for R.

    Returns ``{"value": ...}``, or ``{"error": {"types", "message", ...}}``
    when it raised: the exception's classes (most specific first) and its
    message, which R turns into a condition of class ``torchlinreg_error``.
    With ``take_sigint`` (R passes it), Ctrl-C during the call goes to
    Python (see :mod:`torchlinreg._interrupt`): a fit returns what it has,
    marked ``"interrupted"``; a call interrupted before it had anything to
    return gives the error type ``KeyboardInterrupt``.
    """
    if name not in __all__ or name == "call":
        return {"error": {"types": ["ValueError"], "message": f"no bridge function {name!r}."}}
    try:
        with sigint_to_python(take_sigint):
            value = globals()[name](*(args or []), **(kwargs or {}))
    except KeyboardInterrupt:
        what = "the fit" if name in ("torch_lm_fit", "torch_lm_files") else f"{name}()"
        return {"error": {"types": ["KeyboardInterrupt"],
                          "message": f"{what} was interrupted before it had anything to return."}}
    except Exception as error:  # noqa: BLE001 - every error goes back to R, typed
        return {"error": _error_values(error)}
    return {"value": value}
