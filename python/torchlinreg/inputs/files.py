"""Reading Parquet and CSV files in row batches, for fits bigger than memory.

Nothing here holds a whole table: files are read through pyarrow one
record batch at a time (at most ``batch_rows`` rows), the chosen columns
are checked (numeric, no missing or infinite values) and handed on as numpy
columns, Arrow's own memory where it already has the fit's dtype. Errors
name the file and the column.

A fit reads its files several times (the moments, then each minibatch
epoch), so each file is fingerprinted when it is opened (size, modification
time, inode, rows) and checked again before and after every later read: a
file replaced, grown or deleted during a fit is an error, not other rows.
Parquet pages are read with their CRC checked (where the writer stored one)
and each row group's values against the minimum and maximum its footer
records, which catches most damaged pages of files written without CRCs.
"""

import glob
import os
import queue
import threading
import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import InputError


SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".csv.gz": "csv",
            ".csv.bz2": "csv"}


FORMATS = ("parquet", "csv")


# CSV is read in blocks of this many bytes (then cut to batch_rows rows).
CSV_BLOCK_BYTES = 1 << 24


@dataclass(frozen=True)
class Fingerprint:
    """What identifies a file's contents between passes; ``rows`` None until counted."""

    size: int
    mtime_ns: int
    inode: int
    rows: int = None

    @classmethod
    def of(cls, path, rows=None):
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            raise InputError(f"{path} was deleted or moved while the fit was reading it; "
                             "keep the files in place until the fit returns.") from None
        except OSError as error:
            raise InputError(f"cannot read {path}: {error}") from None
        return cls(stat.st_size, stat.st_mtime_ns, stat.st_ino, rows)

    def differs(self, other):
        """How ``other`` differs (a phrase), or ``""``."""
        changes = [f"{name} {a} → {b}" for name, a, b in
                   (("size", self.size, other.size), ("modification time", self.mtime_ns,
                    other.mtime_ns), ("inode", self.inode, other.inode),
                    ("rows", self.rows, other.rows))
                   if a is not None and b is not None and a != b]
        return ", ".join(changes)


@dataclass
class FileTable:
    """The files of one data set, their format and the columns they share.

    ``numeric``: whether a column is numeric in every file; ``types``: each
    file's column types; ``fingerprints``: each file as first opened.
    """

    paths: list
    format: str
    columns: list
    numeric: dict
    types: list = None
    fingerprints: list = None

    def check_unchanged(self, i, rows=None):
        """Raise unless file ``i`` is as it was when opened (and has ``rows`` rows, if
        given); the first count of a CSV file's rows is recorded."""
        path, before = self.paths[i], self.fingerprints[i]
        now = Fingerprint.of(path, rows)
        change = before.differs(now)
        if change:
            raise InputError(f"{path} changed while the fit was reading it ({change}); a fit "
                             "reads its files once for the moments and again for each "
                             "minibatch epoch: keep them unchanged until it returns.")
        if before.rows is None and rows is not None:
            self.fingerprints[i] = now

    def block_keys(self, file_index, start, n_rows):
        """Stable row keys (``uint64``) for the validation hash: file name and row number."""
        name = os.path.basename(self.paths[file_index]).encode()
        base = np.uint64(zlib.crc32(name)) << np.uint64(32)
        return base + np.arange(start, start + n_rows, dtype=np.uint64)


@dataclass
class Block:
    """Rows ``start .. start + n`` of file ``file_index``: ``columns`` holds one 1-d
    numpy array of ``n`` values per column (read-only where it is Arrow's memory)."""

    columns: list
    file_index: int
    start: int

    @property
    def n_rows(self):
        return len(self.columns[0])

    def stacked(self):
        """The values as one writable ``(columns, n)`` array, the layout Arrow stores."""
        return np.stack(self.columns)


def open_files(paths, format=None):
    """Find the files and read their schemas.

    ``paths``: a path, a directory (every file in it with a known suffix),
    a glob pattern, or a list of these. ``format``: "parquet" or "csv";
    inferred from the suffixes when None.
    """
    _require_pyarrow()
    files = expand_paths(paths)
    fmt = _format(files, format)
    fingerprints = [Fingerprint.of(path) for path in files]
    opened = [_schema(path, fmt) for path in files]
    schemas = [schema for schema, _ in opened]
    fingerprints = [Fingerprint(f.size, f.mtime_ns, f.inode, rows)
                    for f, (_, rows) in zip(fingerprints, opened)]
    columns = list(schemas[0].names)
    for path, schema in zip(files[1:], schemas[1:]):
        missing = [c for c in columns if c not in schema.names]
        if missing:
            raise InputError(f"{path} lacks the columns {missing} that {files[0]} has; "
                             "every file must have the same columns.")
    types = [{name: schema.field(name).type for name in columns} for schema in schemas]
    numeric = {name: all(_is_numeric(t[name]) for t in types) for name in columns}
    table = FileTable(files, fmt, columns, numeric, types, fingerprints)
    for i in range(len(files)):
        table.check_unchanged(i)
    return table


def _require_pyarrow():
    """pyarrow is the ``files`` extra; without it, say how to install it."""
    try:
        import pyarrow  # noqa: F401
    except ImportError as error:
        raise ImportError("reading files (fit_files, torch_lm_files()) needs pyarrow: "
                          "pip install 'torchlinreg[files]' (or pyarrow); from R, "
                          "install_torchlinreg(extras = \"files\").") from error


def expand_paths(paths):
    """The files named by a path, a directory, a glob pattern, or a list of these."""
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        raise InputError("no files given; pass a path, a directory, a glob pattern or a list.")
    files = []
    for item in map(os.fspath, items):
        if os.path.isdir(item):
            found = sorted(os.path.join(item, f) for f in os.listdir(item)
                           if _suffix(f) is not None)
            if not found:
                raise InputError(f"the directory {item} has no .parquet or .csv files.")
            files += found
        elif any(ch in item for ch in "*?["):
            found = sorted(glob.glob(item))
            if not found:
                raise InputError(f"no files match {item!r}.")
            files += found
        elif not os.path.exists(item):
            raise InputError(f"{item} does not exist.")
        else:
            files.append(item)
    return files


def _suffix(name):
    lower = name.lower()
    return next((fmt for suffix, fmt in SUFFIXES.items() if lower.endswith(suffix)), None)


def _format(files, format):
    if format is not None:
        if format not in FORMATS:
            raise InputError(f"format must be one of {list(FORMATS)}; got {format!r}.")
        return format
    found = {_suffix(f) for f in files}
    if None in found or len(found) > 1:
        raise InputError(f"cannot tell the format of {files} from their suffixes "
                         f"({sorted(SUFFIXES)}); pass format='parquet' or format='csv'.")
    return found.pop()


def _schema(path, fmt):
    """``(schema, rows)`` of a file (rows None for CSV, counted when first read)."""
    import pyarrow as pa
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq
            with pq.ParquetFile(path) as handle:
                return handle.schema_arrow, handle.metadata.num_rows
        with _csv_reader(path) as reader:
            return reader.schema, None
    except (pa.ArrowException, OSError) as error:
        message = f"cannot read {path} as {fmt}: {error}"
    raise _unchained(message)


def _check_float32_range(values, path, name):
    """Raise for a column whose every value float32 would turn to zero."""
    if not len(values):
        return
    largest = max(abs(float(values.max())), abs(float(values.min())))
    if 0 < largest < np.finfo(np.float32).tiny:
        raise InputError(f"{path}: column {name!r} is too small for float32 (largest "
                         f"magnitude {largest:.3g}); use dtype='float64' or rescale it.")


def _check_bounds(values, bounds, path, name, start):
    """Raise if decoded (finite) values fall outside the row group's recorded range:
    a damaged page."""
    low, high = bounds
    if not (values.min() >= low and values.max() <= high):
        raise InputError(f"{path}: column {name!r} has values outside the range its Parquet "
                         f"footer records ([{low:g}, {high:g}]) in rows {start + 1}.."
                         f"{start + len(values)}: the file is damaged; write it again.")


def _csv_reader(path, columns=None):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    convert = pacsv.ConvertOptions(
        include_columns=columns,
        column_types=None if columns is None else {c: pa.float64() for c in columns})
    return pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                          convert_options=convert)


def _is_numeric(arrow_type):
    import pyarrow.types as t
    return t.is_integer(arrow_type) or t.is_floating(arrow_type) or t.is_boolean(arrow_type) \
        or t.is_decimal(arrow_type) or t.is_null(arrow_type)


def check_columns(table, wanted, what):
    """Raise unless every column in ``wanted`` exists and is numeric."""
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        raise InputError(f"{what} {missing} not found in {table.paths[0]}; "
                         f"its columns are {table.columns}.")
    text = [c for c in wanted if not table.numeric[c]]
    if text:
        types = table.types or [{}]
        path = next((p for p, t in zip(table.paths, types)
                     if not all(_is_numeric(t[c]) for c in text)), table.paths[0])
        found = {c: str(t[c]) for t in types[table.paths.index(path):][:1] for c in text}
        raise InputError(f"{what} {text} are not numeric in {path} ({found}); encode them as "
                         "numbers in the files, or leave them out with predictors=[...].")


def read_blocks(table, columns, batch_rows, file_indices=None, dtype=np.float64):
    """Yield :class:`Block` s of at most ``batch_rows`` rows of ``columns``, file after file.

    ``file_indices``: the files to read, in this order (all, in order, if None).
    ``dtype``: of the values (float64 or float32), converted once from Arrow.
    """
    for i in range(len(table.paths)) if file_indices is None else file_indices:
        start = 0
        table.check_unchanged(i)
        batches = _record_batches(table, i, columns, batch_rows)
        try:  # closed on an error too, so that a kept exception does not hold the file open
            for batch, bounds in batches:
                for offset in range(0, batch.num_rows, batch_rows):
                    piece = batch.slice(offset, batch_rows)
                    yield Block(_to_columns(piece, columns, table.paths[i], start, dtype,
                                            bounds), i, start)
                    start += piece.num_rows
        finally:
            batches.close()
        table.check_unchanged(i, start)


def prefetch(blocks, depth=2):
    """Iterate ``blocks`` with the next ones produced in a background thread.

    pyarrow decodes and numpy copies without holding the GIL, so reading
    the next blocks overlaps the work done on this one (on another core).
    At most ``depth`` blocks wait; an error in the reader is raised here.
    """
    waiting = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def offer(item):
        """Queue ``item`` unless the consumer has stopped; whether it was queued."""
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read():
        try:
            for block in blocks:
                if not offer(block):
                    return
            offer(done)
        except BaseException as error:  # handed to the consumer, which raises it
            offer(error)

    reader = threading.Thread(target=read, name="torchlinreg-prefetch", daemon=True)
    reader.start()
    try:
        while (item := waiting.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _record_batches(table, i, columns, batch_rows):
    """``(record batch, bounds)`` of file ``i``: ``bounds`` maps a column to the
    ``(min, max)`` its Parquet row group's footer records (empty for CSV)."""
    if table.format == "parquet":
        yield from _parquet_batches(table.paths[i], columns, batch_rows)
        return
    import pyarrow as pa
    path = table.paths[i]
    try:
        with _csv_reader(path, columns) as reader:
            for batch in reader:
                yield batch, {}
        return
    except (pa.ArrowException, OSError) as error:
        message = f"cannot read the columns {columns} of {path} as numbers: {error}"
    raise _unchained(message)


def _parquet_batches(path, columns, batch_rows):
    """Row group after row group, pages checked against their CRCs (where written)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    group = None
    try:
        with pq.ParquetFile(path, page_checksum_verification=True) as handle:
            meta = handle.metadata
            index = [handle.schema_arrow.names.index(c) for c in columns]
            for group in range(meta.num_row_groups):
                bounds = _footer_bounds(meta.row_group(group), columns, index)
                for batch in handle.iter_batches(batch_size=batch_rows, row_groups=[group],
                                                 columns=columns):
                    yield batch, bounds
        return
    except (pa.ArrowException, OSError) as error:
        where = "" if group is None else f" (row group {group + 1})"
        message = (f"cannot read the columns {columns} of {path}{where}: {error}; the file "
                   "may be damaged or not be Parquet.")
    raise _unchained(message)


def _unchained(message):
    """An :class:`InputError` raised outside the ``except`` block that caught the reader's
    error: chained to it, even with ``from None``, the error kept the reader's frames,
    and so the file, open for as long as the exception was kept."""
    return InputError(message)


def _footer_bounds(row_group, columns, index):
    """``{column: (min, max)}`` from a row group's statistics, for the numeric
    columns whose footer records them."""
    bounds = {}
    for name, j in zip(columns, index):
        stats = row_group.column(j).statistics
        if stats is not None and stats.has_min_max and \
                isinstance(stats.min, (int, float)) and isinstance(stats.max, (int, float)):
            bounds[name] = (stats.min, stats.max)
    return bounds


def _to_columns(batch, columns, path, start, dtype, bounds=None):
    """The columns of a record batch as 1-d arrays of ``dtype``, checked (within
    ``bounds``, a Parquet footer's ``{column: (min, max)}``, before any rounding).

    A column Arrow already holds in ``dtype`` is not copied: the statistics
    pass reads it where Arrow decoded it.
    """
    out, checked = [], []
    for name in columns:
        column = batch.column(name)
        if column.null_count:
            raise InputError(f"{path}: column {name!r} has {column.null_count} missing values "
                             f"in rows {start + 1}..{start + batch.num_rows}; drop or impute "
                             "them before fitting.")
        values = column.to_numpy(zero_copy_only=False)
        if bounds and name in bounds:
            checked.append((name, values))
        if dtype == np.float32 and values.dtype == np.float64:
            _check_float32_range(values, path, name)
        out.append(np.asarray(values, dtype=dtype))
    # A finite sum means every value is finite, without a mask of the block
    # (summed in the block's dtype: casting to float64 doubled the cost; a
    # sum that overflows falls through to the full check).
    with np.errstate(over="ignore", invalid="ignore"):
        finite = all(np.isfinite(values.sum()) for values in out)
    if finite:
        for name, values in checked:
            _check_bounds(values, bounds[name], path, name, start)
        return out
    bad = [f"{name!r} ({int(c)} rows)" for name, c in
           zip(columns, (np.count_nonzero(~np.isfinite(values)) for values in out)) if c]
    if bad:
        raise InputError(f"{path}: NaN or infinite values in column {', '.join(bad)} in rows "
                         f"{start + 1}..{start + batch.num_rows}; drop those rows before fitting.")
    for name, values in checked:
        _check_bounds(values, bounds[name], path, name, start)
    return out
