"""fit_files: Parquet and CSV streamed in row batches equal the in-memory fit."""
import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import torchlinreg as tl
from torchlinreg.engine import moments

from torchlinreg.scale import streaming
from torchlinreg.inputs.rows import hash_split
from torchlinreg.errors import InputError, OptionError
from torchlinreg.inputs.files import open_files, prefetch, read_blocks
from torchlinreg.interop.compare import compare_lm

pytest.importorskip("pyarrow")

RTOL = 1e-10
NAMES = ["x1", "x2", "x3", "x4"]


@pytest.fixture
def table(rng):
    n = 3000
    X = rng.standard_normal((n, 4)) * [1, 10, 0.1, 3] + [0, 5, -2, 100]
    frame = pd.DataFrame(X, columns=NAMES)
    frame["y"] = 7 + X @ [1.0, -2.0, 3.0, 0.5] + rng.standard_normal(n)
    frame["z"] = -1 + X @ [0.5, 0.1, -1.0, 2.0] + rng.standard_normal(n)
    frame["w"] = rng.uniform(0.5, 2.0, n)
    return frame


def write(frame, directory, fmt, parts=3):
    """``frame`` as ``parts`` files of ``fmt`` in ``directory``; returns their paths in order."""
    paths = []
    for i, piece in enumerate(np.array_split(np.arange(len(frame)), parts)):
        path = os.path.join(directory, f"part-{i}.{fmt}")
        chunk = frame.iloc[piece]
        if fmt == "parquet":
            chunk.to_parquet(path, index=False, row_group_size=400)
        else:
            chunk.to_csv(path, index=False)
        paths.append(path)
    return paths


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.nanmax(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        return function(*args, **kwargs)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("options", [
    {}, {"weights": "w"}, {"response": ["y", "z"]}, {"intercept": False},
    {"optimizer": "lbfgs"}, {"dtype": "float32"},
])
def test_full_batch_equals_the_in_memory_fit(table, tmp_path, fmt, options):
    paths = write(table, tmp_path, fmt)
    response = options.pop("response", "y")
    weights = options.pop("weights", None)
    streamed = tl.fit_files(paths, response, NAMES, weights=weights, batch_rows=250, seed=3,
                            **options)
    memory = tl.fit(table[NAMES], table[response], seed=3,
                    weights=None if weights is None else table[weights], **options)
    # The statistics are summed over the same 32k-row chunks as in memory: the same steps.
    assert streamed.n_iter == memory.n_iter
    assert rel(streamed.coef, memory.coef) < RTOL
    if options.get("intercept", True):
        assert rel(streamed.intercept, memory.intercept) < RTOL
    # The exact solution from the moments (normal equations) against QR on the rows.
    assert rel(streamed.exact[0], memory.exact[0]) < 1e-10
    assert rel(streamed.exact[1], memory.exact[1]) < 1e-10
    assert streamed.n_train == len(table) and streamed.train_index is None


def test_summary_inference_and_compare_equal_the_row_based_ones(table, tmp_path):
    paths = write(table, tmp_path, "parquet")
    streamed = tl.fit_files(paths, "y", NAMES, weights="w", seed=1)
    memory = tl.fit(table[NAMES], table["y"], weights=table["w"], seed=1)
    a, b = streamed.inference, memory.inference
    for name in ("std_error", "t_value", "sigma", "r_squared", "adj_r_squared", "f_statistic",
                 "cov_unscaled"):
        assert rel(getattr(a, name), getattr(b, name)) < 1e-9, name
    assert (a.df_residual, a.rank, a.n_obs) == (b.df_residual, b.rank, b.n_obs)
    assert rel(streamed.compare()["exact"], memory.compare()["exact"]) < 1e-10
    assert streamed.loss() == pytest.approx(memory.loss(), rel=1e-10)
    assert "Residual standard error" in str(streamed.summary())


def test_inference_matches_lm(table, tmp_path, r_lm):
    paths = write(table, tmp_path, "csv")
    streamed = tl.fit_files(paths, "y", NAMES, seed=2)
    reference = r_lm("y ~ x1 + x2 + x3 + x4", table)
    inference = streamed.inference
    assert rel(inference.estimate, reference["coef"]) < 1e-9
    assert rel(inference.std_error, reference["se"]) < 1e-9
    assert inference.r_squared[0] == pytest.approx(reference["r2"][0], rel=1e-12)


def test_an_aliased_column_is_nan_as_in_lm(table, tmp_path):
    table["x5"] = 2 * table["x2"] - table["x1"]
    paths = write(table, tmp_path, "parquet")
    streamed = tl.fit_files(paths, "y", NAMES + ["x5"], seed=1)
    memory = tl.fit(table[NAMES + ["x5"]], table["y"], seed=1)
    assert streamed.aliased.tolist() == [False] * 4 + [True]
    assert np.isnan(streamed.coef[4]) and rel(streamed.coef[:4], memory.coef[:4]) < RTOL


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.01), ("adam", 0.001)])
def test_minibatches_in_file_order_equal_the_in_memory_fit(table, tmp_path, optimizer, lr):
    paths = write(table, tmp_path, "parquet")
    options = dict(optimizer=optimizer, lr=lr, batch_size=64, shuffle=False, epochs=4, seed=5)
    streamed = quiet(tl.fit_files, paths, "y", NAMES, weights="w", batch_rows=250, **options)
    memory = quiet(tl.fit, table[NAMES], table["y"], weights=table["w"], **options)
    assert streamed.n_steps == memory.n_steps == 4 * int(np.ceil(len(table) / 64))
    np.testing.assert_allclose(streamed.history.to_numpy(), memory.history.to_numpy(),
                               rtol=RTOL, atol=1e-12)


def test_shuffled_minibatches_are_repeatable_and_reach_least_squares(table, tmp_path):
    paths = write(table, tmp_path, "csv")
    options = dict(optimizer="sgd", lr=0.002, batch_size=32, epochs=30, seed=9, batch_rows=500)
    first = quiet(tl.fit_files, paths, "y", NAMES, **options)
    again = quiet(tl.fit_files, paths, "y", NAMES, **options)
    np.testing.assert_array_equal(first.history.to_numpy(), again.history.to_numpy())
    exact = tl.ols(table[NAMES], table["y"])
    # The SGD noise floor: within 4 standard errors of least squares.
    se = first.inference.std_error[0, 1:]
    assert np.all(np.abs(first.coef - exact.coef) < 4 * se)


def test_validation_rows_come_from_a_stable_hash(table, tmp_path):
    paths = write(table, tmp_path, "parquet")
    streamed = tl.fit_files(paths, "y", NAMES, validation=0.25, seed=4, batch_rows=300)
    files = open_files(paths)
    keys = np.concatenate([files.block_keys(i, 0, 1000) for i in range(3)])
    valid = hash_split(keys, 0.25, 4)
    assert streamed.n_valid == valid.sum() and streamed.n_train == (~valid).sum()
    assert 0.2 < valid.mean() < 0.3
    train, held = table[~valid], table[valid]
    memory = tl.fit(train[NAMES], train["y"], validation=(held[NAMES], held["y"]), seed=4)
    assert rel(streamed.coef, memory.coef) < RTOL
    np.testing.assert_allclose(streamed.history["val_loss"], memory.history["val_loss"],
                               rtol=RTOL)


@pytest.mark.parametrize("dtype, width, rows", [
    (torch.float32, 11, (16 << 20) // 44), (torch.float64, 21, (16 << 20) // 168),
    (torch.float64, 5000, 1024)])
def test_default_blocks_hold_about_16_mib_of_values(dtype, width, rows):
    assert streaming.block_rows(None, width, dtype) == rows
    assert streaming.block_rows(300.0, width, dtype) == 300


def test_the_block_size_does_not_change_a_full_batch_fit(table, tmp_path):
    """The statistics are summed over fixed chunks, whatever the blocks read."""
    paths = write(table, tmp_path, "parquet")
    by_default = tl.fit_files(paths, "y", NAMES, weights="w", seed=2)
    small = tl.fit_files(paths, "y", NAMES, weights="w", seed=2, batch_rows=97)
    np.testing.assert_array_equal(by_default.coef, small.coef)
    np.testing.assert_array_equal(by_default.history.to_numpy(), small.history.to_numpy())


@pytest.mark.parametrize("dtype, copied", [(np.float32, False), (np.float64, True)])
def test_columns_reach_the_statistics_as_arrow_decoded_them(table, tmp_path, monkeypatch, dtype,
                                                           copied):
    """A column already in the fit's dtype is Arrow's memory, not a copy; the sums
    taken from such columns equal those of the in-memory rows bit for bit (in
    chunks smaller than the data, so most rows are centred as they are copied)."""
    monkeypatch.setattr(moments, "CHUNK_ROWS", 256)
    path = str(tmp_path / "f32.parquet")
    table.astype(np.float32).to_parquet(path, index=False, row_group_size=700)
    blocks = list(read_blocks(open_files(path), NAMES + ["y"], 500, dtype=dtype))
    assert sum(b.n_rows for b in blocks) == len(table)
    assert all(c.dtype == dtype and c.flags.owndata == copied for b in blocks for c in b.columns)
    streamed = quiet(tl.fit_files, path, "y", NAMES, weights="w", dtype="float32", seed=2,
                     epochs=50)
    frame = table.astype(np.float32)
    memory = quiet(tl.fit, frame[NAMES], frame["y"], weights=frame["w"], dtype="float32", seed=2,
                   epochs=50)
    np.testing.assert_array_equal(streamed.history.to_numpy(), memory.history.to_numpy())


def test_a_directory_or_a_glob_reads_every_file_in_sorted_order(table, tmp_path):
    write(table, tmp_path, "parquet")
    by_dir = tl.fit_files(tmp_path, "y", seed=1, predictors=NAMES)
    by_glob = tl.fit_files(str(tmp_path / "part-*.parquet"), "y", seed=1, predictors=NAMES)
    np.testing.assert_array_equal(by_dir.coef, by_glob.coef)
    assert by_dir.n_train == len(table)


def test_predictors_default_to_every_other_numeric_column(table, tmp_path):
    paths = write(table[NAMES + ["y", "w"]], tmp_path, "parquet", parts=1)
    fit = tl.fit_files(paths, "y", weights="w", seed=1)
    assert fit.feature_names == NAMES


def test_peak_memory_stays_bounded_for_a_file_many_times_batch_rows(tmp_path):
    """192 MB of values read in 8,192-row blocks: the fit's peak grows by a few blocks, a small
    fraction of the file (measured 13 MiB here, and 8-16 MiB for a file a third of the size)."""
    path = tmp_path / "big.parquet"
    rows, batch_rows = 2_400_000, 8192
    code = textwrap.dedent(f"""
        import numpy as np, pandas as pd, torchlinreg as tl
        rng = np.random.default_rng(0)
        X = rng.standard_normal(({rows}, 9))
        frame = pd.DataFrame(X, columns=[f"x{{j}}" for j in range(9)])
        frame["y"] = X.sum(1) + rng.standard_normal({rows})
        frame.to_parquet("{path}", index=False, row_group_size={batch_rows})
        del frame, X
        tl.fit_files("{path}", "y", batch_rows={batch_rows}, seed=0, epochs=5)  # warm up
        def status(field):
            for line in open("/proc/self/status"):
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = status("VmRSS:")
        fit = tl.fit_files("{path}", "y", batch_rows={batch_rows}, seed=0, batch_size=4096, epochs=2)
        print(status("VmHWM:") - before, fit.n_train)
    """)
    if not os.path.exists("/proc/self/clear_refs"):
        pytest.skip("needs Linux's /proc/self/clear_refs to reset the peak")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    growth, n_train = map(int, out.stdout.split())
    data_bytes = rows * 10 * 8
    assert n_train == rows
    assert growth < 0.25 * data_bytes, f"peak grew by {growth / 2**20:.0f} MiB"


# --- errors that say what to change ------------------------------------------------------------

def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        tl.fit_files(tmp_path / "nope.parquet", "y")


def test_an_unknown_column_lists_the_columns(table, tmp_path):
    paths = write(table, tmp_path, "parquet", parts=1)
    with pytest.raises(InputError, match=r"\['nope'\] not found .*its columns are"):
        tl.fit_files(paths, "y", ["x1", "nope"])


def test_a_text_column_is_named(table, tmp_path):
    table["city"] = "Oslo"
    paths = write(table, tmp_path, "parquet", parts=1)
    with pytest.raises(InputError, match=r"\['city'\] are not numeric"):
        tl.fit_files(paths, "y")
    assert tl.fit_files(paths, "y", NAMES, seed=1).feature_names == NAMES


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_missing_and_infinite_values_name_the_file_column_and_rows(table, tmp_path, fmt):
    table.loc[1500, "x3"] = np.nan
    paths = write(table, tmp_path, fmt)
    with pytest.raises(InputError, match=r"part-1\.\w+:.* 'x3'.* rows"):
        tl.fit_files(paths, "y", NAMES)


def test_negative_weights_are_refused(table, tmp_path):
    table.loc[10, "w"] = -1.0
    paths = write(table, tmp_path, "parquet", parts=1)
    with pytest.raises(InputError, match="non-negative"):
        tl.fit_files(paths, "y", NAMES, weights="w")


@pytest.mark.parametrize("options, message", [
    ({"engine": "autograd"}, "sufficient-statistics engine"),
    ({"batch_rows": 0}, "batch_rows must be at least 1"),
    ({"batch_rows": 2.5}, "batch_rows must be a whole number"),
    ({"format": "xlsx"}, "format must be one of"),
    ({"batch_size": 10 ** 6}, "larger than the 3000 training rows"),
])
def test_bad_options_say_what_to_change(table, tmp_path, options, message):
    paths = write(table, tmp_path, "parquet")
    with pytest.raises((OptionError, InputError), match=message):
        tl.fit_files(paths, "y", NAMES, **options)


def test_an_unknown_suffix_asks_for_the_format(table, tmp_path):
    path = tmp_path / "data.bin"
    table.to_parquet(path, index=False)
    with pytest.raises(InputError, match="pass format="):
        tl.fit_files(path, "y", NAMES)
    assert tl.fit_files(path, "y", NAMES, format="parquet", seed=1).n_train == len(table)


def test_methods_that_need_the_rows_say_so(table, tmp_path):
    paths = write(table, tmp_path, "parquet")
    fit = tl.fit_files(paths, "y", NAMES, seed=1)
    with pytest.raises(tl.MissingDataError, match="made from files"):
        compare_lm(fit)
    assert torch.is_tensor(fit.scaler.x_center)


def test_a_saved_file_fit_loads_with_its_moments(table, tmp_path):
    paths = write(table, tmp_path, "parquet")
    fit = tl.fit_files(paths, "y", NAMES, validation=0.2, seed=1)
    loaded = tl.load(fit.save(tmp_path / "fit"))
    np.testing.assert_array_equal(loaded.coef, fit.coef)
    assert (loaded.n_train, loaded.n_valid) == (fit.n_train, fit.n_valid)
    np.testing.assert_array_equal(loaded.inference.std_error, fit.inference.std_error)
    np.testing.assert_array_equal(loaded.exact[0], fit.exact[0])


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "torchlinreg-prefetch"]


def test_prefetch_yields_in_order_and_raises_the_readers_error():
    def blocks():
        yield from range(5)
        raise InputError("bad block")
    got = []
    with pytest.raises(InputError, match="bad block"):
        for item in prefetch(blocks(), depth=2):
            got.append(item)
    assert got == list(range(5))


def test_prefetch_reader_ends_when_the_consumer_stops_with_the_queue_full():
    """The reader has queued two blocks and waits to queue the end when the consumer stops."""
    reading = prefetch(iter(range(3)), depth=2)
    assert next(reading) == 0
    time.sleep(0.3)
    reading.close()
    deadline = time.monotonic() + 5
    while _prefetch_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _prefetch_threads()


def test_the_moments_keep_the_sum_of_the_log_weights(tmp_path):
    """R's logLik() of a weighted file fit needs sum(log w) over rows of positive weight."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=300), "w": rng.uniform(0, 2, 300)})
    frame.loc[::7, "w"] = 0.0
    frame["y"] = 2 * frame["x"] + rng.normal(size=300)
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    fit = tl.fit_files(tmp_path / "d.parquet", "y", weights="w", seed=1)
    positive = frame["w"][frame["w"] > 0]
    assert fit._statistics.moments.log_weight_sum == pytest.approx(np.log(positive).sum(),
                                                                   rel=1e-12)
    loaded = tl.load(fit.save(tmp_path / "f.npz"))
    assert loaded._statistics.moments.log_weight_sum == fit._statistics.moments.log_weight_sum
