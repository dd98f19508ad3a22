"""User notices and the "failing user" alert, carried out for the maintenance job.

Gathers what ``novel_events.notices.plan`` needs (users, their recent scheduled runs from the Prefect
API, open notices from the store), then records notices, emails users through the product's mail
backend and emits one ``novel-events.digest.failing`` event per failing episode (the
``novel-events-user-failing`` automation turns it into an operator alert).
"""

from __future__ import annotations

import datetime as dt
from email.utils import parseaddr
from typing import Any

from prefect import get_client, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.events import emit_event

from novel_events.jobs import DIGEST_FLOW
from novel_events.models import User
from novel_events.notices import (
    FAILING_EVENT,
    FAILING_SLOTS,
    NoticeKind,
    OpenNotice,
    Plan,
    Problem,
    SlotRun,
    notice_email,
    plan,
    user_resource,
)
from novel_events.notices import problems_for as domain_problems
from novel_events.settings import Settings, load_settings
from novel_events.slots import slot_for
from novel_events.store.notices import NoticeStore
from tasks import store
from tasks.deliver import make_settings_mailer

LOOKBACK = dt.timedelta(days=45)  # three weekly slots and then some
FAILED_TYPES = [StateType.FAILED, StateType.CRASHED]
FINAL_TYPES = [StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED]


def _slot_run(run: FlowRun) -> SlotRun:
    state = run.state
    return SlotRun(
        slot=slot_for(run.expected_start_time, manual=False, flow_run_id=None),
        ok=bool(state and state.is_completed()),
        state=(state.name if state else "?") or "?",
        reason=(state.message if state and state.message else "") or "",
        flow_run_id=str(run.id),
    )


def _scheduled(runs: list[FlowRun]) -> list[FlowRun]:
    return [r for r in runs if not r.parameters.get("manual") and not r.parameters.get("dry_run")]


async def _failing_candidates(client: PrefectClient, since: dt.datetime) -> dict[str, int]:
    """Users with failed scheduled runs since ``since`` -> number of distinct failed slots."""
    slots: dict[str, set[str]] = {}
    offset = 0
    while True:
        page = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[DIGEST_FLOW])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=FAILED_TYPES)),
                expected_start_time=FlowRunFilterExpectedStartTime(after_=since),  # type: ignore[arg-type]
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=200,
            offset=offset,
        )
        for r in _scheduled(page):
            uid = r.parameters.get("user_id")
            if isinstance(uid, str):
                slots.setdefault(uid, set()).add(slot_for(r.expected_start_time, manual=False, flow_run_id=None))
        if len(page) < 200 or offset > 5000:
            return {uid: len(s) for uid, s in slots.items()}
        offset += 200


async def _recent_slot_runs(client: PrefectClient, user_id: str, since: dt.datetime) -> list[SlotRun]:
    runs = await client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[DIGEST_FLOW])),
        flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[f"user:{user_id}"]),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=FINAL_TYPES)),
            expected_start_time=FlowRunFilterExpectedStartTime(after_=since),  # type: ignore[arg-type]
        ),
        sort=FlowRunSort.EXPECTED_START_TIME_DESC,
        limit=FAILING_SLOTS * 6,
    )
    return [_slot_run(r) for r in _scheduled(runs)]


async def gather_problems(
    users: list[User], notices: list[OpenNotice], *, now: dt.datetime | None = None
) -> dict[str, list[Problem]]:
    """Each user's current problems. Only users with enough recent failures (or an open ``failing``
    notice to re-check) cost a per-user query."""
    since = (now or dt.datetime.now(dt.UTC)) - LOOKBACK
    async with get_client() as client:
        candidates = await _failing_candidates(client, since)
        recheck = {n.user_id for n in notices if n.kind is NoticeKind.FAILING}
        out: dict[str, list[Problem]] = {}
        for user in users:
            runs: list[SlotRun] = []
            if not user.needs_reconnect and (candidates.get(user.id, 0) >= FAILING_SLOTS or user.id in recheck):
                runs = await _recent_slot_runs(client, user.id, since)
            found = domain_problems(user, runs)
            if found:
                out[user.id] = found
        return out


def _send_notice(user: User, problem: Problem, opened_at: dt.datetime, settings: Settings) -> str:
    domain = parseaddr(settings.from_email)[1].partition("@")[2] or "novel-events.localhost"
    public_url = getattr(settings, "public_url", None)  # the web app's base URL, when configured
    email = notice_email(
        user,
        problem,
        public_url=str(public_url) if public_url else None,
        from_=settings.from_email,
        now=dt.datetime.now(dt.UTC),
        opened_at=opened_at,
        domain=domain,
    )
    mailer = make_settings_mailer(settings)
    return mailer.send(email)


def _emit_failing(user_id: str, problem: Problem) -> None:
    payload: dict[str, Any] = {
        "reason": problem.reason,
        "slots": list(problem.slots),
        "flow_run_id": problem.flow_run_id or "",
    }
    related = (
        [{"prefect.resource.id": f"prefect.flow-run.{problem.flow_run_id}", "prefect.resource.role": "flow-run"}]
        if problem.flow_run_id
        else None
    )
    emit_event(event=FAILING_EVENT, resource=user_resource(user_id), payload=payload, related=related)


async def notify_users(settings: Settings, log: Any = None) -> Plan:
    """One sweep: open/close notices, email users once per problem, alert operators once per failing user."""
    notices_store = NoticeStore(store.store_engine(settings))
    users = store.users(settings).list()
    notices = notices_store.list()
    the_plan = plan(users, await gather_problems(users, notices), notices)
    by_id = {u.id: u for u in users}
    for uid, problem in the_plan.open:
        notices_store.open(uid, problem.kind, problem.reason)
    opened = {(n.user_id, n.kind): n.opened_at for n in notices_store.list()}
    for uid, problem in the_plan.notify:
        try:
            provider_id = _send_notice(by_id[uid], problem, opened[(uid, problem.kind)], settings)
        except Exception as exc:  # try again at the next sweep; never the address or the body in the log
            if log:
                log.error("notice %s to user %s not sent: %s", problem.kind, uid, type(exc).__name__)
            continue
        notices_store.mark(uid, problem.kind, notified=True)
        if log:
            log.info("told user %s about %s (%s)", uid, problem.kind, provider_id)
    for uid, problem in the_plan.alert:
        _emit_failing(uid, problem)
        notices_store.mark(uid, problem.kind, alerted=True)
        if log:
            log.warning("user %s: %d scheduled slots failed in a row; operator alerted", uid, FAILING_SLOTS)
    for uid, kind in the_plan.close:
        notices_store.close(uid, kind)
        if log:
            log.info("user %s: %s resolved", uid, kind)
    return the_plan


@task(
    name="notify-users", task_run_name="tell users what broke", retries=1, retry_delay_seconds=10, cache_policy=NO_CACHE
)
async def notify_users_task() -> Plan:
    return await notify_users(load_settings(), get_run_logger())


__all__ = ["gather_problems", "notify_users", "notify_users_task"]
