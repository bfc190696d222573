"""engine/minibatch.py: minibatch steps without autograd against the autograd loop (full
fits, both engines); and the progress bar those loops show."""
import sys
import warnings

import numpy as np
import pytest

import torchlinreg as tl

RTOL = 1e-10


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    n, p = 1000, 4
    X = rng.standard_normal((n, p)) * [1, 5, 0.2, 3] + [10, -3, 0, 1]
    y = 1.5 + X @ rng.standard_normal(p) + 0.5 * rng.standard_normal(n)
    return X, y, rng.uniform(0.5, 1.5, n)


def _both(X, y, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        return (tl.fit(X, y, engine="autograd", **options), tl.fit(X, y, engine="gram", **options))


def _same_history(a, b, rtol=RTOL):
    assert list(a.history.columns) == list(b.history.columns)
    np.testing.assert_allclose(b.history.to_numpy(), a.history.to_numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.01), ("adam", 0.001)])
@pytest.mark.parametrize("options", [
    {}, {"validation": 0.2}, {"weights": "yes"}, {"shuffle": False}, {"intercept": False},
])
def test_minibatches_match_the_autograd_loop(data, optimizer, lr, options):
    X, y, weights = data
    options = dict(options)
    if options.get("weights") == "yes":
        options["weights"] = weights
    a, g = _both(X, y, optimizer=optimizer, lr=lr, batch_size=32, epochs=3, seed=4,
                 init="uniform", **options)
    assert a.n_steps == g.n_steps == 3 * int(np.ceil(len(a.train_index) / 32))
    _same_history(a, g)


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.01), ("adam", 0.001)])
def test_minibatches_leave_out_an_aliased_column(data, optimizer, lr):
    X, y, _ = data
    X = np.column_stack([X, 2 * X[:, 0]])
    a, g = _both(X, y, optimizer=optimizer, lr=lr, batch_size=50, epochs=2, seed=1,
                 init="uniform")
    assert g.aliased[-1] and a.aliased[-1]
    _same_history(a, g)


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.01), ("adam", 0.001)])
def test_minibatches_of_two_outputs_match_the_autograd_loop(data, optimizer, lr):
    X, y, _ = data
    Y = np.column_stack([y, X[:, 1] - 2 * y])
    a, g = _both(X, Y, optimizer=optimizer, lr=lr, batch_size=32, epochs=2, seed=3,
                 init="uniform")
    _same_history(a, g)


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.01), ("adam", 0.001)])
def test_float32_minibatches_match_the_autograd_loop_to_float32_rounding(data, optimizer, lr):
    X, y, _ = data
    a, g = _both(X, y, optimizer=optimizer, lr=lr, batch_size=32, epochs=2, seed=3,
                 init="uniform", dtype="float32")
    assert g.coef.dtype == a.coef.dtype
    _same_history(a, g, rtol=1e-4)


def test_no_bar_when_not_a_terminal(data, capsys):
    X, y, _ = data
    tl.fit(X, y, seed=1, epochs=20, tol=0, verbose=None)
    tl.fit(X, y, seed=1, epochs=20, tol=0, verbose=False)
    assert capsys.readouterr().err == ""


def test_verbose_true_shows_a_bar(data, capsys):
    pytest.importorskip("tqdm")
    X, y, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        tl.fit(X, y, seed=1, epochs=20, tol=0, verbose=True, validation=0.2)
    assert "step" in capsys.readouterr().err


def test_no_bar_and_no_error_without_tqdm(data, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    X, y, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        fit = tl.fit(X, y, seed=1, epochs=20, tol=0, verbose=True)
    assert fit.n_iter == 20
    assert capsys.readouterr().err == ""
