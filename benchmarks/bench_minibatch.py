"""Benchmark 2: minibatch SGD, batch 128, 5 epochs, against the DataLoader loop and SGDRegressor."""
import warnings

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

import torchlinreg as tl
from common import make_data, timed
from torchlinreg.engine.minibatch import BATCHES_PER_BLOCK, step_batches
from torchlinreg.engine.threads import threads

LR = 0.01
MOMENTUM = 0.9


class RowDataset(Dataset):
    """The SGD tutorial's Dataset: one row per ``__getitem__``."""

    def __init__(self, X, y):
        self.X, self.y = torch.as_tensor(X), torch.as_tensor(y)[:, None]

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


def dataloader_loop(X, y, batch_size, max_batches):
    """The tutorial's loop over a shuffled DataLoader; stops after ``max_batches``."""
    loader = DataLoader(RowDataset(X, y), batch_size=batch_size, shuffle=True)
    model = torch.nn.Linear(X.shape[1], 1).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)

    def run():
        for i, (xb, yb) in enumerate(loader):
            optimizer.zero_grad()
            loss = ((model(xb) - yb) ** 2).mean()
            loss.backward()
            optimizer.step()
            if i + 1 >= max_batches:
                return i + 1
    seconds, batches = timed(run)
    return seconds, batches


def fit_seconds(X, y, batch_size, epochs, repeat=3, **options):
    """Median wall-clock seconds of ``repeat`` calls of ``tl.fit`` with SGD, and the fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        return timed(lambda: tl.fit(X, y, optimizer="sgd", lr=LR, batch_size=batch_size,
                                    epochs=epochs, tol=0, seed=1, **options), repeat)


def steps_seconds(X, y, batch_size):
    """One epoch of plain-SGD steps alone, on one thread: ``step_batches`` on the blocks of a
    shuffled order, gathered and standardized beforehand (the rest of an epoch's time is
    that gathering and standardizing)."""
    X, Y = torch.as_tensor(X), torch.as_tensor(y)[:, None]
    order = torch.randperm(X.shape[0])
    blocks = [((X[b] - X.mean(0)) / X.std(0), (Y[b] - Y.mean()) / Y.std())
              for b in order.split(batch_size * BATCHES_PER_BLOCK)]
    model = torch.nn.Linear(X.shape[1], 1, dtype=X.dtype)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    with threads(1):
        seconds, _ = timed(lambda: [step_batches(model, optimizer, x, yb, None, batch_size)
                                    for x, yb in blocks])
    return seconds


def run(quick=False):
    n, p, batch, epochs = 1_000_000, 20, 128, (2 if quick else 5)
    X, y = make_data(n, p)
    batches_per_epoch = int(np.ceil(n / batch))
    per_epoch = {}
    t, fit = fit_seconds(X, y, batch, epochs)  # plain SGD: the block path
    per_epoch["torchlinreg (gram engine), plain SGD"] = (t / epochs,
                                                         f"{epochs} epochs, median of 3 fits")
    # The statistics pass alone: a full-batch fit of one O(p²) step makes the same pass.
    setup, _ = fit_seconds(X, y, None, 1)
    t_momentum, _ = fit_seconds(X, y, batch, epochs, repeat=1, momentum=MOMENTUM)
    per_epoch[f"torchlinreg, SGD momentum={MOMENTUM}"] = (t_momentum / epochs,
                                                         f"{epochs} epochs measured")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        t_auto, _ = timed(lambda: tl.fit(X[:n // 10], y[:n // 10], optimizer="sgd", lr=LR,
                                         batch_size=batch, epochs=1, tol=0, seed=1,
                                         engine="autograd"))
    per_epoch["torchlinreg engine='autograd'"] = (t_auto * 10, "1 epoch of n/10 rows, x10")
    fraction = 0.05 if quick else 0.1
    max_batches = int(batches_per_epoch * fraction)
    t_loader, done = dataloader_loop(X, y, batch, max_batches)
    per_epoch["tutorial Dataset + DataLoader loop"] = (
        t_loader * batches_per_epoch / done,
        f"{done} batches ({fraction:.0%} of an epoch), extrapolated")
    from sklearn.linear_model import SGDRegressor
    model = SGDRegressor(penalty=None, max_iter=epochs, tol=None, learning_rate="constant",
                         eta0=0.001, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_sk, _ = timed(lambda: model.fit(X, y), repeat=3)
    per_epoch["sklearn SGDRegressor (penalty=None, batch size 1)"] = (
        t_sk / epochs, f"{epochs} epochs, median of 3 fits")
    exact = tl.ols(X, y)
    return {"n": n, "p": p, "batch_size": batch, "epochs": epochs, "per_epoch": per_epoch,
            "rows_per_second": {k: n / v[0] for k, v in per_epoch.items()},
            "setup_s": setup,
            "epoch_s": {"plain SGD": (t - setup) / epochs,
                        f"SGD momentum={MOMENTUM}": (t_momentum - setup) / epochs},
            "steps_epoch_s": steps_seconds(X, y, batch),
            "batches_per_block": BATCHES_PER_BLOCK,
            "final_loss": float(fit.history["loss"].iloc[-1]), "exact_loss": exact.loss}
