"""``novel-events metrics``: serve Prometheus metrics for the fleet at ``/metrics``."""

from __future__ import annotations

import datetime as dt
import time

import typer

from novel_events.errors import InvalidInput
from novel_events.settings import load_settings


def register(app: typer.Typer) -> None:
    app.command("metrics")(metrics)


def metrics(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (0.0.0.0 for every interface)"),
    port: int = typer.Option(9464, "--port", help="port to listen on"),
    refresh: float = typer.Option(15.0, "--refresh", help="read the store and Prefect at most this often (seconds)"),
    backfill_hours: float = typer.Option(1.0, "--backfill-hours", help="on start, count runs finished this far back"),
) -> None:
    """Serve Prometheus metrics (novel_events_*) at http://HOST:PORT/metrics until Ctrl-C."""
    if not 0 < port < 65536:
        raise InvalidInput("--port", f"{port} is not a port; use 1-65535")
    if refresh < 0 or backfill_hours < 0:
        raise InvalidInput("--refresh/--backfill-hours", "use a number >= 0")
    from deployments.metrics import FleetMetrics, serve

    fleet = FleetMetrics(load_settings(), backfill=dt.timedelta(hours=backfill_hours), min_interval=refresh)
    try:
        server = serve(fleet, host, port)
    except OSError as exc:
        raise InvalidInput("--port", f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    typer.echo(f"serving Prometheus metrics on http://{host}:{port}/metrics (Ctrl-C stops)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
