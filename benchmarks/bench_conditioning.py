"""Benchmark 8: steps to reach exact least squares against the design's condition number.

For designs whose centred, standardized columns have condition numbers from
1e1 to 1e12, each preconditioner (qr, standardize, none) and optimizer (Adam,
SGD, L-BFGS) runs up to ``MAX_STEPS`` full-batch steps with ``tol=0``; the
result is the first step whose training loss is within 1e-10 (relative) of
the exact least-squares loss, or None. The loss gap is ``|A(β - β*)|²/n``:
the error in the design's own norm, which every method can bring to
rounding whatever the conditioning (the coefficients themselves are only
determined to about the condition number times 1e-16, by lm() as by us). Then the time of
a default fit at 1e6 × 20 with "qr" against "standardize", taking turns in one
process (issue 14's targets: steps that do not grow with the condition number,
time within 1.2x).
"""
import os
import warnings

import numpy as np

import torchlinreg as tl
from common import make_data, timed

TARGET = 1e-10
CONDITIONS = [1e1, 1e2, 1e3, 1e4, 1e6, 1e8, 1e10, 1e12]
PRECONDITIONERS = ["qr", "standardize", "none"]
OPTIMIZERS = {"adam": {}, "sgd": {"lr": 0.2}, "lbfgs": {}}


def design(condition, n=2000, p=8, seed=0):
    """Centred columns with singular values from 1 to 1/condition (log spaced), an offset."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, p)) - 0.0)
    Q -= Q.mean(0)
    V, _ = np.linalg.qr(rng.standard_normal((p, p)))
    X = Q @ np.diag(np.logspace(0, -np.log10(condition), p)) @ V.T * np.sqrt(n) + 3.0
    y = X @ rng.standard_normal(p) + rng.standard_normal(n)
    standardized = (X - X.mean(0)) / X.std(0)
    return X, y, float(np.linalg.cond(standardized))


def steps_to_target(X, y, exact_loss, precondition, optimizer, max_steps):
    options = dict(OPTIMIZERS[optimizer])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = tl.fit(X, y, seed=1, tol=0, epochs=max_steps if optimizer != "lbfgs" else 200,
                         optimizer=optimizer, precondition=precondition, **options)
        except tl.DivergenceError:
            return None
    gap = (fit.history["loss"].to_numpy() - exact_loss) / exact_loss
    reached = np.flatnonzero(np.abs(gap) < TARGET)
    return None if not len(reached) else int(fit.history["step"].iloc[reached[0]])


def run(out_dir, quick=False):
    max_steps = 3000 if quick else 20000
    conditions = CONDITIONS[::2] if quick else CONDITIONS
    rows = []
    for condition in conditions:
        X, y, measured = design(condition)
        exact = tl.ols(X, y).loss
        for precondition in PRECONDITIONERS:
            for optimizer in OPTIMIZERS:
                rows.append({"condition": condition, "measured_condition": measured,
                             "precondition": precondition, "optimizer": optimizer,
                             "steps": steps_to_target(X, y, exact, precondition, optimizer,
                                                      max_steps)})
    n = 100_000 if quick else 1_000_000
    X, y = make_data(n, 20)
    times = {"qr": [], "standardize": []}
    for _ in range(3):  # taking turns, so both see the same load
        for precondition in times:
            seconds, fit = timed(lambda: tl.fit(X, y, seed=1, precondition=precondition))
            times[precondition].append({"seconds": seconds, "steps": fit.n_iter,
                                        "converged": fit.converged})
    plot = _plot(rows, os.path.join(out_dir, "conditioning.png"))
    return {"max_steps": max_steps, "target": TARGET, "rows": rows, "n": n, "p": 20,
            "default_fit": times, "plot": plot}


def _plot(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    styles = {"qr": "-", "standardize": "--", "none": ":"}
    markers = {"adam": "o", "sgd": "s", "lbfgs": "^"}
    for precondition in PRECONDITIONERS:
        for optimizer in OPTIMIZERS:
            mine = [r for r in rows if r["precondition"] == precondition
                    and r["optimizer"] == optimizer]
            x = [r["measured_condition"] for r in mine if r["steps"] is not None]
            s = [max(r["steps"], 1) for r in mine if r["steps"] is not None]
            ax.loglog(x, s, styles[precondition], marker=markers[optimizer],
                      label=f"{precondition}, {optimizer}")
    ax.set_xlabel("condition number of the standardized design")
    ax.set_ylabel(f"steps to reach {TARGET:g} of exact least squares")
    ax.set_title("Steps against conditioning (missing points: not reached)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return os.path.basename(path)
