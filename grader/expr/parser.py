"""A parser for plain-text formulas, as instructors and students type them.

It reads ``sigma(x)*(1-sigma(x))``, ``2x``, ``x^2``, ``e^-x``, ``1-tanh^2(x)``, ``σ(x)(1−σ(x))``,
``|x|``, ``ln x``, ``s_i``, ``w_{jk}``, ``Piecewise((x, x > 0), (0, True))`` and
``1 if x > 0 else 0`` into the tree of ``grader.expr.nodes``. Nothing is executed: the text is
tokenised and parsed by hand, names are checked against the function library and the names the
caller allows, and hard limits bound length, nesting, numbers and exponents.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from fractions import Fraction

from grader.expr import library
from grader.expr.build import MAX_LITERAL_EXPONENT as MAX_LITERAL_EXPONENT
from grader.expr.build import Link, chain, check_depth, checked_power, constant_value
from grader.expr.errors import ExpressionError, LimitError
from grader.expr.nodes import BinOp, Call, Compare, Cond, Expr, Logic, Neg, Num, Piecewise, Sum, Sym

MAX_LENGTH = 4000
MAX_DEPTH = 100
MAX_NUMBER_CHARS = 40
MAX_DECIMAL_EXPONENT = 400

GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "η": "eta",
    "θ": "theta", "λ": "lambda", "μ": "mu", "σ": "sigma", "τ": "tau", "φ": "phi", "ω": "omega",
    "π": "pi", "ρ": "rho", "ξ": "xi", "ζ": "zeta", "κ": "kappa", "ν": "nu", "χ": "chi", "ψ": "psi",
}
_SAME = {"−": "-", "–": "-", "·": "*", "⋅": "*", "×": "*", "∗": "*", "÷": "/", "≤": "<=", "≥": ">=",
         "≠": "!=", "**": "^"}
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_NUMBER = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_CLOSE = {"(": ")", "[": "]", "{": "}"}
_KRONECKER = re.compile(r"^delta_?([A-Za-z0-9])([A-Za-z0-9])$")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # num, name, op, open, close, comma, bar, cmp, end
    text: str
    pos: int


def _is_name_start(ch: str) -> bool:
    return ch.isalpha() or ch == "_"


def tokenize(text: str, max_length: int = MAX_LENGTH) -> list[Token]:
    if len(text) > max_length:
        raise LimitError(f"the answer is too long ({len(text)} characters, at most {max_length})")
    tokens: list[Token] = []
    depth = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        two = text[i:i + 2]
        if two in ("**", "<=", ">=", "==", "!="):
            kind = "op" if two == "**" else "cmp"
            tokens.append(Token(kind, _SAME.get(two, two), i))
            i += 2
            continue
        if ch in _SAME:
            mapped = _SAME[ch]
            tokens.append(Token("cmp" if mapped in ("<=", ">=", "!=") else "op", mapped, i))
            i += 1
            continue
        if ch in "+-*/^":
            tokens.append(Token("op", ch, i))
            i += 1
            continue
        if ch in "<>=":
            tokens.append(Token("cmp", "==" if ch == "=" else ch, i))
            i += 1
            continue
        if ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise LimitError(f"brackets are nested too deeply (more than {MAX_DEPTH})", i)
            tokens.append(Token("open", ch, i))
            i += 1
            continue
        if ch in ")]}":
            depth -= 1
            tokens.append(Token("close", ch, i))
            i += 1
            continue
        if ch == ",":
            tokens.append(Token("comma", ch, i))
            i += 1
            continue
        if ch == "|":
            tokens.append(Token("bar", ch, i))
            i += 1
            continue
        if ch in "⁰¹²³⁴⁵⁶⁷⁸⁹":
            j = i
            while j < n and text[j] in "⁰¹²³⁴⁵⁶⁷⁸⁹":
                j += 1
            tokens.append(Token("op", "^", i))
            tokens.append(Token("num", text[i:j].translate(_SUPERSCRIPTS), i))
            i = j
            continue
        if ch in "0123456789" or (ch == "." and i + 1 < n and text[i + 1] in "0123456789"):
            m = _NUMBER.match(text, i)
            assert m is not None
            if len(m.group(0)) > MAX_NUMBER_CHARS:
                raise LimitError(f"the number is too long (more than {MAX_NUMBER_CHARS} characters)", i)
            if m.group(2) and abs(int(m.group(2)[1:])) > MAX_DECIMAL_EXPONENT:
                raise LimitError("the number is too large", i)
            tokens.append(Token("num", m.group(0), i))
            i = m.end()
            continue
        if ch == "√":
            tokens.append(Token("name", "sqrt", i))
            i += 1
            continue
        if _is_name_start(ch):
            j = i + 1
            while j < n and (text[j].isalpha() or text[j].isdecimal() or text[j] == "_"):
                if text[j] == "_" and j + 1 < n and text[j + 1] == "{":
                    break
                j += 1
            name = text[i:j]
            if j + 1 < n and text[j] == "_" and text[j + 1] == "{":
                close = text.find("}", j + 2)
                inner = text[j + 2:close] if close > 0 else ""
                if close < 0 or not re.fullmatch(r"[A-Za-z0-9, ]+", inner):
                    raise ExpressionError("a subscript in braces must hold letters and digits", j)
                name = f"{name}_{inner.replace(',', '').replace(' ', '')}"
                j = close + 1
            tokens.append(Token("name", _ascii_name(name), i))
            i = j
            continue
        if ch == "'":
            raise ExpressionError("unexpected \"'\" (primes and quotes are not understood)", i,
                                  "write a derivative out, e.g. sigmoid(x)*(1 - sigmoid(x))")
        if ch == "!":
            raise ExpressionError("factorials (!) are not supported", i)
        raise ExpressionError(f'unexpected character "{ch}"', i)
    tokens.append(Token("end", "", n))
    return tokens


def _ascii_name(name: str) -> str:
    if name in GREEK:
        return GREEK[name]
    if name[0] in GREEK and (len(name) == 1 or name[1] == "_"):
        return GREEK[name[0]] + name[1:]
    return name


class Parser:
    """Recursive descent with precedence climbing; one instance per text.

    The LaTeX front end (``grader.expr.latex``) subclasses it: it feeds its own tokens and adds the
    commands (``\\frac``, ``\\sqrt``, ``\\sum``, ``cases``) in ``primary``.
    """

    #: token kinds that can start a factor written right after another one (``2x``, ``x(1-x)``)
    FACTOR_KINDS: frozenset[str] = frozenset({"num", "open"})

    def __init__(self, tokens: list[Token], symbols: Collection[str] | None,
                 indices: Mapping[str, tuple[int, int]] | None = None) -> None:
        self.tokens = tokens
        self.i = 0
        self.symbols = None if symbols is None else set(symbols)
        self.indices = dict(indices or {})
        self.abs_depth = 0
        self.depth = 0

    # -- token helpers -------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def expect(self, kind: str, text: str | None = None, what: str = "") -> Token:
        t = self.tok
        if t.kind != kind or (text is not None and t.text != text):
            wanted = what or (f'"{text}"' if text else kind)
            found = "the end of the answer" if t.kind == "end" else f'"{t.text}"'
            raise ExpressionError(f"expected {wanted} but found {found}", t.pos)
        return self.advance()

    def enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LimitError(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)", pos)

    # -- grammar -------------------------------------------------------------------------------
    def parse(self) -> Expr:
        if self.tok.kind == "end":
            raise ExpressionError("the answer is empty")
        expr = self.conditional()
        if self.tok.kind != "end":
            t = self.tok
            if t.kind == "close":
                raise ExpressionError(f'unmatched closing bracket "{t.text}"', t.pos)
            raise ExpressionError(f'unexpected "{t.text}"', t.pos)
        return expr

    def conditional(self) -> Expr:
        """``a if cond else b`` (lowest precedence, right-associative)."""
        start = self.tok.pos
        value = self.additive()
        if self.tok.kind == "name" and self.tok.text == "if":
            self.advance()
            cond = self.condition()
            self.expect("name", "else", what='"else"')
            other = self.conditional()
            if isinstance(other, Piecewise):
                return Piecewise(((value, cond), *other.pieces), start)
            return Piecewise(((value, cond), (other, None)), start)
        return value

    def condition(self) -> Cond:
        parts = [self.comparison()]
        op = None
        while self.tok.kind == "name" and self.tok.text in ("and", "or"):
            this = self.advance().text
            if op is not None and this != op:
                raise ExpressionError("mixing 'and' with 'or' needs brackets", self.tokens[self.i - 1].pos)
            op = this
            parts.append(self.comparison())
        if op is None:
            return parts[0]
        return Logic(op, tuple(parts), parts[0].pos)

    def comparison(self) -> Cond:
        start = self.tok.pos
        if self.tok.kind == "open" and self._is_bracketed_condition():
            self.advance()
            inner = self.condition()
            self.expect("close", what="a closing bracket")
            return inner
        left = self.additive()
        if self.tok.kind != "cmp":
            raise ExpressionError("expected a comparison such as x > 0", self.tok.pos)
        chain: list[Cond] = []
        while self.tok.kind == "cmp":
            op = self.advance().text
            right = self.additive()
            chain.append(Compare(op, left, right, start))
            left = right
        return chain[0] if len(chain) == 1 else Logic("and", tuple(chain), start)

    def _is_bracketed_condition(self) -> bool:
        """Whether the bracket at the cursor encloses a whole condition (it holds a comparison)."""
        level = 0
        for t in self.tokens[self.i:]:
            if t.kind == "open":
                level += 1
            elif t.kind == "close":
                level -= 1
                if level == 0:
                    return False
            elif t.kind == "cmp" and level == 1:
                return True
            elif t.kind == "end":
                return False
        return False

    def additive(self) -> Expr:
        first = self.multiplicative()
        rest: list[Link] = []
        while self.tok.kind == "op" and self.tok.text in "+-":
            t = self.advance()
            rest.append((t.text, t.pos, self.multiplicative()))
        return chain(first, rest)

    def multiplicative(self) -> Expr:
        first = self.unary()
        rest: list[Link] = []
        while True:
            t = self.tok
            if t.kind == "op" and t.text in "*/":
                self.advance()
                rest.append((t.text, t.pos, self.unary()))
            elif self._starts_implicit_factor():
                if t.kind == "num" and self.tokens[self.i - 1].kind == "num":
                    raise ExpressionError("two numbers stand side by side; put an operator between them",
                                          t.pos)
                rest.append(("*", t.pos, self.power()))
            else:
                return chain(first, rest)

    def _starts_implicit_factor(self) -> bool:
        t = self.tok
        if t.kind in self.FACTOR_KINDS:
            return True
        if t.kind == "bar":
            return self.abs_depth == 0
        return t.kind == "name" and t.text not in ("if", "else", "and", "or")

    def unary(self) -> Expr:
        t = self.tok
        if t.kind == "op" and t.text in "+-":
            self.enter(t.pos)
            self.advance()
            arg = self.unary()
            self.depth -= 1
            return arg if t.text == "+" else Neg(arg, t.pos)
        return self.power()

    def power(self) -> Expr:
        base = self.primary()
        if self.tok.kind == "op" and self.tok.text == "^":
            t = self.advance()
            self.enter(t.pos)
            signed = self.tok.kind == "num" or (self.tok.kind == "op" and self.tok.text in "+-")
            exponent = self.unary()
            if signed and self._is_euler(base):
                exponent = self._absorb_exponent(exponent)
            self.depth -= 1
            return checked_power(base, exponent, t.pos)
        return base

    def _is_euler(self, base: Expr) -> bool:
        return isinstance(base, Sym) and base.name == "e" and (self.symbols is None or "e" not in self.symbols)

    def _absorb_exponent(self, exponent: Expr) -> Expr:
        """``e^-2x`` is ``e^(-2x)`` and ``e^2x`` is ``e^(2x)``: an exponential's superscript, as written by hand.

        Only names and numbers written right against the exponent join it; ``e^-x (1 - x)`` and
        ``e^-x(1-x)`` keep the bracket outside, as students mean.
        """
        while True:
            prev, t = self.tokens[self.i - 1], self.tok
            adjacent = t.pos == prev.pos + len(prev.text)
            if not adjacent or t.kind not in ("num", "name") or t.text in ("if", "else", "and", "or"):
                return exponent
            if t.kind == "name" and library.lookup(t.text) is not None and not (
                    self.symbols is not None and t.text in self.symbols):
                return exponent
            exponent = BinOp("*", exponent, self.power(), t.pos)

    def primary(self) -> Expr:
        t = self.tok
        if t.kind == "num":
            self.advance()
            return Num(Fraction(t.text), t.pos)
        if t.kind == "open":
            self.advance()
            self.enter(t.pos)
            saved_abs, self.abs_depth = self.abs_depth, 0
            inner = self.conditional()
            self.abs_depth = saved_abs
            self.depth -= 1
            close = self.tok
            if close.kind != "close":
                raise ExpressionError(f'bracket "{t.text}" is never closed', t.pos)
            if close.text != _CLOSE[t.text]:
                raise ExpressionError(f'bracket "{t.text}" is closed by "{close.text}"', close.pos)
            self.advance()
            return inner
        if t.kind == "bar":
            self.advance()
            self.enter(t.pos)
            self.abs_depth += 1
            inner = self.additive()
            self.abs_depth -= 1
            self.depth -= 1
            if self.tok.kind != "bar":
                raise ExpressionError('absolute value bar "|" is never closed', t.pos)
            self.advance()
            return Call("abs", (inner,), t.pos)
        if t.kind == "name":
            return self.name()
        if t.kind == "end":
            raise ExpressionError("the answer ends too early", t.pos)
        raise ExpressionError(f'unexpected "{t.text}"', t.pos)

    def name(self) -> Expr:
        t = self.advance()
        name = t.text
        nxt = self.tok
        declared = self.symbols is not None and name in self.symbols
        if name.lower() == "piecewise" and nxt.kind == "open":
            return self.piecewise(t.pos)
        if name == "sum" and nxt.kind == "open" and not declared:
            return self.summation(t.pos)
        func = None if declared else library.lookup(name)
        if func is not None:
            return self.call(func, t)
        is_call = nxt.kind == "open" and nxt.text == "("
        if is_call and self.symbols is None:
            raise ExpressionError(f'unknown function "{name}"', t.pos, self._suggest(name, functions=True),
                                  kind="unknown_function", name=name)
        if self.symbols is None or declared or name in library.CONSTANTS:
            return Sym(name, t.pos)
        resolved = self._resolve(name, t.pos)
        if resolved is not None:
            return resolved
        # k(k-1) is a product with an undeclared k; sigmoidd(x) is a misspelt function
        is_call = is_call and (len(name) > 1 or self._suggest(name, functions=True) is not None)
        kind = "function" if is_call else "name"
        raise ExpressionError(f'unknown {kind} "{name}"', t.pos, self._suggest(name, functions=is_call),
                              kind=f"unknown_{kind}", name=name)

    def _resolve(self, name: str, pos: int) -> Expr | None:
        """An undeclared name that still means something: ``y_1`` for ``y1``, ``δ_ij``, ``xy``."""
        assert self.symbols is not None
        bare = name.replace("_", "")
        same = [s for s in self.symbols if s.replace("_", "") == bare]
        if len(same) == 1:
            return Sym(same[0], pos)
        delta = _KRONECKER.match(name)
        if delta is not None:
            first, second = (self._index_arg(p, pos) for p in delta.groups())
            if first is not None and second is not None:
                return Call("KroneckerDelta", (first, second), pos)
        return self._split(name, pos)

    def _index_arg(self, part: str, pos: int) -> Expr | None:
        assert self.symbols is not None
        if part.isdecimal():
            return Num(Fraction(int(part)), pos)
        return Sym(part, pos) if part in self.symbols else None

    def call(self, func: library.Function, t: Token) -> Expr:
        exponent: Expr | None = None
        if self.tok.kind == "op" and self.tok.text == "^":  # tanh^2(x) means tanh(x)^2
            caret = self.advance()
            exponent = self.unary()
            if isinstance(exponent, Neg):
                raise ExpressionError(f"{t.text}^-1 (an inverse function) is not supported", caret.pos)
        if self.tok.kind == "open" and self.tok.text in "([":
            open_tok = self.advance()
            self.enter(open_tok.pos)
            args = [self.conditional()]
            while self.tok.kind == "comma":
                self.advance()
                args.append(self.conditional())
            self.depth -= 1
            closer = _CLOSE[open_tok.text]
            self.expect("close", closer, what=f'"{closer}"')
        elif self._starts_implicit_factor() and self.tok.kind != "open":
            first = self.power()  # ln x, tanh 2x: the argument is the next factor
            factors: list[Link] = []
            while self._starts_implicit_factor() and self.tok.kind != "open":
                at = self.tok.pos
                factors.append(("*", at, self.power()))
            args = [chain(first, factors)]
        else:
            raise ExpressionError(f'function "{t.text}" needs an argument in brackets', t.pos)
        if len(args) < func.min_args or (func.max_args is not None and len(args) > func.max_args):
            raise ExpressionError(f'function "{t.text}" takes {_arity(func)}, not {len(args)}', t.pos)
        result: Expr = Call(func.name, tuple(args), t.pos)
        if exponent is not None:
            result = checked_power(result, exponent, t.pos)
        return result

    def piecewise(self, pos: int) -> Expr:
        self.expect("open", "(")
        pieces: list[tuple[Expr, Cond | None]] = []
        while True:
            self.expect("open", "(", what='"(" to start a (value, condition) pair')
            value = self.additive()
            self.expect("comma", what='"," between value and condition')
            cond: Cond | None
            if self.tok.kind == "name" and self.tok.text in ("True", "otherwise"):
                self.advance()
                cond = None
            else:
                cond = self.condition()
            self.expect("close", ")", what='")"')
            pieces.append((value, cond))
            if self.tok.kind != "comma":
                break
            self.advance()
        self.expect("close", ")", what='")"')
        return Piecewise(tuple(pieces), pos)

    def summation(self, pos: int) -> Expr:
        self.expect("open", "(")
        body = self.additive()
        self.expect("comma", what='"," after the summand')
        index = self.expect("name", what="the summation index").text
        self.expect("comma", what='"," after the index')
        lo = self.additive()
        self.expect("comma", what='"," after the lower bound')
        hi = self.additive()
        self.expect("close", ")", what='")"')
        return Sum(body, index, lo, hi, pos)

    # -- names ---------------------------------------------------------------------------------
    def _split(self, name: str, pos: int) -> Expr | None:
        """Read an undeclared run of letters as a product of declared names: ``xy`` is ``x*y``."""
        assert self.symbols is not None
        known = sorted(self.symbols | set(library.CONSTANTS), key=len, reverse=True)
        parts: list[str] = []
        rest = name
        while rest:
            for k in known:
                if rest.startswith(k):
                    parts.append(k)
                    rest = rest[len(k):]
                    break
            else:
                return None
        if len(parts) < 2:
            return None
        result: Expr = Sym(parts[0], pos)
        for p in parts[1:]:
            result = BinOp("*", result, Sym(p, pos), pos)
        return result

    def _suggest(self, name: str, functions: bool) -> str | None:
        if not functions:
            same = sorted(s for s in self.symbols or () if s.lower() == name.lower())
            if same:
                return f"did you mean {same[0]}?"
        pool = set(library.known_names()) if functions else set(self.symbols or ()) | set(library.known_names())
        close = difflib.get_close_matches(name.lower(), sorted(pool), n=1, cutoff=0.6)
        return f"did you mean {close[0]}?" if close else None


def _arity(func: library.Function) -> str:
    if func.max_args is None:
        return f"at least {func.min_args} arguments"
    if func.min_args == func.max_args:
        return f"{func.min_args} argument{'s' if func.min_args != 1 else ''}"
    return f"{func.min_args} to {func.max_args} arguments"


def parse(text: str, symbols: Collection[str] | None = None, max_length: int = MAX_LENGTH,
          indices: Mapping[str, tuple[int, int]] | None = None) -> Expr:
    """Parse ``text`` into an expression tree.

    ``symbols`` are the names the text may use besides the function library and the constants
    ``e`` and ``pi``; ``None`` allows any name (the caller then checks names itself, as the problem
    loader does, to name the field in its message). With ``symbols`` given, an undeclared name is
    read as a declared one written with or without underscores (``y_1`` for ``y1``), as a Kronecker
    delta of declared indices (``delta_ij``), or as a product of declared names (``xy``).
    """
    return check_depth(Parser(tokenize(text, max_length), symbols, indices).parse())


# the names other modules have imported them by
_checked_power = checked_power
_constant_value = constant_value
