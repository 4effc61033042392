"""``gradproof serve``: the seminar on the web (Starlette under uvicorn, SQLite storage).

Imported only by the ``serve`` command and the tests, never by ``gradproof --help``.
"""
