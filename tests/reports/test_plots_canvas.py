"""The report's figures as written by reports/canvas.py: well-formed, deterministic, the data where it belongs."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.reports import plots
from gradproof.reports.canvas import Canvas
from gradproof.reports.canvas_layout import Scale

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def init_data():
    from gradproof.numeric.experiments import initialisation_experiment

    return initialisation_experiment(layers=4, units=60, samples=40, bins=10)


@pytest.fixture(scope="module")
def figures(init_data):
    from gradproof.numeric.experiments import regularisation_demo

    curve = {"iteration": [0, 10, 20, 30], "loss": [2.3, 0.4, 0.2, 0.1], "test_accuracy": [0.1, 0.8, 0.9, 0.95]}
    return [
        plots.init_figure(init_data),
        plots.training_figure(curve),
        plots.activation_figure(),
        *plots.regularisation_figures(regularisation_demo()),
    ]


def _pdf_content(pdf: bytes) -> str:
    m = re.search(rb"/Length (\d+) /Filter /FlateDecode >>\nstream\n", pdf)
    start = m.end()
    return zlib.decompress(pdf[start : start + int(m.group(1))]).decode("latin-1")


def _clipped_polylines(svg: str) -> list[list[str]]:
    """Per panel, the ``points`` of the polylines drawn inside its clip (the data, not the frame)."""
    root = ET.fromstring(svg)
    out = []
    for g in root.iter(SVG + "g"):
        if g.get("clip-path"):
            out.append([p.get("points") for p in g.iter(SVG + "polyline")])
    return out


def test_every_figure_is_deterministic(init_data, figures):
    again = plots.init_figure(init_data)
    assert (again.svg, again.pdf) == (figures[0].svg, figures[0].pdf)
    for fig in figures:
        assert fig.svg.startswith("<svg") and fig.pdf.startswith(b"%PDF-1.4")
        assert "<metadata" not in fig.svg and b"CreationDate" not in fig.pdf


def test_svg_is_well_formed_with_ids_unique_on_a_page(figures):
    ids = []
    for fig in figures:
        root = ET.fromstring(fig.svg)
        ids += [e.get("id") for e in root.iter() if e.get("id") and "clip" in e.get("id")]
        for e in root.iter(SVG + "g"):
            ref = e.get("clip-path")
            if ref:
                assert root.find(f".//{SVG}clipPath[@id='{ref[5:-1]}']") is not None
    assert len(ids) == len(set(ids)) > 0


def test_pdf_cross_reference_points_at_its_objects(figures):
    for fig in figures:
        pdf = fig.pdf
        start = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", pdf).group(1))
        assert pdf[start:].startswith(b"xref\n0 6\n")
        offsets = [int(x) for x in re.findall(rb"(\d{10}) 00000 n", pdf[start:])]
        assert [pdf[o : o + 8] for o in offsets] == [f"{k} 0 obj\n".encode() for k in range(1, 6)]


def test_the_texts_reach_both_files(figures):
    training = figures[1]
    for text in ("training loss", "test accuracy", "gradient-descent iteration", "cross-entropy loss"):
        assert f">{text}<" in training.svg
        assert f"({text}) Tj" in _pdf_content(training.pdf)


def test_each_histogram_and_curve_is_drawn_in_its_panel(init_data, figures):
    per_panel = [len(p) for p in _clipped_polylines(figures[0].svg)]
    runs = len(init_data["runs"])
    assert per_panel == [init_data["layers"], 1] * runs
    # a histogram's outline has two points per bin
    first = _clipped_polylines(figures[0].svg)[0][0].split()
    assert len(first) == 2 * len(init_data["bin_edges"]) - 2


def test_points_land_in_the_order_of_the_data(figures):
    loss, acc = _clipped_polylines(figures[1].svg)[0]
    pts = [tuple(map(float, p.split(","))) for p in loss.split()]
    xs, ys = zip(*pts)
    assert list(xs) == sorted(xs) and len(set(xs)) == 4
    assert list(ys) == sorted(ys)  # the loss falls: SVG's y grows downwards
    ay = [float(p.split(",")[1]) for p in acc.split()]
    assert ay == sorted(ay, reverse=True)  # the accuracy rises


def test_a_nan_leaves_a_gap_and_a_log_axis_drops_what_it_cannot_show():
    c = Canvas(3, 2)
    p = c.panel()
    p.plot([0, 1, 2, 3, 4], [1.0, 2.0, np.nan, 3.0, 4.0])
    q = Canvas(3, 2)
    r = q.panel()
    r.ylog = True
    r.plot([0, 1, 2, 3], [1.0, 0.0, 10.0, 100.0])
    assert [len(x) for x in _clipped_polylines(c.render("a")[0])] == [2]
    assert [len(x) for x in _clipped_polylines(q.render("b")[0])] == [1]  # (0, 1) alone is no segment


def test_untrusted_labels_stay_text():
    c = Canvas(3, 2)
    p = c.panel()
    p.plot([0, 1], [0, 1], label='</text><script>x()</script> & (a) \\ "q"')
    p.title = "<b>t</b>\x00\x1b σ"
    p.legend()
    svg, pdf = c.render('n"><x')
    root = ET.fromstring(svg)
    texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
    assert '</text><script>x()</script> & (a) \\ "q"' in texts and "<b>t</b>?? σ" in texts
    assert root.find(f".//{SVG}script") is None
    assert r'(</text><script>x\050\051</script> & \050a\051 \134 "q") Tj' in _pdf_content(pdf)


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(a=finite, b=finite, length=st.floats(min_value=60, max_value=500))
def test_linear_ticks_lie_on_the_axis_in_order_with_distinct_labels(a, b, length):
    s = Scale.fit([a, b], False, length, 28.0)
    labelled = [(pos, lab) for pos, lab in zip(s.positions, s.labels) if lab]
    assert len(labelled) >= 2
    pos = [p for p, _ in labelled]
    assert all(-1e-9 <= p <= 1 + 1e-9 for p in pos) and pos == sorted(pos)
    assert len({lab for _, lab in labelled}) == len(labelled)
    assert s.lo <= min(a, b) and s.hi >= max(a, b)


@settings(max_examples=150, deadline=None)
@given(
    lo=st.floats(min_value=-30, max_value=30),
    span=st.floats(min_value=0.05, max_value=40),
    length=st.floats(min_value=60, max_value=500),
)
def test_log_ticks_lie_on_the_axis_in_order_with_distinct_labels(lo, span, length):
    s = Scale.fit([10.0**lo, 10.0 ** (lo + span)], True, length, 28.0)
    labelled = [(pos, lab) for pos, lab in zip(s.positions, s.labels) if lab]
    assert len(labelled) >= 2
    pos = [p for p, _ in labelled]
    assert all(-1e-9 <= p <= 1 + 1e-9 for p in pos) and pos == sorted(pos)
    assert len({str(lab) for _, lab in labelled}) == len(labelled)


def test_a_source_runs_on_one_blas_thread_and_the_limit_ends_with_it(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    seen = []

    def loader():
        seen.extend(p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas")
        return {}

    monkeypatch.setitem(
        plots.SOURCES, "probe", ("Probe", loader, lambda data: (plots.Figure("f", "t", "c", "<svg/>", b""), []))
    )
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        outcome = plots.load_source("probe")
        after = [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    assert "figure" in outcome and seen and set(seen) == {1}
    assert set(after) == {2}


values = st.lists(
    st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64), st.just(0.0)), min_size=0, max_size=12
)


@settings(max_examples=60, deadline=None)
@given(ys=values, ylog=st.booleans(), xlog=st.booleans(), twin=st.booleans())
def test_any_data_draws_a_well_formed_figure(ys, ylog, xlog, twin):
    c = Canvas(4, 3, rows=1, cols=2)
    p = c.panel()
    p.xlog, p.ylog = xlog, ylog
    xs = np.arange(1, len(ys) + 1, dtype=float)
    p.plot(xs, ys, marker=3.0, label="data")
    p.hline(0.0)
    p.vline(0.0)
    p.stairs(np.abs(np.nan_to_num(ys[:-1], posinf=1.0, neginf=1.0)), xs, color=(0.1, 0.2, 0.3), label="bars") if len(
        ys
    ) > 1 else None
    if twin:
        p.twin().plot(xs, ys[::-1], label="twin")
    p.legend()
    c.panel()  # an empty panel
    svg, pdf = c.render("any")
    assert ET.fromstring(svg) is not None and pdf.endswith(b"%%EOF\n")
    assert all("nan" not in pts and "inf" not in pts for panel in _clipped_polylines(svg) for pts in panel)
