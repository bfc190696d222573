"""torchlinreg: linear regression by gradient descent in PyTorch, checked
against the exact least-squares solution and R's ``lm()``.

The public API is small: :func:`fit` returns a :class:`LinearFit`;
:func:`ols` is the exact reference; :func:`simulate` and
:mod:`torchlinreg.datasets` provide data; :func:`lm_check` runs ``lm()``
through rpy2.

The code is in layers, each importing only from those below it:
``inputs`` (validating arrays, frames, torch data and files) → ``engine``
(model, loss, optimizers, moments, objectives, the training loop) →
``persist`` (the file format) → ``results`` (the fit object, exact
reference, inference, summary, plots) → ``fitting`` (``fit()``, resuming,
loading) → ``scale`` (streaming files, torch.distributed) → ``interop``
(the R bridge, rpy2's ``lm()``, the scikit-learn estimator, formulas) →
this module, :mod:`torchlinreg.cli` and :mod:`torchlinreg.distributed`.
"""
from . import datasets
from ._version import __version__
from .datasets.simulate import simulate
from .errors import (ConvergenceWarning, DivergenceError, InputError, MissingDataError,
                     OptionError, ScaleWarning, ShapeError, TorchlinregError)
from .fitting.data import load
from .fitting.fit import fit
from .interop.lm_check import LmResult, lm_check
from .results.exact import ExactFit, ols
from .results.fit import LinearFit
from .results.inference import Inference

# Optional dependencies (scikit-learn, formulaic, matplotlib, pyarrow) are imported
# only when these names are first used.
_LAZY = {"TorchLinearRegression": ".interop.estimator", "fit_formula": ".interop.formula",
         "fit_files": ".scale.streaming", "Summary": ".results.summary",
         "plot_fit": ".results.plotting", "anova_lm": ".results.anova"}


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
    "TorchLinearRegression", "fit_formula", "Summary", "plot_fit", "fit_files", "anova_lm",
]
