"""Fits from data that is never held whole: ``fit_files`` and its row sources.

A *source* yields the training rows in blocks, as often as asked: a
:class:`FileSource` reads Parquet or CSV files (:mod:`torchlinreg.inputs.files`),
an :class:`ArraySource` slices tensors already in memory (one process's
shard of a distributed fit). From a source the fit takes

* one pass for the moments of the training and validation rows (the
  validation rows chosen by a seeded hash of each row's key, so a row is in
  the same part on every pass), from which come the alias check, the
  standardization and the full-batch objective (:mod:`torchlinreg.engine.objective`);
* then, for minibatches, one more pass per epoch, cut into batches of
  ``batch_size`` consecutive rows across block boundaries.

Full batch, the steps never touch the rows again, and the result equals the
in-memory fit's to rounding. The fit keeps only the moments, from which
``exact``, ``inference`` and ``summary()`` are computed
(:mod:`torchlinreg.results.statistics`).
"""

import numpy as np
import torch

from ..engine.minibatch import standardize_rows, step_batches
from ..engine.moments import MomentAccumulator, scaler_from_moments
from ..engine.objective import GramObjective, quadratics
from ..engine.preconditioning import RootAccumulator
from ..engine.settings import as_int, make_settings
from ..engine.threads import threads
from ..errors import InputError, OptionError
from ..fitting.finish import finish_fit
from ..fitting.fit import check_batch_size, run_training, warn_scales
from ..inputs.arrays import Response, check_enough_rows, resolve_dtype
from ..inputs.files import check_columns, open_files, prefetch, read_blocks
from ..inputs.rows import hash_split
from ..results.statistics import TrainingStatistics


# Bytes of values per block when batch_rows is not given. Each block costs
# a Python loop in the reading thread and in the summing one, so blocks are
# large (benchmarks/RESULTS.md, streaming section); memory stays at a few.
BLOCK_BYTES = 16 << 20


def block_rows(batch_rows, n_columns, dtype):
    """``batch_rows`` checked, or (None) the rows of about :data:`BLOCK_BYTES` of
    ``n_columns`` values of ``dtype`` (at least 1,024)."""
    if batch_rows is not None:
        return as_int(batch_rows, "batch_rows", 1)
    itemsize = torch.empty((), dtype=dtype).element_size()
    return max(1024, BLOCK_BYTES // (n_columns * itemsize))


def fit_files(paths, response, predictors=None, *, format=None, batch_rows=None,
              weights=None, intercept=True, optimizer="adam", lr=None, epochs=None,
              batch_size=None, shuffle=True, validation=0.0, standardize=True, dtype="float64",
              seed=None, tol=None, init="zeros", engine="auto", device="cpu", verbose=None,
              precondition=None, patience=None, **optimizer_options):
    """Fit ``y ≈ X Wᵀ + b`` on Parquet or CSV files, reading them in row batches.

    The whole table is never in memory: one pass accumulates the sufficient
    statistics (``XᵀX``, ``Xᵀy``, ``yᵀy`` and the column sums, in float64),
    after which full-batch steps cost ``O(p²)`` and minibatch epochs stream
    the files again. The result is a :class:`LinearFit` equal to
    :func:`torchlinreg.fit` on the same rows, to rounding.

    Parameters
    ----------
    paths : str, path, or list of them
        Files, directories (every ``.parquet``/``.csv`` file in them) or glob
        patterns; read in the order given (sorted within a directory or glob).
    response : str or list of str
        The response column(s); several are fitted side by side.
    predictors : list of str, optional
        The predictor columns; default every other column (except ``weights``).
        All must be numeric.
    format : {"parquet", "csv"}, optional
        Inferred from the file suffixes when omitted.
    batch_rows : int, optional
        Rows read at a time: memory is a few blocks of this many rows (plus,
        for Parquet, one row group being decoded). By default about 16 MiB
        of values a block (380,000 rows of 11 float32 columns).
    weights : str, optional
        A column of observation weights, as ``lm(weights = )``.
    validation : float, default 0
        About this fraction of rows is held out, chosen by a seeded hash of
        each row's file name and row number (stable across passes and
        processes; the count is not exactly ``validation × n``).
    shuffle : bool, default True
        Minibatches only: visit the files in a seeded random order and
        permute the rows within each block of ``batch_rows`` (a local
        shuffle; larger ``batch_rows`` mixes more). False keeps the file
        order, which equals ``fit(..., shuffle=False)`` on the rows in memory.
    intercept, optimizer, lr, epochs, batch_size, standardize, dtype, seed, tol, init, device,
    verbose, precondition, patience, **optimizer_options
        As for :func:`torchlinreg.fit`. ``engine`` must be "auto" or "gram". On a
        GPU (``device``) each block read is copied there for the statistics and
        the minibatch steps.

    Returns
    -------
    LinearFit
        ``train_index`` and ``valid_index`` are None (``n_train``, ``n_valid``
        count the rows); ``predict``, ``inference``, ``summary()``, ``exact``
        and ``compare()`` work from the moments.

    Raises
    ------
    InputError
        Missing files, unknown or non-numeric columns, missing or non-finite
        values (naming the file, column and rows).
    OptionError, DivergenceError
        As for :func:`torchlinreg.fit`.
    """
    table = open_files(paths, format)
    responses = [response] if isinstance(response, str) else list(response)
    predictors = predictor_columns(table, predictors, responses, weights)
    settings = statistics_settings(
        intercept=intercept, optimizer=optimizer, lr=lr, epochs=epochs, batch_size=batch_size,
        shuffle=shuffle, validation=validation, standardize=standardize, dtype=dtype, seed=seed,
        tol=tol, init=init, engine=engine, device=device, optimizer_options=optimizer_options,
        precondition=precondition, patience=patience)
    source = FileSource(table, predictors, responses, weights, batch_rows, settings)
    return fit_source(source, settings, verbose)


def predictor_columns(table, predictors, responses, weights):
    check_columns(table, responses, "response columns")
    if weights is not None:
        check_columns(table, [weights], "weights column")
    if predictors is None:
        predictors = [c for c in table.columns if c not in responses and c != weights]
        check_columns(table, predictors, "predictor columns (all columns but the response)")
    else:
        predictors = [predictors] if isinstance(predictors, str) else list(predictors)
        check_columns(table, predictors, "predictor columns")
    overlap = sorted(set(predictors) & set(responses))
    if overlap:
        raise InputError(f"{overlap} are both predictors and responses; choose one role each.")
    return predictors


def statistics_settings(**options):
    """:func:`torchlinreg.engine.settings.make_settings` for fits that keep only the moments."""
    settings = make_settings(**options)
    if settings.engine != "gram":
        raise OptionError("fits from files or shards use the sufficient-statistics engine; "
                          "use engine='auto' (or 'gram'), or read the data into memory for "
                          "engine='autograd'.")
    if not isinstance(settings.validation, float):
        raise OptionError("validation must be a fraction in [0, 1) here: the held-out rows "
                          "are chosen from the same data by a seeded hash.")
    return settings


class FileSource:
    """Training and validation rows streamed from files, in blocks (numpy columns for
    the statistics, tensors for minibatches)."""

    def __init__(self, table, predictors, responses, weights, batch_rows, settings):
        self.table = table
        self.columns = predictors + responses + ([weights] if weights is not None else [])
        self.feature_names, self.response_names = predictors, responses
        self.has_weights = weights is not None
        self.dtype = resolve_dtype(settings.dtype)
        self.batch_rows = block_rows(batch_rows, len(self.columns), self.dtype)
        self.validation, self.seed = settings.validation, settings.seed

    def _blocks(self, files=None, columns=False):
        """One pass: each block's ``(train, valid)`` parts, as :func:`split_block`
        gives them, or with ``columns`` as :func:`split_columns` gives them."""
        numpy_dtype = np.float64 if self.dtype == torch.float64 else np.float32
        blocks = read_blocks(self.table, self.columns, self.batch_rows, files, numpy_dtype)
        # Stacked in the reading thread: prefetch runs this generator there.
        blocks = ((block, block.columns if columns else block.stacked()) for block in blocks)
        for block, values in prefetch(blocks):
            keys = None if self.validation == 0 else \
                self.table.block_keys(block.file_index, block.start, block.n_rows)
            yield (split_columns if columns else split_block)(self, values, keys)

    def parts(self):
        """One pass: ``(train, valid)`` blocks ``(x, y, w)`` (``valid`` None if empty),
        as lists of numpy columns read where Arrow decoded them."""
        yield from self._blocks(columns=True)

    def train_blocks(self, shuffle, generator):
        """One pass over the training rows: files (and rows in a block) permuted if ``shuffle``."""
        n_files = len(self.table.paths)
        files = torch.randperm(n_files, generator=generator).tolist() if shuffle else None
        for train, _ in self._blocks(files):
            if train is not None and shuffle:
                order = torch.randperm(train[0].shape[0], generator=generator)
                train = tuple(None if t is None else t[order] for t in train)
            if train is not None:
                yield train


class ArraySource:
    """Rows already in memory (one process's shard), served as a source.

    ``keys`` number the rows for the validation hash (a distributed fit
    numbers them across processes, so the split does not depend on how the
    rows are sharded).
    """

    def __init__(self, X, Y, weights, feature_names, response_names, keys, settings,
                 batch_rows=None):
        self.X, self.Y, self.w = X, Y, weights
        self.feature_names, self.response_names = feature_names, response_names
        self.has_weights = weights is not None
        self.keys = keys
        self.dtype = X.dtype
        self.validation, self.seed = settings.validation, settings.seed
        width = X.shape[1] + Y.shape[1] + int(weights is not None)
        self.batch_rows = block_rows(batch_rows, width, X.dtype)
        self._valid = None if self.validation == 0 else torch.from_numpy(
            hash_split(keys, self.validation, self.seed))

    def parts(self):
        for start in range(0, self.X.shape[0], self.batch_rows):
            yield self._parts(slice(start, start + self.batch_rows))

    def _parts(self, rows):
        parts = (self.X[rows], self.Y[rows], None if self.w is None else self.w[rows])
        if self._valid is None:
            return parts, None
        return split_parts(parts, self._valid[rows])

    def train_blocks(self, shuffle, generator):
        """One pass over the training rows (copies), in a seeded permutation if ``shuffle``."""
        rows = torch.arange(self.X.shape[0]) if self._valid is None \
            else torch.nonzero(~self._valid).flatten()
        if shuffle:
            rows = rows[torch.randperm(rows.shape[0], generator=generator)]
        for index in rows.split(self.batch_rows):
            yield self.X[index], self.Y[index], None if self.w is None else self.w[index]


def split_block(source, values, keys):
    """A ``(columns, rows)`` numpy block as training and validation ``(x, y, w)`` tensors.

    ``x`` and ``y`` are ``(rows, p)`` and ``(rows, k)`` views of the columns.
    """
    block = torch.from_numpy(values)
    p, k = len(source.feature_names), len(source.response_names)
    parts = (block[:p].T, block[p:p + k].T, _weights(source, block, p + k))
    return _split(source, parts, keys, torch.from_numpy)


def split_columns(source, columns, keys):
    """A block's numpy columns as training and validation ``(x, y, w)``: lists of the
    ``p`` and ``k`` columns and the weights, not copied unless there is a validation part."""
    p, k = len(source.feature_names), len(source.response_names)
    parts = (columns[:p], columns[p:p + k], _weights(source, columns, p + k))
    return _split(source, parts, keys, lambda mask: mask)


def _split(source, parts, keys, as_mask):
    """``(train, valid)`` of a block's ``parts``: all training rows without validation,
    else split by the seeded hash of ``keys`` (``as_mask`` turns the numpy mask into
    what indexes the parts)."""
    if source.validation == 0:
        return parts, None
    return split_parts(parts, as_mask(hash_split(keys, source.validation, source.seed)))


def _weights(source, columns, index):
    """The weights column (None without weights), checked."""
    if not source.has_weights:
        return None
    if bool((columns[index] < 0).any()):
        raise InputError("the weights column has negative values; weights must be non-negative.")
    return columns[index]


def split_parts(parts, valid):
    """``(train, valid)``: the rows of ``(x, y, w)`` outside and inside the mask ``valid``
    (None for a part with no rows); a part may be a list of columns, each masked."""
    def rows(part, mask):
        if part is None:
            return None
        return [column[mask] for column in part] if isinstance(part, list) else part[mask]

    def pick(mask):
        return None if not bool(mask.any()) else tuple(rows(t, mask) for t in parts)
    return pick(~valid), pick(valid)


def source_root(source):
    """Another pass over ``source``: its training rows'
    :class:`~torchlinreg.engine.preconditioning.RowRoot` (for the QR preconditioner of an
    ill-conditioned design)."""
    roots = RootAccumulator(len(source.feature_names) + len(source.response_names),
                            source.has_weights)
    for train_part, _ in source.parts():
        if train_part is not None:
            roots.add(*train_part)
    return roots.result()


def source_moments(source, device="cpu"):
    """One pass over ``source``: the :class:`~torchlinreg.engine.moments.Moments` of each part,
    summed on ``device``.

    The sums run on one torch thread: the other core reads ahead (see
    :func:`torchlinreg.inputs.files.prefetch`), and two threads fighting over it
    were measured slower.
    """
    p, k = len(source.feature_names), len(source.response_names)
    names = source.feature_names + source.response_names
    train, valid = (MomentAccumulator(p, p + k, source.has_weights, device, names)
                    for _ in range(2))
    with threads(1):
        for train_part, valid_part in source.parts():
            for sums, part in ((train, train_part), (valid, valid_part)):
                if part is not None:
                    sums.add(*part)
    return train.result(), valid.result()


class StreamObjective(GramObjective):
    """The training objective of a source: full-batch steps from the moments,
    minibatch epochs streamed from the source."""

    def __init__(self, quadratic, n_rows, source, scaler, aliased, local_rows=None):
        super().__init__(quadratic, n_rows, scaler=scaler)
        self._source = source
        self._device = scaler.x_center.device
        self._columns = None if bool((~aliased).all()) else ~aliased
        # This process's training rows (n_rows counts every process's in a distributed fit).
        self.local_rows = n_rows if local_rows is None else local_rows

    def standardized_blocks(self, schedule):
        """The training rows of one epoch, standardized, block by block: ``(x, y, w)``."""
        for x, y, w in self._source.train_blocks(schedule.shuffle, schedule.generator):
            x = x if self._columns is None else x[:, self._columns]
            # One copy each, row-major, where the fit runs (standardized in place).
            x, y = (t.to(self._device, copy=True, memory_format=torch.contiguous_format)
                    for t in (x, y))
            yield (*standardize_rows(self._scaler, x, y), None if w is None else w.to(self._device))

    def minibatch_epoch(self, model, optimizer, schedule):
        """One pass in minibatches of ``batch_size`` consecutive rows across blocks."""
        size, steps, carry = schedule.batch_size, 0, None
        for block in self.standardized_blocks(schedule):
            if carry is not None:
                block = tuple(None if a is None else torch.cat([a, b]) for a, b in zip(carry, block))
            whole = block[0].shape[0] // size * size
            if whole:
                steps += step_batches(model, optimizer, *(None if t is None else t[:whole]
                                                          for t in block), size)
            carry = tuple(None if t is None else t[whole:] for t in block) \
                if whole < block[0].shape[0] else None
        if carry is not None:
            steps += step_batches(model, optimizer, *carry, size)
        return steps


def fit_source(source, settings, verbose=None, reduce=None, objective=StreamObjective,
               reduce_root=None):
    """Fit from a source: the moments pass, then training, then the :class:`LinearFit`.

    ``reduce`` (distributed fits) sums the moments across processes and
    ``reduce_root`` joins the processes' QR factors;
    ``objective`` makes the training objective from ``(quadratic, n_rows,
    source, scaler, aliased, local_rows)``.
    """
    train_mom, valid_mom = source_moments(source, settings.device)
    local_rows = train_mom.n_rows
    if reduce is not None:  # summed across processes in units they agree on
        train_mom, valid_mom = reduce(train_mom), reduce(valid_mom)

    def root_of():  # only for an ill-conditioned design: a second pass over the rows
        root = source_root(source)
        return root if reduce_root is None else reduce_root(root)
    p, k = len(source.feature_names), len(source.response_names)
    check_enough_rows(train_mom.n_rows, p + settings.intercept)
    check_batch_size(settings, train_mom.n_rows)
    if source.has_weights and not train_mom.total > 0:
        raise InputError("the weights are all zero; at least one row needs a positive weight.")
    has_valid = valid_mom.n_rows > 0
    scaler, train_q, valid_q, aliased = quadratics(
        train_mom, valid_mom if has_valid else None, settings.intercept, settings.precondition,
        resolve_dtype(settings.dtype), root_of)
    if not settings.standardize:
        _warn_scales_from_moments(train_mom, aliased, source.feature_names, settings.intercept)
    device = settings.device
    train = objective(train_q.to(device), train_mom.n_rows, source, scaler.to(device), aliased,
                      local_rows)
    valid = GramObjective(valid_q.to(device), valid_mom.n_rows) if has_valid else None
    generator = torch.Generator().manual_seed(settings.seed)
    model, optimizer, trace = run_training(train, valid, scaler, aliased, k, settings,
                                           generator, verbose)
    response = Response(None, source.response_names, k == 1)
    return finish_fit(model, optimizer, trace, generator, scaler, aliased, source.feature_names,
                      response, settings, objective=train, train_data=None, train_index=None,
                      valid_index=None,
                      statistics=TrainingStatistics(train_mom, settings.intercept),
                      n_valid=valid_mom.n_rows)


def _warn_scales_from_moments(mom, aliased, names, intercept):
    rms = scaler_from_moments(mom, False, True, torch.float64).x_scale[~aliased]
    warn_scales(rms, [n for n, a in zip(names, aliased.tolist()) if not a], intercept,
                stacklevel=5)
