"""The lecture's modules, losses, penalties and models, each declared once.

A declaration states only what cannot be computed: the forward map in the
lecture's index notation (per sample; the engine batches, rows are samples),
the arguments with their shapes and domains, and the lecture's claims, which
the engine proves rather than trusts.
"""

from __future__ import annotations

import sympy as sp

from gradproof.derive.engine.derivation import Claim
from gradproof.derive.engine.modules import Arg, K, ModuleDeclaration, OutputName, n
from gradproof.derive.lecture import rewrites as rw
from gradproof.derive.lecture import slides as sl
from gradproof.derive.lecture.declare import model, module
from gradproof.derive.lecture.functions import relu, sigmoid, step

i, j, k, c = sp.symbols("i j k c", integer=True)

# ---------------------------------------------------------------------------
# Shared arguments (lecture notation: z^l is the module input, rows are samples)
# ---------------------------------------------------------------------------
Z_IN = Arg("z", "input", (n,), "Z", latex="z")
Z_ACT = Arg("z", "input", (n,), "Z", latex="z")
W = Arg("W", "param", (n, K), "W", latex="w")
B = Arg("b", "param", (K,), "b", latex="b")

# The lecture's linear layer: n features plus the bias input z_0 = 1, so its
# inputs run i = 0..n and its weight matrix has the rows w_0 .. w_n.
Z_BIAS = Arg("z", "input", (n + 1,), "Z", latex="z")
W_BIAS = Arg("W", "param", (n + 1, K), "W", latex="w")

# Claims are text, read with the names each declaration defines
# (gradproof.derive.lecture.declare.module_symbols): the matrices Z, W, Delta,
# A, ..., the entries w_ij, z_i and the free indices i, j, k.


# ---------------------------------------------------------------------------
# Neurons
# ---------------------------------------------------------------------------
module(
    "perceptron",
    "McCulloch-Pitts perceptron",
    "neuron",
    10,
    "yhat = f(s) with the inner potential s = <w, x> + b (an affine layer in front, as modules) and "
    "f(s) = -1 for s < 0, 1 otherwise. The activation has derivative 0 wherever it has one and none at "
    "s = 0, so no gradient flows through it: the reason the lecture moves on to smooth activations.",
    ModuleDeclaration(
        kind="module",
        args=(Arg("z", "input", (n,), "S", latex="s", matrix_latex=r"\mathbf{S}"),),
        out_dim=n,
        forward=lambda b, jj: step(b["z"][jj]),
        kinks=("f(s) jumps at s = 0: the derivative is 0 for every s != 0 and does not exist at s = 0",),
        kink_points=(0.0,),
        out_matrix="Yhat",
        out_latex=r"\hat{\mathbf{Y}}",
    ),
    notes=(
        "The derivative 0 holds almost everywhere; inputs with a zero inner potential are excluded "
        "from every numeric check (kink declared, not faked).",
        "SymPy differentiates the Piecewise form of f to 0 everywhere, at s = 0 included: silently "
        "wrong there, which is why the kink is declared rather than derived.",
    ),
)

module(
    "linear_neuron",
    "Linear neuron (bias as x0 = 1)",
    "neuron",
    11,
    "A single neuron with linear activation, yhat = <x, w> = sum_{i=0}^{n} w_i x_i over the n features and "
    "the extra input x0 = 1 weighted w0 = b (the bias); for the whole data set yhat = X w with X of "
    "m x (n + 1) and w = (w_0, ..., w_n).",
    ModuleDeclaration(
        kind="module",
        args=(
            Arg("z", "input", (n + 1,), "X", latex="x", matrix_latex=r"\mathbf{X}"),
            Arg("w", "param", (n + 1,), "w", latex="w", vector_as="col"),
        ),
        out_dim=sp.Integer(1),
        forward=lambda b, jj: sp.Sum(b["w"][i] * b["z"][i], (i, 0, n)),
        out_matrix="yhat",
        out_latex=r"\hat{\mathbf{y}}",
    ),
    claims=(Claim("forward", "yhat = X w", source="lecture", slide=sl.LINEAR_NEURON),),
    notes=("The first column of X is all ones (x0 = 1), so w0 plays the bias b; n counts the features.",),
)

# ---------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------
module(
    "linear",
    "Linear layer (no separate bias)",
    "layer",
    20,
    "K linear neurons side by side: z^{l+1}_j = sum_{i=0}^{n} w_ij z^l_i over the n features and the bias "
    "input z^l_0 = 1 (as in the lecture's 'Example: Linear Layer'); for the batch Z^{l+1} = Z W with W of "
    "n + 1 rows w_0 .. w_n.",
    ModuleDeclaration(
        kind="module",
        args=(Z_BIAS, W_BIAS),
        out_dim=K,
        forward=lambda b, jj: sp.Sum(b["W"][i, jj] * b["z"][i], (i, 0, n)),
    ),
    claims=(
        Claim("forward", "Yhat = X W", note="(all samples)", source="lecture", slide=sl.LINEAR_LAYER),
        Claim("jacobian", "dz^{l+1}_j/dz^l_i = w_ij", source="lecture", slide=sl.EXAMPLE_LINEAR),
        Claim("jacobian:W", "dz^{l+1}_j/dw_ik = [[j = k]] z^l_i", source="lecture", slide=sl.EXAMPLE_LINEAR),
        Claim("backward", "Delta^l = Delta^{l+1} W^T"),
        Claim("grad:W", "dL/dW = Z^T Delta^{l+1}"),
    ),
    aliases={"X": "Z"},  # the slide's data matrix is the layer's input
)

module(
    "affine",
    "Affine layer (separate bias)",
    "layer",
    21,
    "The dense layer with its bias as a separate parameter: Z^{l+1} = Z W + 1 b^T.",
    ModuleDeclaration(
        kind="module",
        args=(Z_IN, W, B),
        out_dim=K,
        forward=lambda b, jj: sp.Sum(b["W"][i, jj] * b["z"][i], (i, 0, n - 1)) + b["b"][jj],
    ),
    claims=(
        Claim("backward", "Delta^l = Delta^{l+1} W^T"),
        Claim("grad:W", "dL/dW = Z^T Delta^{l+1}"),
        Claim("grad:b", "dL/db = 1^T Delta^{l+1}"),
    ),
)

# ---------------------------------------------------------------------------
# Activations (elementwise, and the row-wise softmax)
# ---------------------------------------------------------------------------
module(
    "sigmoid",
    "Logistic sigmoid",
    "activation",
    30,
    "sigma(s) = 1 / (1 + e^{-s}); its derivative is a function of its output, sigma(1 - sigma).",
    ModuleDeclaration(
        kind="module",
        args=(Z_ACT,),
        out_dim=n,
        forward=lambda b, jj: sigmoid(b["z"][jj]),
        output=OutputName("a", "A", rw.rename_fn(sigmoid), "a = sigma(z): the derivative reuses the forward output"),
    ),
    claims=(Claim("backward", "Delta^l = Delta^{l+1} ⊙ A ⊙ (1 - A)"),),
)

module(
    "tanh",
    "Hyperbolic tangent",
    "activation",
    31,
    "tanh(s) = (e^s - e^{-s}) / (e^s + e^{-s}) = 2 sigma(2s) - 1; derivative 1 - tanh^2.",
    ModuleDeclaration(
        kind="module",
        args=(Z_ACT,),
        out_dim=n,
        forward=lambda b, jj: sp.tanh(b["z"][jj]),
        output=OutputName("a", "A", rw.rename_fn(sp.tanh), "a = tanh(z): the derivative reuses the forward output"),
    ),
    claims=(Claim("backward", "Delta^l = Delta^{l+1} ⊙ (1 - A^2)"),),
)

module(
    "relu",
    "Rectified linear unit",
    "activation",
    32,
    "f(s) = max(0, s): derivative [[s > 0]], constant for s > 0; no derivative at the kink s = 0.",
    ModuleDeclaration(
        kind="module",
        args=(Z_ACT,),
        out_dim=n,
        forward=lambda b, jj: relu(b["z"][jj]),
        kinks=("max(0, s) has no derivative at s = 0",),
        kink_points=(0.0,),
    ),
    claims=(Claim("backward", "Delta^l = Delta^{l+1} ⊙ [[Z > 0]]"),),
)

_alpha = sp.Symbol("alpha", positive=True)
module(
    "leaky_relu",
    "Leaky ReLU",
    "activation",
    33,
    "f(s) = s for s > 0 and alpha s otherwise (slope alpha as a symbol): dead units still pass alpha delta.",
    ModuleDeclaration(
        kind="module",
        args=(Z_ACT,),
        out_dim=n,
        forward=lambda b, jj: relu(b["z"][jj]) - _alpha * relu(-b["z"][jj]),
        hyper=((_alpha, 0.01),),
        kinks=("no derivative at s = 0 (slopes 1 and alpha meet)",),
        kink_points=(0.0,),
    ),
)

module(
    "softmax",
    "Softmax layer",
    "activation",
    34,
    "sigma_k(s) = e^{s_k} / sum_c e^{s_c}: a categorical distribution over K classes (row-wise for a batch).",
    ModuleDeclaration(
        kind="module",
        args=(Arg("z", "input", (K,), "Z", latex="z"),),
        out_dim=K,
        forward=lambda b, jj: sp.exp(b["z"][jj]) / sp.Sum(sp.exp(b["z"][c]), (c, 0, K - 1)),
        output=OutputName(
            "p",
            "P",
            rw.rename_softmax(),
            "e^{z_x} = p_x sum_c e^{z_c}: the derivative reuses the output p",
            matrix_latex=r"\mathbf{P}",
        ),
        out_matrix="P",
        out_latex=r"\mathbf{P}",
    ),
    claims=(Claim("backward", "Delta^l = P ⊙ (Delta^{l+1} - rowsum(Delta^{l+1} ⊙ P))"),),
)

# ---------------------------------------------------------------------------
# Losses (forward: one sample's loss; the engine averages or sums over m)
# ---------------------------------------------------------------------------
_zs = Arg("z", "input", (), "yhat", latex=r"\hat{y}", matrix_latex=r"\hat{\mathbf{y}}")
_ys = Arg("y", "target", (), "y", latex="y", matrix_latex=r"\mathbf{y}")
_zv = Arg("z", "input", (K,), "Yhat", latex=r"\hat{y}", matrix_latex=r"\hat{\mathbf{Y}}")
_yv = Arg("y", "target", (K,), "Y", latex="y", matrix_latex=r"\mathbf{Y}")
_yb = Arg("y", "target", (), "y", domain="binary", latex="y", matrix_latex=r"\mathbf{y}")

module(
    "squared_error",
    "Squared error (SE)",
    "loss",
    40,
    "The lecture's loss module: l = (y - z)^2, summed over the samples: (y - yhat)^T (y - yhat).",
    ModuleDeclaration(kind="loss", args=(_zs, _ys), reduction="sum", forward=lambda b, _: (b["y"] - b["z"]) ** 2),
    claims=(Claim("backward", "dL/dyhat = 2 (yhat - y)", source="lecture", slide=sl.EXAMPLE_SE),),
)

module(
    "mse",
    "Mean squared error (single output)",
    "loss",
    41,
    "Regression with a linear neuron: L = 1/m sum_i (y_i - yhat_i)^2.",
    ModuleDeclaration(kind="loss", args=(_zs, _ys), reduction="mean", forward=lambda b, _: (b["y"] - b["z"]) ** 2),
    claims=(Claim("backward", "dL/dyhat = 2 (yhat - y) / m"),),
)

module(
    "mse_multi",
    "Mean squared error (multi-output)",
    "loss",
    42,
    "Multi-output regression with a linear layer: L = 1/m sum_i sum_c (y_ic - yhat_ic)^2.",
    ModuleDeclaration(
        kind="loss",
        args=(_zv, _yv),
        reduction="mean",
        forward=lambda b, _: sp.Sum((b["y"][c] - b["z"][c]) ** 2, (c, 0, K - 1)),
    ),
)

module(
    "bce",
    "Binary cross-entropy",
    "loss",
    43,
    "The negative log-likelihood of Bernoulli targets y in {0, 1} given probabilities yhat in (0, 1): "
    "L = -1/m sum_i [y_i log yhat_i + (1 - y_i) log(1 - yhat_i)].",
    ModuleDeclaration(
        kind="loss",
        args=(
            Arg("z", "input", (), "yhat", domain="probability", latex=r"\hat{y}", matrix_latex=r"\hat{\mathbf{y}}"),
            _yb,
        ),
        reduction="mean",
        forward=lambda b, _: -(b["y"] * sp.log(b["z"]) + (1 - b["y"]) * sp.log(1 - b["z"])),
    ),
)

module(
    "cross_entropy",
    "Multinomial cross-entropy",
    "loss",
    44,
    "The negative log-likelihood of one-hot targets under probabilities yhat (softmax outputs): "
    "L = -1/m sum_i sum_c y_ic log yhat_ic.",
    ModuleDeclaration(
        kind="loss",
        args=(
            Arg("z", "input", (K,), "Yhat", domain="probability", latex=r"\hat{y}", matrix_latex=r"\hat{\mathbf{Y}}"),
            Arg("y", "target", (K,), "Y", domain="onehot", latex="y", matrix_latex=r"\mathbf{Y}"),
        ),
        reduction="mean",
        forward=lambda b, _: -sp.Sum(b["y"][c] * sp.log(b["z"][c]), (c, 0, K - 1)),
    ),
)

# ---------------------------------------------------------------------------
# The fused pairs: dL/ds = yhat - y
# ---------------------------------------------------------------------------
_s_scalar = Arg("z", "input", (), "s", latex="s", matrix_latex=r"\mathbf{s}")
module(
    "sigmoid_bce",
    "Sigmoid + binary cross-entropy (fused)",
    "fused",
    50,
    "The binary cross-entropy of yhat = sigma(s), taken from the logits s: dL/ds = yhat - y per sample "
    "(and 1/m (yhat - y) for the mean).",
    ModuleDeclaration(
        kind="loss",
        args=(_s_scalar, _yb),
        reduction="mean",
        forward=lambda b, _: -(b["y"] * sp.log(sigmoid(b["z"])) + (1 - b["y"]) * sp.log(1 - sigmoid(b["z"]))),
        output=OutputName(
            "yhat",
            "yhat",
            lambda e, bases, out: e.replace(sigmoid, lambda s: sp.Symbol("yhat", real=True)),
            "yhat = sigma(s): the gradient in terms of the prediction",
            value=lambda b, _: sigmoid(b["z"]),
            matrix_latex=r"\hat{\mathbf{y}}",
        ),
    ),
    claims=(Claim("backward", "dL/ds = (yhat - y) / m"),),
)

_S = Arg("z", "input", (K,), "S", latex="s", matrix_latex=r"\mathbf{S}")
_Yoh = Arg("y", "target", (K,), "Y", domain="onehot", latex="y", matrix_latex=r"\mathbf{Y}")


module(
    "softmax_cross_entropy",
    "Softmax + cross-entropy (fused)",
    "fused",
    51,
    "The multinomial cross-entropy of P = softmax(S), taken from the logits S: dL/ds = p - y per sample "
    "(1/m (P - Y) for the mean).",
    ModuleDeclaration(
        kind="loss",
        args=(_S, _Yoh),
        reduction="mean",
        forward=lambda b, _: (
            -sp.Sum(b["y"][c] * sp.log(sp.exp(b["z"][c]) / sp.Sum(sp.exp(b["z"][k]), (k, 0, K - 1))), (c, 0, K - 1))
        ),
        output=OutputName(
            "p",
            "P",
            rw.rename_softmax(),
            "e^{s_x} = p_x sum_c e^{s_c}: name the softmax output",
            value=rw.softmax_value("z", K),
            matrix_latex=r"\mathbf{P}",
        ),
        assumptions=(("one-hot targets: sum_c y_c = 1", rw.onehot_sum),),
    ),
    claims=(Claim("backward", "dL/dS = (P - Y) / m"),),
)

# ---------------------------------------------------------------------------
# Penalties
# ---------------------------------------------------------------------------
_lam = sp.Symbol("lam", positive=True)
_Wp = Arg("W", "param", (n, K), "W", latex="w")
module(
    "l2_penalty",
    "L2 regularization (weight decay)",
    "penalty",
    60,
    "R(W) = lambda sum_ij w_ij^2 = lambda ||W||^2, pushing the weights towards zero; applied to "
    "weight matrices only, the bias is excluded (the lecture: 'we omit bias in lambda w^T w').",
    ModuleDeclaration(
        kind="penalty",
        args=(_Wp,),
        hyper=((_lam, 0.01),),
        forward=lambda b, _: _lam * sp.Sum(b["W"][i, k] ** 2, (i, 0, n - 1), (k, 0, K - 1)),
    ),
    claims=(Claim("grad:W", "dR/dW = 2 lambda W"),),
)


module(
    "l1_penalty",
    "L1 regularization",
    "penalty",
    61,
    "R(W) = lambda sum_ij |w_ij|: the gradient is lambda sign(w) away from 0; at w = 0 the penalty has "
    "no derivative and the subgradient 0 (an element of [-lambda, lambda]) is used.",
    ModuleDeclaration(
        kind="penalty",
        args=(_Wp,),
        hyper=((_lam, 0.01),),
        forward=lambda b, _: _lam * sp.Sum(sp.Abs(b["W"][i, k]), (i, 0, n - 1), (k, 0, K - 1)),
        assumptions=(
            ("at w = 0 the subgradient 0 is chosen (any value in [-lambda, lambda] is a subgradient)", rw.subgradient),
        ),
        kinks=("|w| has no derivative at w = 0: subgradient 0 used",),
        kink_points=(0.0,),
    ),
)

# ---------------------------------------------------------------------------
# Models: modules composed by the chain rule (derive/lecture/models.py)
# ---------------------------------------------------------------------------
from gradproof.derive.lecture.models import ModelDeclaration  # noqa: E402

model(
    "linear_regression",
    "Linear regression",
    70,
    "A linear neuron with the squared error summed over the data: L(w) = (y - Xw)^T (y - Xw). "
    "Backpropagation: the loss module's 2(yhat - y), then the neuron's parameter message x.",
    ModelDeclaration(
        layer="linear_neuron",
        activation=None,
        loss="squared_error",
        reduction="sum",
        output="yhat",
        output_matrix="yhat",
    ),
    claims=(Claim("grad:w", "dL/dw = 2 X^T (yhat - y)"),),
)

model(
    "logistic_regression",
    "Logistic regression",
    71,
    "A sigmoid neuron with the cross-entropy summed over the data (the negative log-likelihood): "
    "dL/ds_i = yhat_i - y_i and dL/dw = sum_i x_i (yhat_i - y_i) = X^T (yhat - y).",
    ModelDeclaration(
        layer="linear_neuron", activation="sigmoid", loss="bce", reduction="sum", output="yhat", output_matrix="yhat"
    ),
    claims=(Claim("grad:w", "dL/dw = X^T (yhat - y)", source="lecture", slide=sl.MLE),),
    notes=("With the mean instead of the sum the gradient carries a factor 1/m.",),
)

model(
    "multinomial_logistic_regression",
    "Multinomial logistic regression",
    72,
    "Linear layer + softmax + multinomial cross-entropy (mean over samples), the lecture's running "
    "backpropagation example: dL/dW = 1/m X^T (Yhat - Y); for the summed loss X^T (Yhat - Y).",
    ModelDeclaration(
        layer="linear",
        activation="softmax",
        loss="cross_entropy",
        reduction="mean",
        output="p",
        output_matrix="P",
        onehot=True,
    ),
    claims=(Claim("grad:W", "dL/dW = X^T (Yhat - Y) / m"),),
)
