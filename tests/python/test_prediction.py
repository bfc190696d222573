"""results/prediction.py: ``get_prediction()``'s results are ``predict(interval=...)``'s numbers
(statsmodels' names; statsmodels itself in test_statsmodels_names.py)."""
import numpy as np
import pytest

import torchlinreg as tl


@pytest.fixture
def fit_and_x(rng):
    X = rng.normal(size=(50, 2))
    return tl.fit(X, X @ [1.0, -1.0] + 2 + rng.normal(size=50), seed=1), X


def test_intervals_are_predicts(fit_and_x):
    fit, X = fit_and_x
    pred = fit.get_prediction(X[:7])
    for obs, interval in ((False, "confidence"), (True, "prediction")):
        np.testing.assert_array_equal(pred.conf_int(obs=obs, alpha=0.2),
                                      fit.predict(X[:7], interval=interval, level=0.8)[:, 1:])
    np.testing.assert_allclose(pred.predicted_mean, fit.predict(X[:7]), rtol=1e-14)
    np.testing.assert_allclose(pred.se_obs ** 2, pred.se_mean ** 2 + fit.scale, rtol=1e-14)
    np.testing.assert_array_equal(pred.var_pred_mean, pred.se ** 2)
    frame = pred.summary_frame()
    assert frame.index.tolist() == list(range(7))


def test_weights_of_new_observations_widen_or_narrow_their_intervals(fit_and_x):
    fit, X = fit_and_x
    one, four = fit.get_prediction(X[:3]), fit.get_prediction(X[:3], weights=[4, 4, 4])
    np.testing.assert_allclose(four.var_resid, one.var_resid / 4, rtol=1e-15)
    np.testing.assert_array_equal(four.conf_int(), one.conf_int())
    assert (np.diff(four.conf_int(obs=True)) < np.diff(one.conf_int(obs=True))).all()
    with pytest.raises(tl.ShapeError, match="one per row"):
        fit.get_prediction(X[:3], weights=[1, 2])
    with pytest.raises(ValueError, match="alpha"):
        one.conf_int(alpha=1.5)


def test_several_outputs(rng):
    X = rng.normal(size=(40, 2))
    fit = tl.fit(X, np.column_stack([X[:, 0], X[:, 1]]) + rng.normal(size=(40, 2)), seed=1)
    pred = fit.get_prediction(X[:5])
    assert pred.predicted_mean.shape == (5, 2) and pred.conf_int(obs=True).shape == (5, 2, 2)
    np.testing.assert_array_equal(pred.conf_int(obs=True)[:, 1, :],
                                  fit.predict(X[:5], interval="prediction")[:, 1, 1:])
    with pytest.raises(tl.ShapeError, match="one output"):
        pred.summary_frame()
