"""What the student's own world carries: first-order rounding bounds and what each value rests on."""

from __future__ import annotations

import random

import pytest

from grader.problemset.model import NetworkProblem
from grader.solver.carry import carry
from grader.solver.world import solve
from tests.conftest import SPEC_Q1, load_set

ASKED = ["z1", "h1", "z3", "p", "L", "dL/dz3", "dL/dw1", "dL/dw5", "next.w1", "next.L"]


def problem() -> NetworkProblem:
    p = load_set(SPEC_Q1).problems[0]
    assert isinstance(p, NetworkProblem)
    return p


def test_no_rounding_carries_nothing() -> None:
    p = problem()
    key = solve(p, {})
    written = {n: 0.0 for n in ["h1", "dL/dz3"]}
    out = carry(p, solve(p, {}, {n: key.value(p.quantities[n]) for n in written}), written, lambda x: 0.0,
                set(ASKED))
    assert all(b == 0 for b in out.bound.values())


@pytest.mark.parametrize("seed", range(5))
def test_the_bound_covers_every_way_the_written_digits_could_have_been_carried(seed: int) -> None:
    p = problem()
    key = solve(p, {})
    rng = random.Random(seed)
    written_names = ["z1", "h1", "dL/dz3", "dL/dw1"]
    radius = 5e-4
    written = {n: round(key.value(p.quantities[n]), 3) for n in written_names}
    mine = solve(p, {}, written)
    out = carry(p, mine, dict.fromkeys(written_names, radius), lambda x: 0.0, set(ASKED))
    for _ in range(20):  # the student may have carried any value within the written digits
        shifted = {n: v + rng.uniform(-radius, radius) for n, v in written.items()}
        theirs = solve(p, {}, shifted)
        for name in ASKED:
            if name in written:
                continue
            q = p.quantities[name]
            moved = abs(theirs.value(q) - mine.value(q))
            assert moved <= 1.5 * out.bound[name] + 1e-12, (name, moved, out.bound[name])


def test_a_written_value_cuts_what_lies_upstream_of_it() -> None:
    p = problem()
    key = solve(p, {})
    written = {n: key.value(p.quantities[n]) for n in ["z1", "h1", "dL/dz3"]}
    out = carry(p, solve(p, {}, written), dict.fromkeys(written, 0.0), lambda x: 0.0, set(ASKED))
    bit = {n: 1 << k for k, n in enumerate(written)}
    assert out.footing["z3"] & bit["h1"] and not out.footing["z3"] & bit["z1"]
    assert out.footing["h1"] == bit["z1"]  # h1 itself is computed from z1
    # tanh' is read from h1, the written output, so dL/dw1 rests on h1 and dL/dz3, not on z1
    assert out.footing["dL/dw1"] & bit["dL/dz3"] and out.footing["dL/dw1"] & bit["h1"]
    assert not out.footing["dL/dw1"] & bit["z1"]
    assert not out.footing["dL/dw5"] & bit["z1"]


def test_a_zero_local_derivative_carries_nothing() -> None:
    spec = {**SPEC_Q1, "forward": {**SPEC_Q1["forward"], "h1": "relu(z1)"}, "params": {**SPEC_Q1["params"],
                                                                                       "b1": -5.0}}
    p = load_set(spec).problems[0]
    assert isinstance(p, NetworkProblem)
    key = solve(p, {})
    written = {"z1": key.value(p.quantities["z1"])}
    out = carry(p, solve(p, {}, written), {"z1": 1e-3}, lambda x: 0.0, {"h1", "z3"})
    assert out.footing["h1"] == 0 and out.bound["h1"] == 0  # relu is off: z1's digits cannot reach h1


def test_a_derivative_constant_on_each_side_still_reads_its_input() -> None:
    """relu' is 1 or 0: a slip in z that crosses 0 changes the gradient, so the gradient rests on z."""
    spec = {**SPEC_Q1, "forward": {**SPEC_Q1["forward"], "h1": "relu(z1)"}}
    p = load_set(spec).problems[0]
    assert isinstance(p, NetworkProblem)
    key = solve(p, {})
    written = {"z1": key.value(p.quantities["z1"]), "dL/dh1": key.value(p.quantities["dL/dh1"])}
    out = carry(p, solve(p, {}, written), dict.fromkeys(written, 0.0), lambda x: 0.0, {"dL/dw1"})
    assert out.footing["dL/dw1"] & 1  # bit 0: z1
