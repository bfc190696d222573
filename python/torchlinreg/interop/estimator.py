"""``TorchLinearRegression``: :func:`torchlinreg.fit` as a scikit-learn estimator.

scikit-learn is optional: this module imports it, and ``torchlinreg``
imports this module only when ``TorchLinearRegression`` is first used.
The parameters are :func:`torchlinreg.fit`'s, with the same names and
defaults (``intercept`` rather than scikit-learn's ``fit_intercept``, and
``seed`` rather than ``random_state``), so a fit reads the same in the
function, the estimator, the command line and R. ``optimizer_options``
collects what ``fit()`` takes as extra keywords (``momentum``, ...).
"""

import numpy as np

try:
    from sklearn.base import BaseEstimator, RegressorMixin
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
    dtype : {"float64", "float32"}, default "float64"
    seed : int, optional
    tol : float, optional
    init : {"zeros", "uniform"}, default "zeros"
    engine : {"auto", "gram", "autograd"}, default "auto"
    verbose : bool, default False
        False keeps scikit-learn pipelines and searches quiet.
    optimizer_options : dict, optional
        Extra options for the torch optimizer.

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
                 tol=None, init="zeros", engine="auto", verbose=False, optimizer_options=None):
        self.intercept = intercept
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.validation = validation
        self.standardize = standardize
        self.dtype = dtype
        self.seed = seed
        self.tol = tol
        self.init = init
        self.engine = engine
        self.verbose = verbose
        self.optimizer_options = optimizer_options

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
        self.linear_fit_ = fit(
            design, y, intercept=self.intercept, optimizer=self.optimizer, lr=self.lr,
            epochs=self.epochs, batch_size=self.batch_size, shuffle=self.shuffle,
            validation=self.validation, standardize=self.standardize, dtype=self.dtype,
            seed=self.seed, tol=self.tol, init=self.init, engine=self.engine,
            verbose=self.verbose, weights=sample_weight, **(self.optimizer_options or {}))
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

    def predict(self, X):
        """Predictions: ``(n,)`` when fitted on a 1-D ``y``, else ``(n, n_targets)``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        coef = np.nan_to_num(np.atleast_2d(self.coef_))
        pred = np.asarray(X, dtype=np.float64) @ coef.T + self.intercept_
        return pred if self._y_2d else pred[:, 0]
