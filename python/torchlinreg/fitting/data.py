"""A saved fit and its training rows: loading with the data, and checking it is the same.

``torchlinreg.load(path, X=X, y=y)`` reads the file
(:mod:`torchlinreg.results.saving`) and gives the fit its training rows
back, split off again by the saved seed and checked against the saved hash.
"""
import torch

from ..errors import InputError
from ..inputs.arrays import as_design, as_response, as_weights, fingerprint, resolve_dtype
from ..inputs.rows import split_rows
from ..results.fit import LinearFit
from ..results.saving import read_parts


def load(path, X=None, y=None, weights=None):
    """Read a fit written by :meth:`LinearFit.save`, without executing any code.

    Give the training data back (``X``, ``y`` and ``weights`` as passed to
    ``fit()``; validation rows are split off again by the saved seed) to use
    ``compare()``, ``exact``, ``inference`` and ``summary()`` on a fit saved
    without ``include_data=True``; they are checked against the saved hash.
    A file that is not a torchlinreg fit, is damaged or was altered raises
    :class:`~torchlinreg.InputError`.
    """
    fit = load_with_r_object(path)[0]
    return fit if X is None else attach_data(fit, X, y, weights)


def load_with_r_object(path):
    """``(fit, r_object)`` of a saved file: the R package's part too (None if saved from Python)."""
    parts, r_object = read_parts(path)
    return LinearFit(**parts), r_object


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
    """A copy of a loaded fit with its training data, after checking they are the same."""
    if y is None:
        raise InputError("give both X and y (and weights if the fit used them).")
    data = training_rows(fit.settings, X, y, weights)
    check_same_data(fit, data)
    return fit._with(train_data=data)


def check_same_data(previous, data):
    """Raise unless ``data`` (training ``X, Y, w``) are those ``previous`` was fitted on."""
    expected = previous.fingerprint
    if expected is None or fingerprint(data) == expected:
        return
    X, Y, _ = data
    raise InputError(
        f"these are not the data the fit was trained on: it used {len(previous.train_index)} "
        f"training rows of {len(previous.feature_names)} columns and {len(previous.output_names)} "
        f"output(s), here there are {X.shape[0]} rows of {X.shape[1]} columns and {Y.shape[1]} "
        "output(s), or the values differ. Pass the same X, y, weights and validation.")
