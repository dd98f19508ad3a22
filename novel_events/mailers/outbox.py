"""A mailer that writes each message to a local directory: the zero-setup default backend.

Every message becomes ``<UTC timestamp>-<recipient>-<hash of Message-ID>.eml`` (RFC 5322 bytes, CRLF
line endings, openable by any mail client) plus a sibling ``.html`` with the same base name for a quick
look in a browser. Files are written atomically (temporary file in the same directory, then
``os.replace``), so a reader never sees half a message. The Message-ID is the identity: sending the
same message again overwrites the file it wrote the first time, whatever the timestamp says.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import os
import re
import tempfile
from email import policy
from email.utils import parseaddr
from pathlib import Path

from novel_events.errors import PermanentError, TransientError
from novel_events.mailers.base import OutgoingEmail

__all__ = ["OutboxMailer", "outbox_file_stem"]

_UNSAFE = re.compile(r"[^a-z0-9._-]+")
_MAX_LOCAL = 40
_HASH_LEN = 12
# Errors that will not fix themselves: wrong path, no permission, read-only file system.
_PERMANENT_ERRNOS = {errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR, errno.EROFS, errno.ENAMETOOLONG}


def _message_hash(message_id: str) -> str:
    return hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:_HASH_LEN]


def _safe_local_part(address: str) -> str:
    addr = parseaddr(address)[1] or address
    local = addr.rpartition("@")[0] if "@" in addr else addr
    cleaned = _UNSAFE.sub("_", local.lower())[:_MAX_LOCAL].strip("._-")
    return cleaned or "recipient"


def _utc_stamp(when: dt.datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def outbox_file_stem(email: OutgoingEmail) -> str:
    """The base file name (no extension) a fresh message gets: sortable by time, filesystem-safe."""
    return f"{_utc_stamp(email.date)}-{_safe_local_part(email.to)}-{_message_hash(email.message_id)}"


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class OutboxMailer:
    """Writes messages as ``.eml`` files into ``directory`` (created if missing)."""

    name = "outbox"

    def __init__(self, directory: str | os.PathLike[str], *, write_html: bool = True) -> None:
        self.directory = Path(directory)
        self.write_html = write_html

    def __repr__(self) -> str:
        return f"OutboxMailer(directory={str(self.directory)!r})"

    def _existing_stem(self, message_hash: str) -> str | None:
        """The stem of a file already written for this Message-ID, if any (keeps re-sends idempotent)."""
        suffix = f"-{message_hash}.eml"
        matches = sorted(entry.name for entry in os.scandir(self.directory) if entry.name.endswith(suffix))
        return matches[0][: -len(".eml")] if matches else None

    def send(self, email: OutgoingEmail) -> str:
        """Write the message; return ``outbox:<file name>``."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            stem = self._existing_stem(_message_hash(email.message_id)) or outbox_file_stem(email)
            eml = self.directory / f"{stem}.eml"
            if self.write_html:
                _atomic_write(self.directory / f"{stem}.html", email.html.encode("utf-8"))
            # The .eml goes last: its presence means the whole message is there.
            _atomic_write(eml, email.to_mime().as_bytes(policy=policy.SMTP))
        except OSError as exc:
            reason = f"outbox {str(self.directory)!r}: {exc.strerror or exc.__class__.__name__}"
            if exc.errno in _PERMANENT_ERRNOS:
                raise PermanentError(reason) from exc
            raise TransientError(reason) from exc
        return f"outbox:{eml.name}"
