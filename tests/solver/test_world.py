"""Solving a loaded problem: the SPEC's worked example, gradients of whole networks, overrides, next.*."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from grader.expr import nodes as ex
from grader.problemset.model import NetworkProblem
from grader.solver.evaluate import forward
from grader.solver.world import World, solve, variant_leaves
from tests.conftest import FAST, SPEC_Q1, SPEC_VALUES, load_problem, make_problem


def spec_problem() -> NetworkProblem:
    return load_problem(SPEC_Q1)


def value(problem: NetworkProblem, world: World, name: str) -> float:
    return world.value(problem.quantities[name])


def test_spec_worked_example_to_six_digits() -> None:
    problem = spec_problem()
    world = solve(problem, {})
    for name, expected in SPEC_VALUES.items():
        assert abs(value(problem, world, name) - expected) <= 5e-7, name


def test_spec_worked_example_by_hand() -> None:
    """Every node and gradient of q1 from formulas written out by hand."""
    problem = spec_problem()
    world = solve(problem, {})
    x1, x2, y = 1.0, -2.0, 1.0
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = 0.5, -0.3, 0.8, 0.2, 1.0, -1.5, 0.1, -0.1, 0.05
    z1, z2 = w1 * x1 + w2 * x2 + b1, w3 * x1 + w4 * x2 + b2
    h1, h2 = math.tanh(z1), math.tanh(z2)
    z3 = w5 * h1 + w6 * h2 + b3
    p = 1 / (1 + math.exp(-z3))
    d_z3 = p - y
    d_z1, d_z2 = d_z3 * w5 * (1 - h1**2), d_z3 * w6 * (1 - h2**2)
    hand = {"z1": z1, "z2": z2, "h1": h1, "h2": h2, "z3": z3, "p": p, "L": -math.log(p),
            "dL/dp": -1 / p, "dL/dz3": d_z3, "dL/dh1": d_z3 * w5, "dL/dh2": d_z3 * w6,
            "dL/dz1": d_z1, "dL/dz2": d_z2, "dL/dw1": d_z1 * x1, "dL/dw2": d_z1 * x2, "dL/db1": d_z1,
            "dL/dw3": d_z2 * x1, "dL/dw4": d_z2 * x2, "dL/db2": d_z2, "dL/dw5": d_z3 * h1,
            "dL/dw6": d_z3 * h2, "dL/db3": d_z3, "dL/dx1": d_z1 * w1 + d_z2 * w3,
            "dL/dx2": d_z1 * w2 + d_z2 * w4, "dL/dy": -z3}
    for name, expected in hand.items():
        assert value(problem, world, name) == pytest.approx(expected, rel=1e-12, abs=1e-15), name


def test_next_is_one_descent_step_and_nodes_are_recomputed() -> None:
    problem = spec_problem()
    world = solve(problem, {})
    eta = 0.1
    new = {p: SPEC_Q1["params"][p] - eta * value(problem, world, f"dL/d{p}") for p in SPEC_Q1["params"]}
    for p, w in new.items():
        assert value(problem, world, f"next.{p}") == pytest.approx(w, rel=1e-12), p
    x1, x2, y = 1.0, -2.0, 1.0
    z1 = new["w1"] * x1 + new["w2"] * x2 + new["b1"]
    z2 = new["w3"] * x1 + new["w4"] * x2 + new["b2"]
    z3 = new["w5"] * math.tanh(z1) + new["w6"] * math.tanh(z2) + new["b3"]
    p = 1 / (1 + math.exp(-z3))
    hand = {"z1": z1, "z2": z2, "h1": math.tanh(z1), "h2": math.tanh(z2), "z3": z3, "p": p,
            "L": -(y * math.log(p) + (1 - y) * math.log(1 - p))}
    for name, expected in hand.items():
        assert value(problem, world, f"next.{name}") == pytest.approx(expected, rel=1e-12), name


def test_without_a_learning_rate_there_is_no_next_pass() -> None:
    spec = {k: v for k, v in SPEC_Q1.items() if k != "learning_rate"}
    problem = load_problem({**spec, "ask": ["z1", "dL/dw1"]})
    assert solve(problem, {}).next_values is None
    assert solve(spec_problem(), {}, with_next=False).next_values is None


# -- overrides: a student's value written into the graph ----------------------------------------

def test_a_value_override_flows_downstream_and_records_the_computed_value() -> None:
    problem = spec_problem()
    world = solve(problem, {}, {"h1": 0.8})
    assert world.recorded["h1"] == pytest.approx(math.tanh(1.2))
    assert value(problem, world, "h1") == pytest.approx(math.tanh(1.2))  # the world's own value
    z3 = 1.0 * 0.8 - 1.5 * math.tanh(0.3) + 0.05
    assert value(problem, world, "z3") == pytest.approx(z3)
    p = 1 / (1 + math.exp(-z3))
    assert value(problem, world, "L") == pytest.approx(-math.log(p))
    assert value(problem, world, "dL/dw5") == pytest.approx((p - 1) * 0.8)
    assert value(problem, world, "dL/dz1") == pytest.approx((p - 1) * 1.0 * (1 - 0.8**2))  # tanh' read from h1


def test_a_gradient_override_flows_to_what_is_computed_from_it() -> None:
    problem = spec_problem()
    world = solve(problem, {}, {"dL/dz3": -0.5})
    assert world.recorded["dL/dz3"] == pytest.approx(-0.390149, abs=5e-7)
    assert value(problem, world, "dL/dw5") == pytest.approx(-0.5 * math.tanh(1.2))
    assert value(problem, world, "dL/db3") == pytest.approx(-0.5)
    assert value(problem, world, "dL/dw1") == pytest.approx(-0.5 * 1.0 * (1 - math.tanh(1.2) ** 2) * 1.0)
    assert value(problem, world, "next.w5") == pytest.approx(1.0 + 0.1 * 0.5 * math.tanh(1.2))
    assert value(problem, world, "z3") == pytest.approx(0.446686, abs=5e-7)  # the forward pass is untouched


def test_a_next_parameter_override_is_the_weight_the_next_pass_uses() -> None:
    problem = spec_problem()
    key = solve(problem, {})
    world = solve(problem, {}, {"next.w1": 0.6})
    assert world.recorded["next.w1"] == pytest.approx(0.5 + 0.1 * 0.119003, abs=1e-7)
    shift = 0.6 - value(problem, key, "next.w1")
    assert value(problem, world, "next.z1") == pytest.approx(value(problem, key, "next.z1") + shift * 1.0)
    assert value(problem, world, "next.z2") == pytest.approx(value(problem, key, "next.z2"))


def test_a_next_node_override_flows_downstream() -> None:
    problem = spec_problem()
    key = solve(problem, {})
    world = solve(problem, {}, {"next.p": 0.9})
    assert world.recorded["next.p"] == pytest.approx(value(problem, key, "next.p"))
    assert value(problem, world, "next.L") == pytest.approx(-math.log(0.9))


def test_base_reuses_an_earlier_world() -> None:
    problem = spec_problem()
    first = solve(problem, {}, {"h1": 0.8, "dL/dz3": -0.5})
    again = solve(problem, {}, {"h1": 0.8, "dL/dz3": -0.5}, base=first)
    for q in problem.quantities.values():
        assert again.value(q) == pytest.approx(first.value(q), nan_ok=True), q.name


def test_variant_leaves_of_a_fixed_problem_are_empty() -> None:
    assert variant_leaves(spec_problem(), "t-set", "s1") == {}


def test_variant_leaves_cover_every_given_and_parameter() -> None:
    problem = load_problem({**SPEC_Q1, "params": {**SPEC_Q1["params"], "w1": {"uniform": [-1, 1]}}})
    assert problem.tape is not None
    leaves = variant_leaves(problem, "t-set", "s1")
    names = {problem.tape.name_of[s] for s in leaves}
    assert names == set(SPEC_Q1["params"]) | set(SPEC_Q1["given"])
    assert leaves[problem.tape.slot_of["w2"]] == -0.3
    world = solve(problem, leaves)
    w1 = leaves[problem.tape.slot_of["w1"]]
    assert value(problem, world, "z1") == pytest.approx(w1 * 1.0 - 0.3 * -2.0 + 0.1)


# -- whole networks against central finite differences -------------------------------------------

Kinks = Callable[[dict[str, float]], bool]

# name -> (forward, given, params, away from every kink)
NETWORKS: dict[str, tuple[dict[str, str], tuple[str, ...], tuple[str, ...], Kinks]] = {
    "relu-elu-leaky": (
        {"z1": "w1*x1 + w2*x2 + b1", "z2": "w3*x1 + w4*x2 + b2", "z3": "w5*x1 + w6*x2",
         "h1": "relu(z1)", "h2": "elu(z2, 0.7)", "h3": "leaky_relu(z3, 0.1)",
         "out": "v1*h1 + v2*h2 + v3*h3 + c", "L": "(out - y)^2"},
        ("x1", "x2", "y"), ("w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "v1", "v2", "v3", "c"),
        lambda v: min(abs(v["z1"]), abs(v["z2"]), abs(v["z3"])) > 1e-3),
    "softplus-huber-abs": (
        {"z": "w1*x1 + w2*x2 + b", "h": "softplus(z)", "out": "v*h + c",
         "L": "huber(out - y, 0.5) + 0.1*abs(w1)"},
        ("x1", "x2", "y"), ("w1", "w2", "b", "v", "c"),
        lambda v: abs(abs(v["out"] - v["y"]) - 0.5) > 1e-3 and abs(v["w1"]) > 1e-3),
    "hinge": (
        {"s": "w1*x1 + w2*x2 + b", "L": "hinge(y, s) + 0.01*(w1^2 + w2^2)"},
        ("x1", "x2", "y"), ("w1", "w2", "b"),
        lambda v: abs(1 - v["y"] * v["s"]) > 1e-3),
    "softmax-cross-entropy": (
        {"z1": "w11*x1 + w12*x2 + b1", "z2": "w21*x1 + w22*x2 + b2", "z3": "w31*x1 + w32*x2 + b3",
         "a1": "softmax(z1, z1, z2, z3)", "a2": "softmax(z2, z1, z2, z3)", "a3": "softmax(z3, z1, z2, z3)",
         "L": "-(t1*log(a1) + t2*log(a2) + t3*log(a3))"},
        ("x1", "x2", "t1", "t2", "t3"), ("w11", "w12", "w21", "w22", "w31", "w32", "b1", "b2", "b3"),
        lambda v: True),
    "piecewise-max-min": (
        {"z": "w1*x1 + w2*x2 + b", "h": "Piecewise((z, z > 0), (0.1*z, True))",
         "g": "z^2 if z < 1 else 2*z - 1", "q": "max(h, g) + min(z, 0.5)",
         "L": "(q - y)^2 + sigmoid(w2)*tanh(b)"},
        ("x1", "x2", "y"), ("w1", "w2", "b"),
        lambda v: min(abs(v["z"]), abs(v["z"] - 1), abs(v["z"] - 0.5), abs(v["h"] - v["g"])) > 1e-3),
    "bce-division-sqrt": (
        {"z": "w1*x1/(1 + w2^2) + b", "p": "sigmoid(z)",
         "L": "-(y*log(p) + (1 - y)*log(1 - p)) + sqrt(1 + b^2) + exp(-w1^2)"},
        ("x1", "y"), ("w1", "w2", "b"),
        lambda v: True),
}

unit = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False, allow_infinity=False)


def network_problem(name: str, values: dict[str, float]) -> NetworkProblem:
    fwd, given, params, _ = NETWORKS[name]
    return load_problem(make_problem(fwd, given={g: values[g] for g in given},
                                     params={p: values[p] for p in params}, learning_rate=0.1))


def draw_values(data: st.DataObject, name: str) -> dict[str, float]:
    _, given, params, _ = NETWORKS[name]
    values = {n: data.draw(unit, label=n) for n in (*given, *params)}
    if "y" in values and name == "hinge":
        values["y"] = data.draw(st.sampled_from([-1.0, 1.0]), label="y label")
    if name == "bce-division-sqrt":
        values["y"] = data.draw(st.sampled_from([0.0, 1.0]), label="y label")
    if name == "softmax-cross-entropy":
        k = data.draw(st.integers(1, 3), label="class")
        values.update({f"t{i}": float(i == k) for i in (1, 2, 3)})
    return values


def loss_at(problem: NetworkProblem, leaf: str, x: float) -> float:
    assert problem.tape is not None
    return forward(problem.tape, {problem.tape.slot_of[leaf]: x})[problem.tape.loss_slot]


@pytest.mark.parametrize("name", list(NETWORKS))
@FAST
@given(data=st.data())
def test_whole_network_gradients_match_central_differences(name: str, data: st.DataObject) -> None:
    values = draw_values(data, name)
    problem = network_problem(name, values)
    world = solve(problem, {})
    nodes = {n: value(problem, world, n) for n in problem.order}
    assume(NETWORKS[name][3]({**values, **nodes}))
    for leaf in (*problem.params, *problem.given):
        h = 1e-6
        fd = (loss_at(problem, leaf, values[leaf] + h) - loss_at(problem, leaf, values[leaf] - h)) / (2 * h)
        assert value(problem, world, f"dL/d{leaf}") == pytest.approx(fd, rel=1e-5, abs=1e-6), leaf


ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "linear"]


@st.composite
def dense_networks(draw: st.DrawFn) -> dict[str, Any]:
    sizes = draw(st.lists(st.integers(1, 3), min_size=2, max_size=4))
    n_in, hidden, n_out = sizes[0], sizes[1:-1], sizes[-1]
    loss = draw(st.sampled_from(["squared_error", "half_squared_error", "mse", "cross_entropy", "bce"]))
    layers = []
    before = n_in
    for units in [*hidden, n_out]:
        last = len(layers) == len(hidden)
        if last and loss == "cross_entropy":
            activation = "softmax"
        elif last and loss == "bce":
            activation = "sigmoid"
        else:
            activation = draw(st.sampled_from(ACTIVATIONS))
        layers.append({"weights": [[draw(unit) for _ in range(before)] for _ in range(units)],
                       "biases": [draw(unit) for _ in range(units)], "activation": activation})
        before = units
    if loss == "cross_entropy":
        k = draw(st.integers(1, n_out))
        targets = {f"t{i}": float(i == k) for i in range(1, n_out + 1)}
    elif loss == "bce":
        targets = {f"t{i}": draw(st.sampled_from([0.0, 1.0])) for i in range(1, n_out + 1)}
    else:
        targets = {f"t{i}": draw(unit) for i in range(1, n_out + 1)}
    return {"id": "dense", "kind": "network", "inputs": {f"x{i}": draw(unit) for i in range(1, n_in + 1)},
            "targets": targets, "layers": layers, "loss": loss, "learning_rate": 0.5}


def away_from_kinks(problem: NetworkProblem, world: World) -> bool:
    for layer in problem.layers:
        kinked = layer.activation in ("relu", "leaky_relu", "elu")
        if kinked and any(abs(value(problem, world, z)) < 1e-3 for z in layer.pre):
            return False
    return True


@FAST
@given(spec=dense_networks())
def test_dense_network_gradients_match_central_differences(spec: dict[str, Any]) -> None:
    problem = load_problem(spec)
    world = solve(problem, {})
    assume(away_from_kinks(problem, world))
    assert problem.tape is not None
    for leaf in problem.params:
        x = problem.tape.init[problem.tape.slot_of[leaf]]
        fd = (loss_at(problem, leaf, x + 1e-6) - loss_at(problem, leaf, x - 1e-6)) / 2e-6
        assert value(problem, world, f"dL/d{leaf}") == pytest.approx(fd, rel=1e-5, abs=1e-6), leaf
        assert value(problem, world, f"next.{leaf}") == pytest.approx(x - 0.5 * value(problem, world, f"dL/d{leaf}"))


# -- against torch.autograd, where PyTorch is installed ------------------------------------------

def torch_value(torch: Any, node: ex.Expr | ex.Cond, env: dict[str, Any]) -> Any:
    """Evaluate an expression tree with torch operations: an independent reference for the gradients."""
    f = torch.nn.functional

    def t(x: float) -> Any:
        return torch.tensor(x, dtype=torch.float64)

    def ev(n: Any) -> Any:
        return torch_value(torch, n, env)

    match node:
        case ex.Num(value=v):
            return t(float(v))
        case ex.Sym(name=name):
            return env[name] if name in env else t({"e": math.e, "pi": math.pi}[name])
        case ex.Neg(arg=a):
            return -ev(a)
        case ex.BinOp(op=op, left=a, right=b):
            x, y = ev(a), ev(b)
            return {"+": x + y, "-": x - y, "*": x * y, "/": x / y, "^": torch.pow(x, y)}[op]
        case ex.Compare(op=op, left=a, right=b):
            x, y = ev(a), ev(b)
            return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y, "==": x == y, "!=": x != y}[op]
        case ex.Logic(op=op, args=args):
            out = ev(args[0])
            for c in args[1:]:
                out = torch.logical_and(out, ev(c)) if op == "and" else torch.logical_or(out, ev(c))
            return out
        case ex.Piecewise(pieces=pieces):
            value, cond = pieces[-1]
            out = ev(value)
            for value, cond in reversed(pieces[:-1]):
                out = torch.where(ev(cond), ev(value), out)
            return out
        case ex.Call(func=name, args=args):
            xs = [ev(a) for a in args]
            consts = [float(a.value) if isinstance(a, ex.Num) else None for a in args]
            if name == "softmax":
                zs = torch.stack(xs[1:])
                m = zs.max().detach()
                return torch.exp(xs[0] - m) / torch.exp(zs - m).sum()
            if name in ("leaky_relu", "elu"):
                alpha = consts[1] if len(args) > 1 else {"leaky_relu": 0.01, "elu": 1.0}[name]
                assert alpha is not None
                return f.leaky_relu(xs[0], alpha) if name == "leaky_relu" else f.elu(xs[0], alpha)
            if name == "huber":
                delta = consts[1] if len(args) > 1 else 1.0
                return f.huber_loss(xs[0], torch.zeros_like(xs[0]), reduction="none", delta=delta)
            if name == "hinge":
                return torch.clamp(1 - xs[0] * xs[1], min=0.0)
            if name in ("max", "min"):
                return torch.stack(xs).amax() if name == "max" else torch.stack(xs).amin()
            return {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "softplus": f.softplus,
                    "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "abs": torch.abs}[name](xs[0])
    raise TypeError(node)


def torch_gradients(torch: Any, problem: NetworkProblem) -> dict[str, float]:
    assert problem.tape is not None
    tape = problem.tape
    env = {n: torch.tensor(tape.init[tape.slot_of[n]], dtype=torch.float64, requires_grad=True)
           for n in (*problem.given, *problem.params)}
    leaves = dict(env)
    for name in problem.order:
        env[name] = torch_value(torch, problem.forward[name], env)
        if env[name].requires_grad:
            env[name].retain_grad()
    env[problem.loss].backward()
    out = {n: float(t.grad) if t.grad is not None else 0.0 for n, t in leaves.items()}
    out.update({n: float(env[n].grad) for n in problem.order
                if n != problem.loss and env[n].requires_grad and env[n].grad is not None})
    return out


def test_spec_worked_example_against_torch() -> None:
    torch = pytest.importorskip("torch")
    problem = spec_problem()
    world = solve(problem, {})
    for name, g in torch_gradients(torch, problem).items():
        assert value(problem, world, f"dL/d{name}") == pytest.approx(g, rel=1e-9, abs=1e-12), name


@pytest.mark.parametrize("name", list(NETWORKS))
@FAST
@given(data=st.data())
def test_whole_network_gradients_match_torch(name: str, data: st.DataObject) -> None:
    torch = pytest.importorskip("torch")
    values = draw_values(data, name)
    problem = network_problem(name, values)
    world = solve(problem, {})
    nodes = {n: value(problem, world, n) for n in problem.order}
    assume(NETWORKS[name][3]({**values, **nodes}))
    reference = torch_gradients(torch, problem)
    assert set(reference) >= set(problem.params)
    for n, g in reference.items():
        assert value(problem, world, f"dL/d{n}") == pytest.approx(g, rel=1e-9, abs=1e-12), n


@FAST
@given(spec=dense_networks())
def test_dense_network_gradients_match_torch(spec: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    problem = load_problem(spec)
    world = solve(problem, {})
    assume(away_from_kinks(problem, world))
    for n, g in torch_gradients(torch, problem).items():
        assert value(problem, world, f"dL/d{n}") == pytest.approx(g, rel=1e-9, abs=1e-12), n
