"""A mailer that posts to SendGrid's v3 ``/mail/send`` through the official ``sendgrid`` client.

(Named ``sendgrid_mailer`` so it cannot shadow the ``sendgrid`` package.)

The deterministic Message-ID travels in ``headers`` (SendGrid allows it; the reserved headers it
rejects are listed in ``RESERVED_HEADERS``) and in ``custom_args`` so event-webhook records can be
matched to a slot. The provider id is SendGrid's ``X-Message-Id`` response header.

Classification: 429 (with ``Retry-After`` / ``X-RateLimit-Reset`` as ``retry_after``), 408, 5xx,
timeouts and connection errors are :class:`TransientError`; 400/401/403/404/413 and other 4xx are
:class:`PermanentError` carrying SendGrid's own error text. The API key never appears in messages,
reprs or the client library's debug log.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import ssl
import time
import urllib.error
from collections.abc import Mapping
from email.header import Header
from email.utils import parseaddr, parsedate_to_datetime
from http.client import HTTPException
from typing import Any, NoReturn

import python_http_client.exceptions as http_errors
import sendgrid

from novel_events.errors import OutcomeUnknown, PermanentError, TransientError
from novel_events.mailers.base import OutgoingEmail
from novel_events.redact import redact

__all__ = ["DEFAULT_HOST", "RESERVED_HEADERS", "SendGridMailer", "build_payload"]

log = logging.getLogger(__name__)

DEFAULT_HOST = "https://api.sendgrid.com"
# SendGrid answers 400 if any of these is in "headers" (they have their own fields or are SendGrid's).
RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "content-type",
        "content-transfer-encoding",
        "to",
        "from",
        "subject",
        "reply-to",
        "cc",
        "bcc",
    )
)
CUSTOM_ARG_MESSAGE_ID = "novel_events_message_id"
_TRANSIENT_STATUS = {408, 425, 429}
_BEARER = re.compile(r"Bearer\s+[^\s'\",}]+")


class _RedactBearer(logging.Filter):
    """python_http_client logs request headers (with ``Authorization``) at DEBUG: blank the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "Bearer" in record.msg:
            record.msg = _BEARER.sub("Bearer ***", record.msg)
        return True


def _install_log_redaction() -> None:
    logger = logging.getLogger("python_http_client.client")
    if not any(isinstance(f, _RedactBearer) for f in logger.filters):
        logger.addFilter(_RedactBearer())


_install_log_redaction()


def _address(raw: str) -> dict[str, str]:
    name, addr = parseaddr(raw)
    result = {"email": addr or raw.strip()}
    if name:
        result["name"] = name
    return result


def _header_value(value: str) -> str:
    # Header values must be ASCII; SendGrid leaves encoding to the caller (RFC 2047).
    return value if value.isascii() else Header(value, "utf-8").encode()


def build_payload(email: OutgoingEmail) -> dict[str, Any]:
    """The v3 mail/send request body for one message."""
    headers = {"Message-ID": email.message_id}
    reply_to: dict[str, str] | None = None
    for name, value in email.headers.items():
        lname = name.lower()
        if lname == "reply-to":
            reply_to = _address(value)
        elif lname == "message-id":
            continue
        elif lname in RESERVED_HEADERS or lname == "date":
            log.warning("SendGrid: header %s is reserved or set by SendGrid; not sent", name)
        else:
            headers[name] = _header_value(value)
    payload: dict[str, Any] = {
        "personalizations": [{"to": [_address(email.to)]}],
        "from": _address(email.from_),
        "subject": email.subject,
        # SendGrid requires text/plain first, then text/html.
        "content": [
            {"type": "text/plain", "value": email.text},
            {"type": "text/html", "value": email.html},
        ],
        "headers": headers,
        "custom_args": {CUSTOM_ARG_MESSAGE_ID: email.message_id},
    }
    if reply_to is not None:
        payload["reply_to"] = reply_to
    return payload


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        if value.replace(".", "", 1).isdigit():
            return float(value)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
            return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        try:
            return max(0.0, float(reset) - time.time())
        except ValueError:
            return None
    return None


def _error_text(body: bytes | str | None) -> str:
    """SendGrid's error messages from ``{"errors": [{"message", "field"}]}``, else the raw body."""
    if not body:
        return "no details"
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        errors = json.loads(raw).get("errors") or []
        parts = []
        for err in errors:
            message = str(err.get("message") or "").strip()
            field = err.get("field")
            parts.append(f"{field}: {message}" if field else message)
        text = "; ".join(p for p in parts if p)
    except (ValueError, AttributeError, TypeError):
        text = ""
    return (text or " ".join(raw.split()))[:500]


class SendGridMailer:
    """Sends through SendGrid's v3 API; returns the ``X-Message-Id`` SendGrid assigned."""

    name = "sendgrid"

    def __init__(self, api_key: str, host: str = DEFAULT_HOST, timeout: float = 60) -> None:
        if not api_key:
            raise ValueError("a SendGrid API key is required")
        self.host = host.rstrip("/")
        self.timeout = float(timeout)
        self._api_key = api_key
        self._client = sendgrid.SendGridAPIClient(api_key=api_key, host=self.host)
        # The client builds python_http_client.Client without a timeout; set one on the root
        # (it propagates to every derived path) and pass it per call as well.
        self._client.client.timeout = self.timeout

    def __repr__(self) -> str:
        return f"SendGridMailer(host={self.host!r}, timeout={self.timeout})"

    def _clean(self, text: str) -> str:
        return redact(text.replace(self._api_key, "***"))

    def send(self, email: OutgoingEmail) -> str:
        payload = build_payload(email)
        try:
            response = self._client.client.mail.send.post(request_body=payload, timeout=self.timeout)
        except http_errors.HTTPError as exc:
            self._raise_http(exc)
        except Exception as exc:
            self._raise_transport(exc)
        provider_id = response.headers.get("X-Message-Id") if response.headers else None
        if not provider_id:
            log.warning("SendGrid accepted the message (%s) without X-Message-Id", response.status_code)
            return email.message_id
        return str(provider_id)

    def _raise_http(self, exc: http_errors.HTTPError) -> NoReturn:
        status = int(exc.status_code)
        detail = self._clean(_error_text(exc.body))
        if status in _TRANSIENT_STATUS or status >= 500:
            retry_after = _retry_after(exc.headers)
            raise TransientError(f"SendGrid {status}: {detail}", retry_after=retry_after) from None
        reasons = {
            400: "SendGrid rejected the message (400 Bad Request)",
            401: "SendGrid refused the API key (401 Unauthorized)",
            403: "SendGrid forbids this send (403 Forbidden: key scope or unverified sender)",
            413: "SendGrid: message too large (413)",
        }
        reason = reasons.get(status, f"SendGrid rejected the request ({status})")
        raise PermanentError(f"{reason}: {detail}") from None

    def _raise_transport(self, exc: Exception) -> NoReturn:
        where = f"SendGrid {self.host}"
        if isinstance(exc, TimeoutError | ConnectionError | HTTPException):
            # urllib wraps what fails while connecting and sending in URLError; a bare error comes from
            # waiting for the answer: the request went out whole and SendGrid may have accepted it.
            raise OutcomeUnknown(
                f"{where}: no answer after the request was sent ({type(exc).__name__}); "
                "the message may have been accepted"
            ) from exc
        reason: object = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise PermanentError(f"{where}: TLS certificate verification failed") from exc
        if isinstance(reason, TimeoutError):
            raise TransientError(f"{where}: timed out after {self.timeout}s") from exc
        if isinstance(reason, OSError | HTTPException):
            detail = getattr(reason, "strerror", None) or reason.__class__.__name__
            raise TransientError(f"{where}: {self._clean(str(detail))}") from exc
        if isinstance(exc, urllib.error.URLError):
            raise TransientError(f"{where}: {self._clean(str(reason))}") from exc
        if isinstance(exc, ValueError):  # e.g. a malformed host URL
            raise PermanentError(f"{where}: {self._clean(str(exc))}") from None
        raise exc
