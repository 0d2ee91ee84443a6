"""Which quantities a quantity is computed from, so follow-through can name the student's earlier slips.

Follow-through itself is the student's world (``grader.solver.world``): every quantity is
recomputed from the student's own submitted values. This module answers the static question
behind the feedback: which earlier answers could this one have inherited a slip from?
"""

from __future__ import annotations

from grader.expr.nodes import free_symbols
from grader.problemset.model import NetworkProblem


def _ancestors(problem: NetworkProblem) -> dict[str, set[str]]:
    """For each node, every node, parameter and given it is computed from (transitively)."""
    out: dict[str, set[str]] = {}
    for name in problem.order:
        direct = free_symbols(problem.forward[name]) & (set(problem.forward) | set(problem.params) | set(problem.given))
        found = set(direct)
        for d in direct:
            found |= out.get(d, set())
        out[name] = found
    return out


def _dependencies(problem: NetworkProblem) -> dict[str, tuple[str, ...]]:
    anc = _ancestors(problem)
    nodes = problem.order
    loss = problem.loss
    deps: dict[str, set[str]] = {}
    for n in nodes:
        deps[n] = {m for m in anc[n] if m in problem.forward}
    for x in (*nodes, *problem.params, *problem.given):
        if x == loss:
            continue
        below = [d for d in nodes if x in anc[d]]
        found: set[str] = set()
        for d in below:
            if d != loss:
                found.add(f"d{loss}/d{d}")
            # the loss's own value never enters a gradient
            found |= {m for m in anc[d] | {d} if m in problem.forward and m != loss}
        deps[f"d{loss}/d{x}"] = found
    for p in problem.params:
        g = f"d{loss}/d{p}"
        deps[f"next.{p}"] = {g} | deps.get(g, set())
    for n in nodes:
        found = {f"next.{m}" for m in anc[n] if m in problem.forward or m in problem.params}
        for m in list(found):
            found |= deps.get(m, set())
        deps[f"next.{n}"] = found
    rank = {name: i for i, name in enumerate(problem.quantities)}
    return {q: tuple(sorted(d, key=lambda k: rank.get(k, 0))) for q, d in deps.items()}


def depends_on(problem: NetworkProblem, quantity: str) -> tuple[str, ...]:
    """The quantities ``quantity`` is computed from, in the problem's order."""
    table: dict[str, tuple[str, ...]] | None = problem.cache.get("dependencies")
    if table is None:
        table = problem.cache["dependencies"] = _dependencies(problem)
    return table.get(quantity, ())
