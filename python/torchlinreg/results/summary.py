"""``LinearFit.summary()``: the ``summary.lm`` table, plus how the fit ended.

A :class:`Summary` is an object that prints, not a printout: it holds
DataFrames (``.tables``) built from ``LinearFit.inference`` and the fit's
history, and ``str()`` formats them. No statistic is recomputed here; the
numbers are the ones ``inference.py`` computed at the fitted coefficients.
pandas is imported where a table is made: R's bridge imports this module for
:func:`fit_description`, on a fit's path, which needs no pandas.
"""

import datetime
import html
import math
import textwrap

import numpy as np

from ..engine.scaling import RANGE_EXPONENT
from ..errors import InputError, MissingDataError, ShapeError


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
        and the 95% confidence limits, one row per term; from the fit's
        covariance (``cov_type``), with ``z value`` and ``Pr(>|z|)`` where it
        uses the normal distribution (``use_t`` False).
    cov_type, cov_description : str
        The fit's covariance (statsmodels' ``cov_type``, ``"nonrobust"`` unless
        it is a result of ``get_robustcov_results``) and what it is.
    model : pandas.DataFrame
        One row per output: residual standard error, its degrees of
        freedom, R², adjusted R², F statistic with its degrees of freedom
        and p-value, number of observations, log-likelihood, AIC and BIC
        (R's, σ counted), condition number of the design.
    diagnostics : pandas.DataFrame
        One row per output, from the (weighted) residuals, as statsmodels'
        summary: Durbin–Watson, Omnibus (D'Agostino's K²) and Jarque–Bera
        with their p-values, skew and kurtosis. NaN for a fit without its rows.
    residuals : pandas.DataFrame
        One row per output: the quantiles of the (weighted) residuals that
        ``print.summary.lm`` shows (``Min``, ``1Q``, ``Median``, ``3Q``, ``Max``).
    optimization : dict
        How the fit ended: its description (:func:`fit_description`, the
        sentence R prints too), optimizer, lr, steps, epochs, converged, stop
        reason, final relative gradient norm, tolerance, and the largest
        relative difference from the exact least-squares solution.
    tables : dict of str to pandas.DataFrame
        ``"coefficients"`` (indexed by output and term), ``"model"``,
        ``"residuals"``, ``"diagnostics"`` and ``"optimization"``.
    """

    def __init__(self, fit, level=0.95):
        import pandas as pd
        inference = fit.inference
        self.level = level
        self.output_names = list(inference.output_names)
        self.feature_names = list(fit.feature_names)
        self.formula = getattr(fit, "formula", None)
        self.n_dropped = getattr(fit, "n_dropped", 0)
        self.cov_type, self.use_t = fit.cov_type, fit.use_t
        self.cov_description = fit.cov_kwds["description"]
        f_stat, f_p, f_df_den = inference.f_statistic, inference.f_p_value, inference.f_df[1]
        if self._robust:
            self.coefficients = {out: _coefficient_table(fit, i, level)
                                 for i, out in enumerate(self.output_names)}
            f_stat, f_p = np.atleast_1d(fit.fvalue), np.atleast_1d(fit.f_pvalue)
            f_df_den = fit.df_resid_inference
        else:
            self.coefficients = {out: inference.table(i, level)
                                 for i, out in enumerate(self.output_names)}
        self.model = pd.DataFrame({
            "sigma": inference.sigma,
            "df_residual": inference.df_residual,
            "r_squared": inference.r_squared,
            "adj_r_squared": inference.adj_r_squared,
            "f_statistic": f_stat,
            "f_df_num": inference.f_df[0],
            "f_df_den": f_df_den,
            "f_p_value": f_p,
            "n_obs": inference.n_obs,
            "llf": np.atleast_1d(_or_nan(lambda: fit.llf)),
            "aic": np.atleast_1d(_or_nan(lambda: fit.aic)),
            "bic": np.atleast_1d(_or_nan(lambda: fit.bic)),
            "condition_number": fit.condition_number,
        }, index=pd.Index(self.output_names, name="output"))
        residuals = _or_nan(fit._weighted_resid)
        self.residuals = _residual_quantiles(residuals, self.output_names)
        self.diagnostics = _diagnostics(residuals, self.output_names)
        self.optimization = _optimization(fit)

    @property
    def _robust(self):
        """Whether the numbers are other than ``summary.lm``'s: a robust covariance, or
        the normal distribution."""
        return self.cov_type != "nonrobust" or not self.use_t

    @property
    def tables(self):
        """The three parts as DataFrames."""
        import pandas as pd
        coefficients = pd.concat(self.coefficients, names=["output", "term"])
        return {"coefficients": coefficients, "model": self.model, "residuals": self.residuals,
                "diagnostics": self.diagnostics,
                "optimization": pd.DataFrame([self.optimization])}

    def __str__(self):
        parts = []
        if self.formula:
            parts.append(f"Formula: {self.formula}")
        if self.n_dropped:
            parts.append(f"({self.n_dropped} rows with missing values dropped)")
        if self._robust:
            parts.append(f"Covariance Type: {self.cov_type}")
            parts.append(self.cov_description)
        for name, table in self.coefficients.items():
            if len(self.output_names) > 1:
                parts.append(f"Response {name}:")
            if np.isfinite(self.residuals.loc[name]).all():
                parts.append("Residuals:")
                parts.append(self.residuals.loc[[name]].to_string(
                    index=False, float_format=lambda v: f"{v:.5g}"))
            parts.append("Coefficients:")
            parts.append(_format_coefficients(table))
            parts.append(_format_model(self.model.loc[name]))
            parts.append(_format_diagnostics(self.model.loc[name], self.diagnostics.loc[name]))
            parts.append("")
        parts.append("Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1")
        parts.append(_format_optimization(self.optimization))
        return "\n".join(parts)

    def __repr__(self):
        return self.__str__()

    def _repr_html_(self):
        """The summary as HTML tables, for notebooks."""
        import pandas as pd
        parts = [f"<p><b>Formula:</b> {html.escape(self.formula)}</p>" if self.formula else ""]
        if self._robust:
            parts.append(f"<p>Covariance Type: {html.escape(self.cov_type)}. "
                         f"{html.escape(self.cov_description)}</p>")
        for name, table in self.coefficients.items():
            if len(self.output_names) > 1:
                parts.append(f"<p><b>Response {html.escape(str(name))}</b></p>")
            parts.append(table.to_html(float_format=lambda v: f"{v:.6g}"))
        model = pd.concat([self.model, self.diagnostics], axis=1)
        parts.append(model.to_html(float_format=lambda v: f"{v:.6g}"))
        opt = self.optimization
        parts.append(f"<p>{html.escape(opt['description'])} Final gradient norm "
                     f"{opt['grad_norm']:.3g} of its start; max relative difference from exact "
                     f"least squares {opt['max_rel_diff']:.3g}.</p>")
        return "\n".join(parts)

    # statsmodels' export methods (its iolib.summary.Summary): strings of the same tables.

    def as_text(self):
        """The summary as text: what ``str()`` prints."""
        return self.__str__()

    def as_html(self):
        """The summary as HTML tables: what a notebook shows (``_repr_html_``)."""
        return self._repr_html_()

    def as_latex(self):
        """The summary as LaTeX: a ``tabular`` of coefficients per output, then one of the
        model statistics and diagnostics per output (numbers to 6 significant digits)."""
        import pandas as pd
        parts = []
        if self.formula:
            parts.append(f"% Formula: {self.formula}")
        if self._robust:
            parts.append(f"% Covariance Type: {self.cov_type}. {self.cov_description}")
        for name, table in self.coefficients.items():
            if len(self.output_names) > 1:
                parts.append(f"% Response {name}")
            parts.append(_latex_tabular(table, _number))
        model = pd.concat([self.model, self.diagnostics], axis=1)
        parts.append(_latex_tabular(model.T, _number))
        parts.append(_latex_escape(self.optimization["description"]))
        return "\n\n".join(parts)

    def as_csv(self):
        """The summary's tables as CSV, one after another with a blank line between them:
        ``coefficients`` (indexed by output and term), ``model`` with ``diagnostics``
        (one row per output) and ``optimization``; numbers in full precision, so that
        ``pandas.read_csv`` of a section gives them back exactly."""
        import pandas as pd
        tables = self.tables
        model = pd.concat([self.model, self.diagnostics], axis=1)
        return "\n".join([tables["coefficients"].to_csv(), model.to_csv(),
                          tables["optimization"].to_csv(index=False)])


class Summary2:
    """statsmodels' ``summary2()`` of a :class:`~torchlinreg.LinearFit` with one output.

    Attributes
    ----------
    tables : list of pandas.DataFrame
        As statsmodels': first the model information (four columns of
        strings: name, value, name, value), then the coefficients (``Coef.``,
        ``Std.Err.``, ``t``, ``P>|t|``, ``[0.025``, ``0.975]``; ``z`` and
        ``P>|z|`` under the normal distribution) from the fit's ``params``,
        ``bse``, ``tvalues``, ``pvalues`` and ``conf_int`` (its covariance,
        robust or not), then the residual diagnostics (as the first). The AIC and
        BIC are the fit's own (R's, σ counted: statsmodels' are 2 and log(n) less).
    title : str
    extra_txt : list of str
        How the fit ended, and the covariance where it is robust.
    float_format : str
        The ``%`` format of the coefficients in the text, HTML and LaTeX.
    """

    def __init__(self, fit, yname=None, xname=None, title=None, alpha=0.05, float_format="%.4f"):
        import pandas as pd
        if len(fit.output_names) != 1:
            raise ShapeError(f"summary2() describes one output; this fit has "
                             f"{len(fit.output_names)} ({', '.join(fit.output_names)}): use "
                             "summary(), or fit each output alone")
        if not 0 < alpha < 1:
            raise InputError(f"alpha must be between 0 and 1, not {alpha!r}")
        terms = list(fit.term_names)
        if xname is not None:
            if isinstance(xname, str) or len(xname) != len(terms):
                raise InputError(f"xname needs one name per coefficient ({len(terms)}: "
                                 f"{', '.join(terms)}), not {xname!r}")
            terms = [str(name) for name in xname]
        z = "t" if fit.use_t else "z"
        limits = np.asarray(fit.conf_int(1 - alpha))
        coefficients = pd.DataFrame({
            "Coef.": np.asarray(fit.params, dtype=float),
            "Std.Err.": np.asarray(fit.bse, dtype=float),
            z: np.asarray(fit.tvalues, dtype=float),
            f"P>|{z}|": np.asarray(fit.pvalues, dtype=float),
            f"[{alpha / 2}": limits[:, 0], f"{1 - alpha / 2}]": limits[:, 1],
        }, index=terms)
        settings = fit.settings
        info = {
            "Model:": "LinearFit",
            "Dependent Variable:": fit.output_names[0] if yname is None else str(yname),
            "Date:": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "No. Observations:": f"{int(fit.nobs)}",
            "Df Model:": f"{int(fit.df_model)}",
            "Df Residuals:": f"{int(fit.df_resid)}",
            "Cov. Type:": fit.cov_type,
            "Method:": f"{settings['optimizer']} (lr {settings['lr']:g})",
            "Converged:": str(bool(fit.converged)),
            "No. Iterations:": f"{int(fit.n_iter)}",
            ("R-squared:" if settings["intercept"] else "R-squared (uncentered):"):
                _number(float(fit.rsquared), ".3f"),
            ("Adj. R-squared:" if settings["intercept"] else "Adj. R-squared (uncentered):"):
                _number(float(fit.rsquared_adj), ".3f"),
            "AIC:": _number(_or_nan(lambda: float(fit.aic)), ".4f"),
            "BIC:": _number(_or_nan(lambda: float(fit.bic)), ".4f"),
            "Log-Likelihood:": _number(_or_nan(lambda: float(fit.llf)), ".5g"),
            "F-statistic:": _number(float(fit.fvalue), ".4g"),
            "Prob (F-statistic):": _number(float(fit.f_pvalue), ".3g"),
            "Scale:": _number(float(fit.scale), ".5g"),
        }
        diagnostics = _diagnostics(_or_nan(fit._weighted_resid), fit.output_names).iloc[0]
        diagnostic = {
            "Omnibus:": _number(diagnostics["omnibus"], ".3f"),
            "Prob(Omnibus):": _number(diagnostics["omnibus_p"], ".3f"),
            "Skew:": _number(diagnostics["skew"], ".3f"),
            "Kurtosis:": _number(diagnostics["kurtosis"], ".3f"),
            "Durbin-Watson:": _number(diagnostics["durbin_watson"], ".3f"),
            "Jarque-Bera (JB):": _number(diagnostics["jarque_bera"], ".3f"),
            "Prob(JB):": _number(diagnostics["jarque_bera_p"], ".3f"),
            "Condition No.:": _number(float(fit.condition_number), ".4g"),
        }
        self.tables = [_pairs(info), coefficients, _pairs(diagnostic)]
        self.title = "Results: linear regression by gradient descent" if title is None else title
        self.float_format = float_format
        self.extra_txt = [fit_description(fit)]
        if fit.cov_type != "nonrobust":
            self.extra_txt.append(f"Covariance Type: {fit.cov_type}. "
                                  f"{fit.cov_kwds['description']}")

    def _cell(self, value):
        return self.float_format % value if isinstance(value, (float, np.floating)) else str(value)

    def _shown(self):
        """The tables as strings, the coefficients in ``float_format``."""
        coefficients = self.tables[1].map(self._cell)
        return [self.tables[0], coefficients, self.tables[2]]

    def __str__(self):
        return self.as_text()

    def __repr__(self):
        return self.as_text()

    def _repr_html_(self):
        return self.as_html()

    def as_text(self):
        """The tables as text between rules, the title centred above, the notes below."""
        info, coefficients, diagnostic = self._shown()
        blocks = [_text_pairs(info), coefficients.to_string(), _text_pairs(diagnostic)]
        width = max(len(line) for block in blocks for line in block.splitlines())
        rule = "-" * width
        lines = [self.title.center(width).rstrip(), "=" * width, blocks[0], rule, blocks[1],
                 rule, blocks[2], "=" * width]
        lines += [textwrap.fill(note, width) for note in self.extra_txt]
        return "\n".join(lines)

    def as_html(self):
        """The tables as HTML ``<table>`` elements, the notes after them."""
        info, coefficients, diagnostic = self._shown()
        parts = [f"<p><b>{html.escape(self.title)}</b></p>",
                 info.to_html(index=False, header=False),
                 coefficients.to_html(),
                 diagnostic.to_html(index=False, header=False)]
        parts += [f"<p>{html.escape(note)}</p>" for note in self.extra_txt]
        return "\n".join(parts)

    def as_latex(self, label=""):
        """The tables as LaTeX ``tabular`` environments in one ``table``, captioned with the
        title (and labelled with ``label``), the notes after it, as statsmodels'."""
        info, coefficients, diagnostic = self._shown()
        tabulars = [_latex_tabular(info, str, index=False, header=False),
                    _latex_tabular(coefficients, str),
                    _latex_tabular(diagnostic, str, index=False, header=False)]
        body = "\n".join(["\\begin{table}", f"\\caption{{{_latex_escape(self.title)}}}",
                          f"\\label{{{label}}}", "\n\n".join(tabulars), "\\end{table}"])
        return body + "\n\\bigskip\n" + " \\newline\n".join(
            _latex_escape(note) for note in self.extra_txt)

    def as_csv(self):
        """The three tables as CSV, a blank line between them; the coefficients in full
        precision."""
        return "\n".join([self.tables[0].to_csv(index=False, header=False),
                          self.tables[1].to_csv(),
                          self.tables[2].to_csv(index=False, header=False)])


def _pairs(items):
    """statsmodels' ``add_dict`` layout: name, value, name, value in four columns of strings."""
    import pandas as pd
    rows = list(items.items())
    if len(rows) % 2:
        rows.append(("", ""))
    half = len(rows) // 2
    return pd.DataFrame([[*rows[i], *rows[half + i]] for i in range(half)])


def _text_pairs(table):
    widths = [max(len(str(v)) for v in table[c]) for c in table.columns]
    return "\n".join(f"{r[0]:<{widths[0]}} {r[1]:>{widths[1]}}    {r[2]:<{widths[2]}} "
                     f"{r[3]:>{widths[3]}}".rstrip() for r in table.itertuples(index=False))


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}


def _latex_escape(text):
    return "".join(_LATEX_SPECIAL.get(c, c) for c in str(text))


def _latex_tabular(table, cell, index=True, header=True):
    """A DataFrame as a LaTeX ``tabular`` (written here: pandas' ``to_latex`` needs jinja2,
    which torchlinreg does not depend on); ``cell`` formats each value."""
    n_index = table.index.nlevels if index else 0
    # statsmodels' layout: name/value pairs (no header, no index) are names left, values right.
    columns = "r" * table.shape[1] if index or header else "lr" * (table.shape[1] // 2)
    spec = "l" * n_index + columns
    lines = [f"\\begin{{tabular}}{{{spec}}}", r"\hline"]
    if header:
        names = [""] * n_index + [str(c) for c in table.columns]
        lines += [" & ".join(_latex_escape(n) for n in names) + r" \\", r"\hline"]
    for key, row in zip(table.index, table.itertuples(index=False)):
        keys = (key if isinstance(key, tuple) else (key,)) if index else ()
        lines.append(" & ".join([_latex_escape(k) for k in keys]
                                + [_latex_escape(cell(v)) for v in row]) + r" \\")
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines)


def _coefficient_table(fit, output, level):
    """The coefficient table of one output from the fit's ``params``, ``bse``, ``tvalues``,
    ``pvalues`` and ``conf_int`` (its covariance and distribution)."""
    import pandas as pd

    def one(values):
        values = np.asarray(values)
        return values if len(fit.output_names) == 1 else values[output]
    limits = one(fit.conf_int(level))
    z = "t" if fit.use_t else "z"
    pct = [f"{100 * (1 - level) / 2:g} %", f"{100 * (1 + level) / 2:g} %"]
    return pd.DataFrame({
        "Estimate": one(fit.params), "Std. Error": one(fit.bse), f"{z} value": one(fit.tvalues),
        f"Pr(>|{z}|)": one(fit.pvalues), pct[0]: limits[:, 0], pct[1]: limits[:, 1],
    }, index=fit.term_names)


def _or_nan(compute):
    """``compute()``, or NaN when the fit lacks the rows it needs (a fit from files)."""
    try:
        return compute()
    except MissingDataError:
        return np.nan


def _residual_quantiles(residuals, names):
    """``quantile(weighted.residuals(fit))`` as ``print.summary.lm`` shows it, per output."""
    import pandas as pd
    columns = ["Min", "1Q", "Median", "3Q", "Max"]
    if np.ndim(residuals) == 0:
        return pd.DataFrame(np.nan, index=pd.Index(names, name="output"), columns=columns)
    rows = [np.quantile(e[np.isfinite(e)], [0, 0.25, 0.5, 0.75, 1]) for e in residuals.T]
    return pd.DataFrame(rows, index=pd.Index(names, name="output"), columns=columns)


def _diagnostics(residuals, names):
    """statsmodels' residual diagnostics, per output (NaN without the rows)."""
    import pandas as pd
    columns = ["durbin_watson", "omnibus", "omnibus_p", "jarque_bera", "jarque_bera_p",
               "skew", "kurtosis"]
    if np.ndim(residuals) == 0:
        return pd.DataFrame(np.nan, index=pd.Index(names, name="output"), columns=columns)
    return pd.DataFrame([residual_diagnostics(e[np.isfinite(e)]) for e in residuals.T],
                        index=pd.Index(names, name="output"), columns=columns)


def residual_diagnostics(e):
    """Durbin–Watson, Omnibus and its p, Jarque–Bera and its p, skew, kurtosis of residuals ``e``.

    As statsmodels' ``durbin_watson``, ``omni_normtest`` (scipy's
    ``normaltest``, which needs 8 rows; NaN below) and ``jarque_bera``.
    """
    from scipy import stats  # imported on first use, off the fit path (issue 19)
    e = _in_power_of_two_units(e)
    dw = float(np.sum(np.diff(e) ** 2) / np.sum(e ** 2))
    omnibus, omnibus_p = stats.normaltest(e) if len(e) >= 8 else (np.nan, np.nan)
    skew, kurtosis = float(stats.skew(e)), float(stats.kurtosis(e, fisher=False))
    jb = len(e) / 6 * (skew ** 2 + (kurtosis - 3) ** 2 / 4)
    return [dw, float(omnibus), float(omnibus_p), jb, float(stats.chi2.sf(jb, 2)), skew, kurtosis]


_ENDINGS = {
    "converged": "converged (gradient norm below {tol:g} of its start)",
    "max_epochs": "stopped at the epoch limit before converging",
    "early_stopping": "stopped early: the validation loss set no new low in {patience}",
    "interrupted": "interrupted (Ctrl-C); resuming continues it",
    "not_at_optimum": ("not converged: the gradient norm fell below tol, but not at the "
                       "least-squares minimum"),
    "diverged": "diverged",
}


def fit_description(fit):
    """How the fit ran and ended, in one sentence; R's ``print()`` and ``summary()`` print it too.

    For example "Fitted by adam (lr 0.1, full batch, float64, engine gram)
    in 512 steps: converged (gradient norm below 1e-08 of its start)."
    """
    settings = fit.settings
    full_batch = settings["batch_size"] is None
    unit = "step" if full_batch else "epoch"
    batches = "full batch" if full_batch else f"batch size {settings['batch_size']}"
    count = _count(fit.n_iter, unit)
    if fit.n_steps != fit.n_iter:
        count += f" ({_count(fit.n_steps, 'update')})"
    ending = _ENDINGS.get(fit.stop_reason, fit.stop_reason or "not run").format(
        tol=settings["tol"], patience=_count(settings.get("patience") or 0, unit))
    return (f"Fitted by {settings['optimizer']} (lr {settings['lr']:g}, {batches}, "
            f"{settings['dtype']}, engine {fit.engine}) in {count}: {ending}.")


def _count(n, unit):
    return f"{n} {unit}" + ("" if n == 1 else "s")


def _in_power_of_two_units(e):
    """Residuals whose largest magnitude is outside ``2^±200`` divided by a power of two
    near it (exact), so that their squares and cubes stay in float64's range (the
    diagnostics do not depend on the unit); others as they are."""
    largest = float(np.max(np.abs(e))) if len(e) else 0.0
    exponent = int(np.frexp(largest)[1])
    return np.ldexp(e, -exponent) if largest > 0 and abs(exponent) > RANGE_EXPONENT else e


def _optimization(fit):
    """How the fit ended, as plain values."""
    settings = fit.settings
    compare = fit.compare()
    coefficient_rows = compare[compare["term"] != "loss"]
    rel = coefficient_rows["rel_diff"].to_numpy(dtype=float)
    finite = np.isfinite(rel)
    worst = int(np.flatnonzero(finite)[np.argmax(rel[finite])]) if finite.any() else None
    return {
        "description": fit_description(fit),
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
    import pandas as pd
    shown = pd.DataFrame(index=table.index)
    for column in table.columns:
        if column in ("t value", "z value"):
            shown[column] = [_number(v, ".4f") for v in table[column]]
        elif column in ("Pr(>|t|)", "Pr(>|z|)"):
            shown[column] = [format_p(v) for v in table[column]]
        else:
            shown[column] = [_number(v) for v in table[column]]
    shown[""] = [significance_stars(p) for p in table.iloc[:, 3]]
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


def _format_diagnostics(model, diagnostics):
    lines = [f"Log-likelihood: {_number(model['llf'])},  AIC: {_number(model['aic'])},  "
             f"BIC: {_number(model['bic'])},  observations: {int(model['n_obs'])}"]
    if np.isfinite(diagnostics["durbin_watson"]):
        lines.append(f"Durbin-Watson: {diagnostics['durbin_watson']:.4g},  "
                     f"Omnibus: {_number(diagnostics['omnibus'], '.4g')} "
                     f"(p {format_p(diagnostics['omnibus_p'])}),  "
                     f"Jarque-Bera: {diagnostics['jarque_bera']:.4g} "
                     f"(p {format_p(diagnostics['jarque_bera_p'])})")
    lines.append(f"Condition number: {_number(model['condition_number'], '.4g')}")
    return "\n".join(lines)


def _format_optimization(opt):
    lines = [
        opt["description"],
        f"Final gradient norm: {opt['grad_norm']:.3g} of its start (tol {opt['tol']:g});  "
        f"training loss {opt['loss']:.8g}"
        + ("" if not math.isfinite(opt["val_loss"]) else f", validation loss {opt['val_loss']:.8g}"),
        f"Max relative difference from exact least squares: {opt['max_rel_diff']:.3g}"
        + (f" ({opt['max_rel_diff_term']})" if opt["max_rel_diff_term"] else ""),
    ]
    return "\n".join(lines)
