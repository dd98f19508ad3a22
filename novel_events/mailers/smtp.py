"""A mailer that speaks SMTP (``smtplib``) to a relay configured by one URL.

URL forms (credentials percent-encoded; the port is optional)::

    smtp://[user:pass@]host[:25]                 plain; add ?starttls=true to upgrade (default port 587)
    smtp+starttls://[user:pass@]host[:587]       STARTTLS required
    smtps://[user:pass@]host[:465]               implicit TLS

Failures are classified by what retrying can do: connection trouble, timeouts and 4xx replies are
:class:`TransientError`; 5xx replies, refused credentials, missing server features and TLS
certificate failures are :class:`PermanentError`. The password never appears in a message or repr.

Timeouts follow RFC 5321 section 4.5.3.2: each command waits ``timeout`` (5 minutes by default), the
reply to the end of DATA waits ``data_timeout`` (10 minutes), connecting waits ``connect_timeout``.
Once the message has been handed over (the final ``.`` sent), a lost connection or a missing reply
means the outcome cannot be known: that is :class:`OutcomeUnknown`, never a certain failure.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from novel_events.errors import InvalidInput, OutcomeUnknown, PermanentError, TransientError
from novel_events.mailers.base import OutgoingEmail
from novel_events.redact import redact, scrub_exception

__all__ = ["SmtpConfig", "SmtpMailer", "parse_smtp_url"]

_SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_QUEUED_AS = re.compile(rb"queued as ([A-Za-z0-9._@<>-]+)", re.IGNORECASE)
_FIELD = "SMTP_URL"


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None  # repr hides it, see __repr__

    def __repr__(self) -> str:
        return f"SmtpConfig(url={self.redacted_url()!r})"

    def redacted_url(self) -> str:
        scheme = "smtps" if self.implicit_tls else ("smtp+starttls" if self.starttls else "smtp")
        user = f"{quote(self.username, safe='')}:***@" if self.username is not None else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{user}{host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpConfig:
    """Parse an SMTP URL; errors name ``SMTP_URL`` and never echo the URL (it may hold a password)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise InvalidInput(_FIELD, "not a valid URL (port must be a number)") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise InvalidInput(_FIELD, "scheme must be one of smtp://, smtp+starttls://, smtps://")
    if not parts.hostname:
        raise InvalidInput(_FIELD, "a host is required, e.g. smtp+starttls://user:pass@smtp.example.com:587")
    starttls = scheme == "smtp+starttls"
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key != "starttls":
            raise InvalidInput(_FIELD, f"unknown option {key!r}; accepted: starttls=true|false")
        if value.lower() in _TRUE:
            starttls = True
        elif value.lower() in _FALSE and scheme == "smtp":
            starttls = False
        else:
            raise InvalidInput(_FIELD, "starttls must be true or false (and only with smtp://)")
    implicit_tls = scheme == "smtps"
    if implicit_tls and starttls:
        raise InvalidInput(_FIELD, "smtps:// already uses TLS; drop starttls")
    default_port = 587 if starttls else _SCHEMES[scheme]
    return SmtpConfig(
        host=parts.hostname,
        port=port or default_port,
        implicit_tls=implicit_tls,
        starttls=starttls,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


_LEADING_DOT = re.compile(rb"(?m)^\.")


class _SMTP(smtplib.SMTP):
    """Knows when the message was handed over, waits the RFC's time for the final reply, keeps it.

    The reply to DATA often names the server's queue id.
    """

    last_data_reply: tuple[int, bytes] | None = None
    handed_over = False  # the terminating "." went out: from here on, the outcome may be unknown
    data_timeout: float = 600.0
    command_timeout: float = 300.0

    def connected(self) -> None:
        if self.sock is not None:
            self.sock.settimeout(self.command_timeout)

    def data(self, msg: bytes | str) -> tuple[int, bytes]:  # type: ignore[override]
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        body = msg.encode("ascii") if isinstance(msg, str) else msg
        body = _LEADING_DOT.sub(b"..", body)  # RFC 5321 4.5.2 transparency
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.send(body + b".\r\n")
        self.handed_over = True
        if self.sock is not None:
            self.sock.settimeout(self.data_timeout)
        final = self.getreply()
        if self.sock is not None:
            self.sock.settimeout(self.command_timeout)
        self.last_data_reply = final
        return final


class _SMTP_SSL(_SMTP, smtplib.SMTP_SSL):
    pass


class SmtpMailer:
    """Sends through an SMTP relay; returns the server's queue id if it names one, else the Message-ID."""

    name = "smtp"

    def __init__(
        self,
        url: str,
        timeout: float = 300.0,
        *,
        data_timeout: float = 600.0,
        connect_timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.config = parse_smtp_url(url)
        self.timeout = timeout
        self.data_timeout = data_timeout
        self.connect_timeout = min(connect_timeout, timeout)
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        return (
            f"SmtpMailer(url={self.config.redacted_url()!r}, timeout={self.timeout}, data_timeout={self.data_timeout})"
        )

    @property
    def _where(self) -> str:
        return f"SMTP {self.config.host}:{self.config.port}"

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _connect(self) -> _SMTP:
        cfg = self.config
        smtp: _SMTP
        if cfg.implicit_tls:
            smtp = _SMTP_SSL(cfg.host, cfg.port, timeout=self.connect_timeout, context=self._context())
        else:
            smtp = _SMTP(cfg.host, cfg.port, timeout=self.connect_timeout)
        smtp.command_timeout = self.timeout
        smtp.data_timeout = self.data_timeout
        smtp.connected()
        return smtp

    def send(self, email: OutgoingEmail) -> str:
        message = email.to_mime()
        cfg = self.config
        stage = "connect"
        smtp: _SMTP | None = None
        try:
            smtp = self._connect()
            try:
                if cfg.starttls:
                    stage = "STARTTLS"
                    smtp.starttls(context=self._context())
                if cfg.username is not None:
                    stage = "AUTH"
                    smtp.login(cfg.username, cfg.password or "")
                stage = "send"
                smtp.send_message(message)
                reply = smtp.last_data_reply
            finally:
                _close_quietly(smtp)
        except Exception as exc:
            if smtp is not None and smtp.handed_over and not isinstance(exc, smtplib.SMTPResponseException):
                raise OutcomeUnknown(
                    f"{self._where}: no reply to the end of DATA ({type(exc).__name__}); "
                    "the message may have been delivered"
                ) from exc
            self._raise_classified(scrub_exception(exc), stage)
        if reply is not None and (match := _QUEUED_AS.search(reply[1])):
            return match.group(1).decode("ascii")
        return email.message_id

    # -- classification ---------------------------------------------------------------------------

    def _text(self, raw: bytes | str) -> str:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        text = " ".join(text.split())[:300]
        password = self.config.password
        if password:
            for secret in {password, quote(password, safe="")}:
                text = text.replace(secret, "***")
        return redact(text)

    def _by_code(self, code: int, text: bytes | str, stage: str, exc: BaseException) -> NoReturn:
        reason = f"{self._where}: {code} {self._text(text)} (during {stage})"
        if 400 <= code < 500:
            raise TransientError(reason) from exc
        raise PermanentError(reason) from exc

    def _raise_classified(self, exc: Exception, stage: str) -> NoReturn:
        where = self._where
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            replies = list(exc.recipients.values()) or [(550, b"recipient refused")]
            code, text = replies[0]
            transient = all(400 <= c < 500 for c, _ in replies)
            reason = f"{where}: recipient refused: {code} {self._text(text)}"
            if transient:
                raise TransientError(reason) from exc
            raise PermanentError(reason) from exc
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            # 454 is a temporary authentication failure (RFC 4954); anything else means bad credentials.
            if 400 <= exc.smtp_code < 500:
                self._by_code(exc.smtp_code, exc.smtp_error, "AUTH", exc)
            raise PermanentError(
                f"{where}: authentication failed for user {self.config.username!r}: "
                f"{exc.smtp_code} {self._text(exc.smtp_error)}"
            ) from exc
        if isinstance(exc, smtplib.SMTPResponseException):
            # SMTPConnectError, SMTPHeloError, SMTPSenderRefused, SMTPDataError and plain replies.
            if isinstance(exc, smtplib.SMTPSenderRefused):
                stage = "MAIL FROM"
            elif isinstance(exc, smtplib.SMTPDataError):
                stage = "DATA"
            self._by_code(exc.smtp_code, exc.smtp_error, stage, exc)
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            if isinstance(exc.__context__, TimeoutError):
                raise TransientError(f"{where}: timed out after {self.timeout}s (during {stage})") from exc
            raise TransientError(f"{where}: connection lost (during {stage})") from exc
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            raise PermanentError(f"{where}: server does not support {stage}: {self._text(str(exc))}") from exc
        if isinstance(exc, smtplib.SMTPException):
            raise PermanentError(f"{where}: {self._text(str(exc))} (during {stage})") from exc
        if isinstance(exc, ssl.SSLCertVerificationError):
            raise PermanentError(f"{where}: TLS certificate verification failed: {exc.verify_message}") from exc
        if isinstance(exc, ssl.SSLError) and not isinstance(
            exc, ssl.SSLEOFError | ssl.SSLZeroReturnError | ssl.SSLSyscallError
        ):
            raise PermanentError(f"{where}: TLS handshake failed: {exc.reason or exc}") from exc
        if isinstance(exc, TimeoutError):
            raise TransientError(f"{where}: timed out after {self.timeout}s (during {stage})") from exc
        if isinstance(exc, OSError):
            detail = exc.strerror or exc.__class__.__name__
            raise TransientError(f"{where}: {detail} (during {stage})") from exc
        raise exc


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        smtp.close()
