"""engine/products.py: the fit path's matrix products, through numpy on the CPU."""
import numpy as np
import torch

from torchlinreg.engine.products import matmul


def test_matmul_is_the_product_to_rounding_and_a_new_tensor(rng):
    a, b = torch.as_tensor(rng.normal(size=(3, 7))), torch.as_tensor(rng.normal(size=(7, 5)))
    out = matmul(a, b)
    assert isinstance(out, torch.Tensor) and out.shape == (3, 5) and out.dtype == torch.float64
    np.testing.assert_allclose(out, a.numpy() @ b.numpy(), rtol=0, atol=0)
    np.testing.assert_allclose(out, a @ b, rtol=1e-14)


def test_matmul_of_batches_and_vectors(rng):
    weight = torch.as_tensor(rng.normal(size=(4, 2, 6)))
    center = torch.as_tensor(rng.normal(size=6))
    np.testing.assert_allclose(matmul(weight, center), weight @ center, rtol=1e-14)


def test_tensors_that_need_gradients_keep_torch_s_product(rng):
    a = torch.as_tensor(rng.normal(size=(2, 3))).requires_grad_()
    out = matmul(a, torch.eye(3, dtype=torch.float64))
    out.sum().backward()
    assert a.grad is not None
