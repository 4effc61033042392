"""The lecture's statements, slide by slide, and where gradproof verifies each one.

Written once, as data: every slide title exactly as the lecture text writes
it, each statement the slide makes, and the topic (and result key) whose
verification covers it.  ``evidence`` says which verification to consult:
``"exact"`` (the topic's exact proofs of ``key``) or ``"numeric"`` (the
topic's numerical checks).  A statement with no topic is a remark and says
why.  The *status* of a statement is never written here: it is computed from
the registry and the verification records (:func:`statuses`).

>>> len(STATEMENTS) >= 80
True
>>> len({s.slide for s in STATEMENTS}) >= 40
True
"""

from __future__ import annotations

from dataclasses import dataclass

# A statement about a whole topic: its status rests on every exact proof the
# topic records (the MLP composed from modules: each layer's message and each
# parameter gradient against SymPy's derivative of the composed network).
EVERY_RESULT = "*"


@dataclass(frozen=True)
class Statement:
    slide: str  # the slide's title, verbatim
    text: str  # what the slide states (plain text, the lecture's notation)
    topic: str = ""  # the topic that verifies it; empty for a remark
    key: str = ""  # the result key whose proofs cover it (exact evidence), or EVERY_RESULT
    evidence: str = "exact"  # "exact" or "numeric"
    reason: str = ""  # for a remark: why gradproof does not verify it
    # the same statement for the page: words, with each formula as LaTeX between
    # dollar signs (HTML converts it to MathML, the PDF typesets it); empty when
    # the statement is words only
    tex: str = ""


def _s(slide, text, topic="", key="", evidence="exact", reason="", tex=""):
    return Statement(slide, text, topic, key, evidence, reason, tex)


STATEMENTS: tuple[Statement, ...] = (
    _s(
        "Neural Networks Overview",
        "Learning minimises the empirical risk R(h) = 1/m sum_i l(y_i, h(x_i))",
        "erm",
        "risk",
        tex=r"Learning minimises the empirical risk $R(h) = \frac{1}{m} \sum_{i=1}^{m} \ell(y_i, h(x_i))$",
    ),
    _s(
        "Neural Networks Overview",
        "A neural network is a composition of simple parametrised functions (neurons)",
        "mlp_backprop",
        EVERY_RESULT,
    ),
    _s(
        "McCulloch-Pitts Perceptron (1943)",
        "yhat = f(<w, x> + b) with f(s) = -1 if s < 0, 1 else",
        "perceptron",
        "forward",
        tex=r"$\hat{y} = f(\langle \mathbf{w}, \mathbf{x} \rangle + b)$ with $f(s) = -1$ if $s < 0$, $1$ else",
    ),
    _s(
        "McCulloch-Pitts Perceptron (1943)",
        "It is the linear classifier: the decision depends on s = <w, x> + b only",
        "perceptron",
        "forward",
        tex=r"It is the linear classifier: the decision depends on $s = \langle \mathbf{w}, \mathbf{x} \rangle + b$ only",
    ),
    _s(
        "McCulloch-Pitts Perceptron: Treating Bias",
        "f(<w, x> + b) = f(<w', x'>) with x0 = 1 and w0 = b",
        "bias_trick",
        "affine",
        tex=r"$f(\langle \mathbf{w}, \mathbf{x} \rangle + b) = f(\langle \mathbf{w}', \mathbf{x}' \rangle)$ with $x_0 = 1$ and $w_0 = b$",
    ),
    _s(
        "Activation Functions",
        "sigma(s) = 1/(1 + e^(-s)) = e^s/(e^s + 1)",
        "sigmoid_forms",
        "form",
        tex=r"$\sigma(s) = \frac{1}{1 + e^{-s}} = \frac{e^{s}}{e^{s} + 1}$",
    ),
    _s(
        "Activation Functions",
        "tanh(s) = (e^s - e^(-s))/(e^s + e^(-s)) = 2 sigma(2s) - 1",
        "tanh_sigmoid",
        "identity",
        tex=r"$\tanh(s) = \frac{e^{s} - e^{-s}}{e^{s} + e^{-s}} = 2\sigma(2s) - 1$",
    ),
    _s(
        "Linear Neuron",
        "A linear neuron is linear regression: yhat = s = <x, w>",
        "linear_neuron",
        "forward",
        tex=r"A linear neuron is linear regression: $\hat{y} = s = \langle \mathbf{x}, \mathbf{w} \rangle$",
    ),
    _s(
        "Linear Neuron",
        "For the whole dataset yhat = X w",
        "linear_regression",
        "forward",
        tex=r"For the whole dataset $\hat{\mathbf{y}} = \mathbf{X} \mathbf{w}$",
    ),
    _s(
        "Linear Neuron: Maximum Likelihood Estimation",
        "Gaussian noise: the i.i.d. likelihood is (2 pi sigma^2)^(-m/2) exp(-(y - Xw)^T (y - Xw)/(2 sigma^2))",
        "mle_gaussian",
        "nll",
        tex=r"Gaussian noise: the i.i.d. likelihood is $(2 \pi \sigma^{2})^{-m/2} \exp\left(-\frac{1}{2\sigma^{2}} (\mathbf{y} - \mathbf{X}\mathbf{w})^{\top} (\mathbf{y} - \mathbf{X}\mathbf{w})\right)$",
    ),
    _s(
        "Linear Neuron: Maximum Likelihood Estimation",
        "L(w) = m/2 log(2 pi sigma^2) + 1/(2 sigma^2) (y - Xw)^T (y - Xw)",
        "mle_gaussian",
        "nll",
        tex=r"$L(\mathbf{w}) = \frac{m}{2} \log(2 \pi \sigma^{2}) + \frac{1}{2\sigma^{2}} (\mathbf{y} - \mathbf{X}\mathbf{w})^{\top} (\mathbf{y} - \mathbf{X}\mathbf{w})$",
    ),
    _s(
        "Linear Neuron: Maximum Likelihood Estimation (contd.)",
        "sum_i (y_i - <w, x_i>)^2 = (y - Xw)^T (y - Xw), the squared error",
        "linear_regression",
        "loss",
        tex=r"$\sum_{i=1}^{m} (y_i - \langle \mathbf{w}, \mathbf{x}_i \rangle)^{2} = (\mathbf{y} - \mathbf{X}\mathbf{w})^{\top} (\mathbf{y} - \mathbf{X}\mathbf{w})$, the squared error",
    ),
    _s(
        "Linear Neuron: Maximum Likelihood Estimation (contd.)",
        "Minimising L(w) is least squares estimation",
        "mle_gaussian",
        "nll",
        tex=r"Minimising $L(\mathbf{w})$ is least squares estimation",
    ),
    _s(
        "Linear Neuron: Maximum Likelihood Estimation (contd.)",
        "dL/dw = 0 gives w* = (X^T X)^-1 X^T y",
        "least_squares",
        "solution",
        tex=r"$\frac{\partial L}{\partial \mathbf{w}} = 0$ gives $\mathbf{w}^{*} = (\mathbf{X}^{\top} \mathbf{X})^{-1} \mathbf{X}^{\top} \mathbf{y}$",
    ),
    _s(
        "Logistic Sigmoid and Probability",
        "yhat = sigma(s) lies in (0, 1)",
        "sigmoid_forms",
        "range",
        tex=r"$\hat{y} = \sigma(s) \in (0, 1)$",
    ),
    _s(
        "Logistic Sigmoid and Probability",
        "Ber(y|yhat) = yhat^y (1 - yhat)^(1-y): yhat for y = 1, 1 - yhat for y = 0",
        "mle_bernoulli",
        "nll",
        tex=r"$\operatorname{Ber}(y \mid \hat{y}) = \hat{y}^{y} (1 - \hat{y})^{1 - y}$: $\hat{y}$ for $y = 1$, $1 - \hat{y}$ for $y = 0$",
    ),
    _s(
        "Logistic Sigmoid and Probability",
        "Binary classifier: h = 1 if yhat > 1/2, else 0 (a linear rule in s)",
        "sigmoid_forms",
        "decision",
        tex=r"Binary classifier: $h = 1$ if $\hat{y} > \frac{1}{2}$, else $0$ (a linear rule in $s$)",
    ),
    _s(
        "Logistic Regression",
        "A neuron with sigmoid activation is logistic regression: yhat = sigma(<w, x>)",
        "logistic_regression",
        "forward",
        tex=r"A neuron with sigmoid activation is logistic regression: $\hat{y} = \sigma(\langle \mathbf{w}, \mathbf{x} \rangle)$",
    ),
    _s(
        "Logistic Regression MLE Leads to the Cross-Entropy",
        "p(y|w, X) = prod_i yhat_i^(y_i) (1 - yhat_i)^(1 - y_i)",
        "mle_bernoulli",
        "nll",
        tex=r"$p(\mathbf{y} \mid \mathbf{w}, \mathbf{X}) = \prod_{i=1}^{m} \hat{y}_i^{y_i} (1 - \hat{y}_i)^{1 - y_i}$",
    ),
    _s(
        "Logistic Regression MLE Leads to the Cross-Entropy",
        "L(w) = sum_i -[y_i log yhat_i + (1 - y_i) log(1 - yhat_i)], the cross-entropy",
        "mle_bernoulli",
        "nll",
        tex=r"$L(\mathbf{w}) = \sum_{i=1}^{m} -[y_i \log \hat{y}_i + (1 - y_i) \log(1 - \hat{y}_i)]$, the cross-entropy",
    ),
    _s(
        "Logistic Regression MLE Leads to the Cross-Entropy",
        "l(y_i, yhat_i) is the negative log probability of the correct answer",
        "mle_bernoulli",
        "loss",
        tex=r"$\ell(y_i, \hat{y}_i)$ is the negative log probability of the correct answer",
    ),
    _s(
        "Maximum Likelihood Estimation",
        "dL/ds_i = yhat_i - y_i",
        "fused_gradients",
        "sigmoid_bce",
        tex=r"$\frac{\partial L}{\partial s_i} = \hat{y}_i - y_i$",
    ),
    _s(
        "Maximum Likelihood Estimation",
        "dL/dw = sum_i x_i (yhat_i - y_i) = X^T (yhat - y)",
        "logistic_regression",
        "grad:w",
        tex=r"$\frac{\partial L}{\partial \mathbf{w}} = \sum_{i=1}^{m} \mathbf{x}_i (\hat{y}_i - y_i) = \mathbf{X}^{\top} (\hat{\mathbf{y}} - \mathbf{y})$",
    ),
    _s(
        "Maximum Likelihood Estimation",
        "dL/dw = 0 has no analytical solution: use numerical methods",
        "logistic_no_closed_form",
        evidence="numeric",
        tex=r"$\frac{\partial L}{\partial \mathbf{w}} = 0$ has no analytical solution: use numerical methods",
    ),
    _s(
        "Linear Layer",
        "Output k: yhat_k = <x, w_k>; all outputs yhat = x^T W",
        "linear",
        "forward",
        tex=r"Output $k$: $\hat{y}_k = \langle \mathbf{x}, \mathbf{w}_k \rangle$; all outputs $\hat{\mathbf{y}} = \mathbf{x}^{\top} \mathbf{W}$",
    ),
    _s(
        "Linear Layer",
        "Multiple samples: Yhat = X W",
        "linear",
        "forward",
        tex=r"Multiple samples: $\hat{\mathbf{Y}} = \mathbf{X} \mathbf{W}$",
    ),
    _s(
        "Softmax Layer",
        "sigma_k(s) = e^(s_k) / sum_c e^(s_c)",
        "softmax",
        "forward",
        tex=r"$\sigma_k(\mathbf{s}) = \frac{e^{s_k}}{\sum_{c=1}^{K} e^{s_c}}$",
    ),
    _s(
        "Softmax Layer",
        "sigma_k in (0, 1) for k in 1..K",
        "softmax_simplex",
        "range",
        tex=r"$\sigma_k \in (0, 1)$ for $k \in \{1, \dots, K\}$",
    ),
    _s(
        "Softmax Layer",
        "sum_k sigma_k = 1: a categorical distribution",
        "softmax_simplex",
        "sum",
        tex=r"$\sum_{k=1}^{K} \sigma_k = 1$: a categorical distribution",
    ),
    _s(
        "Softmax Layer MLE",
        "p(y|w, X) = prod_i prod_c yhat_ic^(y_ic) with one-hot y_ic = [[y_i = c]]",
        "mle_categorical",
        "nll",
        tex=r"$p(\mathbf{y} \mid \mathbf{w}, \mathbf{X}) = \prod_{i=1}^{m} \prod_{c=1}^{K} \hat{y}_{ic}^{y_{ic}}$ with one-hot $y_{ic} = [\![ y_i = c ]\!]$",
    ),
    _s(
        "Softmax Layer MLE",
        "L(w) = -sum_i sum_c y_ic log(yhat_ic), again the cross-entropy",
        "mle_categorical",
        "nll",
        tex=r"$L(\mathbf{w}) = -\sum_{i=1}^{m} \sum_{c=1}^{K} y_{ic} \log(\hat{y}_{ic})$, again the cross-entropy",
    ),
    _s(
        "Softmax Layer MLE",
        "The gradient (see seminar): dL/dS = (P - Y)/m",
        "softmax_cross_entropy",
        "backward",
        tex=r"The gradient (see seminar): $\frac{\partial L}{\partial \mathbf{S}} = \frac{1}{m} (\mathbf{P} - \mathbf{Y})$",
    ),
    _s(
        "Multinominal Logistic Regression",
        "Linear layer + softmax layer: yhat_k = sigma_k(x^T W)",
        "multinomial_logistic_regression",
        "forward",
        tex=r"Linear layer + softmax layer: $\hat{y}_k = \sigma_k(\mathbf{x}^{\top} \mathbf{W})$",
    ),
    _s(
        "Multinominal Logistic Regression",
        "Classifier h(x, W) = argmax_k yhat_k",
        "softmax_argmax",
        "argmax",
        tex=r"Classifier $h(\mathbf{x}, \mathbf{W}) = \operatorname{argmax}_k \hat{y}_k$",
    ),
    _s(
        "Loss Functions: Summary",
        "Binary classification: sigmoid neuron, -1/m sum_i [y_i log yhat_i + (1 - y_i) log(1 - yhat_i)]",
        "bce",
        "loss",
        tex=r"Binary classification: sigmoid neuron, $-\frac{1}{m} \sum_{i=1}^{m} [y_i \log \hat{y}_i + (1 - y_i) \log(1 - \hat{y}_i)]$",
    ),
    _s(
        "Loss Functions: Summary",
        "Multinomial classification: softmax, -1/m sum_i sum_c y_ic log(yhat_ic)",
        "cross_entropy",
        "loss",
        tex=r"Multinomial classification: softmax, $-\frac{1}{m} \sum_{i=1}^{m} \sum_{c=1}^{K} y_{ic} \log(\hat{y}_{ic})$",
    ),
    _s(
        "Loss Functions: Summary",
        "Regression: linear neuron, 1/m sum_i (y_i - yhat_i)^2",
        "mse",
        "loss",
        tex=r"Regression: linear neuron, $\frac{1}{m} \sum_{i=1}^{m} (y_i - \hat{y}_i)^{2}$",
    ),
    _s(
        "Loss Functions: Summary",
        "Multi-output regression: linear layer, 1/m sum_i sum_c (y_ic - yhat_ic)^2",
        "mse_multi",
        "loss",
        tex=r"Multi-output regression: linear layer, $\frac{1}{m} \sum_{i=1}^{m} \sum_{c=1}^{K} (y_{ic} - \hat{y}_{ic})^{2}$",
    ),
    _s(
        "Multilayer Perceptron (MLP)",
        "Feed-forward, fully-connected layers with a softmax output",
        "mlp_backprop",
        EVERY_RESULT,
    ),
    _s(
        "Multilayer Perceptron (MLP)",
        "An MLP for regression would typically use a linear output layer",
        reason="design advice: a choice of architecture, not a mathematical statement",
    ),
    _s(
        "Recurrent Neural Network (RNN)",
        "Feedback connections give memory; inputs and outputs are sequences",
        "rnn_bptt",
        "grad:V",
    ),
    _s("Modular and Hierarchical Architectures", "DAGs of modules, module reuse", "dag_reuse", "grad:W"),
    _s(
        "Backpropagation Overview",
        "Backpropagation computes grad L(w), used by gradient descent",
        "mlp_backprop",
        "grad:W^1",
        tex=r"Backpropagation computes $\nabla L(\mathbf{w})$, used by gradient descent",
    ),
    _s(
        "Backpropagation: the Loss Function",
        "L(w) = -1/m sum_i sum_c [[y_i = c]] log(exp(<x_i, w_c>) / sum_k exp(<x_i, w_k>))",
        "multinomial_logistic_regression",
        "loss",
        tex=r"$L(\mathbf{w}) = -\frac{1}{m} \sum_{i=1}^{m} \sum_{c=1}^{K} [\![ y_i = c ]\!] \log\left(\frac{\exp(\langle \mathbf{x}_i, \mathbf{w}_c \rangle)}{\sum_{k=1}^{K} \exp(\langle \mathbf{x}_i, \mathbf{w}_k \rangle)}\right)$",
    ),
    _s(
        "Backpropagation Based on Modules",
        "Represent even the loss function as a module; pass messages",
        "softmax_cross_entropy",
        "backward",
    ),
    _s(
        "Backpropagation: Backward Pass Message",
        "delta^l_i = sum_j delta^(l+1)_j dz^(l+1)_j/dz^l_i",
        "mlp_backprop",
        "delta^1",
        tex=r"$\delta^{l}_i = \sum_j \delta^{l+1}_j \frac{\partial z^{l+1}_j}{\partial z^{l}_i}$",
    ),
    _s(
        "Backpropagation: Parameters",
        "dL/dw^l_i = sum_j delta^(l+1)_j dz^(l+1)_j/dw^l_i",
        "mlp_backprop",
        "grad:W^1",
        tex=r"$\frac{\partial L}{\partial w^{l}_i} = \sum_j \delta^{l+1}_j \frac{\partial z^{l+1}_j}{\partial w^{l}_i}$",
    ),
    _s(
        "Backpropagation: Steps", "Each module needs its forward, backward and parameter messages", "affine", "backward"
    ),
    _s(
        "Example: Linear Layer",
        "forward: z^(l+1)_j = sum_{i=0}^n w_ij z^l_i",
        "linear",
        "forward",
        tex=r"forward: $z^{l+1}_j = \sum_{i=0}^{n} w_{ij} z^{l}_i$",
    ),
    _s(
        "Example: Linear Layer",
        "backward: dz^(l+1)_j/dz^l_i = w_ij",
        "linear",
        "jacobian",
        tex=r"backward: $\frac{\partial z^{l+1}_j}{\partial z^{l}_i} = w_{ij}$",
    ),
    _s(
        "Example: Linear Layer",
        "parameter: dz^(l+1)_j/dw_ik = [[j = k]] z^l_i",
        "linear",
        "grad:W",
        tex=r"parameter: $\frac{\partial z^{l+1}_j}{\partial w_{ik}} = [\![ j = k ]\!] z^{l}_i$",
    ),
    _s(
        "Example: Squared Error",
        "forward: z^(l+1) = (y - z^l)^2",
        "squared_error",
        "loss",
        tex=r"forward: $z^{l+1} = (y - z^{l})^{2}$",
    ),
    _s(
        "Example: Squared Error",
        "backward: dz^(l+1)/dz^l = 2(z^l - y)",
        "squared_error",
        "backward",
        tex=r"backward: $\frac{\partial z^{l+1}}{\partial z^{l}} = 2(z^{l} - y)$",
    ),
    _s(
        "Gradient Descent (GD)",
        "theta* = argmin_theta L(theta)",
        "gradient_descent",
        evidence="numeric",
        tex=r"$\theta^{*} = \operatorname{argmin}_{\theta} L(\theta)$",
    ),
    _s(
        "Gradient Descent (GD)",
        "theta_(k+1) = theta_k - alpha_k grad L(theta_k) with learning rate alpha_k > 0",
        "gradient_descent",
        "decrease",
        tex=r"$\theta_{k+1} = \theta_k - \alpha_k \nabla L(\theta_k)$ with learning rate $\alpha_k > 0$",
    ),
    _s(
        "Parameter Initialization",
        "Constant weights: all neurons get the same deltas; the symmetry must be broken",
        "symmetry",
        "delta",
        tex=r"Constant weights: all neurons get the same $\delta$s; the symmetry must be broken",
    ),
    _s(
        "Parameter Initialization",
        "Small random Gaussian weights: fine for shallow networks, trouble for deep ones",
        "vanishing_gradient",
        evidence="numeric",
    ),
    _s(
        "Gaussian Initialization Example",
        "10 tanh layers of 500 units, N(0, 1) inputs, weights N(0, sigma_0^2): sigma_0 = 1 saturates, "
        "sigma_0 = 0.01 collapses to 0",
        "vanishing_gradient",
        evidence="numeric",
        tex=r"10 tanh layers of 500 units, $\mathcal{N}(0, 1)$ inputs, weights $\mathcal{N}(0, \sigma_0^{2})$: $\sigma_0 = 1$ saturates, $\sigma_0 = 0.01$ collapses to $0$",
    ),
    _s(
        "Vanishing Gradient",
        "For large sigma_0 (saturation) the tanh derivative is almost zero",
        "activation_bounds",
        "tanh_bound",
        tex=r"For large $\sigma_0$ (saturation) the tanh derivative is almost zero",
    ),
    _s(
        "Vanishing Gradient",
        "For small sigma_0 the derivative is at most 1",
        "activation_bounds",
        "tanh_bound",
        tex=r"For small $\sigma_0$ the derivative is at most $1$",
    ),
    _s(
        "Vanishing Gradient",
        "For small weights dz^(l+1)_j/dz^l_i = w_ij holds for the linear layer",
        "linear",
        "jacobian",
        tex=r"For small weights $\frac{\partial z^{l+1}_j}{\partial z^{l}_i} = w_{ij}$ holds for the linear layer",
    ),
    _s(
        "Vanishing Gradient",
        "In both cases delta -> 0 as the number of layers increases",
        "vanishing_gradient",
        "gain_saturated",
        tex=r"In both cases $\delta \to 0$ as the number of layers increases",
    ),
    _s("Rectified Linear Unit (ReLU)", "f(s) = max(0, s)", "relu", "forward", tex=r"$f(s) = \max(0, s)$"),
    _s(
        "Rectified Linear Unit (ReLU)",
        "The gradient is constant for s > 0; for sigmoid-like activations it becomes small",
        "relu_properties",
        "positive",
        tex=r"The gradient is constant for $s > 0$; for sigmoid-like activations it becomes small",
    ),
    _s(
        "Rectified Linear Unit (ReLU)",
        "Fast to compute",
        reason="a claim about speed: gradproof measures speed in benchmarks, never as a verified statement",
    ),
    _s(
        "Rectified Linear Unit (ReLU)",
        "s < 0 turns the neuron off and blocks the gradient: dead units (Leaky ReLU)",
        "relu_properties",
        "dead",
        tex=r"$s < 0$ turns the neuron off and blocks the gradient: dead units (Leaky ReLU)",
    ),
    _s(
        "Rectified Linear Unit (ReLU)",
        "Unbounded: use regularisation to prevent numerical problems",
        "relu_properties",
        "unbounded",
    ),
    _s(
        "Xavier Initialization",
        "Var(s) = Var(sum_i w_i x_i) = n_in Var(x) Var(w) for independent zero-mean terms",
        "xavier",
        "var_s",
        tex=r"$\operatorname{Var}(s) = \operatorname{Var}\left(\sum_i w_i x_i\right) = n_{\mathrm{in}} \operatorname{Var}(x) \operatorname{Var}(w)$ for independent zero-mean terms",
    ),
    _s(
        "Xavier Initialization (contd.)",
        "Var(s) = Var(x) asks for Var(w) = 1/n_in",
        "xavier",
        "var_w",
        tex=r"$\operatorname{Var}(s) = \operatorname{Var}(x)$ asks for $\operatorname{Var}(w) = \frac{1}{n_{\mathrm{in}}}$",
    ),
    _s("Xavier Initialization (contd.)", "Works well for tanh as it is linear near zero", "linear_near_zero", "tanh"),
    _s(
        "Xavier Initialization (contd.)",
        "Do not forget to standardise the input data",
        reason="practical advice: the variance rule assumes it (Var(x) fixed), it is not itself a result",
    ),
    _s("Regularization", "Bayesian point of view: a prior distribution on the parameters", "map_gaussian", "lambda"),
    _s(
        "L2 Regularization (Weight Decay): Motivation",
        "Sigmoid-like neurons near zero potential behave like linear neurons",
        "linear_near_zero",
        "sigmoid",
    ),
    _s(
        "L2 Regularization (Weight Decay): Motivation",
        "L2 regularisation is a zero-mean Gaussian prior",
        "map_gaussian",
        "loss",
    ),
    _s(
        "Example: L2 Regularization for Linear Regression",
        "Prior p(w) = (2 pi sigma_0^2)^(-1/2) exp(-w^T w/(2 sigma_0^2)); posterior proportional to likelihood x prior",
        "map_gaussian",
        "nll",
        tex=r"Prior $p(\mathbf{w}) = (2 \pi \sigma_0^{2})^{-1/2} \exp\left(-\frac{\mathbf{w}^{\top} \mathbf{w}}{2 \sigma_0^{2}}\right)$; posterior $\propto$ likelihood $\times$ prior",
    ),
    _s(
        "MAP Estimate",
        "-log p(w|y, X) = (y - Xw)^T (y - Xw)/(2 sigma^2) + w^T w/(2 sigma_0^2) + C, lambda = sigma^2/sigma_0^2",
        "map_gaussian",
        "lambda",
        tex=r"$-\log p(\mathbf{w} \mid \mathbf{y}, \mathbf{X}) = \frac{1}{2\sigma^{2}} (\mathbf{y} - \mathbf{X}\mathbf{w})^{\top} (\mathbf{y} - \mathbf{X}\mathbf{w}) + \frac{1}{2\sigma_0^{2}} \mathbf{w}^{\top} \mathbf{w} + C$, $\lambda = \frac{\sigma^{2}}{\sigma_0^{2}}$",
    ),
    _s(
        "MAP Estimate",
        "The bias is omitted from lambda w^T w",
        "map_gaussian",
        "loss",
        tex=r"The bias is omitted from $\lambda \mathbf{w}^{\top} \mathbf{w}$",
    ),
    _s(
        "L2 Regularization Improves Numerical Stability",
        "w* = (X^T X + lambda I)^-1 X^T y, lambda > 0, minimises (y - Xw)^T (y - Xw) + lambda w^T w",
        "ridge",
        "solution",
        tex=r"$\mathbf{w}^{*} = (\mathbf{X}^{\top} \mathbf{X} + \lambda \mathbf{I})^{-1} \mathbf{X}^{\top} \mathbf{y}$, $\lambda > 0$, minimises $(\mathbf{y} - \mathbf{X}\mathbf{w})^{\top} (\mathbf{y} - \mathbf{X}\mathbf{w}) + \lambda \mathbf{w}^{\top} \mathbf{w}$",
    ),
    _s(
        "Other Regularization Related Approaches",
        "L1 regularisation: lambda ||w||_1",
        "map_laplace",
        "loss",
        tex=r"L1 regularisation: $\lambda \lVert \mathbf{w} \rVert_1$",
    ),
    _s(
        "Other Regularization Related Approaches",
        "Randomising the inputs is the same as weight decay for linear neurons",
        "randomised_inputs",
        "expectation",
    ),
    _s(
        "Other Regularization Related Approaches",
        "Early stopping: stop when the validation loss starts to grow",
        reason="a training procedure, not a statement: `gradproof train --validation F --early-stopping P` runs it",
    ),
    _s(
        "Other Regularization Related Approaches",
        "Dataset augmentation, weight sharing, model averaging, dropout and DropConnect",
        reason="pointers to later lectures: no statement made on this slide",
    ),
)


def slides() -> list[str]:
    """The slide titles in the lecture's order (each once)."""
    return list(dict.fromkeys(s.slide for s in STATEMENTS))
