"""Dense-layer shorthand: weight matrices, bias vectors and an activation per layer, expanded to named nodes.

Naming follows Nielsen (layer ``l`` counts from 1; the inputs are layer 0)::

    w{l}_{j}{k}   weight into unit j of layer l from unit k of layer l-1   (w2_11)
    b{l}_{j}      bias of unit j of layer l                                 (b2_1)
    z{l}_{j}      pre-activation of unit j of layer l                       (z2_1)
    a{l}_{j}      activation of unit j of layer l                           (a2_1)

When a layer or the layer before it has 10 units or more, j and k are separated: ``w2_3_12``.
The inputs keep the names given under ``inputs``; the loss node is ``L``. See docs/problem-sets.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from grader.expr.build import chain
from grader.expr.nodes import BinOp, Call, Expr, Neg, Num, Sym
from grader.problemset.context import Context
from grader.problemset.limits import check_width, layer_size, spend, tree_size
from grader.problemset.model import Layer, Value
from grader.problemset.source import kind_of
from grader.problemset.variants import read_value

ACTIVATIONS = {"sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "linear", "identity", "softmax"}
LOSSES = {"squared_error", "half_squared_error", "mse", "binary_cross_entropy", "bce", "cross_entropy"}
LOSS_NODE = "L"


@dataclass
class Expanded:
    given: dict[str, Value]
    params: dict[str, Value]
    forward: dict[str, Expr]
    layers: tuple[Layer, ...]
    inputs: tuple[str, ...]
    loss: str


def _sum(terms: list[Expr]) -> Expr:
    """``t1 + t2 + ...``: left to right as written by hand, balanced when long (a wide layer stays shallow)."""
    return chain(terms[0], [("+", 0, t) for t in terms[1:]])


def _num(x: float | int) -> Num:
    return Num(Fraction(x))


def expand_layers(raw: dict[str, Any], ctx: Context) -> Expanded:
    inputs = ctx.mapping(raw.get("inputs"), "inputs")
    if not inputs:
        ctx.fail("layer form needs inputs: {x1: ..., x2: ...}", "inputs")
    check_width(len(inputs), "inputs", ctx, "inputs")
    given: dict[str, Value] = {ctx.name(k, "inputs", k): read_value(v, ctx, "inputs", k) for k, v in inputs.items()}
    targets_raw = ctx.mapping(raw.get("targets", {}), "targets")
    check_width(len(targets_raw), "targets", ctx, "targets")
    spend(ctx, len(inputs) + len(targets_raw), "inputs")
    targets = [ctx.name(k, "targets", k) for k in targets_raw]
    for k in targets:
        given[k] = read_value(targets_raw[k], ctx, "targets", k)
    raw_layers = raw.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        ctx.fail("layers must be a non-empty list", "layers")
    _check_sizes(raw_layers, len(inputs), ctx)
    params: dict[str, Value] = {}
    forward: dict[str, Expr] = {}
    layers: list[Layer] = []
    previous: list[str] = list(inputs)
    for index, spec in enumerate(raw_layers):
        where = ("layers", index)
        spec = ctx.mapping(spec, *where)
        ctx.check_keys(spec, {"weights", "biases", "activation", "units", "alpha"}, "a layer", *where)
        before = set(params)
        names, pre = _expand_layer(spec, index + 1, previous, ctx, where, params, forward)
        added = [p for p in params if p not in before]
        biases = tuple(p for p in added if p.startswith("b"))
        weights = tuple(tuple(p for p in added[j * (len(previous) + bool(biases)):][:len(previous)])
                        for j in range(len(names)))
        layers.append(Layer(tuple(names), tuple(pre), str(spec.get("activation", "linear")), weights, biases))
        previous = names
    loss = raw.get("loss")
    if isinstance(loss, list | dict):
        ctx.fail("the loss must be one scalar: a loss name or a formula, not a list", "loss")
    if loss is None:
        ctx.fail(f"layer form needs loss: one of {', '.join(sorted(LOSSES))}, or a formula", "loss")
    forward[LOSS_NODE] = _loss(loss, previous, targets, ctx)
    spend(ctx, tree_size(forward[LOSS_NODE]) + 1, "loss")
    return Expanded(given, params, forward, tuple(layers), tuple(inputs), LOSS_NODE)


def _check_sizes(raw_layers: list[Any], inputs: int, ctx: Context) -> None:
    """Refuse a layer too wide, or layers too large together, from their declared sizes alone.

    What a layer that is not well formed declares is skipped here; expanding it says what is wrong.
    """
    previous = inputs
    for index, spec in enumerate(raw_layers):
        if not isinstance(spec, dict):
            return
        weights, units = spec.get("weights"), spec.get("units")
        if isinstance(weights, dict) and isinstance(units, int) and not isinstance(units, bool):
            field = "units"
        elif isinstance(weights, list):
            field, units = "weights", len(weights)
        else:
            return
        check_width(units, f"units in layer {index + 1}", ctx, "layers", index, field)
        spend(ctx, layer_size(units, previous, spec.get("activation")), "layers", index, field)
        previous = units


def _expand_layer(spec: dict[str, Any], layer: int, previous: list[str], ctx: Context,
                  where: tuple[str | int, ...], params: dict[str, Value], forward: dict[str, Expr],
                  ) -> tuple[list[str], list[str]]:
    activation = activation_name(spec.get("activation", "linear"), ctx, *where, "activation")
    weights = spec.get("weights")
    if isinstance(weights, dict):  # one draw for every entry: needs units
        units = spec.get("units")
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            ctx.fail("weights given as one random draw need units: N", *where, "units")
        rows: list[list[Any]] = [[weights] * len(previous) for _ in range(units)]
    elif isinstance(weights, list) and weights and all(isinstance(r, list) for r in weights):
        rows = weights
    else:
        ctx.fail("weights must be a matrix: one row per unit, one column per unit of the layer before",
                 *where, "weights")
    for j, row in enumerate(rows):
        if len(row) != len(previous):
            ctx.fail(f"row {j + 1} has {len(row)} weights but the layer before has {len(previous)} units",
                     *where, "weights", j)
    n = len(rows)
    wide = n >= 10 or len(previous) >= 10
    biases = spec.get("biases")
    if isinstance(biases, dict):
        biases = [biases] * n
    if biases is not None and (not isinstance(biases, list) or len(biases) != n):
        ctx.fail(f"biases must be a list of {n} values (one per unit)", *where, "biases")
    alpha = spec.get("alpha")
    names, pre = [], []
    for j in range(n):
        terms: list[Expr] = []
        for k, raw_w in enumerate(rows[j]):
            wname = f"w{layer}_{j + 1}_{k + 1}" if wide else f"w{layer}_{j + 1}{k + 1}"
            params[wname] = read_value(raw_w, ctx, *where, "weights", j, k)
            terms.append(BinOp("*", Sym(wname), Sym(previous[k])))
        if biases is not None:
            bname = f"b{layer}_{j + 1}"
            params[bname] = read_value(biases[j], ctx, *where, "biases", j)
            terms.append(Sym(bname))
        z, a = f"z{layer}_{j + 1}", f"a{layer}_{j + 1}"
        forward[z] = _sum(terms)
        pre.append(z)
        names.append(a)
    for j, (z, a) in enumerate(zip(pre, names, strict=True)):
        forward[a] = _activate(activation, z, pre, j, alpha, ctx, where)
    return names, pre


def _activate(activation: str, z: str, pre: list[str], j: int, alpha: Any, ctx: Context,
              where: tuple[str | int, ...]) -> Expr:
    if activation in ("linear", "identity"):
        return Sym(z)
    if activation == "softmax":
        return Call("softmax", (Sym(z), *(Sym(p) for p in pre)))
    args: tuple[Expr, ...] = (Sym(z),)
    if alpha is not None:
        if activation not in ("leaky_relu", "elu"):
            ctx.fail("alpha applies only to leaky_relu and elu", *where, "alpha")
        args += (_num(ctx.number(alpha, *where, "alpha")),)
    return Call(activation, args)


def activation_name(value: Any, ctx: Context, *where: str | int) -> str:
    """A layer's activation: one name, in any case (``ReLU`` is ``relu``)."""
    if not isinstance(value, str):
        ctx.fail(f"activation must be one name such as relu, not {kind_of(value)}: a dense layer has one "
                 f"activation for all its units (use {', '.join(sorted(ACTIVATIONS))})", *where)
    name = value.strip().lower()
    if name not in ACTIVATIONS:
        ctx.fail(f"unknown activation {value!r} (use {', '.join(sorted(ACTIVATIONS))})", *where)
    return name


#: losses courses use that the layer form does not name: they are written as formulas
FORMULA_LOSSES = {"huber", "l1", "mae", "hinge", "cosine", "cosine_similarity", "kl", "kl_divergence", "nll"}


def _loss(loss: Any, outputs: list[str], targets: list[str], ctx: Context) -> Expr:
    if isinstance(loss, str) and loss.strip().lower() in LOSSES:
        loss = loss.strip().lower()
    if isinstance(loss, str) and loss.strip().lower() in FORMULA_LOSSES:
        pair = f"{outputs[0]} and {targets[0]}" if outputs and targets else "the outputs and targets"
        ctx.fail(f"the layer form names only {', '.join(sorted(LOSSES))}; write {loss.strip()!r} as a formula of "
                 f"{pair} (for L1: abs({outputs[0] if outputs else 'a'} - {targets[0] if targets else 'y'}))",
                 "loss")
    if isinstance(loss, str) and loss in LOSSES:
        if len(targets) != len(outputs):
            ctx.fail(f"loss {loss} needs one target per output unit: {len(outputs)} outputs, "
                     f"{len(targets)} targets", "targets")
        pairs = [(Sym(t), Sym(a)) for t, a in zip(targets, outputs, strict=True)]
        if loss in ("squared_error", "half_squared_error", "mse"):
            total = _sum([BinOp("^", BinOp("-", t, a), _num(2)) for t, a in pairs])
            if loss == "half_squared_error":
                return BinOp("*", Num(Fraction(1, 2)), total)
            if loss == "mse":
                return BinOp("/", total, _num(len(pairs)))
            return total
        if loss in ("binary_cross_entropy", "bce"):
            terms: list[Expr] = [BinOp("+", BinOp("*", t, Call("log", (a,))),
                                       BinOp("*", BinOp("-", _num(1), t), Call("log", (BinOp("-", _num(1), a),))))
                                 for t, a in pairs]
            return Neg(_sum(terms))
        return Neg(_sum([BinOp("*", t, Call("log", (a,))) for t, a in pairs]))
    if isinstance(loss, str):
        return ctx.expression(loss, None, "loss")
    ctx.fail(f"loss must be one of {', '.join(sorted(LOSSES))} or a formula", "loss")
