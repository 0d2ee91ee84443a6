"""Student pages: my sets with scores, a set's problems, and a problem to answer with feedback and history.

A problem page submits a whole answers file (SPEC section 3): this problem's new answers, and the other
problems' answers carried over from the student's newest submission, so the newest submission is always
their complete set of answers (it is the one the gradebook counts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from grader.expr import ExpressionError, parse
from grader.expr.mathml import MathMLError, to_mathml
from grader.expr.nodes import Call
from grader.key import variant_values
from grader.problemset.model import ExpressionProblem, NetworkProblem, Problem
from grader.service.api.deps import ServiceDep, SessionDep, SubmissionId
from grader.service.errors import Invalid, NotFound, TooLarge, TooManyRequests
from grader.service.loaded import loaded_set
from grader.service.models import ProblemSet, User
from grader.service.store.reports import attempts, latest_answers, status_of, student_set, student_sets
from grader.service.store.sets import current_version, visible_set
from grader.service.store.submissions import create_submission, visible_submission
from grader.service.text import scrub

from .diagram import network_svg
from .preview import PLAIN_NUMBER, preview_for, preview_html
from .render import formula, render
from .session import Form, JsonUser, PageRoute, PageStudent, PostedForm

router = APIRouter(route_class=PageRoute, include_in_schema=False)
json_router = APIRouter(include_in_schema=False)


def sets_page(request: Request, session: SessionDep, user: User) -> Response:
    return render(request, "student_sets.html", title="My problem sets", sets=student_sets(session, student=user))


def set_page(request: Request, session: SessionDep, user: User, problem_set: ProblemSet) -> Response:
    summary = student_set(session, problem_set=problem_set, student=user)
    first = summary.problems[0].id if summary.problems else ""
    history = attempts(session, problem_set=problem_set, student=user, problem_id=first,
                       reveal=problem_set.show_expected)
    return render(request, "student_set.html", title=summary.title, summary=summary, history=history)


@dataclass
class AnswerField:
    index: int
    quantity: str
    points: float
    value: str  # prefilled: what was last submitted
    hint: str


def _fields(problem: Problem, previous: Any, typed: dict[int, str] | None) -> list[AnswerField]:
    if isinstance(problem, NetworkProblem):
        names = [q.name for q in problem.ask]
        hint = "A number, e.g. 0.8337, 1/3 or tanh(1.2)."
    else:
        names = [problem.id]
        hint = ("A formula in plain text, e.g. sigma(x)*(1 - sigma(x)), or LaTeX, e.g. \\frac{1}{2}x^2. "
                "To show your derivation, write one step per line: the last line is your answer, and every "
                "step is checked.")
    fields = []
    for i, name in enumerate(names):
        if typed is not None:
            value = typed.get(i, "")
        elif isinstance(previous, dict):
            value = _shown(previous.get(name))
        else:
            value = _shown(previous) if i == 0 and isinstance(problem, ExpressionProblem) else ""
        points = problem.points.get(name if isinstance(problem, NetworkProblem) else "", 0.0)
        fields.append(AnswerField(i, name, points, value, hint))
    return fields


def _shown(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return "\n".join(str(v) for v in value)  # a derivation sent as a list: a step per line
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def _statement_parts(problem: Problem, values: dict[str, float]) -> dict[str, Any]:
    """What the page shows about the problem besides its statement: the drawn network, or the names."""
    if isinstance(problem, NetworkProblem):
        return {
            "svg": Markup(network_svg(problem, values, title=f"The network of {problem.title or problem.id}")),
            "forward": [(name, Markup(to_mathml(problem.forward[name], display="inline")))
                        for name in problem.order],
            "given": [(n, values[n]) for n in problem.given], "params": [(n, values[n]) for n in problem.params],
            "learning_rate": problem.learning_rate, "loss": problem.loss,
        }
    assert isinstance(problem, ExpressionProblem)
    space = problem.space
    variables = {n: d.describe() for n, d in space.variables.items()} if space else {}
    chained: dict[str, str] = problem.options.get("answer_of", {})
    # a name for an earlier answer is shown as that, not as its key (which would give the earlier answer away)
    define = [(n, Markup("your answer to <a href=\"{0}\">{0}</a>").format(chained[n]) if n in chained
               else Markup(to_mathml(t, display="inline"))) for n, t in problem.define.items()]
    return {"variables": variables, "task": _task(problem), "define": define}


def _task(problem: ExpressionProblem) -> Markup | None:
    """A derivative asked for, as maths (``d/dx σ(x)``); None when the file's answer is the answer itself."""
    if problem.differentiated is None:
        return None
    try:
        tree = parse(problem.answer_text)
        if not (isinstance(tree, Call) and tree.func == "diff"):
            return None
        return Markup(to_mathml(tree))
    except (ExpressionError, MathMLError):
        return None


def problem_page(request: Request, session: SessionDep, user: User, problem_set: ProblemSet, problem_id: str,
                 *, typed: dict[int, str] | None = None, error: str | None = None, status: int = 200) -> Response:
    version = current_version(session, problem_set=problem_set)
    ps = loaded_set(version)
    problem = _problem(ps, problem_set.name, problem_id)
    values: dict[str, float] = {}
    if isinstance(problem, NetworkProblem):
        v = variant_values(ps, problem, user.name)
        values = {**v["given"], **v["params"]}
    history = attempts(session, problem_set=problem_set, student=user, problem_id=problem_id,
                       reveal=problem_set.show_expected)
    previous = latest_answers(session, problem_set=problem_set, student=user).get(problem_id)
    fields = _fields(problem, previous, typed)
    previews = {f.index: preview_for(problem, f.value) for f in fields if f.value}
    symbols = problem.space.symbols() if isinstance(problem, ExpressionProblem) and problem.space else None
    latest = history[0] if history else None
    index = [p["id"] for p in version.problems].index(problem.id)
    return render(
        request, "problem.html", status=status, title=problem.title or problem.id, problem_set=problem_set,
        set_title=version.title, problem=problem, kind=problem.kind, fields=fields, error=error,
        previews={i: Markup(preview_html(p, fields[i].value)) for i, p in previews.items()},
        preview_errors={i for i, p in previews.items() if not p.ok},
        history=history, latest=latest, show_expected=problem_set.show_expected,
        formula=lambda text: formula(text, symbols), waiting=latest is not None and latest.status == "queued",
        previous_problem=version.problems[index - 1]["id"] if index > 0 else None,
        next_problem=version.problems[index + 1]["id"] if index + 1 < len(version.problems) else None,
        **_statement_parts(problem, values))


def _problem(ps: Any, set_name: str, problem_id: str) -> Problem:
    try:
        problem: Problem = ps.problem(problem_id)
    except KeyError:
        raise NotFound(f"problem set {set_name!r} has no problem {problem_id!r}") from None
    return problem


@router.post("/sets/{set_id}/problems/{problem_id}")
def submit(request: Request, set_id: str, problem_id: str, user: PageStudent, form: PostedForm,
           session: SessionDep, service: ServiceDep) -> Response:
    """Submit this problem's answers (with the other problems' answers carried over); then show the feedback."""
    problem_set = visible_set(session, user=user, name=set_id)
    version = current_version(session, problem_set=problem_set)
    problem = _problem(loaded_set(version), set_id, problem_id)
    typed = _typed(form, problem)
    answer = _answer(problem, typed)
    if answer is None:
        return problem_page(request, session, user, problem_set, problem_id, typed=typed, status=422,
                            error="Type at least one answer before submitting.")
    # carried over as valid text: a lone surrogate stored before they were refused must not block this
    answers = {pid: scrub(a) for pid, a in latest_answers(session, problem_set=problem_set, student=user).items()
               if pid in {p["id"] for p in version.problems}}
    answers[problem_id] = answer
    text = yaml.safe_dump({"problem_set": set_id, "student": user.name, "answers": answers}, sort_keys=False,
                          allow_unicode=True)
    try:
        service.limiter.take("submit", user.id)
        submission = create_submission(session, problem_set=problem_set, student=user, text=text, file="answers",
                                       default_per_hour=service.settings.submissions_per_hour,
                                       max_bytes=service.settings.max_answers_bytes)
    except TooManyRequests as exc:
        session.rollback()
        page = problem_page(request, session, user, problem_set, problem_id, typed=typed, status=429,
                            error=f"Not submitted: {exc.message}.")
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except (TooLarge, Invalid) as exc:  # nothing was stored: the page again, with what was typed and why
        session.rollback()
        return problem_page(request, session, user, problem_set, problem_id, typed=typed, status=exc.status,
                            error=exc.message)
    session.commit()  # stored before it is handed to a grader, as the API does
    service.dispatcher.grade(submission.id, submission.set_version_id)
    return RedirectResponse(f"/sets/{set_id}/problems/{problem_id}?submitted={submission.id}#feedback",
                            status_code=303)


def _typed(form: Form, problem: Problem) -> dict[int, str]:
    count = len(problem.ask) if isinstance(problem, NetworkProblem) else 1
    return {i: form.get(f"answer-{i}") for i in range(count)}


def _answer(problem: Problem, typed: dict[int, str]) -> Any:
    """This problem's entry of the answers file, or None when nothing was typed."""
    if isinstance(problem, ExpressionProblem):  # one formula, or a derivation with a step per line
        lines = [line.rstrip() for line in typed.get(0, "").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
        text = "\n".join(line for line in lines if line.strip())
        return text or None
    assert isinstance(problem, NetworkProblem)
    out: dict[str, Any] = {}
    for i, q in enumerate(problem.ask):
        text = typed.get(i, "").strip()
        if text:
            number = float(text) if PLAIN_NUMBER.match(text) else math.nan
            out[q.name] = number if math.isfinite(number) else text  # the grader reads text and says why not
    return out or None


@json_router.get("/submissions/{submission_id}/status")
def submission_status(submission_id: SubmissionId, session: SessionDep, user: JsonUser) -> dict[str, Any]:
    """Whether a submission has been graded yet (the problem page asks until it has)."""
    view = visible_submission(session, user=user, submission_id=submission_id)
    return {"id": submission_id, "status": status_of(view.grade)}
