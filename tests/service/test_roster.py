"""Reading a roster CSV: what is accepted, and every bad row named by its line."""

from __future__ import annotations

import pytest

from grader.service.models import Role
from grader.service.roster import MAX_BYTES, RosterError, decode_roster, read_roster


def test_a_spreadsheet_export_with_a_bom_any_case_and_column_order() -> None:
    text = ("\ufeffName,ROLE,User,Email\r\nAda Lovelace,Student,ada,ada@uni.edu\r\n"
            "\"Turing, Alan\",instructor,AT,\r\n\r\n")
    entries = read_roster(text)
    assert [(e.line, e.user, e.role, e.email, e.name) for e in entries] == [
        (2, "ada", Role.STUDENT, "ada@uni.edu", "Ada Lovelace"),
        (3, "AT", Role.INSTRUCTOR, None, "Turing, Alan")]


def test_a_spreadsheets_empty_rows_at_the_end_are_ignored() -> None:
    assert [e.user for e in read_roster("user,role,email,name\r\nann,student,,\r\n,,,\r\n,,,\r\n")] == ["ann"]


def test_only_user_and_role_are_required() -> None:
    assert [e.user for e in read_roster("user,role\ns1,student\ns2,student\n")] == ["s1", "s2"]


@pytest.mark.parametrize(("text", "line", "words"), [
    ("user,role\nalice,student\nbob,student\nAlice,student\n", 4, "'Alice' is also on line 2"),
    ("user,role\nalice,teacher\n", 2, "unknown role 'teacher'"),
    ("user,role\nalice,student\n\nbob,student\n", 3, "an empty row between rows"),
    ("user,role\nalice,student\n\ufeffbob,student\n", 3, "byte-order mark"),
    ("user,role\n=HYPERLINK(\"x\"),student\n", 2, "starts with '='"),
    ("user,role,name\nbob,student,@SUM(A1)\n", 2, "the name '@SUM(A1)' starts with '@'"),
    ("user,role,email\nbob,student,+cmd\n", 2, "starts with '+'"),
    ("user,role\nbob smith,student\n", 2, "must be 1-128 letters"),
    ("user,role,email\nbob,student,not-an-address\n", 2, "is not an e-mail address"),
    ("user,role\nbob,student,extra\n", 2, "3 field(s), but the header has 2"),
    ("user,role\nbob,\"student\n", 2, "not valid CSV"),
    ("user,rôle\nbob,student\n", 1, "unknown column 'rôle'"),
    ("user,email\nbob,b@x.org\n", 1, "the header has no role column"),
    ("user,role,user\nbob,student,bob\n", 1, "appears twice"),
    ("user,role\nbob\x00,student\n", 2, "U+0000"),
    ("user,role,name\nbob,student,Bob\tSmith\n", 2, "the name holds the character U+0009"),
    ("", 1, "the roster is empty"),
])
def test_a_bad_roster_names_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(RosterError) as caught:
        read_roster(text, "class.csv")
    assert any(p.line == line and words in p.message for p in caught.value.problems), caught.value.problems
    assert f"class.csv:{line}: " in str(caught.value) and str(caught.value).endswith("nothing was imported")


def test_every_problem_is_reported_at_once() -> None:
    text = "user,role\nalice,student\nalice,student\nbob,boss\n\ncarol,student\n=x,student\n"
    with pytest.raises(RosterError) as caught:
        read_roster(text)
    assert [p.line for p in caught.value.problems] == [3, 4, 5, 7]


def test_bytes_that_are_not_utf8_or_too_many() -> None:
    with pytest.raises(RosterError, match=r"line 2|:2: not UTF-8"):
        decode_roster(b"user,role\n\xe9mile,student\n", "r.csv")
    assert decode_roster("\ufeffuser,role\n".encode(), "r.csv") == "user,role\n"
    with pytest.raises(RosterError, match="at most"):
        decode_roster(b"x" * (MAX_BYTES + 1), "r.csv")
