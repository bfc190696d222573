"""torchlinreg: linear regression by gradient descent in PyTorch, checked
against the exact least-squares solution and R's ``lm()``.

The public API is small: :func:`fit` returns a :class:`LinearFit`;
:func:`ols` is the exact reference; :func:`simulate` and
:mod:`torchlinreg.datasets` provide data; :func:`lm_check` runs ``lm()``
through rpy2.
"""
from . import datasets
from ._version import __version__
from .errors import (ConvergenceWarning, DivergenceError, InputError, MissingDataError,
                     OptionError, ScaleWarning, ShapeError, TorchlinregError)
from .exact import ExactFit, ols
from .fitting import fit
from .inference import Inference
from .lm_check import LmResult, lm_check
from .persistence import load_fit as load
from .results import LinearFit
from .simulate import simulate

# Optional dependencies (scikit-learn, formulaic, matplotlib, pyarrow) are imported
# only when these names are first used.
_LAZY = {"TorchLinearRegression": ".estimator", "fit_formula": ".formula", "fit_files": ".streaming",
         "Summary": ".summary", "plot_fit": ".plotting"}


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "__version__", "fit", "ols", "simulate", "lm_check", "datasets",
    "LinearFit", "ExactFit", "Inference", "LmResult",
    "TorchlinregError", "InputError", "ShapeError", "OptionError", "DivergenceError",
    "MissingDataError", "ConvergenceWarning", "ScaleWarning", "load",
    "TorchLinearRegression", "fit_formula", "Summary", "plot_fit", "fit_files",
]
