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


def wide_set(units: int = 300, layers: int = 3) -> str:
    """A few hundred bytes describing ``layers`` layers of ``units`` units (minutes to load in full)."""
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
    with pytest.raises(SetLoadRefused, match=r"took longer than 1\.5 s, the limit \(GRADER_SET_LOAD_SECONDS\)"):
        load_summary(text, "wide.yaml", LoadLimits(seconds=1.5, memory_mb=1024))
    assert time.monotonic() - start < 1.5 + 2.0  # the bound, plus starting and stopping the child


def test_a_set_that_needs_too_much_memory_is_stopped_at_the_memory_bound() -> None:
    text = wide_set(units=1_000_000, layers=1)
    start = time.monotonic()
    with pytest.raises(SetLoadRefused) as caught:
        load_summary(text, "wide.yaml", LoadLimits(seconds=30.0, memory_mb=120))
    # the address-space limit stops it first; if the loader refuses the width on its own, that is as good
    assert "120 MiB" in str(caught.value) or "stopped" in str(caught.value)
    assert time.monotonic() - start < 30.0


def test_a_file_whose_shown_text_cannot_be_encoded_is_refused() -> None:
    text = (PROBLEMS / "dense-321.yaml").read_text(encoding="utf-8").replace(
        "title: A 3-2-1 sigmoid network, in layer form", 'title: "A \\ud800 network"')
    with pytest.raises(ProblemSetError, match="U\\+D800"):
        load_summary(text, "dense.yaml", LIMITS)
