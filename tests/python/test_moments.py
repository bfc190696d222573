"""engine/moments.py: the rows' weighted moments against numpy's sums, the accumulator's
independence from how rows arrive, shifting, restricting, units of a power of two, and the
scaler the moments give (R's ``sd()``, root mean squares without intercept)."""
import numpy as np
import pytest
import torch

from torchlinreg.engine import moments
from torchlinreg.engine.moments import MomentAccumulator, restrict, scaler_from_moments
from torchlinreg.errors import InputError


@pytest.fixture
def rows(rng):
    X = rng.normal(size=(200, 3)) * [1, 30, 0.01] + [5, -100, 2]
    y = 1 + X @ [0.5, 0.02, 10] + rng.normal(size=200)
    return X, y[:, None], rng.uniform(0.2, 3, 200)


def of(X, Y, w=None, **kwargs):
    as_tensor = torch.as_tensor
    return moments.moments(as_tensor(X), as_tensor(Y), None if w is None else as_tensor(w), **kwargs)


@pytest.mark.parametrize("weighted", [False, True])
def test_total_mean_and_centred_products_are_numpys(rows, weighted):
    X, Y, w = rows
    w = w if weighted else None
    mom = of(X, Y, w)
    weight = np.ones(len(X)) if w is None else w
    Z = np.column_stack([X, Y])
    mean = weight @ Z / weight.sum()
    assert mom.n_rows == mom.n_positive == 200 and mom.n_features == 3
    assert float(mom.total) == pytest.approx(weight.sum(), rel=1e-15)
    np.testing.assert_allclose(mom.mean(), mean, rtol=1e-14)
    about_mean = mom.shifted(torch.as_tensor(mean))
    centred = Z - mean
    np.testing.assert_allclose(about_mean.second, (centred * weight[:, None]).T @ centred, rtol=1e-12)
    np.testing.assert_allclose(about_mean.first, 0, atol=1e-10 * np.abs(centred).max() * weight.sum())
    # the matrix Σ w u uᵀ for u = [1, z - c]
    U = np.column_stack([np.ones(len(X)), Z - mom.center.numpy()])
    np.testing.assert_allclose(mom.matrix(), (U * weight[:, None]).T @ U, rtol=1e-11, atol=1e-9)


@pytest.mark.parametrize("intercept", [True, False])
def test_raw_gram_is_a_transpose_w_a(rows, intercept):
    X, Y, w = rows
    A = np.column_stack([np.ones(len(X)), X]) if intercept else X
    np.testing.assert_allclose(of(X, Y, w).raw_gram(intercept), (A * w[:, None]).T @ A, rtol=1e-12)


def test_shifted_moments_are_the_moments_about_the_new_centre(rows):
    X, Y, w = rows
    mom = of(X, Y, w)
    center = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    shifted = mom.shifted(center)
    D = np.column_stack([X, Y]) - center.numpy()
    np.testing.assert_allclose(shifted.first, w @ D, rtol=1e-12)
    np.testing.assert_allclose(shifted.second, (D * w[:, None]).T @ D, rtol=1e-12)
    np.testing.assert_allclose(shifted.mean(), mom.mean(), rtol=1e-14)


def test_rows_in_any_pieces_give_the_same_moments_bit_for_bit(rows, monkeypatch):
    """Chunks of 16 rows: pieces that cross chunk boundaries, and numpy columns as Arrow
    hands them, are summed exactly as the rows in one piece."""
    monkeypatch.setattr(moments, "CHUNK_ROWS", 16)
    X, Y, w = (torch.as_tensor(a) for a in rows)
    whole = of(X, Y, w)
    pieces = MomentAccumulator(3, 4, weighted=True)
    for start, stop in [(0, 1), (1, 20), (20, 21), (21, 64), (64, 133), (133, 200)]:
        columns = [X[start:stop, j].numpy() for j in range(3)]
        pieces.add(columns, [Y[start:stop, 0].numpy()], w[start:stop].numpy())
    got = pieces.result()
    for name in ("total", "center", "first", "second"):
        assert torch.equal(getattr(got, name), getattr(whole, name)), name
    assert got.n_rows == 200


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("p", [1, 4, 11, 21, 39, 70])
def test_rows_and_columns_give_the_same_moments_bit_for_bit_at_any_width(rng, p, weighted):
    """Rows in memory fill a row-major chunk and a file's columns a column-major one; the
    symmetric product of each sums the same numbers (a full chunk and a partial one)."""
    n = moments.CHUNK_ROWS + 7_000
    X = rng.normal(size=(n, p)) * rng.uniform(0.1, 100, p) + rng.uniform(-50, 50, p)
    Y = X[:, :1] * 3 + rng.normal(size=(n, 1))
    w = rng.uniform(0, 3, n) if weighted else None
    by_rows = of(X, Y, w)
    by_columns = MomentAccumulator(p, p + 1, weighted=weighted)
    by_columns.add([X[:, j] for j in range(p)], [Y[:, 0]], w)
    got = by_columns.result()
    for name in ("total", "center", "first", "second"):
        assert torch.equal(getattr(got, name), getattr(by_rows, name)), name
    Z = np.column_stack([X, Y]) - by_rows.center.numpy()
    weight = np.ones(n) if w is None else w
    expected = (Z * weight[:, None]).T @ Z
    np.testing.assert_allclose(by_rows.second.numpy(), expected, rtol=1e-12,
                               atol=1e-12 * np.abs(expected).max())


def test_an_index_picks_the_rows(rows):
    X, Y, w = rows
    index = torch.arange(3, 200, 7)
    picked = of(X, Y, w, index=index)
    direct = of(X[index.numpy()], Y[index.numpy()], w[index.numpy()])
    for name in ("total", "center", "first", "second"):
        assert torch.equal(getattr(picked, name), getattr(direct, name)), name


def test_rows_of_zero_weight_count_apart_and_log_weights_sum_over_the_positive():
    X = np.arange(8.0)[:, None]
    mom = of(X, 2 * X, np.array([0, 1, 2, 0.5, 0, 4, 0.25, 1.0]))
    assert (mom.n_rows, mom.n_positive) == (8, 6)
    assert mom.log_weight_sum == pytest.approx(np.log(2 * 0.5 * 4 * 0.25), abs=1e-15)
    assert float(mom.total) == 8.75


def test_restrict_keeps_the_chosen_features_and_every_output(rows):
    X, Y, w = rows
    kept = torch.tensor([True, False, True])
    got = restrict(of(X, Y, w), kept)
    direct = of(X[:, [0, 2]], Y, w)
    assert got.n_features == 2
    for name in ("center", "first", "second"):
        torch.testing.assert_close(getattr(got, name), getattr(direct, name), rtol=1e-13, atol=0)


def test_tiny_columns_are_summed_in_units_and_unscale_to_their_moments(rows):
    """x × 2⁻⁸⁰⁰: squares would be 0 in float64; in units of 2⁸⁰⁰ the sums are those of x
    (multiplying by a power of two is exact), and unscaled() divides the units back out."""
    X, Y, w = rows
    tiny = np.ldexp(X, -800)
    mom, plain = of(tiny, Y, w), of(X, Y, w)
    assert plain.unit is None and plain.unscaled() is plain and mom.unit[3] == 1
    factor = mom.unit * torch.tensor([2.0 ** -800] * 3 + [1.0], dtype=torch.float64)
    assert torch.equal(mom.second, plain.second * torch.outer(factor, factor))
    assert torch.equal(mom.center, plain.center * factor)
    assert torch.equal(mom.unscaled().center[:3], plain.center[:3] * 2.0 ** -800)


@pytest.mark.parametrize("first, later", [(1.0, 1e200), (1e-300, 1.0), (1.0, 1e300)])
def test_a_later_chunk_of_far_larger_values_takes_new_units(monkeypatch, first, later):
    """The first chunk sets the units; a later one far larger (its square overflowed them,
    an InputError before) re-expresses the sums in units of its own largest values: they
    are the sums of the rows in those units about the centre in them (powers of two)."""
    monkeypatch.setattr(moments, "CHUNK_ROWS", 4)
    X = np.array([[1.0], [-1.0], [2.0], [0.5], [1.5], [-2.0], [3.0], [1.0]]) * first
    X[6, 0] = 3.0 * later
    Y = X[:, ::-1] * [1.0] + 1.0 * first
    mom = of(X, Y)
    unit = mom.unit.numpy()
    assert np.frexp(unit)[0].tolist() == [0.5, 0.5]  # powers of two
    exponent = np.frexp(np.abs(X).max())[1]  # the unit of the largest values (1 within 2^±200)
    assert unit[0] == (1.0 if abs(exponent) <= 200 else np.ldexp(1.0, -exponent))
    Z = np.column_stack([X, Y]) * unit - mom.center.numpy()
    np.testing.assert_allclose(mom.second.numpy(), Z.T @ Z, rtol=1e-15)
    np.testing.assert_allclose(mom.first.numpy(), Z.sum(0), rtol=1e-15, atol=1e-15)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_weights_whose_products_overflow_even_in_units_are_an_input_error(monkeypatch):
    """Weights of 1e300 times squares of 1e10 (within the units of 1): beyond float64."""
    monkeypatch.setattr(moments, "CHUNK_ROWS", 4)
    X = np.ones((8, 1))
    X[6, 0] = 1e10
    with pytest.raises(InputError, match="weights times the squares are beyond float64"):
        of(X, X.copy(), np.full(8, 1e300))


@pytest.mark.parametrize("weighted", [False, True])
def test_the_scaler_is_rs_sd_and_the_mean_with_an_intercept(rows, weighted):
    X, Y, w = rows
    weight = w if weighted else np.ones(len(X))
    scaler = scaler_from_moments(of(X, Y, w if weighted else None), True, True, torch.float64)
    Z = np.column_stack([X, Y])
    mean = weight @ Z / weight.sum()
    # Bessel's correction by the row count: R's sd() unweighted
    sd = np.sqrt(weight @ (Z - mean) ** 2 / weight.sum() * 200 / 199)
    if not weighted:
        np.testing.assert_allclose(sd, Z.std(axis=0, ddof=1), rtol=1e-13)
    np.testing.assert_allclose(torch.cat([scaler.x_center, scaler.y_center]), mean, rtol=1e-13)
    np.testing.assert_allclose(torch.cat([scaler.x_scale, scaler.y_scale]), sd, rtol=1e-12)


def test_the_scaler_without_intercept_is_the_root_mean_square_and_without_standardizing_one(rows):
    X, Y, w = rows
    mom = of(X, Y, w)
    scaler = scaler_from_moments(mom, False, True, torch.float64)
    Z = np.column_stack([X, Y])
    assert torch.all(scaler.x_center == 0) and torch.all(scaler.y_center == 0)
    np.testing.assert_allclose(torch.cat([scaler.x_scale, scaler.y_scale]),
                               np.sqrt(w @ Z ** 2 / w.sum()), rtol=1e-12)
    identity = scaler_from_moments(mom, True, False, torch.float32)
    assert identity.x_scale.tolist() == [1, 1, 1] and identity.y_center.tolist() == [0]
    assert identity.x_scale.dtype == torch.float32


def test_a_constant_column_has_scale_one_and_a_float32_scale_out_of_range_is_an_error(rows):
    X, Y, w = rows
    X = X.copy()
    X[:, 1] = 7.0
    scaler = scaler_from_moments(of(X, Y, w), True, True, torch.float64)
    assert float(scaler.x_scale[1]) == 1.0 and float(scaler.x_center[1]) == pytest.approx(7.0)
    X[:, 1] = np.linspace(0, 1e-50, 200)
    with pytest.raises(InputError, match=r"columns \[1\] .* outside torch.float32's range"):
        scaler_from_moments(of(X, Y, w), True, True, torch.float32)


def test_the_moments_do_not_depend_on_the_blas_thread_count():
    # The last, partial chunk was summed outside the one-thread limit: numpy's BLAS woke
    # its other threads (which then spin for a tenth of a second) and rounded otherwise.
    from threadpoolctl import threadpool_limits

    from torchlinreg.engine.moments import moments
    rng = np.random.default_rng(3)
    X = torch.from_numpy(rng.standard_normal((20_000, 30)) + 5.0)
    Y = torch.from_numpy(rng.standard_normal((20_000, 2)))
    results = []
    for count in (1, 2):
        with threadpool_limits(limits=count, user_api="blas"):
            m = moments(X, Y)
        results.append((m.first, m.second))
    assert all(torch.equal(a, b) for a, b in zip(*results))
