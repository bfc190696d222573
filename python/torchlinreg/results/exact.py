"""The exact least-squares reference, in float64.

``ols()`` is what every gradient-descent fit is measured against
(:mod:`torchlinreg.engine.linalg` does the algebra).
"""
from dataclasses import dataclass

import numpy as np
import torch

from ..engine.linalg import exact_solution
from ..inputs.arrays import as_design, as_response, as_weights, check_has_rows


@dataclass
class ExactFit:
    """The least-squares solution.

    Attributes
    ----------
    coef : numpy.ndarray
        ``(p,)`` for one output or ``(k, p)``; NaN for aliased columns.
    intercept : float or numpy.ndarray
        0 without an intercept.
    aliased : numpy.ndarray
        Boolean ``(p,)``: columns left out as linear combinations of others.
    rank : int
        Number of estimated coefficients, the intercept included.
    loss : float
        Mean squared error at the solution (weighted if weights were given).
    feature_names, output_names : list of str
    """

    coef: np.ndarray
    intercept: object
    aliased: np.ndarray
    rank: int
    loss: float
    feature_names: list
    output_names: list


def ols(X, y, intercept=True, weights=None):
    """Exact (weighted) least squares: the reference for every fit.

    Parameters
    ----------
    X : array-like or pandas.DataFrame, shape (n, p)
    y : array-like, shape (n,) or (n, k)
    intercept : bool
        Whether to add a column of ones, as ``lm()`` does unless ``- 1``.
    weights : array-like, shape (n,), optional
        Observation weights, as ``lm(weights = )``.

    Returns
    -------
    ExactFit
    """
    design = as_design(X, torch.float64)
    response = as_response(y, design.values.shape[0], torch.float64)
    w = as_weights(weights, design.values.shape[0], torch.float64)
    check_has_rows(design.values.shape[0])  # as lm(): coefficients beyond the rows alias
    weight, bias, aliased = exact_solution(design.values, response.values, w, intercept)
    safe = torch.nan_to_num(weight)
    pred = design.values @ safe.T + bias
    residual = (pred - response.values) ** 2
    loss = float(residual.mean() if w is None else ((w @ residual) / w.sum()).mean())
    one = response.one_output
    return ExactFit(
        coef=weight[0].numpy() if one else weight.numpy(),
        intercept=float(bias[0]) if one else bias.numpy(),
        aliased=aliased.numpy(),
        rank=int((~aliased).sum()) + int(intercept),
        loss=loss,
        feature_names=design.names,
        output_names=response.names,
    )
