"""A fit's history as one figure: loss, gradient norm and each parameter's path.

Top: training and validation loss (log scale, with the exact least-squares
loss dashed) and the relative gradient norm that convergence is judged by
(log scale, ``tol`` dashed). Below: one small panel per parameter, its path
on the original scale (as ``summary()`` reports it) with the exact value
dashed; panels of their own, since an intercept of 6e4 and a slope of 5
share no useful axis. Legends sit above the panels, over no curve.
matplotlib is optional (``pip install torchlinreg[plot]``) and imported
only here; without a display the Agg backend is used.
"""

import os
import sys

import numpy as np


def _pyplot():
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError("plotting needs matplotlib: pip install matplotlib "
                          "(or torchlinreg[plot]).") from error
    headless = sys.platform.startswith("linux") and not os.environ.get("DISPLAY") \
        and not os.environ.get("WAYLAND_DISPLAY")
    if headless and "MPLBACKEND" not in os.environ and "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def parameter_paths(fit, scale=None):
    """Each parameter's path and its exact least-squares value.

    Parameters
    ----------
    fit : LinearFit
    scale : {"original", "standardized"}, optional
        "original" (the default) shows the parameters in the units of the
        data, as ``summary()`` and ``lm()`` report them; "standardized" the
        parameters the optimizer moved, on z-scored data (as in the tutorial).

    Returns
    -------
    paths : pandas.DataFrame
        One column per parameter (``output:term`` with several outputs), one
        row per history row.
    exact : dict of str to float
        The exact least-squares value of each parameter on the same scale.
    """
    scale = _resolve_scale(fit, scale)
    history = fit.history
    weight, bias = fit.exact
    intercept = fit.settings["intercept"]
    kept = np.flatnonzero(~np.asarray(fit.aliased))
    one = len(fit.output_names) == 1
    paths, exact = {}, {}
    for i, out in enumerate(fit.output_names):
        label = (lambda term: term) if one else (lambda term, out=out: f"{out}:{term}")
        w_path = np.column_stack([history[label(fit.feature_names[j])].to_numpy() for j in kept]) \
            if len(kept) else np.zeros((len(history), 0))
        b_path = history[label("(Intercept)")].to_numpy() if intercept else np.zeros(len(history))
        w_exact, b_exact = weight[i, kept], float(bias[i])
        if scale == "standardized":
            w_path, b_path = _standardize(fit.scaler, i, w_path, b_path)
            w_exact, b_exact = _standardize(fit.scaler, i, w_exact[None, :], np.array([b_exact]))
            w_exact, b_exact = w_exact[0], float(b_exact[0])
        if intercept:
            paths[label("(Intercept)")] = b_path
            exact[label("(Intercept)")] = b_exact
        for column, j in enumerate(kept):
            paths[label(fit.feature_names[j])] = w_path[:, column]
            exact[label(fit.feature_names[j])] = float(w_exact[column])
    import pandas as pd
    return pd.DataFrame(paths, index=history["iteration"].to_numpy()), exact


def _resolve_scale(fit, scale):
    if scale is None:
        return "original"
    if scale not in ("standardized", "original"):
        raise ValueError(f"scale must be 'standardized' or 'original'; got {scale!r}.")
    return scale


def _standardize(scaler, output, w, b):
    """Original-scale ``w`` ``(r, q)`` and ``b`` ``(r,)`` of one output to the z-scored scale."""
    x_center, x_scale = (np.asarray(t, dtype=np.float64) for t in (scaler.x_center, scaler.x_scale))
    y_center = float(np.asarray(scaler.y_center, dtype=np.float64)[output])
    y_scale = float(np.asarray(scaler.y_scale, dtype=np.float64)[output])
    return w * x_scale / y_scale, (b - y_center + w @ x_center) / y_scale


# Parameter panels per row of the figure.
PANELS_PER_ROW = 4


def plot_fit(fit, path=None, *, scale=None, figsize=None, dpi=150):
    """Loss, gradient norm and parameter paths of ``fit`` in one figure.

    Parameters
    ----------
    fit : LinearFit
    path : str or path-like, optional
        Where to save the figure (the format follows the extension).
    scale : {"original", "standardized"}, optional
        Scale of the parameter panels; see :func:`parameter_paths`.
    figsize : (float, float), optional
        Default: 10 inches wide, 2.8 for the top row and 1.9 per row of
        parameter panels.
    dpi : int, default 150

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]`` holds the losses, ``fig.axes[1]`` the gradient norm,
        ``fig.axes[2:]`` one parameter each (in ``term_names`` order).
    """
    plt = _pyplot()
    scale = _resolve_scale(fit, scale)
    paths, exact = parameter_paths(fit, scale)
    rows = -(-len(paths.columns) // PANELS_PER_ROW)
    fig = plt.figure(figsize=figsize or (10, 2.8 + 1.9 * rows), dpi=dpi, layout="constrained")
    # Two subfigures, so that the parameter panels are not aligned to the top panels' labels.
    top, bottom = fig.subfigures(2, 1, height_ratios=[2.8, 1.9 * rows])
    ax_loss, ax_grad = top.subplots(1, 2)
    unit = "step" if fit.settings.get("batch_size") is None else "epoch"
    steps = fit.history["iteration"].to_numpy()
    _loss_panel(ax_loss, fit, steps, unit)
    _gradient_panel(ax_grad, fit, steps, unit)
    grid = bottom.add_gridspec(rows, PANELS_PER_ROW)
    for k, name in enumerate(paths.columns):
        ax = bottom.add_subplot(grid[k // PANELS_PER_ROW, k % PANELS_PER_ROW])
        _parameter_panel(ax, paths.index, paths[name].to_numpy(), exact[name], name,
                         unit if k // PANELS_PER_ROW == rows - 1 else None)
    fig.suptitle(f"{fit.settings['optimizer']}, {fit.n_steps} updates; parameters on the "
                 f"{scale} scale; dashed: exact least squares", fontsize="medium")
    if path is not None:
        fig.savefig(path)
    return fig


def _readable_log_axis(ax, values):
    """Enough labelled ticks on a log axis to read values off it, however narrow its range."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size and values.max() / values.min() < 100:
        # Under two decades a log axis labels one or two ticks: put six, evenly spaced on
        # the log scale from the lowest value to the highest, at two significant digits.
        ticks = np.geomspace(values.min(), values.max(), 6)
        digits = 1 - np.floor(np.log10(ticks)).astype(int)
        ticks = np.unique([round(t, d) for t, d in zip(ticks, digits)])
        ax.yaxis.set_major_locator(FixedLocator(ticks))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _short(v)))
        ax.yaxis.set_minor_formatter(NullFormatter())
    else:
        ax.yaxis.set_major_locator(LogLocator(base=10, numticks=8))


def _short(value):
    """``3.6e8`` rather than ``3.6e+08``: a tick label that stays short."""
    text = f"{value:.4g}"
    mantissa, _, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else text


def _loss_panel(ax, fit, steps, unit):
    loss = fit.history["loss"].to_numpy(dtype=float)
    ax.plot(steps, loss, label="training", color="C0")
    val = fit.history["val_loss"].to_numpy(dtype=float)
    shown = [loss]
    if np.isfinite(val).any():
        ax.plot(steps, val, label="validation", color="C1")
        shown.append(val)
    exact = fit.loss(exact=True) if _has_loss(fit) else None
    if exact is not None and exact > 0:
        ax.axhline(exact, linestyle="--", color="0.3", linewidth=1, label="exact (training)",
                   gid="exact:loss")
        shown.append([exact])
    ax.set_yscale("log")
    _readable_log_axis(ax, np.concatenate(shown))
    ax.set_xlabel(unit)
    ax.set_ylabel("mean squared error")
    ax.set_title(f"Loss (final training {loss[-1]:.6g})", fontsize="medium")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.12), ncol=3, frameon=False,
              fontsize="small", borderaxespad=0)
    ax.grid(True, which="major", alpha=0.3)


def _has_loss(fit):
    from ..errors import MissingDataError
    try:
        fit.loss(exact=True)
    except MissingDataError:
        return False
    return True


def _gradient_panel(ax, fit, steps, unit):
    grad = fit.history["grad_norm"].to_numpy(dtype=float)
    positive = np.where(grad > 0, grad, np.nan)
    ax.plot(steps, positive, color="C2", label="gradient norm / start")
    tol = fit.settings.get("tol")
    if tol:
        ax.axhline(tol, linestyle="--", color="0.3", linewidth=1, label=f"tol = {tol:g}",
                   gid="tol")
    ax.set_yscale("log")
    _readable_log_axis(ax, np.concatenate([positive, [tol] if tol else []]))
    ax.set_xlabel(unit)
    ax.set_ylabel("relative gradient norm")
    ending = "converged" if fit.converged else f"stopped: {fit.stop_reason}"
    ax.set_title(f"Gradient norm ({ending} after {fit.n_iter} {unit}s)", fontsize="medium")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.12), ncol=2, frameon=False,
              fontsize="small", borderaxespad=0)
    ax.grid(True, which="major", alpha=0.3)


def _parameter_panel(ax, steps, path, exact, name, xlabel):
    ax.plot(steps, path, color="C0", linewidth=1.2, label=name)
    ax.axhline(exact, linestyle="--", color="0.3", linewidth=1, gid=f"exact:{name}")
    ax.set_title(f"{name} = {path[-1]:.6g}", fontsize="small")
    ax.tick_params(labelsize="x-small")
    ax.yaxis.get_offset_text().set_fontsize("x-small")
    ax.grid(True, alpha=0.3)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize="small")


def plot_line(fit, x, y, path=None, *, figsize=(6, 4.5), dpi=100):
    """The one-variable tutorial's plot: the data and the fitted regression line.

    The exact least-squares line is drawn dashed on top, for comparison.

    Parameters
    ----------
    fit : LinearFit
        A fit with one predictor and one output.
    x, y : array-like, shape (n,)
    path : str or path-like, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if len(fit.feature_names) != 1 or len(fit.output_names) != 1:
        raise ValueError("plot_line needs a fit with one predictor and one output; "
                         f"this one has {len(fit.feature_names)} and {len(fit.output_names)}.")
    plt = _pyplot()
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    grid = np.linspace(x.min(), x.max(), 100)
    weight, bias = fit.exact
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
    ax.plot(x, y, "o", color="green", alpha=0.6, label="data")
    ax.plot(grid, fit.predict(grid[:, None]), label="gradient descent")
    ax.plot(grid, grid * weight[0, 0] + bias[0], "--", color="black", linewidth=1,
            label="exact least squares")
    ax.set_xlabel(fit.feature_names[0])
    ax.set_ylabel(fit.output_names[0])
    ax.legend(loc="best")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    return fig
