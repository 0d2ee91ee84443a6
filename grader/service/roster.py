"""Read a roster: a CSV file of users (``user,role[,email,name]``), every problem reported with its line.

The file is read whole before anything is stored, and a roster with any problem is refused whole: nothing
is half-created. Rules (docs/service.md#rosters):

- UTF-8; one byte-order mark at the very start (as spreadsheets write it) is accepted, one anywhere else
  is an error. The first line is the header: ``user`` and ``role`` are required, ``email`` and ``name``
  optional, in any order and any case; other columns are errors (a misspelt one would be silently lost).
- Roles are ``student`` or ``instructor`` in any case. User names follow the answers file's rule (letters,
  digits and ``._@+-``, starting with a letter or digit) and are matched without regard to case, so
  ``Alice`` and ``alice`` in one file are a duplicate.
- A field starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is refused: a spreadsheet
  would run it as a formula when the gradebook is exported and opened.
- Blank lines at the end (and a spreadsheet's empty ``,,,`` rows there) are ignored; an empty row between
  rows is an error.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from grader.service.models import Role

#: Far above any course, far below what would strain one transaction.
MAX_ROWS = 50_000
MAX_BYTES = 10_000_000
MAX_ERRORS_SHOWN = 20

COLUMNS = ("user", "role", "email", "name")
REQUIRED = ("user", "role")
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
EMAIL = re.compile(r"^[^@\s,;<>\"']{1,64}@[^@\s,;<>\"']{1,189}$")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_DISPLAY_NAME = 200


@dataclass(frozen=True)
class RosterEntry:
    line: int
    user: str
    role: Role
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class RosterProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class RosterError(ValueError):
    """A roster that cannot be imported; ``problems`` has every problem found, each with its line."""

    def __init__(self, file: str, problems: list[RosterProblem]) -> None:
        self.file = file
        self.problems = problems
        shown = "\n".join(f"{file}:{p.line}: {p.message}" for p in problems[:MAX_ERRORS_SHOWN])
        more = len(problems) - MAX_ERRORS_SHOWN
        super().__init__(shown + (f"\n... and {more} more problem(s)" if more > 0 else "")
                         + "\nnothing was imported")


def decode_roster(data: bytes, file: str) -> str:
    """The roster's text: UTF-8, with a spreadsheet's leading byte-order mark dropped."""
    if len(data) > MAX_BYTES:
        raise RosterError(file, [RosterProblem(1, f"the file is {len(data):,} bytes; at most {MAX_BYTES:,}")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RosterError(file, [RosterProblem(line, f"not UTF-8 (byte {data[exc.start]:#04x}); save the "
                                               "file as 'CSV UTF-8'")]) from None


def read_roster(text: str, file: str = "roster.csv") -> list[RosterEntry]:
    """The entries of a roster, or a RosterError listing every problem in it."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines()
    while lines and not lines[-1].replace(",", "").strip():  # blank, or a spreadsheet's empty ",,," rows
        lines.pop()
    if not lines:
        raise RosterError(file, [RosterProblem(1, "the roster is empty: the first line must be a header such "
                                               "as 'user,role,email,name'")])
    if len(lines) > MAX_ROWS + 1:
        raise RosterError(file, [RosterProblem(MAX_ROWS + 2, f"more than {MAX_ROWS:,} rows")])
    problems: list[RosterProblem] = []
    for number, line in enumerate(lines, start=1):
        if "\ufeff" in line:
            problems.append(RosterProblem(number, "a byte-order mark (U+FEFF) inside the file: were two files "
                                          "pasted together?"))
        bad = next((c for c in line if _unprintable(c)), None)
        if bad is not None:
            problems.append(RosterProblem(number, f"the character U+{ord(bad):04X} is not allowed"))
    if problems:
        raise RosterError(file, problems)
    rows = _rows(lines, file)
    columns = _header(rows[0][1], problems)
    if problems:
        raise RosterError(file, problems)
    records: list[tuple[int, dict[str, str]]] = []
    for number, row in rows[1:]:
        if not any(field.strip() for field in row):
            problems.append(RosterProblem(number, "an empty row between rows: remove it (rows after it may have been "
                                          "meant to be above it)"))
        elif len(row) != len(columns):
            problems.append(RosterProblem(number, f"{len(row)} field(s), but the header has {len(columns)}"))
        else:
            records.append((number, {name: row[index] for name, index in columns.items()}))
    try:
        entries = check_entries(records, file)
    except RosterError as exc:
        problems += exc.problems
    if problems:
        raise RosterError(file, sorted(problems, key=lambda p: p.line))
    return entries


def check_entries(records: list[tuple[int, dict[str, str]]], file: str) -> list[RosterEntry]:
    """Entries from (line, {column: value}) records, or a RosterError listing every problem among them.

    The same rules as a roster file's rows; an API request's list of users goes through here too (its
    "line" is then the entry's position in the list).
    """
    problems: list[RosterProblem] = []
    entries: list[RosterEntry] = []
    seen: dict[str, int] = {}
    for number, values in records:
        entry = _entry(number, values, problems)
        if entry is None:
            continue
        key = entry.user.lower()
        if key in seen:
            problems.append(RosterProblem(number, f"user {entry.user!r} is also on line {seen[key]} (names are "
                                          "matched without regard to case)"))
            continue
        seen[key] = number
        entries.append(entry)
    if problems:
        raise RosterError(file, problems)
    return entries


def _rows(lines: list[str], file: str) -> list[tuple[int, list[str]]]:
    """The CSV rows, each with the line it starts on."""
    reader = csv.reader(lines, strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise RosterError(file, [RosterProblem(start, f"not valid CSV ({exc})")]) from None
    return rows


def _unprintable(c: str) -> bool:
    code = ord(c)
    return (code < 0x20 and c != "\t") or 0x7F <= code < 0xA0 or 0xD800 <= code <= 0xDFFF or code in (0x2028, 0x2029)


def _header(row: list[str], problems: list[RosterProblem]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, raw in enumerate(row):
        name = raw.strip().lower()
        if name not in COLUMNS:
            problems.append(RosterProblem(1, f"unknown column {raw.strip()!r} in the header: the columns are "
                                          + ", ".join(COLUMNS) + " (user and role required)"))
        elif name in columns:
            problems.append(RosterProblem(1, f"the column {name!r} appears twice in the header"))
        else:
            columns[name] = index
    missing = [c for c in REQUIRED if c not in columns]
    if missing and not problems:
        problems.append(RosterProblem(1, f"the header has no {' or '.join(missing)} column: the first line must "
                                      "be a header such as 'user,role,email,name'"))
    return columns


def _entry(number: int, raw: dict[str, str], problems: list[RosterProblem]) -> RosterEntry | None:
    before = len(problems)
    values = {name: value.strip() for name, value in raw.items()}
    for name, value in values.items():
        bad = next((c for c in value if _unprintable(c) or c in "\t\n\ufeff"), None)
        if bad is not None:
            problems.append(RosterProblem(number, f"the {name} holds the character U+{ord(bad):04X}"))
        elif value.startswith(FORMULA_START):
            problems.append(RosterProblem(number, f"the {name} {value[:40]!r} starts with {value[0]!r}: a "
                                          "spreadsheet would run it as a formula"))
    if len(problems) > before:
        return None
    user = values["user"]
    if not USER_NAME.match(user):
        problems.append(RosterProblem(number, f"user name {user!r} must be 1-128 letters, digits or ._@+- "
                                      "characters, starting with a letter or digit"))
    try:
        role = Role(values["role"].lower())
    except ValueError:
        problems.append(RosterProblem(number, f"unknown role {values['role']!r}: student or instructor"))
        return None
    email = values.get("email") or None
    if email is not None and (len(email) > 254 or not EMAIL.match(email)):
        problems.append(RosterProblem(number, f"{email!r} is not an e-mail address"))
    display = values.get("name") or None
    if display is not None and len(display) > MAX_DISPLAY_NAME:
        problems.append(RosterProblem(number, f"the name is {len(display)} characters; at most {MAX_DISPLAY_NAME}"))
    if len(problems) > before:
        return None
    return RosterEntry(number, user, role, email, display)
