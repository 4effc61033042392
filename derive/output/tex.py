r"""TeX for pdflatex: prose escaped, maths made safe.

:func:`tex_text` escapes TeX's special characters in prose and maps the
non-ASCII characters the lecture uses to TeX commands, so that pdflatex
never drops a character silently; :func:`safe_math` does the same for
maths printed by :mod:`gradproof.derive.output.printing`.

>>> tex_text("50% of x_1 & σ ≤ 1")
'50\\% of x\\_1 \\& \\ensuremath{\\sigma} \\ensuremath{\\leq} 1'
"""

from __future__ import annotations

import re

# Non-ASCII characters of the lecture's prose, as pdflatex (T1, utf8) input.
_UNICODE_TEX = {
    "α": r"\alpha",
    "β": r"\beta",
    "γ": r"\gamma",
    "δ": r"\delta",
    "ε": r"\varepsilon",
    "η": r"\eta",
    "θ": r"\theta",
    "λ": r"\lambda",
    "μ": r"\mu",
    "π": r"\pi",
    "σ": r"\sigma",
    "τ": r"\tau",
    "φ": r"\varphi",
    "ω": r"\omega",
    "Δ": r"\Delta",
    "Σ": r"\Sigma",
    "Θ": r"\Theta",
    "∂": r"\partial",
    "∑": r"\sum",
    "∏": r"\prod",
    "≤": r"\leq",
    "≥": r"\geq",
    "≠": r"\neq",
    "≈": r"\approx",
    "≜": r"\triangleq",
    "∈": r"\in",
    "→": r"\to",
    "←": r"\leftarrow",
    "⇒": r"\Rightarrow",
    "×": r"\times",
    "·": r"\cdot",
    "−": "-",
    "∞": r"\infty",
    "√": r"\surd",
    "⊙": r"\odot",
    "⊘": r"\oslash",
    "⟨": r"\langle",
    "⟩": r"\rangle",
    "ℓ": r"\ell",
    "∼": r"\sim",
    "ŷ": r"\hat{y}",
    "⊤": r"\top",
    "∇": r"\nabla",
    "±": r"\pm",
    "∀": r"\forall",
    "⟦": "[\\![",
    "⟧": "]\\!]",
    "ℝ": r"\mathbb{R}",
    "𝔼": r"\mathbb{E}",
}
_TEXT_UNICODE = {"—": "---", "–": "--", "“": "``", "”": "''", "‘": "`", "’": "'", "…": r"\dots{}", "\u00a0": "~"}
_SPECIAL = {
    "#": r"\#",
    "$": r"\$",
    "%": r"\%",
    "&": r"\&",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "\\": r"\textbackslash{}",
    "^": r"\^{}",
    "~": r"\~{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def tex_text(text) -> str:
    """Escape prose for LaTeX; every character stays visible in the PDF."""
    out = []
    for ch in str(text):
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ord(ch) < 128:
            out.append(ch)
        elif ch in _TEXT_UNICODE:
            out.append(_TEXT_UNICODE[ch])
        elif ch in _UNICODE_TEX:
            out.append(r"\ensuremath{%s}" % _UNICODE_TEX[ch])
        elif 0xA0 <= ord(ch) <= 0x17F:
            out.append(ch)  # Latin-1 and Latin Extended-A: covered by T1 + utf8
        else:
            # Unknown to pdflatex's fonts: show the code point rather than lose it.
            out.append(r"\texttt{[U+%04X]}" % ord(ch))
    return "".join(out)


def tex_identifier(name) -> str:
    r"""A name in typewriter type that may break after its underscores.

    >>> print(tex_identifier("a_b_c"))
    \texttt{a\_\allowbreak{}b\_\allowbreak{}c}
    """
    return r"\texttt{%s}" % tex_text(name).replace(r"\_", r"\_\allowbreak{}")


def safe_math(tex: str) -> str:
    """LaTeX maths from the printers, made safe for pdflatex (T1, utf8)."""

    # pdflatex cannot typeset \char above 255 (escape_latex_text's fallback
    # for symbols outside ASCII); map the lecture's characters to commands.
    def char(m):
        ch = chr(int(m.group(1)))
        return _UNICODE_TEX.get(ch, r"\text{[U+%04X]}" % ord(ch))

    tex = re.sub(r"\\text\{\\char(\d+)\}", char, tex)

    # Prose inside \text{} from a declaration may carry raw _ ^ & % # (fine
    # for the HTML converter, fatal to pdflatex): escape them there.
    def text(m):
        body = re.sub(r"(?<!\\)([_&%#])", r"\\\1", m.group(1))
        body = re.sub(r"(?<!\\)\^", r"\\^{}", body)
        return r"\text{" + body + "}"

    tex = re.sub(r"\\text\{((?:[^{}]|\{[^{}]*\})*)\}", text, tex)
    return "".join(
        r"\ensuremath{%s}" % _UNICODE_TEX[c]
        if c in _UNICODE_TEX
        else (c if ord(c) < 128 else r"\text{[U+%04X]}" % ord(c))
        for c in tex
    )


def escape_latex_text(text: str) -> str:
    """Escape characters that TeX would otherwise swallow or choke on."""
    out = []
    for ch in text:
        if ch in "#$%&_{}":
            out.append("\\" + ch)
        elif ch == "\\":
            out.append(r"\textbackslash{}")
        elif ch == "^":
            out.append(r"\^{}")
        elif ch == "~":
            out.append(r"\~{}")
        elif ord(ch) > 127:
            out.append(r"\text{\char%d}" % ord(ch) if not ch.isalpha() else ch)
        else:
            out.append(ch)
    return "".join(out)
