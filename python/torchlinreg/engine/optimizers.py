"""Choosing and building the torch optimizer.

Names map to ``torch.optim`` classes; any extra keyword options are passed
through after checking that the class accepts them. A ``torch.optim.Optimizer``
subclass may be given instead of a name.
"""

import inspect

import torch

from ..errors import OptionError
from .stepping import without_dynamo_import


OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
    "lbfgs": torch.optim.LBFGS,
}


# Learning rates that reach the default tolerance on standardized data
# (the loss Hessian then has eigenvalues near 2). Plain gradient descent is
# stable for lr < 2 / max eigenvalue, so SGD gets 0.1; Adam's steps are
# roughly lr per coordinate, so 0.1 is the tutorial's value and converges
# in about two thousand steps on the ultramarathon data; L-BFGS takes unit
# quasi-Newton steps.
DEFAULT_LR = {"sgd": 0.1, "adam": 0.1, "adamw": 0.1, "rmsprop": 0.01, "adagrad": 0.5, "lbfgs": 1.0}


# Optimizer options torchlinreg changes from torch's defaults (a user's
# value always wins), so that the loop's gradient-norm tolerance, not the
# optimizer, decides when the fit is done:
# - L-BFGS: torch's ``tolerance_change=1e-9`` on the directional derivative
#   ends every ``step()`` at once when the gradient is about 1e-5 of its
#   start, so the fit would stall there. It takes unit quasi-Newton steps
#   without a line search (torch shortens the first to at most ``1/|g|₁``):
#   a line search compares loss values, which stop changing at rounding
#   level long before the gradient reaches ``tol``. One iteration per
#   ``step()`` gives one history row per iteration.
# - AdamW: decoupled weight decay (torch's default 0.01) shrinks the
#   coefficients like a ridge penalty, which lm() does not have.
# - RMSprop: with torch's ``alpha=0.99`` the squared-gradient average
#   forgets the large early gradients, steps stay about ``lr`` long and the
#   iterates hover; ``alpha=0.9999`` lets the steps shrink as the gradient does.
DEFAULT_OPTIONS = {
    "lbfgs": {"max_iter": 1, "tolerance_grad": 0.0, "tolerance_change": 0.0},
    "adamw": {"weight_decay": 0.0},
    "rmsprop": {"alpha": 0.9999},
}


# Optimizers whose fused implementation (one kernel for the whole update) is torchlinreg's
# default, unless the user picks an implementation (foreach, fused, capturable,
# differentiable): the same update as the for-loop one to rounding, in less time a step on
# one tensor (benchmarks/RESULTS.md, per-step section), where most fits spend their time. Plain SGD is not fused: its for-loop step is faster.
FUSED_BY_DEFAULT = (torch.optim.Adam, torch.optim.AdamW, torch.optim.Adagrad)


_IMPLEMENTATION_OPTIONS = {"foreach", "fused", "capturable", "differentiable"}


# Options torchlinreg sets itself and users may not override.
_RESERVED = {"params", "lr"}


def resolve_optimizer(optimizer):
    """Return ``(name, class)`` for an optimizer name or class."""
    if isinstance(optimizer, str):
        key = optimizer.lower()
        if key not in OPTIMIZERS:
            raise OptionError(f"unknown optimizer {optimizer!r}; choose one of {sorted(OPTIMIZERS)} "
                              "or pass a torch.optim.Optimizer subclass.")
        return key, OPTIMIZERS[key]
    if inspect.isclass(optimizer) and issubclass(optimizer, torch.optim.Optimizer):
        return optimizer.__name__.lower(), optimizer
    raise OptionError(f"optimizer must be a name in {sorted(OPTIMIZERS)} or a "
                      f"torch.optim.Optimizer subclass; got {optimizer!r}.")


def default_lr(name):
    """The default learning rate for an optimizer name (0.01 for unknown classes)."""
    return DEFAULT_LR.get(name, 0.01)


def check_options(optimizer_class, options):
    """Raise if ``options`` holds a keyword the optimizer class does not accept."""
    accepted = set(inspect.signature(optimizer_class.__init__).parameters) - {"self"} - _RESERVED
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise OptionError(f"{optimizer_class.__name__} does not accept {unknown}; "
                          f"valid options are {sorted(accepted)}.")


def default_options(name, optimizer_class=None, given=()):
    """Options torchlinreg sets for an optimizer unless the user gives them (``given``)."""
    options = dict(DEFAULT_OPTIONS.get(name, {}))
    if optimizer_class in FUSED_BY_DEFAULT and not _IMPLEMENTATION_OPTIONS & set(given):
        options["fused"] = True
    return options


def make_optimizer(optimizer_class, parameters, lr, options):
    """Instantiate the optimizer on ``parameters`` with the (complete) ``options`` (without
    importing ``torch._dynamo``: :mod:`torchlinreg.engine.stepping`)."""
    with without_dynamo_import():
        return optimizer_class(parameters, lr=lr, **options)
