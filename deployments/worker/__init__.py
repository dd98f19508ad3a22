"""The ``novel-events`` worker type: Prefect's process worker, with warm flow-run processes.

Registered with Prefect through the ``prefect.collections`` entry point (pyproject.toml): Prefect imports this
module before it looks a worker type up (``prefect worker start --pool novel-events`` reads the pool's type),
so keep it light: flow modules are only named here, imported by the forkserver (see ``fork.py``).

Each run is still its own OS process (forked, not exec'ed): a ``kill -9`` of it is a non-zero exit that the
worker reports as Crashed (which releases the user's concurrency slot); cancelling from the UI goes through
Prefect's own cancellation machinery (control channel, then SIGTERM, then SIGKILL); flow-run heartbeats
come from the run's process, so the zombie automation catches runs of a worker that died.

A pool of this type accepts the stock process worker too (the job template is the process worker's), and a
``command`` set on the pool or deployment falls back to the stock behaviour (exec that command).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, Final

import anyio
import anyio.abc
import httpx
from prefect.workers.process import ProcessJobConfiguration, ProcessWorker, ProcessWorkerResult
from pydantic import PrivateAttr

from deployments.worker.handoff import Handoff, KnownStorage, api_has_no_csrf
from deployments.worker.recent import Recent
from deployments.worker.related import Related, related_objects

if TYPE_CHECKING:
    from uuid import UUID

    from prefect.client.schemas.objects import Flow as APIFlow
    from prefect.client.schemas.objects import FlowRun, WorkPool
    from prefect.client.schemas.responses import DeploymentResponse, WorkerFlowRunResponse
    from prefect.runner._flow_run_executor import FlowRunExecutorContext

WORKER_TYPE: Final = "novel-events"
REFILL_DELAY = 0.5  # seconds: slots freed within this window are refilled by one poll
KEY_TTL = 300.0  # seconds the worker hands its runs the sealing key it read, before reading it again
QUEUE_TTL = 300.0  # seconds the worker hands its runs a work queue it read (for their events), before re-reading
STORAGE_TTL = 300.0  # seconds the worker hands its runs the server's default result storage, before re-reading
FLOW_TTL = 300.0  # seconds a flow the worker read serves the job configurations of its runs
DEPLOYMENT_TTL = 10.0  # seconds one deployment read serves one submission (Prefect's worker reads it twice)


class _Reads:
    """The worker's recent API reads (see recent.py), one cache per kind."""

    def __init__(self) -> None:
        self.key: Recent[None, bytes] = Recent(KEY_TTL)
        self.storage: Recent[None, KnownStorage] = Recent(STORAGE_TTL)
        self.queues: Recent[str, Any] = Recent(QUEUE_TTL)  # by id
        self.flows: Recent[str, Any] = Recent(FLOW_TTL)
        self.deployments: Recent[str, Any] = Recent(DEPLOYMENT_TTL)


class NovelEventsJobConfiguration(ProcessJobConfiguration):
    """The process worker's job configuration, plus the flow's entrypoint for a run that can import it directly,
    and the objects the run's events will name (see ``related.py``)."""

    _related: list[Related] = PrivateAttr(default_factory=list)

    @classmethod
    def _base_environment(cls) -> dict[str, str]:
        from deployments.worker.environment import settings_environment

        return settings_environment()  # Prefect serialises every setting per run; same result, once

    def prepare_for_flow_run(
        self,
        flow_run: FlowRun,
        deployment: DeploymentResponse | None = None,
        flow: APIFlow | None = None,
        work_pool: WorkPool | None = None,
        worker_name: str | None = None,
        worker_id: UUID | None = None,
    ) -> None:
        super().prepare_for_flow_run(flow_run, deployment, flow, work_pool, worker_name, worker_id=worker_id)
        self._related = related_objects(flow=flow, deployment=deployment, work_pool=work_pool)
        # A deployment whose code is installed here (a module-path entrypoint, no pull steps, no storage
        # block: ours) is loaded by Prefect's engine straight from its entrypoint, as Prefect's own runner
        # does, instead of reading the deployment again (and starting an event loop to do so).
        if (
            deployment is not None
            and deployment.entrypoint
            and ":" not in deployment.entrypoint
            and not deployment.pull_steps
            and deployment.storage_document_id is None
            and not self._command_configured
        ):
            self.env.setdefault("PREFECT__FLOW_ENTRYPOINT", deployment.entrypoint)


class NovelEventsWorker(ProcessWorker):
    type = WORKER_TYPE
    job_configuration = NovelEventsJobConfiguration
    _display_name = "novel-events (warm process)"
    _description = (
        "Runs each flow run in its own process, forked from a parent that already imported Prefect "
        "and the novel-events flows (no interpreter start-up per run)."
    )
    _documentation_url = "https://github.com/novel-events/novel-events#scaling-out"

    _exec_stack: AsyncExitStack | None = None
    _exec: FlowRunExecutorContext | None = None
    _refill: anyio.Event | None = None
    _refill_scope: anyio.CancelScope | None = None
    _reads: _Reads | None = None

    async def __aenter__(self) -> NovelEventsWorker:
        from prefect.runner._flow_run_executor import FlowRunExecutorContext

        from deployments.worker.fork import start_fork_server

        await anyio.to_thread.run_sync(start_fork_server)  # imports once, before the first run is due
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            # One executor context for all runs: one cancellation observer, one control channel.
            self._exec = await stack.enter_async_context(FlowRunExecutorContext())
            await super().__aenter__()
            self._share_reads()
            if self._runs_task_group is not None:
                await self._runs_task_group.start(self._refill_loop)
        except BaseException as exc:
            await stack.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        self._exec_stack = stack
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._refill_scope is not None:
            self._refill_scope.cancel()
        try:
            await super().__aexit__(*exc_info)
        finally:
            if self._exec_stack is not None:
                await self._exec_stack.__aexit__(*exc_info)
                self._exec_stack = self._exec = None

    def _recent(self) -> _Reads:
        if self._reads is None:
            self._reads = _Reads()
        return self._reads

    def _share_reads(self) -> None:
        """Let one read of a deployment serve a whole submission, and one read of the flow many.

        Prefect's worker reads each run's deployment twice while submitting it (whether it still exists, then
        for its job variables) and the run's flow every time, and all digests share one flow. Through this
        worker's client, a deployment read is reused for :data:`DEPLOYMENT_TTL` seconds and a flow read for
        :data:`FLOW_TTL`; a failed read (a deleted deployment) is never reused.
        """
        client = self.client
        read_deployment, read_flow = client.read_deployment, client.read_flow
        reads = self._recent()

        async def shared_deployment(deployment_id: UUID | str) -> DeploymentResponse:
            return await reads.deployments.get(str(deployment_id), lambda: read_deployment(deployment_id))

        async def shared_flow(flow_id: UUID) -> APIFlow:
            return await reads.flows.get(str(flow_id), lambda: read_flow(flow_id))

        client.read_deployment = shared_deployment  # type: ignore[method-assign]
        client.read_flow = shared_flow  # type: ignore[method-assign]

    def _release_limit_slot(self, flow_run_id: UUID) -> None:
        super()._release_limit_slot(flow_run_id)
        if self._refill is not None:
            self._refill.set()

    def poll_size(self) -> int | None:
        """How many due runs one poll asks for: None (the API's page, 200) for a worker without a limit."""
        if self._limiter is None or self._limit is None:
            return None
        free = max(0, int(self._limiter.available_tokens))
        return free + self._limit

    async def _get_scheduled_flow_runs(self) -> list[WorkerFlowRunResponse]:
        """Ask only for the runs this worker can take: its free slots, plus one limit's worth.

        Prefect's worker asks for every due run, up to the API's page of 200, and uses as many as it has
        free slots. In a same-minute burst every poll (one per finished run, see :meth:`_refill_loop`)
        made the server read, mark and serialise 200 full flow runs and the worker parse them, for the
        one or two it could start. The margin covers runs still being submitted (they are Scheduled until
        their Pending is written, and skipped) and runs another worker wins first.
        """
        size = self.poll_size()
        if size is None:
            return await super()._get_scheduled_flow_runs()
        from prefect.client.schemas.responses import WorkerFlowRunResponse
        from prefect.types._datetime import now

        body: dict[str, Any] = {
            "scheduled_before": str(now("UTC") + dt.timedelta(seconds=int(self._prefetch_seconds))),
            "limit": size,
        }
        if self._work_queues:
            body["work_queue_names"] = list(self._work_queues)
        try:
            response = await self.client.request(
                "POST",
                "/work_pools/{name}/get_scheduled_flow_runs",  # what the client's own method posts, plus the limit
                path_params={"name": self._work_pool_name},
                json=body,
            )
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 404:  # no such pool: the next sync creates it or warns, as stock
                return []
            raise
        return WorkerFlowRunResponse.model_validate_list(response.json())

    async def _refill_loop(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Poll again as soon as a run ends, not at the next poll interval: in a burst a slot that freed up
        would otherwise stay idle for up to PREFECT_WORKER_QUERY_SECONDS (5-10 s for a ~2 s digest)."""
        with anyio.CancelScope() as scope:
            self._refill_scope = scope
            task_status.started()
            while True:
                self._refill = anyio.Event()
                await self._refill.wait()
                await anyio.sleep(REFILL_DELAY)
                try:
                    await self.get_and_submit_flow_runs()
                except Exception:  # the regular poll loop reports API trouble; this is only a shortcut
                    self._logger.debug("refill poll failed", exc_info=True)

    async def sealing_key(self) -> bytes | None:
        """The key that seals cached extractions (tasks/sealed.py), for the runs this worker forks.

        Read from its Secret block at most every :data:`KEY_TTL` seconds, so a digest does not read the block
        itself (one API call, one event and a block decryption on the server per run). None when it cannot be
        read: the run then reads it itself, and says why if it cannot either.
        """
        from tasks.credentials import astate_key

        async def read() -> bytes:
            key = await astate_key()
            if not key:
                raise LookupError("no sealing key")  # not kept: asked again by the next run
            return key

        try:
            return await self._recent().key.get(None, read)
        except Exception:  # API trouble: the run tries itself
            return None

    async def server_storage(self) -> KnownStorage | None:
        """The server's default result storage, read at most every :data:`STORAGE_TTL` seconds; None when the
        API did not answer (the run then asks itself)."""

        async def read() -> KnownStorage:
            answer = await self.client.read_server_default_result_storage()
            return KnownStorage(answer.default_result_storage_block_id)

        try:
            return await self._recent().storage.get(None, read)
        except Exception:
            return None

    async def _propose_submitting_state(self, flow_run: FlowRun) -> None:
        """Skipped: Prefect's worker moves each run from Pending to Pending("Submitting") while it starts the
        run's process, one more orchestrated state change (and event) per run. A fork takes milliseconds, and
        the run goes from Pending to Running; a worker that dies in between leaves it Pending, where the
        crash-recovery sweep finds it as it found it in Submitting."""

    async def work_queue(self, queue_id: UUID | None) -> list[Related]:
        """The run's work queue, for its events: read at most every :data:`QUEUE_TTL` seconds; [] on API trouble."""
        if queue_id is None:
            return []
        try:
            queue = await self._recent().queues.get(str(queue_id), lambda: self.client.read_work_queue(queue_id))
        except Exception:  # the run reads it itself
            return []
        return [Related("work-queue", str(queue_id), queue)]

    async def run(
        self,
        flow_run: FlowRun,
        configuration: ProcessJobConfiguration,  # NovelEventsJobConfiguration, or the stock one
        task_status: anyio.abc.TaskStatus[int] | None = None,
    ) -> ProcessWorkerResult:
        if configuration._command_configured or self._exec is None:
            return await super().run(flow_run, configuration, task_status)
        from prefect.flows import load_flow_from_flow_run
        from prefect.runner._flow_run_executor import FlowRunExecutionResult
        from prefect.runner._process_manager import ProcessHandle

        from deployments.worker.fork import ForkStarter

        status = task_status or anyio.TASK_STATUS_IGNORED
        workdir = (
            contextlib.nullcontext(str(configuration.working_dir))
            if configuration.working_dir
            else tempfile.TemporaryDirectory(suffix="prefect")
        )
        with workdir as cwd:
            handoff = Handoff(
                sealing_key=await self.sealing_key(),
                related=(*getattr(configuration, "_related", []), *await self.work_queue(flow_run.work_queue_id)),
                storage=await self.server_storage(),
                no_csrf=api_has_no_csrf(self.client),
            )
            starter = ForkStarter(
                env=configuration.env, cwd=cwd, control_channel=self._exec.control_channel, handoff=handoff
            )
            executor = self._exec.create_executor(
                flow_run, starter, resolve_flow=load_flow_from_flow_run, propose_submitting=False
            )
            execution: FlowRunExecutionResult | None = None

            async def execute(*, task_status: anyio.abc.TaskStatus[ProcessHandle] = anyio.TASK_STATUS_IGNORED) -> None:
                nonlocal execution
                execution = await executor.submit(task_status=task_status)

            async with anyio.create_task_group() as group:
                handle = await group.start(execute)
                if handle.pid is None:
                    raise RuntimeError("Flow run process has no PID")
                status.started(handle.pid)
        if execution is None or execution.status_code is None:
            raise RuntimeError("Failed to start flow run process.")
        return ProcessWorkerResult(status_code=execution.status_code, identifier=str(execution.handle.pid))
