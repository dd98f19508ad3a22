"""Google's error bodies and the exceptions the fake raises to send them."""

from __future__ import annotations

from typing import Any

_STATUS_TEXT = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    410: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_DEFAULT_REASON = {
    400: "badRequest",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    410: "fullSyncRequired",
    429: "rateLimitExceeded",
    500: "backendError",
    502: "backendError",
    503: "backendError",
    504: "backendError",
}
_USAGE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}


def google_error(code: int, reason: str | None = None, message: str | None = None) -> dict[str, Any]:
    """The JSON error body Google APIs send."""
    reason = reason or _DEFAULT_REASON.get(code, "error")
    message = message or reason
    domain = "usageLimits" if reason in _USAGE_LIMIT_REASONS else "global"
    return {
        "error": {
            "errors": [{"domain": domain, "reason": reason, "message": message}],
            "code": code,
            "message": message,
            "status": _STATUS_TEXT.get(code, "UNKNOWN"),
        }
    }


class ApiError(Exception):
    def __init__(self, code: int, reason: str | None = None, message: str | None = None) -> None:
        super().__init__(message or reason or str(code))
        self.code = code
        self.body: Any = google_error(code, reason, message)


class OAuthError(Exception):
    def __init__(self, code: int, error: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.body = {"error": error, "error_description": description}
