"""The compiled training step: chosen only when built and verified, equal to the NumPy step, proved by the checks."""

from __future__ import annotations

import numpy as np
import pytest
from batches import targets as _targets
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.numeric import ckernel, gradcheck, network
from gradproof.numeric.network import MLP


def _compiled(net):
    assert net.inplace.kernel is not None, net.inplace.compiled_reason
    return net.inplace.kernel


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=2, max_size=4),
    m=st.integers(1, 13),
    activation=st.sampled_from(["tanh", "sigmoid", "relu"]),
    output=st.sampled_from(["softmax", "sigmoid", "linear"]),
    dtype=st.sampled_from([np.float64, np.float32]),
    seed=st.integers(0, 2**16),
)
def test_compiled_step_equals_the_numpy_step_for_any_small_mlp(sizes, m, activation, output, dtype, seed):
    net = MLP(sizes, activation=activation, output=output, seed=seed, dtype=dtype, compiled=True)
    ref = MLP(sizes, activation=activation, output=output, seed=seed, dtype=dtype, compiled=False)
    _compiled(net)
    assert ref.inplace.kernel is None and ref.inplace.active
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, sizes[0])).astype(dtype)
    Y = _targets(output, rng, m, sizes[-1], dtype)
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    la, ga = net.gradient(X, Y, copy=False)  # the compiled step's gradient
    lb, gb = ref.gradient(X, Y)
    assert la == pytest.approx(lb, rel=rtol, abs=rtol)
    for k in net.keys:
        scale = max(float(np.max(np.abs(gb[k]))), 1e-30)
        assert float(np.max(np.abs(ga[k] - gb[k]))) / scale <= rtol, k
    for _ in range(3):
        a = net.step(X, Y, 0.2, with_loss=True)
        b = ref.step(X, Y, 0.2, with_loss=True)
        assert a == pytest.approx(b, rel=rtol, abs=rtol)
    scale = float(np.max(np.abs(ref.theta)))
    assert float(np.max(np.abs(net.theta - ref.theta))) <= 10 * rtol * scale
    assert net.loss(X, Y) == pytest.approx(ref.loss(X, Y), rel=rtol, abs=rtol)


def test_the_lecture_mlp_runs_compiled_at_batch_32_and_on_numpy_above_the_crossover(monkeypatch):
    rng = np.random.default_rng(1)
    net = MLP((64, 128, 10), seed=0, compiled=True)
    kernel = _compiled(net)
    calls = _spy(monkeypatch, kernel)
    for m in (32, ckernel.MAX_ROWS + 1):
        X, Y = rng.standard_normal((m, 64)), _targets("softmax", rng, m, 10)
        net.step(X, Y, 0.1)
    assert calls == [32]
    X, Y = rng.standard_normal((32, 64)), _targets("softmax", rng, 32, 10)
    net.step(np.asfortranarray(X), Y, 0.1)  # not C-contiguous: the NumPy step
    assert calls == [32]


def _spy(monkeypatch, kernel) -> list:
    """The row counts of the batches the kernel ran on, through its ctypes call or its Python front."""
    calls: list = []
    real = kernel.run
    monkeypatch.setattr(kernel, "run", lambda *a: calls.append(a[0].shape[0]) or real(*a))
    front = kernel.front
    if front is not None:

        def spy(args, X, Y, c, mode):
            ran = front(args, X, Y, c, mode)
            if ran:
                calls.append(X.shape[0])
            return ran

        monkeypatch.setattr(kernel, "front", spy)
    return calls


def test_the_python_front_is_built_where_the_interpreters_headers_are():
    kernel = _compiled(MLP((4, 6, 3), seed=0, compiled=True))
    assert (kernel.front is not None) == (ckernel.python_include() is not None)


def _batches(rng, n_in, K):
    """Batches the front takes (fresh, repeated, of every tile path's row count, read-only) and batches it
    leaves to the general way (Fortran order, another dtype or byte order, the wrong width, 1-D, a list, a
    view with strides), each with whether the compiled step should run it."""
    X, Y = rng.standard_normal((32, n_in)), _targets("softmax", rng, 32, K)
    ro = rng.standard_normal((5, n_in))
    ro.flags.writeable = False
    out = [(X, Y, True), (X, Y, True), (X.copy(), Y.copy(), True)]
    out += [(rng.standard_normal((m, n_in)), _targets("softmax", rng, m, K), True) for m in (1, 3, 8, 14, 512)]
    out += [(ro, _targets("softmax", rng, 5, K), True)]
    out += [
        (np.asfortranarray(rng.standard_normal((6, n_in))), _targets("softmax", rng, 6, K), False),
        (rng.standard_normal((6, n_in)).astype(np.float32), _targets("softmax", rng, 6, K), False),
        (rng.standard_normal((6, n_in)).astype(">f8"), _targets("softmax", rng, 6, K), False),
        (rng.standard_normal((6, n_in + 1))[:, :n_in], _targets("softmax", rng, 6, K), False),
        (rng.standard_normal((12, n_in))[::2], _targets("softmax", rng, 6, K), False),
        (rng.standard_normal((513, n_in)), _targets("softmax", rng, 513, K), False),
    ]
    return out


def test_the_python_front_steps_exactly_as_the_ctypes_call(monkeypatch):
    if ckernel.python_include() is None:
        pytest.skip("no Python.h for this interpreter: the kernel has no Python front to compare")
    rng = np.random.default_rng(7)
    a, b = MLP((5, 16, 4), seed=3, compiled=True), MLP((5, 16, 4), seed=3, compiled=True)
    ka, kb = _compiled(a), _compiled(b)
    assert ka.front is not None
    kb.front = None  # b calls through ctypes
    calls = _spy(monkeypatch, ka)
    for k, (X, Y, compiled) in enumerate(_batches(rng, 5, 4)):
        before = len(calls)
        la, lb = a.step(X, Y, 0.3, with_loss=True), b.step(X, Y, 0.3, with_loss=True)
        assert la == lb, k
        np.testing.assert_array_equal(a.theta, b.theta, err_msg=f"batch {k}")
        assert len(calls) == before + compiled, k
    np.testing.assert_array_equal(a._grad_flat, b._grad_flat)


def test_the_python_front_refuses_what_is_not_a_step(monkeypatch):
    if ckernel.python_include() is None:
        pytest.skip("no Python.h for this interpreter: the kernel has no Python front")
    net = MLP((3, 4, 2), seed=0, compiled=True)
    bound = _compiled(net)
    args = bound._for(2)[1]
    X, Y = np.zeros((2, 3)), np.zeros((2, 2))
    theta = net.theta.copy()
    assert bound.front(args, X, None, 0.1, 2) is False  # a step needs its targets
    assert bound.front(args, X[:1], Y[:1], 0.1, 2) is False  # not the struct's row count
    assert bound.front(args, [[0.0] * 3] * 2, Y, 0.1, 2) is False  # no buffer
    with pytest.raises(ValueError):
        bound.front(args, X, Y, 0.1, 3)
    with pytest.raises(TypeError):
        bound.front(args, X, Y, 0.1)
    with pytest.raises(ValueError):
        bound.front(0, X, Y, 0.1, 2)
    np.testing.assert_array_equal(net.theta, theta)  # nothing ran
    assert bound.front(args, X, None, 0.0, 0) is True  # the logits alone
    np.testing.assert_array_equal(net.theta, theta)


@pytest.mark.parametrize(
    "plant",
    [
        lambda s: s.replace("a.c = (T)c;", "a.c = (T)-c;"),  # the step's sign
        lambda s: s.replace("a.mode = (int)mode;", "a.mode = 1;"),  # the gradient, never the update
    ],
)
def test_a_wrong_python_front_is_not_chosen(monkeypatch, tmp_path, plant):
    if ckernel.python_include() is None:
        pytest.skip("no Python.h for this interpreter: the kernel has no Python front")
    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(tmp_path))
    assert plant(ckernel._FRONT) != ckernel._FRONT
    monkeypatch.setattr(ckernel, "_FRONT", plant(ckernel._FRONT))
    net = MLP((4, 16, 3), seed=0, compiled=True)
    assert net.inplace.kernel is None
    assert "disagrees" in net.inplace.compiled_reason


def test_without_the_interpreters_headers_the_kernel_is_called_through_ctypes(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(ckernel, "python_include", lambda: None)
    net, ref = MLP((4, 6, 3), seed=2, compiled=True), MLP((4, 6, 3), seed=2, compiled=False)
    kernel = _compiled(net)
    assert kernel.front is None
    calls = _spy(monkeypatch, kernel)
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((6, 4)), _targets("softmax", rng, 6, 3)
    for _ in range(3):
        assert net.step(X, Y, 0.2, with_loss=True) == pytest.approx(ref.step(X, Y, 0.2, with_loss=True), rel=1e-10)
    assert calls == [6, 6, 6]
    np.testing.assert_allclose(net.theta, ref.theta, rtol=1e-9, atol=1e-12)


def test_what_the_checks_report_does_not_depend_on_the_compiled_step():
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((6, 4)), _targets("softmax", rng, 6, 3)
    on, off = MLP((4, 6, 3), seed=1, compiled=True), MLP((4, 6, 3), seed=1, compiled=False)
    _compiled(on)
    a, b = on.check(X, Y, methods=("central", "directional")), off.check(X, Y, methods=("central", "directional"))
    assert gradcheck.all_passed(a) and a == b
    assert on.loss(X, Y) == off.loss(X, Y)
    assert all(np.array_equal(g, h) for g, h in zip(on.gradient(X, Y)[1].values(), off.gradient(X, Y)[1].values()))


def test_a_kernel_not_in_the_cache_is_built_after_a_training_loops_first_steps(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(ckernel, "BUILD_AFTER", 5)
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((8, 4)), _targets("linear", rng, 8, 2)
    net = MLP((4, 5, 2), output="linear", seed=0)
    ref = MLP((4, 5, 2), output="linear", seed=0, compiled=False)
    assert net.inplace.kernel is None and "until 5 steps" in net.inplace.compiled_reason
    big_X, big_Y = rng.standard_normal((ckernel.MAX_ROWS + 1, 4)), _targets("linear", rng, ckernel.MAX_ROWS + 1, 2)
    for _ in range(3):
        net.step(big_X, big_Y, 0.01), ref.step(big_X, big_Y, 0.01)  # large batches do not count
    for _ in range(5):
        assert net.inplace.kernel is None
        net.step(X, Y, 0.1), ref.step(X, Y, 0.1)
    kernel = _compiled(net)
    for _ in range(3):
        net.step(X, Y, 0.1), ref.step(X, Y, 0.1)
    np.testing.assert_allclose(net.theta, ref.theta, rtol=1e-12, atol=1e-14)
    assert ckernel.cached("tanh", "mse_multi", np.float64) and list(tmp_path.glob("kernels/step-*.so"))
    again = MLP((4, 5, 2), output="linear", seed=0)  # now in the cache: compiled from construction
    assert again.inplace.kernel is not None and again.inplace.kernel is not kernel


def test_a_planted_fault_past_the_probe_makes_the_step_differ(monkeypatch):
    # the construction probe is what keeps a wrong kernel out: forced past it, the step is wrong
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((6, 4)), _targets("softmax", rng, 6, 3)
    net, ref = MLP((4, 6, 3), seed=1, compiled=True), MLP((4, 6, 3), seed=1, compiled=False)
    fwd, _ = ckernel.ACTIVATIONS["tanh"]
    monkeypatch.setitem(ckernel.ACTIVATIONS, "tanh", (fwd, "d *= 1 - a;"))
    wrong = ckernel.build("tanh", "softmax_cross_entropy", np.float64)
    ok, detail = network._probe_kernel(ref, wrong.bind(ref.sizes, ref.theta, ref._grad_flat), "softmax_cross_entropy")
    assert not ok and "dL/dW1" in detail
    net.inplace.kernel = wrong.bind(net.sizes, net.theta, net._grad_flat)
    net.step(X, Y, 0.5), ref.step(X, Y, 0.5)
    assert not np.allclose(net.params["W1"], ref.params["W1"], rtol=1e-6)
    np.testing.assert_allclose(net.params["W2"], ref.params["W2"], rtol=1e-10)


# 16 hidden units fill whole float64 tiles (the update fused into the product); 3 outputs are narrow (their
# weight gradient computed transposed); 5 hidden units after 4 inputs take the padded copy
WHOLE, PADDED = (4, 16, 3), (4, 5, 3)


@pytest.mark.parametrize(
    "loss, sizes, plant",
    [
        ("softmax_cross_entropy", WHOLE, lambda s: s.replace("(d[j] / sum - y[j]) * c", "(y[j] - d[j] / sum) * c")),
        ("mse_multi", WHOLE, lambda s: s.replace("gb[l][j] = 0;", "gb[l][j] = 1;")),
        (
            "sigmoid_bce",
            WHOLE,
            lambda s: s.replace("int minus = mode == 2;", "int minus = mode == 2;\n  theta[0] += minus;"),
        ),
        # the update fused into the product: a sign flipped where the weights are subtracted as computed
        ("softmax_cross_entropy", WHOLE, lambda s: s.replace("*(V *)c -= acc[r][0];", "*(V *)c += acc[r][0];")),
        # ... or copied out of the padded product, or out of the narrow layer's transposed one
        ("mse_multi", PADDED, lambda s: s.replace("out[t] - g[(long)k * p1 + j]", "out[t] + g[(long)k * p1 + j]")),
        (
            "mse_multi",
            WHOLE,
            lambda s: s.replace("out[(long)k * n1 + j] -= g[(long)j", "out[(long)k * n1 + j] += g[(long)j"),
        ),
        # the narrow layer's transposed product reading its message untransposed
        (
            "softmax_cross_entropy",
            WHOLE,
            lambda s: s.replace("gemm(n1, m, p0, D[l], 1, p1,", "gemm(n1, m, p0, D[l], p1, 1,"),
        ),
    ],
)
def test_a_wrong_kernel_is_not_chosen(monkeypatch, loss, sizes, plant):
    real = ckernel.source
    monkeypatch.setattr(ckernel, "source", lambda *a: plant(real(*a)))
    assert plant(real("tanh", loss, np.float64)) != real("tanh", loss, np.float64)
    output = {"softmax_cross_entropy": "softmax", "mse_multi": "linear", "sigmoid_bce": "sigmoid"}[loss]
    net = MLP(sizes, output=output, seed=0, compiled=True)
    assert net.inplace.kernel is None
    assert "disagrees" in net.inplace.compiled_reason
    assert net.inplace.active  # the NumPy step runs, correctly
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((6, 4)), _targets(output, rng, 6, 3)
    assert gradcheck.all_passed(net.check(X, Y, methods=("directional",)))


def test_without_a_compiler_the_numpy_step_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no gcc here
    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(tmp_path / "cache"))
    net = MLP((4, 5, 3), seed=0, compiled=True)
    assert net.inplace.kernel is None and net.inplace.active
    assert "no C compiler" in net.inplace.compiled_reason
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((6, 4)), _targets("softmax", rng, 6, 3)
    before = net.loss(X, Y)
    for _ in range(20):
        net.step(X, Y, 0.5)
    assert net.loss(X, Y) < before


def test_a_failed_compilation_is_one_line_and_the_numpy_step_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(tmp_path))
    real = ckernel.source
    monkeypatch.setattr(ckernel, "source", lambda *a: real(*a) + "\nthis is not C;\n")
    net = MLP((4, 5, 3), seed=0, compiled=True)
    assert net.inplace.kernel is None and net.inplace.active
    reason = net.inplace.compiled_reason
    assert "gcc failed" in reason and "\n" not in reason
    assert not list(tmp_path.glob("kernels/*.so")) and not list(tmp_path.glob("kernels/.build-*"))


def test_a_corrupt_cached_kernel_is_ignored_and_rebuilt(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(tmp_path))
    src = ckernel.source("relu", "mse_multi", np.float32)
    so = ckernel.compile_cached(src)
    good = so.read_bytes()
    assert so.parent == tmp_path / "kernels" and so.with_suffix(".sha256").is_file()
    assert ckernel.compile_cached(src) == so and so.read_bytes() == good  # from the cache
    so.write_bytes(b"\x7fELF not a shared object")
    assert ckernel.compile_cached(src) == so
    assert so.read_bytes() == good and ckernel._digest(so) == so.with_suffix(".sha256").read_text().strip()
    so.with_suffix(".sha256").write_text("0" * 64)  # a checksum that does not match: rebuilt, never loaded
    assert ckernel.compile_cached(src) == so
    assert so.read_bytes() == good and ckernel._digest(so) == so.with_suffix(".sha256").read_text().strip()
    assert ckernel.cached("relu", "mse_multi", np.float32)
    net = MLP((3, 4, 2), activation="relu", output="linear", seed=0, dtype=np.float32)  # from the cache
    _compiled(net)


def test_the_switches(monkeypatch):
    monkeypatch.setenv("GRADPROOF_COMPILED", "0")
    off = MLP((4, 5, 3), seed=0)
    assert off.inplace.kernel is None and off.inplace.compiled_reason == "compiled step switched off"
    _compiled(MLP((4, 5, 3), seed=0, compiled=True))
    monkeypatch.delenv("GRADPROOF_COMPILED")
    assert MLP((4, 5, 3), seed=0, compiled=False).inplace.kernel is None
    _compiled(MLP((4, 5, 3), seed=0))  # in the cache now: chosen automatically


def test_only_names_from_the_fixed_tables_reach_the_source():
    with pytest.raises(KeyError):
        ckernel.source('tanh); system("rm -rf /"', "mse_multi", np.float64)
    with pytest.raises(ckernel.BuildError):
        ckernel.build("leaky_relu", "mse_multi", np.float64)
    net = MLP((3, 4, 2), activation="leaky_relu")
    assert net.inplace.kernel is None
    with pytest.raises(ValueError):
        ckernel.build("tanh", "mse_multi", np.float64).bind((3, 0, 2), np.zeros(5), np.zeros(5))


def test_a_shared_object_that_is_not_a_kernel_is_refused():
    import ctypes.util
    from pathlib import Path

    libm = ctypes.util.find_library("m")
    assert libm
    with pytest.raises(ckernel.BuildError, match="cannot load"):
        ckernel.Kernel(Path(libm), np.float64, "tanh", "mse_multi")


@pytest.mark.parametrize("activation, with_differences", [("tanh", True), ("sigmoid", True), ("relu", False)], ids=str)
def test_the_reason_names_only_the_checks_the_kernel_passed(activation, with_differences):
    """A kinked activation skips the central difference at construction: the reason must not claim it."""
    net = MLP((4, 5, 3), activation=activation, seed=0, compiled=True)
    reason = _compiled(net) and net.inplace.compiled_reason
    assert "agrees with the generated modules" in reason
    assert ("and with finite differences" in reason) == with_differences
    assert ("no finite differences: a difference may straddle the activation's kink" in reason) != with_differences


def _tanh_through_the_kernel(x: np.ndarray, n: int = 16) -> np.ndarray:
    """tanh of each value as the float64 kernel computes it: identity weights and biases of -0 around the hidden
    layer make the logits the hidden activations themselves (products by 1 and sums with -0 are exact, and keep
    a -0).  With ``n`` > 1 the values must be finite (inf times an off-diagonal 0 is NaN)."""
    net = MLP((n, n, n), activation="tanh", output="linear", seed=0, compiled=True)
    kernel = _compiled(net)
    net.theta[...] = -0.0
    for key in ("W1", "W2"):
        net.params[key][...] = np.eye(n)
    rows = np.ascontiguousarray(np.resize(x, (-(-x.size // n), n)))
    out = []
    for at in range(0, rows.shape[0], ckernel.MAX_ROWS):
        block = np.ascontiguousarray(rows[at : at + ckernel.MAX_ROWS])
        out.append(kernel.run(block, None, 0.0, 0).copy())
    return np.concatenate(out).ravel()[: x.size]


def test_the_float64_kernels_tanh_is_within_two_ulp_of_the_exact_value():
    mpmath = pytest.importorskip("mpmath")  # SymPy's own dependency, always there with gradproof
    rng = np.random.default_rng(7)
    x = np.concatenate(
        [
            rng.uniform(-1e-8, 1e-8, 500),
            rng.uniform(-0.6, 0.6, 4000),
            rng.uniform(-4, 4, 4000),
            rng.uniform(-25, 25, 1000),
            10.0 ** rng.uniform(-300, 1.5, 1000) * rng.choice([-1.0, 1.0], 1000),
            # where the reduction's k steps, tanh rounds to 1, and the cap
            np.log(2) / 2 * np.arange(-40, 41),
            [5e-324, -5e-324, 2.2e-308, 19.0, 19.1, 20.0, 20.5, 710.0, -1e308],
        ]
    )
    got = _tanh_through_the_kernel(x)
    mpmath.mp.prec = 113
    exact = np.array([float(mpmath.tanh(mpmath.mpf(float(v)))) for v in x])
    ulps = np.abs(got - exact) / np.spacing(np.abs(exact))
    assert float(ulps.max()) <= 2.0, (x[ulps.argmax()], got[ulps.argmax()], exact[ulps.argmax()])
    assert np.mean(ulps) < 0.5  # mostly correctly rounded, not merely within the bound


def test_the_float64_kernels_tanh_keeps_the_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan])
    got = _tanh_through_the_kernel(x, n=1)
    want = np.tanh(x)
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got[:2]), [False, True])  # tanh(-0) is -0
