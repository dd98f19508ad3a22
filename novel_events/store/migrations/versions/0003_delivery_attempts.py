"""delivery ledger: attempts and ambiguous re-sends (retry / unknown statuses)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("ambiguous", sa.Integer, nullable=False, server_default="0"))
    # Before 0003 'failed' meant "may be claimed again"; keep that meaning for rows written then.
    op.execute("UPDATE deliveries SET status = 'retry' WHERE status = 'failed'")


def downgrade() -> None:
    op.execute("UPDATE deliveries SET status = 'failed' WHERE status IN ('retry', 'unknown')")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("ambiguous")
        batch.drop_column("attempts")
