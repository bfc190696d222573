"""``TorchLinearRegression``: :func:`torchlinreg.fit` as a scikit-learn estimator.

scikit-learn is optional: this module imports it, and ``torchlinreg``
imports this module only when ``TorchLinearRegression`` is first used.
The parameters are :func:`torchlinreg.fit`'s, with the same names and
defaults (``intercept``, ``epochs``, ``seed``), so a fit reads the same in
the function, the estimator, the command line and R; scikit-learn's names
``fit_intercept``, ``max_iter`` and ``random_state`` are accepted too, and
win when given (scikit-learn's tools set them).
``optimizer_options`` collects what ``fit()`` takes as extra keywords
(``momentum``, ...).

A pickled estimator holds what predicting needs and the fit's history and
optimizer state (for ``summary``-free inspection, plots and ``warm_start``),
not the training rows.
"""

import numpy as np

try:
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("TorchLinearRegression needs scikit-learn >= 1.6: "
                      "pip install scikit-learn (or torchlinreg[sklearn]).") from error


class TorchLinearRegression(RegressorMixin, BaseEstimator):
    """Ordinary (or weighted) least squares fitted by gradient descent in PyTorch.

    Parameters
    ----------
    intercept : bool, default True
    optimizer : str or torch.optim.Optimizer subclass, default "adam"
    lr : float, optional
    epochs : int, optional
    batch_size : int, optional
    shuffle : bool, default True
    validation : float, default 0
    standardize : bool, default True
    precondition : {"qr", "standardize", "none"}, optional
        As for :func:`torchlinreg.fit`: "qr" by default.
    dtype : {"float64", "float32"}, default "float64"
    seed : int, optional
    tol : float, optional
    init : {"zeros", "uniform"}, default "zeros"
    engine : {"auto", "gram", "autograd"}, default "auto"
    verbose : bool, default False
        False keeps scikit-learn pipelines and searches quiet.
    optimizer_options : dict, optional
        Extra options for the torch optimizer.
    fit_intercept : bool, optional
        scikit-learn's name for ``intercept``.
    max_iter : int, optional
        scikit-learn's name for ``epochs``.
    random_state : int or numpy.random.RandomState, optional
        scikit-learn's name for ``seed`` (a RandomState draws the seed).
    warm_start : bool, default False
        Continue the previous fit (``fit(..., resume=)``), its optimizer
        state included, for ``max_iter`` more steps; the rows must be the
        same (an :class:`~torchlinreg.errors.InputError` otherwise).
    early_stopping : bool, default False
        Stop when the validation loss has set no new low for
        ``n_iter_no_change`` steps (epochs with minibatches), holding out
        ``validation`` of the rows (``validation_fraction`` when
        ``validation`` is 0); ``fit(patience=)``. The stop reason is
        ``linear_fit_.stop_reason == "early_stopping"``.
    n_iter_no_change : int, default 5
    validation_fraction : float, default 0.1

    See :func:`torchlinreg.fit` for what each parameter does.

    Attributes
    ----------
    coef_ : numpy.ndarray, shape (n_features,) or (n_targets, n_features)
        NaN for columns ``lm()`` would alias (exact linear combinations).
    intercept_ : float or numpy.ndarray, shape (n_targets,)
    n_iter_ : int
        Steps (full batch) or epochs (minibatch) run.
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray
        Only when ``X`` was a DataFrame with string column names.
    linear_fit_ : LinearFit
        The underlying fit: ``summary()``, ``plot()``, ``compare()``, ``history``.
    """

    def __init__(self, intercept=True, optimizer="adam", lr=None, epochs=None, batch_size=None,
                 shuffle=True, validation=0.0, standardize=True, dtype="float64", seed=None,
                 tol=None, init="zeros", engine="auto", verbose=False, optimizer_options=None,
                 fit_intercept=None, max_iter=None, random_state=None, warm_start=False,
                 early_stopping=False, n_iter_no_change=5, validation_fraction=0.1,
                 precondition=None):
        self.intercept = intercept
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.validation = validation
        self.standardize = standardize
        self.precondition = precondition
        self.dtype = dtype
        self.seed = seed
        self.tol = tol
        self.init = init
        self.engine = engine
        self.verbose = verbose
        self.optimizer_options = optimizer_options
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.random_state = random_state
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.validation_fraction = validation_fraction

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def fit(self, X, y, sample_weight=None):
        """Fit the model; ``sample_weight`` gives a weighted fit, as ``lm(weights = )``.

        Returns
        -------
        self
        """
        import pandas as pd

        from ..fitting.fit import fit

        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True,
                             dtype=[np.float64, np.float32], ensure_min_samples=2)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        names = getattr(self, "feature_names_in_", None)
        design = pd.DataFrame(X, columns=[str(n) for n in names]) if names is not None else X
        self._y_2d = y.ndim == 2
        self._partial = False
        resume = getattr(self, "linear_fit_", None) if self.warm_start else None
        validation, patience = self.validation, None
        if self.early_stopping:
            patience = self.n_iter_no_change
            if isinstance(validation, (int, float)) and validation == 0:
                validation = self.validation_fraction
        self.linear_fit_ = fit(
            design, y, intercept=self._either("intercept", "fit_intercept"),
            optimizer=self.optimizer, lr=self.lr, epochs=self._either("epochs", "max_iter"),
            batch_size=self.batch_size, shuffle=self.shuffle, validation=validation,
            standardize=self.standardize, dtype=self.dtype, seed=self._seed(), tol=self.tol,
            init=self.init, engine=self.engine, verbose=self.verbose, weights=sample_weight,
            resume=resume, patience=patience, precondition=self.precondition,
            **(self.optimizer_options or {}))
        return self._fitted(y)

    def partial_fit(self, X, y, sample_weight=None):
        """One pass of steps over the rows given, continuing the previous ``partial_fit``.

        One epoch of minibatches of ``batch_size`` rows (one full-batch step
        without ``batch_size``) from where the last call stopped, optimizer
        state included (:func:`torchlinreg.fitting.partial.partial_fit`). The
        first call fixes the standardization, the aliased columns and the
        options; ``linear_fit_`` then describes every row seen, from their
        moments. ``fit()`` starts afresh.

        Returns
        -------
        self
        """
        import pandas as pd

        from ..fitting.partial import partial_fit

        first = getattr(self, "linear_fit_", None) is None or not getattr(self, "_partial", False)
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, reset=first,
                             dtype=[np.float64, np.float32])
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        names = getattr(self, "feature_names_in_", None)
        design = pd.DataFrame(X, columns=[str(n) for n in names]) if names is not None else X
        if first:
            self._y_2d = y.ndim == 2
            self.linear_fit_ = partial_fit(
                None, design, y, sample_weight, intercept=self._either("intercept", "fit_intercept"),
                optimizer=self.optimizer, lr=self.lr, batch_size=self.batch_size,
                shuffle=self.shuffle, standardize=self.standardize, dtype=self.dtype,
                seed=self._seed(), init=self.init, verbose=False, precondition=self.precondition,
                **(self.optimizer_options or {}))
        else:
            self.linear_fit_ = partial_fit(self.linear_fit_, design, y, sample_weight)
        self._partial = True
        return self._fitted(y)

    def _fitted(self, y):
        """Set the fitted attributes from ``linear_fit_``; return self."""
        result = self.linear_fit_
        coef = np.asarray(result.coef, dtype=np.float64)
        intercept = np.atleast_1d(np.asarray(result.intercept, dtype=np.float64))
        if self._y_2d:
            self.coef_ = coef.reshape(y.shape[1], -1)
            self.intercept_ = intercept
        else:
            self.coef_ = coef
            self.intercept_ = float(intercept[0])
        self.n_iter_ = result.n_iter
        return self

    def _either(self, ours, sklearns):
        """scikit-learn's name for a parameter when it is given, else ours.

        scikit-learn's tools set its names (``set_random_state``, grid searches
        over ``max_iter``), so given both, scikit-learn's wins.
        """
        theirs = getattr(self, sklearns)
        return getattr(self, ours) if theirs is None else theirs

    def _seed(self):
        state = self.random_state
        if state is None or isinstance(state, (int, np.integer)):
            return self._either("seed", "random_state")
        return int(check_random_state(state).randint(np.iinfo(np.int32).max))

    def __getstate__(self):
        """What predicting needs, the fit without its rows (``linear_fit_`` then has no inference)."""
        state = super().__getstate__()
        result = state.get("linear_fit_")
        if result is not None:
            state["linear_fit_"] = result._with(train_data=None, train_index=None,
                                                valid_index=None, n_train=result.n_train,
                                                n_valid=result.n_valid)
        return state

    def predict(self, X):
        """Predictions: ``(n,)`` when fitted on a 1-D ``y``, else ``(n, n_targets)``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        coef = np.nan_to_num(np.atleast_2d(self.coef_))
        pred = np.asarray(X, dtype=np.float64) @ coef.T + self.intercept_
        return pred if self._y_2d else pred[:, 0]
