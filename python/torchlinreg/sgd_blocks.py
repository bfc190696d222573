"""Plain SGD over a block of minibatches as one composed affine map.

With ``torch.optim.SGD`` and no momentum, weight decay, Nesterov or
``maximize``, one minibatch step on the parameters ``θ = [b | W]``
``(k, q)`` is affine::

    θ ← θ - c (θ G - H) = θ (I - c G) + c H,    c = 2 lr / (k Σ w),

where ``G = Aᵀ diag(w) A`` and ``H = Yᵀ diag(w) A`` with ``A = [1, x]``
the batch's rows (``w = 1`` without weights, so ``Σ w`` is the batch size)
— the closed-form gradient of :func:`torchlinreg.gram.set_batch_gradient`
followed by ``param.add_(grad, alpha=-lr)``. With ``T = [[I - cG, 0],
[cH, I]]`` one step is ``[θ, I] ← [θ, I] T``, so a block of batches is the
product ``T₁ T₂ … Tₘ``: every ``G`` and ``H`` of the block come from one
batched matrix product, and the ``m`` small ``(q + k)²`` maps are multiplied
pairwise in ``log₂ m`` batched products. No ``optimizer.step()`` is called;
the result is written into the parameters in place, so the optimizer
(stateless for plain SGD) stays valid for saving and resuming.

The arithmetic is in float64. A block whose composed map or result is not
finite is left untouched and returned to the caller, who steps it batch by
batch with the optimizer, so divergence shows exactly as it does there.
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


def plain_sgd_steps(model, optimizer, x, y, w, batch_size):
    """Take the plain-SGD steps of ``batch_size``-row batches of ``x``, ``y`` (weights ``w``).

    Parameters
    ----------
    model : torchlinreg.model.LinearModel or torch.nn.Linear
        Its ``weight`` ``(k, p)`` and ``bias`` ``(k,)`` or None are updated in place.
    optimizer : torch.optim.Optimizer
        Used only if it is plain SGD (see :func:`plain_sgd_lr`).
    x, y, w : torch.Tensor
        Standardized rows ``(n, p)``, responses ``(n, k)`` and weights
        ``(n,)`` or None; the last batch may be smaller.
    batch_size : int

    Returns
    -------
    int or None
        The number of batches stepped, or None when nothing was done: the
        optimizer is not plain SGD, or the block's result is not finite.
    """
    lr = plain_sgd_lr(optimizer, model)
    if lr is None or x.shape[0] == 0:
        return None
    with torch.no_grad():
        theta = _theta(model)
        product = compose(step_maps(x, y, w, batch_size, lr, model.bias is not None))
        q = theta.shape[1]
        new = torch.addmm(product[q:, :q], theta, product[:q, :q])
        if not bool(torch.isfinite(new.sum() + product.sum())):
            return None
        _write(model, new)
    return -(-x.shape[0] // batch_size)


def step_maps(x, y, w, batch_size, lr, intercept):
    """Each batch's augmented step map ``T = [[I - cG, 0], [cH, I]]``, ``(m, q + k, q + k)``."""
    rows = _rows(x, y, batch_size, intercept)
    if w is None:
        moments = torch.bmm(rows.transpose(1, 2), rows)
        totals = torch.full((rows.shape[0],), float(batch_size), dtype=torch.float64)
        totals[-1] = x.shape[0] - (rows.shape[0] - 1) * batch_size
    else:
        weights = _padded(w, rows)
        moments = torch.bmm(rows.transpose(1, 2), rows * weights[..., None])
        totals = weights.sum(1)
    k = y.shape[1]
    q = rows.shape[2] - k
    maps = moments.mul_(((2.0 * lr / k) / totals)[:, None, None])
    maps[:, :q, :q].neg_().diagonal(dim1=1, dim2=2).add_(1.0)
    maps[:, :q, q:] = 0.0
    maps[:, q:, q:] = torch.eye(k, dtype=maps.dtype)
    return maps


def _rows(x, y, batch_size, intercept):
    """``[1, x, y]`` (``[x, y]`` without intercept) in float64, zero-padded to whole batches."""
    n, p = x.shape
    batches = -(-n // batch_size)
    lead = int(intercept)
    rows = torch.empty(batches * batch_size, lead + p + y.shape[1], dtype=torch.float64)
    if intercept:
        rows[:n, 0] = 1.0
    rows[:n, lead:lead + p] = x
    rows[:n, lead + p:] = y
    rows[n:] = 0.0
    return rows.view(batches, batch_size, -1)


def _padded(w, rows):
    """The weights in float64, zero-padded like ``rows``, ``(m, batch_size)``."""
    padded = torch.zeros(rows.shape[:2], dtype=torch.float64)
    padded.view(-1)[:w.shape[0]] = w
    return padded


def compose(maps):
    """The product ``T₁ T₂ … Tₘ`` of ``(m, d, d)`` maps, pairwise: ``⌈log₂ m⌉`` batched products."""
    while maps.shape[0] > 1:
        if maps.shape[0] % 2:
            maps = torch.cat([maps, torch.eye(maps.shape[1], dtype=maps.dtype)[None]])
        maps = torch.bmm(maps[0::2], maps[1::2])
    return maps[0]


def _theta(model):
    """``[b | W]`` ``(k, q)`` in float64."""
    weight = model.weight.detach().to(torch.float64)
    if model.bias is None:
        return weight
    return torch.cat([model.bias.detach().to(torch.float64)[:, None], weight], 1)


def _write(model, theta):
    """Copy ``[b | W]`` into the parameters in place (their dtype, their storage)."""
    if model.bias is not None:
        model.bias.copy_(theta[:, 0])
        theta = theta[:, 1:]
    model.weight.copy_(theta)
