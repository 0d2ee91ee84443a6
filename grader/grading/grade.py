"""Grade a whole answers file against a problem set (the ``grader check`` job)."""

from __future__ import annotations

from grader.grading.answers import Answers
from grader.grading.network import grade_network
from grader.grading.result import GradeResult, ProblemResult
from grader.problemset.model import ExpressionProblem, NetworkProblem, ProblemSet
from grader.problemset.source import AnswersError


def grade(ps: ProblemSet, answers: Answers) -> GradeResult:
    """Grade ``answers``; raise ``AnswersError`` if they are for another problem set."""
    if answers.problem_set != ps.id:
        raise AnswersError(f"these answers are for problem set {answers.problem_set!r}, not {ps.id!r}",
                           file=answers.file, field="problem_set")
    result = GradeResult(ps.id, answers.student)
    from grader.symbolic.chains import StudentChain

    chain = StudentChain()  # the student's expression answers so far, for answer_of (in the set's order)
    known = {p.id for p in ps.problems}
    for pid in answers.answers:
        if pid not in known:
            result.warnings.append(f"answers for unknown problem {pid!r} were ignored")
    for problem in ps.problems:
        submitted = answers.answers.get(problem.id)
        pr = ProblemResult(problem.id)
        if isinstance(problem, NetworkProblem):
            pr.parts = grade_network(problem, submitted, ps.id, answers.student, result.warnings)
        elif isinstance(problem, ExpressionProblem):
            from grader.symbolic.grade import grade_expression

            pr.parts = [grade_expression(problem, submitted, chain)]
        result.problems.append(pr)
    return result
