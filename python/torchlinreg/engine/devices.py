"""Where the rows are processed: ``device="cpu"``, ``"cuda"`` (or ``"cuda:1"``) or ``"auto"``.

On a GPU the work that grows with the rows runs there: the sufficient
statistics (one pass), minibatch gradients, or every forward and backward
pass of the autograd engine; the model and the optimizer live there too.
The small ``p × p`` algebra (the alias check, the scaler, the exact
solution, inference) and everything returned stay on the CPU, so a fit's
results look the same wherever it ran.
"""

import torch

from ..errors import OptionError


def resolve_device(device):
    """The device to fit on, as a string torch understands (``"cpu"``, ``"cuda:0"``).

    ``"auto"`` is the first CUDA GPU when torch sees one, else the CPU.
    """
    if device == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        raise OptionError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto'; got {device!r}.") \
            from None
    if parsed.type == "cpu":
        return "cpu"
    if parsed.type != "cuda":
        raise OptionError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto'; got {device!r}.")
    if not torch.cuda.is_available():
        raise OptionError(f"device={device!r} but torch sees no CUDA GPU "
                          "(torch.cuda.is_available() is False); use device='cpu' or 'auto'.")
    index = 0 if parsed.index is None else parsed.index
    if index >= torch.cuda.device_count():
        raise OptionError(f"device={device!r} but torch sees {torch.cuda.device_count()} GPU(s); "
                          f"use an index below {torch.cuda.device_count()}.")
    return f"cuda:{index}"


def on(device, *tensors):
    """The tensors moved to ``device`` (None stays None; no copy when already there)."""
    return tuple(None if t is None else t.to(device) for t in tensors)
