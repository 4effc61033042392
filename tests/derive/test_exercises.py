"""The exercise bank, parametrized over every exercise: references come from
the engine; sample correct forms are accepted and planted mistakes named."""

import textwrap

import pytest

from gradproof.derive.seminar import exercises as bank
from gradproof.derive.seminar.answer_types import check, sample_answers
from gradproof.derive.seminar.equivalence import decide
from gradproof.derive.seminar.exercises import UnknownExercise, exercises, get, load_toml

EXERCISES = exercises()
IDS = [ex.id for ex in EXERCISES]
FORMULAS = [ex for ex in EXERCISES if ex.answer_type == "formula"]
FIDS = [ex.id for ex in FORMULAS]


def test_bank_covers_the_available_topics():
    assert len(EXERCISES) >= 45
    assert len({ex.id for ex in EXERCISES}) == len(EXERCISES)


@pytest.mark.parametrize("ex", FORMULAS, ids=FIDS)
def test_reference_comes_from_a_topic(ex):
    from gradproof.derive.lecture.registry import derive

    assert ex.topic and not ex.reference_text
    expr, shape = ex.reference()
    res = derive(ex.topic).result(ex.result)
    assert expr is (res.index if ex.form == "index" else res.matrix)


@pytest.mark.parametrize("ex", FORMULAS, ids=FIDS)
def test_every_symbol_of_the_reference_is_declared(ex):
    """A reference symbol without a value would make probing silently meaningless."""
    o = ex.oracle()
    assert len(o.envs) >= 8 and len(o.ref_values) == len(o.envs)
    # probe points differ from each other (seeded, but not constant)
    assert any(abs(float((a - b).sum())) > 0 for a, b in zip(o.ref_values, o.ref_values[1:]))


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_accepted_forms_are_correct(ex):
    """The reference and at least two other correct forms are accepted, whatever the answer type."""
    accepted, _ = sample_answers(ex)
    assert len(accepted) >= 3 and len(set(accepted)) == len(accepted)
    for answer in accepted:
        v = check(ex, answer, symbolic_seconds=1.0)
        assert v.status == "correct", (answer, v)
        assert v.decided_by in ("exact", "numeric", "symbolic", "steps", "choice")
        assert v.credit == 1.0


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_planted_mistakes_are_named(ex):
    """At least three common mistakes are rejected, each with its code and a message."""
    _, mistakes = sample_answers(ex)
    assert len(mistakes) >= 3
    for answer, code in mistakes:
        v = check(ex, answer)
        assert v.status == "incorrect", (answer, v)
        assert v.mistake == code, (answer, v.mistake, v.feedback)
        assert v.feedback and v.feedback[0] and v.feedback[0] != "not equal to the right answer"


@pytest.mark.parametrize("ex", [e for e in FORMULAS if e.wrong], ids=[e.id for e in FORMULAS if e.wrong])
def test_tutor_wrong_answers_give_their_message_and_credit(ex):
    for k, w in enumerate(ex.wrong):
        v = decide(ex, w.answer)
        assert v.status == "incorrect"
        assert v.mistake == f"tutor:{k + 1}" and v.feedback == (w.message,) and v.credit == w.credit


def test_unknown_exercise_suggests():
    with pytest.raises(UnknownExercise) as err:
        get("logreg_gard")
    assert "logreg_grad" in str(err.value)


def test_pending_exercises_wait_for_their_topic():
    from gradproof.derive.lecture.registry import topics

    names = {t.name for t in topics()}
    for ex in bank.pending():
        assert ex.topic not in names


TOML = textwrap.dedent("""
    [[exercise]]
    id = "tutor_bce_mean"
    title = "BCE gradient again"
    prompt = "dL/ds of the mean BCE"
    lhs = "dL/ds"
    topic = "sigmoid_bce"
    result = "backward"
    accepted = ["(p - y)/m"]

    [exercise.symbols.s]
    shape = ["m", 1]
    [exercise.symbols.y]
    shape = ["m", 1]
    domain = "binary"
    [exercise.symbols.p]
    shape = ["m", 1]
    definition = "sigma(s)"
    [exercise.reference_names]
    yhat = "p"

    [[exercise.wrong]]
    answer = "p - y"
    message = "divide by m"
    credit = 0.5

    [[exercise]]
    id = "tutor_square"
    title = "A formula of the tutor's own"
    lhs = "d/dx x^2"
    reference = "2 x"
    [exercise.symbols.x]
    shape = []
    dims = { m = 5 }
""")


def test_tutor_exercises_from_toml(tmp_path, monkeypatch):
    path = tmp_path / "seminar.toml"
    path.write_text(TOML)
    monkeypatch.setenv("GRADPROOF_EXERCISES", str(path))
    ex = get("tutor_bce_mean")
    assert ex.source == str(path)
    assert decide(ex, "(p - y)/m").status == "correct"
    v = decide(ex, "p - y")
    assert (v.mistake, v.feedback, v.credit) == ("tutor:1", ("divide by m",), 0.5)
    sq = get("tutor_square")
    assert decide(sq, "x + x").status == "correct"
    assert decide(sq, "x^2").status == "incorrect"


def test_broken_toml_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[exercise]]\nid = "x"\n')
    with pytest.raises(ValueError, match="topic"):
        load_toml(str(path))
    path.write_text('[[exercise]]\nid = "x"\nreference = "2 x"\n[exercise.symbols.x]\ndomain = "complex"\n')
    with pytest.raises(ValueError, match="domain"):
        load_toml(str(path))


def test_feedback_speaks_the_exercises_names_not_the_engines():
    """bce's derivation calls the prediction z; the exercise calls it yhat, and
    so must the feedback that quotes a dropped factor."""
    import re

    v = check(get("bce_grad"), "(yhat - y)/yhat", symbolic_seconds=1.0)
    assert v.mistake == "missing-factor", v
    text = " ".join(v.feedback)
    assert "yhat" in text and not re.search(r"(?<![A-Za-z_])z(?![A-Za-z_0-9])", text), text
