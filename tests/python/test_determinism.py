"""Same data and seed give bit-identical results; the seed is always recorded."""
import numpy as np
import pytest

import torchlinreg as tl

CASES = {
    "full_batch": {},
    "validation": {"validation": 0.25},
    "minibatch": {"batch_size": 16, "epochs": 5, "validation": 0.25},
    "uniform_init": {"init": "uniform", "epochs": 50, "tol": 0},
}


@pytest.fixture
def xy(rng):
    X = rng.normal(size=(120, 3))
    return X, X @ [1.0, 0.5, -2.0] + 3 + rng.normal(0, 0.3, 120)


def _same_bytes(a, b):
    assert a.coef.tobytes() == b.coef.tobytes()
    assert np.float64(a.intercept).tobytes() == np.float64(b.intercept).tobytes()
    assert a.history.to_numpy().tobytes() == b.history.to_numpy().tobytes()
    assert list(a.history.columns) == list(b.history.columns)
    assert a.train_index.tobytes() == b.train_index.tobytes()
    assert a.valid_index.tobytes() == b.valid_index.tobytes()


@pytest.mark.filterwarnings("ignore::torchlinreg.ConvergenceWarning")
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_seed_gives_identical_bytes(xy, case):
    X, y = xy
    _same_bytes(tl.fit(X, y, seed=42, **CASES[case]), tl.fit(X, y, seed=42, **CASES[case]))


def test_different_seeds_give_different_splits(xy):
    X, y = xy
    a, b = (tl.fit(X, y, seed=s, validation=0.25) for s in (1, 2))
    assert not np.array_equal(a.valid_index, b.valid_index)
    assert a.coef.tobytes() != b.coef.tobytes()


def test_different_seeds_give_different_minibatches(xy):
    X, y = xy
    a, b = (tl.fit(X, y, seed=s, batch_size=16, epochs=3) for s in (1, 2))
    assert a.history.to_numpy().tobytes() != b.history.to_numpy().tobytes()


def test_unshuffled_minibatches_do_not_depend_on_the_seed(xy):
    X, y = xy
    a, b = (tl.fit(X, y, seed=s, batch_size=16, epochs=3, shuffle=False) for s in (1, 2))
    assert a.coef.tobytes() == b.coef.tobytes()


def test_a_fit_without_seed_records_one_that_reproduces_it(xy):
    X, y = xy
    options = {"batch_size": 16, "epochs": 4, "validation": 0.2}
    first = tl.fit(X, y, **options)
    seed = first.settings["seed"]
    assert isinstance(seed, int) and seed >= 0
    _same_bytes(first, tl.fit(X, y, seed=seed, **options))


@pytest.mark.filterwarnings("ignore::torchlinreg.ConvergenceWarning")
def test_fresh_seeds_differ(xy):
    X, y = xy
    seeds = {tl.fit(X, y, epochs=1, tol=0).settings["seed"] for _ in range(3)}
    assert len(seeds) == 3
