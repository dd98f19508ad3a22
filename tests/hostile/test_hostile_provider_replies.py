"""Providers that echo credentials: nothing of them reaches an exception (message or chained cause)."""

from __future__ import annotations

import base64
import datetime as dt
import traceback
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from novel_events.errors import PermanentError
from novel_events.mailers.base import OutgoingEmail
from novel_events.mailers.sendgrid_mailer import SendGridMailer
from novel_events.mailers.smtp import SmtpMailer
from tests.fakes.sendgrid_server import FakeSendGrid, Reply, error_body
from tests.fakes.smtp_server import FakeSmtpServer

USER, PASSWORD = "mailer@example.org", "Hunter2-very-secret"
PLAIN = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
API_KEY = "SG.hostile-test-key.DO-NOT-LEAK-0987654321"


def _email() -> OutgoingEmail:
    return OutgoingEmail(
        to="ann@example.org",
        from_="Digest <digest@example.org>",
        subject="s",
        html="<p>t</p>",
        text="t",
        message_id="<m1@example.org>",
        date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )


def _everything(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


@pytest.fixture(scope="module")
def smtp() -> Iterator[FakeSmtpServer]:
    with FakeSmtpServer(username=USER, password=PASSWORD) as server:
        yield server


def test_an_smtp_server_echoing_the_auth_line_leaks_nothing(smtp: FakeSmtpServer) -> None:
    for _ in range(2):  # smtplib tries PLAIN, then LOGIN
        smtp.fail_next("AUTH", f"535 5.7.8 rejected: AUTH PLAIN {PLAIN}")
    mailer = SmtpMailer(f"smtp://{quote(USER, safe='')}:{PASSWORD}@{smtp.host}:{smtp.port}", timeout=5)
    with pytest.raises(PermanentError, match="535") as info:
        mailer.send(_email())
    text = _everything(info.value)
    assert PLAIN not in text and PASSWORD not in text and "[redacted]" in str(info.value)


def test_an_smtp_reply_echoing_a_bare_payload_leaks_nothing(smtp: FakeSmtpServer) -> None:
    smtp.reset()
    smtp.fail_next("DATA", f"554 5.6.0 unexpected line {PLAIN}")
    mailer = SmtpMailer(f"smtp://{quote(USER, safe='')}:{PASSWORD}@{smtp.host}:{smtp.port}", timeout=5)
    with pytest.raises(PermanentError, match="554") as info:
        mailer.send(_email())
    assert PLAIN not in _everything(info.value)


def test_a_sendgrid_error_echoing_credentials_leaks_nothing() -> None:
    echoed = f"bad header Authorization: Bearer {API_KEY}; see https://user:pw123456@api.example.org/x"
    with FakeSendGrid(api_key=API_KEY) as sg:
        sg.enqueue(Reply(status=400, body=error_body(echoed)))
        mailer = SendGridMailer(API_KEY, host=sg.url, timeout=5)
        with pytest.raises(PermanentError) as info:
            mailer.send(_email())
    text = _everything(info.value)
    assert API_KEY not in text and "pw123456" not in text and "hostile-test-key" not in text
