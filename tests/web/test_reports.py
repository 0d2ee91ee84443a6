"""The queries behind the pages: a student's sets and attempts, class results, the expected-values setting."""

from __future__ import annotations

import pytest

from grader.service.store.reports import (
    attempts,
    class_results,
    histogram,
    latest_answers,
    set_show_expected,
    student_set,
    student_sets,
    student_view,
)
from grader.service.store.sets import get_set
from grader.service.store.users import get_user
from tests.service.builders import TINY_ANSWERS, TINY_SET_V2, answers_text, auth
from tests.service.conftest import Course, Env

#: q1's z without its bias: p, L and dL/dw are right given that slip (follow-through)
BIAS_OMITTED = {"q1": {"z": 1.0, "p": 0.731059, "L": 0.036165, "dL/dw": -0.105754}, "q2": {"z": -2.0, "h": 0.0}}


def _submit(env: Env, token: str, student: str, answers: dict[str, object]) -> int:
    response = env.client.post("/api/v1/sets/tiny-net/submissions", content=answers_text(student, answers),
                               headers=auth(token))
    assert response.status_code == 202, response.text
    return int(response.json()["id"])


def test_a_students_sets_before_and_after_grading(env: Env, course: Course) -> None:
    with env.factory() as session:
        alice = get_user(session, name="alice")
        assert alice is not None
        (summary,) = student_sets(session, student=alice)
        assert (summary.name, summary.status, summary.score, summary.max_score) == ("tiny-net", "not submitted",
                                                                                    None, 6.0)
        assert [(p.id, p.max_score, p.score) for p in summary.problems] == [("q1", 4.0, None), ("q2", 2.0, None)]
    _submit(env, course.alice, "alice", {"q1": {"z": 1.1}})
    env.wait()
    _submit(env, course.alice, "alice", TINY_ANSWERS)
    env.wait()
    with env.factory() as session:
        alice = get_user(session, name="alice")
        problem_set = get_set(session, name="tiny-net")
        assert alice is not None and problem_set is not None
        summary = student_set(session, problem_set=problem_set, student=alice)
        assert (summary.status, summary.score) == ("graded", 6.0)
        assert [p.score for p in summary.problems] == [4.0, 2.0]
        tries = attempts(session, problem_set=problem_set, student=alice, problem_id="q1")
        assert [(a.number, a.status, a.score, a.max_score, a.total) for a in tries] == [
            (2, "graded", 4.0, 4.0, 6.0), (1, "graded", 1.0, 4.0, 1.0)]
        assert tries[1].answer == {"z": 1.1}
        assert [p["verdict"] for p in tries[1].parts] == ["correct", "missing", "missing", "missing"]
        assert all(a.current and a.version == 1 for a in tries)
        assert latest_answers(session, problem_set=problem_set, student=alice) == TINY_ANSWERS


def test_class_results_count_verdicts_mistakes_and_follow_through(env: Env, course: Course) -> None:
    _submit(env, course.alice, "alice", TINY_ANSWERS)
    _submit(env, course.bob, "bob", {"q1": {"z": 0.5}})
    _submit(env, course.bob, "bob", BIAS_OMITTED)  # only the newest counts
    env.wait()
    with env.factory() as session:
        problem_set = get_set(session, name="tiny-net")
        assert problem_set is not None
        results = class_results(session, problem_set=problem_set)
    assert (results.students, results.submitted, results.graded, results.failed, results.behind) == (2, 2, 2, 0, 0)
    assert (results.mean, results.median, results.max_score) == (5.5, 5.5, 6.0)
    assert [(b.label, b.count) for b in results.histogram] == [("0–1", 0), ("1–2", 0), ("2–3", 0), ("3–4", 0),
                                                               ("4–5", 0), ("5–6", 2)]
    by_name = {(q.problem, q.quantity): q for q in results.quantities}
    assert list(by_name) == [("q1", "z"), ("q1", "p"), ("q1", "L"), ("q1", "dL/dw"), ("q2", "z"), ("q2", "h")]
    z = by_name[("q1", "z")]
    assert (z.answered, z.counts["correct"], z.counts["incorrect"], z.error_rate) == (2, 1, 1, 0.5)
    assert by_name[("q1", "p")].counts["follow_through"] == 1 and by_name[("q1", "p")].error_rate == 0.0
    assert results.follow_through == 3
    (mistake,) = results.mistakes
    assert (mistake.name, mistake.count, mistake.where) == ("bias_omitted", 1, [("q1: z", 1)])
    assert "bias" in mistake.example

    # A new version the grades predate: they count as behind until a regrade.
    response = env.client.put("/api/v1/sets/tiny-net", content=TINY_SET_V2, headers=auth(course.prof))
    assert response.status_code == 200
    with env.factory() as session:
        problem_set = get_set(session, name="tiny-net")
        assert problem_set is not None
        assert class_results(session, problem_set=problem_set).behind == 2


#: q1's z written as 0 and carried forward exactly: follow-through resting on a 0 (SPEC 6.1.5)
ZERO_CARRIED = {"q1": {"z": 0, "p": 0.5, "L": 0.125, "dL/dw": -0.25}, "q2": {"z": -2.0, "h": 0.0}}


def test_class_results_list_degenerate_follow_through_for_review(env: Env, course: Course) -> None:
    _submit(env, course.alice, "alice", TINY_ANSWERS)
    _submit(env, course.bob, "bob", ZERO_CARRIED)
    env.wait()
    with env.factory() as session:
        problem_set = get_set(session, name="tiny-net")
        assert problem_set is not None
        results = class_results(session, problem_set=problem_set)
    assert results.degenerate == [("bob", "q1: L"), ("bob", "q1: dL/dw"), ("bob", "q1: p")]
    from tests.web.test_pages import _sign_in

    _sign_in(env.client, course.prof)
    page = env.client.get("/sets/tiny-net/results")
    assert page.status_code == 200
    assert "resting on 0, 1 or a copied value" in page.text and "<td>bob</td>" in page.text


def test_class_results_of_a_set_nobody_answered(env: Env, course: Course) -> None:
    with env.factory() as session:
        problem_set = get_set(session, name="tiny-net")
        assert problem_set is not None
        results = class_results(session, problem_set=problem_set)
    assert (results.students, results.submitted, results.graded, results.mean, results.median) == (2, 0, 0, None,
                                                                                                   None)
    assert results.quantities == [] and results.mistakes == [] and results.follow_through == 0
    assert sum(b.count for b in results.histogram) == 0


@pytest.mark.parametrize(("scores", "max_score", "counts"), [
    ([], 3.0, [0, 0, 0]),
    ([0.0, 0.5, 1.0, 2.99, 3.0], 3.0, [2, 1, 2]),
    ([0.0, 1.0], 1.0, [2]),
    ([0.25, 0.5], 0.5, [0, 0, 0, 0, 0, 1, 0, 0, 0, 1]),
    ([0.0, 12.5, 24.9, 25.0], 25.0, [1, 0, 0, 0, 0, 1, 0, 0, 0, 2]),
    ([0.0, 0.0], 0.0, [2]),
])
def test_histogram_bins(scores: list[float], max_score: float, counts: list[int]) -> None:
    bins = histogram(scores, max_score)
    assert [b.count for b in bins] == counts
    assert bins[0].low == 0.0 and bins[-1].high == max_score


def test_student_view_hides_expected_values_and_revealing_feedback() -> None:
    part = {"quantity": "z", "expected": 1.1, "verdict": "incorrect", "feedback": "Not correct: off by 12%.",
            "feedback_hidden": "Not correct: too large in magnitude."}
    result = {"score": 0.0, "problems": [{"id": "q1", "parts": [part]}]}
    hidden = student_view(result, reveal=False)
    assert hidden is not None
    assert hidden["problems"][0]["parts"] == [{"quantity": "z", "expected": None, "verdict": "incorrect",
                                               "feedback": "Not correct: too large in magnitude."}]
    shown = student_view(result, reveal=True)
    assert shown is not None
    assert shown["problems"][0]["parts"] == [{"quantity": "z", "expected": 1.1, "verdict": "incorrect",
                                              "feedback": "Not correct: off by 12%."}]
    assert result["problems"][0]["parts"][0] == part  # type: ignore[index]  # the stored result is untouched
    assert student_view(None, reveal=False) is None


def test_a_result_stored_before_the_hidden_wording_says_only_not_correct() -> None:
    old = {"quantity": "z", "expected": 1.1, "verdict": "incorrect", "feedback": "Not correct: off by 12%."}
    right = {"quantity": "h", "expected": 0.5, "verdict": "correct", "feedback": "Correct."}
    result = student_view({"problems": [{"id": "q1", "parts": [old, right]}]}, reveal=False)
    assert result is not None
    assert [p["feedback"] for p in result["problems"][0]["parts"]] == ["Not correct.", "Correct."]


def test_students_see_expected_values_only_once_allowed(env: Env, course: Course) -> None:
    submission = _submit(env, course.alice, "alice", TINY_ANSWERS)
    env.wait()

    def expected(token: str) -> list[object]:
        body = env.client.get(f"/api/v1/submissions/{submission}", headers=auth(token)).json()
        return [part["expected"] for p in body["grade"]["result"]["problems"] for part in p["parts"]]

    assert set(expected(course.alice)) == {None}
    assert None not in expected(course.prof)
    with env.factory() as session:
        problem_set = get_set(session, name="tiny-net")
        assert problem_set is not None and problem_set.show_expected is False
        set_show_expected(session, problem_set=problem_set, show=True)
        session.commit()
    assert expected(course.alice) == expected(course.prof)
    assert expected(course.alice)[0] == pytest.approx(1.1)
