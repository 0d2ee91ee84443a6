"""What a problem tells the readers about how its students write (SPEC 6.8).

- ``functions``: unknown differentiable functions and their parameters (``g: (w,)``). ``g(w)``,
  ``g``, ``g'(w)``, ``dg/dw``, ``\\frac{\\partial g}{\\partial w}`` are read as calls of ``g`` and of its
  derivatives. A derivative is a call whose name is the function's followed by ``'`` and the
  parameters it is taken by: ``g'w`` is dg/dw, ``g'w,w`` is d²g/dw², ``h'u,v`` is d²h/(du dv).
- ``valued``: library function names that a define gives a value (``define: {sigma: sigmoid(x)}``):
  ``σ(1 - σ)`` is then a product, ``σ(x)`` still a call.
- ``aliases``: spellings of the course (``a_i^L``, ``\\hat{y}``) and the problem's names they stand for;
  they are matched on the tokens of an answer, so spacing does not matter. An index letter of the
  spelling that the name repeats (``a_i^L`` for ``a_i``) matches any index (``a_2^L`` is ``a_2``).
- ``families``: the elements of each indexed variable, so that ``softmax(z_j)`` can mean component j of
  the softmax of all of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.expr.parser import Token

PRIME = "'"
def derivative_name(function: str, by: tuple[str, ...], params: tuple[str, ...]) -> str:
    """The call name of the derivative of ``function`` (of ``params``) by the parameters ``by``."""
    ordered = sorted(by, key=params.index)
    return f"{function}{PRIME}{','.join(ordered)}"


def split_derivative(name: str) -> tuple[str, tuple[str, ...]]:
    """``h'u,v`` -> ("h", ("u", "v")); ``g`` -> ("g", ())."""
    function, prime, by = name.partition(PRIME)
    if not prime or not function or not by:
        return name, ()
    return function, tuple(by.split(","))


Pattern = tuple[tuple[tuple[str, str, str | None], ...], str, str | None]  # tokens, target, index letter


@dataclass(frozen=True)
class Notation:
    functions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    valued: frozenset[str] = frozenset()
    aliases: Mapping[str, str] = field(default_factory=dict)
    families: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    indices: frozenset[str] = frozenset()
    _patterns: dict[str, list[Pattern]] = field(default_factory=dict, compare=False, repr=False)

    def is_function(self, name: str) -> bool:
        return name in self.functions

    def patterns(self, tokenizer: Callable[[str], list[Token]], front: str) -> list[Pattern]:
        """The aliases as token patterns of one front end (longest first); those it cannot read are left out."""
        cached = self._patterns.get(front)
        if cached is not None:
            return cached
        out: list[Pattern] = []
        for spelling, target in self.aliases.items():
            try:
                tokens = [t for t in tokenizer(spelling) if t.kind != "end"]
            except ValueError:
                continue
            if not tokens:
                continue
            letter = None
            parts: list[tuple[str, str, str | None]] = []
            for t in tokens:
                wild = None
                base, _, sub = t.text.rpartition("_")
                if (t.kind == "name" and base and len(sub) == 1 and sub in self.indices
                        and target.endswith("_" + sub)):
                    wild, letter = base, sub
                parts.append((t.kind, t.text, wild))
            out.append((tuple(parts), target, letter))
        out.sort(key=lambda p: len(p[0]), reverse=True)
        self._patterns[front] = out
        return out

    def rewrite(self, tokens: list[Token], tokenizer: Callable[[str], list[Token]], front: str) -> list[Token]:
        """``tokens`` with every alias spelling replaced by one name token of the name it stands for."""
        if not self.aliases:
            return tokens
        from grader.expr.parser import Token

        patterns = self.patterns(tokenizer, front)
        out: list[Token] = []
        i = 0
        while i < len(tokens):
            for parts, target, letter in patterns:
                found = _match(parts, tokens, i)
                if found is not None:
                    index, end = found
                    name = target if letter is None or index == "" else f"{target[:-len(letter)]}{index}"
                    out.append(Token("name", name, tokens[i].pos))
                    i = end
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out

    def rename(self, name: str) -> str:
        """The name a one-name alias gives ``name`` (``ω`` or ``\\omega`` for w), else ``name``."""
        from grader.expr.parser import _ascii_name

        for spelling, target in self.aliases.items():
            if _ascii_name(spelling.lstrip("\\")) == name:
                return target
        return name


_INDEX_VALUE = re.compile(r"^(?:[A-Za-z]|[0-9]+)$")


def _match(parts: tuple[tuple[str, str, str | None], ...], tokens: list[Token], start: int) -> tuple[str, int] | None:
    """(the index a wild part matched, "" if none; the token after the match), or None if there is no match
    at ``start``. A token of the pattern matches it alone in braces too (``a_{3}^{L}`` for ``a_i^L``)."""
    index = ""
    j = start
    for kind, text, wild in parts:
        if j >= len(tokens):
            return None
        t = tokens[j]
        braced = (t.kind == "open" and t.text == "{" and kind != "open" and j + 2 < len(tokens)
                  and tokens[j + 2].kind == "close")
        if braced:
            t = tokens[j + 1]
        j += 3 if braced else 1
        if t.kind != kind:
            return None
        if wild is not None:
            base, _, sub = t.text.rpartition("_")
            if base != wild or not _INDEX_VALUE.match(sub):
                return None
            index = sub
        elif t.text != text:
            return None
    return index, j


EMPTY = Notation()
