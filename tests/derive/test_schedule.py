"""derive_many's scheduler: bundles a topic with the topics its derivation derives."""

from gradproof.derive.lecture import registry


def test_every_topic_is_scheduled_once_and_after_what_it_uses():
    names = [t.name for t in registry.topics()]
    bundles = registry.schedule(names)
    flat = [n for b in bundles for n in b]
    assert sorted(flat) == sorted(names)
    for b in bundles:
        for k, n in enumerate(b):
            assert set(registry._uses(registry.get(n))) <= set(b[:k]), (n, b)
    costs = [sum(registry._cost(registry.get(n)) for n in b) for b in bundles]
    assert costs == sorted(costs, reverse=True)


def test_a_model_is_bundled_with_its_modules_and_a_lecture_proof_with_its_own():
    bundles = registry.schedule(["sigmoid", "multinomial_logistic_regression", "linear", "softmax", "mlp_backprop"])
    assert ("linear", "softmax", "multinomial_logistic_regression") in bundles
    assert ("mlp_backprop",) in bundles  # its modules were not asked for: derived in its worker
    assert ("sigmoid",) in bundles


def test_the_modules_a_model_derives_are_the_ones_named(monkeypatch):
    """The bundle hint names what the derivation really derives (else work is done twice)."""
    asked = []
    real = registry.derive
    monkeypatch.setattr(registry, "_CACHE", {})
    monkeypatch.setattr(registry, "derive", lambda t: asked.append(getattr(t, "name", t)) or real(t))
    for name in ("linear_regression", "relu_properties"):
        asked.clear()
        registry.get(name).build(registry.get(name))
        assert set(asked) == set(registry._uses(registry.get(name))), name


def test_derive_many_over_two_workers_gives_the_derivations_of_one_process(monkeypatch):
    names = ["sigmoid", "linear_neuron", "squared_error", "linear_regression"]
    monkeypatch.setattr(registry, "_CACHE", {})
    monkeypatch.setenv("GRADPROOF_NO_CACHE", "1")
    pooled = registry.derive_many(names, jobs=2)
    monkeypatch.setattr(registry, "_CACHE", {})
    alone = [registry.derive(n) for n in names]
    for a, b in zip(pooled, alone):
        # the same proofs and results (see derive_many's note on displayed steps)
        assert a.passed and a.proofs == b.proofs and len(a.proofs) > 0
        assert [(r.key, r.origin, r.shape) for r in a.results] == [(r.key, r.origin, r.shape) for r in b.results]
