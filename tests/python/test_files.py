"""inputs/files.py: finding files, their schemas and fingerprints, reading Parquet and CSV in
blocks that give back exactly the values written, the stable row keys, and the errors that
name the file, the column and the rows."""
import os
import zlib

import numpy as np
import pandas as pd
import pytest

from torchlinreg.errors import InputError
from torchlinreg.inputs.files import (Fingerprint, check_columns, expand_paths, open_files,
                                      read_blocks)

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture
def frame(rng):
    return pd.DataFrame({"a": rng.normal(size=23), "b": np.arange(23), "c": ["x"] * 23})


def write_parquet(frame, path, row_group_size=7):
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path,
                   row_group_size=row_group_size)
    return str(path)


def test_paths_directories_and_globs_expand_to_sorted_files(tmp_path):
    for name in ("b.parquet", "a.csv", "notes.txt", "c.PQ"):
        (tmp_path / name).write_text("")
    assert expand_paths(tmp_path) == [str(tmp_path / n) for n in ("a.csv", "b.parquet", "c.PQ")]
    assert expand_paths(str(tmp_path / "*.parquet")) == [str(tmp_path / "b.parquet")]
    assert expand_paths([tmp_path / "notes.txt", str(tmp_path / "a.csv")]) == \
        [str(tmp_path / "notes.txt"), str(tmp_path / "a.csv")]
    for paths, message in [([], "no files given"), (tmp_path / "none.csv", "does not exist"),
                           (str(tmp_path / "*.feather"), "no files match")]:
        with pytest.raises(InputError, match=message):
            expand_paths(paths)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="has no .parquet or .csv files"):
        expand_paths(empty)


def test_open_files_reads_the_schemas_and_fingerprints(frame, tmp_path):
    first = write_parquet(frame, tmp_path / "1.parquet")
    second = write_parquet(frame.iloc[:5], tmp_path / "2.parquet")
    table = open_files([first, second])
    assert table.format == "parquet" and table.columns == ["a", "b", "c"]
    assert table.numeric == {"a": True, "b": True, "c": False}
    assert [f.rows for f in table.fingerprints] == [23, 5]
    assert table.fingerprints[0].size == os.path.getsize(first)
    frame.to_csv(tmp_path / "3.csv", index=False)
    csv = open_files(tmp_path / "3.csv")
    assert csv.format == "csv" and csv.fingerprints[0].rows is None  # counted when first read
    assert open_files(first, format="parquet").format == "parquet"


def test_a_format_that_cannot_be_told_or_columns_that_differ_are_errors(frame, tmp_path):
    parquet = write_parquet(frame, tmp_path / "1.parquet")
    frame.to_csv(tmp_path / "2.csv", index=False)
    with pytest.raises(InputError, match="cannot tell the format"):
        open_files([parquet, tmp_path / "2.csv"])
    with pytest.raises(InputError, match=r"format must be one of \['parquet', 'csv'\]"):
        open_files(parquet, format="feather")
    fewer = write_parquet(frame[["a", "c"]], tmp_path / "3.parquet")
    with pytest.raises(InputError, match=r"3.parquet lacks the columns \['b'\] that .*1.parquet has"):
        open_files([parquet, fewer])


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blocks_give_back_the_values_written_in_order(frame, tmp_path, fmt, dtype):
    paths = []
    for i, part in enumerate((frame, frame.iloc[:9] * 2)):
        if fmt == "parquet":
            paths.append(write_parquet(part[["a", "b"]], tmp_path / f"{i}.parquet"))
        else:
            part[["a", "b"]].to_csv(tmp_path / f"{i}.csv", index=False, float_format="%.17g")
            paths.append(str(tmp_path / f"{i}.csv"))
    table = open_files(paths)
    blocks = list(read_blocks(table, ["b", "a"], 5, dtype=dtype))
    assert all(block.n_rows <= 5 for block in blocks)
    for i, n in ((0, 23), (1, 9)):
        mine = [block for block in blocks if block.file_index == i]
        assert [block.start for block in mine] == list(np.cumsum([0] + [b.n_rows for b in mine])[:-1])
        values = np.concatenate([block.stacked() for block in mine], axis=1)
        expected = (frame if i == 0 else frame.iloc[:9] * 2)[["b", "a"]].to_numpy().T
        assert values.dtype == dtype and values.shape == (2, n)
        np.testing.assert_array_equal(values, expected.astype(dtype))
    assert table.fingerprints[0].rows == 23  # a CSV's rows recorded by the first read
    again = list(read_blocks(table, ["a"], 100, file_indices=[1, 0]))
    order = [block.file_index for block in again]
    assert order == sorted(order, reverse=True) and set(order) == {0, 1}


def test_row_keys_are_the_file_names_crc_and_the_row_number(frame, tmp_path):
    table = open_files(write_parquet(frame, tmp_path / "rows.parquet"))
    keys = table.block_keys(0, 20, 3)
    base = zlib.crc32(b"rows.parquet") << 32
    assert keys.dtype == np.uint64 and keys.tolist() == [base + 20, base + 21, base + 22]


def test_columns_missing_or_not_numeric_are_named(frame, tmp_path):
    table = open_files(write_parquet(frame, tmp_path / "1.parquet"))
    check_columns(table, ["a", "b"], "predictors")
    with pytest.raises(InputError, match=r"predictors \['z'\] not found in .*its columns are "
                                         r"\['a', 'b', 'c'\]"):
        check_columns(table, ["a", "z"], "predictors")
    with pytest.raises(InputError, match=r"response \['c'\] are not numeric in .*1.parquet "
                                         r"\(\{'c': 'string'\}\)"):
        check_columns(table, ["c"], "response")


def test_missing_infinite_and_float32_zero_values_name_file_column_and_rows(tmp_path):
    frame = pd.DataFrame({"a": [1.0, None, 3.0, None, 5.0, 6.0], "b": [1.0, 2, np.inf, 4, 5, 6],
                          "c": [1e-300] * 6})
    table = open_files(write_parquet(frame, tmp_path / "bad.parquet", row_group_size=10))
    with pytest.raises(InputError, match=r"bad.parquet: column 'a' has 2 missing values in "
                                         r"rows 1..6"):
        list(read_blocks(table, ["a"], 10))
    with pytest.raises(InputError, match=r"NaN or infinite values in column 'b' \(1 rows\) in "
                                         r"rows 1..6"):
        list(read_blocks(table, ["b"], 10))
    with pytest.raises(InputError, match="column 'c' is too small for float32"):
        list(read_blocks(table, ["c"], 10, dtype=np.float32))


def test_a_fingerprint_says_what_changed():
    before = Fingerprint(100, 5, 7, None)
    assert before.differs(Fingerprint(100, 5, 7, 40)) == ""  # rows not yet counted
    assert before.differs(Fingerprint(120, 6, 7, 40)) == "size 100 → 120, modification time 5 → 6"
    assert Fingerprint(1, 1, 1, 3).differs(Fingerprint(1, 1, 2, 4)) == "inode 1 → 2, rows 3 → 4"
