"""What the pages and the API do to the store, Google and Prefect; the one place web/ reconciles and runs.

``reconcile_user`` makes one user's deployment match the store (create, update, pause, resume, delete)
and touches no other deployment: a settings save or an API PUT answers only after it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from prefect import get_client
from prefect.exceptions import ObjectNotFound

from novel_events.errors import NotFound
from novel_events.jobs import digest_spec
from novel_events.models import User
from novel_events.names import user_deployment_full_name
from novel_events.settings import Settings
from novel_events.slots import slot_for
from novel_events.sources.google_auth import Grant
from novel_events.store import AccountStore, Ledger, MuteStore, SyncStateStore, UserStore


@dataclass
class Services:
    settings: Settings
    engine: sa.Engine

    @classmethod
    def create(cls, settings: Settings) -> Services:
        from tasks.store import ready_engine

        return cls(settings, ready_engine(settings))

    @property
    def users(self) -> UserStore:
        return UserStore(self.engine)

    @property
    def mutes(self) -> MuteStore:
        return MuteStore(self.engine)

    @property
    def accounts(self) -> AccountStore:
        return AccountStore(self.engine)

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.engine)

    def find(self, user_id: str) -> User | None:
        try:
            return self.users.get(user_id)
        except NotFound:
            return None

    # -- Prefect ---------------------------------------------------------------------------------------------
    async def reconcile_user(self, user_id: str) -> str:
        """Make ``user_id``'s deployment match the store (that one only); returns what was done."""
        from flows.schemas import flow_schemas
        from tasks.reconcile import delete_one, reconcile_one

        user = self.find(user_id)
        if user is None:
            report = await delete_one(user_deployment_full_name(user_id))
        else:
            report = await reconcile_one(digest_spec(user, self.settings.work_pool), schemas=flow_schemas())
        if report.failed:
            raise RuntimeError(f"could not update the schedule: {report.summary()}")
        return report.changes[0].action if report.changes else "unchanged"

    async def start_run(self, user_id: str, *, dry_run: bool = False) -> UUID:
        """A manual run through the user's deployment (its own slot), like ``novel-events run``."""
        async with get_client() as client:
            try:
                dep = await client.read_deployment_by_name(user_deployment_full_name(user_id))
            except ObjectNotFound:
                await self.reconcile_user(user_id)
                dep = await client.read_deployment_by_name(user_deployment_full_name(user_id))
            run = await client.create_flow_run_from_deployment(
                dep.id, parameters={"user_id": user_id, "manual": True, "dry_run": dry_run}, tags=["manual", "web"]
            )
            return run.id

    async def runs(self, user_id: str, limit: int = 10) -> list[dict[str, Any]]:
        """Recent runs of the user's digest (newest first) with slot, state and outcome."""
        from deployments.status import recent_runs

        rows = await recent_runs(self.settings, user_id=user_id, limit=limit)
        out = []
        for r in rows:
            scheduled = dt.datetime.fromisoformat(r["scheduled"]) if r["scheduled"] else None
            out.append(
                {
                    "flow_run_id": r["id"],
                    "name": r["flowRun"],
                    "manual": r["manual"],
                    "slot": slot_for(scheduled, manual=r["manual"], flow_run_id=r["id"]),
                    "scheduled": r["scheduled"],
                    "started": r["started"],
                    "state": r["state"],
                    "delivery": r["delivery"],
                    "outcome": r["outcome"],
                }
            )
        return out

    # -- Google ----------------------------------------------------------------------------------------------
    def save_grant(self, user_id: str, grant: Grant) -> None:
        """Store a new grant as ``novel-events connect`` does."""
        from tasks.credentials import save_grant

        save_grant(user_id, grant)
        SyncStateStore(self.engine).put(user_id, "google", None)  # a new grant may be another account
        self.users.set_needs_reconnect(user_id, False)

    def delete_grant(self, user_id: str) -> None:
        from tasks.credentials import delete_grant

        delete_grant(user_id)

    def calendars(self, user: User) -> list[dict[str, Any]]:
        """The user's Google calendar list (id, summary, primary); [] for iCal users or when Google fails."""
        if user.source != "google":
            return []
        from novel_events.sources.google_client import CalendarApi
        from tasks.credentials import load_grant

        try:
            with CalendarApi(load_grant(user.id), api_endpoint=self.settings.google_api_endpoint, timeout=10) as api:
                entries = api.calendar_list()
        except Exception:
            return []
        return [
            {
                "id": str(e.get("id")),
                "summary": str(e.get("summaryOverride") or e.get("summary") or e.get("id")),
                "primary": bool(e.get("primary")),
            }
            for e in entries
            if e.get("id")
        ]

    def preview(self, user: User) -> tuple[str, int]:
        """The digest as it would be sent now (HTML) and how many novel events; sends nothing."""
        from tasks.digest import build_digest

        digest, novel = build_digest(user, dt.datetime.now(dt.UTC))
        return digest.html, len(novel)


async def in_thread(fn: Any, *args: Any) -> Any:
    """Run blocking work (Google, rendering) off the event loop."""
    return await asyncio.to_thread(fn, *args)
