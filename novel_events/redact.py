"""Strip credentials from text a provider sent us, before it reaches a state, a log or the ledger.

An SMTP server may echo the AUTH line (base64 ``user\\0password``), an HTTP API may echo the
``Authorization`` header or a URL with credentials. :func:`redact` is pure and idempotent.
"""

from __future__ import annotations

import re
from typing import TypeVar

E = TypeVar("E", bound=BaseException)

MASK = "[redacted]"

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # SMTP AUTH commands and continuation lines: AUTH PLAIN <b64>, AUTH LOGIN <b64>, AUTH XOAUTH2 <b64>
    (re.compile(r"(?i)\b(AUTH\s+[A-Z0-9_-]+)\s+\S+"), rf"\1 {MASK}"),
    # Authorization headers and bearer/basic tokens
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*)(?:(basic|bearer|token)\s+)?\S+"), rf"\1\2 {MASK}"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {MASK}"),
    # URLs with userinfo: scheme://user:pass@host -> scheme://[redacted]@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@"), rf"\1{MASK}@"),
    # secret-looking query/form parameters
    (
        re.compile(
            r"(?i)\b((?:password|passwd|pwd|pass|secret|client_secret|token|access_token|refresh_token|"
            r"api_?key|key|sig|signature)\s*[=:]\s*)[^\s&;,\"']+"
        ),
        rf"\1{MASK}",
    ),
    # SendGrid API keys, Google OAuth tokens
    (re.compile(r"\bSG\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), MASK),
    (re.compile(r"\bya29\.[A-Za-z0-9._-]+"), MASK),
    (re.compile(r"\b1//[A-Za-z0-9._-]{10,}"), MASK),
    # long base64 runs (e.g. an echoed AUTH PLAIN payload without its verb); words are not touched
    (
        re.compile(
            r"(?<![A-Za-z0-9+/])(?=[A-Za-z0-9+/]*[0-9+/=])(?=[A-Za-z0-9+/]*[A-Z])(?=[A-Za-z0-9+/]*[a-z])"
            r"[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])"
        ),
        MASK,
    ),
)


def redact(text: str) -> str:
    """``text`` with credentials replaced by ``[redacted]``."""
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text


def scrub_exception(exc: E) -> E:
    """Redact ``exc`` in place (its args and an SMTP reply), so a chained cause printed in a traceback
    carries no credential either. Returns ``exc``."""

    def clean(value: object) -> object:
        if isinstance(value, bytes):
            return redact(value.decode("utf-8", "replace")).encode()
        if isinstance(value, str):
            return redact(value)
        if isinstance(value, dict):  # SMTPRecipientsRefused: {rcpt: (code, reply)}
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, tuple):
            return tuple(clean(v) for v in value)
        return value

    try:
        exc.args = tuple(clean(a) for a in exc.args)
        for attr in ("smtp_error", "recipients", "strerror"):
            if isinstance(getattr(exc, attr, None), bytes | str | dict):
                setattr(exc, attr, clean(getattr(exc, attr)))
    except (AttributeError, TypeError):
        pass
    return exc
