"""Plain SGD over a block of minibatches without ``optimizer.step()``.

With ``torch.optim.SGD`` and no momentum, weight decay, Nesterov or
``maximize``, one minibatch step on ``θ = [b | W]ᵀ`` ``(q, k)`` is::

    θ ← θ + c Aᵀ diag(w) (Y - A θ),    c = 2 lr / (k Σ w),

with ``A = [1, x]`` the batch's rows (``w = 1`` without weights, so ``Σ w``
is the batch size): the closed-form gradient of
:func:`torchlinreg.engine.minibatch.set_batch_gradient` followed by
``param.add_(grad, alpha=-lr)``, which is all ``SGD.step()`` does then. A
block of batches is prepared once (float64 rows with the intercept column,
weights folded in, every batch's ``c``), and each batch is then two fused
matrix products on views, instead of the half-dozen gradient operations and
the ``step()`` call, whose wrapper alone costs more than the arithmetic.
The result is written into the parameters in place, so the optimizer
(stateless for plain SGD) stays valid for saving and resuming.

The steps are the same sequence of updates as torch's, in float64, so they
match its trajectory to rounding, and a diverging fit overflows just as it
does there. Why not compose the block's affine steps into one map (a
product of ``(q + 1) × (q + 1)`` matrices)? Forming each batch's map costs
``O(B q²)`` and composing ``O(q³)``, against ``O(B q k)`` here: measured
at batch 128, the same speed at p = 10, twice the time at p = 20 and 16x
at p = 200.
"""

import numbers

import torch
from torch.optim import optimizer as _optimizer_module


# Options of torch.optim.SGD that make a step something other than param -= lr * grad.
_NOT_PLAIN = {"momentum": 0, "weight_decay": 0, "nesterov": False, "maximize": False,
              "differentiable": False}


def plain_sgd_lr(optimizer, model):
    """The learning rate if ``optimizer`` makes plain SGD steps on all of ``model``, else None.

    Plain: exactly ``torch.optim.SGD`` (no subclass), every group with
    momentum 0 (dampening then plays no part), no weight decay, Nesterov
    or ``maximize``, one numeric learning rate shared by all groups, no
    step hooks, and the groups holding exactly the model's parameters.
    """
    if type(optimizer) is not torch.optim.SGD or _has_step_hooks(optimizer):
        return None
    groups = optimizer.param_groups
    if any(group.get(name, plain) != plain
           for group in groups for name, plain in _NOT_PLAIN.items()):
        return None
    rates = {group["lr"] for group in groups}
    if len(rates) != 1 or not _is_number(lr := rates.pop()):
        return None
    held = [id(p) for group in groups for p in group["params"]]
    if sorted(held) != sorted(id(p) for p in model.parameters()):
        return None
    return float(lr)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _has_step_hooks(optimizer):
    return bool(getattr(optimizer, "_optimizer_step_pre_hooks", None)
                or getattr(optimizer, "_optimizer_step_post_hooks", None)
                or getattr(_optimizer_module, "_global_optimizer_pre_hooks", None)
                or getattr(_optimizer_module, "_global_optimizer_post_hooks", None))


def plain_sgd_steps(model, optimizer, x, y, w, batch_size, design=None):
    """Take the plain-SGD steps of ``batch_size``-row batches of ``x``, ``y`` (weights ``w``).

    Parameters
    ----------
    model : torchlinreg.engine.model.LinearModel or torch.nn.Linear
        Its ``weight`` ``(k, p)`` and ``bias`` ``(k,)`` or None are updated in place.
    optimizer : torch.optim.Optimizer
        Used only if it is plain SGD (see :func:`plain_sgd_lr`).
    x, y, w : torch.Tensor
        Standardized rows ``(n, p)``, responses ``(n, k)`` and weights
        ``(n,)`` or None; the last batch may be smaller.
    batch_size : int
    design : torch.Tensor, optional
        Float64 memory of at least ``(n, q)`` to build ``[1, x]`` in, reused
        from block to block; ``x`` may already be its columns (then it is
        not copied). Without it a fresh tensor is made.

    Returns
    -------
    int or None
        The number of batches stepped, or None (nothing done) when the
        optimizer is not plain SGD.
    """
    lr = plain_sgd_lr(optimizer, model)
    if lr is None:
        return None
    with torch.no_grad():
        rows = design_rows(x, model.bias is not None, design)
        weighted = rows if w is None else rows * w.to(torch.float64)[:, None]
        targets = y.to(torch.float64)
        theta = _theta(model)
        for a, a_weighted_t, target, scale in zip(
                rows.split(batch_size), weighted.T.split(batch_size, 1),
                targets.split(batch_size), step_scales(x.shape[0], y.shape[1], w, batch_size, lr)):
            theta.addmm_(a_weighted_t, torch.addmm(target, a, theta, alpha=-1.0), alpha=scale)
        _write(model, theta)
    return -(-x.shape[0] // batch_size)


def design_rows(x, intercept, out=None):
    """``[1, x]`` (``x`` without intercept) in float64, ``(n, q)``, in ``out`` if given."""
    if out is None and not intercept:
        return x.to(torch.float64)
    n, q = x.shape[0], x.shape[1] + int(intercept)
    rows = torch.empty(n, q, dtype=torch.float64, device=x.device) if out is None else out[:n, :q]
    if intercept:
        rows[:, 0] = 1.0
    columns = rows[:, int(intercept):]
    if not _same_view(columns, x):
        columns.copy_(x)
    return rows


def _same_view(a, b):
    """Whether ``a`` and ``b`` are the same elements of the same memory."""
    return (a.data_ptr() == b.data_ptr() and a.dtype == b.dtype and a.shape == b.shape
            and a.stride() == b.stride())


def step_scales(n, k, w, batch_size, lr):
    """Each batch's ``c = 2 lr / (k Σ w)`` (``Σ w`` the batch's row count without weights)."""
    batches = -(-n // batch_size)
    if w is None:
        last = n - (batches - 1) * batch_size
        return [2.0 * lr / (k * batch_size)] * (batches - 1) + [2.0 * lr / (k * last)]
    padded = torch.zeros(batches * batch_size, dtype=torch.float64, device=w.device)
    padded[:n] = w
    return ((2.0 * lr / k) / padded.view(batches, batch_size).sum(1)).tolist()


def _theta(model):
    """``[b | W]ᵀ`` ``(q, k)`` in float64 (a fresh tensor)."""
    weight = model.weight.detach().T.to(torch.float64)
    if model.bias is None:
        return weight.clone(memory_format=torch.contiguous_format)
    return torch.cat([model.bias.detach().to(torch.float64)[None], weight])


def _write(model, theta):
    """Copy ``[b | W]ᵀ`` into the parameters in place (their dtype, their storage)."""
    if model.bias is not None:
        model.bias.copy_(theta[0])
        theta = theta[1:]
    model.weight.copy_(theta.T)
