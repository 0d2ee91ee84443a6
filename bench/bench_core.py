"""Benchmark of the grading core: answer keys per second and graded submissions per second.

Run: ``python bench/bench_core.py [--seconds S]``. Prints
- keys per second for a 3-2-1 sigmoid network and for a 10-layer tanh network (a key is the whole
  forward pass, every gradient, one descent step and the forward pass again);
- where PyTorch is installed, the time torch.autograd takes for the same 3-2-1 gradients in this
  run, and the ratio;
- graded submissions per second for a 30-quantity problem, follow-through and mistake search
  included, on realistic submissions (clean, carried slips, named mistakes), on one core.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from grader.grading.answers import Answers
from grader.grading.grade import grade
from grader.grading.mistakes import mistakes_for
from grader.problemset.loader import load_problem_set
from grader.problemset.model import NetworkProblem, ProblemSet
from grader.solver.world import solve

NET_321 = """
id: bench-321
problems:
  - id: net
    inputs: {x1: 1.0, x2: 0.5, x3: -1.0}
    targets: {y: 1.0}
    layers:
      - weights: [[0.2, -0.4, 0.1], [0.5, 0.3, -0.2]]
        biases: [0.1, -0.1]
        activation: sigmoid
      - weights: [[0.7, -0.6]]
        biases: [0.2]
        activation: sigmoid
    loss: squared_error
    learning_rate: 0.5
    ask: [z1_1, z1_2, a1_1, a1_2, z2_1, a2_1, L,
          dL/da2_1, dL/dz2_1, dL/da1_1, dL/da1_2, dL/dz1_1, dL/dz1_2,
          dL/dw2_11, dL/dw2_12, dL/db2_1, dL/dw1_11, dL/dw1_12, dL/dw1_13, dL/db1_1,
          dL/dw1_21, dL/dw1_22, dL/dw1_23, dL/db1_2,
          next.w2_11, next.w2_12, next.b2_1, next.w1_11, next.w1_21, next.L]
"""


def deep_network(layers: int = 10, width: int = 3) -> str:
    rng = random.Random(7)
    lines = ["id: bench-deep", "problems:", "  - id: net", "    inputs: {x1: 0.5, x2: -1.0, x3: 2.0}",
             "    targets: {y: 1.0}", "    layers:"]
    previous = 3
    for index in range(layers):
        units = 1 if index == layers - 1 else width
        weights = [[round(rng.uniform(-1, 1), 2) for _ in range(previous)] for _ in range(units)]
        biases = [round(rng.uniform(-0.5, 0.5), 2) for _ in range(units)]
        activation = "sigmoid" if index == layers - 1 else "tanh"
        lines += [f"      - weights: {weights}", f"        biases: {biases}", f"        activation: {activation}"]
        previous = units
    lines += ["    loss: binary_cross_entropy", "    learning_rate: 0.1"]
    return "\n".join(lines) + "\n"


def per_second(fn: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Calls per second (best of 5 batches) and the median time per call in microseconds."""
    fn()
    n = 1
    while True:  # size a batch to ~seconds/5
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed > seconds / 5 or n > 10**7:
            break
        n *= 2
    rates = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        rates.append(n / (time.perf_counter() - start))
    best = max(rates)
    return best, 1e6 / statistics.median(rates)


def key_fn(problem: NetworkProblem, with_next: bool = True) -> Callable[[], object]:
    return lambda: solve(problem, {}, with_next=with_next)


def torch_321(seconds: float) -> float | None:
    """Median microseconds for torch.autograd to compute the 3-2-1 gradients, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    x = torch.tensor([1.0, 0.5, -1.0], dtype=torch.float64)
    y = torch.tensor(1.0, dtype=torch.float64)
    w1_init = torch.tensor([[0.2, -0.4, 0.1], [0.5, 0.3, -0.2]], dtype=torch.float64)
    b1_init = torch.tensor([0.1, -0.1], dtype=torch.float64)
    w2_init = torch.tensor([[0.7, -0.6]], dtype=torch.float64)
    b2_init = torch.tensor([0.2], dtype=torch.float64)

    def run() -> object:
        w1 = w1_init.clone().requires_grad_(True)
        b1 = b1_init.clone().requires_grad_(True)
        w2 = w2_init.clone().requires_grad_(True)
        b2 = b2_init.clone().requires_grad_(True)
        a1 = torch.sigmoid(w1 @ x + b1)
        a2 = torch.sigmoid(w2 @ a1 + b2)
        loss = ((y - a2) ** 2).sum()
        return torch.autograd.grad(loss, (w1, b1, w2, b2))

    _, micros = per_second(run, seconds)
    return micros


def submissions(ps: ProblemSet, count: int, seed: int = 1) -> list[Answers]:
    """Realistic answers files: clean and rounded, a slip carried forward, or a named mistake."""
    problem = ps.problems[0]
    assert isinstance(problem, NetworkProblem)
    rng = random.Random(seed)
    key = solve(problem, {})
    mistakes = [m for m in mistakes_for(problem) if m.forward_hook or m.backward_hook or m.update]
    value_qs = [q for q in problem.ask if q.kind == "value"]
    out = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.4:
            world = key
        elif roll < 0.7:
            q = rng.choice(value_qs)
            world = solve(problem, {}, {q.name: key.value(q) * 1.1 + 0.05})
            world.recorded.pop(q.name, None)
            world.recorded[q.name] = key.value(q) * 1.1 + 0.05
        else:
            m = rng.choice(mistakes)
            world = solve(problem, {}, forward_hook=m.forward_hook, backward_hook=m.backward_hook,
                          update=m.update or (lambda w, eta, g: w - eta * g))
        answers: dict[str, Any] = {}
        for q in problem.ask:
            if rng.random() < 0.03:
                continue  # left blank
            answers[q.name] = float(f"{world.value(q):.4g}")
        out.append(Answers(ps.id, f"s{i}", {problem.id: answers}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--submissions", type=int, default=3000)
    args = parser.parse_args()

    small = load_problem_set(NET_321, "bench-321")
    deep = load_problem_set(deep_network(), "bench-deep")
    p321, pdeep = small.problems[0], deep.problems[0]
    assert isinstance(p321, NetworkProblem) and isinstance(pdeep, NetworkProblem)

    rate, micros = per_second(key_fn(p321), args.seconds)
    print(f"3-2-1 network: {rate:,.0f} keys/s ({micros:.1f} us per key: forward, every gradient, "
          f"one step, forward again)")
    grad_rate, grad_micros = per_second(key_fn(p321, with_next=False), args.seconds)
    print(f"3-2-1 network, gradients only: {grad_rate:,.0f}/s ({grad_micros:.1f} us)")
    adam = load_problem_set(NET_321.replace("learning_rate: 0.5", "optimizer: {adam: {lr: 0.01}}\n    steps: 3")
                            .replace("next.L]", "next.L, step3.w2_11, step3.L]"), "bench-adam").problems[0]
    batched = load_problem_set(NET_321.replace("inputs: {x1: 1.0, x2: 0.5, x3: -1.0}",
                                             "inputs: {x1: [1.0, 0.3, -0.2, 0.8], x2: [0.5, -1.0, 0.4, 0.1], "
                                             "x3: [-1.0, 0.2, 0.6, -0.5]}")
                             .replace("targets: {y: 1.0}", "targets: {y: [1.0, 0.0, 1.0, 0.0]}")
                             .split("    ask:")[0], "bench-batch").problems[0]
    assert isinstance(adam, NetworkProblem) and isinstance(batched, NetworkProblem)
    adam_rate, adam_micros = per_second(key_fn(adam), args.seconds)
    print(f"3-2-1 network, 3 Adam steps: {adam_rate:,.0f} keys/s ({adam_micros:.1f} us per key)")
    batch_rate, batch_micros = per_second(key_fn(batched), args.seconds)
    print(f"3-2-1 network, a batch of 4 (mean): {batch_rate:,.0f} keys/s ({batch_micros:.1f} us per key)")
    torch_micros = torch_321(args.seconds)
    if torch_micros is None:
        print("torch.autograd: not installed, no comparison")
    else:
        print(f"torch.autograd, same 3-2-1 gradients: {torch_micros:.1f} us "
              f"-> whole key {torch_micros / micros:.1f}x faster, gradients {torch_micros / grad_micros:.1f}x faster")
    rate, micros = per_second(key_fn(pdeep), args.seconds)
    print(f"10-layer network ({len(pdeep.params)} parameters, {len(pdeep.order)} nodes): "
          f"{rate:,.0f} keys/s ({micros:.1f} us per key)")

    batch = submissions(small, args.submissions)
    grade(small, batch[0])
    start = time.process_time()
    wall = time.perf_counter()
    verdicts: dict[str, int] = {}
    named = 0
    for answers in batch:
        for part in grade(small, answers).problems[0].parts:
            verdicts[part.verdict.value] = verdicts.get(part.verdict.value, 0) + 1
            named += part.misconception is not None
    cpu = time.process_time() - start
    elapsed = time.perf_counter() - wall
    print(f"grading: {len(batch) / cpu:,.0f} submissions/s on one core ({len(p321.ask)} quantities each, "
          f"{len(batch)} submissions, {elapsed:.2f} s wall)")
    print("  verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())) + f"; named mistakes {named}")


if __name__ == "__main__":
    main()
