"""``novel-events web``: the self-service pages and the JSON API (uvicorn; FastAPI imported lazily)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import typer

from novel_events.settings import load_settings


def register(app: typer.Typer) -> None:
    app.command("web")(web)


def web(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8080, "--port", help="port to listen on"),
) -> None:
    """Serve sign-up, settings, email links and /api/v1 (needs NOVEL_EVENTS_PUBLIC_URL and _SECRET_KEY)."""
    import uvicorn

    from web.app import create_app

    app = create_app(load_settings())
    typer.echo(f"novel-events web on http://{host}:{port}  (API docs: /docs)")
    # proxy_headers: behind a reverse proxy the client address (rate limits) comes from X-Forwarded-For,
    # trusted only from the addresses in FORWARDED_ALLOW_IPS (uvicorn's default: 127.0.0.1).
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="info", server_header=False)


def local_web_env(home: Path, port: int) -> dict[str, str]:
    """Settings a laptop's ``up`` needs for the web app and the links in emails: PUBLIC_URL defaults to this
    machine, SECRET_KEY to a random key kept (0600) in HOME, so links keep working across restarts."""
    env: dict[str, str] = {}
    if not os.environ.get("NOVEL_EVENTS_PUBLIC_URL"):
        env["NOVEL_EVENTS_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    if not os.environ.get("NOVEL_EVENTS_SECRET_KEY"):
        path = home / "web-secret-key"
        if not path.exists():
            home.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        env["NOVEL_EVENTS_SECRET_KEY"] = path.read_text().strip()
    return env
