"""A parser for the LaTeX students type: ``\\frac{1}{1+e^{-x}}``, ``\\sigma(x)\\left(1-\\sigma(x)\\right)``.

It has its own tokenizer (LaTeX commands, groups, subscripts, ``&`` and ``\\\\`` of a ``cases``
environment) and reuses the plain-text grammar of ``grader.expr.parser`` for everything else, so both
front ends produce the same tree and obey the same limits. Nothing is handed to another parser or
evaluated: unknown commands are refused with their column.

Understood: ``\\frac \\dfrac \\tfrac``, ``\\sqrt`` (and ``\\sqrt[n]``), ``\\sum_{k=1}^{n}``, ``\\cdot \\times``,
``\\left( \\right)`` and the other sizing commands, ``\\exp \\log \\ln \\tanh \\max \\min``,
``\\operatorname{..} \\mathrm{..} \\text{..}``, Greek letters, ``\\hat{y}``, ``\\delta_{ij}``,
``\\mathbb{1}_{x>0}``, ``\\le \\ge \\ne``, and ``\\begin{cases} .. & .. \\\\ .. \\end{cases}``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from fractions import Fraction

from grader.expr import library
from grader.expr.build import check_depth, checked_power
from grader.expr.errors import ExpressionError, LimitError
from grader.expr.nodes import ONE, ZERO, BinOp, Call, Cond, Expr, Num, Piecewise, Sum, Sym
from grader.expr.notation import Notation
from grader.expr.parser import _SAME, GREEK, MAX_DEPTH, MAX_LENGTH, MAX_NUMBER_CHARS, Parser, Token

_SKIP = {
    "left", "right", "bigl", "bigr", "Bigl", "Bigr", "big", "Big", "bigg", "Bigg", "biggl", "biggr",
    "Biggl", "Biggr", "middle", "displaystyle", "textstyle", "scriptstyle", "limits", "nolimits", "quad",
    "qquad", "mathstrut", "strut", "phantom",
}
_SIZING = {"left", "right", "bigl", "bigr", "Bigl", "Bigr", "big", "Big", "bigg", "Bigg", "biggl", "biggr",
           "Biggl", "Biggr", "middle"}
_GREEK_COMMANDS = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
    "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi",
    "psi", "omega",
}
_FUNCTION_COMMANDS = {"exp", "log", "ln", "tanh", "sinh", "cosh", "sin", "cos", "max", "min", "sgn", "sech", "tan",
                      "sec", "csc", "cot", "arcsin", "arccos", "arctan"}
_TEXT_COMMANDS = {
    "operatorname", "mathrm", "text", "textrm", "mathit", "textit", "mathsf", "textsf", "mathbf", "textbf",
    "mbox", "mathtt", "texttt", "boldsymbol", "bm", "textnormal", "mathbb",
}
_DECORATIONS = {"hat": "hat", "widehat": "hat", "bar": "bar", "overline": "bar", "tilde": "tilde",
                "widetilde": "tilde", "vec": "vec", "dot": "dot"}
_SIMPLE = {
    "cdot": ("op", "*"), "times": ("op", "*"), "ast": ("op", "*"), "cdotp": ("op", "*"), "div": ("op", "/"),
    "le": ("cmp", "<="), "leq": ("cmp", "<="), "leqslant": ("cmp", "<="), "lt": ("cmp", "<"),
    "ge": ("cmp", ">="), "geq": ("cmp", ">="), "geqslant": ("cmp", ">="), "gt": ("cmp", ">"),
    "ne": ("cmp", "!="), "neq": ("cmp", "!="), "land": ("name", "and"), "wedge": ("name", "and"),
    "lor": ("name", "or"), "vee": ("name", "or"), "lvert": ("bar", "|"), "rvert": ("bar", "|"),
    "vert": ("bar", "|"), "lbrace": ("open", "("), "rbrace": ("close", ")"), "lbrack": ("open", "["),
    "rbrack": ("close", "]"), "lparen": ("open", "("), "rparen": ("close", ")"),
    "frac": ("cmd", "frac"), "dfrac": ("cmd", "frac"), "tfrac": ("cmd", "frac"), "cfrac": ("cmd", "frac"),
    "sqrt": ("cmd", "sqrt"), "sum": ("cmd", "sum"), "binom": ("cmd", "binom"), "dbinom": ("cmd", "binom"),
    "tbinom": ("cmd", "binom"), "partial": ("partial", "∂"), "prime": ("prime", "'"),
}
_REFUSED = {
    "nabla": "derivative notation is not an answer; write the derivative out",
    "infty": "infinity is not a value",
    "prod": "products with \\prod are not supported; write the factors out",
    "int": "integrals are not supported",
    "pm": "\\pm gives two answers; give one",
    "mp": "\\mp gives two answers; give one",
}
_CONDITION_WORDS = {"if", "for", "when", "where", "whenever"}
_OTHERWISE_WORDS = {"otherwise", "else", "elsewhere", "ow", "True"}
_KNOWN_COMMANDS = sorted({*_SKIP, *_GREEK_COMMANDS, *_FUNCTION_COMMANDS, *_TEXT_COMMANDS, *_DECORATIONS,
                          *_SIMPLE, "begin", "end"})
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")
_WORD = re.compile(r"[A-Za-z0-9_.]+|[^\x00-\x7f]")


def tokenize_latex(text: str, max_length: int = MAX_LENGTH) -> list[Token]:
    """Split LaTeX into tokens of the plain grammar plus ``cmd``, ``sub``, ``amp`` and ``rowsep``."""
    if len(text) > max_length:
        raise LimitError(f"the answer is too long ({len(text)} characters, at most {max_length})")
    return _Tokenizer(text).run()


class _Tokenizer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.tokens: list[Token] = []
        self.depth = 0
        self.envs: list[int] = []

    def run(self) -> list[Token]:
        text, n = self.text, len(self.text)
        while self.i < n:
            ch = text[self.i]
            start = self.i
            if ch.isspace() or ch in "$~":
                self.i += 1
            elif ch == "\\":
                self.command()
            elif ch in "0123456789" or (ch == "." and self.i + 1 < n and text[self.i + 1].isdecimal()):
                m = _NUMBER.match(text, self.i)
                assert m is not None
                if len(m.group(0)) > MAX_NUMBER_CHARS:
                    raise LimitError(f"the number is too long (more than {MAX_NUMBER_CHARS} characters)", start)
                self.add("num", m.group(0), start)
                self.i = m.end()
            elif ch.isascii() and ch.isalpha():
                j = self.i + 1
                while j < n and text[j].isascii() and (text[j].isalpha() or text[j].isdecimal()):
                    j += 1
                self.add("name", text[self.i:j], start)
                self.i = j
            elif ch in GREEK:
                self.add("name", GREEK[ch], start)
                self.i += 1
            elif ch == "_":
                self.subscript()
            elif text.startswith("**", self.i):
                self.add("op", "^", start)
                self.i += 2
            elif ch in "+-*/^":
                self.add("op", ch, start)
                self.i += 1
            elif ch in _SAME:
                mapped = _SAME[ch]
                self.add("cmp" if mapped in ("<=", ">=", "!=") else "op", mapped, start)
                self.i += 1
            elif ch in "<>=!":
                self.comparison()
            elif ch in "([{":
                self.open(ch, start)
            elif ch in ")]}":
                self.close(ch, start)
            elif ch == ",":
                self.add("comma", ",", start)
                self.i += 1
            elif ch == "|":
                self.add("bar", "|", start)
                self.i += 1
            elif ch == "&":
                self.add("amp", "&", start)
                self.i += 1
            elif ch == "'":
                self.add("prime", "'", start)
                self.i += 1
            else:
                raise ExpressionError(f'unexpected character "{ch}"', start)
        self.tokens.append(Token("end", "", n))
        return self.tokens

    # -- pieces ----------------------------------------------------------------------------------
    def add(self, kind: str, text: str, pos: int) -> None:
        self.tokens.append(Token(kind, text, pos))

    def open(self, ch: str, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LimitError(f"brackets are nested too deeply (more than {MAX_DEPTH})", pos)
        self.add("open", ch, pos)
        self.i += 1

    def close(self, ch: str, pos: int) -> None:
        self.depth -= 1
        self.add("close", ch, pos)
        self.i += 1

    def comparison(self) -> None:
        text, start = self.text, self.i
        two = text[start:start + 2]
        if two in ("<=", ">=", "==", "!="):
            self.add("cmp", two, start)
            self.i += 2
        elif text[start] == "!":
            self.add("op", "!", start)
            self.i += 1
        else:
            self.add("cmp", "==" if text[start] == "=" else text[start], start)
            self.i += 1

    def command(self) -> None:
        text, start = self.text, self.i
        if start + 1 >= len(text):
            raise ExpressionError("a backslash ends the answer", start)
        nxt = text[start + 1]
        if not nxt.isalpha():
            self.i += 2
            if nxt in ",;:! ":
                return
            if nxt == "\\":
                self.add("rowsep", "\\\\", start)
            elif nxt == "{":
                self.open("(", start)
                self.i -= 1
            elif nxt == "}":
                self.close(")", start)
                self.i -= 1
            elif nxt in "()[]":
                return  # \( \) \[ \]: math-mode delimiters
            elif nxt == "|":
                raise ExpressionError("norms (\\|) are not supported", start)
            else:
                raise ExpressionError(f'unexpected "\\{nxt}"', start)
            return
        j = start + 1
        while j < len(text) and text[j].isascii() and text[j].isalpha():
            j += 1
        name = text[start + 1:j]
        self.i = j
        if name in _SKIP:
            if name in _SIZING:
                self.skip_spaces()
                if self.i < len(text) and text[self.i] == ".":
                    self.i += 1  # \right. is an empty delimiter
            return
        if name in _SIMPLE:
            kind, value = _SIMPLE[name]
            if kind == "open":
                self.open(value, start)
                self.i -= 1
            elif kind == "close":
                self.close(value, start)
                self.i -= 1
            else:
                self.add(kind, value, start)
            return
        if name in _GREEK_COMMANDS:
            self.add("name", {"varepsilon": "epsilon", "vartheta": "theta", "varphi": "phi"}.get(name, name),
                      start)
        elif name in _FUNCTION_COMMANDS:
            self.add("name", name, start)
        elif name in _TEXT_COMMANDS:
            self.text_command(name, start)
        elif name in _DECORATIONS:
            base = self.decorated_base(start)
            self.add("name", base + _DECORATIONS[name], start)
        elif name in ("begin", "end"):
            env = self.braced_word(start)
            if env not in ("cases", "dcases", "rcases"):
                raise ExpressionError(f'the "{env}" environment is not supported (only cases)', start)
            if name == "begin":
                self.envs.append(start)
                self.add("cmd", "cases", start)
            else:
                if not self.envs:
                    raise ExpressionError("\\end{cases} without \\begin{cases}", start)
                self.envs.pop()
                self.add("cmd", "endcases", start)
        elif name in _REFUSED:
            raise ExpressionError(_REFUSED[name], start, kind="unsupported")
        else:
            swapped = [c for c in _KNOWN_COMMANDS if sorted(c) == sorted(name)]  # \tahn: letters swapped
            close = swapped or difflib.get_close_matches(name, _KNOWN_COMMANDS, n=1, cutoff=0.6)
            raise ExpressionError(f'unknown LaTeX command "\\{name}"', start,
                                  f"did you mean \\{close[0]}?" if close else None, kind="unknown_function",
                                  name="\\" + name)

    def skip_spaces(self) -> None:
        while self.i < len(self.text) and self.text[self.i].isspace():
            self.i += 1

    def braced_word(self, start: int) -> str:
        """The raw content of the ``{...}`` group at the cursor (no nesting inside)."""
        self.skip_spaces()
        if self.i >= len(self.text) or self.text[self.i] != "{":
            raise ExpressionError("expected { after the command", start)
        close = self.text.find("}", self.i)
        if close < 0:
            raise ExpressionError("the { after the command is never closed", self.i)
        content = self.text[self.i + 1:close]
        if "{" in content or "\\" in content:
            raise ExpressionError("this command takes plain letters in its braces", self.i)
        self.i = close + 1
        return content.strip()

    def text_command(self, name: str, start: int) -> None:
        if name == "operatorname" and self.i < len(self.text) and self.text[self.i] == "*":
            self.i += 1
        content = self.braced_word(start)
        if name in ("mathbb", "mathbf", "bm", "boldsymbol") and content == "1":
            self.add("cmd", "indicator", start)
            return
        if content in ("o.w.", "ow", "o.w"):
            self.add("name", "otherwise", start)
            return
        if name == "mathrm" and re.fullmatch(r"[0-9.]+", content):
            self.add("num", content, start)
            return
        for m in _WORD.finditer(content):
            word = m.group(0).strip(".")
            if not word:
                continue
            if word in GREEK:
                word = GREEK[word]
            elif not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", word):
                raise ExpressionError(f'"{word}" in \\{name}{{...}} is not a name', start)
            self.add("name", word, start + 1 + len(name))

    def decorated_base(self, start: int) -> str:
        self.skip_spaces()
        if self.i < len(self.text) and self.text[self.i] == "{":
            content = self.braced_word(start)
        elif self.i < len(self.text):
            content = self.text[self.i]
            self.i += 1
        else:
            content = ""
        if content.startswith("\\") or content.lstrip("\\") in _GREEK_COMMANDS:
            content = content.lstrip("\\")
        if not re.fullmatch(r"[A-Za-z]+", content):
            raise ExpressionError("an accent such as \\hat takes a letter", start)
        return content

    def subscript(self) -> None:
        """Attach ``_i`` / ``_{ij}`` to the name before it, or mark the subscript of ``\\sum`` and ``\\mathbb{1}``."""
        start = self.i
        prev = self.tokens[-1] if self.tokens else None
        self.i += 1
        if prev is not None and prev.kind == "cmd" and prev.text in ("sum", "indicator"):
            self.add("sub", "_", start)
            return
        if prev is None or prev.kind not in ("name", "num"):
            raise ExpressionError("a subscript must follow a name", start)
        self.skip_spaces()
        text = self.text
        if self.i < len(text) and text[self.i] == "{":
            close = text.find("}", self.i)
            inner = text[self.i + 1:close] if close > 0 else ""
            if close < 0 or not re.fullmatch(r"[A-Za-z0-9, ]+", inner):
                raise ExpressionError("a subscript in braces must hold letters and digits", self.i)
            sub = inner.replace(",", "").replace(" ", "")
            self.i = close + 1
        elif self.i < len(text) and text[self.i].isascii() and text[self.i].isalnum():
            sub = text[self.i]
            self.i += 1
        else:
            raise ExpressionError("a subscript must be a letter, a digit or a group in braces", start)
        self.tokens[-1] = Token("name", f"{prev.text}_{sub}", prev.pos)


class LatexParser(Parser):
    """The plain grammar plus LaTeX's commands; ``^`` and ``\\frac`` take one token or one group."""

    FACTOR_KINDS = frozenset({"num", "open", "cmd", "partial"})
    PRIME_MESSAGE = "unexpected \"'\" (primes are not understood)"
    PRIME_HINT = "write the derivative out, e.g. \\sigma(x)(1-\\sigma(x))"

    def parse(self) -> Expr:
        for t in self.tokens:  # before anything else: a stray & or \\\\ is the likeliest mistake
            if t.kind in ("amp", "rowsep") and not any(u.kind == "cmd" and u.text == "cases" for u in self.tokens):
                raise ExpressionError(f'"{t.text}" is only allowed inside \\begin{{cases}} ... \\end{{cases}}',
                                      t.pos)
        return super().parse()

    def primary(self) -> Expr:
        t = self.tok
        if t.kind == "cmd":
            if t.text == "frac":
                found = self.leibniz(self.i + 1, "frac")
                if found is not None:
                    return found
                self.advance()
                num = self.argument()
                den = self.argument()
                return BinOp("/", num, den, t.pos)
            if t.text == "sqrt":
                return self.root()
            if t.text == "binom":
                self.advance()
                n = self.argument()
                return Call("binomial", (n, self.argument()), t.pos)
            if t.text == "sum":
                return self.summation_latex()
            if t.text == "cases":
                return self.cases()
            if t.text == "indicator":
                return self.indicator()
            raise ExpressionError("\\end{cases} without \\begin{cases}", t.pos)
        if t.kind in ("amp", "rowsep"):
            raise ExpressionError(f'"{t.text}" is only allowed inside \\begin{{cases}} ... \\end{{cases}}', t.pos)
        if t.kind == "sub":
            raise ExpressionError("unexpected subscript", t.pos)
        return super().primary()

    def _starts_implicit_factor(self) -> bool:
        t = self.tok
        if t.kind == "name" and (t.text in _CONDITION_WORDS or t.text in _OTHERWISE_WORDS):
            return False
        if t.kind == "cmd" and t.text == "endcases":
            return False
        return super()._starts_implicit_factor()

    def power(self) -> Expr:
        base = self.postfix(self.primary())
        if self.tok.kind == "op" and self.tok.text == "^":
            caret = self.advance()
            head, base = self.split_run(base)
            self.enter(caret.pos)
            # e^-x is not proper LaTeX, but it is meant as e^{-x}
            signed = self.tok.kind == "op" and self.tok.text in "+-"
            exponent = self.unary() if signed else self.argument()
            self.depth -= 1
            return self.join_run(head, checked_power(base, exponent, caret.pos))
        return base

    def argument(self) -> Expr:
        """One argument of ``\\frac`` or ``^``: a group, or a single digit, letter or command."""
        t = self.tok
        if t.kind == "num" and len(t.text) > 1 and t.text[0] != ".":
            self.tokens[self.i] = Token("num", t.text[1:], t.pos + 1)
            return _num(t.text[0])
        if t.kind == "name" and len(t.text) > 1 and not self._is_whole_name(t.text):
            self.tokens[self.i] = Token("name", t.text[1:], t.pos + 1)
            self.tokens.insert(self.i, Token("name", t.text[0], t.pos))
        if self.tok.kind == "end":
            raise ExpressionError("the answer ends too early", self.tok.pos)
        if self.tok.kind == "name" and library.lookup(self.tok.text) is not None and not self._declared():
            return self.name()
        return self.primary()

    def _declared(self) -> bool:
        return self.symbols is not None and self.tok.text in self.symbols

    def _is_whole_name(self, name: str) -> bool:
        if "_" in name or library.lookup(name) is not None or name in library.CONSTANTS:
            return True
        return self.symbols is None or name in self.symbols

    def root(self) -> Expr:
        t = self.advance()
        if self.tok.kind == "open" and self.tok.text == "[":
            self.advance()
            degree = self.additive()
            self.expect("close", "]", what='"]"')
            radicand = self.argument()
            return checked_power(radicand, BinOp("/", ONE, degree, t.pos), t.pos)
        return Call("sqrt", (self.argument(),), t.pos)

    def summation_latex(self) -> Expr:
        t = self.advance()
        if self.tok.kind != "sub":
            raise ExpressionError("\\sum needs its index below it, e.g. \\sum_{k=1}^{n}", t.pos)
        self.advance()
        braced = self.tok.kind == "open" and self.tok.text == "{"
        if braced:
            self.advance()
        index_tok = self.expect("name", what="the summation index")
        index = index_tok.text
        lo: Expr | None = None
        if braced:
            if self.tok.kind == "cmp" and self.tok.text == "==":
                self.advance()
                lo = self.additive()
            self.expect("close", "}", what='"}"')
        hi: Expr | None = None
        if self.tok.kind == "op" and self.tok.text == "^":
            self.advance()
            hi = self.argument()
        if lo is None or hi is None:
            if index not in self.indices:
                raise ExpressionError("give the bounds of the sum, e.g. \\sum_{k=1}^{n}", t.pos)
            low, high = self.indices[index]
            lo = lo if lo is not None else _num(str(low))
            if hi is None:
                hi = Sym(high, t.pos) if isinstance(high, str) else _num(str(high))
        added = self.symbols is not None and index not in self.symbols
        if added:
            assert self.symbols is not None
            self.symbols.add(index)
        try:
            self.enter(t.pos)
            body = self.multiplicative()
            self.depth -= 1
        finally:
            if added:
                assert self.symbols is not None
                self.symbols.discard(index)
        return Sum(body, index, lo, hi, t.pos)

    def cases(self) -> Expr:
        t = self.advance()
        self.enter(t.pos)
        pieces: list[tuple[Expr, Cond | None]] = []
        while True:
            value = self.additive()
            if self.tok.kind == "comma":
                self.advance()
            if self.tok.kind == "amp":
                self.advance()
            while self.tok.kind == "name" and self.tok.text in _CONDITION_WORDS:
                self.advance()
            cond: Cond | None
            if self.tok.kind == "name" and self.tok.text in _OTHERWISE_WORDS:
                self.advance()
                cond = None
            elif self.tok.kind in ("rowsep", "cmd") or self.tok.kind == "end":
                cond = None
            else:
                cond = self.condition()
            if pieces and pieces[-1][1] is None:
                raise ExpressionError("only the last case may be \"otherwise\"", t.pos)
            pieces.append((value, cond))
            if self.tok.kind == "rowsep":
                self.advance()
            if self.tok.kind == "cmd" and self.tok.text == "endcases":
                self.advance()
                break
            if self.tok.kind == "end":
                raise ExpressionError("\\begin{cases} is never closed by \\end{cases}", t.pos)
            if pieces[-1][1] is None:
                raise ExpressionError('expected "\\\\" between the cases', self.tok.pos)
        self.depth -= 1
        return Piecewise(tuple(pieces), t.pos)

    def indicator(self) -> Expr:
        t = self.advance()
        if self.tok.kind == "sub":
            self.advance()
        opener = self.expect("open", what="a condition in brackets after \\mathbb{1}")
        cond = self.condition()
        closer = {"(": ")", "[": "]", "{": "}"}[opener.text]
        self.expect("close", closer, what=f'"{closer}"')
        return Piecewise(((ONE, cond), (ZERO, None)), t.pos)


def _num(text: str) -> Expr:
    return Num(Fraction(text))


def parse_latex(text: str, symbols: Collection[str] | None = None, max_length: int = MAX_LENGTH,
                indices: Mapping[str, tuple[int, int | str]] | None = None, notation: Notation | None = None) -> Expr:
    """Parse LaTeX into the same tree as ``grader.expr.parser.parse``; same ``symbols`` rules."""
    tokens = tokenize_latex(text, max_length)
    if notation is not None:
        tokens = notation.rewrite(tokens, tokenize_latex, "latex")
    return check_depth(LatexParser(tokens, symbols, indices, notation).parse())
