"""engine/model.py: the tutorials' model ``X @ W.T + b`` as one parameter ``[b | W]``,
its initial values and the conversion of older two-parameter optimizer states."""
import copy

import numpy as np
import pytest
import torch

from torchlinreg.engine.loss import squared_error_by_output
from torchlinreg.engine.model import LinearModel, initial_parameters


def test_forward_is_matrix_multiply_plus_bias(rng):
    X = torch.as_tensor(rng.normal(size=(6, 3)))
    W, b = torch.as_tensor(rng.normal(size=(2, 3))), torch.as_tensor(rng.normal(size=2))
    out = LinearModel(W.clone(), b.clone())(X)
    assert out.shape == (6, 2)
    np.testing.assert_allclose(out.detach(), X.numpy() @ W.numpy().T + b.numpy(), rtol=1e-14)


def test_model_without_bias(rng):
    X = torch.as_tensor(rng.normal(size=(6, 3)))
    model = LinearModel(torch.ones(1, 3, dtype=torch.float64))
    assert model.bias is None
    np.testing.assert_allclose(model(X).detach()[:, 0], X.sum(1), rtol=1e-14)


def test_flat_parameters_put_the_bias_first():
    model = LinearModel(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([5.0, 6.0]))
    assert model.flat_parameters().tolist() == [5.0, 6.0, 1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("init", ["zeros", "uniform"])
def test_initial_parameters(init):
    g = torch.Generator().manual_seed(0)
    W, b = initial_parameters(init, 2, 4, True, torch.float64, g)
    assert W.shape == (2, 4) and b.shape == (2,) and W.dtype == torch.float64
    if init == "zeros":
        assert torch.all(W == 0) and torch.all(b == 0)
    else:
        assert torch.all(W.abs() <= 0.5) and W.abs().sum() > 0
    assert initial_parameters(init, 2, 4, False, torch.float64, g)[1] is None


def test_one_parameter_holds_bias_and_weight_and_autograd_fills_its_grad(rng):
    X = torch.as_tensor(rng.normal(size=(9, 3)))
    Y = torch.as_tensor(rng.normal(size=(9, 2)))
    W, b = torch.as_tensor(rng.normal(size=(2, 3))), torch.as_tensor(rng.normal(size=2))
    model = LinearModel(W.clone(), b.clone())
    assert [p.shape for p in model.parameters()] == [(2, 4)]
    assert torch.equal(model.theta.detach(), torch.cat([b[:, None], W], 1))
    squared_error_by_output(model(X), Y).mean().backward()
    # The closed form of the mean over outputs of each output's MSE: 2/(n k) Rᵀ [1, X].
    residual = X.numpy() @ W.numpy().T + b.numpy() - Y.numpy()
    design = np.column_stack([np.ones(9), X.numpy()])
    np.testing.assert_allclose(model.theta.grad, 2 / (9 * 2) * residual.T @ design, rtol=1e-12)
    with torch.no_grad():
        model.bias.copy_(torch.tensor([7.0, 8.0]))  # the views write through
    assert model.theta[:, 0].tolist() == [7.0, 8.0]


@pytest.mark.parametrize("name, options", [("adam", {"foreach": False}), ("rmsprop", {}),
                                           ("sgd", {"momentum": 0.9})])
def test_a_two_parameter_optimizer_state_goes_on_bit_for_bit_as_one(rng, name, options):
    """Files written before theta hold the state of two parameters (weight, then bias);
    resuming converts it, and elementwise optimizers then take exactly the same steps."""
    from torchlinreg.engine.model import one_tensor_state
    from torchlinreg.engine.optimizers import OPTIMIZERS
    W, b = torch.as_tensor(rng.normal(size=(2, 3))), torch.as_tensor(rng.normal(size=2))
    G = [torch.as_tensor(rng.normal(size=(2, 4))) for _ in range(8)]
    weight, bias = W.clone().requires_grad_(), b.clone().requires_grad_()
    old = OPTIMIZERS[name]([weight, bias], lr=0.01, **options)
    for g in G[:4]:
        bias.grad, weight.grad = g[:, 0].clone(), g[:, 1:].clone()
        old.step()
    model = LinearModel(weight.detach().clone(), bias.detach().clone())
    new = OPTIMIZERS[name](model.parameters(), lr=0.01, **options)
    new.load_state_dict(one_tensor_state(copy.deepcopy(old.state_dict()), 2, True))
    for g in G[4:]:
        bias.grad, weight.grad = g[:, 0].clone(), g[:, 1:].clone()
        old.step()
        model.theta.grad = g.clone()
        new.step()
    assert torch.equal(model.theta.detach(), torch.cat([bias.detach()[:, None], weight.detach()], 1))


def test_a_two_parameter_lbfgs_state_is_permuted_to_theta(rng):
    from torchlinreg.engine.model import one_tensor_state
    A = torch.as_tensor(rng.normal(size=(20, 4)))
    Y = torch.as_tensor(rng.normal(size=(20, 2)))
    weight = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(2, dtype=torch.float64, requires_grad=True)

    def loss(w, b):
        return ((A[:, 1:] @ w.T + b - Y) ** 2).mean()

    def closure_for(w, b, parameters):
        def closure():
            for p in parameters:
                p.grad = None
            value = loss(w, b)
            value.backward()
            return value
        return closure

    old = torch.optim.LBFGS([weight, bias], max_iter=1, line_search_fn=None)
    for _ in range(3):
        old.step(closure_for(weight, bias, [weight, bias]))
    model = LinearModel(weight.detach().clone(), bias.detach().clone())
    new = torch.optim.LBFGS(model.parameters(), max_iter=1, line_search_fn=None)
    new.load_state_dict(one_tensor_state(copy.deepcopy(old.state_dict()), 2, True))
    for _ in range(3):
        old.step(closure_for(weight, bias, [weight, bias]))
        new.step(closure_for(model.weight, model.bias, [model.theta]))
    np.testing.assert_allclose(model.theta.detach(),
                               torch.cat([bias.detach()[:, None], weight.detach()], 1), rtol=1e-12)
