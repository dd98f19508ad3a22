"""The two secrets of a Prefect server this project starts, kept in 0600 files apart from its database.

- **API auth string** (``PREFECT_SERVER_API_AUTH_STRING`` on the server, ``PREFECT_API_AUTH_STRING``
  on every client: workers, flow runs, the CLI): without it anyone who reaches the port can read
  every Secret block (``include_secrets``).
- **Encryption key** (``PREFECT_SERVER_ENCRYPTION_KEY``): Prefect encrypts block data (grants, the
  store password, the sync-state key) with it. Unset, Prefect keeps its key in its own database,
  so a copy of the database alone decrypts everything.

An operator may give either in the environment; otherwise each is generated once into
``<secrets dir>/`` (mode 0700, files 0600). A SQLite server that already has a key in its database
(started before this existed) keeps that key: it is moved to the file and deleted from the database,
so existing blocks stay readable and the database no longer holds its own key.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

AUTH_FILE = "prefect-api-auth"
KEY_FILE = "prefect-encryption-key"


def _private_dir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    return folder


def _read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The file's content, creating it (0600, exclusively) with ``make()`` when absent."""
    _private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        st = path.lstat()
        if not stat.S_ISREG(st.st_mode):
            raise RuntimeError(f"{path} is not a regular file") from None
        if st.st_mode & 0o077:
            os.chmod(path, 0o600)
        return path.read_text().strip()
    value = str(make())
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


def api_auth_string(secrets_dir: Path) -> str:
    given = os.environ.get("PREFECT_SERVER_API_AUTH_STRING") or os.environ.get("PREFECT_API_AUTH_STRING")
    if given:
        return given
    return _read_or_create(secrets_dir / AUTH_FILE, lambda: f"novel-events:{secrets.token_urlsafe(32)}")


def _db_key(prefect_home: Path, *, delete: bool = False) -> str | None:
    """The key a SQLite Prefect database keeps about itself (None if there is none); ``delete`` removes it."""
    db = prefect_home / "prefect.db"
    if not db.is_file():
        return None
    try:
        with sqlite3.connect(db) as conn:
            if delete:
                conn.execute("DELETE FROM configuration WHERE key = 'ENCRYPTION_KEY'")
                return None
            row = conn.execute("SELECT value FROM configuration WHERE key = 'ENCRYPTION_KEY'").fetchone()
        if row is None:
            return None
        data = json.loads(row[0]) if isinstance(row[0], str) else row[0]
        return str(data["fernet_key"])
    except (sqlite3.Error, KeyError, TypeError, ValueError):
        return None


def encryption_key(secrets_dir: Path, prefect_home: Path | None = None) -> str:
    given = os.environ.get("PREFECT_SERVER_ENCRYPTION_KEY")
    if given:
        return given
    path = secrets_dir / KEY_FILE
    adopted: list[str] = []

    def make() -> str:
        from cryptography.fernet import Fernet

        old = _db_key(prefect_home) if prefect_home is not None else None
        if old:
            adopted.append(old)
        return old or Fernet.generate_key().decode()

    key = _read_or_create(path, make)
    if prefect_home is not None and (adopted or _db_key(prefect_home) == key):
        _db_key(prefect_home, delete=True)  # only once the file holds it
    return key


def server_secret_env(secrets_dir: Path, prefect_home: Path | None) -> dict[str, str]:
    """Environment for ``prefect server start``."""
    return {
        "PREFECT_SERVER_API_AUTH_STRING": api_auth_string(secrets_dir),
        "PREFECT_SERVER_ENCRYPTION_KEY": encryption_key(secrets_dir, prefect_home),
    }


def client_env(secrets_dir: Path) -> dict[str, str]:
    """Environment for workers and clients of that server."""
    return {"PREFECT_API_AUTH_STRING": api_auth_string(secrets_dir)}
