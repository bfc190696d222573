"""device=: "cpu", "cuda" and "auto"; the GPU tests skip, with the reason, without a GPU."""
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import torchlinreg as tl
from torchlinreg.engine import moments

from torchlinreg.engine.devices import resolve_device

HAS_CUDA = torch.cuda.is_available()
NAMES = ["a", "b", "c", "d"]
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="torch sees no CUDA GPU on this machine")


@pytest.fixture
def data(rng):
    X = rng.standard_normal((2000, 4)) * [1, 5, 0.2, 3] + [10, -3, 0, 1]
    y = 1.5 + X @ [0.5, -1.0, 2.0, 0.3] + 0.5 * rng.standard_normal(2000)
    return X, y, rng.uniform(0.5, 1.5, 2000)


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        return function(*args, **kwargs)


def test_an_explicit_cpu_is_the_default_bit_for_bit(data):
    X, y, w = data
    default = tl.fit(X, y, weights=w, seed=1)
    cpu = tl.fit(X, y, weights=w, seed=1, device="cpu")
    np.testing.assert_array_equal(cpu.history.to_numpy(), default.history.to_numpy())
    assert cpu.settings["device"] == default.settings["device"] == "cpu"


def test_auto_takes_a_gpu_only_when_torch_sees_one(data):
    X, y, _ = data
    fit = tl.fit(X, y, seed=1, device="auto")
    assert fit.settings["device"] == ("cuda:0" if HAS_CUDA else "cpu")


@pytest.mark.skipif(HAS_CUDA, reason="this machine has a GPU")
def test_cuda_without_a_gpu_says_what_to_use_instead(data):
    X, y, _ = data
    with pytest.raises(tl.OptionError, match=r"torch sees no CUDA GPU.*device='cpu' or 'auto'"):
        tl.fit(X, y, device="cuda")


@pytest.mark.parametrize("device", ["tpu", "gpu0", 3.5, "cuda:x"])
def test_an_unknown_device_lists_the_choices(device):
    with pytest.raises(tl.OptionError, match="device must be"):
        resolve_device(device)


@needs_cuda
@pytest.mark.parametrize("engine", ["gram", "autograd"])
@pytest.mark.parametrize("options", [
    {}, {"validation": 0.2}, {"intercept": False}, {"optimizer": "lbfgs"},
    {"optimizer": "sgd", "lr": 0.01, "batch_size": 64, "epochs": 3, "shuffle": False},
    {"optimizer": "adam", "lr": 0.001, "batch_size": 100, "epochs": 3},
])
def test_a_gpu_fit_agrees_with_the_cpu_fit(data, engine, options):
    X, y, w = data
    cpu = quiet(tl.fit, X, y, weights=w, seed=4, engine=engine, **options)
    gpu = quiet(tl.fit, X, y, weights=w, seed=4, engine=engine, device="cuda", **options)
    assert gpu.settings["device"] == "cuda:0"
    np.testing.assert_allclose(gpu.coef, cpu.coef, rtol=1e-10)
    np.testing.assert_allclose(gpu.history["loss"], cpu.history["loss"][:len(gpu.history)],
                               rtol=1e-8)
    np.testing.assert_allclose(gpu.inference.std_error, cpu.inference.std_error, rtol=1e-9)


@needs_cuda
def test_a_gpu_fit_saves_loads_and_resumes(data, tmp_path):
    X, y, _ = data
    half = quiet(tl.fit, X, y, seed=2, epochs=300, tol=0, device="cuda")
    loaded = tl.load(half.save(tmp_path / "gpu"))
    resumed = quiet(tl.fit, X, y, resume=loaded, epochs=300, device="cuda")
    straight = quiet(tl.fit, X, y, seed=2, epochs=600, tol=0, device="cuda")
    np.testing.assert_array_equal(resumed.coef, straight.coef)


@needs_cuda
def test_a_gpu_fit_from_files_agrees_with_the_cpu_fit(data, tmp_path, monkeypatch):
    """In chunks smaller than the data, so rows (read on the CPU) are centred into
    the GPU's chunk as they are copied."""
    pytest.importorskip("pyarrow")
    monkeypatch.setattr(moments, "CHUNK_ROWS", 256)
    X, y, w = data
    frame = pd.DataFrame(X, columns=NAMES).assign(y=y, w=w)
    path = tmp_path / "d.parquet"
    frame.to_parquet(path, index=False)
    for options in ({}, {"weights": "w", "validation": 0.2}):
        cpu = tl.fit_files(path, "y", NAMES, seed=1, batch_rows=300, **options)
        gpu = tl.fit_files(path, "y", NAMES, seed=1, batch_rows=300, device="cuda", **options)
        np.testing.assert_allclose(gpu.coef, cpu.coef, rtol=1e-10)
