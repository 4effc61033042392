"""The lecture's central results, as derived (not as declared)."""

import sympy as sp

from gradproof.derive.lecture.registry import derive
from gradproof.derive.output.printing import to_text


def test_softmax_cross_entropy_gives_p_minus_y_over_m():
    d = derive("softmax_cross_entropy")
    assert to_text(d.result("backward").matrix) == "(P - Y)/m"
    assert str(d.result("local").index) == "p[i] - y[i]"
    rules = [s.rule for s in d.steps]
    assert "use the target's constraint" in rules  # sum_c y_c = 1 is a stated step


def test_multinomial_logistic_regression_gradient():
    d = derive("multinomial_logistic_regression")
    assert to_text(d.result("grad:W").matrix) == "(X^T (P - Y))/m"
    assert d.result("grad:W").origin == "claimed-and-proved"


def test_logistic_regression_summed_loss_has_no_1_over_m():
    d = derive("logistic_regression")
    txt = to_text(d.result("grad:w").matrix)
    assert txt.startswith("X^T") and "/m" not in txt


def test_linear_layer_messages():
    d = derive("linear")
    # the message from above is the lecture's Delta^{l+1}; an exercise keeps its letter Delta
    assert to_text(d.result("backward").matrix) == "Delta^{l+1} W^T"
    assert to_text(d.result("grad:W").matrix) == "Z^T Delta^{l+1}"
    assert to_text(d.result("grad:W").matrix, lecture=False) == str(d.result("grad:W").matrix) == "Z^T Delta"


def test_softmax_backward_reuses_output_and_rowsum():
    d = derive("softmax")
    txt = to_text(d.result("backward").matrix)
    assert "rowsum" in txt and "P" in txt and "exp" not in txt


def test_tanh_derivative_in_terms_of_output():
    d = derive("tanh")
    assert "A^2" in to_text(d.result("backward").matrix)


def test_perceptron_derivative_is_zero_and_kink_declared():
    d = derive("perceptron")
    assert d.result("backward").index == 0
    assert d.code.kink_points == (0.0,)
    assert any("s = 0" in k for k in d.code.kinks)


def test_l1_subgradient_is_stated():
    d = derive("l1_penalty")
    assert any("subgradient" in s.rule for s in d.steps)
    assert d.code.kink_points == (0.0,)


def test_leaky_relu_slope_is_a_symbol():
    d = derive("leaky_relu")
    assert sp.Symbol("alpha", positive=True) in d.result("backward").index.free_symbols
