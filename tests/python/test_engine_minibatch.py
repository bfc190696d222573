"""Minibatches without autograd, torch Dataset/DataLoader input, and the progress bar."""
import sys
import warnings

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

import torchlinreg as tl
from torchlinreg.errors import InputError

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


class _Rows(Dataset):
    """A tutorial-style Dataset: one row per __getitem__."""

    def __init__(self, X, y):
        self.X = torch.as_tensor(X, dtype=torch.float32)
        self.y = torch.as_tensor(y, dtype=torch.float32)[:, None]

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


@pytest.mark.parametrize("make", [
    lambda X, y: TensorDataset(torch.as_tensor(X), torch.as_tensor(y)),
    lambda X, y: _Rows(X, y),
])
def test_a_torch_dataset_fits_as_its_arrays(data, make):
    X, y, _ = data
    dataset = make(X, y)
    X_read = X.astype(np.float32) if isinstance(dataset, _Rows) else X
    y_read = y.astype(np.float32) if isinstance(dataset, _Rows) else y
    from_dataset = tl.fit(dataset, None, seed=2, epochs=50)
    from_arrays = tl.fit(X_read, y_read, seed=2, epochs=50)
    assert from_dataset.settings["batch_size"] is None
    np.testing.assert_array_equal(from_dataset.coef, from_arrays.coef)


def test_a_dataloader_lends_its_batch_size(data):
    X, y, _ = data
    loader = DataLoader(_Rows(X, y), batch_size=64, shuffle=True)
    fit = tl.fit(loader, None, seed=3, epochs=2, optimizer="sgd", lr=0.01)
    assert fit.settings["batch_size"] == 64
    assert fit.n_steps == 2 * int(np.ceil(len(X) / 64))
    again = tl.fit(loader, None, seed=3, epochs=2, optimizer="sgd", lr=0.01)
    assert fit.history.equals(again.history)
    assert tl.fit(loader, None, seed=3, epochs=1, batch_size=100).settings["batch_size"] == 100


def test_a_dataset_with_y_is_refused(data):
    X, y, _ = data
    with pytest.raises(InputError, match="pass y=None"):
        tl.fit(TensorDataset(torch.as_tensor(X), torch.as_tensor(y)), y)


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
