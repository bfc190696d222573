"""fitting/resume.py: fit(..., resume=) after load or in memory equals one straight run, bit for
bit; the previous fit's options are kept and its data and settings are checked."""
import copy

import numpy as np
import pytest
import torch

import torchlinreg as tl
from conftest import abc_data, equal_nested, quiet_fit, same_fit
from torchlinreg import InputError, OptionError


@pytest.fixture
def data():
    return abc_data()


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


# --- the module's functions, one at a time ---------------------------------------------------

def given_options(**changes):
    """fit()'s options as resume_settings receives them: its defaults but ``changes``."""
    from torchlinreg.fitting.fit import _DEFAULTS
    return {**_DEFAULTS, **changes}, _DEFAULTS


def test_resume_settings_take_the_previous_options_and_count_epochs_on_top(data):
    from torchlinreg.fitting.resume import resume_settings
    previous = quiet_fit(*data, seed=7, epochs=30, lr=0.02, optimizer="rmsprop", tol=1e-30)
    settings = resume_settings(previous, *given_options())
    assert (settings.seed, settings.lr, settings.optimizer, settings.tol) == \
        (7, 0.02, "rmsprop", 1e-30)
    assert previous.n_iter == 30 and settings.epochs == 60  # 30 done + the previous limit again
    assert settings.optimizer_options == previous.settings["optimizer_options"]
    settings = resume_settings(previous, *given_options(epochs=5, tol=0.0, lr=0.02))
    assert (settings.epochs, settings.tol, settings.lr) == (35, 0.0, 0.02)
    with pytest.raises(OptionError, match=r"which used init='zeros'; got init='uniform'"):
        resume_settings(previous, *given_options(init="uniform"))


def test_restore_training_rebuilds_the_model_optimizer_and_generator_as_they_stopped(data):
    from torchlinreg.fitting.resume import resume_settings, restore_training
    previous = quiet_fit(*data, seed=7, epochs=30)
    generator = torch.Generator()
    model, optimizer, start = restore_training(previous, resume_settings(previous, *given_options()),
                                               generator)
    state = previous._state
    assert torch.equal(model.flat_parameters(), state["parameters"])
    assert equal_nested(optimizer.state_dict(), state["optimizer"])
    assert torch.equal(generator.get_state(), state["generator"])
    assert start.loss == previous._trace.loss and not start.converged and start.stop_reason == ""
    start.loss.append(0.0)  # a copy to go on from: the previous fit is left as it was
    assert len(previous._trace.loss) == 31


def test_a_step_cut_short_resumes_from_the_last_recorded_row_with_a_warning(data):
    from torchlinreg.fitting.resume import resume_settings, restore_training
    previous = quiet_fit(*data, seed=7, epochs=30)
    state = {**previous._state, "parameters": previous._state["parameters"] + 1}
    cut = previous._with(state=state)
    with pytest.warns(UserWarning, match=r"interrupted in the middle of a step; resuming from "
                                         r"its last recorded step \(30\)"):
        model, _, _ = restore_training(cut, resume_settings(cut, *given_options()),
                                       torch.Generator())
    assert torch.equal(model.flat_parameters(), previous._trace.parameters[-1])


def test_continuing_on_other_aliased_columns_is_an_input_error(data):
    from torchlinreg.fitting.resume import continue_training, resume_settings
    previous = quiet_fit(*data, seed=7, epochs=5)
    X, y = data
    train = (torch.as_tensor(X.to_numpy()), torch.as_tensor(y[:, None]), None)
    with pytest.raises(InputError, match="aliased columns differ from the previous fit's"):
        continue_training(previous, resume_settings(previous, *given_options()), train,
                          np.array([False, True, False]), None, None, previous.scaler,
                          torch.Generator())
