"""Templates and static files, both shipped inside the package: nothing is loaded from elsewhere.

Jinja2 escapes every value put into a page. The only markup passed through unescaped is what this
package builds itself, already escaped: the network SVG and MathML (``Markup`` in the routes).
"""

from __future__ import annotations

import math
from datetime import datetime
from importlib.resources import files
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from grader.expr import ExpressionError, read_answer
from grader.expr.mathml import MathMLError, to_mathml
from grader.service.text import utf8

VERDICTS = {
    # verdict: (word shown, symbol shown beside it, CSS class giving its colour)
    "correct": ("Correct", "✓", "ok"),
    "follow_through": ("Follow-through", "↪", "carried"),
    "incorrect": ("Incorrect", "✗", "bad"),
    "missing": ("Missing", "–", "none"),
    "invalid": ("Unreadable", "!", "bad"),
    "undecided": ("Undecided", "?", "flag"),
}

STATIC = {
    "style.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


def _number(value: Any) -> str:
    """A number as results show it: up to six significant figures, no float noise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.6g}"


def _score(value: float | None) -> str:
    return "–" if value is None else f"{round(value, 4):g}"


def _points(value: float) -> str:
    return f"{_score(value)} point" + ("" if value == 1 else "s")


def _percent(value: float) -> str:
    return f"{100 * value:.0f} %"


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _humane(name: str) -> str:
    """``bias_omitted`` as "bias omitted"."""
    return name.replace("_", " ")


def formula(text: str, symbols: Any = None) -> Markup:
    """A formula written by the service itself (a key, a forward pass) as MathML, or as plain text."""
    try:
        return Markup(to_mathml(read_answer(text, symbols), display="inline"))
    except (ExpressionError, MathMLError):
        return Markup("<code>{}</code>").format(text)


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("grader.web", "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(number=_number, score=_score, points=_points, percent=_percent, when=_when, humane=_humane)
    env.globals.update(verdicts=VERDICTS)
    return env


ENV = _environment()


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the signed-in user (if any) and their form value.

    Encoded so that it cannot fail: a lone surrogate stored before it was refused shows as U+FFFD.
    """
    page = ENV.get_template(template).render(
        user=getattr(request.state, "user", None), csrf=getattr(request.state, "csrf", ""),
        path=request.url.path, **context)
    return HTMLResponse(utf8(page), status_code=status)


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    titles = {401: "Sign in first", 403: "Not allowed", 404: "Not found", 409: "Conflict", 413: "Too large",
              422: "Cannot use this", 503: "Unavailable"}
    return render(request, "error.html", status=status, title=titles.get(status, "Something went wrong"),
                  message=message, code=status)


def static_file(name: str) -> Response:
    """One of the package's static files, by its exact name (nothing else can be asked for)."""
    kind = STATIC.get(name)
    if kind is None:
        return Response("no such file", status_code=404, media_type="text/plain")
    body = (files("grader.web") / "static" / name).read_bytes()
    return Response(body, media_type=kind, headers={"Cache-Control": "public, max-age=300",
                                                    "X-Content-Type-Options": "nosniff"})
