"""The documentation's links stay inside the repository and lead to files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def relative_links(path: Path) -> list[str]:
    return [t for t in LINK.findall(path.read_text(encoding="utf-8")) if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve_inside_the_repository(doc):
    for target in relative_links(doc):
        resolved = (doc.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{doc.name} links outside the repository: {target}"
        assert resolved.exists(), f"{doc.name} links to a missing file: {target}"


def test_the_readme_points_at_the_design_in_the_repository():
    links = relative_links(ROOT / "README.md")
    assert "docs/design.md" in links and "CONTRIBUTING.md" in links and "docs/api.md" in links


def test_a_broken_link_is_found(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("[a](missing.md) [b](https://example.org) [c](../outside.md#part)")
    assert relative_links(doc) == ["missing.md", "../outside.md"]
