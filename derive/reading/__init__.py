"""Reading mathematics: one grammar, one typed tree, one set of limits.

Seminar answers, spec files, the registry's claims and ``gradproof diff``
expressions all pass through :func:`gradproof.derive.reading.parse.parse`
(grammar, typed tree, limits) and then through the one converter,
:mod:`gradproof.derive.reading.convert` (one tree walk, a thin entry point
per target form).  :func:`read` is ``diff``'s reader: a typed tree with
every shape inferred; :mod:`gradproof.derive.reading.claims` reads the
registry's claims.

>>> from gradproof.derive.reading import read
>>> read("tr(A X B)").shape
(1, 1)
"""

from gradproof.derive.reading.read import ReadError, names, parse_shape, read  # noqa: F401
