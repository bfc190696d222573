"""Typed errors and warnings raised by torchlinreg.

Every error says what was wrong and what to change. They subclass the
built-in exception a Python user would expect (``ValueError`` for bad
input, ``RuntimeError`` for a fit that broke down), so ``except ValueError``
keeps working.
"""


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


class ConvergenceWarning(UserWarning):
    """The fit stopped before the gradient-norm tolerance was met."""


class ScaleWarning(UserWarning):
    """Columns differ hugely in scale and ``standardize=False`` leaves them so."""
