"""The QR preconditioner: gradient descent on a loss whose Hessian is the identity.

Standardizing the columns (a diagonal preconditioner) removes their scales
but not their correlations, and every first-order method slows with the
condition number of what it optimizes. With ``precondition="qr"`` the
optimizer works instead on ``u = R w / √W``, where ``R`` is the triangular
factor of the centred, standardized (and weighted) design and ``W`` the
total weight: the design seen in ``u`` has orthonormal columns, so the
loss is ``|u - c|² + const`` for each output, whatever the correlations.
Coefficients, history, plots and inference are reported on the original
scale (``w = √W R⁻¹ u``, then as for standardized fits).

``R`` comes from the rows, never from ``XᵀX`` (whose Cholesky factor has
the square of the condition number in rounding): a blocked QR (TSQR) of
``√w [1, z - c]`` for ``z = [x, y]``, summed over chunks of rows in float64
by :class:`RootAccumulator`. Blocks of files and ranks of a distributed fit
each give such a factor; :meth:`RowRoot.combine` joins them, so those fits
equal :func:`torchlinreg.fit` on the same rows to rounding. The QR is
numpy's (its LAPACK has prefixed symbols, so the factor is the same number
in a Python process and inside R, where torch's LAPACK calls would go to
R's own).
"""
from dataclasses import dataclass

import numpy as np
import torch

from .moments import CHUNK_ROWS
from .quadratic import Quadratic
from .threads import threads

# Rows per QR: LAPACK's Householder QR of a tall block runs several times faster
# when the block fits in cache (benchmarks/RESULTS.md, section 8).
QR_BLOCK_ROWS = 4096
# The condition number below which the moments give the factor (see needs_rows).
MOMENTS_CONDITION = 30.0


@dataclass
class RowRoot:
    """``R`` (upper triangular, ``(1 + d, 1 + d)``) with ``RᵀR = Σ w u uᵀ`` for
    ``u = [1, z - center]`` over the rows, in float64 (numpy)."""

    center: np.ndarray
    R: np.ndarray

    def shifted(self, center):
        """The same rows' factor about another ``center``."""
        lift = np.eye(self.R.shape[0])
        lift[0, 1:] = self.center - center
        return RowRoot(np.asarray(center, dtype=np.float64), _triangular(self.R @ lift))

    def combine(self, others):
        """The factor of these rows and the ``others``' together (about this centre)."""
        stacked = [self.R] + [other.shifted(self.center).R for other in others]
        return RowRoot(self.center, _triangular(np.concatenate(stacked)))

    def restrict(self, kept):
        """Only the kept feature columns (``kept``: a mask over every feature) and every output."""
        keep = np.concatenate([[True], np.asarray(kept, dtype=bool),
                               np.ones(len(self.center) - len(kept), dtype=bool)])
        return RowRoot(self.center[keep[1:]], _triangular(self.R[:, keep]))


def _triangular(matrix):
    """The R of a QR of ``matrix`` (square, as many rows as columns)."""
    width = matrix.shape[1]
    if matrix.shape[0] < width:
        matrix = np.concatenate([matrix, np.zeros((width - matrix.shape[0], width))])
    return np.linalg.qr(matrix, mode="r")[:width]


class RootAccumulator:
    """Builds a :class:`RowRoot` from rows given in pieces of any size.

    Like the moments, rows are copied into a float64 chunk of
    :data:`~torchlinreg.engine.moments.CHUNK_ROWS` rows and folded in a full
    chunk at a time, so the factor depends only on the rows and their order.
    The centre is the first chunk's (weighted) mean.
    """

    def __init__(self, width, weighted=False):
        self.center = None
        self.R = np.zeros((1 + width, 1 + width))
        self._buffer = np.empty((CHUNK_ROWS, 1 + width))
        self._weights = np.empty(CHUNK_ROWS) if weighted else None
        self._filled = 0

    def add(self, x, y, weights=None):
        """Add rows ``x`` ``(m, p)`` and ``y`` ``(m, k)`` (tensors, or lists of numpy columns)."""
        columns = _columns(x) + _columns(y)
        w = None if weights is None else _array(weights)
        n, start = len(columns[0]), 0
        while start < n:
            take = min(CHUNK_ROWS - self._filled, n - start)
            rows = slice(self._filled, self._filled + take)
            for j, column in enumerate(columns):
                self._buffer[rows, 1 + j] = column[start:start + take]
            if self._weights is not None:
                self._weights[rows] = w[start:start + take]
            self._filled, start = self._filled + take, start + take
            if self._filled == CHUNK_ROWS:
                self._flush()

    def _flush(self):
        block = self._buffer[: self._filled]
        w = None if self._weights is None else self._weights[: self._filled]
        self._filled = 0
        if self.center is None:
            total = block.shape[0] if w is None else w.sum()
            if not total > 0:
                return  # rows of zero weight add nothing
            self.center = (block[:, 1:].sum(0) if w is None else w @ block[:, 1:]) / total
        block[:, 0] = 1.0
        block[:, 1:] -= self.center
        if w is not None:
            block *= np.sqrt(w)[:, None]
        with threads(1):
            factors = [self.R] + [_triangular(block[start:start + QR_BLOCK_ROWS])
                                  for start in range(0, block.shape[0], QR_BLOCK_ROWS)]
            self.R = _triangular(np.concatenate(factors))

    def result(self):
        """The :class:`RowRoot` of every row added."""
        if self._filled:
            self._flush()
        width = self.R.shape[0] - 1
        center = self.center if self.center is not None else np.zeros(width)
        return RowRoot(center, self.R.copy())


def _columns(values):
    if isinstance(values, list):
        return values
    array = values.detach().cpu().numpy()
    return [array[:, j] for j in range(array.shape[1])]


def _array(values):
    return values.detach().cpu().numpy() if torch.is_tensor(values) else np.asarray(values)


def root_of_rows(X, Y, weights=None):
    """:class:`RowRoot` of the rows of ``[X, Y]`` (tensors); the accumulator takes them in chunks."""
    roots = RootAccumulator(X.shape[1] + Y.shape[1], weighted=weights is not None)
    roots.add(X, Y, weights)
    return roots.result()


def qr_quadratic(root, scaler, total, intercept):
    """The training :class:`Quadratic` in ``u`` and the rotation ``M`` (``w = M u``).

    ``root`` is the kept columns' :class:`RowRoot`; ``scaler`` the
    standardization (centres and scales of the kept columns and outputs).
    """
    q = scaler.x_center.shape[0]
    center_s = np.concatenate([scaler.x_center.double().numpy(), scaler.y_center.double().numpy()])
    scale_s = np.concatenate([scaler.x_scale.double().numpy(), scaler.y_scale.double().numpy()])
    to_standard = np.zeros_like(root.R)
    to_standard[0, 0] = 1.0
    to_standard[0, 1:] = (root.center - center_s) / scale_s
    to_standard[1:, 1:] = np.diag(1.0 / scale_s)
    raw = root.R @ to_standard
    S = _triangular(raw)[1:, 1:] if intercept else _triangular(raw[:, 1:])
    weight = float(total) if total > 0 else 1.0
    Rxx, Rxy = S[:q, :q], S[:q, q:]
    rotation = np.sqrt(weight) * _upper_inverse(Rxx)
    cross = Rxy.T / np.sqrt(weight)
    yy = (S[:, q:] ** 2).sum(0) / weight
    if intercept:
        gram = np.eye(q + 1)
        cross = np.concatenate([np.zeros((cross.shape[0], 1)), cross], 1)
    else:
        gram = np.eye(q)
    as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    return Quadratic(as_tensor(gram), as_tensor(cross), as_tensor(yy)), as_tensor(rotation)


def _upper_inverse(R):
    """``R⁻¹`` of an upper triangular matrix, by back substitution (numpy)."""
    q = R.shape[0]
    inverse = np.zeros_like(R)
    identity = np.eye(q)
    for j in range(q - 1, -1, -1):
        inverse[j] = (identity[j] - R[j, j + 1:] @ inverse[j + 1:]) / R[j, j]
    return inverse


def preconditioned(quadratic, scaler, total, intercept, root_of):
    """``(quadratic in u, rotation M)`` from the standardized training ``quadratic``.

    The factor comes from the moments when they are good enough (see
    :func:`needs_rows`), else from ``root_of()``, the kept columns'
    :class:`RowRoot`. Every engine goes through here, so they all step in
    the same coordinates (Adam is not invariant under rotations).
    """
    if needs_rows(quadratic, intercept):
        return qr_quadratic(root_of(), scaler, total, intercept)
    rotation = moments_rotation(quadratic, intercept)
    return rotate_quadratic(quadratic, rotation, intercept), rotation


def needs_rows(quadratic, intercept):
    """Whether the QR factor must come from the rows: True unless the standardized
    design is so well conditioned that its moments give the factor to 1e-12.

    The moments' Gram matrix has the square of the design's condition number in
    rounding: below :data:`MOMENTS_CONDITION` that costs at most about 1e-12 in
    the coefficients, and the Cholesky factor of the moments is then as good as
    the rows' QR, at no pass over the rows. Above it (or when the Cholesky
    fails) the rows' QR is used.
    """
    gram = _slopes_gram(quadratic, intercept)
    if gram.shape[0] == 0:
        return False
    eigenvalues = np.linalg.eigvalsh(gram)
    return not eigenvalues[0] > 0 or eigenvalues[-1] / eigenvalues[0] > MOMENTS_CONDITION ** 2


def moments_rotation(quadratic, intercept):
    """``M`` from the Cholesky factor of the standardized moments (well-conditioned designs)."""
    upper = np.linalg.cholesky(_slopes_gram(quadratic, intercept)).T
    return torch.from_numpy(np.ascontiguousarray(_upper_inverse(upper)))


def _slopes_gram(quadratic, intercept):
    """The quadratic's Gram matrix of the slopes (without the intercept's row and column)."""
    return quadratic.gram.cpu().numpy()[int(intercept):, int(intercept):]


def rotate_quadratic(quadratic, rotation, intercept):
    """A standardized-space :class:`Quadratic` (e.g. validation) expressed in ``u``."""
    lift = rotation.to(torch.float64)
    if intercept:
        q = lift.shape[0]
        full = torch.zeros(q + 1, q + 1, dtype=torch.float64)
        full[0, 0] = 1.0
        full[1:, 1:] = lift
        lift = full
    lift_n = lift.numpy()
    gram = lift_n.T @ quadratic.gram.cpu().numpy() @ lift_n
    cross = quadratic.cross.cpu().numpy() @ lift_n
    return Quadratic(torch.from_numpy(gram), torch.from_numpy(cross), quadratic.yy.cpu())
