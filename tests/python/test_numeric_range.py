"""The whole range of magnitudes lm() handles, and no "converged" for a wrong answer
(issue 17, item 7). The moments are summed in units of a power of two per column
(exact) where a column's magnitude is outside 2^±200, so its squares neither
overflow nor become subnormal; inside that range nothing changes, bit for bit."""
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import torchlinreg as tl
from torchlinreg.errors import ConvergenceWarning, InputError

N = 400


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N, 3))
    y = 1 + X @ [1.0, 2.0, 3.0] + rng.normal(size=N)
    return X, y


def lstsq(X, y):
    beta = np.linalg.lstsq(np.c_[np.ones(len(y)), X], y, rcond=None)[0]
    return beta[0], beta[1:]


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - b) / np.abs(b)))


@pytest.mark.parametrize("scale", [1e-159, 1e-160, 1e-165, 1e-300, 1e153, 1e200, 1e300])
@pytest.mark.parametrize("where", ["x", "x1", "y"])
def test_columns_of_any_float64_magnitude_give_lm_s_coefficients(data, scale, where):
    X, y = data
    intercept, coef = lstsq(X, y)  # scaled exactly as the columns (to rounding)
    if where == "y":
        y, intercept, coef = y * scale, intercept * scale, coef * scale
    else:
        factors = np.array([scale] * 3 if where == "x" else [scale, 1, 1])
        X, coef = X * factors, coef / factors
    fit = tl.fit(X, y, seed=0)
    assert fit.converged and not fit.aliased.any()
    assert rel(fit.coef, coef) < 1e-10 and rel(fit.intercept, intercept) < 1e-10
    assert rel(fit.exact[0][0], coef) < 1e-12


@pytest.mark.parametrize("options", [{}, {"engine": "autograd", "epochs": 3000},
                                     {"optimizer": "lbfgs"}, {"validation": 0.2, "patience": 50}])
@pytest.mark.parametrize("exponent", [600, 1000, -600, -1000])
def test_a_response_in_any_power_of_two_unit_is_the_same_fit(data, exponent, options):
    """y × 2^600 (1e180; its squares overflow) was an InputError, y × 2^-600 a loss of 0:
    the loop keeps its losses in units of a power of two, so the fit is the one of y
    itself bit for bit, times 2^exponent, and the history's losses are the true ones:
    times 2^(2 exponent), infinite only where that is beyond float64."""
    X, y = data
    same = tl.fit(X, y, seed=0, **options)
    fit = tl.fit(X, np.ldexp(y, exponent), seed=0, **options)
    assert fit.converged == same.converged and fit.stop_reason == same.stop_reason
    assert fit.n_iter == same.n_iter
    np.testing.assert_array_equal(fit.coef, np.ldexp(same.coef, exponent))
    np.testing.assert_array_equal(fit.intercept, np.ldexp(same.intercept, exponent))
    for column in ("loss", "val_loss"):
        with np.errstate(over="ignore"):
            expected = np.ldexp(same.history[column].to_numpy(), 2 * exponent)
        np.testing.assert_array_equal(fit.history[column].to_numpy(), expected)


def test_a_huge_response_saved_and_resumed_is_one_straight_run(data, tmp_path):
    X, y = data
    y = np.ldexp(y, 700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        straight = tl.fit(X, y, seed=9, epochs=100, validation=0.2)
        first = tl.load(tl.fit(X, y, seed=9, epochs=50, validation=0.2).save(tmp_path / "f.npz"))
        second = tl.fit(X, y, resume=first, epochs=50)
    np.testing.assert_array_equal(second.coef, straight.coef)
    pd.testing.assert_frame_equal(second.history, straight.history)
    assert np.isinf(straight.history["loss"]).all()  # 1e420: beyond float64


def test_float32_responses_beyond_float32_squares_fit(data):
    X, y = data
    same = tl.fit(X, y, seed=0, dtype="float32")
    fit = tl.fit(X, np.ldexp(y, 70), seed=0, dtype="float32")  # 1e21: squares beyond 3e38
    assert fit.converged and fit.n_iter == same.n_iter
    np.testing.assert_array_equal(fit.coef, np.ldexp(same.coef, 70))


def test_unstandardized_losses_beyond_float64_say_so(data):
    X, y = data
    with pytest.raises(InputError, match="standardize=False keeps the objective in them"):
        tl.fit(X, y * 1e200, seed=0, standardize=False)


def test_tiny_and_huge_columns_match_lm(data, r_lm):
    X, y = data
    X = X * [1e-300, 1e300, 1e-165]
    frame = pd.DataFrame(X, columns=["x1", "x2", "x3"]).assign(y=y)
    fit = tl.fit(frame[["x1", "x2", "x3"]], frame["y"], seed=0)
    reference = r_lm("y ~ x1 + x2 + x3", frame)
    assert rel(np.r_[fit.intercept, fit.coef], reference["coef"]) < 1e-10


@pytest.mark.parametrize("scale", [1e-165, 1e-300, 1e300])
def test_streamed_files_of_any_magnitude_give_the_same_coefficients(data, tmp_path, scale):
    X, y = data
    frame = pd.DataFrame(X * scale, columns=["x1", "x2", "x3"]).assign(y=y)
    path = tmp_path / "range.parquet"
    frame.to_parquet(path, index=False)
    streamed = tl.fit_files(path, "y", seed=0)
    coef = lstsq(X, y)[1] / scale
    assert streamed.converged and rel(streamed.coef, coef) < 1e-10


def lm_in_units(r_lm, frame, formula):
    """lm() of ``frame``'s columns each divided by a power of two near its largest value
    (exact), its numbers multiplied back: lm()'s answer on the data itself, free of the
    overflow or underflow of summary.lm's sums of squares, which give Inf or 0 for
    standard errors that float64 holds (e.g. x × 1e-165: R's Inf, truly 5.6e163)."""
    exponent = {c: int(np.frexp(np.abs(frame[c]).max())[1]) for c in frame.columns}
    reference = r_lm(formula, frame.apply(lambda c: np.ldexp(c, -exponent[c.name])))
    shift = exponent["y"] - np.array([0 if t == "(Intercept)" else exponent[t]
                                      for t in reference["terms"]])
    return {"coef": np.ldexp(reference["coef"][0], shift),
            "se": np.ldexp(reference["se"][0], shift), "t": reference["t"][0],
            "sigma": np.ldexp(reference["sigma"][0], exponent["y"]),
            "r2": reference["r2"][0], "fstat": reference["fstat"][0, 0], "df": reference["df"]}


def scaled_frame(data, where, scale):
    X, y = data
    X = X * ([scale] * 3 if where == "x" else [scale, 1, 1] if where == "x1" else 1)
    return pd.DataFrame(X, columns=["x1", "x2", "x3"]).assign(y=y * (scale if where == "y" else 1))


def assert_lm_s_numbers(fit, reference):
    inference = fit.inference
    assert rel(np.r_[fit.intercept, fit.coef], reference["coef"]) < 1e-10
    assert rel(np.r_[fit.exact[1], fit.exact[0][0]], reference["coef"]) < 1e-10
    assert rel(inference.std_error[0], reference["se"]) < 1e-9
    assert rel(inference.t_value[0], reference["t"]) < 1e-9
    assert rel(inference.sigma[0], reference["sigma"]) < 1e-9
    assert rel(inference.r_squared[0], reference["r2"]) < 1e-10
    assert rel(inference.f_statistic[0], reference["fstat"]) < 1e-9
    # logLik.lm's formula with lm()'s sigma: finite though the RSS may be beyond float64.
    df, n = reference["df"], reference["df"] + len(reference["coef"])
    llf = -n / 2 * (np.log(2 * np.pi) + 1 - np.log(n) + 2 * np.log(reference["sigma"]) + np.log(df))
    assert rel(fit.llf, llf) < 1e-10
    assert "Residual standard error" in str(fit.summary())


@pytest.mark.parametrize("where, scale", [("x", 1e-300), ("x", 1e300), ("x1", 1e-165),
                                          ("y", 1e-300), ("y", 1e-160), ("y", 1e200),
                                          ("y", 1e300)])
def test_file_and_memory_fits_give_lm_s_inference_at_any_magnitude(data, tmp_path, r_lm, where,
                                                                   scale):
    """The moments of a fit from files stay in their power-of-two units, so its exact
    solution, inference and summary() are lm()'s (they were a Cholesky error or NaN);
    the rows' inference of a fit in memory takes the same units (its standard errors
    were NaN at x × 1e-165, 0 at y × 1e-300). A saved file fit keeps its units."""
    frame = scaled_frame(data, where, scale)
    reference = lm_in_units(r_lm, frame, "y ~ x1 + x2 + x3")
    frame.to_parquet(tmp_path / "range.parquet", index=False)
    streamed = tl.fit_files(tmp_path / "range.parquet", "y", seed=0)
    memory = tl.fit(frame[["x1", "x2", "x3"]], frame["y"], seed=0)
    for fit in (streamed, memory):
        assert fit.converged
        assert_lm_s_numbers(fit, reference)
    # The residual diagnostics do not depend on the scale (they were NaN where e² vanishes).
    in_range = tl.fit(*data, seed=0).summary().diagnostics.to_numpy()
    assert rel(memory.summary().diagnostics.to_numpy(), in_range) < 1e-6
    loaded = tl.load(streamed.save(tmp_path / "fit.npz"))
    np.testing.assert_array_equal(loaded.inference.std_error, streamed.inference.std_error)
    np.testing.assert_array_equal(loaded.exact[0], streamed.exact[0])


def lm_prediction_in_units(r_lm, frame, formula, newdata, interval):
    """predict.lm(se.fit = TRUE, interval = ) of lm() on ``frame``'s columns each divided by a
    power of two near its largest value (``newdata``'s by the same), multiplied back: lm()'s
    answer free of its overflow and underflow (at y × 1e200 predict.lm's residual variance
    is Inf, at y × 1e-300 0, so its se.fit is Inf or 0 and its limits those or the fit)."""
    exponent = {c: int(np.frexp(np.abs(frame[c]).max())[1]) for c in frame.columns}
    scaled = newdata.apply(lambda c: np.ldexp(c, -exponent[c.name]))
    reference = r_lm(formula, frame.apply(lambda c: np.ldexp(c, -exponent[c.name])),
                     newdata=scaled, interval=interval)
    return np.ldexp(reference["pred"], exponent["y"]), np.ldexp(reference["se_fit"], exponent["y"])


@pytest.mark.parametrize("where, scale", [("x", 1e-165), ("x", 1e-300), ("x", 1e200),
                                          ("x", 1e300), ("x1", 1e-165), ("y", 1e200),
                                          ("y", 1e-300)])
def test_prediction_limits_at_any_magnitude_are_lm_s(data, tmp_path, r_lm, where, scale):
    """Leverages are taken in the fit's power-of-two units (the new rows' columns times the
    same powers of two), where (AᵀWA)⁻¹ is representable, and σ² and se² in units of a
    power of two of σ: the limits and se.fit are predict.lm()'s for fits in memory, from
    files and through R's bridge. They were NaN for x beyond 1e±154 (the inverse in the
    data's units is beyond float64), ±inf at y × 1e200 and the fit itself at y × 1e-300."""
    from torchlinreg.interop import bridge
    frame = scaled_frame(data, where, scale)
    names = ["x1", "x2", "x3"]
    new = frame[names][:6] * 1.5
    frame.to_parquet(tmp_path / "range.parquet", index=False)
    fits = [tl.fit(frame[names], frame["y"], seed=0),
            tl.fit_files(tmp_path / "range.parquet", "y", seed=0)]
    from_r = bridge.torch_lm_fit(frame[names].to_numpy(), frame["y"].to_numpy(), seed=0)
    inference = from_r["inference"]
    for interval in ("confidence", "prediction"):
        limits, se_fit = lm_prediction_in_units(r_lm, frame, "y ~ x1 + x2 + x3", new, interval)
        if where != "y":  # lm() itself: predict.lm works from R⁻¹, representable here
            direct = r_lm("y ~ x1 + x2 + x3", frame, newdata=new, interval=interval)
            assert rel(direct["se_fit"], se_fit) < 1e-12
        for fit in fits:
            assert rel(fit.predict(new, interval=interval), limits) < 1e-10
        out = bridge.predict_torch_lm(
            np.c_[np.ones(len(new)), new], from_r["coefficients"], from_r["aliased"],
            inference["cov_unscaled"], inference["sigma"], inference["df_residual"], interval,
            center=inference["center"], weight_total=inference["weight_total"],
            term_unit=inference["term_unit"], cov_in_units=inference["cov_in_units"],
            center_in_units=inference["center_in_units"])
        assert rel(out["se_fit"][:, 0], se_fit) < 1e-9
        assert rel(np.c_[out["fit"], out["lwr"], out["upr"]], limits) < 1e-10


def condition_number_of(A, digits):
    """√(λmax / λmin) of AᵀA in the data's units, by mpmath at ``digits`` digits (its
    exponents are unbounded, and enough digits keep the smallest eigenvalue's)."""
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(digits):
        M = mpmath.matrix(A.tolist())
        eigen = mpmath.eigsy(M.T * M, eigvals_only=True)
        values = [eigen[i] for i in range(eigen.rows)]
        return float(mpmath.sqrt(max(values) / min(values)))


@pytest.mark.parametrize("factors", [[1e10, 1, 1], [1e-100] * 3, [1e-165] * 3, [1e-165, 1, 1],
                                     [1e200] * 3, [1e-300] * 3, [1e300] * 3,
                                     [1e-300, 1e300, 1]])
def test_the_condition_number_is_that_of_the_data_s_design(data, tmp_path, factors):
    """The condition number is statsmodels' of the design in the data's units (its value
    by mpmath in high precision): about 1e165 at x × 1e-165, where float64 holds neither
    AᵀA (1e-330) nor its inverse; inf where it is beyond float64 (x1 × 1e-300 beside
    x2 × 1e300: 9.7e599). It was NaN beyond 1e±154, and NaN at x1 × 1e10 in the ordinary
    range (the smallest eigenvalue of (AᵀA)⁻¹ rounded below zero)."""
    X, y = data
    X = X * factors
    A = np.c_[np.ones(len(y)), X]
    truth = condition_number_of(A, 1300)
    frame = pd.DataFrame(X, columns=["x1", "x2", "x3"]).assign(y=y)
    frame.to_parquet(tmp_path / "range.parquet", index=False)
    for fit in (tl.fit(X, y, seed=0), tl.fit_files(tmp_path / "range.parquet", "y", seed=0)):
        if np.isinf(truth):
            assert fit.condition_number == np.inf
        else:
            assert rel(fit.condition_number, truth) < 1e-8


@pytest.mark.parametrize("factors", [[1, 1, 1], [1e3, 1, 1e-3], [1e5, 1, 1e-2], [1e-4, 1e4, 1]])
def test_the_condition_number_of_ordinary_fits_is_statsmodels(data, factors):
    """Inside 2^±200 too the condition number is statsmodels' to rounding (and the value of
    mpmath's eigenvalues). It was the ratio of the eigenvalues of (AᵀWA)⁻¹, whose smallest
    carries rounding of ε · λmax: 1.4e-5 from the truth at x × [1e3, 1, 1e-3], 2.3e-3 at
    x × [1e5, 1, 1e-2]."""
    sm = pytest.importorskip("statsmodels.api")
    X, y = data
    X = X * factors
    A = np.c_[np.ones(len(y)), X]
    fit = tl.fit(X, y, seed=0)
    assert fit.inference.term_unit is None
    assert rel(fit.condition_number, condition_number_of(A, 100)) < 1e-10
    # statsmodels' eigenvalues of AᵀA carry its own rounding (1.7e-10 at x × [1e-4, 1e4, 1])
    assert rel(fit.condition_number, sm.OLS(y, A).fit().condition_number) < 1e-9


def test_partial_fit_pieces_keep_their_units(data, r_lm):
    """partial_fit's moments of all pieces, in the first piece's units: its exact solution
    and inference are lm()'s (they were 0 coefficients and infinite standard errors at
    x × 1e-300, from moments in units read as the data's)."""
    from torchlinreg.fitting.partial import partial_fit
    frame = scaled_frame(data, "x", 1e-300)
    names = ["x1", "x2", "x3"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = partial_fit(None, frame[names][:200], frame["y"][:200], seed=0)
        fit = partial_fit(fit, frame[names][200:], frame["y"][200:])
    reference = lm_in_units(r_lm, frame, "y ~ x1 + x2 + x3")
    assert rel(np.r_[fit.exact[1], fit.exact[0][0]], reference["coef"]) < 1e-10
    # The inference is at the fit's own (one-pass) coefficients; se / sigma is not.
    inference = fit.inference
    assert rel(inference.std_error[0] / inference.sigma[0],
               reference["se"] / reference["sigma"]) < 1e-9


def two_files(tmp_path, first, second):
    """A file of ``CHUNK_ROWS + 1000`` rows whose column x1 is ``first`` times normal values,
    then a file of 400 rows where it is ``second`` times them: the units are set by the
    first file's rows."""
    from torchlinreg.engine.moments import CHUNK_ROWS
    rng = np.random.default_rng(11)
    paths, frames = [], []
    for i, (rows, scale) in enumerate([(CHUNK_ROWS + 1000, first), (400, second)]):
        X = rng.normal(size=(rows, 3))
        y = 1 + X @ [1.0, 2.0, 3.0] + rng.normal(size=rows)
        frames.append(pd.DataFrame(X * [scale, 1, 1], columns=["x1", "x2", "x3"]).assign(y=y))
        paths.append(tmp_path / f"part{i}.parquet")
        frames[-1].to_parquet(paths[-1], index=False)
    return paths, pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("first, second", [(0.0, 1e-300), (0.0, 1e300), (1e-300, 1e-250)])
def test_later_rows_of_another_magnitude_are_summed_exactly(tmp_path, r_lm, first, second):
    """A column all zero in the first rows takes its unit from the first rows where it is
    not (x1 of 1e-300 after zeros vanished in its squares: aliased, NaN); one 1e50 times
    larger than in the first rows still fits the first rows' units."""
    paths, frame = two_files(tmp_path, first, second)
    streamed = tl.fit_files(paths, "y", seed=0)
    reference = lm_in_units(r_lm, frame, "y ~ x1 + x2 + x3")
    assert streamed.converged and not streamed.aliased.any()
    assert_lm_s_numbers(streamed, reference)


@pytest.mark.parametrize("first, second", [(1.0, 1e100), (1.0, 1e300), (1e-300, 1.0),
                                           (1e-300, 1e300)])
def test_later_rows_far_larger_than_the_first_rows_take_new_units(tmp_path, r_lm, first, second):
    """Rows after the first 32,768 of a column 1e100 … 1e600 times larger than there: the
    sums so far are re-expressed in units of the larger values (times powers of two, exact),
    so fits from files and in memory give lm()'s coefficients and inference (it was an
    InputError: their squares overflowed the first rows' units)."""
    paths, frame = two_files(tmp_path, first, second)
    reference = lm_in_units(r_lm, frame, "y ~ x1 + x2 + x3")
    streamed = tl.fit_files(paths, "y", seed=0)
    memory = tl.fit(frame[["x1", "x2", "x3"]], frame["y"], seed=0)
    for fit in (streamed, memory):
        assert fit.converged and not fit.aliased.any()
        assert_lm_s_numbers(fit, reference)


def test_partial_fit_pieces_of_far_different_magnitude_combine_in_common_units(data, r_lm):
    """partial_fit sums the pieces' moments in each column's smallest unit over them, so a
    piece 1e300 times larger than the one before no longer overflows the first piece's
    units (an InputError before): the moments of the pieces are lm()'s on all rows. (Its
    optimizer steps, on the first piece's standardization, cannot follow such a piece:
    that is a DivergenceError, see README.)"""
    import torch
    from torchlinreg.engine.moments import moments
    from torchlinreg.fitting.partial import _combined
    from torchlinreg.results.statistics import TrainingStatistics
    frame = scaled_frame(data, "x", 1e-300)
    frame.loc[200:, "x1"] *= 1e300
    pieces = [[torch.as_tensor(part[names].to_numpy()) for names in (["x1", "x2", "x3"], ["y"])]
              for part in (frame[:200], frame[200:])]
    statistics = TrainingStatistics(_combined(*(moments(X, Y) for X, Y in pieces)), True)
    reference = lm_in_units(r_lm, frame, "y ~ x1 + x2 + x3")
    weight, bias = statistics.exact()
    assert rel(np.r_[bias, weight[0]], reference["coef"]) < 1e-10
    inference = statistics.inference(torch.as_tensor(reference["coef"][None, :]),
                                     torch.zeros(4, dtype=torch.bool), None, None)
    assert rel(inference.std_error[0], reference["se"]) < 1e-9
    assert rel(inference.sigma[0], reference["sigma"]) < 1e-9


def test_a_saved_file_fit_whose_units_are_not_powers_of_two_is_refused(data, tmp_path):
    frame = scaled_frame(data, "x", 1e-300)
    frame.to_parquet(tmp_path / "range.parquet", index=False)
    path = tl.fit_files(tmp_path / "range.parquet", "y", seed=0).save(tmp_path / "fit.npz")
    with np.load(path, allow_pickle=False) as stored:
        members = {name: stored[name] for name in stored.files}
    assert np.frexp(members["moments/unit"][0])[0] == 0.5 and members["moments/unit"][0] > 1e290
    members["moments/unit"] = members["moments/unit"] * 3  # read as 3 × the columns
    np.savez(tmp_path / "altered.npz", **members)
    with pytest.raises(InputError, match="units are not positive powers of two"):
        tl.load(tmp_path / "altered.npz")


def test_ordinary_magnitudes_are_summed_in_units_of_one(data):
    from torchlinreg.engine.moments import moments
    import torch
    X, y = (torch.as_tensor(v) for v in data)
    assert moments(X * 1e-58, y[:, None] * 1e58).unit is None
    assert moments(X * 1e-61, y[:, None]).unit is not None


def test_float32_scales_outside_its_range_are_an_error(data, tmp_path):
    X, y = data
    frame = pd.DataFrame(X * 1e-150, columns=["x1", "x2", "x3"]).assign(y=y)
    path = tmp_path / "tiny.parquet"
    frame.to_parquet(path, index=False)
    with pytest.raises(InputError, match="too small for float32"):
        tl.fit_files(path, "y", dtype="float32")


def test_the_float32_intercept_of_columns_with_a_large_offset(data):
    X, y = data
    X = X + 1e4
    X32, y32 = (np.asarray(v, np.float32).astype(np.float64) for v in (X, y))
    intercept, coef = lstsq(X32, y32)  # lm() of the float32 data the fit sees
    # The intercept's error is the slopes' float32 rounding times x̄ = 1e4: about
    # 4e-8 · 2 · 1e4 · 3 columns at most; standardized it was 3.8e-3 before the fix.
    for precondition, bound in (("standardize", 1e-3), ("qr", 2e-3)):
        fit = tl.fit(X, y, dtype="float32", seed=0, precondition=precondition)
        assert fit.converged
        assert abs(fit.intercept - intercept) < bound
        assert rel(fit.coef, coef) < 1e-6


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_standardize_false_never_says_converged_far_from_the_minimum(optimizer):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    y = 1 + X @ [1.0, 2.0, 3.0] + rng.normal(size=500)
    X = X * [1e-6, 1, 1]  # its gradient is tiny: the gradient test passes at coefficient ~0
    with pytest.warns(ConvergenceWarning, match="above the least-squares minimum"):
        fit = tl.fit(X, y, standardize=False, optimizer=optimizer, dtype="float32",
                     epochs=20000, seed=0)
    assert not fit.converged and fit.stop_reason == "not_at_optimum"
    assert rel(fit.coef[0], lstsq(X, y)[1][0]) > 0.1  # indeed wrong


def test_converged_fits_are_at_the_minimum(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        for options in (dict(), dict(optimizer="lbfgs", standardize=False),
                        dict(engine="autograd", epochs=3000), dict(dtype="float32")):
            assert tl.fit(X, y, seed=0, **options).converged, options


def test_float32_arrays_too_small_for_float32_are_an_error_not_zeros():
    """Values float32 rounds to zero would be aliased NaN columns 'converged': refused."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(100, 2)) * [1.0, 1e-50]
    with pytest.raises(tl.InputError, match=r"too small for float32 in column\(s\) \['x2'\]"):
        tl.fit(X, X[:, 0] + 1, dtype="float32")
    assert tl.fit(X, X[:, 0] + 1, seed=0).converged  # float64 holds them


def test_a_new_observation_s_variance_is_taken_in_the_response_s_units():
    # predict.lm(pred.var = ) of a response of 2^-600: sigma's unit is 2^600, whose square
    # is beyond float64, while pred.var (2^-1000) times the unit twice is 2^200
    from torchlinreg.results.inference import prediction_intervals
    A = np.array([[1.0, 0.5], [1.0, -2.0]])
    B = np.array([[1.0, 3.0]])
    cov = np.array([[0.1, 0.01], [0.01, 0.2]])
    shrink = math.ldexp(1.0, -600)
    small = prediction_intervals(A, B * shrink, np.array([False, False]), cov, [0.5 * shrink], 10,
                                 "prediction", pred_var=math.ldexp(1.0, -1000))
    plain = prediction_intervals(A, B, np.array([False, False]), cov, [0.5], 10,
                                 "prediction", pred_var=math.ldexp(1.0, 200))
    for part in ("fit", "lwr", "upr"):
        np.testing.assert_array_equal(small[part], plain[part] * shrink)
