"""The ASGI app: pages, sign-in, email links and ``/api/v1``, behind signed session cookies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from novel_events.errors import InvalidInput
from novel_events.settings import Settings, load_settings
from web import api, pages
from web.security import RateLimiter, security_headers
from web.services import Services

SESSION_COOKIE = "novel_events_session"
SESSION_MAX_AGE = int(dt.timedelta(days=14).total_seconds())
TEMPLATES = Path(__file__).with_name("templates")


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    login_per_minute: int = 20,
    api_per_minute: int = 300,
) -> FastAPI:
    settings = settings or load_settings()
    if settings.secret_key is None or len(settings.secret_key.get_secret_value()) < 16:
        raise InvalidInput("NOVEL_EVENTS_SECRET_KEY", "the web app needs it: set at least 16 random characters")
    if not settings.public_url:
        raise InvalidInput(
            "NOVEL_EVENTS_PUBLIC_URL", "the web app needs it: the address people open, e.g. https://digest.example.org"
        )
    app = FastAPI(
        title="novel-events",
        version="1",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        description="Self-service pages and the JSON API (`/api/v1`, bearer `NOVEL_EVENTS_API_TOKEN`).",
    )
    app.state.settings = settings
    app.state.services = services or Services.create(settings)
    # autoescape everything: Starlette's default only escapes *.html, and ours are *.html.j2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)
    app.state.templates = Jinja2Templates(env=env)
    app.state.login_limiter = RateLimiter(login_per_minute)
    app.state.api_limiter = RateLimiter(api_per_minute)
    app.middleware("http")(security_headers)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.public_url.startswith("https://"),
    )
    app.include_router(api.router)
    app.include_router(pages.router)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> HTMLResponse | JSONResponse:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
        return pages.message(
            request, "Something is not right", str(exc.detail), status=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(api.Unauthorized)
    async def _unauthorized(request: Request, exc: api.Unauthorized) -> JSONResponse:
        return JSONResponse({"detail": "missing or wrong bearer token"}, 401, headers={"WWW-Authenticate": "Bearer"})

    @app.get("/healthz", include_in_schema=False)
    async def _health() -> PlainTextResponse:
        return PlainTextResponse("ok")

    return app
