"""inputs/torch_data.py: a torch Dataset or DataLoader read once into arrays; fits from it
equal fits from those arrays."""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset

import torchlinreg as tl
from conftest import quiet_fit
from torchlinreg.errors import InputError
from torchlinreg.inputs import torch_data
from torchlinreg.inputs.torch_data import is_torch_data, read_torch_data


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
    from_dataset = quiet_fit(dataset, None, seed=2, epochs=50)
    from_arrays = quiet_fit(X_read, y_read, seed=2, epochs=50)
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


# --- the module's functions, one at a time ---------------------------------------------------

def test_what_counts_as_torch_data(data):
    X, y, _ = data
    dataset = _Rows(X, y)
    assert is_torch_data(dataset) and is_torch_data(DataLoader(dataset))
    assert is_torch_data(_Stream(X, y))
    assert not any(is_torch_data(v) for v in (X, torch.as_tensor(X), list(X)))


def test_a_tensor_dataset_is_used_as_it_is_without_reading_rows(data):
    X, y, _ = data
    tensors = torch.as_tensor(X), torch.as_tensor(y)
    X_read, y_read, batch_size = read_torch_data(TensorDataset(*tensors))
    assert X_read is tensors[0] and y_read is tensors[1] and batch_size is None
    assert read_torch_data(DataLoader(TensorDataset(*tensors), batch_size=9))[2] == 9


def test_a_datasets_rows_are_read_in_order_in_pieces(data, monkeypatch):
    X, y, _ = data
    monkeypatch.setattr(torch_data, "_READ_ROWS", 7)  # 300 rows: 43 pieces, the last of 6
    for source in (_Rows(X, y), _Stream(X, y)):
        X_read, y_read, _ = read_torch_data(source)
        np.testing.assert_array_equal(X_read, X.astype(np.float32))
        np.testing.assert_array_equal(y_read[:, 0], y.astype(np.float32))


def test_items_that_are_not_pairs_and_an_empty_dataset_are_input_errors(data):
    X, _, _ = data
    with pytest.raises(InputError, match="must yield \\(x, y\\) pairs; got items of type list"):
        read_torch_data(TensorDataset(torch.as_tensor(X)))
    with pytest.raises(InputError, match="the torch Dataset is empty"):
        read_torch_data(_Rows(X[:0], X[:0, 0]))


class _Stream(IterableDataset):
    """An IterableDataset of rows (no len, no indexing)."""

    def __init__(self, X, y):
        self.rows = _Rows(X, y)

    def __iter__(self):
        return (self.rows[i] for i in range(len(self.rows)))
