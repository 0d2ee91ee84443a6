"""Load a ``kind: network`` problem: given values, parameters, a forward DAG (or layers), a loss, an ask list."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any

from grader.expr import library
from grader.expr.nodes import Call, Expr, Sum, free_symbols, to_text, walk
from grader.problemset.context import Context
from grader.problemset.layers import expand_layers
from grader.problemset.limits import spend, tree_size
from grader.problemset.model import NetworkProblem, Quantity, Tolerance, Value
from grader.problemset.variants import draw, read_value, variant_seed
from grader.solver.evaluate import forward as run_forward
from grader.solver.tape import compile_graph

FIELDS = {"id", "kind", "title", "statement", "given", "params", "forward", "loss", "learning_rate", "ask",
          "tolerance", "tolerances", "points", "follow_through_credit", "inputs", "targets", "layers"}


def normalize_quantity(name: str) -> str:
    """Spell a quantity name the canonical way: ``∂L / ∂w1`` and ``dL/d w1`` become ``dL/dw1``."""
    return "".join(name.replace("∂", "d").split())


def quantities_of(nodes: tuple[str, ...], params: tuple[str, ...], given: tuple[str, ...],
                  loss: str) -> dict[str, Quantity]:
    out: dict[str, Quantity] = {}
    for name in (*nodes, *params, *given):
        out[name] = Quantity(name, "value", name)
    for name in (*nodes, *params, *given):
        if name != loss:
            q = f"d{loss}/d{name}"
            out[q] = Quantity(q, "grad", name)
    for name in (*params, *nodes):
        q = f"next.{name}"
        out[q] = Quantity(q, "next", name)
    return out


def load_network(raw: dict[str, Any], ctx: Context, tolerance: Tolerance, credit: float) -> NetworkProblem:
    ctx.check_keys(raw, FIELDS, "a network problem")
    title = ctx.text(raw.get("title", raw["id"]), "title")
    statement = ctx.text(raw.get("statement", ""), "statement")
    layers: tuple[Any, ...] = ()
    inputs: tuple[str, ...] = ()
    given: dict[str, Value] = {}
    raw_given = ctx.mapping(raw.get("given", {}), "given")
    spend(ctx, len(raw_given), "given")
    for name, value in raw_given.items():
        given[ctx.name(name, "given", name)] = read_value(value, ctx, "given", name)
    if "layers" in raw:
        if "forward" in raw or "params" in raw:
            ctx.fail("give either layers, or params and forward, not both", "layers")
        ex = expand_layers(raw, ctx)
        for name in ex.given:
            if name in given:
                ctx.fail(f"{name!r} is both an input/target and a given value", "given", name)
        given.update(ex.given)
        params, forward, loss = ex.params, ex.forward, ex.loss
        layers, inputs = ex.layers, ex.inputs
        texts = {k: to_text(v) for k, v in forward.items()}
        field_of: dict[str, tuple[str, ...]] = {k: ("layers",) for k in forward}
        field_of[loss] = ("loss",)  # the loss formula is the instructor's own text
        _check_names(given, params, forward, ctx)
    else:
        for key in ("inputs", "targets"):
            if key in raw:
                ctx.fail(f"{key} belongs to the layer form; use given with forward", key)
        raw_params = ctx.mapping(raw.get("params", {}), "params")
        spend(ctx, len(raw_params), "params")
        params = {ctx.name(k, "params", k): read_value(v, ctx, "params", k) for k, v in raw_params.items()}
        raw_forward = ctx.mapping(raw.get("forward"), "forward")
        if not raw_forward:
            ctx.fail("forward must define at least one node", "forward")
        _check_names(given, params, raw_forward, ctx)  # before parsing: a reserved name misleads the parser
        forward, texts, field_of = {}, {}, {}
        for name, text in raw_forward.items():
            ctx.name(name, "forward", name)
            forward[name] = ctx.expression(text, None, "forward", name)
            spend(ctx, tree_size(forward[name]) + 1, "forward", name)
            texts[name] = str(text)
            field_of[name] = ("forward", name)
        loss = _read_loss(raw.get("loss"), ctx)
        inputs = tuple(g for g in given if any(g in free_symbols(e) for e in forward.values()))
    _check_expressions(given, params, forward, field_of, ctx)
    order = _topological(forward, field_of, ctx)
    if loss not in forward:
        where = ("loss",) if "loss" in raw else ()
        ctx.fail(f"the loss {loss!r} is not a node of forward (nodes: {', '.join(forward)})", *where)
    quantities = quantities_of(order, tuple(params), tuple(given), loss)
    ask = _read_ask(raw, quantities, order, tuple(params), loss, ctx)
    learning_rate = None
    if "learning_rate" in raw:
        learning_rate = ctx.number(raw["learning_rate"], "learning_rate")
        if learning_rate <= 0:
            ctx.fail("learning_rate must be positive", "learning_rate")
    elif any(q.kind == "next" for q in ask):
        ctx.fail("next.* quantities are asked but no learning_rate is given", "ask")
    tolerances = {}
    for name, spec in ctx.mapping(raw.get("tolerances", {}), "tolerances").items():
        canonical = normalize_quantity(str(name))
        if canonical not in quantities:
            ctx.fail(f"tolerance for unknown quantity {name!r}", "tolerances", name)
        tolerances[canonical] = ctx.tolerance(spec, tolerance, "tolerances", name)
    problem = NetworkProblem(
        id=raw["id"], title=title, kind="network", points=_read_points(raw.get("points", 1), ask, ctx),
        line=ctx.doc.line(ctx.base), statement=statement, given=given, params=params, forward=forward,
        forward_text=texts, order=order, loss=loss, learning_rate=learning_rate, ask=ask,
        quantities=quantities, tolerance=tolerance, tolerances=tolerances, follow_through_credit=credit,
        inputs=inputs, layers=layers,
    )
    leaves = {**{k: _reference(v) for k, v in given.items()}, **{k: _reference(v) for k, v in params.items()}}
    problem.tape = compile_graph(leaves, forward, order, loss)
    _check_reference_values(problem, ctx, field_of)
    _warn_undefined(problem, ctx)
    _warn_unused(problem, ctx)
    return problem


def _warn_undefined(problem: NetworkProblem, ctx: Context) -> None:
    """Warn of asked quantities the key leaves undefined (a derivative where the function has none)."""
    from grader.solver.world import solve

    assert problem.tape is not None
    seed = variant_seed("check", problem.id, "reference")
    leaves = {problem.tape.slot_of[n]: draw(v, n, seed) for n, v in (*problem.given.items(), *problem.params.items())}
    world = solve(problem, leaves)
    undefined = [q.name for q in problem.ask if not math.isfinite(world.value(q))]
    if undefined:
        ctx.warn(f"the key of {', '.join(undefined[:6])}{' and more' if len(undefined) > 6 else ''} is undefined "
                 "with these values (a derivative at a point where there is none, such as sqrt at 0, or an "
                 "overflow): no answer can be graded right there")


def _reference(value: Value) -> float:
    return value if isinstance(value, float) else math.nan


def _read_loss(raw: Any, ctx: Context) -> str:
    if raw is None:
        ctx.fail("the problem has no loss: name the node of forward that is the loss (loss: L)")
    if isinstance(raw, list | dict):
        ctx.fail("the loss must be one scalar node of forward, not a list or mapping", "loss")
    if not isinstance(raw, str):
        ctx.fail(f"the loss must name a node of forward, found {raw!r}", "loss")
    return raw


def _check_names(given: Mapping[str, object], params: Mapping[str, object], forward: Mapping[str, object],
                 ctx: Context) -> None:
    seen: dict[str, str] = {}
    for section, names in (("given", given), ("params", params), ("forward", forward)):
        for name in names:
            if library.lookup(name) is not None or name in library.CONSTANTS or name in ("if", "else", "sum"):
                ctx.fail(f"{name!r} is reserved (a function or constant); choose another name", section, name)
            if name in seen:
                ctx.fail(f"{name!r} is defined twice: in {seen[name]} and in {section}", section, name)
            seen[name] = section


def _check_expressions(given: dict[str, Value], params: dict[str, Value], forward: dict[str, Expr],
                       field_of: dict[str, tuple[str, ...]], ctx: Context) -> None:
    known = set(given) | set(params) | set(forward)
    for name, expr in forward.items():
        for sym in sorted(free_symbols(expr) - known - set(library.CONSTANTS)):
            ctx.fail(f"unknown name {sym!r} in {name}{_did_you_mean(sym, known)}", *field_of[name])
        for sub in walk(expr):
            if isinstance(sub, Call) and library.FUNCTIONS[sub.func].value is None:
                ctx.fail(f"{sub.func}() is only for expression problems; forward computes values", *field_of[name])
            if isinstance(sub, Call) and library.FUNCTIONS[sub.func].partials is None:
                ctx.fail(f"{sub.func}() has no derivative, so it cannot be part of a network's forward pass",
                         *field_of[name])
            if isinstance(sub, Sum):
                ctx.fail("sum(...) is not available in forward: write the terms out, or use layers",
                         *field_of[name])


def _did_you_mean(name: str, known: set[str]) -> str:
    """A hint for a mistyped name: a close spelling, or the names with the same stem (``x3``: x1, x2)."""
    close = difflib.get_close_matches(name, sorted(known), n=1)
    if close:
        return f" (did you mean {close[0]}?)"
    stem = name.rstrip("0123456789_")
    siblings = sorted(k for k in known if stem and k.rstrip("0123456789_") == stem)
    if siblings:
        return f" (this problem has {', '.join(siblings[:6])})"
    return ""


def _topological(forward: dict[str, Expr], field_of: dict[str, tuple[str, ...]], ctx: Context) -> tuple[str, ...]:
    """Order nodes so each comes after the nodes it uses, keeping file order where free; report cycles."""
    deps = {name: free_symbols(expr) & set(forward) for name, expr in forward.items()}
    order: list[str] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    for root in forward:
        if state.get(root):
            continue
        stack: list[tuple[str, list[str]]] = [(root, sorted(deps[root], key=list(forward).index))]
        path = [root]
        state[root] = 1
        while stack:
            node, pending = stack[-1]
            if pending:
                nxt = pending.pop(0)
                if state.get(nxt) == 1:
                    cycle = [*path[path.index(nxt):], nxt]
                    ctx.fail(f"the forward nodes form a cycle: {' -> '.join(reversed(cycle))}", *field_of[nxt])
                if not state.get(nxt):
                    state[nxt] = 1
                    path.append(nxt)
                    stack.append((nxt, sorted(deps[nxt], key=list(forward).index)))
                continue
            stack.pop()
            path.pop()
            state[node] = 2
            order.append(node)
    return tuple(order)


def _read_ask(raw: dict[str, Any], quantities: dict[str, Quantity], order: tuple[str, ...],
              params: tuple[str, ...], loss: str, ctx: Context) -> tuple[Quantity, ...]:
    if "ask" not in raw:  # every node value and every parameter gradient
        return tuple(quantities[n] for n in (*order, *(f"d{loss}/d{p}" for p in params)))
    items = raw["ask"]
    if not isinstance(items, list) or not items:
        ctx.fail("ask must be a non-empty list of quantities", "ask")
    out: list[Quantity] = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            ctx.fail(f"expected a quantity name, found {item!r}", "ask", i)
        name = normalize_quantity(item)
        if name not in quantities:
            close = difflib.get_close_matches(name, sorted(quantities), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            ctx.fail(f"{item!r} is not a quantity of this problem (a node, d{loss}/dX or next.X){hint}", "ask", i)
        if quantities[name] in out:
            ctx.fail(f"{item!r} is asked twice", "ask", i)
        out.append(quantities[name])
    return tuple(out)


def _read_points(raw: Any, ask: tuple[Quantity, ...], ctx: Context) -> dict[str, float]:
    if not isinstance(raw, dict):
        value = ctx.number(raw, "points")
        if value < 0:
            ctx.fail("points must not be negative", "points")
        return {q.name: value for q in ask}
    default = ctx.number(raw.get("default", 1), "points", "default")
    if default < 0:
        ctx.fail("points must not be negative", "points", "default")
    names = {q.name for q in ask}
    out = {q.name: default for q in ask}
    for key, value in raw.items():
        if key == "default":
            continue
        name = normalize_quantity(str(key))
        if name not in names:
            ctx.fail(f"points for {key!r}, which is not asked", "points", key)
        out[name] = ctx.number(value, "points", key)
        if out[name] < 0:
            ctx.fail("points must not be negative", "points", key)
    return out


def _check_reference_values(problem: NetworkProblem, ctx: Context, field_of: dict[str, tuple[str, ...]]) -> None:
    """Compute the key once (for a sample variant when values are drawn) so a broken network fails at upload."""
    assert problem.tape is not None
    tape = problem.tape
    seed = variant_seed("check", problem.id, "reference")
    leaves = {tape.slot_of[n]: draw(v, n, seed) for n, v in (*problem.given.items(), *problem.params.items())}
    values = run_forward(tape, leaves)
    for name in problem.order:
        x = values[tape.slot_of[name]]
        if not math.isfinite(x):
            ctx.fail(f"{name} = {problem.forward_text[name]} does not give a finite number with these values "
                     "(a log of 0 or less, a division by 0, or an overflow?)", *field_of[name])


def _warn_unused(problem: NetworkProblem, ctx: Context) -> None:
    reach: set[str] = set()
    todo = [problem.loss]
    while todo:
        name = todo.pop()
        if name in reach:
            continue
        reach.add(name)
        if name in problem.forward:
            todo.extend(free_symbols(problem.forward[name]))
    for p in problem.params:
        if p not in reach:
            ctx.warn(f"parameter {p} does not affect the loss {problem.loss}: its gradient is always 0")
