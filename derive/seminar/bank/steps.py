"""Multi-step exercises: the maximum-likelihood derivations, each step checked against the derivation."""

from __future__ import annotations

from gradproof.derive.seminar.answers import SymbolDecl as S
from gradproof.derive.seminar.bank.core import bias_dims
from gradproof.derive.seminar.exercise import SYMBOLIC_DIMS, Exercise, Stage, WrongAnswer

EXERCISES: list = []
declare = EXERCISES.append

# X holds the column of ones x_0 = 1 and n features: m x (n + 1), n1 = n + 1
_LSQ = (
    S("X", ("m", "n1"), description="x_0 = 1 and n features: n1 = n + 1 columns"),
    S("y", ("m", 1)),
    S("w", ("n1", 1)),
    S("sigma", (), "positive"),
)

declare(
    Exercise(
        id="mle_gaussian_steps",
        title="From Gaussian noise to least squares, in three steps",
        section="Linear neuron",
        answer_type="steps",
        prompt="y_i ~ N(x_i w, sigma^2) independently. (1) Write the negative log-likelihood L(w); (2) the gradient of "
        "the squared error (y - X w)^T (y - X w) it reduces to; (3) the w that sets it to zero.",
        lhs="L(w); dL/dw; w*",
        topic="mle_gaussian",
        result="nll",
        dims=bias_dims(),
        symbolic_dims=bias_dims(SYMBOLIC_DIMS),
        symbols=_LSQ,
        stages=(
            Stage("L(w)", "the negative log-likelihood", "mle_gaussian", "nll"),
            Stage("dL/dw", "the gradient of (y - X w)^T (y - X w)", "least_squares", "gradient"),
            Stage("w*", "the least-squares solution", "least_squares", "solution"),
        ),
        accepted=(
            "(m/2) log(2 pi sigma^2) + (y - X w)^T (y - X w)/(2 sigma^2); 2 X^T (X w - y); inv(X^T X) X^T y",
            "m log(2 pi sigma^2)/2 + norm(y - X w)^2/(2 sigma^2); -2 X^T (y - X w); (X'X)^-1 X'y",
            "(m/2) log(2 pi) + m log(sigma) + (y - X w)^T (y - X w)/(2 sigma^2)\n2 X^T X w - 2 X^T y\n"
            "(X^T X)^{-1} X^T y",
        ),
        mistakes=(
            (
                "(m/2) log(2 pi sigma^2) - (y - X w)^T (y - X w)/(2 sigma^2); 2 X^T (X w - y); inv(X^T X) X^T y",
                "step1:sign",
            ),
            (
                "(m/2) log(2 pi sigma^2) + (y - X w)^T (y - X w)/(2 sigma^2); 2 X^T (y - X w); inv(X^T X) X^T y",
                "step2:sign",
            ),
            (
                "(m/2) log(2 pi sigma^2) + (y - X w)^T (y - X w)/(2 sigma^2); 2 X^T (X w - y); inv(X^T X) X y",
                "step3:transposed",
            ),
        ),
        hints=(
            "The log of a product of densities is the sum of their logs.",
            "Only the squared error depends on w; the constant and the positive factor 1/(2 sigma^2) do not move "
            "the minimum.",
        ),
        letters=(("X", "A"),),
    )
)

declare(
    Exercise(
        id="mle_sigma2_steps",
        title="The maximum-likelihood noise variance, in three steps",
        section="Linear neuron",
        answer_type="steps",
        prompt="With RSS = (y - X w)^T (y - X w) fixed: (1) write the negative log-likelihood L(sigma); (2) its derivative "
        "dL/dsigma; (3) the sigma^2 that sets it to zero.",
        lhs="L(sigma); dL/dsigma; sigma^2",
        topic="mle_sigma2",
        result="sigma2",
        symbols=(S("sigma", (), "positive"), S("m", (), "count"), S("RSS", (), "positive")),
        stages=(
            Stage("L(sigma)", "the negative log-likelihood in sigma", "mle_sigma2", "step:L(sigma)", form="index"),
            Stage("dL/dsigma", "its derivative in sigma", "mle_sigma2", "step:dL/dsigma", form="index"),
            Stage(
                "sigma^2",
                "the maximum-likelihood variance",
                "mle_sigma2",
                "sigma2",
                form="index",
                wrong=(
                    WrongAnswer("RSS/(m - 1)", "that is the unbiased estimator; maximum likelihood divides by m", 0.5),
                ),
            ),
        ),
        accepted=(
            "m log(sigma) + (m/2) log(2 pi) + RSS/(2 sigma^2); m/sigma - RSS/sigma^3; RSS/m",
            "(m/2) log(2 pi sigma^2) + RSS/(2 sigma^2); (m sigma^2 - RSS)/sigma^3; RSS/m",
            "m log(sigma) + m log(2 pi)/2 + RSS sigma^-2/2; m/sigma - RSS sigma^-3; (1/m) RSS",
        ),
        mistakes=(
            ("m log(sigma) + (m/2) log(2 pi) - RSS/(2 sigma^2); m/sigma - RSS/sigma^3; RSS/m", "step1:sign"),
            ("m log(sigma) + (m/2) log(2 pi) + RSS/(2 sigma^2); m/sigma + RSS/sigma^3; RSS/m", "step2:sign"),
            ("m log(sigma) + (m/2) log(2 pi) + RSS/(2 sigma^2); m/sigma - RSS/sigma^3; RSS/(m - 1)", "step3:tutor:1"),
        ),
        hints=("Treat RSS as a constant: only sigma varies.",),
    )
)

declare(
    Exercise(
        id="mle_bernoulli_steps",
        title="From Bernoulli labels to the logistic-regression gradient",
        section="Logistic regression",
        answer_type="steps",
        prompt="y_i in {0, 1} with p(y_i = 1) = yhat_i = sigma(s_i). (1) Write the negative log-likelihood of one sample, "
        "l(y, yhat); (2) its derivative in the logit, dl/ds (one sample, use s and y); (3) dL/dw of the summed loss "
        "for s = X w.",
        lhs="l; dl/ds; dL/dw",
        topic="mle_bernoulli",
        result="loss",
        dims=bias_dims(),
        symbolic_dims=bias_dims(SYMBOLIC_DIMS),
        symbols=(S("y", (), "binary"), S("yhat", (), "prob", aliases=("y_hat", "p")), S("s", ())),
        stages=(
            Stage("l(y, yhat)", "the per-sample negative log-likelihood", "mle_bernoulli", "loss", form="index"),
            Stage("dl/ds", "its derivative in the logit", "fused_gradients", "sigmoid_bce", form="index"),
            Stage(
                "dL/dw",
                "the gradient of the summed loss, with X (m x (n+1): x_0 = 1 and n features), w, y and yhat = sigma(X w) "
                "as columns",
                "logistic_regression",
                "grad:w",
                symbols=(
                    S("X", ("m", "n1"), description="x_0 = 1 and n features: n1 = n + 1 columns"),
                    S("w", ("n1", 1)),
                    S("y", ("m", 1), "binary"),
                    S("yhat", ("m", 1), aliases=("y_hat", "p"), definition="sigma(X w)"),
                ),
            ),
        ),
        accepted=(
            "-y log(yhat) - (1 - y) log(1 - yhat); sigma(s) - y; X^T (yhat - y)",
            "-(y log(yhat) + (1 - y) log(1 - yhat)); -(y - sigma(s)); X^T yhat - X^T y",
            "-log(yhat^y (1 - yhat)^(1 - y))\nsigma(s) - y\nX^T (sigma(X w) - y)",
        ),
        mistakes=(
            ("y log(yhat) + (1 - y) log(1 - yhat); sigma(s) - y; X^T (yhat - y)", "step1:sign"),
            ("-y log(yhat) - (1 - y) log(1 - yhat); y - sigma(s); X^T (yhat - y)", "step2:sign"),
            ("-y log(yhat) - (1 - y) log(1 - yhat); sigma(s) - y; (yhat - y)^T X", "step3:transposed"),
        ),
        hints=(
            "p(y | yhat) = yhat^y (1 - yhat)^(1 - y) covers both labels at once.",
            "sigma'(s) = sigma(s)(1 - sigma(s)) cancels the denominators of dl/dyhat.",
        ),
    )
)
