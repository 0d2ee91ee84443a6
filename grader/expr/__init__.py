"""Expressions: the tree, the function library and the safe parser."""

from grader.expr.errors import ExpressionError, LimitError
from grader.expr.parser import parse

__all__ = ["ExpressionError", "LimitError", "parse"]
