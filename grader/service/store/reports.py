"""What the web pages show: a student's sets and attempts, and a class's results on a set.

Keyword-only functions over a session, like the rest of the store; they read and never commit. Scores
come from each submission's grade against the newest version that graded it, as everywhere else.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grader.grading.answers import read_answers
from grader.problemset.source import InputError
from grader.service.models import Grade, ProblemSet, SetVersion, Submission, User
from grader.service.store.sets import current_version, enrolled, sets_for
from grader.service.store.submissions import grades_by_submission, latest_submissions, list_submissions

#: verdicts that earn no credit: what the error rate counts
WRONG = ("incorrect", "invalid", "missing")
VERDICTS = ("correct", "follow_through", "incorrect", "missing", "invalid", "undecided")
#: at most this many attempts are listed on a problem page
ATTEMPTS_SHOWN = 50


def status_of(grade: Grade | None) -> str:
    """queued (no grade yet), failed (grading stopped with an error) or graded."""
    if grade is None:
        return "queued"
    return "failed" if grade.error else "graded"


@dataclass
class ProblemScore:
    id: str
    title: str
    kind: str
    max_score: float
    score: float | None  # from the newest graded submission; None when not graded


@dataclass
class SetSummary:
    name: str
    title: str
    version: int
    max_score: float
    status: str  # not submitted, queued, graded, failed
    score: float | None
    submitted_at: datetime | None
    show_expected: bool
    problems: list[ProblemScore]


def student_sets(session: Session, *, student: User) -> list[SetSummary]:
    """Every set the student is enrolled in, with the score of their newest submission."""
    return [student_set(session, problem_set=ps, student=student) for ps in sets_for(session, user=student)]


def student_set(session: Session, *, problem_set: ProblemSet, student: User) -> SetSummary:
    version = current_version(session, problem_set=problem_set)
    newest = _newest(session, problem_set=problem_set, student=student)
    grade = None if newest is None else grades_by_submission(session, submission_ids=[newest.id]).get(newest.id)
    by_problem: dict[str, float] = {}
    if grade is not None and grade.result is not None:
        by_problem = {p["id"]: float(p["score"]) for p in grade.result.get("problems", [])}
    problems = [ProblemScore(p["id"], p["title"], p["kind"], float(p["max_score"]), by_problem.get(p["id"]))
                for p in version.problems]
    return SetSummary(
        name=problem_set.name, title=version.title, version=version.number, max_score=version.max_score,
        status="not submitted" if newest is None else status_of(grade),
        score=None if grade is None else grade.score, submitted_at=None if newest is None else newest.created_at,
        show_expected=problem_set.show_expected, problems=problems)


def _newest(session: Session, *, problem_set: ProblemSet, student: User) -> Submission | None:
    rows = list_submissions(session, problem_set=problem_set, student=student, limit=1)
    return rows[0][0] if rows else None


def latest_answers(session: Session, *, problem_set: ProblemSet, student: User) -> dict[str, Any]:
    """The answers of the student's newest submission, by problem id (empty before the first one)."""
    newest = _newest(session, problem_set=problem_set, student=student)
    if newest is None:
        return {}
    return submitted_answers(newest)


def submitted_answers(submission: Submission) -> dict[str, Any]:
    """A stored submission's answers by problem id, as read when it arrived (or read again)."""
    if submission.parsed is not None:
        return dict(submission.parsed.get("answers", {}))
    try:
        return dict(read_answers(submission.answers, f"submission {submission.id}").answers)
    except InputError:  # stored only after it was read once; kept safe should the reader ever change
        return {}


@dataclass
class Attempt:
    """One submission as seen from one problem: what was sent for it and how it was judged."""

    number: int  # 1 for the student's first submission to the set
    submission_id: int
    submitted_at: datetime
    status: str
    version: int | None  # the set version of its grade
    current: bool  # graded against the current version
    answer: Any  # what was submitted for this problem (a mapping of quantities, or a formula)
    score: float | None
    max_score: float | None
    parts: list[dict[str, Any]]
    error: str | None
    total: float | None  # the whole submission's score
    total_max: float | None


def attempts(session: Session, *, problem_set: ProblemSet, student: User, problem_id: str,
             reveal: bool = True) -> list[Attempt]:
    """The student's submissions to the set, newest first, each with its answer and parts for one problem.

    Without ``reveal`` each part is as ``student_part`` shows it while expected values are hidden.
    """
    rows = list_submissions(session, problem_set=problem_set, student=student, limit=ATTEMPTS_SHOWN)
    total = session.scalar(select(func.count()).where(Submission.problem_set_id == problem_set.id,
                                                      Submission.student_id == student.id)) or 0
    grades = grades_by_submission(session, submission_ids=[s.id for s, _ in rows])
    version = current_version(session, problem_set=problem_set)
    numbers = _version_numbers(session, problem_set=problem_set)
    out = []
    for offset, (submission, _name) in enumerate(rows):
        grade = grades.get(submission.id)
        problem = _problem_result(grade, problem_id)
        out.append(Attempt(
            number=total - offset, submission_id=submission.id, submitted_at=submission.created_at,
            status=status_of(grade), version=None if grade is None else numbers.get(grade.set_version_id),
            current=grade is not None and grade.set_version_id == version.id,
            answer=submitted_answers(submission).get(problem_id),
            score=None if problem is None else float(problem["score"]),
            max_score=None if problem is None else float(problem["max_score"]),
            parts=[] if problem is None else [student_part(p, reveal=reveal) for p in problem.get("parts", [])],
            error=None if grade is None else grade.error,
            total=None if grade is None else grade.score, total_max=None if grade is None else grade.max_score))
    return out


def _problem_result(grade: Grade | None, problem_id: str) -> dict[str, Any] | None:
    if grade is None or grade.result is None:
        return None
    for problem in grade.result.get("problems", []):
        if problem.get("id") == problem_id:
            return dict(problem)
    return None


def _version_numbers(session: Session, *, problem_set: ProblemSet) -> dict[int, int]:
    rows = session.execute(select(SetVersion.id, SetVersion.number).where(SetVersion.problem_set_id ==
                                                                          problem_set.id))
    return {vid: number for vid, number in rows}


def student_view(result: dict[str, Any] | None, *, reveal: bool) -> dict[str, Any] | None:
    """A stored result as its student may see it.

    With ``reveal`` (the set's show_expected) everything; otherwise every part's expected value is removed
    and its feedback is the wording that says nothing of the key (``feedback_hidden``, stored beside the
    full one, so switching show_expected needs no regrade). The instructor reads the stored result as it is.
    """
    if result is None:
        return None
    problems = [{**p, "parts": [student_part(part, reveal=reveal) for part in p.get("parts", [])]}
                for p in result.get("problems", [])]
    return {**result, "problems": problems}


#: feedback for a wrong part stored before the hidden wording existed: it may quote the key
_UNSAFE_BEFORE_HIDDEN = ("incorrect",)


def student_part(part: dict[str, Any], *, reveal: bool) -> dict[str, Any]:
    """One part of a result as its student may see it (see ``student_view``)."""
    out = dict(part)
    hidden = out.pop("feedback_hidden", None)
    if reveal:
        return out
    out["expected"] = None
    if hidden is not None:
        out["feedback"] = hidden
    elif out.get("verdict") in _UNSAFE_BEFORE_HIDDEN:
        out["feedback"] = "Not correct."
    return out


def set_show_expected(session: Session, *, problem_set: ProblemSet, show: bool) -> None:
    problem_set.show_expected = show
    session.flush()


# -- class results ------------------------------------------------------------------------------------------
@dataclass
class Bin:
    low: float
    high: float
    count: int

    @property
    def label(self) -> str:
        return f"{self.low:g}–{self.high:g}"


@dataclass
class QuantityStats:
    problem: str
    quantity: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VERDICTS, 0))

    @property
    def answered(self) -> int:
        return sum(self.counts.values())

    @property
    def error_rate(self) -> float:
        """The share of graded parts that earned no credit (incorrect, unreadable or missing)."""
        return sum(self.counts[v] for v in WRONG) / self.answered if self.answered else 0.0


@dataclass
class MistakeCount:
    name: str
    count: int
    where: list[tuple[str, int]]  # "q1: z" and how often, most frequent first
    example: str  # the feedback of one such answer


@dataclass
class ClassResults:
    students: int  # enrolled or with a submission
    submitted: int  # with a submission
    graded: int  # whose newest submission has a score
    failed: int  # whose newest submission could not be graded
    behind: int  # graded, but against an older version than the current one
    max_score: float
    mean: float | None
    median: float | None
    histogram: list[Bin]
    quantities: list[QuantityStats]
    mistakes: list[MistakeCount]
    follow_through: int  # parts credited for carrying an earlier slip forward
    # follow-through resting on an answer of 0, 1 or a copied value (SPEC 6.1.5): (student, "q1: dL/dw1"), to review
    degenerate: list[tuple[str, str]] = field(default_factory=list)


def class_results(session: Session, *, problem_set: ProblemSet, top: int = 10) -> ClassResults:
    """Scores, per-quantity verdicts, the most frequent mistakes and follow-through counts of a set.

    Each student counts once, with their newest submission (as in the grades CSV).
    """
    version = current_version(session, problem_set=problem_set)
    latest = latest_submissions(session, problem_set=problem_set)
    grades = grades_by_submission(session, submission_ids=[s.id for s in latest.values()])
    students = {u.id for u in enrolled(session, problem_set=problem_set)} | set(latest)
    scores: list[float] = []
    failed = behind = 0
    stats: dict[tuple[str, str], QuantityStats] = {}
    mistakes: Counter[str] = Counter()
    places: dict[str, Counter[str]] = {}
    examples: dict[str, str] = {}
    degenerate: list[tuple[str, str]] = []
    names = {u.id: u.name for u in session.scalars(select(User).where(User.id.in_(list(latest))))} if latest else {}
    for student_id, submission in latest.items():
        grade = grades.get(submission.id)
        if grade is None:
            continue
        if grade.result is None or grade.score is None:
            failed += 1
            continue
        scores.append(float(grade.score))
        if grade.set_version_id != version.id:
            behind += 1
        for problem in grade.result.get("problems", []):
            for part in problem.get("parts", []):
                key = (str(problem.get("id")), str(part.get("quantity")))
                entry = stats.setdefault(key, QuantityStats(*key))
                verdict = str(part.get("verdict"))
                if verdict in entry.counts:
                    entry.counts[verdict] += 1
                if part.get("flag") == "degenerate":
                    degenerate.append((names.get(student_id, str(student_id)), _place(*key)))
                name = part.get("misconception")
                if name:
                    mistakes[name] += 1
                    places.setdefault(name, Counter())[_place(*key)] += 1
                    examples.setdefault(name, str(part.get("feedback", "")))
    order = {p["id"]: i for i, p in enumerate(version.problems)}  # the file's order; parts in asked order
    quantities = sorted(stats.values(), key=lambda s: order.get(s.problem, len(order)))
    return ClassResults(
        students=len(students), submitted=len(latest), graded=len(scores), failed=failed, behind=behind,
        max_score=version.max_score, mean=statistics.fmean(scores) if scores else None,
        median=statistics.median(scores) if scores else None, histogram=histogram(scores, version.max_score),
        quantities=quantities,
        mistakes=[MistakeCount(name, count, places[name].most_common(), examples[name])
                  for name, count in mistakes.most_common(top)],
        follow_through=sum(s.counts["follow_through"] for s in quantities), degenerate=sorted(degenerate))


def _place(problem: str, quantity: str) -> str:
    return problem if quantity in ("", problem) else f"{problem}: {quantity}"


def histogram(scores: list[float], max_score: float) -> list[Bin]:
    """Counts of scores in bins of [0, max_score]: one point wide up to 20 points, else ten bins."""
    if max_score <= 0:
        return [Bin(0.0, 0.0, len(scores))]
    if max_score <= 20 and float(max_score).is_integer():
        edges = [float(i) for i in range(int(max_score) + 1)]
    else:
        edges = [max_score * i / 10 for i in range(11)]
    bins = [Bin(round(lo, 6), round(hi, 6), 0) for lo, hi in pairwise(edges)]
    if not bins:  # a one-point set: one bin
        bins = [Bin(0.0, max_score, 0)]
    width = bins[0].high - bins[0].low
    for score in scores:
        index = min(max(math.floor(score / width + 1e-9), 0), len(bins) - 1)
        bins[index].count += 1
    return bins
