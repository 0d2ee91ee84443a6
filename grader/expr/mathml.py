"""Presentation MathML for an expression tree, in the form it was written (nothing is simplified).

Browsers render MathML natively (MathML Core) and screen readers read it, so a formula a student types
can be shown as mathematics without a JavaScript library: the page sends the text, the safe parser
reads it, and ``to_mathml`` draws the tree. Every piece of text that reaches the markup is escaped.

Brackets are drawn only where the tree needs them (``(a + b)c``), or where the student wrote them
around a product or a negation; ``/`` is drawn as a fraction, ``^`` as a superscript, ``x1`` and
``w_jk`` with subscripts, Greek names as letters, ``abs`` as bars, ``sqrt`` as a radical.
"""

from __future__ import annotations

from fractions import Fraction
from html import escape

from grader.expr.nodes import BinOp, Call, Compare, Cond, Expr, Logic, Neg, Num, Piecewise, Sum, Sym, depth

NAMESPACE = "http://www.w3.org/1998/Math/MathML"
#: deeper trees are refused (the renderer recurses); the parser never builds trees this deep from an answer
MAX_DEPTH = 400
#: numbers with more digits than this are shown as m × 10^k
MAX_PLAIN_DIGITS = 12

# Binding strength of what a piece of markup shows: a piece is bracketed when its context binds tighter.
PIECEWISE, OR, AND, COMPARE, ADD, MUL, NEG, FRAC, POW, ATOM = range(10)

GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "zeta": "ζ", "eta": "η",
    "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π",
    "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
_FUNCTION_NAMES = {"sigmoid": "σ", "log": "log", "KroneckerDelta": "δ", "Heaviside": "H"}
_COMPARE = {"<": "&lt;", "<=": "≤", ">": "&gt;", ">=": "≥", "==": "=", "!=": "≠"}
_APPLY = "<mo>&#x2061;</mo>"  # function application (read "of")
_INVISIBLE_TIMES = "<mo>&#x2062;</mo>"
_MINUS = "<mo>−</mo>"


class MathMLError(ValueError):
    """The tree is too deep to draw."""


def to_mathml(node: Expr | Cond, *, display: str = "block") -> str:
    """The ``<math>`` element showing ``node``; ``display`` is ``block`` or ``inline``."""
    if display not in ("block", "inline"):
        raise ValueError(f"display must be block or inline, not {display!r}")
    if depth(node) > MAX_DEPTH:
        raise MathMLError(f"the formula is nested too deeply to display (more than {MAX_DEPTH} levels)")
    markup, _ = _render(node)
    return f'<math xmlns="{NAMESPACE}" display="{display}">{markup}</math>'


def _text(s: str) -> str:
    return escape(s, quote=True)


def _row(*parts: str) -> str:
    return "<mrow>" + "".join(parts) + "</mrow>"


def _fenced(markup: str, opener: str = "(", closer: str = ")") -> str:
    return _row(f"<mo>{opener}</mo>", markup, f"<mo>{closer}</mo>")


def _at_least(node: Expr | Cond, strength: int) -> str:
    """``node``'s markup, bracketed when it binds less tightly than ``strength``."""
    markup, own = _render(node)
    return _fenced(markup) if own < strength else markup


def _render(node: Expr | Cond) -> tuple[str, int]:
    match node:
        case Num(value=value):
            return _number(value)
        case Sym(name=name):
            return _symbol(name), ATOM
        case Neg(arg=arg):
            inner, own = _render(arg)
            if own <= NEG:  # -(a + b), -(-a), -(a*b): keep the brackets the student needed or wrote
                inner = _fenced(inner)
            return _row(_MINUS, inner), NEG
        case BinOp(op=op, left=left, right=right):
            return _binary(op, left, right)
        case Call():
            return _call(node)
        case Compare(op=op, left=left, right=right):
            return _row(_at_least(left, ADD), f"<mo>{_COMPARE.get(op, _text(op))}</mo>", _at_least(right, ADD)), \
                COMPARE
        case Logic(op=op, args=args):
            strength = AND if op == "and" else OR
            joiner = f"<mspace width=\"0.4em\"></mspace><mtext>{_text(op)}</mtext><mspace width=\"0.4em\"></mspace>"
            return _row(joiner.join(_at_least(a, strength + 1) for a in args)), strength
        case Piecewise(pieces=pieces):
            rows = []
            for piece, cond in pieces:
                when = "<mtext>otherwise</mtext>" if cond is None else \
                    _row("<mtext>if</mtext><mspace width=\"0.4em\"></mspace>", _render(cond)[0])
                rows.append(f'<mtr><mtd>{_render(piece)[0]}</mtd><mtd>{when}</mtd></mtr>')
            table = '<mtable columnalign="left left">' + "".join(rows) + "</mtable>"
            return _row('<mo stretchy="true">{</mo>', table), PIECEWISE
        case Sum(body=body, index=index, lo=lo, hi=hi):
            under = _row(_symbol(index), "<mo>=</mo>", _render(lo)[0])
            operator = f'<munderover><mo largeop="true" movablelimits="true">∑</mo>{under}{_render(hi)[0]}</munderover>'
            return _row(operator, _at_least(body, MUL)), MUL
    raise TypeError(f"not an expression node: {node!r}")


def _binary(op: str, left: Expr, right: Expr) -> tuple[str, int]:
    if op in "+-":
        # a - (b - c) and a + (-b) keep their brackets; a - b + c needs none
        second, own = _render(right)
        if own <= ADD or own == NEG:
            second = _fenced(second)
        return _row(_at_least(left, ADD), f"<mo>{'+' if op == '+' else '−'}</mo>", second), ADD
    if op == "*":
        first = _at_least(left, MUL)
        second, own = _render(right)
        if own <= NEG:  # a*(b*c) and a*(-b) as written
            second = _fenced(second)
        joiner = _INVISIBLE_TIMES if _juxtaposed(left, right, first, second) else "<mo>·</mo>"
        return _row(first, joiner, second), MUL
    if op == "/":
        return f"<mfrac>{_render(left)[0]}{_render(right)[0]}</mfrac>", FRAC
    if op == "^":
        base = _at_least(left, ATOM)
        return f"<msup>{base}{_render(right)[0]}</msup>", POW
    raise TypeError(f"not an operator: {op!r}")


def _juxtaposed(left: Expr, right: Expr, left_markup: str, right_markup: str) -> bool:
    """Whether a product reads clearly without a dot: ``2x``, ``σ(x)(1 − σ(x))``, ``(a + b)c``."""
    if right_markup.startswith(("<mrow><mo>(", "<msup><mrow><mo>(")) or isinstance(right, Call):
        return True
    if not _leading_symbol(right):
        return False
    number = isinstance(left, Num) or (isinstance(left, Neg) and isinstance(left.arg, Num))
    subscripted = isinstance(left, Sym) and left_markup.startswith("<msub")  # w₁x₁ reads as a product
    return number or subscripted or left_markup.endswith("<mo>)</mo></mrow>")


def _leading_symbol(node: Expr) -> bool:
    while isinstance(node, BinOp) and node.op in "^*":
        node = node.left
    return isinstance(node, Sym)


def _number(value: Fraction) -> tuple[str, int]:
    if value < 0:
        inner, _ = _number(-value)
        return _row(_MINUS, inner), NEG
    if value.denominator == 1:
        digits = str(value.numerator)
        if len(digits) > MAX_PLAIN_DIGITS:
            return _scientific(digits, len(digits) - 1), MUL
        return f"<mn>{digits}</mn>", ATOM
    places = _decimal_places(value.denominator)
    if places is None:
        return f"<mfrac><mn>{value.numerator}</mn><mn>{value.denominator}</mn></mfrac>", FRAC
    scaled = str(value.numerator * 10**places // value.denominator)
    if len(scaled) > MAX_PLAIN_DIGITS or places > MAX_PLAIN_DIGITS:
        return _scientific(scaled, len(scaled) - 1 - places), MUL
    whole, frac = scaled[:-places] or "0", scaled[-places:].rjust(places, "0")
    return f"<mn>{whole}.{frac}</mn>", ATOM


def _decimal_places(denominator: int) -> int | None:
    """How many decimals show 1/denominator exactly, or None when it does not terminate."""
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    return max(twos, fives) if denominator == 1 else None


def _scientific(digits: str, exponent: int) -> str:
    """``digits`` (no leading zeros) times 10^(exponent - len + 1), as m × 10^k with at most 12 digits in m."""
    mantissa = digits[:MAX_PLAIN_DIGITS].rstrip("0") or "0"
    shown = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    power = f"<mn>{exponent}</mn>" if exponent >= 0 else _row(_MINUS, f"<mn>{-exponent}</mn>")
    return _row(f"<mn>{shown}</mn>", "<mo>×</mo>", f"<msup><mn>10</mn>{power}</msup>")


def _symbol(name: str) -> str:
    """``x1`` as x with subscript 1, ``w_jk^l`` with subscript and superscript, Greek names as letters."""
    base, sub, sup = name, "", ""
    if "^" in base:
        base, sup = base.split("^", 1)
    if "_" in base.strip("_"):
        cut = base.index("_", 1)
        base, sub = base[:cut], base[cut + 1:]
    elif len(base) > 1 and base[-1].isdigit() and base[0].isalpha():
        stem = base.rstrip("0123456789")
        if stem in GREEK or len(stem) == 1:
            base, sub = stem, base[len(stem):]
    core = _identifier(base)
    lower = _script(sub) if sub else ""
    upper = _script(sup) if sup else ""
    if lower and upper:
        return f"<msubsup>{core}{lower}{upper}</msubsup>"
    if lower:
        return f"<msub>{core}{lower}</msub>"
    if upper:
        return f"<msup>{core}{upper}</msup>"
    return core


def _identifier(text: str) -> str:
    return f"<mi>{_text(GREEK.get(text, text))}</mi>"


def _script(text: str) -> str:
    text = text.strip("{}")
    if text.isdigit():
        return f"<mn>{text}</mn>"
    return f"<mi>{_text(GREEK.get(text, text))}</mi>"


def _call(node: Call) -> tuple[str, int]:
    func, args = node.func, node.args
    if func == "abs" and len(args) == 1:
        return _row('<mo fence="true">|</mo>', _render(args[0])[0], '<mo fence="true">|</mo>'), ATOM
    if func == "sqrt" and len(args) == 1:
        return f"<msqrt>{_render(args[0])[0]}</msqrt>", ATOM
    if func == "KroneckerDelta" and len(args) == 2:
        return f"<msub><mi>δ</mi>{_row(_render(args[0])[0], _render(args[1])[0])}</msub>", ATOM
    if func == "diff" and len(args) >= 2:
        wrt = "".join(_row("<mi>d</mi>", _render(a)[0]) for a in args[1:])
        order = len(args) - 1
        top = "<mi>d</mi>" if order == 1 else f"<msup><mi>d</mi><mn>{order}</mn></msup>"
        return _row(f"<mfrac>{top}{_row(wrt)}</mfrac>", _at_least(args[0], ATOM)), MUL
    name = f"<mi>{_text(_FUNCTION_NAMES.get(func, func))}</mi>"
    inner = "<mo>,</mo>".join(_render(a)[0] for a in args)
    return _row(name, _APPLY, _fenced(inner)), ATOM
