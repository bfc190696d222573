"""Least-squares algebra in float64: aliased columns, QR solutions, R factors.

Aliased columns (exact linear combinations of earlier ones) are found as
R's ``lm()`` finds them: columns are taken in order, and one whose part not
explained by the columns kept before it has a norm below ``tol`` (1e-7,
``lm``'s default) times its own norm is dropped. Its coefficient is NaN.
"""
import torch


ALIAS_TOL = 1e-7


def with_intercept(X, intercept):
    """Prepend a column of ones when the model has an intercept."""
    if not intercept:
        return X
    return torch.cat([torch.ones(X.shape[0], 1, dtype=X.dtype, device=X.device), X], dim=1)


# Rows per block of the alias check's QR.
ALIAS_BLOCK_ROWS = 1 << 15

# A Gram matrix's rounding is about 1e-8 of a column's norm in the norm of what remains of
# it after projecting out the columns before it, near the 1e-7 of ALIAS_TOL: a column whose
# remaining part is below GRAM_CLEAR of its norm is decided on the rows' QR factor instead.
GRAM_CLEAR = 1e-4


def aliased_columns(A, tol=ALIAS_TOL):
    """Boolean mask of the columns of ``A`` that ``lm()`` would alias.

    As LINPACK's ``dqrdc2`` (``lm.fit``): in column order, a column is aliased
    when its part orthogonal to the columns kept before it has a norm below
    ``tol`` of its own. The norms come from the QR factor R of ``A`` (rows in
    blocks, :func:`combined_r`), which has ``A``'s column norms and angles to
    rounding in ``A``, not in ``AᵀA``; more columns than rows is fine. The test
    is scale-free: columns are first put in units of a power of two near their
    largest magnitude (exact), so that columns of 1e-300 or 1e300 neither
    underflow nor overflow in the factorization.
    """
    A = _in_power_of_two_units(A.to(torch.float64))
    factors = [torch.linalg.qr(A[start:start + ALIAS_BLOCK_ROWS], mode="r").R
               for start in range(0, A.shape[0], ALIAS_BLOCK_ROWS)]
    return aliased_from_r(combined_r(factors).cpu(), tol)


def _in_power_of_two_units(A):
    """``A`` with each column divided by a power of two near its largest magnitude (exact)."""
    largest = A.abs().amax(0) if A.shape[0] else torch.zeros(A.shape[1], dtype=A.dtype)
    exponent = torch.where(largest > 0, torch.frexp(largest).exponent, 0)
    return torch.ldexp(A, -exponent.to(A.device))


def aliased_from_r(R, tol=ALIAS_TOL):
    """:func:`aliased_columns` given a QR factor ``R`` of ``A`` (any number of rows)."""
    p = R.shape[1]
    norms = R.norm(dim=0)
    basis = torch.zeros(R.shape[0], 0, dtype=torch.float64)
    aliased = torch.zeros(p, dtype=torch.bool)
    for j in range(p):
        v = R[:, j].clone()
        for _ in range(2):  # Gram-Schmidt twice is orthogonal to rounding
            v = v - basis @ (basis.T @ v)
        remaining = v.norm()
        if norms[j] <= 0 or remaining <= tol * norms[j]:
            aliased[j] = True
            continue
        basis = torch.cat([basis, (v / remaining)[:, None]], dim=1)
    return aliased


def aliased_of_rows(X, weights, intercept, gram, tol=ALIAS_TOL):
    """The aliased columns of ``√W [1, X]`` (or ``√W X``), from ``gram`` = its ``AᵀWA`` when clear.

    The Gram matrix (from the moments) decides unless some column comes within
    ``GRAM_CLEAR`` of the span of those before it; then the rows' QR factor
    does (:func:`aliased_columns`), as for more coefficients than rows.
    """
    aliased, closest = _gram_alias_check(gram, tol)
    if closest > GRAM_CLEAR:
        return aliased
    root = None if weights is None else weights.to(torch.float64).sqrt()[:, None]
    factors = []
    for start in range(0, X.shape[0], ALIAS_BLOCK_ROWS):
        A = with_intercept(X[start:start + ALIAS_BLOCK_ROWS].to(torch.float64), intercept)
        factors.append(torch.linalg.qr(A if root is None else A * root[start:start + A.shape[0]],
                                       mode="r").R)
    return aliased_from_r(combined_r(factors).cpu(), tol)


def aliased_from_gram(gram, tol=ALIAS_TOL):
    """:func:`aliased_columns` given the Gram matrix ``AᵀA`` (for fits that keep only moments)."""
    return _gram_alias_check(gram, tol)[0]


def _gram_alias_check(gram, tol):
    """The aliased columns by a Cholesky factorization in column order, and the smallest
    ratio of a column's remaining norm to its own (how close the decision was)."""
    p = gram.shape[0]
    factor = torch.zeros_like(gram)
    aliased = torch.zeros(p, dtype=torch.bool)
    closest = float("inf")
    # An aliased column keeps a zero column in ``factor``, so it drops out
    # of every later projection, as dqrdc2's pivoting moves it to the end.
    for j in range(p):
        row = factor[j, :j]
        remaining = gram[j, j] - row @ row
        if gram[j, j] > 0:
            closest = min(closest, float(remaining.clamp_min(0) / gram[j, j]) ** 0.5)
        if gram[j, j] <= 0 or remaining <= tol ** 2 * gram[j, j]:
            aliased[j] = True
            continue
        factor[j, j] = remaining.sqrt()
        factor[j + 1:, j] = (gram[j + 1:, j] - factor[j + 1:, :j] @ row) / factor[j, j]
    return aliased, closest


def solve_least_squares(A, Y, weights=None):
    """Coefficients ``(q, k)`` minimizing ``Σ w (Y - A B)²`` by Householder QR.

    ``A`` must have full column rank (drop aliased columns first).
    """
    if weights is not None:
        root = weights.sqrt()[:, None]
        A, Y = A * root, Y * root
    Q, R = torch.linalg.qr(A)
    return torch.linalg.solve_triangular(R, Q.T @ Y, upper=True)


def combined_r(factors):
    """The QR factor R of rows given in blocks, from each block's R (TSQR).

    The blocks' R factors, stacked and factored again, give R of all the
    rows up to the signs of its rows, which ``RᵀR`` does not see: as stable
    as one Householder QR of all the rows, about twice as fast at a million
    rows, and the rows need never be in one tensor.
    """
    return factors[0] if len(factors) == 1 else torch.linalg.qr(torch.cat(factors), mode="r").R


def unscaled_covariance(R):
    """``(AᵀWA)⁻¹ = R⁻¹R⁻ᵀ`` from the QR factor R of ``√W A`` (full column rank)."""
    R_inv = torch.linalg.solve_triangular(R, torch.eye(R.shape[0], dtype=R.dtype), upper=True)
    return R_inv @ R_inv.T


def exact_solution(X, Y, weights=None, intercept=True):
    """Full-length ``(weight (k, p), bias (k,), aliased (p,))`` in float64.

    ``X``, ``Y`` and ``weights`` are tensors; aliased columns get NaN.
    """
    X, Y = X.to(torch.float64), Y.to(torch.float64)
    weights = None if weights is None else weights.to(torch.float64)
    A = with_intercept(X, intercept)
    aliased_all = aliased_columns(A if weights is None else A * weights.sqrt()[:, None])
    B = solve_least_squares(A[:, ~aliased_all], Y, weights)
    full = torch.full((A.shape[1], Y.shape[1]), float("nan"), dtype=torch.float64)
    full[~aliased_all] = B
    bias = full[0] if intercept else torch.zeros(Y.shape[1], dtype=torch.float64)
    weight = full[int(intercept):].T
    return weight, bias, aliased_all[int(intercept):]
