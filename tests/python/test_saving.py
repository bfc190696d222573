"""results/saving.py: fit.save / torchlinreg.load (no pickle): nothing lost, bit for bit; a
foreign or pickled file refused; a failed save leaves the previous file whole."""
import json
import os

import numpy as np
import pandas as pd
import pytest
import torch

import torchlinreg as tl
from conftest import abc_data, equal_nested, quiet_fit, same_fit
from torchlinreg import InputError, MissingDataError


@pytest.fixture
def data():
    return abc_data()


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


# --- the module's functions, one at a time ---------------------------------------------------

def rewrite(path, out, change_arrays=None, change_meta=None):
    """A copy of a saved file with members or the description changed, as an attacker or a
    damaged disk would."""
    with np.load(path, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    meta = json.loads(str(arrays["meta"]))
    if change_meta:
        change_meta(meta)
    arrays["meta"] = np.array(json.dumps(meta))
    if change_arrays:
        change_arrays(arrays)
    np.savez(out, **arrays)
    return out


def test_read_parts_gives_the_constructors_arguments_back(data, tmp_path):
    from torchlinreg.results.saving import read_parts, save_fit
    fit = quiet_fit(*data, seed=3, epochs=40)
    parts, r_object = read_parts(save_fit(fit, tmp_path / "f.npz"))
    assert r_object is None
    for name in ("weight", "bias", "weight_std", "bias_std", "aliased"):
        np.testing.assert_array_equal(parts[name], fit._parts[name])
    assert parts["feature_names"] == ["a", "b", "c"] and parts["settings"] == fit.settings
    assert parts["trace"].loss == fit._trace.loss and parts["trace"].n_steps == 40
    assert parts["fingerprint"] == fit.fingerprint and parts["train_data"] is None


@pytest.mark.parametrize("damage, message", [
    (dict(change_arrays=lambda a: a.update({"history/6": a["history/6"] + 1e-9})),
     r"the stored coefficient 'a' is not the last row of the stored history"),
    (dict(change_arrays=lambda a: a.update({"trace/loss": a["trace/loss"][:-1]})),
     "the stored trace and history disagree on the number of steps"),
    (dict(change_arrays=lambda a: a.update({"bias": np.array(["2.0"])})),
     r"member 'bias' holds <U3 values, not numbers"),
    (dict(change_meta=lambda m: m["data"].update(n_features=-3)),
     "a saved count is -3, not a whole number torchlinreg writes"),
    (dict(change_meta=lambda m: m["trace"].update(n_steps=2)),
     "the stored step counts disagree with the trace"),
    (dict(change_meta=lambda m: m.update(feature_names=["a", "b", 3])),
     "the saved names are not 3 strings"),
])
def test_a_file_whose_parts_disagree_is_an_input_error_that_says_which(data, tmp_path, damage,
                                                                       message):
    from torchlinreg.results.saving import read_parts
    path = tl.fit(*data, seed=3).save(tmp_path / "f.npz")
    read_parts(rewrite(path, tmp_path / "same.npz"))  # rewriting alone changes nothing
    with pytest.raises(InputError, match=message):
        read_parts(rewrite(path, tmp_path / "bad.npz", **damage))
