"""Benchmark 6: fit_files streaming a 50,000,000 x 10 float32 Parquet file, against pyarrow
reading the same file, and the fit's peak memory (each in a fresh process)."""
import json
import os
import subprocess
import sys

import numpy as np
import torch

from torchlinreg.scale.streaming import block_rows

# pyarrow's own default batch size for iter_batches.
PYARROW_BATCH_ROWS = 1 << 16
# Turns of reading and fitting; the medians are reported.
ROUNDS = 3

CHILD = r"""
import json, sys, time, warnings
import pyarrow.parquet as pq
import torchlinreg as tl

def status_mib(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(field + ":")) / 1024

def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")

path, what, batch_rows = sys.argv[1], sys.argv[2], int(sys.argv[3]) or None  # 0: the default
if what == "fit":
    # The first optimizer step of a process imports parts of torch (seconds, once).
    import numpy as np
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tl.fit(np.random.default_rng(0).standard_normal((50, 2)), np.arange(50.0), epochs=3)
before = status_mib("VmRSS")
reset_peak()
start = time.perf_counter()
if what == "read":
    rows = 0
    with pq.ParquetFile(path) as handle:
        for batch in handle.iter_batches(batch_size=batch_rows):
            rows += batch.num_rows
    result = {"rows": rows}
else:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = tl.fit_files(path, "y", dtype="float32", batch_rows=batch_rows, epochs=1000,
                           tol=0, seed=1)
    result = {"rows": fit.n_train, "coef": fit.coef.tolist(), "exact": fit.exact[0][0].tolist()}
result.update(seconds=time.perf_counter() - start, peak_over_start_mib=status_mib("VmHWM") - before)
print(json.dumps(result))
"""


def write_file(path, n, p, seed=0, group=1 << 20):
    """A float32 Parquet file of ``n`` rows: ``x1..xp`` and ``y = 1 + X β + ε``, by row group."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = np.random.default_rng(seed)
    beta = rng.standard_normal(p).astype(np.float32)
    names = [f"x{j + 1}" for j in range(p)] + ["y"]
    schema = pa.schema([(name, pa.float32()) for name in names])
    with pq.ParquetWriter(path + ".part", schema) as writer:
        for start in range(0, n, group):
            rows = min(group, n - start)
            X = rng.standard_normal((rows, p), dtype=np.float32)
            y = 1 + X @ beta + rng.standard_normal(rows, dtype=np.float32)
            columns = [pa.array(X[:, j]) for j in range(p)] + [pa.array(y)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
    os.replace(path + ".part", path)


def measure(path, what, batch_rows):
    out = subprocess.run([sys.executable, "-c", CHILD, path, what, str(batch_rows)],
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        return {"error": out.stderr.strip()[-800:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(bench_dir, quick=False):
    n, p = (5_000_000 if quick else 50_000_000), 10
    # The fit reads blocks of its default size; pyarrow reads at its own default batch size
    # and at the fit's, and the faster of the two reads is the reference.
    fit_rows = block_rows(None, p + 1, torch.float32)
    folder = os.path.join(bench_dir, ".data")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"stream_{n}x{p}.parquet")
    if not os.path.exists(path):
        write_file(path, n, p)
    # The first read may come from disk; the later ones (and the fits) from the page cache, so
    # the ratio compares the fit with pyarrow at its fastest. The reads and the fit take turns,
    # ROUNDS times, so that a busy spell of this shared machine weighs on both alike.
    measure(path, "read", PYARROW_BATCH_ROWS)
    reads = {rows: [] for rows in (PYARROW_BATCH_ROWS, fit_rows)}
    fits = []
    for _ in range(1 if quick else ROUNDS):
        for rows, runs in reads.items():
            runs.append(measure(path, "read", rows))
        fits.append(measure(path, "fit", 0))  # fit_files' default blocks
    medians = {rows: _median_run(runs) for rows, runs in reads.items()}
    read = min(medians.values(), key=lambda m: m.get("seconds", float("inf")))
    return {"n": n, "p": p, "batch_rows": fit_rows, "file_mib": os.path.getsize(path) / 2 ** 20,
            "data_mib": n * (p + 1) * 4 / 2 ** 20, "read": read, "fit": _median_run(fits),
            "rounds": len(fits), "fit_seconds": [m.get("seconds") for m in fits],
            "read_seconds_by_batch": {str(k): [m.get("seconds") for m in v]
                                      for k, v in reads.items()}}


def _median_run(runs):
    """The run of median time (an error if any run failed), with the highest peak memory."""
    failed = [m for m in runs if "error" in m]
    if failed:
        return failed[0]
    median = sorted(runs, key=lambda m: m["seconds"])[len(runs) // 2]
    return {**median, "peak_over_start_mib": max(m["peak_over_start_mib"] for m in runs)}
