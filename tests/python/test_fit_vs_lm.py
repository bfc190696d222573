"""Gradient-descent fits against R's ``lm()`` (through rpy2).

Tolerances, per quantity (relative error in every coefficient, the
intercept included, unless said otherwise):

* ``F64_RTOL = 1e-8``: the issue's target for float64 with default settings,
  and ``converged=True``.
* ``F32_RTOL = 1e-4``: the target for float32.
* Minibatches: see :func:`minibatch_floor`; an absolute bound on the
  standardized scale, since a constant step size leaves the iterate
  fluctuating around the least-squares solution.
"""
import warnings

import numpy as np
import pytest

import torchlinreg as tl
from conftest import FRUIT_X, ULTRA_X, frame, rel_err

F64_RTOL = 1e-8
F32_RTOL = 1e-4
DTYPE_RTOL = {"float64": F64_RTOL, "float32": F32_RTOL}

OPTIMIZERS = ["adagrad", "adam", "adamw", "lbfgs", "rmsprop", "sgd"]


def _fit(X, y, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("error", tl.ConvergenceWarning)
        return tl.fit(X, y, **options)


# ---------------------------------------------------------------- data sets

@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_ultra_winners_matches_lm(r_lm, ultra, dtype):
    fit = _fit(ultra[ULTRA_X], ultra["time_in_seconds"], dtype=dtype, seed=1)
    ref = r_lm("time_in_seconds ~ distance + elevation_gain + elevation_loss", ultra)
    assert fit.converged
    assert rel_err(fit.coefficients(), ref["coef"]) <= DTYPE_RTOL[dtype]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_ultra_winners_with_validation_matches_lm_on_training_rows(r_lm, ultra, dtype):
    fit = _fit(ultra[ULTRA_X], ultra["time_in_seconds"], validation=0.2, dtype=dtype, seed=3)
    assert len(fit.valid_index) == int(0.2 * len(ultra))
    assert len(fit.train_index) + len(fit.valid_index) == len(ultra)
    assert not set(fit.train_index) & set(fit.valid_index)
    ref = r_lm("time_in_seconds ~ distance + elevation_gain + elevation_loss",
               ultra.iloc[fit.train_index])
    assert fit.converged
    assert rel_err(fit.coefficients(), ref["coef"]) <= DTYPE_RTOL[dtype]
    assert np.isfinite(fit.history["val_loss"]).all()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fruit_two_outputs_match_lm_cbind(r_lm, dtype):
    fruit = tl.datasets.fruit()
    fit = _fit(fruit[FRUIT_X], fruit[["apples", "oranges"]], dtype=dtype, seed=1)
    ref = r_lm("cbind(apples, oranges) ~ temperature + rainfall + humidity", fruit)
    assert fit.coef.shape == (2, 3) and fit.intercept.shape == (2,)
    assert fit.output_names == ["apples", "oranges"]
    assert fit.converged
    assert rel_err(fit.coefficients(), ref["coef"]) <= DTYPE_RTOL[dtype]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_one_variable_matches_lm(r_lm, dtype):
    data = tl.datasets.one_variable()
    fit = _fit(data[["x"]], data["y"], dtype=dtype, seed=1)
    ref = r_lm("y ~ x", data)
    assert fit.converged
    assert rel_err(fit.coefficients(), ref["coef"]) <= DTYPE_RTOL[dtype]


# ------------------------------------------------- simulated, each optimizer

@pytest.fixture(scope="module")
def simulated():
    X, y, _ = tl.simulate(300, 4, noise=0.5, seed=11)
    return X, y


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_full_batch_optimizer_matches_lm(lm_check, simulated, optimizer, dtype):
    X, y = simulated
    fit = _fit(X, y, optimizer=optimizer, dtype=dtype, seed=1)
    ref = lm_check(X, y)
    assert fit.converged and fit.stop_reason == "converged"
    assert rel_err(fit.coefficients(), ref.coef) <= DTYPE_RTOL[dtype]


def test_lbfgs_default_reaches_the_float64_target_on_ill_conditioned_data(r_lm, ultra):
    # The elevation columns correlate at -0.997. torch's own L-BFGS stopping
    # rules used to end every step() at a gradient of 1e-5 of its start.
    fit = _fit(ultra[ULTRA_X], ultra["time_in_seconds"], optimizer="lbfgs", seed=1)
    ref = r_lm("time_in_seconds ~ distance + elevation_gain + elevation_loss", ultra)
    assert fit.converged and fit.n_iter <= 100
    assert rel_err(fit.coefficients(), ref["coef"]) <= F64_RTOL


# Minibatches: lr and batch size for each optimizer.
MINIBATCH = {
    "sgd": {"lr": 0.05},
    "adam": {"lr": 0.01},
    "adamw": {"lr": 0.01},
    "rmsprop": {"lr": 0.003},
    "adagrad": {},
}
BATCH, EPOCHS = 40, 50
FLOOR_SDS = 4.0


def minibatch_floor(optimizer, lr, sigma, batch, steps, alpha=0.9999):
    """Standard deviation of the stationary fluctuation of each standardized parameter.

    On standardized data the loss Hessian is about ``2 I`` and a minibatch
    gradient has noise variance about ``s² = 4 σ² / B`` per coordinate at
    the optimum (``σ``: residual standard deviation over ``sd(y)``).

    * SGD with a constant ``lr``: ``θ ← θ - lr (2 (θ - θ*) + ξ)`` has
      stationary variance ``lr σ² / (B (1 - lr))``.
    * Adam and AdamW divide the step by ``√v ≈ s``: SGD with learning
      rate ``lr / s``, so variance ``lr s / 4``.
    * RMSprop has no bias correction: after ``T`` steps ``v ≈ (1 - αᵀ) s²``,
      which with the default ``α = 0.9999`` and a few hundred steps is far
      below ``s²``, so its steps and its variance are ``1 / √(1 - αᵀ)`` times
      larger: ``lr s / (4 √(1 - αᵀ))``.
    * Adagrad divides by ``√(Σ g²) ≈ s √T`` after ``T`` steps: ``lr s / (4 √T)``.

    Sampling rows without replacement makes the real spread smaller (about
    0.6 of this for SGD, measured); the tests allow ``FLOOR_SDS`` = 4 of
    these standard deviations on the largest of the parameters (measured
    at most 2.3 over seeds, for Adam at lr=0.1).
    """
    if optimizer == "sgd":
        return sigma * np.sqrt(lr / (batch * (1 - lr)))
    s = 2 * sigma / np.sqrt(batch)
    if optimizer == "adagrad":
        return np.sqrt(lr * s / (4 * np.sqrt(steps)))
    if optimizer == "rmsprop":
        return np.sqrt(lr * s / (4 * np.sqrt(1 - alpha ** steps)))
    return np.sqrt(lr * s / 4)


@pytest.mark.parametrize("optimizer", sorted(MINIBATCH))
def test_minibatch_optimizer_is_within_its_noise_floor_of_lm(lm_check, simulated, optimizer):
    X, y = simulated
    fit = tl.fit(X, y, optimizer=optimizer, batch_size=BATCH, epochs=EPOCHS, seed=5,
                 **MINIBATCH[optimizer])
    ref = lm_check(X, y)
    n = len(y)
    assert fit.n_iter == EPOCHS and fit.n_steps == EPOCHS * int(np.ceil(n / BATCH))
    sd_x, sd_y = X.std(axis=0, ddof=1), y.std(ddof=1)
    sigma = ref.sigma[0] / sd_y
    # lm()'s coefficients on the standardized scale: slopes b sd(x)/sd(y), intercept 0.
    diff = np.concatenate([[(fit.intercept - ref.coef[0, 0]) / sd_y],
                           (fit.coef - ref.coef[0, 1:]) * sd_x / sd_y])
    floor = minibatch_floor(optimizer, fit.settings["lr"], sigma, BATCH, fit.n_steps,
                            fit.settings["optimizer_options"].get("alpha", 0.9999))
    assert np.abs(diff).max() <= FLOOR_SDS * floor
    # ...and the floor is well below the size of the coefficients: the test has teeth.
    assert FLOOR_SDS * floor < 0.2 * np.abs(ref.coef[0, 1:] * sd_x / sd_y).max()


def test_minibatch_sgd_floor_shrinks_with_the_learning_rate(lm_check, simulated):
    X, y = simulated
    ref = lm_check(X, y).coef[0, 1:]
    err = [np.abs(tl.fit(X, y, optimizer="sgd", lr=lr, batch_size=BATCH, epochs=EPOCHS, seed=5).coef
                  - ref).max() for lr in (0.1, 0.01)]
    assert err[1] < err[0] / 2  # the floor's standard deviation goes with sqrt(lr)


def test_lbfgs_refuses_minibatches(simulated):
    X, y = simulated
    with pytest.raises(tl.OptionError, match="L-BFGS needs the full batch"):
        tl.fit(X, y, optimizer="lbfgs", batch_size=10)


# ------------------------------------------------ variants of the model

@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_no_intercept_matches_lm_minus_one(r_lm, rng, dtype):
    X = rng.normal(2.0, 1.5, size=(80, 2))
    y = X @ [1.5, -0.7] + rng.normal(0, 0.3, 80)
    fit = _fit(X, y, intercept=False, dtype=dtype, seed=1)
    ref = r_lm("y ~ x1 + x2 - 1", frame(X, y))
    assert ref["terms"] == ["x1", "x2"]
    assert fit.intercept == 0.0 and fit.term_names == ["x1", "x2"]
    assert fit.converged
    assert rel_err(fit.coefficients(), ref["coef"]) <= DTYPE_RTOL[dtype]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_weights_match_lm_weights(r_lm, rng, dtype):
    X = rng.normal(size=(60, 3)) * [1, 10, 100]
    y = 4 + X @ [0.5, -0.2, 0.03] + rng.normal(0, 1, 60)
    w = rng.uniform(0.2, 3.0, 60)
    fit = _fit(X, y, weights=w, dtype=dtype, seed=1)
    ref = r_lm("y ~ x1 + x2 + x3", frame(X, y), weights=w)
    unweighted = r_lm("y ~ x1 + x2 + x3", frame(X, y))
    assert fit.converged
    assert rel_err(fit.coefficients(), ref["coef"]) <= DTYPE_RTOL[dtype]
    assert rel_err(unweighted["coef"], ref["coef"]) > 1e-3  # the weights matter


def test_rank_deficient_design_is_nan_exactly_where_lm_is_na(r_lm, rng):
    X = rng.normal(size=(50, 4))
    X = np.column_stack([X[:, 0], X[:, 1], X[:, 0] + 2 * X[:, 1], X[:, 2], 3 * X[:, 3], X[:, 3]])
    y = 1 + X[:, 0] - X[:, 3] + rng.normal(0, 0.5, 50)
    fit = _fit(X, y, seed=1)
    ref = r_lm("y ~ x1 + x2 + x3 + x4 + x5 + x6", frame(X, y))
    np.testing.assert_array_equal(np.isnan(fit.coef), np.isnan(ref["coef"][0, 1:]))
    np.testing.assert_array_equal(fit.aliased, [False, False, True, False, False, True])
    assert fit.converged
    assert rel_err(fit.coefficients(), ref["coef"]) <= F64_RTOL
    assert "x3" not in fit.history.columns and "x6" not in fit.history.columns


def test_lm_check_agrees_with_a_formula_fit(lm_check, r_lm):
    fruit = tl.datasets.fruit()
    mine = lm_check(fruit[FRUIT_X], fruit[["apples", "oranges"]])
    ref = r_lm("cbind(apples, oranges) ~ temperature + rainfall + humidity", fruit)
    np.testing.assert_allclose(mine.coef, ref["coef"], rtol=1e-12)
    np.testing.assert_allclose(mine.std_error, ref["se"], rtol=1e-12)
    assert mine.term_names == ref["terms"]
    assert mine.output_names == ["apples", "oranges"]
