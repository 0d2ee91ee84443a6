"""Grade one answer to an expression problem, and show an expression problem's key.

``grade_expression`` is what the answers-file grader calls for ``kind: expression``. Verdicts:
``correct``; ``incorrect`` with a ``misconception`` and feedback that says what is off; ``missing``;
``invalid`` with the reader's message and column; ``undecided`` when the check ran out of its time
bound (flagged for a person, never marked wrong).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from grader.expr import ExpressionError, read_answer
from grader.expr.build import constant_value
from grader.expr.nodes import Call, Expr, Neg, Num, Sum, Sym, children, walk
from grader.grading.numeric import NumberError, as_submitted, hidden_comparison, is_close, read_number
from grader.grading.result import PartResult, Verdict
from grader.problemset.model import ExpressionProblem, Tolerance
from grader.problemset.source import kind_of
from grader.symbolic.equivalence import Checker, evaluate
from grader.symbolic.feedback import depends_on, diagnose
from grader.symbolic.numeric import MAX_WORK
from grader.symbolic.render import to_latex, to_plain
from grader.symbolic.space import Budget, Space

TIME_LIMIT_DEFAULT = 2.0


def expression_key(problem: ExpressionProblem) -> dict[str, object]:
    """The key as plain text and LaTeX, with the domains it holds on."""
    shown = _shown(problem)
    space = _space(problem)
    out: dict[str, object] = {"answer": to_plain(shown), "latex": to_latex(shown)}
    if problem.display is not None and problem.answer is not None:
        out["computed"] = to_plain(problem.answer)
    out["variables"] = {name: d.describe() for name, d in space.variables.items()}
    if space.families:
        out["families"] = {name: f"{d.describe()}, {arity} index" + ("es" if arity > 1 else "")
                           for name, (arity, d) in space.families.items()}
    if space.indices:
        out["indices"] = {name: list(r) for name, r in space.indices.items()}
    out["at_kinks"] = problem.options.get("at_kinks", "ignore")
    return out


def grade_expression(problem: ExpressionProblem, submitted: object) -> PartResult:
    """Judge ``submitted`` (text, a number, or None) against the problem's key."""
    result = _judge(problem, submitted, Budget(float(problem.options.get("time_limit", TIME_LIMIT_DEFAULT))))
    result.feedback = _sentence(result.feedback)
    if result.feedback_hidden is not None:
        result.feedback_hidden = _sentence(result.feedback_hidden)
    return result


def _sentence(text: str) -> str:
    """Feedback as the network grader writes it: a capital first letter and a full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!" else text + "."


def _judge(problem: ExpressionProblem, submitted: object, budget: Budget) -> PartResult:
    """The verdict; ``budget`` (started before the answer is read) bounds reading, checking and diagnosing."""
    points = problem.points.get("", 0.0)
    result = PartResult(problem.id, submitted, to_plain(_shown(problem)), Verdict.INCORRECT, 0.0, points)
    if submitted is None or (isinstance(submitted, str) and not submitted.strip()):
        result.verdict = Verdict.MISSING
        result.feedback = "no answer given"
        return result
    if isinstance(submitted, bool) or not isinstance(submitted, str | int | float):
        result.verdict = Verdict.INVALID
        result.feedback = f"expected a formula (text) or a number, found {kind_of(submitted)}"
        return result
    space = _space(problem)
    checker = _checker(problem)
    if isinstance(submitted, int | float):
        try:
            number = read_number(submitted)  # a number no float holds is invalid, not a failed submission
        except NumberError as exc:
            result.submitted = as_submitted(submitted)
            result.verdict = Verdict.INVALID
            result.feedback = str(exc)
            return result
        constant = _constant_key(problem, checker)
        if constant is not None:
            return _grade_number(result, number, constant, problem.tolerance)
        tree: Expr = _number_tree(submitted)
    else:
        try:
            tree = read_answer(submitted, space.symbols(), indices=space.index_bounds(), notation=space.notation())
        except ExpressionError as exc:
            return _unreadable(result, exc, space)
        too_large = _unrepresentable(tree)
        if too_large is not None:
            result.verdict = Verdict.INVALID
            result.feedback = too_large
            return result
        constant = _constant_key(problem, checker)
        literal = _literal(tree)
        if constant is not None and literal is not None:
            return _grade_number(result, literal, constant, problem.tolerance)
        problem_text = _static_problem(tree, space)
        if problem_text is not None:
            result.verdict = Verdict.INVALID
            result.feedback = problem_text
            return result
    unbound = _unbound_index(tree, space)
    if unbound is not None:
        result.misconception = "unknown_symbol"
        result.feedback = unbound
        return result
    try:
        judgement = checker.judge(tree, budget)
    except (RecursionError, MemoryError):
        result.verdict = Verdict.UNDECIDED
        result.feedback = "could not be decided: the formula is too large to check; flagged for a person"
        return result
    if judgement.verdict == "equal":
        result.verdict = Verdict.CORRECT
        result.credit = 1.0
        result.feedback = "correct" + (" (confirmed exactly)" if judgement.exact else "")
        return result
    if judgement.verdict == "undecided":
        result.verdict = Verdict.UNDECIDED
        result.feedback = f"could not be decided: {judgement.reason}; flagged for a person"
        return result
    result.misconception, result.feedback, hidden = diagnose(
        checker, judgement, tree, problem.differentiated, problem.options.get("chain_factors", ()), budget)
    result.feedback_hidden = None if hidden == result.feedback else hidden
    return result


# -- helpers -----------------------------------------------------------------------------------------
def _shown(problem: ExpressionProblem) -> Expr:
    shown = problem.display if problem.display is not None else problem.answer
    if shown is None:
        raise ValueError(f"problem {problem.id} has no answer")
    return shown


def _space(problem: ExpressionProblem) -> Space:
    if problem.space is None:
        problem.space = Space(variables=dict(problem.variables))
    return problem.space


def _checker(problem: ExpressionProblem) -> Checker:
    if not isinstance(problem.checker, Checker):
        if problem.answer is None:
            raise ValueError(f"problem {problem.id} has no answer")
        problem.checker = Checker(_space(problem), problem.answer, problem.options.get("at_kinks", "ignore"),
                                  seed=problem.id)
    return problem.checker


def _number_tree(x: int | float) -> Expr:
    q = Fraction(x) if isinstance(x, int) else Fraction(repr(x))
    return Num(q) if q >= 0 else Neg(Num(-q))


def _constant_key(problem: ExpressionProblem, checker: Checker) -> float | None:
    """The key's value if it depends on no variable, else None."""
    if problem.answer is None or depends_on(problem.answer, checker.space):
        return None
    try:
        state = checker.float.bind({})
    except (ArithmeticError, ValueError, TypeError):
        return None
    value, _, _ = evaluate(checker.key_float, state)
    return None if value is None else float(value)


def _unrepresentable(tree: Expr) -> str | None:
    """Why a number in ``tree`` cannot be held as a float (``1e400*x``), or None."""
    for node in walk(tree):
        if isinstance(node, Num):
            try:
                float(node.value)
            except OverflowError:
                return (f"the number at column {node.pos + 1} is too large to compare (the grader works with "
                        "numbers up to about 1.8e308)")
    return None


def _literal(tree: Expr) -> float | None:
    """The value of an answer that is just a number (``0.333``, ``-2``), else None."""
    if isinstance(tree, Neg):
        inner = _literal(tree.arg)
        return None if inner is None else -inner
    return float(tree.value) if isinstance(tree, Num) else None


def _grade_number(result: PartResult, x: float, expected: float, tol: Tolerance) -> PartResult:
    if is_close(x, expected, tol):  # the rounding rule of network quantities, exactly
        result.verdict = Verdict.CORRECT
        result.credit = 1.0
        result.feedback = f"correct within {tol.describe()}"
    else:
        result.feedback = f"not equal to the correct value {expected:.6g} within {tol.describe()}"
        result.feedback_hidden = hidden_comparison(x, expected)
    return result


def _unreadable(result: PartResult, exc: ExpressionError, space: Space) -> PartResult:
    if exc.kind == "unknown_name":
        names = sorted([*space.variables, *space.defines, *space.families, *space.indices,
                        *(f"{g}({', '.join(p)})" for g, p in space.functions.items())])
        listing = f" (this problem's names: {', '.join(names)})" if names else ""
        result.misconception = "unknown_symbol"
        result.feedback = f"{exc.describe()}: it is not part of this problem{listing}"
        return result
    result.verdict = Verdict.INVALID
    result.feedback = exc.describe()
    return result


def _static_problem(tree: Expr, space: Space) -> str | None:
    for node in walk(tree):
        if isinstance(node, Call) and node.func == "diff":
            return f"diff(...) at column {node.pos + 1} is for problem files; write the derivative out"
        if not isinstance(node, Sum):
            continue
        lo, hi = constant_value(node.lo), constant_value(node.hi)
        if lo is not None and hi is not None and hi - lo > MAX_WORK:
            return f"the sum at column {node.pos + 1} has too many terms (at most {MAX_WORK})"
    return None


def _unbound_index(tree: Expr, space: Space) -> str | None:
    """An indexed name whose index is neither declared nor bound by a sum: ``z_m`` with no ``m``."""
    bound: set[str] = set()

    def visit(node: Any) -> str | None:
        if isinstance(node, Sum):
            bound.add(node.index)
            try:
                for child in (node.body, node.lo, node.hi):
                    found = visit(child)
                    if found:
                        return found
            finally:
                bound.discard(node.index)
            return None
        if isinstance(node, Sym):
            split = space.split(node.name)
            if split is not None:
                for part in split[1]:
                    if not part.isdecimal() and part not in space.indices and part not in bound:
                        return (f'"{node.name}" at column {node.pos + 1} uses the index {part}, which is not '
                                f"declared by this problem (indices: {', '.join(space.indices) or 'none'})")
            return None
        for sub in children(node):
            found = visit(sub)
            if found:
                return found
        return None

    return visit(tree)
