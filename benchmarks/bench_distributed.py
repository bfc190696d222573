"""Benchmark 7: two gloo processes against one on n = 10,000,000, p = 10 (full batch and
one minibatch epoch), each process holding its shard in memory."""
import json
import os
import socket
import subprocess
import sys

WORKER = r"""
import json, sys, time, warnings
sys.path.insert(0, sys.argv[1])
import numpy as np, torch
import torch.distributed as dist
import torchlinreg as tl
from torchlinreg import distributed
from common import make_data, warm_up

n, p, mode = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
OPTIONS = {"full": dict(epochs=1000, tol=0, seed=1),
           "minibatch": dict(optimizer="sgd", lr=0.01, batch_size=4096, epochs=1, tol=0, seed=1)}
warm_up()
warnings.simplefilter("ignore")
if mode == "single":
    # The same rows as the shards: one half per seed.
    halves = [make_data(n // 2, p, seed=s) for s in (0, 1)]
    X = np.concatenate([h[0] for h in halves]); y = np.concatenate([h[1] for h in halves])
    out = {}
    for name, options in OPTIONS.items():
        start = time.perf_counter()
        fit = tl.fit(X, y, **options)
        out[name] = {"seconds": time.perf_counter() - start, "coef": fit.coef.tolist()}
    print(json.dumps(out))
    sys.exit(0)
dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
shard = [make_data(n // world, p, seed=s) for s in range(2)][rank] if world == 2 else None
if world == 1:
    halves = [make_data(n // 2, p, seed=s) for s in (0, 1)]
    shard = (np.concatenate([h[0] for h in halves]), np.concatenate([h[1] for h in halves]))
out = {}
for name, options in OPTIONS.items():
    dist.barrier()
    start = time.perf_counter()
    fit = distributed.fit(*shard, **options)
    seconds = torch.tensor([time.perf_counter() - start], dtype=torch.float64)
    dist.all_reduce(seconds, op=dist.ReduceOp.MAX)
    out[name] = {"seconds": float(seconds), "coef": fit.coef.tolist()}
if rank == 0:
    print("RESULT " + json.dumps(out))
distributed.shutdown(exit_code=0)
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(bench_dir, n, p, processes):
    script = os.path.join(bench_dir, ".data", "distributed_worker.py")
    os.makedirs(os.path.dirname(script), exist_ok=True)
    with open(script, "w") as f:
        f.write(WORKER)
    if processes == 0:
        command = [sys.executable, script, bench_dir, str(n), str(p), "single"]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1",
                   "--nproc-per-node", str(processes), "--master-addr", "127.0.0.1",
                   "--master-port", str(_free_port()), script, bench_dir, str(n), str(p), "ranks"]
    env = dict(os.environ)
    if processes == 2:
        env["OMP_NUM_THREADS"] = "1"  # one core each on this 2-core machine
    out = subprocess.run(command, capture_output=True, text=True, timeout=1800, env=env)
    if out.returncode != 0:
        return {"error": (out.stderr or out.stdout).strip()[-800:]}
    line = [l for l in out.stdout.splitlines() if l.strip()][-1]
    return json.loads(line.removeprefix("RESULT "))


def run(bench_dir, quick=False):
    n, p = (2_000_000 if quick else 10_000_000), 10
    return {"n": n, "p": p,
            "fit() in one process": _launch(bench_dir, n, p, 0),
            "distributed.fit, 1 process": _launch(bench_dir, n, p, 1),
            "distributed.fit, 2 gloo processes": _launch(bench_dir, n, p, 2)}
