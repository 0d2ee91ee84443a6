"""Shared checks for problem-set fields, each failing with file, problem, field and line."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, NoReturn

from grader.expr import ExpressionError, Notation, parse
from grader.expr.nodes import Expr, Num, walk
from grader.problemset.model import ATOL_DEFAULT, RTOL_DEFAULT, Tolerance, ToleranceMode
from grader.problemset.source import Document, Path, ProblemSetError, kind_of

ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_FORMULA_LENGTH = 20_000  # characters in one formula of a problem-set file


@dataclass
class Context:
    """Where we are in the file: used to make every error say what and where."""

    doc: Document
    problem: str | None = None
    base: Path = ()
    warnings: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)  # what the set has built so far (problemset.limits)

    def at(self, problem: str | None, base: Path) -> Context:
        return Context(self.doc, problem, base, self.warnings, self.sizes)

    def fail(self, message: str, *path: str | int) -> NoReturn:
        full = (*self.base, *path)
        dotted = ".".join(str(p) for p in path) or None
        raise ProblemSetError(message, file=self.doc.file, problem=self.problem, field=dotted,
                              line=self.doc.line(full))

    def warn(self, message: str) -> None:
        where = f"problem {self.problem}: " if self.problem else ""
        self.warnings.append(f"{self.doc.file}: {where}{message}")

    # -- typed field readers -------------------------------------------------------------------
    def number(self, value: Any, *path: str | int) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(f"expected a number, found {_show(value)}", *path)
        try:
            x = float(value)
        except OverflowError:  # an integer beyond what a float holds
            x = math.inf
        if not math.isfinite(x):
            self.fail("expected a finite number (at most about 1.8e308 in size)", *path)
        return x

    def mapping(self, value: Any, *path: str | int) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(f"expected a mapping (name: value), found {_show(value)}", *path)
        return value

    def text(self, value: Any, *path: str | int) -> str:
        if not isinstance(value, str):
            self.fail(f"expected text, found {_show(value)}", *path)
        return value

    def name(self, value: Any, *path: str | int) -> str:
        if not isinstance(value, str) or not NAME.match(value):
            self.fail(f"{_show(value)} is not a valid name (letters, digits and _, not starting with a digit)",
                      *path)
        return value

    def expression(self, value: Any, symbols: set[str] | None, *path: str | int,
                   notation: Notation | None = None) -> Expr:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = repr(value)
        if not isinstance(value, str):
            self.fail(f"expected a formula, found {_show(value)}", *path)
        try:
            tree = parse(value, symbols=symbols, max_length=MAX_FORMULA_LENGTH, notation=notation)
        except ExpressionError as exc:
            self.fail(f"cannot read {_show(value)}: {exc.describe()}", *path)
        for node in walk(tree):
            if isinstance(node, Num) and not _representable(node.value):
                self.fail(f"the number at column {node.pos + 1} is too large (at most about 1.8e308 in size)", *path)
        return tree

    def tolerance(self, value: Any, parent: Tolerance, *path: str | int) -> Tolerance:
        spec = self.mapping(value, *path)
        allowed = {"rtol", "atol", "sigfigs", "decimals"}
        for key in spec:
            if key not in allowed:
                self.fail(f"unknown tolerance setting {key!r} (use rtol and atol, sigfigs, or decimals)",
                          *path, key)
        modes = [k for k in ("sigfigs", "decimals") if k in spec]
        if len(modes) > 1 or (modes and ("rtol" in spec or "atol" in spec)):
            self.fail("give either rtol/atol, or sigfigs, or decimals, not a mix", *path)
        if modes:
            digits = spec[modes[0]]
            if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 15:
                self.fail(f"{modes[0]} must be a whole number from 1 to 15, found {_show(digits)}",
                          *path, modes[0])
            return Tolerance(ToleranceMode(modes[0]), digits=digits)
        inherit = parent.mode is ToleranceMode.RELABS
        rtol = self.number(spec["rtol"], *path, "rtol") if "rtol" in spec else (
            parent.rtol if inherit else RTOL_DEFAULT)
        atol = self.number(spec["atol"], *path, "atol") if "atol" in spec else (
            parent.atol if inherit else ATOL_DEFAULT)
        for key, x in (("rtol", rtol), ("atol", atol)):
            if x < 0:
                self.fail(f"{key} must not be negative, found {x:g}", *path, key)
        if rtol >= 1:
            self.fail(f"rtol {rtol:g} would accept almost anything; it is a fraction (0.01 is 1%)", *path, "rtol")
        if rtol == 0 and atol == 0:
            self.fail("rtol and atol are both 0: no computed answer would ever match", *path)
        return Tolerance(ToleranceMode.RELABS, rtol=rtol, atol=atol)

    def credit(self, value: Any, *path: str | int) -> float:
        x = self.number(value, *path)
        if not 0 <= x <= 1:
            self.fail(f"follow_through_credit must be between 0 and 1, found {x:g}", *path)
        return x

    def check_keys(self, data: dict[str, Any], allowed: set[str], what: str, *path: str | int) -> None:
        for key in data:
            if key not in allowed:
                import difflib

                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                self.fail(f"unknown field {key!r} in {what}{hint}", *path, key)


def _representable(value: Fraction) -> bool:
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _show(value: Any) -> str:
    """A value in a message: text and numbers as written, anything else by its kind."""
    if isinstance(value, str):
        return repr(value) if len(value) < 60 else repr(value[:57] + "...")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return kind_of(value)
