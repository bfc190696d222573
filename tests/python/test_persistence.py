"""fit.save / torchlinreg.load (no pickle) and fit(..., resume=): nothing lost, bit for bit."""
import copy
import json
import warnings

import os

import numpy as np
import pandas as pd
import pytest
import torch

import torchlinreg as tl
from torchlinreg import InputError, MissingDataError, OptionError


@pytest.fixture
def data():
    rng = np.random.default_rng(60)
    X = pd.DataFrame(rng.normal(size=(120, 3)) * [1, 5, 0.2] + [0, 10, 1], columns=["a", "b", "c"])
    y = X.to_numpy() @ np.array([1.0, -0.3, 4.0]) + 2 + rng.normal(scale=0.5, size=120)
    return X, y


def same_fit(a, b):
    """Coefficients and history identical, bit for bit."""
    np.testing.assert_array_equal(a.coefficients(), b.coefficients())
    pd.testing.assert_frame_equal(a.history, b.history, check_exact=True)
    assert (a.n_iter, a.n_steps, a.stop_reason, a.converged) == \
        (b.n_iter, b.n_steps, b.stop_reason, b.converged)


def quiet_fit(*args, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        return tl.fit(*args, **options)


# --- save and load ---------------------------------------------------------------------------

def test_round_trip_keeps_everything(data, tmp_path):
    X, y = data
    fit = tl.fit(X, y, seed=4, validation=0.25)
    path = fit.save(tmp_path / "fit")
    assert path == str(tmp_path / "fit") and os.listdir(tmp_path) == ["fit"]
    loaded = tl.load(path)
    same_fit(fit, loaded)
    assert loaded.settings == fit.settings
    assert loaded.feature_names == ["a", "b", "c"] and loaded.output_names == fit.output_names
    np.testing.assert_array_equal(loaded.coef_standardized, fit.coef_standardized)
    assert loaded.intercept_standardized == fit.intercept_standardized
    np.testing.assert_array_equal(loaded.train_index, fit.train_index)
    np.testing.assert_array_equal(loaded.valid_index, fit.valid_index)
    for name in ("x_center", "x_scale", "y_center", "y_scale"):
        assert torch.equal(getattr(loaded.scaler, name), getattr(fit.scaler, name))
    np.testing.assert_array_equal(loaded.predict(X), fit.predict(X))
    assert loaded.to_dict() == fit.to_dict() or json.dumps(loaded.to_dict()) == json.dumps(fit.to_dict())


def test_optimizer_state_round_trips(data, tmp_path):
    X, y = data
    fit = quiet_fit(X, y, seed=1, epochs=50)
    loaded = tl.load(fit.save(tmp_path / "f.npz"))
    assert fit._state["optimizer"]["state"][0]["exp_avg_sq"].shape == (1, 4)  # theta = [b | W]
    assert equal_nested(loaded._state, fit._state)


@pytest.mark.parametrize("options", [dict(optimizer="lbfgs", epochs=3), dict(optimizer="sgd", epochs=3),
                                     dict(optimizer="adamw", betas=(0.8, 0.9), dtype="float32", epochs=50)])
def test_every_optimizer_state_round_trips(data, tmp_path, options):
    fit = quiet_fit(*data, seed=1, **options)
    loaded = tl.load(fit.save(tmp_path / "f.npz"))
    assert equal_nested(loaded._state, fit._state)
    assert loaded.settings == fit.settings


def test_file_loads_without_pickle(data, tmp_path):
    X, y = data
    path = tl.fit(X, y, seed=1).save(tmp_path / "f.npz")
    with np.load(path, allow_pickle=False) as stored:
        assert all(stored[key].dtype != object for key in stored.files)
        meta = json.loads(str(stored["meta"]))
    assert meta["format"] == "torchlinreg-fit"
    assert meta["data"]["n_train"] == 120 and meta["data"]["n_features"] == 3
    assert meta["feature_names"] == ["a", "b", "c"]


def test_a_pickled_or_foreign_file_is_refused(tmp_path):
    pickled = tmp_path / "evil.npz"
    np.savez(pickled, meta=np.array([{"format": "torchlinreg-fit"}], dtype=object))
    with pytest.raises(InputError, match="is not a fit saved by torchlinreg"):
        tl.load(pickled)
    foreign = tmp_path / "other.npz"
    np.savez(foreign, meta=np.array(json.dumps({"format": "else"})))
    with pytest.raises(InputError, match="is not a fit saved by torchlinreg"):
        tl.load(foreign)
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(InputError):
        tl.load(tmp_path / "text.npz")


def test_loaded_fit_without_data_says_how_to_give_it_back(data, tmp_path):
    X, y = data
    fit = tl.fit(X, y, seed=2, validation=0.2)
    path = fit.save(tmp_path / "f.npz")
    loaded = tl.load(path)
    for use in (lambda f: f.compare(), lambda f: f.inference, lambda f: f.exact,
                lambda f: f.summary(), lambda f: f.loss()):
        with pytest.raises(MissingDataError, match=r"torchlinreg.load\(path, X=X, y=y\).*include_data=True"):
            use(loaded)
    given_back = tl.load(path, X=X, y=y)
    pd.testing.assert_frame_equal(given_back.compare(), fit.compare())
    with pytest.raises(InputError, match="not the data the fit was trained on"):
        tl.load(path, X=X, y=y + 1)
    with pytest.raises(InputError, match="not the data the fit was trained on"):
        tl.load(path, X=X.iloc[:-1], y=y[:-1])


def test_include_data(data, tmp_path):
    X, y = data
    weights = np.linspace(0.5, 2, len(y))
    fit = tl.fit(X, y, seed=2, weights=weights)
    loaded = tl.load(fit.save(tmp_path / "f.npz", include_data=True))
    pd.testing.assert_frame_equal(loaded.compare(), fit.compare())
    np.testing.assert_array_equal(loaded.inference.std_error, fit.inference.std_error)


def test_several_outputs_and_aliased_columns(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    X = np.column_stack([X, X[:, 0] + X[:, 1]])
    Y = np.column_stack([X[:, 0], X[:, 1] * 2]) + rng.normal(size=(40, 2))
    fit = tl.fit(X, Y, seed=1)
    loaded = tl.load(fit.save(tmp_path / "f.npz"))
    same_fit(fit, loaded)
    assert loaded.aliased.tolist() == [False, False, True]
    np.testing.assert_array_equal(loaded.predict(X), fit.predict(X))


# --- resume ----------------------------------------------------------------------------------

RESUMABLE = [
    dict(optimizer="adam", lr=0.01),
    dict(optimizer="sgd", lr=0.05, momentum=0.9, nesterov=True),
    dict(optimizer="rmsprop", lr=0.001, validation=0.2),
    dict(optimizer="adagrad", lr=0.05, engine="autograd"),
    dict(optimizer="adamw", lr=0.01, dtype="float32"),
    dict(optimizer="lbfgs", lr=0.1, max_iter=2, line_search_fn=None),
    dict(optimizer="adam", lr=0.01, batch_size=16, epochs=4),
    dict(optimizer="sgd", lr=0.01, batch_size=7, epochs=3, init="uniform", engine="autograd"),
]


@pytest.mark.parametrize("options", RESUMABLE, ids=lambda o: "-".join(map(str, o.values())))
def test_resume_after_load_equals_one_straight_run(data, tmp_path, options):
    X, y = data
    options = dict(options)
    half = options.pop("epochs", 100)
    straight = quiet_fit(X, y, seed=9, epochs=2 * half, **options)
    first = quiet_fit(X, y, seed=9, epochs=half, **options)
    assert first.stop_reason == "max_epochs", "the first part should stop early to test resuming"
    loaded = tl.load(first.save(tmp_path / "half.npz"))
    second = quiet_fit(X, y, resume=loaded, epochs=half)
    same_fit(straight, second)
    assert second.settings["epochs"] == 2 * half
    # resuming in memory is the same, and leaves the first fit as it was
    state = copy.deepcopy(first._state)
    same_fit(straight, quiet_fit(X, y, resume=first, epochs=half))
    assert equal_nested(first._state, state)


def test_a_file_from_before_the_one_parameter_model_resumes_bit_for_bit(data, tmp_path):
    """Files written before ``theta = [b | W]`` hold the optimizer state of two parameters
    (weight under 0, bias under 1) and no ``fused`` option; resuming converts the state and
    keeps the options, so the steps go on exactly as an uninterrupted run of that version."""
    X, y = data
    straight = quiet_fit(X, y, seed=9, epochs=100, foreach=False)
    first = quiet_fit(X, y, seed=9, epochs=50, foreach=False)
    old = tl.load(first.save(tmp_path / "half.npz"))
    state = old._state["optimizer"]
    theta = state["state"][0]
    state["state"] = {0: {k: v[:, 1:].clone() if v.dim() == 2 else v.clone() for k, v in theta.items()},
                      1: {k: v[:, 0].clone() if v.dim() == 2 else v.clone() for k, v in theta.items()}}
    state["param_groups"][0]["params"] = [0, 1]
    old = tl.load(old.save(tmp_path / "old.npz"))
    assert old._state["optimizer"]["param_groups"][0]["params"] == [0, 1]
    same_fit(straight, quiet_fit(X, y, resume=old, epochs=50))


def test_resume_keeps_the_options_the_fit_was_made_with(data):
    """A fit made without ``fused`` (older files, or a user's choice) resumes without it."""
    X, y = data
    first = quiet_fit(X, y, seed=9, epochs=20)
    assert first.settings["optimizer_options"] == {"fused": True}  # today's default for Adam
    older = first._with(settings={**first.settings, "optimizer_options": {}})
    again = quiet_fit(X, y, resume=older, epochs=20)
    assert again.settings["optimizer_options"] == {}


def equal_nested(a, b):
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(equal_nested(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(equal_nested, a, b))
    return a == b


def test_resume_twice_and_to_convergence(data, tmp_path):
    X, y = data
    straight = tl.fit(X, y, seed=3)
    assert straight.converged
    part = quiet_fit(X, y, seed=3, epochs=300)
    for _ in range(2):
        part = quiet_fit(X, y, resume=tl.load(part.save(tmp_path / "p.npz")), epochs=300)
    part = tl.fit(X, y, resume=part, epochs=10_000)
    same_fit(straight, part)
    # a converged fit resumed stays where it is
    again = tl.fit(X, y, resume=straight, epochs=5)
    same_fit(straight, again)


def test_resume_with_explicit_validation(data, tmp_path):
    X, y = data
    valid = (X.iloc[:30], y[:30])
    train = (X.iloc[30:], y[30:])
    straight = quiet_fit(*train, seed=1, epochs=400, lr=0.01, validation=valid)
    first = quiet_fit(*train, seed=1, epochs=200, lr=0.01, validation=valid)
    loaded = tl.load(first.save(tmp_path / "f.npz"))
    with pytest.raises(OptionError, match=r"pass validation=\(X_valid, y_valid\) again"):
        tl.fit(*train, resume=loaded)
    same_fit(straight, quiet_fit(*train, resume=loaded, epochs=200, validation=valid))


def test_resume_checks_data_and_settings(data, tmp_path):
    X, y = data
    first = quiet_fit(X, y, seed=1, epochs=20, lr=0.01)
    loaded = tl.load(first.save(tmp_path / "f.npz"))
    with pytest.raises(InputError, match="not the data the fit was trained on"):
        tl.fit(X, y * 2, resume=loaded)
    with pytest.raises(InputError, match="not the data the fit was trained on"):
        tl.fit(X.iloc[:, :2], y, resume=loaded)
    with pytest.raises(OptionError, match=r"used lr=0\.01; got lr=0\.5\. Leave lr out"):
        tl.fit(X, y, resume=loaded, lr=0.5)
    with pytest.raises(OptionError, match="used optimizer='adam'; got optimizer='sgd'"):
        tl.fit(X, y, resume=loaded, optimizer="sgd")
    with pytest.raises(OptionError, match="used seed=1"):
        tl.fit(X, y, resume=loaded, seed=2)
    with pytest.raises(OptionError, match="resume needs a fit that kept its optimizer state"):
        tl.fit(X, y, resume=tl.ols(X, y))
    # repeating the previous values is fine
    quiet_fit(X, y, resume=loaded, lr=0.01, seed=1, epochs=1)


def test_a_failed_save_leaves_the_previous_file_whole(data, tmp_path, monkeypatch):
    """The file is written under a temporary name and renamed over the target, so a
    write that fails half-way (a full disk, a size limit, Ctrl-C) loses nothing."""
    X, y = data
    first = tl.fit(X, y, seed=1)
    path = first.save(tmp_path / "f.npz")
    before = open(path, "rb").read()
    from torchlinreg.persist import format as file_format

    def fail_half_way(handle, **arrays):
        handle.write(b"PK\x03\x04 half a zip file")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(file_format.np, "savez_compressed", fail_half_way)
    with pytest.raises(OSError, match="No space left"):
        tl.fit(X, y, seed=2).save(path)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["f.npz"]  # no temporary file left behind
    monkeypatch.undo()
    np.testing.assert_array_equal(tl.load(path).coef, first.coef)
