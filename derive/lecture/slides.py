"""The lecture's slide titles, exactly as the lecture text writes them.

A lecture claim (:class:`gradproof.derive.engine.derivation.Claim` with ``source="lecture"``) names
the slide it comes from by one of these titles; a test checks each against
the lecture text, character for character (the lecture's own spellings, such
as "Multinominal", are kept).
"""

from __future__ import annotations

OVERVIEW = "Neural Networks Overview"
PERCEPTRON = "McCulloch-Pitts Perceptron (1943)"
BIAS = "McCulloch-Pitts Perceptron: Treating Bias"
ACTIVATIONS = "Activation Functions"
LINEAR_NEURON = "Linear Neuron"
LINEAR_MLE = "Linear Neuron: Maximum Likelihood Estimation"
LINEAR_MLE_CONTD = "Linear Neuron: Maximum Likelihood Estimation (contd.)"
SIGMOID_PROBABILITY = "Logistic Sigmoid and Probability"
LOGISTIC = "Logistic Regression"
LOGISTIC_MLE = "Logistic Regression MLE Leads to the Cross-Entropy"
MLE = "Maximum Likelihood Estimation"
LINEAR_LAYER = "Linear Layer"
SOFTMAX = "Softmax Layer"
SOFTMAX_MLE = "Softmax Layer MLE"
MULTINOMIAL = "Multinominal Logistic Regression"
LOSS_SUMMARY = "Loss Functions: Summary"
BP_LOSS = "Backpropagation: the Loss Function"
BP_BACKWARD = "Backpropagation: Backward Pass Message"
BP_PARAMETERS = "Backpropagation: Parameters"
EXAMPLE_LINEAR = "Example: Linear Layer"
EXAMPLE_SE = "Example: Squared Error"
GD = "Gradient Descent (GD)"
INIT = "Parameter Initialization"
GAUSSIAN_INIT = "Gaussian Initialization Example"
VANISHING = "Vanishing Gradient"
RELU = "Rectified Linear Unit (ReLU)"
XAVIER = "Xavier Initialization"
XAVIER_CONTD = "Xavier Initialization (contd.)"
L2_MOTIVATION = "L2 Regularization (Weight Decay): Motivation"
L2_EXAMPLE = "Example: L2 Regularization for Linear Regression"
MAP = "MAP Estimate"
L2_STABILITY = "L2 Regularization Improves Numerical Stability"
OTHER_REGULARIZATION = "Other Regularization Related Approaches"

ALL = tuple(v for k, v in sorted(globals().items()) if k.isupper() and isinstance(v, str))
