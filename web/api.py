"""``/api/v1``: the main application manages its users' digests (bearer ``NOVEL_EVENTS_API_TOKEN``).

Bad input is a 422 naming the field (the CLI's checks), an unknown user 404, a missing or wrong token
401. Responses never contain a token, a grant or a feed URL (an iCal source is reported as ``ics``).
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from novel_events.errors import InvalidInput
from novel_events.models import User, check_user_id
from web.security import enforce
from web.services import Services
from web.userinput import api_field, build_user

bearer = HTTPBearer(auto_error=False, description="NOVEL_EVENTS_API_TOKEN")


class Unauthorized(Exception):
    pass


def require_token(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
    enforce(request.app.state.api_limiter, request, "api")
    token = request.app.state.settings.api_token
    given = creds.credentials if creds is not None else ""
    if token is None or not given or not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise Unauthorized()


router = APIRouter(prefix="/api/v1", tags=["users"], dependencies=[Depends(require_token)])


class UserIn(BaseModel):
    """A user's digest settings, named as the CLI's options are."""

    model_config = ConfigDict(extra="forbid")
    email: str = Field(description="where the digest goes")
    timezone: str = Field(description="IANA time zone, e.g. Europe/Berlin")
    schedule: str = Field(description="daily | weekdays | weekends | weekly")
    at: str = Field(description="local time of day, HH:MM")
    day: str | None = Field(default=None, description="mon..sun, weekly only")
    source: str = Field(default="google", description="google | ics:URL_OR_PATH")
    lookahead_days: int = Field(default=14, description="days ahead to look, 1-60")
    sensitivity: str = Field(default="normal", description="low | normal | high")
    enabled: bool = True
    send_when_empty: bool = False
    include_calendars: list[str] = Field(default_factory=list)
    exclude_calendars: list[str] = Field(default_factory=list)


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool = False


def invalid(field: str, message: str, where: str = "body") -> JSONResponse:
    name = api_field(field)
    return JSONResponse(
        {"detail": [{"loc": [where, name], "msg": message, "type": "invalid_input"}], "field": name}, 422
    )


def user_json(user: User) -> dict[str, Any]:
    s = user.schedule
    nxt = s.next_times(dt.datetime.now(dt.UTC))[0] if user.enabled else None
    return {
        "id": user.id,
        "email": user.email,
        "timezone": s.timezone,
        "schedule": s.cadence.value,
        "at": s.at.strftime("%H:%M"),
        "day": s.day,
        "source": "google" if user.source == "google" else "ics",
        "lookahead_days": user.lookahead_days,
        "sensitivity": user.sensitivity,
        "enabled": user.enabled,
        "send_when_empty": user.send_when_empty,
        "include_calendars": list(user.include_calendars),
        "exclude_calendars": list(user.exclude_calendars),
        "needs_reconnect": user.needs_reconnect,
        "next_digest": nxt.isoformat() if nxt else None,
        "next_digest_utc": nxt.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if nxt else None,
    }


def _services(request: Request) -> Services:
    return request.app.state.services


def _known(svc: Services, user_id: str) -> User | JSONResponse:
    try:
        check_user_id(user_id)
    except InvalidInput as exc:
        return invalid("id", exc.detail, "path")
    user = svc.find(user_id)
    if user is None:
        return JSONResponse({"detail": f"unknown user {user_id!r}"}, 404)
    return user


@router.put("/users/{user_id}", status_code=200, response_model=None, responses={201: {"description": "created"}})
async def put_user(user_id: str, body: UserIn, request: Request, response: Response) -> Any:
    """Create or replace a user; their deployment is reconciled before the answer."""
    svc = _services(request)
    existing = svc.find(user_id) if _valid_id(user_id) else None
    try:
        user = build_user(user_id, **body.model_dump(), base=None)
    except InvalidInput as exc:
        return invalid(exc.field, exc.detail, "path" if exc.field == "ID" else "body")
    if existing is None:
        svc.users.add(user)
        response.status_code = 201
    else:
        user = user.with_changes(needs_reconnect=existing.needs_reconnect)
        svc.users.save(user)
        if existing.source == "google" and user.source != "google":
            svc.delete_grant(user_id)  # keep no credential we no longer use
    action = await svc.reconcile_user(user_id)
    return {**user_json(user), "deployment": action}


def _valid_id(user_id: str) -> bool:
    try:
        check_user_id(user_id)
    except InvalidInput:
        return False
    return True


@router.get("/users/{user_id}", response_model=None)
async def get_user(user_id: str, request: Request) -> Any:
    found = _known(_services(request), user_id)
    return found if isinstance(found, JSONResponse) else user_json(found)


@router.delete("/users/{user_id}", status_code=204, response_model=None)
async def delete_user(user_id: str, request: Request) -> Any:
    """Remove a user, their stored grant, mute rules and deployment (with its scheduled runs)."""
    svc = _services(request)
    found = _known(svc, user_id)
    if isinstance(found, JSONResponse):
        return found
    svc.users.remove(user_id)
    svc.accounts.forget_user(user_id)
    if found.source == "google":
        svc.delete_grant(user_id)
    await svc.reconcile_user(user_id)
    return Response(status_code=204)


@router.post("/users/{user_id}/runs", status_code=202, response_model=None)
async def start_run(user_id: str, request: Request, body: RunIn | None = None) -> Any:
    """A manual digest run now (its own slot); ``dry_run`` renders and sends nothing."""
    svc = _services(request)
    found = _known(svc, user_id)
    if isinstance(found, JSONResponse):
        return found
    run_id = await svc.start_run(user_id, dry_run=bool(body and body.dry_run))
    return JSONResponse({"flow_run_id": str(run_id), "user_id": user_id, "dry_run": bool(body and body.dry_run)}, 202)


@router.get("/users/{user_id}/runs", response_model=None)
async def list_runs(user_id: str, request: Request, limit: int = 20) -> Any:
    """Recent runs, newest first: slot, state, delivery outcome."""
    svc = _services(request)
    found = _known(svc, user_id)
    if isinstance(found, JSONResponse):
        return found
    return {"runs": await svc.runs(user_id, limit=max(1, min(limit, 100)))}
