"""SmtpMailer (real smtplib) against the local aiosmtpd fake: content, TLS, AUTH, classification."""

from __future__ import annotations

import datetime as dt
import socket
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from novel_events.errors import InvalidInput, OutcomeUnknown, PermanentError, TransientError, is_transient
from novel_events.mailers.base import OutgoingEmail
from novel_events.mailers.smtp import SmtpMailer, parse_smtp_url
from tests.fakes.smtp_server import FakeSmtpServer, TlsFiles, make_tls_files

USER = "digest-bot"
PASSWORD = "p@ss:w/rd%SECRET"  # needs percent-encoding in a URL
AUTH = f"{USER}:{quote(PASSWORD, safe='')}@"


def make_email(**overrides: object) -> OutgoingEmail:
    fields: dict[str, object] = {
        "to": "Alice Example <alice@example.com>",
        "from_": "Novel Events <digest@novel-events.test>",
        "subject": "2 unusual events: Lisbon trip, Café with Zoë",
        "html": "<html><body><h1>Your digest</h1><p>Café with Zoë</p></body></html>",
        "text": "Your digest\n\n- Café with Zoë\n",
        "message_id": "<digest.alice.20240601T0700Z@novel-events.test>",
        "date": dt.datetime(2024, 6, 1, 7, 0, tzinfo=dt.UTC),
    }
    fields.update(overrides)
    return OutgoingEmail(**fields)  # type: ignore[arg-type]


def _full_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def plain_server() -> Iterator[FakeSmtpServer]:
    with FakeSmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def auth_server() -> Iterator[FakeSmtpServer]:
    with FakeSmtpServer(username=USER, password=PASSWORD) as server:
        yield server


@pytest.fixture(scope="module")
def starttls_server(tls: TlsFiles) -> Iterator[FakeSmtpServer]:
    with FakeSmtpServer(username=USER, password=PASSWORD, tls=tls) as server:
        yield server


@pytest.fixture(scope="module")
def smtps_server(tls: TlsFiles) -> Iterator[FakeSmtpServer]:
    with FakeSmtpServer(tls=tls, implicit_tls=True) as server:
        yield server


@pytest.fixture
def smtp(plain_server: FakeSmtpServer) -> FakeSmtpServer:
    plain_server.reset()
    return plain_server


@pytest.fixture
def smtp_auth(auth_server: FakeSmtpServer) -> FakeSmtpServer:
    auth_server.reset()
    return auth_server


def plain_mailer(server: FakeSmtpServer, timeout: float = 2.0) -> SmtpMailer:
    return SmtpMailer(f"smtp://{server.host}:{server.port}", timeout=timeout)


# -- success paths ---------------------------------------------------------------------------------


def test_send_delivers_both_alternatives_and_returns_queue_id(smtp: FakeSmtpServer) -> None:
    email = make_email(headers={"List-Unsubscribe": "<https://novel-events.test/u/alice>"})

    provider_id = plain_mailer(smtp).send(email)

    [received] = smtp.messages
    assert provider_id.startswith("FAKE")
    assert received.mail_from == "digest@novel-events.test"
    assert received.rcpt_tos == ["alice@example.com"]
    msg = received.message
    assert msg["Subject"] == email.subject
    assert msg["Message-ID"] == email.message_id
    assert msg["List-Unsubscribe"] == "<https://novel-events.test/u/alice>"
    assert msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and html is not None
    # 8bit bodies keep the wire's CRLF line endings
    assert plain.get_content().replace("\r\n", "\n") == email.text
    assert html.get_content().strip() == email.html


def test_without_queue_id_in_reply_the_message_id_is_the_provider_id(smtp: FakeSmtpServer) -> None:
    smtp.fail_next("DATA", "250 OK")  # accepted, but says nothing about a queue

    assert plain_mailer(smtp).send(make_email()) == make_email().message_id


def test_auth_with_percent_encoded_credentials(smtp_auth: FakeSmtpServer) -> None:
    mailer = SmtpMailer(f"smtp://{AUTH}{smtp_auth.host}:{smtp_auth.port}", timeout=2)

    mailer.send(make_email())

    [received] = smtp_auth.messages
    assert received.login == USER
    assert PASSWORD not in repr(mailer)
    assert quote(PASSWORD, safe="") not in repr(mailer)


def test_starttls_with_auth(starttls_server: FakeSmtpServer, tls: TlsFiles) -> None:
    starttls_server.reset()
    url = f"smtp+starttls://{AUTH}{starttls_server.host}:{starttls_server.port}"
    mailer = SmtpMailer(url, timeout=2, ssl_context=tls.client_context())

    mailer.send(make_email())

    [received] = starttls_server.messages
    assert received.tls and received.login == USER


def test_smtps_implicit_tls(smtps_server: FakeSmtpServer, tls: TlsFiles) -> None:
    smtps_server.reset()
    url = f"smtps://{smtps_server.host}:{smtps_server.port}"

    SmtpMailer(url, timeout=2, ssl_context=tls.client_context()).send(make_email())

    assert smtps_server.messages[-1].tls


# -- classification --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "reply", "error"),
    [
        ("MAIL", "421 4.3.2 Service shutting down", TransientError),
        ("MAIL", "553 5.7.1 Sender address rejected", PermanentError),
        ("RCPT", "450 4.2.1 Mailbox busy", TransientError),
        ("RCPT", "550 5.1.1 No such user", PermanentError),
        ("DATA", "451 4.3.0 Try again later", TransientError),
        ("DATA", "554 5.7.1 Message rejected as spam", PermanentError),
    ],
)
def test_reply_codes_are_classified(smtp: FakeSmtpServer, stage: str, reply: str, error: type[Exception]) -> None:
    smtp.fail_next(stage, reply)

    with pytest.raises(error) as info:
        plain_mailer(smtp).send(make_email())

    assert reply.split()[0] in str(info.value)
    assert is_transient(info.value) is (error is TransientError)
    assert smtp.messages == []


def test_wrong_password_is_permanent_and_secret_free(smtp_auth: FakeSmtpServer) -> None:
    wrong = "WRONG-secret-%2F-pw"
    url = f"smtp://{USER}:{quote(wrong, safe='')}@{smtp_auth.host}:{smtp_auth.port}"
    mailer = SmtpMailer(url, timeout=2)

    with pytest.raises(PermanentError, match="authentication failed") as info:
        mailer.send(make_email())

    text = _full_text(info.value) + repr(mailer)
    assert wrong not in text and quote(wrong, safe="") not in text
    assert smtp_auth.messages == []


def test_temporary_auth_failure_is_transient(smtp_auth: FakeSmtpServer) -> None:
    for _ in range(2):  # smtplib tries PLAIN, then LOGIN
        smtp_auth.fail_next("AUTH", "454 4.7.0 Temporary authentication failure")
    mailer = SmtpMailer(f"smtp://{AUTH}{smtp_auth.host}:{smtp_auth.port}", timeout=2)

    with pytest.raises(TransientError, match="454") as info:
        mailer.send(make_email())

    assert PASSWORD not in _full_text(info.value)


def test_no_credentials_when_server_requires_auth_is_permanent(smtp_auth: FakeSmtpServer) -> None:
    with pytest.raises(PermanentError, match="530"):
        plain_mailer(smtp_auth).send(make_email())


def test_no_reply_to_the_end_of_data_is_an_unknown_outcome_not_a_failure(smtp: FakeSmtpServer) -> None:
    smtp.reset()
    smtp.delay_next("AFTER_DATA", 3.0)  # the relay stored the message, the reply never reaches us in time

    with pytest.raises(OutcomeUnknown, match="may have been delivered") as info:
        SmtpMailer(f"smtp://{smtp.host}:{smtp.port}", timeout=0.3, data_timeout=0.5).send(make_email())

    assert is_transient(info.value)  # retried, but (ledger) at most once
    assert len(smtp.messages) == 1  # the relay did take it: treating this as "failed" would send a copy


def test_the_end_of_data_reply_gets_the_rfc_wait_not_the_command_timeout(smtp: FakeSmtpServer) -> None:
    smtp.reset()
    smtp.delay_next("DATA", 1.0)  # slower than a command may take, well within RFC 5321's 10 minutes

    queue_id = SmtpMailer(f"smtp://{smtp.host}:{smtp.port}", timeout=0.3, data_timeout=5).send(make_email())

    assert queue_id and len(smtp.messages) == 1


def test_a_relay_that_refuses_the_data_is_a_definite_failure(smtp: FakeSmtpServer) -> None:
    smtp.reset()
    smtp.fail_next("DATA", "451 4.3.0 try later")

    with pytest.raises(TransientError) as info:
        plain_mailer(smtp).send(make_email())

    assert not isinstance(info.value, OutcomeUnknown) and smtp.messages == []


def test_silent_server_times_out_as_transient() -> None:
    with socket.socket() as listener:  # accepts TCP connections but never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(TransientError, match="timed out"):
            SmtpMailer(f"smtp://127.0.0.1:{port}", timeout=0.3).send(make_email())
        assert time.monotonic() - started < 2.0


def test_connection_refused_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    with pytest.raises(TransientError):
        SmtpMailer(f"smtp://{AUTH}127.0.0.1:{port}", timeout=1).send(make_email())


def test_untrusted_certificate_is_permanent(smtps_server: FakeSmtpServer) -> None:
    url = f"smtps://{AUTH}{smtps_server.host}:{smtps_server.port}"  # system trust store only

    with pytest.raises(PermanentError, match="certificate verification failed") as info:
        SmtpMailer(url, timeout=2).send(make_email())

    assert PASSWORD not in _full_text(info.value)


def test_starttls_required_but_not_offered_is_permanent(smtp: FakeSmtpServer) -> None:
    url = f"smtp+starttls://{smtp.host}:{smtp.port}"

    with pytest.raises(PermanentError, match="STARTTLS"):
        SmtpMailer(url, timeout=2).send(make_email())


# -- URL parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "port", "implicit_tls", "starttls"),
    [
        ("smtp://relay.test", 25, False, False),
        ("smtp://relay.test:2525", 2525, False, False),
        ("smtp://relay.test?starttls=true", 587, False, True),
        ("smtp://relay.test:25?starttls=false", 25, False, False),
        ("smtp+starttls://relay.test", 587, False, True),
        ("SMTPS://relay.test", 465, True, False),
    ],
)
def test_parse_url_forms(url: str, port: int, implicit_tls: bool, starttls: bool) -> None:
    cfg = parse_smtp_url(url)

    assert (cfg.host, cfg.port, cfg.implicit_tls, cfg.starttls) == (
        "relay.test",
        port,
        implicit_tls,
        starttls,
    )
    assert cfg.username is None


def test_parse_url_decodes_credentials_and_redacts() -> None:
    cfg = parse_smtp_url(f"smtps://{AUTH}relay.test")

    assert (cfg.username, cfg.password) == (USER, PASSWORD)
    assert cfg.redacted_url() == f"smtps://{USER}:***@relay.test:465"
    assert PASSWORD not in repr(cfg)


@pytest.mark.parametrize(
    "url",
    [
        f"http://{AUTH}relay.test",
        f"smtp://{AUTH}",
        f"smtp://{AUTH}relay.test:notaport",
        f"smtp://{AUTH}relay.test?tls=1",
        f"smtp://{AUTH}relay.test?starttls=maybe",
        f"smtps://{AUTH}relay.test?starttls=true",
    ],
)
def test_bad_urls_raise_invalid_input_without_the_password(url: str) -> None:
    with pytest.raises(InvalidInput) as info:
        SmtpMailer(url)

    assert info.value.field == "SMTP_URL"
    assert PASSWORD not in _full_text(info.value)
    assert quote(PASSWORD, safe="") not in _full_text(info.value)


def test_tls_files_fixture_writes_pem(tls: TlsFiles) -> None:
    assert Path(tls.certfile).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
