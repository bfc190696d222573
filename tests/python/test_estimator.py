"""TorchLinearRegression: scikit-learn's estimator checks, and agreement with ols() and lm()."""
import subprocess
from contextlib import nullcontext
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import torchlinreg  # noqa: E402
from torchlinreg import TorchLinearRegression  # noqa: E402

# Full-batch SGD with momentum converges in a few hundred steps on the checks' small,
# well-conditioned data sets (default Adam takes longer on some), which keeps this file fast.
FAST = dict(optimizer="sgd", lr=0.3, optimizer_options={"momentum": 0.9}, seed=0)


@parametrize_with_checks([TorchLinearRegression(**FAST)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _r_available():
    from torchlinreg.interop.lm_check import start_r
    try:
        start_r()
    except ImportError as error:
        return repr(error.__cause__)
    return None


needs_r = pytest.mark.skipif(_r_available() is not None, reason=f"R/rpy2 missing: {_r_available()}")


@pytest.fixture(scope="module")
def data():
    X, y, _ = torchlinreg.simulate(200, 3, noise=0.5, seed=3)
    return X, y


def test_importing_torchlinreg_does_not_import_sklearn():
    code = "import sys, torchlinreg; print(any(m.startswith('sklearn') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_default_estimator_matches_exact_least_squares(data):
    X, y = data
    model = TorchLinearRegression(seed=1).fit(X, y)
    exact = torchlinreg.ols(X, y)
    np.testing.assert_allclose(model.coef_, exact.coef, rtol=1e-8)
    assert model.intercept_ == pytest.approx(exact.intercept, rel=1e-8, abs=1e-12)
    assert model.n_iter_ == model.linear_fit_.n_iter > 0
    assert model.n_features_in_ == 3
    np.testing.assert_allclose(model.predict(X), X @ exact.coef + exact.intercept, rtol=1e-9)
    assert 0.5 < model.score(X, y) <= 1


def test_parameters_are_fit_parameters():
    params = TorchLinearRegression().get_params()
    assert set(params) == {"intercept", "optimizer", "lr", "epochs", "batch_size", "shuffle",
                           "validation", "standardize", "dtype", "seed", "tol", "init", "engine",
                           "verbose", "optimizer_options", "fit_intercept", "max_iter",
                           "random_state", "warm_start", "early_stopping", "n_iter_no_change",
                           "validation_fraction", "precondition"}
    model = TorchLinearRegression().set_params(optimizer="sgd", lr=0.05)
    assert model.get_params()["optimizer"] == "sgd" and clone(model).lr == 0.05


def test_dataframe_names_reach_the_linear_fit(data):
    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = TorchLinearRegression(seed=1).fit(frame, y)
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    assert model.linear_fit_.term_names == ["(Intercept)", "a", "b", "c"]
    assert "Coefficients:" in str(model.linear_fit_.summary())


def test_two_outputs_and_no_intercept(data):
    X, y = data
    Y = np.column_stack([y, 2 * y - X[:, 0]])
    model = TorchLinearRegression(intercept=False, seed=1).fit(X, Y)
    exact = torchlinreg.ols(X, Y, intercept=False)
    assert model.coef_.shape == (2, 3) and model.predict(X).shape == (200, 2)
    np.testing.assert_allclose(model.coef_, exact.coef, rtol=1e-8)
    np.testing.assert_array_equal(model.intercept_, [0.0, 0.0])


def test_works_in_a_pipeline_and_cross_validation(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), TorchLinearRegression(**FAST))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and (scores > 0.5).all()


def test_float32_reaches_the_documented_tolerance(data):
    X, y = data
    model = TorchLinearRegression(dtype="float32", seed=1).fit(X, y)
    np.testing.assert_allclose(model.coef_, torchlinreg.ols(X, y).coef, rtol=1e-4)


@needs_r
def test_sample_weight_matches_lm_weights(data):
    X, y = data
    weights = np.random.default_rng(5).uniform(0.2, 3.0, size=len(y))
    model = TorchLinearRegression(seed=1).fit(X, y, sample_weight=weights)
    lm = torchlinreg.lm_check(X, y, weights=weights)
    np.testing.assert_allclose(model.coef_, lm.coef[0, 1:], rtol=1e-8)
    assert model.intercept_ == pytest.approx(lm.coef[0, 0], rel=1e-8, abs=1e-10)
    inference = model.linear_fit_.inference
    np.testing.assert_allclose(inference.std_error, lm.std_error, rtol=1e-6)
    np.testing.assert_allclose(inference.sigma, lm.sigma, rtol=1e-8)
    np.testing.assert_allclose(inference.r_squared, lm.r_squared, rtol=1e-8)


def test_zero_weights_equal_dropping_rows(data):
    X, y = data
    weights = np.ones(len(y))
    weights[:20] = 0
    weighted = TorchLinearRegression(seed=1).fit(X, y, sample_weight=weights)
    dropped = TorchLinearRegression(seed=1).fit(X[20:], y[20:])
    np.testing.assert_allclose(weighted.coef_, dropped.coef_, rtol=1e-8)


def test_errors_are_value_errors_with_what_to_change():
    X = np.ones((5, 2))
    with pytest.raises(ValueError, match="optimizer"):
        TorchLinearRegression(optimizer="nope").fit(X, np.arange(5.0))
    with pytest.raises(ValueError, match="NaN"):
        TorchLinearRegression().fit(np.array([[1.0], [np.nan], [2.0]]), np.arange(3.0))


def test_convergence_warning_is_scikit_learns():
    from sklearn.exceptions import ConvergenceWarning
    import warnings
    assert issubclass(torchlinreg.ConvergenceWarning, ConvergenceWarning)
    X = np.arange(20.0).reshape(10, 2) ** [1, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        TorchLinearRegression(max_iter=3, seed=0).fit(X, X.sum(1))


def test_convergence_warning_is_scikit_learns_whatever_is_imported_first():
    code = ("import sys, torchlinreg; assert not any(m.startswith('sklearn') for m in sys.modules); "
            "from sklearn.exceptions import ConvergenceWarning; "
            "print(issubclass(torchlinreg.ConvergenceWarning, ConvergenceWarning))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_scikit_learn_parameter_names(data):
    X, y = data
    ours = TorchLinearRegression(intercept=False, epochs=40, seed=3).fit(X, y)
    theirs = TorchLinearRegression(fit_intercept=False, max_iter=40, random_state=3).fit(X, y)
    np.testing.assert_array_equal(ours.coef_, theirs.coef_)
    assert theirs.intercept_ == 0 and theirs.n_iter_ == 40
    drawn = TorchLinearRegression(random_state=np.random.RandomState(1), max_iter=5).fit(X, y)
    assert isinstance(drawn.linear_fit_.settings["seed"], int)
    with pytest.warns(torchlinreg.ConvergenceWarning):  # scikit-learn's name wins
        assert TorchLinearRegression(epochs=10, max_iter=20).fit(X, y).n_iter_ == 20


def test_pickle_holds_what_predicting_needs_not_the_rows(rng):
    import pickle
    X = rng.normal(size=(50_000, 4))
    y = X @ [1.0, 2.0, 3.0, 4.0] + rng.normal(size=50_000)
    est = TorchLinearRegression(seed=0).fit(X, y)
    data = pickle.dumps(est)
    assert len(data) < 300_000  # was 2.6 MB: the rows (1.6 MB) and row indices (0.4 MB)
    again = pickle.loads(data)
    np.testing.assert_array_equal(again.predict(X[:100]), est.predict(X[:100]))
    fit = again.linear_fit_
    assert fit._train is None and fit.train_index is None and fit.n_train == 50_000
    assert fit.fingerprint == est.linear_fit_.fingerprint
    with pytest.raises(torchlinreg.MissingDataError):
        fit.inference


def test_warm_start_continues_the_previous_fit(data):
    X, y = data
    est = TorchLinearRegression(max_iter=30, warm_start=True, seed=1, tol=0)
    with pytest.warns(torchlinreg.ConvergenceWarning):
        est.fit(X, y)
    with pytest.warns(torchlinreg.ConvergenceWarning):
        est.fit(X, y)
    with pytest.warns(torchlinreg.ConvergenceWarning):
        at_once = TorchLinearRegression(max_iter=60, seed=1, tol=0).fit(X, y)
    assert est.linear_fit_.n_steps == 60
    np.testing.assert_array_equal(est.coef_, at_once.coef_)


@pytest.mark.parametrize("batch_size", [None, 32])
def test_partial_fit_passes_equal_one_fit_of_as_many_epochs(data, batch_size):
    """partial_fit on the same rows k times is fit(epochs=k): the same steps, in the same order."""
    X, y = data
    est = TorchLinearRegression(batch_size=batch_size, optimizer="sgd", lr=0.05, seed=2)
    for _ in range(4):
        est.partial_fit(X, y)
    with pytest.warns(torchlinreg.ConvergenceWarning) if batch_size is None else nullcontext():
        once = torchlinreg.fit(X, y, batch_size=batch_size, optimizer="sgd", lr=0.05, seed=2,
                               epochs=4, tol=0)
    fit = est.linear_fit_
    assert fit.n_iter == 4 and fit.n_steps == once.n_steps and len(fit.history) == 5
    np.testing.assert_allclose(est.coef_, once.coef, rtol=1e-12)
    np.testing.assert_allclose(fit.history["grad_norm"], once.history["grad_norm"], rtol=1e-9)


def test_partial_fit_over_pieces_reaches_least_squares_and_keeps_their_moments(rng):
    X = rng.normal(size=(600, 3))
    y = X @ [1.0, 2.0, 3.0] + 1 + rng.normal(size=600) * 0.1
    est = TorchLinearRegression(batch_size=50, optimizer="sgd", lr=0.05, seed=1)
    for _ in range(20):
        for part in np.array_split(np.arange(600), 3):
            est.partial_fit(X[part], y[part])
    exact = torchlinreg.ols(X, y)
    np.testing.assert_allclose(est.coef_, exact.coef, atol=5e-3)
    fit = est.linear_fit_
    assert fit.n_iter == 60 and fit.n_steps == 60 * 4 and fit.nobs == 20 * 600
    np.testing.assert_allclose(fit.exact[0][0], exact.coef, rtol=1e-9)  # from the moments
    assert "Coefficients:" in str(fit.summary())
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(X[:10, :2], y[:10])
    assert est.fit(X, y).linear_fit_.n_train == 600  # fit() starts afresh
