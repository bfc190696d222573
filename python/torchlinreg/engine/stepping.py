"""A torch optimizer's own ``step``, called without the wrappers torch puts around each call.

``torch.optim`` wraps every optimizer class's ``step`` twice: in
``Optimizer.profile_hook_step`` (a profiler label and the step hooks) and in
``_use_grad_for_differentiable`` (gradients off, and ``import torch._dynamo``
on every call for its graph breaks), or in ``torch.no_grad()`` for L-BFGS.
In eager mode, with no hook registered and no profiler running, they change
nothing in the update, but on a small parameter they cost a third of the
step, and the first call of a process imports ``torch._dynamo`` (seconds).
:func:`stepper` calls the undecorated ``step`` with gradients off: the same
code, the same kernels, the same numbers bit for bit
(tests/python/test_stepping.py). Whenever anything it leaves out
would act (a step hook, a profiler, ``torch.compile``, ``differentiable=True``, a
``step`` set on the instance)
or the wrappers are not the ones read here (a subclass that wraps its own
step, another torch version), it calls ``optimizer.step()`` itself.

``Optimizer.add_param_group`` (called by every optimizer's constructor),
``state_dict``, ``load_state_dict`` and ``zero_grad`` are wrapped by
``torch._disable_dynamo``, which imports ``torch._dynamo`` on their first call
to build the wrapper that keeps the compiler out of them. Until something
imports ``torch._dynamo`` nothing can be compiling, so there is nothing to keep
out: inside :func:`without_dynamo_import` they run undecorated while
``torch._dynamo`` is not imported, and as torch runs them once it is.
"""
import inspect
import sys
import threading
from contextlib import contextmanager

import torch
from torch.optim import optimizer as _optim


# The names the wrappers left out refer to (torch 2.13): if a torch version puts anything
# else in them, the steps go through optimizer.step().
_PROFILE_WRAPPER_NAMES = frozenset({
    "Optimizer", "RuntimeError", "__class__", "__name__", "_global_optimizer_post_hooks",
    "_global_optimizer_pre_hooks", "_optimizer_step_code", "_optimizer_step_post_hooks",
    "_optimizer_step_pre_hooks", "autograd", "cast", "chain", "isinstance", "len", "profiler",
    "record_function", "torch", "tuple", "values"})
_GRAD_WRAPPER_NAMES = frozenset({
    "Optimizer", "_dynamo", "cast", "defaults", "graph_break", "is_grad_enabled",
    "set_grad_enabled", "torch._dynamo"})
_DISABLE_WRAPPER_NAMES = frozenset({"getattr", "torch._dynamo", "_dynamo", "disable",
                                    "__dynamo_disable"})

# Optimizer methods that torch wraps in torch._disable_dynamo and a fit calls.
_DISABLED_METHODS = ("add_param_group", "state_dict", "load_state_dict", "zero_grad")


def _names(code):
    """The global and attribute names ``code`` (and code nested in it) refers to."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if hasattr(constant, "co_names"):
            names |= _names(constant)
    return names


def _plain(self=None):
    return None


def _reference_wrappers():
    """The code of torch's step wrappers, made here by torch's own decorators."""
    profile = torch.optim.Optimizer.profile_hook_step(_plain).__code__
    grad = {_optim._use_grad_for_differentiable(_plain).__code__: _GRAD_WRAPPER_NAMES,
            torch.no_grad()(_plain).__code__: frozenset()}
    return profile, grad


_undecorated_steps = {}


def undecorated_step(optimizer_class):
    """The step function that ``optimizer_class.step``'s two torch wrappers call, or None
    when its wrappers are not exactly torch's (profile hook, then grad mode). The profile
    hook is put on by the class's first constructor call: None before."""
    if optimizer_class in _undecorated_steps:
        return _undecorated_steps[optimizer_class]
    if not getattr(getattr(optimizer_class, "step", None), "hooked", False):
        return None
    found = None
    try:
        profile, grad = _reference_wrappers()
        outer = optimizer_class.step
        middle = getattr(outer, "__wrapped__", None)
        inner = getattr(middle, "__wrapped__", None)
        if (getattr(outer, "__code__", None) is profile
                and _names(profile) <= _PROFILE_WRAPPER_NAMES
                and getattr(middle, "__code__", None) in grad
                and _names(middle.__code__) <= grad[middle.__code__]
                and callable(inner) and not hasattr(inner, "__wrapped__")):
            found = inner
    except (AttributeError, TypeError):
        found = None
    _undecorated_steps[optimizer_class] = found
    return found


def stepper(optimizer):
    """A function doing ``optimizer.step(*args)``: torch's undecorated step with gradients
    off where the wrappers would do nothing else (for a fused Adam or AdamW of one
    parameter, the function that step calls: :func:`_fused_adam_step`), else
    ``optimizer.step`` itself."""
    step = undecorated_step(type(optimizer))
    if step is None or optimizer.defaults.get("differentiable", False):
        return optimizer.step
    step = _fused_adam_step(optimizer, step) or step
    set_grad, grad_enabled = torch._C._set_grad_enabled, torch.is_grad_enabled
    profiling = torch._C._autograd._profiler_enabled
    own = vars(optimizer)  # a ``step`` set on the instance itself is called as it is
    modules = sys.modules

    def fast_step(*args):
        if (optimizer._optimizer_step_pre_hooks or optimizer._optimizer_step_post_hooks
                or _optim._global_optimizer_pre_hooks or _optim._global_optimizer_post_hooks
                or "step" in own or profiling()
                or ("torch._dynamo" in modules and torch.compiler.is_compiling())):
            return optimizer.step(*args)
        if not grad_enabled():
            return step(optimizer, *args)
        set_grad(False)
        try:
            return step(optimizer, *args)
        finally:
            set_grad(True)
    return fast_step


# Adam's undecorated step, as read here (torch 2.13): it collects each group's tensors
# (_init_group) and calls the function ``adam``, which with ``fused=True`` calls
# ``_fused_adam`` with these parameters.
_ADAM_STEP_NAMES = frozenset({"_accelerator_graph_capture_health_check", "_init_group", "adam",
                              "enable_grad", "getattr", "param_groups", "torch"})
_FUSED_ADAM_PARAMETERS = (
    "params", "grads", "exp_avgs", "exp_avg_sqs", "max_exp_avg_sqs", "state_steps",
    "grad_scale", "found_inf", "amsgrad", "has_complex", "beta1", "beta2", "lr",
    "weight_decay", "eps", "maximize", "capturable", "differentiable", "decoupled_weight_decay")


_fused_adam_functions = {}


def _fused_adam_function(step):
    """torch's ``_fused_adam``, the update Adam's (and AdamW's) ``step`` runs for
    ``fused=True``, when ``step`` (their undecorated step) and it are as read here; else
    None. Read once per ``step``."""
    if step not in _fused_adam_functions:
        _fused_adam_functions[step] = _read_fused_adam(step)
    return _fused_adam_functions[step]


def _read_fused_adam(step):
    from torch.optim import adam
    function = getattr(adam, "_fused_adam", None)
    # ``adam`` is wrapped (torch's dynamo fallback, which in eager mode calls it as it is)
    if function is None or _names(step.__code__) != _ADAM_STEP_NAMES \
            or "_fused_adam" not in _names(inspect.unwrap(adam.adam).__code__):
        return None
    try:
        parameters = tuple(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return None
    return function if parameters == _FUSED_ADAM_PARAMETERS else None


def _fused_adam_step(optimizer, step):
    """For a fused ``torch.optim.Adam`` or ``AdamW``: a function doing its ``step()`` by
    calling ``_fused_adam`` with its own state tensors and hyperparameters, as ``step``
    does after collecting them (``_init_group``) and choosing the implementation
    (``adam``): the same kernel on the same tensors, bit for bit
    (tests/python/test_stepping.py), without the collecting and choosing, which on one
    small parameter cost about half as much as the update itself. Where anything else
    would happen (a first step, which makes the state; several parameters or groups;
    ``capturable``, a tensor ``lr``, a gradient scaler's ``grad_scale``; a closure) it
    calls ``step``. None for other optimizers."""
    if type(optimizer) not in (torch.optim.Adam, torch.optim.AdamW):
        return None
    function = _fused_adam_function(step)
    if function is None:
        return None
    groups, states, is_tensor = optimizer.param_groups, optimizer.state, torch.is_tensor

    def fused_step(*args):
        if args or len(groups) != 1:
            return step(optimizer, *args)
        group = groups[0]
        params = group["params"]
        if len(params) != 1 or not group["fused"] or group["capturable"] \
                or group["differentiable"] or group["foreach"] or is_tensor(group["lr"]) \
                or getattr(optimizer, "grad_scale", None) is not None \
                or getattr(optimizer, "found_inf", None) is not None:
            return step(optimizer)
        p = params[0]
        grad, state = p.grad, states.get(p)
        if grad is None or not state or grad.is_sparse or p.is_complex():
            return step(optimizer)
        amsgrad = group["amsgrad"]
        beta1, beta2 = group["betas"]
        function([p], [grad], [state["exp_avg"]], [state["exp_avg_sq"]],
                 [state["max_exp_avg_sq"]] if amsgrad else [], [state["step"]], None, None,
                 amsgrad=amsgrad, has_complex=False, beta1=beta1, beta2=beta2, lr=group["lr"],
                 weight_decay=group["weight_decay"], eps=group["eps"],
                 maximize=group["maximize"], capturable=False, differentiable=False,
                 decoupled_weight_decay=group["decoupled_weight_decay"])
        return None
    return lambda self, *args: fused_step(*args)


_lock = threading.Lock()
_users = 0
_installed = {}


@contextmanager
def without_dynamo_import():
    """Within, the optimizers' methods torch wraps in ``torch._disable_dynamo`` (construction,
    ``state_dict``, ``load_state_dict``, ``zero_grad``) import no ``torch._dynamo``: they run
    undecorated while it is not imported, and through torch's wrapper once it is."""
    global _users
    with _lock:
        if _users == 0:
            _install()
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                _uninstall()


def _install():
    """Give each wrapped function a ``__dynamo_disable`` of :func:`_eager_unless_dynamo`
    (torch's wrapper reads that attribute on every call, and builds it when missing)."""
    if "torch._dynamo" in sys.modules:
        return
    for name in _DISABLED_METHODS:
        wrapped = _disabled_function(torch.optim.Optimizer.__dict__.get(name))
        if wrapped is not None and getattr(wrapped[0], "__dynamo_disable", None) is None:
            replacement = _eager_unless_dynamo(*wrapped)
            wrapped[0].__dynamo_disable = replacement
            _installed[wrapped[0]] = replacement


def _uninstall():
    """Take the attributes away again (where they are still this module's)."""
    for function, replacement in _installed.items():
        if getattr(function, "__dynamo_disable", None) is replacement:
            del function.__dynamo_disable
    _installed.clear()


def _disabled_function(method):
    """``(fn, recursive)`` of a ``torch._disable_dynamo`` wrapper, or None if ``method`` is
    not one as read here."""
    code = getattr(method, "__code__", None)
    if code is None or code is not torch._disable_dynamo(_plain).__code__ \
            or set(code.co_freevars) != {"fn", "recursive"} or not _names(code) <= _DISABLE_WRAPPER_NAMES:
        return None
    cells = dict(zip(code.co_freevars, (cell.cell_contents for cell in method.__closure__)))
    return cells["fn"], cells["recursive"]


def _eager_unless_dynamo(function, recursive):
    """``function`` itself while ``torch._dynamo`` is not imported (nothing can be compiling),
    else wrapped as ``torch._disable_dynamo`` wraps it."""
    def eager_unless_dynamo(*args, **kwargs):
        if "torch._dynamo" in sys.modules:
            import torch._dynamo
            return torch._dynamo.disable(function, recursive, wrapping=False)(*args, **kwargs)
        return function(*args, **kwargs)
    return eager_unless_dynamo
