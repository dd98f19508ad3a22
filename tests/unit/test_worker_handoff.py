"""What the warm worker reads once and hands to its runs, so each run (and each submission) need not read it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from deployments.worker.recent import Recent


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_recent_read_is_reused_until_it_is_older_than_its_ttl() -> None:
    clock, reads = Clock(), []

    async def read() -> int:
        reads.append(clock.now)
        return len(reads)

    recent: Recent[str, int] = Recent(10.0, clock=clock)
    cases = [(0.0, 1), (5.0, 1), (10.0, 1), (10.5, 2), (20.0, 2), (20.6, 3)]  # (time, value seen)
    for t, seen in cases:
        clock.now = t
        assert asyncio.run(recent.get("a", read)) == seen, t
    assert reads == [0.0, 10.5, 20.6]


def test_a_failed_read_is_not_kept_and_expired_reads_are_dropped_past_the_size() -> None:
    clock = Clock()
    recent: Recent[int, int] = Recent(1.0, max_size=3, clock=clock)

    async def fail() -> int:
        raise LookupError("gone")

    with pytest.raises(LookupError):
        asyncio.run(recent.get(0, fail))
    assert len(recent) == 0

    async def value(v: int) -> int:
        return v

    for k in range(3):
        asyncio.run(recent.get(k, lambda k=k: value(k)))  # type: ignore[misc]
    clock.now = 5.0
    asyncio.run(recent.get(9, lambda: value(9)))  # a fourth entry: the three expired ones go
    assert len(recent) == 1


def _worker_with(client: Any) -> Any:
    from deployments.worker import NovelEventsWorker

    worker = NovelEventsWorker(work_pool_name=f"pool-{uuid.uuid4().hex[:8]}")
    worker._client = client
    return worker


class CountingClient:
    """Stands in for the worker's PrefectClient: counts the reads that reach it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.missing: set[str] = set()

    async def read_deployment(self, deployment_id: Any) -> dict[str, str]:
        self.calls.append(("deployment", str(deployment_id)))
        if str(deployment_id) in self.missing:
            raise LookupError(deployment_id)
        return {"id": str(deployment_id)}

    async def read_flow(self, flow_id: Any) -> dict[str, str]:
        self.calls.append(("flow", str(flow_id)))
        return {"id": str(flow_id)}


def test_one_submission_reads_its_deployment_once_and_runs_share_the_flow() -> None:
    """Prefect's worker reads a run's deployment to check it exists, then again for its job variables, and the
    flow for every run: through the warm worker's client, the second read and the flow's repeats are kept."""
    client = CountingClient()
    worker = _worker_with(client)
    worker._share_reads()
    flow = uuid.uuid4()
    deployments = [uuid.uuid4(), uuid.uuid4()]

    async def submissions() -> None:
        for dep in deployments:
            await client.read_deployment(dep)  # the existence check
            await client.read_deployment(str(dep))  # resolve_for_flow_run, by id or by its text
            await client.read_flow(flow)

    asyncio.run(submissions())
    assert client.calls == [
        ("deployment", str(deployments[0])),
        ("flow", str(flow)),
        ("deployment", str(deployments[1])),
    ]


def test_a_deployment_that_is_gone_is_read_again_not_remembered() -> None:
    client = CountingClient()
    worker = _worker_with(client)
    worker._share_reads()
    gone = uuid.uuid4()
    client.missing.add(str(gone))
    for _ in range(2):
        with pytest.raises(LookupError):
            asyncio.run(client.read_deployment(gone))
    assert client.calls == [("deployment", str(gone))] * 2


@pytest.mark.parametrize(
    ("csrf_reply", "no_csrf"),
    [
        (httpx.Response(422, json={"detail": "CSRF protection is disabled."}), True),
        (httpx.Response(200, json={"token": "t", "client": "c", "expiration": "2999-01-01T00:00:00Z"}), False),
    ],
)
def test_runs_skip_the_csrf_token_request_only_when_the_workers_client_found_no_csrf_protection(
    csrf_reply: httpx.Response, no_csrf: bool
) -> None:
    """Prefect's own client, over a transport that answers as a server with or without CSRF protection."""
    from prefect.client.orchestration import PrefectClient

    from deployments.worker.handoff import api_has_no_csrf

    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith("/csrf-token"):
            return csrf_reply
        return httpx.Response(200, json=[])

    async def poll_once() -> bool:
        client = PrefectClient("http://prefect.test/api", httpx_settings={"transport": httpx.MockTransport(answer)})
        assert api_has_no_csrf(client) is False  # nothing learnt before the first write
        await client._client.post("/work_pools/p/get_scheduled_flow_runs", json={})
        return api_has_no_csrf(client)

    assert asyncio.run(poll_once()) is no_csrf
    assert seen[0].endswith("/csrf-token") and seen[-1].endswith("/get_scheduled_flow_runs")


def test_a_run_answers_prefects_result_storage_question_without_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefect's engine asks the server for its default result storage through these two functions, each time
    through a new client; handed what the worker read, the run's process makes no client at all."""
    from prefect import results
    from prefect.client import orchestration
    from prefect.filesystems import LocalFileSystem

    from deployments.worker.handoff import KnownStorage, use_server_storage

    assert "_read_server_default_result_storage_block_id" in results._get_default_result_storage.__code__.co_names
    assert "_aread_server_default_result_storage_block_id" in results._aget_default_result_storage.__code__.co_names
    for name in ("_read_server_default_result_storage_block_id", "_aread_server_default_result_storage_block_id"):
        monkeypatch.setattr(results, name, getattr(results, name))  # restored after the test

    def no_client(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("asked the API")

    monkeypatch.setattr(orchestration, "get_client", no_client)
    with pytest.raises(AssertionError, match="asked the API"):
        results._read_server_default_result_storage_block_id()  # as it was: a client per question

    assert use_server_storage(KnownStorage(None)) is True
    assert isinstance(results._get_default_result_storage().storage, LocalFileSystem)
    assert isinstance(asyncio.run(results._aget_default_result_storage()).storage, LocalFileSystem)
    block = uuid.uuid4()
    use_server_storage(KnownStorage(block))
    assert results._read_server_default_result_storage_block_id() == block
    assert asyncio.run(results._aread_server_default_result_storage_block_id()) == block
