"""Where the Jinja2 templates live: inside the installed package
(``reports/templates``), or the checkout's top-level ``templates/``."""

from __future__ import annotations

from pathlib import Path


def template_dir() -> Path:
    here = Path(__file__).resolve().parent
    for cand in (here / "templates", here.parent / "templates"):
        if (cand / "report.html.j2").exists():
            return cand
    raise FileNotFoundError("gradproof's templates are missing from this installation")
