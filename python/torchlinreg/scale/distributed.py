"""Fits across processes and machines with ``torch.distributed``.

Every process (rank) holds its own shard of the rows, in memory
(:func:`fit`) or in files (:func:`fit_files`), and calls the same function
with the same options; ``torchrun`` starts the processes and sets up the
process group (gloo on CPU, NCCL on GPUs).

* **Full batch.** Each rank sums the moments of its rows; they are
  all-reduced once (about a common centre, the global mean, so no digits
  are lost) and every rank then runs the identical optimizer on the
  identical statistics: the coefficients equal a one-process fit on all the
  rows, to rounding, with no communication per step.
* **Minibatches.** As ``DistributedDataParallel`` does, each step every rank
  computes the gradient of its part of the batch and the gradients are
  all-reduced before ``optimizer.step()``. A step's global batch has
  ``batch_size`` rows, each rank contributing in proportion to its shard
  (``floor(s·B·nᵣ/N)`` boundaries), and the sums are weighted by the true
  row counts, so uneven shards need no padding by repeated rows.
  With ``shuffle=False`` step ``s`` takes each rank's next rows in order,
  which equals one process on the rows interleaved the same way.

Run ``torchrun --nproc-per-node 2 -m torchlinreg.distributed FILES... --response y``
(see :func:`main` and README.md for several machines).
"""

import argparse
import datetime
import hashlib
import json
import os
import sys
from functools import partial

import numpy as np
import torch
import torch.distributed as dist
from torch.distributed.elastic.multiprocessing.errors import record

from ..engine.model import set_gradient
from ..engine.moments import unit_exponents, unit_of_exponents
from ..engine.preconditioning import RowRoot
from ..engine.settings import FIT_OPTIONS, fresh_seed, split_options
from ..errors import OptionError
from ..inputs.arrays import as_design, as_response, as_weights, resolve_dtype
from ..inputs.files import expand_paths, open_files
from .streaming import (ArraySource, FileSource, StreamObjective, fit_source, predictor_columns,
                        statistics_settings)


# How long a rank waits in a collective before giving up (torchrun normally
# stops every rank much sooner when one fails).
TIMEOUT = datetime.timedelta(minutes=10)


class Collective:
    """Sums across the ranks of the default process group (started from ``torchrun``'s
    environment if it is not yet initialized)."""

    def __init__(self, backend=None):
        if not dist.is_available():
            raise OptionError("this torch build has no torch.distributed.")
        if not dist.is_initialized():
            if "RANK" not in os.environ:
                raise OptionError(
                    "no process group: start the processes with torchrun (which sets RANK, "
                    "WORLD_SIZE, MASTER_ADDR and MASTER_PORT), or call "
                    "torch.distributed.init_process_group first.")
            backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
            dist.init_process_group(backend, timeout=TIMEOUT)
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        uses_cuda = dist.get_backend() == "nccl"
        self.local_rank = int(os.environ.get("LOCAL_RANK", 0))
        self.device = torch.device("cuda", self.local_rank) if uses_cuda else torch.device("cpu")

    def sum(self, tensor):
        """The elementwise sum over ranks of ``tensor`` (float64 or int64), where it was."""
        moved = tensor.to(self.device, copy=True)
        dist.all_reduce(moved, op=dist.ReduceOp.SUM)
        return moved.to(tensor.device)

    def minimum(self, tensor):
        """The elementwise minimum over ranks of ``tensor`` (int64), where it was."""
        moved = tensor.to(self.device, copy=True)
        dist.all_reduce(moved, op=dist.ReduceOp.MIN)
        return moved.to(tensor.device)

    def broadcast_int(self, value):
        """Rank 0's ``value`` on every rank."""
        tensor = torch.tensor([value if self.rank == 0 else 0], dtype=torch.int64)
        return int(self.sum(tensor)[0])

    def check_same(self, description, what):
        """Raise on every rank unless all ranks have the same ``description`` (a string)."""
        digest = int.from_bytes(hashlib.blake2b(description.encode(), digest_size=7).digest(),
                                "big")
        votes = self.sum(torch.tensor([digest, 1], dtype=torch.int64))
        if int(votes[0]) != digest * self.world_size:
            raise OptionError(f"the {self.world_size} processes were given different {what}; "
                              "every rank must call with the same options and columns.")

    def offsets(self, n_rows):
        """The first global row number of this rank's rows (ranks in order)."""
        counts = torch.zeros(self.world_size, dtype=torch.int64)
        counts[self.rank] = n_rows
        return int(self.sum(counts)[: self.rank].sum())

    def reduce_root(self, root):
        """Every rank's QR factor joined, in rank order, about rank 0's centre."""
        d = root.R.shape[0]
        gathered = torch.zeros(self.world_size, d + 1, d, dtype=torch.float64)
        gathered[self.rank, 0, 1:] = torch.from_numpy(root.center)
        gathered[self.rank, 1:] = torch.from_numpy(root.R)
        gathered = self.sum(gathered).numpy()
        roots = [RowRoot(g[0, 1:].copy(), g[1:].copy()) for g in gathered]
        return roots[0].combine(roots[1:])

    def reduce_moments(self, mom):
        """The moments of every rank's rows, about their common (weighted) mean and in
        their common units (:meth:`common_unit`)."""
        from ..engine.moments import Moments
        mom = mom.in_units(self.common_unit(mom))
        totals = self.sum(torch.cat([mom.total.reshape(1), mom.total * mom.mean()]))
        center = totals[1:] / totals[0] if totals[0] > 0 else torch.zeros_like(mom.center)
        shifted = mom.shifted(center)
        first, second = self.sum(shifted.first), self.sum(shifted.second)
        counts = self.sum(torch.tensor([mom.n_rows, mom.n_positive], dtype=torch.int64))
        log_weight_sum = self.sum(torch.tensor([mom.log_weight_sum], dtype=torch.float64))
        return Moments(int(counts[0]), mom.n_features, totals[0], center, first, second,
                       int(counts[1]), unit=mom.unit, log_weight_sum=float(log_weight_sum[0]))

    def common_unit(self, mom):
        """Each column's smallest power-of-two unit over the ranks (that of its largest
        values; a rank where the column is all zero has no say), or None if all are 1.

        Each rank's moments are in units chosen from its own rows
        (:class:`~torchlinreg.engine.moments.MomentAccumulator`); in the smallest, the
        largest values keep their squares within float64, and the other ranks' values,
        smaller there, are multiplied by powers of two (exact; a square that vanishes
        was below the rounding of the larger ones).
        """
        return unit_of_exponents(self.minimum(unit_exponents(mom)))


class DistributedObjective(StreamObjective):
    """Minibatch epochs whose every step all-reduces the batch gradient across ranks."""

    def __init__(self, quadratic, n_rows, source, scaler, aliased, local_rows, collective):
        super().__init__(quadratic, n_rows, source, scaler, aliased, local_rows)
        self._collective = collective

    def batch_sizes(self, batch_size):
        """This rank's rows in each step of an epoch: ``floor(s·B·nᵣ/N)`` boundaries."""
        steps = -(-self.n_rows // batch_size)
        bounds = [min(self.local_rows, s * batch_size * self.local_rows // self.n_rows)
                  for s in range(steps + 1)]
        return np.diff(bounds)

    def minibatch_epoch(self, model, optimizer, schedule):
        sizes = self.batch_sizes(schedule.batch_size)
        batches = _cut(self.standardized_blocks(schedule), sizes)
        with torch.no_grad():
            for x, y, w in batches:
                _set_reduced_gradient(model, x, y, w, self._collective)
                optimizer.step()
        return len(sizes)


def _cut(blocks, sizes):
    """Regroup a stream of ``(x, y, w)`` blocks into batches of the given sizes (0 allowed)."""
    pending, have = [], 0
    blocks = iter(blocks)
    for size in sizes:
        while have < size:
            block = next(blocks)
            pending.append(block)
            have += block[0].shape[0]
        joined = [None if parts[0] is None else torch.cat(parts) for parts in zip(*pending)] \
            if pending else None
        if joined is None:
            yield None, None, None
            continue
        yield tuple(None if t is None else t[:size] for t in joined)
        rest = tuple(None if t is None else t[size:] for t in joined)
        pending, have = ([rest], rest[0].shape[0]) if rest[0].shape[0] else ([], 0)


def _set_reduced_gradient(model, x, y, w, collective):
    """The gradient of the global batch's MSE: local sums all-reduced, divided by the total."""
    weight, bias = model.weight, model.bias
    k, q = weight.shape
    sums = torch.zeros(k * q + k + 1, dtype=torch.float64, device=weight.device)
    if x is not None and x.shape[0]:
        residual = (x @ weight.T if bias is None else torch.addmm(bias, x, weight.T)).sub_(y)
        if w is not None:
            residual.mul_(w[:, None])
        sums[: k * q] = (residual.T @ x).flatten()
        sums[k * q: k * q + k] = residual.sum(0)
        sums[-1] = x.shape[0] if w is None else w.sum()
    total = collective.sum(sums)
    scale = 2.0 / (k * total[-1])
    set_gradient(model, (total[: k * q].reshape(k, q) * scale).to(weight.dtype),
                 None if bias is None else (total[k * q: k * q + k] * scale).to(bias.dtype))


def _settings(collective, options, names):
    """The fit's settings, the same on every rank (rank 0 draws the seed if none is given)."""
    options, optimizer_options = split_options(options)
    if options.get("seed") is None:
        options["seed"] = collective.broadcast_int(fresh_seed())
    if options.get("device", FIT_OPTIONS["device"]) == "auto":
        # Each process on a machine takes its own GPU, as torchrun numbers them.
        options["device"] = f"cuda:{collective.local_rank}" if torch.cuda.is_available() else "cpu"
    settings = statistics_settings(**{"engine": "gram", **options},
                                   optimizer_options=optimizer_options)
    same = {k: v for k, v in settings.to_dict().items() if k != "device"}
    described = json.dumps([same, names], sort_keys=True, default=str)
    collective.check_same(described, "options or column names")
    return settings


def _fit(source_of, options, names, verbose):
    collective = Collective()
    settings = _settings(collective, options, names)
    source = source_of(settings, collective)
    result = fit_source(source, settings, verbose if collective.rank == 0 else False,
                        reduce=collective.reduce_moments, reduce_root=collective.reduce_root,
                        objective=partial(DistributedObjective, collective=collective))
    # Every collective of the fit has been let go by gloo's threads before the caller goes
    # on (and perhaps exits): see shutdown().
    dist.barrier()
    return result


def shutdown(exit_code=None):
    """End the process group safely: wait for every rank, then destroy it.

    Call this (rather than ``torch.distributed.destroy_process_group()``
    alone) at the end of a script that fits across processes. A gloo worker
    thread lets go of a finished collective's tensors a moment after the
    collective returns; if the main thread is already finalizing the
    interpreter by then, dropping them needs the GIL and the process aborts
    ("terminate called without an active exception", exit -6) after all its
    work is done. The barrier makes that rare; only skipping finalization
    rules it out: with ``exit_code``, standard output and error are flushed
    and the process ends at once with that code (``os._exit``), as a worker
    started by ``torchrun`` whose results are written can.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    if exit_code is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exit_code)


def fit(X, y, *, weights=None, verbose=None, batch_rows=None, **options):
    """Fit on this rank's shard of the rows; every rank gets the same :class:`LinearFit`.

    Call on every rank of a process group (``torchrun`` sets one up; so can
    ``torch.distributed.init_process_group``) with the same options; ``X``,
    ``y`` and ``weights`` are this rank's rows, of any size. The options are
    those of :func:`torchlinreg.fit` (``engine`` is "gram"); ``validation`` (a fraction) holds out
    rows by a seeded hash of their global row number (ranks in order).
    ``batch_size`` is the global batch: see the module docstring.
    ``device="auto"`` puts each process on its own GPU (``cuda:LOCAL_RANK``)
    when torch sees GPUs; the process group then should use NCCL.
    ``train_index`` of the result is None; ``inference``, ``summary()`` and
    ``exact`` use the all-reduced moments.
    """
    dtype_ = resolve_dtype(options.get("dtype", FIT_OPTIONS["dtype"]))
    design = as_design(X, dtype_)
    response = as_response(y, design.values.shape[0], dtype_)
    w = as_weights(weights, design.values.shape[0], dtype_)

    def source_of(settings, collective):
        n = design.values.shape[0]
        keys = collective.offsets(n) + np.arange(n, dtype=np.uint64)
        return ArraySource(design.values, response.values, w, design.names, response.names,
                           keys, settings, batch_rows)

    return _fit(source_of, options, [design.names, response.names], verbose)


def fit_files(paths, response, predictors=None, *, format=None, batch_rows=None,
              weights=None, verbose=None, **options):
    """:func:`torchlinreg.fit_files` on this rank's files; every rank gets the same fit.

    ``paths`` are this rank's files (:func:`main` deals a list out by rank).
    Validation rows are chosen by a hash of each row's file name and row
    number, so the split does not depend on which rank reads which file.
    The options are those of :func:`torchlinreg.fit`.
    """
    table = open_files(paths, format)
    responses = [response] if isinstance(response, str) else list(response)
    names = predictor_columns(table, predictors, responses, weights)

    def source_of(settings, _collective):
        return FileSource(table, names, responses, weights, batch_rows, settings)

    return _fit(source_of, options, [names, responses, weights], verbose)


def files_for_rank(paths, rank, world_size):
    """Deal the files out: rank ``r`` takes files ``r, r + W, r + 2W, ...`` of the sorted list."""
    files = expand_paths(paths)
    if len(files) < world_size:
        raise OptionError(f"{len(files)} files for {world_size} processes: give each process "
                          "at least one file (split the data into more files), or start fewer.")
    return files[rank::world_size]


def _parser():
    parser = argparse.ArgumentParser(
        prog="torchrun --nproc-per-node N -m torchlinreg.distributed",
        description="Fit y ≈ X Wᵀ + b on Parquet or CSV files shared out across the processes "
                    "that torchrun starts; rank 0 prints the coefficients and saves the fit.")
    parser.add_argument("paths", nargs="+", help="files, directories or glob patterns")
    parser.add_argument("--response", required=True, nargs="+")
    parser.add_argument("--predictors", nargs="+")
    parser.add_argument("--weights")
    parser.add_argument("--format", choices=["parquet", "csv"])
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--lr", type=float)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--no-shuffle", action="store_true")
    parser.add_argument("--validation", type=float, default=0.0)
    parser.add_argument("--no-intercept", action="store_true")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--seed", type=int)
    parser.add_argument("--tol", type=float)
    parser.add_argument("--precondition", choices=["qr", "standardize", "none"])
    parser.add_argument("--batch-rows", type=int,
                        help="rows read at a time (default: about 16 MiB of values)")
    parser.add_argument("--device", default="cpu",
                        help="cpu, or auto: each process on its own GPU (cuda:LOCAL_RANK)")
    parser.add_argument("--out", help="rank 0 saves the fit here (.npz, torchlinreg.load reads it)")
    parser.add_argument("--json", action="store_true", help="print the fit as JSON")
    return parser


@record
def main(argv=None):
    """The ``torchrun`` entry point: each rank fits its share of the files.

    A rank that fails writes its error for ``torchrun``, which then stops
    the other ranks and exits non-zero with that error (no rank hangs).
    """
    args = _parser().parse_args(argv)
    collective = Collective()
    paths = files_for_rank(args.paths, collective.rank, collective.world_size)
    result = fit_files(paths, args.response if len(args.response) > 1 else args.response[0],
                       args.predictors, format=args.format, batch_rows=args.batch_rows,
                       weights=args.weights, intercept=not args.no_intercept,
                       optimizer=args.optimizer, lr=args.lr, epochs=args.epochs,
                       batch_size=args.batch_size, shuffle=not args.no_shuffle,
                       validation=args.validation, dtype=args.dtype, seed=args.seed, tol=args.tol,
                       device=args.device, precondition=args.precondition)
    if collective.rank == 0:
        if args.out:
            result.save(args.out)
        if args.json:
            print(json.dumps({**result.to_dict(), "n_train": result.n_train,
                              "world_size": collective.world_size}))
        else:
            print(f"{collective.world_size} processes, {result.n_train} training rows")
            print(result.summary())
    # The launcher's work is done and printed: end without interpreter finalization.
    shutdown(exit_code=0)
