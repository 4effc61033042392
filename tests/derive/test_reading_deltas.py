"""Kronecker deltas and Iverson brackets in the one grammar: read, sifted, converted or refused.

``delta_{jk}`` (``\\delta_{jk}``, ``δ_{j,k}``, ``delta_jk``) and ``[[j = k]]``
(or ``[j = k]``) are read into the typed tree by every reader; a sum over one
of a delta's indices keeps its term at the other index.  Seminar answers use
them as SymPy's ``KroneckerDelta``; ``gradproof diff`` reads them once every
index is summed over.  Hostile input is one line.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradproof.derive.reading.tree as t
from gradproof.derive.engine.matcalc import differentiate, text
from gradproof.derive.reading import ReadError, read
from gradproof.derive.reading.parse import ParseFailure, parse
from gradproof.derive.seminar.answers import AnswerError, read_answer
from gradproof.derive.seminar.equivalence import decide
from gradproof.derive.seminar.exercises import get


@pytest.mark.parametrize(
    "typed", ["delta_{jk}", r"\delta_{jk}", "δ_{jk}", "delta_{j,k}", "delta_{j, k}", "delta_jk", r"\delta_{j k}"]
)
def test_every_spelling_of_a_delta_is_one_node(typed):
    node = parse(typed).node
    assert isinstance(node, t.Kronecker) and node.indices == ("j", "k")


@pytest.mark.parametrize("typed", ["[[j = k]]", "[j = k]", "[[j == k]]"])
def test_both_iverson_spellings(typed):
    node = parse(typed).node
    assert node == t.Iverson(t.Name("j"), t.Name("k"))


def test_one_index_is_the_lectures_delta_not_kronecker():
    assert parse("delta_k").node == t.Name("delta", "k")
    assert parse("Delta_{jk}").node == t.Name("Delta", "jk")  # upper case: the upstream message


@pytest.mark.parametrize(
    "typed,sifted",
    [
        ("sum_k delta_{jk} a_k", "(a_j)"),
        ("sum_k a_k delta_{kj} b_k", "(a_j b_j)"),
        ("sum_k [[k = j]] A_{ik}", "(A_ij)"),
        ("-sum_c delta_{jc} (s_c - y_c)", "-(s_j - y_j)"),
        ("sum_j sum_k delta_{jk} x_j y_k", "sum_j (x_j y_j)"),
        ("sum_k delta_{kk} a_k", "sum_k a_k"),
        ("sum_k (delta_{jk} - 1) a_k", "sum_k (delta_{jk} - 1) a_k"),  # not a factor: left alone
        ("sum_k delta_{jk} sum_j a_j b_k", "sum_k delta_{jk} sum_j a_j b_k"),  # j rebound inside
    ],
)
def test_sums_sift(typed, sifted):
    assert t.source(parse(typed).node) == sifted


@pytest.mark.parametrize(
    "typed,code",
    [
        ("[[j = k]", "syntax"),
        ("[[j = k]]]", "syntax"),
        ("[j = k", "syntax"),
        ("delta_{jk", "syntax"),
        ("delta_{ijk} a_i", "indices"),
        ("delta_{i,j,k}", "indices"),
        ("[[j = k = l]]", "syntax"),
        ("[[ ]]", "syntax"),
    ],
)
def test_hostile_deltas_and_brackets_are_refused(typed, code):
    with pytest.raises(ParseFailure) as err:
        parse(typed)
    assert err.value.code == code and "\n" not in str(err.value)


# --- seminar answers ------------------------------------------------------------------


def test_answers_read_a_student_sum_with_deltas():
    ex = get("softmax_jacobian")
    right = decide(ex, "sum_c delta_{jc} sigma_k (delta_{ck} - sigma_j)", symbolic_seconds=2.0)
    assert right.status == "correct", right.feedback
    wrong = decide(ex, "sum_c delta_{jc} sigma_k (delta_{ck} + sigma_j)", symbolic_seconds=2.0)
    assert (wrong.status, wrong.mistake) == ("incorrect", "sign"), wrong
    assert decide(ex, "sigma_k([j = k] - sigma_j)").status == "correct"
    assert decide(ex, r"\sigma_k (\delta_{j,k} - \sigma_j)").status == "correct"


@pytest.mark.parametrize(
    "answer,says",
    [
        ("sigma_k(delta_{jq} - sigma_j)", "'q' is not an index of this exercise (its indices: j, k)"),
        ("sigma_k([[q = k]] - sigma_j)", "'q' is not an index of this exercise"),
        ("sigma_k(delta_{jkl} - sigma_j)", "has 3 indices"),
        ("sigma_k([[j = k] - sigma_j)", "column"),
        ("sigma_k([[j = 1]] - sigma_j)", "index symbols"),
    ],
)
def test_answers_refuse_bad_deltas_with_one_line(answer, says):
    with pytest.raises(AnswerError) as err:
        read_answer(answer, get("softmax_jacobian").vocabulary())
    assert says in str(err.value) and "\n" not in str(err.value)


# --- gradproof diff ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr,wrt,result",
    [
        ("sum_j sum_k delta_{jk} a_j b_k", "a", "b"),
        ("sum_i sum_j [[i = j]] x_i^T w y_j", "w", "X^T y"),
        ("sum_i sum_j delta_{ij} (x_i^T w - y_j)^2", "w", "2 X^T (X w - y)"),
        ("sum_j sum_k delta_{jk} A_{jk}", "A", "I"),
        ("sum_j A_jj b_j", "A", "diag(b)"),
    ],
)
def test_diff_reads_closed_sums_with_deltas(expr, wrt, result):
    r = differentiate(read(expr), wrt)
    assert text(r.result) == result and r.proved


@pytest.mark.parametrize(
    "expr,says",
    [
        ("[[j = k]] x^T x", "the index j is not summed over"),
        ("sum_k delta_{jk} a_k", "a_j: the index j is not summed over"),
        ("sum_k (delta_{jk} - 1) a_k", "must be a factor of the whole summand of sum_k"),
        ("[[x = 1]] + x^T x", "compares two indices"),
        ("delta_{ijk} + x^T x", "has 3 indices"),
    ],
)
def test_diff_refuses_free_indices(expr, says):
    with pytest.raises(ReadError) as err:
        read(expr)
    assert says in str(err.value)


SPELLINGS = ["delta_{%s%s}", r"\delta_{%s,%s}", "[[%s = %s]]", "[%s = %s]", "δ_{%s%s}"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SPELLINGS),
    st.lists(st.sampled_from("cdjkpq"), min_size=2, max_size=2, unique=True),
    st.booleans(),
)
def test_sifting_is_the_inner_product_whatever_the_spelling(spelling, idx, swap):
    """sum_j sum_k delta_{jk} a_j b_k is a^T b for every spelling, index pair and order."""
    j, k = idx
    delta = spelling % ((k, j) if swap else (j, k))
    r = differentiate(read(f"sum_{j} sum_{k} {delta} a_{j} b_{k}"), "b", prove_it=False)
    assert text(r.result) == "a"
