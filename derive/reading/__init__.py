"""Reading free-form mathematics: grammar, typed tree with shapes, limits.

>>> from gradproof.derive.reading import read
>>> read("tr(A X B)").shape
(1, 1)
"""

from gradproof.derive.reading.read import ReadError, names, parse_shape, read  # noqa: F401
