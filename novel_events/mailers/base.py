"""The mailer protocol and the message every backend sends."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """A rendered digest, ready for any backend.

    ``message_id`` is deterministic per (user, slot) so a re-send after an ambiguous crash carries
    the same ``Message-ID`` and mail clients collapse the duplicate.
    """

    to: str
    from_: str
    subject: str
    html: str
    text: str
    message_id: str
    date: dt.datetime
    headers: dict[str, str] = field(default_factory=dict)

    def to_mime(self) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.from_
        msg["To"] = self.to
        msg["Subject"] = self.subject
        msg["Date"] = format_datetime(self.date)
        msg["Message-ID"] = self.message_id
        for name, value in self.headers.items():
            msg[name] = value
        msg.set_content(self.text, cte="quoted-printable")
        msg.add_alternative(self.html, subtype="html", cte="quoted-printable")
        return msg


class Mailer(Protocol):
    """Sends one email; returns the provider's message id.

    Raises :class:`~novel_events.errors.TransientError` when a retry may succeed and
    :class:`~novel_events.errors.PermanentError` when it will not.
    """

    name: str

    def send(self, email: OutgoingEmail) -> str: ...
