"""Load a ``kind: network`` problem: given values, parameters, a forward DAG (or layers), a loss, an ask list."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from typing import Any

from grader.expr import library
from grader.expr.nodes import Call, Expr, Sum, free_symbols, to_text, walk
from grader.problemset.batch import REDUCTIONS, batch_size, expand, take_lists
from grader.problemset.context import Context
from grader.problemset.layers import expand_layers
from grader.problemset.limits import spend, tree_size
from grader.problemset.model import Layer, NetworkProblem, Quantity, Tolerance, Value
from grader.problemset.variants import draw, read_value, variant_seed
from grader.solver.evaluate import forward as run_forward
from grader.solver.optimizers import HYPER, KINDS, Optimizer
from grader.solver.tape import compile_graph

FIELDS = {"id", "kind", "title", "statement", "given", "params", "forward", "loss", "learning_rate", "ask",
          "tolerance", "tolerances", "points", "follow_through_credit", "inputs", "targets", "layers",
          "optimizer", "weight_decay", "steps", "batch"}
MAX_STEPS = 20


_STEP_PREFIX = re.compile(r"^step(\d+)\.")


def normalize_quantity(name: str) -> str:
    """Spell a quantity name the canonical way.

    ``∂L / ∂w1`` and ``dL/d w1`` become ``dL/dw1``; ``step1.w1`` and ``next.w1`` are ``next.w1``,
    ``next.next.w1`` is ``step2.w1`` and ``step0.dL/dw1`` is ``dL/dw1``.
    """
    text = "".join(name.replace("∂", "d").split())
    steps = 0
    while True:
        if text.startswith("next."):
            steps, text = steps + 1, text[5:]
            continue
        found = _STEP_PREFIX.match(text)
        if found is None or len(found.group(1)) > 4:
            break
        steps, text = steps + int(found.group(1)), text[found.end():]
    return step_prefix(steps) + text


def matrices_of(layers: tuple[Layer, ...]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Layer form: ``W{l}``, ``b{l}``, ``z{l}``, ``a{l}`` and the names of their entries (vectors as columns)."""
    out: dict[str, tuple[tuple[str, ...], ...]] = {}
    for index, layer in enumerate(layers, start=1):
        out[f"W{index}"] = layer.weights
        if layer.biases:
            out[f"b{index}"] = tuple((b,) for b in layer.biases)
        out[f"z{index}"] = tuple((z,) for z in layer.pre)
        out[f"a{index}"] = tuple((a,) for a in layer.units)
    return out


def matrix_entries(problem: NetworkProblem, name: str) -> tuple[tuple[str, ...], ...] | None:
    """The entry quantities of a matrix or vector quantity (``dL/dW2``, ``next.b1``, ``a2``), row by row."""
    return _grid(name, problem.quantities, problem.matrices)


def step_prefix(step: int) -> str:
    """How a quantity after ``step`` updates is named: ``""``, ``next.``, ``step2.``, ..."""
    return "" if step == 0 else "next." if step == 1 else f"step{step}."


def quantities_of(nodes: tuple[str, ...], params: tuple[str, ...], given: tuple[str, ...],
                  loss: str, steps: int = 1, state: tuple[str, ...] = ()) -> dict[str, Quantity]:
    """Every askable quantity: values and gradients, and after each of ``steps`` updates values,
    gradients and the optimizer's ``state`` (``m``, ``v``) of each parameter."""
    out: dict[str, Quantity] = {}
    for name in (*nodes, *params, *given):
        out[name] = Quantity(name, "value", name)
    for name in (*nodes, *params, *given):
        if name != loss:
            q = f"d{loss}/d{name}"
            out[q] = Quantity(q, "grad", name)
    for k in range(1, steps + 1):
        prefix = step_prefix(k)
        for name in (*params, *nodes):
            q = f"{prefix}{name}"
            out[q] = Quantity(q, "next", name, k)
        for part in state:
            for name in params:
                q = f"{prefix}{part}.{name}"
                out[q] = Quantity(q, "state", name, k, part)
        for name in (*nodes, *params, *given):
            if name != loss:
                q = f"{prefix}d{loss}/d{name}"
                out[q] = Quantity(q, "grad", name, k)
    return out


def load_network(raw: dict[str, Any], ctx: Context, tolerance: Tolerance, credit: float) -> NetworkProblem:
    ctx.check_keys(raw, FIELDS, "a network problem")
    original = raw
    raw, listed = take_lists(raw, ctx)
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
    reduction = raw.get("batch", "mean")
    if reduction not in REDUCTIONS:
        ctx.fail(f"batch is how the loss is reduced over the examples: mean or sum, not {reduction!r}", "batch")
    if listed:
        examples = batch_size({n: original[w[0]][n] for n, w in listed.items()}, listed, ctx)
        lists = {n: [read_value(v, ctx, *w, i) for i, v in enumerate(original[w[0]][n])] for n, w in listed.items()}
        spend(ctx, examples * (len(forward) + len(given)), "given")
        batched = expand(given, lists, forward, order, loss, reduction, field_of, examples)
        given, forward, order, field_of = batched.given, batched.forward, batched.order, batched.field_of
        texts = {k: to_text(v) for k, v in forward.items()}
        inputs = tuple(g for g in given if any(g in free_symbols(e) for e in forward.values()))
        layers = ()  # drawn only for one example
    elif "batch" in raw:
        ctx.fail("batch needs examples: give inputs (or given values) as lists, one entry per example", "batch")
    if loss not in forward:
        where = ("loss",) if "loss" in raw else ()
        ctx.fail(f"the loss {loss!r} is not a node of forward (nodes: {', '.join(forward)})", *where)
    optimizer, steps = _read_optimizer(raw, ctx)
    quantities = quantities_of(order, tuple(params), tuple(given), loss, steps if optimizer else 0,
                               optimizer.state if optimizer else ())
    matrices = {k: v for k, v in matrices_of(layers).items() if k not in quantities}
    ask = _read_ask(raw, quantities, order, tuple(params), loss, ctx, optimizer is not None, matrices)
    learning_rate = optimizer.lr if optimizer and optimizer.kind == "sgd" and not optimizer.weight_decay else None
    tolerances = {}
    for name, spec in ctx.mapping(raw.get("tolerances", {}), "tolerances").items():
        canonical = normalize_quantity(str(name))
        if canonical not in quantities:
            ctx.fail(f"tolerance for unknown quantity {name!r}", "tolerances", name)
        tolerances[canonical] = ctx.tolerance(spec, tolerance, "tolerances", name)
    problem = NetworkProblem(
        id=raw["id"], title=title, kind="network", points=_read_points(raw.get("points", 1), ask, ctx),
        line=ctx.doc.line(ctx.base), statement=statement, given=given, params=params, forward=forward,
        forward_text=texts, order=order, loss=loss, learning_rate=learning_rate, optimizer=optimizer, steps=steps,
        gradients_after_last=any(q.kind == "grad" and q.step == steps for q in ask), ask=ask, matrices=matrices,
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


def _read_optimizer(raw: dict[str, Any], ctx: Context) -> tuple[Optimizer | None, int]:
    """``learning_rate: 0.1`` (plain gradient descent), or ``optimizer: {adam: {lr: 0.01}}``; ``steps``."""
    optimizer: Optimizer | None = None
    decay = None
    if "weight_decay" in raw:
        decay = ctx.number(raw["weight_decay"], "weight_decay")
        if decay < 0:
            ctx.fail("weight_decay must be 0 or more", "weight_decay")
    if "learning_rate" in raw:
        if "optimizer" in raw:
            ctx.fail("give learning_rate (plain gradient descent) or optimizer, not both", "learning_rate")
        lr = ctx.number(raw["learning_rate"], "learning_rate")
        if lr <= 0:
            ctx.fail("learning_rate must be positive", "learning_rate")
        optimizer = Optimizer("sgd", lr, weight_decay=decay or 0.0)
    elif "optimizer" in raw:
        spec = raw["optimizer"]
        if isinstance(spec, str):
            spec = {spec: {}}
        spec = ctx.mapping(spec, "optimizer")
        if len(spec) != 1:
            ctx.fail(f"optimizer names one optimizer, such as {{adam: {{lr: 0.01}}}} (one of {', '.join(KINDS)})",
                     "optimizer")
        (kind, hyper), = spec.items()
        if kind not in KINDS:
            close = difflib.get_close_matches(str(kind).lower(), KINDS, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            ctx.fail(f"unknown optimizer {kind!r}{hint} (one of {', '.join(KINDS)})", "optimizer")
        hyper = ctx.mapping(hyper if hyper is not None else {}, "optimizer", kind)
        known = HYPER[kind]
        values: dict[str, float] = {}
        for name, default in known.items():
            if name in hyper:
                values[name] = ctx.number(hyper[name], "optimizer", kind, name)
            elif name == "weight_decay" and decay is not None:
                values[name] = decay
            elif default is None:
                ctx.fail(f"{kind} needs {name} (torch.optim.SGD's momentum), e.g. {{{kind}: {{lr: 0.1, {name}: 0.9}}}}",
                         "optimizer", kind)
            else:
                values[name] = default
        for name in hyper:
            if name not in known:
                ctx.fail(f"{kind} has no setting {name!r} (it has {', '.join(known)})", "optimizer", kind, name)
        if values["lr"] <= 0:
            ctx.fail("lr must be positive", "optimizer", kind, "lr")
        for name in ("beta", "alpha", "beta1", "beta2"):
            if name in values and not 0 <= values[name] < 1:
                ctx.fail(f"{name} must be at least 0 and below 1", "optimizer", kind, name)
        if values.get("eps", 1.0) < 0 or values["weight_decay"] < 0:
            ctx.fail("eps and weight_decay must be 0 or more", "optimizer", kind)
        optimizer = Optimizer(kind, **values)
    elif decay is not None:
        ctx.fail("weight_decay needs learning_rate or optimizer", "weight_decay")
    steps = 1
    if "steps" in raw:
        value = raw["steps"]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_STEPS:
            ctx.fail(f"steps must be a whole number from 1 to {MAX_STEPS}, found {value!r}", "steps")
        if optimizer is None:
            ctx.fail("steps needs learning_rate or optimizer", "steps")
        steps = value
    return optimizer, steps


def _read_ask(raw: dict[str, Any], quantities: dict[str, Quantity], order: tuple[str, ...],
              params: tuple[str, ...], loss: str, ctx: Context, updates: bool = True,
              matrices: dict[str, tuple[tuple[str, ...], ...]] | None = None) -> tuple[Quantity, ...]:
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
        grid = _grid(name, quantities, matrices or {})
        if grid is not None:  # a matrix or vector: each entry is asked as its own quantity
            for entry in (e for row in grid for e in row):
                if quantities[entry] in out:
                    ctx.fail(f"{item!r} asks for {entry}, which is asked already", "ask", i)
                out.append(quantities[entry])
            continue
        if name not in quantities and not updates and (name.startswith("next.") or name.startswith("step")):
            ctx.fail(f"{item!r} is asked but no learning_rate (or optimizer) is given", "ask", i)
        if name not in quantities:
            close = difflib.get_close_matches(name, sorted(quantities), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            ctx.fail(f"{item!r} is not a quantity of this problem (a node, d{loss}/dX or next.X){hint}", "ask", i)
        if quantities[name] in out:
            ctx.fail(f"{item!r} is asked twice", "ask", i)
        out.append(quantities[name])
    return tuple(out)


def _grid(name: str, quantities: dict[str, Quantity],
          matrices: dict[str, tuple[tuple[str, ...], ...]]) -> tuple[tuple[str, ...], ...] | None:
    if name in quantities:
        return None
    for core, grid in matrices.items():
        if name.endswith(core):
            head = name[: len(name) - len(core)]
            entries = tuple(tuple(head + e for e in row) for row in grid)
            if all(e in quantities for row in entries for e in row):
                return entries
    return None


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
