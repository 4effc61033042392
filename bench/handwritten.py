"""Hand-written NumPy baseline: the lecture MLP's gradient-descent step, written out by hand.

The reference the generated-code network is measured against.  Rows are
samples; hidden layers ``H_l = tanh(H_{l-1} W_l + b_l)``, a linear output
layer, and the fused output loss written directly:

* softmax + cross-entropy:  ``Delta_L = (softmax(S_L) - Y) / m``
* squared error (mean):     ``Delta_L = 2 (S_L - Y) / m``

then ``dL/dW_l = H_{l-1}^T Delta_l``, ``dL/db_l = colsum(Delta_l)``,
``Delta_{l-1} = (Delta_l W_l^T) * (1 - H_{l-1}^2)`` and
``theta <- theta - alpha grad``.  Every intermediate lives in a buffer
allocated once per batch size (``out=`` everywhere), which is what a careful
NumPy programmer writes; :func:`naive_step` is the same step with fresh
temporaries, for comparison.
"""

from __future__ import annotations

import numpy as np


class HandwrittenMLP:
    """A tanh MLP with a fused output loss (``"softmax"`` or ``"mse"``), buffers reused across steps.

    Works in the dtype of the weights it is given (float64 or float32).
    """

    def __init__(self, Ws, bs, loss: str = "softmax"):
        if loss not in ("softmax", "mse"):
            raise ValueError("loss is 'softmax' or 'mse'")
        self.Ws = [np.array(W) for W in Ws]
        self.bs = [np.array(b) for b in bs]
        self.dtype = self.Ws[0].dtype
        self.loss = loss
        self.gWs = [np.empty_like(W) for W in self.Ws]
        self.gbs = [np.empty_like(b) for b in self.bs]
        self._m = None

    def _buffers(self, m: int) -> None:
        if self._m == m:
            return
        self._m, dt = m, self.dtype
        self.S = [np.empty((m, W.shape[1]), dt) for W in self.Ws]  # pre-activations
        self.H = [np.empty((m, W.shape[1]), dt) for W in self.Ws[:-1]]  # hidden outputs
        self.D = [np.empty((m, W.shape[1]), dt) for W in self.Ws]  # deltas of the pre-activations
        self.T = [np.empty((m, W.shape[1]), dt) for W in self.Ws[:-1]]  # 1 - H^2
        self.row = np.empty((m, 1), dt)

    def gradient(self, X: np.ndarray, Y: np.ndarray):
        """Every parameter gradient on the batch ``(X, Y)``: ``(dL/dW_l, dL/db_l)`` lists (buffers)."""
        m = X.shape[0]
        self._buffers(m)
        L = len(self.Ws)
        S, H, D, T = self.S, self.H, self.D, self.T
        z = X
        for l in range(L):
            np.matmul(z, self.Ws[l], out=S[l])
            S[l] += self.bs[l]
            if l < L - 1:
                np.tanh(S[l], out=H[l])
                z = H[l]
        d = D[-1]
        if self.loss == "softmax":
            np.max(S[-1], axis=1, keepdims=True, out=self.row)
            np.subtract(S[-1], self.row, out=d)
            np.exp(d, out=d)
            np.sum(d, axis=1, keepdims=True, out=self.row)
            d /= self.row  # P = softmax(S_L)
            d -= Y
            d *= 1.0 / m  # (P - Y) / m
        else:
            np.subtract(S[-1], Y, out=d)
            d *= 2.0 / m  # 2 (S_L - Y) / m
        for l in range(L - 1, -1, -1):
            z_in = X if l == 0 else H[l - 1]
            np.matmul(z_in.T, D[l], out=self.gWs[l])
            np.sum(D[l], axis=0, out=self.gbs[l])
            if l > 0:
                np.matmul(D[l], self.Ws[l].T, out=D[l - 1])
                np.multiply(H[l - 1], H[l - 1], out=T[l - 1])
                np.subtract(1.0, T[l - 1], out=T[l - 1])
                D[l - 1] *= T[l - 1]
        return self.gWs, self.gbs

    def step(self, X: np.ndarray, Y: np.ndarray, alpha: float) -> None:
        """One gradient-descent step on the batch ``(X, Y)``, in place."""
        self.gradient(X, Y)
        for W, gW, b, gb in zip(self.Ws, self.gWs, self.bs, self.gbs):
            gW *= alpha
            W -= gW
            gb *= alpha
            b -= gb


def naive_step(Ws, bs, X, Y, alpha, loss: str = "softmax") -> None:
    """The same step written the short way, allocating fresh temporaries."""
    m = X.shape[0]
    Hs = [X]
    for W, b in zip(Ws[:-1], bs[:-1]):
        Hs.append(np.tanh(Hs[-1] @ W + b))
    S = Hs[-1] @ Ws[-1] + bs[-1]
    if loss == "softmax":
        E = np.exp(S - S.max(axis=1, keepdims=True))
        D = (E / E.sum(axis=1, keepdims=True) - Y) / m
    else:
        D = 2 * (S - Y) / m
    for l in range(len(Ws) - 1, -1, -1):
        gW = Hs[l].T @ D
        gb = D.sum(axis=0)
        if l > 0:
            D = (D @ Ws[l].T) * (1 - Hs[l] ** 2)
        Ws[l] -= alpha * gW
        bs[l] -= alpha * gb
