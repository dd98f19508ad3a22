"""The `novel-events` worker type is found the way `prefect worker start` finds one, and stays in its layer."""

from __future__ import annotations

import ast

import pytest

from tests.support.env import ROOT


def test_prefect_finds_the_worker_type_through_the_entry_point() -> None:
    from prefect.plugins import load_prefect_collections
    from prefect.utilities.dispatch import lookup_type
    from prefect.workers.base import BaseWorker
    from prefect.workers.process import ProcessWorker

    from deployments.worker import WORKER_TYPE, NovelEventsWorker

    assert "novel_events_worker" in load_prefect_collections()  # pyproject's prefect.collections entry point
    worker = lookup_type(BaseWorker, WORKER_TYPE)  # what `prefect worker start --pool novel-events` does
    assert worker is NovelEventsWorker and issubclass(worker, ProcessWorker)


def test_pool_templates_name_no_interpreter() -> None:
    from deployments.pool import _without_command, pool_template

    for kind in ("novel-events", "process"):
        assert pool_template(kind)["variables"]["properties"]["command"].get("default") is None  # type: ignore[arg-type]
    old = pool_template("process")
    old["variables"]["properties"]["command"]["default"] = "python -m prefect.engine"
    fixed = _without_command(old)
    assert fixed["variables"]["properties"]["command"]["default"] is None
    assert {k: v for k, v in fixed.items() if k != "variables"} == {k: v for k, v in old.items() if k != "variables"}


def test_lower_layers_never_import_the_worker() -> None:
    for layer in ("flows", "tasks", "novel_events"):
        for path in (ROOT / layer).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                assert not any(n.startswith("deployments") for n in names), f"{path} imports {names}"


def test_the_forkserver_preload_ends_with_a_sample_digest_that_runs() -> None:
    """The warm-up runs at import in the forkserver and swallows its errors: check here that it really runs,
    starts no thread (a fork copies only the calling thread) and compiled the digest templates."""
    import importlib
    import sys
    import threading

    from prefect.client.schemas.actions import LogCreate, TaskRunCreate

    from deployments.worker.fork import PRELOAD
    from novel_events.settings import load_settings
    from tasks import store

    assert PRELOAD[-1] == "deployments.worker.warmup"
    sys.modules.pop("deployments.worker.warmup", None)
    store._engine.cache_clear()
    threads = threading.active_count()
    warmup = importlib.import_module("deployments.worker.warmup")
    assert warmup.WARM is True
    assert threading.active_count() == threads
    from novel_events.render import _env

    assert {"digest.html.j2", "digest.txt.j2"} <= {key[1] for key in _env.cache or {}}
    # Prefect's lazily built schemas are built (a run would otherwise rebuild those it touches)
    assert LogCreate.__pydantic_complete__ and TaskRunCreate.__pydantic_complete__
    # the store's engine for these settings is built, and has not connected (each run opens its own)
    assert warmup.STORE_READY is True and store._engine.cache_info().currsize == 1
    engine = store.store_engine(load_settings())
    assert store._engine.cache_info().hits >= 1
    assert getattr(engine.pool, "checkedout", lambda: 0)() == 0 and getattr(engine.pool, "checkedin", lambda: 0)() == 0
    # the time-zone tables schedule validation builds on first use are built (every run validates its deployment)
    from prefect.types._datetime import get_timezones

    assert warmup.ZONES_READY is True and get_timezones.cache_info().currsize == 1


def test_runs_of_installed_module_deployments_load_their_flow_straight_from_the_entrypoint() -> None:
    """Only where that is what Prefect would load anyway: a module path, no pull steps, no storage block,
    and no command of the operator's."""
    import uuid

    from prefect.client.schemas.objects import FlowRun
    from prefect.client.schemas.responses import DeploymentResponse

    from deployments.worker import NovelEventsJobConfiguration

    def env_for(entrypoint: str, command: str | None = None, **deployment: object) -> dict[str, str | None]:
        config = NovelEventsJobConfiguration(command=command)
        fields: dict[str, object] = {"pull_steps": None, "storage_document_id": None, **deployment}
        dep = DeploymentResponse.model_construct(id=uuid.uuid4(), name="d", entrypoint=entrypoint, **fields)
        config.prepare_for_flow_run(FlowRun(flow_id=uuid.uuid4()), dep)
        return config.env

    assert env_for("flows.digest.digest_flow")["PREFECT__FLOW_ENTRYPOINT"] == "flows.digest.digest_flow"
    assert "PREFECT__FLOW_ENTRYPOINT" not in env_for("flows/digest.py:digest_flow")  # relative to its own path
    steps = [{"prefect.deployments.steps.set_working_directory": {"directory": "/srv"}}]
    assert "PREFECT__FLOW_ENTRYPOINT" not in env_for("flows.digest.digest_flow", pull_steps=steps)
    assert "PREFECT__FLOW_ENTRYPOINT" not in env_for("flows.digest.digest_flow", storage_document_id=uuid.uuid4())
    assert "PREFECT__FLOW_ENTRYPOINT" not in env_for("flows.digest.digest_flow", command="python -m prefect.engine")


def test_runs_on_a_plain_http_api_parse_a_one_root_ca_bundle_not_certifis_whole_one() -> None:
    import ssl

    import certifi
    from prefect.settings import PREFECT_API_SSL_CERT_FILE, temporary_settings

    from deployments.worker.tls import CA_FILE_SETTING, first_certificate, use_small_ca_for_plain_http

    env: dict[str, str | None] = {"PREFECT_API_URL": "http://127.0.0.1:4200/api"}
    use_small_ca_for_plain_http(env)
    small = env[CA_FILE_SETTING]
    assert small is not None and small != certifi.where()
    context = ssl.create_default_context(cafile=small)  # what Prefect builds for each API client
    assert context.cert_store_stats()["x509_ca"] == 1
    assert ssl.create_default_context(cafile=certifi.where()).cert_store_stats()["x509_ca"] > 100
    with temporary_settings(updates={PREFECT_API_SSL_CERT_FILE: small}):  # the variable is the setting Prefect reads
        assert PREFECT_API_SSL_CERT_FILE.value() == small

    for untouched in (
        {"PREFECT_API_URL": "https://prefect.example.org/api"},  # real TLS: certifi (or the operator's) stays
        {"PREFECT_API_URL": "http://127.0.0.1:4200/api", CA_FILE_SETTING: "/etc/ssl/ours.pem"},
        {},
    ):
        before = dict(untouched)
        use_small_ca_for_plain_http(untouched)
        assert untouched == before

    with pytest.raises(ValueError, match="no PEM certificate"):
        first_certificate("not a bundle")


def test_a_runs_base_environment_is_the_settings_serialised_once_per_settings_object() -> None:
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from deployments.worker import NovelEventsJobConfiguration
    from deployments.worker.environment import settings_environment

    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4999/api"}):
        first = NovelEventsJobConfiguration._base_environment()
        assert first == get_current_settings().to_environment_variables(exclude_unset=True)
        assert first["PREFECT_API_URL"] == "http://127.0.0.1:4999/api"
        first["PREFECT_API_URL"] = "changed by one run"  # each caller gets its own copy
        assert settings_environment()["PREFECT_API_URL"] == "http://127.0.0.1:4999/api"
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4998/api"}):  # new settings: new result
        assert settings_environment()["PREFECT_API_URL"] == "http://127.0.0.1:4998/api"


def test_forked_runs_write_console_logs_plainly_unless_on_a_terminal() -> None:
    import io
    import logging

    from prefect.logging.handlers import PrefectConsoleHandler

    from deployments.worker.fork import plain_console_logs

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    to_file, to_tty = PrefectConsoleHandler(stream=io.StringIO()), PrefectConsoleHandler(stream=Terminal())
    logger = logging.getLogger("novel-events-test-plain-console")
    logger.propagate = False
    for handler in (to_file, to_tty):
        handler.setFormatter(logging.Formatter("%(levelname)s | %(message)s"))
        logger.addHandler(handler)
    try:
        assert plain_console_logs() >= 1
        to_file.console = None  # type: ignore[assignment]  # a plain write never touches the Rich console
        logger.warning("sent :warning: [bold]3[/bold] events")
        assert to_file.stream.getvalue() == "WARNING | sent :warning: [bold]3[/bold] events\n"  # text as logged
        assert "sent" in to_tty.stream.getvalue()  # a terminal keeps Prefect's Rich handler
        assert "emit" not in vars(to_tty)
    finally:
        for handler in (to_file, to_tty):
            logger.removeHandler(handler)


def test_a_forked_run_finds_the_objects_its_events_name_without_reading_them() -> None:
    """The worker hands the run the flow, deployment, pool and queue it read; Prefect's own lookup (the one a
    run's first event makes) must find them in its cache, so an API read would fail this test."""
    import asyncio
    import uuid

    from prefect.client.schemas.objects import Flow, WorkPool, WorkQueue
    from prefect.client.schemas.responses import DeploymentResponse
    from prefect.events.related import RESOURCE_CACHE, _get_and_cache_related_object

    from deployments.worker import NovelEventsJobConfiguration
    from deployments.worker.related import Related, related_objects, seed_run_cache

    flow = Flow(id=uuid.uuid4(), name="novel-events-digest")
    deployment = DeploymentResponse(id=uuid.uuid4(), name="digest-ada", flow_id=flow.id)
    pool = WorkPool(name="novel-events", type="novel-events")
    queue = WorkQueue(id=uuid.uuid4(), name="default", work_pool_id=uuid.uuid4())
    config = NovelEventsJobConfiguration()
    config.prepare_for_flow_run(_flow_run(deployment.id), deployment=deployment, flow=flow, work_pool=pool)
    assert config._related == related_objects(flow=flow, deployment=deployment, work_pool=pool)

    async def no_api_read(obj_id: object) -> None:
        raise AssertionError(f"read {obj_id} from the API")

    RESOURCE_CACHE.clear()
    try:
        assert seed_run_cache([*config._related, Related("work-queue", str(queue.id), queue)]) == 4
        expected = [
            ("flow", flow.id, flow),
            ("deployment", deployment.id, deployment),
            ("work-pool", pool.name, pool),
            ("work-queue", queue.id, queue),
        ]
        for kind, key, obj in expected:
            entry = asyncio.run(
                _get_and_cache_related_object(
                    kind=kind, role=kind, client_method=no_api_read, obj_id=key, cache=RESOURCE_CACHE
                )
            )
            assert entry["object"] is obj
    finally:
        RESOURCE_CACHE.clear()


def _flow_run(deployment_id: object) -> object:
    import uuid

    from prefect.client.schemas.objects import FlowRun

    return FlowRun(id=uuid.uuid4(), flow_id=uuid.uuid4(), deployment_id=deployment_id, name="ada")


def test_forked_runs_skip_prefects_outside_suspension_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The watch is a thread, an event loop, a client and an event-stream subscription per run; skipped, the
    engine's call finds the no-op (a Prefect that moved the call would fail the name check here)."""
    import threading
    import uuid

    from prefect import flow_engine
    from prefect._flow_run_suspension import FlowRunSuspensionRequest

    from deployments.worker.fork import skip_suspension_watch

    setup = flow_engine.BaseFlowRunEngine.setup_flow_run_suspension_request
    assert "observe_flow_run_suspension" in getattr(setup, "__wrapped__", setup).__code__.co_names
    monkeypatch.setattr(flow_engine, "observe_flow_run_suspension", flow_engine.observe_flow_run_suspension)
    assert skip_suspension_watch() is True
    threads = threading.active_count()
    with flow_engine.observe_flow_run_suspension(uuid.uuid4(), FlowRunSuspensionRequest()):
        assert threading.active_count() == threads  # no watcher thread, no client, no subscription
