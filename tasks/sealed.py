"""Cached extractions hold calendar data: they are persisted sealed (Fernet), never as plain pickles.

``extract`` caches its result per (user, slot) so a retried or re-run slot does not fetch the calendar
again. Prefect writes that result to ``NOVEL_EVENTS_HOME/cache``; this serializer encrypts it with the
store's sync-state key (``novel-events-state-key``, created by ``init``), and refuses what it did not
seal (a tampered file cannot become a pickle that runs code).

A run forked by the ``novel-events`` worker is handed that key by the worker (:func:`use_key`), which reads
the block once every few minutes instead of every run reading it: one API call and one event less per digest.
"""

from __future__ import annotations

import datetime as dt
import pickle
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from prefect.serializers import Serializer
from pydantic import Field

from novel_events.errors import PermanentError
from tasks import credentials

SEALED = "novel-events-sealed"
CACHE_DIR = "cache"


_handed_key: bytes | None = None  # the key the worker handed this run's process, if it did


def use_key(key: bytes) -> None:
    """Seal with ``key`` (the state key, read by the worker that started this process) from now on."""
    global _handed_key
    _handed_key = key
    _fernet.cache_clear()


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    key = _handed_key or credentials.state_key()
    if key is None:
        raise PermanentError("no sealing key: run `novel-events init`")
    return Fernet(key)


def sealing_available() -> bool:
    try:
        _fernet()
    except Exception:
        return False
    return True


class SealedPickleSerializer(Serializer):  # not Serializer[Any]: that would register a generic alias
    type: str = Field(default=SEALED, frozen=True)

    def dumps(self, obj: Any) -> bytes:
        return _fernet().encrypt(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    def loads(self, blob: bytes) -> Any:
        try:
            return pickle.loads(_fernet().decrypt(blob))
        except InvalidToken:
            raise PermanentError("a cached result was not sealed with this deployment's key") from None


def cache_dir(home: Path) -> Path:
    return home / CACHE_DIR


def prune(home: Path, older_than: dt.timedelta) -> int:
    """Delete cached extractions older than ``older_than`` (their slots are past any re-run)."""
    root = cache_dir(home)
    if not root.is_dir():
        return 0
    cutoff = dt.datetime.now().timestamp() - older_than.total_seconds()
    removed = 0
    for path in root.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed
