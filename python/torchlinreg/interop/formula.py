"""``fit_formula()``: R-style formulas through formulaic, then one call to ``fit()``.

As ``lm()`` does, this only prepares: the formula gives the response and
the design matrix (``model.frame`` → ``model.matrix``), and the numerical
work is :func:`torchlinreg.fit`, which knows nothing of formulas.

Coefficient names follow R where the two agree, by this mapping of
formulaic's names:

==========================  ====================  =================
formulaic                   torchlinreg (= R)     R's formula
==========================  ====================  =================
``Intercept``               ``(Intercept)``       implicit
``x1``, ``x1:x2``           ``x1``, ``x1:x2``     ``x1``, ``x1:x2``
``g[T.b]``                  ``gb``                ``g`` (a factor)
``C(g)[T.b]``               ``gb``                ``g`` (a factor)
``g[b]`` (no intercept)     ``gb``                ``g`` in ``y ~ 0 + g``
``x1:g[T.b]``               ``x1:gb``             ``x1:g``
``C(g, Sum)[S.b]``          unchanged             (other contrasts)
``I(x1 ** 2)``              unchanged             ``I(x1^2)``
==========================  ====================  =================

formulaic's ``C(g)`` is R's plain factor ``g`` (treatment contrasts),
not R's ``C()``, which takes a contrast argument; so ``C(g)[T.b]`` maps to
``gb``. ``coef_names="formulaic"`` keeps formulaic's names.

Columns are read as ``lm()`` reads the R columns they become: strings
(``object`` or pandas ``"string"``) and categoricals are factors; a bool
column is a logical, a factor with levels ``FALSE`` and ``TRUE``
(coefficient ``flagTRUE``); a datetime column is numeric, in days since
1970-01-01 when every value is a midnight (R's ``Date``), else in seconds
(R's ``POSIXct``, time zones in UTC).

The fit keeps a :class:`FormulaDesign` (formulaic's model spec of the
right-hand side, these column rules and the factor levels), with which
``fit.predict(new_data)`` builds the design of new rows.
"""

import re

import numpy as np
import pandas as pd

from ..errors import InputError, OptionError


# ``g[T.b]``, ``g[b]``, ``C(g)[T.b]``, ``C(g)[b]``: treatment (or full) dummy columns.
_DUMMY = re.compile(r"^(?:C\((?P<inner>[^,()]+)\)|(?P<plain>[^\[\]()]+))\[(?:T\.)?(?P<level>[^\]]*)\]$")


def r_name(name):
    """The name R's ``lm()`` gives the coefficient formulaic names ``name``."""
    if name == "Intercept":
        return "(Intercept)"
    return ":".join(_r_factor(part) for part in name.split(":"))


def _r_factor(part):
    match = _DUMMY.match(part)
    if not match:
        return part
    variable = (match.group("inner") or match.group("plain")).strip()
    return f"{variable}{match.group('level')}"


def _formulaic():
    try:
        import formulaic
    except ImportError as error:
        raise ImportError("fit_formula needs formulaic: pip install formulaic "
                          "(or torchlinreg[formula]).") from error
    return formulaic


_SECONDS_PER_DAY = 86400.0


def column_kinds(data):
    """How each column that is not numeric or a factor must be read: ``{name: kind}``.

    ``"string"`` (pandas' string dtype, read as ``object``), ``"bool"``,
    ``"days"`` or ``"seconds"`` (datetimes, see the module docstring).
    """
    kinds = {}
    for name in data.columns:
        column = data[name]
        if pd.api.types.is_bool_dtype(column) or (
                column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) == "boolean"):
            kinds[name] = "bool"
        elif pd.api.types.is_datetime64_any_dtype(column):
            stamps = _utc(column)
            kinds[name] = "days" if (stamps.dropna() == stamps.dropna().dt.normalize()).all() \
                else "seconds"
        elif column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) == "date":
            kinds[name] = "days"
        elif pd.api.types.is_string_dtype(column) and column.dtype != object and not \
                isinstance(column.dtype, pd.CategoricalDtype):  # a categorical keeps its order
            kinds[name] = "string"
    return kinds


def _utc(column):
    stamps = pd.to_datetime(column)
    return stamps.dt.tz_convert("UTC").dt.tz_localize(None) if stamps.dt.tz is not None else stamps


def as_lm_columns(data, kinds):
    """``data`` with the columns of ``kinds`` converted as ``lm()`` reads them."""
    data = data.copy()
    for name, kind in kinds.items():
        if name not in data.columns:
            continue
        column = data[name]
        missing = column.isna()
        if kind == "bool":
            labels = column.map(lambda v: "TRUE" if v else "FALSE").where(~missing, None)
            data[name] = pd.Categorical(labels, categories=["FALSE", "TRUE"])
        elif kind == "string":
            data[name] = column.astype(object).where(~missing, None)
        else:
            stamps = _utc(column)
            seconds = (stamps - pd.Timestamp("1970-01-01")).dt.total_seconds()
            data[name] = seconds / _SECONDS_PER_DAY if kind == "days" else seconds
    return data


class FormulaDesign:
    """The design of new rows for a formula fit: formulaic's model spec and R's column rules.

    Called with a DataFrame of the formula's variables, it returns the
    design's feature columns (no intercept), named as the fit names them;
    a factor level not seen in training is an :class:`InputError`, as in
    ``predict.lm``. Rows with a missing value give NaN rows.
    """

    def __init__(self, spec, kinds, levels, names):
        self.spec, self.kinds, self.levels, self.names = spec, kinds, levels, names

    def __call__(self, data):
        missing = sorted(set(self.spec.required_variables) - set(map(str, data.columns)))
        if missing:
            raise InputError(f"predicting from the formula needs the column {missing[0]!r}"
                             f"{' (and ' + repr(missing[1:]) + ')' if missing[1:] else ''}; "
                             f"new data has {list(map(str, data.columns))}.")
        data = as_lm_columns(data, self.kinds)
        for name, levels in self.levels.items():
            unseen = sorted(set(data[name].dropna().astype(str)) - set(levels))
            if unseen:
                raise InputError(f"factor {name!r} has levels not seen in training: {unseen}; "
                                 f"the fit knows {levels}.")
        rhs = pd.DataFrame(self.spec.get_model_matrix(data, na_action="ignore"))
        rhs = rhs.drop(columns=["Intercept"], errors="ignore")
        rhs.columns = self.names
        return rhs.astype("float64")

    def factor_encoding(self, term):
        """``(levels, matrix)`` of a term that is one factor: its levels in the fit's
        order and the rows its design columns take at each (``(levels, columns)``, the
        contrasts' coding); ``None`` for a term that is not a single factor."""
        part = next((p for p in self.spec.structure if str(p.term) == term), None)
        if part is None or len(part.term.factors) != 1:
            return None
        state = self.spec.encoder_state.get(str(part.term.factors[0]))
        if state is None or "categories" not in state[1]:
            return None
        levels = [str(level) for level in state[1]["categories"]]
        single = self.spec.subset([term])
        rows = pd.DataFrame({name: levels for name in single.required_variables})
        return levels, np.asarray(single.get_model_matrix(rows), dtype=np.float64)


def _factor_levels(data, variables, rows):
    """The training levels of each factor among ``variables`` (rows kept by the model frame)."""
    levels = {}
    for name in sorted(variables):
        if name in data.columns:
            column = data.loc[rows, name]
            if not pd.api.types.is_numeric_dtype(column) or isinstance(column.dtype,
                                                                      pd.CategoricalDtype):
                levels[name] = sorted(set(column.dropna().astype(str)))
    return levels


def model_frame(formula, data, coef_names="r"):
    """Response, design and the rows used, as formulaic builds them.

    Returns
    -------
    dict
        ``y`` (DataFrame, one column per response), ``X`` (DataFrame without
        the intercept column, columns named per ``coef_names``), ``intercept``
        (bool), ``rows`` (the index labels of the rows kept) and ``n_dropped``
        (rows dropped for missing values, as ``na.omit``), ``design`` (the
        :class:`FormulaDesign` that builds ``X`` for new rows), ``terms`` (each term's
        label and its columns of ``X``, in order, the intercept left out) and
        ``term_factors`` (each term's factors: ``x1:g`` has ``x1`` and ``g``).
    """
    formulaic = _formulaic()
    if coef_names not in ("r", "formulaic"):
        raise OptionError(f"coef_names must be 'r' or 'formulaic'; got {coef_names!r}.")
    if not isinstance(data, pd.DataFrame):
        data = pd.DataFrame(data)
    if "~" not in str(formula):
        raise InputError(f"the formula needs a response: 'y ~ x1 + x2'; got {formula!r}.")
    kinds = column_kinds(data)
    data = as_lm_columns(data, kinds)
    try:
        matrices = formulaic.model_matrix(str(formula), data, na_action="drop")
    except Exception as error:  # formulaic raises many types for a bad formula or column
        raise InputError(f"could not build the model matrix for {formula!r}: {error}") from error
    lhs, rhs = pd.DataFrame(matrices.lhs), pd.DataFrame(matrices.rhs)
    intercept = "Intercept" in rhs.columns
    X = rhs.drop(columns=["Intercept"]) if intercept else rhs.copy()
    formulaic_names = [str(c) for c in X.columns]
    if coef_names == "r":
        names = [r_name(str(c)) for c in X.columns]
        if len(set(names)) != len(names):  # keep formulaic's names rather than merge two
            names = [str(c) for c in X.columns]
        X.columns = names
    if lhs.shape[1] == 0:
        raise InputError(f"the formula {formula!r} has no response on the left of '~'.")
    spec = matrices.rhs.model_spec
    named = dict(zip(formulaic_names, X.columns))
    # The formula's terms and their design columns, in order (anova_lm's rows).
    parts = [part for part in spec.structure if str(part.term) != "1"]
    terms = [(str(part.term), [named[str(c)] for c in part.columns]) for part in parts]
    # Each term's factors: type II anova adjusts a term for the terms that do not contain it.
    term_factors = {str(part.term): [str(f) for f in part.term.factors] for part in parts}
    design = FormulaDesign(spec, {k: v for k, v in kinds.items()
                                  if k in spec.required_variables},
                           _factor_levels(data, spec.required_variables, rhs.index),
                           list(X.columns))
    return {"y": lhs, "X": X.astype("float64"), "intercept": intercept,
            "rows": rhs.index, "n_dropped": int(len(data) - len(rhs)), "design": design,
            "terms": terms, "term_factors": term_factors}


def fit_formula(formula, data, *, weights=None, coef_names="r", **fit_options):
    """Fit a linear model given as an R-style formula, by gradient descent.

    Parameters
    ----------
    formula : str
        As in R: ``"y ~ x1 + C(group) + x1:x2"``, ``"y ~ x - 1"`` (no
        intercept), ``"y1 + y2 ~ x"`` (two responses, R's
        ``cbind(y1, y2) ~ x``). String, categorical and boolean columns
        are factors with treatment contrasts.
    data : pandas.DataFrame
        Rows with a missing value in any variable of the formula are
        dropped, as ``na.omit`` does; ``fit.n_dropped`` says how many.
    weights : str or array-like, optional
        A column of ``data`` or one weight per row of ``data``.
    coef_names : {"r", "formulaic"}, default "r"
        Name coefficients as R does (see the module docstring), or keep
        formulaic's names.
    **fit_options
        Passed to :func:`torchlinreg.fit` (``optimizer``, ``lr``,
        ``epochs``, ``validation``, ``seed``, ...). The intercept comes from
        the formula.

    Returns
    -------
    LinearFit
        With ``formula``, ``n_dropped`` and ``row_labels`` (the index
        labels of the rows used, in ``data``) set; ``predict(new_data)``
        builds the design of new rows from the formula.
    """
    from ..fitting.fit import fit

    if "intercept" in fit_options:
        raise OptionError("fit_formula takes the intercept from the formula: write "
                          "'y ~ x - 1' (or '0 + x') for a model without one.")
    frame = model_frame(formula, data, coef_names)
    w = _weights(weights, data, frame["rows"])
    y = frame["y"].iloc[:, 0] if frame["y"].shape[1] == 1 else frame["y"]
    result = fit(frame["X"], y, intercept=frame["intercept"], weights=w, **fit_options)
    return result._with(model_spec={"formula": str(formula), "n_dropped": frame["n_dropped"],
                                    "row_labels": np.asarray(frame["rows"]),
                                    "design": frame["design"], "terms": frame["terms"],
                                    "term_factors": frame["term_factors"]})


def _weights(weights, data, rows):
    if weights is None:
        return None
    if isinstance(weights, str):
        if weights not in data.columns:
            raise InputError(f"weights column {weights!r} is not in data; columns are "
                             f"{list(map(str, data.columns))}.")
        values = data[weights]
    else:
        values = pd.Series(np.asarray(weights, dtype=float).ravel(), index=data.index) \
            if len(np.ravel(weights)) == len(data) else None
        if values is None:
            raise InputError(f"weights must have one value per row of data ({len(data)}); "
                             f"got {len(np.ravel(weights))}.")
    values = values.loc[rows]
    if values.isna().any():
        raise InputError("weights has missing values in rows the formula keeps; "
                         "drop those rows from data first.")
    return values.to_numpy(dtype=float)
