"""The network drawing: well-formed SVG naming every node, weight and bias, with text for screen readers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.key import variant_values
from grader.problemset.loader import load_problem_set, load_problem_set_file
from grader.problemset.model import NetworkProblem
from grader.web.diagram import network_svg

SVG = "{http://www.w3.org/2000/svg}"
PROBLEMS = Path(__file__).resolve().parents[2] / "problems"


def _draw(path: Path) -> tuple[NetworkProblem, ET.Element, dict[str, float]]:
    ps = load_problem_set_file(path)
    problem = ps.problems[0]
    assert isinstance(problem, NetworkProblem)
    v = variant_values(ps, problem, "s1")
    values = {**v["given"], **v["params"]}
    return problem, ET.fromstring(network_svg(problem, values)), values


@pytest.mark.parametrize("name", ["dense-321", "sparse-net", "tanh-softmax", "random-weights"])
def test_every_node_weight_and_bias_is_drawn(name: str) -> None:
    problem, root, _values = _draw(PROBLEMS / f"{name}.yaml")
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    for node in problem.order:
        assert node in text, node
    for param in problem.params:
        assert param in text, param
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None and desc is not None and desc.text
    for given in problem.inputs:
        assert f"{given} = " in desc.text


def test_edges_follow_the_graph_and_carry_the_students_values() -> None:
    _problem, root, values = _draw(PROBLEMS / "sparse-net.yaml")
    labels = [t.text or "" for t in root.iter(f"{SVG}text") if t.get("class") == "weight"]
    # h1 sees only x1 and h3 only x2: four input weights, three output weights, no more
    assert sorted(label.split(" = ")[0] for label in labels) == ["v1", "v2", "v3", "w1", "w2", "w3", "w4"]
    assert f"w3 = {values['w3']:.4g}" in labels
    assert len(list(root.iter(f"{SVG}line"))) == 7 + 2  # plus yhat -> L and y -> L


def test_softmax_outputs_are_one_neuron_each_without_sibling_edges() -> None:
    _problem, root, _ = _draw(PROBLEMS / "tanh-softmax.yaml")
    labels = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert "z2_1 → a2_1" in labels and "z2_3 → a2_3" in labels
    # 2 inputs x 2 units + 2 units x 3 classes + 3 outputs to L + 3 targets to L
    assert len(list(root.iter(f"{SVG}line"))) == 4 + 6 + 3 + 3


def test_names_are_escaped() -> None:
    ps = load_problem_set("""
id: esc
problems:
  - id: q
    given: {x: 1}
    params: {w: 0.5}
    forward: {z: w*x, L: z^2}
    loss: L
""", "esc")
    problem = ps.problems[0]
    assert isinstance(problem, NetworkProblem)
    svg = network_svg(problem, {"x": 1.0, "w": 0.5}, title="<b>&</b>")
    assert "<b>" not in svg and "&lt;b&gt;&amp;&lt;/b&gt;" in svg
    ET.fromstring(svg)
