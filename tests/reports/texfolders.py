"""A compile's folder for the PDF tests: a .tex (optionally edited) and the figures beside it."""

from __future__ import annotations

import shutil
from pathlib import Path


def tex_folder(src: Path, dest: Path, tex: str, edit=None) -> Path:
    """``dest`` made with ``src/tex`` in it (``edit`` applied to its text) and every ``fig-*.pdf`` of ``src``."""
    dest.mkdir()
    text = (src / tex).read_text(encoding="utf-8")
    (dest / tex).write_text(edit(text) if edit else text, encoding="utf-8")
    for fig in src.glob("fig-*.pdf"):
        shutil.copy2(fig, dest / fig.name)
    return dest
