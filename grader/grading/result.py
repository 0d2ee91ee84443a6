"""Grading results, shaped as the JSON result of the SPEC (section 4)."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any


class Verdict(enum.StrEnum):
    CORRECT = "correct"
    FOLLOW_THROUGH = "follow_through"
    INCORRECT = "incorrect"
    MISSING = "missing"
    INVALID = "invalid"
    UNDECIDED = "undecided"


def display_number(x: float | None) -> float | None:
    """A value as shown in results: six decimals, and at least six significant figures when small."""
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.6g}") if abs(x) < 1 else round(x, 6)


@dataclass
class PartResult:
    quantity: str
    submitted: Any
    expected: Any
    verdict: Verdict
    credit: float
    points: float
    misconception: str | None = None
    feedback: str = ""
    # The feedback as said while expected values are hidden: nothing in it pins down a key value
    # (no percentages, no values at points, no constants of the key). None: ``feedback`` already says
    # nothing of the key. Both are stored, so the set's show_expected can change without a regrade.
    feedback_hidden: str | None = None
    # A value the problem does not ask for: the student's shown work, reported with no points (SPEC 6.1.4).
    shown: bool = False
    # "degenerate": a follow-through that rests on an earlier answer of 0, 1 or a copy of another value
    # where the key has none of these (SPEC 6.1.5); listed for the instructor on the class results.
    flag: str | None = None
    # A derivation's steps (SPEC 6.6): [{"step": 1, "text": ..., "verdict": "correct"}, ...]; None for one formula.
    steps: list[dict[str, Any]] | None = None

    @property
    def score(self) -> float:
        return self.credit * self.points

    @property
    def hidden(self) -> str:
        """What a student who may not see expected values is told."""
        return self.feedback if self.feedback_hidden is None else self.feedback_hidden

    def to_dict(self) -> dict[str, Any]:
        expected = display_number(self.expected) if isinstance(self.expected, float) else self.expected
        return {"quantity": self.quantity, "submitted": self.submitted, "expected": expected,
                "verdict": self.verdict.value, "credit": self.credit, "points": self.points,
                "misconception": self.misconception, "feedback": self.feedback,
                "feedback_hidden": self.hidden, **({"shown": True} if self.shown else {}),
                **({"flag": self.flag} if self.flag else {}),
                **({"steps": [dict(s) for s in self.steps]} if self.steps is not None else {})}


@dataclass
class ProblemResult:
    id: str
    parts: list[PartResult] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(p.score for p in self.parts)

    @property
    def max_score(self) -> float:
        return sum(p.points for p in self.parts)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "score": round(self.score, 6), "max_score": round(self.max_score, 6),
                "parts": [p.to_dict() for p in self.parts]}


@dataclass
class GradeResult:
    problem_set: str
    student: str
    problems: list[ProblemResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(p.score for p in self.problems)

    @property
    def max_score(self) -> float:
        return sum(p.max_score for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "problem_set": self.problem_set, "student": self.student,
            "score": round(self.score, 6), "max_score": round(self.max_score, 6),
            "problems": [p.to_dict() for p in self.problems],
        }
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out
