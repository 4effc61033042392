"""The first exercises: one per central result of the lecture (gradients, messages, closed forms, variances)."""

from __future__ import annotations

from gradproof.derive.seminar.answers import SymbolDecl as S
from gradproof.derive.seminar.exercise import PROBE_DIMS, SYMBOLIC_DIMS, Exercise, WrongAnswer

EXERCISES: list = []
declare = EXERCISES.append


def bias_dims(dims=PROBE_DIMS) -> tuple:
    """``dims`` for an exercise whose X holds the column of ones x_0 = 1 and n features (slide "Linear
    Neuron"): the width ``n1 = n + 1`` takes the size ``n`` had, so the probes keep their sizes."""
    sizes = dict(dims)
    return (*((k, v - 1 if k == "n" else v) for k, v in sizes.items()), ("n1", sizes["n"]))


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
        prompt="Logistic regression yhat = sigma(X w) (X is m x (n+1): the column of ones x_0 = 1 and n features) "
        "with the summed cross-entropy loss "
        "L(w) = -sum_i [y_i log yhat_i + (1 - y_i) log(1 - yhat_i)]. Give dL/dw ((n+1) x 1).",
        lhs="dL/dw",
        topic="logistic_regression",
        result="grad:w",
        dims=bias_dims(),
        symbolic_dims=bias_dims(SYMBOLIC_DIMS),
        symbols=(
            S("X", ("m", "n1"), description="x_0 = 1 and n features: n1 = n + 1 columns"),
            S("w", ("n1", 1)),
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
        prompt="Multinomial logistic regression P = softmax(X W) row by row (X is m x (n+1): the column of ones "
        "x_0 = 1 and n features), one-hot targets Y, loss the mean "
        "cross-entropy over the m samples. Give dL/dW ((n+1) x K).",
        lhs="dL/dW",
        topic="multinomial_logistic_regression",
        result="grad:W",
        dims=bias_dims(),
        symbolic_dims=bias_dims(SYMBOLIC_DIMS),
        symbols=(
            S("X", ("m", "n1"), description="x_0 = 1 and n features: n1 = n + 1 columns"),
            S("W", ("n1", "K")),
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
        prompt="Linear regression yhat = X w (X is m x (n+1): the column of ones x_0 = 1 and n features) with the "
        "summed squared error L(w) = (y - X w)^T (y - X w). Give dL/dw ((n+1) x 1).",
        lhs="dL/dw",
        topic="linear_regression",
        result="grad:w",
        dims=bias_dims(),
        symbolic_dims=bias_dims(SYMBOLIC_DIMS),
        symbols=(
            S("X", ("m", "n1"), description="x_0 = 1 and n features: n1 = n + 1 columns"),
            S("w", ("n1", 1)),
            S("y", ("m", 1)),
            S("yhat", ("m", 1), aliases=("y_hat",), definition="X w", description="X w"),
        ),
        accepted=("2 X^T (X w - y)", "-2 X^T (y - X w)", "2 X^T X w - 2 X^T y", "2 X'(yhat - y)"),
        mistakes=(("X^T (X w - y)", "factor:1/2"), ("2 X^T (y - X w)", "sign"), ("2 (X w - y)^T X", "transposed")),
    )
)


# X holds the column of ones x_0 = 1 and n features: m x (n + 1), n1 = n + 1
LSQ_SYMBOLS = (
    S("X", ("m", "n1"), description="x_0 = 1 and n features: n1 = n + 1 columns"),
    S("y", ("m", 1)),
    S("I", ("n1", "n1"), "identity", description="identity"),
    S("lambda", (), "positive", aliases=("lam", "l")),
)

declare(
    Exercise(
        id="least_squares",
        title="Least squares: the closed-form solution",
        section="Linear neuron",
        prompt="Minimise (y - X w)^T (y - X w) over w (X is m x (n+1): the column of ones x_0 = 1 and n features, "
        "of full column rank). Give w*.",
        lhs="w*",
        topic="least_squares",
        result="solution",
        symbols=LSQ_SYMBOLS[:3],
        # X^T X must stay invertible at the symbolic sizes too: more samples than features
        dims=bias_dims(),
        symbolic_dims=bias_dims((("m", 3), ("n", 2), ("K", 2))),
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
        prompt="Minimise (y - X w)^T (y - X w) + lambda w^T w over w (lambda > 0; X is m x (n+1): the column of "
        "ones x_0 = 1 and n features). Give w*.",
        lhs="w*",
        topic="ridge",
        result="solution",
        symbols=LSQ_SYMBOLS,
        dims=bias_dims(),
        symbolic_dims=bias_dims((("m", 3), ("n", 2), ("K", 2))),
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
        dims=bias_dims(),
        symbolic_dims=bias_dims(SYMBOLIC_DIMS),
        symbols=(
            S("X", ("m", "n1"), description="x_0 = 1 and n features: n1 = n + 1 columns"),
            S("y", ("m", 1)),
            S("w", ("n1", 1)),
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
