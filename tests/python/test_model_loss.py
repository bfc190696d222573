"""The tutorials' model ``X @ W.T + b`` and the mean squared error."""
import numpy as np
import pytest
import torch

import torchlinreg as tl
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


def test_squared_error_is_the_mean_over_all_elements(rng):
    pred, target = torch.as_tensor(rng.normal(size=(7, 2))), torch.as_tensor(rng.normal(size=(7, 2)))
    by_output = squared_error_by_output(pred, target)
    np.testing.assert_allclose(by_output, ((pred - target) ** 2).numpy().mean(axis=0), rtol=1e-14)


def test_weighted_squared_error(rng):
    pred, target = torch.as_tensor(rng.normal(size=(5, 1))), torch.as_tensor(rng.normal(size=(5, 1)))
    w = torch.as_tensor(rng.uniform(0.1, 2, 5))
    expected = np.sum(w.numpy() * (pred - target).numpy()[:, 0] ** 2) / w.sum().item()
    assert float(squared_error_by_output(pred, target, w)[0]) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("pred_shape, target_shape", [((5, 1), (5,)), ((5,), (5, 1)), ((5, 2), (5, 1))])
def test_shapes_must_match_exactly(pred_shape, target_shape):
    with pytest.raises(tl.ShapeError, match="they must match exactly"):
        squared_error_by_output(torch.zeros(pred_shape), torch.zeros(target_shape))
