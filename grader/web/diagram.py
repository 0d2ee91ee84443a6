"""Draw a network problem as SVG: inputs, neurons with their activations, edges labelled with weights, the loss.

Columns are the longest path from the inputs. A node ``h = f(z)`` whose ``z`` feeds nothing else is
drawn as one neuron (``z1 → h1``, ``tanh``), so both hand-written DAGs and the layer form look like
the networks of a textbook. Each edge is labelled with the parameter that multiplies its source in
the target's weighted sum, and that parameter's value in the student's variant. Biases are written
inside their neuron. The SVG carries a ``<title>`` and a text description for screen readers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape

from grader.expr.nodes import BinOp, Call, Expr, Sym, free_symbols, walk
from grader.problemset.model import NetworkProblem

COLUMN = 230
ROW = 92
RADIUS = 36
MARGIN = 60


@dataclass
class _Node:
    key: str  # the node drawn (the activation's name for a merged neuron)
    label: str
    detail: str  # activation or operation
    kind: str  # input, neuron, loss, target
    inner: str | None = None  # the merged pre-activation
    bias: list[str] = field(default_factory=list)
    column: int = 0
    row: int = 0


def _weight_of(expr: Expr, source: str, params: set[str]) -> str | None:
    """The parameter that multiplies ``source`` in ``expr`` (``w1*x1`` or ``x1*w1``), if any."""
    for sub in walk(expr):
        if isinstance(sub, BinOp) and sub.op == "*":
            a, b = sub.left, sub.right
            if isinstance(a, Sym) and isinstance(b, Sym):
                if a.name in params and b.name == source:
                    return a.name
                if b.name in params and a.name == source:
                    return b.name
    return None


def _biases(expr: Expr, params: set[str]) -> list[str]:
    """Parameters added on their own in a sum (``... + b1``)."""
    out = []
    for sub in walk(expr):
        if isinstance(sub, BinOp) and sub.op in "+-":
            for side in (sub.left, sub.right):
                if isinstance(side, Sym) and side.name in params:
                    out.append(side.name)
    return out


def _operation(expr: Expr) -> str:
    if isinstance(expr, Call):
        return "σ" if expr.func == "sigmoid" else expr.func
    if (isinstance(expr, BinOp) and expr.op in "+-") or any(isinstance(s, BinOp) and s.op == "+" for s in walk(expr)):
        return "Σ"
    return ""


def _layout(problem: NetworkProblem) -> tuple[dict[str, _Node], list[tuple[str, str, str | None]]]:
    params = set(problem.params)
    forward = problem.forward
    users: dict[str, list[str]] = {}
    for name in problem.order:
        for dep in free_symbols(forward[name]):
            users.setdefault(dep, []).append(name)
    merged: dict[str, str] = {}  # pre-activation -> activation node
    softmax_group: dict[str, tuple[str, ...]] = {}  # softmax output -> its logits
    for name in problem.order:
        expr = forward[name]
        if isinstance(expr, Call) and expr.func == "softmax" and all(isinstance(a, Sym) for a in expr.args):
            softmax_group[name] = tuple(a.name for a in expr.args[1:] if isinstance(a, Sym))
    for name in problem.order:
        expr = forward[name]
        if isinstance(expr, Call) and expr.args and isinstance(expr.args[0], Sym) and name != problem.loss:
            z = expr.args[0].name
            only_here = users.get(z) == [name]
            if name in softmax_group:  # z feeds every output of its softmax: it is this output's own logit
                only_here = all(u in softmax_group and softmax_group[u] == softmax_group[name]
                                for u in users.get(z, []))
            if z in forward and only_here:
                merged[z] = name
    drawn: dict[str, _Node] = {}
    for g in problem.given:
        if g in users:
            kind = "target" if all(u == problem.loss for u in users[g]) else "input"
            drawn[g] = _Node(g, g, "", kind)
    for name in problem.order:
        if name in merged:
            continue
        inner = next((z for z, a in merged.items() if a == name), None)
        expr = forward[name]
        kind = "loss" if name == problem.loss else "neuron"
        label = f"{inner} → {name}" if inner else name
        node = _Node(name, label, "loss" if kind == "loss" else _operation(expr), kind, inner)
        node.bias = _biases(forward[inner] if inner else expr, params)
        drawn[name] = node
    edges: list[tuple[str, str, str | None]] = []
    for node in drawn.values():
        if node.kind in ("input", "target"):
            continue
        exprs = [forward[node.inner]] if node.inner else []
        exprs.append(forward[node.key])
        sources: list[str] = []
        for expr in exprs:
            for dep in sorted(free_symbols(expr)):
                if dep in drawn and dep != node.key and dep != node.inner and dep not in sources:
                    sources.append(dep)
                elif (dep in merged and merged[dep] != node.key and merged[dep] not in sources
                      and node.key not in softmax_group):  # a softmax's siblings are not its inputs
                    sources.append(merged[dep])
        for src in sources:
            weight = None
            for expr in exprs:
                weight = weight or _weight_of(expr, src, params)
                if weight is None and drawn[src].inner is not None:
                    weight = _weight_of(expr, src, params)
            edges.append((src, node.key, weight))
    column: dict[str, int] = {}
    for key in drawn:  # drawn is in topological order after the givens
        preds = [s for s, t, _ in edges if t == key]
        column[key] = 1 + max((column[p] for p in preds), default=-1) if preds else 0
    targets = [s for s, _, _ in edges if drawn[s].kind == "target"]
    for s, t, _ in edges:  # a target stands above the loss; several stand in a column of their own after it
        if drawn[s].kind == "target":
            column[s] = column[t] + (1 if len(targets) > 1 else 0)
    rows: dict[int, int] = {}
    for key, node in drawn.items():
        node.column = column[key]
        node.row = rows.get(node.column, 0)
        rows[node.column] = node.row + 1
    return drawn, edges


@dataclass
class _Box:
    left: float
    top: float
    right: float
    bottom: float

    def overlap(self, other: _Box) -> float:
        w = min(self.right, other.right) - max(self.left, other.left)
        h = min(self.bottom, other.bottom) - max(self.top, other.top)
        return w * h if w > 0 and h > 0 else 0.0


CHAR_WIDTH = 7.2  # of the 12 px label font, generously
#: where along an edge a label may stand, in order of preference (near the source reads as "this input's weight")
SPOTS = (0.25, 0.42, 0.15, 0.58, 0.33, 0.7, 0.5)


def _place(text: str, start: tuple[float, float], end: tuple[float, float], taken: list[_Box]) -> tuple[float, float]:
    """The first spot along the edge where the label overlaps nothing placed yet (else the least crowded one)."""
    half = len(text) * CHAR_WIDTH / 2
    best: tuple[float, float, _Box] | None = None
    for at in SPOTS:
        x = start[0] + (end[0] - start[0]) * at
        y = start[1] + (end[1] - start[1]) * at - 4
        box = _Box(x - half - 3, y - 13, x + half + 3, y + 5)  # with a little room around the text
        crowding = sum(box.overlap(other) for other in taken)
        if best is None or crowding < best[0]:
            best = (crowding, at, box)
        if crowding == 0:
            break
    assert best is not None
    taken.append(best[2])
    box = best[2]
    return (box.left + box.right) / 2, box.bottom - 5


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def network_svg(problem: NetworkProblem, values: Mapping[str, float], title: str | None = None,
                ident: str = "net") -> str:
    """The SVG of ``problem`` with this variant's ``values`` (givens and parameters by name).

    ``ident`` prefixes the ids inside the SVG, so that several drawings can share one page.
    """
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", ident):
        raise ValueError(f"ident must be a letter then letters, digits, - or _, not {ident!r}")
    drawn, edges = _layout(problem)
    height_rows = max((n.row for n in drawn.values()), default=0) + 1
    columns = max((n.column for n in drawn.values()), default=0) + 1
    width = 2 * MARGIN + (columns - 1) * COLUMN + 2 * RADIUS + 40
    height = 2 * MARGIN + (height_rows - 1) * ROW + 30
    offset = {c: (height_rows - sum(1 for n in drawn.values() if n.column == c)) * ROW / 2 for c in range(columns)}

    def pos(n: _Node) -> tuple[float, float]:
        return MARGIN + RADIUS + n.column * COLUMN, MARGIN + offset[n.column] + n.row * ROW

    heading = title or f"Network of problem {problem.id}"
    description = _describe(problem, drawn, edges, values)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
           f'width="{width:.0f}" height="{height:.0f}" role="img" aria-labelledby="{ident}-title {ident}-desc" '
           f'class="network">',
           f'<title id="{ident}-title">{escape(heading)}</title>',
           f'<desc id="{ident}-desc">{escape(description)}</desc>',
           f'<defs><marker id="{ident}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>']
    crowd: dict[tuple[int, int], int] = {}
    for src, dst, _ in edges:
        pair = (drawn[src].column, drawn[dst].column)
        crowd[pair] = crowd.get(pair, 0) + 1
    # labels avoid the nodes and each other: each takes the first free place along its edge
    taken = [_Box(x - RADIUS, y - RADIUS, x + RADIUS, y + RADIUS + 18) for x, y in map(pos, drawn.values())]
    labels = []
    for src, dst, weight in edges:
        (x1, y1), (x2, y2) = pos(drawn[src]), pos(drawn[dst])
        dx, dy = x2 - x1, y2 - y1
        length = max((dx * dx + dy * dy) ** 0.5, 1.0)
        sx, sy = x1 + dx / length * RADIUS, y1 + dy / length * RADIUS
        ex, ey = x2 - dx / length * RADIUS, y2 - dy / length * RADIUS
        out.append(f'<line x1="{sx:.1f}" y1="{sy:.1f}" x2="{ex:.1f}" y2="{ey:.1f}" class="edge" '
                   f'stroke="#555" stroke-width="1.4" marker-end="url(#{ident}-arrow)"/>')
        if weight:
            dense = crowd[(drawn[src].column, drawn[dst].column)] > 4  # name only: the values are listed
            text = f"{weight} = {_fmt(values[weight])}" if weight in values and not dense else weight
            lx, ly = _place(text, (sx, sy), (ex, ey), taken)
            labels.append(f'<text x="{lx:.1f}" y="{ly:.1f}" class="weight" font-size="12" text-anchor="middle" '
                          f'paint-order="stroke" stroke="#fff" stroke-width="3" fill="#1a4d8f">{escape(text)}</text>')
    out.extend(labels)
    for node in drawn.values():
        x, y = pos(node)
        fill = {"input": "#eef5ee", "target": "#f5f0e6", "loss": "#fbeaea"}.get(node.kind, "#eaf1fb")
        if node.kind == "loss":
            out.append(f'<rect x="{x - RADIUS:.1f}" y="{y - RADIUS:.1f}" width="{2 * RADIUS}" height="{2 * RADIUS}" '
                       f'rx="6" fill="{fill}" stroke="#333" class="node loss"/>')
        else:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{RADIUS}" fill="{fill}" stroke="#333" '
                       f'class="node {node.kind}"/>')
        size = 12 if len(node.label) <= 9 else 10
        out.append(f'<text x="{x:.1f}" y="{y - 3:.1f}" font-size="{size}" text-anchor="middle">'
                   f'{escape(node.label)}</text>')
        sub = node.detail
        if node.kind in ("input", "target") and node.key in values:
            sub = _fmt(values[node.key])
        if sub:
            out.append(f'<text x="{x:.1f}" y="{y + 13:.1f}" font-size="11" text-anchor="middle" '
                       f'fill="#444">{escape(sub)}</text>')
        if node.bias:
            text = ", ".join(f"{b} = {_fmt(values[b])}" if b in values else b for b in node.bias)
            out.append(f'<text x="{x:.1f}" y="{y + RADIUS + 14:.1f}" font-size="11" text-anchor="middle" '
                       f'fill="#7a3b00">+ {escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _describe(problem: NetworkProblem, drawn: dict[str, _Node], edges: list[tuple[str, str, str | None]],
              values: Mapping[str, float]) -> str:
    parts = []
    for kind, heading in (("input", "Inputs"), ("target", "Targets")):
        keys = [n.key for n in drawn.values() if n.kind == kind]
        if keys:
            listed = ", ".join(f"{k} = {_fmt(values[k])}" if k in values else k for k in keys)
            parts.append(f"{heading} {listed}.")
    for node in drawn.values():
        if node.kind in ("neuron", "loss"):
            into = [f"{s}" + (f" (weight {w} = {_fmt(values[w])})" if w and w in values else "")
                    for s, t, w in edges if t == node.key]
            what = f"{node.label}" + (f" ({node.detail})" if node.detail else "")
            parts.append(f"{what} takes " + ", ".join(into) + ".")
    return " ".join(parts)
