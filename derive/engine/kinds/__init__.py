"""One unit per kind: each kind's derivation, proof and emission side by side.

The vocabulary: a **kind** is the calling contract of a derived module, one
of the names in :mod:`gradproof.numeric.kinds` (``module``, ``loss``,
``penalty``, ``model``, ``solver``).  The same string is a declaration's
``ModuleDeclaration.kind`` / ``ModelDeclaration.kind``, the derivation's
``ModuleCode.kind``, the generated file's ``KIND`` and the gradient
checker's dispatch key.  (A topic's ``kind`` in the registry -- neuron,
activation, fused, mle, ... -- is where the topic sits in the lecture; it is
for listing only and dispatches nothing.)

Each unit, ``gradproof.derive.engine.kinds.<kind>``, holds:

- ``NAME``: its kind;
- ``derive(topic) -> Derivation``: the results, unproved;
- ``prove(topic, derivation) -> (Session, oracle)``: every result proved
  exactly; the oracle (key -> explicit matrix) is what claims are proved
  against;
- ``emit(ctx) -> [Function]``: the generated module's functions, built with
  :mod:`gradproof.derive.output.codegen_numpy.emitter`;
- optionally ``INPUT_NAME``: the generated code's name of the input (``X``).

:mod:`gradproof.derive.engine.kinds.table` is the one table dispatching on
kinds: :func:`~gradproof.derive.engine.kinds.table.build` (``Topic.build``
of modules, losses, penalties and models) and
:func:`~gradproof.derive.engine.kinds.table.unit` (code generation).  The
``solver`` unit only emits: closed forms are derived by their own topics.
"""
