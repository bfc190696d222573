"""Shared fixtures: R's ``lm()`` through rpy2, seeded random numbers, the tutorial data.

The ``r`` fixture skips (with the reason) only when R or rpy2 cannot be
loaded; ``make test`` installs both, so there nothing skips.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import torchlinreg as tl

_LM_SUMMARY = r"""
function(formula, d, w, newdata, interval, level) {
  f <- as.formula(formula)
  fit <- if (is.null(w)) lm(f, data = d) else lm(f, data = d, weights = w)
  est <- as.matrix(coef(fit))
  sums <- if (ncol(est) > 1) unname(summary(fit)) else list(summary(fit))
  se <- est
  se[] <- NA_real_
  tv <- se
  pv <- se
  for (i in seq_along(sums)) {
    tab <- coef(sums[[i]])
    se[rownames(tab), i] <- tab[, 2]
    tv[rownames(tab), i] <- tab[, 3]
    pv[rownames(tab), i] <- tab[, 4]
  }
  fstat <- function(s) if (is.null(s$fstatistic)) rep(NA_real_, 3) else unname(s$fstatistic)
  out <- list(terms = rownames(est), coef = t(est), se = t(se), t = t(tv), p = t(pv),
              sigma = sapply(sums, function(s) s$sigma),
              r2 = sapply(sums, function(s) s$r.squared),
              adj = sapply(sums, function(s) s$adj.r.squared),
              fstat = t(sapply(sums, fstat)), df = fit$df.residual, rank = fit$rank)
  if (ncol(est) == 1) out$confint <- unname(confint(fit, level = level))
  if (!is.null(newdata)) {
    p <- predict(fit, newdata = newdata, interval = interval, level = level, se.fit = TRUE)
    out$pred <- unname(as.matrix(p$fit))
    out$se_fit <- unname(as.numeric(p$se.fit))
  }
  out
}
"""


class RLm:
    """``lm()`` and ``summary.lm()`` in embedded R, on pandas data and a formula."""

    def __init__(self, ro, pandas2ri):
        self._ro = ro
        self._converter = ro.default_converter + pandas2ri.converter
        self._code = ro.r(_LM_SUMMARY)

    def _frame(self, data):
        with self._converter.context():
            return self._ro.conversion.get_conversion().py2rpy(data.reset_index(drop=True))

    def __call__(self, formula, data, weights=None, newdata=None, interval="none", level=0.95):
        """A dict: ``terms``, ``coef``/``se``/``t``/``p`` ``(k, m)`` (NaN for NA),
        ``sigma``, ``r2``, ``adj``, ``fstat`` ``(k, 3)``, ``df``, ``rank``, and
        ``confint`` ``(m, 2)`` (one output), ``pred``/``se_fit`` with ``newdata``."""
        ro = self._ro
        result = self._code(formula, self._frame(data),
                            ro.NULL if weights is None else ro.FloatVector(np.asarray(weights, float)),
                            ro.NULL if newdata is None else self._frame(newdata),
                            interval, level)
        out = {name: result.rx2(name) for name in result.names}
        values = {"terms": list(out.pop("terms")), "df": int(out.pop("df")[0]),
                  "rank": int(out.pop("rank")[0])}
        k = len(np.atleast_1d(np.array(out["sigma"])))
        for name, value in out.items():
            array = np.array(value, dtype=np.float64)
            values[name] = array.reshape(k, -1) if name in ("coef", "se", "t", "p", "fstat") else array
        return values


def _load_r():
    """Start R through rpy2 (skipping when R or rpy2 is missing); return ``rpy2.robjects``."""
    from torchlinreg.interop.lm_check import start_r
    try:
        return start_r()
    except ImportError as error:
        pytest.skip(f"R or rpy2 is not available ({error.__cause__!r}); `make test` installs both")


@pytest.fixture(scope="session")
def r_lm():
    """Callable ``r_lm(formula, data, weights=None, newdata=None, interval=, level=)``."""
    ro = _load_r()
    from rpy2.robjects import pandas2ri
    return RLm(ro, pandas2ri)


@pytest.fixture(scope="session")
def lm_check():
    """``torchlinreg.lm_check``, skipping only when R or rpy2 is missing."""
    _load_r()
    return tl.lm_check


@pytest.fixture
def rng():
    """A seeded generator: every test sees the same numbers."""
    return np.random.default_rng(20261123)


@pytest.fixture(scope="session")
def _ultra():
    return tl.datasets.ultra_winners()


@pytest.fixture
def ultra(_ultra):
    """The ultramarathon winners (198 rows of the shipped subset); a fresh copy."""
    return _ultra.copy()


ULTRA_X = ["distance", "elevation_gain", "elevation_loss"]
FRUIT_X = ["temperature", "rainfall", "humidity"]


def rel_err(estimate, reference):
    """Largest relative error, elementwise, NaN positions required to agree."""
    estimate, reference = np.asarray(estimate, float), np.asarray(reference, float)
    assert np.array_equal(np.isnan(estimate), np.isnan(reference))
    ok = ~np.isnan(reference)
    return float(np.max(np.abs(estimate[ok] - reference[ok]) / np.abs(reference[ok]))) if ok.any() else 0.0


def abc_data():
    """120 rows of three columns ``a``, ``b``, ``c`` of different scales and a response."""
    rng = np.random.default_rng(60)
    X = pd.DataFrame(rng.normal(size=(120, 3)) * [1, 5, 0.2] + [0, 10, 1], columns=["a", "b", "c"])
    y = X.to_numpy() @ np.array([1.0, -0.3, 4.0]) + 2 + rng.normal(scale=0.5, size=120)
    return X, y


def same_fit(a, b):
    """Coefficients and history identical, bit for bit."""
    np.testing.assert_array_equal(a.coefficients(), b.coefficients())
    pd.testing.assert_frame_equal(a.history, b.history, check_exact=True)
    assert (a.n_iter, a.n_steps, a.stop_reason, a.converged) == \
        (b.n_iter, b.n_steps, b.stop_reason, b.converged)


def quiet_fit(*args, **options):
    """``tl.fit`` without its ConvergenceWarning (for fits stopped early on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tl.ConvergenceWarning)
        return tl.fit(*args, **options)


def equal_nested(a, b):
    """Nested dicts, lists and tensors (an optimizer's state) equal, dtypes included."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(equal_nested(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(equal_nested, a, b))
    return a == b

def frame(X, y=None, names=None):
    """A DataFrame of ``X`` (columns ``x1``, ...) and ``y`` (one or several outputs)."""
    X = np.asarray(X)
    data = pd.DataFrame(X, columns=names or [f"x{j + 1}" for j in range(X.shape[1])])
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 1:
            data["y"] = y
        else:
            for i in range(y.shape[1]):
                data[f"y{i + 1}"] = y[:, i]
    return data
