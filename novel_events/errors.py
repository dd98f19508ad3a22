"""The exception tree. Every error says whether retrying can help.

NovelEventsError
├── InvalidInput          bad user/CLI input: one line naming the field and what is accepted
├── NotFound              an unknown user or object
├── TransientError        retrying later may succeed (timeouts, 429, 5xx, locked DB)
│   ├── StoreUnavailable  the store (database) could not be reached or answered with a lock/timeout
│   └── OutcomeUnknown    a send whose result cannot be known (the reply to the end of DATA never came):
│                         retried at most once, with the same Message-ID
└── PermanentError        retrying will not help (bad credentials, revoked grant, 400)
    └── ReconnectRequired the user's calendar grant was revoked or expired: reconnect
"""

from __future__ import annotations


class NovelEventsError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidInput(NovelEventsError, ValueError):
    """A value from a user, a file or the CLI is not acceptable.

    ``field`` names what was wrong; the message says what is accepted.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.detail = message
        super().__init__(f"{field}: {message}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:  # picklable across Prefect processes
        return (type(self), (self.field, self.detail))


class NotFound(NovelEventsError, LookupError):
    """Something named by the caller does not exist."""


class TransientError(NovelEventsError):
    """A failure that may go away on retry. ``retry_after`` is a hint in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (_transient, (str(self), self.retry_after))


def _transient(message: str, retry_after: float | None) -> TransientError:
    return TransientError(message, retry_after=retry_after)


class StoreUnavailable(TransientError):
    """The store could not be reached (connection refused or lost, lock timeout): retry later."""

    def __reduce__(self) -> tuple[object, ...]:
        return (_store_unavailable, (str(self),))


def _store_unavailable(message: str) -> StoreUnavailable:
    return StoreUnavailable(message)


class OutcomeUnknown(TransientError):
    """A message was handed over but the provider's answer never came: it may or may not be delivered.

    Retried at most once (same Message-ID, so a mail client collapses a duplicate), never blindly.
    """

    def __reduce__(self) -> tuple[object, ...]:
        return (_outcome_unknown, (str(self),))


def _outcome_unknown(message: str) -> OutcomeUnknown:
    return OutcomeUnknown(message)


class PermanentError(NovelEventsError):
    """A failure retrying will not fix."""


class ReconnectRequired(PermanentError):
    """The calendar grant is gone (``invalid_grant``): the user must run ``novel-events connect``."""


def is_transient(exc: BaseException) -> bool:
    """True if ``exc`` (or what caused it) is worth retrying."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, TransientError):
            return True
        if isinstance(cur, PermanentError):
            return False
        if isinstance(cur, (TimeoutError, ConnectionError)):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False
