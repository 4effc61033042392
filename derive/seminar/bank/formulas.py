"""Formula exercises for the topics the first exercises did not reach: neurons, losses, penalties, initialisation."""

from __future__ import annotations

from gradproof.derive.seminar.answers import SymbolDecl as S
from gradproof.derive.seminar.bank.core import N_IN, bias_dims
from gradproof.derive.seminar.exercise import SYMBOLIC_DIMS, Exercise, WrongAnswer

EXERCISES: list = []
declare = EXERCISES.append

declare(
    Exercise(
        id="linear_neuron_grad_w",
        title="Linear neuron: parameter message",
        section="Linear neuron",
        prompt="A linear neuron yhat = X w (X is m x (n+1): the column of ones x_0 = 1 and n features; w is (n+1) x "
        "1) receives Delta = dL/dyhat (m x 1). Give dL/dw.",
        lhs="dL/dw",
        topic="linear_neuron",
        result="grad:w",
        dims=bias_dims(),
        symbolic_dims=bias_dims(SYMBOLIC_DIMS),
        symbols=(
            S("X", ("m", "n1"), description="x_0 = 1 and n features: n1 = n + 1 columns"),
            S("w", ("n1", 1)),
            S("Delta", ("m", 1), aliases=("D", "delta")),
        ),
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
        prompt="A linear neuron yhat = X w (X is m x (n+1): the column of ones x_0 = 1 and n features; w is (n+1) x "
        "1) receives Delta = dL/dyhat (m x 1). Give dL/dX.",
        lhs="dL/dX",
        topic="linear_neuron",
        result="backward",
        dims=bias_dims(),
        symbolic_dims=bias_dims(SYMBOLIC_DIMS),
        symbols=(
            S("X", ("m", "n1"), description="x_0 = 1 and n features: n1 = n + 1 columns"),
            S("w", ("n1", 1)),
            S("Delta", ("m", 1), aliases=("D", "delta")),
        ),
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
        prompt="l(s) = -y log sigma(s) - (1 - y) log(1 - sigma(s)) for one sample with logit s and label y. Give "
        "dl/ds.",
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
        prompt="For L(w) = -sum_i [y_i log sigma(x_i w) + (1 - y_i) log(1 - sigma(x_i w))], give dL/dw ((n+1) x 1) "
        "in X, w, y (X is m x (n+1): x_0 = 1 and n features).",
        lhs="dL/dw",
        topic="logistic_no_closed_form",
        result="gradient",
        dims=bias_dims(),
        symbolic_dims=bias_dims(SYMBOLIC_DIMS),
        symbols=(
            S("X", ("m", "n1"), description="x_0 = 1 and n features: n1 = n + 1 columns"),
            S("w", ("n1", 1)),
            S("y", ("m", 1), "binary"),
        ),
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
        prompt="L(w) = (y - X w)^T (y - X w). Give the Hessian d2L/dw dw^T ((n+1) x (n+1); X is m x (n+1): x_0 = 1 "
        "and n features).",
        lhs="d2L/dw dw^T",
        topic="least_squares",
        result="hessian",
        dims=bias_dims(),
        symbolic_dims=bias_dims(SYMBOLIC_DIMS),
        symbols=(S("X", ("m", "n1"), description="x_0 = 1 and n features: n1 = n + 1 columns"), S("y", ("m", 1))),
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
        prompt="L(w) = (y - X w)^T (y - X w) + lambda w^T w (X is m x (n+1): x_0 = 1 and n features). Give dL/dw "
        "((n+1) x 1).",
        lhs="dL/dw",
        topic="ridge",
        result="gradient",
        dims=bias_dims(),
        symbolic_dims=bias_dims(SYMBOLIC_DIMS),
        symbols=(
            S("X", ("m", "n1"), description="x_0 = 1 and n features: n1 = n + 1 columns"),
            S("y", ("m", 1)),
            S("w", ("n1", 1)),
            S("lambda", (), "positive", aliases=("lam",)),
        ),
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
        prompt="L(w) = (y - X w)^T (y - X w) + lambda w^T w. Give d2L/dw dw^T ((n+1) x (n+1)); X is m x (n+1) (x_0 = "
        "1 and n features), I the (n+1) x (n+1) identity.",
        lhs="d2L/dw dw^T",
        topic="ridge",
        result="hessian",
        dims=bias_dims(),
        symbolic_dims=bias_dims(SYMBOLIC_DIMS),
        symbols=(
            S("X", ("m", "n1"), description="x_0 = 1 and n features: n1 = n + 1 columns"),
            S("I", ("n1", "n1"), "identity"),
            S("lambda", (), "positive", aliases=("lam",)),
        ),
        accepted=("2 (X^T X + lambda I)", "2 X^T X + 2 lambda I", r"2(X^\top X + \lambda I)"),
        mistakes=(("2 X^T X", "missing-term"), ("X^T X + lambda I", "factor:1/2"), ("2 (X^T X - lambda I)", "sign")),
    )
)
