"""Prometheus metrics for the fleet (``novel-events metrics``), built with ``prometheus_client``.

Refreshed when scraped (at most every ``min_interval`` seconds), from three sources:

- the store: users by state, ledger slots by status (gauges);
- the Prefect API, incrementally: digest runs that finished since the last refresh -> digests by outcome
  (counter), start lateness and duration (histograms);
- ``novel-events.digest.summary`` events (one per digest run, tasks/artifacts.py), incrementally: emails
  sent/failed by backend, Google API calls and retries (counters).

The first refresh looks back ``backfill`` (1 hour by default) so a restarted exporter does not start blind;
counters restart from zero like any Prometheus counter (``rate()`` copes).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prefect import get_client
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterEndTime,
)
from prefect.client.schemas.sorting import FlowRunSort
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventOrder
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

from novel_events.jobs import DIGEST_FLOW
from novel_events.runsummary import SUMMARY_EVENT, outcome_label
from novel_events.settings import Settings
from novel_events.store.fleet import SLOT_STATUSES, USER_STATES, slots_by_status, users_by_state
from tasks import store

log = logging.getLogger("novel_events.metrics")
LATENESS_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 900)
PAGE = 200
EVENT_PAGE = 50  # the server's maximum for /events/filter


class FleetMetrics:
    """A registry of ``novel_events_*`` metrics and the refresh that keeps them current."""

    def __init__(
        self, settings: Settings, *, backfill: dt.timedelta = dt.timedelta(hours=1), min_interval: float = 10.0
    ) -> None:
        self.settings = settings
        self.min_interval = min_interval
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.digests = Counter(
            "novel_events_digests",
            "Digest runs finished, by outcome "
            "(sent, nothing_novel, missed, already_sent, dry_run, failed, crashed, cancelled …)",
            ["outcome"],
            registry=r,
        )
        self.lateness = Histogram(
            "novel_events_digest_start_lateness_seconds",
            "Scheduled digest runs: start time minus scheduled time",
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        self.duration = Histogram(
            "novel_events_digest_duration_seconds", "Digest runs: run time", buckets=DURATION_BUCKETS, registry=r
        )
        self.emails = Counter(
            "novel_events_emails",
            "Digest emails by mail backend and result (sent, failed)",
            ["backend", "result"],
            registry=r,
        )
        self.google_calls = Counter(
            "novel_events_google_api_calls", "Google Calendar API requests (retries included)", registry=r
        )
        self.google_retries = Counter(
            "novel_events_google_api_retries", "Google Calendar API requests retried", registry=r
        )
        self.users = Gauge(
            "novel_events_users", "Users by state (enabled, paused, needs_reconnect)", ["state"], registry=r
        )
        self.slots = Gauge("novel_events_ledger_slots", "Delivery ledger slots by status", ["status"], registry=r)
        self.up = Gauge(
            "novel_events_source_up", "1 when the last refresh could read the source", ["source"], registry=r
        )
        self.last_refresh = Gauge(
            "novel_events_last_refresh_timestamp_seconds", "When the metrics were refreshed", registry=r
        )
        for state in USER_STATES:
            self.users.labels(state)
        for status in SLOT_STATUSES:
            self.slots.labels(status)
        self._since = dt.datetime.now(dt.UTC) - backfill
        self._events_since = self._since
        self._seen_runs: deque[str] = deque(maxlen=20000)
        self._seen_run_set: set[str] = set()
        self._seen_events: deque[str] = deque(maxlen=20000)
        self._seen_event_set: set[str] = set()
        self._lock = threading.Lock()
        self._refreshed = 0.0

    # -- refresh ---------------------------------------------------------------------------------------------
    def refresh_if_due(self) -> None:
        with self._lock:
            if time.monotonic() - self._refreshed < self.min_interval:
                return
            self._refreshed = time.monotonic()
            self.refresh()

    def refresh(self) -> None:
        self._refresh_store()
        try:
            asyncio.run(self._refresh_prefect())
            self.up.labels("prefect").set(1)
        except Exception as exc:
            self.up.labels("prefect").set(0)
            log.warning("metrics: cannot read the Prefect API: %s", f"{type(exc).__name__}: {exc}"[:300])
        self.last_refresh.set(time.time())

    def _refresh_store(self) -> None:
        try:
            engine = store.store_engine(self.settings)
            for state, n in users_by_state(engine).items():
                self.users.labels(state).set(n)
            for status, n in slots_by_status(engine).items():
                self.slots.labels(status).set(n)
            self.up.labels("store").set(1)
        except Exception as exc:
            self.up.labels("store").set(0)
            log.warning("metrics: cannot read the store: %s", type(exc).__name__)

    async def _refresh_prefect(self) -> None:
        async with get_client() as client:
            await self._read_runs(client)
            await self._read_summaries(client)

    def _remember(self, ring: deque[str], seen: set[str], key: str) -> bool:
        """True the first time ``key`` is seen."""
        if key in seen:
            return False
        if len(ring) == ring.maxlen:
            seen.discard(ring[0])
        ring.append(key)
        seen.add(key)
        return True

    async def _read_runs(self, client: PrefectClient) -> None:
        since = self._since - dt.timedelta(seconds=30)  # end times are written a little after the fact
        newest = self._since
        offset = 0
        while True:
            runs = await client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[DIGEST_FLOW])),
                flow_run_filter=FlowRunFilter(end_time=FlowRunFilterEndTime(after_=since)),  # type: ignore[arg-type]
                sort=FlowRunSort.END_TIME_DESC,
                limit=PAGE,
                offset=offset,
            )
            for run in runs:
                if run.end_time is None or not (run.state and run.state.is_final()):
                    continue
                newest = max(newest, run.end_time)
                if not self._remember(self._seen_runs, self._seen_run_set, str(run.id)):
                    continue
                self.observe_run(run)
            if len(runs) < PAGE:
                break
            offset += PAGE
        self._since = newest

    def observe_run(self, run: Any) -> None:
        state = run.state
        self.digests.labels(
            outcome_label(state.type.value if state else None, run.state_name, state.message if state else None)
        ).inc()
        if run.start_time is None:
            return
        manual = bool(run.parameters.get("manual") or run.parameters.get("dry_run"))
        if not manual and run.expected_start_time is not None:
            self.lateness.observe(max(0.0, (run.start_time - run.expected_start_time).total_seconds()))
        self.duration.observe(max(0.0, run.total_run_time.total_seconds()))

    async def _read_summaries(self, client: PrefectClient) -> None:
        now = dt.datetime.now(dt.UTC)
        since = self._events_since - dt.timedelta(seconds=30)
        page = await client.read_events(
            filter=EventFilter(
                occurred=EventOccurredFilter(since=since, until=now),  # type: ignore[arg-type]
                event=EventNameFilter(name=[SUMMARY_EVENT]),
                order=EventOrder.ASC,
            ),
            limit=EVENT_PAGE,
        )
        while True:
            for event in page.events:
                if self._remember(self._seen_events, self._seen_event_set, str(event.id)):
                    self.observe_summary(event.payload)
            if not page.next_page:
                break
            page = await client.read_events_page(str(page.next_page))
        self._events_since = now

    def observe_summary(self, payload: dict[str, Any]) -> None:
        backend = str(payload.get("backend") or "none")
        if payload.get("emails_sent"):
            self.emails.labels(backend, "sent").inc(int(payload["emails_sent"]))
        if payload.get("emails_failed"):
            self.emails.labels(backend, "failed").inc(int(payload["emails_failed"]))
        if payload.get("api_calls"):
            self.google_calls.inc(int(payload["api_calls"]))
        if payload.get("api_retries"):
            self.google_retries.inc(int(payload["api_retries"]))


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes every 15 s are not news
        pass


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def make_app(metrics: FleetMetrics) -> Callable[..., Iterable[bytes]]:
    """A WSGI app: ``/metrics`` (Prometheus text, refreshed when due), ``/`` a pointer, else 404."""
    inner = make_wsgi_app(metrics.registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path == "/metrics":
            metrics.refresh_if_due()
            return inner(environ, start_response)
        if path == "/":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"novel-events metrics: see /metrics\n"]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found; try /metrics\n"]

    return app


def serve(metrics: FleetMetrics, host: str, port: int) -> WSGIServer:
    """Start serving in a background thread; ``shutdown()`` the returned server to stop."""
    server = make_server(host, port, make_app(metrics), server_class=_Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
