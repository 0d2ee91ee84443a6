"""Loading problem sets: each broken file fails with what is wrong and where (problem, field, line)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from grader.problemset.loader import load_problem_set, load_problem_set_file
from grader.problemset.model import NetworkProblem, ToleranceMode
from grader.problemset.source import ProblemSetError

# Line numbers, for reading the table below:
#   1 id          5 given      9 p      13 (appended lines)
#   2 problems    6 params    10 L
#   3 - id: q1    7 forward   11 loss
#   4 kind        8 z1        12 learning_rate
BASE = """\
id: hw
problems:
  - id: q1
    kind: network
    given: {x1: 1.0, x2: -2.0, y: 1.0}
    params: {w1: 0.5, w2: -0.3, b1: 0.1}
    forward:
      z1: w1*x1 + w2*x2 + b1
      p: sigmoid(z1)
      L: -(y*log(p) + (1 - y)*log(1 - p))
    loss: L
    learning_rate: 0.1
"""

ANY: Any = object()  # not checked


def edit(*pairs: tuple[str, str], append: str = "") -> str:
    text = BASE
    for old, new in pairs:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text + append


def load(text: str) -> Any:
    return load_problem_set(text, "hw.yaml")


def failure(text: str) -> ProblemSetError:
    with pytest.raises(ProblemSetError) as info:
        load(text)
    return info.value


def test_the_base_set_loads_without_warnings() -> None:
    ps = load(BASE)
    assert ps.id == "hw" and ps.title == "hw" and ps.warnings == []
    problem = ps.problems[0]
    assert isinstance(problem, NetworkProblem)
    assert problem.order == ("z1", "p", "L")
    assert problem.line == 3


# (case, text, message fragments, problem, field, line)
BROKEN: list[tuple[str, str, tuple[str, ...], Any, Any, Any]] = [
    # unknown names, with a did-you-mean
    ("unknown name", edit(("+ b1", "+ bb1")), ("unknown name 'bb1'", "did you mean b1?"), "q1", "forward.z1", 8),
    ("unknown node name", edit(("sigmoid(z1)", "sigmoid(z_1)")), ("'z_1'", "did you mean z1?"), "q1", "forward.p", 9),
    ("unknown function", edit(("sigmoid(z1)", "sigmoidd(z1)")), ('"sigmoidd"', "did you mean sigmoid?"), "q1",
     "forward.p", 9),
    # the loss
    ("missing loss", edit(("    loss: L\n", "")), ("no loss",), "q1", ANY, 3),
    ("loss is a list", edit(("loss: L", "loss: [L, p]")), ("one scalar", "not a list"), "q1", "loss", 11),
    ("loss is a mapping", edit(("loss: L", "loss: {L: 1}")), ("one scalar",), "q1", "loss", 11),
    ("loss is not a node", edit(("loss: L", "loss: M")), ("'M' is not a node of forward",), "q1", "loss", 11),
    ("loss is a parameter", edit(("loss: L", "loss: w1")), ("'w1' is not a node of forward",), "q1", "loss", 11),
    ("loss is a number", edit(("loss: L", "loss: 3")), ("must name a node",), "q1", "loss", 11),
    # ask
    ("ask for a nonexistent quantity", edit(append="    ask: [z1, dL/dw3]\n"),
     ("'dL/dw3' is not a quantity of this problem", "did you mean dL/dw2?"), "q1", "ask.1", 13),
    ("ask for a nonexistent node", edit(append="    ask: [z1, h9]\n"), ("'h9' is not a quantity",), "q1", "ask.1", 13),
    ("ask twice", edit(append="    ask: [z1, p, z1]\n"), ("asked twice",), "q1", "ask.2", 13),
    ("ask is empty", edit(append="    ask: []\n"), ("non-empty list",), "q1", "ask", 13),
    ("ask for next without a learning rate", edit(("    learning_rate: 0.1\n", "    ask: [z1, next.w1]\n")),
     ("no learning_rate",), "q1", ANY, 12),
    # ids and duplicates
    ("duplicate problem id", BASE + BASE.split("problems:\n")[1], ("duplicate problem id 'q1'",), "q1", "id", 13),
    ("duplicate key", edit(append="    learning_rate: 0.2\n"), ('"learning_rate" appears twice',), ANY, ANY, 13),
    ("duplicate node", edit(("      p: sigmoid(z1)\n", "      p: sigmoid(z1)\n      z1: 2\n")),
     ('"z1" appears twice',), ANY, ANY, 10),
    ("name in given and params", edit(("b1: 0.1}", "b1: 0.1, x1: 2}")), ("'x1' is defined twice",), "q1",
     "params.x1", 6),
    ("name in params and forward", edit(("b1: 0.1}", "b1: 0.1, p: 2}")), ("'p' is defined twice",), "q1",
     "forward.p", 9),
    ("bad set id", edit(("id: hw", "id: HW_1")), ("[a-z0-9-]",), None, "id", 1),
    ("bad problem id", edit(("- id: q1", "- id: Q 1")), ("problem id 'Q 1'",), ANY, "id", 3),
    ("no problems", "id: hw\nproblems: []\n", ("non-empty list",), None, "problems", 2),
    ("unknown kind", edit(("kind: network", "kind: netwrk")), ("kind must be one of",), "q1", "kind", 4),
    # tolerances
    ("negative rtol", edit(append="    tolerance: {rtol: -0.1}\n"), ("rtol must not be negative",), "q1",
     "tolerance.rtol", 13),
    ("negative atol", edit(append="    tolerance: {atol: -1}\n"), ("atol must not be negative",), "q1",
     "tolerance.atol", 13),
    ("rtol of 1", edit(append="    tolerance: {rtol: 1}\n"), ("rtol 1",), "q1", "tolerance.rtol", 13),
    ("rtol above 1", edit(append="    tolerance: {rtol: 5}\n"), ("rtol 5",), "q1", "tolerance.rtol", 13),
    ("both zero", edit(append="    tolerance: {rtol: 0, atol: 0}\n"), ("both 0",), "q1", "tolerance", 13),
    ("relabs and sigfigs", edit(append="    tolerance: {rtol: 0.1, sigfigs: 3}\n"), ("not a mix",), "q1",
     "tolerance", 13),
    ("sigfigs and decimals", edit(append="    tolerance: {sigfigs: 3, decimals: 2}\n"), ("not a mix",), "q1",
     "tolerance", 13),
    ("sigfigs 0", edit(append="    tolerance: {sigfigs: 0}\n"), ("from 1 to 15", "found 0"), "q1",
     "tolerance.sigfigs", 13),
    ("sigfigs 16", edit(append="    tolerance: {sigfigs: 16}\n"), ("from 1 to 15",), "q1", "tolerance.sigfigs", 13),
    ("sigfigs not whole", edit(append="    tolerance: {sigfigs: 2.5}\n"), ("whole number",), "q1",
     "tolerance.sigfigs", 13),
    ("decimals a bool", edit(append="    tolerance: {decimals: true}\n"), ("whole number",), "q1",
     "tolerance.decimals", 13),
    ("unknown tolerance key", edit(append="    tolerance: {rel: 0.1}\n"), ("unknown tolerance setting 'rel'",),
     "q1", "tolerance.rel", 13),
    ("tolerance not a mapping", edit(append="    tolerance: 0.01\n"), ("expected a mapping",), "q1", "tolerance",
     13),
    ("rtol not a number", edit(append="    tolerance: {rtol: tight}\n"), ("expected a number",), "q1",
     "tolerance.rtol", 13),
    ("set tolerance", edit(("id: hw\n", "id: hw\ntolerance: {rtol: -1}\n")), ("rtol must not be negative",), None,
     "tolerance.rtol", 2),
    ("tolerance for an unknown quantity", edit(append="    tolerances: {zz: {rtol: 0.1}}\n"),
     ("unknown quantity 'zz'",), "q1", "tolerances.zz", 13),
    ("bad quantity tolerance", edit(append="    tolerances:\n      z1: {rtol: 2}\n"), ("rtol 2",), "q1",
     "tolerances.z1.rtol", 14),
    # points
    ("negative points", edit(append="    points: -1\n"), ("must not be negative",), "q1", "points", 13),
    ("points not a number", edit(append="    points: many\n"), ("expected a number",), "q1", "points", 13),
    ("points a bool", edit(append="    points: true\n"), ("expected a number",), "q1", "points", 13),
    ("points for a quantity not asked", edit(append="    ask: [z1]\n    points: {p: 2}\n"), ("not asked",), "q1",
     "points.p", 14),
    ("negative points for a quantity", edit(append="    points: {L: -2}\n"), ("must not be negative",), "q1",
     "points.L", 13),
    ("negative default points", edit(append="    points: {default: -1}\n"), ("must not be negative",), "q1",
     "points.default", 13),
    # draws
    ("uniform low above high", edit(("w1: 0.5", "w1: {uniform: [1, -1]}")), ("low < high",), "q1",
     "params.w1.uniform", 6),
    ("uniform of three", edit(("w1: 0.5", "w1: {uniform: [1, 2, 3]}")), ("[low, high]",), "q1", "params.w1.uniform",
     6),
    ("empty choice", edit(("w1: 0.5", "w1: {choice: []}")), ("non-empty list",), "q1", "params.w1.choice", 6),
    ("choice not numbers", edit(("w1: 0.5", "w1: {choice: [a]}")), ("expected a number",), "q1",
     "params.w1.choice.0", 6),
    ("uniform and choice", edit(("w1: 0.5", "w1: {uniform: [0, 1], choice: [1]}")), ("not both",), "q1",
     "params.w1", 6),
    ("decimals 9", edit(("w1: 0.5", "w1: {uniform: [0, 1], decimals: 9}")), ("0 to 8",), "q1",
     "params.w1.decimals", 6),
    ("nonzero not a bool", edit(("w1: 0.5", "w1: {uniform: [0, 1], nonzero: 1}")), ("true or false",), "q1",
     "params.w1.nonzero", 6),
    ("too few values", edit(("w1: 0.5", "w1: {uniform: [0, 0.01], decimals: 2, nonzero: true}")),
     ("too few values",), "q1", "params.w1", 6),
    ("only zero to choose", edit(("w1: 0.5", "w1: {choice: [0], nonzero: true}")), ("every choice is 0",), "q1",
     "params.w1.choice", 6),
    ("no distribution", edit(("w1: 0.5", "w1: {decimals: 2}")), ("uniform: [low, high] or choice",), "q1",
     "params.w1", 6),
    ("unknown distribution", edit(("w1: 0.5", "w1: {normal: [0, 1]}")), ("unknown field 'normal'",), "q1",
     "params.w1.normal", 6),
    ("draw in given", edit(("x1: 1.0", "x1: {choice: []}")), ("non-empty list",), "q1", "given.x1.choice", 5),
    # unknown fields, with a suggestion
    ("unknown problem field", edit(("learning_rate", "lerning_rate")), ("unknown field 'lerning_rate'",
                                                                       "did you mean learning_rate?"),
     "q1", "lerning_rate", 12),
    ("unknown set field", edit(("id: hw\n", "id: hw\ntitel: Homework\n")), ("did you mean title?",), None, "titel",
     2),
    ("layer fields in forward form", edit(append="    inputs: {x: 1}\n"), ("layer form",), "q1", "inputs", 13),
    # YAML, parsing, names, values
    ("invalid YAML", edit(("      p: sigmoid(z1)\n", "      p: sigmoid(z1)\n     bad: 1\n")), ("not valid YAML",),
     ANY, ANY, 10),
    ("empty file", "", ("empty",), None, None, None),
    ("not a mapping", "- 1\n- 2\n", ("expected a mapping",), None, ANY, 1),
    ("unparsable expression", edit(("+ w2*x2 + b1", "+ w2*x2 +* b1")), ("cannot read", "column 16"), "q1",
     "forward.z1", 8),
    ("unclosed bracket", edit(("sigmoid(z1)", "sigmoid(z1")), ("cannot read", "column"), "q1", "forward.p", 9),
    ("bad node name", edit(("p: sigmoid(z1)", "2p: sigmoid(z1)")), ("not a valid name",), "q1", "forward.2p", 9),
    ("reserved parameter e", edit(("b1: 0.1}", "e: 0.1}"), ("+ b1", "+ e")), ("reserved",), "q1", "params.e", 6),
    ("reserved node sum", edit(("p: sigmoid(z1)", "sum: sigmoid(z1)"), ("log(p)", "log(sum)"),
                               ("log(1 - p)", "log(1 - sum)")), ("reserved",), "q1", "forward.sum", 9),
    ("reserved node name of a function", edit(("      p: sigmoid(z1)\n", "      p: sigmoid(z1)\n      exp: 2*z1\n")),
     ("reserved",), "q1", "forward.exp", 10),
    ("reserved parameter name of a function, used", edit(("b1: 0.1}", "b1: 0.1, sig: 2}"), ("+ b1", "+ b1*sig")),
     ("reserved",), "q1", "params.sig", 6),
    ("derivative in forward", edit(("sigmoid(z1)", "diff(z1, w1)")), ("only for expression problems",), "q1",
     "forward.p", 9),
    ("given not a number", edit(("x1: 1.0", "x1: one")), ("expected a number",), "q1", "given.x1", 5),
    ("given not finite", edit(("x1: 1.0", "x1: .nan")), ("finite",), "q1", "given.x1", 5),
    ("given too large", edit(("x1: 1.0", "x1: " + "9" * 400)), ("finite", "1.8e308"), "q1", "given.x1", 5),
    ("a number too large in a formula", edit(("sigmoid(z1)", "sigmoid(1e400*z1)")), ("column 9", "too large"), "q1",
     "forward.p", 9),
    ("a draw too wide", edit(("w1: 0.5", "w1: {uniform: [-1.0e+308, 1.0e+308]}")), ("too wide",), "q1",
     "params.w1.uniform", 6),
    ("learning rate zero", edit(("learning_rate: 0.1", "learning_rate: 0")), ("must be positive",), "q1",
     "learning_rate", 12),
    ("learning rate not a number", edit(("learning_rate: 0.1", "learning_rate: fast")), ("expected a number",), "q1",
     "learning_rate", 12),
    ("credit above 1", edit(("id: hw\n", "id: hw\nfollow_through_credit: 1.5\n")), ("between 0 and 1",), None,
     "follow_through_credit", 2),
    ("negative problem credit", edit(append="    follow_through_credit: -0.5\n"), ("between 0 and 1",), "q1",
     "follow_through_credit", 13),
    # networks that cannot be computed
    ("log of 0", edit(("(1 - y)*log(1 - p))", "(1 - y)*log(1 - p)) + log(x1 - 1)")), ("finite number",), "q1",
     "forward.L", 10),
    ("division by 0", edit(("sigmoid(z1)", "sigmoid(z1/(x1 - 1))")), ("finite number",), "q1", "forward.p", 9),
    ("square root of a negative", edit(("sigmoid(z1)", "sigmoid(sqrt(x2))")), ("finite number",), "q1",
     "forward.p", 9),
]


@pytest.mark.parametrize(("text", "fragments", "problem", "field", "line"), [b[1:] for b in BROKEN],
                         ids=[b[0] for b in BROKEN])
def test_broken_problem_sets(text: str, fragments: tuple[str, ...], problem: Any, field: Any, line: Any) -> None:
    error = failure(text)
    for fragment in fragments:
        assert fragment in error.message
    assert error.file == "hw.yaml"
    if problem is not ANY:
        assert error.problem == problem
    if field is not ANY:
        assert error.field == field
    if line is not ANY:
        assert error.line == line


def test_the_error_text_names_file_line_problem_and_field() -> None:
    error = failure(edit(("+ b1", "+ bb1")))
    assert str(error) == "hw.yaml:8: problem q1, field forward.z1: unknown name 'bb1' in z1 (did you mean b1?)"
    assert error.as_dict()["line"] == 8


@pytest.mark.parametrize("nodes", [
    {"z1": "w1*x1 + q", "q": "r*2", "r": "z1 + 1"},
    {"z1": "w1*x1 + z1"},
    {"a": "b + w1", "b": "a*x1"},
])
def test_a_cycle_is_reported_with_the_loop(nodes: dict[str, str]) -> None:
    lines = "".join(f"      {name}: {expr}\n" for name, expr in nodes.items())
    first = next(iter(nodes))
    text = edit(("      z1: w1*x1 + w2*x2 + b1\n", lines), ("sigmoid(z1)", f"sigmoid({first} + w2*x2 + b1)"))
    error = failure(text)
    assert "cycle" in error.message
    loop = re.search(r"cycle: (.*)$", error.message)
    assert loop is not None
    names = [n.strip() for n in loop.group(1).split("->")]
    assert names[0] == names[-1] and set(names) == set(nodes)
    for a, b in itertools.pairwise(names):  # each arrow is a real edge: b uses a
        assert re.search(rf"\b{a}\b", nodes[b]), f"{a} -> {b}"
    assert error.field is not None and error.field.removeprefix("forward.") in nodes
    assert error.line == 8 + list(nodes).index(error.field.removeprefix("forward."))


def test_a_cycle_message_in_a_long_chain_names_only_the_loop() -> None:
    text = edit(("      z1: w1*x1 + w2*x2 + b1\n", "      z1: w1*x1 + c\n      a: z1\n      c: d\n      d: c + 1\n"))
    error = failure(text)
    loop = re.search(r"cycle: (.*)$", error.message)
    assert loop is not None
    assert {n.strip() for n in loop.group(1).split("->")} == {"c", "d"}


@pytest.mark.parametrize(("invalid", "line"), [("    loss: [L\n", (11, 12)), ("\tid: x\n", (1,))])
def test_invalid_yaml_names_a_line(invalid: str, line: tuple[int, ...]) -> None:
    text = edit(("    loss: L\n", invalid)) if "loss" in invalid else invalid + BASE
    error = failure(text)
    assert "not valid YAML" in error.message
    assert error.line in line


def test_an_unused_parameter_is_a_warning_not_an_error() -> None:
    ps = load(edit(("b1: 0.1}", "b1: 0.1, w9: 2}")))
    assert len(ps.warnings) == 1
    warning = ps.warnings[0]
    assert "w9" in warning and "q1" in warning and "hw.yaml" in warning and "does not affect the loss" in warning


def test_a_parameter_feeding_only_a_side_node_is_a_warning() -> None:
    side = ("      p: sigmoid(z1)\n", "      p: sigmoid(z1)\n      s: w9*x1\n")
    ps = load(edit(("b1: 0.1}", "b1: 0.1, w9: 2}"), side))
    assert [w for w in ps.warnings if "w9" in w]
    assert not [w for w in ps.warnings if "w1" in w]


def test_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ProblemSetError) as info:
        load_problem_set_file(tmp_path / "missing.yaml")
    assert "cannot read the file" in info.value.message
    assert info.value.file.endswith("missing.yaml")


def test_a_file_on_disk_names_its_path(tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(edit(("+ b1", "+ bb1")), encoding="utf-8")
    with pytest.raises(ProblemSetError) as info:
        load_problem_set_file(path)
    assert str(info.value).startswith(f"{path}:8: ")


# -- what a valid file means ----------------------------------------------------------------------

def network(text: str) -> NetworkProblem:
    problem = load(text).problems[0]
    assert isinstance(problem, NetworkProblem)
    return problem


def test_nodes_may_be_given_in_any_order() -> None:
    text = edit(("      z1: w1*x1 + w2*x2 + b1\n      p: sigmoid(z1)\n",
                 "      p: sigmoid(z1)\n      z1: w1*x1 + w2*x2 + b1\n"))
    problem = network(text)
    assert problem.order.index("z1") < problem.order.index("p") < problem.order.index("L")


def test_the_default_ask_is_every_node_and_every_parameter_gradient() -> None:
    problem = network(BASE)
    assert [q.name for q in problem.ask] == ["z1", "p", "L", "dL/dw1", "dL/dw2", "dL/db1"]
    assert problem.max_score == 6


@pytest.mark.parametrize("spelling", ["∂L/∂w1", "dL / dw1", " dL/d w1 "])
def test_ask_spellings_are_normalised(spelling: str) -> None:
    problem = network(edit(append=f'    ask: ["{spelling}"]\n'))
    assert [q.name for q in problem.ask] == ["dL/dw1"]


def test_points_map_with_a_default() -> None:
    problem = network(edit(append="    ask: [z1, p, L]\n    points: {default: 2, L: 5}\n"))
    assert problem.points == {"z1": 2, "p": 2, "L": 5}
    assert problem.max_score == 9


def test_tolerances_are_inherited_and_overridden() -> None:
    text = edit(("id: hw\n", "id: hw\ntolerance: {rtol: 0.05, atol: 0.001}\n"),
                append="    tolerance: {atol: 0.5}\n    tolerances: {L: {sigfigs: 3}, 'dL / dw1': {decimals: 2}}\n")
    problem = network(text)
    assert (problem.tolerance.rtol, problem.tolerance.atol) == (0.05, 0.5)
    assert problem.tolerance_for("L").mode is ToleranceMode.SIGFIGS and problem.tolerance_for("L").digits == 3
    assert problem.tolerance_for("dL/dw1").mode is ToleranceMode.DECIMALS
    assert problem.tolerance_for("p") == problem.tolerance


def test_set_level_follow_through_credit_and_problem_override() -> None:
    text = edit(("id: hw\n", "id: hw\nfollow_through_credit: 0.5\n"))
    assert network(text).follow_through_credit == 0.5
    assert network(text + "    follow_through_credit: 0.25\n").follow_through_credit == 0.25
    assert network(BASE).follow_through_credit == 1.0


def test_json_is_accepted() -> None:
    text = ('{"id": "hw", "problems": [{"id": "q1", "kind": "network", "given": {"x": 2}, "params": {"w": 3},'
            ' "forward": {"L": "w*x"}, "loss": "L"}]}')
    problem = network(text)
    assert problem.order == ("L",)


def test_yaml_tags_are_not_constructed() -> None:
    error = failure("id: !!python/object:os.system x\nproblems: []\n")
    assert error.line == 1


def test_an_asked_quantity_the_key_leaves_undefined_is_warned_of() -> None:
    from tests.conftest import load_set, make_problem

    problem = make_problem({"z": "w*x", "h": "sqrt(z)", "L": "(h - 1)^2"}, given={"x": 0.0}, params={"w": 1.0},
                           learning_rate=0.1, ask=["h", "L", "dL/dw", "next.w"])
    (warning,) = load_set(problem).warnings
    assert "problem q1: the key of dL/dw, next.w is undefined with these values" in warning
    defined = make_problem({"z": "w*x", "h": "sqrt(z)", "L": "(h - 1)^2"}, given={"x": 4.0}, params={"w": 1.0},
                           learning_rate=0.1, ask=["h", "L", "dL/dw", "next.w"])
    assert load_set(defined).warnings == []
