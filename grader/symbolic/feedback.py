"""Say what is off in a wrong formula, from the probe points the equivalence check already evaluated.

Checked in this order, the first that fits wins (``misconception`` names it):
``missing_variable``, ``extra_variable``, ``undefined_region``, ``not_differentiated``, ``sign``,
``constant_factor``, ``additive_constant``, ``wrong_at_kink``, ``wrong_region`` (with the region: an
interval for one variable, the key's case otherwise, and what is wrong there), ``rounded_constant``;
else a point where the two differ, with both values.

Each diagnosis comes in two wordings: the full one for the instructor (and for students once expected
values are shown), and one that names the same mistake without any number taken from the key: no
factor, constant, region boundary, kink value or value at a point ("off by a constant factor", "not
equal to the correct answer for some values of x"). A student can check a guess against the second
one only by submitting it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from grader.expr.nodes import Compare, Cond, Expr, Logic, Num, Piecewise, Sym, walk
from grader.symbolic.equivalence import RTOL, Checker, Judgement, Sample, Status, _close, evaluate
from grader.symbolic.numeric import ARITHMETIC, Compiled, Site
from grader.symbolic.render import cond_plain, to_plain
from grader.symbolic.space import Budget, Space, TimeUp

_USABLE = (Status.AGREE, Status.DIFFER, Status.DIFFER_FLOAT)
_BAD = (Status.DIFFER, Status.DIFFER_FLOAT, Status.STUDENT_UNDEFINED)
_FLIP = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def depends_on(tree: Expr, space: Space) -> set[str]:
    """The variables and families ``tree`` depends on, through defines."""
    out: set[str] = set()
    seen: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        for n in walk(node):
            if not isinstance(n, Sym) or n.name in seen:
                continue
            seen.add(n.name)
            if n.name in space.variables:
                out.add(n.name)
            elif n.name in space.defines:
                stack.append(space.defines[n.name])
            else:
                split = space.split(n.name)
                if split is not None and split[0] in space.families:
                    out.add(split[0])
                elif split is not None and split[0] in space.family_defines:
                    stack.append(space.family_defines[split[0]][1])
    return out


Diagnosis = tuple[str | None, str, str]  # (misconception, feedback, feedback with nothing of the key)


def diagnose(checker: Checker, judgement: Judgement, student: Expr, differentiated: Expr | None = None,
             chain_factors: Sequence[Expr] = (), budget: Budget | None = None) -> Diagnosis:
    """``(misconception, feedback, hidden feedback)`` for an answer judged different from the key.

    Looking for the region or the factor evaluates both formulas again; that runs under ``budget``
    (the check's own), and when the budget runs out the plain "not equal" is said.
    """
    budget = budget or Budget(math.inf)
    try:
        with budget.active():
            return _diagnose(checker, judgement, student, differentiated, chain_factors)
    except TimeUp:
        names = _names(checker)
        return None, "not equal to the correct answer", f"not equal to the correct answer for some values of {names}"


def _names(checker: Checker) -> str:
    """The problem's variables, for "for some values of x, y" (families by their name)."""
    space = checker.space
    names = [*space.variables, *space.families]
    return ", ".join(names) if names else "the variables"


def _diagnose(checker: Checker, judgement: Judgement, student: Expr, differentiated: Expr | None,
              chain_factors: Sequence[Expr]) -> Diagnosis:
    space = checker.space
    somewhere = f"not equal to the correct answer for some values of {_names(checker)}"
    need, have = depends_on(checker.key, space), depends_on(student, space)
    if need - have:
        missing = ", ".join(sorted(need - have))
        text = f"your answer does not depend on {missing}, but the correct one does"
        return "missing_variable", text, text
    samples = judgement.samples
    usable = [s for s in samples if s.status in _USABLE]
    bad = [s for s in samples if s.status in _BAD]
    if have - need and bad:
        extra = ", ".join(sorted(have - need))
        text = f"your answer depends on {extra}, but the correct one does not"
        return "extra_variable", text, text
    undefined = [s for s in samples if s.status is Status.STUDENT_UNDEFINED]
    if undefined:
        where = _region(checker, judgement, undefined, samples) or f"at {_point(undefined[0], checker)}"
        return ("undefined_region", f"your answer has no value {where}, where the correct one has",
                "your answer has no value at some points where the correct one has")
    if differentiated is not None and _matches(checker, usable, differentiated):
        text = "this is the function itself; the question asks for its derivative"
        return "not_differentiated", text, text
    chain = _chain_factor(checker, usable, chain_factors)
    if chain is not None:
        return ("missing_chain_factor", f"missing the chain-rule factor {chain} (the derivative of the inner function)",
                "a chain-rule factor is missing (the derivative of an inner function)")
    pattern = _pattern(usable)
    if pattern is not None:
        return pattern[0], _whole(*pattern), _WHOLE_HIDDEN[pattern[0]]
    kinks = [s for s in samples if s.kink and s.status in _BAD]
    if kinks and len(kinks) == len(bad):
        s = kinks[0]
        return ("wrong_at_kink", (f"correct except exactly at the kink {_point(s, checker)}: under this problem's "
                                  f"convention the value there is {_fmt(s.key)}, yours gives {_fmt(s.student)}"),
                "correct except exactly at a kink, where this problem's convention decides the value")
    scale = _scale(samples)
    random_agree = [s for s in samples if s.status is Status.AGREE and not s.point.special
                    and abs(float(s.key)) > 1e-8 * scale]
    if bad and len(random_agree) >= 3:
        region = _region(checker, judgement, bad, samples)
        if region is not None:
            inner = _pattern(bad)
            how = f"; there {_there(*inner)}" if inner is not None else ""
            return ("wrong_region", f"correct except {region}{how}",
                    f"correct for some values of {_names(checker)} but not for others")
    if judgement.exact is False:
        rounded = any(isinstance(n, Num) and n.value.denominator not in (1, 2, 4, 5, 10) for n in walk(student))
        if rounded:
            text = ("agrees with the correct answer to many digits but not exactly; "
                    "write exact numbers (fractions, e) instead of rounded ones")
            return "rounded_constant", text, text
        text = "close to the correct answer at every point tried, but not exactly equal"
        return None, text, text
    if not bad:
        return None, "not equal to the correct answer", "not equal to the correct answer"
    s = min(bad, key=lambda s: (not s.point.special, not _nice_point(s), _magnitude(s)))
    if s.student is None:
        return None, f"not equal to the correct answer: at {_point(s, checker)} yours has no value", somewhere
    return None, (f"not equal to the correct answer: at {_point(s, checker)} the correct value is "
                  f"{_fmt(s.key)}, yours is {_fmt(s.student)}"), somewhere


# -- whole-formula patterns ------------------------------------------------------------------------
def _pattern(samples: Sequence[Sample]) -> tuple[str, float] | None:
    """``("sign", -1)``, ``("constant_factor", 2)`` or ``("additive_constant", 1)`` if the answer is the key
    transformed that way at every sample, else None."""
    pairs = [(float(s.key), float(s.student)) for s in samples if s.key is not None and s.student is not None
             and s.status in (*_USABLE,)]
    if len(pairs) < 3:
        return None
    scale = max(abs(k) for k, _ in pairs) or 1.0
    nonzero = [(k, v) for k, v in pairs if abs(k) > 1e-9 * scale]
    if len(nonzero) >= 3:
        r0 = nonzero[0][1] / nonzero[0][0]
        same = all(abs(v / k - r0) <= 1e-6 * max(1.0, abs(r0)) for k, v in nonzero)
        zeros_kept = all(abs(v) <= 1e-9 * scale * max(1.0, abs(r0)) for k, v in pairs if abs(k) <= 1e-9 * scale)
        if same and zeros_kept and abs(r0 - 1) > 1e-9:
            return ("sign", -1.0) if abs(r0 + 1) <= 1e-6 else ("constant_factor", r0)
    d0 = pairs[0][1] - pairs[0][0]
    if abs(d0) > 1e-8 * scale and all(abs((v - k) - d0) <= 1e-7 * (1 + abs(k)) for k, v in pairs):
        return "additive_constant", d0
    return None


def _whole(kind: str, value: float) -> str:
    if kind == "sign":
        return "has the wrong sign: it is the negative of the correct answer"
    if kind == "constant_factor":
        return f"off by a constant factor: your answer is {_nice(value)} times the correct one"
    more = "more" if value > 0 else "less"
    return f"off by an additive constant: your answer is {_nice(abs(value))} {more} than the correct one"


_WHOLE_HIDDEN = {
    "sign": "has the wrong sign: it is the negative of the correct answer",
    "constant_factor": "off by a constant factor",
    "additive_constant": "off by an additive constant",
}


def _there(kind: str, value: float) -> str:
    if kind == "constant_factor" and value == 0:
        return "your answer is 0"
    if kind == "sign":
        return "the sign is wrong"
    if kind == "constant_factor":
        return f"it is {_nice(value)} times the correct value"
    return f"it is {_nice(abs(value))} {'more' if value > 0 else 'less'} than the correct value"


def _near(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b)) + 1e-9 * scale


def _chain_factor(checker: Checker, samples: Sequence[Sample], factors: Sequence[Expr]) -> str | None:
    """The inner derivative the answer lacks: the key is the answer times one of ``factors``."""
    scale = _scale(samples)
    for factor in factors:
        if _holds(checker, samples, factor, lambda value, s: _near(value * float(s.student), float(s.key), scale),
                  needs_key=True):
            return to_plain(factor)
    return None


def _matches(checker: Checker, samples: Sequence[Sample], other: Expr) -> bool:
    scale = max((abs(float(s.student)) for s in samples if s.student is not None), default=1.0)
    return _holds(checker, samples, other, lambda value, s: _near(value, float(s.student), scale))


def _holds(checker: Checker, samples: Sequence[Sample], expr: Expr, agrees: Callable[[float, Sample], bool],
           needs_key: bool = False) -> bool:
    """Whether ``expr``'s value agrees at every usable one of the first 40 samples, and at 3 at least."""
    compiled = checker.float.compile(expr)
    hits = 0
    for s in samples[:40]:
        if s.student is None or (needs_key and s.key is None):
            continue
        try:
            state = checker.float.bind(s.point.values)
        except ARITHMETIC:
            continue
        value, _, _ = evaluate(compiled, state)
        if value is None or not agrees(float(value), s):
            return False
        hits += 1
    return hits >= 3


# -- regions ---------------------------------------------------------------------------------------
def _region(checker: Checker, judgement: Judgement, bad: Sequence[Sample], samples: Sequence[Sample]) -> str | None:
    """Where the answer goes wrong: ``where x > 6``, or the key's case: ``where abs(r) > delta``."""
    space = checker.space
    by_index = _index_pattern(checker, bad, samples)
    if by_index is not None:
        return by_index
    varying = [n for n, d in space.variables.items() if not d.integer]
    deps = depends_on(checker.key, space)
    real_deps = [n for n in varying if n in deps]
    if len(real_deps) == 1 and not (deps & set(space.families)) and judgement.student_compiled is not None:
        return _interval(checker, judgement.student_compiled, real_deps[0], samples)
    regions = [set(s.key_region) for s in bad]
    common = set.intersection(*regions) if regions else set()
    good = [set(s.key_region) for s in samples if s.status is Status.AGREE]
    if not common or not good or any(common <= g for g in good):
        return None
    sites = checker.key_float.sites
    ordered = [e for e in bad[0].key_region if e in common]
    parts: list[str] = []
    for sid, branch in ordered:
        text = _describe(sites[sid], branch) if sid in sites else None
        if text and text not in parts:
            parts.append(text)
    return f"where {' and '.join(parts)}" if parts else None


def _index_pattern(checker: Checker, bad: Sequence[Sample], samples: Sequence[Sample]) -> str | None:
    """``where i = j`` (or ``i != j``) when exactly the samples with that index pattern are wrong."""
    indices = sorted({n for s in samples for n in s.point.values if n in checker.space.indices})
    good = [s for s in samples if s.status is Status.AGREE]
    for a in indices:
        for b in indices:
            if a >= b:
                continue
            for equal, text in ((True, f"{a} = {b}"), (False, f"{a} != {b}")):
                def holds(s: Sample, a: str = a, b: str = b, equal: bool = equal) -> bool:
                    return (s.point.values[a] == s.point.values[b]) == equal

                if all(holds(s) for s in bad) and good and not any(holds(s) for s in good):
                    return f"where {text}"
    return None


def _describe(site: Site, branch: int) -> str | None:
    node = site.node
    if isinstance(node, Piecewise):
        if branch < 0:
            return None
        cond = node.pieces[branch][1]
        if cond is not None:
            return cond_plain(cond)
        earlier = [c for _, c in node.pieces[:branch] if c is not None]
        return " and ".join(cond_plain(_negate(c)) for c in earlier) or None
    u = to_plain(node.args[0])
    f = node.func
    if f in ("relu", "leaky_relu", "prelu", "elu", "hinge"):
        if f == "hinge":
            inner = f"{to_plain(node.args[0])}*{to_plain(node.args[1])}" if len(node.args) > 1 else u
            return f"{inner} < 1" if branch else f"{inner} >= 1"
        return f"{u} > 0" if branch else f"{u} <= 0"
    if f == "relu6":
        return (f"{u} <= 0", f"0 < {u} < 6", f"{u} >= 6")[branch]
    if f == "abs":
        return f"{u} >= 0" if branch else f"{u} < 0"
    if f in ("sign", "Heaviside"):
        return (f"{u} < 0", f"{u} = 0", f"{u} > 0")[branch]
    if f == "huber":
        d = to_plain(node.args[1]) if len(node.args) > 1 else "1"
        return f"abs({u}) <= {d}" if branch else f"abs({u}) > {d}"
    if f in ("max", "min"):
        which = "largest" if f == "max" else "smallest"
        return f"{to_plain(node.args[branch])} is the {which}"
    return None


def _negate(cond: Cond) -> Cond:
    if isinstance(cond, Compare):
        return Compare(_FLIP[cond.op], cond.left, cond.right)
    return Logic("or" if cond.op == "and" else "and", tuple(_negate(c) for c in cond.args))


def _interval(checker: Checker, student: Compiled, var: str, samples: Sequence[Sample]) -> str | None:
    """The set of values of ``var`` where the answer is wrong, as up to two intervals."""
    scale = _scale(samples)
    # where both values are tiny next to the typical one, floats cannot tell them apart: leave those out
    marked = sorted(((float(s.point.values[var]), s.status in _BAD) for s in samples
                     if s.status in (*_USABLE, Status.STUDENT_UNDEFINED)
                     and (s.status is not Status.AGREE or abs(float(s.key)) > 1e-8 * scale)), key=lambda t: t[0])
    if not marked:
        return None
    template = dict(next(s.point.values for s in samples))

    def is_bad(x: float) -> bool:
        values = dict(template)
        values[var] = x
        try:
            state = checker.float.bind(values)
        except ARITHMETIC:
            return False
        key, _, _ = evaluate(checker.key_float, state)
        value, _, _ = evaluate(student, state)
        if key is None:
            return False
        return value is None or not _close(float(key), float(value), RTOL)

    constants = sorted(checker.key_constants)
    runs: list[list[float | None]] = []
    for k, (x, bad) in enumerate(marked):
        if not bad:
            continue
        prev = marked[k - 1] if k else None
        if prev is None or not prev[1]:
            runs.append([None if prev is None else _boundary(prev[0], x, is_bad, constants), None])
        nxt = marked[k + 1] if k + 1 < len(marked) else None
        if nxt is not None and not nxt[1]:
            runs[-1][1] = _boundary(x, nxt[0], is_bad, constants)
    if not runs or len(runs) > 2:
        return None
    texts = []
    for low, high in runs:
        if low is None and high is None:
            return None
        if low is None:
            texts.append(f"{var} < {_fmt(high)}")
        elif high is None:
            texts.append(f"{var} > {_fmt(low)}")
        else:
            texts.append(f"{_fmt(low)} < {var} < {_fmt(high)}")
    return "where " + " or ".join(texts)


def _boundary(a: float, b: float, is_bad: Callable[[float], bool], constants: list[float]) -> float:
    """Bisect between a point on one side and one on the other; snap to a constant or a round number."""
    bad_b = is_bad(b)
    for _ in range(50):
        mid = (a + b) / 2
        if mid in (a, b):
            break
        if is_bad(mid) == bad_b:
            b = mid
        else:
            a = mid
    t = (a + b) / 2
    for c in (*constants, 0.0):
        if abs(t - c) <= 1e-6 * max(1.0, abs(c)):
            return c
    return float(f"{t:.4g}")


# -- formatting ------------------------------------------------------------------------------------
def _nice(x: float) -> str:
    q = Fraction(x).limit_denominator(100)
    if abs(float(q) - x) <= 1e-9 * max(1.0, abs(x)):
        return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"
    return f"{x:.4g}"


def _fmt(x: Any) -> str:
    if x is None:
        return "undefined"
    v = float(x)
    if v == 0:
        return "0"
    if math.isfinite(v) and abs(v - round(v)) < 1e-12 * max(1.0, abs(v)):
        return str(round(v))
    return f"{v:.4g}"


def _scale(samples: Sequence[Sample]) -> float:
    """The typical size of the key's values (their median), for telling values from rounding dust."""
    keys = sorted(abs(float(s.key)) for s in samples if s.key is not None and s.status in _USABLE)
    return keys[len(keys) // 2] if keys and keys[len(keys) // 2] > 0 else 1.0


def _nice_point(s: Sample) -> bool:
    """Whether every coordinate is a nonzero multiple of 1/2 (easy to check by hand)."""
    return all(float(v) != 0 and float(v) * 2 == int(float(v) * 2) for n, v in s.point.values.items()
               if not n.startswith("#"))


def _magnitude(s: Sample) -> float:
    return max((abs(float(v)) for v in s.point.values.values()), default=0.0)


def _point(s: Sample, checker: Checker) -> str:
    space = checker.space
    deps = depends_on(checker.key, space)
    names = [n for n in s.point.values if n in space.indices or n in deps]
    if not names:
        names = [n for n in s.point.values if n in space.variables][:3]
    parts = []
    for n in names:
        parts.append(f"{n} = {_fmt(s.point.values[n])}")
    families = [f for f in space.families if f in deps]
    for f in families:
        values = [_fmt(s.point.values[space.element(f, e)]) for e in space.elements(f)]
        parts.append(f"{f} = ({', '.join(values)})")
    return ", ".join(parts) if parts else "some point"



# what the feedback on a derivation's steps (``grade.py``) says of a point, in the same words
fmt = _fmt
nice_point = _nice_point
point_magnitude = _magnitude
point_text = _point
