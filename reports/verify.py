"""Every verification layer for a topic, as one list of records.

Layers (DESIGN.md): (1) the exact proofs of the derivation; (2) full-Jacobian
central differences, (3) directional checks over several seeds and (4) the
complex step where the code is analytic, all on the generated NumPy module;
(5) mutation: planted faults in the generated source must each be caught;
(6) accuracy: the generated forward and backward messages at ordinary and
extreme inputs, in float64 and float32, against a high-precision (mpmath)
evaluation of the derived expressions (:mod:`gradproof.derive.proof.accuracy`,
:mod:`gradproof.numeric.accuracy`).
Statistics topics add their own numeric checks (``gradproof.numeric.stats_checks``);
the composed networks (MLP, DAG with module reuse, RNN through time) are
checked as wholes.

Records are :class:`gradproof.numeric.gradcheck.CheckRecord`:
``{topic, check, max_rel_error, tolerance, passed}`` (+ ``detail``).
"""

from __future__ import annotations

import importlib
import importlib.util
import os

import numpy as np

from gradproof.numeric.gradcheck import CheckRecord

NETWORKS = ("network:mlp", "network:dag", "network:rnn")


def exact_records(d) -> list[CheckRecord]:
    """Layer 1: the derivation's exact proofs (relative error 0 when proved)."""
    out = []
    for p in d.proofs:
        out.append(
            CheckRecord(
                d.topic,
                f"exact ({p.sizes}): {p.key} {p.check.replace('exact: ', '')}".rstrip(),
                0.0 if p.passed else float("inf"),
                0.0,
                p.passed,
                "" if p.passed else f"{d.topic}: {p.key}: {p.detail}",
            )
        )
    return out


def load_module(topic: str, code_dir: str | None = None):
    """The generated module of ``topic``: from ``code_dir`` if given, else ``gradproof.numeric.generated``."""
    if code_dir is None:
        return importlib.import_module("gradproof.numeric.generated." + topic)
    path = os.path.join(code_dir, topic + ".py")
    spec = importlib.util.spec_from_file_location(f"gradproof_user_{topic}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def module_source(topic: str, code_dir: str | None = None) -> str:
    if code_dir is None:
        import gradproof.numeric.generated as g

        code_dir = os.path.dirname(g.__file__)
    with open(os.path.join(code_dir, topic + ".py"), encoding="utf-8") as f:
        return f.read()


def numeric_records(topic: str, code_dir: str | None = None, seed: int = 0, mutation: bool = True) -> list[CheckRecord]:
    """Layers 2-5 on the generated module of ``topic``."""
    from gradproof.numeric import gradcheck
    from gradproof.numeric.mutation import mutation_records

    try:
        mod = load_module(topic, code_dir)
    except (ImportError, OSError, SyntaxError) as err:
        return [
            CheckRecord(
                topic,
                "generated code loads",
                float("inf"),
                0.0,
                False,
                f"{topic}: cannot load the generated module: {err}",
            )
        ]
    if getattr(mod, "KIND", "module") == "solver":
        return []  # closed forms: checked against lstsq and a zero gradient (gradproof.numeric.stats_checks)
    source = module_source(topic, code_dir) if mutation else ""
    # A piecewise map (np.where: ELU, Huber) is checked on more samples, so that
    # every branch is exercised and a fault in any one of them can be seen.
    sizes = {"m": 16} if "np.where(" in (source or module_source(topic, code_dir)) else None
    recs = gradcheck.check_module(mod, topic=topic, seed=seed, sizes=sizes)
    if getattr(mod, "KIND", "module") == "module":
        # layer 3 on larger shapes too: its cost does not grow with the parameter count
        from dataclasses import replace

        big = gradcheck.check_module(
            mod, topic=topic, seed=seed + 1, sizes={"m": 16, "n": 24, "K": 20}, methods=("directional",)
        )
        recs += [replace(r, check=r.check.replace("directional", "directional at m=16, n=24, K=20", 1)) for r in big]
    if mutation:
        recs += mutation_records(source, topic=topic, seed=seed, sizes=sizes)
    return recs


def accuracy_records(d, code_dir: str | None = None) -> list[CheckRecord]:
    """Layer 6: relative error against high-precision reference values, where they are normal numbers."""
    from gradproof.derive.proof.accuracy import reference_values
    from gradproof.numeric import accuracy

    try:
        mod = load_module(d.topic, code_dir)
    except (ImportError, OSError, SyntaxError) as err:
        return [
            CheckRecord(
                d.topic,
                "accuracy: generated code loads",
                float("inf"),
                0.0,
                False,
                f"{d.topic}: cannot load the generated module: {err}",
            )
        ]
    if getattr(mod, "KIND", "module") == "solver":
        return []  # closed forms: checked against a high-precision solution (gradproof.numeric.stats_checks)
    pts = {dtype: accuracy.points(mod, dtype) for dtype in ("float64", "float32")}
    # one call for both precisions: the references are set up once and the
    # points the two lists share are evaluated once
    refs = reference_values(d, pts["float64"] + pts["float32"])
    n64 = len(pts["float64"])
    recs = accuracy.accuracy_records(mod, pts["float64"], refs[:n64], "float64", topic=d.topic)
    return recs + accuracy.accuracy_records(mod, pts["float32"], refs[n64:], "float32", topic=d.topic)


def stats_records(topic: str, seed: int = 0) -> list[CheckRecord]:
    from gradproof.numeric import lecture_checks

    if topic in lecture_checks.TOPICS_WITH_CHECKS:
        return lecture_checks.run_checks(topic, seed=seed)
    try:
        from gradproof.numeric import stats_checks
    except ImportError:
        return []
    if topic not in getattr(stats_checks, "TOPICS_WITH_CHECKS", ()):
        return []
    return list(stats_checks.run_checks(topic, seed=seed))


def network_records(name: str, seed: int = 0) -> list[CheckRecord]:
    """The composed networks, checked as wholes (central and directional)."""
    from gradproof.numeric.network import DAG, MLP, RNN, Node

    rng = np.random.default_rng(seed)
    methods = ("central", "directional")
    if name == "network:mlp":
        net = MLP((5, 6, 4, 3), activation="tanh", output="softmax", seed=seed)
        X = rng.standard_normal((7, 5))
        Y = np.eye(3)[rng.integers(0, 3, 7)]
        return net.check(X, Y, topic=name, methods=methods, seed=seed)
    if name == "network:dag":
        # one affine module used twice (module reuse): its messages add up
        init = {
            "W1": rng.standard_normal((4, 4)) * 0.5,
            "b1": np.zeros(4),
            "W2": rng.standard_normal((4, 3)) * 0.5,
            "b2": np.zeros(3),
        }
        nodes = [
            Node("s1", "affine", ("x",), {"W": "W1", "b": "b1"}),
            Node("h1", "tanh", ("s1",)),
            Node("s2", "affine", ("h1",), {"W": "W1", "b": "b1"}),
            Node("h2", "tanh", ("s2",)),
            Node("skip", "add", ("h1", "h2")),
            Node("o", "affine", ("skip",), {"W": "W2", "b": "b2"}),
        ]
        net = DAG(["x"], nodes, [("o", "softmax_cross_entropy", "y")], init, penalised=["W1", "W2"])
        X = rng.standard_normal((6, 4))
        Y = np.eye(3)[rng.integers(0, 3, 6)]
        return net.check({"x": X}, {"y": Y}, topic=name, methods=methods, seed=seed)
    if name == "network:rnn":
        T, m_, n_, h_, k_ = 4, 3, 2, 5, 2
        net = RNN(n_, h_, k_, T, activation="tanh", output="linear", seed=seed)
        X = rng.standard_normal((T, m_, n_))
        Y = rng.standard_normal((T, m_, k_))
        return net.check(X, Y, topic=name, methods=methods, seed=seed)
    raise KeyError(name)


def verify_topic(name: str, code_dir: str | None = None, seed: int = 0, mutation: bool = True) -> list[CheckRecord]:
    """Every layer for one topic (or one of :data:`NETWORKS`)."""
    if name in NETWORKS:
        return network_records(name, seed)
    from gradproof.derive.lecture.registry import derive

    d = derive(name)
    recs = exact_records(d)
    if d.code is not None and d.passed and code_dir is None and d.category == "user":
        # a user module (from a spec file) has no bundled code: generate it into a cache folder
        from gradproof.derive.specs.spec import user_code_dir

        code_dir = user_code_dir(d)
    if d.code is not None and d.passed:
        recs += numeric_records(name, code_dir, seed, mutation=mutation)
        recs += accuracy_records(d, code_dir)
    if "diff" in d.extra:
        recs += expression_records(d)
    recs += stats_records(name, seed)
    return recs


def expression_records(d, seeds=(0, 1, 2)) -> list[CheckRecord]:
    """A user's expression topic: its generated NumPy module against central differences, several seeds."""
    from gradproof.derive.proof.matcalc import CD_TOL, numeric_check

    r = d.extra["diff"]
    if not r.proved:
        return []  # a result that failed its exact proof is not run as code
    sizes = ", ".join(f"{k}={v}" for k, v in r.sizes.items()) or "scalars"
    out = []
    for seed in seeds:
        try:
            _, err = numeric_check(r, seed)
        except Exception as exc:  # the generated module failing to run is a failed check, shown as such
            out.append(
                CheckRecord(
                    d.topic,
                    f"central differences ({sizes}), seed {seed}",
                    float("inf"),
                    CD_TOL,
                    False,
                    f"{d.topic}: the generated module failed: {type(exc).__name__}: {exc}",
                )
            )
            continue
        ok = bool(err <= CD_TOL)
        detail = "" if ok else f"{d.topic}: {r.form} by {r.wrt}: relative error {err:.1e} > {CD_TOL:.0e}"
        out.append(CheckRecord(d.topic, f"central differences ({sizes}), seed {seed}", err, CD_TOL, ok, detail))
    return out


def summarize(records) -> dict:
    """Per topic: number of checks, failures, the worst relative error."""
    out: dict[str, dict] = {}
    for r in records:
        s = out.setdefault(r.topic, {"checks": 0, "failed": 0, "max_rel_error": 0.0})
        s["checks"] += 1
        s["failed"] += 0 if r.passed else 1
        if np.isfinite(r.max_rel_error) and r.check.split(":")[0] != "mutation":
            s["max_rel_error"] = max(s["max_rel_error"], r.max_rel_error)
    return out
