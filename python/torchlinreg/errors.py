"""Typed errors and warnings raised by torchlinreg.

Every error says what was wrong and what to change. They subclass the
built-in exception a Python user would expect (``ValueError`` for bad
input, ``RuntimeError`` for a fit that broke down), so ``except ValueError``
keeps working.
"""
import importlib.abc
import importlib.util
import sys


class TorchlinregError(Exception):
    """Base class of every error raised by torchlinreg."""


class InputError(TorchlinregError, ValueError):
    """The data cannot be used as given (non-numeric, non-finite, too few rows)."""


class ShapeError(InputError):
    """Arrays have shapes that do not fit together."""


class OptionError(TorchlinregError, ValueError):
    """A fitting option is unknown or out of range."""


class DivergenceError(TorchlinregError, RuntimeError):
    """The loss became non-finite or grew without bound.

    Attributes
    ----------
    step : int
        The optimizer step at which the loss stopped being usable.
    last_finite_loss : float
        The last finite training loss seen.
    suggested_lr : float
        A smaller learning rate to try.
    history : pandas.DataFrame
        The history recorded up to that step.
    """

    def __init__(self, message, *, step, last_finite_loss, suggested_lr, history):
        super().__init__(message)
        self.step = step
        self.last_finite_loss = last_finite_loss
        self.suggested_lr = suggested_lr
        self.history = history


class MissingDataError(TorchlinregError, RuntimeError):
    """The fit was loaded without its training data, which this method needs."""


class _ConvergenceWarningBase(UserWarning):
    """Stands where scikit-learn's ``ConvergenceWarning`` goes once it is loaded (same layout)."""


class ConvergenceWarning(_ConvergenceWarningBase):
    """The fit stopped before the gradient-norm tolerance was met.

    A subclass of scikit-learn's ``ConvergenceWarning`` whenever
    scikit-learn is loaded, so its warning filters (``filterwarnings("ignore",
    category=sklearn.exceptions.ConvergenceWarning)``) catch it too.
    """


def _adopt_sklearn_base(sklearn_warning):
    """Put scikit-learn's ``ConvergenceWarning`` under ours (both subclass ``UserWarning`` only).

    Importing scikit-learn takes seconds, and ``import torchlinreg`` must not:
    so the base is set when ``sklearn.exceptions`` is loaded, by whoever.
    """
    if not issubclass(ConvergenceWarning, sklearn_warning):
        ConvergenceWarning.__bases__ = (sklearn_warning,)


class _WhenSklearnLoads(importlib.abc.MetaPathFinder):
    """Runs :func:`_adopt_sklearn_base` right after ``sklearn.exceptions`` is executed."""

    def find_spec(self, name, path=None, target=None):
        if name != "sklearn.exceptions":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            _adopt_sklearn_base(module.ConvergenceWarning)
        spec.loader.exec_module = exec_module
        return spec


if "sklearn.exceptions" in sys.modules:
    _adopt_sklearn_base(sys.modules["sklearn.exceptions"].ConvergenceWarning)
else:
    sys.meta_path.insert(0, _WhenSklearnLoads())


class ScaleWarning(UserWarning):
    """Columns differ hugely in scale and ``standardize=False`` leaves them so."""
