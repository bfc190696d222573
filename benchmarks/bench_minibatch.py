"""Benchmark 2: minibatch SGD, batch 128, 5 epochs, against the DataLoader loop and SGDRegressor."""
import warnings

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

import torchlinreg as tl
from common import make_data, timed


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
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

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


def run(quick=False):
    n, p, batch, epochs = 1_000_000, 20, 128, (1 if quick else 5)
    X, y = make_data(n, p)
    batches_per_epoch = int(np.ceil(n / batch))
    per_epoch = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        t, fit = timed(lambda: tl.fit(X, y, optimizer="sgd", lr=0.01, batch_size=batch,
                                      epochs=epochs, tol=0, seed=1))
    per_epoch["torchlinreg (gram engine)"] = (t / epochs, f"{epochs} epochs measured")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        t, _ = timed(lambda: tl.fit(X[:n // 10], y[:n // 10], optimizer="sgd", lr=0.01,
                                    batch_size=batch, epochs=1, tol=0, seed=1, engine="autograd"))
    per_epoch["torchlinreg engine='autograd'"] = (t * 10, "1 epoch of n/10 rows, x10")
    fraction = 0.05 if quick else 0.1
    max_batches = int(batches_per_epoch * fraction)
    t, done = dataloader_loop(X, y, batch, max_batches)
    per_epoch["tutorial Dataset + DataLoader loop"] = (
        t * batches_per_epoch / done, f"{done} batches ({fraction:.0%} of an epoch), extrapolated")
    from sklearn.linear_model import SGDRegressor
    sk_epochs = 1 if quick else 5
    model = SGDRegressor(penalty=None, max_iter=sk_epochs, tol=None, learning_rate="constant",
                         eta0=0.001, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, _ = timed(lambda: model.fit(X, y))
    per_epoch["sklearn SGDRegressor (penalty=None, batch size 1)"] = (
        t / sk_epochs, f"{sk_epochs} epochs measured")
    exact = tl.ols(X, y)
    return {"n": n, "p": p, "batch_size": batch, "epochs": epochs, "per_epoch": per_epoch,
            "rows_per_second": {k: n / v[0] for k, v in per_epoch.items()},
            "final_loss": float(fit.history["loss"].iloc[-1]), "exact_loss": exact.loss}
