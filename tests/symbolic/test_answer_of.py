"""Expression problems built on earlier answers (SPEC 6.5): ``define: {d1: {answer_of: q1}}``."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from grader.grading.answers import read_answers
from grader.grading.grade import grade
from grader.grading.result import PartResult
from grader.problemset.loader import load_problem_set
from grader.problemset.model import ProblemSet
from grader.problemset.source import ProblemSetError
from grader.symbolic.render import to_plain

CHAIN = """\
id: chain
follow_through_credit: 0.5
problems:
  - id: q1
    kind: expression
    title: The sigmoid's derivative
    variables: {z: real}
    answer: diff(sigmoid(z), z)
  - id: q2
    kind: expression
    title: dL/dw through it
    variables: {z: real, w: real}
    define:
      d1: {answer_of: q1}
    answer: d1*w
  - id: q3
    kind: expression
    title: The step on w
    variables: {z: real, w: real, eta: positive}
    define:
      d2: {answer_of: q2}
    answer: -eta*d2
"""

K1 = "sigma(z)*(1 - sigma(z))"
S1 = "sigma(z)*(1 + sigma(z))"  # the slip in q1


def chain_set() -> ProblemSet:
    return load_problem_set(CHAIN, "chain.yaml")


SET = chain_set()


def graded(answers: dict[str, Any], ps: ProblemSet = SET) -> dict[str, PartResult]:
    text = json.dumps({"problem_set": ps.id, "student": "s1", "answers": answers})
    return {p.id: p.parts[0] for p in grade(ps, read_answers(text)).problems}


# q1, q2, q3 answers -> verdicts; names (d1, d2) and answers written out
ROWS = [
    # no slip
    ((K1, "d1*w", "-eta*d2"), ("correct", "correct", "correct")),
    ((K1, f"({K1})*w", f"-eta*({K1})*w"), ("correct", "correct", "correct")),
    # a slip in q1: q2 and q3 follow through when written out; by name they are right
    ((S1, "d1*w", "-eta*d2"), ("incorrect", "correct", "correct")),
    ((S1, f"({S1})*w", "-eta*d2"), ("incorrect", "follow_through", "correct")),
    ((S1, f"({S1})*w", f"-eta*({S1})*w"), ("incorrect", "follow_through", "follow_through")),
    ((S1, "d1*w", f"-eta*({S1})*w"), ("incorrect", "correct", "follow_through")),
    ((S1, f"w*{S1}", f"-eta*w*{S1}"), ("incorrect", "follow_through", "follow_through")),
    # a slip in q2: q3 follows through when written out with it
    ((K1, "2*d1*w", "-eta*d2"), ("correct", "incorrect", "correct")),
    ((K1, "2*d1*w", f"-2*eta*({K1})*w"), ("correct", "incorrect", "follow_through")),
    ((K1, f"2*({K1})*w", f"-2*eta*({K1})*w"), ("correct", "incorrect", "follow_through")),
    # slips in q1 and q2: q3 follows both
    ((S1, "d1*w + w", f"-eta*(({S1})*w + w)"), ("incorrect", "incorrect", "follow_through")),
    # a slip in q3 only
    ((K1, "d1*w", "eta*d2"), ("correct", "correct", "incorrect")),
    ((K1, f"({K1})*w", f"eta*({K1})*w"), ("correct", "correct", "incorrect")),
    # wrong even given the earlier answers
    ((S1, f"2*({S1})*w", "-eta*d2"), ("incorrect", "incorrect", "correct")),
    ((S1, f"({S1})*w", f"eta*({S1})*w"), ("incorrect", "follow_through", "incorrect")),
    ((S1, f"({S1})*w", f"-eta*({K1})*w*w"), ("incorrect", "follow_through", "incorrect")),
]


@pytest.mark.parametrize(("answers", "verdicts"), ROWS, ids=[" | ".join(r[0]) for r in ROWS])
def test_a_chain_of_three(answers: tuple[str, str, str], verdicts: tuple[str, str, str]) -> None:
    parts = graded(dict(zip(("q1", "q2", "q3"), answers, strict=True)))
    assert tuple(parts[q].verdict.value for q in ("q1", "q2", "q3")) == verdicts, {
        q: parts[q].feedback for q in parts}
    for part in parts.values():
        if part.verdict.value == "follow_through":
            assert part.credit == 0.5 and part.score == 0.5
            assert part.feedback.startswith("Right given your answer")
            assert part.misconception is None


def test_the_feedback_names_the_earlier_answer_used() -> None:
    parts = graded({"q1": S1, "q2": f"({S1})*w", "q3": f"-eta*({S1})*w"})
    assert parts["q2"].feedback == f"Right given your answer to q1: {S1} (used as d1)."
    assert parts["q3"].feedback.startswith(f"Right given your answer to q2: ({S1})*w (used as d2)")
    # q2 was written by name: q3 says what the name carried
    parts = graded({"q1": S1, "q2": "d1*w", "q3": f"-eta*({S1})*w"})
    assert parts["q3"].feedback == ("Right given your answer to q2: d1*w (used as d2), which rests on your "
                                    "answer to q1.")
    assert parts["q3"].hidden == parts["q3"].feedback  # it says nothing of the key


@pytest.mark.parametrize("earlier", [None, "", "sigma(z", "sigma(t)", "sigmoidd(z)"],
                         ids=["missing", "empty", "unreadable", "unknown name", "unknown function"])
def test_no_usable_earlier_answer_gives_no_follow_through(earlier: str | None) -> None:
    answers = {"q2": f"({S1})*w", "q3": f"-eta*({S1})*w"}
    if earlier is not None:
        answers["q1"] = earlier
    parts = graded(answers)
    assert parts["q2"].verdict.value == "incorrect"
    # q2 itself is a usable answer, wrong against the key: q3 follows through from it alone
    assert parts["q3"].verdict.value == "follow_through"
    assert "q1" not in parts["q3"].feedback


def test_an_undecided_earlier_answer_gives_no_follow_through() -> None:
    slow = CHAIN.replace("    answer: diff(sigmoid(z), z)", "    answer: diff(sigmoid(z), z)\n    time_limit: 0.05")
    ps = load_problem_set(slow, "chain.yaml")
    hostile = "sum(sigma(z)*(1+sigma(z))*exp(z)/exp(z), k, 1, 99999)/99999"
    parts = graded({"q1": hostile, "q2": f"({S1})*w"}, ps)
    assert parts["q1"].verdict.value == "undecided"
    assert parts["q2"].verdict.value == "incorrect"


def test_the_student_world_check_is_bounded_in_time() -> None:
    slow = CHAIN.replace("    answer: d1*w", "    answer: d1*w\n    time_limit: 0.2")
    ps = load_problem_set(slow, "chain.yaml")
    hostile = "sum(sigma(z)*(1+sigma(z))*exp(z)/exp(z), k, 1, 99999)/99999"
    start = time.perf_counter()
    parts = graded({"q1": hostile, "q2": f"({hostile})*w"}, ps)
    elapsed = time.perf_counter() - start
    # q1 has its own 2 s bound; q2's check against the key and in the student's world have 0.2 s each
    assert elapsed < 2.0 + 2 * 0.2 + 1.5, elapsed
    assert parts["q2"].verdict.value in ("undecided", "follow_through")
    if parts["q2"].verdict.value == "undecided":
        assert "flagged for a person" in parts["q2"].feedback


def test_a_derivative_through_an_earlier_answer_is_taken_of_the_students_own() -> None:
    text = CHAIN.replace("    answer: -eta*d2", "    answer: diff(d2, w)")
    ps = load_problem_set(text, "chain.yaml")
    parts = graded({"q1": S1, "q2": f"({S1})*w", "q3": S1}, ps)
    assert parts["q3"].verdict.value == "follow_through"
    parts = graded({"q1": S1, "q2": f"({S1})*w", "q3": K1}, ps)
    assert parts["q3"].verdict.value == "correct"


def test_the_key_and_the_names_students_see() -> None:
    q2 = SET.problem("q2")
    assert q2.options["answer_of"] == {"d1": "q1"}
    # in the key the name is q1's key, written out in the variables
    assert to_plain(q2.define["d1"]) == "sigmoid(z)*(1 - sigmoid(z))"


def test_earlier_answers_with_their_own_defines_are_written_out() -> None:
    text = """\
id: chain
problems:
  - id: q5
    kind: expression
    variables: {a3: real, a4: real, y1: {range: [0, 1]}}
    define: {h3: exp(a3)/(exp(a3) + exp(a4))}
    answer: diff((y1 - h3)^2, a3)
  - id: q6
    kind: expression
    variables: {a3: real, a4: real, y1: {range: [0, 1]}, h1: {range: [-1, 1]}}
    define:
      dLda3: {answer_of: q5}
    answer: dLda3 * h1
"""
    ps = load_problem_set(text, "spec.yaml")
    right = "-2*(y1 - h3)*h3*(1 - h3)"
    slip = "-(y1 - h3)*h3*(1 - h3)"  # the 2 dropped
    written = "-(y1 - exp(a3)/(exp(a3) + exp(a4)))*h1*exp(a3)*exp(a4)/(exp(a3) + exp(a4))^2"
    parts = graded({"q5": right, "q6": "dLda3*h1"}, ps)
    assert [p.verdict.value for p in parts.values()] == ["correct", "correct"]
    parts = graded({"q5": slip, "q6": written}, ps)
    assert [p.verdict.value for p in parts.values()] == ["incorrect", "follow_through"]
    assert parts["q6"].credit == 1.0
    parts = graded({"q5": slip, "q6": "dLda3*h1"}, ps)
    assert [p.verdict.value for p in parts.values()] == ["incorrect", "correct"]


def test_a_derivation_carries_its_final_step() -> None:
    parts = graded({"q1": [f"({S1})", "sigma(z) + sigma(z)^2"], "q2": "(sigma(z) + sigma(z)^2)*w"})
    assert parts["q1"].verdict.value == "incorrect"
    assert parts["q2"].verdict.value == "follow_through"


BROKEN = [
    ("      d1: {answer_of: q9}", "answer_of names 'q9', which is not a problem of this set"),
    ("      d1: {answer_of: q3}", "answer_of names q3, which comes after q2 in the set"),
    ("      d1: {answer_of: q2}", "answer_of names this problem itself (q2)"),
    ("      d1: {answer_of: net}", "answer_of names net, which is a network problem"),
    ("      d1: {answer_of: q0}", "its answer uses y, which q2 does not declare"),
    ("      d1: {answer_of: q1, scale: 2}", "unknown"),
    ("      d1: {answer_of: 3}", "{answer_of: ID}"),
    ("      d1: {answer_of: idx}", "which uses indices"),
    ("      d1: {answer_of: q11}", "did you mean q1?"),
]

PREFIX = """\
id: chain
problems:
  - id: net
    kind: network
    given: {x: 1.0}
    params: {w: 0.5}
    forward: {L: (w*x - 1)^2}
    loss: L
  - id: q0
    kind: expression
    variables: {y: real}
    answer: y^2
  - id: idx
    kind: expression
    indices: {i: [1, 3]}
    variables: {s: {indexed: true}}
    answer: s_i
"""


@pytest.mark.parametrize(("line", "message"), BROKEN, ids=[b[1][:40] for b in BROKEN])
def test_broken_answer_of_fails_with_file_problem_field_and_line(line: str, message: str) -> None:
    text = PREFIX + CHAIN.split("problems:\n", 1)[1].replace("      d1: {answer_of: q1}", line)
    with pytest.raises(ProblemSetError) as info:
        load_problem_set(text, "broken.yaml")
    said = str(info.value)
    assert message in said
    line_no = text.splitlines().index(line) + 1
    assert said.startswith(f"broken.yaml:{line_no}: problem q2, field define.d1"), said
