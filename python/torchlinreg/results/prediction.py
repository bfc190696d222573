"""``PredictionResults``: what ``LinearFit.get_prediction()`` returns, as statsmodels'.

It holds the predicted means and their standard errors; its intervals are
those of ``LinearFit.predict(X, interval=...)``, computed by
:func:`~torchlinreg.results.inference.prediction_intervals` (one implementation),
asked again for each ``alpha``.
"""

import numpy as np

from ..engine.settings import as_probability
from ..errors import ShapeError


class PredictionResults:
    """Predictions of a :class:`~torchlinreg.LinearFit` with standard errors and intervals.

    Arrays are ``(n,)`` for one output and ``(n, k)`` for several (``conf_int``:
    ``(n, 2)`` and ``(n, k, 2)``), as statsmodels' for one output.

    Attributes
    ----------
    predicted_mean : numpy.ndarray
        The predictions ``a·β̂``.
    se_mean : numpy.ndarray
        Standard errors of the predicted means (``predict.lm``'s ``se.fit``).
    var_pred_mean, var_resid, se_obs : numpy.ndarray
        ``se_mean²``; the residual variance ``σ̂² / w`` of a new observation of
        weight ``w``; and ``√(se_mean² + var_resid)``.
    df : int
        Residual degrees of freedom of the t quantiles.
    row_labels : array-like or None
        The index of ``summary_frame()``.
    """

    def __init__(self, predicted_mean, se_mean, var_resid, df, intervals, row_labels=None,
                 one_output=True):
        self._one = one_output
        self._intervals = intervals  # (interval, level) -> prediction_intervals' dict
        self.predicted_mean = self._per_output(predicted_mean)
        self.se_mean = self._per_output(se_mean)
        self.var_resid = self._per_output(np.asarray(var_resid))
        self.df = df
        self.row_labels = row_labels

    def _per_output(self, values):
        return values[:, 0] if self._one else values

    @property
    def se(self):
        """``se_mean`` (statsmodels' older name)."""
        return self.se_mean

    @property
    def var_pred_mean(self):
        """Variances of the predicted means, ``se_mean²``."""
        return self.se_mean ** 2

    @property
    def se_obs(self):
        """Standard errors of a new observation: ``√(se_mean² + var_resid)``."""
        return np.sqrt(self.var_pred_mean + self.var_resid)

    def conf_int(self, obs=False, alpha=0.05):
        """Limits for the mean (``obs=False``) or for a new observation (``obs=True``), at
        level ``1 - alpha``: ``(n, 2)`` (``(n, k, 2)`` for several outputs), lower first."""
        out = self._intervals("prediction" if obs else "confidence",
                              1 - as_probability(alpha, "alpha"))
        limits = np.stack([out["lwr"], out["upr"]], axis=-1)
        return limits[:, 0, :] if self._one else limits

    def summary_frame(self, alpha=0.05):
        """A DataFrame with statsmodels' columns ``mean``, ``mean_se``, ``mean_ci_lower``,
        ``mean_ci_upper``, ``obs_ci_lower``, ``obs_ci_upper`` (one output)."""
        if not self._one:
            raise ShapeError("summary_frame() is for a fit of one output; this fit has "
                             f"{self.predicted_mean.shape[1]}: use conf_int() and "
                             "predicted_mean, indexed by output.")
        import pandas as pd  # off the fit path
        mean, obs = self.conf_int(False, alpha), self.conf_int(True, alpha)
        return pd.DataFrame({
            "mean": self.predicted_mean, "mean_se": self.se_mean,
            "mean_ci_lower": mean[:, 0], "mean_ci_upper": mean[:, 1],
            "obs_ci_lower": obs[:, 0], "obs_ci_upper": obs[:, 1],
        }, index=self.row_labels)
