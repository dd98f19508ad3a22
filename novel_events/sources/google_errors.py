"""What a failure talking to Google means: errors of the client libraries mapped onto novel_events.errors.

==============================================  ==========================================================
Google says                                     We raise
==============================================  ==========================================================
429, 403 rateLimitExceeded/userRateLimitExceeded  TransientError (retried here with backoff, Retry-After)
403 quotaExceeded                               TransientError(retry_after=until the next minute)
403 dailyLimitExceeded                          TransientError(retry_after=1 hour)
5xx, 408, timeouts, connection errors, DNS      TransientError (retried here with backoff)
401 (after one token refresh)                   ReconnectRequired
403 insufficientPermissions, invalid_scope      ReconnectRequired (the grant lacks read-only calendar scope)
token endpoint ``invalid_grant``                ReconnectRequired("reconnect your calendar: ..."), or
                                                PermanentError for a service account
token endpoint invalid_client/unauthorized_client  PermanentError (operator: OAuth client / delegation)
410 fullSyncRequired / updatedMinTooLongAgo     FullSyncRequired (handled: one full sync)
404 on a calendar                               CalendarGone (handled: the calendar is skipped)
other 4xx, TLS certificate errors               PermanentError
==============================================  ==========================================================

Messages carry the HTTP status, Google's reason and message, never a token or a client secret:
every message passes :func:`redact` with the secrets of the grant in use.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import json
import math
import re
import ssl
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

import google.auth.exceptions
import httplib2
from googleapiclient.errors import HttpError

from novel_events.errors import NovelEventsError, PermanentError, ReconnectRequired, TransientError

RECONNECT = "reconnect your calendar (novel-events connect)"
_RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"}
_SCOPE_REASONS = {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}
_MAX_DETAIL = 200


class FullSyncRequired(PermanentError):
    """410: the sync token is no longer valid; the calendar needs one full sync."""


class CalendarGone(PermanentError):
    """404 for a calendar the list just named (deleted or unshared meanwhile)."""


class RetryableError(TransientError):
    """A transient failure worth retrying inside the adapter (not a long quota wait)."""


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` without any of ``secrets``, as they are or URL-encoded (a form body echoed back)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            for form in {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}:
                text = text.replace(form, "[redacted]")
    return text


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now())


def _seconds_to_next_minute(now: Callable[[], float]) -> float:
    return max(1.0, 60.0 - math.fmod(now(), 60.0))


def _error_info(content: Any) -> tuple[str, str]:
    """(reason, message) from a Google JSON error body."""
    try:
        body = json.loads(content.decode("utf-8") if isinstance(content, bytes) else content)
        err = body.get("error") if isinstance(body, dict) else None
    except (ValueError, AttributeError, UnicodeDecodeError):
        return "", ""
    if isinstance(err, str):  # OAuth style {"error": "...", "error_description": "..."}
        return err, str(body.get("error_description") or "")
    if not isinstance(err, dict):
        return "", ""
    errors = err.get("errors")
    reason = ""
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = str(errors[0].get("reason") or "")
    return reason or str(err.get("status") or ""), str(err.get("message") or "")


def classify(
    exc: BaseException,
    *,
    what: str,
    secrets: Iterable[str | None] = (),
    now: Callable[[], float] = time.time,
    user_grant: bool = True,
) -> NovelEventsError:
    """The novel_events error for ``exc`` raised while doing ``what`` (e.g. "events.list").

    ``user_grant``: False for a service account, whose refused grant is no user's to reconnect.
    """
    secrets = tuple(secrets)

    def text(detail: str) -> str:
        detail = redact(" ".join(detail.split()), secrets)  # before cutting: no secret prefix survives
        if len(detail) > _MAX_DETAIL:
            detail = detail[: _MAX_DETAIL - 1] + "…"
        return f"Google Calendar {what}: {detail}"

    if isinstance(exc, NovelEventsError):
        return exc
    if isinstance(exc, HttpError):
        return _classify_http(exc, text, now)
    if isinstance(exc, google.auth.exceptions.RefreshError):
        err = _classify_refresh(exc, text)
        if isinstance(err, ReconnectRequired) and not user_grant:
            # Nobody can "connect" a service account again: its key or its delegation is at fault.
            return PermanentError(str(err).replace(RECONNECT, "service account refused (key or delegation)"))
        return err
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentError(text(f"TLS certificate rejected ({exc.verify_message})"))
    if isinstance(exc, TimeoutError):
        return RetryableError(text("timed out"))
    if isinstance(exc, httplib2.ServerNotFoundError):
        return RetryableError(text("server not found (DNS)"))
    if isinstance(exc, (ConnectionError, http.client.HTTPException, httplib2.HttpLib2Error, OSError)):
        return RetryableError(text(f"connection failed ({type(exc).__name__})"))
    if isinstance(exc, google.auth.exceptions.TransportError):
        return RetryableError(text(f"token endpoint unreachable ({type(exc).__name__})"))
    return PermanentError(text(f"unexpected {type(exc).__name__}"))


def _classify_http(exc: HttpError, text: Callable[[str], str], now: Callable[[], float]) -> NovelEventsError:
    status = int(exc.resp.status)
    reason, message = _error_info(exc.content)
    retry_after = parse_retry_after(exc.resp.get("retry-after"), now=now)
    detail = f"HTTP {status} {reason}".rstrip() + (f": {message}" if message else "")
    if status == 410:
        return FullSyncRequired(text(detail))
    if status == 429 or (status == 403 and reason in _RATE_REASONS):
        return RetryableError(text(detail), retry_after=retry_after)
    if status == 403 and reason == "quotaExceeded":
        return TransientError(text(detail), retry_after=retry_after or _seconds_to_next_minute(now))
    if status == 403 and reason == "dailyLimitExceeded":
        return TransientError(text(detail), retry_after=retry_after or 3600.0)
    if status >= 500 or status == 408:
        return RetryableError(text(detail), retry_after=retry_after)
    if status == 401:
        return ReconnectRequired(text(f"{RECONNECT}: Google rejected fresh credentials ({detail})"))
    if status == 403 and reason in _SCOPE_REASONS:
        return ReconnectRequired(text(f"{RECONNECT}: the grant lacks read access to calendars ({detail})"))
    if status == 404:
        return CalendarGone(text(detail))
    return PermanentError(text(detail))


def _classify_refresh(exc: google.auth.exceptions.RefreshError, text: Callable[[str], str]) -> NovelEventsError:
    data = exc.args[1] if len(exc.args) > 1 else None
    error, description = "", ""
    if isinstance(data, dict):
        error, description = str(data.get("error") or ""), str(data.get("error_description") or "")
    elif exc.args and re.fullmatch(r"[a-z_]+", str(exc.args[0]).split(":", 1)[0]):
        error = str(exc.args[0]).split(":", 1)[0]
    detail = f"token endpoint said {error or 'error'}" + (f": {description}" if description else "")
    if error == "invalid_grant":
        return ReconnectRequired(text(f"{RECONNECT}: {detail}"))
    if error == "invalid_scope":
        return ReconnectRequired(text(f"{RECONNECT}: the grant lacks read-only calendar scope ({detail})"))
    if error in ("invalid_client", "unauthorized_client"):
        return PermanentError(text(f"the OAuth client or domain-wide delegation is misconfigured ({detail})"))
    if getattr(exc, "retryable", False):
        return RetryableError(text(detail))
    if not error:
        first = str(exc.args[0]).splitlines()[0] if exc.args else type(exc).__name__
        return PermanentError(text(f"token refresh failed: {first}"))
    return PermanentError(text(detail))
