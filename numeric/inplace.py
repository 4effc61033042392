"""In-place training steps for an :class:`~gradproof.numeric.network.MLP` built from generated modules.

The generated modules return fresh arrays: readable, and what the gradient
checks prove.  A training loop calls them thousands of times, so for the
network runtime this module holds *in-place variants* of the messages an
MLP passes, one per generated topic: every intermediate (pre-activations,
activations, deltas) lives in a buffer allocated once per batch size, every
parameter message is written by ``out=`` straight into one flat gradient
vector laid out like ``theta``, and a gradient-descent step is fused: the
step size rides on the output delta (``alpha (P - Y) / m`` instead of
``(P - Y) / m``), so every parameter message arrives already scaled and the
whole update is one subtraction ``theta -= g`` over the flat vector.  A
batch of more than ``Plan.chunk_rows`` (512) rows goes through in blocks of
rows, the blocks' parameter messages added up: every row's messages are its
own until they are summed over the rows, and a block's intermediates stay in
the processor's cache (at the lecture's full batch of 1797 rows the step
then takes about half the time of the whole batch at once).  A batch of one
block runs through a *program* made once per batch size: the same calls on
the same buffers, bound in a list, so a small batch spends less time in the
interpreter (the very same numbers as a block).  A step (without its loss
value or a penalty, which the generated modules compute) makes no temporary
larger than NumPy's own iteration buffer of 8192 elements, below glibc's
mmap threshold (128 KiB), so it faults in no fresh pages whatever the
process did before.

An in-place variant is used only when it is *chosen automatically* and
*verified*: the network's modules must be the generated modules of their
topics (a module passed in by the user, or one with a planted fault, is
never replaced), each topic must have a variant below, and at construction
the in-place gradient and loss must agree with the generated modules' on a
seeded probe batch at the network's own weights (float64: 1e-10, float32:
1e-4, relative to the largest entry), both whole and in blocks of 2 rows.
Otherwise the network runs the generated modules as they are and
:attr:`Plan.reason` says why.  The
network's gradient checks (``MLP.check``) then run through whichever path
the network trains with, so the in-place path is proved by finite
differences like the generated one.

Where a variant differs from the generated code it is in the form of the
same derivative, never in the mathematics: ``tanh' = 1 - a^2`` from the
forward output ``a`` (the generated module computes ``sech^2(s)`` from
``s``: the same value, without the cancellation at large ``|s|`` where
``1 - a^2`` loses its relative, not its absolute, accuracy), and
``sigma(s) = (1 + tanh(s/2)) / 2``, which never overflows.  Sums over the
batch (the bias gradients) and along a row (the softmax's normaliser) are
products with a vector of ones, which BLAS runs several times faster than
NumPy's reduction along a short axis, and the softmax's row maximum (its
shift) is taken column by column: the same maximum, the sums equal up to
rounding (the probe's tolerance above covers it).

>>> import numpy as np
>>> from gradproof.numeric.network import MLP
>>> net = MLP((4, 5, 3), seed=0)
>>> net.inplace.active, net.inplace.reason
(True, 'in-place variants of affine, tanh, softmax_cross_entropy agree with the generated modules')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["ACTIVATIONS", "LOSSES", "Buffers", "Plan"]


# -- activations: forward(a) in place on the pre-activations, backward(d, a, tmp) in place on d --
#
# Every backward reads only the forward output ``a`` (not the pre-activation), so the forward
# overwrites its pre-activations: one buffer per hidden layer.


def _tanh_forward(a):
    np.tanh(a, a)


def _tanh_backward(d, a, tmp):
    np.multiply(a, a, tmp)
    np.subtract(1.0, tmp, tmp)  # 1 - a^2 = sech^2(s)
    np.multiply(d, tmp, d)


def _sigmoid_forward(a):
    np.multiply(a, 0.5, a)
    np.tanh(a, a)
    np.multiply(a, 0.5, a)
    np.add(a, 0.5, a)  # (1 + tanh(s/2)) / 2: no exp, no overflow


def _sigmoid_backward(d, a, tmp):
    np.subtract(1.0, a, tmp)
    np.multiply(tmp, a, tmp)  # sigma (1 - sigma)
    np.multiply(d, tmp, d)


def _relu_forward(a):
    np.maximum(a, 0.0, out=a)


def _relu_backward(d, a, tmp):
    np.greater(a, 0.0, tmp)  # a = max(s, 0) > 0 exactly where s > 0: the indicator, as 0.0 / 1.0
    np.multiply(d, tmp, d)


# topic -> (forward, backward)
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "tanh": (_tanh_forward, _tanh_backward),
    "sigmoid": (_sigmoid_forward, _sigmoid_backward),
    "relu": (_relu_forward, _relu_backward),
}


# -- fused output losses: d = c * dL/dS (c = 1/m for the gradient, alpha/m for a step) --
#
# NumPy reduces along a short row (K = 10 classes) slowly, element by element: the row
# maximum is taken column by column over the whole batch instead (K - 1 vectorised passes,
# the same maximum), and row sums as a product with a vector of ones (BLAS).


def _row_max(s, buf) -> None:
    """Each row's maximum into ``buf.row``: either way exactly the same numbers (a maximum does not round)."""
    m, K = s.shape
    if K < 2 or K > MAX_COLUMN_PASSES or m < MIN_ROWS_COLUMN_PASSES:
        np.maximum.reduce(s, 1, None, buf.row, True)
        return
    r = buf.row_flat
    np.maximum(s[:, 0], s[:, 1], out=r)
    for j in range(2, K):
        np.maximum(r, s[:, j], out=r)


def _softmax_ce_delta(s, y, d, buf, c):
    _row_max(s, buf)
    row = buf.row
    np.subtract(s, row, d)
    np.exp(d, d)
    np.matmul(d, buf.ones_out, row)  # the row sums
    np.divide(d, row, d)  # P = softmax(S), shifted by the row maximum
    np.subtract(d, y, d)
    np.multiply(d, c, d)


def _sigmoid_bce_delta(s, y, d, buf, c):
    np.multiply(s, 0.5, d)
    np.tanh(d, d)
    np.multiply(d, 0.5, d)
    np.add(d, 0.5, d)  # sigma(s), as _sigmoid_forward
    d -= y
    d *= c


def _mse_delta(s, y, d, buf, c):
    np.subtract(s, y, out=d)
    d *= 2.0 * c


# topic -> delta(s, y, d, buffers, c)
LOSSES: dict[str, Callable] = {
    "softmax_cross_entropy": _softmax_ce_delta,
    "sigmoid_bce": _sigmoid_bce_delta,
    "mse_multi": _mse_delta,
}

# Up to this many output columns, and from this many rows, the row maximum is taken column by
# column (measured: faster from about 100 rows for 10 columns; slower for a few rows).
MAX_COLUMN_PASSES = 32
MIN_ROWS_COLUMN_PASSES = 64


# -- buffers ---------------------------------------------------------------------


class Buffers:
    """Every intermediate of one batch size: the batch with a column of ones ``Xa``, the hidden
    layers' activations A (written over their pre-activations), the logits, deltas D, scratch T,
    a row vector, and vectors of ones for sums (over the batch, over the outputs) as products."""

    def __init__(self, widths, n_in: int, m: int, dtype):
        self.Xa = np.ones((m, n_in + 1), dtype)  # [X 1]: X W_1 + b_1 as one product [X 1] [W_1; b_1]
        self.X = self.Xa[:, :n_in]
        self.A = [np.empty((m, k), dtype) for k in widths[:-1]]
        self.logits = np.empty((m, widths[-1]), dtype)
        self.D = [np.empty((m, k), dtype) for k in widths]
        self.T = [np.empty((m, k), dtype) for k in widths[:-1]]
        self.row = np.empty((m, 1), dtype)
        self.row_flat = self.row[:, 0]
        self.ones_batch = np.ones(m, dtype)
        self.ones_out = np.ones((widths[-1], 1), dtype)
        self._views: dict = {}
        self.program: tuple | None = None  # see _program

    def rows(self, n: int) -> Buffers:
        """The buffers' first ``n`` rows, as buffers (views; the whole when ``n`` is their length)."""
        if n == self.row.shape[0]:
            return self
        view = self._views.get(n)
        if view is None:
            view = object.__new__(Buffers)
            for name in ("A", "D", "T"):
                setattr(view, name, [a[:n] for a in getattr(self, name)])
            for name in ("Xa", "X", "logits", "row", "row_flat", "ones_batch"):
                setattr(view, name, getattr(self, name)[:n])
            view.ones_out = self.ones_out
            view.program = None
            self._views = {n: view}  # the last block's size: one at a time
        return view


def joined(W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[W; b]``, the ``(n + 1) x k`` matrix whose last row is ``b``, as a view of the memory of both.

    A network keeps each layer's bias right after its weights in one flat vector (``theta``, and
    its gradient), so ``[X 1] [W; b] = X W + b`` is one product and ``[X 1]^T Delta`` writes
    ``dL/dW`` and ``dL/db`` at once.  ``W`` and ``b`` must be such neighbours (else ValueError).
    """
    n, k = W.shape
    base = W.base
    if (
        base is None
        or b.base is not base
        or base.ndim != 1
        or not base.flags.c_contiguous
        or not W.flags.c_contiguous
        or b.shape != (k,)
        or b.dtype != W.dtype
        or b.ctypes.data != W.ctypes.data + W.nbytes
    ):
        raise ValueError("the bias must follow its weights in one flat vector")
    at = (W.ctypes.data - base.ctypes.data) // W.itemsize
    return base[at : at + (n + 1) * k].reshape(n + 1, k)


def flat_like(layers) -> list:
    """Fresh ``[(W, b), ...]`` shaped like ``layers``, views of one flat vector (each bias after its weights)."""
    flat = np.empty(sum(W.size + b.size for W, b in layers), layers[0][0].dtype)
    out, at = [], 0
    for W, b in layers:
        gW = flat[at : at + W.size].reshape(W.shape)
        at += W.size
        out.append((gW, flat[at : at + b.size]))
        at += b.size
    return out


@dataclass
class Plan:
    """The in-place path of one MLP: whether it runs, why, and its buffers."""

    active: bool
    reason: str
    act: tuple[Callable, Callable] | None = None
    delta: Callable | None = None

    # Batch sizes keep their buffers; a few are kept (a last, smaller batch of an epoch).
    MAX_SIZES = 4
    # A longer batch goes through in blocks of this many rows (see run): measured on the lecture
    # MLP at full batch, blocks of 128 to 512 rows are 10 to 20 % faster than the whole batch at once.
    chunk_rows: int = 512

    def __post_init__(self):
        self._buffers: dict[int, Buffers] = {}
        self._partial: list | None = None

    def partial_grads(self, layers) -> list:
        """Scratch parameter messages, shaped like ``layers``: a later block's, before they are added."""
        if self._partial is None or [p[0].shape for p in self._partial] != [W.shape for W, _ in layers]:
            self._partial = flat_like(layers)
        return self._partial

    def buffers(self, layers, m: int) -> Buffers:
        buf = self._buffers.get(m)
        if buf is None:
            if len(self._buffers) >= self.MAX_SIZES:
                self._buffers.clear()
            W = layers[0][0]
            buf = self._buffers[m] = Buffers([V.shape[1] for V, _ in layers], W.shape[0], m, W.dtype)
        return buf


def run(plan: Plan, layers, grads, X, Y, c: float, loss_forward=None):
    """Forward and backward pass in place: writes ``c * dL/dparam`` into ``grads``.

    ``layers`` is ``[(W, b), ...]``, ``grads`` ``[(gW, gb), ...]`` in the same
    order, each a view of one flat vector with every bias right after its
    weights (see :func:`joined`); returns the data loss when ``loss_forward``
    is given (the generated loss, evaluated on the logits buffer).  A batch
    longer than ``plan.chunk_rows`` goes through in blocks of rows: every
    row's messages are its own until the parameter messages sum over rows,
    so each block's sums are added up (and each block's mean loss weighted
    by its share of the rows), while a block's intermediates stay in the
    processor's cache.
    """
    m = X.shape[0]
    rows = min(m, plan.chunk_rows)
    buf = plan._buffers.get(rows) or plan.buffers(layers, rows)
    if rows == m:
        return _whole(plan, layers, grads, X, Y, c / m, loss_forward, buf)
    partial = plan.partial_grads(layers)
    loss = 0.0 if loss_forward is not None else None
    add = np.add
    for start in range(0, m, rows):
        n = min(rows, m - start)
        into = grads if start == 0 else partial
        part = _block(plan, layers, into, X[start : start + n], Y[start : start + n], c / m, loss_forward, buf, n)
        if loss is not None:
            loss += part * (n / m)  # the loss is a mean over rows
        if start:
            for (gW, gb), (pW, pb) in zip(grads, partial):
                add(gW, pW, gW)
                add(gb, pb, gb)
    return loss


def _program(plan: Plan, layers, grads, buf: Buffers) -> tuple:
    """The whole-batch step's calls with their buffers bound, made once per batch size and parameter arrays.

    ``(layers, grads, act, forward, backward)``: the calls of :func:`_forward` after the batch is
    copied into ``[X 1]``, and of :func:`_block` after the output delta; the same calls on the same
    buffers as a block of rows, in an order that only moves independent calls: the very same numbers,
    with less time in the interpreter.
    """
    A, D, T = buf.A, buf.D, buf.T
    fwd, back = plan.act
    matmul, add, ones = np.matmul, np.add, buf.ones_batch
    last = len(layers) - 1
    out = A + [buf.logits]
    forward = [(matmul, (buf.Xa, joined(*layers[0]), out[0]))]
    for l in range(1, last + 1):
        W, b = layers[l]
        forward += [(fwd, (A[l - 1],)), (matmul, (A[l - 1], W, out[l])), (add, (out[l], b, out[l]))]
    backward = []
    for l in range(last, 0, -1):
        gW, gb = grads[l]
        backward += [
            (matmul, (A[l - 1].T, D[l], gW)),
            (matmul, (ones, D[l], gb)),
            (matmul, (D[l], layers[l][0].T, D[l - 1])),
            (back, (D[l - 1], A[l - 1], T[l - 1])),
        ]
    backward.append((matmul, (buf.Xa.T, D[0], joined(*grads[0]))))
    return layers, grads, plan.act, forward, backward


def _whole(plan: Plan, layers, grads, X, Y, c: float, loss_forward, buf: Buffers):
    """The whole batch as one block, through its :func:`_program`; ``c`` already divided by the batch size."""
    prog = buf.program
    if prog is None or prog[0] is not layers or prog[1] is not grads or prog[2] is not plan.act:
        prog = buf.program = _program(plan, layers, grads, buf)  # it keeps the lists: no id is reused
    np.copyto(buf.X, X)
    for f, args in prog[3]:
        f(*args)
    logits = buf.logits
    loss = float(loss_forward(logits, Y)) if loss_forward is not None else None
    plan.delta(logits, Y, buf.D[-1], buf, c)
    for f, args in prog[4]:
        f(*args)
    return loss


def _block(plan: Plan, layers, grads, X, Y, c: float, loss_forward, buf: Buffers, n: int):
    """One block of ``n`` rows (the first ``n`` rows of the buffers); ``c`` already divided by the whole batch."""
    last = len(layers) - 1
    _forward(plan, layers, X, buf, n)
    part = buf.rows(n)
    A, D, T = part.A, part.D, part.T
    back = plan.act[1]
    loss = float(loss_forward(part.logits, Y)) if loss_forward is not None else None
    plan.delta(part.logits, Y, D[last], part, c)
    matmul, ones = np.matmul, part.ones_batch
    for l in range(last, 0, -1):
        gW, gb = grads[l]
        matmul(A[l - 1].T, D[l], gW)  # positional out: cheaper to call than out=
        matmul(ones, D[l], gb)  # the column sums, as a product (BLAS): faster than add.reduce
        matmul(D[l], layers[l][0].T, D[l - 1])
        back(D[l - 1], A[l - 1], T[l - 1])
    matmul(part.Xa.T, D[0], joined(*grads[0]))  # dL/dW_1 and dL/db_1 at once
    return loss


def _forward(plan: Plan, layers, X, buf: Buffers, n: int) -> None:
    fwd = plan.act[0]
    matmul, add = np.matmul, np.add
    part = buf.rows(n)
    out = part.A + [part.logits]
    np.copyto(part.X, X)
    matmul(part.Xa, joined(*layers[0]), out[0])
    for l in range(1, len(layers)):
        fwd(out[l - 1])
        matmul(out[l - 1], layers[l][0], out[l])
        add(out[l], layers[l][1], out[l])


def logits(plan: Plan, layers, X):
    """The output-layer pre-activations (in the buffers, valid until the next call, when the batch is one block)."""
    m = X.shape[0]
    rows = min(m, plan.chunk_rows)
    buf = plan._buffers.get(rows) or plan.buffers(layers, rows)
    if rows == m:
        prog = buf.program
        if prog is not None and prog[0] is layers and prog[2] is plan.act:
            np.copyto(buf.X, X)
            for f, args in prog[3]:
                f(*args)
        else:
            _forward(plan, layers, X, buf, m)
        return buf.logits
    out = np.empty((m, layers[-1][0].shape[1]), layers[0][0].dtype)
    for start in range(0, m, rows):
        n = min(rows, m - start)
        _forward(plan, layers, X[start : start + n], buf, n)
        out[start : start + n] = buf.logits[:n]
    return out
