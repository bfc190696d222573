"""Benchmark 9: the first fit of a session, in fresh processes, against importing torch.

Python: ``python -c "import torch"`` against ``import torchlinreg; torchlinreg.fit(X, y)``
on mtcars' ``mpg ~ wt + hp``. R: an Rscript that only makes reticulate import torch
(the same Python) against ``library(torchlinreg); torch_lm(mpg ~ wt + hp, mtcars)``.
Each pair takes turns (9 times), so that a busy spell of this shared machine
weighs on both; the medians of the wall times and of the processes' CPU times (user +
system, from ``wait4``) are reported. One more process of each language times its
stages from inside (what the first fit spends where).
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

from common import MTCARS

PY_BASE = "import torch"
PY_FIT = f"""
import numpy as np
import torchlinreg as tl
X = np.column_stack([{MTCARS['wt']!r}, {MTCARS['hp']!r}])
tl.fit(X, np.array({MTCARS['mpg']!r}, dtype=float))
"""
PY_STAGES = f"""
import time
def stage(label, run, out=[]):
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    out.append((label, time.perf_counter() - wall, time.process_time() - cpu))
    return out
stage("import torch", lambda: __import__("torch"))
stage("import torchlinreg", lambda: __import__("torchlinreg"))
import numpy as np, torchlinreg as tl
X = np.column_stack([{MTCARS['wt']!r}, {MTCARS['hp']!r}])
y = np.array({MTCARS['mpg']!r}, dtype=float)
stage("first fit", lambda: tl.fit(X, y))
for label, wall, cpu in stage("second fit", lambda: tl.fit(X, y)):
    print(label, wall, cpu, sep="\\t")
"""
R_BASE = 'invisible(reticulate::import("torch"))'
R_FIT = "suppressMessages(library(torchlinreg)); invisible(torch_lm(mpg ~ wt + hp, mtcars))"
R_STAGES = r"""
stage <- function(label, expr) {
  t <- proc.time(); force(expr); d <- proc.time() - t
  cat(label, d[["elapsed"]], d[["user.self"]] + d[["sys.self"]], "\n", sep = "\t")
}
stage("library(torchlinreg)", suppressMessages(library(torchlinreg)))
ns <- asNamespace("torchlinreg")
stage("start Python (reticulate, numpy)", ns$start_python())
stage("import torch", reticulate::import("torch"))
stage("import the bridge", ns$python_bridge())
stage("first torch_lm()", torch_lm(mpg ~ wt + hp, mtcars))
stage("second torch_lm()", torch_lm(mpg ~ wt + hp, mtcars))
stage("lm()", lm(mpg ~ wt + hp, mtcars))
"""


def _run(command, env, cwd):
    """Wall seconds and CPU seconds (user + system) of one process; raises if it fails."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    out, err = process.stdout.read().decode(), process.stderr.read().decode()
    process.stdout.close()
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{command[:2]} failed: {err.strip()[-300:]}")
    return wall, usage.ru_utime + usage.ru_stime, out


def _pair(base, fit, rounds, env, cwd):
    """Medians of ``rounds`` turns of the two commands."""
    times = {"base": [], "fit": []}
    for _ in range(rounds):
        for key, command in (("base", base), ("fit", fit)):
            times[key].append(_run(command, env, cwd)[:2])
    return {key: {"wall_s": statistics.median(w for w, _ in runs),
                  "cpu_s": statistics.median(c for _, c in runs),
                  "runs": runs} for key, runs in times.items()}


def _stages(command, env, cwd):
    rows = [line.split("\t") for line in _run(command, env, cwd)[2].splitlines() if "\t" in line]
    return [{"stage": r[0], "wall_s": float(r[1]), "cpu_s": float(r[2])} for r in rows]


def run(quick=False):
    rounds = 3 if quick else 9
    env = dict(os.environ, RETICULATE_PYTHON=sys.executable, TORCHLINREG_PYTHON=sys.executable)
    with tempfile.TemporaryDirectory() as cwd:  # no pyproject.toml for reticulate to find
        python = _pair([sys.executable, "-c", PY_BASE], [sys.executable, "-c", PY_FIT],
                       rounds, env, cwd)
        out = {"rounds": rounds, "python": python,
               "python_stages": _stages([sys.executable, "-c", PY_STAGES], env, cwd)}
        try:
            out["r"] = _pair(["Rscript", "-e", R_BASE], ["Rscript", "-e", R_FIT], rounds, env, cwd)
            out["r_stages"] = _stages(["Rscript", "-e", R_STAGES], env, cwd)
        except (OSError, RuntimeError) as error:
            out["r_error"] = str(error)
    return out
