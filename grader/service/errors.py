"""Errors the service reports to its callers (see the hierarchy in ``grader.service``)."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def as_dict(self) -> dict[str, Any]:
        return {"detail": self.message, **self.detail}


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
        self.retry_after = retry_after


class Unavailable(ServiceError):
    status = 503
