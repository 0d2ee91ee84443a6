"""grader.service.text: finding, repairing and measuring text that UTF-8 cannot encode."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from grader.service.text import (
    find_unencodable,
    joined_pairs,
    json_size,
    scrub,
    unencodable_in,
    utf8,
    valid_text,
)
from tests.conftest import FAST


def test_a_lone_surrogate_is_found_with_its_path_and_character() -> None:
    found = find_unencodable({"answers": {"q1": {"z": "ab\ud800"}}})
    assert found is not None
    assert (found.path, found.index, found.char) == ("answers.q1.z", 2, "\ud800")
    assert found.describe() == ("answers.q1.z holds U+D800 at character 3, a lone surrogate that is not text; "
                                "send valid Unicode (UTF-8)")
    listed = find_unencodable({"students": ["ok", "\udc80x"]})
    assert listed is not None and listed.path == "students[1]" and listed.index == 0
    key = find_unencodable({"a\udfff": 1})
    assert key is not None and key.path == "a\ufffd"  # the path itself is printable
    assert find_unencodable({"x": ["fine", 1.5, None, "𝑥"]}) is None


def test_pairs_are_joined_and_lone_ones_replaced() -> None:
    assert valid_text("\ud835\udc65") == "𝑥"  # what a YAML reader makes of the escapes "\ud835\udc65"
    assert valid_text("a\ud800b") == "a\ufffdb"
    assert valid_text("\udc65\ud835") == "\ufffd\ufffd"  # the wrong order is no pair
    assert utf8("x\ud800") == "x\ufffd".encode()
    assert unencodable_in("plain") is None and unencodable_in("é\ud800") == 1


def test_pairs_in_values_are_joined_and_lone_ones_left_to_be_reported() -> None:
    assert joined_pairs({"a\ud835\udc65": ["\ud835\udc65", "\ud800", 1]}) == {"a𝑥": ["𝑥", "\ud800", 1]}


def test_scrub_keeps_valid_values_as_they_are() -> None:
    value = {"a": ["b", {"c": 1}], "d": "é"}
    assert scrub(value) is value
    assert scrub({"k\ud800": ["\udfff"]}) == {"k\ufffd": ["\ufffd"]}
    assert scrub(("a", "\ud800")) == ("a", "\ufffd")


@FAST
@given(st.recursive(st.text() | st.integers() | st.none(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)))
def test_scrubbed_values_always_encode(value: object) -> None:
    cleaned = scrub(value)
    assert find_unencodable(cleaned) is None
    json_size(cleaned)  # never raises


@FAST
@given(st.text(alphabet=st.characters(categories=["Cs"]) | st.characters()))
def test_every_string_becomes_encodable(text: str) -> None:
    assert isinstance(valid_text(text).encode("utf-8"), bytes)
    assert (unencodable_in(text) is None) == (valid_text(text) == text)
