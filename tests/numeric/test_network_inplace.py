"""The MLP's in-place variants: chosen only when verified, equal to the generated modules, proved by the checks."""

from __future__ import annotations

import numpy as np
import pytest
from batches import targets as _targets
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.numeric import gradcheck, inplace
from gradproof.numeric.network import MLP


def _pair(sizes, activation, output, dtype=np.float64, **kw):
    fast = MLP(sizes, activation=activation, output=output, seed=3, dtype=dtype, **kw)
    plain = MLP(sizes, activation=activation, output=output, seed=3, dtype=dtype, inplace=False, **kw)
    return fast, plain


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "linear"])
def test_in_place_gradient_and_step_equal_the_generated_modules(activation, output, dtype):
    rng = np.random.default_rng(5)
    fast, plain = _pair((4, 6, 5, 3), activation, output, dtype)
    assert fast.inplace.active, fast.inplace.reason
    assert not plain.inplace.active
    X = rng.standard_normal((7, 4)).astype(dtype)
    Y = _targets(output, rng, 7, 3, dtype)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    lf, gf = fast.gradient(X, Y)
    lp, gp = plain.gradient(X, Y)
    assert lf == pytest.approx(lp, rel=rtol)
    for k in fast.keys:
        scale = np.max(np.abs(gp[k])) + 1e-30
        assert np.max(np.abs(gf[k] - gp[k])) / scale <= rtol * 10, k
    for _ in range(3):
        a = fast.step(X, Y, 0.3, with_loss=True)
        b = plain.step(X, Y, 0.3, with_loss=True)
        assert a == pytest.approx(b, rel=rtol)
    np.testing.assert_allclose(fast.theta, plain.theta, rtol=rtol * 100, atol=rtol)


def test_penalised_step_equals_the_generated_modules():
    rng = np.random.default_rng(6)
    fast, plain = _pair((3, 5, 2), "tanh", "softmax", penalty="l2_penalty", lam=0.2)
    X, Y = rng.standard_normal((6, 3)), _targets("softmax", rng, 6, 2)
    for _ in range(4):
        assert fast.step(X, Y, 0.5, with_loss=True) == pytest.approx(plain.step(X, Y, 0.5, with_loss=True), rel=1e-12)
    np.testing.assert_allclose(fast.theta, plain.theta, rtol=1e-12, atol=1e-14)


def test_gradient_returns_arrays_the_caller_owns_unless_asked_for_the_buffer():
    rng = np.random.default_rng(7)
    net = MLP((3, 4, 2), seed=0)
    X1, X2 = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    Y = _targets("softmax", rng, 5, 2)
    _, g1 = net.gradient(X1, Y)
    kept = {k: v.copy() for k, v in g1.items()}
    net.gradient(X2, Y)
    assert all(np.array_equal(g1[k], kept[k]) for k in kept)  # a copy: the next call left it alone
    _, b1 = net.gradient(X1, Y, copy=False)
    first = b1["W1"].copy()
    _, b2 = net.gradient(X2, Y, copy=False)
    assert b2["W1"] is b1["W1"] and not np.array_equal(b1["W1"], first)  # the reused buffer


def test_the_checks_run_through_the_in_place_path(monkeypatch):
    rng = np.random.default_rng(8)
    net = MLP((4, 5, 3), seed=1, compiled=False)
    X, Y = rng.standard_normal((6, 4)), _targets("softmax", rng, 6, 3)
    calls = []
    real = inplace.run
    monkeypatch.setattr(inplace, "run", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    recs = net.check(X, Y, methods=("central", "directional"))
    assert gradcheck.all_passed(recs) and calls


@pytest.mark.parametrize("method", ["central", "directional"])
def test_a_wrong_in_place_variant_is_caught_by_the_network_check(method):
    # forced past the probe, a planted fault in a variant must still fail the finite-difference check
    rng = np.random.default_rng(9)
    net = MLP((4, 5, 3), seed=2, compiled=False)
    fwd, _ = inplace.ACTIVATIONS["tanh"]

    def wrong_backward(d, a):
        np.subtract(1.0, a, a)  # 1 - a instead of 1 - a^2
        d *= a

    net.inplace.act = (fwd, wrong_backward)
    X, Y = rng.standard_normal((6, 4)), _targets("softmax", rng, 6, 3)
    failed = {r.check.split(": ")[-1] for r in net.check(X, Y, methods=(method,)) if not r.passed}
    assert failed == {"dL/dW1", "dL/db1"}


def test_a_wrong_variant_is_not_chosen(monkeypatch):
    fwd, _ = inplace.ACTIVATIONS["tanh"]

    def wrong_backward(d, a):
        d *= 2.0

    monkeypatch.setitem(inplace.ACTIVATIONS, "tanh", (fwd, wrong_backward))
    net = MLP((4, 5, 3), seed=0)
    assert not net.inplace.active
    assert "disagree" in net.inplace.reason and "dL/dW1" in net.inplace.reason
    # and the network still trains on the generated modules, correctly
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((6, 4)), _targets("softmax", rng, 6, 3)
    assert gradcheck.all_passed(net.check(X, Y, methods=("directional",)))


def test_a_module_of_the_users_or_without_a_variant_runs_as_it_is():
    from gradproof.numeric.network import load

    tanh = load("tanh")
    own = type(tanh)("my_tanh")
    own.__dict__.update({k: v for k, v in vars(tanh).items() if not k.startswith("__")})
    net = MLP((3, 4, 2), modules={"tanh": own})
    assert not net.inplace.active and "activation module is not a generated module" in net.inplace.reason
    leaky = MLP((3, 4, 2), activation="leaky_relu")
    assert not leaky.inplace.active and "no in-place variant" in leaky.inplace.reason


def test_a_batch_in_another_dtype_takes_the_generated_path():
    rng = np.random.default_rng(10)
    fast, plain = _pair((3, 4, 2), "tanh", "softmax", np.float32)
    X, Y = rng.standard_normal((5, 3)), _targets("softmax", rng, 5, 2)  # float64 batch
    lf, gf = fast.gradient(X, Y)
    lp, gp = plain.gradient(X, Y)
    assert lf == lp and all(np.array_equal(gf[k], gp[k]) for k in fast.keys)


# Any small MLP: widths, batch size, hidden activation, output loss, and the seed of its data.
ANY_NETWORK = dict(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=5),
    m=st.integers(1, 9),
    activation=st.sampled_from(["tanh", "sigmoid", "relu"]),
    output=st.sampled_from(["softmax", "sigmoid", "linear"]),
    seed=st.integers(0, 2**16),
)


@settings(max_examples=25, deadline=None)
@given(**ANY_NETWORK)
def test_in_place_gradient_equals_the_generated_one_for_any_shape(sizes, m, activation, output, seed):
    rng = np.random.default_rng(seed)
    fast, plain = _pair(tuple(sizes), activation, output)
    fast.theta[...] = plain.theta[...] = rng.standard_normal(fast.theta.shape)
    X, Y = rng.standard_normal((m, sizes[0])), _targets(output, rng, m, sizes[-1])
    lf, gf = fast.gradient(X, Y)
    lp, gp = plain.gradient(X, Y)
    assert lf == pytest.approx(lp, rel=1e-12, abs=1e-14)
    for k in fast.keys:
        np.testing.assert_allclose(gf[k], gp[k], rtol=1e-9, atol=1e-13)


@settings(max_examples=60, deadline=None)
@given(
    m=st.sampled_from([1, 2, 5, 63, 64, 65, 130]),
    K=st.integers(1, 40),
    scale=st.sampled_from([1.0, 1e3, 1e300]),
    seed=st.integers(0, 2**16),
)
def test_softmax_delta_on_the_transposed_output_is_the_softmax_and_stays_finite(m, K, scale, seed):
    rng = np.random.default_rng(seed)
    s = rng.standard_normal((m, K)) * scale
    buf = inplace.Buffers([K], 1, m, np.float64)
    y = np.eye(K)[rng.integers(0, K, m)]
    dT = np.empty((K, m))
    inplace._softmax_ce_delta(np.ascontiguousarray(s.T), y.T, dT, buf, 1.0 / m)
    shifted = np.exp(s - s.max(axis=1, keepdims=True))
    want = (shifted / shifted.sum(axis=1, keepdims=True) - y) / m
    assert np.all(np.isfinite(dT))
    np.testing.assert_allclose(dT.T, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "linear"])
def test_a_batch_in_blocks_of_rows_gives_the_generated_modules_gradient_loss_and_step(output, dtype):
    rng = np.random.default_rng(11)
    fast, plain = _pair((4, 6, 3), "tanh", output, dtype)
    fast.inplace.chunk_rows = 3  # 10 rows: blocks of 3, 3, 3 and 1
    X = rng.standard_normal((10, 4)).astype(dtype)
    Y = _targets(output, rng, 10, 3, dtype)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    lf, gf = fast.gradient(X, Y)
    lp, gp = plain.gradient(X, Y)
    assert lf == pytest.approx(lp, rel=rtol)
    for k in fast.keys:
        scale = np.max(np.abs(gp[k])) + 1e-30
        assert np.max(np.abs(gf[k] - gp[k])) / scale <= rtol * 10, k
    np.testing.assert_allclose(fast.predict_proba(X), plain.predict_proba(X), rtol=rtol * 10, atol=rtol)
    assert fast._data_loss(X, Y) == pytest.approx(plain._data_loss(X, Y), rel=rtol)
    for _ in range(3):
        assert fast.step(X, Y, 0.3, with_loss=True) == pytest.approx(plain.step(X, Y, 0.3, with_loss=True), rel=rtol)
    np.testing.assert_allclose(fast.theta, plain.theta, rtol=rtol * 100, atol=rtol)


def test_blocks_that_do_not_add_up_are_not_chosen(monkeypatch):
    # a planted fault only in the blocked path (a later block overwrites the earlier blocks' sums)
    monkeypatch.setattr(inplace.Plan, "partial_grads", lambda self, layers: [(W, b) for W, b in self._target])
    real_run = inplace.run

    def run(plan, layers, grads, *a, **kw):
        plan._target = grads
        return real_run(plan, layers, grads, *a, **kw)

    monkeypatch.setattr(inplace, "run", run)
    net = MLP((4, 5, 3), seed=0, compiled=False)
    assert not net.inplace.active
    assert "in blocks of rows" in net.inplace.reason


# glibc's default mmap threshold: a block this large is mapped afresh by malloc and unmapped by
# free, so a temporary of this size made on every step page-faults on every step.
MMAP_THRESHOLD = 128 * 1024


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("m", [32, 1797])
def test_an_in_place_step_makes_no_temporary_large_enough_to_page_fault(m, dtype):
    # NumPy reports its arrays' memory to tracemalloc: the peak over a few steps bounds every
    # temporary a step makes (what remains is NumPy's own iteration buffer, at most 8192 elements).
    import tracemalloc

    rng = np.random.default_rng(12)
    X = rng.standard_normal((m, 64)).astype(dtype)
    Y = _targets("softmax", rng, m, 10, dtype)
    peaks = {}
    for inplace_path in (True, False):
        net = MLP((64, 128, 10), seed=0, dtype=dtype, keep_memory=False, inplace=inplace_path, compiled=False)
        net.step(X, Y, 0.1)  # the first step allocates the buffers
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(3):
                net.step(X, Y, 0.1)
            after, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        peaks[inplace_path] = peak - before
        assert after - before < 1024  # nothing kept from step to step
    assert peaks[True] < MMAP_THRESHOLD, peaks
    if m == 1797:
        assert peaks[False] > m * 128 * np.dtype(dtype).itemsize  # the measure sees the emitted path's temporaries


@settings(max_examples=20, deadline=None)
@given(**ANY_NETWORK)
def test_a_program_writes_only_the_gradient_it_was_made_for_and_its_logits_are_the_forward_pass(
    sizes, m, activation, output, seed
):
    # programs are kept per batch size and arrays: one made for the network's gradient vector must
    # not be run for another, and the forward-only program gives the logits of the step's forward pass
    rng = np.random.default_rng(seed)
    net = MLP(tuple(sizes), activation=activation, output=output, seed=seed, compiled=False)
    net.theta[...] = rng.standard_normal(net.theta.shape)
    X, Y = rng.standard_normal((m, sizes[0])), _targets(output, rng, m, sizes[-1])
    plan, lf = net.inplace, net.loss_module.forward
    loss = inplace.run(plan, net._wb, net._gwb, X, Y, 0.3, lf)
    whole = net._grad_flat.copy()
    assert plan._buffers[m].programs  # the program ran
    other = inplace.flat_like(net._wb)
    net._grad_flat[...] = 0.0
    assert inplace.run(plan, net._wb, other, X, Y, 0.3, lf) == loss
    assert np.array_equal(np.concatenate([a.ravel() for pair in other for a in pair]), whole)
    assert not net._grad_flat.any()  # the first program's gradient vector was left alone
    logits = inplace.logits(plan, net._wb, X)
    np.testing.assert_allclose(logits, net.forward(X), rtol=1e-12, atol=1e-12)
    assert lf(logits, Y) == loss


def test_a_changed_variant_is_not_run_from_a_program_made_before():
    rng = np.random.default_rng(13)
    net = MLP((4, 5, 3), seed=0, compiled=False)
    X, Y = rng.standard_normal((6, 4)), _targets("softmax", rng, 6, 3)
    net.gradient(X, Y)  # makes the program of a batch of 6
    fwd, _ = inplace.ACTIVATIONS["tanh"]
    net.inplace.act = (fwd, lambda d, a: d.__imul__(2.0))  # a planted fault
    failed = {r.check.split(": ")[-1] for r in net.check(X, Y, methods=("directional",)) if not r.passed}
    assert failed == {"dL/dW1", "dL/db1"}


def test_a_batch_with_the_wrong_number_of_columns_is_refused_not_broadcast():
    # the in-place path copies the batch into [X 1]: a one-column batch must not be spread over every column
    rng = np.random.default_rng(14)
    net = MLP((3, 4, 2), seed=0)
    before = net.theta.copy()
    X, Y = rng.standard_normal((5, 1)), _targets("softmax", rng, 5, 2)
    with pytest.raises(ValueError):
        net.step(X, Y, 0.1)
    assert np.array_equal(net.theta, before)


def test_the_bias_joins_its_weights_only_where_it_follows_them_in_memory():
    flat = np.arange(10.0)
    W, b = flat[:6].reshape(2, 3), flat[6:9]
    Wb = inplace.joined(W, b)
    assert Wb.shape == (3, 3) and np.shares_memory(Wb, flat) and np.array_equal(Wb[2], b)
    with pytest.raises(ValueError):
        inplace.joined(W, flat[7:10])  # one number apart
    with pytest.raises(ValueError):
        inplace.joined(W, b.copy())  # another array
