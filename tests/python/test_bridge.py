"""The reticulate bridge: plain values in and out, R's conventions, typed errors."""
import numpy as np
import pandas as pd
import pytest

from torchlinreg import datasets, fit, ols
from torchlinreg.interop import bridge
from torchlinreg.interop.compare import COLUMNS, compare_lm


@pytest.fixture
def cars_like():
    rng = np.random.default_rng(0)
    x = rng.uniform(4, 25, size=(50, 2))
    y = 3 * x[:, 0] - x[:, 1] + rng.normal(size=50)
    return np.asfortranarray(x), y


def _plain(value):
    """Only numpy arrays, numbers, strings, lists and dicts cross to R."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (np.ndarray, np.generic, int, float, str, bool))


def test_torch_lm_fit_returns_plain_values_matching_ols(cars_like):
    x, y = cars_like
    out = bridge.torch_lm_fit(x, y, names=["a", "b"], seed=1.0, epochs=5000.0)
    # the LinearFit itself is the one object R keeps (for resume= and save_fit)
    assert type(out.pop("python_fit")).__name__ == "LinearFit"
    assert _plain(out)
    assert out["term_names"] == ["(Intercept)", "a", "b"]
    exact = ols(x, y)
    np.testing.assert_allclose(out["coefficients"][0], [exact.intercept, *exact.coef], rtol=1e-8)
    np.testing.assert_allclose(out["fitted_values"][:, 0] + out["residuals"][:, 0], y)
    assert out["convergence"]["converged"] and out["convergence"]["stop_reason"] == "converged"
    assert set(out["history"]) >= {"step", "loss", "val_loss", "(Intercept)", "a", "b"}
    inf = out["inference"]
    assert inf["df_residual"] == 47 and inf["rank"] == 3
    assert inf["cov_unscaled"].shape == (3, 3) and inf["vcov"].shape == (1, 3, 3)


def test_same_numbers_as_fit(cars_like):
    x, y = cars_like
    out = bridge.torch_lm_fit(x, y, seed=3)
    direct = fit(x, y, seed=3)
    np.testing.assert_array_equal(out["coefficients"], direct.coefficients())
    np.testing.assert_array_equal(out["inference"]["std_error"], direct.inference.std_error)


def test_r_doubles_where_integers_are_meant(cars_like):
    x, y = cars_like
    out = bridge.torch_lm_fit(x, y, seed=2.0, epochs=20.0, batch_size=10.0, tol=0)
    assert out["settings"]["batch_size"] == 10 and out["settings"]["seed"] == 2
    assert out["convergence"]["n_steps"] == 20 * 5
    with pytest.raises(ValueError, match="whole number"):
        bridge.torch_lm_fit(x, y, epochs=2.5)


def test_a_seed_beyond_r_s_integers_crosses_as_its_digits_and_comes_back(cars_like):
    x, y = cars_like
    big = 2 ** 62 + 5  # a 63-bit seed, as fit() draws: R's integers would wrap it
    out = bridge.torch_lm_fit(x, y, seed=big, batch_size=10, epochs=3, tol=0)
    assert out["settings"]["seed"] == "4611686018427387909"
    again = bridge.torch_lm_fit(x, y, seed=out["settings"]["seed"], batch_size=10, epochs=3, tol=0)
    direct = fit(x, y, seed=big, batch_size=10, epochs=3, tol=0)
    np.testing.assert_array_equal(again["coefficients"], direct.coefficients())
    assert bridge.torch_lm_fit(x, y, seed=2 ** 31 - 1)["settings"]["seed"] == 2 ** 31 - 1


def test_aliased_columns_keep_their_names():
    d = datasets.fruit()
    x = np.column_stack([d["temperature"], 2 * d["temperature"], d["rainfall"]])
    out = bridge.torch_lm_fit(x, d[["apples", "oranges"]].to_numpy(), names=["t", "t2", "r"],
                              response_names=["apples", "oranges"], seed=1)
    assert out["aliased"].tolist() == [False, False, True, False]
    assert np.isnan(out["coefficients"][:, 2]).all()
    assert "apples:t" in out["history"] and "apples:t2" not in out["history"]
    assert out["inference"]["residual_cov"].shape == (2, 2)


def test_no_intercept_and_weights(cars_like):
    x, y = cars_like
    w = np.linspace(0.5, 2, 50)
    out = bridge.torch_lm_fit(x, y, intercept=False, weights=w, seed=1)
    exact = ols(x, y, intercept=False, weights=w)
    np.testing.assert_allclose(out["coefficients"][0], exact.coef, rtol=1e-8)
    assert out["term_names"] == ["x1", "x2"]


def test_offset_is_added_back(cars_like):
    x, y = cars_like
    offset = 0.5 * x[:, 0]
    out = bridge.torch_lm_fit(x, y, offset=offset, seed=1)
    exact = ols(x, y - offset)
    np.testing.assert_allclose(out["coefficients"][0], [exact.intercept, *exact.coef], rtol=1e-8)
    np.testing.assert_allclose(out["fitted_values"][:, 0] + out["residuals"][:, 0], y)


def test_validation_indices_are_zero_based(cars_like):
    x, y = cars_like
    out = bridge.torch_lm_fit(x, y, validation=0.2, seed=4)
    assert len(out["valid_index"]) == 10 and len(out["train_index"]) == 40
    assert sorted([*out["train_index"], *out["valid_index"]]) == list(range(50))
    assert out["inference"]["n_obs"] == 40


def test_predict_torch_lm_takes_a_new_observation_s_variance_and_a_known_scale(cars_like):
    # predict.lm(pred.var = , scale = , df = Inf): limits fit ± q sqrt(se_fit² + pred.var)
    from scipy import stats
    x, y = cars_like
    out = bridge.torch_lm_fit(x, y, seed=1)
    inf = out["inference"]
    A = np.column_stack([np.ones(50), x])[:4]
    args = (A, out["coefficients"], out["aliased"], inf["cov_unscaled"])
    pred_var = np.array([1.0, 2.0, 3.0, 4.0])
    p = bridge.predict_torch_lm(*args, inf["sigma"], inf["df_residual"], "prediction", 0.9,
                                pred_var=pred_var)
    q = stats.t.ppf(0.95, inf["df_residual"])
    np.testing.assert_allclose(p["upr"][:, 0] - p["fit"][:, 0],
                               q * np.sqrt(p["se_fit"][:, 0] ** 2 + pred_var), rtol=1e-12)
    known = bridge.predict_torch_lm(*args, [2.0], float("inf"), "confidence", 0.95)
    leverage = (p["se_fit"][:, 0] / inf["sigma"][0]) ** 2
    np.testing.assert_allclose(known["se_fit"][:, 0], 2.0 * np.sqrt(leverage), rtol=1e-12)
    np.testing.assert_allclose(known["upr"][:, 0] - known["fit"][:, 0],
                               stats.norm.ppf(0.975) * known["se_fit"][:, 0], rtol=1e-12)


def test_predict_torch_lm_and_confint_torch_lm(cars_like):
    x, y = cars_like
    out = bridge.torch_lm_fit(x, y, seed=1)
    inf = out["inference"]
    A = np.column_stack([np.ones(50), x])[:5]
    p = bridge.predict_torch_lm(A, out["coefficients"], out["aliased"], inf["cov_unscaled"],
                                inf["sigma"], float(inf["df_residual"]), "prediction", 0.9)
    np.testing.assert_allclose(p["fit"][:, 0], out["fitted_values"][:5, 0])
    assert (p["lwr"] < p["fit"]).all() and (p["fit"] < p["upr"]).all()
    ci = bridge.confint_torch_lm(out["coefficients"], inf["std_error"], inf["df_residual"], 0.95)
    assert ci.shape == (1, 3, 2)
    with pytest.raises(ValueError, match="interval"):
        bridge.predict_torch_lm(A, out["coefficients"], out["aliased"], inf["cov_unscaled"],
                                inf["sigma"], 47, "wrong")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_call_turns_exceptions_into_descriptions(cars_like):
    x, y = cars_like
    ok = bridge.call("torch_lm_fit", {"x": x, "y": y, "seed": 1})
    assert "value" in ok and "error" not in ok
    bad = bridge.call("torch_lm_fit", {"x": x, "y": y, "lr": -1})["error"]
    assert bad["types"][:2] == ["OptionError", "TorchlinregError"]
    assert "lr must be" in bad["message"] and "Traceback" not in bad["message"]
    diverged = bridge.call("torch_lm_fit", {"x": x * 1e3, "y": y * 1e6, "lr": 1e4,
                                            "optimizer": "sgd", "standardize": False})["error"]
    assert diverged["types"][0] == "DivergenceError"
    assert diverged["step"] >= 1 and diverged["suggested_lr"] < 1e4
    assert "loss" in diverged["history"]
    assert bridge.call("nope")["error"]["types"] == ["ValueError"]


def test_read_only_arrays_from_r_are_accepted(cars_like):
    x, y = cars_like
    x = x.copy(order="F")
    y = y.copy()
    x.flags.writeable = False
    y.flags.writeable = False
    out = bridge.torch_lm_fit(x, y, seed=1)
    assert out["convergence"]["converged"]


@pytest.mark.parametrize("column", [0, 1, 2.0])
def test_the_intercept_column_of_rs_design_is_left_out(cars_like, column):
    """R sends model.matrix() whole (read-only, column-major); ``intercept_column`` is dropped."""
    x, y = cars_like
    design = np.insert(x, int(column), 1.0, axis=1).copy(order="F")
    design.flags.writeable = False
    out = bridge.torch_lm_fit(design, y, intercept_column=column, seed=3)
    np.testing.assert_array_equal(out["coefficients"],
                                  bridge.torch_lm_fit(x, y, seed=3)["coefficients"])
    with pytest.raises(ValueError, match="intercept_column is 3 but x has 3 columns"):
        bridge.torch_lm_fit(design, y, intercept_column=3)


def test_save_load_and_resume_through_the_bridge(tmp_path):
    """R's save_fit()/load_fit()/resume=: the R part rides in the same no-pickle .npz."""
    import torchlinreg as tl
    from torchlinreg.interop import bridge
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 2)), rng.normal(size=40)
    opts = dict(names=["a", "b"], seed=3, tol=0.0)
    first = bridge.torch_lm_fit(x, y, epochs=20, **opts)
    straight = bridge.torch_lm_fit(x, y, epochs=40, **opts)
    assert first["python_fit"]._train is None
    r_object = {"k": "list", "v": [{"k": "double", "v": np.arange(3.0), "na": [2]}]}
    path = bridge.save_fit(first["python_fit"], str(tmp_path / "fit"), r_object)
    loaded = bridge.load_fit(path)
    assert loaded["r_object"]["v"][0]["na"] == [2]
    np.testing.assert_array_equal(loaded["r_object"]["v"][0]["v"], np.arange(3.0))
    assert bridge.load_fit(first["python_fit"].save(tmp_path / "py"))["r_object"] is None
    np.testing.assert_array_equal(tl.load(path).coefficients(), first["coefficients"])
    resumed = bridge.torch_lm_fit(x, y, epochs=20, resume=loaded["python_fit"],
                                  names=["a", "b"])
    np.testing.assert_array_equal(resumed["coefficients"], straight["coefficients"])
    for name, column in straight["history"].items():
        np.testing.assert_array_equal(resumed["history"][name], column)


@pytest.fixture
def csv_rows(tmp_path):
    """Two responses, three predictors (one aliased) and weights, in two CSV files."""
    rng = np.random.default_rng(5)
    n = 120
    frame = pd.DataFrame(rng.normal(size=(n, 2)) * [1, 5] + [0, 10], columns=["a", "b"])
    frame["twice_a"] = 2 * frame["a"]
    frame["y"] = 1 + frame["a"] - 0.5 * frame["b"] + rng.normal(size=n)
    frame["z"] = -2 + 0.3 * frame["b"] + rng.normal(size=n)
    frame["w"] = rng.uniform(0.5, 2, n)
    paths = [str(tmp_path / "part-0.csv"), str(tmp_path / "part-1.csv")]
    frame.iloc[:70].to_csv(paths[0], index=False)
    frame.iloc[70:].to_csv(paths[1], index=False)
    return frame, paths


def test_torch_lm_files_matches_fit_on_the_rows_in_memory(csv_rows):
    frame, paths = csv_rows
    out = bridge.torch_lm_files(paths, ["y", "z"], ["a", "b", "twice_a"], weights="w", seed=2.0,
                                batch_rows=32.0)
    assert type(out.pop("python_fit")).__name__ == "LinearFit"
    assert _plain(out)
    assert not {"fitted_values", "residuals", "train_index", "valid_index"} & set(out)
    assert (out["n_train"], out["n_valid"]) == (120, 0)
    direct = fit(frame[["a", "b", "twice_a"]], frame[["y", "z"]], weights=frame["w"], seed=2)
    assert out["term_names"] == direct.term_names == ["(Intercept)", "a", "b", "twice_a"]
    assert out["aliased"].tolist() == [False, False, False, True]
    np.testing.assert_allclose(out["coefficients"], direct.coefficients(), rtol=1e-10)
    inf = out["inference"]
    for name in ("std_error", "t_value", "sigma", "r_squared", "f_statistic"):
        np.testing.assert_allclose(inf[name], getattr(direct.inference, name), rtol=1e-10)
    assert inf["df_residual"] == 117 and inf["n_obs"] == 120
    # vcov.mlm's residual covariance: (W^1/2 R)ᵀ(W^1/2 R) / df from the residuals themselves
    residuals = frame[["y", "z"]].to_numpy() - direct.predict(frame[["a", "b", "twice_a"]])
    weighted = residuals * np.sqrt(frame["w"].to_numpy())[:, None]
    np.testing.assert_allclose(inf["residual_cov"], weighted.T @ weighted / 117, rtol=1e-10)


def test_torch_lm_files_counts_held_out_rows_and_stays_ols(csv_rows):
    frame, paths = csv_rows
    out = bridge.torch_lm_files(paths, "y", ["a", "b"], intercept=False, validation=0.25, seed=3)
    assert out["n_train"] + out["n_valid"] == 120 and 10 < out["n_valid"] < 50
    assert out["inference"]["n_obs"] == out["n_train"]
    assert out["term_names"] == ["a", "b"]
    assert np.isfinite(out["history"]["val_loss"][1:]).all()
    exact = out["python_fit"].exact
    np.testing.assert_allclose(out["coefficients"][0], exact[0][0], rtol=1e-8)


def test_torch_lm_files_errors_come_back_typed(csv_rows, tmp_path):
    _, paths = csv_rows
    missing = bridge.call("torch_lm_files", {"paths": str(tmp_path / "none.csv"), "response": "y"})
    assert missing["error"]["types"][:2] == ["InputError", "TorchlinregError"]
    assert "does not exist" in missing["error"]["message"]
    unknown = bridge.call("torch_lm_files",
                          {"paths": paths, "response": "y", "predictors": ["nope"]})
    assert "nope" in unknown["error"]["message"]
    rows = bridge.call("torch_lm_files", {"paths": paths, "response": "y", "batch_rows": 2.5})
    assert rows["error"]["types"][0] == "OptionError"


def test_torch_lm_files_columns_are_the_files_columns_in_order(csv_rows, tmp_path):
    frame, paths = csv_rows
    assert bridge.torch_lm_files_columns(paths) == list(frame.columns)
    frame[["y", "b", "a"]].to_parquet(tmp_path / "part.parquet")
    assert bridge.torch_lm_files_columns(str(tmp_path / "part.parquet")) == ["y", "b", "a"]
    missing = bridge.call("torch_lm_files_columns", {"paths": str(tmp_path / "none.csv")})
    assert "does not exist" in missing["error"]["message"]


@pytest.mark.parametrize("intercept", [True, False])
def test_torch_lm_fit_without_columns_fits_the_intercept_or_nothing(cars_like, intercept):
    # R's y ~ 1 sends its one column of ones (the intercept), y ~ 0 none: the
    # design left over has no columns, which the training-data hash cannot take.
    _, y = cars_like
    x = np.ones((50, 1)) if intercept else np.zeros((50, 0))
    out = bridge.torch_lm_fit(x, y, names=[], intercept=intercept,
                              intercept_column=0 if intercept else None, seed=1)
    expected = [np.mean(y)] if intercept else []
    np.testing.assert_allclose(out["coefficients"][0], expected, rtol=1e-10)
    assert out["inference"]["rank"] == int(intercept)
    predicted = bridge.predict_torch_lm(x, out["coefficients"], out["aliased"],
                                        out["inference"]["cov_unscaled"], out["inference"]["sigma"],
                                        out["inference"]["df_residual"], interval="confidence")
    np.testing.assert_allclose(predicted["fit"][:, 0], np.full(50, np.mean(y) if intercept else 0))
    assert predicted["se_fit"].shape == (50, 1)


def test_compare_lm_gives_r_the_table_python_builds(cars_like, lm_check):
    # R hands over its lm()'s numbers and model matrix; the table must be the one
    # compare_lm() builds in Python for the same fit and the same lm() numbers.
    x, y = cars_like
    w = np.linspace(0.5, 2, len(y))
    fitted = fit(x, y, weights=w, seed=1, verbose=False)
    reference = lm_check(x, y, weights=w)
    out = bridge.compare_lm(np.column_stack([np.ones(len(y)), x]), y, fitted.coefficients(),
                            fitted.inference.std_error, reference.coef, reference.std_error,
                            term_names=fitted.term_names, response_names=["y"],
                            aliased=[False] * 3, weights=w, intercept_column=0)
    assert _plain(out) and tuple(out) == COLUMNS
    expected = compare_lm(fitted, lm=reference)
    pd.testing.assert_frame_equal(pd.DataFrame(out), expected, rtol=1e-12)
    assert max(out["rel_diff_lm"]) < 1e-8


def test_compare_lm_exact_column_leaves_out_aliased_columns_and_the_offset(cars_like):
    x, y = cars_like
    offset = 0.5 * x[:, 0]
    # the intercept in column 1, and column 2 aliased (twice column 0), as R may order them
    design = np.column_stack([x[:, 0], np.ones(len(y)), 2 * x[:, 0], x[:, 1]])
    zeros = np.zeros((1, 4))
    out = bridge.compare_lm(design, y, zeros, zeros, zeros, zeros,
                            term_names=["a", "(Intercept)", "a2", "b"], response_names=["y"],
                            aliased=[False, False, True, False], offset=offset,
                            intercept_column=1)
    exact = ols(x, y - offset)
    np.testing.assert_allclose(out["exact"], [exact.coef[0], exact.intercept, np.nan,
                                              exact.coef[1]], rtol=1e-12)
    assert out["term"] == ["a", "(Intercept)", "a2", "b"] and out["response"] == ["y"] * 4


def test_the_fit_says_how_it_ended_in_the_summarys_words(cars_like):
    x, y = cars_like
    out = bridge.torch_lm_fit(x, y, seed=1, optimizer="sgd", lr=0.01, batch_size=10.0,
                              epochs=3.0)
    direct = fit(x, y, seed=1, optimizer="sgd", lr=0.01, batch_size=10, epochs=3, verbose=False)
    assert out["convergence"]["description"] == direct.summary().optimization["description"] == (
        "Fitted by sgd (lr 0.01, batch size 10, float64, engine gram) in 3 epochs "
        "(15 updates): stopped at the epoch limit before converging.")
