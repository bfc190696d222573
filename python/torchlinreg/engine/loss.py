"""The mean-squared-error loss, with shapes checked rather than broadcast."""

from ..errors import ShapeError


def squared_error_by_output(pred, target, weights=None):
    """Mean squared error of each output column, ``(k,)``.

    ``pred`` and ``target`` must have exactly the same shape: a ``[n]``
    target against a ``[n, 1]`` prediction would otherwise broadcast to
    ``[n, n]`` and give a wrong loss without any error.
    """
    if pred.shape != target.shape:
        raise ShapeError(f"prediction has shape {tuple(pred.shape)} but target has shape "
                         f"{tuple(target.shape)}; they must match exactly.")
    squared = (pred - target) ** 2
    if weights is None:
        return squared.mean(dim=0)
    return (weights @ squared) / weights.sum()


def mean_loss(per_output, scale):
    """The mean over the outputs of their losses times ``scale`` (into ``y``'s units), a
    float; numpy arrays or tensors."""
    scaled = per_output * scale
    return float(scaled[0]) if scaled.shape[0] == 1 else float(scaled.mean())
