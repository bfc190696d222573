"""Linear hypotheses ``R β = q`` about a fit's coefficients, as statsmodels tests them.

``LinearFit.t_test``, ``f_test`` and ``wald_test`` give a
:class:`ContrastResults` (statsmodels' names: ``effect``, ``sd``, ``tvalue``,
``fvalue``, ``statistic``, ``pvalue``, ``df_num``, ``df_denom``,
``conf_int()``). The hypotheses are an array ``R`` (``q = 0``), a tuple
``(R, q)``, or a string over the coefficient names such as
``"x1 = 0, x2 = x3"`` or ``"x1 + 2*x2 = 1"``, which :func:`parse_constraints`
reads (statsmodels reads them with patsy's ``linear_constraint``; a small
parser here keeps patsy off the dependencies). Also here: multiple tests
(:func:`multiple_tests`, statsmodels' ``multipletests``, for ``outlier_test`` and
``t_test_pairwise``) and the tests per term of a fit (:func:`wald_test_terms`,
:func:`t_test_pairwise`), which :func:`term_columns` reads from the fit's formula.
"""

import re

import numpy as np

from ..engine.settings import as_probability
from ..errors import InputError, OptionError, ShapeError
from .distributions import chi2_sf, f_sf, norm_quantile, norm_sf, t_quantile
from .inference import t_p_values

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_IDENTIFIER_CHAR = re.compile(r"[A-Za-z0-9_.]")


def linear_constraints(hypotheses, term_names):
    """``(R (q, m), q (q,))`` from an array, a tuple ``(R, q)``, a string or a list of strings."""
    m = len(term_names)
    if isinstance(hypotheses, str) or (isinstance(hypotheses, (list, tuple)) and hypotheses
                                       and all(isinstance(h, str) for h in hypotheses)):
        text = hypotheses if isinstance(hypotheses, str) else ", ".join(hypotheses)
        return parse_constraints(text, term_names)
    if isinstance(hypotheses, tuple):
        if len(hypotheses) != 2:
            raise ShapeError("hypotheses given as a tuple must be (R, q); got "
                             f"{len(hypotheses)} items.")
        R, q = hypotheses
    else:
        R, q = hypotheses, None
    R = np.atleast_2d(np.asarray(R, dtype=np.float64))
    if R.ndim != 2 or R.shape[1] != m:
        raise ShapeError(f"r_matrix must have one column per coefficient ({m}: {term_names}); "
                         f"got shape {np.shape(hypotheses[0] if isinstance(hypotheses, tuple) else hypotheses)}.")
    q = np.zeros(R.shape[0]) if q is None else np.ravel(np.asarray(q, dtype=np.float64))
    if q.size == 1 and R.shape[0] > 1:
        q = np.full(R.shape[0], float(q[0]))
    if q.shape != (R.shape[0],):
        raise ShapeError(f"q must have one value per row of r_matrix ({R.shape[0]}); "
                         f"got {q.size}.")
    if not (np.isfinite(R).all() and np.isfinite(q).all()):
        raise InputError("r_matrix and q must be finite.")
    return R, q


def parse_constraints(text, term_names):
    """``(R, q)`` of linear constraints written over ``term_names``, comma-separated.

    Each constraint is ``expression = expression`` (or an expression, ``= 0``);
    expressions combine names and numbers with ``+ - * /`` and parentheses, and
    stay linear (``2*x1``, ``(x1 + x2)/2``; not ``x1*x2``). ``Intercept`` and
    ``const`` name the ``(Intercept)`` too, as in statsmodels' formula and array fits.
    """
    names = list(term_names)
    aliases = {name: j for j, name in enumerate(names)}
    if "(Intercept)" in aliases:
        for other in ("Intercept", "const"):
            aliases.setdefault(other, aliases["(Intercept)"])
    parser = _Parser(_tokens(text, aliases), len(names), text, names)
    rows = parser.constraints()
    R = np.array([row for row, _ in rows], dtype=np.float64)
    q = np.array([value for _, value in rows], dtype=np.float64)
    return R, q


def _tokens(text, aliases):
    """``[(kind, value, position)]``: names (their index), numbers and operators."""
    by_length = sorted(aliases, key=len, reverse=True)
    tokens, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        name = next((n for n in by_length if text.startswith(n, i) and not (
            i + len(n) < len(text) and _IDENTIFIER_CHAR.match(text[i + len(n)])
            and _IDENTIFIER_CHAR.match(n[-1]))), None)
        number = _NUMBER.match(text, i)
        if name is not None:
            tokens.append(("name", aliases[name], i))
            i += len(name)
        elif number:
            tokens.append(("number", float(number.group()), i))
            i = number.end()
        elif text[i] in "+-*/()=,":
            tokens.append((text[i], None, i))
            i += 1
        else:
            word = re.match(r"[^\s+\-*/=,]+", text[i:]).group()
            raise InputError(f"unknown name {word!r} in the hypotheses {text!r}; the "
                             f"coefficients are {list(aliases)}.")
    return tokens


class _Parser:
    """Recursive descent over the tokens; each value is a linear form ``(vector, constant)``."""

    def __init__(self, tokens, m, text, names):
        self.tokens, self.at, self.m, self.text, self.names = tokens, 0, m, text, names

    def _peek(self):
        return self.tokens[self.at][0] if self.at < len(self.tokens) else None

    def _fail(self, what):
        where = self.tokens[self.at][2] if self.at < len(self.tokens) else len(self.text)
        raise InputError(f"cannot read the hypotheses {self.text!r} at {where} "
                         f"({self.text[where:where + 12]!r}): {what}.")

    def constraints(self):
        rows = [self.constraint()]
        while self._peek() == ",":
            self.at += 1
            rows.append(self.constraint())
        if self._peek() is not None:
            self._fail("expected ',' or the end")
        return rows

    def constraint(self):
        vector, constant = self.expression()
        if self._peek() == "=":
            self.at += 1
            right, right_constant = self.expression()
            vector, constant = vector - right, constant - right_constant
        if not vector.any():
            self._fail("a constraint must involve a coefficient")
        return vector, -constant

    def expression(self):
        vector, constant = self.product()
        while self._peek() in ("+", "-"):
            sign = 1.0 if self.tokens[self.at][0] == "+" else -1.0
            self.at += 1
            other, other_constant = self.product()
            vector, constant = vector + sign * other, constant + sign * other_constant
        return vector, constant

    def product(self):
        vector, constant = self.factor()
        while self._peek() in ("*", "/"):
            op = self.tokens[self.at][0]
            self.at += 1
            other, other_constant = self.factor()
            if op == "/":
                if other.any() or other_constant == 0:
                    self._fail("divide only by a number other than 0")
                vector, constant = vector / other_constant, constant / other_constant
            elif other.any() and vector.any():
                self._fail("a product of two coefficients is not linear")
            elif vector.any():
                vector, constant = vector * other_constant, constant * other_constant
            else:
                vector, constant = other * constant, other_constant * constant
        return vector, constant

    def factor(self):
        kind = self._peek()
        if kind in ("+", "-"):
            self.at += 1
            vector, constant = self.factor()
            return (vector, constant) if kind == "+" else (-vector, -constant)
        if kind == "number":
            value = self.tokens[self.at][1]
            self.at += 1
            return np.zeros(self.m), value
        if kind == "name":
            vector = np.zeros(self.m)
            vector[self.tokens[self.at][1]] = 1.0
            self.at += 1
            return vector, 0.0
        if kind == "(":
            self.at += 1
            value = self.expression()
            if self._peek() != ")":
                self._fail("expected ')'")
            self.at += 1
            return value
        self._fail("expected a coefficient's name, a number or '('")


class ContrastResults:
    """The result of ``t_test``, ``f_test`` or ``wald_test`` (statsmodels' names).

    A t test has ``effect`` (``R β̂``), ``sd``, ``tvalue`` (``(R β̂ - q) / sd``),
    ``pvalue`` (two-sided), each ``(q,)``, ``df_denom`` and ``conf_int(alpha)``
    (limits of ``effect``). An F test has ``fvalue``, ``pvalue``, ``df_num`` (the
    number of constraints) and ``df_denom``; a chi² Wald test (``use_f=False``)
    ``statistic`` and ``pvalue`` on ``df_denom`` (= ``df_num``) degrees of freedom,
    as statsmodels. ``statistic`` is ``tvalue`` or ``fvalue`` too. A z test
    (distribution ``"norm"``, a t test of a fit whose ``use_t`` is False) has a t
    test's names, its p-values and limits from the standard normal.
    """

    def __init__(self, distribution, statistic, pvalue, df_num, df_denom, effect=None,
                 sd=None):
        self.distribution = distribution
        self.statistic = statistic
        self.pvalue = pvalue
        self.df_num = df_num
        self.df_denom = df_denom
        self.effect = effect
        self.sd = sd
        if distribution in ("t", "norm"):
            self.tvalue = statistic
            self.c_names = [f"c{i}" for i in range(len(effect))]
        elif distribution == "F":
            self.fvalue = statistic

    def conf_int(self, alpha=0.05):
        """Limits of ``effect`` at level ``1 - alpha`` ``(q, 2)`` (t tests only)."""
        if self.effect is None:
            raise OptionError("conf_int() is for a t test; an F or chi² test has no effect "
                              "to bound.")
        level = 1 - as_probability(alpha, "alpha") / 2
        quantile = norm_quantile(level) if self.distribution == "norm" \
            else t_quantile(level, self.df_denom)
        half = quantile * self.sd
        return np.column_stack([self.effect - half, self.effect + half])

    def summary_frame(self, alpha=0.05):
        """A t test's table: ``coef``, ``std err``, ``t``, ``P>|t|`` (``z``, ``P>|z|`` for a
        z test) and the limits."""
        if self.effect is None:
            raise OptionError("summary_frame() is for a t test; read fvalue and pvalue.")
        import pandas as pd  # off the fit path
        limits = self.conf_int(alpha)
        z = "z" if self.distribution == "norm" else "t"
        return pd.DataFrame({"coef": self.effect, "std err": self.sd, z: self.tvalue,
                             f"P>|{z}|": np.atleast_1d(self.pvalue),
                             "Conf. Int. Low": limits[:, 0], "Conf. Int. Upp.": limits[:, 1]},
                            index=self.c_names)

    def summary(self, alpha=0.05):
        """The test as text: a t test's table, or one line for an F or chi² test."""
        if self.effect is not None:
            table = self.summary_frame(alpha).rename(columns={
                "Conf. Int. Low": f"[{alpha / 2:g}", "Conf. Int. Upp.": f"{1 - alpha / 2:g}]"})
            kind = "normal" if self.distribution == "norm" \
                else f"t, {self.df_denom} residual df"
            return (f"Test for constraints ({kind})\n"
                    + table.to_string(float_format=lambda v: f"{v:.6g}"))
        if self.distribution == "F":
            return (f"<F test: F={_scalar(self.fvalue):.6g}, p={_scalar(self.pvalue):.6g}, "
                    f"df_denom={self.df_denom:.3g}, df_num={self.df_num:.3g}>")
        return (f"<Wald test (chi2): statistic={_scalar(self.statistic):.6g}, "
                f"p-value={_scalar(self.pvalue):.6g}, df_denom={self.df_denom:.3g}>")

    def __str__(self):
        return self.summary()

    def __repr__(self):
        return f"<ContrastResults ({self.distribution})>\n{self.summary()}"


def _scalar(value):
    return float(np.ravel(value)[0])


def _restricted(R, q, params, cov, aliased):
    """``(R, q, β̂, V)`` over the estimated terms; a constraint on an aliased term is an error."""
    on_aliased = np.abs(R[:, aliased]).sum(0) > 0
    if on_aliased.any():
        raise InputError("the hypotheses involve aliased coefficients, which the fit does not "
                         "estimate (NA in lm()): drop them from the hypotheses.")
    kept = ~aliased
    V = np.asarray(cov, dtype=np.float64)
    if V.shape != (len(aliased), len(aliased)):
        raise ShapeError(f"cov_p must be ({len(aliased)}, {len(aliased)}); got {V.shape}.")
    V = V[np.ix_(kept, kept)]
    if not np.isfinite(V).all():
        raise InputError("cov_p has values that are not finite among the estimated terms.")
    return R[:, kept], q, np.asarray(params, dtype=np.float64)[kept], V


def t_test(R, q, params, cov, aliased, df, use_t=True):
    """Each row of ``R β = q`` by its t statistic on ``df`` residual degrees of freedom, or
    (``use_t=False``) by the standard normal, as statsmodels' z tests."""
    R, q, b, V = _restricted(R, q, params, cov, aliased)
    effect = R @ b
    sd = np.sqrt(np.einsum("ij,jk,ik->i", R, V, R))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (effect - q) / sd
    if not use_t:
        return ContrastResults("norm", t, 2 * norm_sf(np.abs(t)), None, df, effect=effect, sd=sd)
    return ContrastResults("t", t, t_p_values(t, df), None, df, effect=effect, sd=sd)


def wald_test(R, q, params, cov, aliased, df, use_f=True, scalar=True):
    """``R β = q`` jointly: ``F = d ᵀ (R V Rᵀ)⁻¹ d / J``, ``d = R β̂ - q``, on ``(J, df)``
    degrees of freedom, or (``use_f=False``) ``J F`` on chi² with ``J``."""
    R, q, b, V = _restricted(R, q, params, cov, aliased)
    d = R @ b - q
    cov_R = R @ V @ R.T
    J = R.shape[0]
    if np.linalg.matrix_rank(cov_R) < J:
        raise InputError(f"the {J} hypotheses are not linearly independent (their covariance "
                         "has rank " f"{np.linalg.matrix_rank(cov_R)}): drop the redundant ones.")
    wald = float(d @ np.linalg.solve(cov_R, d))
    if use_f:
        F = wald / J
        value = F if scalar else np.array([[F]])
        return ContrastResults("F", value, f_sf(F, J, df)[()], J, df)
    value = wald if scalar else np.array([[wald]])
    return ContrastResults("chi2", value, chi2_sf(wald, J)[()], J, J)


_ADJUSTMENTS = {"b": "bonferroni", "bonf": "bonferroni", "bonferroni": "bonferroni",
                "s": "sidak", "sidak": "sidak", "h": "holm", "holm": "holm",
                "hs": "holm-sidak", "holm-sidak": "holm-sidak",
                "fdr_bh": "fdr_bh", "fdr_i": "fdr_bh", "fdr_p": "fdr_bh", "fdri": "fdr_bh",
                "fdrp": "fdr_bh"}


def adjusted_p_values(p, method="bonf"):
    """p-values adjusted for testing them all, as statsmodels' ``multipletests``
    (methods as :func:`multiple_tests`). NaN values stay NaN and do not count as tests."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    out[ok] = multiple_tests(p[ok], method)[1]
    return out


def multiple_tests(p, method="hs", alpha=0.05):
    """``(reject, corrected)`` for the p-values ``p`` tested together, as statsmodels'
    ``multipletests``: ``bonferroni`` (``b``, ``bonf``), ``sidak`` (``s``), ``holm-sidak``
    (``hs``, step-down Šidák), ``holm`` (``h``), ``fdr_bh`` (Benjamini-Hochberg).
    ``reject`` says which hypotheses are rejected at family-wise level (false discovery
    rate for ``fdr_bh``) ``alpha``."""
    if method not in _ADJUSTMENTS:
        raise OptionError(f"method must be one of {sorted(_ADJUSTMENTS)}; got {method!r}.")
    kind, alpha = _ADJUSTMENTS[method], as_probability(alpha, "alpha")
    p = np.asarray(p, dtype=np.float64).ravel()
    n = p.size
    if n == 0:
        return np.zeros(0, dtype=bool), np.zeros(0)
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    left = np.arange(n, 0, -1)  # hypotheses left at each step down
    with np.errstate(divide="ignore"):  # p = 1: log 0, adjusted to 1
        if kind == "bonferroni":
            reject, corrected = ranked <= alpha / n, ranked * n
        elif kind == "sidak":
            reject = ranked <= 1 - np.power(1 - alpha, 1 / n)
            corrected = -np.expm1(n * np.log1p(-ranked))
        elif kind == "holm":
            reject = np.logical_and.accumulate(ranked <= alpha / left)
            corrected = np.maximum.accumulate(ranked * left)
        elif kind == "holm-sidak":
            reject = np.logical_and.accumulate(ranked <= 1 - np.power(1 - alpha, 1 / left))
            corrected = np.maximum.accumulate(-np.expm1(left * np.log1p(-ranked)))
        else:
            share = np.arange(1, n + 1) / n
            below = ranked <= share * alpha
            reject = np.arange(n) <= (np.flatnonzero(below)[-1] if below.any() else -1)
            corrected = np.minimum.accumulate((ranked / share)[::-1])[::-1]
    out_reject, out_corrected = np.empty(n, dtype=bool), np.empty(n)
    out_reject[order], out_corrected[order] = reject, np.minimum(corrected, 1.0)
    return out_reject, out_corrected


# Tests per term of a fit, as statsmodels' ``wald_test_terms`` and ``t_test_pairwise``.

def term_columns(fit):
    """``[(name, positions, factors)]``: each term of ``fit`` (a formula's terms, else each
    feature; the intercept left out), the positions of its columns among ``params`` and
    the set of its factors (``x1:g`` has ``x1`` and ``g``)."""
    spec = fit._parts["model_spec"] or {}
    factors = spec.get("term_factors")
    offset = int(fit.settings["intercept"])
    position = {name: offset + j for j, name in enumerate(fit.feature_names)}

    def factors_of(name):
        if factors is not None:
            return frozenset(factors[name])
        return frozenset(name.split(":") if spec.get("terms") is not None else [name])
    return [(name, [position[c] for c in columns], factors_of(name))
            for name, columns in fit.terms]


class WaldTestResults:
    """One Wald test per term (statsmodels' ``WaldTestResults``): ``table`` (``statistic``,
    ``pvalue``, ``df_constraint``, ``df_denom``), ``statistic``, ``pvalues``,
    ``df_constraints``, ``df_denom`` and ``summary_frame()`` (statsmodels' headers)."""

    def __init__(self, table, distribution="F"):
        self.table, self.distribution = table, distribution
        self.statistic = table["statistic"].values
        self.pvalues = table["pvalue"].values
        self.df_constraints = table["df_constraint"].values
        self.df_denom = table["df_denom"].values

    @property
    def col_names(self):
        return [self.distribution, f"P>{self.distribution}", "df constraint", "df denom"]

    def summary_frame(self):
        """``table`` with statsmodels' printed headers (``F``, ``P>F``, ``df constraint``,
        ``df denom``)."""
        return self.table.rename(columns=dict(zip(self.table.columns, self.col_names)))

    def __str__(self):
        return self.summary_frame().to_string()

    def __repr__(self):
        return f"<WaldTestResults>\n{self}"


def wald_test_terms(fit, skip_single=False, extra_constraints=None, combine_terms=None,
                    scalar=True):
    """The F test that all of a term's coefficients are 0, for each term of ``fit``
    (``Intercept`` first when it has one), then each of ``combine_terms`` (the terms whose
    names contain it, jointly), then each ``(name, r_matrix)`` of ``extra_constraints``."""
    import pandas as pd  # off the fit path
    eye = np.eye(len(fit.term_names))
    constraints = [("Intercept", eye[[0]])] if fit.settings["intercept"] else []
    constraints += [(name, eye[columns]) for name, columns, _ in term_columns(fit)]
    combined = []
    for part in combine_terms or []:
        rows = [R for name, R in constraints if part in name]
        if not rows:
            raise InputError(f"combine_terms: {part!r} is in no term's name; the terms are "
                             f"{[name for name, _ in constraints]}.")
        combined.append((part, np.vstack(rows)))
    if skip_single:
        constraints = [(name, R) for name, R in constraints if R.shape[0] > 1]
    rows, names = [], []
    for name, R in constraints + combined + list(extra_constraints or []):
        test = fit.wald_test(R, scalar=scalar)
        rows.append([test.statistic, test.pvalue, int(test.df_num), float(test.df_denom)])
        names.append(name)
    table = pd.DataFrame(rows, index=names,
                         columns=["statistic", "pvalue", "df_constraint", "df_denom"])
    return WaldTestResults(table)


class MultiCompResult:
    """Pairwise comparisons of a factor's levels (statsmodels' ``MultiCompResult``):
    ``result_frame``, ``contrasts`` (the ``R`` of the t tests), ``term``,
    ``contrast_labels``, ``term_encoding_matrix``."""

    def __init__(self, result_frame, contrasts, term, contrast_labels, term_encoding_matrix):
        self.result_frame, self.contrasts, self.term = result_frame, contrasts, term
        self.contrast_labels, self.term_encoding_matrix = contrast_labels, term_encoding_matrix

    def __repr__(self):
        return f"<MultiCompResult of {self.term}>\n{self.result_frame.to_string()}"


def t_test_pairwise(fit, term_name, method="hs", alpha=0.05, factor_labels=None):
    """t tests of every difference of two levels of the factor ``term_name`` (level ``j``
    minus level ``i`` for ``i < j``, labelled ``"j-i"``), with p-values corrected by each
    of ``method`` (:func:`multiple_tests`) at ``alpha``, as statsmodels."""
    spec = fit._parts["model_spec"] or {}
    design = spec.get("design")
    if design is None or spec.get("terms") is None:
        raise InputError("t_test_pairwise needs a formula fit (fit_formula), whose terms say "
                         "which columns code a factor's levels.")
    terms = {name: (columns, factors) for name, columns, factors in term_columns(fit)}
    if term_name not in terms:
        raise InputError(f"the fit has no term {term_name!r}; its terms are {list(terms)}.")
    columns, factors = terms[term_name]
    if len(factors) > 1:
        raise InputError(f"{term_name!r} is an interaction; pairwise comparisons are of the "
                         "levels of one factor.")
    encoding = design.factor_encoding(term_name)
    if encoding is None:
        raise InputError(f"{term_name!r} is not a factor; pairwise comparisons are of a "
                         "factor's levels.")
    levels, matrix = encoding
    if factor_labels is not None:
        if len(factor_labels) != len(levels):
            raise InputError(f"factor_labels must name the {len(levels)} levels {levels}; "
                             f"got {len(factor_labels)}.")
        levels = list(factor_labels)
    first, second = np.triu_indices(len(levels), 1)
    pairs = np.zeros((len(first), len(levels)))
    pairs[np.arange(len(first)), first], pairs[np.arange(len(first)), second] = -1.0, 1.0
    contrasts = np.zeros((len(first), len(fit.term_names)))
    contrasts[:, columns] = pairs @ matrix
    labels = [f"{levels[j]}-{levels[i]}" for i, j in zip(first, second)]
    methods = method if isinstance(method, list) else [method]
    for one in methods:  # checked before the tests run
        multiple_tests([], one, alpha)
    test = fit.t_test(contrasts)
    frame = test.summary_frame()
    frame.index = labels
    for one in methods:
        reject, corrected = multiple_tests(test.pvalue, one, alpha)
        frame[f"pvalue-{one}"], frame[f"reject-{one}"] = corrected, reject
    return MultiCompResult(frame, contrasts, term_name, labels, matrix)
