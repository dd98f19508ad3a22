"""private feed URLs sealed in the store (wider source column; existing URLs sealed)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _rewrite(convert_name: str) -> None:
    """Seal (or unseal) every stored feed URL, when the store key is at hand."""
    from novel_events.settings import load_settings
    from novel_events.store import feed_secrets

    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, source FROM users")).all()
    todo = [
        (uid, src)
        for uid, src in rows
        if (feed_secrets.is_private(src) if convert_name == "seal" else src.startswith(feed_secrets.PREFIX))
    ]
    if not todo:
        return
    key = feed_secrets.store_key(load_settings())  # no key, no upgrade: a URL must not stay readable
    convert = feed_secrets.seal if convert_name == "seal" else feed_secrets.unseal
    for uid, src in todo:
        conn.execute(sa.text("UPDATE users SET source = :s WHERE id = :i"), {"s": convert(src, key), "i": uid})


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.alter_column("source", type_=sa.Text(), existing_type=sa.String(2048), existing_nullable=False)
    _rewrite("seal")


def downgrade() -> None:
    _rewrite("unseal")
    with op.batch_alter_table("users") as batch:
        batch.alter_column("source", type_=sa.String(2048), existing_type=sa.Text(), existing_nullable=False)
