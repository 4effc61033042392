"""Networks composed by modular backpropagation: MLP, DAG with module reuse, RNN."""

from __future__ import annotations

import contract_modules as cm
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.numeric import gradcheck, init, memory, optim, specialise
from gradproof.numeric.network import DAG, MLP, RNN, Node, load


def _targets(output, rng, m, K):
    if output == "softmax":
        return np.eye(K)[rng.integers(0, K, m)]
    if output == "sigmoid":
        return (rng.random((m, K)) < 0.5).astype(float)
    return rng.standard_normal((m, K))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "leaky_relu"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "linear"])
def test_mlp_gradient_is_proved_by_finite_differences(activation, output):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((5, 4))
    Y = _targets(output, rng, 5, 3)
    net = MLP((4, 6, 5, 3), activation=activation, output=output, seed=2, penalty="l2_penalty", lam=0.05)
    recs = net.check(X, Y, methods=("central", "directional"))
    assert len(recs) == 2 * 6  # two methods x (W1, b1, W2, b2, W3, b3)
    assert gradcheck.all_passed(recs), [r.detail for r in recs if not r.passed]


def test_mlp_check_catches_a_wrong_module():
    # the network check, not only the module check, fails on a planted fault
    mods = cm.all_modules()
    src = cm.source("tanh").replace("1 - t * t", "1 - t")
    mods["tanh"] = __import__("gradproof.numeric.mutation", fromlist=["load_source"]).load_source(src)
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((4, 3)), np.eye(2)[rng.integers(0, 2, 4)]
    net = MLP((3, 4, 2), modules=mods)
    recs = net.check(X, Y, methods=("directional",))
    failed = {r.check for r in recs if not r.passed}
    assert failed == {"directional (8 seeds): dL/dW1", "directional (8 seeds): dL/db1"}


def test_mlp_matches_the_hand_written_oracle_modules():
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((7, 4)), np.eye(3)[rng.integers(0, 3, 7)]
    a = MLP((4, 5, 3), seed=1)
    b = MLP((4, 5, 3), seed=1, modules=cm.all_modules())
    la, ga = a.gradient(X, Y)
    lb, gb = b.gradient(X, Y)
    assert la == pytest.approx(lb, rel=1e-12)
    for k in a.keys:
        np.testing.assert_allclose(ga[k], gb[k], rtol=1e-10, atol=1e-14)


def test_specialised_backwards_equal_the_generated_ones():
    rng = np.random.default_rng(4)
    aff = load("affine")
    z, W, b, d = (
        rng.standard_normal((3, 4)),
        rng.standard_normal((4, 5)),
        rng.standard_normal(5),
        rng.standard_normal((3, 5)),
    )
    fast = specialise.params_only(aff)
    assert fast is not None
    full = aff.backward(d, z, W=W, b=b)[1]
    got = fast(d, z, W=W, b=b)
    assert sorted(got) == ["W", "b"]
    for k in full:
        np.testing.assert_array_equal(got[k], full[k])
    # tanh and sigmoid recompute sech^2 and sigma(-s) from z (no cancellation in the tails), so only
    # softmax's backward reuses its forward output
    for topic in ("tanh", "sigmoid"):
        assert specialise.with_output(load(topic)) is None, topic
    for topic in ("softmax",):
        mod = load(topic)
        fast = specialise.with_output(mod)
        assert fast is not None, topic
        s = rng.standard_normal((3, 4))
        np.testing.assert_allclose(
            fast(d[:, :4], s, _forward_output=mod.forward(s))[0], mod.backward(d[:, :4], s)[0], rtol=1e-13
        )
    # a module it cannot specialise is left alone
    assert specialise.with_output(load("relu")) is None


def _dag(mods=None, shared=True, seed=0):
    rng = np.random.default_rng(seed)
    init_ = {
        "A": rng.standard_normal((4, 5)),
        "a": np.zeros(5),
        "B": rng.standard_normal((5, 5)) * 0.5,
        "b": rng.standard_normal(5) * 0.1,
        "C": rng.standard_normal((5, 3)),
        "c": np.zeros(3),
    }
    second = {"W": "B", "b": "b"} if shared else {"W": "B2", "b": "b2"}
    if not shared:
        init_["B2"], init_["b2"] = init_["B"].copy(), init_["b"].copy()
    nodes = [
        Node("s1", "affine", ("x",), {"W": "A", "b": "a"}),
        Node("h1", "tanh", ("s1",)),
        Node("s2", "affine", ("h1",), {"W": "B", "b": "b"}),
        Node("h2", "tanh", ("s2",)),
        Node("s3", "affine", ("h2",), second),
        Node("h3", "tanh", ("s3",)),
        Node("r", "add", ("h1", "h3")),  # skip connection: h1 feeds two nodes
        Node("o", "affine", ("r",), {"W": "C", "b": "c"}),
    ]
    return DAG(["x"], nodes, [("o", "softmax_cross_entropy", "y")], init_, modules=mods)


def test_dag_with_module_reuse_is_proved():
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((6, 4)), np.eye(3)[rng.integers(0, 3, 6)]
    dag = _dag()
    recs = dag.check({"x": X}, {"y": Y}, methods=("central", "directional"))
    assert gradcheck.all_passed(recs), [r.detail for r in recs if not r.passed]


def test_shared_module_accumulates_its_parameter_messages():
    # the gradient of a module used twice is the sum over its two uses
    rng = np.random.default_rng(6)
    X, Y = rng.standard_normal((6, 4)), np.eye(3)[rng.integers(0, 3, 6)]
    shared, split = _dag(shared=True), _dag(shared=False)
    ls, gs = shared.gradient({"x": X}, {"y": Y})
    lu, gu = split.gradient({"x": X}, {"y": Y})
    assert ls == pytest.approx(lu, rel=1e-13)
    np.testing.assert_allclose(gs["B"], gu["B"] + gu["B2"], rtol=1e-12)
    np.testing.assert_allclose(gs["b"], gu["b"] + gu["b2"], rtol=1e-12)
    assert not np.allclose(gu["B"], gu["B2"])  # the two uses really contribute differently


def test_dag_rejects_bad_graphs():
    with pytest.raises(ValueError, match="before it is defined"):
        DAG(["x"], [Node("h", "tanh", ("g",))], [], {})
    with pytest.raises(ValueError, match="no key for parameters"):
        DAG(["x"], [Node("s", "affine", ("x",), {"W": "A"})], [], {"A": np.zeros((2, 2))})


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_rnn_backpropagation_through_time_is_proved(activation):
    rng = np.random.default_rng(7)
    rnn = RNN(3, 4, 2, T=5, activation=activation, seed=1, penalty="l1_penalty", lam=0.01)
    X, Y = rng.standard_normal((5, 6, 3)), rng.standard_normal((5, 6, 2))
    recs = rnn.check(X, Y, methods=("central", "directional"))
    assert {r.check.split(": ")[1] for r in recs} == {"dL/dWx", "dL/dbh", "dL/dWh", "dL/dWy", "dL/dby"}
    assert gradcheck.all_passed(recs), [r.detail for r in recs if not r.passed]


def test_rnn_recurrent_gradient_sums_over_time():
    # with T = 1 there is no recurrence; with T > 1 the loss at the last step depends on the first input
    rng = np.random.default_rng(8)
    rnn = RNN(2, 3, 1, T=4, seed=0)
    X, Y = rng.standard_normal((4, 5, 2)), rng.standard_normal((4, 5, 1))
    base = rnn.loss(X, Y)
    X2 = X.copy()
    X2[0] += 0.1
    assert rnn.loss(X2, Y) != base
    assert "Wh" not in RNN(2, 3, 1, T=1).keys


def test_constant_initialisation_keeps_the_neurons_identical():
    # the lecture's symmetry problem: every hidden neuron gets the same delta, forever
    rng = np.random.default_rng(9)
    X, Y = rng.standard_normal((8, 3)), np.eye(2)[rng.integers(0, 2, 8)]
    net = MLP((3, 4, 2), init="constant", value=0.3)
    for _ in range(20):
        net.step(X, Y, 0.5)
    W1 = net.params["W1"]
    assert np.allclose(W1, W1[:, :1])  # all columns (neurons) still equal
    assert not np.allclose(W1, 0.3)  # and yet they did learn something
    rand = MLP((3, 4, 2), init="xavier", seed=0)
    for _ in range(20):
        rand.step(X, Y, 0.5)
    assert not np.allclose(rand.params["W1"], rand.params["W1"][:, :1])


@pytest.mark.parametrize(
    "rule,var",
    [
        ("xavier", lambda i, o: 1 / i),
        ("glorot", lambda i, o: 2 / (i + o)),
        ("he", lambda i, o: 2 / i),
        ("gaussian", lambda i, o: 0.3**2),
    ],
)
def test_initialiser_variances(rule, var):
    rng = np.random.default_rng(10)
    W = init.initialise(rule, (400, 300), rng, sigma0=0.3)
    assert W.var() == pytest.approx(var(400, 300), rel=0.03)
    assert abs(W.mean()) < 0.01 * np.sqrt(var(400, 300)) * 10
    with pytest.raises(ValueError):
        init.initialise("bogus", (2, 2), rng)


def test_gradient_descent_decreases_the_loss_with_a_schedule():
    rng = np.random.default_rng(12)
    X = rng.standard_normal((40, 5))
    Y = np.eye(3)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)]
    net = MLP((5, 8, 3), seed=0)
    seen = []
    hist = optim.gradient_descent(
        net,
        X,
        Y,
        iterations=60,
        schedule=optim.inverse_time(0.5, 20),
        every=20,
        callback=lambda k, loss: seen.append(k),
    )
    assert hist.iterations == [0, 20, 40, 60] == seen
    assert hist.loss[-1] < 0.5 * hist.loss[0]
    assert all(a > b for a, b in zip(hist.loss, hist.loss[1:]))


def test_one_step_is_theta_minus_alpha_grad():
    rng = np.random.default_rng(13)
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    net = MLP((3, 4, 2), output="linear", seed=0, penalty="l2_penalty", lam=0.1)
    theta = net.theta.copy()
    _, g = net.gradient(X, Y)
    net.step(X, Y, 0.25)
    np.testing.assert_allclose(net.theta, theta - 0.25 * net.flatten(g), rtol=1e-14, atol=1e-15)
    assert net.params["W1"].base is net.theta  # parameters are views of theta, updated in place


def test_penalty_excludes_the_biases():
    rng = np.random.default_rng(14)
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    plain = MLP((3, 4, 2), output="linear", seed=0)
    reg = MLP((3, 4, 2), output="linear", seed=0, penalty="l2_penalty", lam=0.5)
    reg.params["b1"][...] = plain.params["b1"][...] = 1.0
    _, gp = plain.gradient(X, Y)
    _, gr = reg.gradient(X, Y)
    np.testing.assert_allclose(gr["b1"], gp["b1"])
    np.testing.assert_allclose(gr["W1"], gp["W1"] + 2 * 0.5 * plain.params["W1"])
    assert reg.loss(X, Y) == pytest.approx(
        plain.loss(X, Y) + 0.5 * sum((plain.params[k] ** 2).sum() for k in ("W1", "W2"))
    )


@settings(max_examples=10, deadline=None)
@given(sizes=st.lists(st.integers(1, 5), min_size=2, max_size=5), seed=st.integers(0, 1000))
def test_mlp_any_depth_directional_property(sizes, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((3, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], 3)]
    net = MLP(sizes, seed=seed)
    recs = net.check(X, Y, methods=("directional",), seeds=3)
    assert gradcheck.all_passed(recs), [r.detail for r in recs if not r.passed]


def test_schedules_and_bad_arguments():
    assert optim.constant(0.1)(100) == 0.1
    assert optim.step_decay(1.0, 0.1, 10)(25) == pytest.approx(0.01)
    with pytest.raises(ValueError):
        optim.constant(0)
    with pytest.raises(ValueError):
        MLP((3,))
    with pytest.raises(LookupError, match="no generated module"):
        MLP((2, 2), activation="no_such_topic")


def test_keep_freed_memory_is_idempotent():
    first = memory.keep_freed_memory()
    assert memory.keep_freed_memory() is first


def test_rnn_trains_by_gradient_descent_on_stacked_arrays():
    # predict the running sum of a sequence: needs the recurrence
    rng = np.random.default_rng(15)
    X = rng.standard_normal((6, 16, 1)) * 0.5
    Y = np.cumsum(X, axis=0)
    rnn = RNN(1, 8, 1, T=6, seed=0)
    before = rnn.loss(X, Y)
    for _ in range(150):
        rnn.step(X, Y, 0.05)
    assert rnn.loss(X, Y) < 0.5 * before
    assert rnn.outputs(X).shape == (6, 16, 1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [0, 1, 7, 9610, 100_003])
def test_aligned_empty_starts_on_a_cache_line_and_is_a_plain_vector(n, dtype):
    got = [memory.aligned_empty(n, dtype) for _ in range(8)]  # several, so that not every one is aligned by luck
    for a in got:
        assert a.shape == (n,) and a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable
        assert a.ctypes.data % memory.ALIGN == 0
        assert a[1:].base is a  # the base of its views, as np.empty's (inplace.joined relies on it)


def test_aligned_empty_refuses_an_alignment_that_splits_an_element():
    with pytest.raises(ValueError):
        memory.aligned_empty(4, np.float64, align=12)


def test_a_networks_parameter_and_gradient_vectors_start_on_a_cache_line():
    for seed in range(6):
        net = MLP((5, 7, 3), seed=seed, compiled=False)
        assert net.theta.ctypes.data % memory.ALIGN == 0
        assert net._grad_flat.ctypes.data % memory.ALIGN == 0
