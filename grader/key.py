"""Answer keys and a student's own variant of a problem, as plain data."""

from __future__ import annotations

from typing import Any

from grader.grading.network import canonical_world
from grader.grading.result import display_number
from grader.problemset.model import ExpressionProblem, NetworkProblem, Problem, ProblemSet
from grader.problemset.variants import draw, variant_seed


def variant_values(ps: ProblemSet, problem: NetworkProblem, student: str | None) -> dict[str, dict[str, float]]:
    seed = variant_seed(ps.id, problem.id, student)
    return {"given": {n: draw(v, n, seed) for n, v in problem.given.items()},
            "params": {n: draw(v, n, seed) for n, v in problem.params.items()}}


def _select(ps: ProblemSet, problem: str | None) -> list[Problem]:
    if problem is None:
        return list(ps.problems)
    return [ps.problem(problem)]


def answer_key(ps: ProblemSet, student: str | None = None, problem: str | None = None,
               everything: bool = False) -> dict[str, Any]:
    """The computed key for ``student``'s variant (every quantity of each problem with ``everything``)."""
    out: dict[str, Any] = {"problem_set": ps.id, "title": ps.title, "student": student, "problems": []}
    for p in _select(ps, problem):
        entry: dict[str, Any] = {"id": p.id, "kind": p.kind, "title": p.title, "max_score": p.max_score}
        if isinstance(p, NetworkProblem):
            world = canonical_world(p, ps.id, student)
            entry.update(variant_values(ps, p, student))
            entry["randomised"] = p.randomised
            asked = list(p.quantities.values()) if everything else list(p.ask)
            if everything and not p.gradients_after_last:  # not computed: no update comes after them
                asked = [q for q in asked if not (q.kind == "grad" and q.step and q.step == p.steps)]
            entry["quantities"] = [{"quantity": q.name, "value": display_number(world.value(q)),
                                    "points": p.points.get(q.name, 0.0)} for q in asked]
        elif isinstance(p, ExpressionProblem):
            from grader.symbolic.grade import expression_key

            entry.update(expression_key(p))
        out["problems"].append(entry)
    return out


def problem_view(ps: ProblemSet, student: str, problem_id: str) -> dict[str, Any]:
    """What a student sees of a problem: the statement and their own numbers, no answers."""
    p = ps.problem(problem_id)
    view: dict[str, Any] = {"problem_set": ps.id, "id": p.id, "kind": p.kind, "title": p.title,
                            "statement": p.statement, "max_score": p.max_score}
    if isinstance(p, NetworkProblem):
        view.update(variant_values(ps, p, student))
        view.update({
            "forward": dict(p.forward_text), "loss": p.loss, "learning_rate": p.learning_rate,
            "optimizer": p.optimizer.describe() if p.optimizer else None, "steps": p.steps,
            "ask": [q.name for q in p.ask], "points": dict(p.points), "inputs": list(p.inputs),
            "layers": [{"units": list(la.units), "pre": list(la.pre), "activation": la.activation}
                       for la in p.layers],
        })
    elif isinstance(p, ExpressionProblem):
        view.update({"variables": {k: str(v) for k, v in p.variables.items()},
                     "define": {k: str(v) for k, v in p.options.get("define_text", {}).items()},
                     "ask": [p.id]})
    return view
