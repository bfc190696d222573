"""engine/stepping.py: the fast paths of a step (issue 19) take torch's own steps, bit for bit.

:mod:`torchlinreg.engine.stepping` calls an optimizer's undecorated ``step``
(skipping torch's profiler and grad-mode wrappers) and lets the optimizer's
constructor, ``state_dict`` and ``load_state_dict`` run without importing
``torch._dynamo``. Each is compared here with torch's own calls: the same
parameters and optimizer state after every step, for every optimizer
torchlinreg names and each implementation; hooks, the profiler and
``differentiable=True`` still get ``optimizer.step()`` itself.
"""
import subprocess
import sys
import textwrap

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from torchlinreg.engine.optimizers import OPTIMIZERS
from torchlinreg.engine.stepping import stepper, undecorated_step, without_dynamo_import

# (name, options): every optimizer with torch's default implementation, and the fused and
# foreach ones where torch has them on the CPU.
CASES = [(name, {}) for name in OPTIMIZERS] + [
    ("adam", {"fused": True}), ("adamw", {"fused": True}), ("adagrad", {"fused": True}),
    ("adam", {"fused": True, "amsgrad": True, "maximize": True, "weight_decay": 0.1}),
    ("adamw", {"fused": True, "amsgrad": True, "betas": (0.8, 0.9), "eps": 1e-6}),
    ("adam", {"foreach": True}), ("sgd", {"foreach": True, "momentum": 0.9}),
    ("rmsprop", {"foreach": True, "centered": True}), ("adam", {"amsgrad": True}),
    ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
]


def _quadratic(dtype):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(7, 7, generator=g, dtype=torch.float64)
    return (a @ a.T / 7 + torch.eye(7, dtype=torch.float64)).to(dtype), \
        torch.randn(2, 7, generator=g, dtype=torch.float64).to(dtype)


def _run(name, options, fast, dtype, steps=40):
    """Parameters and optimizer state after ``steps`` steps on a quadratic, the gradient
    written as the moments engine writes it; by ``optimizer.step()`` or :func:`stepper`."""
    gram, cross = _quadratic(dtype)
    theta = torch.nn.Parameter(torch.linspace(-1, 1, 14, dtype=dtype).reshape(2, 7))
    optimizer = OPTIMIZERS[name]([theta], lr=0.05, **options)
    step = stepper(optimizer) if fast else optimizer.step

    def closure():
        theta.grad = (theta.detach() @ gram - cross) * 2
        return ((theta.detach() @ gram - 2 * cross) * theta.detach()).sum()

    rows = []
    for _ in range(steps):
        if name == "lbfgs":
            step(closure)
        else:
            closure()
            step()
        rows.append(theta.detach().clone())
    return torch.stack(rows), optimizer.state_dict()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("name,options", CASES, ids=lambda v: str(v))
def test_the_fast_step_is_the_optimizers_own_bit_for_bit(name, options, dtype):
    slow_rows, slow_state = _run(name, options, False, dtype)
    # torch 2.13's wrappers are the ones read: the fast path is taken, not the fallback.
    assert undecorated_step(OPTIMIZERS[name]) is not None
    fast_rows, fast_state = _run(name, options, True, dtype)
    assert torch.equal(fast_rows, slow_rows)
    assert fast_state["param_groups"] == slow_state["param_groups"]
    assert slow_state["state"].keys() == fast_state["state"].keys()
    for key, value in slow_state["state"].get(0, {}).items():
        other = fast_state["state"][0][key]
        assert torch.equal(torch.as_tensor(other), torch.as_tensor(value)) \
            if not isinstance(value, list) else all(map(torch.equal, other, value)), key


@pytest.mark.parametrize("optimizer_class", [torch.optim.Adam, torch.optim.AdamW])
def test_a_fused_adam_of_one_parameter_calls_its_update_and_falls_back_otherwise(
        optimizer_class, monkeypatch):
    """After the first step (which makes the state) a fused Adam's or AdamW's steps call
    torch's ``_fused_adam`` without collecting the group again (``_init_group``); a tensor
    lr, a second parameter group or a closure take the step itself."""
    calls = []
    collect = torch.optim.Adam._init_group
    monkeypatch.setattr(torch.optim.Adam, "_init_group",
                        lambda self, *args: calls.append(1) or collect(self, *args))
    theta = torch.nn.Parameter(torch.ones(1, 3, dtype=torch.float64))
    optimizer = optimizer_class([theta], lr=0.1, fused=True)
    step = stepper(optimizer)
    for _ in range(5):
        theta.grad = theta.detach() * 2
        step()
    assert len(calls) == 1  # the first step only
    optimizer.param_groups[0]["lr"] = torch.tensor(0.1)
    step()
    assert len(calls) == 2
    optimizer.param_groups[0]["lr"] = 0.1
    step(lambda: None)
    assert len(calls) == 3
    optimizer.add_param_group({"params": [torch.nn.Parameter(torch.ones(2, dtype=torch.float64))]})
    step()
    assert len(calls) == 5  # the step itself, collecting each of the two groups


def _adam():
    theta = torch.nn.Parameter(torch.ones(1, 3, dtype=torch.float64))
    theta.grad = torch.ones(1, 3, dtype=torch.float64)
    return theta, torch.optim.Adam([theta], lr=0.1)


def test_step_hooks_still_run():
    theta, optimizer = _adam()
    calls = []
    optimizer.register_step_pre_hook(lambda *a: calls.append("pre"))
    optimizer.register_step_post_hook(lambda *a: calls.append("post"))
    stepper(optimizer)()
    handle = register_optimizer_step_post_hook(lambda *a: calls.append("global"))
    try:
        stepper(_adam()[1])()
    finally:
        handle.remove()
    assert calls == ["pre", "post", "global"]


def test_a_running_profiler_still_sees_the_step():
    theta, optimizer = _adam()
    with torch.autograd.profiler.profile() as profile:
        stepper(optimizer)()
    assert any(event.name == "Optimizer.step#Adam.step" for event in profile.function_events)


def test_grad_mode_is_off_in_the_step_and_restored_after():
    theta, optimizer = _adam()
    seen = []

    def closure():
        seen.append(torch.is_grad_enabled())
        return torch.zeros(())
    lbfgs = torch.optim.LBFGS([theta])
    with torch.enable_grad():
        stepper(lbfgs)(closure)  # L-BFGS turns gradients on for its closure, as step() does
        assert torch.is_grad_enabled()
    with torch.no_grad():
        stepper(optimizer)()
        assert not torch.is_grad_enabled()
    assert seen and all(seen)


def test_optimizers_that_wrap_their_own_step_and_differentiable_ones_take_step():
    # (a subclass's own step, differentiable=True, a step set on the instance)
    class Counting(torch.optim.SGD):
        calls = 0

        def step(self, closure=None):
            Counting.calls += 1
            return super().step(closure)

    theta = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    theta.grad = torch.ones(3, dtype=torch.float64)
    counting = Counting([theta], lr=0.1)
    stepper(counting)()
    assert Counting.calls == 1
    differentiable = torch.optim.SGD([theta], lr=0.1, differentiable=True)
    assert stepper(differentiable) == differentiable.step
    wrapped, calls = torch.optim.SGD([theta], lr=0.1), []
    step = stepper(wrapped)
    wrapped.step = lambda *args: calls.append(args)  # set on the instance after stepper()
    step()
    assert calls == [()]


def test_without_dynamo_import_leaves_torch_as_it_was():
    # (torch._dynamo is imported in this process, so torch's own wrapper runs inside too;
    # the fresh process below checks the case where it is not.)
    function = torch.optim.Optimizer.state_dict.__wrapped__
    with without_dynamo_import():
        with without_dynamo_import():  # nested and from several fits at once: counted
            pass
        _adam()[1].state_dict()
    ours = getattr(getattr(function, "__dynamo_disable", None), "__name__", None)
    assert ours != "eager_unless_dynamo"


# A fresh process: fits of arrays import no torch._dynamo; then, with it imported,
# torch's own wrappers are back and the same fits give the same numbers.
CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import torch
    import torchlinreg as tl
    X = np.random.default_rng(0).standard_normal((60, 3))
    y = X @ [1.0, -2.0, 0.5] + np.random.default_rng(1).standard_normal(60)
    fits = [tl.fit(X, y, optimizer=name, validation=0.2, seed=1)
            for name in ("adam", "sgd", "lbfgs", "rmsprop", "adagrad", "adamw")]
    tl.fit(X, y, epochs=20, resume=tl.fit(X, y, epochs=10, seed=1))  # load_state_dict too
    print("torch._dynamo" in sys.modules)  # (the rest of the path: test_fit_path_imports.py)
    left = [name for name in ("add_param_group", "state_dict", "load_state_dict", "zero_grad")
            if hasattr(getattr(torch.optim.Optimizer, name).__wrapped__, "__dynamo_disable")]
    print(" ".join(left))
    import torch._dynamo
    again = [tl.fit(X, y, optimizer=f.settings["optimizer"], validation=0.2, seed=1)
             for f in fits]
    print(all(np.array_equal(a.history.to_numpy(), b.history.to_numpy(), equal_nan=True)
              for a, b in zip(fits, again)))
""")


def test_a_fit_of_arrays_imports_no_dynamo_and_matches_a_fit_after_it():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          timeout=300, check=True)
    # no torch._dynamo; torch's own functions carry nothing of ours after the fits; and
    # with torch._dynamo imported, torch's wrappers run and the fits are the same
    assert done.stdout.split("\n") == ["False", "", "True", ""], done.stderr
