"""NumPy code generation's parts: stability rewrites, printers, the structured emitter.

:mod:`~gradproof.derive.output.codegen_numpy.stable` rewrites matrix forms
for numerical stability; :mod:`~gradproof.derive.output.codegen_numpy.printer`
prints them as NumPy expressions; :mod:`~gradproof.derive.output.codegen_numpy.emitter`
assembles statements, functions and the module's source structurally; and
:mod:`~gradproof.derive.output.codegen_numpy.context` is what each kind's
``emit`` receives (:mod:`gradproof.derive.engine.kinds`).  The entry point is
:func:`gradproof.derive.output.codegen.generate`.
"""
