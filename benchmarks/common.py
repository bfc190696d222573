"""Shared helpers for the benchmarks: data, timing, the machine."""
import os
import platform
import statistics
import subprocess
import tempfile
import time

import numpy as np


def make_data(n, p, seed=0, dtype=np.float64):
    """``X`` (n, p) and ``y = 1 + X β + ε``, filled in chunks to keep the peak at the data."""
    rng = np.random.default_rng(seed)
    beta = rng.standard_normal(p).astype(dtype)
    X = np.empty((n, p), dtype=dtype)
    y = np.empty(n, dtype=dtype)
    step = 1 << 18
    for start in range(0, n, step):
        stop = min(start + step, n)
        X[start:stop] = rng.standard_normal((stop - start, p), dtype=dtype)
        y[start:stop] = 1 + X[start:stop] @ beta + rng.standard_normal(stop - start, dtype=dtype)
    return X, y


# R code that reads what run_rscript() writes: ``n``, ``p`` and the data frame ``d``
# (``y`` and ``X1..Xp``), from the raw float64 file named by the first argument.
R_READ_DATA = r"""
args <- commandArgs(TRUE)
n <- as.integer(args[2]); p <- as.integer(args[3])
con <- file(args[1], "rb")
X <- matrix(readBin(con, "double", n * p), nrow = n, byrow = TRUE)
y <- readBin(con, "double", n)
close(con)
d <- data.frame(y = y, X)
"""


def run_rscript(script, X, y, *args, timeout=900):
    """Run the R ``script`` (which starts with :data:`R_READ_DATA`) on ``X``, ``y``.

    The data go to R as raw little-endian float64, so no decimal parsing
    changes a bit; ``args`` follow the file name, ``n`` and ``p``.
    Returns the completed process.
    """
    with tempfile.TemporaryDirectory() as tmp:
        data, path = os.path.join(tmp, "data.bin"), os.path.join(tmp, "script.R")
        with open(data, "wb") as f:
            f.write(np.ascontiguousarray(X, dtype="<f8").tobytes())
            f.write(np.ascontiguousarray(y, dtype="<f8").tobytes())
        with open(path, "w") as f:
            f.write(script)
        return subprocess.run(["Rscript", path, data, str(X.shape[0]), str(X.shape[1]),
                               *map(str, args)], capture_output=True, text=True, timeout=timeout)


def timed(function, repeat=1):
    """Median wall-clock seconds of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def machine():
    """CPU model, cores, memory and library versions, for RESULTS.md."""
    import sklearn
    import torch
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    except (ValueError, OSError):
        memory = float("nan")
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory, 1),
        "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
        "torch": torch.__version__, "numpy": np.__version__, "sklearn": sklearn.__version__,
        "r": r_version(),
    }


def r_version():
    try:
        out = subprocess.run(["Rscript", "-e", "cat(R.version.string)"], capture_output=True,
                             text=True, timeout=60)
        return out.stdout.strip() or "not available"
    except (OSError, subprocess.SubprocessError):
        return "not available"


def warm_up():
    """One tiny fit: the first optimizer step imports parts of torch (seconds, once)."""
    import warnings

    import torchlinreg as tl
    X, y = make_data(200, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tl.fit(X, y, epochs=5, seed=0)
        tl.fit(X, y, epochs=1, seed=0, batch_size=50, optimizer="sgd")


# R's mtcars (datasets package), the columns of lm(mpg ~ wt + hp, mtcars): for timing a
# fit of small data in Python without R.
MTCARS = {
    "mpg": [21, 21, 22.8, 21.4, 18.7, 18.1, 14.3, 24.4, 22.8, 19.2, 17.8, 16.4, 17.3, 15.2, 10.4,
            10.4, 14.7, 32.4, 30.4, 33.9, 21.5, 15.5, 15.2, 13.3, 19.2, 27.3, 26, 30.4, 15.8,
            19.7, 15, 21.4],
    "wt": [2.62, 2.875, 2.32, 3.215, 3.44, 3.46, 3.57, 3.19, 3.15, 3.44, 3.44, 4.07, 3.73, 3.78,
           5.25, 5.424, 5.345, 2.2, 1.615, 1.835, 2.465, 3.52, 3.435, 3.84, 3.845, 1.935, 2.14,
           1.513, 3.17, 2.77, 3.57, 2.78],
    "hp": [110, 110, 93, 110, 175, 105, 245, 62, 95, 123, 123, 180, 180, 180, 205, 215, 230, 66,
           52, 65, 97, 150, 150, 245, 175, 66, 91, 113, 264, 175, 335, 109],
}
