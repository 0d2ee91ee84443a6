"""The plain-text parser: what students type, read into the right tree; errors with a column."""

from __future__ import annotations

import pytest

from grader.expr import ExpressionError, LimitError, parse, read_answer
from grader.expr.nodes import BinOp, Call, Sym, depth, free_symbols, to_text
from grader.solver.evaluate import forward
from grader.solver.tape import compile_graph

SYMBOLS = {"x", "y", "s_i", "s_j", "i", "j", "y1", "h3", "K", "w_jk", "alpha"}

# (text, the tree as to_text prints it)
READS = [
    ("sigma(x)*(1-sigma(x))", "(sigmoid(x) * (1 - sigmoid(x)))"),
    ("σ(x)(1−σ(x))", "(sigmoid(x) * (1 - sigmoid(x)))"),
    ("2x", "(2 * x)"),
    ("x^2", "(x ^ 2)"),
    ("x**2", "(x ^ 2)"),
    ("x²", "(x ^ 2)"),
    ("e^(-x)", "(e ^ -(x))"),
    ("e^-x", "(e ^ -(x))"),
    ("exp(-x)", "exp(-(x))"),
    ("1-tanh^2(x)", "(1 - (tanh(x) ^ 2))"),
    ("1-tanh(x)^2", "(1 - (tanh(x) ^ 2))"),
    ("1 - tanh²(x)", "(1 - (tanh(x) ^ 2))"),
    ("x·y", "(x * y)"),
    ("x × y", "(x * y)"),
    ("ln x", "log(x)"),
    ("|x|", "abs(x)"),
    ("|x - y|", "abs((x - y))"),
    ("s_i*(delta_ij - s_j)", "(s_i * (KroneckerDelta(i, j) - s_j))"),
    ("s_i(δ_ij − s_j)", "(s_i * (KroneckerDelta(i, j) - s_j))"),
    ("y_1 + h_3", "(y1 + h3)"),
    ("w_{jk}", "w_jk"),
    ("xy", "(x * y)"),
    ("K(K-1)/2", "((K * (K - 1)) / 2)"),
    ("ReLU(x)", "relu(x)"),
    ("Tanh(x)", "tanh(x)"),
    ("max[0, x]", "max(0, x)"),
    ("1 if x > 0 else 0", "Piecewise((1, x > 0), (0, True))"),
    ("Piecewise((1, x > 0), (0, True))", "Piecewise((1, x > 0), (0, True))"),
    ("1 if 0 < x < 6 else 0", "Piecewise((1, (0 < x) and (x < 6)), (0, True))"),
    ("huber(x)", "huber(x)"),
    ("sech^2(x)", "(sech(x) ^ 2)"),
    ("relu6(x)", "relu6(x)"),
    ("0.01*x", "(0.01 * x)"),
    ("alpha*x", "(alpha * x)"),
]


@pytest.mark.parametrize(("text", "tree"), READS)
def test_reads(text: str, tree: str) -> None:
    assert to_text(parse(text, SYMBOLS)) == tree


# (text, message fragment, column)
ERRORS = [
    ("sigmoidd(x)", 'unknown function "sigmoidd"', 1),
    ("x + z", 'unknown name "z"', 5),
    ("2*(x + 1", 'bracket "(" is never closed', 3),
    ("x + 1)", 'unmatched closing bracket ")"', 6),
    ("sigma'(x)", "primes", 6),
    ("x!!", "double factorials", 3),
    ("171!", "factorial is too large", 4),
    ("x.real", 'unexpected character "."', 2),
    ("x ? 1 : 0", 'unexpected character "?"', 3),
    ("tanh()", "unexpected", 6),
    ("huber(x, 1, 2)", "takes 1 to 2 arguments", 1),
    ("", "empty", 0),
    ("x +", "ends too early", 4),
    ("2 3", "two numbers", 3),
]


@pytest.mark.parametrize(("text", "fragment", "column"), ERRORS)
def test_errors_say_what_and_where(text: str, fragment: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text, SYMBOLS)
    assert fragment in info.value.describe()
    if column:
        assert f"at column {column}" in info.value.describe()


def test_suggestions() -> None:
    with pytest.raises(ExpressionError) as info:
        parse("sigmoidd(x)", SYMBOLS)
    assert info.value.describe() == 'unknown function "sigmoidd" at column 1; did you mean sigmoid?'
    assert info.value.kind == "unknown_function"
    with pytest.raises(ExpressionError) as info:
        parse("k(k-1)/2", SYMBOLS)
    assert info.value.kind == "unknown_name"
    assert "did you mean K?" in info.value.describe()


@pytest.mark.parametrize("text", ["9**9**9**9", "x^(10^6)", "2^2000", "1e999", "1" * 50, "(" * 200 + "x" + ")" * 200])
def test_limits(text: str) -> None:
    with pytest.raises(LimitError):
        parse(text, SYMBOLS)


def test_problem_files_allow_any_name_but_check_functions() -> None:
    assert parse("w1*x1 + b1") is not None
    with pytest.raises(ExpressionError, match="unknown function"):
        parse("foo(x)")


def test_declared_name_beats_a_function_alias() -> None:
    assert parse("sigma", {"sigma"}) == Sym("sigma")
    assert isinstance(parse("sigma(x)", {"x"}), Call)


@pytest.mark.parametrize(("text", "tree"), [
    ("f'(x) = 2x", "(2 * x)"),
    ("d/dx sigma(x) = sigma(x)*(1 - sigma(x))", "(sigmoid(x) * (1 - sigmoid(x)))"),
    ("$2x$", "(2 * x)"),
    ("  2x.  ", "(2 * x)"),
    ("1 if x == 0 else 2", "Piecewise((1, x == 0), (2, True))"),
    ("x <= 1", None),
])
def test_read_answer_drops_a_left_hand_side(text: str, tree: str | None) -> None:
    if tree is None:
        with pytest.raises(ExpressionError):
            read_answer(text, SYMBOLS)
    else:
        assert to_text(read_answer(text, SYMBOLS)) == tree


def test_read_answer_reports_columns_in_the_text_as_typed() -> None:
    with pytest.raises(ExpressionError) as info:
        read_answer("f'(x) = 2*q", SYMBOLS)
    assert "at column 11" in info.value.describe()


def nested(levels: int) -> str:
    """A formula ``1 + 16*levels`` deep: each level a bracket that opens a chain of 16 operators."""
    text = "x"
    for _ in range(levels):
        text = f"({text})" + "+x" * 16
    return text


def test_deep_formulas_are_refused_before_anything_walks_them() -> None:
    with pytest.raises(LimitError, match=r"nested too deeply \(more than 200 levels\)"):
        read_answer(nested(13), SYMBOLS)
    with pytest.raises(LimitError, match="nested too deeply"):
        parse(nested(13))
    assert depth(parse(nested(12))) == 193


@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_long_chains_are_read_as_shallow_trees_of_the_same_value(op: str) -> None:
    names = [f"x{k}" for k in range(5000)]
    text = "x0 " + " ".join(f"{'+-'[k % 2] if op in '+-' else '*/'[k % 2]} {n}" for k, n in enumerate(names[1:]))
    tree = parse(text, max_length=50_000)
    assert depth(tree) <= 20
    assert free_symbols(tree) == set(names)
    values = {n: 1.0 + (k % 7) / 10 for k, n in enumerate(names)}
    compiled = compile_graph(values, {"f": tree}, ["f"], "f")
    got = forward(compiled)[compiled.slot_of["f"]]
    expected = values["x0"]
    for k, n in enumerate(names[1:]):
        sign = k % 2
        if op in "+-":
            expected = expected + values[n] if sign == 0 else expected - values[n]
        else:
            expected = expected * values[n] if sign == 0 else expected / values[n]
    assert got == pytest.approx(expected, rel=1e-9)


def test_short_chains_keep_their_written_shape() -> None:
    assert parse("a - b + c - d") == BinOp("-", BinOp("+", BinOp("-", Sym("a"), Sym("b")), Sym("c")), Sym("d"))
    assert parse("ln x y") == Call("log", (BinOp("*", Sym("x"), Sym("y")),))


def test_powers_of_long_sums_are_checked_without_recursion() -> None:
    with pytest.raises(LimitError, match="too large"):
        read_answer("2^(" + "+".join(["1"] * 1990) + ")", SYMBOLS)
    with pytest.raises(LimitError, match="too large"):
        read_answer("(" + "+".join(["1"] * 1990) + ")^300", SYMBOLS)
    assert depth(read_answer("(" + "+".join(["x"] * 1990) + ")^2", SYMBOLS)) <= 20


@pytest.mark.parametrize(("text", "same_as"), [
    ("e^-2x", "e^(-2*x)"),
    ("e^2x", "e^(2*x)"),
    ("e^-x", "e^(-x)"),
    ("e^-2x^2", "e^(-2*x^2)"),
    ("e^-2 x", "e^(-2)*x"),
    ("e^-x(1-x)", "e^(-x)*(1-x)"),
    ("e^-x (1-x)", "e^(-x)*(1-x)"),
    ("x^-2y", "x^(-2)*y"),
    ("2e^-x y", "2*e^(-x)*y"),
])
def test_an_exponential_superscript_takes_what_is_written_against_it(text: str, same_as: str) -> None:
    assert parse(text, symbols={"x", "y"}) == parse(same_as, symbols={"x", "y"})
