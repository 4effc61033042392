"""SVG and PDF writers for :mod:`gradproof.reports.canvas`, and Helvetica's text metrics.

Drawing operations are plain tuples in points, y pointing down:

* ``("clip", x, y, w, h)`` ... ``("unclip",)``: what lies between is clipped to the rectangle;
* ``("group", index)`` ... ``("ungroup",)``: one panel (``<g id="axes_INDEX">`` in SVG);
* ``("line", points, color, width, dash)``: a polyline, ``points`` a tuple of ``(x, y)``;
* ``("dots", points, color, diameter)``: filled circles;
* ``("text", x, y, runs, size, anchor, rotated, color)``: a label at its baseline,
  ``anchor`` ``start``, ``middle`` or ``end``, ``runs`` a string or ``(text, superscript)`` pairs.

The PDF uses the standard Helvetica (nothing embedded), the SVG names it
first among look-alike fonts; both are laid out with its widths.

>>> ops = [("line", ((0, 0), (10, 10)), "#000000", 1.0, False), ("text", 5, 5, "a", 7, "middle", False, "#000000")]
>>> svg(ops, (20, 20), "demo").count("<polyline"), pdf(ops, (20, 20)).startswith(b"%PDF-1.4")
(1, True)
"""

from __future__ import annotations

import functools
import html
import zlib

__all__ = ["MINUS", "pdf", "runs", "svg", "text_width"]

FONT = "Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif"
MINUS = "\u2212"


@functools.cache
def _widths() -> dict[str, int]:
    """Helvetica's advance widths (1/1000 em) by character, read from the AFM file
    matplotlib ships (found without importing it); empty when it cannot be read."""
    import importlib.util
    from pathlib import Path

    try:
        spec = importlib.util.find_spec("matplotlib")
        path = Path(spec.origin).parent / "mpl-data" / "fonts" / "afm" / "phvr8a.afm"
        lines = path.read_text(encoding="latin-1").splitlines()
    except (AttributeError, TypeError, ImportError, OSError, ValueError):
        return {}
    by_name, by_code = {}, {}
    for line in lines:
        if not line.startswith("C "):
            continue
        fields = dict(f.strip().split(" ", 1) for f in line.split(";") if f.strip().count(" ") >= 1)
        by_name[fields["N"]] = int(float(fields["WX"]))
        code = int(fields["C"])
        if 32 <= code < 127:
            by_code[chr(code)] = by_name[fields["N"]]
    # ASCII ' and ` are quoteright/quoteleft in the font's own encoding, not what the page shows
    extra = {"'": "quotesingle", "`": "grave", MINUS: "endash"}
    by_code.update({c: by_name[n] for c, n in extra.items() if n in by_name})
    return by_code


def text_width(label, size: float) -> float:
    """Width in points of a label (a string, or ``(text, superscript)`` runs) at ``size`` points."""
    widths = _widths()
    total = 0.0
    for text, sup in runs(label):
        total += sum(widths.get(c, 556) for c in text) * size * (0.7 if sup else 1.0) / 1000
    return total


def runs(label) -> tuple:
    return ((label, False),) if isinstance(label, str) else tuple(label)


def _num(v: float) -> str:
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


class _Svg:
    """One method per drawing operation, each appending SVG elements."""

    def __init__(self, name: str):
        self.out: list[str] = []
        self.clips = 0
        self.prefix = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in name) or "fig"

    def group(self, index):
        self.out.append(f'<g id="axes_{index}">')

    def ungroup(self):
        self.out.append("</g>")

    def clip(self, x, y, w, h):
        self.clips += 1
        cid = f"{self.prefix}-clip{self.clips}"
        rect = f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}"/>'
        self.out += [f'<clipPath id="{cid}">{rect}</clipPath>', f'<g clip-path="url(#{cid})">']

    def unclip(self):
        self.out.append("</g>")

    def line(self, pts, color, width, dash):
        d = " ".join(f"{_num(x)},{_num(y)}" for x, y in pts)
        extra = f' stroke-dasharray="{_num(3.7 * width)},{_num(1.6 * width)}"' if dash else ""
        self.out.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="{_num(width)}"{extra}/>')

    def dots(self, pts, color, diameter):
        r = _num(diameter / 2)
        self.out += [f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{r}" fill="{color}"/>' for x, y in pts]

    def text(self, *args):
        self.out.append(_svg_text(*args))


def svg(ops, size, name: str) -> str:
    """The operations as an SVG document (no XML prolog: it is inlined into HTML pages);
    ``name`` prefixes its ids so that figures on one page keep them apart."""
    w, h = size
    writer = _Svg(name)
    for op in ops:
        getattr(writer, op[0])(*op[1:])
    return (
        "\n".join(
            [
                f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(w)}pt" height="{_num(h)}pt" '
                f'viewBox="0 0 {_num(w)} {_num(h)}" version="1.1">',
                f'<g font-family="{html.escape(FONT)}" stroke-linejoin="round" stroke-linecap="butt">',
                f'<rect x="0" y="0" width="{_num(w)}" height="{_num(h)}" fill="#ffffff"/>',
                *writer.out,
                "</g></svg>",
            ]
        )
        + "\n"
    )


def _svg_text(x, y, label, size, anchor, rotated, color) -> str:
    parts, raised = [], False
    for text, sup in runs(label):
        t = html.escape("".join(c if c >= " " else "?" for c in text))  # XML allows no control characters
        if sup != raised:  # dy moves every later glyph: a run back on the baseline moves down again
            dy, fs = (-size * 0.4, size * 0.7) if sup else (size * 0.4, size)
            t = f'<tspan font-size="{_num(fs)}" dy="{_num(dy)}">{t}</tspan>'
        elif raised:
            t = f'<tspan font-size="{_num(size * 0.7)}">{t}</tspan>'
        parts.append(t)
        raised = sup
    turn = f' transform="rotate(-90 {_num(x)} {_num(y)})"' if rotated else ""
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" font-size="{_num(size)}" text-anchor="{anchor}" '
        f'fill="{color}"{turn}>{"".join(parts)}</text>'
    )


def _pdf_string(text: str) -> str:
    raw = text.replace(MINUS, "\u2013").encode("cp1252", errors="replace")  # WinAnsi has no minus: en dash
    body = "".join(chr(b) if 32 <= b < 127 and chr(b) not in "\\()" else f"\\{b:03o}" for b in raw)
    return f"({body})"


def _rgb(color: str) -> str:
    return " ".join(_num(int(color[i : i + 2], 16) / 255) for i in (1, 3, 5))


class _Pdf:
    """One method per drawing operation, each appending PDF content-stream operators (y up)."""

    def __init__(self, height: float):
        self.height = height
        self.out = ["1 j 0 J"]  # round joins, butt caps

    def group(self, index):
        pass

    def ungroup(self):
        pass

    def clip(self, x, y, w, h):
        self.out.append(f"q {_num(x)} {_num(self.height - y - h)} {_num(w)} {_num(h)} re W n")

    def unclip(self):
        self.out.append("Q")

    def line(self, pts, color, width, dash):
        style = f"[{_num(3.7 * width)} {_num(1.6 * width)}] 0 d" if dash else "[] 0 d"
        path = " ".join(f"{_num(x)} {_num(self.height - y)} {'l' if i else 'm'}" for i, (x, y) in enumerate(pts))
        self.out.append(f"{_rgb(color)} RG {_num(width)} w {style} {path} S")

    def dots(self, pts, color, diameter):
        self.out.append(f"{_rgb(color)} rg")
        self.out += [_pdf_circle(x, self.height - y, diameter / 2) for x, y in pts]

    def text(self, x, y, *rest):
        self.out.append(_pdf_text(x, self.height - y, *rest))


def _pdf_circle(x: float, y: float, r: float) -> str:
    k = 0.5523 * r  # Bezier handle length for a quarter circle
    return (
        f"{_num(x + r)} {_num(y)} m {_num(x + r)} {_num(y + k)} {_num(x + k)} {_num(y + r)} {_num(x)} {_num(y + r)} c "
        f"{_num(x - k)} {_num(y + r)} {_num(x - r)} {_num(y + k)} {_num(x - r)} {_num(y)} c "
        f"{_num(x - r)} {_num(y - k)} {_num(x - k)} {_num(y - r)} {_num(x)} {_num(y - r)} c "
        f"{_num(x + k)} {_num(y - r)} {_num(x + r)} {_num(y - k)} {_num(x + r)} {_num(y)} c f"
    )


def _pdf_text(x, y, label, size, anchor, rotated, color) -> str:
    shift = {"start": 0.0, "middle": 0.5, "end": 1.0}[anchor] * text_width(label, size)
    matrix = f"0 1 -1 0 {_num(x)} {_num(y - shift)}" if rotated else f"1 0 0 1 {_num(x - shift)} {_num(y)}"
    body = []
    for text, sup in runs(label):
        if sup:
            body.append(f"/F1 {_num(size * 0.7)} Tf {_num(size * 0.4)} Ts {_pdf_string(text)} Tj 0 Ts")
        else:
            body.append(f"/F1 {_num(size)} Tf {_pdf_string(text)} Tj")
    return f"BT {_rgb(color)} rg {matrix} Tm {' '.join(body)} ET"


def pdf(ops, size) -> bytes:
    """The operations as a one-page PDF: standard Helvetica, one compressed content stream, no dates."""
    w, h = size
    writer = _Pdf(h)
    for op in ops:
        getattr(writer, op[0])(*op[1:])
    stream = zlib.compress("\n".join(writer.out).encode("latin-1"), 6)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_num(w)} {_num(h)}] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode() + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
