"""Which rows go where: the seeded validation split and each epoch's order.

``split_rows`` draws the validation rows of data in memory; ``hash_split``
chooses them by a seeded hash of each row's key, so rows streamed from
files or spread over processes are split the same way wherever they are.
"""
import numpy as np
import torch


def split_rows(n_rows, validation, generator):
    """Hold out ``floor(validation * n)`` rows chosen by a seeded permutation.

    Returns sorted ``(train_index, valid_index)`` tensors, so each part keeps
    the original row order.
    """
    n_valid = int(np.floor(validation * n_rows))
    if n_valid == 0:  # no permutation needed: only the generator's state as after one
        skip_permutation(n_rows, generator)
        # numpy's arange: torch's wakes its thread pool, whose threads then spin
        return torch.from_numpy(np.arange(n_rows)), torch.zeros(0, dtype=torch.int64)
    # int32 draws the same permutation (and leaves the generator in the same
    # state) in half the memory.
    small = torch.int32 if n_rows < 2 ** 31 else torch.int64
    order = torch.randperm(n_rows, generator=generator, dtype=small)
    # The held-out rows in order, without sorting: marked, then listed (numpy, on
    # this thread: torch's sort wakes its thread pool, whose threads then spin).
    held = np.zeros(n_rows, dtype=bool)
    held[order[:n_valid].numpy()] = True
    return torch.from_numpy(np.flatnonzero(~held)), torch.from_numpy(np.flatnonzero(held))


# Below this size torch's CPU randperm draws one 32-bit number for each position but the
# last (Fisher-Yates); above it, 64-bit ones.
_ONE_DRAW_PER_ROW = 2 ** 32 // 20


def skip_permutation(n_rows, generator):
    """Leave ``generator`` as ``torch.randperm(n_rows)`` leaves it, without the permutation:
    its ``n_rows - 1`` draws, into an array, in about a tenth of the time (the same state:
    tests/python/test_rows.py)."""
    if n_rows >= _ONE_DRAW_PER_ROW:
        torch.randperm(n_rows, generator=generator)
    elif n_rows > 1:
        torch.empty(n_rows - 1, dtype=torch.int32).random_(generator=generator)


def epoch_order(n_rows, shuffle, generator):
    """The order of the rows in one epoch: a seeded permutation, or as given.

    The training loop cuts it into contiguous minibatches; the last may be
    smaller, as with ``DataLoader(drop_last=False)``.
    """
    return torch.randperm(n_rows, generator=generator) if shuffle else torch.arange(n_rows)


def hash_split(keys, validation, seed):
    """Validation rows chosen by a seeded hash of each row's key: a boolean mask.

    Unlike :func:`split_rows` it needs no permutation of all rows, and a
    row's part depends only on its key and the seed, so it is the same on
    every pass over data streamed from files and on every process of a
    distributed fit. About ``validation`` of the rows are held out (the
    count is binomial, not exactly ``floor(validation * n)``).
    ``keys`` is an integer array (``uint64``); the hash is SplitMix64.
    """
    z = np.asarray(keys, dtype=np.uint64) + np.uint64((0x9E3779B97F4A7C15 * (seed + 1)) % 2 ** 64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53 < validation
