"""Heteroscedasticity-consistent covariances HC0–HC3 (``sandwich::vcovHC``, statsmodels' ``cov_HC*``).

``(AᵀWA)⁻¹ (Σ uᵢ wᵢ aᵢ aᵢᵀ) (AᵀWA)⁻¹`` with ``uᵢ = wᵢeᵢ²`` (HC0), times
``n / (n - p)`` (HC1), over ``1 - hᵢ`` (HC2) or ``(1 - hᵢ)²`` (HC3); ``e``
the residuals at the fitted coefficients. It is computed on the centred
design, as ``R⁻¹ (Gᵀ U G) R⁻ᵀ`` with ``G = √W [1, X - c] R⁻¹`` taken
block by block, then carried back to the coefficients of ``[1, X]``
(:func:`~torchlinreg.results.inference.lift_covariance`).
"""

import numpy as np
import torch

from .inference import centred_design, lift_covariance, row_blocks

COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3")


def robust_covariance(X, weights, intercept, kept_features, factor, weighted_resid, hat,
                      cov_type):
    """HC covariances ``(k, rank, rank)`` over the estimated terms, one per output.

    ``factor`` is ``(center, R)`` of :func:`centred_factor`; ``weighted_resid``
    ``(n, k)`` are ``√w e`` (NaN where the weight is zero); ``hat`` ``(n,)``.
    """
    kept_features = torch.as_tensor(kept_features)
    center, R = factor
    E = torch.as_tensor(np.nan_to_num(weighted_resid), dtype=torch.float64)
    h = torch.as_tensor(np.nan_to_num(hat), dtype=torch.float64)
    n_obs = int((torch.as_tensor(np.isfinite(weighted_resid[:, 0]))).sum())
    scale = {"HC0": lambda e: e ** 2,
             "HC1": lambda e: e ** 2 * n_obs / (n_obs - R.shape[0]),
             "HC2": lambda e: e ** 2 / (1 - h[:, None]),
             "HC3": lambda e: (e / (1 - h[:, None])) ** 2}[cov_type]
    U = scale(E)
    R_inv = torch.linalg.solve_triangular(R, torch.eye(R.shape[0], dtype=torch.float64),
                                          upper=True)
    k = E.shape[1]
    meat = torch.zeros(k, R.shape[0], R.shape[0], dtype=torch.float64)
    for rows in row_blocks(X.shape[0]):
        G = centred_design(X[rows], center, intercept, kept_features) @ R_inv
        if weights is not None:
            G = G * weights[rows].to(torch.float64).sqrt()[:, None]
        meat += torch.einsum("ni,nk,nj->kij", G, U[rows], G)
    return torch.stack([lift_covariance(R_inv @ meat[i] @ R_inv.T, center)
                        for i in range(k)]).numpy()
