"""``compare_lm()``: a fit beside R's ``lm()`` on the same rows (through rpy2)."""
import numpy as np
import pandas as pd


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
        ``output``, ``term``, ``torchlinreg``, ``lm``, ``exact``,
        ``rel_diff_lm`` and ``rel_diff_exact`` (``|difference| / |reference|``),
        ``lm_std_error`` and ``diff_in_se`` (``|torchlinreg - lm|`` in units
        of ``lm()``'s standard error). ``lm`` has ``attrs["r_version"]``.
    """
    if lm is None:
        from .lm_check import lm_check
        X, Y, w = fit._training_data()
        lm = lm_check(pd.DataFrame(X.double().numpy(), columns=fit.feature_names),
                      Y.double().numpy(), intercept=fit.settings["intercept"],
                      weights=None if w is None else w.double().numpy())
    weight, bias = fit.exact
    exact = np.concatenate(([bias[:, None]] if fit.settings["intercept"] else []) + [weight], axis=1)
    estimate = fit.coefficients()
    rows = [{"output": out, "term": term, "torchlinreg": estimate[i, j], "lm": lm.coef[i, j],
             "exact": exact[i, j], "lm_std_error": lm.std_error[i, j]}
            for i, out in enumerate(fit.output_names) for j, term in enumerate(fit.term_names)]
    table = pd.DataFrame(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = (table["torchlinreg"] - table["lm"]).abs()
        table["rel_diff_lm"] = diff / table["lm"].abs()
        table["rel_diff_exact"] = (table["torchlinreg"] - table["exact"]).abs() / table["exact"].abs()
        table["diff_in_se"] = diff / table["lm_std_error"]
    table.attrs["r_version"] = lm.r_version
    return table
