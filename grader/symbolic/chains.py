"""Expression problems built on earlier answers (SPEC 6.5): ``define: {dLda3: {answer_of: q5}}``.

In the key, ``dLda3`` is q5's key; in follow-through it is the student's own answer to q5. Both are
carried as trees in the variables alone (q5's own defines written out), so a problem can use them
with its own names, and a chain q5 -> q6 -> q7 carries through: the student's q6 written with
``dLda3`` means, in their world, q6 with *their* q5 in it.

``StudentChain`` collects, while one answers file is graded in the set's order, each expression
answer as a value of this kind; ``world`` builds the space and key in which a later answer is
judged again from those values. Nothing here reads text: the values are the parsed trees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from grader.expr.nodes import Call, Expr, Sym, substitute, walk
from grader.symbolic.space import Space

#: values and operations of an earlier answer with its defines written out, beyond which it is not
#: carried forward (the key's own is bounded by the problem's size when the set is loaded)
MAX_CARRIED = 5_000
#: characters of the earlier answer quoted in follow-through feedback
QUOTED = 80


class TooLarge(ValueError):
    """An answer with its defines written out would be larger than ``MAX_CARRIED``."""


def _size(tree: Expr, sizes: Mapping[str, int]) -> int:
    return sum(sizes.get(n.name, 1) if isinstance(n, Sym) else 1 for n in walk(tree))


def written_out(tree: Expr, defines: Mapping[str, Expr], limit: int = MAX_CARRIED) -> Expr:
    """``tree`` with every scalar define substituted, in ``defines``' dependency order.

    The size is computed before anything is built, so a define used inside a define used inside a
    define (2^k nodes written out) is refused instead of built.
    """
    sizes: dict[str, int] = {}
    bodies: dict[str, Expr] = {}
    used = {n.name for n in walk(tree) if isinstance(n, Sym)}
    needed = _needed(used, defines)
    for name, body in defines.items():
        if name not in needed:
            continue
        sizes[name] = _size(body, sizes)
        if sizes[name] > limit:
            raise TooLarge(name)
    if _size(tree, sizes) > limit:
        raise TooLarge("")
    for name, body in defines.items():
        if name in needed:
            bodies[name] = substitute(body, bodies)
    return substitute(tree, bodies)


def _needed(used: set[str], defines: Mapping[str, Expr]) -> set[str]:
    """The defines ``used`` names refer to, directly or through other defines."""
    out: set[str] = set()
    stack = [n for n in used if n in defines]
    while stack:
        name = stack.pop()
        if name in out:
            continue
        out.add(name)
        stack.extend(s.name for s in walk(defines[name]) if isinstance(s, Sym) and s.name in defines)
    return out


@dataclass(frozen=True)
class Carried:
    """A student's answer to one problem as a later problem sees it."""

    tree: Expr  # in the variables only
    text: str  # as the student wrote it (the final step of a derivation)
    differs: bool  # not known to equal the key (wrong, or built on a wrong earlier answer)
    via: tuple[str, ...] = ()  # the earlier problems whose own (differing) answers are written into it


@dataclass
class StudentChain:
    """The student's usable expression answers so far, by problem id (graded in the set's order)."""

    values: dict[str, Carried] = field(default_factory=dict)

    def record(self, problem_id: str, carried: Carried | None) -> None:
        if carried is not None:
            self.values[problem_id] = carried


def carried_value(space: Space, answer_of: Mapping[str, str], tree: Expr, text: str, wrong: bool,
                  chain: StudentChain) -> Carried | None:
    """The student's answer ``tree`` with this problem's defines written out in the student's world.

    ``answer_of`` maps this problem's chained defines to the problems they name (in ``space`` they
    hold those problems' keys). None when it would be too large to carry (no follow-through then).
    """
    defines = dict(space.defines)
    differs = wrong
    via: list[str] = []
    for name, source in answer_of.items():
        earlier = chain.values.get(source)
        if earlier is not None and earlier.differs and _uses(tree, name, space.defines):
            defines[name] = earlier.tree
            differs = True
            via.extend(p for p in (*earlier.via, source) if p not in via)
    try:
        return Carried(written_out(tree, defines), text, differs, tuple(via))
    except TooLarge:
        return None


def _uses(tree: Expr, name: str, defines: Mapping[str, Expr]) -> bool:
    used = {n.name for n in walk(tree) if isinstance(n, Sym)}
    return name in used or name in _needed(used, defines)


@dataclass(frozen=True)
class World:
    """A space in which the chained defines are the student's own earlier answers, and the key there."""

    space: Space
    key: Expr
    used: tuple[tuple[str, str, Carried], ...]  # (define, problem, the student's answer) that differ


def world(space: Space, answer_of: Mapping[str, str], source: Expr, key: Expr, chain: StudentChain,
          expand: Callable[[Expr, Space], Expr] | None = None) -> World | None:
    """The student's world for a problem, or None when no earlier answer it rests on differs from its key.

    ``source`` is the problem's answer as written (``diff`` not yet taken); when a ``diff`` reaches a
    chained define, ``expand(source, space)`` takes it again in the new space (the derivative of the
    student's own formula), else the key is reused as it is, its names now meaning the student's values.
    """
    used: list[tuple[str, str, Carried]] = []
    defines = dict(space.defines)
    for name, problem_id in answer_of.items():
        earlier = chain.values.get(problem_id)
        if earlier is None or not earlier.differs:
            continue
        defines[name] = earlier.tree
        used.append((name, problem_id, earlier))
    if not used:
        return None
    new = Space(variables=dict(space.variables), indices=dict(space.indices), families=dict(space.families),
                defines=defines, family_defines=dict(space.family_defines))
    world_key = key
    if expand is not None and _differentiates(source, {name for name, _, _ in used}, space.defines):
        world_key = expand(source, new)
    return World(new, world_key, tuple(used))


def _differentiates(source: Expr, names: set[str], defines: Mapping[str, Expr]) -> bool:
    """Whether a ``diff`` in ``source`` reaches one of ``names`` (directly or through defines)."""
    for node in walk(source):
        if isinstance(node, Call) and node.func == "diff":
            inside = {n.name for n in walk(node.args[0]) if isinstance(n, Sym)}
            if (inside | _needed(inside, defines)) & names:
                return True
    return False


def quoted(text: str) -> str:
    """An earlier answer as quoted in feedback: one line, at most ``QUOTED`` characters."""
    one = " ".join(text.split())
    return one if len(one) <= QUOTED else one[:QUOTED - 1] + "…"
