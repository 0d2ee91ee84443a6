"""Random and hostile text at the readers: each returns a tree or a clear error, quickly, and runs nothing."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.expr import ExpressionError, read_answer
from grader.expr.nodes import walk

SYMBOLS = {"x", "y", "s_i", "s_j", "i", "j"}
FRAGMENTS = [
    "x", "y", "s_i", "2", "0.5", "1e308", "9", "+", "-", "*", "/", "^", "**", "(", ")", "[", "]", "{", "}", "|",
    ",", "=", "<", ">=", "!", "'", ".", "_", "__", "__import__", "__class__", "os", "system", "lambda", ":",
    "eval", "exec", "factorial", "sigma", "tanh", "exp", "log", "relu", "max", "sum", "Piecewise", "if", "else",
    "True", "\\frac", "\\sigma", "\\left(", "\\right)", "\\begin{cases}", "\\end{cases}", "&", "\\\\", "\\sum_",
    "\\delta_{ij}", "\\mathbb{1}", "\\text{if}", "\\sqrt", "\\input", "$", "−", "·", "σ", "²", " ", "\n", "\x00",
    "\u202e", "💥",
]
hostile_text = st.one_of(
    st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join),
    st.text(max_size=200),
)

QUICK = settings(deadline=None, max_examples=300, database=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def nothing_executes() -> Iterator[None]:
    """Fail the test if any code path evaluates, compiles or imports while reading."""
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("code was evaluated")

    with mock.patch.object(builtins, "eval", refuse), mock.patch.object(builtins, "exec", refuse), \
            mock.patch.object(builtins, "compile", refuse):
        yield


def read_bounded(text: str) -> None:
    start = time.perf_counter()
    try:
        tree = read_answer(text, SYMBOLS, indices={"i": (1, 3), "j": (1, 3)})
        assert sum(1 for _ in walk(tree)) < 10_000
    except ExpressionError as exc:
        message = exc.describe()
        assert message and "Traceback" not in message
        assert exc.offset < len(text) + 1
    assert time.perf_counter() - start < 0.5


@QUICK
@given(hostile_text)
def test_random_text_gives_a_tree_or_a_clear_error(text: str) -> None:
    with nothing_executes():
        read_bounded(text)


@pytest.mark.parametrize("text", [
    "__import__('os').system('echo owned')",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "lambda: 0",
    "(lambda x: x)(1)",
    "exec('import os')",
    "eval('1')",
    "9**9**9**9",
    "9^9^9^9",
    "\\frac{9^{9^{9}}}{2}",
    "factorial(10**9)",
    "(10^8)!",
    "\\left(10^{8}\\right)!",
    "sum(x, i, 1, 10^9)",
    "(" * 10_000 + "x" + ")" * 10_000,
    "{" * 10_000 + "x" + "}" * 10_000,
    "x" * 1_000_000,
    "x+" * 500_000 + "x",
    "\\sigma(" * 5000,
    "|" * 10_000,
])
def test_hostile_text_is_refused_or_read_safely(text: str) -> None:
    with nothing_executes():
        read_bounded(text)
