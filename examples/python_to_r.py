"""A Python-to-R round trip: the same fit from both languages, and lm().

Python draws the SGD tutorial's data and fits it; R reads the same
numbers (raw float64, so no decimal parsing can change a bit), fits
`torch_lm()` with the same seed through reticulate (the same Python
core), and runs `lm()` on the same training rows (`compare_lm()`). The
coefficients from Python and from R must be identical, bit for bit, and
both must match lm() to TOLERANCE relative.

    python examples/python_to_r.py [--seed N] [--plot-dir DIR]
"""
import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

import torchlinreg

TOLERANCE = 1e-8
ROOT = Path(__file__).resolve().parents[1]

R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(torchlinreg))
columns <- c("x1", "x2", "x3", "y")
values <- readBin(args[1], "double", n = as.integer(args[3]) * length(columns), endian = "little")
data <- as.data.frame(matrix(values, ncol = length(columns), dimnames = list(NULL, columns)))
fit <- torch_lm(y ~ ., data = data, validation = 0.2, seed = as.numeric(args[2]))
table <- compare_lm(fit)
write.csv(data.frame(term = table$term, r = sprintf("%.17g", table$estimate),
                     lm = sprintf("%.17g", table$lm)), stdout(), row.names = FALSE)
"""


def r_environment():
    """R finds the package in the project's .Rlib and reticulate this Python, as `make` sets."""
    env = dict(os.environ)
    if (ROOT / ".Rlib").is_dir() and "R_LIBS" not in env:
        env["R_LIBS"] = str(ROOT / ".Rlib")
    env.setdefault("TORCHLINREG_PYTHON", sys.executable)
    return env


def fit_in_r(data_path, n_rows, seed):
    """torch_lm() and lm() coefficients from R, as a DataFrame (term, r, lm)."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        sys.exit("Rscript not found: install R (make deps) to run this example.")
    done = subprocess.run([rscript, "-e", R_SCRIPT, str(data_path), str(seed), str(n_rows)],
                          capture_output=True, text=True, env=r_environment())
    if done.returncode != 0:
        sys.exit(f"R failed:\n{done.stderr}")
    return pd.read_csv(io.StringIO(done.stdout), float_precision="round_trip")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--plot-dir", help="unused; accepted as every example accepts it")
    args = parser.parse_args(argv)

    X, y, _ = torchlinreg.simulate(200, 3, seed=args.seed)
    data = pd.DataFrame(X, columns=["x1", "x2", "x3"]).assign(y=y)
    with tempfile.TemporaryDirectory() as tmp:
        data_path = Path(tmp) / "simulated.f64"
        # Column-major little-endian doubles: R's matrix() reads them back exactly.
        data.to_numpy().astype("<f8").T.tofile(data_path)
        from_r = fit_in_r(data_path, len(data), args.seed)
    fit = torchlinreg.fit(data[["x1", "x2", "x3"]], data["y"], validation=0.2, seed=args.seed,
                          verbose=False)

    table = from_r.assign(python=fit.coefficients()[0])
    table["identical"] = table["python"] == table["r"]
    table["rel_diff_lm"] = (table["python"] - table["lm"]).abs() / table["lm"].abs()
    print(f"y ~ x1 + x2 + x3 on 200 simulated rows, validation 0.2, seed {args.seed}: "
          f"{len(fit.train_index)} training rows, {fit.n_iter} steps, converged {fit.converged}")
    print()
    print("Coefficients: Python fit(), R torch_lm() and R lm() on the training rows")
    print(table[["term", "python", "r", "lm", "identical", "rel_diff_lm"]].to_string(
        index=False, float_format=lambda v: f"{v:.15g}"))
    print()
    worst = table["rel_diff_lm"].max()
    ok = bool(table["identical"].all()) and worst <= TOLERANCE and fit.converged
    print(f"identical from Python and R: {bool(table['identical'].all())}; "
          f"max relative difference from lm: {worst:.3g} (tolerance {TOLERANCE:g})")
    print("RESULT: PASS" if ok else "RESULT: FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
