"""A torch ``Dataset`` or ``DataLoader`` as ``fit()`` input, read once into tensors.

For those who follow the tutorials to the letter: the rows are read once
(a ``TensorDataset`` is used as it is, without reading row by row), and
the fit then batches them by its own seeded permutation, so the result can
be repeated from ``seed``. A ``DataLoader`` lends its ``batch_size`` (unless
``batch_size`` is given) and ``shuffle`` is taken from ``fit()``; its sampler,
``drop_last`` and workers are not used. Pass the ``Dataset`` for a full-batch fit.
"""

import torch
from torch.utils.data import DataLoader
from torch.utils.data import Dataset
from torch.utils.data import IterableDataset
from torch.utils.data import TensorDataset

from ..errors import InputError


_READ_ROWS = 4096


def is_torch_data(X):
    """Whether ``X`` is a torch ``Dataset`` or ``DataLoader``."""
    return isinstance(X, (Dataset, IterableDataset, DataLoader))


def read_torch_data(data, y=None):
    """``(X, y, batch_size)`` from a ``Dataset`` or ``DataLoader`` of ``(x, y)`` pairs.

    ``batch_size`` is the loader's, or None for a ``Dataset``.
    """
    if y is not None:
        raise InputError("with a torch Dataset or DataLoader, y comes from it: pass y=None.")
    batch_size = data.batch_size if isinstance(data, DataLoader) else None
    dataset = data.dataset if isinstance(data, DataLoader) else data
    if isinstance(dataset, TensorDataset) and len(dataset.tensors) == 2:
        X, y = dataset.tensors
    else:
        X, y = _read_pairs(dataset)
    return X, y, batch_size


def _read_pairs(dataset):
    xs, ys = [], []
    for batch in DataLoader(dataset, batch_size=_READ_ROWS, shuffle=False):
        if not isinstance(batch, (list, tuple)) or len(batch) != 2:
            raise InputError("a torch Dataset for fit() must yield (x, y) pairs; "
                             f"got items of type {type(batch).__name__}.")
        xs.append(torch.as_tensor(batch[0]))
        ys.append(torch.as_tensor(batch[1]))
    if not xs:
        raise InputError("the torch Dataset is empty.")
    return torch.cat(xs), torch.cat(ys)
