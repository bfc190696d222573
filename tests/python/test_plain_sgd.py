"""engine/plain_sgd.py: plain SGD's minibatches composed a block at a time (sgd_blocks) vs
torch.optim.SGD's steps."""
import warnings

import numpy as np
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

import torchlinreg as tl
from torchlinreg.engine import minibatch
from torchlinreg.engine import objective
from torchlinreg.engine.plain_sgd import plain_sgd_lr
from torchlinreg.engine.training import Schedule

# 157 batches: blocks of 64, 64 and 29 batches; the last batch has 8 rows.
N_ROWS, N_FEATURES, BATCH = 5000, 3, 32
# float64: the two paths differ only in the order of rounding (measured ~4e-16).
FLOAT64_RTOL = 1e-10
# float32: the per-batch path rounds θ to float32 (6e-8 relative) at every step and forms each
# gradient in float32 (errors of a few 1e-7 of it); the block path rounds once per block from
# float64. A contracting SGD keeps tens of steps' worth of such errors: measured 0.7-1.4e-7
# relative after 1-20 epochs, so 2e-6 leaves a 10x margin and still fails a wrong step.
FLOAT32_RTOL = 2e-6


def _objective(dtype, n_outputs, intercept, weighted, seed=0):
    """A GramObjective on unstandardized data with the last batch smaller."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N_ROWS, N_FEATURES)) * [1, 5, 0.2] + [10, -3, 0]
    Y = 1.5 + X @ rng.standard_normal((N_FEATURES, n_outputs)) \
        + 0.5 * rng.standard_normal((N_ROWS, n_outputs))
    w = rng.uniform(0.2, 2.0, N_ROWS) if weighted else None

    def tensor(a):
        return None if a is None else torch.as_tensor(a, dtype=dtype)
    _, train, _, _ = objective.build_objectives(tensor(X), tensor(Y), tensor(w), None, intercept, True)
    return train


def _model(dtype, n_outputs, intercept):
    torch.manual_seed(0)
    return torch.nn.Linear(N_FEATURES, n_outputs, bias=intercept, dtype=dtype)


def _theta(model):
    parts = [model.weight.detach()] if model.bias is None \
        else [model.bias.detach()[:, None], model.weight.detach()]
    return torch.cat(parts, 1).to(torch.float64).numpy()


def _count_steps(optimizer):
    """Count ``optimizer.step()`` calls with an instance wrapper (no hook: hooks opt out)."""
    calls = []
    step = optimizer.step

    def counted(*args, **kwargs):
        calls.append(1)
        return step(*args, **kwargs)
    optimizer.step = counted
    return calls


def _epochs(dtype, n_outputs, intercept, weighted, per_batch, epochs=2, lr=0.05, **sgd):
    """Parameters after ``epochs`` of minibatches, the steps taken and the step() calls made.

    ``per_batch``: register a (do-nothing) step hook, which makes torchlinreg step the
    optimizer batch by batch as it must for hooks, i.e. torch.optim.SGD's own trajectory.
    """
    train = _objective(dtype, n_outputs, intercept, weighted)
    model = _model(dtype, n_outputs, intercept)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, **sgd)
    if per_batch:
        optimizer.register_step_post_hook(lambda *args: None)
    calls = _count_steps(optimizer)
    schedule = Schedule(epochs, 0.0, BATCH, True, torch.Generator().manual_seed(3))
    steps = sum(train.minibatch_epoch(model, optimizer, schedule) for _ in range(epochs))
    return _theta(model), steps, len(calls)


@pytest.mark.parametrize("dtype, rtol",
                         [(torch.float64, FLOAT64_RTOL), (torch.float32, FLOAT32_RTOL)],
                         ids=["float64", "float32"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_blocks_reproduce_sgd_step_by_step(dtype, rtol, weighted, intercept, n_outputs):
    blocks, steps, calls = _epochs(dtype, n_outputs, intercept, weighted, per_batch=False)
    stepped, steps_stepped, calls_stepped = _epochs(dtype, n_outputs, intercept, weighted,
                                                    per_batch=True)
    batches = 2 * -(-N_ROWS // BATCH)
    assert steps == steps_stepped == calls_stepped == batches
    assert calls == 0  # the plain-SGD path never calls step()
    scale = np.abs(stepped).max()
    np.testing.assert_allclose(blocks, stepped, rtol=0, atol=rtol * scale)
    # the parameters moved far more than the tolerance: the comparison has teeth
    start = _theta(_model(dtype, n_outputs, intercept))
    assert np.abs(stepped - start).max() > 1e3 * rtol * scale


def _hand_loop(model, lr, x, y, w, batch_size):
    """torch.optim.SGD's steps on the closed-form batch gradients, written out."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    with torch.no_grad():
        for rows in torch.arange(x.shape[0]).split(batch_size):
            minibatch.set_batch_gradient(model, x[rows], y[rows], None if w is None else w[rows])
            optimizer.step()
    return _theta(model)


def _block(n_rows, n_outputs, seed=1):
    rng = np.random.default_rng(seed)
    return (torch.as_tensor(rng.standard_normal((n_rows, N_FEATURES))),
            torch.as_tensor(rng.standard_normal((n_rows, n_outputs))),
            torch.as_tensor(rng.uniform(0.5, 1.5, n_rows)))


def test_step_batches_matches_a_hand_loop_of_optimizer_steps():
    """On one standardized block, against set_batch_gradient + optimizer.step() written out."""
    x, y, w = _block(1000, 2)
    model = _model(torch.float64, 2, True)
    steps = minibatch.step_batches(model, torch.optim.SGD(model.parameters(), lr=0.1), x, y, w, 48)
    assert steps == 21
    by_hand = _hand_loop(_model(torch.float64, 2, True), 0.1, x, y, w, 48)
    np.testing.assert_allclose(_theta(model), by_hand, rtol=FLOAT64_RTOL)


NOT_PLAIN = {
    "momentum": dict(momentum=0.9),
    "nesterov": dict(momentum=0.9, nesterov=True),
    "weight_decay": dict(weight_decay=0.1),
    "maximize": dict(maximize=True),
}


@pytest.mark.parametrize("options", NOT_PLAIN.values(), ids=NOT_PLAIN.keys())
def test_other_sgd_options_step_batch_by_batch(options):
    blocks, steps, calls = _epochs(torch.float64, 1, True, False, per_batch=False, **options)
    stepped, _, _ = _epochs(torch.float64, 1, True, False, per_batch=True, **options)
    assert calls == steps == 2 * -(-N_ROWS // BATCH)
    np.testing.assert_array_equal(blocks, stepped)


def test_which_optimizers_are_plain_sgd():
    model = _model(torch.float64, 1, True)
    assert plain_sgd_lr(torch.optim.SGD(model.parameters(), lr=0.3), model) == 0.3
    two_groups = torch.optim.SGD([{"params": [model.weight]}, {"params": [model.bias]}], lr=0.3)
    assert plain_sgd_lr(two_groups, model) == 0.3

    class Mine(torch.optim.SGD):
        pass
    hooked = torch.optim.SGD(model.parameters(), lr=0.3)
    hooked.register_step_pre_hook(lambda *args: None)
    not_plain = [
        torch.optim.Adam(model.parameters(), lr=0.3),
        Mine(model.parameters(), lr=0.3),
        hooked,
        torch.optim.SGD([{"params": [model.weight], "lr": 0.1}, {"params": [model.bias]}], lr=0.3),
        torch.optim.SGD([model.weight], lr=0.3),
        torch.optim.SGD(model.parameters(), lr=torch.tensor(0.3)),
    ] + [torch.optim.SGD(model.parameters(), lr=0.3, **o) for o in NOT_PLAIN.values()]
    for optimizer in not_plain:
        assert plain_sgd_lr(optimizer, model) is None


def test_a_global_step_hook_turns_the_block_path_off():
    model = _model(torch.float64, 1, True)
    handle = register_optimizer_step_post_hook(lambda *args: None)
    try:
        assert plain_sgd_lr(torch.optim.SGD(model.parameters(), lr=0.3), model) is None
    finally:
        handle.remove()
    assert plain_sgd_lr(torch.optim.SGD(model.parameters(), lr=0.3), model) == 0.3


def test_diverging_steps_grow_and_overflow_as_torchs_do():
    """An unstable lr grows the parameters step by step as torch's steps do, to overflow."""
    x, y, _ = _block(640, 1, seed=2)
    for lr, finite in ((5.0, True), (1e60, False)):
        model = _model(torch.float64, 1, True)
        calls = _count_steps(optimizer := torch.optim.SGD(model.parameters(), lr=lr))
        assert minibatch.step_batches(model, optimizer, x, y, None, 32) == 20 and not calls
        by_hand = _hand_loop(_model(torch.float64, 1, True), lr, x, y, None, 32)
        if finite:
            assert np.abs(by_hand).max() > 1e10  # it did blow up
            np.testing.assert_allclose(_theta(model), by_hand, rtol=FLOAT64_RTOL)
        else:
            assert not np.isfinite(_theta(model)).any() and not np.isfinite(by_hand).any()


def test_huge_lr_in_minibatches_raises_divergence():
    X, y = _noise_free()
    with pytest.raises(tl.DivergenceError, match="diverged at step"):
        tl.fit(X, y, optimizer="sgd", lr=1e3, batch_size=32, epochs=5, seed=0)


def _noise_free(n=2000, seed=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)) * [1, 3, 0.5, 2, 10] + [5, 0, -2, 1, 50]
    return X, 2.0 - X @ [1.0, -0.5, 3.0, 0.25, 0.1]


@pytest.mark.parametrize("options", [{}, {"intercept": False}, {"weights": True}],
                         ids=["intercept", "no-intercept", "weighted"])
def test_minibatch_sgd_reaches_the_exact_fit(options):
    """Without noise every batch's gradient vanishes at the OLS fit, so SGD converges to it."""
    X, y = _noise_free()
    options = dict(options)
    if options.pop("weights", False):
        options["weights"] = np.random.default_rng(5).uniform(0.5, 1.5, len(y))
    if options.get("intercept") is False:
        y = y - 2.0
    fit = tl.fit(X, y, optimizer="sgd", lr=0.05, batch_size=32, epochs=200, seed=1, **options)
    exact = tl.ols(X, y, **options)
    assert fit.converged
    np.testing.assert_allclose(fit.coef, exact.coef, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fit.intercept, exact.intercept, atol=1e-8)


def test_resuming_plain_sgd_minibatches_equals_one_run(tmp_path):
    X, y = _noise_free()
    y = y + np.random.default_rng(6).standard_normal(len(y))
    options = dict(optimizer="sgd", lr=0.01, batch_size=50, seed=2, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        straight = tl.fit(X, y, epochs=6, **options)
        first = tl.fit(X, y, epochs=3, **options)
        second = tl.fit(X, y, resume=tl.load(first.save(tmp_path / "half.npz")), epochs=3)
    np.testing.assert_array_equal(second.coef, straight.coef)
    assert second.history.equals(straight.history)
    assert second.n_steps == straight.n_steps == 6 * 40
