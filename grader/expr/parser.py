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
from grader.expr.notation import EMPTY, Notation, derivative_name

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
_LOG_BASE = re.compile(r"^(?:log_([A-Za-z0-9]+)|log([0-9]+))$")
#: f^-1 written for the inverse function
INVERSES = {"sin": "asin", "cos": "acos", "tan": "atan", "sinh": "asinh", "cosh": "acosh", "tanh": "atanh"}
MAX_FACTORIAL = 170  # n! of a constant n above this is refused (no float holds 171!)


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
            tokens.append(Token("prime", ch, i))
            i += 1
            continue
        if ch == "!":
            tokens.append(Token("op", "!", i))
            i += 1
            continue
        if ch == "∂":
            tokens.append(Token("partial", ch, i))
            i += 1
            continue
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
    FACTOR_KINDS: frozenset[str] = frozenset({"num", "open", "partial"})
    PRIME_MESSAGE = "unexpected \"'\" (primes and quotes are not understood)"
    PRIME_HINT = "write a derivative out, e.g. sigmoid(x)*(1 - sigmoid(x))"

    def __init__(self, tokens: list[Token], symbols: Collection[str] | None,
                 indices: Mapping[str, tuple[int, int | str]] | None = None,
                 notation: Notation | None = None) -> None:
        self.tokens = tokens
        self.i = 0
        self.symbols = None if symbols is None else set(symbols)
        self.indices = dict(indices or {})
        self.notation = notation or EMPTY
        self.abs_depth = 0
        self.depth = 0
        # the last run of letters read as a product (``xe`` in ``xe^{-x}``): the product, all but its last
        # factor, and the last factor, so that an exponent or ! written after the run binds to its last letter
        self.run: tuple[Expr, Expr, Expr] | None = None

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
        for k, t in enumerate(self.tokens):  # a prime only follows an unknown function (g'(w)) or a prime
            if t.kind == "prime":
                before = self.tokens[k - 1] if k else None
                if before is None or not (before.kind == "prime" or (
                        before.kind == "name" and self.notation.is_function(before.text) and not self._declared_name(
                            before.text))):
                    raise ExpressionError(self.PRIME_MESSAGE, t.pos, self.PRIME_HINT)
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

    def _declared_name(self, name: str) -> bool:
        return self.symbols is not None and name in self.symbols

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
        base = self.postfix(self.primary())
        if self.tok.kind == "op" and self.tok.text == "^":
            t = self.advance()
            head, base = self.split_run(base)
            self.enter(t.pos)
            signed = self.tok.kind == "num" or (self.tok.kind == "op" and self.tok.text in "+-")
            exponent = self.unary()
            if signed and self._is_euler(base):
                exponent = self._absorb_exponent(exponent)
            self.depth -= 1
            return self.join_run(head, checked_power(base, exponent, t.pos))
        return base

    def split_run(self, base: Expr) -> tuple[Expr | None, Expr]:
        """``(x, e)`` for the run ``xe`` just read: an exponent written after a run binds to its last letter."""
        if self.run is not None and self.run[0] is base:
            _, head, last = self.run
            self.run = None
            return head, last
        return None, base

    @staticmethod
    def join_run(head: Expr | None, tail: Expr) -> Expr:
        return tail if head is None else BinOp("*", head, tail, head.pos)

    def postfix(self, base: Expr) -> Expr:
        """``n!``, ``(n - 1)!``: the factorial of what stands before the ``!`` (its last letter, after a run)."""
        while self.tok.kind == "op" and self.tok.text == "!":
            t = self.advance()
            if self.tok.kind == "op" and self.tok.text == "!":
                raise ExpressionError("double factorials (!!) are not supported", self.tok.pos)
            head, arg = self.split_run(base)
            base = self.join_run(head, checked_factorial(arg, t.pos))
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
            self.run = None  # (xy)^2: the bracket closes the run
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
            self.run = None
            self.abs_depth -= 1
            self.depth -= 1
            if self.tok.kind != "bar":
                raise ExpressionError('absolute value bar "|" is never closed', t.pos)
            self.advance()
            return Call("abs", (inner,), t.pos)
        if t.kind == "name":
            return self.name()
        if t.kind == "partial":
            found = self.leibniz(self.i, "/")
            if found is not None:
                return found
            raise ExpressionError("derivative notation is not an answer; write the derivative out", t.pos,
                                  kind="unsupported")
        if t.kind == "end":
            raise ExpressionError("the answer ends too early", t.pos)
        if t.kind == "prime":
            raise ExpressionError(self.PRIME_MESSAGE, t.pos, self.PRIME_HINT)
        raise ExpressionError(f'unexpected "{t.text}"', t.pos)

    # -- unknown functions (SPEC 6.8) ----------------------------------------------------------------
    def unknown_call(self, t: Token) -> Expr:
        """``g(w)``, ``g``, ``g'(w)``, ``g''``: a call of a declared unknown function or of its derivative."""
        name = t.text
        params = self.notation.functions[name]
        primes = 0
        while self.tok.kind == "prime":
            self.advance()
            primes += 1
        if primes and len(params) != 1:
            raise ExpressionError(f"{name} has {len(params)} parameters; write which one the derivative is by, "
                                  f"e.g. d{name}/d{params[0]}", t.pos)
        args = self.unknown_args(name, t)
        func = derivative_name(name, params * primes, params) if primes else name
        return Call(func, args, t.pos)

    def arguments(self) -> list[Expr]:
        """The comma-separated arguments after an opening bracket (the caller reads the closing one)."""
        open_tok = self.advance()
        self.enter(open_tok.pos)
        args = [self.conditional()]
        while self.tok.kind == "comma":
            self.advance()
            args.append(self.conditional())
        self.depth -= 1
        return args

    def unknown_args(self, name: str, t: Token) -> tuple[Expr, ...]:
        params = self.notation.functions[name]
        if not (self.tok.kind == "open" and self.tok.text == "("):
            return tuple(Sym(p, t.pos) for p in params)  # g alone is g(w)
        args = self.arguments()
        self.expect("close", ")", what='")"')
        if len(args) != len(params):
            raise ExpressionError(f'{name} takes {len(params)} argument{"s" if len(params) != 1 else ""} '
                                  f"({', '.join(params)}), not {len(args)}", t.pos)
        return tuple(args)

    def _differential(self, j: int) -> tuple[str, int] | None:
        """At token ``j``: ``dg``, ``d g`` or ``∂ g`` -> ("g", the token after it)."""
        if j >= len(self.tokens):
            return None
        t = self.tokens[j]
        if t.kind == "partial" or (t.kind == "name" and t.text == "d"):
            nxt = self.tokens[j + 1] if j + 1 < len(self.tokens) else None
            if nxt is not None and nxt.kind == "name":
                return self.notation.rename(_ascii_name(nxt.text)), j + 2
            return None
        if t.kind == "name" and len(t.text) > 1 and t.text[0] == "d" and not self._declared_name(t.text):
            return self.notation.rename(_ascii_name(t.text[1:])), j + 1
        return None

    def _closing(self, j: int) -> int | None:
        """The index of the bracket closing the one at ``j``."""
        level = 0
        for k in range(j, len(self.tokens)):
            kind = self.tokens[k].kind
            if kind == "open":
                level += 1
            elif kind == "close":
                level -= 1
                if level == 0:
                    return k
        return None

    def leibniz(self, j: int, between: str) -> Expr | None:
        """``dg/dw``, ``∂g/∂w``, ``dg(w)/dw`` (``between`` "/") or the numerator and denominator groups of
        ``\frac{dg}{dw}`` (``between`` "frac", ``j`` at the numerator's brace), for a declared unknown g.

        Returns the derivative's call with the cursor after it, or None (cursor unmoved) if it is not one."""
        if not self.notation.functions:
            return None
        tokens = self.tokens
        if between == "frac":
            if tokens[j].kind != "open":
                return None
            numerator_end = self._closing(j)
            if numerator_end is None:
                return None
            j += 1
        top = self._differential(j)
        if top is None or not self.notation.is_function(top[0]) or self._declared_name(top[0]):
            return None
        name, j = top
        params = self.notation.functions[name]
        args_at = None
        if tokens[j].kind == "open" and tokens[j].text == "(":
            args_at = j
            close = self._closing(j)
            if close is None:
                return None
            j = close + 1
        if between == "frac":
            if j != numerator_end or tokens[j + 1].kind != "open":
                return None
            end = self._closing(j + 1)
            j += 2
        else:
            if not (tokens[j].kind == "op" and tokens[j].text == "/"):
                return None
            j += 1
        bottom = self._differential(j)
        if bottom is None or bottom[0] not in params:
            return None
        wrt, j = bottom
        if between == "frac":
            if j != end:
                return None
            j += 1
        start = tokens[self.i]
        if args_at is not None:
            self.i = args_at
            args = self.unknown_args(name, start)
        else:
            args = tuple(Sym(p, start.pos) for p in params)
        self.i = j
        return Call(derivative_name(name, (wrt,), params), args, start.pos)

    def name(self) -> Expr:
        t = self.advance()
        name = t.text
        nxt = self.tok
        declared = self.symbols is not None and name in self.symbols
        if name.lower() == "piecewise" and nxt.kind == "open":
            return self.piecewise(t.pos)
        if name == "sum" and nxt.kind == "open" and not declared:
            return self.summation(t.pos)
        if not declared and name[0] == "d":
            self.i -= 1
            found = self.leibniz(self.i, "/")
            if found is not None:
                return found
            self.i += 1
        if not declared and self.notation.is_function(name):
            return self.unknown_call(t)
        if declared and name in self.notation.valued and nxt.kind == "open" and nxt.text == "(":
            # sigma defined as sigmoid(x): sigma(x) is still the call, sigma(1 - sigma) the product
            func = library.lookup(name)
            if func is not None and not self._bracket_mentions(name):
                return self.call(func, t)
        func = None if declared else library.lookup(name)
        if func is not None:
            return self.call(func, t)
        if not declared:
            base = self._log_base(name, t.pos)
            if base is not None:
                return self.call(library.FUNCTIONS["log"], t, base)
        indexed = self._bracket_index(name, t)
        if indexed is not None:
            return indexed
        is_call = nxt.kind == "open" and nxt.text == "("
        if is_call and self.symbols is None:
            raise ExpressionError(f'unknown function "{name}"', t.pos, self._suggest(name, functions=True),
                                  kind="unknown_function", name=name)
        if self.symbols is None or declared or name in library.CONSTANTS:
            return Sym(name, t.pos)
        resolved = self._resolve(name, t.pos)
        if resolved is not None:
            return resolved
        run = self._run_with_function(name, t)
        if run is not None:
            return run
        # k(k-1) is a product with an undeclared k; sigmoidd(x) is a misspelt function
        is_call = is_call and (len(name) > 1 or self._suggest(name, functions=True) is not None)
        kind = "function" if is_call else "name"
        raise ExpressionError(f'unknown {kind} "{name}"', t.pos, self._suggest(name, functions=is_call),
                              kind=f"unknown_{kind}", name=name)

    def _bracket_mentions(self, name: str) -> bool:
        """Whether the bracket at the cursor holds ``name`` (``sigma(1 - sigma)``: a product, not a call)."""
        close = self._closing(self.i)
        end = close if close is not None else len(self.tokens)
        return any(t.kind == "name" and t.text == name for t in self.tokens[self.i + 1:end])

    def _log_base(self, name: str, pos: int) -> Expr | None:
        """The base of ``log_2``, ``log_{10}``, ``log_b``, ``log10`` (a number or a declared name), else None."""
        m = _LOG_BASE.match(name)
        if m is None:
            return None
        base = m.group(1) or m.group(2)
        if base.isdecimal():
            return Num(Fraction(int(base)), pos)
        if base == "e" and not self._declared_name("e"):
            return Sym("e", pos)
        if self.symbols is None or base in self.symbols:
            return Sym(base, pos)
        return None

    def _bracket_index(self, name: str, t: Token) -> Expr | None:
        """``epsilon[0]``, ``w[1,2]``: square brackets after a name holding only an index are its index
        (``epsilon_0``); ``x[1 - x]`` is still a product."""
        nxt = self.tok
        if not (nxt.kind == "open" and nxt.text == "["):
            return None
        parts: list[str] = []
        j = self.i + 1
        while j < len(self.tokens):
            part = self.tokens[j]
            if part.kind not in ("num", "name") or not re.fullmatch(r"[0-9]+|[A-Za-z]", part.text):
                return None
            parts.append(part.text)
            following = self.tokens[j + 1]
            if following.kind == "comma":
                j += 2
                continue
            if following.kind == "close" and following.text == "]":
                break
            return None
        else:
            return None
        indexed = f"{name}_{''.join(parts)}"
        self.i = j + 2
        if self.symbols is None or indexed in self.symbols:
            return Sym(indexed, t.pos)
        resolved = self._resolve(indexed, t.pos) if "_" not in name else None
        if isinstance(resolved, Sym):
            return resolved
        raise ExpressionError(f'"{name}[{",".join(parts)}]" reads as the indexed name {indexed}, which is not part '
                              "of this problem", t.pos, kind="unknown_name", name=indexed)

    def _run_with_function(self, name: str, t: Token) -> Expr | None:
        """A run of declared letters ending in a function name: ``xσ(wx+b)`` is ``x*σ(w*x+b)``."""
        assert self.symbols is not None
        for cut in range(1, len(name)):
            head, tail = name[:cut], _ascii_name(name[cut:])
            func = library.lookup(tail)
            unknown = self.notation.is_function(tail)
            valued = tail in self.notation.valued
            if (func is None and not unknown) or (tail in self.symbols and not valued):
                continue
            if head in self.symbols:
                left: Expr | None = Sym(head, t.pos)
            else:
                left = self._resolve(head, t.pos)
            if left is None:
                continue
            self.run = None
            tail_token = Token("name", tail, t.pos + cut)
            right: Expr
            if unknown:
                right = self.unknown_call(tail_token)
            elif valued and not (self.tok.kind == "open" and self.tok.text == "(" and not self._bracket_mentions(tail)):
                right = Sym(tail, tail_token.pos)  # xσ with σ defined: x times its value
            else:
                right = self.call(func, tail_token)  # type: ignore[arg-type]
            return BinOp("*", left, right, t.pos)
        return None

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

    def call(self, func: library.Function, t: Token, extra: Expr | None = None) -> Expr:
        """A library function's call; ``extra`` is a last argument given in its name (the base of ``log_2``)."""
        exponent: Expr | None = None
        if self.tok.kind == "op" and self.tok.text == "^":  # tanh^2(x) means tanh(x)^2
            caret = self.advance()
            exponent = self.unary()
            if isinstance(exponent, Neg):
                inverse = INVERSES.get(func.name)
                if inverse is None or exponent.arg != Num(Fraction(1)):
                    raise ExpressionError(f"{t.text}^-1 (an inverse function) is not supported", caret.pos)
                func, exponent = library.FUNCTIONS[inverse], None  # tan^-1(x) is atan(x)
        if self.tok.kind == "open" and self.tok.text in "([{":
            open_tok = self.tok
            args = self.arguments()
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
        if extra is not None:
            args.append(extra)
        if func.name == "softmax" and len(args) == 1:
            return self._softmax(args[0], t)
        if len(args) < func.min_args or (func.max_args is not None and len(args) > func.max_args):
            hint = None
            if func.name in ("max", "min") and len(args) == 1:
                hint = f"{func.name} compares two or more values, e.g. {func.name}(0, x)"
            raise ExpressionError(f'function "{t.text}" takes {_arity(func)}, not {len(args)}', t.pos, hint)
        result: Expr = Call(func.name, tuple(args), t.pos)
        if func.name == "factorial":
            result = checked_factorial(args[0], t.pos)
        if exponent is not None:
            result = checked_power(result, exponent, t.pos)
        return result

    def _softmax(self, arg: Expr, t: Token) -> Expr:
        """``softmax(z_j)`` for an indexed variable z: ``exp(z_j)/(exp(z_1) + ... + exp(z_n))``."""
        if isinstance(arg, Sym):
            for family, elements in self.notation.families.items():
                if arg.name.startswith(family + "_") and elements:
                    total: Expr = Call("exp", (Sym(elements[0], t.pos),), t.pos)
                    for e in elements[1:]:
                        total = BinOp("+", total, Call("exp", (Sym(e, t.pos),), t.pos), t.pos)
                    return BinOp("/", Call("exp", (arg,), t.pos), total, t.pos)
        raise ExpressionError('function "softmax" takes at least 2 arguments, not 1', t.pos,
                              "softmax(z_j) alone is understood only for an indexed variable z of the problem")

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
        head: Expr = Sym(parts[0], pos)
        for p in parts[1:-1]:
            head = BinOp("*", head, Sym(p, pos), pos)
        last = Sym(parts[-1], pos)
        result = BinOp("*", head, last, pos)
        self.run = (result, head, last)
        return result

    def _suggest(self, name: str, functions: bool) -> str | None:
        if not functions:
            same = sorted(s for s in self.symbols or () if s.lower() == name.lower())
            if same:
                return f"did you mean {same[0]}?"
        pool = set(library.known_names()) if functions else set(self.symbols or ()) | set(library.known_names())
        close = difflib.get_close_matches(name.lower(), sorted(pool), n=1, cutoff=0.6)
        return f"did you mean {close[0]}?" if close else None


def checked_factorial(arg: Expr, pos: int) -> Expr:
    """``factorial(arg)``, refused when ``arg`` is a constant too large for its factorial to be held."""
    value = constant_value(arg)
    if value is not None and not abs(value) <= MAX_FACTORIAL:
        raise LimitError(f"the factorial is too large (at most {MAX_FACTORIAL}!)", pos)
    return Call("factorial", (arg,), pos)


def _arity(func: library.Function) -> str:
    if func.max_args is None:
        return f"at least {func.min_args} arguments"
    if func.min_args == func.max_args:
        return f"{func.min_args} argument{'s' if func.min_args != 1 else ''}"
    return f"{func.min_args} to {func.max_args} arguments"


def parse(text: str, symbols: Collection[str] | None = None, max_length: int = MAX_LENGTH,
          indices: Mapping[str, tuple[int, int | str]] | None = None, notation: Notation | None = None) -> Expr:
    """Parse ``text`` into an expression tree.

    ``symbols`` are the names the text may use besides the function library and the constants
    ``e`` and ``pi``; ``None`` allows any name (the caller then checks names itself, as the problem
    loader does, to name the field in its message). With ``symbols`` given, an undeclared name is
    read as a declared one written with or without underscores (``y_1`` for ``y1``), as a Kronecker
    delta of declared indices (``delta_ij``), or as a product of declared names (``xy``).
    """
    tokens = tokenize(text, max_length)
    if notation is not None:
        tokens = notation.rewrite(tokens, tokenize, "plain")
    return check_depth(Parser(tokens, symbols, indices, notation).parse())


# the names other modules have imported them by
_checked_power = checked_power
_constant_value = constant_value
