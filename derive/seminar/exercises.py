"""The seminar exercise bank: declared once, like the topics.

Each exercise poses one of the lecture's "see seminar" derivations, declares
the symbols an answer may use (shapes, domains, definitions such as
``yhat := sigma(s)``) and points at the topic and result key whose derived
formula is the reference: reference answers come from the derivation engine,
never typed a second time.  ``accepted`` and ``mistakes`` are examples that
the test suite checks against the engine's reference.

Tutors add exercises without touching code, in a TOML file named by the
``GRADPROOF_EXERCISES`` environment variable (see ``docs/exercises.md``).

>>> ex = get("linear_grad_W")
>>> ex.topic, ex.result
('linear', 'grad:W')
"""

from __future__ import annotations

import difflib
import functools
import os
import zlib
from dataclasses import dataclass

import sympy as sp

from gradproof.derive.seminar.answers import SymbolDecl, Vocabulary

# Probe sizes: distinct and non-square, so that X^T y and X y^T cannot both fit
# and products do not commute.
PROBE_DIMS = (("m", 5), ("n", 3), ("K", 4))
# Explicit sizes for the symbolic confirmation: small, to keep SymPy quick.
SYMBOLIC_DIMS = (("m", 2), ("n", 3), ("K", 3))


@dataclass(frozen=True)
class WrongAnswer:
    """A tutor-written wrong answer: when a student's answer equals it, show ``message``."""

    answer: str
    message: str
    credit: float = 0.0


@dataclass(frozen=True)
class Exercise:
    """One seminar exercise.

    ``form`` says which form of the engine's result is the reference:
    ``matrix`` (batched, rows are samples) or ``index`` (per entry, with index
    symbols).  ``reference_names`` maps the engine's symbol names to the
    exercise's.  ``reference_text`` exists only for tutor exercises on
    formulas no topic covers; built-in exercises always name a topic.
    """

    id: str
    title: str
    prompt: str
    lhs: str
    topic: str
    result: str
    symbols: tuple
    form: str = "matrix"
    reference_names: tuple = ()
    accepted: tuple = ()
    mistakes: tuple = ()  # (answer, expected mistake code) examples
    wrong: tuple = ()  # WrongAnswer
    auto_credit: float = 0.0
    dims: tuple = PROBE_DIMS
    symbolic_dims: tuple = SYMBOLIC_DIMS
    section: str = ""
    reference_text: str = ""
    source: str = "built-in"
    forbid: tuple = ()  # functions an answer may not use (tanh when tanh is asked for)
    # kind: "formula" (one expression), "steps" (several, see ``stages``),
    # "numeric" (numbers computed from the derivation, see ``numeric``) or
    # "choice" (a conceptual question, see ``options``); derive/seminar/exercise_kinds.py
    kind: str = "formula"
    hints: tuple = ()  # the hint ladder's declared rungs, mildest first
    stages: tuple = ()  # Stage: the steps of a multi-step exercise
    numeric: object = None  # NumericSpec
    options: tuple = ()  # Option: the choices of a conceptual item
    letters: tuple = ()  # (name, alternative, ...): letters a student's variant may use instead
    variant: int = 0  # which variant this is (0: the exercise as declared)
    base_id: str = ""  # the declared id of a variant

    @property
    def seed(self) -> int:
        return zlib.crc32(self.id.encode())

    @property
    def declared_id(self) -> str:
        return self.base_id or self.id

    @property
    def n_variants(self) -> int:
        from gradproof.derive.seminar.exercise_kinds import n_variants

        return n_variants(self)

    def variant_for(self, student: str) -> Exercise:
        """This student's variant (the same student always gets the same one)."""
        n = self.n_variants
        return self.make_variant(zlib.crc32(f"{student}\0{self.declared_id}".encode()) % n if n > 1 else 0)

    def make_variant(self, k: int) -> Exercise:
        from gradproof.derive.seminar.exercise_kinds import make_variant

        return make_variant(self, k)

    def vocabulary(self) -> Vocabulary:
        return _vocabulary(self)

    def reference(self):
        """The reference expression and its symbolic shape, from the engine."""
        if self.reference_text and not self.topic:
            from gradproof.derive.seminar.answers import read_answer

            r = read_answer(self.reference_text, self.vocabulary())
            return r.expr, r.shape
        from gradproof.derive.lecture.registry import derive

        if self.result.startswith("step:"):
            from gradproof.derive.seminar.exercise_kinds import step_reference

            return step_reference(self)
        res = derive(self.topic).result(self.result)
        if self.form == "index":
            if res.index is None:
                raise ValueError(f"{self.topic} result {self.result!r} has no index form")
            return res.index, (sp.Integer(1), sp.Integer(1))
        if res.matrix is None:
            if res.index is not None and not any(isinstance(a, sp.Indexed) for a in res.index.atoms(sp.Indexed)):
                return res.index, (sp.Integer(1), sp.Integer(1))
            raise ValueError(f"{self.topic} result {self.result!r} has no matrix form")
        return res.matrix, tuple(res.matrix.shape)

    def oracle(self):

        return _oracle(self)

    def shape_at_probe(self, shape) -> tuple:
        """A symbolic shape at the probe sizes, symbols matched by name."""
        dims = dict(self.dims)
        renames = dict(self.reference_names)
        out = []
        for d in shape:
            d = sp.Integer(d) if isinstance(d, int) else d
            sub = {s: sp.Integer(dims.get(renames.get(s.name, s.name), 0)) or s for s in d.free_symbols}
            v = d.xreplace(sub)
            out.append(int(v) if v.is_number else str(v))
        return tuple(out)

    def sizes_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.dims)

    def shape_text(self) -> str:
        shape = self.oracle().ref_shape
        renames = dict(self.reference_names)
        return "x".join(renames.get(str(d), str(d)) for d in shape)

    def symbol_table(self) -> list[dict]:
        """The symbols as a student needs to know them."""
        out = []
        for d in self.symbols:
            if d.domain == "index":
                kind = f"index 0..{d.index_range}-1"
            elif d.is_matrix:
                kind = "x".join(str(x) for x in d.shape)
            elif d.is_indexed_vector:
                kind = f"vector of length {d.shape[0]}, written with an index"
            else:
                kind = "scalar"
            out.append(
                {
                    "name": d.name,
                    "shape": kind,
                    "domain": d.domain,
                    "aliases": list(d.aliases),
                    "definition": d.definition,
                    "description": d.description,
                }
            )
        return out

    def to_json(self) -> dict:
        from gradproof.derive.seminar.exercise_kinds import hint_ladder, typing_example

        d = {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "prompt": self.prompt,
            "lhs": self.lhs,
            "topic": self.topic,
            "result": self.result,
            "form": self.form,
            "section": self.section,
            "symbols": self.symbol_table(),
            "hints": hint_ladder(self),
            "variants": self.n_variants,
            "example": typing_example(self),
            "source": self.source,
        }
        if self.stages:
            d["steps"] = [{"lhs": st.lhs, "prompt": st.prompt} for st in self.stages]
        if self.options:
            d["options"] = [{"key": o.key, "text": o.text} for o in self.options]
        if self.numeric is not None:
            from gradproof.derive.seminar.exercise_kinds import numeric_inputs

            d["given"] = {k: [[str(x) for x in row] for row in v] for k, v in numeric_inputs(self).items()}
        return d


@functools.cache
def _vocabulary(ex: Exercise) -> Vocabulary:
    return Vocabulary(dims=dict(ex.dims), symbols=ex.symbols)


_ORACLES: dict = {}


def _oracle(ex: Exercise):
    if ex not in _ORACLES:
        from gradproof.derive.seminar.exercise_kinds import base_exercise, letter_names

        if letter_names(ex):
            # a letter variant is checked through its declared exercise's oracle
            return _oracle(base_exercise(ex))
        if ex.kind != "formula":
            from gradproof.derive.seminar.exercise_kinds import KindOracle

            _ORACLES[ex] = KindOracle(ex)
        else:
            from gradproof.derive.seminar.equivalence import Oracle

            _ORACLES[ex] = Oracle(ex)
    return _ORACLES[ex]


def has_oracle(ex: Exercise) -> bool:
    return ex in _ORACLES


def install_oracle(oracle) -> None:
    """Adopt an oracle built in another process (see :meth:`CheckPool.warm`)."""
    _ORACLES[oracle.ex] = oracle


# ---------------------------------------------------------------------------
# The bank
# ---------------------------------------------------------------------------

_BANK: dict[str, Exercise] = {}


def declare(ex: Exercise) -> Exercise:
    if ex.id in _BANK:
        raise ValueError(f"exercise {ex.id!r} declared twice")
    _BANK[ex.id] = ex
    return ex


S = SymbolDecl

declare(
    Exercise(
        id="sigmoid_bce_grad",
        title="Sigmoid + cross-entropy: gradient on the logits",
        section="Loss functions",
        prompt="The binary cross-entropy, averaged over m samples, of yhat = sigma(s). Give dL/ds (m x 1).",
        lhs="dL/ds",
        topic="sigmoid_bce",
        result="backward",
        symbols=(
            S("s", ("m", 1), description="logits"),
            S("y", ("m", 1), "binary", description="targets in {0, 1}"),
            S("yhat", ("m", 1), aliases=("y_hat", "p"), definition="sigma(s)", description="sigma(s)"),
        ),
        accepted=("(yhat - y)/m", "(sigma(s) - y)/m", r"\frac{1}{m}(\hat{y} - y)", "-(y - yhat)/m", "yhat/m - y/m"),
        mistakes=(
            ("(y - yhat)/m", "sign"),
            ("yhat - y", "tutor:1"),
            ("(yhat - y)/(2m)", "factor:1/2"),
            ("m (yhat - y)", "factor"),
        ),
        wrong=(
            WrongAnswer(
                "yhat - y",
                "this exercise asks for the mean over the m samples: yhat - y is the slide's "
                "formula for the summed loss, so divide by m",
                0.5,
            ),
        ),
    )
)

declare(
    Exercise(
        id="softmax_ce_grad",
        title="Softmax + cross-entropy: gradient on the logits",
        section="Loss functions",
        prompt="The multinomial cross-entropy, averaged over m samples, of P = softmax(S) row by row, "
        "with one-hot targets Y. Give dL/dS (m x K).",
        lhs="dL/dS",
        topic="softmax_cross_entropy",
        result="backward",
        symbols=(
            S("S", ("m", "K"), description="logits"),
            S("Y", ("m", "K"), "onehot", description="one-hot targets"),
            S("P", ("m", "K"), aliases=("Yhat",), definition="softmax(S)", description="softmax(S), row-wise"),
        ),
        accepted=("(P - Y)/m", "(softmax(S) - Y)/m", r"\frac{1}{m}(\hat{Y} - Y)", "P/m - Y/m"),
        mistakes=(("(Y - P)/m", "sign"), ("P - Y", "tutor:1"), ("-Y/m", "missing-term")),
        wrong=(WrongAnswer("P - Y", "that is the gradient of the summed loss; divide by m for the mean", 0.5),),
    )
)

declare(
    Exercise(
        id="softmax_jacobian",
        title="The softmax Jacobian",
        section="Softmax layer",
        prompt="sigma_k(s) = exp(s_k) / sum_c exp(s_c). Give d sigma_k / d s_j, using sigma_k, sigma_j and [[j = k]].",
        lhs="d sigma_k / d s_j",
        topic="softmax",
        result="jacobian",
        form="index",
        symbols=(
            S("s", (1, "K"), description="logits (a row)"),
            S(
                "sigma",
                ("K",),
                aliases=("p",),
                definition="softmax(s)",
                call_args=("s",),
                description="softmax output, sigma_k",
            ),
            S("j", domain="index", index_range="K"),
            S("k", domain="index", index_range="K"),
        ),
        reference_names=(("p", "sigma"), ("i", "j"), ("j", "k")),
        accepted=(
            "sigma_k([[j = k]] - sigma_j)",
            r"\sigma_k(s)(\delta_{jk} - \sigma_j(s))",
            "sigma_k*delta(j,k) - sigma_k*sigma_j",
            "sigma_j([[j=k]] - sigma_k)",
        ),
        mistakes=(
            ("sigma_k(1 - sigma_j)", "missing-delta"),
            ("-sigma_k sigma_j", "missing-term"),
            ("sigma_k([[j = k]] + sigma_j)", "sign"),
        ),
        wrong=(
            WrongAnswer(
                "sigma_k (1 - sigma_k)",
                "that is only the diagonal (j = k); for j != k the entry is -sigma_j sigma_k: use [[j = k]]",
                0.25,
            ),
        ),
    )
)

declare(
    Exercise(
        id="linear_backward",
        title="Linear layer: backward message",
        section="Backpropagation",
        prompt="A linear layer Z' = Z W (Z is m x (n+1): the bias column z_0 = 1 and n features; W is (n+1) x K) "
        "receives Delta = dL/dZ' (m x K). Give dL/dZ.",
        lhs="dL/dZ",
        topic="linear",
        result="backward",
        symbols=(
            S("Z", ("m", "n1"), aliases=("X",)),
            S("W", ("n1", "K")),
            S("Delta", ("m", "K"), aliases=("D", "delta")),
        ),
        # n1 = n + 1: the lecture's linear layer takes the bias input and n features
        # (sizes all distinct, so that a transposed answer cannot fit)
        dims=(("m", 5), ("n", 2), ("K", 4), ("n1", 3)),
        symbolic_dims=(("m", 2), ("n", 3), ("K", 3), ("n1", 4)),
        accepted=("Delta W^T", "Delta @ W.T", r"\Delta W^\top", "(W Delta^T)^T"),
        mistakes=(
            ("W Delta^T", "transposed"),
            ("-Delta W^T", "sign"),
            ("Delta W", "transposed"),
            ("2 Delta W^T", "factor:2"),
        ),
    )
)

declare(
    Exercise(
        id="linear_grad_W",
        title="Linear layer: parameter message",
        section="Backpropagation",
        prompt="A linear layer Z' = Z W (Z is m x (n+1): the bias column z_0 = 1 and n features; W is (n+1) x K) "
        "receives Delta = dL/dZ' (m x K). Give dL/dW.",
        lhs="dL/dW",
        topic="linear",
        result="grad:W",
        symbols=(
            S("Z", ("m", "n1"), aliases=("X",)),
            S("W", ("n1", "K")),
            S("Delta", ("m", "K"), aliases=("D", "delta")),
        ),
        # n1 = n + 1: the lecture's linear layer takes the bias input and n features
        # (sizes all distinct, so that a transposed answer cannot fit)
        dims=(("m", 5), ("n", 2), ("K", 4), ("n1", 3)),
        symbolic_dims=(("m", 2), ("n", 3), ("K", 3), ("n1", 4)),
        accepted=("Z^T Delta", "Z.T @ Delta", r"Z^\top \Delta", "(Delta^T Z)^T"),
        mistakes=(("Delta^T Z", "transposed"), ("Z Delta", "transposed"), ("Z^T Delta / m", "factor:1/m")),
    )
)

declare(
    Exercise(
        id="squared_error_backward",
        title="Squared error: backward message",
        section="Backpropagation",
        prompt="The squared-error module z' = sum_i (y_i - z_i)^2 of a column z (m x 1). Give dz'/dz.",
        lhs="dz'/dz",
        topic="squared_error",
        result="backward",
        symbols=(S("z", ("m", 1), aliases=("yhat",)), S("y", ("m", 1))),
        reference_names=(("yhat", "z"),),
        accepted=("2(z - y)", "2*z - 2*y", "-2(y - z)", "2 (z - y)"),
        mistakes=(("2(y - z)", "sign"), ("z - y", "factor:1/2"), ("(z - y)/m", "factor:1/(2m)")),
    )
)

declare(
    Exercise(
        id="l2_grad",
        title="L2 penalty: gradient",
        section="Regularization",
        prompt="The L2 penalty R(W) = lambda sum_ij W_ij^2 of a weight matrix W (n x K). Give dR/dW.",
        lhs="dR/dW",
        topic="l2_penalty",
        result="grad:W",
        symbols=(S("W", ("n", "K")), S("lambda", (), "positive", aliases=("lam", "l"))),
        reference_names=(("lam", "lambda"),),
        accepted=("2 lambda W", r"2\lambda W", "lambda*W*2", "2*lam*W"),
        mistakes=(
            ("lambda W", "factor:1/2"),
            ("2 W", "tutor:1"),
            ("-2 lambda W", "sign"),
            ("2 lambda W^T", "transposed"),
        ),
        wrong=(WrongAnswer("2 W", "the strength lambda is missing", 0.25),),
    )
)

declare(
    Exercise(
        id="sigmoid_backward",
        title="Sigmoid layer: backward message",
        section="Backpropagation",
        prompt="A sigmoid layer A = sigma(Z), entrywise (Z is m x n), receives Delta = dL/dA. Give dL/dZ.",
        lhs="dL/dZ",
        topic="sigmoid",
        result="backward",
        symbols=(
            S("Z", ("m", "n")),
            S("Delta", ("m", "n"), aliases=("D", "delta")),
            S("A", ("m", "n"), definition="sigma(Z)", description="sigma(Z), entrywise"),
        ),
        accepted=(
            "Delta .* A .* (1 - A)",
            "Delta * sigma(Z) * (1 - sigma(Z))",
            r"\Delta \odot A \odot (1 - A)",
            "A*(1-A)*Delta",
        ),
        mistakes=(
            ("Delta", "missing-sigma-prime"),
            ("Delta * A", "missing-one-minus"),
            ("-Delta * A * (1 - A)", "sign"),
        ),
    )
)

declare(
    Exercise(
        id="tanh_backward",
        title="Tanh layer: backward message",
        section="Backpropagation",
        prompt="A tanh layer A = tanh(Z), entrywise (Z is m x n), receives Delta = dL/dA. Give dL/dZ.",
        lhs="dL/dZ",
        topic="tanh",
        result="backward",
        symbols=(
            S("Z", ("m", "n")),
            S("Delta", ("m", "n"), aliases=("D", "delta")),
            S("A", ("m", "n"), definition="tanh(Z)", description="tanh(Z), entrywise"),
        ),
        accepted=("Delta * (1 - A^2)", "Delta .* (1 - tanh(Z)^2)", r"\Delta \odot (1 - A^2)", "Delta - Delta*A*A"),
        mistakes=(("Delta", "missing-tanh-prime"), ("Delta * (1 - A)", "missing-square"), ("Delta*(A^2 - 1)", "sign")),
    )
)


declare(
    Exercise(
        id="logreg_grad",
        title="Logistic regression: gradient of the cross-entropy",
        section="Logistic regression",
        prompt="Logistic regression yhat = sigma(X w) with the summed cross-entropy loss "
        "L(w) = -sum_i [y_i log yhat_i + (1 - y_i) log(1 - yhat_i)]. Give dL/dw (n x 1).",
        lhs="dL/dw",
        topic="logistic_regression",
        result="grad:w",
        symbols=(
            S("X", ("m", "n")),
            S("w", ("n", 1)),
            S("y", ("m", 1), "binary", description="targets in {0, 1}"),
            S("yhat", ("m", 1), aliases=("y_hat", "p"), definition="sigma(X w)", description="sigma(X w)"),
        ),
        accepted=(
            "X^T(yhat - y)",
            "-(X^T)(y - yhat)",
            "X.T@yhat - X.T@y",
            r"X^\top(\hat{y}-y)",
            "X^T (sigma(X w) - y)",
            "X'(yhat - y)",
        ),
        mistakes=(
            ("X^T(y - yhat)", "sign"),
            ("(yhat - y)^T X", "transposed"),
            ("X (yhat - y)", "transposed"),
            ("(yhat - y) X^T", "order"),
            ("X^T(yhat - y)/m", "factor:1/m"),
            ("2 X^T (yhat - y)", "factor:2"),
        ),
    )
)

declare(
    Exercise(
        id="multinomial_grad",
        title="Multinomial logistic regression: gradient of the cross-entropy",
        section="Backpropagation",
        prompt="Multinomial logistic regression P = softmax(X W) row by row, one-hot targets Y, loss the mean "
        "cross-entropy over the m samples. Give dL/dW (n x K).",
        lhs="dL/dW",
        topic="multinomial_logistic_regression",
        result="grad:W",
        symbols=(
            S("X", ("m", "n")),
            S("W", ("n", "K")),
            S("Y", ("m", "K"), "onehot", description="one-hot targets"),
            S("P", ("m", "K"), aliases=("Yhat",), definition="softmax(X W)", description="softmax(X W), row-wise"),
        ),
        accepted=(
            "X^T (P - Y)/m",
            "(1/m) X^T (P - Y)",
            r"\frac{1}{m} X^\top (\hat{Y} - Y)",
            "X^T (softmax(X W) - Y) / m",
        ),
        mistakes=(("X^T (P - Y)", "factor:m"), ("(P - Y)^T X / m", "transposed"), ("X^T (Y - P)/m", "sign")),
    )
)

declare(
    Exercise(
        id="linreg_grad",
        title="Linear regression: gradient of the squared error",
        section="Linear neuron",
        prompt="Linear regression yhat = X w with the summed squared error L(w) = (y - X w)^T (y - X w). Give dL/dw (n x 1).",
        lhs="dL/dw",
        topic="linear_regression",
        result="grad:w",
        symbols=(
            S("X", ("m", "n")),
            S("w", ("n", 1)),
            S("y", ("m", 1)),
            S("yhat", ("m", 1), aliases=("y_hat",), definition="X w", description="X w"),
        ),
        accepted=("2 X^T (X w - y)", "-2 X^T (y - X w)", "2 X^T X w - 2 X^T y", "2 X'(yhat - y)"),
        mistakes=(("X^T (X w - y)", "factor:1/2"), ("2 X^T (y - X w)", "sign"), ("2 (X w - y)^T X", "transposed")),
    )
)


LSQ_SYMBOLS = (
    S("X", ("m", "n")),
    S("y", ("m", 1)),
    S("I", ("n", "n"), "identity", description="identity"),
    S("lambda", (), "positive", aliases=("lam", "l")),
)

declare(
    Exercise(
        id="least_squares",
        title="Least squares: the closed-form solution",
        section="Linear neuron",
        prompt="Minimise (y - X w)^T (y - X w) over w (X is m x n of full column rank). Give w*.",
        lhs="w*",
        topic="least_squares",
        result="solution",
        symbols=LSQ_SYMBOLS[:3],
        # X^T X must stay invertible at the symbolic sizes too: more samples than features
        symbolic_dims=(("m", 3), ("n", 2), ("K", 2)),
        accepted=(
            "inv(X^T X) X^T y",
            "(X'X)^-1 X'y",
            "(X^T X)^{-1} X^T y",
            r"\left(X^\top X\right)^{-1} X^\top y",
            "inv(X.T @ X) @ X.T @ y",
        ),
        mistakes=(
            ("inv(X^T X) X y", "transposed"),
            ("X^T y inv(X^T X)", "transposed"),
            ("-inv(X^T X) X^T y", "sign"),
            ("inv(X^T X) X^T y / 2", "factor:1/2"),
            ("inv(X) y", "shape"),
        ),
    )
)

declare(
    Exercise(
        id="ridge",
        title="Ridge regression: the closed-form solution",
        section="Regularization",
        prompt="Minimise (y - X w)^T (y - X w) + lambda w^T w over w (lambda > 0). Give w*.",
        lhs="w*",
        topic="ridge",
        result="solution",
        symbols=LSQ_SYMBOLS,
        symbolic_dims=(("m", 3), ("n", 2), ("K", 2)),
        accepted=(
            "inv(X^T X + lambda I) X^T y",
            "(X'X + lambda I)^-1 X'y",
            r"(X^\top X + \lambda I)^{-1} X^\top y",
            r"\left(X^T X + \lambda I\right)^{-1} X^T y",
            "inv(lambda I + X^T X) X^T y",
        ),
        mistakes=(
            ("inv(X^T X) X^T y", "tutor:1"),
            ("(inv(X^T X) + lambda I) X^T y", "ridge-outside"),
            ("inv(X^T X - lambda I) X^T y", "sign"),
            ("X^T y inv(X^T X + lambda I)", "transposed"),
            ("(X^T X)^-1 X^T y + lambda I", "ridge-outside"),
        ),
        wrong=(
            WrongAnswer(
                "inv(X^T X) X^T y",
                "that is the least-squares solution: the ridge term lambda I belongs "
                "inside the inverse, added to X^T X",
                0.25,
            ),
        ),
    )
)


declare(
    Exercise(
        id="sigmoid_derivative",
        title="The derivative of the sigmoid",
        section="Activation functions",
        prompt="sigma(s) = 1 / (1 + exp(-s)). Give sigma'(s) in terms of sigma(s).",
        lhs="sigma'(s)",
        topic="sigmoid_derivative",
        result="derivative",
        form="index",
        symbols=(S("s", ()),),
        accepted=(
            "sigma(s)*(1-sigma(s))",
            r"\sigma(s)(1-\sigma(s))",
            "sigma(s) - sigma(s)^2",
            "sigma(s) sigma(-s)",
            "exp(-s)/(1 + exp(-s))^2",
        ),
        mistakes=(
            ("sigma(s)", "missing-one-minus"),
            ("-sigma(s)(1 - sigma(s))", "sign"),
            ("sigma(s)(1 + sigma(s))", "sign"),
            ("2 sigma(s)(1 - sigma(s))", "factor:2"),
        ),
    )
)

declare(
    Exercise(
        id="tanh_via_sigma",
        title="tanh through the sigmoid",
        section="Activation functions",
        prompt="Write tanh(s) using the logistic sigmoid sigma only.",
        lhs="tanh(s)",
        topic="tanh_sigmoid",
        result="identity",
        form="index",
        symbols=(S("s", ()),),
        accepted=("2 sigma(2s) - 1", r"2\sigma(2s) - 1", "1 - 2 sigma(-2 s)", "sigma(2s) - sigma(-2s)"),
        mistakes=(("2 sigma(s) - 1", "tutor:1"), ("2 sigma(2s) + 1", "sign"), ("1 - 2 sigma(2s)", "sign")),
        forbid=("tanh", "exp", "sinh", "cosh"),
        wrong=(WrongAnswer("2 sigma(s) - 1", "the sigmoid's argument must be 2s: tanh(s) = 2 sigma(2s) - 1", 0.5),),
    )
)

declare(
    Exercise(
        id="mle_sigma2",
        title="Maximum likelihood estimate of the noise variance",
        section="Linear neuron",
        prompt="y_i ~ N(<x_i, w>, sigma^2), i.i.d. for i = 1..m. Give the maximum-likelihood sigma^2 "
        "(RSS = (y - X w)^T (y - X w) may be used).",
        lhs="sigma^2_MLE",
        topic="mle_sigma2",
        result="sigma2",
        form="index",
        symbols=(
            S("X", ("m", "n")),
            S("y", ("m", 1)),
            S("w", ("n", 1)),
            S("RSS", (), definition="(y - X w)^T (y - X w)", description="residual sum of squares"),
        ),
        accepted=("RSS/m", "(y - X w)^T (y - X w) / m", r"\frac{1}{m}(y - Xw)^\top(y - Xw)", "norm(y - X w)^2 / m"),
        mistakes=(
            ("RSS", "factor:m"),
            ("RSS/(m - 1)", "tutor:1"),
            ("RSS/(2m)", "factor:1/2"),
            ("(y - X w)(y - X w)^T / m", "shape"),
        ),
        wrong=(
            WrongAnswer(
                "RSS/(m - 1)", "that is the unbiased estimator; the maximum-likelihood estimate divides by m", 0.5
            ),
        ),
    )
)

declare(
    Exercise(
        id="map_lambda",
        title="MAP: the regularisation strength",
        section="Regularization",
        prompt="Gaussian likelihood with noise variance sigma^2 and a zero-mean Gaussian prior on w with variance "
        "sigma_0^2. Minimising -log p(w | y, X) is (y - X w)^T (y - X w) + lambda w^T w: give lambda.",
        lhs="lambda",
        topic="map_gaussian",
        result="lambda",
        form="index",
        symbols=(
            S("sigma", (), "positive", description="noise standard deviation"),
            S("sigma_0", (), "positive", aliases=("sigma0", "sigma_{0}"), description="prior standard deviation"),
        ),
        accepted=("sigma^2/sigma_0^2", r"\frac{\sigma^2}{\sigma_0^2}", "(sigma/sigma0)^2", "sigma^2 / sigma_{0}^2"),
        mistakes=(
            ("sigma_0^2/sigma^2", "tutor:1"),
            ("sigma/sigma_0", "missing-square"),
            ("2 sigma^2/sigma_0^2", "factor:2"),
        ),
        wrong=(
            WrongAnswer("sigma_0^2/sigma^2", "upside down: lambda is the noise variance over the prior variance", 0.25),
        ),
    )
)


N_IN = S("n_in", (), "count", aliases=("nin", "n_{in}"), description="fan-in: inputs per neuron")

declare(
    Exercise(
        id="xavier_var",
        title="Xavier initialisation: the weight variance",
        section="Parameter initialization",
        prompt="For s = sum_i w_i x_i with independent zero-mean w_i, x_i, Var(s) = n_in Var(x) Var(w). "
        "Which Var(w) keeps Var(s) = Var(x)?",
        lhs="Var(w)",
        topic="xavier",
        result="var_w",
        form="index",
        symbols=(N_IN,),
        accepted=("1/n_in", r"\frac{1}{n_{in}}", "n_in^-1", r"1/n_{\text{in}}"),
        mistakes=(
            ("2/n_in", "tutor:1"),
            ("1/sqrt(n_in)", "tutor:2"),
            ("n_in", "tutor:3"),
            ("1/(2 n_in)", "factor:1/2"),
        ),
        wrong=(
            WrongAnswer(
                "2/n_in", "2/n_in is He initialisation (for ReLU); Xavier keeps Var(s) = Var(x) with 1/n_in", 0.25
            ),
            WrongAnswer("1/sqrt(n_in)", "that is the standard deviation of w; the variance is its square", 0.5),
            WrongAnswer("n_in", "upside down: n_in Var(w) = 1", 0.0),
        ),
    )
)

declare(
    Exercise(
        id="glorot_var",
        title="Glorot initialisation: the compromise variance",
        section="Parameter initialization",
        prompt="The forward pass wants n_in Var(w) = 1, the backward pass n_out Var(w) = 1. "
        "Give Glorot and Bengio's compromise Var(w).",
        lhs="Var(w)",
        topic="glorot",
        result="var_w",
        form="index",
        symbols=(N_IN, S("n_out", (), "count", aliases=("nout", "n_{out}"), description="fan-out")),
        accepted=("2/(n_in + n_out)", r"\frac{2}{n_{in} + n_{out}}", "1/((n_in + n_out)/2)"),
        mistakes=(("1/(n_in + n_out)", "factor:1/2"), ("2/n_in", "tutor:1"), ("-2/(n_in + n_out)", "sign")),
        wrong=(
            WrongAnswer(
                "2/n_in", "that is He initialisation; Glorot averages fan-in and fan-out: 2/(n_in + n_out)", 0.25
            ),
        ),
    )
)


# ---------------------------------------------------------------------------
# Tutor exercises from TOML
# ---------------------------------------------------------------------------


def load_toml(path: str) -> list[Exercise]:
    """Exercises declared in a TOML file (``[[exercise]]`` tables; see docs/exercises.md).

    Every problem is reported as ``file:line: problem`` (a :class:`ValueError`).
    """
    from gradproof.derive.seminar.exercise_files import load

    return load(path)


class UnknownExercise(KeyError):
    def __init__(self, name: str, suggestions: list[str]):
        super().__init__(name)
        self.name = name
        self.suggestions = suggestions

    def __str__(self) -> str:
        msg = f"unknown exercise {self.name!r}"
        if self.suggestions:
            msg += "; did you mean " + ", ".join(self.suggestions) + "?"
        return msg + " (see `gradproof exercises`)"


def _available(ex: Exercise) -> bool:
    if not ex.topic:
        return True
    from gradproof.derive.lecture.registry import topics

    return ex.topic in {t.name for t in topics()}


def exercises() -> list[Exercise]:
    """Every exercise whose reference topic exists, then the tutor's (``GRADPROOF_EXERCISES``)."""
    out = [ex for ex in _BANK.values() if _available(ex)]
    path = os.environ.get("GRADPROOF_EXERCISES")
    if path:
        seen = {ex.id for ex in out}
        for ex in _load_cached(path, os.path.getmtime(path)):
            if ex.id in seen:
                raise ValueError(f"{path}: exercise {ex.id!r} is already in the bank")
            out.append(ex)
    return out


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, mtime: float):
    return tuple(load_toml(path))


def get(ex_id: str) -> Exercise:
    """One exercise by id (raises :class:`UnknownExercise` with suggestions).

    ``id@k`` is the exercise's variant ``k`` (see :meth:`Exercise.variant_for`).
    """
    bank = {ex.id: ex for ex in exercises()}
    base, at, k = ex_id.partition("@")
    if at and base in bank and k.isdigit() and int(k) < bank[base].n_variants:
        return bank[base].make_variant(int(k))
    try:
        return bank[ex_id]
    except KeyError:
        close = difflib.get_close_matches(ex_id, list(bank), n=3, cutoff=0.5)
        raise UnknownExercise(ex_id, close) from None


def pending() -> list[Exercise]:
    """Declared exercises whose reference topic is not (yet) in the registry."""
    return [ex for ex in _BANK.values() if not _available(ex)]


# The rest of the bank (every topic's exercises), declared the same way.
from gradproof.derive.seminar import bank as exercise_bank  # noqa: E402,F401
