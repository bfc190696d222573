"""Turning user data into tensors, once, at the edge.

Everything here validates: after these functions the numerical core trusts
its inputs. A design is always ``(n, p)`` and a response always ``(n, k)``,
so a ``[n]`` target can never broadcast against a ``[n, 1]`` prediction.
"""

import hashlib
import numbers
import sys
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError, OptionError, ShapeError


DTYPES = {"float64": torch.float64, "float32": torch.float32}


@dataclass
class Design:
    """A numeric design matrix and its column names.

    ``unchecked``: where :func:`as_design` left the check for NaN and infinite values to
    the caller (``check_finite=False``), the check, for :meth:`check_finite`."""

    values: torch.Tensor
    names: list
    unchecked: object = None

    def check_finite(self):
        """Raise the error NaN or infinite values get, where the check was left (else
        nothing: :func:`as_design` made it)."""
        if self.unchecked is not None:
            self.unchecked()


@dataclass
class Response:
    """A numeric response matrix ``(n, k)`` and its output names."""

    values: torch.Tensor
    names: list
    one_output: bool


@dataclass(frozen=True)
class NamedColumns:
    """A numeric array (``(n, p)``, or ``(n,)`` for one column) with its column names: taken
    as a DataFrame of those columns is (a Series for one), for callers that have the names
    but not pandas (R's bridge)."""

    values: np.ndarray
    names: list


def resolve_dtype(dtype):
    """Map ``"float64"``/``"float32"`` (or the torch dtypes) to a torch dtype."""
    if isinstance(dtype, torch.dtype) and dtype in DTYPES.values():
        return dtype
    if dtype in DTYPES:
        return DTYPES[dtype]
    raise OptionError(f"dtype must be one of {sorted(DTYPES)}; got {dtype!r}.")


def pandas_if_imported():
    """pandas where it is imported, else None: a DataFrame or Series exists only then, so
    arrays are told from frames without importing it (a second or more, once)."""
    return sys.modules.get("pandas")


def _unique_names(names, what):
    """The column names as strings; an error if one repeats."""
    names = list(names)
    repeated = sorted({str(c) for c in names if names.count(c) > 1})
    if repeated:
        raise InputError(f"{what} has repeated column names {repeated}; give every column "
                         "its own name (coefficients are named after them).")
    return [str(c) for c in names]


def _non_numeric_columns(frame):
    import pandas as pd
    return [str(c) for c in frame.columns
            if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
            or pd.api.types.is_complex_dtype(frame[c])]


def _to_numpy(data, what):
    """Return ``(array, names or None)`` for a DataFrame, Series, tensor or array-like."""
    if _is_sparse(data):
        raise InputError(f"{what} is a sparse matrix ({type(data).__name__}); this fit needs a "
                         "dense one: pass X.toarray() (it must fit in memory) or write the "
                         "rows to Parquet files and use fit_files.")
    if isinstance(data, NamedColumns):
        return np.asarray(data.values), _unique_names(data.names, what)
    pd = pandas_if_imported()
    if pd is not None and isinstance(data, pd.DataFrame):
        _unique_names(data.columns, what)
        bad = _non_numeric_columns(data)
        if bad:
            raise InputError(
                f"{what} has non-numeric columns {bad}; encode them as numbers "
                "(e.g. pandas.get_dummies) or use a formula interface, which encodes factors.")
        array = data.to_numpy()
        if array.dtype.kind not in "biuf":
            # Mixed bool and numeric columns, or nullable (Int64, boolean) ones,
            # come out as objects: convert, with pandas.NA as NaN for the check.
            array = data.to_numpy(dtype=np.float64, na_value=np.nan)
        return array, [str(c) for c in data.columns]
    if pd is not None and isinstance(data, pd.Series):
        return _to_numpy(data.to_frame(), what)[0][:, 0], [str(data.name)] if data.name is not None else None
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu()
        # numpy has no bfloat16; float32 holds every bfloat16 value exactly.
        array = (data.float() if data.dtype == torch.bfloat16 else data).numpy()
    else:
        try:
            array = np.asarray(data)
        except ValueError as error:  # ragged nested lists
            raise InputError(f"{what} is not rectangular: its rows have different lengths "
                             f"({error}).") from None
    if array.dtype == object and array.ndim and any(
            isinstance(v, (list, tuple, np.ndarray)) for v in array.reshape(-1)[:1000]):
        raise InputError(f"{what} is not rectangular: its rows have different lengths.")
    if array.dtype == object:
        array = _object_to_float(array, what)
    if array.dtype.kind not in "biuf":
        raise InputError(
            f"{what} must be numeric; got an array of dtype {array.dtype}. "
            "Convert strings or objects to numbers first.")
    return array, None


def _is_sparse(data):
    """A scipy.sparse matrix or array, told apart without importing scipy."""
    module = type(data).__module__ or ""
    return module.startswith("scipy.sparse") or hasattr(data, "tocsr") and hasattr(data, "nnz")


def _object_to_float(array, what):
    """An object array of numbers as float64; else an error naming the bad columns."""
    def is_number(v):
        return isinstance(v, (numbers.Real, np.bool_)) and not isinstance(v, str)
    flat = array.reshape(array.shape[0], -1) if array.ndim >= 1 else array.reshape(1, 1)
    bad = [j for j in range(flat.shape[1]) if not all(is_number(v) for v in flat[:, j])]
    if bad:
        raise InputError(
            f"{what} has non-numeric values in column(s) {bad} (0-based); encode them "
            "as numbers (e.g. pandas.get_dummies) or use a formula interface, which encodes factors.")
    return array.astype(np.float64)


def _as_tensor(array, dtype):
    if array.dtype.kind not in "biuf":
        raise InputError(f"data must be numeric; got dtype {array.dtype}.")
    # One conversion at most: a column-major (R) matrix is reordered and cast
    # in the same copy; a C-contiguous array of the right dtype is not copied.
    target = np.float64 if dtype == torch.float64 else np.float32
    array = np.ascontiguousarray(array, dtype=target)
    # torch cannot share a read-only buffer (e.g. a memmap) safely; copy it.
    return torch.as_tensor(array if array.flags.writeable else array.copy())


def _check_finite(values, names, what, source=None):
    # A finite sum means every value is finite, without an n x p mask; an
    # overflowing sum of finite values falls through to the full check. numpy's
    # sum runs on this thread: torch's wakes its thread pool, whose threads then
    # spin for milliseconds after it (CPU time taken from everything else).
    if values.numel() == 0:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(values.numpy().sum()):
            return
    finite = torch.isfinite(values)
    if bool(finite.all()):
        return
    if source is not None and source.dtype.kind == "f" and bool(np.isfinite(source).all()):
        raise InputError(
            f"{what} has values too large for {str(values.dtype).replace('torch.', '')} "
            f"(largest magnitude {np.abs(source).max():.6g}); use dtype='float64' or rescale.")
    bad_rows = (~finite).sum(dim=0)
    detail = ", ".join(f"{names[j]!r} ({int(c)} rows)" for j, c in enumerate(bad_rows) if c > 0)
    raise InputError(
        f"{what} contains NaN or infinite values in column {detail}; "
        "drop or impute those rows before fitting.")


def _check_representable(values, names, what, source):
    """Raise when converting to float32 turned nonzero values into zeros (below ~1e-45)."""
    if values.dtype != torch.float32 or source.dtype.kind != "f" or source.dtype.itemsize <= 4:
        return
    lost = np.count_nonzero(source, axis=0) - torch.count_nonzero(values, dim=0).numpy()
    if not lost.any():
        return
    columns = [names[j] for j in np.flatnonzero(lost)]
    tiny = np.abs(source[source != 0]).min()
    raise InputError(
        f"{what} has values too small for float32 in column(s) {columns} (smallest magnitude "
        f"{tiny:.6g}), which would become zeros; use dtype='float64' or rescale.")


def as_design(X, dtype=torch.float64, what="X", check_finite=True):
    """Validate ``X`` and return a :class:`Design` of shape ``(n, p)``.

    ``check_finite=False`` leaves the pass over the values for NaN and infinite ones to
    the caller, whose own pass shows them (a fit's moments: their sums are then not
    finite); it calls :meth:`Design.check_finite` for the error that names them."""
    array, names = _to_numpy(X, what)
    if array.ndim != 2:
        raise ShapeError(
            f"{what} must be 2-D (n_rows, n_features); got shape {tuple(array.shape)}. "
            "For a single predictor pass X.reshape(-1, 1).")
    values = _as_tensor(array, dtype)
    names = names or [f"x{j + 1}" for j in range(values.shape[1])]
    _check_representable(values, names, what, array)
    if check_finite:
        _check_finite(values, names, what, array)
        return Design(values, names)
    return Design(values, names, lambda: _check_finite(values, names, what, array))


def as_response(y, n_rows, dtype=torch.float64, what="y"):
    """Validate ``y`` against ``n_rows`` and return a :class:`Response` of shape ``(n, k)``."""
    array, names = _to_numpy(y, what)
    if array.ndim not in (1, 2):
        raise ShapeError(f"{what} must be 1-D (one output) or 2-D (n_rows, n_outputs); "
                         f"got shape {tuple(array.shape)}.")
    if array.shape[0] != n_rows:
        raise ShapeError(f"X has {n_rows} rows but {what} has shape {tuple(array.shape)}; "
                         "they must have the same number of rows.")
    one_output = array.ndim == 1 or array.shape[1] == 1
    values = _as_tensor(array[:, None] if array.ndim == 1 else array, dtype)
    if names is None:
        names = ["y"] if one_output else [f"y{k + 1}" for k in range(values.shape[1])]
    _check_finite(values, names, what, array)
    return Response(values, names, one_output)


def as_weights(weights, n_rows, dtype=torch.float64):
    """Validate observation weights: 1-D, finite, non-negative, not all zero."""
    if weights is None:
        return None
    array, _ = _to_numpy(weights, "weights")
    array = array.reshape(-1) if array.ndim == 2 and 1 in array.shape else array
    if array.ndim != 1 or array.shape[0] != n_rows:
        raise ShapeError(f"weights must be 1-D with one value per row ({n_rows}); "
                         f"got shape {tuple(array.shape)}.")
    values = _as_tensor(array, dtype)
    if not bool(torch.isfinite(values).all()) or bool((values < 0).any()):
        raise InputError("weights must be finite and non-negative.")
    if not bool((values > 0).any()):
        raise InputError("weights are all zero; at least one row needs a positive weight.")
    return values


def check_has_rows(n_rows, what="the training data"):
    """Raise unless there is a row: with fewer rows than coefficients, ``lm()`` aliases the rest."""
    if n_rows < 1:
        raise InputError(f"{what} has no rows; at least 1 row is needed (more rows than "
                         "coefficients for standard errors).")


def check_enough_rows(n_rows, n_coefficients, what="the training data"):
    """Raise unless there are at least as many rows as coefficients."""
    if n_rows < max(n_coefficients, 1):
        raise InputError(
            f"{what} has {n_rows} rows but the model has {n_coefficients} coefficients; "
            f"at least {max(n_coefficients, 1)} rows are needed (more for standard errors).")


def fingerprint(data):
    """A hash of validated ``(X, Y, weights)`` tensors: same data, same hash."""
    digest = hashlib.blake2b(digest_size=16)
    for tensor in data:
        if tensor is None:
            digest.update(b"none")
            continue
        array = np.ascontiguousarray(tensor.detach().cpu().numpy())
        digest.update(f"{array.shape}{array.dtype}".encode())
        if array.size:  # (memoryview cannot cast an empty array: a design of no columns)
            digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()
