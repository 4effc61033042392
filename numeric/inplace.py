"""In-place training steps for an :class:`~gradproof.numeric.network.MLP` built from generated modules.

The generated modules return fresh arrays: readable, and what the gradient
checks prove.  A training loop calls them thousands of times, so for the
network runtime this module holds *in-place variants* of the messages an
MLP passes, one per generated topic: every intermediate lives in a buffer
allocated once per batch size, every parameter message is written straight
into one flat gradient vector laid out like ``theta``, and a
gradient-descent step is fused: the step size rides on the output delta
(``alpha (P - Y) / m`` instead of ``(P - Y) / m``), so every parameter
message arrives already scaled and the whole update is one subtraction
``theta -= g`` over the flat vector.

At a batch of 32 a step is a score of NumPy calls on small arrays, so the
number of calls and of passes over memory is what costs:

* each layer's bias follows its weights in ``theta``, so ``[W_1; b_1]`` is
  one matrix: the batch is copied into ``[X 1]`` (a column of ones) and
  ``[X 1] [W_1; b_1] = X W_1 + b_1`` is one product, ``[X 1]^T Delta_1``
  writes ``dL/dW_1`` and ``dL/db_1`` at once (no bias addition, no sum over
  the batch);
* a hidden activation overwrites its pre-activation (every backward below
  needs only the activation), one buffer per hidden layer;
* the output layer runs transposed, one column per sample (``S^T = W^T
  A^T``): the softmax's maximum and sum over the classes then run down the
  columns, vectorised over the batch, where NumPy reduces a short row of 10
  numbers element by element;
* each batch size's pass is one closure with every array bound
  (:func:`program`).

A batch of more than ``Plan.chunk_rows`` (512) rows goes through in blocks
of rows, the blocks' parameter messages added up: every row's messages are
its own until they are summed over the rows, and a block's intermediates
stay in the processor's cache (at the lecture's full batch of 1797 rows the
step then takes about half the time of the whole batch at once).  A step
(without its loss value or a penalty, which the generated modules compute)
makes no temporary larger than NumPy's own iteration buffer of 8192
elements, below glibc's mmap threshold (128 KiB), so it faults in no fresh
pages whatever the process did before.

An in-place variant is used only when it is *chosen automatically* and
*verified*: the network's modules must be the generated modules of their
topics (a module passed in by the user, or one with a planted fault, is
never replaced), each topic must have a variant below, and at construction
the in-place gradient and loss must agree with the generated modules' on a
seeded probe batch at the network's own weights (float64: 1e-10, float32:
1e-4, relative to the largest entry), both whole and in blocks of 2 rows.
Otherwise the network runs the generated modules as they are and
:attr:`Plan.reason` says why.  The network's gradient checks
(``MLP.check``) then run through whichever path the network trains with,
so the in-place path is proved by finite differences like the generated
one.

Where a variant differs from the generated code it is in the form of the
same derivative, never in the mathematics: ``tanh' = 1 - a^2`` from the
forward output ``a`` (the generated module computes ``sech^2(s)`` from
``s``: the same value, without the cancellation at large ``|s|`` where
``1 - a^2`` loses its relative, not its absolute, accuracy), ``relu'`` as
``a > 0`` (exactly where ``s > 0``), and ``sigma(s) = (1 + tanh(s/2)) /
2``, which never overflows.  Sums over the batch (the bias gradients) and
over the classes (the softmax's normaliser) are products with a vector of
ones, which BLAS runs several times faster than NumPy's reduction along a
short axis; a product or sum taken this way rounds in another order than
the generated code's, within the probe's tolerance.

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


# -- activations: forward(a) in place on the pre-activations, backward(d, a) in place on d --
#
# Every backward reads only the forward output ``a`` (not the pre-activation), so the forward
# overwrites its pre-activations, and the backward, the last to read ``a``, overwrites ``a`` with
# the derivative: one buffer per hidden layer, no scratch.


def _tanh_forward(a):
    np.tanh(a, a)


def _tanh_backward(d, a):
    np.multiply(a, a, a)
    np.subtract(1.0, a, a)  # 1 - a^2 = sech^2(s)
    np.multiply(d, a, d)


def _sigmoid_forward(a):
    np.multiply(a, 0.5, a)
    np.tanh(a, a)
    np.multiply(a, 0.5, a)
    np.add(a, 0.5, a)  # (1 + tanh(s/2)) / 2: no exp, no overflow


def _sigmoid_backward(d, a):
    np.multiply(d, a, d)
    np.subtract(1.0, a, a)
    np.multiply(d, a, d)  # d sigma (1 - sigma)


def _relu_forward(a):
    np.maximum(a, 0.0, out=a)


def _relu_backward(d, a):
    np.greater(a, 0.0, a)  # a = max(s, 0) > 0 exactly where s > 0: the indicator, as 0.0 / 1.0
    np.multiply(d, a, d)


# topic -> (forward, backward)
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "tanh": (_tanh_forward, _tanh_backward),
    "sigmoid": (_sigmoid_forward, _sigmoid_backward),
    "relu": (_relu_forward, _relu_backward),
}


# -- fused output losses: dT = c * (dL/dS)^T (c = 1/m for the gradient, alpha/m for a step) --
#
# The output layer is kept transposed, one column per row of the batch (K x m): the softmax's
# reductions over the K classes then run down the columns, K - 1 vectorised passes over rows of
# m numbers, where NumPy reduces along a short row of K numbers element by element.


def _softmax_ce_delta(sT, yT, dT, buf, c):
    col = buf.col
    np.maximum.reduce(sT, 0, None, col, True)  # each sample's largest logit (a maximum does not round)
    np.subtract(sT, col, dT)
    np.exp(dT, dT)
    np.matmul(buf.ones_classes, dT, col)  # the sums over the classes, as a product (BLAS)
    np.divide(dT, col, dT)  # P = softmax(S), shifted by each sample's maximum
    np.subtract(dT, yT, dT)
    np.multiply(dT, c, dT)


def _sigmoid_bce_delta(sT, yT, dT, buf, c):
    np.multiply(sT, 0.5, dT)
    np.tanh(dT, dT)
    np.multiply(dT, 0.5, dT)
    np.add(dT, 0.5, dT)  # sigma(s), as _sigmoid_forward
    np.subtract(dT, yT, dT)
    np.multiply(dT, c, dT)


def _mse_delta(sT, yT, dT, buf, c):
    np.subtract(sT, yT, dT)
    np.multiply(dT, 2.0 * c, dT)


# topic -> delta(sT, yT, dT, buffers, c), on the transposed output layer
LOSSES: dict[str, Callable] = {
    "softmax_cross_entropy": _softmax_ce_delta,
    "sigmoid_bce": _sigmoid_bce_delta,
    "mse_multi": _mse_delta,
}


# -- buffers ---------------------------------------------------------------------


class Buffers:
    """Every intermediate of one batch size: the batch with a column of ones ``Xa``, the hidden
    layers' activations A (written over their pre-activations, then over their derivatives), their deltas D, the
    output layer's logits and delta transposed (``ZT``, ``DT``: K x m), and vectors of ones for
    sums (over the batch, over the classes) as products."""

    def __init__(self, widths, n_in: int, m: int, dtype):
        self.Xa = np.ones((m, n_in + 1), dtype)  # [X 1]: X W_1 + b_1 as one product [X 1] [W_1; b_1]
        self.X = self.Xa[:, :n_in]
        self.A = [np.empty((m, k), dtype) for k in widths[:-1]]
        self.D = [np.empty((m, k), dtype) for k in widths[:-1]]
        self.ZT = np.empty((widths[-1], m), dtype)
        self.DT = np.empty((widths[-1], m), dtype)
        self.col = np.empty((1, m), dtype)
        self.ones_batch = np.ones(m, dtype)
        self.ones_classes = np.ones((1, widths[-1]), dtype)
        self.m = m
        self._views: dict = {}
        self.programs: dict = {}  # see program
        self.last: tuple | None = None  # the program run last

    def rows(self, n: int) -> Buffers:
        """The buffers' first ``n`` rows, as buffers (views; the whole when ``n`` is their length)."""
        if n == self.m:
            return self
        view = self._views.get(n)
        if view is None:
            view = object.__new__(Buffers)
            for name in ("A", "D"):
                setattr(view, name, [a[:n] for a in getattr(self, name)])
            for name in ("Xa", "X", "ones_batch"):
                setattr(view, name, getattr(self, name)[:n])
            for name in ("ZT", "DT", "col"):
                setattr(view, name, getattr(self, name)[:, :n])
            view.ones_classes, view.m = self.ones_classes, n
            view._views, view.programs, view.last = {}, {}, None
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
    # the compiled step (gradproof.numeric.ckernel), verified, for batches of at most kernel_rows rows
    kernel: object | None = None
    compiled_reason: str = "no compiled step: the in-place variants do not run"
    kernel_rows: int = 0
    kernel_pending: int = 0  # small-batch steps left before the kernel is built (0: not waiting)

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
        return program(plan, layers, grads, buf)(X, Y, c / m, loss_forward)
    partial = plan.partial_grads(layers)
    loss = 0.0 if loss_forward is not None else None
    add = np.add
    for start in range(0, m, rows):
        n = min(rows, m - start)
        into = grads if start == 0 else partial
        part = program(plan, layers, into, buf.rows(n))(X[start : start + n], Y[start : start + n], c / m, loss_forward)
        if loss is not None:
            loss += part * (n / m)  # the loss is a mean over rows
        if start:
            for (gW, gb), (pW, pb) in zip(grads, partial):
                add(gW, pW, gW)
                add(gb, pb, gb)
    return loss


def program(plan: Plan, layers, grads, buf: Buffers) -> Callable:
    """``step(X, Y, c, loss_forward, backward=True)`` for a batch of the buffers' size: made once per
    batch size, parameter and gradient arrays and variants, every array bound (less time in the
    interpreter).  ``c`` multiplies every parameter message; returns the data loss, or None.
    With ``grads`` None, a forward pass only (call it with ``backward=False``)."""
    got = buf.last
    if got is not None and got[1] is layers and got[2] is grads and got[3] is plan.act and got[4] is plan.delta:
        return got[0]
    key = (id(layers), id(grads), id(plan.act), id(plan.delta))
    got = buf.programs.get(key)
    if got is None:
        if len(buf.programs) >= 4:
            buf.programs.clear()
        got = buf.programs[key] = (_make(plan, layers, grads, buf), layers, grads, plan.act, plan.delta)  # ids kept
    buf.last = got
    return got[0]


def _make(plan: Plan, layers, grads, buf: Buffers) -> Callable:
    """The calls of one forward and backward pass, in order, with their arrays bound (see :func:`program`)."""
    fwd, back = plan.act
    delta, Xv, Xa, ZT, DT = plan.delta, buf.X, buf.Xa, buf.ZT, buf.DT
    matmul, add, copyto, ones = np.matmul, np.add, np.copyto, buf.ones_batch
    last = len(layers) - 1
    A, D = buf.A, buf.D
    first = joined(*layers[0])
    # layers between the first and the output: (input, W, b, output); backward (input, delta, W, delta below, ...)
    middle = [(A[l - 1], layers[l][0], layers[l][1], A[l]) for l in range(1, last)]
    if grads is None:  # a forward pass only
        grads = [(None, None)] * len(layers)
        gfirst = None
    else:
        gfirst = joined(*grads[0])
    middle_back = [(A[l - 1], D[l], layers[l][0].T, D[l - 1], grads[l][0], grads[l][1]) for l in range(last - 1, 0, -1)]
    if last:
        W, b = layers[last]
        gW, gb = grads[last]
        A_out, WT, bc, D_out = A[last - 1], W.T, b[:, None], D[last - 1]
        D0 = D[0]
    else:
        D0 = DT.T

    def step(X, Y, c, loss_forward, backward=True):
        copyto(Xv, X)
        if last:
            matmul(Xa, first, A[0])
            for z, W_, b_, out in middle:
                fwd(z)
                matmul(z, W_, out)
                add(out, b_, out)
            fwd(A_out)
            matmul(WT, A_out.T, ZT)  # the output layer transposed: (A W)^T = W^T A^T
            add(ZT, bc, ZT)
        else:
            matmul(first.T, Xa.T, ZT)
        if not backward:
            return None
        loss = float(loss_forward(ZT.T, Y)) if loss_forward is not None else None
        delta(ZT, Y.T, DT, buf, c)
        if last:
            matmul(A_out.T, DT.T, gW)
            matmul(DT, ones, gb)  # the sums over the batch, as a product (BLAS): faster than add.reduce
            matmul(DT.T, WT, D_out)
            back(D_out, A_out)  # the last read of A_out: it now holds the derivative
            for z, d, WT_, d_in, gW_, gb_ in middle_back:
                matmul(z.T, d, gW_)
                matmul(ones, d, gb_)
                matmul(d, WT_, d_in)
                back(d_in, z)
        matmul(Xa.T, D0, gfirst)  # dL/dW_1 and dL/db_1 at once
        return loss

    return step


def logits(plan: Plan, layers, X):
    """The output-layer pre-activations, ``m x K`` (a view of the buffers, valid until the next call, when the
    batch is one block)."""
    m = X.shape[0]
    rows = min(m, plan.chunk_rows)
    buf = plan._buffers.get(rows) or plan.buffers(layers, rows)
    if rows == m:
        program(plan, layers, None, buf)(X, None, 0.0, None, False)
        return buf.ZT.T
    out = np.empty((m, layers[-1][0].shape[1]), layers[0][0].dtype)
    for start in range(0, m, rows):
        n = min(rows, m - start)
        part = buf.rows(n)
        program(plan, layers, None, part)(X[start : start + n], None, 0.0, None, False)
        out[start : start + n] = part.ZT.T
    return out
