"""Benchmark 4: peak memory of a float32 fit on n = 10,000,000, p = 10, in a fresh process."""
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, warnings
sys.path.insert(0, sys.argv[1])
import numpy as np, torch, torchlinreg as tl
from common import make_data, warm_up

def status_mib(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(field + ":")) / 1024

def reset_peak():
    # Reset VmHWM to the current RSS (Linux >= 4.0); else ru_maxrss keeps earlier peaks.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False

def peak_mib(reset_ok):
    if reset_ok:
        return status_mib("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def rss_mib():
    return status_mib("VmRSS")

n, p, engine, steps = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
warm_up()
before_data = rss_mib()
X, y = make_data(n, p, dtype=np.float32)
data = (X.nbytes + y.nbytes) / 2 ** 20
with_data = rss_mib()
reset_ok = reset_peak()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    fit = tl.fit(X, y, dtype="float32", epochs=steps, tol=0, seed=1, engine=engine)
print(json.dumps({"data_mib": data, "rss_before_data_mib": before_data,
                  "rss_with_data_mib": with_data, "peak_mib": peak_mib(reset_ok), "peak_reset": reset_ok,
                  "engine": fit.engine}))
"""


def measure(bench_dir, n, p, engine, steps):
    out = subprocess.run([sys.executable, "-c", CHILD, bench_dir, str(n), str(p), engine,
                          str(steps)], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        return {"error": out.stderr.strip()[-500:]}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["fit_peak_over_baseline_mib"] = result["peak_mib"] - result["rss_before_data_mib"]
    result["ratio_to_data"] = result["fit_peak_over_baseline_mib"] / result["data_mib"]
    return result


def run(bench_dir, quick=False):
    n, p = (2_000_000 if quick else 10_000_000), 10
    return {"n": n, "p": p,
            "gram": measure(bench_dir, n, p, "gram", 100),
            "autograd": measure(bench_dir, n, p, "autograd", 5)}
