"""The LaTeX front end: the same trees as plain text, and clear refusals."""

from __future__ import annotations

import pytest

from grader.expr import ExpressionError, LimitError, parse, parse_latex, read_answer
from grader.expr.nodes import to_text

SYMBOLS = {"x", "y", "r", "delta", "s_i", "s_j", "i", "j", "k", "z_i", "z_j", "z_k", "h3", "h4", "y1", "alpha",
           "yhat", "w"}
INDICES = {"i": (1, 3), "j": (1, 3), "k": (1, 3)}

# (LaTeX, the same formula in plain text)
SAME = [
    (r"\frac{1}{1+e^{-x}}", "1/(1+e^(-x))"),
    (r"\sigma(x)\left(1-\sigma(x)\right)", "sigma(x)*(1-sigma(x))"),
    (r"\frac{e^{-x}}{(1+e^{-x})^2}", "e^(-x)/(1+e^(-x))^2"),
    (r"1-\tanh^2(x)", "1-tanh(x)^2"),
    (r"1-\tanh^{2}\left(x\right)", "1-tanh(x)^2"),
    (r"\frac12 x^2", "(1/2)*x^2"),
    (r"\frac{1}{2}x^2", "(1/2)*x^2"),
    (r"x^23\,", "x^2*3"),
    (r"2\cdot x", "2*x"),
    (r"2 \times x", "2*x"),
    (r"\exp\left(-x\right)", "exp(-x)"),
    (r"\log(1 + e^{x})", "log(1+e^x)"),
    (r"\ln x", "log(x)"),
    (r"\max(0, x)", "max(0, x)"),
    (r"\max\{0, x\}", "max(0, x)"),
    (r"\left|x\right|", "abs(x)"),
    (r"\lvert x \rvert", "abs(x)"),
    (r"\sqrt{x}", "sqrt(x)"),
    (r"\sqrt[3]{x}", "x^(1/3)"),
    (r"\operatorname{ReLU}(x)", "relu(x)"),
    (r"\mathrm{softplus}(x)", "softplus(x)"),
    (r"\text{sgn}(r)", "sign(r)"),
    (r"s_i(\delta_{ij} - s_j)", "s_i*(KroneckerDelta(i, j) - s_j)"),
    (r"s_{i}\left(\delta_{i,j} - s_{j}\right)", "s_i*(KroneckerDelta(i, j) - s_j)"),
    (r"\sum_{k=1}^{3} e^{z_k}", "sum(e^z_k, k, 1, 3)"),
    (r"\sum_k e^{z_k}", "sum(e^z_k, k, 1, 3)"),
    (r"h_3 h_4", "h3*h4"),
    (r"\hat{y} - y", "yhat - y"),
    (r"\alpha x", "alpha*x"),
    (r"\begin{cases} 1 & x > 0 \\ 0 & \text{otherwise} \end{cases}", "Piecewise((1, x > 0), (0, True))"),
    (r"\begin{cases} 1, & x > 0 \\ 0, & x<0 \end{cases}", "Piecewise((1, x > 0), (0, x < 0))"),
    (r"\begin{cases} 1 & \text{if } x > 0 \\ 0 & \text{o.w.} \\ \end{cases}", "Piecewise((1, x > 0), (0, True))"),
    (r"\begin{cases} r & |r| \le \delta \\ \delta\,\text{sgn}(r) & \text{otherwise}\end{cases}",
     "Piecewise((r, abs(r) <= delta), (delta*sign(r), True))"),
    (r"\begin{cases} 1 & 0 < x < 6 \\ 0 & \text{otherwise} \end{cases}",
     "Piecewise((1, 0 < x < 6), (0, True))"),
    (r"\begin{cases} 1 & x > 0 \land x < 6 \\ 0 & \text{otherwise} \end{cases}",
     "Piecewise((1, x > 0 and x < 6), (0, True))"),
    (r"\mathbb{1}_{x>0}", "Piecewise((1, x > 0), (0, True))"),
    (r"\mathbb{1}(x>0)", "Piecewise((1, x > 0), (0, True))"),
    (r"e^{2x}\cdot 3", "e^(2x)*3"),
    (r"\frac{d}{dx}\sigma(x) = \sigma(x)(1-\sigma(x))", "sigma(x)*(1-sigma(x))"),
    (r"$$\sigma(x)$$", "sigma(x)"),
    (r"\(\sigma(x)\)", "sigma(x)"),
]


@pytest.mark.parametrize(("latex", "plain"), SAME)
def test_latex_reads_as_plain_text_does(latex: str, plain: str) -> None:
    expected = parse(plain, SYMBOLS, indices=INDICES)
    assert to_text(read_answer(latex, SYMBOLS, indices=INDICES)) == to_text(expected)


# (LaTeX, message fragment, column)
ERRORS = [
    (r"\sigmoid(x)", r'unknown LaTeX command "\sigmoid"', 1),
    (r"\frac{1}{1+e^{-x}", "never closed", 0),
    (r"\sigma'(x)", "primes", 7),
    (r"\partial x", "derivative notation", 1),
    (r"\begin{matrix} 1 \end{matrix}", "environment is not supported", 1),
    (r"\begin{cases} 1 & x > 0 \\ 0 & x < 0", "never closed", 1),
    (r"1 & 2", "only allowed inside", 3),
    (r"\sum x", "index below it", 1),
    (r"\sum_m x_m", "give the bounds", 1),
    (r"x \pm 1", "two answers", 3),
    (r"\infty", "infinity", 1),
    (r"\input{/etc/passwd}", "unknown LaTeX command", 1),
]


@pytest.mark.parametrize(("latex", "fragment", "column"), ERRORS)
def test_errors(latex: str, fragment: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_latex(latex, SYMBOLS, indices=INDICES)
    assert fragment in info.value.describe()
    if column:
        assert f"at column {column}" in info.value.describe()


def test_unknown_command_suggests_a_known_one() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_latex(r"\tahn(x)", SYMBOLS)
    assert info.value.describe().endswith(r"did you mean \tanh?")


@pytest.mark.parametrize("latex", [r"9^{9^{9}}", r"x^{10^{6}}", r"\frac{1}{2^{2000}}", "{" * 150 + "x" + "}" * 150])
def test_limits(latex: str) -> None:
    with pytest.raises(LimitError):
        parse_latex(latex, SYMBOLS)
