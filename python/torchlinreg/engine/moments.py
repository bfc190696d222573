"""The weighted moments of the rows ``[x, y]``, summed once in float64.

Everything a full-batch fit needs from its rows (the loss and gradient of
every step, the standardization, the alias check, the exact solution and
the inference) is a function of these moments about (nearly) the mean:
total weight, first and second moments. They are summed in fixed chunks
of rows, so the rounding depends only on the rows and their order, not on
how they arrive (memory, files, processes).
"""
import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from .products import matmul
from .scaling import RANGE_EXPONENT, Scaler, magnitudes, unit_for
from .threads import threads


# Rows per chunk when forming the statistics: a few MB of float64 at p ~ 20.
CHUNK_ROWS = 1 << 15


# A sum of squares (in the units) that values within 2^±RANGE_EXPONENT of their units
# never reach, however many rows: beyond it, a later chunk holds far larger values than
# the first rows and its columns take new units (MomentAccumulator._new_units).
SQUARES_LIMIT = math.ldexp(1.0, 2 * RANGE_EXPONENT + 64)


@dataclass
class Moments:
    """Weighted moments of the rows ``z = [x, y]`` about ``center`` (float64).

    ``total`` is the sum of weights, ``first`` ``Σ w (z - c)`` and
    ``second`` ``Σ w (z - c)(z - c)ᵀ``. Moments about (nearly) the mean
    keep the variances free of cancellation. ``n_positive`` counts the rows
    of positive weight (``lm()``'s observations).

    ``unit`` (None: all ones) holds a power of two per column: the moments
    (and ``center``) are those of ``z * unit``, for columns too small or too
    large to square in float64 (see :func:`~.scaling.unit_of`). Multiplying by a power
    of two is exact, so nothing is lost; :meth:`unscaled` gives the moments
    of ``z`` itself, where they are representable.

    ``log_weight_sum`` is ``Σ log w`` over the rows of positive weight
    (0 unweighted; None unknown, in a fit saved before it was kept): ``lm()``'s
    log-likelihood of a weighted fit needs it.
    """

    n_rows: int
    n_features: int
    total: torch.Tensor
    center: torch.Tensor
    first: torch.Tensor
    second: torch.Tensor
    n_positive: int = None
    unit: torch.Tensor = None
    log_weight_sum: float = 0.0

    def __post_init__(self):
        if self.n_positive is None:
            self.n_positive = self.n_rows

    def unscaled(self):
        """The moments of ``z`` (``unit`` None): themselves when already so; else
        divided by the units, which may overflow or underflow in float64."""
        return self.in_units(None)

    def in_units(self, unit):
        """The moments of ``z * unit`` (``unit`` None: of ``z``): these times powers of
        two, exact but where a value leaves float64's range (an overflow is infinite)."""
        if unit is None and self.unit is None:
            return self
        if unit is not None and self.unit is not None and torch.equal(unit, self.unit):
            return self
        ratio = _units(self, unit) / _units(self, self.unit)
        return dataclasses.replace(self, center=self.center * ratio, first=self.first * ratio,
                                   second=self.second * torch.outer(ratio, ratio), unit=unit)

    def matrix(self):
        """``Σ w u uᵀ`` for ``u = [1, z - c]``: the moments as one matrix."""
        top = torch.cat([self.total.reshape(1), self.first])
        return torch.cat([top[None, :], torch.cat([self.first[:, None], self.second], 1)], 0)

    def raw_gram(self, intercept):
        """``AᵀWA`` for ``A = [1, X]`` (or ``X``), for the alias check."""
        p = self.n_features
        lift = torch.eye(p + 1, 1 + self.center.shape[0], dtype=torch.float64)
        lift[1:, 0] = self.center[:p]
        gram = matmul(matmul(lift, self.matrix()), lift.T)
        return gram if intercept else gram[1:, 1:]

    def mean(self):
        """The weighted mean of ``z`` (the centre where there is no weight)."""
        return self.center + self.first / self.total if self.total > 0 else self.center

    def shifted(self, center):
        """The same moments about another ``center``."""
        d = self.center - center
        first = self.first + self.total * d
        second = (self.second + self.first[:, None] * d[None, :] + d[:, None] * self.first[None, :]
                  + self.total * d[:, None] * d[None, :])
        return dataclasses.replace(self, center=center, first=first, second=second)


def _units(mom, unit):
    """``unit``, or ones (None) of the moments' width."""
    return torch.ones_like(mom.center) if unit is None else unit


def loss_units(y_scale):
    """``(scale, exponent)``: ``scale`` per output turns the standardized squared errors into
    squared errors in ``y``'s units times ``2^-exponent``, for the training loop.

    The exponent is 0 (``scale`` is ``y_scale²``) unless ``y``'s scale is beyond
    ``2^±RANGE_EXPONENT`` (``2^±25`` in float32), where its square, times a loss,
    could overflow or vanish: the losses are then kept in units of a power of two,
    which changes none of their digits.
    """
    largest = float(y_scale.abs().max()) if y_scale.numel() else 1.0
    exponent = math.frexp(largest)[1]
    if abs(exponent) <= RANGE_EXPONENT * math.frexp(torch.finfo(y_scale.dtype).max)[1] // 1024:
        return y_scale ** 2, 0
    return (y_scale * math.ldexp(1.0, -exponent)) ** 2, 2 * exponent


class MomentAccumulator:
    """Builds :class:`Moments` from rows given in pieces of any size.

    Rows are copied into a float64 buffer of :data:`CHUNK_ROWS` rows and
    summed a full chunk at a time, so the sums (and their rounding) depend
    only on the rows and their order, not on how they arrive: streamed
    blocks give the statistics of the same rows in memory bit for bit.
    The centre is the (weighted) mean of the first chunk: within a few
    standard errors of the mean, so the variances lose no digits to
    cancellation (the shifted-data algorithm); the units (:func:`~.scaling.unit_of`)
    come from the first chunk's magnitudes, and a later chunk of values far beyond
    them re-expresses the sums in units of its own (:meth:`_new_units`,
    :meth:`_overflows`). Memory is one chunk.
    """

    def __init__(self, n_features, width, weighted=False, device="cpu", names=None):
        self.n_features = n_features
        self.names = names  # of the columns of [x, y], for errors
        self.n_rows = 0
        self.n_positive = 0
        self.log_weight_sum = 0.0
        as_sum = dict(dtype=torch.float64, device=device)
        self.total = torch.zeros((), **as_sum)
        self.center = None
        self.first = torch.zeros(width, **as_sum)
        self.second = torch.zeros(width, width, **as_sum)
        self._device = torch.device(device)
        # The chunk of rows ``[z, 1]`` (its first ``width`` columns ``_buffer``), laid out
        # as the first rows come (_allocate).
        self._chunk = self._buffer = None
        self._weights = torch.empty(CHUNK_ROWS, **as_sum) if weighted else None
        self._filled = 0
        self.unit = None
        self._zero = None  # columns all zero so far (their units are not yet chosen)

    def add(self, x, y, weights=None):
        """Add rows ``x`` ``(m, p)``, ``y`` ``(m, k)`` and their weights (if weighted).

        Each is a tensor, or a list of its columns as 1-d numpy arrays (and
        the weights one array): a file's columns as Arrow decoded them, not
        copied before they are summed here.
        """
        device = self._device
        if device.type != "cpu":  # one copy of the piece to the device, then as on the CPU
            x, y, weights = (_on_device(v, device) for v in (x, y, weights))
        if self._chunk is None:
            self._allocate(by_column=isinstance(x, list))
        p, start, n = self.n_features, 0, _n_rows(y)
        while start < n:
            take = min(CHUNK_ROWS - self._filled, n - start)
            rows, end = slice(self._filled, self._filled + take), start + take
            self._put(self._buffer[rows, :p], x, slice(start, end), slice(None, p))
            self._put(self._buffer[rows, p:], y, slice(start, end), slice(p, None))
            if self._weights is not None:
                _copy(self._weights[rows], weights[start:end])
            self._filled, start = self._filled + take, end
            if self._filled == CHUNK_ROWS:
                self._flush()

    def _allocate(self, by_column):
        """The chunk of rows ``[z, 1]``, in the layout of the rows that fill it: row-major
        for rows in memory (centring them into it is one streaming subtraction),
        column-major for a file's columns (each copied along memory; writing them across
        rows took three times as long). One symmetric product of the chunk with itself
        gives its second and first moments (:func:`_gram`), the same numbers in
        either layout (tests/python/test_moments.py). The column of ones is filled as
        rows come (:meth:`_products`), so a few rows touch no more of the chunk."""
        width = self.first.shape[0]
        as_sum = dict(dtype=torch.float64, device=self._device)
        if by_column:
            self._chunk = torch.empty(width + 1, CHUNK_ROWS, **as_sum).T
        else:
            self._chunk = torch.empty(CHUNK_ROWS, width + 1, **as_sum)
        self._buffer = self._chunk[:, :width]
        self._ones = 0  # rows of the last column set to 1

    def _put(self, out, values, rows, columns):
        """Copy ``values[rows]`` into ``out``, centred in the same pass once there is a
        centre (the same float64 subtraction as centring after the copy)."""
        unit = None if self.unit is None or self.center is None else self.unit[columns]
        if unit is not None and self._overflows(values, rows, columns):
            unit = self.unit[columns]  # new units, in which they do not
        if not isinstance(values, list):
            if self.center is None:
                out.copy_(values[rows])
            elif unit is None:
                torch.sub(values[rows], self.center[columns], out=out)
            else:
                torch.sub(values[rows].to(torch.float64) * unit, self.center[columns], out=out)
            return
        out = out.numpy()  # a view of the buffer's rows: each column strided
        center = None if self.center is None else self.center[columns].numpy()
        for j, column in enumerate(values):
            if center is None:
                out[:, j] = column[rows]
            elif unit is None:
                np.subtract(column[rows], center[j], out=out[:, j], dtype=np.float64)
            else:
                np.subtract(column[rows] * np.float64(unit[j]), center[j], out=out[:, j],
                            dtype=np.float64)

    def _overflows(self, values, rows, columns):
        """Whether some of ``values[rows]`` (columns ``columns`` of ``[x, y]``) are beyond
        ``2^RANGE_EXPONENT`` in units above 1 (chosen for tiny first rows), where they may
        overflow float64; those columns then first take the units of these values
        (:meth:`_rescale`). Units of 1 or below are left to :meth:`_new_units`."""
        unit = self.unit[columns]
        if not bool((unit > 1).any()):
            return False
        largest = _largest(values, rows).to(unit.device)
        over = (unit > 1) & (largest * unit > math.ldexp(1.0, RANGE_EXPONENT))
        if not bool(over.any()):
            return False
        index = torch.arange(columns.start or 0, (columns.start or 0) + unit.shape[0],
                             device=unit.device)[over]
        self._rescale(index, _units_for(largest[over]), self._filled)
        return True

    def _rescale(self, index, unit, rows):
        """Columns ``index`` of ``[x, y]`` in the smaller units ``unit`` from now on: the sums
        so far, the centre and the first ``rows`` rows of the buffer (put in the old units)
        times ``unit / old unit``, powers of two, so exact (but for values that become
        subnormal: below ``2^-1000`` of the new largest, nothing to its sums)."""
        if self.unit is None:
            self.unit = torch.ones_like(self.center)
        ratio = torch.ones_like(self.center)
        ratio[index] = unit / self.unit[index]
        self.center = self.center * ratio
        self.first *= ratio
        self.second *= torch.outer(ratio, ratio)
        for j in index.tolist():
            self._buffer[:rows, j] *= ratio[j]
        self.unit[index] = unit

    def _flush(self):
        block = self._buffer[: self._filled]
        w = None if self._weights is None else self._weights[: self._filled]
        m, self._filled = block.shape[0], 0
        size = block.new_tensor(float(m)) if w is None else w.sum()
        self.n_rows += m
        self.n_positive += m if w is None else int((w > 0).sum())
        if w is not None:
            self.log_weight_sum += float(torch.log(w[w > 0]).sum())
        raw = self.center is None  # rows put in before there was a centre
        if raw and size > 0:
            largest = magnitudes(block)
            self.unit = unit_for(largest)
            if self.unit is not None:
                block.mul_(self.unit)
            self.center = self._centre(block, w, size)
            self._zero = largest == 0 if bool((largest == 0).any()) else None
        elif self._zero is not None:
            self._later_units(block)
        if self.center is None:
            return
        self.total += size
        saved = None if raw else (self.first.clone(), self.second.clone())
        self._add_sums(m, w)
        change = None if saved is None else self._new_units(block)
        if change is not None:  # the chunk again, from the sums before it, in new units
            self.first, self.second = saved
            self._rescale(*change, m)
            self._add_sums(m, w)

    def _add_sums(self, m, w):
        """Add the first and second moments of the chunk's ``m`` rows (centred, in the
        units)."""
        width = self.first.shape[0]
        products = self._products(m, w)
        self.first += products[width, :width]
        self.second += products[:width, :width]

    def _products(self, m, w):
        """The products of ``√w [z - c, 1]`` over the chunk's ``m`` rows with themselves:
        ``Σ w (z - c)(z - c)ᵀ`` and, in their last row, ``Σ w (z - c)``."""
        rows = self._chunk[:m]
        if m > self._ones:  # numpy on the CPU: torch's fill wakes its thread pool
            ones = rows[self._ones:, -1]
            if self._device.type == "cpu":
                ones.numpy()[:] = 1.0
            else:
                ones.fill_(1.0)
            self._ones = m
        if w is not None:
            rows = rows * w.sqrt()[:, None]  # in the chunk's layout
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow: see checked_sums
            return _gram(rows)

    def _centre(self, block, w, size):
        """The (weighted) mean of the first chunk's rows ``block`` (of total weight
        ``size``), with them centred about it in place: the first row plus the mean
        difference from it, so the exact value of a column whose values are all equal
        (its moments then exact zeros). The differences are summed by the chunk's
        product, which sums the same numbers in either layout (torch's column sums
        do not)."""
        first_row = block[0].clone()
        block.sub_(first_row)
        width = self.first.shape[0]
        offset = self._products(block.shape[0], w)[width, :width] / size
        block.sub_(offset)
        return first_row + offset

    def _new_units(self, block):
        """After a later chunk's sums: ``(columns, units)`` for the columns whose values there
        are beyond ``2^RANGE_EXPONENT`` in their units (far larger than the first rows'),
        read from the sums of squares, which they take beyond :data:`SQUARES_LIMIT` or to
        an overflow; the new units are those of the chunk's values. None where there are
        none: values within the units never reach the limit, and nothing changes."""
        squares = self.second.diagonal()
        if bool((torch.isfinite(squares) & (squares <= SQUARES_LIMIT)).all()):
            return None
        largest = magnitudes(block)
        over = largest > math.ldexp(1.0, RANGE_EXPONENT)  # none: weights beyond float64
        if not bool(over.any()):
            return None
        index = torch.nonzero(over).flatten()
        current = self.unit[index] if self.unit is not None else torch.ones_like(largest[index])
        return index, current * _units_for(largest[index])

    def _later_units(self, block):
        """Columns all zero so far take their units from the first rows where they are not
        (else tiny values would vanish in their squares, huge ones overflow). Their sums
        so far are exact zeros, their centre 0 and unit 1, so nothing else changes."""
        zero = torch.nonzero(self._zero).flatten()
        largest = magnitudes(block[:, zero])
        unit = unit_for(largest)
        if unit is not None:
            if self.unit is None:
                self.unit = torch.ones(block.shape[1], dtype=block.dtype, device=block.device)
            self.unit[zero] = unit
            block[:, zero] = block[:, zero] * unit
        self._zero[zero] = largest == 0
        if not bool(self._zero.any()):
            self._zero = None

    def result(self):
        """The :class:`Moments` of every row added, on the CPU (they are small)."""
        if self._filled:
            with threads(1):  # as every other chunk: the sums must not depend on the count
                self._flush()
        center = self.center if self.center is not None else torch.zeros_like(self.first)
        unit = None if self.unit is None else self.unit.cpu()
        return checked_sums(Moments(
            self.n_rows, self.n_features, self.total.cpu().clone(), center.cpu(),
            self.first.cpu().clone(), self.second.cpu().clone(), self.n_positive, unit,
            self.log_weight_sum), self.names)


class NonFiniteSums(InputError):
    """Sums of squares that are not finite: from weights beyond float64 times the squares,
    or from NaN or infinite values (a caller that left their check to the moments tells
    which, :class:`~torchlinreg.inputs.arrays.Design`)."""


def checked_sums(mom, names=None):
    """``mom``, unless its sums of squares overflowed (weights beyond float64 divided by
    the squares: the units keep every column's values near 1): an error naming the
    columns (``names``: of ``[x, y]``; else 0-based numbers)."""
    bad = ~torch.isfinite(mom.second).all(0)
    if not bool(bad.any()):
        return mom
    columns = torch.nonzero(bad).flatten().tolist()
    columns = [names[j] for j in columns] if names is not None else \
        f"{columns} (0-based, predictors then responses)"
    raise NonFiniteSums(
        f"the weighted sums of squares of the columns {columns} overflow float64 even in "
        "units of a power of two (each column's largest values are near 1 there): the "
        "weights times the squares are beyond float64; divide the weights by a power of ten "
        "(lm()'s coefficients do not change).")


def _largest(values, rows):
    """Each column's largest magnitude in ``values[rows]`` (a tensor, or a list of numpy
    columns), float64."""
    if not isinstance(values, list):
        return magnitudes(values[rows]).to(torch.float64)
    return torch.tensor([float(np.abs(column[rows]).max()) if len(column[rows]) else 0.0
                         for column in values], dtype=torch.float64)


def _units_for(largest):
    """:func:`~.scaling.unit_for` as a tensor always (ones where it gives None)."""
    unit = unit_for(largest)
    return torch.ones_like(largest) if unit is None else unit


def _n_rows(values):
    """Rows of a tensor or of a list of numpy columns."""
    return values.shape[0] if torch.is_tensor(values) else len(values[0])


def _on_device(values, device):
    """A tensor, numpy array or list of numpy columns (stacked) as a tensor on ``device``."""
    if values is None or torch.is_tensor(values):
        return None if values is None else values.to(device)
    array = np.stack(values, 1) if isinstance(values, list) else np.array(values)
    return torch.from_numpy(array).to(device)


def _copy(out, values):
    """``out[:] = values``, from a tensor or a (possibly read-only) numpy array."""
    if torch.is_tensor(values):
        out.copy_(values)
    else:
        out.numpy()[:] = values


def _gram(rows):
    """``rowsᵀ @ rows`` for a chunk, exactly symmetric.

    On the CPU the products are numpy's (its bundled OpenBLAS): inside R,
    torch's ``dgemm_`` calls go to R's BLAS (its symbols come first in the
    process), whose rounding differs from torch's own, while numpy's
    OpenBLAS has suffixed symbols (``dgemm_64_``) that nothing else
    provides. So the sums are the same in every process, Python or R, and
    the fit from R is the fit from Python bit for bit. Other devices use
    torch's product.

    numpy computes it as one symmetric rank-k update (``dsyrk``), whichever the
    chunk's layout. It replaced a matrix-vector product per column of a column-major
    chunk, which cost as much but needed a transposing copy of rows in memory and a
    separate pass for the column sums (benchmarks/RESULTS.md, full batch). The lower
    triangle is mirrored, so the sums are exactly symmetric whatever numpy did.
    """
    if rows.device.type != "cpu":
        return rows.T @ rows
    r = rows.numpy()
    products = r.T @ r
    lower = np.tril(products)
    lower += np.tril(products, -1).T
    return torch.from_numpy(lower)


def moments(X, Y, weights=None, index=None):
    """:class:`Moments` of the rows ``index`` (all rows if None) of ``[X, Y]``.

    One pass in chunks of :data:`CHUNK_ROWS` rows through a
    :class:`MomentAccumulator`, so memory stays at one float64 chunk.
    """
    sums = MomentAccumulator(X.shape[1], X.shape[1] + Y.shape[1], weighted=weights is not None,
                             device=X.device)
    rows_list = [slice(None)] if index is None else index.split(CHUNK_ROWS)
    with threads(1):
        for rows in rows_list:
            sums.add(X[rows], Y[rows], None if weights is None else weights[rows])
    return sums.result()


# A unit's base-2 logarithm above any float64's: moments whose column is all zero give it,
# and so have no say in the column's common unit.
NO_SAY = 1 << 20


def unit_exponents(mom):
    """Each column's unit in ``mom`` as its base-2 logarithm (int64), :data:`NO_SAY` for a
    column all zero there; the smallest over several moments is their common unit
    (:func:`unit_of_exponents`)."""
    log2 = torch.zeros(mom.center.shape[0], dtype=torch.int64) if mom.unit is None else \
        torch.frexp(mom.unit).exponent.to(torch.int64) - 1
    log2[(mom.second.diagonal() == 0) & (mom.center == 0)] = NO_SAY
    return log2


def unit_of_exponents(log2):
    """The units ``2^log2`` (a column no moments had a say in: 1), or None if all are 1."""
    log2 = log2.clone()
    log2[log2 == NO_SAY] = 0
    if not bool((log2 != 0).any()):
        return None
    return torch.ldexp(torch.ones(log2.shape[0], dtype=torch.float64), log2)


def common_unit(*moments):
    """Each column's smallest unit over ``moments`` (those of its largest values), or None
    if all are 1; a column all zero in some moments has no say there. In these units each
    one's moments stay within float64 (:meth:`Moments.in_units`: the others' values, smaller
    there, times powers of two; a square that vanishes was below the larger ones' rounding).
    Ranks of a distributed fit take the same minimum across processes."""
    return unit_of_exponents(torch.stack([unit_exponents(mom) for mom in moments]).amin(0))


def restrict(mom, kept):
    """The moments of the kept feature columns (and every output)."""
    keep = torch.cat([kept, torch.ones(mom.center.shape[0] - mom.n_features, dtype=torch.bool)])
    return dataclasses.replace(mom, n_features=int(kept.sum()), center=mom.center[keep],
                               first=mom.first[keep], second=mom.second[keep][:, keep],
                               unit=None if mom.unit is None else mom.unit[keep])


def scaler_from_moments(mom, intercept, standardize, dtype):
    """The :class:`Scaler` that ``Scaler.fit`` would give, from the moments.

    Same definitions as :mod:`torchlinreg.engine.scaling` (weighted means, Bessel's
    correction by the row count, root mean squares without intercept), in
    float64 (in the moments' units, then divided by them) and then cast to
    ``dtype``; a column whose centre or scale ``dtype`` cannot hold is an error.
    """
    p = mom.n_features
    if not standardize:
        return Scaler.identity(p, mom.center.shape[0] - p, dtype)
    total = mom.total
    if intercept:
        center = mom.center + mom.first / total
        spread = (mom.second.diagonal() - mom.first ** 2 / total) / total
        spread = spread * mom.n_rows / max(mom.n_rows - 1, 1)
    else:
        center = torch.zeros_like(mom.center)
        spread = (mom.second.diagonal() + 2 * mom.center * mom.first
                  + total * mom.center ** 2) / total
    scale = spread.clamp_min(0).sqrt()
    if mom.unit is not None:
        center, scale = center / mom.unit, torch.where(scale > 0, scale / mom.unit, scale)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    _check_representable(scale, center, dtype)
    return Scaler(center[:p].to(dtype), scale[:p].to(dtype), center[p:].to(dtype),
                  scale[p:].to(dtype))


def _check_representable(scale, center, dtype):
    """Raise if casting to ``dtype`` turns a column's scale or centre to 0 or infinity."""
    if dtype == torch.float64:
        return
    info = torch.finfo(dtype)
    lost = (scale < info.tiny) | (scale > info.max) | (center.abs() > info.max)
    if bool(lost.any()):
        raise InputError(
            f"columns {torch.nonzero(lost).flatten().tolist()} (0-based, predictors then "
            f"responses) have scales outside {dtype}'s range ({info.tiny:.3g} to "
            f"{info.max:.3g}); use dtype='float64' or rescale them.")
