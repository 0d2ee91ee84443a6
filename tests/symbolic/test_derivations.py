"""Derivations (SPEC 6.6), the table ``derivations.yaml``: every step's verdict and the first wrong step."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.symbolic.derivation import MAX_DERIVATION_CHARS, MAX_STEP_CHARS, MAX_STEPS, split_steps
from grader.symbolic.grade import grade_expression
from tests.symbolic.test_equivalence_table import problem

HERE = Path(__file__).parent
ROWS: list[list[Any]] = yaml.safe_load((HERE / "derivations.yaml").read_text(encoding="utf-8"))


def test_the_table_is_large_enough() -> None:
    assert len(ROWS) >= 20
    assert sum(1 for r in ROWS if r[3] == "correct" and r[4] is not None) >= 5  # right, through a wrong step
    assert all(len(r[2] if isinstance(r[2], list) else r[2].splitlines()) >= 1 for r in ROWS)


@pytest.mark.parametrize(("set_name", "problem_id", "steps", "verdict", "first_wrong", "verdicts"), ROWS,
                         ids=[f"{r[1]}:{str(r[2])[:50]}" for r in ROWS])
def test_derivation(set_name: str, problem_id: str, steps: Any, verdict: str, first_wrong: int | None,
                    verdicts: list[str]) -> None:
    part = grade_expression(problem(set_name, problem_id), steps)
    said = f"{part.feedback} {part.steps}"
    assert part.verdict.value == verdict, said
    assert part.steps is not None
    assert [s["verdict"] for s in part.steps] == verdicts, said
    assert [s["step"] for s in part.steps] == list(range(1, len(verdicts) + 1))
    named = re.search(r"first step not equal to the correct answer is step (\d+)", part.feedback)
    assert (int(named.group(1)) if named else None) == first_wrong, said
    hidden = part.hidden
    if first_wrong is not None:
        assert f"is step {first_wrong}" in hidden
        earlier = [k for k, v in enumerate(verdicts[:first_wrong - 1], 1) if v == "correct"]
        if earlier:  # the point where it stops following from the last right step before it
            assert re.search(rf"differs from step {earlier[-1]} at \w+ = ", part.feedback), said
            assert f"does not follow from step {earlier[-1]}" in hidden
        else:
            assert "the correct value is" in part.feedback or "is step" in part.feedback
        assert "gives" not in hidden and "correct value" not in hidden  # nothing of the key while hidden
        if verdict == "correct":
            assert "reached through a wrong step" in part.feedback
    else:
        assert "step" not in part.feedback.lower()
    assert part.to_dict()["steps"] == part.steps


def test_a_one_line_answer_is_not_a_derivation() -> None:
    sigmoid = problem("activation-derivatives", "sigmoid")
    for text in ("sigma(x)*(1-sigma(x))", "d/dx sigma(x) = sigma(x)*(1 - sigma(x))", ["sigma(x)*(1-sigma(x))"]):
        part = grade_expression(sigmoid, text)
        assert part.verdict.value == "correct"
        assert part.steps is None and "steps" not in part.to_dict()


def test_layout_of_steps() -> None:
    def readable(text: str) -> bool:
        return "'" not in text and "d/d" not in text

    assert split_steps("f'(x) = a = b", readable) == ["a", "b"]
    assert split_steps("x = a = b", readable) == ["x", "a", "b"]  # a readable left-hand side is a step
    assert split_steps("a\n= b\n\n= c.", readable) == ["a", "b", "c"]
    assert split_steps("$a$\n$= b$", readable) == ["a", "b"]
    assert split_steps("\\begin{cases} 1 & x > 0 \\\\\n 0 & x <= 0 \\end{cases}\n= b", readable) == [
        "\\begin{cases} 1 & x > 0 \\\\  0 & x <= 0 \\end{cases}", "b"]
    assert split_steps("1 if x == 0 else 2 = c", readable) == ["1 if x == 0 else 2", "c"]
    assert split_steps("f = 1 if x = 0 else 2", readable) == ["f", "1 if x = 0 else 2"]
    assert split_steps("a <= b", readable) == ["a <= b"]
    assert split_steps("&= a \\\\\n&= b", readable) == ["a", "b"]
    assert split_steps(["a = b", 2.5], readable) == ["a", "b", 2.5]
    assert split_steps(3, readable) is None


def test_the_bounds_on_steps() -> None:
    sigmoid = problem("activation-derivatives", "sigmoid")
    too_many = ["sigma(x)*(1-sigma(x))"] * (MAX_STEPS + 1)
    for answer, message in (
        (too_many, f"at most {MAX_STEPS} steps; this one has {MAX_STEPS + 1}"),
        ("\n".join(too_many), f"at most {MAX_STEPS} steps; this one has {MAX_STEPS + 1}"),
        (" = ".join(too_many), f"at most {MAX_STEPS} steps"),
        (["x", "x" * (MAX_STEP_CHARS + 1)], f"step 2 is too long ({MAX_STEP_CHARS + 1:,} characters"),
        ("x\n" * (MAX_DERIVATION_CHARS // 2 + 1), f"a derivation has at most {MAX_DERIVATION_CHARS:,}"),
        (["x" * 4000] * 6, f"at most {MAX_DERIVATION_CHARS:,}"),
    ):
        part = grade_expression(sigmoid, answer)
        assert part.verdict.value == "invalid", part.feedback
        assert message in part.feedback.lower(), part.feedback


def test_steps_share_one_time_bound() -> None:
    hostile = "sum(sigma(x)*(1-sigma(x))*exp(x)/exp(x), k, 1, 99999)/99999"
    sigmoid = problem("activation-derivatives", "sigmoid")
    part = grade_expression(sigmoid, [hostile] * 10 + ["sigma(x)*(1-sigma(x))"])
    assert part.verdict.value == "correct"
    assert part.steps is not None
    assert {s["verdict"] for s in part.steps[:-1]} <= {"correct", "undecided"}
    assert "undecided" in {s["verdict"] for s in part.steps[:-1]}
