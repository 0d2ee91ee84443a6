"""Which quantities a quantity is computed from, so follow-through can name the student's earlier slips.

Follow-through itself is the student's world (``grader.solver.world``): every quantity is
recomputed from the student's own submitted values. This module answers the static question
behind the feedback: which earlier answers could this one have inherited a slip from?
"""

from __future__ import annotations

from collections.abc import Iterable

from grader.expr.nodes import free_symbols
from grader.problemset.model import NetworkProblem
from grader.problemset.network import step_prefix


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


def _dependencies(problem: NetworkProblem) -> dict[str, int]:
    """Each quantity's dependencies as a bit mask over the problem's quantities (bit k: the k-th).

    The unions a wide network needs many of are then a few machine words each; a mask is turned into
    names only for the quantities a submission asks about (``depends_on``). After each update the
    parameters rest on the gradients and optimizer state before it, and the passes after it on them.
    """
    anc = _ancestors(problem)
    nodes, forward, params, loss = problem.order, problem.forward, problem.params, problem.loss
    names = list(problem.quantities)
    bit = {name: 1 << k for k, name in enumerate(names)}
    deps: dict[str, int] = {}
    steps = problem.steps if problem.optimizer is not None else 0
    state = problem.optimizer.state if problem.optimizer is not None else ()
    for k in range(steps + 1):
        here, before = step_prefix(k), step_prefix(k - 1) if k else ""

        def b(name: str, prefix: str = here) -> int:
            return bit.get(prefix + name, 0)

        def d(name: str, prefix: str = here) -> int:
            return deps.get(prefix + name, 0)

        if k:  # the update: state, then parameters, from the gradients (and state) before it
            for p in params:
                g = f"d{loss}/d{p}"
                from_gradient = b(g, before) | d(g, before)
                for part in state:
                    deps[f"{here}{part}.{p}"] = from_gradient | (b(f"{part}.{p}", before) | d(f"{part}.{p}", before)
                                                                 if k > 1 else 0)
                found = from_gradient | (b(p, before) | d(p, before) if k > 1 else 0)
                for part in state:
                    found |= b(f"{part}.{p}") | d(f"{part}.{p}")
                deps[here + p] = found
        value: dict[str, int] = {}
        for n in nodes:
            found = 0
            for m in anc[n]:
                if m in forward or (k and m in params):
                    found |= b(m) | d(m)
            value[n] = found
            deps[here + n] = found
        # the values and gradients a gradient at n is computed from: n's own and upstream values, n's gradient
        seen = {n: (value[n] | b(n)) & ~b(loss) for n in nodes}
        for n in nodes:
            if n != loss:
                seen[n] |= b(f"d{loss}/d{n}")
        for x in (*nodes, *params, *problem.given):
            if x == loss or here + f"d{loss}/d{x}" not in bit:
                continue
            found = 0
            for n in nodes:
                if x in anc[n]:
                    found |= seen[n]  # the loss's own value never enters a gradient
            deps[f"{here}d{loss}/d{x}"] = found
    return deps


def _mask(bit: dict[str, int], members: Iterable[str]) -> int:
    out = 0
    for m in members:
        out |= bit[m]
    return out


def _names(mask: int, names: list[str]) -> tuple[str, ...]:
    """The quantities whose bits are set, in order."""
    bits = bin(mask)[:1:-1]  # bit 0 first
    out = []
    k = bits.find("1")
    while k >= 0:
        out.append(names[k])
        k = bits.find("1", k + 1)
    return tuple(out)


def depends_on(problem: NetworkProblem, quantity: str) -> tuple[str, ...]:
    """The quantities ``quantity`` is computed from, in the problem's order."""
    masks: dict[str, int] | None = problem.cache.get("dependency_masks")
    if masks is None:
        masks = problem.cache["dependency_masks"] = _dependencies(problem)
    named: dict[str, tuple[str, ...]] = problem.cache.setdefault("dependencies", {})
    found = named.get(quantity)
    if found is None:
        order: list[str] = problem.cache.setdefault("quantity_order", list(problem.quantities))
        found = named[quantity] = _names(masks.get(quantity, 0), order)
    return found
