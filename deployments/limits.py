"""Global concurrency / rate limits, as code. Idempotent: only differences are written."""

from __future__ import annotations

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
from prefect.exceptions import ObjectNotFound

from tasks.limits import LIMITS


async def ensure_limits(client: PrefectClient) -> list[str]:
    lines = []
    for lim in LIMITS:
        try:
            have = await client.read_global_concurrency_limit_by_name(lim.name)
        except ObjectNotFound:
            await client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(
                    name=lim.name, limit=lim.limit, slot_decay_per_second=lim.slot_decay_per_second, active=True
                )
            )
            lines.append(f"limit: {lim.name} created ({lim.limit} slots, decay {lim.slot_decay_per_second}/s)")
            continue
        if (have.limit, have.slot_decay_per_second, have.active) != (lim.limit, lim.slot_decay_per_second, True):
            await client.update_global_concurrency_limit(
                lim.name,
                GlobalConcurrencyLimitUpdate(
                    limit=lim.limit, slot_decay_per_second=lim.slot_decay_per_second, active=True
                ),
            )
            lines.append(f"limit: {lim.name} updated")
        else:
            lines.append(f"limit: {lim.name} unchanged")
    return lines
