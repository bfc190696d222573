"""fitting/data.py: load(path, X=, y=) gives a saved fit its training rows back (split off
again by the saved seed) after checking them against the saved hash; the R package's part of
a file comes back with load_with_r_object."""
import numpy as np
import pytest
import torch

import torchlinreg as tl
from torchlinreg.fitting.data import (attach_data, check_same_data, load, load_with_r_object,
                                      training_rows)
from torchlinreg.inputs.rows import split_rows
from torchlinreg.results.saving import save_fit


@pytest.fixture
def saved(rng, tmp_path):
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, 2.0, 3.0] + rng.normal(size=40)
    w = rng.uniform(0.5, 2, 40)
    fit = tl.fit(X, y, weights=w, validation=0.25, seed=6)
    return fit, fit.save(tmp_path / "fit.npz"), (X, y, w)


def test_the_training_rows_are_split_off_again_by_the_saved_seed(saved):
    fit, _, (X, y, w) = saved
    X_train, Y_train, w_train = training_rows(fit.settings, X, y, w)
    train, _ = split_rows(40, 0.25, torch.Generator().manual_seed(6))
    assert train.tolist() == fit.train_index.tolist()
    np.testing.assert_array_equal(X_train, X[train.numpy()])
    np.testing.assert_array_equal(w_train, w[train.numpy()])
    all_rows = training_rows({**fit.settings, "validation": 0.0}, X, y, None)
    assert all_rows[0].shape == (40, 3) and all_rows[2] is None


def test_loading_with_the_data_gives_the_fit_its_rows_back(saved):
    fit, path, (X, y, w) = saved
    bare = load(path)
    assert bare._train is None
    given = load(path, X=X, y=y, weights=w)
    for mine, theirs in zip(given._train, fit._train):
        assert torch.equal(mine, theirs)
    np.testing.assert_array_equal(given.inference.std_error, fit.inference.std_error)


def test_other_data_are_refused_with_what_differs(saved):
    fit, path, (X, y, w) = saved
    bare = load(path)
    with pytest.raises(tl.InputError, match="give both X and y"):
        attach_data(bare, X, None)
    with pytest.raises(tl.InputError, match=r"it used 30 training rows of 3 columns and 1 "
                                            r"output\(s\), here there are 30 rows of 3 columns"):
        attach_data(bare, X, y, None)  # the weights left out
    with pytest.raises(tl.InputError, match="here there are 30 rows of 2 columns"):
        check_same_data(bare, training_rows(bare.settings, X[:, :2], y, w))
    check_same_data(bare._with(fingerprint=None), training_rows(bare.settings, X, -y, w))


def test_the_r_part_of_a_file_comes_back_as_it_was_stored(saved, tmp_path):
    fit, path, _ = saved
    assert load_with_r_object(path)[1] is None
    r_object = {"call": "torch_lm(y ~ .)", "terms": ["x1", "x2"], "frame": np.arange(6.0).reshape(2, 3),
                "nested": {"levels": [1, 2], "na": None}}
    loaded, r_back = load_with_r_object(save_fit(fit, tmp_path / "r.npz", r_object=r_object))
    assert r_back["call"] == r_object["call"] and r_back["nested"] == r_object["nested"]
    assert r_back["terms"] == ["x1", "x2"]
    np.testing.assert_array_equal(r_back["frame"], r_object["frame"])
    np.testing.assert_array_equal(loaded.coef, fit.coef)
