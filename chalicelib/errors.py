"""The service's error tree: each error carries its HTTP status and a stable code."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error the API turns into ``{"error": {"code", "message"}}``."""

    status_code = 500
    code = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequestError(ServiceError):
    status_code = 400
    code = "BadRequest"


class UnauthorizedError(ServiceError):
    status_code = 401
    code = "Unauthorized"


class ForbiddenError(ServiceError):
    status_code = 403
    code = "Forbidden"


class NotFoundError(ServiceError):
    status_code = 404
    code = "NotFound"


class ConflictError(ServiceError):
    status_code = 409
    code = "AlreadyDecided"


class AlreadyExistsError(ServiceError):
    status_code = 409
    code = "AlreadyExists"


class IdempotencyKeyReusedError(ServiceError):
    status_code = 422
    code = "IdempotencyKeyReused"


class ExpiredError(ServiceError):
    status_code = 410
    code = "Expired"


class PayloadTooLargeError(ServiceError):
    status_code = 413
    code = "PayloadTooLarge"


class UnsupportedMediaTypeError(ServiceError):
    """A body sent with a Content-Type the route does not read (curl's ``-d`` sends a form)."""

    status_code = 415
    code = "UnsupportedMediaType"


class UnavailableError(ServiceError):
    """A dependency failed transiently; the request changed nothing and can be retried."""

    status_code = 503
    code = "ServiceUnavailable"


class ConfigurationError(Exception):
    """A required setting is missing or malformed (raised at first use, naming the variable)."""
