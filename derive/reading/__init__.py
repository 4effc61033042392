"""Reading free-form mathematics: grammar, typed tree with shapes, limits.

>>> from derive.reading import read
>>> read("tr(A X B)").shape
(1, 1)
"""
from derive.reading.read import ReadError, names, parse_shape, read  # noqa: F401
