"""Property-based tests over every generated module and every example spec.

Deterministic under the "ci" hypothesis profile (tests/conftest.py); select
the deeper one with GRADPROOF_HYPOTHESIS_PROFILE=deep.
"""

from __future__ import annotations

import importlib
import pathlib

import numpy as np
import pytest
from hypothesis import Phase, assume, given, settings
from hypothesis import strategies as st

from gradproof.numeric import gradcheck as gc
from gradproof.numeric import strategies as nst

ROOT = pathlib.Path(__file__).resolve().parents[2]
GENERATED = sorted(p.stem for p in (ROOT / "numeric" / "generated").glob("*.py") if p.stem != "__init__")
SPECS = sorted(p for p in (ROOT / "examples" / "specs").glob("*.toml") if p.stem != "wrong_claim")


@pytest.fixture(scope="session")
def spec_modules(tmp_path_factory):
    """Every example spec, derived and generated into a temporary folder: {name: (module, derivation)}."""
    from gradproof.derive.lecture.registry import derive
    from gradproof.derive.output.codegen import write_module
    from gradproof.derive.specs.spec import load_spec_topic
    from gradproof.reports.verify import load_module

    folder = tmp_path_factory.mktemp("specs")
    out = {}
    for path in SPECS:
        t = load_spec_topic(path)
        d = derive(t)
        assert d.passed, t.name
        write_module(d, str(folder))
        out[t.name] = (load_module(t.name, str(folder)), d)
    return out


def _lecture(name):
    return importlib.import_module("gradproof.numeric.generated." + name)


ALL = [("lecture", n) for n in GENERATED if getattr(_lecture(n), "KIND", "") != "solver"] + [
    ("spec", p.stem) for p in SPECS
]

# Central differences across a point where the second derivative jumps (Huber
# where |y - yhat| = delta) are only first-order accurate: such inputs are
# drawn away from it, as inputs are from kinks.
# A normalisation layer varies on the scale sqrt(eps) where a sample's features
# are (nearly) equal: finite differences there measure the step, not the
# derivative, so samples are drawn with a spread well above that scale.
_SPREAD = lambda a, h: np.all(a["z"].var(axis=1) > 1e4 * h["eps"])

SECOND_ORDER_BREAKS = {
    "huber": lambda a, h: np.all(np.abs(np.abs(a["z"] - a["y"]) - h["delta_h"]) > 0.01),
    "softsign": lambda a, h: np.all(np.abs(a["z"]) > 0.01),  # s / (1 + |s|): f'' jumps at 0
    "layer_norm": _SPREAD,
    "layer_norm_affine": _SPREAD,
}


def _module(origin, name, spec_modules):
    if origin == "lecture":
        return _lecture(name)
    import tomllib

    topic = tomllib.loads((ROOT / "examples" / "specs" / f"{name}.toml").read_text())["name"]
    return spec_modules[topic][0]


def assert_gradient_matches(mod, inputs, rtol=1e-6, atol=1e-9):
    """The property: the module's backward agrees with central differences of its forward.

    Entry by entry, ``|analytic - numeric| <= rtol |numeric| + atol * scale``
    with ``scale`` the size of the output and the Jacobian: an exact zero
    next to 1e-17 of rounding noise is a match (a purely relative measure
    would call it wrong).  Failures are reported by gradproof's checker, which
    names the entry.
    """
    hyper = dict(getattr(mod, "HYPER", {}) or {})
    f, vjp, args, wrt, labels = gc._adapt(mod, inputs, hyper)
    out = np.asarray(f(**args), dtype=np.float64)
    n_out = max(out.size, 1)
    for name in wrt:
        x = np.asarray(args[name], dtype=np.float64)
        an = np.empty((n_out, x.size))
        for j in range(n_out):
            v = np.zeros(n_out)
            v[j] = 1
            an[j] = np.ravel(vjp(v.reshape(out.shape) if out.shape else 1.0, **args)[name])
        num = np.empty_like(an)
        for i in range(x.size):
            e = np.zeros(x.size)
            e[i] = 1
            e = e.reshape(x.shape)
            h = 1e-3 * max(1.0, abs(x.flat[i]))
            num[:, i] = np.ravel(gc._richardson(lambda xx, name=name: f(**{**args, name: xx}), x, e, h))
        scale = max(1.0, float(np.max(np.abs(out), initial=0)), float(np.max(np.abs(num), initial=0)))
        ok = np.abs(an - num) <= rtol * np.abs(num) + atol * scale
        if not ok.all():
            recs = gc.check_module(mod, inputs=inputs, methods=("central",))
            raise AssertionError(gc.format_records([r for r in recs if not r.passed] or recs))


# --- the generated gradient matches finite differences, arbitrary shapes and values
@pytest.mark.parametrize("origin,name", ALL, ids=[n for _, n in ALL])
def test_gradient_matches_finite_differences(origin, name, spec_modules):
    mod = _module(origin, name, spec_modules)

    away = SECOND_ORDER_BREAKS.get(getattr(mod, "TOPIC", name))

    @given(inputs=nst.module_inputs(mod, max_size=3))
    def prop(inputs):
        if away is not None:
            assume(away(inputs, dict(getattr(mod, "HYPER", {}) or {})))
        assert_gradient_matches(mod, inputs)

    prop()


# --- softmax rows sum to 1 (extreme logits included)
@given(data=st.data(), dtype=st.sampled_from([np.float64, np.float32]))
def test_softmax_rows_sum_to_one(data, dtype):
    sm = _lecture("softmax")
    sz = data.draw(nst.sizes())
    p = sm.forward(data.draw(nst.logits((sz["m"], sz["n"]), dtype=dtype)))
    assert np.all(p >= 0)
    assert np.allclose(p.sum(axis=1), 1, atol=1e-5 if dtype == np.float32 else 1e-12)


LOSSES = [(k, n) for k, n in ALL if n in GENERATED and getattr(_lecture(n), "KIND", "") == "loss"] + [("spec", "huber")]


@pytest.mark.parametrize("origin,name", LOSSES, ids=[n for _, n in LOSSES])
def test_losses_nonnegative_and_zero_at_perfect_prediction(origin, name, spec_modules):
    mod = _module(origin, name, spec_modules)
    regression = gc._meta(mod, "DOMAIN", "real") == "real" and gc._meta(mod, "TARGET", "real") == "real"

    @given(inputs=nst.module_inputs(mod))
    def prop(inputs):
        hyper = dict(getattr(mod, "HYPER", {}) or {})
        assert mod.forward(inputs["z"], inputs["y"], **hyper) >= 0
        if regression:  # a perfect prediction is yhat = y (not so for probabilities of one-hot targets)
            assert mod.forward(inputs["y"], inputs["y"], **hyper) == 0

    prop()


# --- outputs finite at extreme logits, gradients equal to the exact ones within rounding
def _exact_backward(d, arrays, upstream=None):
    """The derived backward message evaluated exactly by SymPy (arbitrary precision) at the given arrays."""
    import sympy as sp

    from gradproof.derive.engine import mexpr as mx

    code = d.code
    env = {code.input.name: sp.Matrix(arrays["z"].astype(np.float64).tolist()).applyfunc(sp.Float)}
    if code.target is not None:
        env[code.target.name] = sp.Matrix(arrays["y"].tolist())
    if upstream is not None:
        env[code.upstream.name] = sp.Matrix(upstream.tolist())
    m_, n_ = arrays["z"].shape
    from gradproof.derive.engine.modules import K, m, n

    dims = {m: m_, n: n_, K: n_}
    dims.update({h: sp.Float(v) for h, v in code.hyper})
    if code.output is not None:
        env[code.output.name] = mx.evaluate(code.output_def, env, dims)
    val = mx.evaluate(code.backward, env, dims)
    return np.array(val.evalf(30).tolist(), dtype=np.float64)


EXTREME = [
    "sigmoid",
    "tanh",
    "softmax",
    "relu",
    "leaky_relu",
    "sigmoid_bce",
    "softmax_cross_entropy",
    "spec:softplus",
    "spec:swish",
    "spec:elu",
    "spec:huber",
]


@pytest.mark.parametrize("which", EXTREME)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_extreme_logits_finite_and_exact(which, dtype, spec_modules):
    from gradproof.derive.lecture.registry import derive

    if which.startswith("spec:"):
        import tomllib

        stem = which[5:]
        topic = tomllib.loads((ROOT / "examples" / "specs" / f"{stem}.toml").read_text())["name"]
        mod, d = spec_modules[topic]
    else:
        mod, d = _lecture(which), derive(which)
    hyper = dict(getattr(mod, "HYPER", {}) or {})
    tol = 1e-12 if dtype == np.float64 else 2e-6

    @given(data=st.data())
    def prop(data):
        m_, n_ = data.draw(st.integers(1, 3)), data.draw(st.integers(2, 3))
        shape = (m_, n_) if mod.SHAPES["z"][1] != 1 else (m_, 1)
        z = data.draw(nst.logits(shape, dtype=dtype))
        z = np.where(np.isin(z, [0.0]), dtype(0.5), z).astype(dtype)  # away from the kinks at 0
        if mod.KIND == "loss":
            target = gc._meta(mod, "TARGET", "real")
            y = (
                data.draw(nst.onehot(*shape))
                if target == "onehot"
                else (
                    data.draw(st.sampled_from([np.zeros(shape), np.ones(shape)]))
                    if target == "binary"
                    else data.draw(nst.arrays(shape))
                )
            )
            y = y.astype(dtype)
            val = mod.forward(z, y, **hyper)
            g = mod.backward(z, y, **hyper)
            exact = _exact_backward(d, {"z": z, "y": y})
        else:
            y = None
            delta = data.draw(nst.arrays(shape, -1, 1)).astype(dtype)
            val = mod.forward(z, **hyper)
            g, _ = mod.backward(delta, z, **hyper)
            exact = _exact_backward(d, {"z": z}, upstream=delta.astype(np.float64))
        assert np.all(np.isfinite(val)) and np.all(np.isfinite(g))
        scale = max(1.0, float(np.max(np.abs(exact))))
        assert np.max(np.abs(np.asarray(g, dtype=np.float64) - exact)) <= tol * scale * 10

    prop()


# --- closed forms zero the gradient
SOLVERS = [n for n in GENERATED if getattr(_lecture(n), "KIND", "") == "solver"]


def test_closed_form_topics_are_generated():
    """least_squares and ridge (derive/lecture/topics_stats.py) have generated solvers to test below."""
    from gradproof.derive.lecture.registry import get

    for name in ("least_squares", "ridge"):
        assert get(name).category == "closed_form"
        assert name in SOLVERS


@pytest.mark.parametrize("name", SOLVERS)
def test_closed_forms_zero_the_gradient(name):
    mod = _lecture(name)
    hyper = dict(getattr(mod, "HYPER", {}) or {})

    @given(data=st.data(), lam=st.sampled_from([0.0, 0.3, 5.0]))
    def prop(data, lam):
        rows = data.draw(st.integers(2, 8))
        cols = data.draw(st.integers(1, rows))
        X = data.draw(nst.well_conditioned(rows, cols, max_cond=50))
        y = data.draw(nst.arrays((rows, 1)))
        h = dict.fromkeys(hyper, lam)
        w = mod.solve(X, y, **h)
        g = mod.gradient(X, y, w, **h)
        # the gradient's terms are of the size of X^T y (and X^T X w): zero means zero to rounding there
        scale = max(1.0, float(np.abs(X.T @ y).max()), float(np.abs(X.T @ X @ w).max()))
        assert g.shape == w.shape
        assert np.max(np.abs(g)) <= 1e-12 * scale * rows

    prop()


# --- regenerating code is byte-identical
def test_regenerating_spec_code_is_byte_identical(spec_modules, tmp_path):
    from gradproof.derive.lecture.registry import derive
    from gradproof.derive.output.codegen import generate
    from gradproof.derive.specs.spec import load_spec_topic

    for path in SPECS:
        t1 = load_spec_topic(path)
        first = generate(derive(t1))
        from gradproof.derive.specs import spec as _spec

        _spec._LOADED.clear()  # forget the file was read: a fresh registration
        t2 = load_spec_topic(path)  # derived again from scratch
        assert t2 is not t1
        assert generate(derive(t2)) == first, path.name


# --- the properties can fail: a planted fault is caught
def test_gradient_property_catches_planted_fault(spec_modules):
    from gradproof.reports.verify import load_module

    mod, _ = spec_modules["swish"]
    src = pathlib.Path(mod.__file__).read_text()
    line = next(ln for ln in src.splitlines() if ln.strip().startswith("delta_in = "))
    head, _, tail = line.rpartition("_sigmoid(z)")
    planted = src.replace(line, head + "_sigmoid(2*z)" + tail)  # sigma evaluated at the wrong point
    assert planted != src
    folder = pathlib.Path(mod.__file__).parent / "planted"
    folder.mkdir(exist_ok=True)
    (folder / "swish.py").write_text(planted)
    bad = load_module("swish", str(folder))

    # no shrinking: finding the fault is the point, not its smallest example
    @settings(phases=[Phase.explicit, Phase.reuse, Phase.generate])
    @given(inputs=nst.module_inputs(bad))
    def prop(inputs):
        assert_gradient_matches(bad, inputs)

    with pytest.raises(AssertionError, match="swish: delta_in wrong at entry"):
        prop()
