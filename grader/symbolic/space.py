"""Where an expression problem's formulas live: variables with domains, indices, indexed families, defines.

A *family* is a variable or a define written with an index: ``z_1, z_2, z_3`` and ``z_i`` for a
declared index ``i``. A name such as ``s_j`` is read as family ``s`` at index ``j``; an answer then
holds for every value of the declared indices (``s_i*(KroneckerDelta(i, j) - s_j)``).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from grader.expr import library
from grader.expr.nodes import Expr, Sum, Sym, children
from grader.expr.notation import Notation

MAX_INDEX_RANGE = 9  # indices run over at most 9 values, so that w_12 reads unambiguously


class TimeUp(Exception):
    """The check ran out of its time (or work) budget."""


_ACTIVE = threading.local()


def current_deadline() -> float:
    """The ``time.monotonic()`` deadline of the check running in this thread (infinite outside one).

    Evaluations read it when they start and test it inside their loops (every sum term, every exact
    operation), so a check stops within one small step of its bound even inside one long evaluation.
    """
    deadline: float = getattr(_ACTIVE, "deadline", math.inf)
    return deadline


@dataclass
class Budget:
    """A wall-clock deadline checked between units of bounded work (no signals: works in any thread)."""

    seconds: float
    start: float = field(default_factory=time.monotonic)

    @property
    def deadline(self) -> float:
        return self.start + self.seconds

    @property
    def message(self) -> str:
        return f"the check took longer than its {self.seconds:g} s bound"

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise TimeUp(self.message)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    @contextmanager
    def active(self) -> Iterator[Budget]:
        """Make this the deadline that evaluations in this thread test (an enclosing earlier one stays)."""
        before = current_deadline()
        _ACTIVE.deadline = min(before, self.deadline)
        try:
            yield self
        finally:
            _ACTIVE.deadline = before


def past(deadline: float) -> None:
    """Raise ``TimeUp`` if ``deadline`` (from ``current_deadline``) has passed."""
    if time.monotonic() > deadline:
        raise TimeUp("the check took longer than its time bound")


@dataclass(frozen=True, slots=True)
class Domain:
    """A set of reals: an interval (ends possibly open or infinite), optionally only its integers."""

    integer: bool = False
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def contains(self, x: float) -> bool:
        if self.integer and x != int(x):
            return False
        if x < self.low or (self.low_open and x == self.low):
            return False
        return not (x > self.high or (self.high_open and x == self.high))

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    def describe(self) -> str:
        what = "integer" if self.integer else "real"
        if not math.isfinite(self.low) and not math.isfinite(self.high):
            return what
        if self.low == 0 and not math.isfinite(self.high):
            return f"{'positive' if self.low_open else 'nonnegative'} {what}"
        if self.high == 0 and not math.isfinite(self.low):
            return f"{'negative' if self.high_open else 'nonpositive'} {what}"
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"{what} in {left}{self.low:g}, {self.high:g}{right}"


REAL = Domain()
NAMED_DOMAINS: dict[str, Domain] = {
    "real": REAL,
    "positive": Domain(low=0.0, low_open=True),
    "negative": Domain(high=0.0, high_open=True),
    "nonnegative": Domain(low=0.0),
    "nonpositive": Domain(high=0.0),
    "integer": Domain(integer=True),
}

_INDEX_PART = re.compile(r"[A-Za-z]|[0-9]")


@dataclass
class Space:
    """Everything a formula of one problem may refer to, and how to read an indexed name."""

    variables: dict[str, Domain] = field(default_factory=dict)
    indices: dict[str, tuple[int, int]] = field(default_factory=dict)
    families: dict[str, tuple[int, Domain]] = field(default_factory=dict)  # name -> (arity, domain)
    defines: dict[str, Expr] = field(default_factory=dict)  # in dependency order
    family_defines: dict[str, tuple[tuple[str, ...], Expr]] = field(default_factory=dict)  # s -> ((k,), body)
    functions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # unknown g -> its parameters
    aliases: dict[str, str] = field(default_factory=dict)  # the course's spelling -> the problem's name
    index_limits: dict[str, str] = field(default_factory=dict)  # i -> n for indices: {i: [1, n]}
    _notation: Notation | None = field(default=None, repr=False, compare=False)

    def notation(self, aliases: bool = True) -> Notation:
        """What the readers need to know of this problem's notation (SPEC 6.8); kept once complete."""
        if aliases and self._notation is not None:
            return self._notation
        valued = frozenset(n for n in self.defines if library.lookup(n) is not None)
        families = {f: tuple(self.element(f, e) for e in self.elements(f))
                    for f, (arity, _) in self.families.items() if arity == 1}
        out = Notation(dict(self.functions), valued, dict(self.aliases) if aliases else {}, families,
                       frozenset(self.indices))
        if aliases:
            self._notation = out
        return out

    def index_bounds(self) -> dict[str, tuple[int, int | str]]:
        """The index ranges as the readers take them: ``\\sum_i`` runs to ``n`` for ``indices: {i: [1, n]}``."""
        return {i: (lo, self.index_limits.get(i, hi)) for i, (lo, hi) in self.indices.items()}

    @property
    def index_values(self) -> range:
        """The values every family index runs over (the union of the declared index ranges)."""
        if not self.indices:
            return range(0)
        return range(min(lo for lo, _ in self.indices.values()), max(hi for _, hi in self.indices.values()) + 1)

    def arity(self, family: str) -> int:
        if family in self.families:
            return self.families[family][0]
        return len(self.family_defines[family][0])

    def all_families(self) -> list[str]:
        return sorted({*self.families, *self.family_defines}, key=len, reverse=True)

    def split(self, name: str) -> tuple[str, tuple[str, ...]] | None:
        """``s_j`` -> ("s", ("j",)), ``w_12`` -> ("w", ("1", "2")); None if not an indexed name."""
        for family in self.all_families():
            if not name.startswith(family + "_"):
                continue
            suffix = name[len(family) + 1:]
            arity = self.arity(family)
            if arity == 1 and (suffix.isdecimal() or (len(suffix) == 1 and suffix.isalpha())):
                return family, (suffix,)
            if len(suffix) == arity and all(_INDEX_PART.fullmatch(c) for c in suffix):
                return family, tuple(suffix)
        return None

    def element(self, family: str, values: tuple[int, ...]) -> str:
        """The name of one element: ``z_2``, ``w_13``."""
        return f"{family}_{''.join(str(v) for v in values)}"

    def elements(self, family: str) -> list[tuple[int, ...]]:
        values = list(self.index_values)
        if self.arity(family) == 1:
            return [(v,) for v in values]
        return [(a, b) for a in values for b in values]

    def symbols(self) -> set[str]:
        """Every name a student may write (the parser's ``symbols``)."""
        names = {*self.variables, *self.defines, *self.indices}
        letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
        for family in self.all_families():
            names.update(self.element(family, e) for e in self.elements(family))
            if self.arity(family) == 1:
                names.update(f"{family}_{c}" for c in letters)
            else:
                parts = [*letters, *(str(v) for v in self.index_values)]
                names.update(f"{family}_{a}{b}" for a in parts for b in parts)
        return names

    def is_real(self, name: str) -> bool:
        """Whether ``name`` (a variable, define or indexed element) takes continuous values."""
        if name in self.variables:
            return not self.variables[name].integer
        if name in self.indices:
            return False
        split = self.split(name)
        if split is not None and split[0] in self.families:
            return not self.families[split[0]][1].integer
        return True

    def free_indices(self, tree: Expr) -> set[str]:
        """Declared indices ``tree`` uses outside the sums that bind them (``z_m`` in a sum over m is bound)."""
        found: set[str] = set()
        stack: list[tuple[Any, frozenset[str]]] = [(tree, frozenset())]
        while stack:
            node, bound = stack.pop()
            if isinstance(node, Sum):
                stack.extend([(node.lo, bound), (node.hi, bound), (node.body, bound | {node.index})])
                continue
            if isinstance(node, Sym):
                names = [node.name]
                split = self.split(node.name)
                if split is not None:
                    names.extend(split[1])
                found.update(n for n in names if n in self.indices and n not in bound)
                continue
            stack.extend((c, bound) for c in children(node))
        return found
