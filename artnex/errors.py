"""The one place where API errors are defined and rendered.

Every failure a client can see leaves the service through :class:`ApiError`, so the
JSON shape of the contract (``{"success": false, "error": {...}, "request_id": ...}``)
is produced in exactly one function, :func:`error_response`.
"""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import JsonResponse

from .ids import attached


class ApiError(Exception):
    """An error with a contract code, an HTTP status and a human message."""

    status: int = 400
    code: str = "bad_request"
    default_message: str = "The request could not be processed."

    default_headers: dict[str, str] = {}

    def __init__(
        self, message: str | None = None, *, status: int | None = None, code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.status = status or self.status
        self.code = code or self.code
        self.headers = {**self.default_headers, **(headers or {})}
        super().__init__(self.message)


class MissingImage(ApiError):
    code = "missing_image"
    default_message = "The 'image' field is required: an https URL or a base64 data URI."


class InvalidImageFormat(ApiError):
    code = "invalid_image_format"
    default_message = "The image must be a valid JPEG, PNG or WebP file."


class ImageTooLarge(ApiError):
    code = "image_too_large"
    default_message = "The image is larger than the service accepts."


class InvalidScale(ApiError):
    code = "invalid_scale"
    # The API words it with the configured range (upscale.serializers); this is the fallback.
    default_message = "scale must be a number in the supported range"


class InvalidRequest(ApiError):
    """Malformed JSON, wrong content type, wrong field types: the client's bug, not ours."""

    code = "invalid_request"
    default_message = "The request body must be a JSON object."


class InvalidApiKey(ApiError):
    status = 401
    code = "invalid_api_key"
    default_message = "The API key is missing, malformed, unknown or revoked."
    default_headers = {"WWW-Authenticate": 'Bearer realm="api"'}


class InsufficientCredits(ApiError):
    status = 402
    code = "insufficient_credits"
    default_message = "Your credit balance is below the price of this request."


class RateLimitExceeded(ApiError):
    status = 429
    code = "rate_limit_exceeded"
    default_message = "Too many requests: the daily quota is used up."


class NotFound(ApiError):
    status = 404
    code = "not_found"
    default_message = "No such endpoint or resource."


class ProcessingFailed(ApiError):
    status = 500
    code = "processing_failed"
    default_message = "The upscale failed on our side. No credits were charged."


class ServiceUnavailable(ApiError):
    status = 503
    code = "service_unavailable"
    default_message = "The upscale service is temporarily unavailable. No credits were charged."


class UpscaleTimeout(ApiError):
    status = 504
    code = "upscale_timeout"
    default_message = "The upscale did not finish in time. No credits were charged."


class InternalError(ApiError):
    status = 500
    code = "internal_error"
    default_message = "An unexpected error occurred. No credits were charged."


class MethodNotAllowed(ApiError):
    status = 405
    code = "method_not_allowed"
    default_message = "This endpoint does not answer that HTTP method."


class InvalidModel(ApiError):
    code = "invalid_model"
    default_message = "model must be one of the engine's model names."


class InvalidOutputFormat(ApiError):
    code = "invalid_output_format"
    default_message = "output_format must be one of: jpeg, png, webp."


class InvalidWebhookUrl(ApiError):
    code = "invalid_webhook_url"
    default_message = "webhook_url must be a public https:// URL."


class IdempotencyConflict(ApiError):
    status = 409
    code = "idempotency_conflict"
    default_message = "This Idempotency-Key was already used with a different request."


class RequestInProgress(ApiError):
    status = 409
    code = "request_in_progress"
    default_message = "The request is still running; delete its result once it has finished."


def error_classes() -> list[type[ApiError]]:
    """Every contract error, for the OpenAPI schema and its test (subclasses of subclasses too)."""
    found: list[type[ApiError]] = []
    pending = list(ApiError.__subclasses__())
    while pending:
        cls = pending.pop(0)
        found.append(cls)
        pending += cls.__subclasses__()
    return found


def error_body(code: str, message: str, request_id: str | None) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message}, "request_id": request_id}


def error_response(error: ApiError, request_id: str | None) -> JsonResponse:
    response = JsonResponse(error_body(error.code, error.message, request_id), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> JsonResponse | None:
    """DRF's exception hook: every API failure, ours or the framework's, in the contract's shape."""
    from django.core.exceptions import RequestDataTooBig
    from rest_framework import exceptions

    request = context.get("request")
    request_id = attached(request)
    if isinstance(exc, ApiError):
        return error_response(exc, request_id)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        error: ApiError = InvalidApiKey()
    elif isinstance(exc, exceptions.MethodNotAllowed):
        error = MethodNotAllowed(str(exc.detail))
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        error = InvalidRequest("Content-Type must be application/json or multipart/form-data.")
    elif isinstance(exc, exceptions.ParseError):
        error = InvalidRequest("The request body could not be parsed: malformed JSON or multipart data.")
    elif isinstance(exc, RequestDataTooBig):
        error = ImageTooLarge("The request body is larger than the service accepts.")
    elif isinstance(exc, exceptions.APIException):
        error = ApiError(str(exc.detail), status=exc.status_code, code=str(exc.default_code))
    elif _is_outage(exc):
        error = ServiceUnavailable()
    elif _is_database_outage(exc):
        error = ServiceUnavailable(DATABASE_OUTAGE)
    else:
        return None  # an unexpected bug: Django's 500 handler (logged) takes it
    return error_response(error, request_id)


def _is_outage(exc: Exception) -> bool:
    """A shared service (the Redis cache behind rate limits, the broker) did not answer: the
    client may retry later, so 503, not a 500 that reads as our bug."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, RedisConnectionError | RedisTimeoutError | OperationalError)


# The database holds the ledger: a request may have been charged before it stopped answering,
# so this answer cannot say "no credits were charged". What it can say is what the product does.
DATABASE_OUTAGE = ("The upscale service is temporarily unavailable. Retry with the same Idempotency-Key: a request "
                   "charged before the outage gets its result, and one whose result is not handed out is refunded.")


# PostgreSQL did not answer (restarting, failing over, out of connections). A bad query is a
# ProgrammingError or an IntegrityError, never one of these. The API answers them 503 and the
# upscale task retries on them (upscale/tasks.py).
DATABASE_OUTAGE_ERRORS: tuple[type[Exception], ...] = (DatabaseOperationalError, InterfaceError)


def _is_database_outage(exc: Exception) -> bool:
    return isinstance(exc, DATABASE_OUTAGE_ERRORS)
