"""Show trees as people write them: plain text with few brackets, and LaTeX.

Both forms read back through ``grader.expr.read_answer`` to an equivalent tree (tested), so a key
can be pasted as an answer.
"""

from __future__ import annotations

from fractions import Fraction

from grader.expr.library import FUNCTIONS
from grader.expr.nodes import BinOp, Call, Compare, Cond, Expr, Logic, Neg, Num, Piecewise, Sum, Sym
from grader.expr.notation import split_derivative
from grader.expr.parser import GREEK

# precedence: conditional 0, sum 1, product 2, unary minus 3, power 4, atom 5
_LEVEL = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 4}
_GREEK_NAMES = set(GREEK.values())
_LATEX_CMP = {"<": "<", "<=": r"\le", ">": ">", ">=": r"\ge", "==": "=", "!=": r"\ne"}
_LATEX_FUNCS = {"tanh": r"\tanh", "log": r"\log", "sin": r"\sin", "cos": r"\cos", "sinh": r"\sinh",
                "cosh": r"\cosh", "max": r"\max", "min": r"\min", "sigmoid": r"\sigma", "sign": r"\operatorname{sgn}",
                "relu": r"\operatorname{ReLU}", "sech": r"\operatorname{sech}", "tan": r"\tan", "sec": r"\sec",
                "csc": r"\csc", "cot": r"\cot", "asin": r"\arcsin", "acos": r"\arccos", "atan": r"\arctan"}


def _decimal(v: Fraction) -> str | None:
    """``v`` as a short exact decimal (0.01), or None if it has none."""
    d = v.denominator
    for k in range(0, 7):
        if (10 ** k) % d == 0:
            text = f"{float(v):.{k}f}" if k else str(v.numerator)
            return text if Fraction(text) == v else None
    return None


def _level(node: Expr) -> int:
    match node:
        case Num(value=v):
            if v < 0:
                return 3
            return 5 if v.denominator == 1 or _decimal(v) is not None else 2
        case Neg():
            return 3
        case BinOp(op=op):
            return _LEVEL[op]
        case Piecewise(pieces=pieces):
            return 0 if _as_conditional(pieces) else 5
    return 5


def _as_conditional(pieces: tuple[tuple[Expr, Cond | None], ...]) -> bool:
    return pieces[-1][1] is None and all(c is not None for _, c in pieces[:-1]) and len(pieces) > 1


# -- plain text --------------------------------------------------------------------------------------
def to_plain(node: Expr) -> str:
    """``sigmoid(x)*(1 - sigmoid(x))``; reads back with the plain parser."""
    match node:
        case Num(value=v):
            if v < 0:
                return "-" + to_plain(Num(-v))
            return _decimal(v) or f"{v.numerator}/{v.denominator}"
        case Sym(name=name):
            return name
        case Neg(arg=a):
            return "-" + _wrap_plain(a, 3)
        case BinOp(op=op, left=a, right=b):
            level = _LEVEL[op]
            if op == "^":
                return f"{_wrap_plain(a, 5)}^{_wrap_plain(b, 5)}"
            left = _wrap_plain(a, level)
            right = _wrap_plain(b, level + 1 if op in "-/" else level)
            return f"{left} {op} {right}" if op in "+-" else f"{left}{op}{right}"
        case Call(func=f, args=args) if split_derivative(f)[1]:
            g, by = split_derivative(f)
            inside = ", ".join(to_plain(a) for a in args)
            if len(args) == 1:
                return f"{g}{chr(39) * len(by)}({inside})"
            if len(by) == 1:
                return f"d{g}({inside})/d{by[0]}"
            return f"d^{len(by)}{g}({inside})/{''.join('d' + p for p in by)}"
        case Call(func=f, args=args):
            return f"{f}({', '.join(to_plain(a) for a in args)})"
        case Piecewise(pieces=pieces):
            if _as_conditional(pieces):
                parts = [f"{_wrap_plain(v, 1)} if {cond_plain(c)}" for v, c in pieces[:-1] if c is not None]
                return " else ".join([*parts, _wrap_plain(pieces[-1][0], 1)])
            inner = ", ".join(f"({to_plain(v)}, {'True' if c is None else cond_plain(c)})" for v, c in pieces)
            return f"Piecewise({inner})"
        case Sum(body=body, index=index, lo=lo, hi=hi):
            return f"sum({to_plain(body)}, {index}, {to_plain(lo)}, {to_plain(hi)})"
    raise TypeError(f"not an expression node: {node!r}")


def _wrap_plain(node: Expr, need: int) -> str:
    text = to_plain(node)
    return f"({text})" if _level(node) < need else text


def cond_plain(cond: Cond) -> str:
    if isinstance(cond, Compare):
        return f"{to_plain(cond.left)} {cond.op} {to_plain(cond.right)}"
    return f" {cond.op} ".join(f"({cond_plain(c)})" if isinstance(c, Logic) else cond_plain(c) for c in cond.args)


# -- LaTeX -------------------------------------------------------------------------------------------
def to_latex(node: Expr) -> str:
    r"""``\sigma\left(x\right) \cdot \left(1 - \sigma\left(x\right)\right)``; reads back with the LaTeX parser."""
    match node:
        case Num(value=v):
            if v < 0:
                return "-" + to_latex(Num(-v))
            return _decimal(v) or rf"\frac{{{v.numerator}}}{{{v.denominator}}}"
        case Sym(name=name):
            return _latex_name(name)
        case Neg(arg=a):
            return "-" + _wrap_latex(a, 3)
        case BinOp(op="/", left=a, right=b):
            return rf"\frac{{{to_latex(a)}}}{{{to_latex(b)}}}"
        case BinOp(op="^", left=Sym(name="e"), right=b):
            return f"e^{{{to_latex(b)}}}"
        case BinOp(op=op, left=a, right=b):
            level = _LEVEL[op]
            if op == "^":
                return f"{_wrap_latex(a, 5)}^{{{to_latex(b)}}}"
            left = _wrap_latex(a, level)
            right = _wrap_latex(b, level + 1 if op == "-" else level)
            if op == "*":
                return f"{left} {right}" if isinstance(a, Num) and not right[0].isdigit() else rf"{left} \cdot {right}"
            return f"{left} {op} {right}"
        case Call(func="exp", args=(a,)):
            return f"e^{{{to_latex(a)}}}"
        case Call(func="sqrt", args=(a,)):
            return rf"\sqrt{{{to_latex(a)}}}"
        case Call(func="abs", args=(a,)):
            return rf"\left|{to_latex(a)}\right|"
        case Call(func="log", args=(a, b)):
            return rf"\log_{{{to_latex(b)}}}\left({to_latex(a)}\right)"
        case Call(func="binomial", args=(n, k)):
            return rf"\binom{{{to_latex(n)}}}{{{to_latex(k)}}}"
        case Call(func="factorial", args=(a,)):
            return f"{_wrap_latex(a, 5)}!"
        case Call(func=f, args=args) if split_derivative(f)[1]:
            g, by = split_derivative(f)
            inside = ", ".join(to_latex(a) for a in args)
            if len(args) == 1:
                return rf"{g}{chr(39) * len(by)}\left({inside}\right)"
            order = f"^{{{len(by)}}}" if len(by) > 1 else ""
            below = " ".join(rf"\partial {_latex_name(p)}" for p in by)
            return rf"\frac{{\partial{order} {g}\left({inside}\right)}}{{{below}}}"
        case Call(func="KroneckerDelta", args=(i, j)) if _short_index(i) and _short_index(j):
            return rf"\delta_{{{to_latex(i)}{to_latex(j)}}}"
        case Call(func=f, args=args):
            name = _LATEX_FUNCS.get(f, rf"\operatorname{{{f}}}" if f in FUNCTIONS else _latex_name(f))
            return rf"{name}\left({', '.join(to_latex(a) for a in args)}\right)"
        case Piecewise(pieces=pieces):
            otherwise = r"\text{otherwise}"
            rows = [f"{to_latex(v)} & {otherwise if c is None else cond_latex(c)}" for v, c in pieces]
            return r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"
        case Sum(body=body, index=index, lo=lo, hi=hi):
            return rf"\sum_{{{index}={to_latex(lo)}}}^{{{to_latex(hi)}}} {_wrap_latex(body, 2)}"
    raise TypeError(f"not an expression node: {node!r}")


def _short_index(node: Expr) -> bool:
    return (isinstance(node, Sym) and len(node.name) == 1) or (isinstance(node, Num) and 0 <= node.value <= 9
                                                             and node.value.denominator == 1)


def _wrap_latex(node: Expr, need: int) -> str:
    text = to_latex(node)
    return rf"\left({text}\right)" if _level(node) < need else text


def _latex_name(name: str) -> str:
    base, _, sub = name.partition("_")
    if not sub and len(base) > 1 and base[-1].isdigit() and base.rstrip("0123456789").isalpha():
        stem = base.rstrip("0123456789")
        base, sub = stem, base[len(stem):]
    if base in _GREEK_NAMES:
        head = "\\" + base
    elif len(base) == 1:
        head = base
    else:
        head = rf"\mathit{{{base}}}"
    return f"{head}_{{{sub}}}" if sub else head


def cond_latex(cond: Cond) -> str:
    if isinstance(cond, Compare):
        return f"{to_latex(cond.left)} {_LATEX_CMP[cond.op]} {to_latex(cond.right)}"
    joiner = r" \land " if cond.op == "and" else r" \lor "
    return joiner.join(rf"\left({cond_latex(c)}\right)" if isinstance(c, Logic) else cond_latex(c)
                       for c in cond.args)
