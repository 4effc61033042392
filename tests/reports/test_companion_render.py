"""The companion in a real browser (system Chromium, offline) and as a compiled PDF."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

_INSPECT = r"""() => {
  const maths = [...document.querySelectorAll('math')];
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('style, script').forEach(e => e.remove());
  return {
    count: maths.length,
    merrors: document.querySelectorAll('merror').length,
    empty: maths.filter(m => { const r = m.getBoundingClientRect(); return r.width <= 0 || r.height <= 0; }).length,
    text: clone.textContent,
    slides: document.querySelectorAll('section.slide').length,
    svg: [...document.querySelectorAll('figure svg')].map(s => s.getBoundingClientRect().height),
  };
}"""


def _missing(reason):
    if os.environ.get("GRADPROOF_REQUIRE_TOOLS") == "1":
        pytest.fail(f"GRADPROOF_REQUIRE_TOOLS=1 but {reason}")
    pytest.skip(reason)


def test_companion_renders_in_chromium_offline(lecture_report, tmp_path):
    from gradproof.derive.lecture.statements import slides

    chromium = os.environ.get("GRADPROOF_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        _missing(f"no Chromium at {chromium} (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        _missing("the playwright Python package is not installed")
    _, out = lecture_report
    blocked = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
            viewport={"width": 1000, "height": 1400},
            offline=True,
        )
        try:
            ctx.route("**/*", route)
            page = ctx.new_page()
            page.goto((out / "companion.html").as_uri(), wait_until="load")
            info = page.evaluate(_INSPECT)
            page.screenshot(path=str(tmp_path / "companion.png"))
        finally:
            ctx.close()
    assert blocked == []
    assert info["slides"] == len(slides())
    assert info["count"] > 80 and info["merrors"] == 0 and info["empty"] == 0
    assert re.findall(r"\\(?:[A-Za-z]+|\[|\]|!)", info["text"]) == [] and "$" not in info["text"]
    assert info["svg"] and all(h > 50 for h in info["svg"])
    assert (tmp_path / "companion.png").read_bytes()[:4] == b"\x89PNG"


def test_companion_pdf_compiles_without_raw_markup(lecture_report, tmp_path, need_tools):
    need_tools("pdflatex", "pdftotext")
    from gradproof.reports.writing import compile_pdf

    _, out = lecture_report
    for name in ("companion.tex", "fig-activations.pdf"):
        shutil.copy2(out / name, tmp_path / name)
    pdf = compile_pdf(tmp_path, "companion.tex")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Lecture companion" in text and "Vanishing Gradient" in text
    assert re.findall(r"\\[A-Za-z]+|\$|\\_|_\{|\^\{", text) == []
