"""The common optimizers, one parameter at a time, computing what ``torch.optim`` computes.

Each optimizer keeps up to two numbers of state per parameter: ``m`` (momentum's velocity, Adam's
first moment) and ``v`` (RMSprop's and Adam's second moment, Adagrad's sum of squares). A step takes
the parameter, its gradient, the state and the step number ``t`` (1 for the first update) and gives
the updated parameter and state. The arithmetic follows torch's own order of operations (its
single-tensor, non-fused implementations), so the numbers agree to rounding.

Hyper-parameters and their defaults are torch's: ``lr`` (SGD and Adam 1e-3, RMSprop and Adagrad 1e-2),
``beta`` (momentum, required for momentum and nesterov), ``alpha`` 0.99 and ``eps`` 1e-8 (RMSprop),
``eps`` 1e-10 (Adagrad), ``beta1`` 0.9, ``beta2`` 0.999, ``eps`` 1e-8 (Adam and AdamW), and
``weight_decay`` (0; AdamW 1e-2), which every optimizer but AdamW adds to the gradient as
``g + weight_decay*w`` and AdamW applies to the weight, decoupled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

KINDS = ("sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw")

#: each kind's hyper-parameters and torch's defaults (None: required)
HYPER: dict[str, dict[str, float | None]] = {
    "sgd": {"lr": 1e-3, "weight_decay": 0.0},
    "momentum": {"lr": 1e-3, "beta": None, "weight_decay": 0.0},
    "nesterov": {"lr": 1e-3, "beta": None, "weight_decay": 0.0},
    "rmsprop": {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0},
    "adagrad": {"lr": 1e-2, "eps": 1e-10, "weight_decay": 0.0},
    "adam": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
    "adamw": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 1e-2},
}

#: which state each kind keeps
STATE: dict[str, tuple[str, ...]] = {
    "sgd": (), "momentum": ("m",), "nesterov": ("m",), "rmsprop": ("v",), "adagrad": ("v",),
    "adam": ("m", "v"), "adamw": ("m", "v"),
}


@dataclass(frozen=True)
class Optimizer:
    kind: str = "sgd"
    lr: float = 1e-3
    beta: float = 0.0
    alpha: float = 0.99
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0

    @property
    def state(self) -> tuple[str, ...]:
        return STATE[self.kind]

    def describe(self) -> str:
        names = [k for k in HYPER[self.kind] if k != "weight_decay" or self.weight_decay]
        return f"{self.kind}(" + ", ".join(f"{k}={getattr(self, k):g}" for k in names) + ")"

    def step(self, w: float, g: float, m: float, v: float, t: int) -> tuple[float, float, float]:
        """``(w, m, v)`` after update ``t`` (1, 2, ...) from gradient ``g`` and the state before it."""
        kind, lr = self.kind, self.lr
        if kind == "adamw":
            w = w * (1 - lr * self.weight_decay)
        elif self.weight_decay:
            g = g + self.weight_decay * w
        if kind == "sgd":
            return w - lr * g, m, v
        if kind in ("momentum", "nesterov"):
            m = g if t == 1 else self.beta * m + g
            d = g + self.beta * m if kind == "nesterov" else m
            return w - lr * d, m, v
        if kind == "rmsprop":
            v = v * self.alpha + (1 - self.alpha) * g * g
            return w - lr * g / (_root(v) + self.eps), m, v
        if kind == "adagrad":
            v = v + g * g
            return w - lr * g / (_root(v) + self.eps), m, v
        # adam, adamw
        m = m + (g - m) * (1 - self.beta1)
        v = v * self.beta2 + (1 - self.beta2) * g * g
        correction1 = 1 - self.beta1**t
        correction2 = 1 - self.beta2**t
        denominator = _root(v) / math.sqrt(correction2) + self.eps
        return w - (lr / correction1) * (m / denominator), m, v


def _root(v: float) -> float:
    """The square root of a second moment; NaN for a negative one (a student's own value may be)."""
    return math.sqrt(v) if v >= 0 else math.nan


def sgd(lr: float) -> Optimizer:
    """``learning_rate: lr``: plain gradient descent."""
    return Optimizer("sgd", lr)
