"""Imported by the problem-set loader's fork server only: it loads one small set, so that every child the
server forks starts with the loader's imports and caches in place (a load then costs what it costs in the
API process, tens of milliseconds, instead of doing that first-time work again in each child)."""

from __future__ import annotations

import logging

from grader.service.setload import check_and_summarize

WARM_UP = """\
id: warm-up
title: Loaded once by the fork server
problems:
  - id: net
    kind: network
    given: {x: 1.0, y: 1.0}
    params: {w: {uniform: [-1, 1], decimals: 1}, b: 0.1}
    forward: {z: w*x + b, p: sigmoid(z), L: 0.5*(p - y)^2}
    loss: L
    learning_rate: 0.1
    ask: [z, p, L, dL/dw, next.w]
  - id: layers
    kind: network
    inputs: {x1: 1.0, x2: 0.5}
    targets: {y: 1.0}
    layers:
      - {weights: [[0.2, -0.4], [0.5, 0.3]], biases: [0.1, -0.1], activation: tanh}
      - {weights: [[0.7, -0.6]], biases: [0.2], activation: sigmoid}
    loss: squared_error
    ask: [L, dL/dw1_11]
  - id: formula
    kind: expression
    variables: {x: real}
    answer: diff(sigmoid(x)*tanh(x), x)
"""


def warm_up() -> None:
    try:
        check_and_summarize(WARM_UP, "warm-up")
    except Exception:  # a cold start is slower, not wrong: the fork server must start regardless
        logging.getLogger(__name__).exception("the problem-set loader's warm-up failed")


warm_up()
