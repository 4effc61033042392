"""Declarations of the statistical topics: where the lecture's losses come
from (MLE, MAP), the closed forms, the identities it states, and the
initialisation variances.

Each topic is declared once here: its place in the lecture (``order``), the
function that derives it, and the lecture's stated results as claims.  The
claims are never trusted: each build proves them equal to what it derived.
"""

from __future__ import annotations

from gradproof.derive.engine.derivation import Claim
from gradproof.derive.lecture import claim_symbols as cs
from gradproof.derive.lecture import closed_forms as cf
from gradproof.derive.lecture import identities as idn
from gradproof.derive.lecture import init_variance as iv
from gradproof.derive.lecture import mle as ml
from gradproof.derive.lecture import slides as sl
from gradproof.derive.lecture.registry import Topic, register

register(
    Topic(
        name="least_squares",
        title="Least squares in closed form",
        category="closed_form",
        section="Linear neuron",
        order=13,
        summary="Solving dL/dw = 0 for the squared error gives the normal equations X^T X w = X^T y.",
        build=cf.build_least_squares,
        claims=(Claim("solution", "w* = (X^T X)^-1 X^T y", source="lecture", slide=sl.LINEAR_MLE_CONTD),),
        symbols=cs.CLOSED_FORM,
    )
)

register(
    Topic(
        name="logistic_no_closed_form",
        title="Logistic regression has no closed form",
        category="closed_form",
        section="Logistic regression",
        order=33,
        summary="dL/dw = X^T (yhat - y) = 0 is transcendental in w: use numerical methods.",
        build=cf.build_logistic_no_closed_form,
    )
)

register(
    Topic(
        name="ridge",
        title="Ridge regression in closed form",
        category="closed_form",
        section="Regularization",
        order=87,
        summary="L2 regularisation adds lambda I to X^T X: always invertible, and the unique minimiser.",
        build=cf.build_ridge,
        claims=(Claim("solution", "w* = (X^T X + lambda I)^-1 X^T y", source="lecture", slide=sl.L2_STABILITY),),
        symbols=cs.CLOSED_FORM,
    )
)

# ---------------------------------------------------------------------------
# Maximum likelihood and MAP
# ---------------------------------------------------------------------------

register(
    Topic(
        name="mle_gaussian",
        title="Linear neuron: maximum likelihood under Gaussian noise",
        category="mle",
        section="Linear neuron",
        order=12,
        summary="Gaussian noise -> likelihood -> negative log-likelihood; minimising it is least squares.",
        build=ml.build_mle_gaussian,
        claims=(
            Claim(
                "nll",
                "L(w) = m log(2 pi sigma^2) / 2 + sum_i (y_i - sum_j x_ij w_j)^2 / (2 sigma^2)",
                source="lecture",
                slide=sl.LINEAR_MLE,
            ),
        ),
        symbols=cs.MLE_GAUSSIAN,
    )
)

register(
    Topic(
        name="mle_sigma2",
        title="Maximum likelihood estimate of the noise variance",
        category="mle",
        section="Linear neuron",
        order=12.5,
        summary="Maximising the Gaussian likelihood over sigma > 0 gives sigma^2 = RSS / m.",
        build=ml.build_mle_sigma2,
        claims=(Claim("sigma2", "sigma^2 = RSS / m"),),
        symbols=cs.MLE_SIGMA2,
    )
)

register(
    Topic(
        name="mle_bernoulli",
        title="Logistic regression: maximum likelihood is the cross-entropy",
        category="mle",
        section="Logistic regression",
        order=32,
        summary="Bernoulli outputs yhat = sigma(s): the negative log-likelihood is the binary cross-entropy.",
        build=ml.build_mle_bernoulli,
        claims=(
            Claim(
                "nll",
                "L(w) = -sum_i (y_i log(yhat_i) + (1 - y_i) log(1 - yhat_i))",
                source="lecture",
                slide=sl.LOGISTIC_MLE,
            ),
        ),
        symbols=cs.MLE_BERNOULLI,
    )
)

register(
    Topic(
        name="mle_categorical",
        title="Softmax: maximum likelihood is the multinomial cross-entropy",
        category="mle",
        section="Softmax layer",
        order=34.5,
        summary="Categorical outputs of a softmax: the negative log-likelihood is -sum_i sum_c y_ic log yhat_ic.",
        build=ml.build_mle_categorical,
        claims=(Claim("nll", "L(w) = -sum_i sum_c y_ic log(yhat_ic)", source="lecture", slide=sl.SOFTMAX_MLE),),
        symbols=cs.MLE_CATEGORICAL,
    )
)

register(
    Topic(
        name="map_gaussian",
        title="MAP with a Gaussian prior is L2 regularisation",
        category="map",
        section="Regularization",
        order=85,
        summary="A zero-mean Gaussian prior on the weights gives the ridge loss with lambda = sigma^2 / sigma_0^2; "
        "the bias has no prior and is not penalised.",
        build=ml.build_map_gaussian,
        claims=(Claim("lambda", "lambda = sigma^2 / sigma_0^2", source="lecture", slide=sl.MAP),),
        symbols=cs.MAP,
    )
)

register(
    Topic(
        name="map_laplace",
        title="MAP with a Laplace prior is L1 regularisation",
        category="map",
        section="Regularization",
        order=86,
        summary="A zero-mean Laplace prior with scale beta gives the L1 penalty lambda ||w||_1 with lambda = 2 sigma^2 / beta.",
        build=ml.build_map_laplace,
    )
)

# ---------------------------------------------------------------------------
# Identities the lecture states
# ---------------------------------------------------------------------------

register(
    Topic(
        name="sigmoid_derivative",
        title="The derivative of the logistic sigmoid",
        category="identity",
        section="Activation functions",
        order=30.2,
        summary="sigma'(s) = sigma(s) (1 - sigma(s)), from the explicit definition.",
        build=idn.build_sigmoid_derivative,
        claims=(Claim("derivative", "sigma'(s) = sigma(s)(1 - sigma(s))"),),
        symbols=cs.SCALAR,
    )
)

register(
    Topic(
        name="tanh_sigmoid",
        title="tanh is a scaled and shifted sigmoid",
        category="identity",
        section="Activation functions",
        order=31.2,
        summary="tanh(s) = 2 sigma(2s) - 1.",
        build=idn.build_tanh_sigmoid,
        claims=(Claim("identity", "tanh(s) = 2 sigma(2s) - 1", source="lecture", slide=sl.ACTIVATIONS),),
        symbols=cs.SCALAR,
    )
)

register(
    Topic(
        name="softmax_simplex",
        title="Softmax outputs form a probability distribution",
        category="identity",
        section="Softmax layer",
        order=34.2,
        summary="sigma_k(s) in (0, 1) and sum_k sigma_k(s) = 1.",
        build=idn.build_softmax_simplex,
        claims=(
            Claim("range", "sigma_k in (0, 1)", note="for k in {1 ... K}", source="lecture", slide=sl.SOFTMAX),
            Claim("sum", "sum_k sigma_k = 1", source="lecture", slide=sl.SOFTMAX),
        ),
    )
)

register(
    Topic(
        name="fused_gradients",
        title="dL/ds = yhat - y for both fused pairs",
        category="identity",
        section="Loss functions",
        order=50.5,
        summary="Sigmoid + cross-entropy and softmax + cross-entropy both back-propagate yhat - y.",
        build=idn.build_fused_gradients,
        claims=(
            Claim("sigmoid_bce", "dL/ds = yhat - y", note="(sigmoid + cross-entropy)", source="lecture", slide=sl.MLE),
            Claim("softmax_cross_entropy", "dL/ds_j = yhat_j - y_j", note="(softmax + cross-entropy)"),
        ),
        symbols=cs.FUSED,
    )
)

register(
    Topic(
        name="symmetry",
        title="Constant initialisation cannot break the symmetry",
        category="identity",
        section="Parameter initialization",
        order=79,
        summary="With all weights equal, every neuron of a layer receives the same delta and the same update.",
        build=idn.build_symmetry,
    )
)

# ---------------------------------------------------------------------------
# Initialisation variance
# ---------------------------------------------------------------------------

register(
    Topic(
        name="xavier",
        title="Xavier initialisation: Var(w) = 1/n_in",
        category="init",
        section="Parameter initialization",
        order=80,
        summary="For s = sum_i w_i x_i with independent zero-mean terms, Var(s) = n_in Var(x) Var(w).",
        build=iv.build_xavier,
        claims=(
            Claim("var_s", "Var(s) = n_in Var(x) Var(w)", source="lecture", slide=sl.XAVIER),
            Claim("var_w", "Var(w) = 1/n_in", source="lecture", slide=sl.XAVIER_CONTD),
        ),
        symbols=cs.INIT,
    )
)

register(
    Topic(
        name="glorot",
        title="Glorot initialisation: Var(w) = 2/(n_in + n_out)",
        category="init",
        section="Parameter initialization",
        order=81,
        summary="The backward pass asks for n_out Var(w) = 1; Glorot and Bengio compromise with 2/(n_in + n_out).",
        build=iv.build_glorot,
        claims=(Claim("var_w", "Var(w) = 2/(n_in + n_out)"),),
        symbols=cs.INIT,
    )
)

register(
    Topic(
        name="he",
        title="He initialisation for ReLU: Var(w) = 2/n_in",
        category="init",
        section="Parameter initialization",
        order=82,
        summary="A ReLU keeps half of a symmetric input's second moment, so the weights need twice the variance.",
        build=iv.build_he,
        claims=(Claim("var_w", "Var(w) = 2/n_in"),),
        symbols=cs.INIT,
    )
)
