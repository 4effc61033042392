"""Conceptual items: one question, options with their explanations."""

from __future__ import annotations

from gradproof.derive.seminar.answers import SymbolDecl as S
from gradproof.derive.seminar.exercise import Exercise, Given, Link, NumericProblem, Option, Slip

EXERCISES: list = []
declare = EXERCISES.append


def choice_exercise(id, title, section, topic, prompt, options, hints=()) -> Exercise:
    """A conceptual item: ``options`` are :class:`Option` s, exactly one of them correct."""
    return Exercise(
        id=id,
        title=title,
        section=section,
        answer_type="choice",
        topic=topic,
        result="",
        prompt=prompt,
        lhs="one letter",
        symbols=(),
        options=options,
        hints=hints,
        accepted=(),
        mistakes=(),
    )


def _choice(*args, **kw) -> None:
    declare(choice_exercise(*args, **kw))


_choice(
    "symmetry_choice",
    "Why a constant initialisation fails",
    "Parameter initialization",
    "symmetry",
    "All weights of a hidden layer start at the same constant. Why does gradient descent not recover?",
    (
        Option(
            "a",
            "The gradient is zero, so nothing moves.",
            False,
            "No: the gradients are generally nonzero; they are equal for all hidden units, which is the problem.",
            "zero-gradient",
        ),
        Option(
            "b",
            "Every hidden unit gets the same delta and the same weight gradient, so the units stay identical.",
            True,
            "Right: with equal weights s_j, h_j and V_j. coincide, so delta_j = delta_1 and dL/dW_ij "
            "= x_i delta_j gives equal columns; one step keeps them equal, and so does every later step.",
        ),
        Option(
            "c",
            "The loss is not convex, so gradient descent gets stuck.",
            False,
            "Non-convexity is not the reason: even a perfect optimiser cannot separate units that receive "
            "identical updates.",
            "nonconvex",
        ),
        Option(
            "d",
            "The constant makes the activations saturate.",
            False,
            "Saturation depends on the size of the constant; the failure does not: any constant, small or "
            "large, keeps the units identical.",
            "saturation",
        ),
    ),
    hints=("Compare delta_1 and delta_2 when every column of W is the same.",),
)

_choice(
    "perceptron_choice",
    "Why gradient descent cannot train the perceptron",
    "Neuron models",
    "perceptron",
    "The perceptron outputs step(s) in {-1, 1}. What goes wrong when we backpropagate through it?",
    (
        Option(
            "a",
            "The derivative of step is 0 wherever it exists, so every backward message is 0.",
            True,
            "Right: d step(s)/ds = 0 for s != 0 (and is undefined at 0), so Delta_in = 0 and no weight "
            "receives a gradient.",
        ),
        Option(
            "b",
            "The derivative of step is 1, so the gradient ignores the activation.",
            False,
            "No: step is flat on both sides of 0; its derivative is 0, not 1 (that would be the identity).",
            "derivative-one",
        ),
        Option(
            "c",
            "The step function cannot be computed on a GPU.",
            False,
            "It can be computed anywhere; the problem is its derivative, not its evaluation.",
            "compute",
        ),
        Option(
            "d",
            "The outputs -1 and 1 are not probabilities.",
            False,
            "That matters for the choice of loss, but even with a suitable loss the backward message through "
            "step is 0.",
            "not-probability",
        ),
    ),
)

_choice(
    "softmax_simplex_choice",
    "What softmax outputs are",
    "Softmax layer",
    "softmax_simplex",
    "sigma_k(s) = exp(s_k) / sum_c exp(s_c) for k = 1..K. Which statement holds for every real s?",
    (
        Option(
            "a",
            "Each sigma_k lies in [0, 1], and some may be exactly 0.",
            False,
            "exp(s_c) > 0 for every real s_c, so no output is exactly 0: the range is the open interval.",
            "closed-range",
        ),
        Option(
            "b",
            "The outputs sum to 1 and each lies strictly between 0 and 1.",
            True,
            "Right: summing over k the numerators add up to the denominator, so the sum is 1; every term is "
            "positive, so 0 < sigma_k < 1.",
        ),
        Option(
            "c",
            "The outputs sum to 1 only when the logits sum to 0.",
            False,
            "The sum is 1 for every s: the denominator does not depend on k.",
            "logits-sum",
        ),
        Option(
            "d",
            "The largest output is always 1.",
            False,
            "Only in the limit of one logit far above the others; for finite logits every output is below 1.",
            "max-one",
        ),
    ),
)

_choice(
    "categorical_mle_choice",
    "Which likelihood gives the multinomial cross-entropy",
    "Softmax layer",
    "mle_categorical",
    "Minimising -sum_i sum_c y_ic log yhat_ic with yhat_i = softmax(s_i) is maximum likelihood under which model?",
    (
        Option(
            "a",
            "y_i one-hot, drawn from a categorical distribution with probabilities yhat_i.",
            True,
            "Right: p(y_i | yhat_i) = prod_c yhat_ic^y_ic; the negative log of the product over independent "
            "samples is the cross-entropy.",
        ),
        Option(
            "b",
            "y_i Gaussian around yhat_i with unit variance.",
            False,
            "A Gaussian likelihood gives the squared error, not the cross-entropy.",
            "gaussian",
        ),
        Option(
            "c",
            "Each y_ic an independent Bernoulli variable with p = yhat_ic.",
            False,
            "Independent Bernoulli outputs would add (1 - y) log(1 - yhat) terms; one-hot classes are one "
            "categorical draw.",
            "bernoulli",
        ),
        Option(
            "d",
            "A Laplace distribution on the logits.",
            False,
            "A Laplace prior gives the L1 penalty; the likelihood here is over the classes.",
            "laplace",
        ),
    ),
)

_choice(
    "no_closed_form_choice",
    "Why logistic regression has no closed form",
    "Logistic regression",
    "logistic_no_closed_form",
    "Setting dL/dw = X^T (sigma(X w) - y) = 0 does not give w in closed form. Why?",
    (
        Option(
            "a",
            "The equation is nonlinear in w: w sits inside sigma, unlike X^T X w = X^T y.",
            True,
            "Right: least squares gives a linear system; here X^T sigma(X w) = X^T y is transcendental in w "
            "and is solved iteratively (gradient descent, Newton).",
        ),
        Option(
            "b",
            "X^T X is never invertible.",
            False,
            "Invertibility of X^T X is the least-squares question; it is not the obstacle here.",
            "invertible",
        ),
        Option(
            "c",
            "The gradient is not defined for binary y.",
            False,
            "The gradient is defined for every y in {0, 1}; the difficulty is solving it for w.",
            "undefined",
        ),
        Option(
            "d",
            "The loss has no minimum at all.",
            False,
            "It does for non-separable data; only separable data pushes w to infinity.",
            "no-minimum",
        ),
    ),
)

declare(
    Exercise(
        id="softmax_backward_numbers",
        title="Softmax layer: the backward message, by hand",
        section="Softmax layer",
        answer_type="numeric",
        prompt="A softmax layer P = softmax(Z), row by row, receives Delta = dL/dP. For the given Z and Delta (2 x 3), "
        "compute dL/dZ.",
        lhs="dL/dZ",
        topic="softmax",
        result="backward",
        symbols=(),
        numeric=NumericProblem(
            given=(Given("Z", (2, 3), "half"), Given("Delta", (2, 3))),
            chain=(
                Link("P", "softmax", "forward", (("Z", "Z"),)),
                Link("dZ", "softmax", "backward", (("P", "P"), ("Delta", "Delta"))),
            ),
            slips=(
                Slip(
                    "diagonal-only",
                    "only the diagonal of the softmax Jacobian was used "
                    "(p_k (1 - p_k), as for a sigmoid); the off-diagonal terms -p_j p_k are missing",
                    chain=(
                        Link("P", "softmax", "forward", (("Z", "Z"),)),
                        Link("dZ", "sigmoid", "backward", (("A", "P"), ("Delta", "Delta"))),
                    ),
                ),
                Slip("missing-prime", "the Jacobian of the softmax is missing", given="Delta"),
            ),
        ),
        accepted=(),
        mistakes=(("sign", "sign"), ("slip:0", "diagonal-only"), ("slip:1", "missing-prime")),
        hints=("dL/dz_a = p_a (delta_a - sum_j delta_j p_j), row by row.",),
    )
)

declare(
    Exercise(
        id="affine_backward",
        title="Affine layer: backward message",
        section="Backpropagation",
        prompt="An affine layer Z' = Z W + b (Z is m x n, W is n x K, b a 1 x K row) receives Delta = dL/dZ' (m x K). "
        "Give dL/dZ.",
        lhs="dL/dZ",
        topic="affine",
        result="backward",
        symbols=(S("Z", ("m", "n")), S("W", ("n", "K")), S("Delta", ("m", "K"), aliases=("D", "delta"))),
        accepted=("Delta W^T", "(W Delta^T)^T", "Delta @ W.T"),
        mistakes=(("W Delta^T", "transposed"), ("-Delta W^T", "sign"), ("Delta W^T / m", "factor:1/m")),
        hints=("The bias does not depend on Z: only Z W contributes.",),
        letters=(("W", "V", "Theta"), ("Z", "H")),
    )
)
