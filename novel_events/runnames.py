"""Human names for runs: whose digest and which slot, in the user's own zone. Pure."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def slot_label(when: dt.datetime, tz_name: str) -> str:
    """``Thu 3 Dec 07:30 CET``: the time in ``tz_name`` with its abbreviation."""
    local = when.astimezone(ZoneInfo(tz_name))
    return f"{local:%a} {local.day} {local:%b %H:%M} {local.tzname() or tz_name}"


def digest_run_name(
    user_id: str, when: dt.datetime | None, tz_name: str | None, *, manual: bool = False, dry_run: bool = False
) -> str:
    """``ada · Thu 3 Dec 07:30 CET`` for a scheduled slot; manual and dry runs say so.

    ``tz_name`` None (the user is unknown) falls back to UTC; ``when`` None to the user id alone.
    """
    if when is None:
        return f"{user_id} · {'dry run' if dry_run else 'manual'}" if (manual or dry_run) else user_id
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    label = slot_label(when, tz_name or "UTC")
    if dry_run:
        return f"{user_id} · dry run {label}"
    if manual:
        return f"{user_id} · manual {label}"
    return f"{user_id} · {label}"
