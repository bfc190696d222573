"""Benchmark 1: full batch, Adam, 1,000 steps with full tracking, against the alternatives."""
import statistics
import subprocess
import time
import warnings

import numpy as np
import torch

import torchlinreg as tl
from common import R_READ_DATA, make_data, run_rscript, timed

R_SCRIPT = R_READ_DATA + r"""
times <- replicate(as.integer(args[4]), system.time(fit <<- lm(y ~ ., data = d))[c("elapsed", "user.self", "sys.self")])
cat(sprintf("%.17g", c(median(times[1, ]), median(times[2, ] + times[3, ]), coef(fit)[1:3])), "\n")
"""


def tutorial_autograd_loop(X, y, steps):
    """The tutorials' loop: nn.Linear, Adam, forward, backward, step, tracking every step."""
    X = torch.as_tensor(X)
    y = torch.as_tensor(y)[:, None]
    X = (X - X.mean(0)) / X.std(0)
    y = (y - y.mean()) / y.std()
    model = torch.nn.Linear(X.shape[1], 1).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    losses, params = [], []

    def run():
        for _ in range(steps):
            optimizer.zero_grad()
            loss = ((model(X) - y) ** 2).mean()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            params.append(torch.cat([model.bias.detach(), model.weight.detach()[0]]).clone())
    return timed(run)[0]


def r_lm(X, y, repeat):
    """Median seconds (wall, CPU) of ``lm(y ~ ., data)`` inside R (reading the data is not
    timed), and its first coefficients; or None and why."""
    try:
        out = run_rscript(R_SCRIPT, X, y, repeat)
    except (OSError, subprocess.SubprocessError) as error:
        return None, str(error)
    if out.returncode != 0:
        return None, out.stderr.strip()[-300:]
    values = out.stdout.split()
    return (float(values[0]), float(values[1])), [float(v) for v in values[2:]]


def cpu_timed(function, repeat):
    """Median CPU seconds of this process (all its threads) over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return statistics.median(times)


def run(quick=False):
    n, p, steps = (200_000 if quick else 1_000_000), 20, 1000
    X, y = make_data(n, p)
    repeat = 1 if quick else 3
    rows = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        t, fit = timed(lambda: tl.fit(X, y, epochs=steps, tol=0, seed=1), repeat)
        rows["torchlinreg (gram engine)"] = t
        cpu = cpu_timed(lambda: tl.fit(X, y, epochs=steps, tol=0, seed=1), repeat)
        # The same fit with one step: its pass over the rows and the rest of the set-up.
        cpu_one = cpu_timed(lambda: tl.fit(X, y, epochs=1, tol=0, seed=1), repeat)
        t, _ = timed(lambda: tl.fit(X, y, epochs=steps, tol=0, seed=1, validation=0.2), repeat)
        rows["torchlinreg, 20% validation tracked"] = t
        few = 20 if quick else 50
        t, _ = timed(lambda: tl.fit(X, y, epochs=few, tol=0, seed=1, engine="autograd"))
        rows[f"torchlinreg engine='autograd' ({few} steps, x{steps // few})"] = t * steps / few
    t = tutorial_autograd_loop(X, y, few)
    rows[f"tutorial autograd loop ({few} steps, x{steps // few})"] = t * steps / few
    t_lm, lm_coef = r_lm(X, y, repeat)
    rows["R lm()"] = None if t_lm is None else t_lm[0]
    from sklearn.linear_model import LinearRegression
    rows["sklearn LinearRegression"] = timed(lambda: LinearRegression().fit(X, y), repeat)[0]
    rows["numpy lstsq"] = timed(
        lambda: np.linalg.lstsq(np.column_stack([np.ones(n), X]), y, rcond=None), repeat)[0]
    exact = tl.ols(X, y)
    return {"n": n, "p": p, "steps": steps, "times": rows, "lm_error": None if t_lm else lm_coef,
            "cpu": {"torchlinreg": cpu, "torchlinreg, 1 step": cpu_one,
                    "R lm()": None if t_lm is None else t_lm[1]},
            "max_rel_diff_vs_ols": float(np.max(np.abs(fit.coef - exact.coef) / np.abs(exact.coef))),
            "lm_coef_matches": (t_lm is not None and
                                bool(np.allclose(lm_coef, [exact.intercept, *exact.coef[:2]],
                                                 rtol=1e-8)))}
