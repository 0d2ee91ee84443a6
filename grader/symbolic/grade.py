"""Grade one answer to an expression problem, and show an expression problem's key.

``grade_expression`` is what the answers-file grader calls for ``kind: expression``. Verdicts:
``correct``; ``incorrect`` with a ``misconception`` and feedback that says what is off; ``missing``;
``invalid`` with the reader's message and column; ``undecided`` when the check ran out of its time
bound (flagged for a person, never marked wrong).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from grader.expr import ExpressionError, read_answer
from grader.expr.build import constant_value
from grader.expr.nodes import Call, Expr, Neg, Num, Sum, Sym, children, walk
from grader.grading.numeric import NumberError, as_submitted, hidden_comparison, is_close, read_number
from grader.grading.result import PartResult, Verdict
from grader.problemset.model import ExpressionProblem, Tolerance
from grader.problemset.source import kind_of
from grader.symbolic.chains import StudentChain, carried_value, quoted, world
from grader.symbolic.derivation import Refused, Step, split_steps
from grader.symbolic.derivative import DerivativeError, expand_diffs
from grader.symbolic.equivalence import Checker, Judgement, Status, evaluate
from grader.symbolic.feedback import depends_on, diagnose, fmt, nice_point, point_magnitude, point_text
from grader.symbolic.numeric import MAX_WORK
from grader.symbolic.render import to_latex, to_plain
from grader.symbolic.space import Budget, Space, TimeUp

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


def grade_expression(problem: ExpressionProblem, submitted: object, chain: StudentChain | None = None) -> PartResult:
    """Judge ``submitted`` (text, a number, a list of steps, or None) against the problem's key.

    ``chain`` holds the student's answers to the set's earlier expression problems (graded in order):
    an answer built on one of them (``answer_of``) that is wrong against the key but right given the
    student's own earlier answer is ``follow_through``. This answer is added to it.
    """
    limit = float(problem.options.get("time_limit", TIME_LIMIT_DEFAULT))
    space = _space(problem)
    steps = split_steps(submitted, lambda text: _readable(text, space))
    if isinstance(steps, Refused):
        result = PartResult(problem.id, submitted, to_plain(_shown(problem)), Verdict.INVALID, 0.0,
                            problem.points.get("", 0.0), feedback=steps.message)
        judged = Judged(result)
    elif steps is not None and len(steps) > 1:
        judged = _derivation(problem, submitted, steps, limit, chain)
    else:
        final = steps[0] if isinstance(submitted, list) and steps else submitted
        judged = _judge(problem, final, Budget(limit))
        if chain is not None:
            _carry(problem, judged, final, chain, limit)
    result = judged.result
    result.feedback = _sentences(result.feedback)
    if result.feedback_hidden is not None:
        result.feedback_hidden = _sentences(result.feedback_hidden)
    return result


def _sentences(text: str) -> str:
    return " ".join(_sentence(part) for part in text.split("\n") if part.strip())


def _sentence(text: str) -> str:
    """Feedback as the network grader writes it: a capital first letter and a full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!" else text + "."


def _readable(text: str, space: Space) -> bool:
    try:
        read_answer(text, space.symbols(), indices=space.indices)
    except ExpressionError:
        return False
    return True


@dataclass
class Judged:
    """A judged answer: the part, the formula read (None if none was), the equivalence check's judgement."""

    result: PartResult
    tree: Expr | None = None
    judgement: Judgement | None = None


def _judge(problem: ExpressionProblem, submitted: object, budget: Budget) -> Judged:
    """The verdict; ``budget`` (started before the answer is read) bounds reading, checking and diagnosing."""
    points = problem.points.get("", 0.0)
    result = PartResult(problem.id, submitted, to_plain(_shown(problem)), Verdict.INCORRECT, 0.0, points)
    if submitted is None or (isinstance(submitted, str) and not submitted.strip()):
        result.verdict = Verdict.MISSING
        result.feedback = "no answer given"
        return Judged(result)
    if isinstance(submitted, bool) or not isinstance(submitted, str | int | float):
        result.verdict = Verdict.INVALID
        result.feedback = f"expected a formula (text) or a number, found {kind_of(submitted)}"
        return Judged(result)
    space = _space(problem)
    checker = _checker(problem)
    if isinstance(submitted, int | float):
        try:
            number = read_number(submitted)  # a number no float holds is invalid, not a failed submission
        except NumberError as exc:
            result.submitted = as_submitted(submitted)
            result.verdict = Verdict.INVALID
            result.feedback = str(exc)
            return Judged(result)
        tree: Expr = _number_tree(submitted)
        constant = _constant_key(problem, checker)
        if constant is not None:
            return Judged(_grade_number(result, number, constant, problem.tolerance), tree)
    else:
        try:
            tree = read_answer(submitted, space.symbols(), indices=space.index_bounds(), notation=space.notation())
        except ExpressionError as exc:
            return Judged(_unreadable(result, exc, space))
        too_large = _unrepresentable(tree)
        if too_large is not None:
            result.verdict = Verdict.INVALID
            result.feedback = too_large
            return Judged(result)
        constant = _constant_key(problem, checker)
        literal = _literal(tree)
        if constant is not None and literal is not None:
            return Judged(_grade_number(result, literal, constant, problem.tolerance), tree)
        problem_text = _static_problem(tree, space)
        if problem_text is not None:
            result.verdict = Verdict.INVALID
            result.feedback = problem_text
            return Judged(result)
    unbound = _unbound_index(tree, space)
    if unbound is not None:
        result.misconception = "unknown_symbol"
        result.feedback = unbound
        return Judged(result)
    try:
        judgement = checker.judge(tree, budget)
    except (RecursionError, MemoryError):
        result.verdict = Verdict.UNDECIDED
        result.feedback = "could not be decided: the formula is too large to check; flagged for a person"
        return Judged(result)
    if judgement.verdict == "equal":
        result.verdict = Verdict.CORRECT
        result.credit = 1.0
        result.feedback = "correct" + (" (confirmed exactly)" if judgement.exact else "")
        return Judged(result, tree, judgement)
    if judgement.verdict == "undecided":
        result.verdict = Verdict.UNDECIDED
        result.feedback = f"could not be decided: {judgement.reason}; flagged for a person"
        return Judged(result, None, judgement)
    result.misconception, result.feedback, hidden = diagnose(
        checker, judgement, tree, problem.differentiated, problem.options.get("chain_factors", ()), budget)
    result.feedback_hidden = None if hidden == result.feedback else hidden
    return Judged(result, tree, judgement)


# -- answers built on earlier answers (SPEC 6.5) -------------------------------------------------------
def _carry(problem: ExpressionProblem, judged: Judged, final: object, chain: StudentChain, limit: float) -> None:
    """Judge again in the student's world when the key says wrong; then add this answer to ``chain``."""
    result, tree = judged.result, judged.tree
    answer_of: dict[str, str] = problem.options.get("answer_of", {})
    if answer_of and tree is not None and result.verdict is Verdict.INCORRECT:
        _follow_through(problem, result, tree, chain, answer_of, limit)
    if tree is None or result.verdict not in (Verdict.CORRECT, Verdict.INCORRECT, Verdict.FOLLOW_THROUGH):
        return
    text = final if isinstance(final, str) else repr(final)
    chain.record(problem.id, carried_value(_space(problem), answer_of, tree, text,
                                           result.verdict is not Verdict.CORRECT, chain))


def _follow_through(problem: ExpressionProblem, result: PartResult, tree: Expr, chain: StudentChain,
                    answer_of: dict[str, str], limit: float) -> None:
    budget = Budget(limit)  # the same bound as the check against the key
    try:
        with budget.active():
            found = world(_space(problem), answer_of, problem.options["source"], problem.answer or tree, chain,
                          expand=expand_diffs)
    except (TimeUp, RecursionError, DerivativeError):
        found = None
    if found is None:
        return
    checker = Checker(found.space, found.key, problem.options.get("at_kinks", "ignore"), seed=problem.id)
    try:
        judgement = checker.judge(tree, budget)
    except (RecursionError, MemoryError):
        return
    given = " and ".join(f"{pid}: {quoted(c.text)} (used as {name})" for name, pid, c in found.used)
    answers = "answer" if len(found.used) == 1 else "answers"
    via = " and ".join(dict.fromkeys(p for _, _, c in found.used for p in c.via))
    if via:
        given += f", which {'rests' if len(found.used) == 1 else 'rest'} on your answer to {via}"
    if judgement.verdict == "equal":
        result.verdict = Verdict.FOLLOW_THROUGH
        result.credit = problem.follow_through_credit
        result.misconception = None
        result.feedback = f"right given your {answers} to {given}"
        result.feedback_hidden = None
    elif judgement.verdict == "undecided":
        later = (f"whether it is right given your {answers} to {given} could not be decided ({judgement.reason}); "
                 "flagged for a person")
        result.verdict = Verdict.UNDECIDED
        result.feedback_hidden = f"{result.hidden}\n{later}"
        result.feedback = f"{result.feedback}\n{later}"


# -- derivations (SPEC 6.6) --------------------------------------------------------------------------
def _derivation(problem: ExpressionProblem, submitted: object, steps: list[Step], limit: float,
                chain: StudentChain | None) -> Judged:
    """Judge every step; the part's verdict is the final step's, and the first wrong step is named."""
    final = _judge(problem, steps[-1], Budget(limit))
    if chain is not None:
        _carry(problem, final, steps[-1], chain, limit)
    result = final.result
    if isinstance(submitted, list):  # as the student sent it (a number no float holds, as text)
        result.submitted = [s if isinstance(s, str) else as_submitted(s) for s in submitted]
    else:
        result.submitted = submitted
    budget = Budget(limit)  # the steps before the last share one bound
    judged = [_step(problem, s, budget) for s in steps[:-1]]
    judged.append(_final_step(final))
    result.steps = [{"step": k, "text": str(s), "verdict": j.verdict,
                     **({"feedback": _sentence(j.reason)} if j.reason else {})}
                    for k, (s, j) in enumerate(zip(steps, judged, strict=True), 1)]
    said = _first_wrong(problem, judged)
    if said is not None:
        full, hidden = said
        before, before_hidden = result.feedback, result.hidden
        if result.verdict is Verdict.CORRECT:
            before, before_hidden = (f"{before}, though reached through a wrong step",
                                     f"{before_hidden}, though reached through a wrong step")
        result.feedback = f"{before}\n{full}"
        result.feedback_hidden = f"{before_hidden}\n{hidden}"
    if result.feedback_hidden == result.feedback:
        result.feedback_hidden = None
    return final


@dataclass
class StepJudged:
    verdict: str  # correct, incorrect, invalid, undecided
    reason: str = ""  # why a step is invalid or undecided
    judgement: Judgement | None = None


def _step(problem: ExpressionProblem, step: Step, budget: Budget) -> StepJudged:
    """One step before the last, against the key: read and checked as any answer, without the diagnosis."""
    if budget.left() <= 0:
        return StepJudged("undecided", "not checked: the steps took longer than their time bound")
    space, checker = _space(problem), _checker(problem)
    if isinstance(step, str):
        try:
            tree = read_answer(step, space.symbols(), indices=space.indices)
        except ExpressionError as exc:
            return StepJudged("invalid", exc.describe())
        why = _unrepresentable(tree) or _static_problem(tree, space) or _unbound_index(tree, space)
        if why is not None:
            return StepJudged("invalid", why)
    else:
        try:
            read_number(step)
        except NumberError as exc:
            return StepJudged("invalid", str(exc))
        tree = _number_tree(step)
    constant, literal = _constant_key(problem, checker), _literal(tree)
    if constant is not None and literal is not None:
        probe = PartResult(problem.id, step, None, Verdict.INCORRECT, 0.0, 0.0)
        ok = _grade_number(probe, literal, constant, problem.tolerance).verdict is Verdict.CORRECT
        return StepJudged("correct" if ok else "incorrect")
    try:
        judgement = checker.judge(tree, budget)
    except (RecursionError, MemoryError):
        return StepJudged("undecided", "could not be decided: the formula is too large to check")
    if judgement.verdict == "undecided":
        return StepJudged("undecided", f"could not be decided: {judgement.reason}")
    return StepJudged("correct" if judgement.verdict == "equal" else "incorrect", judgement=judgement)


def _final_step(final: Judged) -> StepJudged:
    """The last step's entry, from the part: compared with the key (follow-through is the part's)."""
    verdict = final.result.verdict
    if verdict is Verdict.CORRECT:
        return StepJudged("correct", judgement=final.judgement)
    if verdict is Verdict.UNDECIDED:
        return StepJudged("undecided", "could not be decided in time")
    if verdict is Verdict.INVALID or final.tree is None:
        return StepJudged("invalid", final.result.feedback)
    return StepJudged("incorrect", judgement=final.judgement)


def _first_wrong(problem: ExpressionProblem, judged: list[StepJudged]) -> tuple[str, str] | None:
    """What to say of the first step not equal to the key: (full, without the key's values); None if none."""
    last_right: int | None = None
    for k, j in enumerate(judged, 1):
        if j.verdict == "correct":
            last_right = k
            continue
        if j.verdict != "incorrect":
            continue
        name = f"step {k} (the final answer)" if k == len(judged) else f"step {k}"
        point = _differing_point(problem, j.judgement)
        if last_right is None:
            hidden = f"the first step not equal to the correct answer is {name}"
            if point is None:
                return hidden, hidden
            where, mine, key = point
            return f"{hidden}: at {where} it gives {mine}, the correct value is {key}", hidden
        hidden = f"the first step not equal to the correct answer is {name}: it does not follow from step {last_right}"
        if point is None:
            return hidden, hidden
        where, mine, key = point
        return (f"the first step not equal to the correct answer is {name}: it differs from step {last_right} at "
                f"{where} (step {k} gives {mine}, step {last_right} gives {key})"), hidden
    return None


def _differing_point(problem: ExpressionProblem, judgement: Judgement | None) -> tuple[str, str, str] | None:
    """A point where a step and the key differ, as (where, the step's value, the key's value)."""
    if judgement is None:
        return None
    bad = [s for s in judgement.samples if s.status in (Status.DIFFER, Status.DIFFER_FLOAT)
           and s.key is not None and s.student is not None]
    if not bad:
        return None
    # as the part's own feedback chooses, and where the two values differ in the digits shown
    s = min(bad, key=lambda s: (fmt(s.student) == fmt(s.key), not s.point.special, not nice_point(s),
                                point_magnitude(s)))
    return point_text(s, _checker(problem)), fmt(s.student), fmt(s.key)


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
