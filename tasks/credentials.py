"""Where secrets live: Prefect ``Secret`` blocks (encrypted at rest by the Prefect server).

- ``novel-events-google-<user_id>``: the user's Google grant (refresh token + the OAuth client it
  belongs to) as JSON. Written by ``novel-events connect`` (:func:`connect_grant`), read by the fetch
  task, deleted when the user leaves Google (:func:`forget_unused_grant`), never logged.

This module is the one API for stored credentials: callers (CLI, web) never touch the blocks.
- ``novel-events-state-key``: the Fernet key that encrypts each user's incremental-sync state in the
  store. Created by ``novel-events init``.
Set ``PREFECT_SERVER_ENCRYPTION_KEY`` on the server in production so block data is encrypted with a
key you manage.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from prefect.blocks.system import Secret

from novel_events.errors import ReconnectRequired
from novel_events.models import User
from novel_events.names import STATE_KEY_BLOCK, grant_block_name
from novel_events.settings import Settings, load_settings
from novel_events.sources.google_auth import Grant, ServiceAccountGrant, UserGrant
from novel_events.sources.google_sync import new_state_key

__all__ = ["STATE_KEY_BLOCK", "grant_block_name"]


def save_grant(user_id: str, grant: Grant) -> None:
    if isinstance(grant, ServiceAccountGrant):
        data = {
            "type": "service_account",
            "info": dict(grant.info),
            "subject": grant.subject,
            "token_uri": grant.token_uri,
        }
    else:
        data = {"type": "authorized_user", **asdict(grant)}
    Secret(value=json.dumps(data)).save(grant_block_name(user_id), overwrite=True)  # type: ignore[arg-type]


def load_grant(user_id: str) -> Grant:
    try:
        secret = Secret.load(grant_block_name(user_id))
    except ValueError:
        raise ReconnectRequired(
            f"no Google grant stored for {user_id}: reconnect your calendar (novel-events connect {user_id})"
        ) from None
    value: Any = secret.get()  # type: ignore[union-attr]
    data: dict[str, Any] = value if isinstance(value, dict) else json.loads(str(value))
    if data.get("type") == "service_account":
        return ServiceAccountGrant(info=data["info"], subject=str(data["subject"]), token_uri=data.get("token_uri"))
    return UserGrant(
        refresh_token=str(data["refresh_token"]),
        client_id=str(data["client_id"]),
        client_secret=data.get("client_secret"),
        token_uri=str(data["token_uri"]),
    )


def delete_grant(user_id: str) -> bool:
    try:
        Secret.delete(grant_block_name(user_id))
    except Exception:
        return False
    return True


def connect_grant(user_id: str, grant: Grant, settings: Settings | None = None) -> str:
    """Store a freshly obtained grant for ``user_id`` and start its sync afresh; returns the block name.

    A new grant may belong to another Google account: the incremental-sync state is dropped and the
    user's "reconnect required" flag cleared. The one call the CLI (and the web app) make to connect.
    """
    from novel_events.store import SyncStateStore, UserStore
    from tasks.store import ready_engine

    save_grant(user_id, grant)
    engine = ready_engine(settings or load_settings())
    SyncStateStore(engine).put(user_id, "google", None)
    UserStore(engine).set_needs_reconnect(user_id, False)
    return grant_block_name(user_id)


def forget_unused_grant(before: User, after: User | None) -> bool:
    """Delete ``before``'s Google grant when the user was removed (``after`` None) or left Google.

    We keep no credential we do not use. True when a stored grant was deleted.
    """
    if before.source != "google" or (after is not None and after.source == "google"):
        return False
    return delete_grant(before.id)


def ensure_state_key() -> str:
    """Create the sync-state key once; returns 'created' or 'exists'."""
    try:
        Secret.load(STATE_KEY_BLOCK)
        return "exists"
    except ValueError:
        Secret(value=new_state_key().decode()).save(STATE_KEY_BLOCK)  # type: ignore[arg-type]
        return "created"


def state_key() -> bytes | None:
    try:
        return str(Secret.load(STATE_KEY_BLOCK).get()).encode()  # type: ignore[union-attr]
    except ValueError:
        return None


async def astate_key() -> bytes | None:
    """:func:`state_key` from async code (the worker, which hands it to the runs it forks)."""
    try:
        block: Secret[str] = await Secret.aload(STATE_KEY_BLOCK)
    except ValueError:
        return None
    return str(block.get()).encode()
