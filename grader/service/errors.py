"""Errors the service reports to its callers (see the hierarchy in ``grader.service``)."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A refusal with its HTTP status; ``field``, ``file``, ``line`` and ``unknown`` say where, when known,
    ``problems`` lists each bad entry of a roster or list of users, ``retry_after`` the seconds a 429 asks for.

    ``as_dict`` is the error body of the API (``ErrorOut`` in ``grader.service.api.schemas``).
    """

    status = 400

    def __init__(self, message: str, *, field: str | None = None, file: str | None = None, line: int | None = None,
                 unknown: list[str] | None = None, problems: list[dict[str, Any]] | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.file = file
        self.line = line
        self.unknown = unknown
        self.problems = problems
        self.retry_after = retry_after

    def as_dict(self) -> dict[str, Any]:
        where = {"field": self.field, "file": self.file, "line": self.line, "unknown": self.unknown,
                 "problems": self.problems, "retry_after": self.retry_after}
        return {"detail": self.message, **{k: v for k, v in where.items() if v is not None}}


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class TooLarge(ServiceError):
    status = 413


class Invalid(ServiceError):
    status = 422


class TooManyRequests(ServiceError):
    """429: a rate limit; ``retry_after`` is the whole number of seconds to wait (the Retry-After header)."""

    status = 429

    def __init__(self, message: str, *, retry_after: int, **detail: Any) -> None:
        super().__init__(message, retry_after=retry_after, **detail)
        self.retry_after: int = retry_after


class Unavailable(ServiceError):
    status = 503
