"""``compare_lm()``: a fit beside ``lm()`` and exact least squares, one row per coefficient.

The table is built here for both languages from its numbers
(:func:`comparison`): Python's :func:`compare_lm` gives it ``lm()``'s
numbers through rpy2, R's ``compare_lm()`` gives it R's own ``lm()``'s
through the bridge, so its columns mean the same in both.
"""
import numpy as np

COLUMNS = ("response", "term", "estimate", "lm", "exact", "rel_diff_lm", "rel_diff_exact",
           "diff_in_se", "std_error", "lm_std_error", "se_rel_diff")


def comparison(term_names, response_names, estimate, std_error, lm_estimate, lm_std_error,
               exact):
    """The ``compare_lm()`` table from its numbers: each array ``(k, m)``, NaN where aliased.

    Parameters
    ----------
    term_names : list of str, length m
    response_names : list of str, length k
    estimate, std_error : array-like
        The gradient-descent fit's coefficients and their standard errors.
    lm_estimate, lm_std_error : array-like
        ``lm()``'s (the reference).
    exact : array-like
        The exact least-squares coefficients (float64 QR) on the same rows.

    Returns
    -------
    pandas.DataFrame
        One row per response and term (response by response), with the
        columns of :data:`COLUMNS`: ``response``, ``term``, ``estimate``,
        ``lm``, ``exact``; ``rel_diff_lm`` and ``rel_diff_exact``
        (``|estimate - reference| / |reference|``); ``diff_in_se``
        (``|estimate - lm|`` in units of ``lm()``'s standard error);
        ``std_error``, ``lm_std_error`` and ``se_rel_diff``
        (``|std_error - lm_std_error| / lm_std_error``).
    """
    import pandas as pd  # not on a fit's path (R's torch_lm() imports this module)
    term_names, response_names = list(term_names), list(response_names)
    numbers = {name: np.asarray(values, dtype=np.float64).reshape(len(response_names), -1)
               for name, values in (("estimate", estimate), ("lm", lm_estimate), ("exact", exact),
                                    ("std_error", std_error), ("lm_std_error", lm_std_error))}
    table = pd.DataFrame({"response": np.repeat(response_names, len(term_names)).tolist(),
                          "term": term_names * len(response_names),
                          **{name: values.ravel() for name, values in numbers.items()}})
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = (table["estimate"] - table["lm"]).abs()
        table["rel_diff_lm"] = diff / table["lm"].abs()
        table["rel_diff_exact"] = (table["estimate"] - table["exact"]).abs() / table["exact"].abs()
        table["diff_in_se"] = diff / table["lm_std_error"]
        table["se_rel_diff"] = (table["std_error"] - table["lm_std_error"]).abs() / \
            table["lm_std_error"]
    return table[list(COLUMNS)]


def compare_lm(fit, lm=None):
    """The fit beside ``lm()`` and exact least squares, one row per coefficient.

    Parameters
    ----------
    fit : LinearFit
    lm : LmResult, optional
        ``lm()``'s result on the fit's training rows; by default
        :func:`torchlinreg.lm_check` computes it (needs R and rpy2).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`comparison` (R's ``compare_lm()`` has the
        same): ``response``, ``term``, ``estimate``, ``lm``, ``exact``,
        ``rel_diff_lm``, ``rel_diff_exact``, ``diff_in_se``, ``std_error``,
        ``lm_std_error``, ``se_rel_diff``. ``lm`` has ``attrs["r_version"]``.
    """
    import pandas as pd  # not on a fit's path (R's torch_lm() imports this module)
    if lm is None:
        from .lm_check import lm_check
        X, Y, w = fit._training_data()
        lm = lm_check(pd.DataFrame(X.double().numpy(), columns=fit.feature_names),
                      Y.double().numpy(), intercept=fit.settings["intercept"],
                      weights=None if w is None else w.double().numpy())
    weight, bias = fit.exact
    exact = np.concatenate(([bias[:, None]] if fit.settings["intercept"] else []) + [weight], axis=1)
    table = comparison(fit.term_names, fit.output_names, fit.coefficients(),
                       fit.inference.std_error, lm.coef, lm.std_error, exact)
    table.attrs["r_version"] = lm.r_version
    return table
