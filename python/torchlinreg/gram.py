"""The sufficient-statistics engine: the MSE of a linear model without the rows.

With the mean squared error, the loss of ``Θ = [b | W]`` on a part of the
data is ``θₖᵀ G θₖ - 2 θₖᵀ cₖ + yyₖ`` for each output ``k``, where ``G`` is
the (weighted, normalized) Gram matrix of ``[1, X]``, ``C`` its cross
products with ``Y`` and ``yy`` the mean squares of ``Y``, all in the
standardized space the optimizer works in. They are computed once, in
float64, from the raw data in chunks of rows (so no standardized ``n × p``
copy is made), and every step then costs ``O(k p²)`` instead of ``O(n k p)``.

The torch optimizers still make every update: the gradient is written to
``.grad`` and ``optimizer.step()`` is called, so each optimizer behaves as it
does in the autograd loop, whose trajectory this one matches to rounding.
(Plain SGD's minibatch steps are the exception: they need no ``step()``,
two fused matrix products a batch, see :mod:`torchlinreg.sgd_blocks`.)

Minibatches use the same objects: batches are cut from a seeded permutation,
gathered and standardized a block of batches at a time, and their gradient
is the closed form ``2/B · Aᵦᵀ(Aᵦθ - yᵦ)``, with no autograd graph.
"""
from dataclasses import dataclass

import numpy as np
import torch

from .data import epoch_order
from .exact import aliased_from_gram
from .scaling import Scaler
from .sgd_blocks import plain_sgd_steps
from .threads import threads

# Rows per chunk when forming the statistics: a few MB of float64 at p ~ 20.
CHUNK_ROWS = 1 << 15
# Widths (columns of [x, y]) whose Gram products are summed column by column;
# see _add_products.
NARROW_WIDTH = 32
# Minibatches gathered and standardized together (bounded memory, fewer ops per batch).
BATCHES_PER_BLOCK = 64


@dataclass
class Moments:
    """Weighted moments of the rows ``z = [x, y]`` about ``center`` (float64).

    ``total`` is the sum of weights, ``first`` ``Σ w (z - c)`` and
    ``second`` ``Σ w (z - c)(z - c)ᵀ``. Moments about (nearly) the mean
    keep the variances free of cancellation. ``n_positive`` counts the rows
    of positive weight (``lm()``'s observations).
    """

    n_rows: int
    n_features: int
    total: torch.Tensor
    center: torch.Tensor
    first: torch.Tensor
    second: torch.Tensor
    n_positive: int = None

    def __post_init__(self):
        if self.n_positive is None:
            self.n_positive = self.n_rows

    def matrix(self):
        """``Σ w u uᵀ`` for ``u = [1, z - c]``: the moments as one matrix."""
        top = torch.cat([self.total.reshape(1), self.first])
        return torch.cat([top[None, :], torch.cat([self.first[:, None], self.second], 1)], 0)

    def raw_gram(self, intercept):
        """``AᵀWA`` for ``A = [1, X]`` (or ``X``), for the alias check."""
        p = self.n_features
        lift = torch.eye(p + 1, 1 + self.center.shape[0], dtype=torch.float64)
        lift[1:, 0] = self.center[:p]
        gram = lift @ self.matrix() @ lift.T
        return gram if intercept else gram[1:, 1:]

    def mean(self):
        """The weighted mean of ``z`` (the centre where there is no weight)."""
        return self.center + self.first / self.total if self.total > 0 else self.center

    def shifted(self, center):
        """The same moments about another ``center``."""
        d = self.center - center
        first = self.first + self.total * d
        second = (self.second + self.first[:, None] * d[None, :] + d[:, None] * self.first[None, :]
                  + self.total * d[:, None] * d[None, :])
        return Moments(self.n_rows, self.n_features, self.total, center, first, second,
                       self.n_positive)


class MomentAccumulator:
    """Builds :class:`Moments` from rows given in pieces of any size.

    Rows are copied into a float64 buffer of :data:`CHUNK_ROWS` rows and
    summed a full chunk at a time, so the sums (and their rounding) depend
    only on the rows and their order, not on how they arrive: streamed
    blocks give the statistics of the same rows in memory bit for bit.
    The centre is the (weighted) mean of the first chunk: within a few
    standard errors of the mean, so the variances lose no digits to
    cancellation (the shifted-data algorithm). Memory is one chunk.
    """

    def __init__(self, n_features, width, weighted=False, device="cpu"):
        self.n_features = n_features
        self.n_rows = 0
        self.n_positive = 0
        as_sum = dict(dtype=torch.float64, device=device)
        self.total = torch.zeros((), **as_sum)
        self.center = None
        self.first = torch.zeros(width, **as_sum)
        self.second = torch.zeros(width, width, **as_sum)
        # A (CHUNK_ROWS, width) view of column-major memory (each column
        # contiguous), as Arrow's blocks are: filling it from files is a
        # plain copy, and the centring and column sums run along memory,
        # several times faster than across rows (50M x 11 float32 values:
        # 0.3 s against 1.8 s). Rows in memory pay a transposing copy
        # (0.07 s a million rows of 20). Rows from another device are
        # copied straight into it.
        self._buffer = torch.empty(width, CHUNK_ROWS, **as_sum).T
        self._weights = torch.empty(CHUNK_ROWS, **as_sum) if weighted else None
        self._filled = 0

    def add(self, x, y, weights=None):
        """Add rows ``x`` ``(m, p)``, ``y`` ``(m, k)`` and their weights (if weighted).

        Each is a tensor, or a list of its columns as 1-d numpy arrays (and
        the weights one array): a file's columns as Arrow decoded them, not
        copied before they are summed here.
        """
        device = self._buffer.device
        if device.type != "cpu":  # one copy of the piece to the device, then as on the CPU
            x, y, weights = (_on_device(v, device) for v in (x, y, weights))
        p, start, n = self.n_features, 0, _n_rows(y)
        while start < n:
            take = min(CHUNK_ROWS - self._filled, n - start)
            rows, end = slice(self._filled, self._filled + take), start + take
            self._put(self._buffer[rows, :p], x, slice(start, end), slice(None, p))
            self._put(self._buffer[rows, p:], y, slice(start, end), slice(p, None))
            if self._weights is not None:
                _copy(self._weights[rows], weights[start:end])
            self._filled, start = self._filled + take, end
            if self._filled == CHUNK_ROWS:
                self._flush()

    def _put(self, out, values, rows, columns):
        """Copy ``values[rows]`` into ``out``, centred in the same pass once there is a
        centre (the same float64 subtraction as centring after the copy)."""
        if not isinstance(values, list):
            if self.center is None:
                out.copy_(values[rows])
            else:
                torch.sub(values[rows], self.center[columns], out=out)
            return
        out = out.numpy()  # each column contiguous
        center = None if self.center is None else self.center[columns].numpy()
        for j, column in enumerate(values):
            if center is None:
                out[:, j] = column[rows]
            else:
                np.subtract(column[rows], center[j], out=out[:, j], dtype=np.float64)

    def _flush(self):
        block = self._buffer[: self._filled]
        w = None if self._weights is None else self._weights[: self._filled]
        m, self._filled = block.shape[0], 0
        size = block.new_tensor(float(m)) if w is None else w.sum()
        self.n_rows += m
        self.n_positive += m if w is None else int((w > 0).sum())
        raw = self.center is None  # rows put in before there was a centre
        if raw and size > 0:
            self.center = (block if w is None else block * w[:, None]).sum(0) / size
        if self.center is None:
            return
        if raw:
            block.sub_(self.center)
        weighted = block if w is None else block * w[:, None]
        self.total += size
        self.first += weighted.sum(0)
        _add_products(self.second, weighted, block)

    def result(self):
        """The :class:`Moments` of every row added, on the CPU (they are small)."""
        if self._filled:
            self._flush()
        center = self.center if self.center is not None else torch.zeros_like(self.first)
        return Moments(self.n_rows, self.n_features, self.total.cpu().clone(), center.cpu(),
                       self.first.cpu().clone(), self.second.cpu().clone(), self.n_positive)


def _n_rows(values):
    """Rows of a tensor or of a list of numpy columns."""
    return values.shape[0] if torch.is_tensor(values) else len(values[0])


def _on_device(values, device):
    """A tensor, numpy array or list of numpy columns (stacked) as a tensor on ``device``."""
    if values is None or torch.is_tensor(values):
        return None if values is None else values.to(device)
    array = np.stack(values, 1) if isinstance(values, list) else np.array(values)
    return torch.from_numpy(array).to(device)


def _copy(out, values):
    """``out[:] = values``, from a tensor or a (possibly read-only) numpy array."""
    if torch.is_tensor(values):
        out.copy_(values)
    else:
        out.numpy()[:] = values


def _add_products(second, weighted, block):
    """``second += weightedᵀ @ block``: the chunk's Gram product.

    On the CPU the products are numpy's (its bundled OpenBLAS): inside R,
    torch's ``dgemm_`` calls go to R's BLAS (its symbols come first in the
    process), whose rounding differs from torch's own, while numpy's
    OpenBLAS has suffixed symbols (``dgemm_64_``) that nothing else
    provides. So the sums are the same in every process, Python or R, and
    the fit from R is the fit from Python bit for bit. Other devices use
    torch's product.

    Up to :data:`NARROW_WIDTH` columns the lower triangle is summed by one
    matrix-vector product per column and mirrored: BLAS runs a matrix
    product this narrow at a few GFLOP/s (11 columns: 21 ns a row against
    12 ns; 64 columns: 138 against 171 ns, so wider ones keep the product).
    """
    if block.device.type != "cpu":
        second.addmm_(weighted.T, block)
        return
    lhs, rhs = weighted.numpy().T, block.numpy().T  # (width, rows): a column along memory
    if lhs.shape[0] > NARROW_WIDTH:
        second += torch.from_numpy(lhs @ rhs.T)
        return
    out = second.numpy()
    for i in range(lhs.shape[0]):
        products = lhs[: i + 1] @ rhs[i]  # Σ w zⱼ zᵢ for j <= i
        out[i, : i + 1] += products
        out[:i, i] += products[:-1]  # the same numbers above the diagonal: exactly symmetric


def moments(X, Y, weights=None, index=None):
    """:class:`Moments` of the rows ``index`` (all rows if None) of ``[X, Y]``.

    One pass in chunks of :data:`CHUNK_ROWS` rows through a
    :class:`MomentAccumulator`, so memory stays at one float64 chunk.
    """
    sums = MomentAccumulator(X.shape[1], X.shape[1] + Y.shape[1], weighted=weights is not None,
                             device=X.device)
    rows_list = [slice(None)] if index is None else index.split(CHUNK_ROWS)
    with threads(1):
        for rows in rows_list:
            sums.add(X[rows], Y[rows], None if weights is None else weights[rows])
    return sums.result()


def restrict(mom, kept):
    """The moments of the kept feature columns (and every output)."""
    keep = torch.cat([kept, torch.ones(mom.center.shape[0] - mom.n_features, dtype=torch.bool)])
    return Moments(mom.n_rows, int(kept.sum()), mom.total, mom.center[keep], mom.first[keep],
                   mom.second[keep][:, keep], mom.n_positive)


def scaler_from_moments(mom, intercept, standardize, dtype):
    """The :class:`Scaler` that ``Scaler.fit`` would give, from the moments.

    Same definitions as :mod:`torchlinreg.scaling` (weighted means, Bessel's
    correction by the row count, root mean squares without intercept), in
    float64 and then cast to ``dtype``.
    """
    p = mom.n_features
    if not standardize:
        return Scaler.identity(p, mom.center.shape[0] - p, dtype)
    total = mom.total
    if intercept:
        center = mom.center + mom.first / total
        spread = (mom.second.diagonal() - mom.first ** 2 / total) / total
        spread = spread * mom.n_rows / max(mom.n_rows - 1, 1)
    else:
        center = torch.zeros_like(mom.center)
        spread = (mom.second.diagonal() + 2 * mom.center * mom.first
                  + total * mom.center ** 2) / total
    scale = spread.clamp_min(0).sqrt()
    scale = torch.where(scale > 0, scale, torch.ones_like(scale)).to(dtype)
    center = center.to(dtype)
    return Scaler(center[:p], scale[:p], center[p:], scale[p:])


@dataclass
class Quadratic:
    """The standardized MSE of one part of the data as a quadratic form.

    ``gram`` is ``(q, q)`` for the parameters ``θ = [b, w]`` (``[w]``
    without intercept), ``cross`` ``(k, q)`` and ``yy`` ``(k,)``; all are
    means over the rows (weighted means with weights).
    """

    gram: torch.Tensor
    cross: torch.Tensor
    yy: torch.Tensor

    @classmethod
    def from_moments(cls, mom, scaler, intercept, centred=False):
        """Express the moments in the standardized space of ``scaler``.

        ``centred``: the scaler's centres are these rows' means (the
        training part, standardized with an intercept).
        """
        p, d = mom.n_features, mom.center.shape[0]
        x_center, x_scale, y_center, y_scale = (
            t.to(torch.float64) for t in (scaler.x_center, scaler.x_scale,
                                          scaler.y_center, scaler.y_scale))
        # Rows map u = [1, z - c] to [1, (x - x_center)/x_scale, (y - y_center)/y_scale].
        transform = torch.zeros(1 + d, 1 + d, dtype=torch.float64)
        transform[0, 0] = 1.0
        scale = torch.cat([x_scale, y_scale])
        transform[1:, 0] = (mom.center - torch.cat([x_center, y_center])) / scale
        transform[1:, 1:] = torch.diag(1.0 / scale)
        total = mom.total if mom.total > 0 else torch.ones((), dtype=torch.float64)
        stats = transform @ mom.matrix() @ transform.T / total
        if centred:
            # Centred columns have mean 0 exactly; their computed means are
            # rounding, which Adam (dividing by sqrt(v) + eps) would amplify
            # into a wandering intercept when it starts at its optimum, 0.
            stats[0, 1:] = 0.0
            stats[1:, 0] = 0.0
        params = slice(0 if intercept else 1, 1 + p)
        return cls(stats[params, params].contiguous(), stats[1 + p:, params].contiguous(),
                   stats[1 + p:, 1 + p:].diagonal().contiguous())

    def to(self, device):
        """The same quadratic with its tensors on ``device``."""
        return Quadratic(self.gram.to(device), self.cross.to(device), self.yy.to(device))

    def residual(self, theta):
        """``Θ G - C`` (half the gradient of each output's MSE), ``(k, q)``."""
        return theta @ self.gram - self.cross

    def per_output(self, theta, residual=None):
        """Each output's MSE at ``Θ`` ``(k, q)``."""
        residual = self.residual(theta) if residual is None else residual
        return ((residual - self.cross) * theta).sum(1) + self.yy


def _theta(model):
    """The parameters as one float64 matrix ``[b | W]`` ``(k, q)``."""
    weight = model.weight.detach().to(torch.float64)
    if model.bias is None:
        return weight
    return torch.cat([model.bias.detach().to(torch.float64)[:, None], weight], 1)


def _set_grad(model, grad):
    """Write a ``(k, q)`` gradient into the parameters' ``.grad``."""
    if model.bias is not None:
        model.bias.grad = grad[:, 0].to(model.bias.dtype)
        grad = grad[:, 1:]
    model.weight.grad = grad.to(model.weight.dtype).contiguous()


class GramObjective:
    """One part of the data for the training loop, through its statistics.

    Offers what :class:`torchlinreg.training.Split` offers: the per-output
    loss, the loss with its gradient written to ``.grad``, an L-BFGS
    closure and a minibatch epoch.
    """

    # The training loop runs the steps on one thread (see torchlinreg.threads).
    threads = 1

    def __init__(self, quadratic, n_rows, data=None, scaler=None):
        self.quadratic = quadratic
        self.n_rows = n_rows
        self._data = data  # (X, Y, weights, rows, columns) of the raw data, for minibatches
        self._scaler = scaler

    def loss(self, model):
        """Each output's standardized MSE ``(k,)``."""
        return self.quadratic.per_output(_theta(model))

    def loss_and_gradient(self, model):
        """Each output's MSE; the gradient of their mean is written to ``.grad``."""
        theta = _theta(model)
        residual = self.quadratic.residual(theta)
        _set_grad(model, residual * (2.0 / theta.shape[0]))
        return self.quadratic.per_output(theta, residual)

    def closure(self, model):
        """An L-BFGS closure: the mean loss, with its gradient in ``.grad``."""
        def closure():
            return self.loss_and_gradient(model).mean()
        return closure

    def minibatch_epoch(self, model, optimizer, schedule):
        """One pass in minibatches of ``schedule.batch_size`` rows in a seeded order.

        Rows are gathered and standardized :data:`BATCHES_PER_BLOCK` batches
        at a time; each batch is then a view, its gradient two matrix products.
        """
        X, Y, w, index, columns = self._data
        order = epoch_order(self.n_rows, schedule.shuffle, schedule.generator)
        if index is not None:
            order = index[order]
        rows = schedule.batch_size * BATCHES_PER_BLOCK
        memory = BlockMemory(X, Y, columns, min(rows, order.shape[0]), model.bias is not None)
        steps = 0
        for block in order.to(X.device).split(rows):
            xb, yb = standardize_rows(self._scaler, *memory.gather(X, Y, block))
            steps += step_batches(model, optimizer, xb, yb,
                                  None if w is None else w.index_select(0, block),
                                  schedule.batch_size, memory.design)
        return steps


class BlockMemory:
    """The memory that each block of an epoch's minibatches is gathered into.

    A fresh block-sized tensor (megabytes) is mapped anew by the allocator
    and paged in at every allocation, which costs more than gathering into
    it: at 1,000,000 × 20, 0.25 s an epoch against 0.09 s into the same
    memory, block after block. Float64 rows go straight into the columns of
    the design ``[1, x]`` that plain SGD steps on (:mod:`torchlinreg.sgd_blocks`).
    """

    def __init__(self, X, Y, columns, rows, intercept):
        self._columns = None if columns is None else columns.nonzero().flatten()
        p = X.shape[1] if columns is None else self._columns.shape[0]
        self.design = torch.empty(rows, p + 1, dtype=torch.float64, device=X.device)
        if X.dtype == torch.float64:
            self._x = self.design[:, int(intercept):][:, :p]
        else:
            self._x = torch.empty(rows, p, dtype=X.dtype, device=X.device)
        self._y = torch.empty(rows, Y.shape[1], dtype=Y.dtype, device=Y.device)
        self._all_columns = None if columns is None else torch.empty(
            rows, X.shape[1], dtype=X.dtype, device=X.device)

    def gather(self, X, Y, index):
        """Rows ``index`` of ``X`` (kept columns) and ``Y``, as views of this memory."""
        m = index.shape[0]
        x, y = self._x[:m], self._y[:m]
        if self._columns is None:
            torch.index_select(X, 0, index, out=x)
        else:
            torch.index_select(torch.index_select(X, 0, index, out=self._all_columns[:m]),
                               1, self._columns, out=x)
        if Y.shape[1] == 1 and Y.is_contiguous():  # one output: the 1-d gather, 3x faster
            torch.index_select(Y.view(-1), 0, index, out=y.view(-1))
        else:
            torch.index_select(Y, 0, index, out=y)
        return x, y


def standardize_rows(scaler, x, y):
    """Standardize gathered rows in place (they must be copies, in the scaler's dtype)."""
    x = x.to(scaler.x_center.dtype).sub_(scaler.x_center).div_(scaler.x_scale)
    y = y.to(scaler.y_center.dtype).sub_(scaler.y_center).div_(scaler.y_scale)
    return x, y


def step_batches(model, optimizer, x, y, w, batch_size, design=None):
    """One optimizer step per ``batch_size`` rows of standardized ``x``, ``y`` (and weights ``w``).

    Plain SGD takes the same steps without ``optimizer.step()``
    (:mod:`torchlinreg.sgd_blocks`, in ``design`` if given); other
    optimizers step batch by batch. Returns the number of steps taken.
    """
    steps = plain_sgd_steps(model, optimizer, x, y, w, batch_size, design)
    if steps is not None:
        return steps
    steps = 0
    with torch.no_grad():
        for x_batch, y_batch, w_batch in zip(x.split(batch_size), y.split(batch_size),
                                             _split_or_none(w, batch_size, x.shape[0])):
            set_batch_gradient(model, x_batch, y_batch, w_batch)
            optimizer.step()
            steps += 1
    return steps


def _split_or_none(w, batch_size, n_rows):
    if w is None:
        return [None] * -(-n_rows // batch_size)
    return w.split(batch_size)


def set_batch_gradient(model, x, y, w):
    """The closed-form gradient of one minibatch's MSE, written to ``.grad``."""
    weight, bias = model.weight, model.bias
    residual = (x @ weight.T if bias is None else torch.addmm(bias, x, weight.T)).sub_(y)
    if w is None:
        residual.mul_(2.0 / residual.numel())
    else:
        residual.mul_((w * (2.0 / (residual.shape[1] * w.sum())))[:, None])
    weight.grad = residual.T @ x
    if bias is not None:
        bias.grad = residual.sum(0)


def build_objectives(X, Y, weights, valid, intercept, standardize):
    """Scaler, training and validation objectives and the aliased columns.

    ``valid`` is None or ``(X, Y, weights)``. The aliased columns are left
    out of the statistics and of the minibatches without copying the data.
    The rows may be on a GPU: the statistics are computed there and the
    objectives' tensors put there; the returned scaler is on the CPU.
    """
    device = X.device
    valid_mom = None if valid is None else moments(*valid)
    scaler, train_quadratic, valid_quadratic, aliased = quadratics(
        moments(X, Y, weights), valid_mom, intercept, standardize, X.dtype)
    columns = None if bool((~aliased).all()) else (~aliased).to(device)
    train = GramObjective(train_quadratic.to(device), X.shape[0],
                          (X, Y, weights, None, columns), scaler.to(device))
    valid_objective = None if valid is None else GramObjective(valid_quadratic.to(device),
                                                               valid[0].shape[0])
    return scaler, train, valid_objective, aliased


def quadratics(train_mom, valid_mom, intercept, standardize, dtype):
    """Scaler, training and validation :class:`Quadratic` s and the aliased columns.

    The alias check runs on ``AᵀWA`` rebuilt from the training moments, as
    :func:`torchlinreg.exact.aliased_columns` would compute it from the
    rows; ``valid_mom`` may be None.
    """
    aliased = aliased_from_gram(train_mom.raw_gram(intercept))[int(intercept):]
    kept = ~aliased
    train_mom = restrict(train_mom, kept)
    scaler = scaler_from_moments(train_mom, intercept, standardize, dtype)
    train = Quadratic.from_moments(train_mom, scaler, intercept, intercept and standardize)
    valid = None if valid_mom is None else Quadratic.from_moments(
        restrict(valid_mom, kept), scaler, intercept)
    return scaler, train, valid, aliased
