"""Several training examples (SPEC 6.3): a network evaluated per example, its loss reduced over them.

A given (or a layer-form input or target) written as a list has one entry per example. Every node that
depends on such a given is copied per example and named ``z1[2]`` (example 2, counted from 1); the
givens become ``x1[1]``, ``x1[2]``, ...; parameters and nodes that depend on no example are shared.
The loss node keeps its name and becomes the mean (``batch: mean``, the default) or the sum
(``batch: sum``) of the per-example losses ``L[1]``, ..., ``L[N]``, so ``dL/dz1[2]`` includes the
``1/N`` of a mean and ``dL/dw1`` is the whole gradient. The rest of the solver sees an ordinary graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from grader.expr.nodes import BinOp, Expr, Num, Sym, free_symbols, substitute
from grader.problemset.context import Context
from grader.problemset.model import Value

MAX_EXAMPLES = 64
REDUCTIONS = ("mean", "sum")


def example_name(name: str, k: int) -> str:
    return f"{name}[{k}]"


@dataclass
class Batched:
    given: dict[str, Value]
    forward: dict[str, Expr]
    order: tuple[str, ...]
    field_of: dict[str, tuple[str, ...]]
    examples: int


def take_lists(raw: dict[str, Any], ctx: Context) -> tuple[dict[str, Any], dict[str, tuple[str, ...]]]:
    """``raw`` with each example list of ``given``, ``inputs`` and ``targets`` replaced by its first entry.

    Returns the copy and, for each listed name, where it was (for messages); the lists are read from
    ``raw`` again by the caller, entry by entry.
    """
    out = dict(raw)
    where: dict[str, tuple[str, ...]] = {}
    for section in ("given", "inputs", "targets"):
        values = raw.get(section)
        if isinstance(values, dict) and any(isinstance(v, list) for v in values.values()):
            copy = dict(values)
            for name, value in values.items():
                if isinstance(value, list):
                    where[str(name)] = (section, str(name))
                    copy[name] = value[0] if value else 0.0
            out[section] = copy
    return out, where


def batch_size(lists: dict[str, list[Value]], where: dict[str, tuple[str, ...]], ctx: Context) -> int:
    """The number of examples: every list has the same length, at least 1 and at most ``MAX_EXAMPLES``."""
    sizes = {name: len(values) for name, values in lists.items()}
    first = next(iter(sizes))
    for name, size in sizes.items():
        if size == 0:
            ctx.fail(f"{name} lists no examples: give one value per example", *where[name])
        if size != sizes[first]:
            ctx.fail(f"{name} has {size} examples but {first} has {sizes[first]}: every list in a batch has one "
                     "value per example", *where[name])
        if size > MAX_EXAMPLES:
            ctx.fail(f"{name} has {size} examples; a batch has at most {MAX_EXAMPLES}", *where[name])
    return sizes[first]


def expand(given: dict[str, Value], lists: dict[str, list[Value]], forward: dict[str, Expr],
           order: tuple[str, ...], loss: str, reduction: str, field_of: dict[str, tuple[str, ...]],
           examples: int) -> Batched:
    """Copy every node that depends on an example per example, and reduce the loss over them."""
    per_example: set[str] = set(lists)
    for name in order:
        if free_symbols(forward[name]) & per_example:
            per_example.add(name)
    new_given: dict[str, Value] = {}
    for name, value in given.items():
        if name not in lists:
            new_given[name] = value
    for name, values in lists.items():
        for k, value in enumerate(values, start=1):
            new_given[example_name(name, k)] = value
    new_forward: dict[str, Expr] = {}
    new_order: list[str] = []
    new_fields: dict[str, tuple[str, ...]] = {}
    for name in order:  # shared nodes first (they depend on no example)
        if name not in per_example:
            new_forward[name] = forward[name]
            new_order.append(name)
            new_fields[name] = field_of[name]
    for k in range(1, examples + 1):
        mapping: dict[str, Expr] = {n: Sym(example_name(n, k)) for n in per_example}
        for name in order:
            if name in per_example:
                copy = example_name(name, k)
                new_forward[copy] = substitute(forward[name], mapping)
                new_order.append(copy)
                new_fields[copy] = field_of[name]
    if loss in per_example:
        total: Expr = Sym(example_name(loss, 1))
        for k in range(2, examples + 1):
            total = BinOp("+", total, Sym(example_name(loss, k)))
        new_forward[loss] = BinOp("/", total, Num(Fraction(examples))) if reduction == "mean" else total
        new_order.append(loss)
        new_fields[loss] = field_of[loss]
    return Batched(new_given, new_forward, tuple(new_order), new_fields, examples)
