"""grader.service.setload: problem sets read, checked and keyed in a child process bounded in time and memory."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from grader.problemset.source import ProblemSetError
from grader.service.setload import LoadLimits, SetLoadRefused, check_and_summarize, load_summary
from grader.service.setload_warm import WARM_UP
from tests.conftest import PROBLEMS

LIMITS = LoadLimits(seconds=10.0, memory_mb=1024)


def wide_set(units: int = 50, layers: int = 1) -> str:
    """A few hundred bytes describing ``layers`` layers of ``units`` units.

    The default is about as large a network as the loader accepts (docs/limits.md): it loads in a tenth
    of a second or so, which the tests of the bounds make slower than the bound by setting a small one.
    """
    layer = ("      - weights: {{uniform: [-1, 1], decimals: 2}}\n        biases: {{uniform: [-1, 1], decimals: 2}}\n"
             "        units: {}\n        activation: sigmoid\n")
    return ("id: wide-net\ntitle: Wide\nproblems:\n  - id: q1\n    kind: network\n    inputs: {x1: 1.0, x2: 0.5}\n"
            "    targets: {y: 1.0}\n    layers:\n" + layer.format(units) * layers + layer.format(1) +
            "    loss: squared_error\n    ask: [L]\n")


@pytest.mark.parametrize("path", sorted(p for p in PROBLEMS.glob("*.yaml") if not p.name.endswith(".answers.yaml")),
                         ids=lambda p: p.stem)
def test_every_real_set_loads_in_the_child_as_it_does_here(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert load_summary(text, path.name, LIMITS) == check_and_summarize(text, path.name)


def test_the_fork_servers_warm_up_set_loads() -> None:
    summary = check_and_summarize(WARM_UP, "warm-up")
    assert [p["kind"] for p in summary.problems] == ["network", "network", "expression"]


def test_a_broken_file_keeps_the_loaders_message_and_place() -> None:
    text = (PROBLEMS / "dense-321.yaml").read_text(encoding="utf-8").replace("activation: sigmoid", "activation: "
                                                                             "sigmoidd", 1)
    with pytest.raises(ProblemSetError) as caught:
        load_summary(text, "dense.yaml", LIMITS)
    with pytest.raises(ProblemSetError) as here:
        check_and_summarize(text, "dense.yaml")
    assert not isinstance(caught.value, SetLoadRefused)
    assert caught.value.as_dict() == here.value.as_dict()
    assert caught.value.line is not None and caught.value.problem == "forward-backward"


def test_a_slow_set_is_stopped_at_the_time_bound() -> None:
    text = wide_set()
    assert len(text.encode()) < 800
    start = time.monotonic()
    with pytest.raises(SetLoadRefused, match=r"took longer than 0\.01 s, the limit \(GRADER_SET_LOAD_SECONDS\)"):
        load_summary(text, "wide.yaml", LoadLimits(seconds=0.01, memory_mb=1024))
    assert time.monotonic() - start < 0.01 + 2.0  # the bound, plus starting and stopping the child
    assert load_summary(text, "wide.yaml", LIMITS).problems  # and it loads under the usual bound


def test_a_huge_declared_layer_is_refused_by_the_loader_at_once() -> None:
    # What used to exhaust memory (a million units) is refused from its declared size before anything is
    # built; the child's address-space bound (GRADER_SET_LOAD_MEMORY_MB) stays as a backstop behind it.
    start = time.monotonic()
    with pytest.raises(ProblemSetError) as caught:
        load_summary(wide_set(units=1_000_000), "wide.yaml", LIMITS)
    assert not isinstance(caught.value, SetLoadRefused)
    assert caught.value.field == "layers.0.units" and "1,000,000 units" in caught.value.message
    assert time.monotonic() - start < 2.0


def test_a_file_whose_shown_text_cannot_be_encoded_is_refused() -> None:
    text = (PROBLEMS / "dense-321.yaml").read_text(encoding="utf-8").replace(
        "title: A 3-2-1 sigmoid network, in layer form", 'title: "A \\ud800 network"')
    with pytest.raises(ProblemSetError, match="lone UTF-16 surrogate"):
        load_summary(text, "dense.yaml", LIMITS)
