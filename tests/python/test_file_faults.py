"""Files that are damaged, changed or removed while a fit reads them: an InputError that
names the file, never other rows or a fit that looks right (issue 17, item 4)."""
import os
import struct
import sys
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

import torchlinreg as tl
from torchlinreg.errors import InputError

N = 4000


@pytest.fixture
def frame():
    rng = np.random.default_rng(17)
    X = rng.normal(size=(N, 3))
    data = pd.DataFrame(X, columns=["x1", "x2", "x3"])
    data["y"] = 1 + X @ [1.0, 2.0, 3.0] + rng.normal(size=N)
    return data


def write(frame, path, **options):
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path,
                   compression="none", use_dictionary=False, row_group_size=1000, **options)
    return str(path)


def value_offset(path, column, row):
    """Where the 8 bytes of ``column``'s double in ``row`` lie (plain encoding, no
    compression: the values follow the page header)."""
    meta = pq.ParquetFile(path).metadata
    group, at = divmod(row, meta.row_group(0).num_rows)
    chunk = meta.row_group(group).column(meta.schema.names.index(column))
    with open(path, "rb") as f:
        f.seek(chunk.data_page_offset)
        page = f.read(chunk.total_compressed_size)
    first = pq.read_table(path, columns=[column]).column(0)[group * 1000].as_py()
    start = page.index(struct.pack("<d", first))
    return chunk.data_page_offset + start + 8 * at


def overwrite(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def test_a_damaged_value_outside_the_footers_range_names_file_column_and_rows(frame, tmp_path):
    path = write(frame, tmp_path / "damaged.parquet")
    overwrite(path, value_offset(path, "x2", 2500), struct.pack("<d", 1e108))
    with pytest.raises(InputError, match=r"damaged.parquet: column 'x2' has values outside "
                                         r"the range its Parquet footer records .* rows 2001\.\."):
        tl.fit_files(path, "y")


def test_a_damaged_page_with_a_crc_names_the_file_and_row_group(frame, tmp_path):
    path = write(frame, tmp_path / "crc.parquet", write_page_checksum=True)
    offset = value_offset(path, "x1", 1500)
    with open(path, "rb") as f:
        f.seek(offset)
        byte = f.read(1)[0]
    overwrite(path, offset, bytes([byte ^ 1]))  # the lowest bit: the value stays in range
    with pytest.raises(InputError, match=r"crc.parquet \(row group 2\): .*CRC"):
        tl.fit_files(path, "y")


def test_a_damaged_footer_names_the_file_and_a_kept_error_does_not_hold_it_open(frame, tmp_path):
    path = write(frame, tmp_path / "footer.parquet")
    size = os.path.getsize(path)
    overwrite(path, size - 4, b"XXXX")  # the magic bytes
    with pytest.raises(InputError, match="footer.parquet") as caught:
        tl.fit_files(path, "y")
    kept = caught.value  # noqa: F841 - the exception is kept, as a user's `except` may
    assert not open_descriptors(path)


def open_descriptors(path):
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd")
    target, found = os.path.realpath(path), []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == target:
                found.append(fd)
        except OSError:
            pass
    return found


def test_a_column_that_is_text_in_a_later_file_names_that_file(frame, tmp_path):
    first = write(frame.iloc[:2000], tmp_path / "a.parquet")
    later = frame.iloc[2000:].astype({"x2": str})
    second = write(later, tmp_path / "b.parquet")
    with pytest.raises(InputError, match=r"\['x2'\] are not numeric in .*b.parquet"):
        tl.fit_files([first, second], "y")


class ChangeFileAtFirstStep(torch.optim.SGD):
    """Plain SGD that, at its first step, does ``change`` to the files (as another
    program might while the fit runs)."""

    change = None

    def step(self, closure=None):
        change, type(self).change = type(self).change, None
        if change is not None:
            change()
        return super().step(closure)


def replace_same_size(path, frame):
    def change():
        other = frame.copy()
        other["y"] = other["y"][::-1].to_numpy()  # other rows, the same bytes in all
        write(other, f"{path}.new")
        assert os.path.getsize(f"{path}.new") == os.path.getsize(path)
        os.replace(f"{path}.new", path)
    return change


def overwrite_in_place(path, frame):
    def change():
        stat = os.stat(path)
        other = frame.copy()
        other["y"] = other["y"][::-1].to_numpy()
        with open(path, "r+b") as f:  # the same inode and size, new contents
            f.write(open(write(other, f"{path}.new"), "rb").read())
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    return change


def delete(path, frame):
    return lambda: os.remove(path)


@pytest.mark.parametrize("change, message", [
    (replace_same_size, r"changed while the fit was reading it \(.*inode"),
    # Overwritten while the reading thread is inside it, its new values may reach the
    # footer's range check before the pass ends and the modification time is compared:
    # either way the fit stops on an error naming the file.
    (overwrite_in_place, r"(changed while the fit was reading it \(modification time|"
                         r"column '\w+' has values outside the range its Parquet footer records)"),
    (delete, "was deleted or moved while the fit was reading it")])
def test_a_file_changed_between_passes_is_an_error_that_names_it(frame, tmp_path, change,
                                                                  message):
    paths = [write(frame.iloc[:2000], tmp_path / "a.parquet"),
             write(frame.iloc[2000:], tmp_path / "b.parquet")]
    ChangeFileAtFirstStep.change = change(paths[1], frame.iloc[2000:])
    with pytest.raises(InputError, match=r"b\.parquet:? " + message):
        tl.fit_files(paths, "y", optimizer=ChangeFileAtFirstStep, lr=0.01, batch_size=100,
                     epochs=3, shuffle=False, seed=0)


def test_a_csv_file_that_grows_between_passes_is_an_error(frame, tmp_path):
    path = str(tmp_path / "grows.csv")
    frame.to_csv(path, index=False)

    def grow():
        with open(path, "a") as f:
            f.write("0,0,0,0\n")
    ChangeFileAtFirstStep.change = grow
    with pytest.raises(InputError, match="grows.csv changed while the fit was reading it"):
        tl.fit_files(path, "y", optimizer=ChangeFileAtFirstStep, lr=0.01, batch_size=100,
                     epochs=2, seed=0)
