"""The dense-layer shorthand: Nielsen names, shapes, activations, losses, drawn weight matrices."""

from __future__ import annotations

import math
from typing import Any

import pytest

from grader.expr.nodes import depth
from grader.problemset.model import Draw, NetworkProblem
from grader.problemset.source import ProblemSetError
from grader.solver.world import World, solve, variant_leaves
from tests.conftest import load_problem, load_set

W1 = [[0.2, -0.4, 0.1], [0.5, 0.3, -0.2]]
B1 = [0.1, -0.1]
W2 = [[0.7, -0.6]]
B2 = [0.2]
X = [1.0, 0.5, -1.0]


def dense(**fields: Any) -> dict[str, Any]:
    """The 3-2-1 sigmoid network of problems/dense-321.yaml, with ``fields`` replaced."""
    spec: dict[str, Any] = {
        "id": "q1", "kind": "network", "inputs": {"x1": X[0], "x2": X[1], "x3": X[2]}, "targets": {"y": 1.0},
        "layers": [{"weights": W1, "biases": B1, "activation": "sigmoid"},
                   {"weights": W2, "biases": B2, "activation": "sigmoid"}],
        "loss": "squared_error", "learning_rate": 0.5,
    }
    return {**spec, **fields}


def values(problem: NetworkProblem, world: World | None = None) -> dict[str, float]:
    world = world or solve(problem, {})
    return {q.name: world.value(q) for q in problem.quantities.values()}


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_nielsen_names() -> None:
    problem = load_problem(dense())
    assert list(problem.params) == ["w1_11", "w1_12", "w1_13", "b1_1", "w1_21", "w1_22", "w1_23", "b1_2",
                                    "w2_11", "w2_12", "b2_1"]
    assert set(problem.forward) == {"z1_1", "z1_2", "a1_1", "a1_2", "z2_1", "a2_1", "L"}
    assert problem.loss == "L"
    assert set(problem.given) == {"x1", "x2", "x3", "y"}
    assert problem.inputs == ("x1", "x2", "x3")
    assert [(la.units, la.pre, la.activation) for la in problem.layers] == [
        (("a1_1", "a1_2"), ("z1_1", "z1_2"), "sigmoid"), (("a2_1",), ("z2_1",), "sigmoid")]


def test_w_jk_is_the_weight_into_unit_j_from_unit_k() -> None:
    problem = load_problem(dense())
    for j in range(2):
        for k in range(3):
            assert problem.params[f"w1_{j + 1}{k + 1}"] == W1[j][k]
    assert problem.params["b1_2"] == B1[1]
    assert problem.params["w2_12"] == W2[0][1]


def test_the_dense_network_by_hand() -> None:
    v = values(load_problem(dense()))
    z1 = [sum(W1[j][k] * X[k] for k in range(3)) + B1[j] for j in range(2)]
    a1 = [sigmoid(z) for z in z1]
    z2 = W2[0][0] * a1[0] + W2[0][1] * a1[1] + B2[0]
    a2 = sigmoid(z2)
    d_z2 = -2 * (1.0 - a2) * a2 * (1 - a2)
    d_z1 = [d_z2 * W2[0][j] * a1[j] * (1 - a1[j]) for j in range(2)]
    hand = {"z1_1": z1[0], "z1_2": z1[1], "a1_1": a1[0], "a1_2": a1[1], "z2_1": z2, "a2_1": a2,
            "L": (1.0 - a2) ** 2, "dL/dz2_1": d_z2, "dL/dw2_11": d_z2 * a1[0], "dL/dw2_12": d_z2 * a1[1],
            "dL/db2_1": d_z2, "dL/dz1_1": d_z1[0], "dL/dw1_13": d_z1[0] * X[2], "dL/dw1_22": d_z1[1] * X[1],
            "dL/db1_2": d_z1[1], "next.w1_11": W1[0][0] - 0.5 * d_z1[0] * X[0]}
    for name, expected in hand.items():
        assert v[name] == pytest.approx(expected, rel=1e-12, abs=1e-15), name


def test_wide_layers_separate_j_and_k() -> None:
    problem = load_problem(dense(
        inputs={f"x{i}": 0.1 * i for i in range(1, 11)}, targets={"y": 0.5},
        layers=[{"weights": [[0.01 * (j + k) for k in range(10)] for j in range(2)], "activation": "tanh"},
                {"weights": [[0.3, -0.2]], "activation": "linear"}]))
    assert "w1_2_10" in problem.params and "w1_1_3" in problem.params
    assert "w2_11" in problem.params and "w2_12" in problem.params  # 2 units before: not wide
    assert problem.params["w1_2_10"] == pytest.approx(0.01 * (1 + 9))
    wide_after = load_problem(dense(
        layers=[{"weights": [[0.1, 0.2, 0.3]] * 10, "activation": "relu"},
                {"weights": [[0.1] * 10], "activation": "sigmoid"}]))
    assert "w1_10_3" in wide_after.params and "w2_1_10" in wide_after.params and "z1_10" in wide_after.forward


def test_layers_without_biases_have_none() -> None:
    layers = [{"weights": W1, "activation": "tanh"}, {"weights": W2, "activation": "linear"}]
    problem = load_problem(dense(layers=layers))
    assert not [p for p in problem.params if p.startswith("b")]
    v = values(problem)
    a1 = [math.tanh(sum(W1[j][k] * X[k] for k in range(3))) for j in range(2)]
    assert v["a2_1"] == pytest.approx(W2[0][0] * a1[0] + W2[0][1] * a1[1])  # linear: a = z
    assert v["a2_1"] == v["z2_1"]


@pytest.mark.parametrize(("activation", "alpha", "f"), [
    ("relu", None, lambda z: max(z, 0.0)),
    ("leaky_relu", None, lambda z: z if z > 0 else 0.01 * z),
    ("leaky_relu", 0.2, lambda z: z if z > 0 else 0.2 * z),
    ("elu", None, lambda z: z if z > 0 else math.expm1(z)),
    ("elu", 0.5, lambda z: z if z > 0 else 0.5 * math.expm1(z)),
    ("softplus", None, lambda z: math.log1p(math.exp(z))),
    ("tanh", None, math.tanh),
    ("identity", None, lambda z: z),
])
def test_activations(activation: str, alpha: float | None, f: Any) -> None:
    layer: dict[str, Any] = {"weights": [[1.0, 0.0, 0.0], [-2.0, 0.0, 0.0]], "activation": activation}
    if alpha is not None:
        layer["alpha"] = alpha
    problem = load_problem(dense(layers=[layer, {"weights": [[1.0, 1.0]], "activation": "linear"}]))
    v = values(problem)
    assert (v["z1_1"], v["z1_2"]) == (1.0, -2.0)
    assert v["a1_1"] == pytest.approx(f(1.0)) and v["a1_2"] == pytest.approx(f(-2.0))


def softmax_problem(target: int = 2) -> NetworkProblem:
    return load_problem(dense(
        inputs={"x1": 0.5, "x2": -1.0}, targets={f"t{k}": float(k == target) for k in (1, 2, 3)},
        layers=[{"weights": [[0.4, -0.3], [0.2, 0.6]], "biases": [0.0, 0.1], "activation": "tanh"},
                {"weights": [[0.5, -0.4], [0.3, 0.8], [-0.6, 0.1]], "biases": [0.1, 0.0, -0.1],
                 "activation": "softmax"}],
        loss="cross_entropy"))


@pytest.mark.parametrize("target", [1, 2, 3])
def test_softmax_with_categorical_cross_entropy(target: int) -> None:
    v = values(softmax_problem(target))
    z = [v[f"z2_{k}"] for k in (1, 2, 3)]
    a = [math.exp(x) / sum(math.exp(y) for y in z) for x in z]
    for k in (1, 2, 3):
        assert v[f"a2_{k}"] == pytest.approx(a[k - 1], rel=1e-12)
        assert v[f"dL/dz2_{k}"] == pytest.approx(a[k - 1] - float(k == target), abs=1e-12)
    assert v["L"] == pytest.approx(-math.log(a[target - 1]), rel=1e-12)
    assert sum(v[f"a2_{k}"] for k in (1, 2, 3)) == pytest.approx(1.0)


TWO_OUT = [{"weights": [[0.4, -0.3, 0.2], [0.1, 0.6, -0.5]], "biases": [0.05, -0.05], "activation": "sigmoid"}]
TARGETS = {"t1": 1.0, "t2": 0.0}


def two_output_values(loss: str) -> tuple[dict[str, float], list[float], list[float]]:
    v = values(load_problem(dense(layers=TWO_OUT, targets=TARGETS, loss=loss)))
    a = [v["a1_1"], v["a1_2"]]
    return v, a, [1.0, 0.0]


def test_squared_error() -> None:
    v, a, t = two_output_values("squared_error")
    assert v["L"] == pytest.approx(sum((ti - ai) ** 2 for ti, ai in zip(t, a, strict=True)))
    assert v["dL/da1_1"] == pytest.approx(-2 * (t[0] - a[0]))


def test_half_squared_error() -> None:
    v, a, t = two_output_values("half_squared_error")
    assert v["L"] == pytest.approx(0.5 * sum((ti - ai) ** 2 for ti, ai in zip(t, a, strict=True)))
    assert v["dL/da1_2"] == pytest.approx(a[1] - t[1])


def test_mean_squared_error() -> None:
    v, a, t = two_output_values("mse")
    assert v["L"] == pytest.approx(sum((ti - ai) ** 2 for ti, ai in zip(t, a, strict=True)) / 2)
    assert v["dL/da1_1"] == pytest.approx(-(t[0] - a[0]))


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "bce"])
def test_binary_cross_entropy(loss: str) -> None:
    v, a, t = two_output_values(loss)
    expected = -sum(ti * math.log(ai) + (1 - ti) * math.log(1 - ai) for ti, ai in zip(t, a, strict=True))
    assert v["L"] == pytest.approx(expected)
    for k in (1, 2):
        assert v[f"dL/dz1_{k}"] == pytest.approx(a[k - 1] - t[k - 1])  # sigmoid + BCE


def test_a_loss_formula_in_output_and_target_names() -> None:
    v = values(load_problem(dense(loss="huber(y - a2_1, 0.1)")))
    r = 1.0 - v["a2_1"]
    assert v["L"] == pytest.approx(0.1 * (abs(r) - 0.05))


def test_random_whole_matrix_weights_with_units() -> None:
    layer = {"weights": {"uniform": [-1, 1], "decimals": 1}, "units": 3, "biases": {"uniform": [-0.5, 0.5]},
             "activation": "tanh"}
    problem = load_problem(dense(layers=[layer, {"weights": [[0.5, -0.5, 0.25]], "activation": "sigmoid"}]))
    weights = [f"w1_{j}{k}" for j in (1, 2, 3) for k in (1, 2, 3)]
    assert set(weights) <= set(problem.params)
    assert all(isinstance(problem.params[w], Draw) for w in weights)
    assert problem.randomised
    tape = problem.tape
    assert tape is not None

    def matrix(student: str) -> list[float]:
        leaves = variant_leaves(problem, "t-set", student)
        return [leaves[tape.slot_of[w]] for w in weights]

    for student in ("s1", "s2", "s3"):
        m = matrix(student)
        assert all(-1 <= w <= 1 and round(w, 1) == w for w in m)
        assert len(set(m)) > 1, "each entry is drawn on its own"
    assert matrix("s1") == matrix("s1")
    assert matrix("s1") != matrix("s2")


# (layers, loss, targets, fragment, field)
SHAPES: list[tuple[str, dict[str, Any], str, str]] = [
    ("row too short", {"layers": [{"weights": [[0.2, -0.4, 0.1], [0.5, 0.3]]}, {"weights": W2}]},
     "row 2 has 2 weights but the layer before has 3 units", "layers.0.weights.1"),
    ("row too long in a later layer", {"layers": [{"weights": W1}, {"weights": [[0.7, -0.6, 0.1]]}]},
     "the layer before has 2 units", "layers.1.weights.0"),
    ("too few biases", {"layers": [{"weights": W1, "biases": [0.1]}, {"weights": W2}]},
     "biases must be a list of 2 values", "layers.0.biases"),
    ("weights not a matrix", {"layers": [{"weights": [0.2, 0.1, 0.3]}, {"weights": W2}]},
     "weights must be a matrix", "layers.0.weights"),
    ("drawn weights without units", {"layers": [{"weights": {"uniform": [-1, 1]}}, {"weights": W2}]},
     "need units", "layers.0.units"),
    ("unknown activation", {"layers": [{"weights": W1, "activation": "swish"}, {"weights": W2}]},
     "unknown activation 'swish'", "layers.0.activation"),
    ("alpha on sigmoid", {"layers": [{"weights": W1, "activation": "sigmoid", "alpha": 0.1}, {"weights": W2}]},
     "alpha applies only", "layers.0.alpha"),
    ("unknown layer field", {"layers": [{"weights": W1, "activaton": "tanh"}, {"weights": W2}]},
     "did you mean activation?", "layers.0.activaton"),
    ("no layers", {"layers": []}, "non-empty list", "layers"),
    ("targets do not match the outputs", {"targets": {"y": 1.0, "y2": 0.0}}, "one target per output unit",
     "targets"),
    ("no inputs", {"inputs": {}}, "needs inputs", "inputs"),
    ("loss is a list", {"loss": ["mse"]}, "not a list", "loss"),
    ("unknown name in a loss formula", {"loss": "(y - a3_1)^2"}, "unknown name 'a3_1'", "loss"),
    ("layers and forward", {"forward": {"z": "x1"}}, "not both", "layers"),
    ("an input that is also given", {"given": {"x1": 2.0}}, "both an input", "given.x1"),
]


@pytest.mark.parametrize(("fields", "fragment", "field"), [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_layer_errors(fields: dict[str, Any], fragment: str, field: str) -> None:
    with pytest.raises(ProblemSetError) as info:
        load_set(dense(**fields))
    assert fragment in info.value.message
    assert info.value.problem == "q1"
    assert info.value.field == field
    assert info.value.line is not None


def test_a_missing_loss_in_layer_form() -> None:
    spec = dense()
    del spec["loss"]
    with pytest.raises(ProblemSetError) as info:
        load_set(spec)
    assert "needs loss" in info.value.message


def test_layer_form_asks_every_node_and_gradient_by_default() -> None:
    problem = load_problem(dense())
    assert [q.name for q in problem.ask] == [*problem.order, *(f"dL/d{p}" for p in problem.params)]


def test_a_wide_layer_is_a_shallow_sum_of_the_same_value() -> None:
    n = 200
    inputs = {f"x{k + 1}": 0.01 * (k % 9) for k in range(n)}
    weights = [[0.1 * ((j + k) % 7 - 3) for k in range(n)] for j in range(2)]
    problem = load_problem({"id": "q1", "kind": "network", "inputs": inputs, "targets": {"y": 1.0},
                            "layers": [{"weights": weights, "biases": [0.5, -0.5], "activation": "tanh"},
                                       {"weights": [[1.0, 1.0]], "activation": "linear"}],
                            "loss": "squared_error", "learning_rate": 0.1})
    assert depth(problem.forward["z1_1"]) <= 12  # 201 terms: written left to right it would be 201 deep
    got = values(problem)
    for j in range(2):
        z = sum(w * x for w, x in zip(weights[j], inputs.values(), strict=True)) + (0.5, -0.5)[j]
        assert got[f"z1_{j + 1}"] == pytest.approx(z, rel=1e-12)
    assert depth(load_problem(dense()).forward["z1_1"]) == 5  # short sums keep their shape: ((w*x + w*x) + ...)


def test_activation_and_loss_names_in_any_case() -> None:
    written = dense(layers=[{"weights": W1, "biases": B1, "activation": "Sigmoid"},
                            {"weights": W2, "biases": B2, "activation": " SIGMOID"}], loss="Squared_Error")
    assert values(load_problem(written)) == values(load_problem(dense()))


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"layers": [{"weights": W1, "biases": B1, "activation": ["relu"]},
                 {"weights": W2, "biases": B2, "activation": "sigmoid"}]},
     "layers.0.activation", "activation must be one name such as relu, not a list"),
    ({"layers": [{"weights": W1, "biases": B1, "activation": "ReLu6"},
                 {"weights": W2, "biases": B2, "activation": "sigmoid"}]},
     "layers.0.activation", "unknown activation 'ReLu6'"),
    ({"loss": "huber"}, "loss", "write 'huber' as a formula of a2_1 and y"),
    ({"loss": "L1"}, "loss", "(for L1: abs(a2_1 - y))"),
])
def test_a_wrong_activation_or_loss_says_what_to_write(fields: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ProblemSetError) as info:
        load_problem(dense(**fields))
    assert info.value.field == field and words in info.value.message, info.value.message
