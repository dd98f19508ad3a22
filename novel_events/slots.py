"""Slots: which digest a run is for, whether it is too late, and its deterministic Message-ID.

A scheduled run's slot is (user, its scheduled start time to the minute), whoever created the run;
a run marked manual gets its own slot ``manual:<flow_run_id>``.
"""

from __future__ import annotations

import datetime as dt
import hashlib

SLOT_FORMAT = "%Y-%m-%dT%H:%MZ"  # a scheduled slot: its minute in UTC
MANUAL_PREFIX = "manual:"


def slot_for(scheduled_start: dt.datetime | None, *, manual: bool, flow_run_id: str | None) -> str:
    if manual or scheduled_start is None:
        return f"{MANUAL_PREFIX}{flow_run_id or 'local'}"
    # via the timestamp: also turns a Pendulum/whenever datetime from Prefect into a plain one
    t = dt.datetime.fromtimestamp(int(scheduled_start.timestamp()) // 60 * 60, dt.UTC)
    return t.strftime(SLOT_FORMAT)


def slot_time(slot: str) -> dt.datetime | None:
    """The scheduled minute of a scheduled slot; None for a manual one."""
    if slot.startswith(MANUAL_PREFIX):
        return None
    return dt.datetime.strptime(slot, SLOT_FORMAT).replace(tzinfo=dt.UTC)


def is_missed(slot: str, started: dt.datetime, window: dt.timedelta) -> bool:
    """True when a scheduled slot's run starts more than ``window`` after the slot."""
    at = slot_time(slot)
    return at is not None and started - at > window


def message_id(user_id: str, slot: str, domain: str = "novel-events.localhost") -> str:
    """The same Message-ID for every attempt at one (user, slot)."""
    digest = hashlib.sha256(f"{user_id}\x00{slot}".encode()).hexdigest()[:24]
    return f"<digest.{digest}.{user_id}@{domain}>"
