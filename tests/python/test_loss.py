"""engine/loss.py: the mean squared error of each output, with shapes checked, not broadcast."""
import numpy as np
import pytest
import torch

import torchlinreg as tl
from torchlinreg.engine.loss import squared_error_by_output


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
