"""Student's t, Fisher's F, chi² and the normal where inference needs them, from ``scipy.special``.

``scipy.stats`` takes several times as long to import as ``scipy.special``
(benchmarks/RESULTS.md, cold-start section), and R's ``torch_lm()`` needs
p-values in its first call. ``scipy.stats``' ``t`` and ``f`` evaluate these
very functions of ``scipy.special`` (``t.sf(x, df)`` is ``stdtr(df, -x)``,
``f.sf`` is ``fdtrc``, ``t.ppf`` is ``stdtrit``, ``chi2.sf`` is ``chdtrc``, ``norm.sf``
is ``ndtr(-x)``, ``norm.ppf`` is ``ndtri``) after handling the edges
of the support; so do these, and the values are the same bit for bit
(tests/python/test_distributions.py checks them against ``scipy.stats``).
Degrees of freedom that are not positive give NaN, as there.
"""
import numpy as np


def t_sf(x, df):
    """``P(T > x)`` for Student's t with ``df`` degrees of freedom (``stats.t.sf``)."""
    from scipy import special  # imported on first use, off the fit path
    x = np.asarray(x, dtype=np.float64)
    if not df > 0:
        return np.full(x.shape, np.nan)[()]
    return special.stdtr(df, -x)


def t_quantile(q, df):
    """The ``q`` quantile of Student's t (``stats.t.ppf``): -inf at 0, inf at 1."""
    from scipy import special
    q = np.asarray(q, dtype=np.float64)
    if not df > 0:
        return np.full(q.shape, np.nan)[()]
    inside = (q > 0) & (q < 1)
    edges = np.where(q == 0, -np.inf, np.where(q == 1, np.inf, np.nan))
    return np.where(inside, special.stdtrit(df, np.where(inside, q, 0.5)), edges)[()]


def f_sf(x, dfn, dfd):
    """``P(F > x)`` for Fisher's F with ``(dfn, dfd)`` degrees of freedom (``stats.f.sf``):
    1 at and below 0, where its support starts."""
    from scipy import special
    x = np.asarray(x, dtype=np.float64)
    if not (dfn > 0 and dfd > 0):
        return np.full(x.shape, np.nan)[()]
    return np.where(x <= 0, 1.0, special.fdtrc(dfn, dfd, np.where(x <= 0, 1.0, x)))[()]


def chi2_sf(x, df):
    """``P(X > x)`` for chi² with ``df`` degrees of freedom (``stats.chi2.sf``): 1 below 0."""
    from scipy import special
    x = np.asarray(x, dtype=np.float64)
    if not df > 0:
        return np.full(x.shape, np.nan)[()]
    return np.where(x < 0, 1.0, special.chdtrc(df, np.where(x < 0, 0.0, x)))[()]


def norm_sf(x):
    """``P(Z > x)`` for the standard normal (``stats.norm.sf``)."""
    from scipy import special
    return special.ndtr(-np.asarray(x, dtype=np.float64))[()]


def norm_quantile(q):
    """The ``q`` quantile of the standard normal (``stats.norm.ppf``): -inf at 0, inf at 1."""
    from scipy import special
    return special.ndtri(np.asarray(q, dtype=np.float64))[()]
