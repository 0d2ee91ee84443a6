"""The MathML renderer: every node type, brackets only where the tree needs them, everything escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.expr import ExpressionError, read_answer
from grader.expr.mathml import MAX_DEPTH, NAMESPACE, MathMLError, to_mathml
from grader.expr.nodes import BinOp, Call, Compare, Expr, Logic, Neg, Num, Piecewise, Sum, Sym
from tests.conftest import FAST

M = f"{{{NAMESPACE}}}"
SYMBOLS = {"x", "y", "K", "a", "b", "c", "w1", "x1", "s_i", "s_j", "i", "j", "x_i", "alpha"}
INDICES = {"i": (1, 3), "j": (1, 3)}


def tree(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def shape(node: ET.Element) -> str:
    """A compact picture of the markup: ``mrow(mi:x mo:+ mn:1)``."""
    tag = node.tag.removeprefix(M)
    children = list(node)
    if not children:
        return f"{tag}:{node.text or ''}"
    return f"{tag}(" + " ".join(shape(c) for c in children) + ")"


def shown(text: str) -> str:
    """The shape of what a typed answer renders to, without the <math> element."""
    root = tree(to_mathml(read_answer(text, SYMBOLS, indices=INDICES)))
    assert root.tag == f"{M}math"
    (only,) = list(root)
    return shape(only)


def plain(markup: str) -> str:
    """The text a reader sees, with the invisible operators dropped."""
    return "".join(tree(markup).itertext()).replace("\u2061", "").replace("\u2062", "")


# (typed, shape of the rendering)
CASES = [
    ("x", "mi:x"),
    ("42", "mn:42"),
    ("0.83", "mn:0.83"),
    ("-1.2e-3", "mrow(mo:− mn:0.0012)"),
    ("1e300", "mrow(mn:1 mo:× msup(mn:10 mn:300))"),
    ("2.5e-20", "mrow(mn:2.5 mo:× msup(mn:10 mrow(mo:− mn:20)))"),
    ("alpha", "mi:α"),
    ("x1", "msub(mi:x mn:1)"),
    ("s_i", "msub(mi:s mi:i)"),
    ("x + 1", "mrow(mi:x mo:+ mn:1)"),
    ("x - y", "mrow(mi:x mo:− mi:y)"),
    ("a - (b - c)", "mrow(mi:a mo:− mrow(mo:( mrow(mi:b mo:− mi:c) mo:)))"),
    ("(a - b) - c", "mrow(mrow(mi:a mo:− mi:b) mo:− mi:c)"),
    ("a + -b", "mrow(mi:a mo:+ mrow(mo:( mrow(mo:− mi:b) mo:)))"),
    ("-(a + b)", "mrow(mo:− mrow(mo:( mrow(mi:a mo:+ mi:b) mo:)))"),
    ("-x^2", "mrow(mo:− msup(mi:x mn:2))"),
    ("(-x)^2", "msup(mrow(mo:( mrow(mo:− mi:x) mo:)) mn:2)"),
    ("2x", "mrow(mn:2 mo:\u2062 mi:x)"),
    ("2*3", "mrow(mn:2 mo:· mn:3)"),
    ("a*b", "mrow(mi:a mo:· mi:b)"),
    ("w1*x1", "mrow(msub(mi:w mn:1) mo:\u2062 msub(mi:x mn:1))"),
    ("a*(b + c)", "mrow(mi:a mo:\u2062 mrow(mo:( mrow(mi:b mo:+ mi:c) mo:)))"),
    ("(a + b)*c", "mrow(mrow(mo:( mrow(mi:a mo:+ mi:b) mo:)) mo:\u2062 mi:c)"),
    ("a*(b*c)", "mrow(mi:a mo:\u2062 mrow(mo:( mrow(mi:b mo:· mi:c) mo:)))"),
    ("(a + b)/c", "mfrac(mrow(mi:a mo:+ mi:b) mi:c)"),
    ("(a + b)^2", "msup(mrow(mo:( mrow(mi:a mo:+ mi:b) mo:)) mn:2)"),
    ("a^(b + c)", "msup(mi:a mrow(mi:b mo:+ mi:c))"),
    ("(a/b)^2", "msup(mrow(mo:( mfrac(mi:a mi:b) mo:)) mn:2)"),
    ("(a^b)^c", "msup(mrow(mo:( msup(mi:a mi:b) mo:)) mi:c)"),
    ("e^-2x", "msup(mi:e mrow(mrow(mo:− mn:2) mo:\u2062 mi:x))"),
    ("sigma(x)", "mrow(mi:σ mo:\u2061 mrow(mo:( mi:x mo:)))"),
    ("tanh(x)", "mrow(mi:tanh mo:\u2061 mrow(mo:( mi:x mo:)))"),
    ("max(0, x)", "mrow(mi:max mo:\u2061 mrow(mo:( mn:0 mo:, mi:x mo:)))"),
    ("|x|", "mrow(mo:| mi:x mo:|)"),
    ("sqrt(x)", "msqrt(mi:x)"),
    ("1 - tanh^2(x)", "mrow(mn:1 mo:− msup(mrow(mi:tanh mo:\u2061 mrow(mo:( mi:x mo:))) mn:2))"),
    ("s_i*(delta_ij - s_j)",
     "mrow(msub(mi:s mi:i) mo:\u2062 mrow(mo:( mrow(msub(mi:δ mrow(mi:i mi:j)) mo:− msub(mi:s mi:j)) mo:)))"),
    ("x if x > 0 else 0",
     "mrow(mo:{ mtable(mtr(mtd(mi:x) mtd(mrow(mtext:if mspace: mrow(mi:x mo:> mn:0)))) "
     "mtr(mtd(mn:0) mtd(mtext:otherwise))))"),
    ("sum(x_i, i, 1, 3)", "mrow(munderover(mo:∑ mrow(mi:i mo:= mn:1) mn:3) msub(mi:x mi:i))"),
    (r"\frac{1}{2}\sqrt{x}", "mrow(mfrac(mn:1 mn:2) mo:\u2062 msqrt(mi:x))"),
    (r"\sigma(x)\left(1-\sigma(x)\right)",
     "mrow(mrow(mi:σ mo:\u2061 mrow(mo:( mi:x mo:))) mo:\u2062 "
     "mrow(mo:( mrow(mn:1 mo:− mrow(mi:σ mo:\u2061 mrow(mo:( mi:x mo:)))) mo:)))"),
    ("K(K-1)/2", "mfrac(mrow(mi:K mo:\u2062 mrow(mo:( mrow(mi:K mo:− mn:1) mo:))) mn:2)"),
]


@pytest.mark.parametrize(("typed", "expected"), CASES)
def test_typed_answers_render_as_written(typed: str, expected: str) -> None:
    assert shown(typed) == expected


# Nodes no student answer produces directly: comparisons and logic, derivatives, odd numbers.
NODE_CASES: list[tuple[Expr | Compare | Logic, str]] = [
    (Num(Fraction(1, 3)), "mfrac(mn:1 mn:3)"),
    (Sym("w_jk^l"), "msubsup(mi:w mi:jk mi:l)"),
    (Sym("eta2"), "msub(mi:η mn:2)"),
    (Sym("relu1"), "mi:relu1"),
    (BinOp("-", Sym("a"), Num(Fraction(-1))), "mrow(mi:a mo:− mrow(mo:( mrow(mo:− mn:1) mo:)))"),
    (Num(Fraction(-5, 2)), "mrow(mo:− mn:2.5)"),
    (Num(Fraction(10**20)), "mrow(mn:1 mo:× msup(mn:10 mn:20))"),
    (Compare("<=", Sym("x"), Num(Fraction(1))), "mrow(mi:x mo:≤ mn:1)"),
    (Compare(">=", Sym("x"), Num(Fraction(1))), "mrow(mi:x mo:≥ mn:1)"),
    (Compare("!=", Sym("x"), Num(Fraction(1))), "mrow(mi:x mo:≠ mn:1)"),
    (Compare("==", Sym("x"), Num(Fraction(1))), "mrow(mi:x mo:= mn:1)"),
    (Compare("<", Sym("x"), Num(Fraction(1))), "mrow(mi:x mo:< mn:1)"),
    (Logic("and", (Compare(">", Sym("x"), Num(Fraction(0))), Compare("<", Sym("x"), Num(Fraction(1))))),
     "mrow(mrow(mi:x mo:> mn:0) mspace: mtext:and mspace: mrow(mi:x mo:< mn:1))"),
    (Call("diff", (Call("sigmoid", (Sym("x"),)), Sym("x"))),
     "mrow(mfrac(mi:d mrow(mrow(mi:d mi:x))) mrow(mi:σ mo:\u2061 mrow(mo:( mi:x mo:))))"),
    (Call("diff", (BinOp("*", Sym("a"), Sym("x")), Sym("x"))),
     "mrow(mfrac(mi:d mrow(mrow(mi:d mi:x))) mrow(mo:( mrow(mi:a mo:· mi:x) mo:)))"),
    (Call("diff", (Sym("f"), Sym("x"), Sym("y"))),
     "mrow(mfrac(msup(mi:d mn:2) mrow(mrow(mi:d mi:x) mrow(mi:d mi:y))) mi:f)"),
    (Call("KroneckerDelta", (Sym("i"), Num(Fraction(2)))), "msub(mi:δ mrow(mi:i mn:2))"),
    (Piecewise(((Sym("x"), None),)), "mrow(mo:{ mtable(mtr(mtd(mi:x) mtd(mtext:otherwise))))"),
    (Sum(Sym("x_i"), "i", Num(Fraction(1)), Sym("n")),
     "mrow(munderover(mo:∑ mrow(mi:i mo:= mn:1) mi:n) msub(mi:x mi:i))"),
    (BinOp("*", Sum(Sym("a"), "i", Num(Fraction(1)), Num(Fraction(2))), Sym("b")),
     "mrow(mrow(munderover(mo:∑ mrow(mi:i mo:= mn:1) mn:2) mi:a) mo:· mi:b)"),
]


@pytest.mark.parametrize(("node", "expected"), NODE_CASES)
def test_every_node_type(node: Expr | Compare | Logic, expected: str) -> None:
    (only,) = list(tree(to_mathml(node)))
    assert shape(only) == expected


HOSTILE = ['<script>alert(1)</script>', 'a&b', '"quoted"', "x'y", "]]>", "</math><b>"]


@pytest.mark.parametrize("name", HOSTILE)
def test_every_text_is_escaped(name: str) -> None:
    for node in (Sym(name), Call(name, (Sym(name),)), Compare(name, Sym(name), Sym(name)),
                 Logic(name, (Compare("<", Sym(name), Sym("x")),)), Sum(Sym(name), name, Sym(name), Sym(name))):
        markup = to_mathml(node)
        root = tree(markup)  # well-formed: nothing broke out of its element
        assert [e.tag.removeprefix(M) for e in root.iter()].count("script") == 0
        assert "<script" not in markup and "</math><b>" not in markup
        assert name.replace("'", "") in plain(markup).replace("'", "")


def test_display_and_depth_limits() -> None:
    assert to_mathml(Sym("x"), display="inline").endswith('display="inline"><mi>x</mi></math>')
    with pytest.raises(ValueError, match="display must be block or inline"):
        to_mathml(Sym("x"), display="<b>")
    deep: Expr = Sym("x")
    for _ in range(MAX_DEPTH + 1):
        deep = Neg(deep)
    with pytest.raises(MathMLError, match="nested too deeply"):
        to_mathml(deep)


@FAST
@given(st.text(alphabet="xyab12.+-*/^()|, =<>eπσ\\{}_", max_size=30))
def test_whatever_parses_renders_well_formed(text: str) -> None:
    try:
        parsed = read_answer(text, SYMBOLS, indices=INDICES)
    except ExpressionError:
        return
    root = tree(to_mathml(parsed))
    assert root.tag == f"{M}math"
