"""scale/distributed.py, the parts that run without a process group (test_distributed.py
launches torchrun for the rest): dealing files to ranks, regrouping blocks of rows into the
global batch's shares, the minibatch gradient from summed residual products (in a world of
one process, whose all-reduce is the identity) against the closed form, and the launcher's
arguments."""
import numpy as np
import pytest
import torch

from torchlinreg.engine.model import LinearModel
from torchlinreg.errors import OptionError
from torchlinreg.scale.distributed import _cut, _parser, _set_reduced_gradient, files_for_rank


def test_files_are_dealt_round_robin_from_the_sorted_list(tmp_path):
    for i in range(5):
        (tmp_path / f"part{i}.parquet").write_text("")
    names = lambda files: [f.rsplit("/", 1)[-1] for f in files]  # noqa: E731
    assert names(files_for_rank(tmp_path, 0, 2)) == ["part0.parquet", "part2.parquet",
                                                     "part4.parquet"]
    assert names(files_for_rank(tmp_path, 1, 2)) == ["part1.parquet", "part3.parquet"]
    assert names(files_for_rank(str(tmp_path / "part*"), 4, 5)) == ["part4.parquet"]
    with pytest.raises(OptionError, match="5 files for 6 processes"):
        files_for_rank(tmp_path, 0, 6)


def test_blocks_are_regrouped_into_batches_of_the_given_sizes(rng):
    X, y = rng.normal(size=(10, 2)), rng.normal(size=(10, 1))
    blocks = [(torch.as_tensor(X[a:b]), torch.as_tensor(y[a:b]), None)
              for a, b in ((0, 3), (3, 8), (8, 10))]
    batches = list(_cut(iter(blocks), [4, 0, 5, 1]))
    assert [b[0].shape[0] for b in batches] == [4, 0, 5, 1]
    np.testing.assert_array_equal(torch.cat([b[0] for b in batches]), X)
    np.testing.assert_array_equal(torch.cat([b[1] for b in batches]), y)
    assert all(b[2] is None for b in batches)
    assert list(_cut(iter([]), [0])) == [(None, None, None)]  # a rank with no rows this step


class OneProcess:
    """The all-reduce of a world of one process: the sums as they are."""

    def sum(self, tensor):
        return tensor


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("intercept", [True, False])
def test_the_batch_gradient_is_the_closed_form(rng, weighted, intercept):
    X, Y = rng.normal(size=(12, 3)), rng.normal(size=(12, 2))
    w = rng.uniform(0.5, 2, 12) if weighted else np.ones(12)
    theta = rng.normal(size=(2, 4)) if intercept else rng.normal(size=(2, 3))
    model = LinearModel(torch.as_tensor(theta[:, int(intercept):]).clone(),
                        torch.as_tensor(theta[:, 0]).clone() if intercept else None)
    with torch.no_grad():  # as the minibatch epoch calls it
        _set_reduced_gradient(model, torch.as_tensor(X), torch.as_tensor(Y),
                              torch.as_tensor(w) if weighted else None, OneProcess())
    A = np.column_stack([np.ones(12), X]) if intercept else X
    residual = A @ theta.T - Y
    np.testing.assert_allclose(model.theta.grad, 2 / (2 * w.sum()) * (residual * w[:, None]).T @ A,
                               rtol=1e-12)


def test_the_launchers_arguments():
    args = _parser().parse_args(["a.parquet", "dir", "--response", "y1", "y2", "--batch-size",
                                 "32", "--no-shuffle", "--precondition", "standardize"])
    assert args.paths == ["a.parquet", "dir"] and args.response == ["y1", "y2"]
    assert (args.batch_size, args.no_shuffle, args.precondition, args.device) == \
        (32, True, "standardize", "cpu")
    with pytest.raises(SystemExit):
        _parser().parse_args(["a.parquet"])  # --response is required
