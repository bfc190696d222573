"""Run R's ``lm()`` on the same data, through rpy2, to check a fit.

rpy2 is imported only when :func:`lm_check` is called, so the rest of
torchlinreg never needs R. Install it with ``pip install torchlinreg[r]``.
"""

import os
from dataclasses import dataclass

import numpy as np
import torch

from ..inputs.arrays import as_design, as_response, as_weights


def start_r():
    """Import ``rpy2.robjects`` (starting R in this process) and return it.

    rpy2 puts R's library folders first on ``LD_LIBRARY_PATH`` when R
    starts; that is put back afterwards, so Python subprocesses started
    later load their own libraries, not R's (pyarrow's OpenSSL, for one).

    Raises
    ------
    ImportError
        When rpy2 or R is not installed, with what to install.
    """
    before = os.environ.get("LD_LIBRARY_PATH")
    try:
        import rpy2.robjects as ro
        ro.r("invisible(stats::lm)")
    except Exception as error:  # rpy2 raises several types when R is missing
        raise ImportError("lm_check needs R and rpy2: install R (e.g. apt-get install r-base-core) "
                          "and pip install 'rpy2>=3.5,<3.6' (or torchlinreg[r]).") from error
    finally:
        if before is None:
            os.environ.pop("LD_LIBRARY_PATH", None)
        else:
            os.environ["LD_LIBRARY_PATH"] = before
    return ro


_LM_CODE = r"""
function(X, Y, w, intercept) {
  d <- as.data.frame(X)
  names(d) <- sprintf("V%d", seq_len(ncol(d)))  # paste0 gives "V" for no columns
  y <- if (ncol(Y) == 1) Y[, 1] else Y
  f <- if (intercept) y ~ . else y ~ . - 1
  if (ncol(d) == 0) f <- if (intercept) y ~ 1 else stop("a model needs terms")
  environment(f) <- environment()
  fit <- if (is.null(w)) lm(f, data = d) else lm(f, data = d, weights = w)
  sums <- if (is.matrix(y)) unname(summary(fit)) else list(summary(fit))
  est <- as.matrix(coef(fit))
  se <- est
  se[] <- NA_real_
  for (i in seq_along(sums)) {
    tab <- coef(sums[[i]])
    se[rownames(tab), i] <- tab[, 2]
  }
  fstat <- function(s) if (is.null(s$fstatistic)) rep(NA_real_, 3) else unname(s$fstatistic)
  list(coef = t(est), se = t(se),
       sigma = sapply(sums, function(s) s$sigma),
       r2 = sapply(sums, function(s) s$r.squared),
       adj = sapply(sums, function(s) s$adj.r.squared),
       fstat = t(sapply(sums, fstat)),
       df = fit$df.residual, rank = fit$rank,
       fitted = as.matrix(fitted(fit)),
       version = R.version.string)
}
"""


@dataclass
class LmResult:
    """What ``lm()`` and ``summary.lm()`` report, one row per output.

    Attributes
    ----------
    term_names, output_names : list of str
        Terms named as in torchlinreg (``(Intercept)`` first, then the columns).
    coef, std_error : numpy.ndarray, shape (k, m)
        NaN (R's ``NA``) for aliased terms.
    sigma, r_squared, adj_r_squared : numpy.ndarray, shape (k,)
    f_statistic : numpy.ndarray, shape (k, 3)
        Value, numerator and denominator degrees of freedom.
    df_residual, rank : int
    fitted : numpy.ndarray, shape (n, k)
    r_version : str
    """

    term_names: list
    output_names: list
    coef: np.ndarray
    std_error: np.ndarray
    sigma: np.ndarray
    r_squared: np.ndarray
    adj_r_squared: np.ndarray
    f_statistic: np.ndarray
    df_residual: int
    rank: int
    fitted: np.ndarray
    r_version: str


def _r_matrix(ro, values):
    values = np.asarray(values, dtype=np.float64)
    return ro.r["matrix"](ro.FloatVector(values.ravel(order="F")), nrow=values.shape[0])


def _array(value, rows=None):
    out = np.array(value, dtype=np.float64)
    return out if rows is None else out.reshape(rows, -1)


def lm_check(X, y, *, intercept=True, weights=None):
    """Fit ``lm(y ~ ., weights = weights)`` in embedded R and return its numbers.

    Parameters
    ----------
    X : array-like or pandas.DataFrame, shape (n, p)
    y : array-like, shape (n,) or (n, k)
        Several outputs are fitted as ``lm(cbind(y1, y2, ...) ~ .)``.
    intercept : bool, default True
        False fits ``lm(y ~ . - 1)``.
    weights : array-like, shape (n,), optional

    Returns
    -------
    LmResult

    Raises
    ------
    ImportError
        When rpy2 or R is not installed, with what to install.
    """
    ro = start_r()
    design = as_design(X, torch.float64)
    n = design.values.shape[0]
    response = as_response(y, n, torch.float64)
    w = as_weights(weights, n, torch.float64)
    r_weights = ro.NULL if w is None else ro.FloatVector(w.numpy())
    result = ro.r(_LM_CODE)(_r_matrix(ro, design.values.numpy()), _r_matrix(ro, response.values.numpy()),
                            r_weights, intercept)
    k = response.values.shape[1]
    get = result.rx2
    return LmResult(
        term_names=(["(Intercept)"] if intercept else []) + design.names,
        output_names=response.names,
        coef=_array(get("coef"), k), std_error=_array(get("se"), k),
        sigma=_array(get("sigma")), r_squared=_array(get("r2")), adj_r_squared=_array(get("adj")),
        f_statistic=_array(get("fstat"), k),
        df_residual=int(get("df")[0]), rank=int(get("rank")[0]),
        fitted=_array(get("fitted"), n), r_version=str(get("version")[0]),
    )
