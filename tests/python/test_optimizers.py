"""Choosing and configuring the torch optimizer."""
import numpy as np
import pytest
import torch

import torchlinreg as tl
from torchlinreg.engine.optimizers import DEFAULT_LR, OPTIMIZERS, make_optimizer, resolve_optimizer


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_names_resolve_to_torch_classes(name):
    assert resolve_optimizer(name.upper()) == (name, OPTIMIZERS[name])
    assert name in DEFAULT_LR


def test_a_torch_class_is_accepted(rng):
    X = rng.normal(size=(40, 2))
    fit = tl.fit(X, X @ [1.0, 2.0], optimizer=torch.optim.SGD, lr=0.1, seed=1)
    assert fit.settings["optimizer"] == "sgd" and fit.converged


def test_unknown_name_is_refused():
    with pytest.raises(tl.OptionError, match=r"unknown optimizer 'newton'; choose one of \['adagrad'"):
        resolve_optimizer("newton")


def test_non_optimizer_is_refused():
    with pytest.raises(tl.OptionError, match="torch.optim.Optimizer subclass"):
        resolve_optimizer(42)


def test_unknown_option_is_refused(rng):
    X = rng.normal(size=(20, 2))
    with pytest.raises(tl.OptionError, match=r"Adam does not accept \['momentum'\]; valid options"):
        tl.fit(X, X[:, 0], optimizer="adam", momentum=0.9)


def test_options_pass_through(rng):
    X = rng.normal(size=(40, 2))
    fit = tl.fit(X, X @ [1.0, 2.0], optimizer="sgd", momentum=0.9, nesterov=True, lr=0.05, seed=1)
    assert fit.settings["optimizer_options"] == {"momentum": 0.9, "nesterov": True}
    assert fit.converged


@pytest.mark.parametrize("name, options", [
    ("lbfgs", {"tolerance_grad": 0.0, "tolerance_change": 0.0}),
    ("adamw", {"weight_decay": 0.0}),
])
def test_defaults_let_the_fit_tolerance_decide(rng, name, options):
    X = rng.normal(size=(30, 2))
    fit = tl.fit(X, X @ [1.0, 2.0] + rng.normal(0, 0.1, 30), optimizer=name, seed=1)
    assert options.items() <= fit.settings["optimizer_options"].items()
    assert fit.converged


@pytest.mark.filterwarnings("ignore::torchlinreg.ConvergenceWarning")
def test_user_options_win_over_defaults(rng):
    X = rng.normal(size=(30, 2))
    fit = tl.fit(X, X[:, 0], optimizer="adamw", weight_decay=0.5, epochs=3, tol=0, seed=1)
    assert fit.settings["optimizer_options"]["weight_decay"] == 0.5


def test_make_optimizer_sets_the_learning_rate():
    p = [torch.nn.Parameter(torch.zeros(2))]
    assert make_optimizer(torch.optim.SGD, p, 0.25, {"momentum": 0.5}).param_groups[0]["lr"] == 0.25


@pytest.mark.parametrize("lr", [0, -1, float("nan"), "fast"])
def test_bad_learning_rates(rng, lr):
    X = rng.normal(size=(20, 2))
    with pytest.raises(tl.OptionError, match="lr must be a positive finite number"):
        tl.fit(X, X[:, 0], lr=lr)


@pytest.mark.parametrize("name, fused", [("adam", True), ("adamw", True), ("adagrad", True),
                                         ("sgd", None), ("rmsprop", None), ("lbfgs", None)])
def test_fused_steps_are_the_default_where_torch_has_them(rng, name, fused):
    X = rng.normal(size=(30, 2))
    fit = tl.fit(X, X @ [1.0, 2.0] + rng.normal(0, 0.1, 30), optimizer=name, seed=1)
    assert fit.settings["optimizer_options"].get("fused") is fused
    assert fit._state["optimizer"]["param_groups"][0].get("fused") is fused


@pytest.mark.parametrize("choice", [{"foreach": True}, {"foreach": False}, {"fused": False},
                                    {"differentiable": False}])
def test_a_users_choice_of_implementation_is_kept(rng, choice):
    X = rng.normal(size=(30, 2))
    fit = tl.fit(X, X[:, 0] + rng.normal(0, 0.1, 30), seed=1, **choice)
    assert fit.settings["optimizer_options"] == choice
    assert fit.converged


def test_a_class_of_ones_own_called_adam_is_not_given_fused(rng):
    class Adam(torch.optim.Optimizer):  # no fused keyword
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    p.add_(p.grad.sign(), alpha=-group["lr"] * 0.01)

    X = rng.normal(size=(30, 2))
    with pytest.warns(tl.ConvergenceWarning):
        fit = tl.fit(X, X[:, 0], optimizer=Adam, epochs=5, seed=1)
    assert fit.settings["optimizer_options"] == {}


@pytest.mark.filterwarnings("ignore::torchlinreg.ConvergenceWarning")
@pytest.mark.parametrize("name", ["adam", "adagrad"])
def test_fused_steps_follow_the_for_loop_ones_to_rounding(rng, name):
    X = rng.normal(size=(60, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(0, 0.1, 60)
    fused = tl.fit(X, y, optimizer=name, seed=1, epochs=300, tol=0)
    loop = tl.fit(X, y, optimizer=name, seed=1, epochs=300, tol=0, foreach=False)
    np.testing.assert_allclose(fused.history.to_numpy(float), loop.history.to_numpy(float),
                               rtol=1e-9, atol=1e-12)
