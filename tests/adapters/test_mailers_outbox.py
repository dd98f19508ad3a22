"""OutboxMailer: file naming, RFC 5322 content, atomic writes and idempotency by Message-ID."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
from email.message import EmailMessage
from pathlib import Path
from typing import cast

import pytest

from novel_events.errors import PermanentError
from novel_events.mailers.base import OutgoingEmail
from novel_events.mailers.outbox import OutboxMailer

NAME = re.compile(r"^(\d{8}T\d{6}Z)-([a-z0-9._-]+)-([0-9a-f]{12})\.eml$")


def make_email(**overrides: object) -> OutgoingEmail:
    fields: dict[str, object] = {
        "to": "Alice Example <alice@example.com>",
        "from_": "Novel Events <digest@novel-events.test>",
        "subject": "2 unusual events: Lisbon trip, Café with Zoë",
        "html": "<html><body><p>Café with Zoë</p></body></html>",
        "text": "Your digest\n\n- Café with Zoë\n",
        "message_id": "<digest.alice.20240601T0700Z@novel-events.test>",
        "date": dt.datetime(2024, 6, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    }
    fields.update(overrides)
    return OutgoingEmail(**fields)  # type: ignore[arg-type]


def read_eml(path: Path) -> EmailMessage:
    return cast(EmailMessage, email.message_from_bytes(path.read_bytes(), policy=email.policy.default))


def test_writes_eml_and_html_with_sortable_safe_name(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox" / "nested"  # created on demand
    mail = make_email()

    provider_id = OutboxMailer(outbox).send(mail)

    name = provider_id.removeprefix("outbox:")
    assert provider_id.startswith("outbox:")
    match = NAME.match(name)
    assert match is not None, name
    assert match.group(1) == "20240601T070000Z"  # the message date, in UTC
    assert match.group(2) == "alice"
    assert sorted(p.name for p in outbox.iterdir()) == sorted([name, name.replace(".eml", ".html")])
    assert (outbox / name.replace(".eml", ".html")).read_text(encoding="utf-8") == mail.html


def test_eml_is_rfc5322_with_both_alternatives(tmp_path: Path) -> None:
    mail = make_email(headers={"List-Unsubscribe": "<https://novel-events.test/u/alice>"})
    name = OutboxMailer(tmp_path).send(mail).removeprefix("outbox:")
    raw = (tmp_path / name).read_bytes()

    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    msg = read_eml(tmp_path / name)
    assert msg["Subject"] == mail.subject
    assert msg["Message-ID"] == mail.message_id
    assert msg["To"] == mail.to
    assert msg["List-Unsubscribe"] == "<https://novel-events.test/u/alice>"
    plain, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().replace("\r\n", "\n") == mail.text
    assert html.get_content().strip() == mail.html


def test_same_message_id_overwrites_the_same_file(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path)
    first = mailer.send(make_email(subject="first render"))
    later = make_email(subject="second render", date=dt.datetime(2024, 6, 1, 9, 5, tzinfo=dt.UTC))

    second = mailer.send(later)

    assert second == first
    emls = sorted(tmp_path.glob("*.eml"))
    assert len(emls) == 1 and len(list(tmp_path.glob("*.html"))) == 1
    assert read_eml(emls[0])["Subject"] == "second render"


def test_replacement_is_atomic_for_readers(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path)
    name = mailer.send(make_email(text="old body\n")).removeprefix("outbox:")
    path = tmp_path / name
    old_inode = path.stat().st_ino

    with path.open("rb") as reader:  # a reader holding the old file keeps a complete old message
        mailer.send(make_email(text="new body\n"))
        old = reader.read()

    assert b"old body" in old and old.rstrip().endswith(b"--")
    assert path.stat().st_ino != old_inode  # replaced, not truncated in place
    assert b"new body" in path.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_different_messages_get_different_files_in_time_order(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path)
    late = mailer.send(make_email(message_id="<b@x>", date=dt.datetime(2024, 6, 2, 7, 0, tzinfo=dt.UTC)))
    early = mailer.send(make_email(message_id="<a@x>", date=dt.datetime(2024, 6, 1, 7, 0, tzinfo=dt.UTC)))

    assert sorted(p.name for p in tmp_path.glob("*.eml")) == [
        early.removeprefix("outbox:"),
        late.removeprefix("outbox:"),
    ]


@pytest.mark.parametrize(
    ("to", "local"),
    [
        ("Bob <Bob.Smith+digest@example.com>", "bob.smith_digest"),
        ('"Evil" <../../etc/passwd@example.com>', "etc_passwd"),
        ("ünïcødé@example.com", "n_c_d"),
        ("@example.com", "recipient"),
        ("x" * 200 + "@example.com", "x" * 40),
    ],
)
def test_recipient_part_of_the_name_is_sanitised(tmp_path: Path, to: str, local: str) -> None:
    name = OutboxMailer(tmp_path).send(make_email(to=to)).removeprefix("outbox:")

    match = NAME.match(name)
    assert match is not None and match.group(2) == local
    assert os.sep not in name and (tmp_path / name).is_file()


def test_naive_dates_are_taken_as_utc_and_html_is_optional(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path, write_html=False)

    name = mailer.send(make_email(date=dt.datetime(2024, 1, 2, 3, 4, 5))).removeprefix("outbox:")

    assert name.startswith("20240102T030405Z-")
    assert [p.suffix for p in tmp_path.iterdir()] == [".eml"]


def test_unwritable_directory_is_permanent(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")

    with pytest.raises(PermanentError, match="outbox"):
        OutboxMailer(blocker / "outbox").send(make_email())
