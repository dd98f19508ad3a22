"""The store's tables (SQLAlchemy Core). Changes here need an Alembic migration."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("cadence", sa.String(16), nullable=False),
    sa.Column("at_time", sa.String(5), nullable=False),
    sa.Column("day", sa.String(3), nullable=True),
    sa.Column("source", sa.String(2048), nullable=False),
    sa.Column("lookahead_days", sa.Integer, nullable=False),
    sa.Column("include_calendars", sa.JSON, nullable=False),
    sa.Column("exclude_calendars", sa.JSON, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("sensitivity", sa.String(16), nullable=False),
    sa.Column("include_all_day", sa.Boolean, nullable=False),
    sa.Column("include_declined", sa.Boolean, nullable=False),
    sa.Column("send_when_empty", sa.Boolean, nullable=False),
    sa.Column("needs_reconnect", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("slot", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # sending | sent | empty | missed | failed
    sa.Column("flow_run_id", sa.String(36), nullable=True),
    sa.Column("message_id", sa.String(255), nullable=True),
    sa.Column("provider_id", sa.String(255), nullable=True),
    sa.Column("novel_count", sa.Integer, nullable=True),
    sa.Column("detail", sa.String(500), nullable=True),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Encrypted (Fernet) incremental-sync state per user: sync tokens + the compact event cache.
# Never event content in clear text; the key lives in a Prefect Secret block (see tasks/credentials.py).
sync_state = sa.Table(
    "sync_state",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("state", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Open user notices (novel_events/notices.py): one row per (user, problem) while the problem lasts.
user_notices = sa.Table(
    "user_notices",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),  # reconnect | failing
    sa.Column("reason", sa.String(255), nullable=True),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
)
