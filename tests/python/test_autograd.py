"""engine/autograd.py: the tutorials' objective, losses and gradients by backward() over the
rows, against the closed-form gradient in numpy and a hand loop of minibatch SGD steps; and the
standardized (and QR-rotated) rows it is given."""
import numpy as np
import pytest
import torch

from torchlinreg.engine.autograd import AutogradObjective, _autograd_splits
from torchlinreg.engine.model import LinearModel
from torchlinreg.engine.settings import make_settings
from torchlinreg.engine.training import Schedule


@pytest.fixture
def rows(rng):
    X = rng.normal(size=(50, 3))
    Y = np.column_stack([X @ [1.0, -1, 2] + 0.5, X @ [0.0, 3, 1]]) + rng.normal(size=(50, 2))
    return X, Y, rng.uniform(0.5, 2, 50)


THETA = np.array([[0.1, 0.2, -0.3, 0.4], [0.0, 1.0, 0.5, -0.5]])


def model_at(theta):
    theta = torch.as_tensor(theta)
    return LinearModel(theta[:, 1:].clone(), theta[:, 0].clone())


def closed_form(X, Y, w, theta):
    """Each output's weighted MSE and the gradient of their mean, ``2/(k Σw) Rᵀ W [1, X]``."""
    A = np.column_stack([np.ones(len(X)), X])
    R = A @ theta.T - Y
    return w @ R ** 2 / w.sum(), 2 / (theta.shape[0] * w.sum()) * (R * w[:, None]).T @ A


@pytest.mark.parametrize("weighted", [False, True])
def test_loss_and_gradient_are_the_closed_form(rows, weighted):
    X, Y, w = rows
    w = w if weighted else None
    objective = AutogradObjective(torch.as_tensor(X), torch.as_tensor(Y),
                                  None if w is None else torch.as_tensor(w))
    loss, gradient = closed_form(X, Y, np.ones(50) if w is None else w, THETA)
    model = model_at(THETA)
    np.testing.assert_allclose(objective.loss(model), loss, rtol=1e-13)
    assert model.theta.grad is None  # loss() builds no graph
    for _ in range(2):  # the gradient is set afresh, not accumulated
        np.testing.assert_allclose(objective.loss_and_gradient(model), loss, rtol=1e-13)
        np.testing.assert_allclose(model.theta.grad, gradient, rtol=1e-12)
    assert float(objective.closure(model)()) == pytest.approx(loss.mean(), rel=1e-13)
    assert objective.n_rows == 50


def test_a_minibatch_epoch_is_sgd_on_slices_of_a_seeded_permutation(rows):
    X, Y, w = rows
    objective = AutogradObjective(torch.as_tensor(X), torch.as_tensor(Y), torch.as_tensor(w))
    model = model_at(THETA)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    schedule = Schedule(1, 0.0, 16, True, torch.Generator().manual_seed(4))
    assert objective.minibatch_epoch(model, optimizer, schedule) == 4  # 16, 16, 16, 2 rows
    theta = THETA.copy()
    for batch in torch.randperm(50, generator=torch.Generator().manual_seed(4)).split(16):
        i = batch.numpy()
        theta = theta - 0.05 * closed_form(X[i], Y[i], w[i], theta)[1]
    np.testing.assert_allclose(model.theta.detach(), theta, rtol=1e-12)


def test_an_epoch_stops_at_the_first_batch_whose_loss_is_not_finite(rows):
    X, Y, _ = rows
    objective = AutogradObjective(torch.as_tensor(X) * 1e200, torch.as_tensor(Y))
    model = model_at(THETA)
    schedule = Schedule(1, 0.0, 10, False, torch.Generator())
    steps = objective.minibatch_epoch(model, torch.optim.SGD(model.parameters(), lr=1.0),
                                      schedule)
    assert steps == 1


@pytest.mark.parametrize("precondition", ["standardize", "qr"])
def test_the_splits_are_the_standardized_rows_without_the_aliased_column(rows, precondition):
    X, Y, w = rows
    X = np.column_stack([X, X[:, 0] - X[:, 1]])
    Xt, Yt, wt = torch.as_tensor(X), torch.as_tensor(Y), torch.as_tensor(w)
    settings = make_settings(seed=1, precondition=precondition)
    scaler, train, valid, aliased = _autograd_splits(Xt, Yt, wt, (Xt[:10], Yt[:10], None),
                                                     settings)
    assert aliased.tolist() == [False, False, False, True]
    mean = w @ X[:, :3] / w.sum()
    sd = np.sqrt(w @ (X[:, :3] - mean) ** 2 / w.sum() * 50 / 49)
    np.testing.assert_allclose(scaler.x_center, mean, rtol=1e-13)
    np.testing.assert_allclose(scaler.x_scale, sd, rtol=1e-13)
    Z = (X[:, :3] - mean) / sd
    if precondition == "qr":  # rotated so that the weighted Gram matrix is the identity
        gram = (train.X.numpy() * w[:, None]).T @ train.X.numpy() / w.sum()
        np.testing.assert_allclose(gram, np.eye(3), atol=1e-12)
        Z = Z @ scaler.rotation.numpy()
    np.testing.assert_allclose(train.X, Z, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(train.Y, (Y - scaler.y_center.numpy()) / scaler.y_scale.numpy(),
                               rtol=1e-13)
    assert valid.n_rows == 10 and valid.weights is None
    np.testing.assert_allclose(valid.X, Z[:10], rtol=1e-12, atol=1e-14)
