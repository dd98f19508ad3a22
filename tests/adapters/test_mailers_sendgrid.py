"""SendGridMailer with the real ``sendgrid`` client against the local fake SendGrid server."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import traceback
from collections.abc import Iterator

import pytest

from novel_events.errors import OutcomeUnknown, PermanentError, TransientError, is_transient
from novel_events.mailers.base import OutgoingEmail
from novel_events.mailers.sendgrid_mailer import CUSTOM_ARG_MESSAGE_ID, SendGridMailer
from tests.fakes.sendgrid_server import FakeSendGrid, Reply, error_body

API_KEY = "SG.unit-test-key.DO-NOT-LEAK-1234567890"


def make_email(**overrides: object) -> OutgoingEmail:
    fields: dict[str, object] = {
        "to": "Alice Example <alice@example.com>",
        "from_": "Novel Events <digest@novel-events.test>",
        "subject": "3 unusual events this week: Lisbon trip, dentist, board review",
        "html": "<html><body><h1>Your digest</h1><p>Lisbon trip</p></body></html>",
        "text": "Your digest\n\n- Lisbon trip\n",
        "message_id": "<digest.alice.20240601T0700Z@novel-events.test>",
        "date": dt.datetime(2024, 6, 1, 7, 0, tzinfo=dt.UTC),
    }
    fields.update(overrides)
    return OutgoingEmail(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeSendGrid]:
    with FakeSendGrid(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def sg(server: FakeSendGrid) -> FakeSendGrid:
    server.reset()
    return server


@pytest.fixture
def mailer(sg: FakeSendGrid) -> SendGridMailer:
    return SendGridMailer(API_KEY, host=sg.url, timeout=2)


def _full_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc)


def test_send_posts_v3_payload_and_returns_x_message_id(sg: FakeSendGrid, mailer: SendGridMailer) -> None:
    email = make_email(headers={"List-Unsubscribe": "<https://novel-events.test/u/alice>"})

    provider_id = mailer.send(email)

    [request] = sg.sends()
    assert provider_id == sg.message_ids[-1]
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["User-Agent"].startswith("sendgrid/")
    body = request.json
    assert body["from"] == {"email": "digest@novel-events.test", "name": "Novel Events"}
    assert body["personalizations"] == [{"to": [{"email": "alice@example.com", "name": "Alice Example"}]}]
    assert body["subject"] == email.subject
    assert body["content"] == [
        {"type": "text/plain", "value": email.text},
        {"type": "text/html", "value": email.html},
    ]
    assert body["headers"]["Message-ID"] == email.message_id
    assert body["headers"]["List-Unsubscribe"] == "<https://novel-events.test/u/alice>"
    assert body["custom_args"] == {CUSTOM_ARG_MESSAGE_ID: email.message_id}


def test_reserved_headers_are_not_sent_and_reply_to_uses_its_field(sg: FakeSendGrid, mailer: SendGridMailer) -> None:
    email = make_email(
        headers={
            "Reply-To": "Support <help@novel-events.test>",
            "Subject": "must not override",
            "Content-Type": "text/plain",
            "X-Novel-Events-User": "Zoë",
        }
    )

    mailer.send(email)  # the fake answers 400 if a reserved header slips through

    body = sg.sends()[-1].json
    assert body["reply_to"] == {"email": "help@novel-events.test", "name": "Support"}
    assert set(body["headers"]) == {"Message-ID", "X-Novel-Events-User"}
    assert body["headers"]["X-Novel-Events-User"].startswith("=?utf-8?")
    assert body["subject"] == email.subject


def test_429_is_transient_and_honours_retry_after(sg: FakeSendGrid, mailer: SendGridMailer) -> None:
    sg.enqueue(Reply.rate_limited(retry_after=7))

    with pytest.raises(TransientError) as info:
        mailer.send(make_email())

    assert info.value.retry_after == 7
    assert "429" in str(info.value)
    assert is_transient(info.value)


def test_429_falls_back_to_x_ratelimit_reset(sg: FakeSendGrid, mailer: SendGridMailer) -> None:
    sg.enqueue(Reply.rate_limited(reset_in=30))

    with pytest.raises(TransientError) as info:
        mailer.send(make_email())

    assert info.value.retry_after is not None
    assert 25 <= info.value.retry_after <= 31


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(sg: FakeSendGrid, mailer: SendGridMailer, status: int) -> None:
    sg.enqueue(Reply.server_error(status))

    with pytest.raises(TransientError, match=str(status)):
        mailer.send(make_email())


def test_retry_after_transient_error_succeeds(sg: FakeSendGrid, mailer: SendGridMailer) -> None:
    sg.enqueue(Reply.server_error(503))
    with pytest.raises(TransientError):
        mailer.send(make_email())

    assert mailer.send(make_email()) == sg.message_ids[-1]
    assert len(sg.sends()) == 2


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            Reply.bad_request("Does not contain a valid address.", "personalizations.0.to.0.email"),
            "Does not contain a valid address",
        ),
        (
            Reply(403, error_body("The from address does not match a verified Sender Identity.")),
            "verified Sender Identity",
        ),
        (Reply(413, error_body("Payload too large")), "too large"),
    ],
)
def test_client_errors_are_permanent_with_sendgrids_reason(
    sg: FakeSendGrid, mailer: SendGridMailer, reply: Reply, expected: str
) -> None:
    sg.enqueue(reply)

    with pytest.raises(PermanentError) as info:
        mailer.send(make_email())

    assert expected in str(info.value)
    assert str(reply.status) in str(info.value)
    assert not is_transient(info.value)
    assert API_KEY not in _full_text(info.value)


def test_wrong_api_key_is_permanent_and_never_leaks(sg: FakeSendGrid) -> None:
    wrong_key = "SG.wrong-key-SECRET-abcdef"
    mailer = SendGridMailer(wrong_key, host=sg.url, timeout=2)

    with pytest.raises(PermanentError) as info:
        mailer.send(make_email())

    text = _full_text(info.value)
    assert "401" in text
    assert "authorization grant is invalid" in text
    assert wrong_key not in text
    assert wrong_key not in repr(mailer)
    assert sg.sends()[-1].headers["Authorization"] == f"Bearer {wrong_key}"  # it was really sent


def test_no_answer_after_the_request_went_out_is_an_unknown_outcome(sg: FakeSendGrid) -> None:
    """The request reached SendGrid whole; without its answer the message may have been accepted."""
    mailer = SendGridMailer(API_KEY, host=sg.url, timeout=0.3)
    sg.enqueue(Reply.slow(3.0))

    with pytest.raises(OutcomeUnknown, match="may have been accepted") as info:
        mailer.send(make_email())

    assert is_transient(info.value)  # retried, but the ledger allows one re-send at most


def test_the_default_timeout_is_generous_and_explicit() -> None:
    assert SendGridMailer(API_KEY, host="http://127.0.0.1:9").timeout == 60


def test_connection_refused_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mailer = SendGridMailer(API_KEY, host=f"http://127.0.0.1:{port}", timeout=1)

    with pytest.raises(TransientError) as info:
        mailer.send(make_email())

    assert API_KEY not in _full_text(info.value)


def test_client_debug_log_does_not_contain_the_api_key(
    sg: FakeSendGrid, mailer: SendGridMailer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="python_http_client"):
        mailer.send(make_email())

    assert "Bearer ***" in caplog.text
    assert API_KEY not in caplog.text


def test_missing_api_key_is_rejected() -> None:
    with pytest.raises(ValueError):
        SendGridMailer("")
