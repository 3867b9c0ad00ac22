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


class AppealNotAllowedError(ServiceError):
    """An appeal on a submission that is not refused, or that was appealed already."""

    status_code = 409
    code = "AppealNotAllowed"


class AppealWindowClosedError(ServiceError):
    status_code = 410
    code = "AppealWindowClosed"


class ClaimedError(ServiceError):
    """Another reviewer holds a live claim on the review (SPEC §14); the message names them."""

    status_code = 409
    code = "Claimed"

    def __init__(self, message: str, *, holder: str) -> None:
        super().__init__(message)
        self.holder = holder


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


class RateLimitedError(ServiceError):
    """Over a rate limit: nothing was stored or started; ``retry_after`` seconds until the next window."""

    status_code = 429
    code = "RateLimited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnavailableError(ServiceError):
    """A dependency failed transiently; the request changed nothing and can be retried."""

    status_code = 503
    code = "ServiceUnavailable"


class ConfigurationError(Exception):
    """A required setting is missing or malformed (raised at first use, naming the variable)."""


# Failures of the integrations, raised where the call is made and handled by the use cases.


class OutcomeUnknownError(UnavailableError):
    """The request may or may not have reached Step Functions (a timeout or a dropped connection)."""


class TaskTokenGoneError(Exception):
    """Step Functions no longer accepts this token: the task timed out, the execution ended,
    or the token was already used (AWS answers all three alike)."""


class LimiterUnavailable(Exception):
    """The limits table could not count (throttled, unreachable); the message names the error code only."""


class MailNotSent(Exception):
    """SES refused or could not be reached; the message names the error code, never the address."""


class TextMessageNotSent(Exception):
    """SNS refused the SMS or could not be reached; the message names the error code, never the number."""


# The class name is the error name Step Functions retries and catches: keep it stable.
class WebhookDeliveryFailed(Exception):
    """One attempt did not get a 2xx answer; the message never holds the secret or the signature."""


class WebhookUrlError(ValueError):
    """A WEBHOOK_URL the service will not post to; the message says why."""
