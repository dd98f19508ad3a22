"""Fleet-wide counts from the store (metrics, ``status``): users by state, ledger slots by status."""

from __future__ import annotations

import sqlalchemy as sa

from novel_events.store.tables import deliveries, users

USER_STATES = ("enabled", "paused", "needs_reconnect")
SLOT_STATUSES = ("sending", "sent", "empty", "missed", "failed")


def users_by_state(engine: sa.Engine) -> dict[str, int]:
    """``enabled``/``paused`` partition the users; ``needs_reconnect`` counts those whose grant is gone."""
    q = sa.select(
        sa.func.count().filter(users.c.enabled.is_(True)),
        sa.func.count().filter(users.c.enabled.is_(False)),
        sa.func.count().filter(users.c.needs_reconnect.is_(True)),
    )
    with engine.connect() as conn:
        row = conn.execute(q).one()
    return dict(zip(USER_STATES, (int(v or 0) for v in row), strict=True))


def slots_by_status(engine: sa.Engine) -> dict[str, int]:
    q = sa.select(deliveries.c.status, sa.func.count()).group_by(deliveries.c.status)
    out = dict.fromkeys(SLOT_STATUSES, 0)
    with engine.connect() as conn:
        for status, n in conn.execute(q).all():
            out[str(status)] = int(n)
    return out


def users_needing_attention(engine: sa.Engine) -> list[str]:
    """Enabled users whose Google grant must be reconnected."""
    q = sa.select(users.c.id).where(users.c.enabled.is_(True) & users.c.needs_reconnect.is_(True)).order_by(users.c.id)
    with engine.connect() as conn:
        return [str(r[0]) for r in conn.execute(q).all()]
