"""The rest of the seminar bank: the topics the first exercises did not reach.

One declaration per exercise, as in :mod:`gradproof.derive.seminar.exercises`; references come
from the derivations (a result key, a derivation step, or a chain of results
evaluated at given numbers), never typed in.
"""

from __future__ import annotations

from gradproof.derive.seminar.answers import SymbolDecl as S
from gradproof.derive.seminar.exercise_kinds import Given, Link, NumericSpec, Option, Slip, Stage
from gradproof.derive.seminar.exercises import N_IN, Exercise, WrongAnswer, declare

# --- formula exercises ------------------------------------------------------

declare(
    Exercise(
        id="linear_neuron_grad_w",
        title="Linear neuron: parameter message",
        section="Linear neuron",
        prompt="A linear neuron yhat = X w (X is m x n, w is n x 1) receives Delta = dL/dyhat (m x 1). Give dL/dw.",
        lhs="dL/dw",
        topic="linear_neuron",
        result="grad:w",
        symbols=(S("X", ("m", "n")), S("w", ("n", 1)), S("Delta", ("m", 1), aliases=("D", "delta"))),
        accepted=("X^T Delta", "(Delta^T X)^T", "X.T @ Delta", r"X^\top \Delta"),
        mistakes=(("Delta^T X", "transposed"), ("-X^T Delta", "sign"), ("X^T Delta / m", "factor:1/m")),
        hints=("The neuron's output is a sum over inputs: the chain rule sums the messages over the m samples.",),
        letters=(("X", "A", "Phi"), ("w", "v", "theta")),
    )
)

declare(
    Exercise(
        id="linear_neuron_backward",
        title="Linear neuron: backward message",
        section="Linear neuron",
        prompt="A linear neuron yhat = X w (X is m x n, w is n x 1) receives Delta = dL/dyhat (m x 1). Give dL/dX.",
        lhs="dL/dX",
        topic="linear_neuron",
        result="backward",
        symbols=(S("X", ("m", "n")), S("w", ("n", 1)), S("Delta", ("m", 1), aliases=("D", "delta"))),
        accepted=("Delta w^T", "(w Delta^T)^T", "Delta @ w.T", r"\Delta w^\top"),
        mistakes=(("w Delta^T", "transposed"), ("-Delta w^T", "sign"), ("2 Delta w^T", "factor:2")),
        hints=("Each entry of the input meets one weight: d yhat_s / d x_sa = w_a.",),
    )
)

declare(
    Exercise(
        id="mse_grad",
        title="Mean squared error: gradient",
        section="Loss functions",
        prompt="L = (1/m) sum_i (y_i - yhat_i)^2 over m samples (yhat, y are m x 1). Give dL/dyhat.",
        lhs="dL/dyhat",
        topic="mse",
        result="backward",
        symbols=(S("yhat", ("m", 1), aliases=("y_hat", "z")), S("y", ("m", 1))),
        accepted=("2(yhat - y)/m", "(2/m)(yhat - y)", "-2(y - yhat)/m", "2 yhat/m - 2 y/m"),
        mistakes=(("2(yhat - y)", "tutor:1"), ("(yhat - y)/m", "factor:1/2"), ("2(y - yhat)/m", "sign")),
        wrong=(
            WrongAnswer("2(yhat - y)", "that is the gradient of the summed squared error; the mean divides by m", 0.5),
        ),
        hints=("Differentiate one summand; only the i-th term depends on yhat_i.",),
    )
)

declare(
    Exercise(
        id="mse_multi_grad",
        title="Mean squared error, several outputs: gradient",
        section="Loss functions",
        prompt="L = (1/m) sum_i sum_c (Y_ic - Yhat_ic)^2 (Yhat, Y are m x K). Give dL/dYhat.",
        lhs="dL/dYhat",
        topic="mse_multi",
        result="backward",
        symbols=(S("Yhat", ("m", "K"), aliases=("Y_hat", "Z")), S("Y", ("m", "K"))),
        accepted=("2(Yhat - Y)/m", "(2/m)(Yhat - Y)", "-2(Y - Yhat)/m", "2/m * Yhat - 2/m * Y"),
        mistakes=(
            ("2(Yhat - Y)", "factor:m"),
            ("(Yhat - Y)/m", "factor:1/2"),
            ("2(Y - Yhat)/m", "sign"),
            ("2(Yhat - Y)^T/m", "transposed"),
        ),
    )
)

declare(
    Exercise(
        id="bce_grad",
        title="Binary cross-entropy: the local derivative",
        section="Loss functions",
        prompt="For one sample, l(yhat) = -y log yhat - (1 - y) log(1 - yhat) with yhat in (0, 1). Give dl/dyhat.",
        lhs="dl/dyhat",
        topic="bce",
        result="local",
        form="index",
        symbols=(S("yhat", (), "prob", aliases=("y_hat", "p")), S("y", (), "binary")),
        reference_names=(("z", "yhat"),),
        accepted=("(yhat - y)/(yhat (1 - yhat))", "(1 - y)/(1 - yhat) - y/yhat", "-(y/yhat - (1 - y)/(1 - yhat))"),
        mistakes=(
            ("(y - yhat)/(yhat (1 - yhat))", "sign"),
            ("(yhat - y)/yhat", "missing-factor"),
            ("yhat - y", "tutor:1"),
        ),
        wrong=(
            WrongAnswer(
                "yhat - y",
                "that is dl/ds, the derivative in the logit s after the sigmoid; here the derivative is in yhat itself",
                0.0,
            ),
        ),
    )
)

declare(
    Exercise(
        id="cross_entropy_grad",
        title="Cross-entropy: the local derivative",
        section="Loss functions",
        prompt="For one sample, l = -sum_c y_c log yhat_c (one-hot y, yhat_c > 0, c = 1..K). Give dl/dyhat_k.",
        lhs="dl/dyhat_k",
        topic="cross_entropy",
        result="local",
        form="index",
        symbols=(
            S("yhat", ("K",), "prob", aliases=("p",)),
            S("y", ("K",), "binary"),
            S("k", domain="index", index_range="K"),
        ),
        reference_names=(("z", "yhat"), ("i", "k")),
        accepted=("-y_k/yhat_k", "-(1/yhat_k) y_k", "-y_k yhat_k^-1"),
        mistakes=(("y_k/yhat_k", "sign"), ("-y_k/(2 yhat_k)", "factor:1/2"), ("-1/yhat_k", "tutor:1")),
        wrong=(WrongAnswer("-1/yhat_k", "the target y_k is missing: only the true class (y_k = 1) contributes", 0.25),),
    )
)

declare(
    Exercise(
        id="fused_bce_local",
        title="Sigmoid and cross-entropy together, one sample",
        section="Loss functions",
        prompt="l(s) = -y log sigma(s) - (1 - y) log(1 - sigma(s)) for one sample with logit s and label y. Give dl/ds.",
        lhs="dl/ds",
        topic="fused_gradients",
        result="sigmoid_bce",
        form="index",
        symbols=(S("s", ()), S("y", (), "binary")),
        accepted=("sigma(s) - y", "-(y - sigma(s))", "sigma(s) - y*sigma(s) - y*(1 - sigma(s))"),
        mistakes=(("y - sigma(s)", "sign"), ("sigma(s)(1 - sigma(s))", "tutor:1"), ("2(sigma(s) - y)", "factor:2")),
        wrong=(
            WrongAnswer("sigma(s)(1 - sigma(s))", "that is sigma'(s) alone: multiply by dl/dyhat and simplify", 0.0),
        ),
    )
)

declare(
    Exercise(
        id="logistic_gradient_closed",
        title="Logistic regression: the gradient whose zero has no closed form",
        section="Logistic regression",
        prompt="For L(w) = -sum_i [y_i log sigma(x_i w) + (1 - y_i) log(1 - sigma(x_i w))], give dL/dw (n x 1) in X, w, y.",
        lhs="dL/dw",
        topic="logistic_no_closed_form",
        result="gradient",
        symbols=(S("X", ("m", "n")), S("w", ("n", 1)), S("y", ("m", 1), "binary")),
        accepted=("X^T (sigma(X w) - y)", "X^T sigma(X w) - X^T y", "-X^T (y - sigma(X w))"),
        mistakes=(
            ("X^T (y - sigma(X w))", "sign"),
            ("(sigma(X w) - y)^T X", "transposed"),
            ("X^T (sigma(X w) - y)/m", "factor:1/m"),
        ),
        letters=(("X", "A"), ("w", "v", "theta")),
    )
)

declare(
    Exercise(
        id="he_var",
        title="He initialisation: the weight variance for ReLU",
        section="Parameter initialization",
        prompt="ReLU halves the second moment of a zero-mean symmetric pre-activation. Which Var(w) keeps the "
        "pre-activation variance from layer to layer, for n_in inputs per neuron?",
        lhs="Var(w)",
        topic="he",
        result="var_w",
        form="index",
        symbols=(N_IN,),
        accepted=("2/n_in", r"\frac{2}{n_{in}}", "2 n_in^-1", "1/(n_in/2)"),
        mistakes=(("1/n_in", "tutor:1"), ("sqrt(2/n_in)", "tutor:2"), ("-2/n_in", "sign"), ("4/n_in", "factor:2")),
        wrong=(
            WrongAnswer(
                "1/n_in", "1/n_in is Xavier's rule; ReLU keeps only half of the second moment, so double it", 0.25
            ),
            WrongAnswer("sqrt(2/n_in)", "that is the standard deviation of w; the variance is its square", 0.5),
        ),
        hints=("E[max(0, s)^2] = Var(s)/2 for a zero-mean symmetric s.",),
    )
)

declare(
    Exercise(
        id="glorot_uniform",
        title="Glorot initialisation: the uniform limit",
        section="Parameter initialization",
        prompt="w ~ U(-a, a) has variance a^2/3. Give the a that makes Var(w) = 2/(n_in + n_out).",
        lhs="a",
        topic="glorot",
        result="uniform_limit",
        form="index",
        symbols=(N_IN, S("n_out", (), "count", aliases=("nout", "n_{out}"))),
        accepted=("sqrt(6/(n_in + n_out))", r"\sqrt{\frac{6}{n_{in} + n_{out}}}", "sqrt(6)/sqrt(n_in + n_out)"),
        mistakes=(
            ("sqrt(2/(n_in + n_out))", "tutor:1"),
            ("6/(n_in + n_out)", "tutor:2"),
            ("-sqrt(6/(n_in + n_out))", "sign"),
        ),
        wrong=(
            WrongAnswer(
                "sqrt(2/(n_in + n_out))",
                "that is the standard deviation; U(-a, a) has variance a^2/3, so a = sqrt(3 Var(w))",
                0.25,
            ),
            WrongAnswer("6/(n_in + n_out)", "that is a^2: take the square root", 0.5),
        ),
    )
)

declare(
    Exercise(
        id="map_laplace_lambda",
        title="MAP with a Laplace prior: the strength",
        section="Regularization",
        prompt="Gaussian noise with variance sigma^2 and a Laplace prior p(w_j) proportional to exp(-|w_j|/beta). "
        "Minimising 2 sigma^2 (-log posterior) gives (y - X w)^T (y - X w) + lambda sum_j |w_j|: give lambda.",
        lhs="lambda",
        topic="map_laplace",
        result="lambda",
        form="index",
        symbols=(S("sigma", (), "positive"), S("beta", (), "positive", aliases=("b",))),
        accepted=("2 sigma^2/beta", r"\frac{2\sigma^2}{\beta}", "2*sigma*sigma/beta"),
        mistakes=(("sigma^2/beta", "factor:1/2"), ("beta/(2 sigma^2)", "tutor:1"), ("2 sigma/beta", "missing-square")),
        wrong=(
            WrongAnswer(
                "beta/(2 sigma^2)", "upside down: lambda grows with the noise and shrinks with the prior's scale", 0.25
            ),
        ),
    )
)

declare(
    Exercise(
        id="bernoulli_loss",
        title="Maximum likelihood for a Bernoulli label: the loss per sample",
        section="Logistic regression",
        prompt="y in {0, 1} with p(y = 1) = yhat. Give the negative log-likelihood l(y, yhat) of one sample.",
        lhs="l(y, yhat)",
        topic="mle_bernoulli",
        result="loss",
        form="index",
        symbols=(S("y", (), "binary"), S("yhat", (), "prob", aliases=("y_hat", "p"))),
        accepted=(
            "-y log(yhat) - (1 - y) log(1 - yhat)",
            r"-(y\log(\hat{y}) + (1-y)\log(1-\hat{y}))",
            "-log(yhat^y (1 - yhat)^(1 - y))",
        ),
        mistakes=(
            ("y log(yhat) + (1 - y) log(1 - yhat)", "sign"),
            ("-y log(yhat)", "missing-term"),
            ("-(1 - y) log(yhat) - y log(1 - yhat)", "tutor:1"),
        ),
        wrong=(WrongAnswer("-(1 - y) log(yhat) - y log(1 - yhat)", "the labels are swapped: yhat is p(y = 1)", 0.0),),
    )
)

declare(
    Exercise(
        id="least_squares_hessian",
        title="Least squares: the Hessian",
        section="Linear neuron",
        prompt="L(w) = (y - X w)^T (y - X w). Give the Hessian d2L/dw dw^T (n x n).",
        lhs="d2L/dw dw^T",
        topic="least_squares",
        result="hessian",
        symbols=(S("X", ("m", "n")), S("y", ("m", 1))),
        accepted=("2 X^T X", "2 X.T @ X", "X^T X + X^T X", "2 (X^T X)^T"),
        mistakes=(("X^T X", "factor:1/2"), ("-2 X^T X", "sign"), ("2 X X^T", "shape")),
        letters=(("X", "A", "Phi"),),
    )
)

declare(
    Exercise(
        id="ridge_gradient",
        title="Ridge regression: the gradient",
        section="Regularization",
        prompt="L(w) = (y - X w)^T (y - X w) + lambda w^T w. Give dL/dw (n x 1).",
        lhs="dL/dw",
        topic="ridge",
        result="gradient",
        symbols=(S("X", ("m", "n")), S("y", ("m", 1)), S("w", ("n", 1)), S("lambda", (), "positive", aliases=("lam",))),
        accepted=("2 X^T (X w - y) + 2 lambda w", "2 X^T X w - 2 X^T y + 2 lambda w", "-2 X^T (y - X w) + 2 lambda w"),
        mistakes=(
            ("2 X^T (X w - y)", "missing-term"),
            ("2 X^T (X w - y) - 2 lambda w", "sign"),
            ("X^T (X w - y) + lambda w", "factor:1/2"),
        ),
        letters=(("X", "A"), ("w", "v", "theta")),
    )
)

declare(
    Exercise(
        id="ridge_hessian",
        title="Ridge regression: the Hessian",
        section="Regularization",
        prompt="L(w) = (y - X w)^T (y - X w) + lambda w^T w. Give d2L/dw dw^T (n x n); I is the n x n identity.",
        lhs="d2L/dw dw^T",
        topic="ridge",
        result="hessian",
        symbols=(S("X", ("m", "n")), S("I", ("n", "n"), "identity"), S("lambda", (), "positive", aliases=("lam",))),
        accepted=("2 (X^T X + lambda I)", "2 X^T X + 2 lambda I", r"2(X^\top X + \lambda I)"),
        mistakes=(("2 X^T X", "missing-term"), ("X^T X + lambda I", "factor:1/2"), ("2 (X^T X - lambda I)", "sign")),
    )
)

# --- multi-step exercises: the maximum-likelihood derivations -------------------

_LSQ = (S("X", ("m", "n")), S("y", ("m", 1)), S("w", ("n", 1)), S("sigma", (), "positive"))

declare(
    Exercise(
        id="mle_gaussian_steps",
        title="From Gaussian noise to least squares, in three steps",
        section="Linear neuron",
        kind="steps",
        prompt="y_i ~ N(x_i w, sigma^2) independently. (1) Write the negative log-likelihood L(w); (2) the gradient of "
        "the squared error (y - X w)^T (y - X w) it reduces to; (3) the w that sets it to zero.",
        lhs="L(w); dL/dw; w*",
        topic="mle_gaussian",
        result="nll",
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
        kind="steps",
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
        kind="steps",
        prompt="y_i in {0, 1} with p(y_i = 1) = yhat_i = sigma(s_i). (1) Write the negative log-likelihood of one sample, "
        "l(y, yhat); (2) its derivative in the logit, dl/ds (one sample, use s and y); (3) dL/dw of the summed loss "
        "for s = X w.",
        lhs="l; dl/ds; dL/dw",
        topic="mle_bernoulli",
        result="loss",
        symbols=(S("y", (), "binary"), S("yhat", (), "prob", aliases=("y_hat", "p")), S("s", ())),
        stages=(
            Stage("l(y, yhat)", "the per-sample negative log-likelihood", "mle_bernoulli", "loss", form="index"),
            Stage("dl/ds", "its derivative in the logit", "fused_gradients", "sigmoid_bce", form="index"),
            Stage(
                "dL/dw",
                "the gradient of the summed loss, with X (m x n), w, y and yhat = sigma(X w) as columns",
                "logistic_regression",
                "grad:w",
                symbols=(
                    S("X", ("m", "n")),
                    S("w", ("n", 1)),
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

# --- numeric items ------------------------------------------------------------------

_TWO_LAYER = NumericSpec(
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
        kind="numeric",
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
        kind="numeric",
        prompt="A ReLU layer A = max(0, Z) entrywise receives Delta = dL/dA. For the given Z and Delta (2 x 3), "
        "compute dL/dZ.",
        lhs="dL/dZ",
        topic="relu",
        result="backward",
        symbols=(),
        numeric=NumericSpec(
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
        kind="numeric",
        prompt="A leaky ReLU layer with alpha = 1/10 receives Delta = dL/dA. For the given Z and Delta (2 x 3), "
        "compute dL/dZ.",
        lhs="dL/dZ",
        topic="leaky_relu",
        result="backward",
        symbols=(),
        numeric=NumericSpec(
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
        kind="numeric",
        prompt="An affine layer Z' = Z W + b (b a 1 x K row added to every sample) receives Delta = dL/dZ' (3 x 2). "
        "Compute dL/db (1 x 2).",
        lhs="dL/db",
        topic="affine",
        result="grad:b",
        symbols=(),
        numeric=NumericSpec(
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
        kind="numeric",
        prompt="R(W) = lambda sum_ij |W_ij| with lambda = 1/2. For the given W (2 x 3, no zero entries) compute dR/dW.",
        lhs="dR/dW",
        topic="l1_penalty",
        result="grad:W",
        symbols=(),
        numeric=NumericSpec(
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

# --- conceptual items ------------------------------------------------------------------


def _choice(id, title, section, topic, prompt, options, hints=()):
    return declare(
        Exercise(
            id=id,
            title=title,
            section=section,
            kind="choice",
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
    )


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
        kind="numeric",
        prompt="A softmax layer P = softmax(Z), row by row, receives Delta = dL/dP. For the given Z and Delta (2 x 3), "
        "compute dL/dZ.",
        lhs="dL/dZ",
        topic="softmax",
        result="backward",
        symbols=(),
        numeric=NumericSpec(
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

# --- the lecture's statements ---------------------------------------------------------

declare(
    Exercise(
        id="sigmoid_complement",
        title="The logistic sigmoid: the other class's probability",
        section="Activation functions",
        prompt="sigma(s) = 1/(1 + exp(-s)). Give 1 - sigma(s) as one fraction in exp(s).",
        lhs="1 - sigma(s)",
        topic="sigmoid_forms",
        result="range",
        form="index",
        symbols=(S("s", ()),),
        accepted=("1/(exp(s) + 1)", "exp(-s)/(1 + exp(-s))", "sigma(-s)", r"\frac{1}{e^{s} + 1}"),
        mistakes=(("exp(s)/(exp(s) + 1)", "tutor:1"), ("-1/(exp(s) + 1)", "sign"), ("2/(exp(s) + 1)", "factor:2")),
        wrong=(
            WrongAnswer(
                "exp(s)/(exp(s) + 1)", "that is sigma(s) itself in its second form; 1 - sigma(s) = sigma(-s)", 0.0
            ),
        ),
        hints=("Write 1 as (exp(s) + 1)/(exp(s) + 1) and use the form sigma(s) = exp(s)/(exp(s) + 1).",),
    )
)

declare(
    Exercise(
        id="tanh_derivative_bound",
        title="The derivative of tanh, in tanh",
        section="Activation functions",
        prompt="Give tanh'(s) in terms of tanh(s); it shows 0 < tanh'(s) <= 1.",
        lhs="tanh'(s)",
        topic="activation_bounds",
        result="tanh_bound",
        form="index",
        symbols=(S("s", ()),),
        accepted=("1 - tanh(s)^2", "(1 - tanh(s))(1 + tanh(s))", "4/(exp(s) + exp(-s))^2", "cosh(s)^-2"),
        mistakes=(("tanh(s)^2 - 1", "sign"), ("tanh(s)(1 - tanh(s))", "tutor:1"), ("2(1 - tanh(s)^2)", "factor:2")),
        wrong=(
            WrongAnswer(
                "tanh(s)(1 - tanh(s))",
                "that is the sigmoid's pattern sigma (1 - sigma); for tanh the derivative is 1 minus the square",
                0.0,
            ),
        ),
        hints=("tanh = sinh/cosh; differentiate the quotient and use cosh^2 - sinh^2 = 1.",),
    )
)


_choice(
    "erm_choice",
    "What empirical risk minimisation minimises",
    "Neural networks overview",
    "erm",
    "Training data (x_i, y_i), i = 1..m, and a loss l. Which quantity does empirical risk minimisation minimise "
    "over the hypotheses h?",
    (
        Option(
            "a",
            "R(h) = 1/m sum_i l(y_i, h(x_i)), the mean loss on the training samples.",
            True,
            "Right: the empirical risk replaces the unknown expected loss by its average over the m samples; "
            "for the squared loss its minimiser is the Gaussian maximum-likelihood estimate.",
        ),
        Option(
            "b",
            "The largest loss max_i l(y_i, h(x_i)).",
            False,
            "That is a worst-case criterion; the empirical risk averages the losses.",
            "max-loss",
        ),
        Option(
            "c",
            "The expected loss over the true data distribution.",
            False,
            "That is the (true) risk; it is unknown, and ERM minimises its estimate from the samples.",
            "true-risk",
        ),
        Option(
            "d",
            "The number of misclassified training samples divided by the loss.",
            False,
            "The risk is a mean of the losses themselves, not a ratio with a count.",
            "ratio",
        ),
    ),
    hints=("'Empirical' means computed from the training samples.",),
)

_choice(
    "bias_trick_choice",
    "The bias as an extra input",
    "Neuron types",
    "bias_trick",
    "A neuron computes f(<w, x> + b). How does the lecture write it without a separate bias?",
    (
        Option(
            "a",
            "Prepend x0 = 1 to the input and w0 = b to the weights: f(<w', x'>).",
            True,
            "Right: <w', x'> = w0 * 1 + sum_i w_i x_i = <w, x> + b; for a layer, [1 Z] [b; W] = 1 b + Z W.",
        ),
        Option(
            "b",
            "Prepend x0 = 0 to the input and w0 = b to the weights.",
            False,
            "With x0 = 0 the term w0 x0 vanishes and the bias is lost: the extra input must be 1.",
            "zero-input",
        ),
        Option(
            "c",
            "Add b to every weight: w'_i = w_i + b.",
            False,
            "That adds b sum_i x_i, which depends on the input; the bias must be a constant.",
            "add-to-weights",
        ),
        Option(
            "d",
            "Multiply every input by b.",
            False,
            "That changes the slope, not the offset: the bias is an additive constant.",
            "scale-inputs",
        ),
    ),
    hints=("Which constant input, multiplied by w0, gives b?",),
)

declare(
    Exercise(
        id="sigmoid_near_zero",
        title="The sigmoid near zero is a linear neuron",
        section="Activation functions",
        prompt="Small weights keep the potential s near 0. Give the linear approximation of sigma(s) = 1/(1 + exp(-s)) "
        "there (the Taylor polynomial of degree 1 at s = 0).",
        lhs="sigma(s)",
        topic="linear_near_zero",
        result="sigmoid",
        form="index",
        symbols=(S("s", ()),),
        accepted=("1/2 + s/4", "(2 + s)/4", "0.5 + 0.25 s", r"\frac{1}{2} + \frac{s}{4}"),
        mistakes=(("1/2 + s/2", "tutor:1"), ("s", "tutor:2"), ("s/4", "tutor:3")),
        wrong=(
            WrongAnswer("1/2 + s/2", "the slope at 0 is sigma(0)(1 - sigma(0)) = 1/4, not 1/2", 0.25),
            WrongAnswer("s", "that is tanh near 0; the sigmoid is centred at 1/2 with slope 1/4", 0.0),
            WrongAnswer("s/4", "the offset sigma(0) = 1/2 is missing", 0.25),
        ),
        hints=("The Taylor polynomial of degree 1 is sigma(0) + sigma'(0) s.",),
    )
)

_choice(
    "relu_properties_choice",
    "The ReLU slide: dead units",
    "Activation functions",
    "relu_properties",
    "A hidden ReLU unit has a negative potential s < 0 on every training sample. What happens to its incoming "
    "weights under gradient descent?",
    (
        Option(
            "a",
            "They stop changing: f'(s) = 0 for s < 0, so every message through the unit is 0 (a dead unit).",
            True,
            "Right: the backward message is multiplied by f'(s) = 0 on every sample, so the weight "
            "gradient is 0 and the unit stays dead; a leaky ReLU (slope a on the negative side) avoids this.",
        ),
        Option(
            "b",
            "They grow without bound, because ReLU is unbounded.",
            False,
            "ReLU is unbounded above, for s > 0; for s < 0 its output and its derivative are 0.",
            "unbounded",
        ),
        Option(
            "c",
            "They change with gradient 1, as for s > 0.",
            False,
            "The derivative is 1 only for s > 0; for s < 0 it is 0.",
            "gradient-one",
        ),
        Option(
            "d",
            "They shrink slowly, as in a saturated sigmoid.",
            False,
            "A saturated sigmoid has a small but nonzero derivative; the ReLU's is exactly 0 for s < 0.",
            "saturated",
        ),
    ),
    hints=("What is the derivative of max(0, s) for s < 0?",),
)

_choice(
    "softmax_argmax_choice",
    "Classifying with softmax",
    "Softmax layer",
    "softmax_argmax",
    "yhat = softmax(s) over K classes. Which class has the largest yhat_k?",
    (
        Option(
            "a",
            "The class with the largest logit s_k: yhat_k / yhat_j = exp(s_k - s_j).",
            True,
            "Right: the denominators cancel in the ratio, and exp(s_k - s_j) > 1 exactly when s_k > s_j, so "
            "argmax_k yhat_k = argmax_k s_k; the softmax is not needed to classify.",
        ),
        Option(
            "b",
            "The class with the smallest logit.",
            False,
            "exp is increasing, so a smaller logit gives a smaller probability.",
            "smallest",
        ),
        Option(
            "c",
            "It depends on the sum of the logits.",
            False,
            "Adding a constant to every logit changes no ratio exp(s_k - s_j), so the sum does not matter.",
            "logit-sum",
        ),
        Option(
            "d",
            "The class with the largest |s_k|.",
            False,
            "A very negative logit has a large |s_k| but a probability near 0.",
            "absolute",
        ),
    ),
    hints=("Compare two outputs by their ratio.",),
)

_choice(
    "dag_reuse_choice",
    "A module used twice",
    "Computing loss gradients via backpropagation",
    "dag_reuse",
    "The same weights W are used in two places: S1 = X W and S2 = H1 W. What is dL/dW?",
    (
        Option(
            "a",
            "The sum of both uses' parameter messages: X^T Delta^{S1} + (H^1)^T Delta^{S2}.",
            True,
            "Right: W reaches L along two paths; the multivariate chain rule sums over both, and each term is "
            "the linear layer's parameter message at that use.",
        ),
        Option(
            "b",
            "Only the message of the last use, (H^1)^T Delta^{S2}.",
            False,
            "That drops the path through S1; every use of W contributes.",
            "last-use",
        ),
        Option(
            "c",
            "The mean of the two messages.",
            False,
            "The chain rule adds the contributions; it does not average them.",
            "mean",
        ),
        Option(
            "d",
            "Their product X^T Delta^{S1} (H^1)^T Delta^{S2}.",
            False,
            "Contributions along different paths add; products arise only along one path.",
            "product",
        ),
    ),
    hints=("Write the chain rule with a sum over all paths from W to L.",),
)

_choice(
    "rnn_bptt_choice",
    "Backpropagation through time",
    "Computing loss gradients via backpropagation",
    "rnn_bptt",
    "An RNN h_t = tanh(x_t U + h_{t-1} V + b), yhat_t = h_t W is unrolled over t = 1..T. Which message reaches h_t?",
    (
        Option(
            "a",
            "delta(h_t) = delta(yhat_t) W^T + delta(s_{t+1}) V^T, with delta(s_{T+1}) = 0.",
            True,
            "Right: h_t feeds the output at step t and the next step's potential, so the two messages add; "
            "the gradients of U, V, W then sum the per-step parameter messages over t.",
        ),
        Option(
            "b",
            "delta(h_t) = delta(yhat_t) W^T only.",
            False,
            "That ignores that h_t feeds step t + 1: the message from the future is missing.",
            "no-future",
        ),
        Option(
            "c",
            "delta(h_t) = delta(s_{t+1}) V^T only.",
            False,
            "That ignores the loss at step t itself: the output's message is missing.",
            "no-output",
        ),
        Option(
            "d",
            "delta(h_t) = delta(yhat_t) W^T delta(s_{t+1}) V^T, a product of the two.",
            False,
            "Messages along different paths add, they do not multiply.",
            "product",
        ),
    ),
    hints=("Draw the unrolled graph: where does h_t go?",),
)

_choice(
    "gradient_descent_choice",
    "Why a small gradient step decreases the loss",
    "Gradient Descent",
    "gradient_descent",
    "theta' = theta - alpha grad L(theta). What is d/dalpha L(theta - alpha grad L(theta)) at alpha = 0?",
    (
        Option(
            "a",
            "-||grad L(theta)||^2, negative unless the gradient is 0.",
            True,
            "Right: by the chain rule the derivative is grad L^T (-grad L); so a small enough step decreases L.",
        ),
        Option(
            "b",
            "||grad L(theta)||^2, so the step increases L.",
            False,
            "The sign is lost: the step goes against the gradient.",
            "sign",
        ),
        Option(
            "c",
            "0, since theta is not a minimum.",
            False,
            "The derivative along the step is 0 only where the gradient itself is 0.",
            "zero",
        ),
        Option(
            "d",
            "-||grad L(theta)||, the norm without its square.",
            False,
            "The chain rule gives the inner product of the gradient with itself, the squared norm.",
            "no-square",
        ),
    ),
    hints=("Apply the chain rule to alpha -> theta - alpha grad L(theta) -> L.",),
)

declare(
    Exercise(
        id="backward_gain",
        title="The gain of the backward message per layer",
        section="Parameter initialization",
        prompt="In a deep tanh net each neuron has n outputs to the next layer, with independent zero-mean weights of "
        "variance sigma_0^2; q = E[tanh'(s)^2]. Var(delta^l) = g Var(delta^{l+1}): give the gain g.",
        lhs="g",
        topic="vanishing_gradient",
        result="gain",
        form="index",
        symbols=(S("n", (), "count"), S("q", (), "positive"), S("sigma_0", (), "positive", aliases=("sigma0",))),
        accepted=("n q sigma_0^2", "q n sigma_0 sigma_0", r"n q \sigma_0^2", "(sqrt(n q) sigma_0)^2"),
        mistakes=(("n q sigma_0", "tutor:1"), ("q sigma_0^2", "tutor:2"), ("n sigma_0^2", "tutor:3")),
        wrong=(
            WrongAnswer(
                "n q sigma_0", "sigma_0 is the standard deviation of the weights; the variance sigma_0^2 enters", 0.25
            ),
            WrongAnswer("q sigma_0^2", "the n terms of the sum over the next layer each add their variance", 0.25),
            WrongAnswer(
                "n sigma_0^2",
                "that holds only near s = 0, where tanh' = 1; in general the mean squared derivative q multiplies",
                0.5,
            ),
        ),
        hints=("delta_i = sum_j w_ij tanh'(s_j) delta_j: variances of independent zero-mean terms add.",),
    )
)

_choice(
    "randomised_inputs_choice",
    "Noise on the inputs",
    "Regularization",
    "randomised_inputs",
    "Each input x gets zero-mean noise eps with covariance sigma_eps^2 I before the linear model w^T x. "
    "What does the expected squared error become?",
    (
        Option(
            "a",
            "(y - w^T x)^2 + sigma_eps^2 ||w||^2: the squared error plus weight decay.",
            True,
            "Right: the cross term has E(eps) = 0, and E(w^T eps eps^T w) = sigma_eps^2 w^T w; over m samples "
            "this is ridge regression with lambda = m sigma_eps^2.",
        ),
        Option(
            "b",
            "(y - w^T x)^2, since the noise has zero mean.",
            False,
            "Zero mean removes the cross term only; the noise's variance remains as sigma_eps^2 ||w||^2.",
            "no-penalty",
        ),
        Option(
            "c",
            "(y - w^T x)^2 + sigma_eps^2 sum_j |w_j|: an L1 penalty.",
            False,
            "The noise enters squared, so the penalty is quadratic in w, not absolute values.",
            "l1",
        ),
        Option(
            "d",
            "(y - w^T x)^2 + sigma_eps^2, a constant offset.",
            False,
            "The noise is multiplied by w before it is squared, so the penalty depends on w.",
            "constant",
        ),
    ),
    hints=("Expand (y - w^T x - w^T eps)^2 and take the expectation term by term.",),
)

declare(
    Exercise(
        id="mlp_first_layer_grad",
        title="The lecture's MLP: the first layer's weight gradient",
        section="Computing loss gradients via backpropagation",
        prompt="In the lecture's MLP (affine, tanh, affine, tanh, affine, softmax with cross-entropy) the first affine "
        "layer Z2 = Z1 W1 + b1 (Z1 is the m x n input, W1 is n x h_1) receives Delta2 = dL/dZ2 (m x h_1). "
        "Give dL/dW1.",
        lhs="dL/dW1",
        topic="mlp_backprop",
        result="grad:W^1",
        symbols=(S("Z1", ("m", "n"), aliases=("X",)), S("Delta2", ("m", "h_1"), aliases=("D2",))),
        dims=(("m", 5), ("n", 3), ("K", 4), ("h_1", 2)),
        symbolic_dims=(("m", 2), ("n", 3), ("K", 3), ("h_1", 2)),
        accepted=("Z1^T Delta2", "(Delta2^T Z1)^T", "Z1.T @ Delta2", r"Z1^\top Delta2"),
        mistakes=(("Delta2^T Z1", "transposed"), ("-Z1^T Delta2", "sign"), ("Z1^T Delta2 / m", "factor:1/m")),
        hints=(
            "The affine module's parameter message does not change inside a deeper net: only its input and its "
            "upstream message are the layer's own.",
        ),
    )
)
