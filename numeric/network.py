"""Networks composed from modules by the lecture's modular backpropagation.

Every module passes three messages (see the generated-module contract):

* forward:   ``z_next = module.forward(z, **params)``
* backward:  ``delta_in, grads = module.backward(delta, z, **params)`` where
  ``delta = dL/dz_next`` arrives from above and ``delta_in = dL/dz`` goes on down;
* parameter: ``grads[name] = dL/dparam``.

A network only stores the forward messages, runs the modules forwards, starts
the backward pass at the loss module (``delta = dL/dz`` of the last output) and
collects the parameter messages.  Three architectures:

* :class:`MLP` -- a sequence of affine layers and activations, any depth;
* :class:`DAG` -- a directed acyclic graph of modules, where one module (one
  set of parameters) may be used at several places: its parameter messages
  add up (weight sharing);
* :class:`RNN` -- a fully connected recurrent network unrolled in time into a
  DAG whose modules are shared across time steps (backpropagation through time).

All parameters of a network live in one flat vector ``theta`` (each named
parameter is a view of it), so gradient descent and the gradient checker see
``theta`` as the lecture's single parameter vector.  Updates are in place,
through preallocated buffers.

Modules are module objects (a generated file, or anything with the same
contract) or topic names resolved in ``gradproof.numeric.generated``.

>>> rng = np.random.default_rng(0)
>>> X, Y = rng.normal(size=(8, 4)), np.eye(3)[rng.integers(0, 3, 8)]
>>> net = MLP((4, 5, 3), activation="tanh", output="softmax", seed=0)
>>> before = net.loss(X, Y)
>>> for _ in range(50):
...     _ = net.step(X, Y, alpha=0.5)
>>> net.loss(X, Y) < before, net.n_params
(True, 43)
>>> all(r.passed for r in net.check(X, Y, methods=("central", "directional")))
True
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradproof.numeric import ckernel, gradcheck, memory
from gradproof.numeric import inplace as inplace_mod
from gradproof.numeric.init import initialise

__all__ = ["DAG", "MLP", "OUTPUT_LOSS", "RNN", "Network", "Node", "load"]


def load(topic: str):
    """The generated module of ``topic`` (``gradproof.numeric.generated.<topic>``)."""
    try:
        return importlib.import_module("gradproof.numeric.generated." + topic)
    except ModuleNotFoundError as err:
        if err.name == "gradproof.numeric.generated." + topic:
            raise LookupError(f"no generated module for topic {topic!r} in numeric/generated/") from None
        raise


def _resolve(mod, modules: Mapping[str, Any] | None):
    """A module object from an object, or a topic name (looked up in ``modules`` first)."""
    if isinstance(mod, str):
        if modules and mod in modules:
            return modules[mod]
        return load(mod)
    return mod


# output activation -> (its module topic, the fused loss on its logits)
OUTPUT_LOSS = {
    "softmax": ("softmax", "softmax_cross_entropy"),
    "sigmoid": ("sigmoid", "sigmoid_bce"),
    "linear": (None, "mse_multi"),
}


# Network checks with kinked modules: a step of 1e-5 moves a pre-activation
# by about 1e-5 |z|, far less than the margin kept from every kink.
NETWORK_KINK_STEP = 1e-5
NETWORK_KINK_MARGIN = 2e-3


class Network(abc.ABC):
    """Common machinery: the flat parameter vector, the loss, gradient descent, checks.

    Subclasses implement ``_loss_and_grads(inputs, targets, need_loss)``
    returning ``(data loss or None, {key: gradient})``.
    """

    def __init__(self, modules=None, penalty=None, lam: float = 0.0, keep_memory: bool = True):
        self._modules = modules
        self.keys: list[str] = []
        self.params: dict[str, np.ndarray] = {}
        self.theta = np.empty(0)
        self._penalised: tuple[str, ...] = ()
        self.penalty = _resolve(penalty, modules) if penalty else None
        self.lam = float(lam)
        if keep_memory:
            memory.keep_freed_memory()

    # -- parameters ------------------------------------------------------
    def _allocate(self, arrays: Sequence[tuple[str, np.ndarray]], penalised: Sequence[str] = ()) -> None:
        """Place the named initial arrays in one flat vector and keep views of it."""
        total = sum(a.size for _, a in arrays)
        dtype = np.result_type(*[a.dtype for _, a in arrays]) if arrays else np.float64
        self.theta = memory.aligned_empty(total, dtype)  # whole vector loads stay within cache lines
        self.keys, self.params, self._tmp = [], {}, {}
        at = 0
        for key, a in arrays:
            view = self.theta[at : at + a.size].reshape(a.shape)
            view[...] = a
            self.keys.append(key)
            self.params[key] = view
            self._tmp[key] = np.empty_like(view)  # scratch for alpha * grad, reused every step
            at += a.size
        self._penalised = tuple(penalised)
        self._update = [(k, self.params[k], self._tmp[k]) for k in self.keys]

    @property
    def n_params(self) -> int:
        """Number of scalar parameters P."""
        return int(self.theta.size)

    def flatten(self, grads: Mapping[str, np.ndarray]) -> np.ndarray:
        """A ``{key: array}`` gradient as one vector laid out like ``theta``."""
        return np.concatenate([np.ravel(grads[k]) for k in self.keys]) if self.keys else np.empty(0)

    # -- loss and gradient ------------------------------------------------
    @abc.abstractmethod
    def _loss_and_grads(self, inputs, targets, need_loss: bool):
        """``(L or None, {key: dL/dkey})``: one forward and one backward pass."""

    def _penalise(self, loss, grads, need_loss):
        if self.penalty is None or self.lam == 0.0:
            return loss
        for key in self._penalised:
            W = self.params[key]
            grads[key] = grads[key] + self.penalty.backward(W, lam=self.lam)
            if need_loss:
                loss += float(self.penalty.forward(W, lam=self.lam))
        return loss

    def loss(self, inputs, targets) -> float:
        """The training loss L(theta): data loss plus the penalty on the weights (biases excluded)."""
        loss, _ = self._loss_only(inputs, targets)
        return loss

    def _loss_only(self, inputs, targets):
        loss = self._data_loss(inputs, targets)
        if self.penalty is not None and self.lam != 0.0:
            loss += sum(float(self.penalty.forward(self.params[k], lam=self.lam)) for k in self._penalised)
        return loss, None

    def gradient(self, inputs, targets, *, with_loss: bool = True):
        """``(L, {key: dL/dkey})`` by one forward and one backward pass (``L`` is None when not asked)."""
        loss, grads = self._loss_and_grads(inputs, targets, with_loss)
        loss = self._penalise(loss, grads, with_loss)
        return loss, grads

    def step(self, inputs, targets, alpha: float, *, with_loss: bool = False):
        """One gradient-descent step ``theta <- theta - alpha * grad L(theta)``, in place; returns L if asked."""
        loss, grads = self._loss_and_grads(inputs, targets, with_loss)
        if self.penalty is not None:
            loss = self._penalise(loss, grads, with_loss)
        mul, sub = np.multiply, np.subtract
        for key, param, tmp in self._update:
            mul(grads[key], alpha, tmp)  # positional out: cheaper to call than out=
            sub(param, tmp, param)
        return loss

    # -- verification -----------------------------------------------------
    def _kinked_inputs(self, inputs):
        """Pairs ``(input value, kinks)`` for every module with declared kinks."""
        return []

    def _kink_distance(self, inputs) -> float:
        d = np.inf
        for z, kinks in self._kinked_inputs(inputs):
            for k in kinks:
                d = min(d, float(np.min(np.abs(z - k), initial=np.inf)))
        return d

    def check(
        self,
        inputs,
        targets,
        *,
        topic: str | None = None,
        methods=("directional",),
        seeds: int = 8,
        seed: int = 0,
        wrt=None,
    ) -> list[gradcheck.CheckRecord]:
        """Check the network's gradient of L(theta) against finite differences of L.

        One record per parameter and method; ``"central"`` is the full
        gradient (2 x 2 forward passes per parameter entry), ``"directional"``
        costs the same whatever the parameter count.
        """
        topic = topic or type(self).__name__
        saved = self.theta.copy()
        names = list(wrt or self.keys)
        # A difference quotient must not straddle a kink (ReLU at 0).  With
        # kinked modules, take small steps, and where a kinked module's input
        # still sits near a kink -- zero biases put a dead layer's output
        # exactly on it -- check at a slightly moved point instead.
        step = None
        if self._kinked_inputs(inputs):
            step = NETWORK_KINK_STEP
            rng = np.random.default_rng([seed, 7])
            for _ in range(50):
                if self._kink_distance(inputs) >= NETWORK_KINK_MARGIN:
                    break
                self.theta += 0.01 * rng.standard_normal(self.theta.shape)
            else:  # pragma: no cover -- 50 random moves all landing near a kink
                self.theta[...] = saved
                raise RuntimeError("could not move the parameters away from the kinks")

        # The checkers call f and vjp with the same argument arrays except the
        # one they perturb (and never modify an array they passed): an array
        # already written into theta is not copied again, and the gradient at
        # unchanged arguments is computed once.
        written: dict[str, Any] = {}
        memo: dict[str, Any] = {}

        def put(ps):
            for k, a in ps.items():
                if written.get(k) is not a:
                    self.params[k][...] = a
                    written[k] = a

        def f(**ps):
            put(ps)
            return self.loss(inputs, targets)

        def vjp(v, **ps):
            put(ps)
            key = tuple((k, id(a)) for k, a in sorted(ps.items()))
            if memo.get("key") != key:
                _, memo["g"] = self.gradient(inputs, targets, with_loss=False)
                memo["key"], memo["args"] = key, dict(ps)  # kept alive, so their ids stay theirs
            g = memo["g"]
            return {k: v * g[k] for k in names}

        args = {k: self.params[k].copy() for k in names}
        try:
            return gradcheck.check_function(
                f,
                vjp,
                args,
                topic=topic,
                wrt=names,
                labels={k: f"dL/d{k}" for k in names},
                methods=methods,
                seeds=seeds,
                seed=seed,
                step=step,
            )
        finally:
            self.theta[...] = saved


# ---------------------------------------------------------------------------
# Sequential MLP
# ---------------------------------------------------------------------------


class MLP(Network):
    """A multilayer perceptron: ``affine -> activation -> ... -> affine -> output loss``.

    ``sizes = (n_0, n_1, ..., n_L)``; hidden layers use ``activation`` (a
    topic name or module); the output layer produces logits that the fused
    loss of ``output`` consumes (``softmax`` -> softmax cross-entropy,
    ``sigmoid`` -> sigmoid binary cross-entropy, ``linear`` -> mean squared
    error), unless ``loss`` names another loss module.  Weights by
    ``init`` (see :mod:`gradproof.numeric.init`), biases zero.  ``penalty`` (``"l2_penalty"``
    or ``"l1_penalty"``) with weight ``lam`` applies to the weights only.

    With ``inplace`` (the default) the network trains through the in-place
    variants of :mod:`gradproof.numeric.inplace` when its modules are the
    generated ones and the variants agree with them on a probe;
    :attr:`inplace` (a :class:`~gradproof.numeric.inplace.Plan`) says
    whether they run and why.  On that path, batches of at most
    ``inplace.kernel_rows`` rows run through a compiled step
    (:mod:`gradproof.numeric.ckernel`) when a C compiler is present and the
    step agrees with the generated modules and with finite differences;
    ``compiled=False`` (or ``GRADPROOF_COMPILED=0``, unless ``compiled=True``)
    switches it off, and ``inplace.compiled_reason`` says which runs and why.
    A kernel not yet in the cache is compiled after ``ckernel.BUILD_AFTER``
    small-batch steps (at once with ``compiled=True``).  The compiled step
    serves ``step`` and ``gradient(copy=False)``; ``loss``, ``gradient`` and
    ``check`` stay on the NumPy path, so what they report never depends on
    whether a compiler is present.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation="tanh",
        output: str = "softmax",
        *,
        loss=None,
        init: str = "xavier",
        sigma0: float | None = None,
        value: float = 0.5,
        seed: int = 0,
        dtype=np.float64,
        penalty=None,
        lam: float = 0.0,
        modules: Mapping[str, Any] | None = None,
        keep_memory: bool = True,
        inplace: bool = True,
        compiled: bool | None = None,
    ):
        super().__init__(modules, penalty, lam, keep_memory)
        if len(sizes) < 2:
            raise ValueError("an MLP needs at least an input and an output size")
        if output not in OUTPUT_LOSS:
            raise ValueError(f"unknown output {output!r}: one of {', '.join(OUTPUT_LOSS)}")
        self.sizes = tuple(int(s) for s in sizes)
        self.output = output
        self.affine = _resolve("affine", modules)
        self.activation = _resolve(activation, modules)
        out_topic, loss_topic = OUTPUT_LOSS[output]
        self.out_module = _resolve(out_topic, modules) if out_topic else None
        self.loss_module = _resolve(loss or loss_topic, modules)
        rng = np.random.default_rng(seed)
        arrays, weights = [], []
        for l, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            arrays.append((f"W{l}", initialise(init, (n_in, n_out), rng, sigma0=sigma0, value=value, dtype=dtype)))
            arrays.append((f"b{l}", np.zeros(n_out, dtype=dtype)))
            weights.append(f"W{l}")
        self._allocate(arrays, penalised=weights)
        self.depth = len(self.sizes) - 1
        self._act_hyper = dict(getattr(self.activation, "HYPER", {}) or {})
        # The first layer's delta_in (dL/dX) is never needed: use the
        # generated backward specialised to return parameter messages only.
        self._first_backward = _params_only_backward(self.affine)
        # The forward pass keeps every activation's output: let the
        # activation's backward take it instead of recomputing it.
        from gradproof.numeric import specialise

        self._act_back_out = specialise.with_output(self.activation)
        # Per layer, in order: (W key, b key, W view, b view) -- looked up once
        # here, not on every step (at batch 32 the bookkeeping is the cost).
        self._layers = [
            (f"W{l}", f"b{l}", self.params[f"W{l}"], self.params[f"b{l}"]) for l in range(1, self.depth + 1)
        ]
        self._backward_order = [(l, self._layers[l - 1]) for l in range(self.depth, 1, -1)]
        if tuple(getattr(self.affine, "PARAMS", ())) != ("W", "b"):
            raise ValueError("the MLP's affine module must take parameters (W, b)")
        # Activation calls with their hyperparameters bound once.
        act, hyper = self.activation, self._act_hyper
        fast_back = self._act_back_out
        if hyper:
            self._act_forward = lambda s: act.forward(s, **hyper)
            self._act_backward = lambda d, s, out: (
                fast_back(d, s, out, **hyper) if fast_back is not None else act.backward(d, s, **hyper)
            )
        else:
            self._act_forward = act.forward
            # backward(delta, s, out) -> (delta_in, grads), called directly when it can be
            self._act_backward = fast_back if fast_back is not None else (lambda d, s, out: act.backward(d, s))
        # The flat gradient vector the in-place path writes into (views per parameter, like theta).
        self._grad_flat = memory.aligned_empty(self.theta.size, self.theta.dtype)
        self._grad_views = {}
        at = 0
        for key in self.keys:
            shape = self.params[key].shape
            self._grad_views[key] = (at, shape, self._grad_flat[at : at + self.params[key].size].reshape(shape))
            at += self.params[key].size
        self._wb = [(W, b) for _, _, W, b in self._layers]
        self._gwb = [(self._grad_views[kW][2], self._grad_views[kb][2]) for kW, kb, _, _ in self._layers]
        self._grad_dict = {k: v for k, (_, _, v) in self._grad_views.items()}
        self.inplace = (
            _inplace_plan(self, modules) if inplace else inplace_mod.Plan(False, "in-place variants switched off")
        )
        if self.inplace.active:
            _attach_kernel(self, compiled)

    def forward(self, X: np.ndarray, *, keep: bool = False):
        """The logits (output-layer pre-activations); with ``keep``, also every forward message."""
        zs = [X]
        z = X
        act, aff = self._act_forward, self.affine.forward
        last = self.depth - 1
        for i, (_, _, W, b) in enumerate(self._layers):
            s = aff(z, W, b)
            if i < last:
                z = act(s)
                if keep:
                    zs.append(s)
                    zs.append(z)
            else:
                z = s
                if keep:
                    zs.append(s)
        return (z, zs) if keep else z

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """The network's output: softmax/sigmoid of the logits, or the logits for a linear output."""
        s = self.forward(X)
        return self.out_module.forward(s) if self.out_module is not None else s

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class decisions: argmax for softmax, ``yhat > 1/2`` for sigmoid, the output for linear."""
        p = self.predict_proba(X)
        if self.output == "softmax":
            return p.argmax(axis=1)
        if self.output == "sigmoid":
            return (p > 0.5).astype(np.int64)
        return p

    def gradient(self, inputs, targets, *, with_loss: bool = True, copy: bool = True):
        """``(L, {key: dL/dkey})``; with ``copy=False`` the arrays may be views of a buffer the next call reuses."""
        if not copy and self._fast(inputs, targets) and (self.penalty is None or self.lam == 0.0):
            kernel = self._kernel(inputs, targets)
            if kernel is not None:
                logits = kernel.run(inputs, targets, 1.0 / inputs.shape[0], 1)
                return (float(self.loss_module.forward(logits, targets)) if with_loss else None), self._grad_dict
            lf = self.loss_module.forward if with_loss else None
            loss = inplace_mod.run(self.inplace, self._wb, self._gwb, inputs, targets, 1.0, lf)
            return loss, self._grad_dict
        return super().gradient(inputs, targets, with_loss=with_loss)

    def _fast(self, X, Y) -> bool:
        """The in-place path applies: it was verified, and the batch is a plain array in the network's dtype."""
        if not (self.inplace.active and isinstance(X, np.ndarray) and isinstance(Y, np.ndarray)):
            return False
        sx, sy = X.shape, Y.shape
        return (
            len(sx) == 2
            and len(sy) == 2
            and sx[1] == self.sizes[0]
            and sy[1] == self.sizes[-1]
            and sx[0] == sy[0]
            and sx[0] > 0
            and X.dtype == self.theta.dtype
        )

    def _kernel(self, X, Y):
        """The verified compiled step when it applies to this batch (after :meth:`_fast`), else None."""
        plan = self.inplace
        kernel = plan.kernel
        if kernel is None:
            if plan.kernel_pending and X.shape[0] <= ckernel.MAX_ROWS:
                plan.kernel_pending -= 1  # a small batch: one step closer to building the kernel
                if not plan.kernel_pending:
                    _attach_kernel(self, True)
                    kernel = plan.kernel
            if kernel is None:
                return None
        if X.shape[0] > plan.kernel_rows:
            return None
        if not (X.flags.c_contiguous and Y.flags.c_contiguous and Y.dtype == X.dtype):
            return None
        return kernel

    def _data_loss(self, X, Y) -> float:
        if self._fast(X, Y):
            return float(self.loss_module.forward(inplace_mod.logits(self.inplace, self._wb, X), Y))
        return float(self.loss_module.forward(self.forward(X), Y))

    def step(self, inputs, targets, alpha: float, *, with_loss: bool = False):
        """One gradient-descent step, in place; on the in-place path the update is fused (see :mod:`.inplace`)."""
        plan = self.inplace
        bound = plan.kernel
        if (
            bound is not None
            and bound.front is not None
            and type(inputs) is np.ndarray
            and type(targets) is np.ndarray
            and (self.penalty is None or self.lam == 0.0)
        ):  # the compiled step through its Python front, which checks the batch itself
            logits = bound.take(inputs, targets, alpha, 2, plan.kernel_rows)
            if logits is not None:
                return float(self.loss_module.forward(logits, targets)) if with_loss else None
        if not self._fast(inputs, targets):
            return super().step(inputs, targets, alpha, with_loss=with_loss)
        plan, m = self.inplace, inputs.shape[0]
        if self.penalty is None or self.lam == 0.0:
            kernel = self._kernel(inputs, targets)
            if kernel is not None:  # the compiled step: gradient and update in one call
                logits = kernel.run(inputs, targets, alpha / m, 2)
                return float(self.loss_module.forward(logits, targets)) if with_loss else None
        lf = self.loss_module.forward if with_loss else None
        if m <= plan.chunk_rows and (self.penalty is None or self.lam == 0.0):
            # the common case, with the fewest calls in between: one block, no penalty
            buf = plan._buffers.get(m) or plan.buffers(self._wb, m)
            loss = inplace_mod.program(plan, self._wb, self._gwb, buf)(inputs, targets, alpha / m, lf)
            np.subtract(self.theta, self._grad_flat, self.theta)  # theta <- theta - alpha grad, one pass
            return loss
        loss = inplace_mod.run(plan, self._wb, self._gwb, inputs, targets, alpha, lf)
        if self.penalty is not None and self.lam != 0.0:
            for key in self._penalised:
                W = self.params[key]
                g = self._grad_views[key][2]
                g += alpha * self.penalty.backward(W, lam=self.lam)
                if with_loss:
                    loss += float(self.penalty.forward(W, lam=self.lam))
        np.subtract(self.theta, self._grad_flat, self.theta)
        return loss

    def _kinked_inputs(self, X):
        kinks = tuple(getattr(self.activation, "KINKS", ()) or ())
        if not kinks:
            return []
        _, zs = self.forward(X, keep=True)
        return [(s, kinks) for s in zs[1:-1:2]]

    def _loss_and_grads(self, X, Y, need_loss):
        if self._fast(X, Y):
            lf = self.loss_module.forward if need_loss else None
            loss = inplace_mod.run(self.inplace, self._wb, self._gwb, X, Y, 1.0, lf)
            flat = self._grad_flat.copy()  # the caller owns its gradient; the buffer is reused
            return loss, {k: flat[at : at + v.size].reshape(shape) for k, (at, shape, v) in self._grad_views.items()}
        return self._generated_loss_and_grads(X, Y, need_loss)

    def _generated_loss_and_grads(self, X, Y, need_loss):
        """The generated modules' messages, composed as they are (fresh arrays)."""
        s, zs = self.forward(X, keep=True)
        loss = float(self.loss_module.forward(s, Y)) if need_loss else None
        delta = self.loss_module.backward(s, Y)
        grads = {}
        aff_back, act_back = self.affine.backward, self._act_backward
        # zs = [X, s1, z1, s2, z2, ..., sL]: layer l's input is zs[2l - 2], its pre-activation zs[2l - 1]
        for l, (kW, kb, W, b) in self._backward_order:
            z_in = zs[2 * l - 2]
            delta, g = aff_back(delta, z_in, W, b)
            delta, _ = act_back(delta, zs[2 * l - 3], z_in)
            grads[kW] = g["W"]
            grads[kb] = g["b"]
        kW, kb, W, b = self._layers[0]
        g = self._first_backward(delta, zs[0], W, b)
        grads[kW] = g["W"]
        grads[kb] = g["b"]
        return loss, grads


def _inplace_plan(net: MLP, modules) -> inplace_mod.Plan:
    """Choose the in-place path for ``net`` when its modules are generated ones with variants, and verify it."""
    Plan = inplace_mod.Plan
    parts = (("affine", net.affine), ("activation", net.activation), ("loss", net.loss_module))
    topics = []
    for role, mod in parts:
        topic = getattr(mod, "TOPIC", None)
        try:
            generated = isinstance(topic, str) and load(topic) is mod
        except LookupError:
            generated = False
        if not generated:
            return Plan(False, f"the {role} module is not a generated module: its own code runs")
        topics.append(topic)
    if topics[0] != "affine" or topics[1] not in inplace_mod.ACTIVATIONS or topics[2] not in inplace_mod.LOSSES:
        return Plan(False, f"no in-place variant for {', '.join(topics)}")
    if net.theta.dtype not in (np.float32, np.float64):
        return Plan(False, f"no in-place variant in {net.theta.dtype}")
    plan = Plan(True, "", act=inplace_mod.ACTIVATIONS[topics[1]], delta=inplace_mod.LOSSES[topics[2]])
    ok, detail = _probe(net, plan, topics[2])
    if not ok:
        return Plan(False, f"in-place variants disagree with the generated modules: {detail}")
    plan.reason = f"in-place variants of {', '.join(topics)} agree with the generated modules"
    plan._buffers.clear()
    return plan


# relative agreement the in-place path must reach with the generated modules
PROBE_TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}


def _probe_targets(rng, loss_topic: str, m: int, K: int, dtype) -> np.ndarray:
    if loss_topic == "softmax_cross_entropy":
        return np.eye(K, dtype=dtype)[rng.integers(0, K, m)]
    if loss_topic == "sigmoid_bce":
        return rng.integers(0, 2, (m, K)).astype(dtype)
    return rng.standard_normal((m, K)).astype(dtype)


def _probe(net: MLP, plan, loss_topic: str) -> tuple[bool, str]:
    """Loss and every gradient of both paths on a seeded batch of 3 at the network's own weights."""
    rng = np.random.default_rng(20260)
    dtype = net.theta.dtype
    m, n, K = 3, net.sizes[0], net.sizes[-1]
    X = rng.standard_normal((m, n)).astype(dtype)
    Y = _probe_targets(rng, loss_topic, m, K, dtype)
    ref_loss, ref = net._generated_loss_and_grads(X, Y, True)
    tol = PROBE_TOLERANCE[dtype]
    rows = plan.chunk_rows
    # both ways a batch goes through: whole, and in blocks of rows (2 + 1 here) whose sums add up
    for plan.chunk_rows, how in ((rows, ""), (2, " (in blocks of rows)")):
        grads = inplace_mod.flat_like(net._wb)
        try:
            loss = inplace_mod.run(plan, net._wb, grads, X, Y, 1.0, net.loss_module.forward)
        finally:
            plan.chunk_rows = rows
        if abs(loss - ref_loss) > tol * max(1.0, abs(ref_loss)):
            return False, f"loss {loss!r} vs {ref_loss!r}{how}"
        for (kW, kb, _, _), (gW, gb) in zip(net._layers, grads):
            for key, got in ((kW, gW), (kb, gb)):
                want = np.asarray(ref[key])
                scale = max(float(np.max(np.abs(want), initial=0.0)), np.finfo(dtype).tiny)
                err = float(np.max(np.abs(got - want), initial=0.0)) / scale
                if not err <= tol:
                    return False, f"dL/d{key}: relative difference {err:.1e} > {tol:.0e}{how}"
    return True, ""


def _attach_kernel(net: MLP, compiled: bool | None) -> None:
    """Build the compiled step for ``net`` (verified on a probe) and attach it to its in-place plan, or say why not."""
    plan = net.inplace
    if compiled is False or (compiled is None and not ckernel.enabled()):
        plan.compiled_reason = "compiled step switched off"
        return
    act, loss = getattr(net.activation, "TOPIC", None), getattr(net.loss_module, "TOPIC", None)
    if compiled is None and not ckernel.cached(act, loss, net.theta.dtype):
        # compiling costs about a second: worth it for a training loop, not for a few steps
        plan.kernel_pending = ckernel.BUILD_AFTER
        plan.compiled_reason = (
            f"NumPy step until {ckernel.BUILD_AFTER} steps of at most {ckernel.MAX_ROWS} rows; then the compiled"
            " step is built, verified and cached"
        )
        return
    try:
        bound = ckernel.build(act, loss, net.theta.dtype).bind(net.sizes, net.theta, net._grad_flat)
    except (ckernel.BuildError, ValueError) as err:
        plan.compiled_reason = f"NumPy step: {err}"
        return
    ok, detail = _probe_kernel(net, bound, loss)
    if not ok:
        plan.compiled_reason = f"NumPy step: the compiled step disagrees: {detail}"
        return
    plan.kernel, plan.kernel_rows = bound, ckernel.MAX_ROWS
    plan.compiled_reason = (
        f"compiled step for batches of up to {ckernel.MAX_ROWS} rows: agrees with the generated modules"
        + (f" (no finite differences: {detail})" if detail else " and with finite differences")
    )


# central-difference agreement of the compiled step's gradient along its own direction
KERNEL_FD = {np.dtype(np.float64): (1e-4, 1e-6), np.dtype(np.float32): (3e-2, 2e-2)}  # (step, relative tolerance)


def _probe_kernel(net: MLP, bound, loss_topic: str) -> tuple[bool, str]:
    """The compiled step against the generated modules on a seeded batch (every tile path: 8 + 4 + 2 rows), its update,
    then (smooth activations) its gradient against central differences of its own loss along the gradient; the
    network's weights restored.  ``(True, why)`` when the differences were not taken, ``(False, what)`` on a
    disagreement."""
    rng = np.random.default_rng(20261)
    dtype = net.theta.dtype
    m, K = 14, net.sizes[-1]
    X = rng.standard_normal((m, net.sizes[0])).astype(dtype)
    Y = _probe_targets(rng, loss_topic, m, K, dtype)
    ref_loss, ref = net._generated_loss_and_grads(X, Y, True)
    tol = PROBE_TOLERANCE[dtype]
    saved, grad = net.theta.copy(), net._grad_flat
    try:
        loss = float(net.loss_module.forward(bound.run(X, Y, 1.0 / m, 1), Y))
        if abs(loss - ref_loss) > tol * max(1.0, abs(ref_loss)):
            return False, f"loss {loss!r} vs {ref_loss!r}"
        for key, (_, _, view) in net._grad_views.items():
            want = np.asarray(ref[key])
            scale = max(float(np.max(np.abs(want), initial=0.0)), np.finfo(dtype).tiny)
            err = float(np.max(np.abs(view - want), initial=0.0)) / scale
            if not err <= tol:
                return False, f"dL/d{key}: relative difference {err:.1e} > {tol:.0e}"
        g, want = grad.astype(np.float64), saved - grad
        # the update: theta - grad, the one subtraction NumPy's step makes; through the Python front when
        # there is one, as MLP.step calls it
        if bound.front is None:
            bound.run(X, Y, 1.0 / m, 2)
        elif bound.take(X, Y, 1.0, 2, m) is None:
            return False, "its Python front refused the probe's batch"
        if not np.array_equal(net.theta, want):
            return False, "its update is not theta - alpha grad"
        net.theta[...] = saved
        norm = float(np.linalg.norm(g))
        if norm == 0.0:
            return True, "the probe's gradient is zero"
        if getattr(net.activation, "KINKS", ()):
            # a difference quotient may straddle a kink (ReLU at 0): there the agreement with the
            # generated modules decides, and MLP.check takes kink-aware differences through this step
            return True, "a difference may straddle the activation's kink"
        h, ftol = KERNEL_FD[dtype]
        v = (g / norm).astype(dtype)
        losses = []
        for sign in (1.0, -1.0):
            net.theta[...] = saved + (sign * h) * v
            losses.append(float(net.loss_module.forward(bound.run(X, None, 0.0, 0), Y)))
        fd = (losses[0] - losses[1]) / (2 * h)
        exact = float(np.dot(g, v.astype(np.float64)))
        if abs(fd - exact) > ftol * abs(exact):
            return False, f"directional derivative {exact:.6g} vs central difference {fd:.6g}"
        return True, ""
    finally:
        net.theta[...] = saved


def _params_only_backward(module) -> Callable:
    """``backward`` of ``module`` returning only the parameter messages.

    Uses :func:`gradproof.numeric.specialise.params_only` on the generated source when
    it applies (so the unused ``delta_in`` product is never computed); falls
    back to calling the full backward and dropping ``delta_in``.
    """
    from gradproof.numeric import specialise

    fast = specialise.params_only(module)
    if fast is not None:
        return fast
    full = module.backward

    def backward(delta, z, *params, **kw):
        return full(delta, z, *params, **kw)[1]

    return backward


# ---------------------------------------------------------------------------
# Directed acyclic graphs of modules, with module reuse
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One use of a module in a :class:`DAG`.

    ``op`` is a module (object or topic name) applied to the single value
    named in ``inputs``, or the string ``"add"`` (the sum of the named
    values, for skip connections and recurrences).  ``params`` maps the
    module's parameter names to keys of the network's parameter store: two
    nodes with the same keys share the parameters (module reuse), and their
    parameter messages add up.
    """

    name: str
    op: Any
    inputs: tuple[str, ...]
    params: Mapping[str, str] = field(default_factory=dict)


class DAG(Network):
    """A directed acyclic graph of modules with shared parameters.

    ``inputs`` name the values fed in; ``nodes`` are listed in a topological
    order (every input of a node is an input of the graph or an earlier
    node); ``losses`` pair an output value with a loss module and the name
    of its target: the training loss is their sum.  ``init`` is a
    ``{key: array}`` of initial parameter values.

    The backward pass visits the nodes in reverse: a value read by several
    nodes receives the sum of their backward messages, and a parameter
    used by several nodes the sum of their parameter messages.
    """

    def __init__(
        self,
        inputs: Sequence[str],
        nodes: Sequence[Node],
        losses: Sequence[tuple[str, Any, str]],
        init: Mapping[str, np.ndarray],
        *,
        penalised: Sequence[str] = (),
        penalty=None,
        lam: float = 0.0,
        modules: Mapping[str, Any] | None = None,
        keep_memory: bool = True,
    ):
        super().__init__(modules, penalty, lam, keep_memory)
        self.inputs = tuple(inputs)
        known = set(self.inputs)
        resolved = []
        for node in nodes:
            if node.name in known:
                raise ValueError(f"value {node.name!r} defined twice")
            for i in node.inputs:
                if i not in known:
                    raise ValueError(f"node {node.name!r} reads {i!r} before it is defined (not a DAG order)")
            if node.op != "add":
                if len(node.inputs) != 1:
                    raise ValueError(f"module node {node.name!r} takes exactly one input")
                mod = _resolve(node.op, modules)
                missing = set(getattr(mod, "PARAMS", ()) or ()) - set(node.params)
                if missing:
                    raise ValueError(f"node {node.name!r}: no key for parameters {sorted(missing)}")
                for key in node.params.values():
                    if key not in init:
                        raise ValueError(f"node {node.name!r}: parameter {key!r} has no initial value")
            else:
                mod = None
            resolved.append((node, mod))
            known.add(node.name)
        self.nodes = resolved
        self.losses = [(out, _resolve(loss, modules), target) for out, loss, target in losses]
        for out, _, _ in self.losses:
            if out not in known:
                raise ValueError(f"loss on unknown value {out!r}")
        self._allocate([(k, np.asarray(v, dtype=np.float64)) for k, v in init.items()], penalised=penalised)

    def forward(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Every value of the graph, inputs included."""
        vals = dict(inputs)
        for node, mod in self.nodes:
            if mod is None:
                out = vals[node.inputs[0]]
                for i in node.inputs[1:]:
                    out = out + vals[i]
            else:
                p = {name: self.params[key] for name, key in node.params.items()}
                out = mod.forward(vals[node.inputs[0]], **p, **(getattr(mod, "HYPER", {}) or {}))
            vals[node.name] = out
        return vals

    def _kinked_inputs(self, inputs):
        vals = None
        out = []
        for node, mod in self.nodes:
            kinks = tuple(getattr(mod, "KINKS", ()) or ()) if mod is not None else ()
            if kinks:
                vals = vals if vals is not None else self.forward(inputs)
                out.append((vals[node.inputs[0]], kinks))
        return out

    def _data_loss(self, inputs, targets) -> float:
        vals = self.forward(inputs)
        return float(sum(float(loss.forward(vals[out], targets[t])) for out, loss, t in self.losses))

    def _loss_and_grads(self, inputs, targets, need_loss):
        vals = self.forward(inputs)
        deltas: dict[str, np.ndarray] = {}
        loss = 0.0 if need_loss else None

        def add(name, d):
            deltas[name] = d if name not in deltas else deltas[name] + d

        for out, lmod, t in self.losses:
            if need_loss:
                loss += float(lmod.forward(vals[out], targets[t]))
            add(out, lmod.backward(vals[out], targets[t]))
        grads = {k: np.zeros_like(self.params[k]) for k in self.keys}
        for node, mod in reversed(self.nodes):
            delta = deltas.pop(node.name, None)
            if delta is None:  # the value does not reach any loss
                continue
            if mod is None:
                for i in node.inputs:
                    add(i, delta)
                continue
            p = {name: self.params[key] for name, key in node.params.items()}
            delta_in, g = mod.backward(delta, vals[node.inputs[0]], **p, **(getattr(mod, "HYPER", {}) or {}))
            add(node.inputs[0], delta_in)
            for name, key in node.params.items():
                grads[key] += g[name]  # weight sharing: parameter messages accumulate
        return loss, grads


# ---------------------------------------------------------------------------
# Fully connected recurrent network, unrolled in time
# ---------------------------------------------------------------------------


class RNN(DAG):
    """A fully connected recurrent network unrolled over ``T`` time steps.

    ``h_t = act(x_t W_x + b_h + h_{t-1} W_h)``, ``h_{-1} = 0``, and an output
    ``o_t = h_t W_y + b_y`` at every step with a loss on each; the training
    loss is the sum over time.  Unrolled, the same modules (``W_x, b_h``,
    ``W_h`` and ``W_y, b_y``) appear at every time step, so the backward pass
    through the unrolled DAG *is* backpropagation through time, and their
    parameter messages accumulate over the steps.

    Inputs: ``X`` of shape ``(T, m, n)``; targets: ``Y`` of shape ``(T, m, K)``
    (as the loss expects).
    """

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        n_out: int,
        T: int,
        *,
        activation="tanh",
        output: str = "linear",
        loss=None,
        init: str = "xavier",
        seed: int = 0,
        penalty=None,
        lam: float = 0.0,
        modules: Mapping[str, Any] | None = None,
        keep_memory: bool = True,
    ):
        rng = np.random.default_rng(seed)
        params = {
            "Wx": initialise(init, (n_in, n_hidden), rng),
            "bh": np.zeros(n_hidden),
            "Wh": initialise(init, (n_hidden, n_hidden), rng),
            "Wy": initialise(init, (n_hidden, n_out), rng),
            "by": np.zeros(n_out),
        }
        loss_mod = loss or OUTPUT_LOSS[output][1]
        nodes, losses = [], []
        for t in range(T):
            nodes.append(Node(f"u{t}", "affine", (f"x{t}",), {"W": "Wx", "b": "bh"}))
            if t == 0:
                pre = f"u{t}"  # h_{-1} = 0 contributes nothing
            else:
                nodes.append(Node(f"r{t}", "linear", (f"h{t - 1}",), {"W": "Wh"}))
                nodes.append(Node(f"s{t}", "add", (f"u{t}", f"r{t}")))
                pre = f"s{t}"
            nodes.append(Node(f"h{t}", activation, (pre,)))
            nodes.append(Node(f"o{t}", "affine", (f"h{t}",), {"W": "Wy", "b": "by"}))
            losses.append((f"o{t}", loss_mod, f"y{t}"))
        if T < 2:
            del params["Wh"]  # no recurrence to learn
        self.T = T
        self.output = output
        self.out_module = _resolve(OUTPUT_LOSS[output][0], modules) if OUTPUT_LOSS[output][0] else None
        super().__init__(
            [f"x{t}" for t in range(T)],
            nodes,
            losses,
            params,
            penalised=[k for k in ("Wx", "Wh", "Wy") if k in params],
            penalty=penalty,
            lam=lam,
            modules=modules,
            keep_memory=keep_memory,
        )

    def _split(self, X, Y=None):
        X = np.asarray(X)
        if X.shape[0] != self.T:
            raise ValueError(f"X has {X.shape[0]} time steps, the network {self.T}")
        inputs = {f"x{t}": X[t] for t in range(self.T)}
        targets = None if Y is None else {f"y{t}": np.asarray(Y)[t] for t in range(self.T)}
        return inputs, targets

    def outputs(self, X) -> np.ndarray:
        """The output logits at every time step, shape ``(T, m, K)``."""
        inputs, _ = self._split(X)
        vals = self.forward(inputs)
        return np.stack([vals[f"o{t}"] for t in range(self.T)])

    # Stacked arrays (T, m, .) are accepted wherever the DAG takes dicts.
    def _data_loss(self, X, Y) -> float:
        if isinstance(X, np.ndarray):
            X, Y = self._split(X, Y)
        return super()._data_loss(X, Y)

    def _loss_and_grads(self, X, Y, need_loss):
        if isinstance(X, np.ndarray):
            X, Y = self._split(X, Y)
        return super()._loss_and_grads(X, Y, need_loss)

    def _kinked_inputs(self, inputs):
        if isinstance(inputs, np.ndarray):
            inputs, _ = self._split(inputs)
        return super()._kinked_inputs(inputs)
