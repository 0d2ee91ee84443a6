"""The tape: compiling named nodes, forward and reverse passes, overrides, primitive partials."""

from __future__ import annotations

import math

import pytest

from grader.expr import parse
from grader.solver.evaluate import backward, forward
from grader.solver.tape import COPY, Tape, compile_graph
from tests.conftest import SPEC_Q1, SPEC_VALUES


def build(nodes: dict[str, str], leaves: dict[str, float], loss: str = "L") -> Tape:
    """Compile ``nodes`` (given in an order where each node comes after the nodes it uses)."""
    return compile_graph(leaves, {n: parse(t) for n, t in nodes.items()}, list(nodes), loss)


def spec_tape() -> Tape:
    return build(SPEC_Q1["forward"], {**SPEC_Q1["given"], **SPEC_Q1["params"]})


def named(tape: Tape, values: list[float]) -> dict[str, float]:
    return {name: values[slot] for name, slot in tape.slot_of.items()}


def finite_difference(tape: Tape, leaf: str, h: float = 1e-6) -> float:
    slot = tape.slot_of[leaf]
    x = tape.init[slot]
    up = forward(tape, {slot: x + h})[tape.loss_slot]
    down = forward(tape, {slot: x - h})[tape.loss_slot]
    return (up - down) / (2 * h)


def test_spec_worked_example_forward_and_reverse() -> None:
    tape = spec_tape()
    v = forward(tape)
    g = backward(tape, v)
    values, grads = named(tape, v), named(tape, g)
    for name, expected in SPEC_VALUES.items():
        got = grads[name[4:]] if name.startswith("dL/d") else values[name]
        assert abs(got - expected) <= 5e-7, name


def test_every_leaf_and_node_has_its_own_slot() -> None:
    tape = build({"z": "w*x", "h": "z", "c": "2", "L": "h*c + z"}, {"w": 0.5, "x": 3.0})
    assert set(tape.slot_of) == {"w", "x", "z", "h", "c", "L"}
    assert len(set(tape.slot_of.values())) == 6
    assert tape.leaves == ("w", "x")
    assert tape.nodes == ("z", "h", "c", "L")
    steps = {s.slot: s for s in tape.steps}
    assert steps[tape.slot_of["h"]].kind == COPY  # an alias is a node of its own
    v = forward(tape)
    assert named(tape, v) == {"w": 0.5, "x": 3.0, "z": 1.5, "h": 1.5, "c": 2.0, "L": 4.5}
    g = named(tape, backward(tape, v))
    assert g["h"] == 2.0 and g["z"] == 3.0 and g["w"] == 9.0 and g["x"] == 1.5


def test_steps_are_in_topological_order() -> None:
    tape = spec_tape()
    ready = set(tape.slot_of[name] for name in tape.leaves)
    computed = {s.slot for s in tape.steps}
    constants = {i for i in range(len(tape.init)) if i not in computed}
    for step in tape.steps:
        assert all(a in ready or a in constants for a in step.args)
        ready.add(step.slot)


def test_consumers_name_the_steps_that_use_a_slot() -> None:
    tape = spec_tape()
    x1 = tape.slot_of["x1"]
    users = [tape.steps[k] for k in tape.consumers[x1]]
    assert len(users) == 2 and all(x1 in s.args for s in users)


def test_leaf_values_replace_the_compiled_ones() -> None:
    tape = build({"L": "w*x"}, {"w": 0.5, "x": 3.0})
    v = forward(tape, {tape.slot_of["w"]: 2.0})
    assert v[tape.loss_slot] == 6.0
    assert forward(tape)[tape.loss_slot] == 1.5  # the tape itself is unchanged


def test_a_forward_override_flows_downstream_and_records_the_computed_value() -> None:
    tape = spec_tape()
    h1 = tape.slot_of["h1"]
    recorded: dict[int, float] = {}
    v = named(tape, forward(tape, overrides={h1: 0.8}, recorded=recorded))
    assert recorded == {h1: pytest.approx(math.tanh(1.2))}
    assert v["h1"] == 0.8
    assert v["z3"] == pytest.approx(1.0 * 0.8 - 1.5 * math.tanh(0.3) + 0.05)
    assert v["p"] == pytest.approx(1 / (1 + math.exp(-v["z3"])))
    assert v["z1"] == pytest.approx(1.2)  # upstream untouched


def test_a_reverse_override_flows_on_and_records_the_computed_adjoint() -> None:
    tape = spec_tape()
    v = forward(tape)
    z3, w5 = tape.slot_of["z3"], tape.slot_of["w5"]
    recorded: dict[int, float] = {}
    g = backward(tape, v, overrides={z3: -0.5}, recorded=recorded)
    assert recorded[z3] == pytest.approx(-0.390149, abs=5e-7)
    assert g[z3] == -0.5
    assert g[w5] == pytest.approx(-0.5 * math.tanh(1.2))
    assert g[tape.slot_of["h1"]] == pytest.approx(-0.5 * 1.0)
    assert g[tape.slot_of["z1"]] == pytest.approx(-0.5 * (1 - math.tanh(1.2) ** 2))


def test_a_parameter_adjoint_can_be_overridden() -> None:
    tape = spec_tape()
    v = forward(tape)
    w1 = tape.slot_of["w1"]
    recorded: dict[int, float] = {}
    g = backward(tape, v, overrides={w1: 7.0}, recorded=recorded)
    assert g[w1] == 7.0
    assert recorded[w1] == pytest.approx(-0.119003, abs=5e-7)


@pytest.mark.parametrize(("text", "leaf"), [("log(x)", -1.0), ("1/(x - 2)", 2.0), ("sqrt(x)", -4.0),
                                            ("x^0.5", -4.0), ("exp(x)", 1e6)])
def test_an_undefined_value_is_nan_not_an_exception(text: str, leaf: float) -> None:
    tape = build({"u": text, "L": "u + 1"}, {"x": leaf})
    v = forward(tape)
    assert math.isnan(v[tape.slot_of["u"]]) or math.isinf(v[tape.slot_of["u"]])
    assert not math.isfinite(v[tape.loss_slot])


# Expressions over leaves a, b, c: the reverse pass against central differences of the forward pass.
PRIMITIVES = [
    "a + b - c", "a*b*c", "a/b", "(a - c)/(b*b + 1)", "-a*b", "a^3", "a^2*b", "b^a", "a^b", "2^a - a^(1/2)",
    "exp(a*b) + log(b) - sqrt(b)", "sigmoid(a)*tanh(c)", "relu(a) + relu(c)", "leaky_relu(c, 0.2)*a",
    "elu(c)*elu(a, 0.3)", "softplus(a*c)", "abs(c) + abs(a)", "max(a, b) + min(b, c)", "max(a, b, c)",
    "huber(a - b)", "huber(c, 0.5)", "hinge(c, a)", "softmax(a, a, b, c)", "softmax(c, a, b, c)*b",
    "Piecewise((a*b, c > 0), (a^2, True))", "Piecewise((a*b, c < 0), (b - a, a > b), (a + b, True))",
    "a*b if a > 0 and b > 0 else a - b", "a if c > 0 or a < 0 else 2*a", "sin(a)*cos(b) + sinh(c)*cosh(a)",
    "prelu(c, a)", "Heaviside(a)*b + sign(c)*a", "KroneckerDelta(a, b) + b",
]


@pytest.mark.parametrize("leaves", [{"a": 1.3, "b": 0.7, "c": -0.4}, {"a": 0.45, "b": 2.1, "c": 1.6}])
@pytest.mark.parametrize("text", PRIMITIVES)
def test_reverse_pass_matches_central_differences(text: str, leaves: dict[str, float]) -> None:
    tape = build({"L": text}, leaves)
    g = backward(tape, forward(tape))
    for leaf in leaves:
        assert g[tape.slot_of[leaf]] == pytest.approx(finite_difference(tape, leaf), rel=1e-6, abs=1e-8), leaf


def test_gradient_accumulates_over_every_path() -> None:
    tape = build({"u": "a*a", "v": "u*a + a", "L": "v + u"}, {"a": 1.5})
    g = backward(tape, forward(tape))
    assert g[tape.slot_of["a"]] == pytest.approx(3 * 1.5**2 + 1 + 2 * 1.5)


def test_nodes_the_loss_does_not_use_get_zero_gradient() -> None:
    tape = build({"u": "a*b", "L": "a^2"}, {"a": 1.5, "b": 2.0})
    g = backward(tape, forward(tape))
    assert g[tape.slot_of["u"]] == 0.0
    assert g[tape.slot_of["b"]] == 0.0


SOFTMAX = {
    "z1": "w1*x + b1", "z2": "w2*x + b2", "z3": "w3*x + b3",
    "a1": "softmax(z1, z1, z2, z3)", "a2": "softmax(z2, z1, z2, z3)", "a3": "softmax(z3, z1, z2, z3)",
    "L": "-(t1*log(a1) + t2*log(a2) + t3*log(a3))",
}
SOFTMAX_LEAVES = {"x": 0.8, "w1": 0.5, "w2": -0.3, "w3": 1.1, "b1": 0.1, "b2": 0.0, "b3": -0.2,
                  "t1": 0.0, "t2": 1.0, "t3": 0.0}


def test_softmax_cross_entropy_gradient_is_output_minus_target() -> None:
    tape = build(SOFTMAX, SOFTMAX_LEAVES)
    v = named(tape, forward(tape))
    g = named(tape, backward(tape, forward(tape)))
    for k in (1, 2, 3):
        assert g[f"z{k}"] == pytest.approx(v[f"a{k}"] - SOFTMAX_LEAVES[f"t{k}"], abs=1e-12)
    for leaf in ("w1", "w2", "w3", "b2", "x"):
        assert g[leaf] == pytest.approx(finite_difference(tape, leaf), rel=1e-6, abs=1e-9)


def test_softmax_jacobian_reads_overridden_outputs() -> None:
    """A student who carries their own softmax outputs forward gets dL/dz_k = a_k - t_k from them."""
    tape = build(SOFTMAX, SOFTMAX_LEAVES)
    mine = {"a1": 0.3, "a2": 0.45, "a3": 0.25}
    v = forward(tape, overrides={tape.slot_of[n]: x for n, x in mine.items()})
    g = named(tape, backward(tape, v))
    for k in (1, 2, 3):
        assert g[f"z{k}"] == pytest.approx(mine[f"a{k}"] - SOFTMAX_LEAVES[f"t{k}"], abs=1e-12)


def test_a_softmax_with_components_missing_uses_the_library_partials() -> None:
    nodes = {"z1": "w1*x", "z2": "w2*x", "a1": "softmax(z1, z1, z2)", "L": "(a1 - 1)^2"}
    tape = build(nodes, {"x": 1.2, "w1": 0.4, "w2": -0.9})
    g = backward(tape, forward(tape))
    for leaf in ("w1", "w2", "x"):
        assert g[tape.slot_of[leaf]] == pytest.approx(finite_difference(tape, leaf), rel=1e-6, abs=1e-9)


def test_a_long_sum_compiles_and_solves_without_recursion() -> None:
    names = [f"x{k}" for k in range(1, 1001)]
    tree = parse(" + ".join(names) + " - " + " * ".join(names[:50]), max_length=20_000)
    tape = compile_graph({n: 1.0 for n in names}, {"L": tree}, ["L"], "L")
    values = forward(tape)
    grads = backward(tape, values)
    assert values[tape.slot_of["L"]] == pytest.approx(999.0)
    assert grads[tape.slot_of["x1"]] == pytest.approx(0.0) and grads[tape.slot_of["x60"]] == pytest.approx(1.0)
