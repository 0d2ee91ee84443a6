"""Text that can be stored and sent: lone surrogates found, refused at input, repaired at output.

A Python string may hold UTF-16 surrogates that are not text (``"\\ud800"``, as a JSON or YAML escape
reads them). UTF-8 cannot encode them, so SQLite, PostgreSQL's JSONB and every response would fail on
them. The service refuses them where a request brings them in (``find_unencodable``) and repairs what
reaches an output anyway (``scrub``): a high and a low surrogate in a row become the character they stand
for, a lone one becomes U+FFFD.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


def valid_text(text: str) -> str:
    """``text`` with surrogate pairs joined and lone surrogates replaced by U+FFFD (unchanged if valid)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def joined_pairs(value: Any) -> Any:
    """A JSON-like value with each high-and-low surrogate pair joined into its character; lone ones stay.

    YAML reads the JSON escapes of one astral character (``"\\ud835\\udc65"``, 𝑥) as two surrogates.
    """
    if isinstance(value, str):
        if value.isascii():
            return value
        try:
            return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError:  # a lone one: left for find_unencodable to report
            return value
    if isinstance(value, dict):
        return {joined_pairs(k): joined_pairs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [joined_pairs(v) for v in value]
    return value


def utf8(text: str) -> bytes:
    """``text`` encoded as UTF-8, never failing: what cannot be encoded is repaired first."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return valid_text(text).encode("utf-8")


def scrub(value: Any) -> Any:
    """A JSON-like value with every string (keys too) made valid text; the same object when nothing changes."""
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, dict):
        changed = False
        out = {}
        for k, v in value.items():
            k2 = valid_text(k) if isinstance(k, str) else k
            v2 = scrub(v)
            changed = changed or k2 is not k or v2 is not v
            out[k2] = v2
        return out if changed else value
    if isinstance(value, list | tuple):
        items = [scrub(v) for v in value]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            return items if isinstance(value, list) else tuple(items)
        return value
    return value


@dataclass(frozen=True)
class Unencodable:
    """Where a value holds something UTF-8 cannot encode."""

    path: str  # e.g. ``answers.q1.z``; empty for the value itself
    index: int  # 0-based character index in that string
    char: str

    def describe(self, what: str = "the value") -> str:
        """``answers.q1.z holds U+D800 at character 3, ...``; ``what`` names a value without a path."""
        where = self.path or what
        return (f"{where} holds U+{ord(self.char):04X} at character {self.index + 1}, a lone surrogate that is not "
                "text; send valid Unicode (UTF-8)")


def unencodable_in(text: str) -> int | None:
    """The index of the first character of ``text`` UTF-8 cannot encode, or None."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def find_unencodable(value: Any, path: str = "") -> Unencodable | None:
    """The first string (key or value) in a JSON-like value that UTF-8 cannot encode, or None."""
    if isinstance(value, str):
        index = unencodable_in(value)
        return None if index is None else Unencodable(path, index, value[index])
    if isinstance(value, dict):
        for k, v in value.items():
            here = f"{path}.{k}" if path else str(k)
            if isinstance(k, str) and (index := unencodable_in(k)) is not None:
                return Unencodable(valid_text(here), index, k[index])
            found = find_unencodable(v, here)
            if found is not None:
                return Unencodable(valid_text(found.path), found.index, found.char)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = find_unencodable(v, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def json_size(value: Any) -> int:
    """How many bytes ``value`` takes as compact UTF-8 JSON (what a JSON column stores, give or take)."""
    return len(utf8(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)))
