"""``simulate()``: the SGD tutorial's experiment."""
import numpy as np
import pytest

import torchlinreg as tl


def test_shapes_and_model():
    X, y, coef = tl.simulate(500, 4, noise=0.0, seed=1)
    assert X.shape == (500, 4) and y.shape == (500,) and coef.shape == (4,)
    np.testing.assert_allclose(y, X @ coef, rtol=1e-12)


def test_same_seed_same_data_different_seed_different_data():
    a, b, c = tl.simulate(50, 3, seed=7), tl.simulate(50, 3, seed=7), tl.simulate(50, 3, seed=8)
    for u, v in zip(a, b):
        assert u.tobytes() == v.tobytes()
    assert a[0].tobytes() != c[0].tobytes()


def test_distribution_of_x_and_noise():
    X, y, coef = tl.simulate(20000, 3, noise=0.5, seed=2)
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=0.05)
    np.testing.assert_allclose(np.cov(X.T), np.eye(3), atol=0.05)
    assert np.std(y - X @ coef) == pytest.approx(0.5, rel=0.03)


def test_ols_recovers_the_true_coefficients():
    X, y, coef = tl.simulate(2000, 5, noise=0.1, seed=3)
    fit = tl.ols(X, y, intercept=False)
    # Standard error of each coefficient is about noise / sqrt(n) = 0.0022.
    np.testing.assert_allclose(fit.coef, coef, atol=0.01)
