"""The one converter: the typed tree into the forms the engine reads.

Every reader of mathematics parses with :func:`gradproof.derive.reading.parse.parse`
and converts the typed tree here; the targets are thin entry points over one
tree walk (:class:`gradproof.derive.reading.convert.walk.Walk`: one method per
node type, one table of what a target does not read):

* :func:`to_claim_matrix` and :func:`to_claim_index`: the registry's claims
  (:mod:`gradproof.derive.reading.claims`), into the matrix form or the index
  form, with the names their topic declares.
"""

from __future__ import annotations

from gradproof.derive.reading.convert.errors import ConvertError
from gradproof.derive.reading.convert.index import to_claim_index
from gradproof.derive.reading.convert.matrix import to_claim_matrix

__all__ = ["ConvertError", "to_claim_index", "to_claim_matrix"]
