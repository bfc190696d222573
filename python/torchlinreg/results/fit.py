"""``LinearFit``: the results object of a gradient-descent fit.

It carries the coefficients on the original and standardized scales, the
full history, how the fit ended, and (computed when first asked for) the
exact least-squares reference and the inference at the fitted coefficients.
"""

from functools import cached_property

import numpy as np
import torch

from ..engine.linalg import exact_solution
from ..engine.moments import moments
from ..engine.settings import as_probability
from ..errors import InputError, MissingDataError, OptionError, ShapeError
from ..inputs.arrays import as_design, fingerprint as hash_rows, pandas_if_imported
from .distributions import chi2_sf, f_sf, t_quantile
from .inference import (compute_inference, condition_number, gram_eigenvalues,
                        prediction_intervals)
from .influence import FitInfluence, hat_values
from .robust import (COV_TYPES, describe, observed_groups, robust_options, robust_sandwich,
                     slopes_wald_f, student_or_normal, training_groups, with_limits)
from .statistics import TrainingStatistics


def _per_output(name, doc):
    """A property holding ``inference.<name>`` under statsmodels' name, ``(k, ...)`` losing
    ``k`` for one output; ``doc`` is what ``help()`` shows."""
    def value(self):
        return self._one_output(getattr(self.inference, name))
    value.__doc__ = doc
    return property(value)



def _robust_se(cov_type, doc):
    """A cached property: the ``cov_type`` standard errors of ``params`` (statsmodels' name)."""
    def value(self):
        return self._one_output(np.sqrt(np.diagonal(self._cov_all(cov_type), axis1=1, axis2=2)))
    value.__doc__ = doc
    return cached_property(value)


def _robust_cov(cov_type):
    """A cached property: ``cov_params(cov_type)``, statsmodels' ``cov_HC0`` ... ``cov_HC3``."""
    def value(self):
        return self.cov_params(cov_type)
    value.__doc__ = f"The {cov_type} covariance of ``params``: ``cov_params({cov_type!r})``."
    return cached_property(value)


def _confidence_level(level, alpha):
    """The confidence level from R's ``level`` or statsmodels' ``alpha`` (``1 - level``); a
    ``level`` below 0.5, which reads as statsmodels' positional ``alpha``, is refused."""
    if alpha is not None:
        if level != 0.95:
            raise OptionError("give level or alpha (statsmodels' name, 1 - level), not both.")
        return 1.0 - as_probability(alpha, "alpha")
    level = as_probability(level, "level")
    if level < 0.5:
        raise OptionError(
            f"level is the confidence level (0.95 for 95% limits); got {level:g}, which "
            f"reads as statsmodels' alpha: pass alpha={level:g} for {1 - level:g} limits, "
            f"or alpha={1 - level:g} for {level:g} limits.")
    return level


class LinearFit:
    """A linear regression fitted by gradient descent.

    Attributes
    ----------
    coef : numpy.ndarray
        Coefficients on the original scale: ``(p,)`` for one output,
        ``(k, p)`` for several. Aliased columns hold NaN (see ``aliased``).
    intercept : float or numpy.ndarray
        0 for a model without intercept.
    coef_standardized, intercept_standardized : numpy.ndarray or float
        The parameters the optimizer worked on (z-scored columns and target).
    aliased : numpy.ndarray of bool, shape (p,)
        Columns left out because they are linear combinations of others.
    feature_names, output_names : list of str
    history : pandas.DataFrame
        One row per step (full batch) or epoch (minibatch), row 0 the start:
        ``iteration``, ``step`` (optimizer updates so far), ``loss`` and
        ``val_loss`` (mean squared error in the units of ``y``),
        ``grad_norm`` (relative to the start), then every coefficient on the
        original scale.
    converged : bool
    n_iter : int
        Steps (full batch) or epochs (minibatch) run.
    n_steps : int
        Optimizer updates run.
    stop_reason : str
        ``"converged"``, ``"early_stopping"`` (``patience``), ``"max_epochs"``,
        ``"interrupted"`` or ``"diverged"``.
    settings : dict
        Every option used, the seed included, so the fit can be repeated.
    engine : str
        How losses and gradients were computed: ``"gram"`` (sufficient
        statistics) or ``"autograd"`` (forward and ``backward()`` over the rows).
    train_index, valid_index : numpy.ndarray or None
        Rows of the input used for training and for validation; None for a
        fit from files (:func:`torchlinreg.fit_files`), which keeps only the
        training rows' moments (``n_train`` and ``n_valid`` count them), and
        for the fit of an unpickled ``TorchLinearRegression``.
    n_train, n_valid : int
    """

    def __init__(self, *, weight, bias, weight_std, bias_std, aliased, trace, history,
                 feature_names, output_names, one_output, settings, train_data,
                 train_index, valid_index, scaler, statistics=None, n_valid=None, state=None,
                 fingerprint=None, model_spec=None, n_train=None):
        # Everything the fit is made of, for _with(): a changed copy, never a changed fit.
        self._parts = dict(
            weight=weight, bias=bias, weight_std=weight_std, bias_std=bias_std, aliased=aliased,
            trace=trace, history=history, feature_names=feature_names,
            output_names=output_names, one_output=one_output, settings=settings,
            train_data=train_data, train_index=train_index, valid_index=valid_index,
            scaler=scaler, statistics=statistics, n_valid=n_valid, state=state,
            fingerprint=fingerprint, model_spec=model_spec, n_train=n_train)
        self._weight, self._bias = weight, bias
        self._one = one_output
        self.coef = weight[0] if one_output else weight
        self.intercept = float(bias[0]) if one_output else bias
        self.coef_standardized = weight_std[0] if one_output else weight_std
        self.intercept_standardized = float(bias_std[0]) if one_output else bias_std
        self.aliased = aliased
        self.feature_names = list(feature_names)
        self.output_names = list(output_names)
        self._history = history  # its columns (a dict) until first read as a DataFrame
        self.converged = trace.converged
        self.n_iter = trace.n_iter
        self.n_steps = trace.n_steps
        self.stop_reason = trace.stop_reason
        self.settings = settings
        self.engine = settings.get("engine", "autograd")
        self.train_index = train_index
        self.valid_index = valid_index
        self.n_train = n_train if n_train is not None else (
            statistics.n_rows if train_index is None else len(train_index))
        self.n_valid = n_valid if valid_index is None else len(valid_index)
        self.scaler = scaler
        spec = model_spec or {}
        #: The formula of a :func:`torchlinreg.fit_formula` fit (None otherwise).
        self.formula = spec.get("formula")
        #: Rows with missing values that the formula's model frame dropped.
        self.n_dropped = int(spec.get("n_dropped", 0))
        #: Index labels of the rows the formula fit kept (None without a formula).
        self.row_labels = spec.get("row_labels")
        self._train = train_data
        # Moments of the training rows (TrainingStatistics), for fits without the rows.
        self._statistics = statistics
        # For save() and resuming: the trace and the optimizer's state (None after a fit
        # that was interrupted before its first step ended).
        self._trace = trace
        self._state = state
        self._stored_fingerprint = fingerprint

    @property
    def history(self):
        """One row per recorded point, a :class:`pandas.DataFrame` (made when first read:
        a fit keeps the columns, so that fitting arrays needs no pandas)."""
        if isinstance(self._history, dict):
            import pandas as pd
            self._history = pd.DataFrame(self._history)
        return self._history

    def history_columns(self):
        """The history as ``{name: numpy column}``, without making the DataFrame."""
        history = self._history
        if isinstance(history, dict):
            return dict(history)
        return {str(name): history[name].to_numpy() for name in history.columns}

    def _with(self, **changes):
        """A new fit made of the same parts but ``changes`` (e.g. ``train_data=None``)."""
        if changes.get("train_data", self._train) is None and self._train is not None:
            changes.setdefault("fingerprint", self.fingerprint)
        return LinearFit(**{**self._parts, **changes})

    @cached_property
    def fingerprint(self):
        """A hash of the training ``(X, Y, weights)`` (None when neither rows nor hash are kept)."""
        if self._stored_fingerprint is not None or self._train is None:
            return self._stored_fingerprint
        return hash_rows(self._train)

    def __repr__(self):
        return (f"LinearFit(optimizer={self.settings['optimizer']!r}, n_iter={self.n_iter}, "
                f"converged={self.converged}, stop_reason={self.stop_reason!r}, "
                f"outputs={self.output_names}, features={self.feature_names})")

    def _repr_html_(self):
        """The fit for notebooks: how it ended and its summary's tables."""
        import html
        head = html.escape(repr(self))
        try:
            body = self.summary()._repr_html_()
        except MissingDataError:  # loaded without its rows: no inference to show
            import pandas as pd
            body = pd.DataFrame({"coefficient": self.params}, index=self.term_names).to_html() \
                if self._one else ""
        return f"<p><code>{head}</code></p>\n{body}"

    @property
    def term_names(self):
        """Coefficient names as ``lm()`` gives them: ``(Intercept)`` first when present."""
        return (["(Intercept)"] if self.settings["intercept"] else []) + self.feature_names

    def coefficients(self):
        """All coefficients ``(k, m)``, the intercept first when the model has one."""
        parts = [self._bias[:, None]] if self.settings["intercept"] else []
        return np.concatenate(parts + [self._weight], axis=1)

    def predict(self, X, interval=None, level=0.95):
        """Predictions on the original scale, with confidence or prediction limits if asked.

        ``X`` needs the same columns as the training data; a DataFrame with
        the training column names is matched by name, and a formula fit
        (:func:`torchlinreg.fit_formula`) builds the design from a DataFrame
        of the formula's variables, factor levels included.

        Without ``interval``: ``(n,)`` for one output, else ``(n, k)``. With
        ``interval="confidence"`` (for the mean) or ``"prediction"`` (for a
        new observation), as R's ``predict.lm``: columns fit, lower, upper,
        ``(n, 3)`` for one output, ``(n, k, 3)`` for several.
        """
        design = self._new_design(X)
        if interval is None or interval == "none":
            pred = design @ np.nan_to_num(self._weight).T + self._bias
            return pred[:, 0] if self._one else pred
        if interval not in ("confidence", "prediction"):
            raise ValueError("interval must be None, 'confidence' or 'prediction'; "
                             f"got {interval!r}.")
        out = self._intervals(design, interval, level)
        limits = np.stack([out["fit"], out["lwr"], out["upr"]], axis=-1)
        return limits[:, 0, :] if self._one else limits

    def _intervals(self, design, interval="none", level=0.95, pred_weights=1.0):
        """:func:`~torchlinreg.results.inference.prediction_intervals` of the rows
        ``design`` (``(n, p)``, no intercept column): ``fit``, ``se_fit`` (and ``lwr``,
        ``upr``) ``(n, k)``."""
        inf = self.inference
        ones = [np.ones((design.shape[0], 1))] if self.settings["intercept"] else []
        A = np.concatenate(ones + [design], axis=1)
        units = inf.term_unit is not None
        with np.errstate(invalid="ignore", divide="ignore"):
            return prediction_intervals(
                A, self.coefficients(), inf.aliased,
                inf.cov_in_units if units else inf.cov_unscaled, inf.sigma, inf.df_residual,
                interval, level, pred_weights=pred_weights,
                center=inf.center_in_units if units else inf.center,
                weight_total=inf.weight_total, term_unit=inf.term_unit)

    def get_prediction(self, exog=None, weights=None, row_labels=None):
        """Predicted means with their standard errors and intervals, as statsmodels'
        ``get_prediction`` (:class:`~torchlinreg.results.prediction.PredictionResults`).

        ``exog`` is what :meth:`predict` takes (a formula fit's DataFrame of its
        variables included); None predicts the training rows, whose own weights then
        weigh the observation intervals. ``weights`` (default 1 for new rows) divide
        the residual variance of a new observation, as in WLS. The numbers are those of
        ``predict(exog, interval=...)``.
        """
        from .prediction import PredictionResults
        if exog is None:
            X, _, w = self._training_data()
            design = X.to(torch.float64).numpy()
            if weights is None and w is not None:
                weights = w.to(torch.float64).numpy()
            if row_labels is None:
                row_labels = self.row_labels if self.row_labels is not None else self.train_index
        else:
            design = self._new_design(exog)
            if row_labels is None and hasattr(exog, "index") and not callable(exog.index):
                row_labels = exog.index
        weights = np.asarray(1.0 if weights is None else weights, dtype=np.float64)
        if weights.ndim > 1 or (weights.ndim == 1 and len(weights) != design.shape[0]):
            raise ShapeError(f"weights must be one number or one per row ({design.shape[0]}); "
                             f"got shape {weights.shape}.")
        out = self._intervals(design, "none")
        with np.errstate(divide="ignore"):
            var_resid = self.inference.sigma[None, :] ** 2 / np.reshape(weights, (-1, 1))
        return PredictionResults(
            out["fit"], out["se_fit"], np.broadcast_to(var_resid, out["fit"].shape),
            self.df_resid,
            lambda interval, level: self._intervals(design, interval, level, weights),
            row_labels, self._one)

    def _new_design(self, X):
        """New rows as a float64 ``(n, p)`` array of the training columns."""
        build = (self._parts["model_spec"] or {}).get("design")
        pd = pandas_if_imported()
        frame = pd is not None and isinstance(X, pd.DataFrame)
        if build is not None and frame and not (
                set(self.feature_names) <= set(map(str, X.columns))
                and all(pd.api.types.is_numeric_dtype(X[c]) for c in X.columns)):
            X = build(X)  # the formula's variables, not already its design
            frame = isinstance(X, pd.DataFrame)
        missing = None
        if build is not None and frame:
            # As predict.lm (na.pass): a row with a missing variable predicts NaN.
            missing = X.isna().any(axis=1).to_numpy()
            X = X.fillna(0.0)
        if frame and set(self.feature_names) <= set(map(str, X.columns)):
            X = X.rename(columns=str)[self.feature_names]
        design = as_design(X, torch.float64)
        if design.values.shape[1] != len(self.feature_names):
            raise ShapeError(f"X has {design.values.shape[1]} columns but the model was fitted "
                             f"on {len(self.feature_names)} ({self.feature_names}).")
        values = design.values.numpy().copy()
        if missing is not None:
            values[missing] = np.nan
        return values

    # statsmodels' names for what `inference` holds; (k, ...) arrays lose k for one output.

    def _one_output(self, values):
        return values[0] if self._one else values

    @property
    def params(self):
        """All coefficients, the intercept first (statsmodels' ``params``; ``coefficients()``)."""
        return self._one_output(self.coefficients())

    bse = _per_output("std_error", "Standard errors of ``params`` (non-robust).")
    tvalues = _per_output("t_value", "t statistics of ``params``.")
    pvalues = _per_output("p_value", "Two-sided p-values of ``tvalues``.")
    rsquared = _per_output("r_squared", "R², as ``summary.lm``.")
    rsquared_adj = _per_output("adj_r_squared", "Adjusted R².")

    @property
    def nobs(self):
        """Observations: training rows of positive weight."""
        return self.inference.n_obs

    @property
    def df_resid(self):
        """Residual degrees of freedom, ``n - rank``."""
        return self.inference.df_residual

    @property
    def df_model(self):
        """Model degrees of freedom, the rank without the intercept."""
        return self.inference.rank - int(self.settings["intercept"])

    @property
    def ssr(self):
        """Residual sum of squares (weighted), one per output."""
        return self._one_output(self.inference.sigma ** 2 * self.df_resid)

    # More of statsmodels' OLSResults names. Sums of squares are weighted (WLS's); with
    # no intercept the total sum of squares is uncentered, as statsmodels (k_constant 0)
    # and summary.lm do. A fit's own intercept decides, where statsmodels would also find
    # a constant the columns span (y ~ 0 + g): R's choice.

    #: statsmodels' ``cov_type`` of ``bse`` (``cov_params(cov_type=...)`` gives the others).
    cov_type = "nonrobust"
    #: Tests and intervals use Student's t and F (statsmodels' ``use_t``).
    use_t = True

    @property
    def cov_kwds(self):
        """statsmodels' ``cov_kwds``: the covariance's ``description``."""
        return {"description": describe("nonrobust", {})}

    @property
    def k_constant(self):
        """1 with an intercept, else 0."""
        return int(self.settings["intercept"])

    ess = _per_output("model_ss", "Explained sum of squares at the fitted coefficients, "
                      "``summary.lm``'s: about the mean with an intercept, else about 0.")
    fvalue = _per_output("f_statistic", "F statistic of the model against the intercept "
                         "alone (against nothing without one): ``mse_model / mse_resid``.")
    f_pvalue = _per_output("f_p_value", "p-value of ``fvalue`` on ``(df_model, df_resid)``.")

    @cached_property
    def _moments(self):
        """The training rows' moments (:class:`~torchlinreg.results.statistics.TrainingStatistics`):
        a fit from files keeps them; others make them from the rows."""
        if self._from_statistics():
            return self._statistics
        X, Y, w = self._training_data()
        return TrainingStatistics(moments(X, Y, w), bool(self.settings["intercept"]))

    @property
    def centered_tss(self):
        """``Σ w (y - ȳ)²``, ȳ the weighted mean."""
        return self._one_output(self._moments.total_sums()[0])

    @property
    def uncentered_tss(self):
        """``Σ w y²``."""
        return self._one_output(self._moments.total_sums()[1])

    @property
    def mse_model(self):
        """``ess / df_model``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.ess / self.df_model

    @property
    def mse_resid(self):
        """``ssr / df_resid``: σ̂²."""
        return self._one_output(self.inference.sigma ** 2)

    scale = property(lambda self: self.mse_resid,
                     doc="σ̂², ``ssr / df_resid``: what ``normalized_cov_params`` is scaled by.")

    @property
    def mse_total(self):
        """The total sum of squares (centred with an intercept) over ``df_model + df_resid``."""
        tss = self.centered_tss if self.k_constant else self.uncentered_tss
        return tss / (self.df_model + self.df_resid)

    @property
    def normalized_cov_params(self):
        """``(AᵀWA)⁻¹`` ``(m, m)``: ``cov_params() / scale``; NaN rows for aliased terms."""
        inf = self.inference
        m = len(self.term_names)
        full = np.full((m, m), np.nan)
        kept = np.flatnonzero(~inf.aliased)
        full[np.ix_(kept, kept)] = inf.cov_unscaled
        return full

    @cached_property
    def eigenvals(self):
        """Eigenvalues of ``AᵀWA`` (every column, aliased ones too), largest first: from
        the QR factor of the rows (:func:`~torchlinreg.results.inference.gram_eigenvalues`),
        or, for a fit from files, of ``AᵀWA`` formed from the moments (whose smallest
        eigenvalues are good to about ``1e-16 × the largest``)."""
        if self._from_statistics():
            return np.linalg.eigvalsh(self._moments.gram())[::-1].copy()
        X, _, w = self._training_data()
        return gram_eigenvalues(X, w, self.settings["intercept"])

    @cached_property
    def wresid(self):
        """Weighted residuals ``√w e`` (the residuals without weights)."""
        w = self._training_data()[2]
        if w is None:
            return self.resid
        w = w.to(torch.float64).numpy()
        return np.sqrt(w)[:, None] * self.resid if not self._one else np.sqrt(w) * self.resid

    @property
    def resid_pearson(self):
        """``wresid / √scale``."""
        return self.wresid / np.sqrt(self.scale)

    @cached_property
    def condition_number(self):
        """``√(λmax / λmin)`` of ``AᵀWA`` (intercept column included) in the data's units, as
        statsmodels' ``condition_number``: the ratio of the extreme singular values of
        ``√W A``. Columns beyond ``2^±200`` enter as they are, so it grows with their
        magnitude (about 1e165 at x × 1e-165, though their fit in units is well
        conditioned); ``inf`` where it is beyond float64
        (:func:`~torchlinreg.results.inference.condition_number`)."""
        return condition_number(self.inference)

    def conf_int(self, level=0.95, cov_type=None, *, alpha=None):
        """Confidence limits of ``params``: ``(m, 2)`` (``(k, m, 2)`` for several outputs),
        from the covariance ``cov_type`` (as :meth:`cov_params`).

        ``level`` is the confidence level, as R's ``confint(level = )``; statsmodels'
        ``conf_int(alpha=0.05)`` is taken by name (``alpha`` is ``1 - level``). A
        ``level`` below 0.5 is refused, because statsmodels' positional ``conf_int(0.05)``
        means ``alpha``: for such a level, pass ``alpha=1 - level``.
        """
        level = _confidence_level(level, alpha)
        with np.errstate(invalid="ignore"):  # NaN for a negative variance (see bse)
            se = np.sqrt(np.diagonal(self._cov_all(cov_type), axis1=1, axis2=2))
        q = self._quantile((1 + level) / 2)
        est = self.coefficients()
        return self._one_output(np.stack([est - q * se, est + q * se], axis=-1))

    @cached_property
    def llf(self):
        """Gaussian log-likelihood at the fitted coefficients, as R's ``logLik.lm`` (σ̂² = RSS/Σw).

        With weights: ``½ Σ log wᵢ - n/2 (log 2π + 1 - log n + log RSS)``,
        over the rows of positive weight. One value per output.
        """
        n = self.nobs
        if self._from_statistics():
            mom = self._statistics.moments
            log_w = mom.log_weight_sum
            if log_w is None:  # a fit saved before the moments kept Σ log w
                if float(mom.total) != mom.n_rows:
                    raise MissingDataError("the log-likelihood of a weighted fit needs Σ log w, "
                                           "which this fit's file (saved by an earlier version) "
                                           "does not keep; fit it again.")
                log_w = 0.0
        else:
            w = self._training_data()[2]
            log_w = 0.0 if w is None else float(torch.log(w[w > 0].to(torch.float64)).sum())
        sigma = np.atleast_1d(self.inference.sigma)
        with np.errstate(over="ignore", divide="ignore"):  # RSS beyond float64's range: by σ
            rss = sigma ** 2 * self.df_resid
            normal = np.isfinite(rss) & (rss >= np.finfo(np.float64).tiny)
            log_rss = np.where(normal, np.log(rss), 2 * np.log(sigma) + np.log(self.df_resid))
        llf = 0.5 * log_w - n / 2 * (np.log(2 * np.pi) + 1 - np.log(n) + log_rss)
        return float(llf[0]) if self._one else llf

    @property
    def _n_loglik_params(self):
        # R's logLik.lm: df = rank + 1, σ counted; statsmodels' aic leaves σ out (2 less).
        return self.inference.rank + 1

    @cached_property
    def aic(self):
        """Akaike's criterion ``-2 llf + 2 (rank + 1)``: R's ``AIC`` (σ counted; statsmodels' is 2 less)."""
        return -2 * self.llf + 2 * self._n_loglik_params

    @cached_property
    def bic(self):
        """Schwarz's criterion ``-2 llf + log(n) (rank + 1)``: R's ``BIC`` (statsmodels' is log n less)."""
        return -2 * self.llf + np.log(self.nobs) * self._n_loglik_params

    @cached_property
    def fittedvalues(self):
        """Fitted values of the training rows: ``(n,)`` for one output, else ``(n, k)``."""
        X = self._training_data()[0].to(torch.float64).numpy()
        fitted = X @ np.nan_to_num(self._weight).T + self._bias
        return fitted[:, 0] if self._one else fitted

    @cached_property
    def resid(self):
        """Residuals ``y - fitted`` of the training rows (unweighted, as R's ``residuals``)."""
        Y = self._training_data()[1].to(torch.float64).numpy()
        return (Y[:, 0] if self._one else Y) - self.fittedvalues

    @cached_property
    def _leverage(self):
        """``(hat values, (center, R))`` of the training design."""
        X, _, w = self._training_data()
        kept = ~np.asarray(self.aliased, dtype=bool)
        return hat_values(X, w, self.settings["intercept"], kept)

    def _weighted_resid(self):
        """``√w e`` ``(n, k)``, NaN in rows of weight zero (not observations)."""
        w = self._training_data()[2]
        E = self.resid.reshape(len(self.resid), -1)
        if w is None:
            return E
        w = w.to(torch.float64).numpy()
        with np.errstate(invalid="ignore"):
            return np.where(w[:, None] > 0, np.sqrt(w)[:, None] * E, np.nan)

    def get_influence(self):
        """Hat values, studentized residuals, Cook's distance, DFFITS (:class:`~torchlinreg.results.influence.FitInfluence`)."""
        E = self._weighted_resid()
        hat = np.where(np.isnan(E[:, 0]), np.nan, self._leverage[0])
        index = self.row_labels if self.row_labels is not None else self.train_index
        return FitInfluence(hat, E[:, 0] if self._one else E, self.df_resid,
                            self.inference.rank, index)

    def cov_params(self, cov_type=None):
        """Covariance of ``params`` ``(m, m)`` (``(k, m, m)`` for several outputs).

        ``cov_type``: ``"nonrobust"`` (σ² (AᵀWA)⁻¹, R's ``vcov``) or the
        heteroscedasticity-consistent ``"HC0"`` … ``"HC3"`` of R's
        ``sandwich::vcovHC`` and statsmodels; None, this results' own (:attr:`cov_type`:
        ``"nonrobust"``, or that of :meth:`get_robustcov_results`). NaN rows for aliased
        terms.
        """
        return self._one_output(self._cov_all(cov_type))

    def _cov_all(self, cov_type):
        cov_type = "nonrobust" if cov_type is None else cov_type
        if cov_type not in COV_TYPES:
            raise ValueError(f"cov_type must be one of {COV_TYPES}; got {cov_type!r}.")
        inf = self.inference
        if cov_type == "nonrobust":
            return np.stack([inf.vcov(i) for i in range(len(self.output_names))])
        return self._robust(cov_type)

    def _robust(self, cov_type, **options):
        return self._on_terms(self._sandwich(cov_type, **options).lifted())

    def _sandwich(self, cov_type, **options):
        """:func:`~torchlinreg.results.robust.robust_sandwich` of the training rows."""
        X, _, w = self._training_data()
        kept = ~np.asarray(self.aliased, dtype=bool)
        hat, factor = self._leverage
        return robust_sandwich(X, w, self.settings["intercept"], kept, factor,
                               self._weighted_resid(), hat, cov_type, **options)

    def _on_terms(self, kept_cov):
        """``(k, rank, rank)`` over the estimated terms as ``(k, m, m)``, NaN for aliased ones."""
        m = len(self.term_names)
        full = np.full((kept_cov.shape[0], m, m), np.nan)
        terms = np.flatnonzero(~self.inference.aliased)
        full[:, terms[:, None], terms[None, :]] = kept_cov
        return full

    def _quantile(self, q):
        """The ``q`` quantile of the t distribution of this results' intervals."""
        return t_quantile(q, self.df_resid)

    def get_robustcov_results(self, cov_type="HC1", use_t=None, **kwargs):
        """This fit as a results object whose covariance is ``cov_type``, as statsmodels'
        ``get_robustcov_results`` (:class:`RobustLinearFit`, a :class:`LinearFit`).

        Its ``bse``, ``tvalues``, ``pvalues``, ``conf_int()``, ``cov_params()``,
        ``t_test``/``f_test``/``wald_test``, ``fvalue``/``f_pvalue`` (the robust Wald F of
        the slopes), ``get_prediction``, ``predict(interval=)`` and ``summary()`` use it;
        the fit itself is shared (its rows, coefficients and what it has computed), not
        copied or refitted. ``cov_type``: ``"HC0"`` … ``"HC3"``; ``"HAC"`` with
        ``maxlags=`` (and ``kernel="bartlett"`` or ``"uniform"``,
        ``use_correction=False``); ``"cluster"`` with ``groups=`` (one label per training
        row, or per input row of a fit with validation rows; ``use_correction=True``,
        ``df_correction=True``: tests and intervals on ``groups - 1`` degrees of
        freedom); ``"nonrobust"``. ``use_t``: Student's t and F (True) or the normal and
        chi² (False); None keeps this fit's (True), as statsmodels, whose
        ``fit(cov_type=...)`` is ``get_robustcov_results(cov_type, use_t=False)``.
        A fit from files keeps no rows: a robust covariance is a ``MissingDataError``.
        """
        return RobustLinearFit(self, cov_type, use_t, kwargs)

    HC0_se = _robust_se("HC0", "White's heteroscedasticity-consistent standard errors.")
    HC1_se = _robust_se("HC1", "HC0 standard errors scaled by ``√(n / (n - p))``.")
    HC2_se = _robust_se("HC2", "Standard errors from residuals over ``√(1 - h)``.")
    HC3_se = _robust_se("HC3", "Standard errors from residuals over ``1 - h`` (R's ``vcovHC`` "
                        "default).")
    cov_HC0 = _robust_cov("HC0")
    cov_HC1 = _robust_cov("HC1")
    cov_HC2 = _robust_cov("HC2")
    cov_HC3 = _robust_cov("HC3")

    # Tests of linear hypotheses and of nested fits (statsmodels' names).

    def _one_output_only(self, method):
        if not self._one:
            raise ShapeError(f"{method} is for a fit of one output; this fit has "
                             f"{len(self.output_names)} ({self.output_names}): fit each output "
                             "on its own.")

    def _contrast(self, method, r_matrix, cov_p, cov_type):
        """``(R, q, params, V, aliased)`` for a test of ``r_matrix`` (see :meth:`t_test`)."""
        from .hypothesis import linear_constraints
        self._one_output_only(method)
        R, q = linear_constraints(r_matrix, self.term_names)
        V = self.cov_params(cov_type) if cov_p is None else cov_p
        return R, q, self.params, V, self.inference.aliased

    def t_test(self, r_matrix, cov_p=None, cov_type="nonrobust"):
        """t tests of each linear hypothesis ``R β = q``, as statsmodels' ``t_test``.

        ``r_matrix``: an array ``R`` ``(q, m)`` or ``(m,)`` (then ``q = 0``), a tuple
        ``(R, q)``, or a string over :attr:`term_names` such as ``"x1 = 0, x2 = x3"``
        or ``"x1 + 2*x2 = 1"`` (``Intercept`` and ``const`` name the intercept too).
        ``cov_p`` (an ``(m, m)`` array, e.g. ``fit.cov_HC3``) or ``cov_type`` (as
        :meth:`cov_params`) chooses the covariance; t has ``df_resid`` degrees of
        freedom. Returns :class:`~torchlinreg.results.hypothesis.ContrastResults`
        (``effect``, ``sd``, ``tvalue``, ``pvalue``, ``conf_int()``, ``summary()``).
        Hypotheses on aliased coefficients are an :class:`InputError`.
        """
        from .hypothesis import t_test
        return t_test(*self._contrast("t_test", r_matrix, cov_p, cov_type), self.df_resid)

    def f_test(self, r_matrix, cov_p=None, cov_type="nonrobust"):
        """The joint F test of ``R β = q`` (``r_matrix`` as in :meth:`t_test`), as
        statsmodels' ``f_test``: ``fvalue``, ``pvalue``, ``df_num``, ``df_denom``."""
        return self.wald_test(r_matrix, cov_p, cov_type=cov_type, use_f=True)

    def wald_test(self, r_matrix, cov_p=None, use_f=True, scalar=True, cov_type="nonrobust"):
        """The Wald test of ``R β = q`` (``r_matrix`` as in :meth:`t_test`): F on
        ``(J, df_resid)`` degrees of freedom (statsmodels' default for OLS), or with
        ``use_f=False`` the chi² statistic ``J F`` on ``J``. ``scalar=False`` gives the
        statistic as a ``(1, 1)`` array, as statsmodels did before."""
        from .hypothesis import wald_test
        return wald_test(*self._contrast("wald_test", r_matrix, cov_p, cov_type), self.df_resid,
                         use_f=use_f, scalar=scalar)

    def wald_test_terms(self, skip_single=False, extra_constraints=None, combine_terms=None,
                        scalar=True):
        """One F test per term (``Intercept`` first, then a formula's terms or each column),
        that all its coefficients are 0, as statsmodels' ``wald_test_terms``: a
        :class:`~torchlinreg.results.hypothesis.WaldTestResults` (``table``, ``summary_frame()``).
        ``skip_single`` leaves out terms of one column; ``combine_terms`` adds a joint test
        of the terms whose names contain each string; ``extra_constraints`` adds ``(name,
        r_matrix)`` tests (``r_matrix`` as in :meth:`t_test`)."""
        from .hypothesis import wald_test_terms
        self._one_output_only("wald_test_terms")
        return wald_test_terms(self, skip_single, extra_constraints, combine_terms, scalar)

    def t_test_pairwise(self, term_name, method="hs", alpha=0.05, factor_labels=None):
        """t tests of all pairwise differences of a factor's levels (a formula fit's term
        ``term_name``), p-values corrected by ``method`` (``"hs"`` Holm-Šidák,
        ``"bonferroni"``, ``"holm"``, ``"sidak"``, ``"fdr_bh"``, or a list of them), as
        statsmodels' ``t_test_pairwise``: a
        :class:`~torchlinreg.results.hypothesis.MultiCompResult` (``result_frame``)."""
        from .hypothesis import t_test_pairwise
        self._one_output_only("t_test_pairwise")
        return t_test_pairwise(self, term_name, method, alpha, factor_labels)

    def _same_data_as(self, other):
        """Whether ``other`` is fitted to the same rows, weights and response (the same
        number of observations and ``Σ w y²``), as fits compared by a test must be."""
        return other.nobs == self.nobs and np.allclose(
            other.uncentered_tss, self.uncentered_tss, rtol=1e-10, atol=0)

    def _nested(self, restricted):
        """The number of parameters ``restricted`` has fewer than this fit, checked."""
        if not isinstance(restricted, LinearFit):
            raise InputError(f"restricted must be a LinearFit; got {type(restricted).__name__}.")
        if not self._same_data_as(restricted):
            raise InputError("restricted must be fitted to the same response, rows and weights "
                             f"({restricted.nobs} observations against {self.nobs}, or another "
                             "response).")
        df_diff = restricted.df_resid - self.df_resid
        if df_diff <= 0:
            raise InputError("restricted must have fewer parameters than this fit (it has "
                             f"{restricted.df_resid} residual df against {self.df_resid}).")
        return df_diff

    def compare_f_test(self, restricted):
        """F test of this fit against a nested ``restricted`` fit of the same data, as
        statsmodels' ``compare_f_test``: ``(f_value, p_value, df_diff)``, from the
        residual sums of squares at each fit's coefficients. Nesting itself is not checked:
        the restricted fit's columns must lie in this fit's span."""
        df_diff = self._nested(restricted)
        f_value = (restricted.ssr - self.ssr) / df_diff / (self.ssr / self.df_resid)
        return f_value, f_sf(f_value, df_diff, self.df_resid)[()], df_diff

    def compare_lr_test(self, restricted, large_sample=False):
        """Likelihood-ratio test against a nested ``restricted`` fit, as statsmodels'
        ``compare_lr_test``: ``(lr_stat, p_value, df_diff)``, ``lr_stat = -2 (llf_r -
        llf)`` on chi² with ``df_diff``."""
        if large_sample:
            raise OptionError("large_sample=True (a robust covariance's LM form) is not "
                              "implemented; use compare_lr_test(restricted).")
        df_diff = self._nested(restricted)
        lr = -2 * (restricted.llf - self.llf)
        return lr, chi2_sf(lr, df_diff)[()], df_diff

    def outlier_test(self, method="bonf", alpha=0.05, labels=None, order=False, cutoff=None):
        """Bonferroni (or another ``method``) outlier test of the external studentized
        residuals, as statsmodels' ``outlier_test``: a DataFrame of ``student_resid``,
        ``unadj_p`` (two-sided t on ``df_resid - 1``) and ``<method>(p)``, one row per
        training row. ``order`` sorts by ``|student_resid|``, largest first; ``cutoff``
        keeps rows whose adjusted p is below it. Methods: ``bonf``, ``sidak``, ``holm``,
        ``fdr_bh`` (:func:`~torchlinreg.results.hypothesis.adjusted_p_values`); ``alpha``
        is accepted for statsmodels' signature (it only sets statsmodels' reject flags)."""
        from .hypothesis import adjusted_p_values
        from .inference import t_p_values
        self._one_output_only("outlier_test")
        influence = self.get_influence()
        resid = influence.resid_studentized_external
        unadj = t_p_values(resid, self.df_resid - 1)
        import pandas as pd  # off the fit path
        table = pd.DataFrame({"student_resid": resid, "unadj_p": unadj,
                              f"{method}(p)": adjusted_p_values(unadj, method)},
                             index=influence._index if labels is None else labels)
        if order:
            table = table.iloc[np.argsort(-np.abs(resid), kind="stable")]
        if cutoff is not None:
            table = table[table[f"{method}(p)"] < cutoff]
        return table

    @property
    def terms(self):
        """``[(term, [columns])]``: a formula fit's terms (R's, without the intercept) and
        their columns of the design, in order; otherwise each feature is its own term."""
        spec = (self._parts["model_spec"] or {}).get("terms")
        return [(name, list(columns)) for name, columns in spec] if spec is not None \
            else [(name, [name]) for name in self.feature_names]

    def _anova_sums(self):
        """``(terms, sums)`` for :func:`~torchlinreg.results.anova.anova_lm`: each term with
        the positions of its estimated columns among the features (terms with none left
        out), and the sequential sums of squares ``(p,)`` of the feature columns."""
        from .anova import sequential_sums
        X, Y, w = self._training_data()
        kept = ~np.asarray(self.aliased, dtype=bool)
        sums = np.zeros(len(kept))
        sums[kept] = sequential_sums(X, Y, w, self.settings["intercept"], kept)[:, 0]
        position = {name: j for j, name in enumerate(self.feature_names)}
        terms = [(name, [position[c] for c in columns if kept[position[c]]])
                 for name, columns in self.terms]
        return [(name, columns) for name, columns in terms if columns], sums

    @cached_property
    def exact(self):
        """The exact least-squares solution on the training rows: ``(weight, bias)`` in float64."""
        if self._from_statistics():
            return tuple(t.numpy() for t in self._statistics.exact())
        X, Y, w = self._training_data()
        weight, bias, _ = exact_solution(X, Y, w, self.settings["intercept"])
        return weight.numpy(), bias.numpy()

    @cached_property
    def inference(self):
        """Standard errors, t and p values, R², F at the fitted coefficients (:class:`Inference`)."""
        intercept = self.settings["intercept"]
        aliased = np.concatenate([np.zeros(int(intercept), dtype=bool), self.aliased])
        if self._from_statistics():
            return self._statistics.inference(torch.as_tensor(self.coefficients()),
                                               torch.as_tensor(aliased), self.term_names,
                                               self.output_names)
        X, Y, w = self._training_data()
        return compute_inference(
            X, Y,
            torch.as_tensor(self.coefficients()), torch.as_tensor(aliased), w, intercept,
            self.term_names, self.output_names)

    def summary(self, level=0.95, *, alpha=None):
        """The ``summary.lm``-like table and how the fit ended (:class:`~torchlinreg.results.summary.Summary`);
        its confidence limits at ``level`` (or statsmodels' ``alpha``, as :meth:`conf_int`)."""
        from .summary import Summary
        return Summary(self, _confidence_level(level, alpha))

    def summary2(self, yname=None, xname=None, title=None, alpha=0.05, float_format="%.4f"):
        """statsmodels' ``summary2()`` (:class:`~torchlinreg.results.summary.Summary2`): its
        ``tables`` (model information, coefficients, diagnostics) with ``as_text``,
        ``as_html``, ``as_latex`` and ``as_csv``; a fit of one output (else ``ShapeError``)."""
        from .summary import Summary2
        return Summary2(self, yname, xname, title, alpha, float_format)

    def plot(self, path=None, **options):
        """Loss curves and parameter paths (matplotlib); saved to ``path`` if given.

        See :func:`torchlinreg.results.plotting.plot_fit`; returns the figure.
        """
        from .plotting import plot_fit
        return plot_fit(self, path, **options)

    def loss(self, exact=False):
        """Training mean squared error at the fitted (or the exact) coefficients."""
        if self._from_statistics():
            return self._statistics.loss(*(self.exact if exact else (self._weight, self._bias)))
        X, Y, w = (t.to(torch.float64) if t is not None else None for t in self._training_data())
        weight, bias = self.exact if exact else (self._weight, self._bias)
        pred = X @ torch.as_tensor(np.nan_to_num(weight)).T + torch.as_tensor(bias)
        squared = (pred - Y) ** 2
        return float(squared.mean() if w is None else ((w @ squared) / w.sum()).mean())

    def compare(self):
        """Gradient descent against exact least squares, one row per coefficient.

        Columns: ``output``, ``term``, ``estimate``, ``exact``, ``abs_diff``,
        ``rel_diff`` (``abs_diff / |exact|``). A last row, term ``"loss"``,
        compares the training mean squared errors.
        """
        weight, bias = self.exact
        intercept = self.settings["intercept"]
        exact = np.concatenate(([bias[:, None]] if intercept else []) + [weight], axis=1)
        rows = [{"output": out, "term": term, "estimate": est, "exact": ref}
                for i, out in enumerate(self.output_names)
                for term, est, ref in zip(self.term_names, self.coefficients()[i], exact[i])]
        rows.append({"output": "", "term": "loss", "estimate": self.loss(),
                     "exact": self.loss(exact=True)})
        import pandas as pd
        table = pd.DataFrame(rows)
        table["abs_diff"] = (table["estimate"] - table["exact"]).abs()
        with np.errstate(divide="ignore", invalid="ignore"):
            table["rel_diff"] = table["abs_diff"] / table["exact"].abs()
        return table

    def _from_statistics(self):
        """True for a fit that keeps its training rows' moments but not the rows."""
        return self._train is None and self._statistics is not None

    def _training_data(self):
        if self._train is None and self._statistics is not None:
            raise MissingDataError(
                "this fit was made from files and keeps only the moments of its training rows; "
                "coef, inference, summary(), exact and compare() work from them, but this "
                "method needs the rows: read them into memory and use torchlinreg.fit().")
        if self._train is None:
            raise MissingDataError(
                "this fit was loaded without its training data, which exact, inference, loss(), "
                "compare() and summary() need: load it with torchlinreg.load(path, X=X, y=y) "
                "(the data given to fit()), or save it with fit.save(path, include_data=True).")
        return self._train

    def save(self, path, include_data=False):
        """Save to one ``.npz`` file that :func:`torchlinreg.load` reads without running code.

        Stores the coefficients, the optimizer state, the history, the settings
        and a summary of the data (rows, names, centres and scales, a hash);
        the training rows themselves only with ``include_data=True``. A loaded
        fit predicts and resumes (``fit(X, y, resume=loaded)``); ``compare()``
        and ``inference`` need the data, stored or given back to ``load``.
        Returns the path written (``.npz`` is added if missing).
        """
        from .saving import save_fit
        return save_fit(self, path, include_data)

    def to_dict(self):
        """Everything but the data, as plain Python values (JSON-ready)."""
        return {
            "coef": self.coef.tolist(),
            "intercept": self.intercept if self._one else self.intercept.tolist(),
            "coef_standardized": self.coef_standardized.tolist(),
            "aliased": self.aliased.tolist(),
            "feature_names": self.feature_names,
            "output_names": self.output_names,
            "converged": self.converged,
            "n_iter": self.n_iter,
            "n_steps": self.n_steps,
            "stop_reason": self.stop_reason,
            "settings": self.settings,
            "history": {name: column.tolist()
                        for name, column in self.history_columns().items()},
        }


class RobustLinearFit(LinearFit):
    """What :meth:`LinearFit.get_robustcov_results` returns: the same fit whose default
    covariance is :attr:`cov_type`, with statsmodels' ``use_t``, ``cov_kwds``,
    ``df_resid_inference`` (and ``n_groups`` for cluster). The computations are
    :mod:`~torchlinreg.results.robust`'s; the fit's other names are its own."""

    # The view's own names, not taken from a view it is made from.
    _OWN = ("cov_type", "use_t", "_cov", "_cov_kwds", "df_resid_inference", "n_groups",
            "_sandwich_of_rows")

    def __init__(self, fit, cov_type, use_t, options):  # shares fit's state: no super().__init__
        cov_type, options = robust_options(cov_type, options)
        adjust_df = options.pop("df_correction", False)
        if cov_type == "nonrobust":
            cov = fit._cov_all("nonrobust")
        else:
            fit._training_data()  # a fit from files has no rows: its MissingDataError
            if "groups" in options:
                n_input = None if fit.train_index is None else len(fit.train_index) + (
                    0 if fit.valid_index is None else len(fit.valid_index))
                options["groups"] = training_groups(options["groups"], fit.n_train,
                                                    fit.train_index, n_input)
            self._sandwich_of_rows = fit._sandwich(cov_type, **options)
            cov = fit._on_terms(self._sandwich_of_rows.lifted())
        self.__dict__.update({k: v for k, v in fit.__dict__.items() if k not in self._OWN})
        self.cov_type = cov_type
        self.use_t = fit.use_t if use_t is None else bool(use_t)
        self._cov = cov
        self.df_resid_inference = self.df_resid
        if "groups" in options:
            self.n_groups = observed_groups(options["groups"], self._weighted_resid())
            if adjust_df:
                self.df_resid_inference = self.n_groups - 1
        self._cov_kwds = {"use_t": self.use_t, "adjust_df": bool(adjust_df), **options,
                          "description": describe(cov_type, options)}

    @property
    def cov_kwds(self):
        """The covariance's options, ``use_t`` and ``description`` (statsmodels')."""
        return dict(self._cov_kwds)

    def save(self, path, include_data=False):
        """Refused: the file format keeps a fit, not a covariance chosen on it, and a saved
        plain fit would load with other standard errors than this result's. Save the
        fit itself and ask for the result again after loading (an :class:`OptionError`
        saying so)."""
        raise OptionError(
            f"a get_robustcov_results({self.cov_type!r}) result is not saved: the file would "
            "hold the fit, which loads with the nonrobust covariance. Save the fit itself "
            "(fit.save(path, include_data=True)) and call get_robustcov_results() again on "
            "the loaded fit; or pickle this result.")

    def __repr__(self):
        return f"RobustLinearFit(cov_type={self.cov_type!r}, use_t={self.use_t}) of " \
               + super().__repr__()

    def _cov_all(self, cov_type):
        return self._cov if cov_type is None else super()._cov_all(cov_type)

    def _quantile(self, q):
        return student_or_normal(self.use_t, self.df_resid_inference)(q)

    @property
    def bse(self):
        """Standard errors of ``params`` from :attr:`cov_type` (NaN for a negative variance,
        which HAC with the uniform kernel can give)."""
        with np.errstate(invalid="ignore"):
            return self._one_output(np.sqrt(np.diagonal(self._cov, axis1=1, axis2=2)))

    @property
    def tvalues(self):
        """``params / bse`` (z statistics where ``use_t`` is False)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.params / self.bse

    @property
    def pvalues(self):
        """Two-sided p-values of ``tvalues``: Student's t on ``df_resid_inference``, or
        the normal."""
        from .distributions import norm_sf
        from .inference import t_p_values
        t = np.abs(self.tvalues)
        return t_p_values(t, self.df_resid_inference) if self.use_t else 2 * norm_sf(t)

    def _wald_f(self):
        return slopes_wald_f(self.coefficients(), self._cov, self.inference.aliased,
                             self.settings["intercept"], self.df_resid_inference)

    @property
    def fvalue(self):
        """The Wald F of the slopes from :attr:`cov_type` (``mse_model / mse_resid`` for
        ``"nonrobust"``)."""
        if self.cov_type == "nonrobust":
            return super().fvalue
        return self._one_output(self._wald_f()[0])

    @property
    def f_pvalue(self):
        """p-value of ``fvalue`` on ``(df_model, df_resid_inference)``."""
        if self.cov_type == "nonrobust":
            return super().f_pvalue
        return self._one_output(self._wald_f()[1])

    def t_test(self, r_matrix, cov_p=None, cov_type=None, use_t=None):
        """:meth:`LinearFit.t_test` from :attr:`cov_type` on ``df_resid_inference``,
        z tests where ``use_t`` is False."""
        from .hypothesis import t_test
        return t_test(*self._contrast("t_test", r_matrix, cov_p, cov_type),
                      self.df_resid_inference, use_t=self.use_t if use_t is None else use_t)

    def f_test(self, r_matrix, cov_p=None, cov_type=None):
        """:meth:`LinearFit.f_test` from :attr:`cov_type` on ``df_resid_inference``."""
        return self.wald_test(r_matrix, cov_p, use_f=True, cov_type=cov_type)

    def wald_test(self, r_matrix, cov_p=None, use_f=None, scalar=True, cov_type=None):
        """:meth:`LinearFit.wald_test` from :attr:`cov_type`; ``use_f`` None is ``use_t``
        (statsmodels': chi² where the normal is used)."""
        from .hypothesis import wald_test
        return wald_test(*self._contrast("wald_test", r_matrix, cov_p, cov_type),
                         self.df_resid_inference, use_f=self.use_t if use_f is None else use_f,
                         scalar=scalar)

    def _intervals(self, design, interval="none", level=0.95, pred_weights=1.0):
        """Predictions' standard errors from :attr:`cov_type` and limits from Student's t on
        ``df_resid`` or the normal, as statsmodels' ``get_prediction``."""
        if self.cov_type == "nonrobust":
            if self.use_t:
                return super()._intervals(design, interval, level, pred_weights)
            out = super()._intervals(design)  # the standard errors, from the leverages
            fit, var_fit = out["fit"], out["se_fit"] ** 2
        else:
            kept = ~np.asarray(self.aliased, dtype=bool)
            fit = design @ np.nan_to_num(self._weight).T + self._bias
            var_fit = self._sandwich_of_rows.mean_variance(design[:, kept])
        quantile = student_or_normal(self.use_t, self.df_resid)((1 + level) / 2)
        return with_limits(fit, var_fit, self.inference.sigma, quantile, interval,
                           pred_weights)
