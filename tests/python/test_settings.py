"""engine/settings.py: make_settings validates every option once and fills in the documented
defaults (epochs, tol by dtype, optimizer, engine and preconditioner); the options table and
its split; FitSettings.to_dict."""
import inspect

import numpy as np
import pytest
import torch

from torchlinreg.engine.settings import (FIT_OPTIONS, as_int, fresh_seed, make_settings,
                                         split_options)
from torchlinreg.errors import OptionError


def test_the_defaults_are_the_documented_ones():
    s = make_settings(seed=1)
    assert (s.intercept, s.optimizer, s.lr, s.epochs, s.batch_size, s.shuffle) == \
        (True, "adam", 0.1, 10_000, None, True)
    assert (s.validation, s.standardize, s.dtype, s.tol, s.init, s.engine, s.device) == \
        (0.0, True, "float64", 1e-14, "zeros", "gram", "cpu")
    assert s.precondition == "qr" and s.patience is None and s.optimizer_class is torch.optim.Adam
    assert make_settings(batch_size=32, seed=1).epochs == 100


@pytest.mark.parametrize("options, tol", [
    (dict(), 1e-14),  # qr on the moments: isotropic, Adam settles
    (dict(precondition="standardize"), 1e-12),
    (dict(engine="autograd"), 1e-12),  # sums over rows round above 1e-14
    (dict(standardize=False), 1e-12),
    (dict(dtype="float32"), 3e-8),
    (dict(dtype="float32", optimizer="sgd"), 3e-7),
    (dict(tol=0), 0.0),
])
def test_the_tolerance_depends_on_dtype_optimizer_preconditioner_and_engine(options, tol):
    assert make_settings(seed=1, **options).tol == tol


def test_standardize_false_is_precondition_none_and_the_two_cannot_disagree():
    s = make_settings(standardize=False, seed=1)
    assert (s.precondition, s.standardize) == ("none", False)
    assert make_settings(precondition="none", seed=1).standardize is False
    with pytest.raises(OptionError, match="precondition='none' is standardize=False"):
        make_settings(standardize=False, precondition="qr")
    with pytest.raises(OptionError, match=r"precondition must be one of \['qr', 'standardize', 'none'\]"):
        make_settings(precondition="QR")


def test_engine_names():
    assert [make_settings(engine=e, seed=1).engine for e in ("auto", "gram", "sufficient",
                                                             "autograd")] == \
        ["gram", "gram", "gram", "autograd"]
    with pytest.raises(OptionError, match="engine must be one of"):
        make_settings(engine="fast")


@pytest.mark.parametrize("name, value, message", [
    ("intercept", 1, "intercept must be True or False; got 1"),
    ("shuffle", "yes", "shuffle must be True or False"),
    ("lr", 0, "lr must be a positive finite number"),
    ("lr", float("inf"), "lr must be a positive finite number"),
    ("epochs", 2.5, "epochs must be a whole number; got 2.5"),
    ("epochs", 0, "epochs must be at least 1; got 0"),
    ("batch_size", True, "batch_size must be a whole number"),
    ("seed", 2 ** 63, "seed must be at most"),
    ("seed", -1, "seed must be at least 0"),
    ("tol", -1e-3, "tol must be a non-negative number"),
    ("validation", 1.0, r"validation must be a fraction in \[0, 1\)"),
    ("validation", True, "validation must be a fraction"),
    ("init", "normal", r"init must be one of \['zeros', 'uniform'\]"),
    ("patience", 5, "patience stops on the validation loss, which needs validation data"),
])
def test_each_bad_option_is_an_option_error_that_names_it(name, value, message):
    with pytest.raises(OptionError, match=message):
        make_settings(**{name: value})


def test_whole_floats_numpy_bools_and_a_validation_pair_are_accepted():
    pair = (np.zeros((3, 1)), np.zeros(3))
    s = make_settings(epochs=7.0, seed=np.int64(3), intercept=np.bool_(False), validation=pair,
                      patience=2.0)
    assert (s.epochs, s.seed, s.intercept, s.patience) == (7, 3, False, 2)
    assert s.validation is pair and s.to_dict()["validation"] == "explicit"
    assert as_int(5.0, "n", 1, 5) == 5 and type(as_int(5.0, "n")) is int


def test_lbfgs_needs_the_full_batch():
    with pytest.raises(OptionError, match="L-BFGS needs the full batch"):
        make_settings(optimizer="lbfgs", batch_size=10)


def test_a_fresh_seed_is_drawn_when_none_is_given():
    seeds = {make_settings().seed for _ in range(5)}
    assert len(seeds) == 5 and all(0 <= s < 2 ** 63 for s in seeds)
    assert 0 <= fresh_seed() < 2 ** 63


def test_optimizer_options_get_todays_defaults_unless_they_are_a_previous_fits():
    assert make_settings(seed=1).optimizer_options == {"fused": True}
    assert make_settings(seed=1, optimizer_options={"betas": (0.8, 0.9)}).optimizer_options == \
        {"fused": True, "betas": (0.8, 0.9)}
    kept = make_settings(seed=1, optimizer_options={}, complete_options=True)
    assert kept.optimizer_options == {}


def test_to_dict_is_plain_values_without_the_optimizer_class():
    out = make_settings(seed=4, validation=0.25).to_dict()
    assert "optimizer_class" not in out and out["validation"] == 0.25 and out["seed"] == 4
    assert set(out) == set(FIT_OPTIONS) | {"optimizer_options"}


def test_the_options_table_is_make_settings_signature_and_splits_keyword_arguments():
    parameters = inspect.signature(make_settings).parameters
    assert {name: parameters[name].default for name in FIT_OPTIONS} == FIT_OPTIONS
    assert set(parameters) - set(FIT_OPTIONS) == {"optimizer_options", "complete_options"}
    fit_options, optimizer_options = split_options({"lr": 0.1, "momentum": 0.9, "seed": 1})
    assert fit_options == {"lr": 0.1, "seed": 1} and optimizer_options == {"momentum": 0.9}
