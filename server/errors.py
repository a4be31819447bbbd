"""The one error root. Each domain subclasses :class:`AppError`; one middleware and one
socket.io hook turn it into ``{"error": code, "message": …}`` with its HTTP status."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """A failure the client can understand: an HTTP status, a machine code, a message."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        """The JSON body sent to the client."""
        return {"error": self.code, "message": self.message, **self.extra}


class BadRequest(AppError):
    """The request is malformed (400)."""


class Unauthenticated(AppError):
    """No valid session (401)."""

    status = 401
    code = "unauthenticated"


class Forbidden(AppError):
    """The user may not do this (403)."""

    status = 403
    code = "forbidden"


class NotFound(AppError):
    """The object does not exist or is not visible to this user (404)."""

    status = 404
    code = "not_found"


class Conflict(AppError):
    """The object's state does not allow this (409)."""

    status = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    """The body is larger than allowed (413)."""

    status = 413
    code = "too_large"


class Invalid(AppError):
    """Well-formed but semantically wrong input (422)."""

    status = 422
    code = "invalid"


class TooManyRequests(AppError):
    """Throttled (429)."""

    status = 429
    code = "throttled"


class ConfigError(Exception):
    """A setting is missing or has an invalid value."""
