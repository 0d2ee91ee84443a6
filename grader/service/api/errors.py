"""Every error as JSON: ``{"detail": message, ...where}`` with the status that fits."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grader.problemset.source import InputError
from grader.service.errors import ServiceError, TooManyRequests

log = logging.getLogger(__name__)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": f"the service failed on this request ({type(exc).__name__}); the error is "
                                   "logged"}, status_code=500)


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return JSONResponse(exc.as_dict(), status_code=exc.status, headers=error_headers(exc))


def error_headers(exc: ServiceError) -> dict[str, str] | None:
    """The headers an error's status calls for: a challenge with 401, the wait with 429."""
    if exc.status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, TooManyRequests):
        return {"Retry-After": str(exc.retry_after)}
    return None


async def _input_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputError)
    return JSONResponse({"detail": str(exc), "error": exc.as_dict()}, status_code=422)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    messages = [f"{_where(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors]
    clean = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors]
    return JSONResponse({"detail": "; ".join(messages) or "invalid request", "errors": clean}, status_code=422)


def _where(loc: Any) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        kind = {"body": "body field", "query": "query parameter", "path": "path parameter", "header": "header"}
        return f"{kind[parts[0]]} {'.'.join(parts[1:])!r}" if len(parts) > 1 else f"the {parts[0]}"
    return ".".join(parts) or "request"


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = "no such endpoint; the API is described at /openapi.json"
    elif exc.status_code == 405:
        detail = "this method is not allowed here; the API is described at /openapi.json"
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


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
                    await self._refuse(send, 400, "Content-Length is not a number")
                    return
                if length > self.limit:
                    await self._refuse(send, 413, self._message(length))
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
                await self._refuse(send, 413, self._message(exc.size, streamed=True))

    def _message(self, size: int, streamed: bool = False) -> str:
        got = f"more than {self.limit}" if streamed else str(size)
        return f"the request body is too large ({got} bytes; at most {self.limit})"

    @staticmethod
    async def _refuse(send: Send, status: int, message: str) -> None:
        body = json.dumps({"detail": message}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        self.size = size
