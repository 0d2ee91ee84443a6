"""The optimizers compute what torch.optim computes: hand-checked values, and torch itself where installed."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from grader.solver.optimizers import HYPER, KINDS, Optimizer

GRADS = [0.3, -0.2, 0.05]  # the gradient at each of three steps


def run(opt: Optimizer, w: float, grads: list[float]) -> list[tuple[float, float, float]]:
    out, m, v = [], 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        w, m, v = opt.step(w, g, m, v, t)
        out.append((w, m, v))
    return out


def test_sgd_by_hand() -> None:
    assert [round(w, 12) for w, _, _ in run(Optimizer("sgd", 0.1), 0.5, GRADS)] == [0.47, 0.49, 0.485]


def test_momentum_by_hand() -> None:
    # torch's buffer starts at the first gradient, then buf = beta*buf + g
    steps = run(Optimizer("momentum", 0.1, beta=0.9), 0.5, GRADS)
    assert [round(m, 12) for _, m, _ in steps] == [0.3, 0.07, 0.113]
    assert math.isclose(steps[-1][0], 0.5 - 0.1 * (0.3 + 0.07 + 0.113))


def test_nesterov_by_hand() -> None:
    w, m, _ = Optimizer("nesterov", 0.1, beta=0.9).step(0.5, 0.3, 0.0, 0.0, 1)
    assert math.isclose(m, 0.3) and math.isclose(w, 0.5 - 0.1 * (0.3 + 0.9 * 0.3))


def test_adam_by_hand() -> None:
    # the first Adam step moves every weight by lr (times sign), whatever the gradient's size
    w, m, v = Optimizer("adam", 0.01).step(0.5, 0.3, 0.0, 0.0, 1)
    assert math.isclose(m, 0.03) and math.isclose(v, 0.001 * 0.09)
    assert math.isclose(w, 0.5 - 0.01 * 0.3 / (0.3 + 1e-8), rel_tol=1e-12)


def test_adamw_decays_the_weight_itself() -> None:
    w, _, _ = Optimizer("adamw", 0.01, weight_decay=0.1).step(0.5, 0.3, 0.0, 0.0, 1)
    assert math.isclose(w, 0.5 * (1 - 0.001) - 0.01 * 0.3 / (0.3 + 1e-8), rel_tol=1e-12)


def test_weight_decay_is_added_to_the_gradient() -> None:
    w, _, _ = Optimizer("sgd", 0.1, weight_decay=0.2).step(0.5, 0.3, 0.0, 0.0, 1)
    assert math.isclose(w, 0.5 - 0.1 * (0.3 + 0.2 * 0.5))


def test_rmsprop_and_adagrad_by_hand() -> None:
    w, _, v = Optimizer("rmsprop", 0.01, alpha=0.99, eps=1e-8).step(0.5, 0.3, 0.0, 0.0, 1)
    assert math.isclose(v, 0.01 * 0.09) and math.isclose(w, 0.5 - 0.01 * 0.3 / (math.sqrt(0.0009) + 1e-8))
    w, _, v = Optimizer("adagrad", 0.01, eps=1e-10).step(0.5, 0.3, 0.0, 0.0, 1)
    assert math.isclose(v, 0.09) and math.isclose(w, 0.5 - 0.01 * 0.3 / (0.3 + 1e-10))


def torch_optimizer(torch: Any, opt: Optimizer, param: Any) -> Any:
    o = torch.optim
    if opt.kind == "sgd":
        return o.SGD([param], lr=opt.lr, weight_decay=opt.weight_decay)
    if opt.kind in ("momentum", "nesterov"):
        return o.SGD([param], lr=opt.lr, momentum=opt.beta, nesterov=opt.kind == "nesterov",
                     weight_decay=opt.weight_decay)
    if opt.kind == "rmsprop":
        return o.RMSprop([param], lr=opt.lr, alpha=opt.alpha, eps=opt.eps, weight_decay=opt.weight_decay)
    if opt.kind == "adagrad":
        return o.Adagrad([param], lr=opt.lr, eps=opt.eps, weight_decay=opt.weight_decay)
    cls = o.Adam if opt.kind == "adam" else o.AdamW
    return cls([param], lr=opt.lr, betas=(opt.beta1, opt.beta2), eps=opt.eps, weight_decay=opt.weight_decay)


def torch_state(opt: Optimizer, state: dict[str, Any]) -> tuple[float, float]:
    m = state.get("momentum_buffer", state.get("exp_avg"))
    v = state.get("square_avg", state.get("sum", state.get("exp_avg_sq")))
    return (float(m) if m is not None else 0.0), (float(v) if v is not None else 0.0)


@pytest.mark.parametrize("kind", KINDS)
def test_every_optimizer_agrees_with_torch(kind: str) -> None:
    torch = pytest.importorskip("torch")
    rng = random.Random(kind)
    for _ in range(20):
        hyper = {k: (d if d is not None else 0.9) for k, d in HYPER[kind].items()}
        hyper["lr"] = rng.choice([0.001, 0.01, 0.1, 0.5])
        if rng.random() < 0.5:
            hyper["weight_decay"] = rng.choice([0.0, 0.01, 0.1])
        opt = Optimizer(kind, **hyper)  # type: ignore[arg-type]
        w0 = rng.uniform(-2, 2)
        grads = [rng.uniform(-1, 1) * 10 ** rng.randint(-4, 1) for _ in range(4)]
        param = torch.tensor([w0], dtype=torch.float64, requires_grad=True)
        reference = torch_optimizer(torch, opt, param)
        mine = run(opt, w0, grads)
        for (w, m, v), g in zip(mine, grads, strict=True):
            param.grad = torch.tensor([g], dtype=torch.float64)
            reference.step()
            tm, tv = torch_state(opt, reference.state[param])
            assert math.isclose(w, float(param.detach()), rel_tol=1e-12, abs_tol=1e-15), (opt, grads)
            assert math.isclose(m, tm, rel_tol=1e-12, abs_tol=1e-15) and math.isclose(v, tv, rel_tol=1e-12,
                                                                                         abs_tol=1e-18)
