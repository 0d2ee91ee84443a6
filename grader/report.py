"""Text output for a terminal: aligned columns, one line per quantity, verdicts easy to scan."""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

MARKS = {"correct": "✓", "follow_through": "↪", "incorrect": "✗", "missing": "–", "invalid": "!",
         "undecided": "?"}
COLOURS = {"correct": "32", "follow_through": "36", "incorrect": "31", "missing": "90", "invalid": "35",
           "undecided": "33"}


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value).replace("\n", " ")
    return text if len(text) <= 40 else text[:37] + "..."


def _score(x: float) -> str:
    return f"{x:g}"


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]
            for r in rows]


def format_result(result: dict[str, Any], colour: bool = False) -> str:
    lines = [f"{result['problem_set']}  student {result['student']}  "
             f"score {_score(result['score'])} / {_score(result['max_score'])}"]
    for problem in result["problems"]:
        lines.append("")
        lines.append(f"{problem['id']}  {_score(problem['score'])} / {_score(problem['max_score'])}")
        rows = [["", "quantity", "submitted", "expected", "verdict", "feedback"]]
        for part in problem["parts"]:
            verdict = part["verdict"]
            mark = MARKS.get(verdict, " ")
            label = verdict.replace("_", "-")
            if colour:
                mark = f"\033[{COLOURS[verdict]}m{mark}\033[0m"
            feedback = part["feedback"]
            if part.get("misconception"):
                feedback = f"[{part['misconception']}] {feedback}"
            rows.append([mark, part["quantity"], _fmt(part["submitted"]), _fmt(part["expected"]), label, feedback])
        lines.extend(_table(rows))
    for w in result.get("warnings", []):
        lines.append(f"warning: {w}")
    return "\n".join(lines)


def format_key(key: dict[str, Any]) -> str:
    who = f"student {key['student']}" if key.get("student") else "reference variant"
    lines = [f"{key['problem_set']}  {key['title']}  ({who})"]
    for p in key["problems"]:
        lines.append("")
        lines.append(f"{p['id']}  {p['title']}  [{p['kind']}, {_score(p['max_score'])} points]")
        if p["kind"] == "network":
            values = {**p["given"], **p["params"]}
            lines.append("  values: " + ", ".join(f"{k}={v:g}" for k, v in values.items()))
            lines.extend(_table([[q["quantity"], _fmt(q["value"])] for q in p["quantities"]]))
        else:
            for field in ("answer", "latex"):
                if field in p:
                    lines.append(f"  {field}: {p[field]}")
    return "\n".join(lines)


def write(text: str, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(text + "\n")
