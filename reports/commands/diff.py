"""``gradproof diff``: the derivative of a free-form matrix expression.

Printed only after every entry is proved against SymPy's scalar
differentiation and the generated NumPy code agrees with central differences.
"""

from __future__ import annotations

import json
import re
import sys

from gradproof.reports.errors import CLIError


def refuse_expression(command: str, message: str, caret) -> int:
    """An expression outside the language: one line (and, when reading stopped at a column,
    the text there with a caret under it) on stderr; exit 2."""
    if caret is None:
        raise CLIError(message, 2)
    from gradproof.reports.errors import one_line

    shown, col = caret
    print(f"gradproof {command}: {one_line(message)}", file=sys.stderr)
    print(f"  {one_line(shown)}\n  {' ' * col}^", file=sys.stderr)
    return 2


def cmd_diff(args) -> int:
    from gradproof.derive.engine.matcalc import DiffError, differentiate, latex, text
    from gradproof.derive.proof.matcalc import CD_TOL, numeric_check
    from gradproof.derive.reading import ReadError, parse_shape, read

    try:
        shapes = dict(parse_shape(s) for s in args.shape)
        e = read(args.expr, shapes)
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", args.wrt):
            raise CLIError("--wrt must be a name", 2)
        r = differentiate(e, args.wrt, hessian=args.hessian)
    except ReadError as err:
        return refuse_expression("diff", str(err), err.caret)
    except DiffError as err:
        raise CLIError(str(err), 2) from None
    except RecursionError:
        raise CLIError("the expression nests too deeply", 2) from None
    bad = r.failed()
    if bad:
        raise CLIError(f"the derivative failed its exact proof at {bad[0].key}: {bad[0].detail}; not printed", 1)
    try:
        src, err = numeric_check(r)
    except DiffError as err:
        raise CLIError(str(err), 2) from None
    if not err <= CD_TOL:
        raise CLIError(
            f"the generated NumPy code disagrees with central differences (relative error {err:.1e}); not printed", 1
        )
    sizes = ", ".join(f"{k}={v}" for k, v in r.sizes.items()) or "scalars"
    if args.format == "numpy":
        sys.stdout.write(src)
        return 0
    if args.format == "json":
        json.dump(
            {
                "expression": text(r.expr),
                "wrt": r.wrt,
                "form": r.form,
                "result": r.heading(text) + text(r.result),
                "latex": r.heading(latex) + latex(r.result),
                "column_by_column": bool(r.direction),
                "shapes": {k: list(v) for k, v in r.shapes.items()},
                "proof": {"sizes": r.sizes, "entries": len(r.proofs), "passed": r.proved},
                "central_differences": {"max_relative_error": err, "tolerance": CD_TOL},
                "steps": [{"step": a, "value": b} for a, b in r.printed_steps(text)],
            },
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
        return 0
    if args.format == "latex":
        sym = {
            "gradient": r"\frac{\partial f}{\partial %s}",
            "jacobian": r"\frac{\partial f}{\partial %s}",
            "hessian": r"\frac{\partial^2 f}{\partial %s\,\partial %s^{\top}}",
        }[r.form]
        wrt = r.wrt
        lhs = sym % ((wrt, wrt) if r.form == "hessian" else wrt)
        if r.direction:  # H, column by column
            lhs = r"\frac{\partial^2 f}{\partial %s\,\partial %s^{\top}} \mathbf{e}_k" % (wrt, wrt)
        print(lhs + " = " + latex(r.result))
        return 0
    for i, (label, value) in enumerate(r.printed_steps(text), 1):
        print(f"{i}. {label}: {value}")
    print(f"{r.form} by {r.wrt}: {r.heading(text)}{text(r.result)}")
    print(
        f"proved: {len(r.proofs)} entries exact against SymPy's scalar derivative at {sizes}; "
        f"central differences agree (relative error {err:.1e})"
    )
    return 0
