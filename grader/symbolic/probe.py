"""Where to evaluate two formulas: many points across every variable's domain.

Points mix random draws (most in [-4, 4], some far out, up to 10^3) with special values: 0, +-1,
the ends of a range, every constant found in either formula and points just either side of it
(so ``relu6'`` cannot pass for ``relu'``: 6 appears, and 5.994 and 6.006 are probed), every value
of a small integer range, and every combination of the declared indices.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

from grader.expr.nodes import Call, Compare, Expr, Num, walk
from grader.symbolic.numeric import CHOICE, UNKNOWN_CHOICES, with_defaults
from grader.symbolic.space import Domain, Space

_BASE = (0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 0.1, -0.1, 0.001, -0.001, 5.0, -5.0, 10.0, -10.0,
         30.0, -30.0, 100.0, -100.0, 1000.0, -1000.0)
_FRACTIONS = (0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999)
MAX_INTEGER_SWEEP = 200
MAX_POINTS = 200
MAX_COMBOS = 81


@dataclass(frozen=True, slots=True)
class Point:
    values: dict[str, float | int]
    special: bool  # chosen on purpose (a constant, an end of a range), not at random


def constants(*trees: Expr) -> set[float]:
    """The numbers that appear in the trees, including library defaults and built-in thresholds."""
    found: set[float] = set()
    for tree in trees:
        for node in walk(tree):
            if isinstance(node, Num):
                found.add(float(node.value))
            elif isinstance(node, Call):
                if node.func == "relu6":
                    found.add(6.0)
                for a in with_defaults(node)[len(node.args):]:
                    if isinstance(a, Num):
                        found.add(float(a.value))
            elif isinstance(node, Compare):
                for side in (node.left, node.right):
                    if isinstance(side, Num):
                        found.add(float(side.value))
    return {c for c in found if abs(c) <= 1e4}


def special_values(domain: Domain, consts: set[float]) -> list[float]:
    """Values worth trying for one variable, within its domain."""
    if domain.integer:
        if domain.bounded and domain.high - domain.low <= MAX_INTEGER_SWEEP:
            return [float(v) for v in range(math.ceil(domain.low), math.floor(domain.high) + 1)]
        candidates = [float(v) for v in range(-10, 11)] + [float(round(c)) for c in consts]
        for end in (domain.low, domain.high):
            if math.isfinite(end):
                candidates.extend(end + k for k in (-1, 0, 1, 2))
        return sorted({c for c in candidates if domain.contains(c)})
    out = list(_BASE)
    if domain.bounded:
        width = domain.high - domain.low
        out.extend(domain.low + width * f for f in _FRACTIONS)
    for end in (domain.low, domain.high):
        if math.isfinite(end):
            out.extend((end, end + 1e-3, end - 1e-3, end + 1.0, end - 1.0))
    for c in consts:
        for eps in {1e-3 * max(1.0, abs(c)), 1e-3 * abs(c)} - {0.0}:
            out.extend((c - eps, c + eps, -c - eps, -c + eps))
        out.extend((c, -c, c / 2, c + 0.5 * max(1.0, abs(c)), 2 * c))
    return sorted({v for v in out if domain.contains(v)})


def draw(domain: Domain, rng: random.Random, wide: bool | None = None) -> float:
    """A random value of the domain: moderate, or far out (``wide``; by default 30% of the time)."""
    if domain.integer:
        low = domain.low if math.isfinite(domain.low) else -1000.0
        high = domain.high if math.isfinite(domain.high) else 1000.0
        return float(rng.randint(math.ceil(low), math.floor(high)))
    for _ in range(100):
        if domain.bounded:
            x = rng.uniform(domain.low, domain.high)
        else:
            far = rng.random() < 0.3 if wide is None else wide
            magnitude = math.exp(rng.uniform(math.log(1e-2), math.log(1e3))) if far else rng.uniform(0.0, 4.0)
            if math.isfinite(domain.low):
                x = domain.low + magnitude
            elif math.isfinite(domain.high):
                x = domain.high - magnitude
            else:
                x = magnitude if rng.random() < 0.5 else -magnitude
        if domain.contains(x):
            return x
    raise ValueError(f"cannot draw a value of {domain.describe()}")


def points(space: Space, indices: list[str], consts: set[float], rng: random.Random,
           n_random: int = 28) -> list[Point]:
    """The probe points for one comparison (deterministic for a given ``rng`` seed)."""
    ranges = [range(space.indices[i][0], space.indices[i][1] + 1) for i in indices]
    combos = list(itertools.product(*ranges))[:MAX_COMBOS] if indices else [()]
    n_random = max(n_random, 4 * len(combos))

    def base(k: int) -> dict[str, float | int]:
        values: dict[str, float | int] = dict(zip(indices, combos[k % len(combos)], strict=True))
        if space.functions:  # each unknown function is, in turn, each of its random stand-ins
            values[CHOICE] = k % UNKNOWN_CHOICES
        for name, domain in space.variables.items():
            values[name] = draw(domain, rng, wide=False)
        if space.variables and rng.random() < 0.3:  # one variable far out at a time, not products of them
            name = rng.choice(list(space.variables))
            values[name] = draw(space.variables[name], rng, wide=True)
        for family, (_, domain) in space.families.items():
            for element in space.elements(family):
                values[space.element(family, element)] = draw(domain, rng)
        return values

    out = [Point(base(k), False) for k in range(n_random)]
    specials: list[Point] = []
    k = 0
    for name, domain in space.variables.items():
        for v in special_values(domain, consts):
            values = base(k)
            values[name] = v
            specials.append(Point(values, True))
            k += 1
    scalars = list(space.variables)
    if len(scalars) > 1:
        for v in (0.0, 1.0, -1.0, 2.0, 0.5):
            values = base(k)
            k += 1
            if all(space.variables[n].contains(v) for n in scalars):
                values.update({n: v for n in scalars})
                specials.append(Point(values, True))
    for family, (_, domain) in space.families.items():
        for v in (0.0, 1.0):
            if domain.contains(v):
                values = base(k)
                k += 1
                values.update({space.element(family, e): v for e in space.elements(family)})
                specials.append(Point(values, True))
    room = MAX_POINTS - len(out)
    if len(specials) > room:
        specials = rng.sample(specials, room)
    return out + specials
