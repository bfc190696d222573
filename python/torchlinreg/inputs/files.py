"""Reading Parquet and CSV files in row batches, for fits bigger than memory.

Nothing here holds a whole table: files are read through pyarrow one
record batch at a time (at most ``batch_rows`` rows), the chosen columns
are checked (numeric, no missing or infinite values) and handed on as numpy
columns, Arrow's own memory where it already has the fit's dtype. Errors
name the file and the column.
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


@dataclass
class FileTable:
    """The files of one data set, their format and the columns they share."""

    paths: list
    format: str
    columns: list
    numeric: dict

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
    schemas = [_schema(path, fmt) for path in files]
    columns = list(schemas[0].names)
    for path, schema in zip(files[1:], schemas[1:]):
        missing = [c for c in columns if c not in schema.names]
        if missing:
            raise InputError(f"{path} lacks the columns {missing} that {files[0]} has; "
                             "every file must have the same columns.")
    numeric = {name: _is_numeric(schemas[0].field(name).type) for name in columns}
    return FileTable(files, fmt, columns, numeric)


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
    import pyarrow as pa
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq
            return pq.read_schema(path)
        return _csv_reader(path).schema
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"cannot read {path} as {fmt}: {error}") from None


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
        raise InputError(f"{what} {text} are not numeric in {table.paths[0]}; encode them as "
                         "numbers in the files, or leave them out with predictors=[...].")


def read_blocks(table, columns, batch_rows, file_indices=None, dtype=np.float64):
    """Yield :class:`Block` s of at most ``batch_rows`` rows of ``columns``, file after file.

    ``file_indices``: the files to read, in this order (all, in order, if None).
    ``dtype``: of the values (float64 or float32), converted once from Arrow.
    """
    for i in range(len(table.paths)) if file_indices is None else file_indices:
        start = 0
        for batch in _record_batches(table, i, columns, batch_rows):
            for offset in range(0, batch.num_rows, batch_rows):
                piece = batch.slice(offset, batch_rows)
                yield Block(_to_columns(piece, columns, table.paths[i], start, dtype), i, start)
                start += piece.num_rows


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
    import pyarrow as pa
    path = table.paths[i]
    try:
        if table.format == "parquet":
            import pyarrow.parquet as pq
            with pq.ParquetFile(path) as handle:
                yield from handle.iter_batches(batch_size=batch_rows, columns=columns)
        else:
            yield from _csv_reader(path, columns)
    except pa.ArrowInvalid as error:
        raise InputError(f"cannot read the columns {columns} of {path} as numbers: {error}") from None


def _to_columns(batch, columns, path, start, dtype):
    """The columns of a record batch as 1-d arrays of ``dtype``, checked.

    A column Arrow already holds in ``dtype`` is not copied: the statistics
    pass reads it where Arrow decoded it.
    """
    out = []
    for name in columns:
        column = batch.column(name)
        if column.null_count:
            raise InputError(f"{path}: column {name!r} has {column.null_count} missing values "
                             f"in rows {start + 1}..{start + batch.num_rows}; drop or impute "
                             "them before fitting.")
        out.append(np.asarray(column.to_numpy(zero_copy_only=False), dtype=dtype))
    # A finite sum means every value is finite, without a mask of the block
    # (summed in the block's dtype: casting to float64 doubled the cost; a
    # sum that overflows falls through to the full check).
    with np.errstate(over="ignore", invalid="ignore"):
        if all(np.isfinite(values.sum()) for values in out):
            return out
    bad = [f"{name!r} ({int(c)} rows)" for name, c in
           zip(columns, (np.count_nonzero(~np.isfinite(values)) for values in out)) if c]
    if bad:
        raise InputError(f"{path}: NaN or infinite values in column {', '.join(bad)} in rows "
                         f"{start + 1}..{start + batch.num_rows}; drop those rows before fitting.")
    return out
