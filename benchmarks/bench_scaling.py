"""Benchmark 5: how the time of a 1,000-step Adam fit grows with n and with p."""
import os
import warnings

import numpy as np

import torchlinreg as tl
from common import make_data, timed


def _time(n, p, steps):
    X, y = make_data(n, p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        seconds, _ = timed(lambda: tl.fit(X, y, epochs=steps, tol=0, seed=1))
    lstsq, _ = timed(lambda: np.linalg.lstsq(np.column_stack([np.ones(n), X]), y, rcond=None))
    return {"n": n, "p": p, "torchlinreg_s": seconds, "lstsq_s": lstsq}


def run(out_dir, quick=False):
    steps = 1000
    ns = [10_000, 100_000, 1_000_000] + ([] if quick else [10_000_000])
    ps = [5, 20, 50] + ([] if quick else [100, 200])
    by_n = [_time(n, 20, steps) for n in ns]
    by_p = [_time(100_000, p, steps) for p in ps]
    plot = _plot(by_n, by_p, os.path.join(out_dir, "scaling.png"))
    return {"steps": steps, "by_n": by_n, "by_p": by_p, "plot": plot}


def _plot(by_n, by_p, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, rows, key, label in [(axes[0], by_n, "n", "n (p = 20)"),
                                 (axes[1], by_p, "p", "p (n = 100,000)")]:
        x = [r[key] for r in rows]
        ax.loglog(x, [r["torchlinreg_s"] for r in rows], "o-", label="torchlinreg, 1,000 Adam steps")
        ax.loglog(x, [r["lstsq_s"] for r in rows], "s--", label="numpy lstsq (exact)")
        ax.set_xlabel(label)
        ax.set_ylabel("seconds")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    fig.suptitle("Time of a full-batch fit with full tracking")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return os.path.basename(path)
