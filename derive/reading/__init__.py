"""Reading mathematics: one grammar, one typed tree, one set of limits.

Seminar answers, spec files, the registry's claims and ``gradproof diff``
expressions all pass through :func:`gradproof.derive.reading.parse.parse`
(grammar, typed tree, limits); each reader then converts the typed tree by
calling constructors.  :func:`read` is ``diff``'s reader: a typed tree with
every shape inferred.

>>> from gradproof.derive.reading import read
>>> read("tr(A X B)").shape
(1, 1)
"""

from gradproof.derive.reading.read import ReadError, names, parse_shape, read  # noqa: F401
