"""engine/objective.py: the full-batch objective from the moments (GramObjective) against the
autograd objective on the same standardized rows, build_objectives and quadratics (aliased
columns, the QR preconditioner's identity Hessian), and optimum_gap against R²."""
import numpy as np
import pytest
import torch

from torchlinreg.engine.autograd import AutogradObjective
from torchlinreg.engine.loss import mean_loss
from torchlinreg.engine.model import LinearModel
from torchlinreg.engine.moments import moments
from torchlinreg.engine.objective import build_objectives, optimum_gap, quadratics
from torchlinreg.engine.preconditioning import root_of_rows
from torchlinreg.engine.training import Schedule


@pytest.fixture
def rows(rng):
    X = rng.normal(size=(120, 3)) * [3, 0.5, 20] + [10, 0, -40]
    Y = np.column_stack([X @ [1.0, -2, 0.1] + 5, X @ [0.0, 1, 0.3]]) + rng.normal(size=(120, 2))
    return torch.as_tensor(X), torch.as_tensor(Y), torch.as_tensor(rng.uniform(0.5, 2, 120))


def model_at(theta, dtype=torch.float64):
    theta = torch.as_tensor(theta, dtype=dtype)
    return LinearModel(theta[:, 1:].clone(), theta[:, 0].clone())


THETA = [[0.2, 0.5, -0.3, 0.1], [-0.4, 0.0, 0.7, 0.2]]


def both_objectives(rows, precondition="standardize"):
    X, Y, w = rows
    scaler, gram, _, aliased = build_objectives(X, Y, w, None, True, precondition)
    assert not aliased.any()
    return gram, AutogradObjective(scaler.transform_x(X), scaler.transform_y(Y), w), scaler


@pytest.mark.parametrize("precondition", ["standardize", "qr"])
def test_loss_and_gradient_are_the_autograd_objectives_on_the_same_rows(rows, precondition):
    gram, autograd, _ = both_objectives(rows, precondition)
    at_gram, at_autograd = model_at(THETA), model_at(THETA)
    np.testing.assert_allclose(gram.loss(at_gram), autograd.loss(at_autograd), rtol=1e-12)
    loss = gram.loss_and_gradient(at_gram)
    np.testing.assert_allclose(loss, autograd.loss_and_gradient(at_autograd), rtol=1e-12)
    np.testing.assert_allclose(at_gram.theta.grad, at_autograd.theta.grad, rtol=1e-10, atol=1e-13)
    assert gram.gradient_norm(at_gram) == pytest.approx(float(at_autograd.theta.grad.norm()),
                                                        rel=1e-10)
    assert gram.n_rows == autograd.n_rows == 120


def test_the_closure_is_the_mean_loss_with_its_gradient_written(rows):
    gram, autograd, _ = both_objectives(rows)
    model, reference = model_at(THETA), model_at(THETA)
    value = gram.closure(model)()
    assert float(value) == pytest.approx(float(autograd.closure(reference)()), rel=1e-12)
    np.testing.assert_allclose(model.theta.grad, reference.theta.grad, rtol=1e-10, atol=1e-13)


def test_numpys_evaluation_and_the_quadratics_torch_one_agree(rows):
    """On the CPU the steps use numpy on the parameter's memory; the Quadratic's torch
    methods (other devices) give the same gradient, and the loss to the order of a sum."""
    gram, _, _ = both_objectives(rows)
    model = model_at(THETA)
    loss = gram.loss_and_gradient(model)
    grad = model.theta.grad.clone()
    gram._numpy = None  # the path a GPU takes
    other = model_at(THETA)
    np.testing.assert_allclose(gram.loss_and_gradient(other), loss, rtol=1e-14)
    assert torch.equal(other.theta.grad, grad)
    assert gram.gradient_norm(other) == pytest.approx(gram.gradient_norm(model), rel=1e-15)


def test_a_float32_model_gets_a_float32_gradient_of_the_float64_loss(rows):
    gram, _, _ = both_objectives(rows)
    single, double = model_at(THETA, torch.float32), model_at(np.float32(THETA).astype(float))
    np.testing.assert_allclose(gram.loss_and_gradient(single), gram.loss_and_gradient(double),
                               rtol=1e-14)
    assert single.theta.grad.dtype == torch.float32
    np.testing.assert_allclose(single.theta.grad, double.theta.grad, rtol=1e-6)


def test_an_aliased_column_is_left_out_of_the_objective_and_reported(rows):
    X, Y, w = rows
    X = torch.cat([X, (X[:, :1] - 2 * X[:, 2:])], 1)
    scaler, train, valid, aliased = build_objectives(X, Y, w, (X[:30], Y[:30], None), True,
                                                     "standardize")
    assert aliased.tolist() == [False, False, False, True]
    assert train.quadratic.gram.shape == (4, 4) and scaler.x_center.shape == (3,)
    at = model_at(THETA)
    autograd = AutogradObjective(scaler.transform_x(X[:30, :3]), scaler.transform_y(Y[:30]))
    np.testing.assert_allclose(valid.loss(at), autograd.loss(at), rtol=1e-12)
    assert valid.n_rows == 30


@pytest.mark.parametrize("ill_conditioned", [False, True])
def test_qr_preconditioning_makes_the_training_hessian_the_identity(rows, ill_conditioned):
    """A well-conditioned design takes its factor from the moments (no pass over the
    rows); x₂ = x₁ + 1e-4 z (condition number about 1e5) from the rows' QR."""
    X, Y, w = rows
    if ill_conditioned:
        X = X.clone()
        X[:, 1] = X[:, 0] + 1e-4 * X[:, 1]
    mom = moments(X, Y, w)
    _, plain, _, _ = quadratics(mom, None, True, "standardize", torch.float64)
    passes = []

    def root_of():
        passes.append(1)
        return root_of_rows(X, Y, w)
    scaler, train, _, _ = quadratics(mom, None, True, "qr", torch.float64, root_of=root_of)
    assert (torch.linalg.cond(plain.gram) > 1e4) == ill_conditioned == bool(passes)
    torch.testing.assert_close(train.gram, torch.eye(4, dtype=torch.float64), rtol=0, atol=1e-10)
    assert scaler.rotation.shape == (3, 3)  # it rotates the standardized slopes


@pytest.mark.parametrize("precondition", ["standardize", "none"])
def test_optimum_gap_is_zero_at_the_minimum_and_r_squared_at_the_best_constant(rows, precondition):
    """Scale-free: on the standardized rows the best constant is 0, on the raw rows ȳ."""
    X, Y, w = rows
    gram, autograd, scaler = both_objectives(rows, precondition)
    best = torch.linalg.solve(gram.quadratic.gram, gram.quadratic.cross.T).T
    for objective in (gram, autograd):
        assert abs(optimum_gap(objective, model_at(best))) < 1e-12
    A = np.column_stack([np.ones(120), X.numpy()])
    root = np.sqrt(w.numpy())[:, None]
    coef = np.linalg.lstsq(A * root, Y.numpy() * root, rcond=None)[0]
    rss = w.numpy() @ (Y.numpy() - A @ coef) ** 2
    tss = w.numpy() @ (Y.numpy() - w.numpy() @ Y.numpy() / w.sum().item()) ** 2
    mean = w @ scaler.transform_y(Y) / w.sum()
    constant = model_at(np.column_stack([mean.numpy(), np.zeros((2, 3))]))
    for objective in (gram, autograd):
        assert optimum_gap(objective, constant) == pytest.approx(max(1 - rss / tss), rel=1e-9)


def test_optimum_gap_is_nan_where_the_minimum_cannot_be_solved_for():
    X = torch.ones(10, 1, dtype=torch.float64)
    objective = AutogradObjective(X, torch.arange(10.0, dtype=torch.float64)[:, None])
    model = LinearModel(torch.zeros(1, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64))
    assert np.isnan(optimum_gap(objective, model))


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_one_minibatch_of_every_row_is_one_full_batch_step(rows, optimizer):
    gram, _, _ = both_objectives(rows)
    make = {"sgd": lambda p: torch.optim.SGD(p, lr=0.1),
            "adam": lambda p: torch.optim.Adam(p, lr=0.1, foreach=False)}[optimizer]
    batched, full = model_at(THETA), model_at(THETA)
    schedule = Schedule(max_epochs=1, tol=0, batch_size=120, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    assert gram.minibatch_epoch(batched, make(batched.parameters()), schedule) == 1
    gram.loss_and_gradient(full)
    make(full.parameters()).step()
    np.testing.assert_allclose(batched.theta.detach(), full.theta.detach(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("outputs", [1, 2])
@pytest.mark.parametrize("held_out", [False, True])
def test_the_loops_point_reader_gives_the_methods_numbers_bit_for_bit(rows, outputs, held_out):
    """The loop's reader (arrays bound once, one output read apart) computes what
    loss_and_gradient, gradient_norm and the validation objective's loss give: the same
    floats and the same gradient, also after the parameter is updated in place."""
    X, Y, w = rows
    Y = Y[:, :outputs]
    valid = (X[:40], Y[:40], None) if held_out else None
    _, train, valid, _ = build_objectives(X[40:], Y[40:], w[40:], valid, True, "standardize")
    scale = np.array([2.5, 0.75][:outputs])
    model, reference = model_at(np.array(THETA)[:outputs]), model_at(np.array(THETA)[:outputs])
    read = train.point_reader(model, valid, scale)
    for step in range(3):
        loss, val_loss, norm = read()
        assert loss == mean_loss(train.loss_and_gradient(reference), scale)
        assert torch.equal(model.theta.grad, reference.theta.grad)
        assert norm == train.gradient_norm(reference)
        if held_out:
            assert val_loss == mean_loss(valid.loss(reference), scale)
        else:
            assert np.isnan(val_loss)
        with torch.no_grad():
            for theta in (model.theta, reference.theta):
                theta.sub_(0.1 * theta.grad)
