"""Hostile inputs for every entry point: small files that tried to exhaust the grader, and what must happen.

``CASES`` lists ``Case(name, kind, text, refused, says)``; the first three unpack as ``(name, kind, text)``
(``for name, kind, text, *_ in CASES``).

* ``kind`` is ``"answers"`` (an answers file for ``SET_TEXT``, the worked example ``dl-hw2``) or
  ``"set"`` (a problem-set file).
* ``refused``: the whole file is refused (``grader check``/``validate`` exit non-zero; an API answers 4xx)
  and ``says`` is part of the message. Otherwise it is graded (or, for a set, loaded) and ``says`` is
  part of the feedback of at least one part (empty: nothing particular to say).
* ``seconds``: the CPU time a run may take, from the command line with its start-up, or None when
  the bound is the problem's check time limit rather than the reader's (the ``huge sum``).

tests/test_hostile_corpus.py runs every case through the reader and the command line, under a 2 GiB
memory cap; the service tests run the same cases through the API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SET_ID = "dl-hw2"
SET_TEXT = (ROOT / "problems" / "dl-hw2.yaml").read_text(encoding="utf-8")
HEAD = f"problem_set: {SET_ID}\nstudent: s123\n"


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # "answers" or "set"
    text: str
    refused: bool
    says: str
    seconds: float | None = 2.0

    def __iter__(self) -> Iterator[object]:
        return iter((self.name, self.kind, self.text, self.refused, self.says, self.seconds))


def answers(body: str) -> str:
    """An answers file for dl-hw2 with ``body`` under ``answers:`` (indented by the caller)."""
    return HEAD + "answers:\n" + body


def laughs(levels: int, head: str = HEAD) -> str:
    """Billion laughs: each level an alias list of nine of the one before."""
    lines = [head.rstrip("\n"), 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def stored_expansion() -> str:
    """Aliases under valid keys: q2 and q4 answers that expand to millions of strings."""
    lines = [HEAD + "answers:", '  q1: {z1: &a ["0.1","0.1","0.1","0.1","0.1","0.1","0.1","0.1"]}']
    previous = "a"
    for k, name in enumerate("bcdefgh"):
        lines.append(f"  q{k + 5}: &{name} [" + ",".join([f"*{previous}"] * 8) + "]")
        previous = name
    lines.append(f"  q2: *{previous}")
    return "\n".join(lines) + "\n"


def deep_formula() -> str:
    text = "x"
    for _ in range(13):  # 13 brackets that each open 16 operators: 209 levels
        text = f"({text})" + "+x" * 16
    return text


def set_with(problem: str) -> str:
    return "id: hostile\nproblems:\n" + problem


def layers(count: int, units: int) -> str:
    draw = (f"{{weights: {{uniform: [-1, 1], decimals: 2}}, biases: {{uniform: [-1, 1]}}, units: {units}, "
            "activation: tanh}")
    return set_with("  - id: q1\n    kind: network\n    inputs: {x1: 0.5, x2: -1.0}\n    targets: {y: 1.0}\n"
                    "    layers:\n" + f"      - {draw}\n" * count +
                    "      - {weights: {uniform: [-1, 1]}, units: 1, activation: sigmoid}\n"
                    "    loss: binary_cross_entropy\n    learning_rate: 0.1\n")


def expression(answer: str, variables: str = "{x: real}") -> str:
    return set_with(f"  - id: q1\n    kind: expression\n    variables: {variables}\n    answer: {answer}\n")


def network(forward: str, given: str = "{x: 1.0}") -> str:
    return set_with(f"  - id: q1\n    kind: network\n    given: {given}\n    params: {{w: 0.5}}\n"
                    f"    forward:\n      L: {forward}\n    loss: L\n")


BIG = "9" * 400
CASES: list[Case] = [
    # -- answers files: aliases -------------------------------------------------------------------
    Case("alias bomb, 9 levels (376 bytes)", "answers", laughs(9), True, "once its aliases are written out"),
    Case("alias bomb, 10 levels (411 bytes)", "answers", laughs(10), True, "once its aliases are written out"),
    Case("alias bomb under valid keys", "answers", stored_expansion(), True, "once its aliases are written out"),
    Case("recursive alias", "answers", HEAD + "answers: &a {q1: *a}\n", True, "recursive alias"),
    Case("recursive alias in a list", "answers", answers("  q2: &l [1, [2, *l]]\n"), True, "recursive alias"),
    Case("undefined alias", "answers", answers("  q2: *nowhere\n"), True, "is not defined"),
    # -- answers files: characters that are not text ----------------------------------------------
    Case("lone surrogate, YAML escape", "answers", answers('  q2: "\\ud800"\n'), True, "lone UTF-16 surrogate"),
    Case("lone surrogate, JSON escape", "answers",
         json.dumps({"problem_set": SET_ID, "student": "s123", "answers": {"q2": "x"}}).replace('"x"', '"\\ud835"'),
         True, "lone UTF-16 surrogate"),
    Case("surrogate pair, JSON escape", "answers",
         json.dumps({"problem_set": SET_ID, "student": "s123", "answers": {"q2": "𝑥"}}), False, ""),
    Case("surrogate pair, YAML escape", "answers", answers('  q2: "\\ud835\\udc65"\n'), True, "lone UTF-16 surrogate"),
    Case("NUL escape", "answers", answers('  q2: "sigma(x)\\0"\n'), True, "control character U+0000"),
    Case("terminal escape", "answers", answers('  q2: "\\e[2J"\n'), True, "control character U+001B"),
    # -- answers files: numbers -------------------------------------------------------------------
    Case("1e309 as a number", "answers", answers("  q1: {z1: 1.0e+309, z2: 0.3}\n"), False, "too large to compare"),
    Case("1e309 as text", "answers", answers('  q1: {z1: "1e309", z2: 0.3}\n'), False, "too large to compare"),
    Case("400-digit integer", "answers", answers(f"  q1: {{z1: {BIG}, z2: 0.3}}\n  q4: {BIG}\n"), False,
         "too large to compare"),
    Case("1e400*x", "answers", answers('  q2: "1e400*x"\n  q4: "K(K-1)/2"\n'), False, "too large to compare"),
    Case("overflow inside evaluation", "answers", answers('  q1: {z1: "exp(1000)", p: "10^300*10^300"}\n'), False,
         "too large to compare"),
    Case("4,301-digit integer", "answers", answers(f"  q1: {{z1: {'9' * 4_301}}}\n"), True, "4,301 digits"),
    # -- answers files: nesting, depth, size ------------------------------------------------------
    Case("900-deep lists", "answers", answers("  q1: " + "[" * 900 + "]" * 900 + "\n"), True, "nested too deeply"),
    Case("900-deep JSON", "answers", '{"problem_set": "dl-hw2", "student": "s1", "answers": ' + '{"a": ' * 900 +
         "1" + "}" * 901, True, "nested too deeply"),
    Case("5,000-deep brackets", "answers", answers(f'  q2: "{"(" * 5_000}x{")" * 5_000}"\n'), False, "too"),
    Case("5,000 minus signs", "answers", answers(f'  q2: "{"-" * 5_000}x"\n'), False, "too"),
    Case("209-level formula", "answers", answers(f'  q2: "{deep_formula()}"\n'), False, "nested too deeply"),
    Case("long sum", "answers", answers('  q2: "sigma(x)*(1 - sigma(x))' + " + x - x" * 450 + '"\n'), False, ""),
    Case("power of a long sum", "answers", answers('  q2: "2^(' + "1+" * 1_800 + '1)"\n'), False, "too large"),
    Case("huge sum", "answers",
         answers('  q2: "sum(sigma(x)*(1-sigma(x))*exp(x)/exp(x), k, 1, 99999)/99999"\n'), False, "", None),
    Case("too many values", "answers", answers("  q1: [" + ", ".join(["1"] * 25_000) + "]\n"), True,
         "too many values"),
    Case("too large", "answers", answers('  q2: "' + "x" * 300_000 + '"\n'), True, "too large"),
    Case("Python tag", "answers", answers("  q2: !!python/object/apply:os.system [echo owned]\n"), True,
         "YAML tags"),
    # -- problem-set files ------------------------------------------------------------------------
    Case("set: alias bomb", "set", laughs(9, "id: hostile\n"), True, "once its aliases are written out"),
    Case("set: lone surrogate", "set", expression("x").replace("problems:", 'title: "\\udc00"\nproblems:'), True,
         "surrogate"),
    Case("set: 900-deep", "set", "id: hostile\nproblems: " + "[" * 900 + "]" * 900 + "\n", True, "nested too deeply"),
    Case("set: 4,301-digit integer", "set", network("w*x", "{x: " + "9" * 4_301 + "}"), True, "4,301 digits"),
    Case("set: 400-digit given", "set", network("w*x", "{x: " + BIG + "}"), True, "finite"),
    Case("set: 1e400 in a formula", "set", network("1e400*w*x"), True, "too large"),
    Case("set: a million units", "set", layers(1, 1_000_000), True, "1,000,000 units in layer 1"),
    Case("set: 3 layers of 300 units", "set", layers(3, 300), True, "300 units in layer 1"),
    Case("set: 3 layers of 200 units", "set", layers(3, 200), True, "the network is too large"),
    Case("set: diff of 1,200 squared tanh terms", "set",
         expression("diff(" + "+".join(f"tanh({k}*x)^2" for k in range(1, 1_200)) + ", x)"), True,
         "the answer is too large"),
    Case("set: a 1,000-unit layer", "set", layers(1, 1_000), True, "1,000 units"),
    Case("set: 5,000-term sum in forward", "set", network("w*(" + "+".join(["x"] * 5_000) + ")"), True, "too large"),
    Case("set: x1 + ... + x5000", "set", expression(" + ".join(f"x{k}" for k in range(1, 5_001))), True, "too long"),
    Case("set: 5,000-term sum in an answer", "set", expression(" + ".join(["x"] * 4_999)), True,
         "the answer is too large"),
    Case("set: 1,000-term sum in an answer", "set", expression(" + ".join(["x"] * 1_000)), False, ""),
    Case("set: 209-level formula", "set", expression(deep_formula()), True, "nested too deeply"),
    Case("set: 101 problems", "set", set_with("".join(
        f"  - {{id: q{k}, kind: expression, variables: {{x: real}}, answer: x}}\n" for k in range(101))), True,
         "at most 100"),
]
