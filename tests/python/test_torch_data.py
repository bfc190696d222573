"""inputs/torch_data.py: a torch Dataset or DataLoader read once into arrays; fits from it
equal fits from those arrays."""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

import torchlinreg as tl
from torchlinreg.errors import InputError


@pytest.fixture
def data(rng):
    X = rng.standard_normal((300, 3)) * [1, 5, 0.2] + [10, -3, 0]
    return X, 1.5 + X @ [0.5, -1.0, 2.0] + 0.5 * rng.standard_normal(300), None


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
