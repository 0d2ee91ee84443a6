"""The one YAML/JSON reader: every bound refused while parsing, with its line; plain data out, nothing else."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.problemset import reader
from grader.problemset.reader import ANSWERS_LIMITS, DocumentError, Limits, find_non_text, parse
from grader.problemset.source import InputError, read_document, read_document_file

SMALL = Limits(max_chars=1_000, max_nodes=50, max_depth=4, max_string=20, max_integer_digits=10)


def bomb(levels: int = 9) -> str:
    """The billion-laughs file: each level an alias list of nine of the one before (9**levels strings)."""
    lines = ["problem_set: dl-hw2", "student: s1", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghijklmnop"
    for i in range(1, levels):
        lines.append(f"{names[i]}: &{names[i]} [" + ",".join([f"*{names[i - 1]}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# (case, text, message fragment, line)
REFUSED: list[tuple[str, str, str, int | None]] = [
    ("too many characters", "a: " + "x" * 1_000, "too large (1,003 characters; at most 1,000)", None),
    ("too many values", "[" + ", ".join(["1"] * 60) + "]", "too many values (more than 50)", 1),
    ("too deep", "a:\n  b:\n    c: [[x]]\n", "nested too deeply (more than 4 levels)", 3),
    ("too deep, JSON", '{"a": {"b": {"c": {"d": {"e": 1}}}}}', "nested too deeply (more than 4 levels)", 1),
    ("a long value", "a: b\nc: " + "x" * 21 + "\n", "a value is too long (21 characters; at most 20)", 2),
    ("a long key", "x" * 21 + ": 1\n", "a value is too long", 1),
    ("a long integer", "a: 1\nb: 12345678901\n", "the integer has 11 digits; at most 10 are accepted", 2),
    ("a long negative integer", "b: -12_345_678_901\n", "the integer has 11 digits", 1),
    ("an alias bomb", bomb(), "too many values once its aliases are written out (more than 50)", 4),
    ("an alias past the depth", "a: &a [[1]]\nb: {c: *a}\nd: {e: {f: *a}}\n", "nested too deeply", 3),
    ("a recursive alias", "a: &a [1, *a]\n", "a recursive alias", 1),
    ("a recursive mapping alias", "a: &a {b: {c: *a}}\n", "a recursive alias", 1),
    ("an undefined alias", "a: 1\nb: *nowhere\n", "the alias *nowhere is not defined", 2),
    ("a lone surrogate escape, YAML", 'a: 1\nb: "x\\ud800"\n', "lone UTF-16 surrogate", 2),
    ("a lone surrogate, 8-digit escape", 'b: "\\U0000DC00"\n', "lone UTF-16 surrogate", 1),
    ("a lone surrogate escape, JSON", '{"a": 1,\n "b": "\\udc65x"}', "lone UTF-16 surrogate", 2),
    ("a reversed pair, JSON", '{"b": "\\udc65\\ud835"}', "(column 8)", 1),
    ("the second of two lone escapes", '{"b": "\\ud835\\udc65",\n  "c": "x\\ud835"}', "(column 10)", 2),
    ("an escaped backslash before a pair", '{"b": "\\\\ud835\\udc65"}', "lone UTF-16 surrogate", 1),
    ("a surrogate pair in YAML", 'b: "\\ud835\\udc65"\n', "lone UTF-16 surrogate", 1),
    ("a raw lone surrogate", "a: 1\nb: x\ud800\n", "column 5 holds U+D800, half of a UTF-16 surrogate pair", 2),
    ("a raw control character", "a: 1\nb: x\x1b[2J\n", "column 5 holds the control character U+001B", 2),
    ("a raw non-character", "a: \uffff\n", "U+FFFF, which is not a character", 1),
    ("an escaped NUL", 'a: 1\nb: "x\\0"\n', "the value at column 4 holds the control character U+0000", 2),
    ("an escaped escape character", '{"b": "\\u001b[31m"}', "control character U+001B", 1),
    ("a Python tag", "a: !!python/object:os.system x\n", "YAML tags (!!python/object:os.system)", 1),
    ("a binary tag", "a: !!binary aGk=\n", "YAML tags (!!binary)", 1),
    ("a local tag", "a: !mine 1\n", "YAML tags (!mine)", 1),
    ("a set tag", "a: !!set {x: null}\n", "YAML tags (!!set)", 1),
    ("a merge key", "a: &a {x: 1}\nb: {<<: *a}\n", "merge keys (<<)", 2),
    ("two documents", "a: 1\n---\nb: 2\n", "a single document", 2),
    ("a list as a key", "? [a]\n: 1\n", "a key must be a plain name", 1),
    ("an alias as a key", "a: &k b\n*k : 1\n", "a key must be a plain name", 2),
    ("a duplicate key", "a: 1\nb: 2\na: 3\n", 'the key "a" appears twice', 3),
    ("not YAML", "a: [1, 2\nb: 3\n", "not valid YAML or JSON", None),
]


@pytest.mark.parametrize(("text", "fragment", "line"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_what_breaks_a_bound_is_refused_with_its_line(text: str, fragment: str, line: int | None) -> None:
    with pytest.raises(DocumentError) as info:
        parse(text, SMALL)
    assert fragment in info.value.message
    if line is not None:
        assert info.value.line == line


@pytest.fixture(params=["libyaml", "pure Python"])
def parser(request: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each test runs with libyaml's parser and with PyYAML's own (the fallback where libyaml is missing)."""
    if request.param == "pure Python":
        monkeypatch.setattr(reader, "_EventParser", yaml.SafeLoader)
    elif not reader.FAST_PARSER:
        pytest.skip("PyYAML is built without libyaml here")
    yield request.param


@pytest.mark.parametrize(("text", "fragment"), [
    (bomb(), "too many values"),
    ("a: &a [1, *a]\n", "recursive alias"),
    ('a: "\\ud800"\n', "surrogate"),
    ('{"a": "\\udc65"}', "surrogate"),
    ('a: "\\0"\n', "U+0000"),
    ("a: " + "[" * 900 + "]" * 900 + "\n", "nested too deeply"),
    ("a: " + "9" * 4_301 + "\n", "4,301 digits"),
])
def test_both_parsers_refuse_the_same(parser: str, text: str, fragment: str) -> None:
    with pytest.raises(DocumentError) as info:
        parse(text, ANSWERS_LIMITS)
    assert fragment in info.value.message


def test_both_parsers_read_the_same_data(parser: str) -> None:
    text = ('a: &t {rtol: 0.1}\nb: *t\nc: [1, 2.5, -3, 0x1F, yes, null, "s", 2024-01-01, 1.0e+400, .nan]\n'
            'd:\n  x: "\\u00e9\\t"\n')
    data, lines = parse(text)
    assert data["a"] == data["b"] == {"rtol": 0.1} and data["b"] is not data["a"]
    assert data["c"][:8] == [1, 2.5, -3, 31, True, None, "s", "2024-01-01"]
    assert data["c"][8] == float("inf") and data["c"][9] != data["c"][9]
    assert data["d"] == {"x": "é\t"}
    assert lines[("c", 7)] == 3 and lines[("d", "x")] == 5 and lines[("d",)] == 5
    assert parse('{"x": "\\ud835\\udc65"}')[0] == {"x": "𝑥"}


def test_aliases_count_their_text_as_written_out() -> None:
    text = "a: &a " + "x" * 100 + "\nb: [" + ", ".join(["*a"] * 10) + "]\n"
    with pytest.raises(DocumentError, match=r"too large once its aliases are written out \(more than 1,000 char"):
        parse(text, Limits(max_chars=1_000))
    assert len(parse(text, Limits(max_chars=1_200))[0]["b"]) == 10


def test_a_json_surrogate_pair_is_the_character_it_encodes() -> None:
    data, _ = parse('{"q2": "\\ud835\\udc65 + \\uD83D\\uDE00", "q3": "\\u00e9"}')
    assert data == {"q2": "𝑥 + 😀", "q3": "é"}


def test_an_alias_bomb_is_refused_at_once() -> None:
    text = bomb()
    assert len(text) < 400
    start = time.process_time()
    with pytest.raises(DocumentError, match="once its aliases are written out"):
        parse(text, ANSWERS_LIMITS)
    assert time.process_time() - start < 1.0  # CPU seconds; expanding it took 35-40 s


def test_small_aliases_are_written_out_as_separate_values() -> None:
    data, _ = parse("tol: &tol {rtol: 0.05}\nq1: {tolerance: *tol}\nq2: {tolerance: *tol}\n")
    data["q1"]["tolerance"]["rtol"] = 1
    assert data["q2"]["tolerance"] == {"rtol": 0.05} and data["tol"] == {"rtol": 0.05}


def test_json_with_tabs_and_without_spaces_is_read() -> None:
    data, _ = parse('{\n\t"problem_set":"a",\n\t"answers":{"q1":{"z1":1.5}}\n}\n')
    assert data == {"problem_set": "a", "answers": {"q1": {"z1": 1.5}}}


def test_what_is_not_refused_comes_out_as_plain_data() -> None:
    assert parse("")[0] is None and parse("# only a comment\n") == (None, {})
    assert parse("null") == (None, {(): 1})
    data, _ = parse("when: 2024-05-01 10:00:00\n'=': x\n" + "n: " + "9" * 1_000 + "\n")
    assert data["when"] == "2024-05-01 10:00:00" and data["="] == "x" and data["n"] == int("9" * 1_000)


def test_the_input_error_names_the_file_and_line() -> None:
    with pytest.raises(InputError) as info:
        read_document("a: 1\nb: *c\n", "roster.yaml")
    assert str(info.value) == "roster.yaml:2: the alias *c is not defined (no &c before it)"
    with pytest.raises(InputError, match="the file is empty"):
        read_document("\n# nothing\n", "x.yaml")


def test_a_file_too_large_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.truncate(5 * ANSWERS_LIMITS.max_chars)  # sparse: nothing to read would fit in the bound
    with pytest.raises(InputError, match="too large"):
        read_document_file(path, limits=ANSWERS_LIMITS)
    path.write_text("a: 1\r\nb: [x,\r\n  y]\r\n", encoding="utf-8")
    doc = read_document_file(path)
    assert doc.data == {"a": 1, "b": ["x", "y"]} and doc.line(("b", 1)) == 3 and doc.file == str(path)


def test_strings_from_elsewhere_are_checked_by_the_same_rule() -> None:
    assert find_non_text("sigma(x) \u2264 1, 𝑥, é\t\n") is None
    assert find_non_text("ab\ud835") == (2, "U+D835, half of a UTF-16 surrogate pair, which is not a character "
                                             "on its own")
    assert find_non_text("x\x00") == (1, "the control character U+0000")
