"""Every error as one JSON schema (``ErrorOut``): ``{"detail": message, ...where}`` with the status that fits.

The handlers here cover the service's own refusals, broken files, FastAPI's validation errors, Starlette's
404 and 405 (whose ``Allow`` lists every method the path has), and anything unexpected (500). Responses
go out through ``SafeJSONResponse``, which cannot fail on a string UTF-8 cannot encode.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grader.problemset.source import InputError
from grader.service.errors import ServiceError, TooManyRequests
from grader.service.text import utf8, valid_text

from .schemas import ErrorOut

log = logging.getLogger(__name__)

#: the order methods are listed in an ``Allow`` header
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class SafeJSONResponse(JSONResponse):
    """JSON as Starlette writes it, except that a lone surrogate becomes U+FFFD instead of failing the response."""

    def render(self, content: Any) -> bytes:
        return utf8(json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")))


#: what each error status means, for the API's description
STATUS_MEANING = {
    400: "The request is malformed (e.g. a Content-Length that is not a number).",
    401: "No token, or a token that is not valid.",
    403: "Not yours, or not your role.",
    404: "No such set, problem, user, submission or job, or no such endpoint.",
    409: "A conflict: the set exists already, or another upload of it was stored at the same time.",
    413: "The request body, or what it would store, is too large.",
    422: "A broken file, or invalid parameters or body; `error` or `errors` say where.",
    429: "Too many requests: the set's hourly limit or this user's rate; `Retry-After` (and `retry_after`) "
         "says how many seconds to wait.",
    500: "The service failed; the error is logged.",
    503: "The database does not answer.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, each with the one error schema."""
    return {code: {"model": ErrorOut, "description": STATUS_MEANING[code]} for code in codes}


#: the errors any API operation may answer
API_ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 500)


def error_body(detail: str, **where: Any) -> dict[str, Any]:
    """An ``ErrorOut`` as a dict, absent parts left out (checked against the schema as it is built)."""
    body = ErrorOut(detail=valid_text(detail), **where).model_dump(mode="json")
    if body.get("problems"):  # each entry has a line (a roster) or an index (a list), not both
        body["problems"] = [{k: v for k, v in p.items() if v is not None} for p in body["problems"]]
    return {k: v for k, v in body.items() if v is not None}


def error_response(status: int, detail: str, *, headers: dict[str, str] | None = None, **where: Any) \
        -> SafeJSONResponse:
    return SafeJSONResponse(error_body(detail, **where), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, f"the service failed on this request ({type(exc).__name__}); the error is logged")


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return SafeJSONResponse(error_body(**exc.as_dict()), status_code=exc.status, headers=error_headers(exc))


def error_headers(exc: ServiceError) -> dict[str, str] | None:
    """The headers an error's status calls for: a challenge with 401, the wait with 429."""
    if exc.status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, TooManyRequests):
        return {"Retry-After": str(exc.retry_after)}
    return None


async def _input_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputError)
    return error_response(422, str(exc), error=exc.as_dict())


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    messages = [f"{_where(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors]
    clean = [{"loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
              "msg": str(e.get("msg", "invalid")), "type": str(e.get("type", "invalid"))} for e in errors]
    return error_response(422, "; ".join(messages) or "invalid request", errors=clean)


def _where(loc: Any) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        kind = {"body": "body field", "query": "query parameter", "path": "path parameter", "header": "header",
                "cookie": "cookie"}
        return f"{kind[parts[0]]} {'.'.join(parts[1:])!r}" if len(parts) > 1 else f"the {parts[0]}"
    return ".".join(parts) or "request"


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and detail == "Not Found":
        detail = "no such endpoint; the API is described at /openapi.json"
    elif exc.status_code == 405:
        allowed = allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        detail = (f"{request.method} is not allowed here (allowed: {', '.join(allowed)}); the API is described "
                  "at /openapi.json")
    return error_response(exc.status_code, detail, headers=headers or None)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on this request's path.

    Starlette's own 405 names the methods of the first route whose path matches, but FastAPI makes one
    route per method (GET and PUT of /sets/{id} are two): each method is tried against every route.
    """
    allowed = []
    for method in METHOD_ORDER:
        scope = {**request.scope, "type": "http", "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


class ValidAddress:
    """Refuse a path or query string whose percent-escapes are not UTF-8 (422), instead of reading U+FFFD.

    An escaped surrogate (``%ED%A0%80``) or a stray byte would otherwise become a replacement character
    silently; refusing says where it is.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path: bytes = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
            for what, raw in (("path", raw_path), ("query string", scope.get("query_string", b""))):
                problem = _not_utf8(raw)
                if problem is not None:
                    await _send_error(send, 422, f"the {what} is not UTF-8 text: {problem}")
                    return
        await self.app(scope, receive, send)


def _not_utf8(raw: bytes) -> str | None:
    if not raw or (raw.isascii() and b"%" not in raw):
        return None
    decoded = unquote_to_bytes(raw.replace(b"+", b" "))
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"byte {exc.start + 1} of it (percent-escapes decoded) is {decoded[exc.start]:#04x}, which UTF-8 " \
               "does not allow there"
    return None


async def _send_error(send: Send, status: int, message: str) -> None:
    body = utf8(json.dumps(error_body(message), ensure_ascii=False))
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, by Content-Length or while they stream in."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    await _send_error(send, 400, "Content-Length is not a number")
                    return
                if length > self.limit:
                    await _send_error(send, 413, self._message(length))
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge(received)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge as exc:
            if not started:
                await _send_error(send, 413, self._message(exc.size, streamed=True))

    def _message(self, size: int, streamed: bool = False) -> str:
        got = f"more than {self.limit}" if streamed else str(size)
        return f"the request body is too large ({got} bytes; at most {self.limit})"


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        self.size = size
