"""Store failures with intent: a database that cannot be reached is a :class:`StoreUnavailable` (retried).

SQLAlchemy's errors quote the SQL and its parameters (user ids, addresses); these messages carry only
the kind of failure and, when the driver's text contains one, a known reason from a fixed list ("unable
to open database file", "database is locked", "connection refused"…), so nothing from a row, no host and
no user name reaches a log, a state message or an alert, and the operator still learns why.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import sqlalchemy as sa

from novel_events.errors import StoreUnavailable

P = ParamSpec("P")
R = TypeVar("R")

# Reasons worth telling an operator, as the drivers (sqlite3, psycopg) word them; matched case-insensitively.
KNOWN_REASONS = (
    "unable to open database file",
    "database is locked",
    "disk I/O error",
    "database or disk is full",
    "attempt to write a readonly database",
    "connection refused",
    "connection timed out",
    "timeout expired",
    "could not translate host name",
    "password authentication failed",
    "too many clients already",
    "the database system is starting up",
    "the database system is shutting down",
    "terminating connection due to administrator command",
    "server closed the connection unexpectedly",
    "canceling statement due to statement timeout",
    "QueuePool limit",
)

_TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError, sa.exc.DisconnectionError)


def is_unavailable(exc: BaseException) -> bool:
    """A failure to reach or lock the database (as opposed to a constraint or a bug)."""
    if isinstance(exc, _TRANSIENT):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


@contextmanager
def unavailable_is_transient(what: str = "store") -> Iterator[None]:
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        if not is_unavailable(exc):
            raise
        orig = getattr(exc, "orig", None)
        kind = type(orig).__name__ if orig is not None else type(exc).__name__
        reason = _reason(orig if orig is not None else exc)
        raise StoreUnavailable(f"{what} unavailable ({kind}{reason}); will retry") from None


def _reason(error: BaseException) -> str:
    """A known reason found in the driver's text (never the text itself: it may quote hosts, users, rows)."""
    text = str(error).lower()
    for reason in KNOWN_REASONS:
        if reason.lower() in text:
            return f": {reason}"
    return ""


def transient_store(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator: a store method whose connection failures raise :class:`StoreUnavailable`."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with unavailable_is_transient():
            return fn(*args, **kwargs)

    return wrapper
