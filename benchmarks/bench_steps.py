"""Benchmark 10: the cost of one tracked step, against ``optimizer.step()`` alone.

A tracked full-batch step of the moments engine is the gradient from the
moments, the optimizer's step and the record (parameters, loss, validation
loss, gradient norm) into the history. Its cost is the difference between two
fits that differ only in their number of steps (``tol=0`` and a small
learning rate, so that both run to their limit), divided by the difference in
steps: what a user pays per step, the history's mapping to the original scale
included. Minibatch steps likewise, from fits of 1 and of more epochs (per
step: the gathering and standardizing of the rows, the gradient, the step and
the record of each epoch).

Times are CPU seconds of this process (``time.process_time``; the loop runs on
one thread), the least of several runs, so that other work on this shared
machine weighs little. The floor is ``torch.optim.Adam.step()`` alone on one
``(1, p + 1)`` float64 tensor in each implementation: torch's default
(for-loop) one and the fused one, torchlinreg's default for Adam; beside it
the same step called as torchlinreg calls it (:mod:`torchlinreg.engine.stepping`).
"""
import time
import warnings

import numpy as np
import torch

import torchlinreg as tl
from torchlinreg.engine.optimizers import OPTIMIZERS, default_options
from torchlinreg.engine.stepping import stepper
from torchlinreg.engine.threads import threads
from common import MTCARS, make_data


def _cpu(function, repeat):
    """The least CPU seconds of ``repeat`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        function()
        best = min(best, time.process_time() - start)
    return best


def _differences(pairs, repeat):
    """For each ``(short, long)`` pair of functions, the least CPU seconds of ``long()`` minus
    the least of ``short()``; all take turns ``repeat`` times (so that a busy spell of the
    machine weighs on all of them)."""
    best = [[float("inf"), float("inf")] for _ in pairs]
    for _ in range(repeat):
        for pair, times in zip(pairs, best):
            for i, function in enumerate(pair):
                times[i] = min(times[i], _cpu(function, 1))
    return [long - short for short, long in best]


def _floor(q, optimizer="adam", calls=3000, **options):
    """Seconds per ``step()`` on one ``(1, q)`` float64 tensor: ``optimizer.step()`` and the
    step as torchlinreg calls it; on one thread, as a fit runs its steps (torch's fused
    kernels start threads for a few dozen numbers, which costs more than the update)."""
    parameter = torch.zeros(1, q, dtype=torch.float64, requires_grad=True)
    instance = OPTIMIZERS[optimizer]([parameter], lr=1e-6, **options)
    parameter.grad = torch.randn(1, q, dtype=torch.float64,
                                 generator=torch.Generator().manual_seed(0))
    instance.step()
    out = []
    with threads(1):
        for call in (instance.step, stepper(instance)):
            def run():
                for _ in range(calls):
                    call()
            out.append(_cpu(run, 5) / calls)
    return out


def _per_step(X, y, short, long, repeat, **options):
    """CPU seconds per tracked step: (fit of ``long`` - fit of ``short``) / extra steps."""
    options = dict(tol=0, lr=1e-4, seed=1, **options)
    fits = [tl.fit(X, y, epochs=epochs, **options) for epochs in (short, long)]
    seconds = _differences([(lambda: tl.fit(X, y, epochs=short, **options),
                             lambda: tl.fit(X, y, epochs=long, **options))], repeat)[0]
    return seconds / (fits[1].n_steps - fits[0].n_steps), fits[1].n_steps


def _mtcars(repeat):
    """A default fit of mpg ~ wt + hp on mtcars, warm: median wall and CPU seconds."""
    X = np.column_stack([MTCARS["wt"], MTCARS["hp"]]).astype(float)
    y = np.asarray(MTCARS["mpg"], dtype=float)
    fit = tl.fit(X, y)
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        tl.fit(X, y)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"wall_s": float(np.median(walls)), "cpu_s": float(np.median(cpus)),
            "steps": fit.n_steps, "converged": fit.converged}


def _minibatch_epochs(X, y, names, batch_size, epochs, repeat):
    """CPU seconds per epoch of minibatch steps with each optimizer in ``names`` (the
    difference between fits of 1 and of ``1 + epochs`` epochs: the statistics pass cancels),
    all taking turns."""
    def fits(name, count):
        options = dict(optimizer=name, lr=1e-3 if name == "adam" else 1e-2,
                       batch_size=batch_size, tol=0, seed=1, epochs=count)
        return lambda: tl.fit(X, y, **options)
    seconds = _differences([(fits(name, 1), fits(name, 1 + epochs)) for name in names], repeat)
    return {name: s / epochs for name, s in zip(names, seconds)}


def run(quick=False):
    torch.manual_seed(0)
    repeat = 3 if quick else 7
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for p in (5, 20, 100):
            X, y = make_data(1_000, p, seed=p)
            short, long = (100, 1100) if quick else (200, 3200)
            full, steps = _per_step(X, y, short, long, repeat)
            valid, _ = _per_step(X, y, short, long, repeat, validation=0.2)
            Xm, ym = make_data(20_000 if quick else 100_000, p, seed=p)
            minibatch = _minibatch_epochs(Xm, ym, ["adam"], 256, 2 if quick else 4,
                                          repeat)["adam"]
            loop, fused = _floor(p + 1, fused=False), _floor(p + 1, fused=True)
            rows.append({"p": p, "full_batch_s": full, "with_validation_s": valid,
                         "minibatch_s": minibatch / -(-Xm.shape[0] // 256),
                         "steps": steps, "floor_for_loop_s": loop[0],
                         "floor_fused_s": fused[0], "fused_as_called_s": fused[1]})
        X, y = make_data(1_000, 20, seed=20)
        by_optimizer = {}
        for name in ("sgd", "adam", "adamw", "rmsprop", "adagrad"):
            per_step, _ = _per_step(X, y, 100, 1100 if quick else 2100, repeat,
                                    optimizer=name, validation=0.2)
            by_optimizer[name] = {"tracked_s": per_step,
                                  "floor_s": _floor(21, name, **_default_options(name))[0]}
        mtcars = _mtcars(9 if quick else 21)
        n = 200_000 if quick else 1_000_000
        Xb, yb = make_data(n, 20, seed=3)
        epochs = _minibatch_epochs(Xb, yb, ["sgd", "adam"], 256, 2 if quick else 4,
                                   3 if quick else 7)
    return {"rows": rows, "by_optimizer": by_optimizer, "mtcars": mtcars,
            "minibatch": {"n": n, "p": 20, "batch_size": 256, "epoch_s": epochs,
                          "steps_per_epoch": -(-n // 256)}}


def _default_options(name):
    """The options torchlinreg's fit gives ``name`` (fused Adam, RMSprop's alpha, ...)."""
    options = default_options(name, OPTIMIZERS[name])
    return {k: v for k, v in options.items() if k in ("fused", "alpha", "weight_decay")}
