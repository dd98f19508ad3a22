"""Signed email links: manage, unsubscribe, mute; tamper, purpose swap and expiry are refused."""

from __future__ import annotations

import datetime as dt

import pytest

from novel_events.errors import InvalidInput
from novel_events.events import NovelEvent
from novel_events.links import (
    MANAGE,
    MANAGE_TTL,
    UNSUBSCRIBE,
    LinkSigner,
    email_links,
    read_token,
    unsubscribe_headers,
)
from novel_events.novelty import MuteRule
from novel_events.settings import Settings

NOW = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)
SIGNER = LinkSigner("https://digest.example.org", b"k" * 32)


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_manage_link_names_its_user_and_expires() -> None:
    url = SIGNER.manage_url("ada", NOW)
    assert url.startswith("https://digest.example.org/manage/")
    assert SIGNER.user_for(MANAGE, _token(url), NOW + MANAGE_TTL - dt.timedelta(seconds=1)) == "ada"
    with pytest.raises(InvalidInput, match="expired") as err:
        SIGNER.user_for(MANAGE, _token(url), NOW + MANAGE_TTL + dt.timedelta(seconds=1))
    assert err.value.field == "link"


def test_a_token_is_bound_to_its_purpose_and_key() -> None:
    unsub = _token(SIGNER.unsubscribe_url("ada", NOW))
    assert SIGNER.user_for(UNSUBSCRIBE, unsub, NOW) == "ada"
    with pytest.raises(InvalidInput, match="not valid"):
        SIGNER.user_for(MANAGE, unsub, NOW)  # an unsubscribe link never opens settings
    with pytest.raises(InvalidInput, match="not valid"):
        LinkSigner(SIGNER.public_url, b"other-key" * 4).user_for(UNSUBSCRIBE, unsub, NOW)


@pytest.mark.parametrize("token", ["", "abc", "abc.def", ".", "x" * 500])
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(InvalidInput):
        read_token(b"k" * 32, MANAGE, token, now=NOW)


def test_tampered_payload_is_refused() -> None:
    body, mac = _token(SIGNER.manage_url("ada", NOW)).split(".")
    import base64
    import json

    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["u"] = "bob"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidInput):
        SIGNER.user_for(MANAGE, f"{forged}.{mac}", NOW)


def test_mute_link_carries_the_rule() -> None:
    rule = MuteRule("series", "abc123", "Pottery class")
    assert SIGNER.mute_for(_token(SIGNER.mute_url("ada", rule, NOW)), NOW) == ("ada", rule)


def test_headers_rfc8058() -> None:
    h = unsubscribe_headers(SIGNER, "ada", NOW)
    assert h["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    value = h["List-Unsubscribe"]
    assert value.startswith("<https://digest.example.org/unsubscribe/") and value.endswith(">")
    assert unsubscribe_headers(None, "ada", NOW, "https://x.example/u/{user_id}") == {
        "List-Unsubscribe": "<https://x.example/u/ada>"
    }
    assert unsubscribe_headers(None, "ada", NOW) == {}


def test_email_links_give_each_event_its_mute_link() -> None:
    ev = {"id": "e1", "summary": "Dentist", "start": {"dateTime": "2026-12-02T09:00:00+00:00"}}
    n = NovelEvent("primary", "e1", 0.9, ("first time",), ev, NOW + dt.timedelta(days=1), False)
    links = email_links(SIGNER, "ada", [n], NOW)
    assert SIGNER.user_for(MANAGE, _token(links["manage_url"]), NOW) == "ada"
    assert SIGNER.mute_for(_token(links["mute_urls"][("primary", "e1")]), NOW) == (
        "ada",
        MuteRule("title", "dentist", "Dentist"),
    )
    assert email_links(None, "ada", [n], NOW) == {"manage_url": None}


def test_settings_make_a_signer_only_with_url_and_key() -> None:
    assert Settings(public_url=None, secret_key="s" * 20).link_signer() is None  # type: ignore[arg-type]
    s = Settings(public_url="https://d.example.org/", secret_key="s" * 20)  # type: ignore[arg-type]
    signer = s.link_signer()
    assert signer is not None and signer.public_url == "https://d.example.org"
    with pytest.raises(ValueError, match="PUBLIC_URL"):
        Settings(public_url="javascript:alert(1)")
