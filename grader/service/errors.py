"""Errors the service reports to its callers (see the hierarchy in ``grader.service``)."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A refusal with its HTTP status; ``field``, ``file``, ``line`` and ``unknown`` say where, when known.

    ``as_dict`` is the error body of the API (``ErrorOut`` in ``grader.service.api.schemas``).
    """

    status = 400

    def __init__(self, message: str, *, field: str | None = None, file: str | None = None, line: int | None = None,
                 unknown: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.file = file
        self.line = line
        self.unknown = unknown

    def as_dict(self) -> dict[str, Any]:
        where = {"field": self.field, "file": self.file, "line": self.line, "unknown": self.unknown}
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


class Unavailable(ServiceError):
    status = 503
