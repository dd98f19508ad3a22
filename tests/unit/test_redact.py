"""Provider replies lose their credentials before they reach a state, a log or the ledger."""

from __future__ import annotations

import base64

import pytest

from novel_events.redact import redact

PLAIN = base64.b64encode(b"\0mailer@example.org\0hunter2-Very-Secret").decode()


@pytest.mark.parametrize(
    "text,secret",
    [
        (f"535 5.7.8 AUTH PLAIN {PLAIN} rejected", PLAIN),
        (f"535 unrecognised command: {PLAIN}", PLAIN),
        ("AUTH LOGIN bWFpbGVyQGV4YW1wbGUub3Jn", "bWFpbGVyQGV4YW1wbGUub3Jn"),
        ("401 bad header Authorization: Bearer SG.abcdefghij.klmnopqrstuv", "SG.abcdefghij"),
        ("upstream said: bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "eyJhbGciOiJIUzI1NiJ9"),
        ("cannot fetch https://alice:pa55word@feeds.example.org/cal.ics", "pa55word"),
        ("bad redirect to https://example.org/cb?code=1&access_token=ya29.a0AfH6SMB", "ya29.a0AfH6SMB"),
        ("key SG.0123456789abcdef.ABCDEFGHIJKLMNOP leaked", "SG.0123456789abcdef.ABCDEFGHIJKLMNOP"),
        ("password=hunter2 in config", "hunter2"),
    ],
)
def test_credentials_are_masked(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out and "[redacted]" in out
    assert redact(out) == out  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        "550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown in virtual mailbox table",
        "421 4.7.0 Try again later, closing connection (queued as 4F3A2B1C0D)",
        "SendGrid 400: personalizations.0.to: Does not contain a valid address.",
        "connection refused (during DATA)",
    ],
)
def test_ordinary_replies_are_untouched(text: str) -> None:
    assert redact(text) == text
