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
    sa.Column("source", sa.Text, nullable=False),  # a feed URL is sealed (feed_secrets): longer than typed
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
    sa.Column("status", sa.String(16), nullable=False),  # sending|sent|empty|missed|failed|retry|unknown
    sa.Column("flow_run_id", sa.String(36), nullable=True),
    sa.Column("message_id", sa.String(255), nullable=True),
    sa.Column("provider_id", sa.String(255), nullable=True),
    sa.Column("novel_count", sa.Integer, nullable=True),
    sa.Column("detail", sa.String(500), nullable=True),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),  # sends attempted
    sa.Column("ambiguous", sa.Integer, nullable=False, server_default="0"),  # re-sends after an unknown outcome
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

# "Not new to me — hide events like this": per-user mute rules (a series id or a normalised title key).
mute_rules = sa.Table(
    "mute_rules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),  # series | title
    sa.Column("value", sa.String(1024), nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("user_id", "kind", "value", name="uq_mute_rules_user_kind_value"),
)

# Web sign-up: which user a Google account (its primary calendar id, i.e. its address) signs in as.
google_accounts = sa.Table(
    "google_accounts",
    metadata,
    sa.Column("subject", sa.String(254), primary_key=True),
    sa.Column("user_id", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
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
