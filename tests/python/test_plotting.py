"""LinearFit.plot(): files written, loss panel on a log scale, dashed lines at the exact values."""
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")
import torchlinreg  # noqa: E402
from torchlinreg.results.plotting import parameter_paths, plot_line  # noqa: E402

PREDICTORS = ["a", "b", "c"]


@pytest.fixture(scope="module")
def fit():
    X, y, _ = torchlinreg.simulate(200, 3, noise=0.5, seed=4)
    X = pd.DataFrame(X * [1.0, 10.0, 100.0] + [0.0, 5.0, -50.0], columns=PREDICTORS)
    return torchlinreg.fit(X, y + 3.0, validation=0.2, seed=1)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt
    plt.close("all")


def dashed_lines(axes):
    return {line.get_gid()[len("exact:"):]: line.get_ydata()[0]
            for ax in axes for line in ax.get_lines()
            if line.get_linestyle() == "--" and (line.get_gid() or "").startswith("exact:")}


@pytest.mark.parametrize("suffix", ["png", "pdf", "svg"])
def test_plot_is_written(fit, tmp_path, suffix):
    path = tmp_path / f"fit.{suffix}"
    fig = fit.plot(path)
    assert path.exists() and path.stat().st_size > 1000
    assert len(fig.axes) == 2 + 4  # loss, gradient norm, one panel per parameter


def test_loss_panel_has_training_and_validation_on_log_scale(fit):
    ax_loss = fit.plot().axes[0]
    assert ax_loss.get_yscale() == "log"
    lines = ax_loss.get_lines()
    assert [line.get_label() for line in lines] == ["training", "validation", "exact (training)"]
    np.testing.assert_array_equal(lines[0].get_ydata(), fit.history["loss"])
    np.testing.assert_array_equal(lines[1].get_ydata(), fit.history["val_loss"])
    assert lines[2].get_ydata()[0] == pytest.approx(fit.loss(exact=True), rel=1e-12)
    assert len(lines[0].get_xdata()) == fit.n_iter + 1


def _labelled_ticks(fig, ax):
    fig.canvas.draw()
    low, high = ax.get_ylim()
    return [t for t in ax.get_yticklabels()
            if t.get_text() and low <= t.get_position()[1] <= high]


def test_log_axes_have_enough_labelled_ticks_to_read_the_loss(fit):
    """Was: one or two labels on a loss axis spanning less than a decade."""
    fig = fit.plot()
    ax_loss, ax_grad = fig.axes[:2]
    assert len(_labelled_ticks(fig, ax_loss)) >= 4
    assert len(_labelled_ticks(fig, ax_grad)) >= 4
    assert f"{fit.history['loss'].iloc[-1]:.6g}" in ax_loss.get_title()


def test_gradient_norm_panel_shows_the_tolerance(fit):
    ax = fit.plot().axes[1]
    line = ax.get_lines()[0]
    np.testing.assert_array_equal(line.get_ydata(), fit.history["grad_norm"])
    tol = [l for l in ax.get_lines() if l.get_gid() == "tol"]
    assert tol and tol[0].get_ydata()[0] == fit.settings["tol"]
    assert ax.get_yscale() == "log"


def test_legends_cover_no_curve(fit, tmp_path):
    fig = fit.plot(tmp_path / "fit.png")
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes[:2]:
        legend = ax.get_legend().get_window_extent(renderer)
        assert legend.y0 >= ax.get_window_extent(renderer).y1  # above the axes
    assert all(ax.get_legend() is None for ax in fig.axes[2:])


def test_parameter_paths_are_on_the_original_scale_by_default(fit):
    """Was: the standardized scale, while the summary reports the original one."""
    axes = fit.plot().axes[2:]
    weight, bias = fit.exact
    expected = {"(Intercept)": bias[0], **dict(zip(PREDICTORS, weight[0]))}
    dashed = dashed_lines(axes)
    assert set(dashed) == set(expected)
    for name, value in expected.items():
        assert dashed[name] == pytest.approx(value, rel=1e-12)
    solid = {line.get_label(): line for ax in axes for line in ax.get_lines()
             if line.get_linestyle() == "-"}
    np.testing.assert_array_equal(solid["b"].get_ydata(), fit.history["b"])
    assert [ax.get_title().split(" = ")[0] for ax in axes] == fit.term_names


def test_standardized_scale_dashed_lines_are_the_standardized_solution(fit):
    dashed = dashed_lines(fit.plot(scale="standardized").axes[2:])
    np.testing.assert_allclose([dashed[n] for n in PREDICTORS], fit.coef_standardized, rtol=1e-8)
    assert dashed["(Intercept)"] == pytest.approx(fit.intercept_standardized, abs=1e-10)
    paths, exact = parameter_paths(fit, "standardized")
    assert list(paths.columns) == ["(Intercept)"] + PREDICTORS
    np.testing.assert_allclose(paths.iloc[-1].to_numpy(), list(exact.values()), rtol=1e-8, atol=1e-12)


def test_two_outputs_and_no_validation():
    fruit = torchlinreg.datasets.fruit()
    fit = torchlinreg.fit(fruit[["temperature", "rainfall", "humidity"]],
                          fruit[["apples", "oranges"]], seed=1)
    fig = fit.plot()
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["training",
                                                                      "exact (training)"]
    dashed = dashed_lines(fig.axes[2:])
    assert dashed["oranges:rainfall"] == pytest.approx(fit.exact[0][1, 1], rel=1e-12)
    assert len(dashed) == 8 and len(fig.axes) == 10


def test_regression_line_plot(tmp_path):
    data = torchlinreg.datasets.one_variable()
    fit = torchlinreg.fit(data[["x"]], data["y"], seed=1)
    fig = plot_line(fit, data["x"], data["y"], tmp_path / "line.png")
    assert (tmp_path / "line.png").exists()
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["data", "gradient descent", "exact least squares"]
    with pytest.raises(ValueError, match="one predictor"):
        plot_line(torchlinreg.fit(np.c_[data["x"], data["x"] ** 2], data["y"], seed=1),
                  data["x"], data["y"])


def test_unknown_scale_is_an_error(fit):
    with pytest.raises(ValueError, match="scale"):
        fit.plot(scale="log")
