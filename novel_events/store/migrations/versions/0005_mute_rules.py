"""per-user mute rules ("Not new to me — hide events like this") and web sign-in accounts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mute_rules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(1024), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", "kind", "value", name="uq_mute_rules_user_kind_value"),
    )
    op.create_index("ix_mute_rules_user_id", "mute_rules", ["user_id"])
    op.create_table(
        "google_accounts",
        sa.Column("subject", sa.String(254), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("google_accounts")
    op.drop_index("ix_mute_rules_user_id", table_name="mute_rules")
    op.drop_table("mute_rules")
