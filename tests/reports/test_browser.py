"""The HTML report in a real browser: Debian's Chromium, headless, offline.

Playwright drives the system Chromium (never a downloaded browser) with
every network request blocked.  The test asserts that no request left the
page, that every formula rendered as MathML (no raw TeX, no error element,
non-zero size, numerators above denominators), and writes a screenshot.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Everything the browser computes about the maths, in one round trip.
_INSPECT = r"""() => {
  const maths = [...document.querySelectorAll('math')];
  const sizes = maths.map(m => { const r = m.getBoundingClientRect(); return [r.width, r.height]; });
  const fracs = [...document.querySelectorAll('mfrac')].map(f => {
    const num = f.children[0].getBoundingClientRect(), den = f.children[1].getBoundingClientRect();
    return [num.bottom, den.top, num.height, den.height];
  });
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('.code, style, script').forEach(e => e.remove());
  return {
    count: maths.length,
    merrors: document.querySelectorAll('merror').length,
    sizes, fracs,
    text: clone.textContent,
    mathNamespace: maths.every(m => m.namespaceURI === 'http://www.w3.org/1998/Math/MathML'),
    svgs: [...document.querySelectorAll('figure svg')].map(s => s.getBoundingClientRect().height),
    topics: document.querySelectorAll('section.topic').length,
  };
}"""


@pytest.fixture(scope="module")
def browser_page(lecture_report, tmp_path_factory):
    def missing(reason):
        if os.environ.get("GRADPROOF_REQUIRE_TOOLS") == "1":
            pytest.fail(f"GRADPROOF_REQUIRE_TOOLS=1 but {reason}")
        pytest.skip(reason)

    chromium = os.environ.get("GRADPROOF_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        missing(f"no Chromium at {chromium} (Debian: apt-get install chromium; or set GRADPROOF_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        missing("the playwright Python package is not installed (pip install -e '.[test]')")
    report, out = lecture_report
    requests, blocked = [], []

    def route(r):
        requests.append(r.request.url)
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 1400},
            offline=True,
        )
        try:
            ctx.route("**/*", route)
            page = ctx.new_page()
            page.goto((out / "index.html").as_uri(), wait_until="load")
            info = page.evaluate(_INSPECT)
            shots = tmp_path_factory.mktemp("screenshots")
            page.screenshot(path=str(shots / "top.png"))
            page.evaluate("document.querySelector('#topic-toy_layer').scrollIntoView()")
            page.screenshot(path=str(shots / "toy_layer.png"))
            page.emulate_media(media="print")
            print_break = page.evaluate("getComputedStyle(document.querySelector('section.topic')).breakBefore")
        finally:
            ctx.close()
    artefacts = os.environ.get("GRADPROOF_ARTIFACTS")
    if artefacts:
        os.makedirs(artefacts, exist_ok=True)
        for png in shots.iterdir():
            shutil.copy2(png, os.path.join(artefacts, "report-" + png.name))
    return {
        "info": info,
        "requests": requests,
        "blocked": blocked,
        "shots": shots,
        "out": out,
        "report": report,
        "print_break": print_break,
    }


def test_no_request_left_the_page(browser_page):
    assert browser_page["blocked"] == []
    assert browser_page["requests"] == [(browser_page["out"] / "index.html").as_uri()]


def test_every_formula_rendered(browser_page):
    info = browser_page["info"]
    html = (browser_page["out"] / "index.html").read_text(encoding="utf-8")
    assert info["count"] == html.count("<math ") > 50
    assert info["mathNamespace"]
    assert info["merrors"] == 0
    empty = [k for k, (w, h) in enumerate(info["sizes"]) if w <= 0 or h <= 0]
    assert empty == []


def test_fractions_stack_numerator_over_denominator(browser_page):
    fracs = browser_page["info"]["fracs"]
    assert fracs, "the report has fractions of partial derivatives"
    for num_bottom, den_top, num_h, den_h in fracs:
        assert num_h > 0 and den_h > 0
        assert num_bottom <= den_top + 0.5


def test_no_raw_tex_is_visible(browser_page):
    import re

    text = browser_page["info"]["text"]
    raw = re.findall(r"\\(?:[A-Za-z]+|\[|\]|!)", text)
    assert raw == []
    assert "$" not in text


def test_figures_and_topics_are_on_the_page(browser_page):
    info = browser_page["info"]
    assert info["topics"] == len(browser_page["report"].sections)
    assert info["svgs"] and all(h > 50 for h in info["svgs"])


def test_screenshots_written_and_print_layout(browser_page):
    shots = sorted(p.name for p in browser_page["shots"].iterdir())
    assert shots == ["top.png", "toy_layer.png"]
    for name in shots:
        data = (browser_page["shots"] / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert browser_page["print_break"] == "page"
