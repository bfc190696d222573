"""The ultramarathon tutorial's two figures, drawn from a fit's history.

Left: training and validation loss per step (log scale). Right: each
parameter's path, with the exact least-squares value as a dashed line of
the same colour. matplotlib is optional (``pip install torchlinreg[plot]``)
and imported only here; without a display the Agg backend is used.
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
    scale : {"standardized", "original"}, optional
        "standardized" (the default for a fit with ``standardize=True``)
        shows the parameters the optimizer moved, on z-scored data, where
        they are comparable in size (as in the tutorial); "original" shows
        them in the units of the data, as ``lm()`` reports them.

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
        return "standardized" if fit.settings.get("standardize", False) else "original"
    if scale not in ("standardized", "original"):
        raise ValueError(f"scale must be 'standardized' or 'original'; got {scale!r}.")
    return scale


def _standardize(scaler, output, w, b):
    """Original-scale ``w`` ``(r, q)`` and ``b`` ``(r,)`` of one output to the z-scored scale."""
    x_center, x_scale = (np.asarray(t, dtype=np.float64) for t in (scaler.x_center, scaler.x_scale))
    y_center = float(np.asarray(scaler.y_center, dtype=np.float64)[output])
    y_scale = float(np.asarray(scaler.y_scale, dtype=np.float64)[output])
    return w * x_scale / y_scale, (b - y_center + w @ x_center) / y_scale


def plot_fit(fit, path=None, *, scale=None, figsize=(11, 4.2), dpi=100):
    """Loss curves and parameter paths of ``fit`` in one figure with two panels.

    Parameters
    ----------
    fit : LinearFit
    path : str or path-like, optional
        Where to save the figure (the format follows the extension).
    scale : {"standardized", "original"}, optional
        Scale of the parameter panel; see :func:`parameter_paths`.

    Returns
    -------
    matplotlib.figure.Figure
        Its axes are ``fig.axes[0]`` (losses) and ``fig.axes[1]`` (parameters).
    """
    plt = _pyplot()
    scale = _resolve_scale(fit, scale)
    history = fit.history
    unit = "step" if fit.settings.get("batch_size") is None else "epoch"
    fig, (ax_loss, ax_par) = plt.subplots(1, 2, figsize=figsize, dpi=dpi)
    steps = history["iteration"].to_numpy()
    ax_loss.plot(steps, history["loss"].to_numpy(), label="training")
    val = history["val_loss"].to_numpy(dtype=float)
    if np.isfinite(val).any():
        ax_loss.plot(steps, val, label="validation")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel(unit)
    ax_loss.set_ylabel("mean squared error")
    ax_loss.set_title("Loss")
    ax_loss.legend()

    paths, exact = parameter_paths(fit, scale)
    for name in paths.columns:
        (line,) = ax_par.plot(paths.index, paths[name].to_numpy(), label=name)
        ax_par.axhline(exact[name], linestyle="--", color=line.get_color(), linewidth=1,
                       gid=f"exact:{name}")
    ax_par.set_xlabel(unit)
    ax_par.set_ylabel(f"value ({scale} scale)")
    ax_par.set_title("Parameters (dashed: exact least squares)")
    ax_par.legend(fontsize="small")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    return fig


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
