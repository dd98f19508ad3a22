"""Signed links in every email: manage (settings without a password), unsubscribe, and mute.

Pure: a key, a base URL and the clock are passed in; nothing is read from settings or the network.
A token is ``base64url(JSON payload) . base64url(HMAC-SHA256(key, purpose + payload))``; the purpose is
part of what is signed, so a mute token cannot be replayed as a manage token. Each payload carries its
expiry (Unix seconds). Tokens carry a user id and, for mutes, the rule: nothing secret.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from novel_events.errors import InvalidInput
from novel_events.events import NovelEvent
from novel_events.novelty.mutes import KINDS, MuteRule, rule_for_event

MANAGE = "manage"
UNSUBSCRIBE = "unsubscribe"
MUTE = "mute"

MANAGE_TTL = dt.timedelta(days=30)
UNSUBSCRIBE_TTL = dt.timedelta(days=400)  # RFC 8058: the link must keep working long after the email arrived
MUTE_TTL = dt.timedelta(days=90)
LINK_FIELD = "link"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, purpose: str, body: str) -> str:
    return _b64(hmac.new(key, f"novel-events/{purpose}\n{body}".encode(), hashlib.sha256).digest())


def make_token(key: bytes, purpose: str, data: dict[str, Any], *, now: dt.datetime, ttl: dt.timedelta) -> str:
    payload = {**data, "exp": int((now + ttl).timestamp())}
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(key, purpose, body)}"


def read_token(key: bytes, purpose: str, token: str, *, now: dt.datetime) -> dict[str, Any]:
    """The payload of a valid, unexpired token; InvalidInput('link', …) otherwise."""
    body, _, mac = (token or "").partition(".")
    if not body or not mac or not hmac.compare_digest(mac, _mac(key, purpose, body)):
        raise InvalidInput(LINK_FIELD, "this link is not valid; use the newest link from your digest")
    try:
        payload = json.loads(_unb64(body))
    except (ValueError, binascii.Error):
        raise InvalidInput(LINK_FIELD, "this link is not valid; use the newest link from your digest") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
        raise InvalidInput(LINK_FIELD, "this link is not valid; use the newest link from your digest")
    if payload["exp"] < now.timestamp():
        raise InvalidInput(LINK_FIELD, "this link has expired; use the link in your latest digest")
    return payload


@dataclass(frozen=True, slots=True)
class LinkSigner:
    """Builds and reads the signed links for one deployment (its public base URL and secret key)."""

    public_url: str
    key: bytes

    @property
    def base(self) -> str:
        return self.public_url.rstrip("/")

    def token(self, purpose: str, user_id: str, now: dt.datetime, ttl: dt.timedelta, **extra: Any) -> str:
        return make_token(self.key, purpose, {"u": user_id, **extra}, now=now, ttl=ttl)

    def manage_url(self, user_id: str, now: dt.datetime) -> str:
        return f"{self.base}/manage/{self.token(MANAGE, user_id, now, MANAGE_TTL)}"

    def unsubscribe_url(self, user_id: str, now: dt.datetime) -> str:
        return f"{self.base}/unsubscribe/{self.token(UNSUBSCRIBE, user_id, now, UNSUBSCRIBE_TTL)}"

    def mute_url(self, user_id: str, rule: MuteRule, now: dt.datetime) -> str:
        tok = self.token(MUTE, user_id, now, MUTE_TTL, k=rule.kind, v=rule.value, l=rule.label[:120])
        return f"{self.base}/mute/{quote(tok)}"

    def user_for(self, purpose: str, token: str, now: dt.datetime) -> str:
        payload = read_token(self.key, purpose, token, now=now)
        user = payload.get("u")
        if not isinstance(user, str):
            raise InvalidInput(LINK_FIELD, "this link is not valid; use the newest link from your digest")
        return user

    def mute_for(self, token: str, now: dt.datetime) -> tuple[str, MuteRule]:
        payload = read_token(self.key, MUTE, token, now=now)
        fields = (payload.get("u"), payload.get("k"), payload.get("v"), payload.get("l", ""))
        if not all(isinstance(f, str) for f in fields) or fields[1] not in KINDS:
            raise InvalidInput(LINK_FIELD, "this link is not valid; use the newest link from your digest")
        user, kind, value, label = (str(f) for f in fields)
        return user, MuteRule(kind, value, label)


def unsubscribe_headers(
    signer: LinkSigner | None, user_id: str, now: dt.datetime, legacy_url: str | None = None
) -> dict[str, str]:
    """``List-Unsubscribe`` (+ RFC 8058 ``List-Unsubscribe-Post`` when we serve the one-click POST)."""
    if signer is not None:
        return {
            "List-Unsubscribe": f"<{signer.unsubscribe_url(user_id, now)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    if legacy_url:
        return {"List-Unsubscribe": f"<{legacy_url.replace('{user_id}', user_id)}>"}
    return {}


def email_links(
    signer: LinkSigner | None, user_id: str, novel: list[NovelEvent], now: dt.datetime, legacy_url: str | None = None
) -> dict[str, Any]:
    """The ``render_digest`` keyword arguments for one digest's links (manage, unsubscribe, one mute per event)."""
    if signer is None:
        return {"manage_url": legacy_url.replace("{user_id}", user_id) if legacy_url else None}
    mutes = {}
    for n in novel:
        rule = rule_for_event(n.event)
        if rule is not None:
            mutes[(n.calendar_id, n.event_id)] = signer.mute_url(user_id, rule, now)
    return {
        "manage_url": signer.manage_url(user_id, now),
        "unsubscribe_url": signer.unsubscribe_url(user_id, now),
        "mute_urls": mutes,
    }
