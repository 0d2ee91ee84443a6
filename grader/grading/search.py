"""The search for a named mistake that explains a wrong answer, in the student's own world.

Every catalogued mistake is tested *locally*, at each step where it can happen, on the student's own
values (``mine``: the world with their answers written in). Only the steps that can reach the asked
quantity without passing one of the student's answers matter: a slip beyond such an answer reaches
that answer first, and is its root (SPEC 6.1.4).

- A value ``t``: the steps upstream of ``t`` form its *cone*. A forward mistake at a step of the cone
  changes what that step computes from its inputs; the change is carried through the cone to ``t``.
- A gradient ``dL/dx``: an adjoint is linear in each edge weight of the reverse graph, so a mistake in
  the local partials of step ``k`` changes ``dL/dx`` by ``g_k * sum_i (d'_i - d_i) * T(arg_i -> x)``,
  exactly, where ``g_k`` is the adjoint of ``k`` and ``T`` the tangent from ``x`` (one forward-mode
  pass in which the student's own adjoints cut the paths through them). Keeping one path of a
  branching node, a decimal slip in an adjoint carried down and the loss's derivative taken with the
  wrong target are changes of one adjoint, carried by the same tangent.
- An update ``next.w``: the update rules on the student's own gradient, and every explanation of
  ``dL/dw`` carried through the step when the student did not write ``dL/dw``.

A mistake made everywhere at once is tested on whole mistaken worlds (``solve`` with the mistake's
hooks) where it has two or more sites that matter; those cost a whole pass each, and all the work of
one submission is bounded by ``MAX_SEARCH_STEPS`` evaluated steps (docs/mistakes.md).

A name is given only when the match is *specific* (``choose``): the mistaken value is outside the
tolerance of the right value in the student's world, the answer is within the tolerance of it and
nearer to it than to any other explanation, and within a match window narrow enough that a random
answer of the quantity's size would match some explanation at most ``MAX_COVERAGE`` of the time.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass

from grader.grading.mistakes import (
    DECIMAL_SLIP,
    GRAD,
    NEXT,
    PATH_OMITTED,
    SIGN_ERROR,
    VALUE,
    WRONG_TARGET,
    Mistake,
    mistakes_for,
    upstream,
)
from grader.grading.numeric import is_close
from grader.grading.sites import SLIPS, Sites, sites_of
from grader.grading.steps import ROUNDING_SLACK, step_close
from grader.problemset.model import NetworkProblem, Quantity, Tolerance
from grader.solver.evaluate import partials
from grader.solver.world import Overrides, World, gradient_step, solve


@dataclass(frozen=True)
class Named:
    """A catalogued mistake that explains an answer: which, the value it gives, and what to tell the student."""

    mistake: Mistake
    value: float  # the quantity's value under the mistake, in the world it was found in
    explanation: str  # the sentence for this case (may name where: "w2 used with the wrong sign")
    step: int | None = None  # for a forward slip at one step: which (a slip repeated after the update)


#: evaluated steps (forward, reverse, tangent or carried) one submission's search may spend
MAX_SEARCH_STEPS = 200_000
#: the widest match window, relative to the mistaken value (or step, for an update)
MATCH_RTOL = 1e-3
#: at most this share of random answers of a quantity's size may match one of its explanations
MAX_COVERAGE = 0.004
#: values this close are the same explanation (the first, most specific one, is kept)
_SAME = 1e-9
_STAGE = {VALUE: 0, GRAD: 1, NEXT: 2}


class MistakeSearch:
    """Tests the catalogued mistakes for the wrong answers of one submission, within a bounded budget."""

    def __init__(self, problem: NetworkProblem, leaves: dict[int, float], numbers: Overrides,
                 mine: World, key: World, *, max_steps: int = MAX_SEARCH_STEPS) -> None:
        self.problem = problem
        self.leaves = leaves
        self.numbers = numbers
        self.mine = mine
        self.key = key
        self.max_steps = max_steps
        self.spent = 0  # evaluated steps so far
        self.sites: Sites = sites_of(problem)
        tape = problem.tape
        assert tape is not None
        self.tape = tape
        self.worlds: dict[int, tuple[int, World]] = {}
        self._partials: dict[int, tuple[float, ...]] = {}
        self.named_steps: set[tuple[str, int]] = set()  # forward slips named so far in this submission
        self._live: set[int] | None = None  # the slots that matter to the quantity last asked about

    # -- what the judge asks -------------------------------------------------------------------------

    def find(self, q: Quantity, value: float, tol: Tolerance, own: float,
             start: float | None = None, unit: float | None = None) -> Named | None:
        """The mistake that explains ``value`` for ``q``; an update (``start`` given) is matched on its step."""
        if not math.isfinite(own):
            return None

        def close(a: float, b: float) -> bool:
            return is_close(a, b, tol) if start is None else step_close(a, b, start, tol, unit)

        right = self.key.value(q)
        local = self.candidates(q, own, start, whole=False)
        found = choose(local, value, own, right, start, unit, close)
        if found is None:  # the whole worlds cost a pass each: only when no local test explains the answer
            found = choose(local + self._whole_worlds(q, self._live), value, own, right, start, unit, close)
        if found is not None and found.step is not None:
            self.named_steps.add((found.mistake.name, found.step))
        return found

    def candidates(self, q: Quantity, own: float, start: float | None = None, *, whole: bool = True) -> list[Named]:
        """Every explanation of ``q`` the search can afford, most specific first (``whole``: with whole worlds)."""
        slot = self.tape.slot_of[q.target]
        out: list[Named] = []
        live: set[int] | None = None
        later = q.step > 1 or (q.step == 1 and q.kind != NEXT)  # after the first update: whole worlds only
        plain = self.problem.learning_rate is not None  # the update rules below are plain gradient descent's
        if later:
            pass
        elif q.kind == VALUE and q.target in self.problem.forward:
            out, live = self._forward_local(slot, own, self.mine.values, self.numbers.fwd)
        elif q.kind == NEXT and q.target in self.problem.forward and self.mine.next_values is not None:
            # the forward pass again, with the updated parameters: a slip named in the first pass, repeated
            out, _ = self._forward_local(slot, own, self.mine.next_values, self.numbers.next_nodes,
                                         self.named_steps)
        elif q.kind == GRAD:
            out, live = self._backward_local(slot, own)
        elif q.kind == NEXT and q.target in self.problem.params and start is not None and plain:
            out, live = self._updates(q, slot, own, start)
        self._live = live
        if whole:
            out += self._whole_worlds(q, live)
        origin = start if start is not None else 0.0
        out += [Named(DECIMAL_SLIP, origin + (own - origin) * f,
                      f"This matches a decimal slip: the answer is {said} the right value.") for f, said in SLIPS]
        if start is None:
            out.append(Named(SIGN_ERROR, -own, SIGN_ERROR.explanation))
        return out

    # -- values: the cone of the node ----------------------------------------------------------------

    def _cone(self, slot: int, fwd: dict[int, float]) -> list[int]:
        """Indices of the steps that reach ``slot`` without passing an answer of the student's, in order."""
        index_of, steps = self.sites.index_of, self.tape.steps
        seen: set[int] = set()
        stack = [index_of[slot]]
        while stack:
            k = stack.pop()
            if k in seen:
                continue
            seen.add(k)
            for a in steps[k].args:
                j = index_of.get(a)
                if j is not None and a not in fwd and j not in seen:
                    stack.append(j)
        return sorted(seen)

    def _forward_local(self, target: int, own: float, values: list[float], cut: dict[int, float],
                       only: set[tuple[str, int]] | None = None) -> tuple[list[Named], set[int]]:
        steps = self.tape.steps
        if only is not None and not only:
            return [], set()
        cone = self._cone(target, cut)
        self.spent += len(cone)
        out: list[Named] = []
        for i, k in enumerate(cone):
            rules = self.sites.forward.get(k)
            if not rules:
                continue
            here = steps[k].slot
            before = own if here == target else values[here]
            for rule in rules:
                if only is not None and (rule.mistake.name, k) not in only:
                    continue
                changed = rule.value(values)
                if not math.isfinite(changed) or changed == before:
                    continue
                if self.spent >= self.max_steps:
                    return out, {steps[j].slot for j in cone}
                out.append(Named(rule.mistake, self._carry(cone, i, changed, target, values), rule.explanation, k))
        return out, {steps[j].slot for j in cone}

    def _carry(self, cone: list[int], i: int, changed: float, target: int, values: list[float]) -> float:
        """The target's value when step ``cone[i]`` computes ``changed``: the change carried through the cone."""
        steps = self.tape.steps
        new = {steps[cone[i]].slot: changed}
        for k in cone[i + 1:]:
            step = steps[k]
            if any(a in new for a in step.args):
                try:
                    new[step.slot] = float(step.fn(*[new.get(a, values[a]) for a in step.args]))
                except (ValueError, ZeroDivisionError, OverflowError, TypeError):
                    return math.nan
        self.spent += len(cone) - i
        return new.get(target, math.nan)

    # -- gradients: the tangent from the target --------------------------------------------------------

    def _local(self, k: int) -> tuple[float, ...]:
        d = self._partials.get(k)
        if d is None:
            d = self._partials[k] = partials(self.tape.steps[k], self.mine.values)
        return d

    def _tangent(self, x: int) -> tuple[dict[int, float], dict[int, float], list[int]]:
        """``T(slot -> x)`` with the student's adjoints cutting paths (``t``), before the cut (``raw``), the steps."""
        steps, consumers, bwd = self.tape.steps, self.tape.consumers, self.numbers.bwd
        t = {x: 1.0}
        raw: dict[int, float] = {}
        heap = sorted(set(consumers.get(x, ())))
        seen: set[int] = set()
        region: list[int] = []
        while heap:
            k = heapq.heappop(heap)
            if k in seen:
                continue
            seen.add(k)
            step = steps[k]
            d = self._local(k)
            tr = 0.0
            for a, da in zip(step.args, d, strict=True):
                ta = t.get(a)
                if ta is not None and da:
                    tr += da * ta
            region.append(k)
            raw[step.slot] = tr
            if tr and math.isfinite(tr) and step.slot not in bwd:
                t[step.slot] = tr
                for j in consumers.get(step.slot, ()):
                    if j not in seen:
                        heapq.heappush(heap, j)
        self.spent += len(region)
        return t, raw, region

    def _backward_local(self, x: int, own: float) -> tuple[list[Named], set[int]]:
        tape, steps = self.tape, self.tape.steps
        grads, values = self.mine.grads, self.mine.values
        t, raw, region = self._tangent(x)
        out: list[Named] = []
        for k in region:
            rules = self.sites.backward.get(k)
            step = steps[k]
            gk = grads[step.slot]
            if not rules or not gk or not math.isfinite(gk):
                continue
            d = self._local(k)
            ts = [t.get(a, 0.0) for a in step.args]
            for rule in rules:
                nd = rule.partials(values)
                delta = 0.0
                for n, o, ta in zip(nd, d, ts, strict=True):
                    if ta and n != o:
                        delta += (n - o) * ta
                if delta:
                    out.append(Named(rule.mistake, own + gk * delta, rule.explanation))
        self.spent += len(region)
        nodes, names = set(tape.nodes), tape.name_of
        for y in (x, *(steps[k].slot for k in region)):
            name = names.get(y)
            if name is None or y == tape.loss_slot:
                continue
            ty = 1.0 if y == x else t.get(y, 0.0)
            if ty:
                out += self._paths(y, name, own, ty)
            if y != x and name in nodes and raw.get(y):
                said = f"This matches a decimal slip in dL/d{name} carried into this answer: it was used at"
                change = grads[y] * raw[y]
                out += [Named(DECIMAL_SLIP, own + (f - 1.0) * change, f"{said} {s} its value.") for f, s in SLIPS]
        out += self._wrong_targets(x, own, t)
        return out, {steps[k].slot for k in region}

    def _paths(self, y: int, name: str, own: float, ty: float) -> list[Named]:
        """``dL/dy`` with one path kept: y feeds several steps, and the student summed over one."""
        steps, grads = self.tape.steps, self.mine.grads
        parts: dict[int, float] = {}
        for k in self.tape.consumers.get(y, ()):
            if k in parts:
                continue
            step = steps[k]
            d = self._local(k)
            parts[k] = grads[step.slot] * sum(da for a, da in zip(step.args, d, strict=True) if a == y)
        # a path whose share is zero is not kept: the answer would be 0 (or an unchanged weight), which
        # says nothing about which path was summed
        live = {k: c for k, c in parts.items() if c and math.isfinite(c)}
        total = sum(live.values())
        if len(live) < 2:
            return []
        owners = [self.sites.owner.get(steps[k].slot, "") for k in live]
        out = []
        for k, c in live.items():
            through = self.sites.owner.get(steps[k].slot, "")
            where = (f"one of the terms of {through} that use {name}" if owners.count(through) > 1
                     else f"the path through {through}")
            out.append(Named(PATH_OMITTED, own + (c - total) * ty,
                             f"This matches keeping only {where} in dL/d{name}: {name} feeds {len(live)} "
                             f"paths, and its gradient sums over all of them."))
        return out

    def _wrong_targets(self, x: int, own: float, t: dict[int, float]) -> list[Named]:
        """The loss's derivative taken with another target, 1 - t or 0 in place of a target ``t``."""
        if not self.sites.targets:
            return []
        steps, grads, values = self.tape.steps, self.mine.grads, self.mine.values
        bwd, loss = self.numbers.bwd, self.tape.loss_slot
        out: list[Named] = []
        for target, alternatives in self.sites.targets:
            region = self._downstream(target)
            inside = {steps[k].slot for k in region}
            name = self.tape.name_of[target]
            for label, read in alternatives:
                v2 = list(values)
                v2[target] = read(values)
                if v2[target] == values[target]:
                    continue
                for k in region:
                    step = steps[k]
                    try:
                        v2[step.slot] = float(step.fn(*[v2[a] for a in step.args]))
                    except (ValueError, ZeroDivisionError, OverflowError, TypeError):
                        v2[step.slot] = math.nan
                acc: dict[int, float] = {}
                change: dict[int, float] = {}
                found: float | None = None
                for k in reversed(region):
                    step = steps[k]
                    s = step.slot
                    gs = 1.0 if s == loss else acc.get(s, 0.0)
                    if s == x:
                        found = gs
                    if s in bwd:
                        gs = bwd[s]
                    new, old = partials(step, v2), self._local(k)
                    for a, dn, do in zip(step.args, new, old, strict=True):
                        if a in inside:
                            acc[a] = acc.get(a, 0.0) + gs * dn
                        else:
                            change[a] = change.get(a, 0.0) + gs * dn - grads[s] * do
                self.spent += 2 * len(region)
                if found is None:
                    delta = sum(c * t.get(b, 0.0) for b, c in change.items() if c)
                    found = own + delta
                if math.isfinite(found) and found != own:
                    out.append(Named(WRONG_TARGET, found, f"This matches taking the loss's derivative with the "
                                     f"wrong target: {label} where {name} belongs."))
        return out

    def _downstream(self, slot: int) -> list[int]:
        """Indices of the steps computed from ``slot``, in order (static, cached per problem)."""
        cache: dict[int, list[int]] = self.problem.cache.setdefault("downstream", {})
        found = cache.get(slot)
        if found is None:
            steps, consumers = self.tape.steps, self.tape.consumers
            seen: set[int] = set()
            stack = list(consumers.get(slot, ()))
            while stack:
                k = stack.pop()
                if k not in seen:
                    seen.add(k)
                    stack += consumers.get(steps[k].slot, ())
            found = cache[slot] = sorted(seen)
        return found

    # -- updates ---------------------------------------------------------------------------------------

    def _updates(self, q: Quantity, slot: int, own: float, start: float) -> tuple[list[Named], set[int] | None]:
        eta = self.problem.learning_rate
        assert eta is not None
        g = self.mine.grads[slot]
        out = [Named(m, m.update(start, eta, g), m.explanation) for m in mistakes_for(self.problem)
               if m.update is not None]
        if slot in self.numbers.bwd:  # the student wrote dL/dw: a slip in it is that answer's
            return out, set()
        explained, live = self._backward_local(slot, g)
        out += [Named(n.mistake, gradient_step(start, eta, n.value), n.explanation) for n in explained]
        return out, live

    # -- whole worlds ----------------------------------------------------------------------------------

    def _whole_worlds(self, q: Quantity, live: set[int] | None) -> list[Named]:
        """Each hooked mistake made at all its sites at once, where two or more of them matter."""
        out: list[Named] = []
        up = upstream(self.problem)
        reach = 0
        if live is not None and q.kind != VALUE:
            for s in live:
                reach |= up[s]
        fwd = self.numbers.fwd
        for index, m in enumerate(mistakes_for(self.problem)):
            kind = NEXT if q.kind == "state" else q.kind
            if kind not in m.kinds or not (m.forward_hook or m.backward_hook or m.update):
                continue
            if m.update is not None and (q.target in self.problem.params or q.kind != NEXT):
                continue  # an update rule on a parameter is tested locally
            if live is not None:
                if m.forward_hook is not None and q.kind == VALUE:
                    if len(m.sites & live) < 2:
                        continue
                elif m.forward_hook is not None:
                    if not any(reach >> s & 1 and s not in fwd for s in m.sites):
                        continue
                elif len(m.sites & live) < 2:
                    continue
            world = self.world(index, m, NEXT if q.step else q.kind)
            if world is None:
                break
            out.append(Named(m, world.value(q), m.explanation))
        return out

    def world(self, index: int, m: Mistake, kind: str) -> World | None:
        """The student's world under mistake ``m`` at all its sites, or None once the budget is spent."""
        stage = _STAGE[kind]
        cached = self.worlds.get(index)
        if cached is not None and cached[0] >= stage:
            return cached[1]
        n = len(self.tape.steps)
        cost = n * (1 + stage + (m.forward_hook is not None))
        if self.spent + cost > self.max_steps:
            return None
        self.spent += cost
        w = solve(self.problem, self.leaves, self.numbers, forward_hook=m.forward_hook,
                  backward_hook=m.backward_hook, update=m.update or gradient_step, base=self.mine,
                  forward_only=stage == 0, with_next=stage == 2)
        self.worlds[index] = (stage, w)
        return w


def choose(candidates: list[Named], value: float, own: float, right: float, start: float | None,
           unit: float | None, close: Callable[[float, float], bool]) -> Named | None:
    """The explanation that specifically matches ``value``, if any (module docstring; docs/mistakes.md).

    ``own`` is the right value in the student's world, ``right`` the key's; an update is judged on its
    step from ``start``. ``unit`` is one unit in the last digit written: a match never needs to be
    nearer than half of it (the student's own rounding), unless so many explanations crowd the
    quantity that even those windows would catch random answers too often.
    """
    origin = 0.0  # an update too: the coverage is of the numbers written (next.w), not of steps
    kept: list[Named] = []
    seen: set[float] = set()
    for c in candidates:
        x = c.value
        if not math.isfinite(x):
            continue
        same = float(f"{x:.9g}")  # one explanation per value: the first, most specific
        if same in seen or close(x, own):
            continue
        seen.add(same)
        kept.append(c)
    if not kept:
        return None
    scale = 2.0 * max(abs(right - origin), abs(own - origin), abs(value - origin))
    if not scale or not math.isfinite(scale):
        return None
    half = 0.5 * unit * ROUNDING_SLACK if unit is not None else 0.0
    sizes = [abs(c.value - origin) for c in kept if abs(c.value - origin) <= scale]
    # coverage of the windows max(half, r*size) over [-scale, scale]: at most (n*half + r*sum)/scale
    rounding = len(sizes) * half / scale
    spread = sum(sizes) / scale
    if rounding >= MAX_COVERAGE:
        r, half = 0.0, half * MAX_COVERAGE / rounding
    elif rounding + MATCH_RTOL * spread > MAX_COVERAGE:
        r = (MAX_COVERAGE - rounding) / spread
    else:
        r = MATCH_RTOL
    best: Named | None = None
    best_off = math.inf
    for c in kept:
        off = abs(value - c.value)
        window = max(half, r * abs(c.value - origin), _SAME * abs(c.value))
        if off > window or off >= abs(value - own) or not close(value, c.value):
            continue
        if off < best_off - _SAME * abs(c.value):
            best, best_off = c, off
    return best


def mistaken_values(problem: NetworkProblem, leaves: dict[int, float], key: World,
                    only: list[Quantity] | None = None, search: MistakeSearch | None = None) -> dict[str, list[Named]]:
    """For each asked quantity (or each of ``only``), the values the catalogued mistakes give it in the key's world.

    What an instructor's tolerance must not accept (SPEC 6.1.6): every distinct explanation's value,
    each once; a value equal to the key's is left out, and so is the sign slip of an update (``next.*``
    is judged on its step: its sign slip is ``update_wrong_sign``).
    """
    if search is None:
        search = MistakeSearch(problem, leaves, Overrides(), key, key, max_steps=10**9)
    tape = problem.tape
    assert tape is not None
    out: dict[str, list[Named]] = {}
    for q in problem.ask if only is None else only:
        right = key.value(q)
        start = key.values[tape.slot_of[q.target]] if q.kind == NEXT and q.target in problem.params else None
        found: list[Named] = []
        seen: set[tuple[str, float]] = set()
        if math.isfinite(right):
            for c in search.candidates(q, right, start):
                if q.kind == NEXT and c.mistake is SIGN_ERROR:
                    continue
                if not math.isfinite(c.value) or c.value == right or (c.mistake.name, c.value) in seen:
                    continue
                seen.add((c.mistake.name, c.value))
                found.append(c)
        out[q.name] = found
    return out
