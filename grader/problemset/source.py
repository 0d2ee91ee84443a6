"""Read YAML (or JSON) keeping the line of every value, and the error that names file, problem, field, line.

Exception hierarchy::

    ValueError
     └── InputError          a problem-set or answers file is broken; says what and where
          ├── ProblemSetError
          └── AnswersError
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path as FilePath
from typing import Any

import yaml

Path = tuple[str | int, ...]


def kind_of(value: Any) -> str:
    """What a value read from YAML or JSON is, for messages: ``a mapping``, ``a list``, ``true``, ``int``."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


class InputError(ValueError):
    """A broken input file. ``str()`` is the message a person sees."""

    def __init__(self, message: str, *, file: str = "", problem: str | None = None, field: str | None = None,
                 line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.problem = problem
        self.field = field
        self.line = line
        super().__init__(self.describe())

    def describe(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        context = []
        if self.problem is not None:
            context.append(f"problem {self.problem}")
        if self.field:
            context.append(f"field {self.field}")
        prefix = f"{where}: " + (", ".join(context) + ": " if context else "")
        return prefix + self.message

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, "file": self.file, "problem": self.problem, "field": self.field,
                "line": self.line, "error": self.describe()}


class ProblemSetError(InputError):
    """The problem-set file cannot be used."""


class AnswersError(InputError):
    """The answers file cannot be read."""


@dataclass
class Document:
    """Plain data from a YAML/JSON text, with the 1-based line of every mapping value and list item."""

    data: Any
    file: str
    lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


MAX_DOCUMENT_BYTES = 2_000_000


def read_text_file(path: str | PathLike[str], error: type[InputError]) -> str:
    """The UTF-8 text of a file, or ``error`` saying why it cannot be read."""
    try:
        return FilePath(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read the file: {exc}", file=str(path)) from None


def read_document(text: str, file: str, error: type[InputError]) -> Document:
    """Parse ``text`` safely (no tags, no Python objects) into plain data with line numbers."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise error(f"the file is too large ({len(text)} bytes; at most {MAX_DOCUMENT_BYTES})", file=file)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"not valid YAML or JSON: {problem}", file=file,
                    line=None if mark is None else mark.line + 1) from None
    if root is None:
        raise error("the file is empty", file=file)
    doc = Document(None, file)
    try:
        doc.data = _build(root, (), doc.lines)
    except _Bad as bad:
        raise error(bad.message, file=file, line=bad.line) from None
    return doc


class _Bad(Exception):
    def __init__(self, message: str, line: int) -> None:
        self.message = message
        self.line = line


def _build(node: yaml.Node, path: Path, lines: dict[Path, int]) -> Any:
    """Iterative-enough construction (YAML nesting in these files is shallow)."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Bad("a key must be a plain name", key_node.start_mark.line + 1)
            key = str(yaml.SafeLoader.construct_scalar(_LOADER, key_node))
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Bad("YAML merge keys (<<) are not supported", key_node.start_mark.line + 1)
            if key in out:
                raise _Bad(f'the key "{key}" appears twice', key_node.start_mark.line + 1)
            out[key] = _build(value_node, (*path, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    try:
        return _LOADER.construct_object(node)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _Bad(f"cannot read the value: {first}", node.start_mark.line + 1) from None


class _PlainLoader(yaml.SafeLoader):
    pass


_LOADER = _PlainLoader("")
