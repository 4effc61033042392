"""Write the grammar's stored parser tables: ``python -m gradproof.derive.reading.tables``.

Run it after changing the grammar (or the function names it reads); a test fails
while ``derive/reading/grammar_tables.py`` is stale, and a stale file is never
used (see :func:`gradproof.derive.reading.grammar.parser`).
"""

from __future__ import annotations

from gradproof.derive.reading.grammar import TABLES, write_tables

if __name__ == "__main__":
    print(("wrote " if write_tables() else "unchanged: ") + str(TABLES))
