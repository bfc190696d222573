"""Benchmark 3: torch_lm() from R against calling the Python functions directly."""
import subprocess
import warnings

import torchlinreg as tl
from common import R_READ_DATA, make_data, run_rscript, timed, warm_up

R_SCRIPT = "suppressMessages(library(torchlinreg))" + R_READ_DATA + r"""
# qr = FALSE: the Python function computes no QR decomposition, and torch_lm()'s
# default (qr = TRUE, R's qr() of the design, as lm() keeps it) is not the R layer.
run <- function(data, formula) {
  suppressWarnings(torch_lm(formula, data = data, epochs = 1000, tol = 0, seed = 1, qr = FALSE))
}
# The Python function torch_lm() calls, called directly from this R process on the
# model matrix: what torch_lm() costs beyond it is the R layer alone.
direct <- function(x, y) {
  bridge <- reticulate::import("torchlinreg.interop.bridge")
  suppressWarnings(bridge$torch_lm_fit(x, y, intercept_column = 0L, names = as.list(colnames(x)[-1]),
                                     epochs = 1000L, tol = 0, seed = 1L))
}
# The time torch_lm() spends in its one Python call, recorded from inside it (bridge_fit()
# wrapped in place): the R layer is each call's total less its own Python call, so the
# Python call's variance between calls (tenths of a second here) does not enter the layer.
ns <- asNamespace("torchlinreg")
inner <- get("bridge_fit", ns)
python_s <- NA_real_
timed_bridge_fit <- function(...) {
  start <- proc.time()[["elapsed"]]
  on.exit(python_s <<- proc.time()[["elapsed"]] - start)
  inner(...)
}
unlockBinding("bridge_fit", ns)
assign("bridge_fit", timed_bridge_fit, ns)
invisible(run(mtcars, mpg ~ .))  # starts Python once (torchlinreg chooses which)
t_small <- median(replicate(5, system.time(run(mtcars, mpg ~ .))[["elapsed"]]))
x <- model.matrix(y ~ ., d)
y <- as.matrix(d$y)
reps <- as.integer(args[4])
times <- matrix(NA_real_, reps, 3, dimnames = list(NULL, c("large", "layer", "direct")))
for (i in seq_len(reps)) {  # taking turns, so that a busy spell weighs on both alike
  total <- system.time(run(d, y ~ .))[["elapsed"]]
  times[i, c("large", "layer")] <- c(total, total - python_s)
  times[i, "direct"] <- system.time(direct(x, y))[["elapsed"]]
}
cat(t_small, apply(times, 2, median), "\n")
"""


def _python_times(X, y, repeat):
    from torchlinreg.interop.bridge import torch_lm_fit
    options = dict(epochs=1000, tol=0, seed=1)
    warm_up()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_fit = timed(lambda: tl.fit(X, y, **options), repeat)[0]
        t_bridge = timed(lambda: torch_lm_fit(X, y, **options), repeat)[0]
    return t_fit, t_bridge


def run(quick=False):
    probe = subprocess.run(["Rscript", "-e", "library(torchlinreg)"], capture_output=True,
                           text=True, timeout=120)
    if probe.returncode != 0:
        return {"skipped": "library(torchlinreg) fails in R: " + probe.stderr.strip()[-200:]}
    n, p = (100_000 if quick else 1_000_000), 20
    repeat = 1 if quick else 9
    X, y = make_data(n, p)
    out = run_rscript(R_SCRIPT, X, y, repeat)
    if out.returncode != 0:
        return {"skipped": "torch_lm() failed: " + out.stderr.strip()[-300:]}
    r_small, r_large, r_layer, r_direct = (float(v) for v in out.stdout.split()[-4:])
    py_fit, py_bridge = _python_times(X, y, repeat)
    small = _mtcars()
    small_fit, small_bridge = _python_times(*small, 5) if small else (None, None)
    return {"n": n, "p": p, "torch_lm_large_s": r_large, "python_fit_large_s": py_fit,
            "python_bridge_large_s": py_bridge, "r_direct_bridge_large_s": r_direct,
            "r_layer_large_s": r_layer, "repeat": repeat,
            "torch_lm_mtcars_s": r_small,
            "python_fit_mtcars_s": small_fit, "python_bridge_mtcars_s": small_bridge}


def _mtcars():
    """mtcars as R has it, read through Rscript (the Python package may not ship it)."""
    out = subprocess.run(["Rscript", "-e", "write.csv(mtcars, stdout(), row.names = FALSE)"],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        return None
    import io

    import pandas as pd
    frame = pd.read_csv(io.StringIO(out.stdout))
    return frame.drop(columns="mpg").to_numpy(dtype=float), frame["mpg"].to_numpy(dtype=float)
