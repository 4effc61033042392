"""The kinds of generated module: one name per calling contract.

A *kind* says how a generated module is called and what its ``backward``
returns; it is the ``KIND`` constant of every file under
``numeric/generated/`` and the key of every per-kind table in gradproof (the
derivation engine's, the proofs', code generation's in
:mod:`gradproof.derive.engine.kinds`, and the gradient checker's here).  Plain
strings, so that NumPy-only code shares them without importing SymPy.

- ``module``: ``forward(z, *params) -> z_next``,
  ``backward(delta, z, *params) -> (delta_in, {param: dL/dparam})``;
- ``loss``: ``forward(z, y) -> float``, ``backward(z, y) -> dL/dz``;
- ``penalty``: ``forward(W) -> float``, ``backward(W) -> dR/dW``;
- ``model``: ``forward(X, y, *params) -> float``, ``predict(X, *params)``,
  ``backward(X, y, *params) -> {param: dL/dparam}``;
- ``solver``: ``solve(X, y) -> w*``, ``gradient(X, y, w) -> dL/dw``.

A topic's ``kind`` in the registry (neuron, activation, fused, ...) is
something else: where the topic sits in the lecture, for listing.
"""

MODULE = "module"
LOSS = "loss"
PENALTY = "penalty"
MODEL = "model"
SOLVER = "solver"

# Kinds with a forward map and its gradient: what the gradient checker checks.
CONTRACT_KINDS = (MODULE, LOSS, PENALTY, MODEL)
# Every kind code generation writes.
ALL = (*CONTRACT_KINDS, SOLVER)
