"""Load and validate a problem-set file (SPEC section 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.problemset.context import ID, Context
from grader.problemset.limits import check_problem_count
from grader.problemset.model import FOLLOW_THROUGH_CREDIT_DEFAULT, Problem, ProblemSet, Tolerance
from grader.problemset.reader import PROBLEM_SET_LIMITS
from grader.problemset.source import ProblemSetError, read_document, read_text_file

SET_FIELDS = {"id", "title", "problems", "tolerance", "follow_through_credit", "description"}
KINDS = ("network", "expression")


def load_problem_set(text: str, file: str = "<problem set>") -> ProblemSet:
    """Parse and validate a problem set; raise ``ProblemSetError`` naming file, problem, field and line."""
    doc = read_document(text, file, ProblemSetError, PROBLEM_SET_LIMITS)
    ctx = Context(doc)
    data = ctx.mapping(doc.data)
    ctx.check_keys(data, SET_FIELDS, "the problem set")
    set_id = data.get("id")
    if set_id is None:
        ctx.fail("the problem set has no id")
    if not isinstance(set_id, str) or not ID.match(set_id) or len(set_id) > 64:
        ctx.fail(f"id {set_id!r} must be lowercase letters, digits and dashes ([a-z0-9-])", "id")
    title = ctx.text(data.get("title", set_id), "title")
    tolerance = Tolerance()
    if "tolerance" in data:
        tolerance = ctx.tolerance(data["tolerance"], tolerance, "tolerance")
    credit = FOLLOW_THROUGH_CREDIT_DEFAULT
    if "follow_through_credit" in data:
        credit = ctx.credit(data["follow_through_credit"], "follow_through_credit")
    raw_problems = data.get("problems")
    if not isinstance(raw_problems, list) or not raw_problems:
        ctx.fail("problems must be a non-empty list", "problems")
    check_problem_count(raw_problems, ctx)
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    ids = [str(r.get("id")) for r in raw_problems if isinstance(r, dict)]  # for answer_of's messages
    for index, raw in enumerate(raw_problems):
        pctx = ctx.at(None, ("problems", index))
        raw = pctx.mapping(raw)
        pid = raw.get("id")
        if not isinstance(pid, str) or not ID.match(pid) or len(pid) > 64:
            pctx.fail(f"problem id {pid!r} must be lowercase letters, digits and dashes", "id")
        pctx = ctx.at(pid, ("problems", index))
        if pid in seen:
            pctx.fail(f"duplicate problem id {pid!r} (first used by problem number {seen[pid] + 1})", "id")
        seen[pid] = index
        problems.append(_load_problem(raw, pctx, tolerance, credit, {p.id: p for p in problems}, ids))
    return ProblemSet(set_id, title, problems, file=file, warnings=ctx.warnings, source_text=text)


def _load_problem(raw: dict[str, Any], ctx: Context, tolerance: Tolerance, credit: float,
                  earlier: dict[str, Problem], ids: list[str]) -> Problem:
    kind = raw.get("kind", "network" if ("forward" in raw or "layers" in raw) else None)
    if kind not in KINDS:
        ctx.fail(f"kind must be one of {', '.join(KINDS)}, found {kind!r}", "kind")
    if "tolerance" in raw:
        tolerance = ctx.tolerance(raw["tolerance"], tolerance, "tolerance")
    if "follow_through_credit" in raw:
        credit = ctx.credit(raw["follow_through_credit"], "follow_through_credit")
    if kind == "network":
        from grader.problemset.network import load_network

        return load_network(raw, ctx, tolerance, credit)
    from grader.symbolic.problem import load_expression_problem

    return load_expression_problem(raw, ctx, tolerance, credit, earlier, ids)


def load_problem_set_file(path: str | Path) -> ProblemSet:
    return load_problem_set(read_text_file(path, ProblemSetError, PROBLEM_SET_LIMITS), str(path))
