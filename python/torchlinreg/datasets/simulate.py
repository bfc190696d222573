"""The SGD tutorial's simulated experiment."""

import numpy as np


def simulate(n_obs, n_var, noise=0.1, seed=None):
    """Draw ``X``, ``y`` and the true coefficients of a linear model.

    As ``generate_experiment`` in the minibatch SGD tutorial: the rows of
    ``X`` are multivariate normal with zero means and identity covariance,
    the coefficients are standard normal, and ``y = X β + ε`` with
    ``ε ~ N(0, noise²)``. The true model has no intercept.

    Parameters
    ----------
    n_obs, n_var : int
    noise : float, default 0.1
        Standard deviation of the noise.
    seed : int, optional

    Returns
    -------
    X : numpy.ndarray, shape (n_obs, n_var)
    y : numpy.ndarray, shape (n_obs,)
    coef : numpy.ndarray, shape (n_var,)
    """
    rng = np.random.default_rng(seed)
    X = rng.multivariate_normal(np.zeros(n_var), np.eye(n_var), size=n_obs)
    coef = rng.normal(0.0, 1.0, size=n_var)
    y = X @ coef + rng.normal(0.0, noise, size=n_obs)
    return X, y, coef
