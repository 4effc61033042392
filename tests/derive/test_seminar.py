"""The seminar beyond one formula: coverage of every topic, steps, numbers, choices,
variants, hints, worked solutions, double slips, misused shapes and tutor TOML."""

import textwrap

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradproof.derive.lecture.registry import topics
from gradproof.derive.seminar.answer_types import check, sample_answers
from gradproof.derive.seminar.exercises import exercises, get, load_toml
from gradproof.derive.seminar.hints import hint_ladder, worked_solution
from gradproof.derive.seminar.numeric_items import NumberError, numeric_reference, parse_numbers
from gradproof.derive.seminar.variants import make_variant

EXERCISES = exercises()
IDS = [ex.id for ex in EXERCISES]


def _covered():
    out = set()
    for ex in EXERCISES:
        out.add(ex.topic)
        out.update(st.topic for st in ex.stages)
    return out


@pytest.mark.parametrize("topic", [t.name for t in topics()])
def test_every_topic_has_an_exercise(topic):
    """Fails for any registered topic without an exercise: declare one in derive/seminar/bank/."""
    assert topic in _covered(), f"topic {topic!r} has no exercise: add one declaration to derive/seminar/bank/"


def test_the_bank_has_every_answer_type():
    answer_types = {ex.answer_type for ex in EXERCISES}
    assert answer_types == {"formula", "steps", "numeric", "choice"}
    assert len(EXERCISES) >= 45


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_hints_never_give_the_answer_away(ex):
    ladder = hint_ladder(ex)
    assert len(ladder) >= 2 and all(h.strip() for h in ladder)
    accepted, _ = sample_answers(ex)
    for h in ladder:
        for a in accepted:
            if len(a) > 3:
                assert a not in h, (h, a)


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_worked_solution_comes_from_the_derivation(ex):
    from gradproof.derive.lecture.registry import derive

    lines = worked_solution(ex)
    assert lines and all(ln["text"] for ln in lines)
    rules = {st.rule for st in derive(ex.topic).steps}
    if ex.answer_type == "formula":
        assert lines[-1]["rule"] == "so" and lines[-1]["text"].startswith(f"{ex.lhs} = ") and lines[-1]["latex"]
        assert lines[:-1] and all(ln["rule"] in rules for ln in lines[:-1])
    elif ex.answer_type == "steps":
        assert [ln["rule"] for ln in lines if ln["rule"].startswith("step ")] == [
            f"step {k + 1}: {st.prompt}" for k, st in enumerate(ex.stages)
        ]
    elif ex.answer_type == "numeric":
        assert lines[0]["rule"] == "given" and len(lines) == len(ex.numeric.chain) + 1
    else:
        assert lines[-1]["rule"] == "answer" and all(ln["rule"] in rules for ln in lines[:-1])


def test_the_slides_summed_gradient_says_the_exercise_asks_for_the_mean():
    v = check(get("sigmoid_bce_grad"), "yhat - y")
    assert v.status == "incorrect" and v.credit == 0.5
    assert "mean" in v.feedback[0] and "summed" in v.feedback[0]


def test_scalar_plus_vector_is_a_shape_error_with_the_shapes():
    v = check(get("ridge"), "inv(X^T X) X^T y + lambda")
    assert v.status == "incorrect" and v.mistake.startswith("shape")
    assert "shape error" in v.feedback[0] and "n1x1" in v.feedback[0] and "3x1" in v.feedback[0]
    # an entrywise 1 - A stays legal where the lecture writes it
    assert check(get("sigmoid_backward"), "Delta .* A .* (1 - A)").status == "correct"


def test_non_conforming_product_reports_the_shapes():
    v = check(get("ridge"), "X y")
    assert v.status == "incorrect" and v.decided_by == "shape"
    assert "mxn" in v.feedback[0] and "mx1" in v.feedback[0]


@pytest.mark.parametrize(
    "ex_id, answer, code, words",
    [
        ("logreg_grad", "(y - yhat)^T X", "transposed+sign", ("transpose", "sign")),
        ("multinomial_grad", "(P - Y)^T X", "transposed+factor:m", ("transpose", "1/m")),
        ("linear_grad_W", "-Delta^T Z", "transposed+sign", ("transpose", "sign")),
        ("multinomial_grad", "X^T (Y - P)", "sign+factor:m", ("sign", "1/m")),
    ],
)
def test_double_slips_are_named_both(ex_id, answer, code, words):
    v = check(get(ex_id), answer)
    assert v.status == "incorrect" and v.mistake == code, v
    assert all(w in v.feedback[0] for w in words), v.feedback


def test_steps_credit_per_step_and_first_wrong_step():
    ex = get("mle_gaussian_steps")
    ok = "(m/2) log(2 pi sigma^2) + (y - X w)^T (y - X w)/(2 sigma^2); 2 X^T (X w - y); inv(X^T X) X^T y"
    assert check(ex, ok).status == "correct"
    v = check(ex, ok.replace("2 X^T (X w - y)", "2 X^T (y - X w)"))
    assert v.status == "incorrect" and v.mistake == "step2:sign"
    assert abs(v.credit - 2 / 3) < 1e-9
    assert [p["status"] for p in v.parts] == ["correct", "incorrect", "correct"]
    assert v.feedback[1].startswith("step 2 (dL/dw): first goes wrong")
    short = check(ex, ok.split(";")[0])
    assert short.status == "incorrect" and short.mistake == "step2:missing" and abs(short.credit - 1 / 3) < 1e-9
    assert check(ex, ok + "; 1; 2").status == "invalid"


def test_numeric_item_reference_is_the_chain_of_derived_results():
    """delta of the two-layer net, recomputed here by hand with NumPy from the given numbers."""
    from gradproof.derive.seminar.numeric_items import numeric_inputs

    for k in range(4):
        ex = get("two_layer_delta").make_variant(k)
        g = {name: np.array(v, dtype=float) for name, v in numeric_inputs(ex).items()}
        h = 1 / (1 + np.exp(-(g["x"] @ g["W1"])))
        yhat = h @ g["W2"]
        delta = (2 * (yhat - g["y"]) @ g["W2"].T) * h * (1 - h)
        assert np.allclose(numeric_reference(ex), delta, rtol=1e-12, atol=1e-12)


def test_numeric_tolerance_and_shape():
    ex = get("relu_backward_numbers")
    ref = numeric_reference(ex)
    near = ref + 0.004
    text = "; ".join(" ".join(f"{x:.4f}" for x in row) for row in near)
    assert check(ex, text).status == "correct"
    far = ref.copy()
    far[0, 0] += 0.5
    v = check(ex, "; ".join(" ".join(f"{x:.4f}" for x in row) for row in far))
    assert v.status == "incorrect" and "row 1, column 1" in v.feedback[0]
    v = check(ex, "1 2; 3 4")
    assert v.status == "incorrect" and v.mistake == "shape" and "2x3" in v.feedback[0]


@pytest.mark.parametrize("text", ["__import__('os').system('id')", "1e999999", "[[1, 2], [3]]", "1/0", "abc", ""])
def test_numbers_are_read_not_evaluated(text):
    with pytest.raises(NumberError):
        parse_numbers(text)


@given(st.lists(st.lists(st.fractions(max_denominator=50), min_size=2, max_size=2), min_size=1, max_size=3))
def test_numbers_round_trip(rows):
    text = "[" + ", ".join("[" + ", ".join(f"{x.numerator}/{x.denominator}" for x in r) + "]" for r in rows) + "]"
    assert parse_numbers(text) == rows


def test_choice_items_explain_every_option():
    ex = get("symmetry_choice")
    for o in ex.options:
        v = check(ex, o.key)
        assert v.status == ("correct" if o.correct else "incorrect")
        assert o.explanation in v.feedback
    assert check(ex, "z").status == "invalid"


def test_variants_are_stable_per_student_and_checked_against_their_own():
    ex = get("linear_neuron_grad_w")
    assert ex.n_variants == 9
    seen = {ex.variant_for(f"s{k}").id for k in range(40)}
    assert len(seen) > 3
    a1, a2 = ex.variant_for("ann"), ex.variant_for("ann")
    assert a1 == a2
    var = next(ex.make_variant(k) for k in range(1, 9) if ex.make_variant(k).symbols[0].name == "A")
    w = var.symbols[1].name
    assert check(var, "A^T Delta").status == "correct"
    assert check(var, "X^T Delta").status == "invalid"
    assert "A" in var.prompt and "X" not in var.prompt.split()
    assert check(var, "Delta^T A").mistake == "transposed"
    assert w in ("w", "v", "theta")


def test_numeric_and_choice_variants_change_numbers_and_letters():
    ex = get("relu_backward_numbers")
    refs = {tuple(numeric_reference(ex.make_variant(k)).ravel()) for k in range(6)}
    assert len(refs) > 1
    ch = get("symmetry_choice")
    keys = {next(o.key for o in ch.make_variant(k).options if o.correct) for k in range(ch.n_variants)}
    assert len(keys) == len(ch.options)
    with pytest.raises(ValueError):
        make_variant(ch, 99)


TUTOR = textwrap.dedent("""
    [[exercise]]
    id = "tutor_steps"
    answer_type = "steps"
    title = "Least squares in two steps"
    topic = "least_squares"
    hints = ["Expand the product first."]
    letters = { X = ["A"] }
    dims = { m = 5, n = 2, n1 = 3, K = 4 }
    [exercise.symbols.X]
    shape = ["m", "n1"]
    [exercise.symbols.y]
    shape = ["m", 1]
    [exercise.symbols.w]
    shape = ["n1", 1]
    [[exercise.steps]]
    lhs = "dL/dw"
    result = "gradient"
    [[exercise.steps]]
    lhs = "w*"
    result = "solution"

    [[exercise]]
    id = "tutor_numbers"
    answer_type = "numeric"
    lhs = "dL/dW"
    topic = "linear"
    [exercise.numeric.given.Z]
    shape = [2, 3]
    [exercise.numeric.given.Delta]
    shape = [2, 2]
    [[exercise.numeric.chain]]
    name = "dW"
    topic = "linear"
    result = "grad:W"

    [[exercise]]
    id = "tutor_choice"
    answer_type = "choice"
    topic = "relu"
    prompt = "relu'(z) for z > 0?"
    [[exercise.options]]
    key = "a"
    text = "1"
    correct = true
    explanation = "the slope of z"
    [[exercise.options]]
    key = "b"
    text = "0"
    explanation = "that is the negative side"
""")


def test_tutor_toml_with_steps_numbers_choices_hints_and_letters(tmp_path, monkeypatch):
    path = tmp_path / "tutor.toml"
    path.write_text(TUTOR)
    monkeypatch.setenv("GRADPROOF_EXERCISES", str(path))
    s = get("tutor_steps")
    assert s.hints == ("Expand the product first.",) and s.n_variants == 2
    assert check(s, "2 X^T X w - 2 X^T y; inv(X^T X) X^T y").status == "correct"
    v = check(s, "2 X^T X w - 2 X^T y; inv(X^T X) X y")
    assert v.mistake.startswith("step2:")
    assert check(s.make_variant(1), "2 A^T A w - 2 A^T y; inv(A^T A) A^T y").status == "correct"
    n = get("tutor_numbers")
    ok, _ = sample_answers(n)
    assert check(n, ok[0]).status == "correct"
    assert check(get("tutor_choice"), "a").status == "correct"


@pytest.mark.parametrize(
    "body, line, words",
    [
        ('[[exercise]]\nid = "x"\nkind = "essay"\nreference = "1"\n', 3, "unknown answer type"),
        (
            '[[exercise]]\nid = "x"\nreference = "1"\n\n[[exercise]]\nid = "y"\ntopic = "no_such_topic"\n',
            7,
            "unknown topic",
        ),
        (
            '[[exercise]]\nid = "x"\nkind = "choice"\n[[exercise.options]]\nkey = "a"\ntext = "t"\nexplanation = "e"\n',
            4,
            "exactly one correct",
        ),
        ('[[exercise]]\nid = "x"\nreference = "1"\ncolour = "red"\n', 4, "unknown key"),
        ('[[exercise]]\nid = "x"\nreference = = "1"\n', 3, ""),
        ('[[exercise]]\nid = "x"\nkind = "numeric"\n[exercise.numeric]\ngiven = 3\n', 4, "numeric"),
    ],
)
def test_bad_tutor_files_name_file_and_line(tmp_path, body, line, words):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ValueError) as err:
        load_toml(str(path))
    assert str(err.value).startswith(f"{path}:{line}: "), str(err.value)
    assert words in str(err.value)


@pytest.mark.parametrize(
    "name",
    [
        "gradproof.derive.seminar.answer_types",
        "gradproof.derive.seminar.numeric_items",
        "gradproof.derive.seminar.exercise_files",
        "gradproof.derive.seminar.exercises",
    ],
)
def test_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
