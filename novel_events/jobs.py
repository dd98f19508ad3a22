"""Desired state as data: a scheduled job is (kind/flow, name, cron + zone, parameters, …).

Generic on purpose: the digest of a user and the maintenance reconcile are both :class:`JobSpec`\\ s,
and any later scheduled job can be one too. No Prefect calls here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from novel_events.models import User
from novel_events.names import (
    DIGEST_FLOW,
    MAINTENANCE_DEPLOYMENT,
    MAINTENANCE_FLOW,
    RECOVERY_DEPLOYMENT,
    TAG,
    user_deployment,
    user_tag,
)

DIGEST_ENTRYPOINT = "flows.digest.digest_flow"  # module path: imported from the installed package
MAINTENANCE_ENTRYPOINT = "flows.maintenance.reconcile_flow"
MAINTENANCE_NAME = MAINTENANCE_DEPLOYMENT
RECOVERY_NAME = RECOVERY_DEPLOYMENT

__all__ = [
    "DIGEST_FLOW",
    "MAINTENANCE_FLOW",
    "TAG",
    "JobSpec",
    "desired",
    "digest_spec",
    "maintenance_spec",
    "recovery_spec",
]


@dataclass(frozen=True, slots=True)
class JobSpec:
    flow_name: str
    name: str
    entrypoint: str
    work_pool: str
    cron: str | None
    timezone: str = "UTC"
    parameters: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = (TAG,)
    paused: bool = False
    concurrency_limit: int | None = 1
    cancel_new_on_collision: bool = True
    description: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"

    def comparable(self) -> dict[str, Any]:
        """The fields reconcile compares with what Prefect has."""
        return {
            "entrypoint": self.entrypoint,
            "work_pool": self.work_pool,
            "cron": self.cron,
            "timezone": self.timezone if self.cron else None,
            "parameters": self.parameters,
            "tags": sorted(self.tags),
            "paused": self.paused,
            "concurrency_limit": self.concurrency_limit,
            "collision": "CANCEL_NEW" if self.cancel_new_on_collision and self.concurrency_limit else None,
            "description": self.description,
        }

    def fingerprint(self) -> str:
        blob = json.dumps(self.comparable(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def digest_spec(user: User, work_pool: str) -> JobSpec:
    return JobSpec(
        flow_name=DIGEST_FLOW,
        name=user_deployment(user.id),
        entrypoint=DIGEST_ENTRYPOINT,
        work_pool=work_pool,
        cron=user.schedule.cron,
        timezone=user.timezone,
        parameters={"user_id": user.id},
        tags=(TAG, user_tag(user.id)),
        paused=not user.enabled,
        description=f"Digest for {user.id}, {user.schedule.describe()}. Managed by `novel-events sync`.",
    )


def maintenance_spec(work_pool: str, every_minutes: int = 5) -> JobSpec:
    """The reconcile + crash-recovery job; ``every_minutes=0`` leaves it unscheduled (run it by hand)."""
    return JobSpec(
        flow_name=MAINTENANCE_FLOW,
        name=MAINTENANCE_NAME,
        entrypoint=MAINTENANCE_ENTRYPOINT,
        work_pool=work_pool,
        cron=f"*/{every_minutes} * * * *" if every_minutes else None,
        timezone="UTC",
        parameters={},
        tags=(TAG, "maintenance"),
        description="Reconciles users in the store with Prefect deployments. Managed by `novel-events sync`.",
    )


def recovery_spec(work_pool: str, every_minutes: int = 1) -> JobSpec:
    """The recovery sweep alone, more often than the reconcile: undelivered slots are retried within minutes."""
    return JobSpec(
        flow_name=MAINTENANCE_FLOW,
        name=RECOVERY_NAME,
        entrypoint=MAINTENANCE_ENTRYPOINT,
        work_pool=work_pool,
        cron=(f"*/{every_minutes} * * * *" if every_minutes > 1 else "* * * * *") if every_minutes else None,
        timezone="UTC",
        parameters={"reconcile": False},
        tags=(TAG, "maintenance"),
        description="Re-runs slots whose digest failed or whose worker died, until delivered or missed. "
        "Managed by `novel-events sync`.",
    )


def desired(
    users: list[User], work_pool: str, maintenance_every_minutes: int = 5, recovery_every_minutes: int = 1
) -> list[JobSpec]:
    return [
        maintenance_spec(work_pool, maintenance_every_minutes),
        recovery_spec(work_pool, recovery_every_minutes),
        *(digest_spec(u, work_pool) for u in users),
    ]
