"""make_mailer: backend selection and configuration errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from novel_events.errors import InvalidInput
from novel_events.mailers.factory import make_mailer
from novel_events.mailers.outbox import OutboxMailer
from novel_events.mailers.sendgrid_mailer import SendGridMailer
from novel_events.mailers.smtp import SmtpMailer

SECRET = "hunter2-SECRET"


def test_outbox(tmp_path: Path) -> None:
    mailer = make_mailer("outbox", outbox_dir=tmp_path)

    assert isinstance(mailer, OutboxMailer) and mailer.directory == tmp_path
    assert mailer.name == "outbox"


def test_smtp_accepts_secret_str_and_timeout() -> None:
    mailer = make_mailer(" SMTP ", smtp_url=SecretStr(f"smtps://bot:{SECRET}@relay.test"), timeout=3)

    assert isinstance(mailer, SmtpMailer)
    assert (mailer.config.host, mailer.config.port, mailer.timeout) == ("relay.test", 465, 3)
    assert SECRET not in repr(mailer)


def test_sendgrid_with_host() -> None:
    mailer = make_mailer(
        "sendgrid", sendgrid_api_key=SecretStr(SECRET), sendgrid_host="http://127.0.0.1:9/", sendgrid_timeout=4
    )

    assert isinstance(mailer, SendGridMailer)
    assert (mailer.host, mailer.timeout) == ("http://127.0.0.1:9", 4)
    assert SECRET not in repr(mailer)


def test_sendgrid_default_host() -> None:
    mailer = make_mailer("sendgrid", sendgrid_api_key="k", sendgrid_host=None)

    assert isinstance(mailer, SendGridMailer) and mailer.host == "https://api.sendgrid.com"


@pytest.mark.parametrize(
    ("backend", "kwargs", "mentions"),
    [
        ("carrier-pigeon", {}, "accepted: outbox, smtp, sendgrid"),
        ("", {}, "accepted: outbox, smtp, sendgrid"),
        ("outbox", {"outbox_dir": None}, "NOVEL_EVENTS_OUTBOX_DIR"),
        ("smtp", {"smtp_url": None}, "NOVEL_EVENTS_SMTP_URL"),
        ("smtp", {"smtp_url": SecretStr("")}, "NOVEL_EVENTS_SMTP_URL"),
        ("sendgrid", {"sendgrid_api_key": None}, "NOVEL_EVENTS_SENDGRID_API_KEY"),
    ],
)
def test_unknown_backend_or_missing_config(backend: str, kwargs: dict[str, object], mentions: str) -> None:
    with pytest.raises(InvalidInput) as info:
        make_mailer(backend, **kwargs)  # type: ignore[arg-type]

    assert info.value.field == "EMAIL_BACKEND"
    assert mentions in str(info.value)


def test_bad_smtp_url_names_the_field_not_the_secret() -> None:
    with pytest.raises(InvalidInput) as info:
        make_mailer("smtp", smtp_url=f"smtq://bot:{SECRET}@relay.test")

    assert info.value.field == "SMTP_URL"
    assert SECRET not in str(info.value)
