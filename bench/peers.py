"""The contenders of ``bench/run.py``: one gradient of a tanh MLP, written for each tool.

Every builder takes the same starting weights and batch and returns a
zero-argument callable computing the *training-step gradient*: the forward
pass and every parameter gradient ``dL/dW_l, dL/db_l`` (no update), plus a
function that converts its result to ``[gW_1, gb_1, gW_2, ...]`` as NumPy
arrays, so that every contender is checked against gradproof's gradient
before it is timed.

Networks: hidden layers ``H_l = tanh(H_{l-1} W_l + b_l)``, a linear output
layer ``S = H W_L + b_L`` and one of gradproof's fused losses on the logits:

* ``"softmax"``: ``L = -sum(Y * log softmax(S)) / m`` (one-hot ``Y``);
* ``"mse"``: ``L = sum((S - Y)^2) / m`` (``mse_multi``).

A peer that is not installed raises :class:`Missing`; ``run.py`` then skips
it with a note.
"""

from __future__ import annotations

import os

import numpy as np
from handwritten import HandwrittenMLP  # bench/ is on sys.path: these run as scripts

__all__ = [
    "Missing",
    "autograd_grad",
    "gradproof_grad",
    "handwritten_grad",
    "jax_grad",
    "jax_step",
    "torch_flat_loss",
    "torch_grad",
    "torch_step",
]


class Missing(RuntimeError):
    """A peer library is not installed."""


def _layers(net) -> tuple[list[np.ndarray], list[np.ndarray]]:
    Ws = [net.params[f"W{l}"] for l in range(1, net.depth + 1)]
    bs = [net.params[f"b{l}"] for l in range(1, net.depth + 1)]
    return Ws, bs


def _from_dict(net):
    keys = [k for l in range(1, net.depth + 1) for k in (f"W{l}", f"b{l}")]
    return lambda g: [np.asarray(g[k]) for k in keys]


# ---------------------------------------------------------------------------
# gradproof: a network composed of the generated modules
# ---------------------------------------------------------------------------


def gradproof_grad(net, X, Y):
    """gradproof's :class:`gradproof.numeric.network.MLP` gradient (forward + backward through generated code).

    The network's own choice of path (its in-place variants when verified), the
    gradient left in the network's buffer as the hand-written contender leaves its.
    """
    grad = net.gradient
    conv = _from_dict(net)
    return (lambda: grad(X, Y, with_loss=False, copy=False)[1]), (lambda g: [a.copy() for a in conv(g)])


# ---------------------------------------------------------------------------
# Hand-written NumPy: what a careful NumPy programmer writes for this network
# ---------------------------------------------------------------------------


def handwritten_grad(net, X, Y, loss: str):
    Ws, bs = _layers(net)
    hand = HandwrittenMLP([W.copy() for W in Ws], [b.copy() for b in bs], loss)

    def as_list(g):
        gWs, gbs = g
        return [a.copy() for pair in zip(gWs, gbs) for a in pair]

    return (lambda: hand.gradient(X, Y)), as_list


# ---------------------------------------------------------------------------
# PyTorch eager
# ---------------------------------------------------------------------------


def _torch():
    try:
        import torch
    except ImportError:
        raise Missing("PyTorch not installed (pip install 'gradproof[bench]')") from None
    return torch


def _torch_loss(torch, params, Xt, Yt, labels, loss: str, m: int):
    h = Xt
    for W, b in params[:-1]:
        h = torch.tanh(torch.addmm(b, h, W))
    W, b = params[-1]
    s = torch.addmm(b, h, W)
    if loss == "softmax":
        return torch.nn.functional.cross_entropy(s, labels)
    return ((s - Yt) ** 2).sum() / m


def torch_grad(net, X, Y, loss: str, threads: int):
    """``torch.autograd.grad`` of the loss written with torch ops, eager mode, ``threads`` threads."""
    torch = _torch()
    torch.set_num_threads(threads)
    Ws, bs = _layers(net)
    params = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)) for W, b in zip(Ws, bs)]
    flat = [p for pair in params for p in pair]
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    labels = Yt.argmax(dim=1) if loss == "softmax" else None
    m = X.shape[0]

    def grad():
        return torch.autograd.grad(_torch_loss(torch, params, Xt, Yt, labels, loss, m), flat)

    return grad, lambda g: [t.numpy() for t in g]


def torch_flat_loss(net, X, Y):
    """``(f, theta)``: the lecture MLP's softmax cross-entropy as a torch function of one flat float64 vector."""
    torch = _torch()
    Ws, bs = _layers(net)
    shapes = [a.shape for pair in zip(Ws, bs) for a in pair]
    sizes = [int(np.prod(s)) for s in shapes]
    theta = torch.tensor(net.theta.copy(), dtype=torch.float64, requires_grad=True)
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64))
    labels = torch.from_numpy(np.asarray(Y)).argmax(dim=1)

    def f(th):
        parts = [p.reshape(s) for p, s in zip(torch.split(th, sizes), shapes)]
        params = list(zip(parts[0::2], parts[1::2]))
        return _torch_loss(torch, params, Xt, None, labels, "softmax", X.shape[0])

    return f, theta


# ---------------------------------------------------------------------------
# JAX: jit(grad)
# ---------------------------------------------------------------------------


def _jax():
    try:
        import jax
    except ImportError:
        raise Missing("JAX not installed (pip install 'gradproof[bench]')") from None
    jax.config.update("jax_enable_x64", True)
    return jax


def jax_grad(net, X, Y, loss: str):
    """``jax.jit(jax.grad(loss))`` with the batch already on the device; returns (step, to_numpy, compile seconds)."""
    import time

    jax = _jax()
    import jax.numpy as jnp

    m = X.shape[0]

    def L(params, X, Y):
        h = X
        for W, b in params[:-1]:
            h = jnp.tanh(h @ W + b)
        W, b = params[-1]
        s = h @ W + b
        if loss == "softmax":
            return -jnp.sum(Y * jax.nn.log_softmax(s, axis=1)) / m
        return jnp.sum((s - Y) ** 2) / m

    Ws, bs = _layers(net)
    params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in zip(Ws, bs)]
    Xj, Yj = jax.device_put(X), jax.device_put(Y)
    t0 = time.perf_counter()
    compiled = jax.jit(jax.grad(L)).lower(params, Xj, Yj).compile()
    compile_s = time.perf_counter() - t0

    def grad():
        return jax.block_until_ready(compiled(params, Xj, Yj))

    def as_list(g):
        return [np.asarray(a) for pair in g for a in pair]

    return grad, as_list, compile_s


def jax_step(net, X, Y, loss: str, alpha: float):
    """A whole gradient-descent step, ``jax.jit`` of ``params - alpha * grad(L)(params)`` with the
    parameters donated (updated in place on the device); returns (step, weights as NumPy, compile seconds)."""
    import time

    jax = _jax()
    import jax.numpy as jnp

    m = X.shape[0]

    def L(params, X, Y):
        h = X
        for W, b in params[:-1]:
            h = jnp.tanh(h @ W + b)
        W, b = params[-1]
        s = h @ W + b
        if loss == "softmax":
            return -jnp.sum(Y * jax.nn.log_softmax(s, axis=1)) / m
        return jnp.sum((s - Y) ** 2) / m

    def step(params, X, Y):
        g = jax.grad(L)(params, X, Y)
        return jax.tree_util.tree_map(lambda p, q: p - alpha * q, params, g)

    Ws, bs = _layers(net)
    state = [[(jnp.array(W), jnp.array(b)) for W, b in zip(Ws, bs)]]
    Xj, Yj = jax.device_put(X), jax.device_put(Y)
    t0 = time.perf_counter()
    compiled = jax.jit(step, donate_argnums=0).lower(state[0], Xj, Yj).compile()
    compile_s = time.perf_counter() - t0

    def run():
        state[0] = jax.block_until_ready(compiled(state[0], Xj, Yj))

    def weights():
        return [np.asarray(W) for W, _ in state[0]]

    return run, weights, compile_s


def torch_step(net, X, Y, loss: str, alpha: float, threads: int = 1):
    """A whole gradient-descent step in PyTorch eager mode: ``autograd.grad``, then ``p -= alpha g`` in place."""
    torch = _torch()
    torch.set_num_threads(threads)
    Ws, bs = _layers(net)
    params = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)) for W, b in zip(Ws, bs)]
    flat = [p for pair in params for p in pair]
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    labels = Yt.argmax(dim=1) if loss == "softmax" else None
    m = X.shape[0]

    def run():
        grads = torch.autograd.grad(_torch_loss(torch, params, Xt, Yt, labels, loss, m), flat)
        with torch.no_grad():
            for p, g in zip(flat, grads):
                p.sub_(g, alpha=alpha)

    def weights():
        return [W.detach().numpy().copy() for W, _ in params]

    return run, weights


# ---------------------------------------------------------------------------
# HIPS autograd
# ---------------------------------------------------------------------------


def autograd_grad(net, X, Y, loss: str):
    try:
        import autograd
        import autograd.numpy as anp
        from autograd.scipy.special import logsumexp
    except ImportError:
        raise Missing("autograd not installed (pip install 'gradproof[bench]')") from None
    m = X.shape[0]

    def L(params):
        h = X
        for W, b in params[:-1]:
            h = anp.tanh(anp.dot(h, W) + b)
        W, b = params[-1]
        s = anp.dot(h, W) + b
        if loss == "softmax":
            return -anp.sum(Y * (s - logsumexp(s, axis=1, keepdims=True))) / m
        return anp.sum((s - Y) ** 2) / m

    Ws, bs = _layers(net)
    params = [(W.copy(), b.copy()) for W, b in zip(Ws, bs)]
    g = autograd.grad(L)
    return (lambda: g(params)), (lambda r: [np.asarray(a) for pair in r for a in pair])


def xla_flags_for(threads: int) -> str:
    """XLA's CPU flags for ``threads`` intra-op threads (set before JAX is imported)."""
    if threads == 1:
        return "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    return f"intra_op_parallelism_threads={threads}"


def set_xla_threads(threads: int) -> str:
    flags = (os.environ.get("XLA_FLAGS", "") + " " + xla_flags_for(threads)).strip()
    os.environ["XLA_FLAGS"] = flags
    return flags
