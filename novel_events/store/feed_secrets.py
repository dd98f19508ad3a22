"""Private feed URLs are credentials: sealed (Fernet) in the store, shown masked everywhere else.

A feed URL (``ics:https://…``, often with a token in its path or query) is stored as
``enc:v1:<Fernet token>`` under the store key; local paths (``ics:/…``) and ``google`` stay readable.

The store key comes from ``NOVEL_EVENTS_STORE_KEY`` (a Fernet key; required when the store is a
server database shared by several machines), else from ``HOME/secrets/store-key`` (0600), created on
first use for the default local SQLite store. The key never lives in the database.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken

from novel_events.errors import InvalidInput, PermanentError

PREFIX = "enc:v1:"
KEY_FILE = "store-key"


def is_private(source: str) -> bool:
    """True for sources that are credentials in themselves: feed URLs."""
    return source.startswith("ics:") and "://" in source and not source[4:].lower().startswith("file://")


def mask_source(source: str) -> str:
    """What may be shown of a source: ``ics:https://host/…`` for a URL, the source itself otherwise."""
    if source.startswith(PREFIX):
        return "ics:(sealed)"
    if not is_private(source):
        return source
    try:
        parts = urlsplit(source[4:])
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "ics:…"
    return f"ics:{parts.scheme}://{host}{port}/…"


def _valid(key: bytes, origin: str) -> bytes:
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise InvalidInput(
            origin,
            "is not a Fernet key (32 url-safe base64-encoded bytes, e.g. from "
            "cryptography.fernet.Fernet.generate_key())",
        ) from None
    return key


def store_key(settings: Any) -> bytes:
    """The store key (see the module docstring); creates the local key file when that is the rule."""
    if settings.store_key is not None:
        return _valid(settings.store_key.get_secret_value().strip().encode(), "NOVEL_EVENTS_STORE_KEY")
    path = Path(settings.home) / "secrets" / KEY_FILE
    if path.is_file():
        return _valid(path.read_bytes().strip(), str(path))
    if settings.database_url is not None:
        raise PermanentError(
            "NOVEL_EVENTS_STORE_KEY is not set: it is needed to store and read private feed URLs "
            "in a shared database (use the same key on every machine)"
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return _valid(path.read_bytes().strip(), str(path))
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
    return key


def seal(source: str, key: bytes) -> str:
    if not is_private(source):
        return source
    return PREFIX + Fernet(key).encrypt(source.encode()).decode("ascii")


def unseal(value: str, key: bytes) -> str:
    if not value.startswith(PREFIX):
        return value  # google, a local path, or a URL stored before sealing existed
    try:
        return Fernet(key).decrypt(value[len(PREFIX) :].encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise PermanentError(
            "cannot unseal a stored feed URL: the store key differs from the one it was "
            "stored with (NOVEL_EVENTS_STORE_KEY)"
        ) from None
