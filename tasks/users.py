"""Read every user (for reconcile) as a task."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from novel_events.models import User
from tasks import store
from tasks.retry import retry_if_transient


@task(name="list-users", retries=2, retry_delay_seconds=5, retry_condition_fn=retry_if_transient, cache_policy=NO_CACHE)
def list_users() -> list[User]:
    return store.users().list()
