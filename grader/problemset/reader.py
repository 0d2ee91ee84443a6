"""Read YAML or JSON into plain data, with every bound applied while parsing, before anything is expanded.

The text is checked for characters that are not text (lone surrogates, control characters), then
parsed into events (libyaml where it is installed, PyYAML's own parser otherwise), and the data is
built from the events in one loop, without recursion. Each event is counted as it arrives, so a
file that breaks a bound is refused at the first value past it:

``max_chars``           characters in the text, and in all its values once aliases are expanded
``max_nodes``           values (keys, numbers, texts, lists, mappings), aliases counted as expanded
``max_depth``           lists and mappings nested in each other
``max_string``          characters in one value
``max_integer_digits``  digits of one integer (Python refuses to read more than 4,300)

Aliases (``*name``) are allowed within that budget: an alias counts as the value it repeats,
written out. A recursive alias, a tag other than YAML's own scalar and collection tags, a merge key
(``<<``) and a second document are refused. Values come out as ``str``, ``int``, ``float``, ``bool``,
``None``, ``list`` and ``dict``; a date stays the text it was written as.

JSON is read as YAML. In a JSON document (one that starts with ``{`` or ``[``) an escaped UTF-16
pair such as ``"\\ud835\\udc65"`` is the one character it stands for (𝑥), as JSON defines; a lone
surrogate escape, in JSON or YAML, is refused with its line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NoReturn

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

Path = tuple[str | int, ...]

try:
    from yaml._yaml import CParser as _EventParser

    FAST_PARSER = True
except ImportError:  # PyYAML built without libyaml: its own parser, about 20 times slower
    from yaml import SafeLoader as _EventParser  # type: ignore[assignment]

    FAST_PARSER = False


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on one YAML or JSON document (see the module docstring and docs/limits.md)."""

    max_chars: int = 1_000_000
    max_nodes: int = 100_000
    max_depth: int = 32
    max_string: int = 50_000
    max_integer_digits: int = 1_000


#: any YAML or JSON document the project reads
DOCUMENT_LIMITS = Limits()
#: problem-set files, written by instructors
PROBLEM_SET_LIMITS = Limits()
#: answers files, written by students: a real one is a few kilobytes
ANSWERS_LIMITS = Limits(max_chars=256_000, max_nodes=20_000, max_string=20_000)


class DocumentError(Exception):
    """The text breaks a bound or is not YAML/JSON; ``line`` is 1-based, the column is in the message."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


# Not text: C0 controls other than tab and line breaks, DEL, C1 controls other than NEL, UTF-16 surrogates
# (halves of a pair, never characters on their own) and the non-characters U+FFFE, U+FFFF.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
# an escaped UTF-16 pair, where the backslash starts an escape (it is not itself escaped)
_JSON_PAIR = re.compile(r"(?<!\\)((?:\\\\)*)\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})")

_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null")}
_COLLECTION_TAGS = {f"{_TAG}seq", f"{_TAG}map"}
_RESOLVER = Resolver()
_CONSTRUCTOR = SafeConstructor()


def describe_character(ch: str) -> str:
    code = f"U+{ord(ch):04X}"
    if 0xD800 <= ord(ch) <= 0xDFFF:
        return f"{code}, half of a UTF-16 surrogate pair, which is not a character on its own"
    if ord(ch) in (0xFFFE, 0xFFFF):
        return f"{code}, which is not a character"
    return f"the control character {code}"


def find_non_text(text: str) -> tuple[int, str] | None:
    """The 0-based offset and a description of the first character of ``text`` that is not text, or None.

    For strings that reach the grader other than through a document (a JSON request body's fields,
    already decoded, may hold lone surrogates): the same rule the reader applies.
    """
    bad = _NOT_TEXT.search(text)
    return None if bad is None else (bad.start(), describe_character(bad.group()))


def parse(text: str, limits: Limits = DOCUMENT_LIMITS) -> tuple[Any, dict[Path, int]]:
    """The data of a one-document ``text`` and the line of every value; ``DocumentError`` when refused.

    Returns ``(None, {})`` for a text with no document at all (empty, or only comments).
    """
    if len(text) > limits.max_chars:
        raise DocumentError(f"the file is too large ({len(text):,} characters; at most {limits.max_chars:,})")
    bad = _NOT_TEXT.search(text)
    if bad is not None:
        line, column = _position(text, bad.start())
        raise DocumentError(f"column {column} holds {describe_character(bad.group())}", line)
    if text.lstrip("\ufeff \t\r\n")[:1] in ("{", "["):
        text = _JSON_PAIR.sub(_join_pair, text)
    parser = _EventParser(text)
    builder = _Builder(limits)
    try:
        while True:
            event = parser.get_event()
            if event is None or builder.feed(event):
                break
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text) from None
    except yaml.YAMLError as exc:
        raise DocumentError(f"not valid YAML or JSON: {exc}") from None
    finally:
        parser.dispose()
    return builder.root, builder.lines


def _position(text: str, offset: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def _is_character(code: int) -> bool:
    return not 0xD800 <= code <= 0xDFFF and code <= 0x10FFFF


def _join_pair(m: re.Match[str]) -> str:
    high, low = int(m.group(2), 16), int(m.group(3), 16)
    return f"{m.group(1)}\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"


def _syntax_error(exc: yaml.MarkedYAMLError, text: str) -> DocumentError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or str(exc)
    if mark is None:
        return DocumentError(f"not valid YAML or JSON: {problem}")
    column = mark.column + 1
    if "invalid Unicode character escape code" in problem:
        problem = ("an escape that is not a character (a lone UTF-16 surrogate such as \\ud800, or a code "
                   "above \\U0010FFFF)")
        lines = text.split("\n")
        line = lines[mark.line] if mark.line < len(lines) else ""
        starts = [m.start() + 1 for m in _ESCAPE.finditer(line)
                  if m.start() <= mark.column and not _is_character(int(m.group(1)[1:], 16))]
        column = starts[-1] if starts else column  # libyaml points past the escape: name where it starts
    return DocumentError(f"not valid YAML or JSON: {problem} (column {column})", mark.line + 1)


class _Frame:
    """A list or mapping being built."""

    __slots__ = ("anchor", "chars", "height", "key", "nodes", "path", "value")

    def __init__(self, value: list[Any] | dict[str, Any], path: Path, anchor: str | None, nodes: int,
                 chars: int) -> None:
        self.value = value
        self.path = path
        self.anchor = anchor
        self.key: str | None = None  # a mapping's key, read, whose value is next
        self.nodes = nodes  # counts when it opened: what it holds is the difference when it closes
        self.chars = chars
        self.height = 1


class _Builder:
    """Plain data from parser events, counting against ``limits`` as each event arrives."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.lines: dict[Path, int] = {}
        self.nodes = 0
        self.chars = 0
        self.documents = 0
        # anchor -> (value, values it holds, characters it holds, height)
        self.anchors: dict[str, tuple[Any, int, int, int]] = {}

    def feed(self, event: yaml.Event) -> bool:
        """Take one event; True at the end of the stream."""
        if isinstance(event, yaml.ScalarEvent):
            self._scalar(event)
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            self._open(event)
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            self._close()
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event)
        elif isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                self._fail("not valid YAML or JSON: expected a single document, found a second one", event)
        return isinstance(event, yaml.StreamEndEvent)

    # -- events ------------------------------------------------------------------------------------
    def _scalar(self, event: yaml.ScalarEvent) -> None:
        text = event.value
        self._count(1, len(text), event, alias=False)
        if len(text) > self.limits.max_string:
            self._fail(f"a value is too long ({len(text):,} characters; at most {self.limits.max_string:,})",
                       event)
        bad = _NOT_TEXT.search(text)
        if bad is not None:
            self._fail(f"the value at column {_column(event)} holds {describe_character(bad.group())}", event)
        tag = event.tag
        if tag is None or tag == "!":
            tag = _resolve(text, event.implicit)
        elif tag not in _SCALAR_TAGS:
            self._fail(f"YAML tags ({_short(tag)}) are not accepted: write plain values", event)
        top = self.stack[-1] if self.stack else None
        if isinstance(top, _Frame) and isinstance(top.value, dict) and top.key is None:
            if tag == f"{_TAG}merge":
                self._fail("YAML merge keys (<<) are not supported", event)
            if text in top.value:
                self._fail(f'the key "{text}" appears twice', event)
            top.key = text
            if event.anchor is not None:
                self.anchors[event.anchor] = (text, 1, len(text), 0)
            return
        value = self._construct(tag, text, event)
        self._add(value, 0, event)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, 1, len(text), 0)

    def _construct(self, tag: str, text: str, event: yaml.ScalarEvent) -> Any:
        if tag == f"{_TAG}int":
            digits = len(text.replace("_", "").lstrip("+-"))
            if digits > self.limits.max_integer_digits:
                self._fail(f"the integer has {digits:,} digits; at most {self.limits.max_integer_digits:,} "
                           "are accepted", event)
        if tag not in _SCALAR_TAGS:  # dates, '=' and the like: the text as written
            return text
        try:
            return _CONSTRUCTOR.construct_object(yaml.ScalarNode(tag, text))
        except (yaml.YAMLError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._fail(f"cannot read the value: {first}", event)

    def _open(self, event: yaml.SequenceStartEvent | yaml.MappingStartEvent) -> None:
        if event.tag not in (None, "!", *_COLLECTION_TAGS):
            self._fail(f"YAML tags ({_short(event.tag)}) are not accepted: write plain lists and mappings", event)
        self._key_check(event)
        if len(self.stack) >= self.limits.max_depth:
            self._fail(f"nested too deeply (more than {self.limits.max_depth} levels)", event)
        nodes, chars = self.nodes, self.chars
        self._count(1, 0, event, alias=False)
        value: list[Any] | dict[str, Any] = [] if isinstance(event, yaml.SequenceStartEvent) else {}
        path = self._path(event)
        self.stack.append(_Frame(value, path, event.anchor, nodes, chars))

    def _close(self) -> None:
        frame = self.stack.pop()
        if frame.anchor is not None:
            self.anchors[frame.anchor] = (frame.value, self.nodes - frame.nodes, self.chars - frame.chars,
                                          frame.height)
        self._attach(frame.value, frame.height)

    def _alias(self, event: yaml.AliasEvent) -> None:
        name = event.anchor
        assert name is not None
        if any(f.anchor == name for f in self.stack):
            self._fail(f"the alias *{name} repeats a value that contains it (a recursive alias)", event)
        if name not in self.anchors:
            self._fail(f"the alias *{name} is not defined (no &{name} before it)", event)
        self._key_check(event)
        value, nodes, chars, height = self.anchors[name]
        self._count(nodes, chars, event, alias=True)
        if len(self.stack) + height > self.limits.max_depth:
            self._fail(f"nested too deeply (more than {self.limits.max_depth} levels, with *{name} written out)",
                       event)
        self._add(_copy(value), height, event)

    # -- helpers -----------------------------------------------------------------------------------
    def _count(self, nodes: int, chars: int, event: yaml.Event, *, alias: bool) -> None:
        self.nodes += nodes
        self.chars += chars
        why = " once its aliases are written out" if alias else ""
        if self.nodes > self.limits.max_nodes:
            self._fail(f"the file holds too many values{why} (more than {self.limits.max_nodes:,})", event)
        if self.chars > self.limits.max_chars:
            self._fail(f"the file is too large{why} (more than {self.limits.max_chars:,} characters)", event)

    def _key_check(self, event: yaml.Event) -> None:
        top = self.stack[-1] if self.stack else None
        if top is not None and isinstance(top.value, dict) and top.key is None:
            self._fail("a key must be a plain name", event)

    def _path(self, event: yaml.Event) -> Path:
        """The path of the value that starts at ``event``, its line recorded."""
        top = self.stack[-1] if self.stack else None
        if top is None:
            path: Path = ()
        elif isinstance(top.value, list):
            path = (*top.path, len(top.value))
        else:
            assert top.key is not None
            path = (*top.path, top.key)
        self.lines[path] = _line(event)
        return path

    def _add(self, value: Any, height: int, event: yaml.Event) -> None:
        self._path(event)
        self._attach(value, height)

    def _attach(self, value: Any, height: int) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        top.height = max(top.height, height + 1)
        if isinstance(top.value, list):
            top.value.append(value)
        else:
            assert top.key is not None
            top.value[top.key] = value
            top.key = None

    def _fail(self, message: str, event: yaml.Event) -> NoReturn:
        raise DocumentError(message, _line(event))


def _line(event: yaml.Event) -> int:
    return 0 if event.start_mark is None else event.start_mark.line + 1


def _column(event: yaml.Event) -> int:
    return 0 if event.start_mark is None else event.start_mark.column + 1


def _short(tag: str | None) -> str:
    return "" if tag is None else "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def _resolve(text: str, implicit: tuple[bool, bool]) -> str:
    """The tag YAML gives an untagged scalar (``tag:yaml.org,2002:int`` for ``12``)."""
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, text, implicit)  # type: ignore[no-untyped-call]
    return tag


def _copy(value: Any) -> Any:
    """A copy of the lists and mappings in ``value`` (an alias's value is its own; depth is bounded)."""
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value
