"""``LinearFit.summary()``: the ``summary.lm`` table, plus how the fit ended.

A :class:`Summary` is an object that prints, not a printout: it holds
DataFrames (``.tables``) built from ``LinearFit.inference`` and the fit's
history, and ``str()`` formats them. No statistic is recomputed here; the
numbers are the ones ``inference.py`` computed at the fitted coefficients.
"""

import math

import numpy as np
import pandas as pd


# R prints p-values below .Machine$double.eps as "<2e-16".
_P_FLOOR = 2.220446e-16


_STARS = ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."))


def significance_stars(p):
    """R's significance codes: ``***`` below 0.001, ``**``, ``*``, ``.`` below 0.1."""
    if p is None or not np.isfinite(p):
        return ""
    return next((mark for limit, mark in _STARS if p < limit), "")


def format_p(p):
    """A p-value as R's ``format.pval`` shows it: ``<2e-16`` below machine epsilon."""
    if p is None or not np.isfinite(p):
        return "NA"
    return "<2e-16" if p < _P_FLOOR else f"{p:.4g}"


def _number(value, spec=".6g"):
    return "NA" if value is None or not np.isfinite(value) else format(value, spec)


class Summary:
    """The summary of a :class:`~torchlinreg.LinearFit`.

    Attributes
    ----------
    coefficients : dict of str to pandas.DataFrame
        Per output: ``Estimate``, ``Std. Error``, ``t value``, ``Pr(>|t|)``
        and the 95% confidence limits, one row per term.
    model : pandas.DataFrame
        One row per output: residual standard error, its degrees of
        freedom, R², adjusted R², F statistic with its degrees of freedom
        and p-value, number of observations.
    optimization : dict
        How the fit ended: optimizer, lr, steps, epochs, converged, stop
        reason, final relative gradient norm, tolerance, and the largest
        relative difference from the exact least-squares solution.
    tables : dict of str to pandas.DataFrame
        ``"coefficients"`` (indexed by output and term), ``"model"`` and
        ``"optimization"``.
    """

    def __init__(self, fit, level=0.95):
        inference = fit.inference
        self.level = level
        self.output_names = list(inference.output_names)
        self.feature_names = list(fit.feature_names)
        self.formula = getattr(fit, "formula", None)
        self.n_dropped = getattr(fit, "n_dropped", 0)
        self.coefficients = {out: inference.table(i, level)
                             for i, out in enumerate(self.output_names)}
        self.model = pd.DataFrame({
            "sigma": inference.sigma,
            "df_residual": inference.df_residual,
            "r_squared": inference.r_squared,
            "adj_r_squared": inference.adj_r_squared,
            "f_statistic": inference.f_statistic,
            "f_df_num": inference.f_df[0],
            "f_df_den": inference.f_df[1],
            "f_p_value": inference.f_p_value,
            "n_obs": inference.n_obs,
        }, index=pd.Index(self.output_names, name="output"))
        self.optimization = _optimization(fit)

    @property
    def tables(self):
        """The three parts as DataFrames."""
        coefficients = pd.concat(self.coefficients, names=["output", "term"])
        return {"coefficients": coefficients, "model": self.model,
                "optimization": pd.DataFrame([self.optimization])}

    def __str__(self):
        parts = []
        if self.formula:
            parts.append(f"Formula: {self.formula}")
        if self.n_dropped:
            parts.append(f"({self.n_dropped} rows with missing values dropped)")
        for name, table in self.coefficients.items():
            if len(self.output_names) > 1:
                parts.append(f"Response {name}:")
            parts.append("Coefficients:")
            parts.append(_format_coefficients(table))
            parts.append(_format_model(self.model.loc[name]))
            parts.append("")
        parts.append("Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1")
        parts.append(_format_optimization(self.optimization))
        return "\n".join(parts)

    def __repr__(self):
        return self.__str__()


def _optimization(fit):
    """How the fit ended, as plain values."""
    settings = fit.settings
    compare = fit.compare()
    coefficient_rows = compare[compare["term"] != "loss"]
    rel = coefficient_rows["rel_diff"].to_numpy(dtype=float)
    finite = np.isfinite(rel)
    worst = int(np.flatnonzero(finite)[np.argmax(rel[finite])]) if finite.any() else None
    return {
        "optimizer": settings["optimizer"],
        "lr": settings["lr"],
        "batch_size": settings["batch_size"],
        "dtype": settings["dtype"],
        "engine": getattr(fit, "engine", settings.get("engine")),
        "n_iter": fit.n_iter,
        "n_steps": fit.n_steps,
        "converged": bool(fit.converged),
        "stop_reason": fit.stop_reason,
        "grad_norm": float(fit.history["grad_norm"].iloc[-1]),
        "tol": settings["tol"],
        "max_rel_diff": float(rel[worst]) if worst is not None else float("nan"),
        "max_rel_diff_term": _term_label(coefficient_rows, worst, len(fit.output_names)),
        "loss": float(fit.history["loss"].iloc[-1]),
        "val_loss": float(fit.history["val_loss"].iloc[-1]),
    }


def _term_label(rows, position, n_outputs):
    if position is None:
        return ""
    term = str(rows["term"].iloc[position])
    return term if n_outputs == 1 else f"{rows['output'].iloc[position]}:{term}"


def _format_coefficients(table):
    shown = pd.DataFrame(index=table.index)
    for column in table.columns:
        if column == "t value":
            shown[column] = [_number(v, ".4f") for v in table[column]]
        elif column == "Pr(>|t|)":
            shown[column] = [format_p(v) for v in table[column]]
        else:
            shown[column] = [_number(v) for v in table[column]]
    shown[""] = [significance_stars(p) for p in table["Pr(>|t|)"]]
    return shown.to_string()


def _format_model(row):
    lines = [f"Residual standard error: {_number(row['sigma'])} on "
             f"{int(row['df_residual'])} degrees of freedom",
             f"Multiple R-squared: {_number(row['r_squared'])},  "
             f"Adjusted R-squared: {_number(row['adj_r_squared'])}"]
    if np.isfinite(row["f_statistic"]):
        lines.append(f"F-statistic: {_number(row['f_statistic'])} on {int(row['f_df_num'])} and "
                     f"{int(row['f_df_den'])} DF,  p-value: {format_p(row['f_p_value'])}")
    return "\n".join(lines)


def _format_optimization(opt):
    batch = "full batch" if opt["batch_size"] is None else f"batch size {opt['batch_size']}"
    unit = "steps" if opt["batch_size"] is None else "epochs"
    ending = "converged" if opt["converged"] else f"not converged ({opt['stop_reason']})"
    lines = [
        f"Optimizer: {opt['optimizer']} (lr {opt['lr']:g}, {batch}, {opt['dtype']}, "
        f"engine {opt['engine']}): {opt['n_iter']} {unit}, {opt['n_steps']} updates, {ending}",
        f"Final gradient norm: {opt['grad_norm']:.3g} of its start (tol {opt['tol']:g});  "
        f"training loss {opt['loss']:.8g}"
        + ("" if not math.isfinite(opt["val_loss"]) else f", validation loss {opt['val_loss']:.8g}"),
        f"Max relative difference from exact least squares: {opt['max_rel_diff']:.3g}"
        + (f" ({opt['max_rel_diff_term']})" if opt["max_rel_diff_term"] else ""),
    ]
    return "\n".join(lines)
