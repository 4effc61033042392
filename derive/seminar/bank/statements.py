"""The lecture's own statements, one exercise each (formulas and conceptual items)."""

from __future__ import annotations

from gradproof.derive.seminar.answers import SymbolDecl as S
from gradproof.derive.seminar.bank.concepts import choice_exercise
from gradproof.derive.seminar.exercise import Exercise, Option, WrongAnswer

EXERCISES: list = []
declare = EXERCISES.append


def _choice(*args, **kw) -> None:
    declare(choice_exercise(*args, **kw))


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
        reference_names=(("Z^1", "Z1"), ("Delta^2", "Delta2")),  # the derivation writes the lecture's Z^1, Delta^2
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
