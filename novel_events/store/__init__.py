"""The SQL store: users, the delivery ledger, and their Alembic migrations.

The store takes a SQLAlchemy ``Engine``; the Prefect layer builds it through prefect-sqlalchemy's
``SqlAlchemyConnector`` (tasks/store.py), tests may use :func:`make_engine`.
"""

from novel_events.store.accounts import AccountStore, new_user_id
from novel_events.store.engine import engine_options, make_engine, tune
from novel_events.store.ledger import Claim, Delivery, Ledger, Status
from novel_events.store.migrate import upgrade
from novel_events.store.mutes import MuteStore, StoredMute
from novel_events.store.sync_state import SyncStateStore
from novel_events.store.users import UserStore

__all__ = [
    "AccountStore",
    "Claim",
    "Delivery",
    "Ledger",
    "MuteStore",
    "Status",
    "StoredMute",
    "SyncStateStore",
    "UserStore",
    "engine_options",
    "make_engine",
    "new_user_id",
    "tune",
    "upgrade",
]
