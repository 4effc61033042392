"""Declarations of the lecture's statements that are not a single module:
empirical risk minimisation, gradient descent, the MLP composed from its
modules, RNN unrolling (BPTT), module reuse in a DAG, vanishing and exploding
backward messages, the activations near zero and in saturation, the ReLU
slide, randomised inputs as weight decay, the bias trick and the sigmoid's
two forms.  The derivations live in :mod:`gradproof.derive.lecture.proofs`.
"""

from __future__ import annotations

from gradproof.derive.engine.derivation import Claim
from gradproof.derive.lecture import claim_symbols as cs
from gradproof.derive.lecture import proofs as lp
from gradproof.derive.lecture.registry import Topic, register

register(
    Topic(
        name="erm",
        title="Empirical risk minimisation",
        category="identity",
        section="Neural networks overview",
        order=1,
        summary="Learning minimises R(h) = 1/m sum_i l(y_i, h(x_i)); the Gaussian likelihood is the case l = squared error.",
        build=lp.build_erm,
        claims=(Claim("risk", "R(h) = sum_i l(y_i, h(x_i)) / m", source="lecture", slide="Neural Networks Overview"),),
        symbols=cs.ERM,
    )
)

register(
    Topic(
        name="bias_trick",
        title="Treating the bias as an input x0 = 1",
        category="identity",
        section="Neuron types",
        order=10.5,
        summary="affine(Z; W, b) = linear([1 Z]; [b; W]) and <w, x> + b = <w', x'>.",
        build=lp.build_bias_trick,
        claims=(
            Claim(
                "affine",
                "<w, x> + b = sum_i w_i x_i",
                note="(i = 0 ... n, with x_0 = 1 and w_0 = b)",
                source="lecture",
                slide="McCulloch-Pitts Perceptron: Treating Bias",
            ),
        ),
        symbols=cs.BIAS,
    )
)

register(
    Topic(
        name="sigmoid_forms",
        title="The two forms of the logistic sigmoid",
        category="identity",
        section="Activation functions",
        order=30.1,
        summary="sigma(s) = 1/(1 + e^-s) = e^s/(e^s + 1) lies in (0, 1), and sigma(s) > 1/2 exactly when s > 0.",
        build=lp.build_sigmoid_forms,
        claims=(Claim("form", "sigma(s) = e^s/(e^s + 1)", source="lecture", slide="Activation Functions"),),
        symbols=cs.ACTIVATION,
    )
)

register(
    Topic(
        name="softmax_argmax",
        title="The softmax classifier is the argmax of the logits",
        category="identity",
        section="Softmax layer",
        order=35.5,
        summary="sigma_k / sigma_j = exp(s_k - s_j): argmax_k yhat_k = argmax_k s_k.",
        build=lp.build_softmax_argmax,
    )
)

register(
    Topic(
        name="activation_bounds",
        title="Bounded derivatives of tanh and the sigmoid",
        category="identity",
        section="Activation functions",
        order=31.3,
        summary="0 < tanh'(s) = 1 - tanh(s)^2 <= 1 with equality only at 0; sigma'(s) <= 1/4; both vanish in saturation.",
        build=lp.build_activation_bounds,
    )
)

register(
    Topic(
        name="linear_near_zero",
        title="Sigmoid and tanh are linear near zero",
        category="identity",
        section="Activation functions",
        order=31.4,
        summary="sigma(s) = 1/2 + s/4 + O(s^3) and tanh(s) = s + O(s^3): small potentials make them linear neurons.",
        build=lp.build_linear_near_zero,
        claims=(
            Claim(
                "tanh",
                "tanh(s) = s + O(s^3)",
                note="(tanh is linear near zero)",
                source="lecture",
                slide="Xavier Initialization (contd.)",
            ),
        ),
        symbols=cs.ACTIVATION,
    )
)

register(
    Topic(
        name="relu_properties",
        title="The ReLU slide: constant gradient, dead units, unbounded output",
        category="identity",
        section="Activation functions",
        order=32.5,
        summary="max(0, s) has derivative 1 for s > 0 and 0 for s < 0 (a unit negative on every sample is dead); "
        "it is unbounded.",
        build=lp.build_relu_properties,
        claims=(
            Claim(
                "positive",
                "f'(s) = 1",
                note="for s > 0: the gradient is constant",
                source="lecture",
                slide="Rectified Linear Unit (ReLU)",
            ),
        ),
        symbols=cs.ACTIVATION,
    )
)

register(
    Topic(
        name="mlp_backprop",
        title="The lecture's MLP composed from modules: a backward message for every layer",
        category="identity",
        section="Computing loss gradients via backpropagation",
        order=73,
        summary="Two tanh hidden layers and a softmax output: each delta^l is the module's backward message applied to "
        "delta^{l+1}; each parameter gradient the module's parameter message.",
        build=lp.build_mlp_backprop,
    )
)

register(
    Topic(
        name="dag_reuse",
        title="Module reuse in a DAG: the gradients of a reused module add up",
        category="identity",
        section="Computing loss gradients via backpropagation",
        order=74,
        summary="A module used at two places contributes one parameter message per use; dL/dW is their sum.",
        build=lp.build_dag_reuse,
    )
)

register(
    Topic(
        name="rnn_bptt",
        title="RNN unrolled through time: backpropagation through time",
        category="identity",
        section="Computing loss gradients via backpropagation",
        order=75,
        summary="Unrolled, an RNN is a DAG reusing U, V, W at every step: h_t's message adds the output's and the next "
        "step's, and each parameter's gradient sums over t.",
        build=lp.build_rnn_bptt,
    )
)

register(
    Topic(
        name="gradient_descent",
        title="Gradient descent",
        category="identity",
        section="Gradient Descent",
        order=76,
        summary="theta_{k+1} = theta_k - alpha_k grad L(theta_k) decreases L for a small enough step: "
        "d/dalpha L(theta - alpha grad L) = -||grad L||^2 at alpha = 0.",
        build=lp.build_gradient_descent,
    )
)

register(
    Topic(
        name="vanishing_gradient",
        title="Vanishing and exploding backward messages",
        category="identity",
        section="Parameter initialization",
        order=80.5,
        summary="Var(delta^l) = n sigma_0^2 E[tanh'(s)^2] Var(delta^{l+1}): the gain is ~0.05 for sigma_0 = 0.01 "
        "(delta vanishes) but ~12 for sigma_0 = 1 (delta grows towards the input).",
        build=lp.build_vanishing_gradient,
    )
)

register(
    Topic(
        name="randomised_inputs",
        title="Randomised inputs are weight decay",
        category="identity",
        section="Regularization",
        order=88,
        summary="E_eps[(y - w^T (x + eps))^2] = (y - w^T x)^2 + sigma_eps^2 ||w||^2: input noise is ridge with "
        "lambda = m sigma_eps^2.",
        build=lp.build_randomised_inputs,
    )
)
