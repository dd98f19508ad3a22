"""Pick and configure the mail backend named by ``EMAIL_BACKEND``."""

from __future__ import annotations

import os
from typing import Protocol

from novel_events.errors import InvalidInput
from novel_events.mailers.base import Mailer

__all__ = ["BACKENDS", "make_mailer"]

BACKENDS = ("outbox", "smtp", "sendgrid")
_FIELD = "EMAIL_BACKEND"


class _Secret(Protocol):
    """Anything like pydantic's ``SecretStr``."""

    def get_secret_value(self) -> str: ...


def _reveal(value: str | _Secret | None) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    return value.get_secret_value() or None


def make_mailer(
    backend: str,
    *,
    outbox_dir: str | os.PathLike[str] | None = None,
    smtp_url: str | _Secret | None = None,
    sendgrid_api_key: str | _Secret | None = None,
    sendgrid_host: str | None = None,
    timeout: float = 300.0,
    data_timeout: float = 600.0,
    sendgrid_timeout: float = 60.0,
) -> Mailer:
    """Build the configured :class:`Mailer`.

    Raises :class:`InvalidInput` (field ``EMAIL_BACKEND``) for an unknown backend or a backend whose
    settings are missing; the message names the environment variable to set.
    """
    name = (backend or "").strip().lower()
    if name == "outbox":
        if not outbox_dir:
            raise InvalidInput(_FIELD, "backend 'outbox' needs NOVEL_EVENTS_OUTBOX_DIR (or NOVEL_EVENTS_HOME)")
        from novel_events.mailers.outbox import OutboxMailer

        return OutboxMailer(outbox_dir)
    if name == "smtp":
        url = _reveal(smtp_url)
        if not url:
            raise InvalidInput(
                _FIELD,
                "backend 'smtp' needs NOVEL_EVENTS_SMTP_URL, e.g. smtp+starttls://user:pass@smtp.example.com:587",
            )
        from novel_events.mailers.smtp import SmtpMailer

        return SmtpMailer(url, timeout=timeout, data_timeout=max(data_timeout, timeout))
    if name == "sendgrid":
        key = _reveal(sendgrid_api_key)
        if not key:
            raise InvalidInput(_FIELD, "backend 'sendgrid' needs NOVEL_EVENTS_SENDGRID_API_KEY")
        from novel_events.mailers.sendgrid_mailer import DEFAULT_HOST, SendGridMailer

        return SendGridMailer(key, host=sendgrid_host or DEFAULT_HOST, timeout=sendgrid_timeout)
    raise InvalidInput(_FIELD, f"unknown backend {backend!r}; accepted: {', '.join(BACKENDS)}")
