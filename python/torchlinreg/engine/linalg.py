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


def aliased_columns(A, tol=ALIAS_TOL):
    """Boolean mask of the columns of ``A`` that ``lm()`` would alias.

    Works on the Gram matrix ``AᵀA`` in float64 (one pass over the rows),
    with a Cholesky factorization that visits columns in order and skips
    those whose remaining squared norm is below ``tol²`` of their own. The
    test is scale-free, and so is the Gram matrix: columns are first put in
    units of a power of two near their largest magnitude (exact), so that
    columns of 1e-300 or 1e300 neither underflow nor overflow when squared.
    """
    A = A.to(torch.float64)
    largest = A.abs().amax(0) if A.shape[0] else torch.zeros(A.shape[1], dtype=A.dtype)
    exponent = torch.where(largest > 0, torch.frexp(largest).exponent, 0)
    A = torch.ldexp(A, -exponent.to(A.device))
    gram = A.T @ A
    return aliased_from_gram(gram.cpu(), tol)


def aliased_from_gram(gram, tol=ALIAS_TOL):
    """:func:`aliased_columns` given the Gram matrix ``AᵀA``."""
    p = gram.shape[0]
    factor = torch.zeros_like(gram)
    aliased = torch.zeros(p, dtype=torch.bool)
    # An aliased column keeps a zero column in ``factor``, so it drops out
    # of every later projection, as dqrdc2's pivoting moves it to the end.
    for j in range(p):
        row = factor[j, :j]
        remaining = gram[j, j] - row @ row
        if gram[j, j] <= 0 or remaining <= tol ** 2 * gram[j, j]:
            aliased[j] = True
            continue
        factor[j, j] = remaining.sqrt()
        factor[j + 1:, j] = (gram[j + 1:, j] - factor[j + 1:, :j] @ row) / factor[j, j]
    return aliased


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
