"""Numeric items: derivations' results evaluated exactly at small given matrices (a two-layer net by hand, messages)."""

from __future__ import annotations

from gradproof.derive.seminar.exercise import Exercise, Given, Link, NumericProblem, Slip

EXERCISES: list = []
declare = EXERCISES.append

_TWO_LAYER = NumericProblem(
    given=(Given("x", (1, 3), "half"), Given("W1", (3, 2), "half"), Given("W2", (2, 1)), Given("y", (1, 1))),
    chain=(
        Link("s", "linear", "forward", (("Z", "x"), ("W", "W1"))),
        Link("h", "sigmoid", "forward", (("Z", "s"),)),
        Link("yhat", "linear", "forward", (("Z", "h"), ("W", "W2"))),
        Link("d_yhat", "squared_error", "backward", (("yhat", "yhat"), ("y", "y"))),
        Link("d_h", "linear", "backward", (("Delta", "d_yhat"), ("W", "W2"))),
        Link("delta", "sigmoid", "backward", (("Delta", "d_h"), ("A", "h"))),
    ),
    slips=(
        Slip(
            "missing-sigma-prime",
            "the factor sigma'(s) = h (1 - h) is missing: that is dL/dh, one step short",
            chain=(
                Link("s", "linear", "forward", (("Z", "x"), ("W", "W1"))),
                Link("h", "sigmoid", "forward", (("Z", "s"),)),
                Link("yhat", "linear", "forward", (("Z", "h"), ("W", "W2"))),
                Link("d_yhat", "squared_error", "backward", (("yhat", "yhat"), ("y", "y"))),
                Link("d_h", "linear", "backward", (("Delta", "d_yhat"), ("W", "W2"))),
            ),
        ),
    ),
)

declare(
    Exercise(
        id="two_layer_delta",
        title="Backpropagation by hand: delta of a two-layer net",
        section="Backpropagation",
        answer_type="numeric",
        prompt="The net s = x W1, h = sigma(s) (entrywise), yhat = h W2, with the squared error L = (y - yhat)^2. "
        "For the given x, W1, W2, y compute delta = dL/ds (1 x 2).",
        lhs="delta = dL/ds",
        topic="sigmoid",
        result="backward",
        symbols=(),
        numeric=_TWO_LAYER,
        accepted=(),
        mistakes=(("sign", "sign"), ("transposed", "transposed"), ("slip:0", "missing-sigma-prime")),
        hints=(
            "Forward: s = x W1, h = sigma(s), yhat = h W2. Backward: dL/dyhat = 2 (yhat - y).",
            "Then dL/dh = dL/dyhat W2^T, and through the sigmoid delta = dL/dh .* h .* (1 - h).",
        ),
    )
)

declare(
    Exercise(
        id="relu_backward_numbers",
        title="ReLU layer: the backward message, by hand",
        section="Activation functions",
        answer_type="numeric",
        prompt="A ReLU layer A = max(0, Z) entrywise receives Delta = dL/dA. For the given Z and Delta (2 x 3), "
        "compute dL/dZ.",
        lhs="dL/dZ",
        topic="relu",
        result="backward",
        symbols=(),
        numeric=NumericProblem(
            given=(Given("Z", (2, 3)), Given("Delta", (2, 3))),
            chain=(Link("dZ", "relu", "backward", (("Z", "Z"), ("Delta", "Delta"))),),
            slips=(
                Slip(
                    "missing-relu-prime",
                    "the ReLU's derivative [[z > 0]] is missing: the message passes only where z > 0",
                    given="Delta",
                ),
                Slip(
                    "relu-of-delta",
                    "that is max(0, Delta): the mask comes from Z, not from Delta",
                    chain=(Link("dZ", "relu", "forward", (("Z", "Delta"),)),),
                ),
            ),
        ),
        accepted=(),
        mistakes=(("sign", "sign"), ("slip:0", "missing-relu-prime"), ("slip:1", "relu-of-delta")),
        hints=("relu'(z) is 1 where z > 0 and 0 where z < 0.",),
    )
)

declare(
    Exercise(
        id="leaky_relu_backward_numbers",
        title="Leaky ReLU layer: the backward message, by hand",
        section="Activation functions",
        answer_type="numeric",
        prompt="A leaky ReLU layer with alpha = 1/10 receives Delta = dL/dA. For the given Z and Delta (2 x 3), "
        "compute dL/dZ.",
        lhs="dL/dZ",
        topic="leaky_relu",
        result="backward",
        symbols=(),
        numeric=NumericProblem(
            given=(Given("Z", (2, 3)), Given("Delta", (2, 3))),
            scalars=(("alpha", "1/10"),),
            chain=(Link("dZ", "leaky_relu", "backward", (("Z", "Z"), ("Delta", "Delta"))),),
            slips=(
                Slip(
                    "missing-alpha",
                    "the slope alpha on the negative side is missing: that is the plain ReLU's message",
                    chain=(Link("dZ", "relu", "backward", (("Z", "Z"), ("Delta", "Delta"))),),
                ),
                Slip("missing-prime", "the derivative of the activation is missing", given="Delta"),
            ),
        ),
        accepted=(),
        mistakes=(("sign", "sign"), ("slip:0", "missing-alpha"), ("slip:1", "missing-prime")),
    )
)

declare(
    Exercise(
        id="affine_bias_numbers",
        title="Affine layer: the bias gradient, by hand",
        section="Backpropagation",
        answer_type="numeric",
        prompt="An affine layer Z' = Z W + b (b a 1 x K row added to every sample) receives Delta = dL/dZ' (3 x 2). "
        "Compute dL/db (1 x 2).",
        lhs="dL/db",
        topic="affine",
        result="grad:b",
        symbols=(),
        numeric=NumericProblem(
            given=(Given("Delta", (3, 2)),),
            chain=(Link("db", "affine", "grad:b", (("Delta", "Delta"),)),),
            slips=(
                Slip(
                    "no-sum",
                    "the bias meets every sample: sum Delta over the samples (rows), do not copy it",
                    given="Delta",
                ),
            ),
        ),
        accepted=(),
        mistakes=(("sign", "sign"), ("transposed", "transposed"), ("slip:0", "no-sum")),
        hints=("b is added to every row of Z W: its gradient collects the messages of all m rows.",),
    )
)

declare(
    Exercise(
        id="l1_grad_numbers",
        title="L1 penalty: the (sub)gradient, by hand",
        section="Regularization",
        answer_type="numeric",
        prompt="R(W) = lambda sum_ij |W_ij| with lambda = 1/2. For the given W (2 x 3, no zero entries) compute dR/dW.",
        lhs="dR/dW",
        topic="l1_penalty",
        result="grad:W",
        symbols=(),
        numeric=NumericProblem(
            given=(Given("W", (2, 3)),),
            scalars=(("lam", "1/2"),),
            chain=(Link("dW", "l1_penalty", "grad:W", (("W", "W"),)),),
            slips=(
                Slip(
                    "l2-gradient",
                    "that is the L2 penalty's gradient 2 lambda W; |w| has slope sign(w)",
                    chain=(Link("dW", "l2_penalty", "grad:W", (("W", "W"),)),),
                ),
            ),
        ),
        accepted=(),
        mistakes=(("sign", "sign"), ("factor:2", "factor:2"), ("slip:0", "l2-gradient")),
    )
)
