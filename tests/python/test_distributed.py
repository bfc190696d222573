"""torch.distributed: two gloo processes on 127.0.0.1 equal one process on all the rows."""
import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import torchlinreg as tl

pytest.importorskip("torch.distributed")

RTOL = 1e-10
NAMES = ["x1", "x2", "x3"]
# Every run here starts 2 Python processes; none should take a minute.
LAUNCH_TIMEOUT = 240

WORKER = textwrap.dedent("""
    import sys, warnings
    import numpy as np
    import torch.distributed as dist
    from torchlinreg import ConvergenceWarning
    from torchlinreg.distributed import fit, shutdown
    data, out, options = sys.argv[1], sys.argv[2], eval(sys.argv[3])
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    stored = np.load(data)
    rows = stored["shards"] == rank
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = fit(stored["X"][rows], stored["y"][rows], weights=stored["w"][rows], **options)
    if rank == 0:
        np.savez(out, coef=result.coef, intercept=result.intercept,
                 history=result.history.to_numpy(), n_train=result.n_train,
                 se=result.inference.std_error, exact=result.exact[0])
    shutdown(exit_code=0)
""")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(*args, processes=2):
    """Run ``torchrun`` with ``processes`` local workers on 127.0.0.1; the completed process."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1",
               "--nproc-per-node", str(processes), "--master-addr", "127.0.0.1",
               "--master-port", str(free_port()), *map(str, args)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT,
                          env=env)


@pytest.fixture
def data(rng):
    n = 3000
    X = rng.standard_normal((n, 3)) * [1, 10, 0.5] + [2, -5, 30]
    y = 4 + X @ [1.5, -0.3, 2.0] + rng.standard_normal(n)
    return X, y, rng.uniform(0.5, 2.0, n)


def run_shards(tmp_path, X, y, w, shards, **options):
    """Fit with 2 ranks, rank r holding the rows where ``shards == r``; rank 0's result."""
    np.savez(tmp_path / "data.npz", X=X, y=y, w=w, shards=shards)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    done = torchrun(script, tmp_path / "data.npz", tmp_path / "out.npz", repr(options))
    assert done.returncode == 0, done.stderr[-3000:]
    return np.load(tmp_path / "out.npz")


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - b) / np.abs(b)))


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_full_batch_on_uneven_shards_equals_one_process(data, tmp_path, optimizer):
    X, y, w = data
    shards = (np.arange(len(y)) >= 1900).astype(int)
    two = run_shards(tmp_path, X, y, w, shards, optimizer=optimizer, seed=3)
    one = tl.fit(X, y, weights=w, optimizer=optimizer, seed=3)
    assert int(two["n_train"]) == len(y)
    assert rel(two["coef"], one.coef) < RTOL
    assert rel(two["intercept"], one.intercept) < RTOL
    assert rel(two["se"], one.inference.std_error) < 1e-9


def test_ranks_of_columns_beyond_float64_s_squares_sum_in_common_units(data, tmp_path):
    """Each rank sums in its own power-of-two units; the ranks take each column's smallest
    (its largest values'; a rank where it is all zero has no say) before the all-reduce.
    x1 × 1e-100, x2 0 on rank 0 and 1e250 on rank 1, x3 1e210 on rank 0 and 1e250 on
    rank 1, y × 1e200 (squares beyond float64 in the data's units): one process's fit."""
    X, y, w = data
    shards = (np.arange(len(y)) >= 1900).astype(int)
    X = X * [1e-100, 1e250, 1e210]
    X[shards == 0, 1] = 0.0
    X[shards == 1, 2] *= 1e40
    y = y * 1e200
    two = run_shards(tmp_path, X, y, w, shards, seed=3)
    one = tl.fit(X, y, weights=w, seed=3)
    assert one.converged and not one.aliased.any()
    assert rel(two["coef"], one.coef) < RTOL
    assert rel(two["intercept"], one.intercept) < RTOL
    assert rel(two["exact"], one.exact[0]) < 1e-10
    assert rel(two["se"], one.inference.std_error) < 1e-9


def test_an_ill_conditioned_design_joins_the_ranks_qr_factors(tmp_path, rng):
    """Two columns correlated at 1 - 1e-6: the QR preconditioner's factor comes from the
    rows, each rank's own, joined across ranks; the fit equals one process on all rows to
    the rounding this design allows (condition number ~1e6: one process is 2e-9 from the
    60-digit solution, lm() 3e-9)."""
    n = 2000
    z = rng.standard_normal(n)
    X = np.column_stack([z, z + 1e-6 * rng.standard_normal(n), rng.standard_normal(n)])
    y = X @ [1.0, 2.0, 3.0] + rng.standard_normal(n)
    w = np.ones(n)
    shards = (np.arange(n) % 2).astype(int)
    two = run_shards(tmp_path, X, y, w, shards, seed=5)
    one = tl.fit(X, y, weights=w, seed=5)
    assert one.converged and one.scaler.rotation is not None
    scale = np.abs(one.coef).max()
    assert np.max(np.abs(two["coef"] - one.coef)) / scale < 2e-8


def test_minibatches_in_a_fixed_order_equal_one_process_on_the_interleaved_rows(data, tmp_path):
    """1,800 and 1,200 rows, global batch 100: each step takes 60 rows of rank 0 and 40 of
    rank 1, which one process sees as those 100 rows in a row."""
    X, y, w = data
    shards = (np.arange(len(y)) >= 1800).astype(int)
    options = dict(optimizer="sgd", lr=0.01, batch_size=100, shuffle=False, epochs=3, seed=1)
    two = run_shards(tmp_path, X, y, w, shards, **options)
    rank0, rank1 = np.flatnonzero(shards == 0), np.flatnonzero(shards == 1)
    order = np.concatenate([np.concatenate([rank0[60 * s:60 * s + 60], rank1[40 * s:40 * s + 40]])
                            for s in range(30)])
    one = tl.fit(X[order], y[order], weights=w[order], **options)
    np.testing.assert_allclose(two["history"], one.history.to_numpy(), rtol=RTOL, atol=1e-12)


def test_shuffled_minibatches_reach_least_squares(data, tmp_path):
    X, y, w = data
    shards = (np.arange(len(y)) % 3 == 0).astype(int)
    two = run_shards(tmp_path, X, y, w, shards, optimizer="sgd", lr=0.005, batch_size=100,
                     epochs=15, seed=2)
    exact = tl.ols(X, y, weights=w)
    # Within 4 standard errors of least squares: the SGD noise floor.
    assert np.all(np.abs(two["coef"] - exact.coef) < 4 * two["se"][0, 1:])


def write_files(X, y, directory, parts, nan_in=None):
    frame = pd.DataFrame(X, columns=NAMES)
    frame["y"] = y
    for i, piece in enumerate(np.array_split(np.arange(len(y)), parts)):
        chunk = frame.iloc[piece].copy()
        if i == nan_in:
            chunk.iloc[5, 1] = np.nan
        chunk.to_parquet(directory / f"part-{i}.parquet", index=False)


def test_the_launcher_deals_files_to_ranks_and_equals_one_process(data, tmp_path):
    X, y, _ = data
    write_files(X, y, tmp_path, parts=5)
    done = torchrun("-m", "torchlinreg.distributed", tmp_path, "--response", "y", "--seed", "4",
                    "--validation", "0.2", "--json", "--out", tmp_path / "fit.npz")
    assert done.returncode == 0, done.stderr[-3000:]
    two = json.loads(done.stdout.strip().splitlines()[-1])
    one = tl.fit_files(tmp_path, "y", seed=4, validation=0.2)
    assert two["world_size"] == 2 and two["n_train"] == one.n_train
    assert rel(two["coef"], one.coef) < RTOL
    assert rel(tl.load(tmp_path / "fit.npz").coef, one.coef) < RTOL


def test_a_failing_rank_fails_the_launch_with_its_error(data, tmp_path):
    X, y, _ = data
    write_files(X, y, tmp_path, parts=2, nan_in=1)
    done = torchrun("-m", "torchlinreg.distributed", tmp_path, "--response", "y")
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "InputError" in output and "part-1.parquet" in output and "'x2'" in output


def test_more_processes_than_files_is_an_error_that_says_so(data, tmp_path):
    X, y, _ = data
    write_files(X, y, tmp_path, parts=1)
    done = torchrun("-m", "torchlinreg.distributed", tmp_path, "--response", "y")
    assert done.returncode != 0
    assert "1 files for 2 processes" in done.stdout + done.stderr


def test_fitting_without_a_process_group_says_how_to_start_one(data):
    from torchlinreg.distributed import fit
    X, y, _ = data
    with pytest.raises(tl.OptionError, match="torchrun"):
        fit(X, y)
