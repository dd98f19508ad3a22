"""Server-rendered pages: sign-in, settings, preview, send-now, and the links from emails.

Who is signed in lives only in the signed session cookie (``uid``); no page takes a user id from the
URL or a form, so one person can never open or change another's settings. Every form carries the
session's CSRF token. Links from emails carry a signed token: a GET never changes anything (link
scanners open links); the RFC 8058 one-click POST pauses the digest.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from functools import cache
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from novel_events.errors import InvalidInput
from novel_events.links import MANAGE, UNSUBSCRIBE, LinkSigner
from novel_events.models import SENSITIVITIES, User
from novel_events.schedules import DAYS, Cadence, Schedule
from novel_events.store import new_user_id
from web import oauth
from web.security import check_csrf, csrf_token, enforce
from web.services import Services, in_thread
from web.userinput import build_user

router = APIRouter(include_in_schema=False)
MAX_FORM = 64 * 1024
DEFAULT_AT = "07:00"


@cache
def time_zones() -> list[str]:
    return sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


def _svc(request: Request) -> Services:
    return request.app.state.services


def _signer(request: Request) -> LinkSigner:
    signer = request.app.state.settings.link_signer()
    assert signer is not None  # create_app requires PUBLIC_URL and SECRET_KEY
    return signer


def render(request: Request, template: str, status: int = 200, headers: Any = None, **ctx: Any) -> HTMLResponse:
    ctx.setdefault("signed_in", bool(request.session.get("uid")))
    ctx["csrf"] = csrf_token(request)
    ctx["flash"] = request.session.pop("flash", None)
    return request.app.state.templates.TemplateResponse(request, template, ctx, status_code=status, headers=headers)


def message(
    request: Request,
    title: str,
    text: str,
    *,
    status: int = 200,
    headers: Any = None,
    link: tuple[str, str] | None = None,
) -> HTMLResponse:
    return render(request, "message.html.j2", status, headers, title=title, text=text, link=link)


def _see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)  # our own paths only: never a URL from the request


async def _form(request: Request) -> dict[str, list[str]]:
    body = await request.body()
    if len(body) > MAX_FORM:
        raise InvalidInput("form", "too large")
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=500)


def _one(form: dict[str, list[str]], name: str, default: str = "") -> str:
    return (form.get(name) or [default])[0]


def _user(request: Request) -> User | None:
    uid = request.session.get("uid")
    return _svc(request).find(uid) if isinstance(uid, str) else None


# -- home and sign-in ------------------------------------------------------------------------------------------


@router.get("/")
async def home(request: Request) -> Response:
    return render(request, "home.html.j2", user=_user(request))


@router.get("/auth/google/start")
async def google_start(request: Request) -> Response:
    enforce(request.app.state.login_limiter, request, "login")
    try:
        return RedirectResponse(oauth.start(request.app.state.settings, request.session), status_code=303)
    except oauth.SignInError as exc:
        return message(request, "Sign-in is not available", str(exc), status=503)


@router.get("/auth/google/callback")
async def google_callback(request: Request) -> Response:
    enforce(request.app.state.login_limiter, request, "login")
    settings = request.app.state.settings
    params = {k: v for k, v in request.query_params.items() if k in {"code", "state", "error"}}
    try:
        verifier = oauth.check_callback(request.session, params)
        grant = await in_thread(oauth.exchange, settings, params["code"], verifier)
        who: oauth.Identity = await in_thread(oauth.identify, settings, grant)
    except oauth.SignInError as exc:
        return message(request, "Not signed in", str(exc), status=400, link=("/", "Start again"))
    svc = _svc(request)
    uid = svc.accounts.user_for(who.address)
    fresh = uid is None
    if uid is None:
        uid = new_user_id(who.address)
        zone = who.time_zone if who.time_zone in time_zones() or who.time_zone == "UTC" else "UTC"
        svc.users.add(User(id=uid, email=who.address, schedule=Schedule.parse("daily", DEFAULT_AT, zone or "UTC")))
        svc.accounts.link(who.address, uid)
    await in_thread(svc.save_grant, uid, who.grant)
    await svc.reconcile_user(uid)
    request.session.clear()  # a new session for the signed-in person (no fixation)
    request.session.update({"uid": uid, "fresh": fresh})
    request.session["flash"] = (
        "Welcome! Your calendar is connected. Check the settings below and save them." if fresh else "Signed in."
    )
    return _see_other("/settings")


@router.post("/logout")
async def logout(request: Request) -> Response:
    check_csrf(request, _one(await _form(request), "csrf"))
    request.session.clear()
    return _see_other("/")


# -- links from emails -----------------------------------------------------------------------------------------


@router.get("/manage/{token}")
async def manage(token: str, request: Request) -> Response:
    enforce(request.app.state.login_limiter, request, "login")
    try:
        uid = _signer(request).user_for(MANAGE, token, dt.datetime.now(dt.UTC))
    except InvalidInput as exc:
        return message(request, "This link does not work", exc.detail, status=400, link=("/", "Sign in instead"))
    if _svc(request).find(uid) is None:
        return message(request, "This link does not work", "this digest no longer exists", status=404)
    request.session.clear()
    request.session["uid"] = uid
    return _see_other("/settings")


def _unsubscribe_user(request: Request, token: str) -> User | str:
    try:
        uid = _signer(request).user_for(UNSUBSCRIBE, token, dt.datetime.now(dt.UTC))
    except InvalidInput as exc:
        return exc.detail
    return _svc(request).find(uid) or "this digest no longer exists"


@router.get("/unsubscribe/{token}")
async def unsubscribe_page(token: str, request: Request) -> Response:
    """Confirmation only: link scanners open links, so a GET changes nothing."""
    user = _unsubscribe_user(request, token)
    if isinstance(user, str):
        return message(request, "This link does not work", user, status=400)
    return render(request, "unsubscribe.html.j2", user=user, token=token)


@router.post("/unsubscribe/{token}")
async def unsubscribe(token: str, request: Request) -> Response:
    """RFC 8058 one-click (``List-Unsubscribe=One-Click``): pause the digest. The signed token authorizes it."""
    form = await _form(request)
    if _one(form, "List-Unsubscribe") != "One-Click":
        return message(request, "Not unsubscribed", "the request did not say List-Unsubscribe=One-Click", status=400)
    user = _unsubscribe_user(request, token)
    if isinstance(user, str):
        return message(request, "This link does not work", user, status=400)
    svc = _svc(request)
    if user.enabled:
        svc.users.save(user.with_changes(enabled=False))
    await svc.reconcile_user(user.id)
    return render(
        request, "paused.html.j2", user=user, manage=_signer(request).manage_url(user.id, dt.datetime.now(dt.UTC))
    )


@router.get("/mute/{token}")
async def mute_page(token: str, request: Request) -> Response:
    try:
        uid, rule = _signer(request).mute_for(token, dt.datetime.now(dt.UTC))
    except InvalidInput as exc:
        return message(request, "This link does not work", exc.detail, status=400)
    if _svc(request).find(uid) is None:
        return message(request, "This link does not work", "this digest no longer exists", status=404)
    return render(request, "mute.html.j2", rule=rule, token=token)


@router.post("/mute/{token}")
async def mute(token: str, request: Request) -> Response:
    check_csrf(request, _one(await _form(request), "csrf"))
    try:
        uid, rule = _signer(request).mute_for(token, dt.datetime.now(dt.UTC))
    except InvalidInput as exc:
        return message(request, "This link does not work", exc.detail, status=400)
    svc = _svc(request)
    if svc.find(uid) is None:
        return message(request, "This link does not work", "this digest no longer exists", status=404)
    svc.mutes.add(uid, rule)
    manage = _signer(request).manage_url(uid, dt.datetime.now(dt.UTC))
    return message(
        request,
        "Hidden from your digests",
        f"Events like “{rule.label}” will not be listed as new from your next digest on. "
        "You can show them again on your settings page.",
        link=(manage, "Open your settings"),
    )


# -- settings --------------------------------------------------------------------------------------------------


async def _settings_page(
    request: Request, user: User, *, status: int = 200, error: str | None = None, values: dict[str, Any] | None = None
) -> Response:
    svc = _svc(request)
    calendars = await in_thread(svc.calendars, user)
    include = {c.casefold() for c in user.include_calendars}
    for c in calendars:
        c["checked"] = not include or c["id"].casefold() in include or c["summary"].casefold() in include
    s = user.schedule
    current = {
        "enabled": user.enabled,
        "email": user.email,
        "schedule": s.cadence.value,
        "day": s.day or "mon",
        "at": s.at.strftime("%H:%M"),
        "timezone": s.timezone,
        "lookahead_days": user.lookahead_days,
        "sensitivity": user.sensitivity,
        "send_when_empty": user.send_when_empty,
    }
    current.update(values or {})
    return render(
        request,
        "settings.html.j2",
        status,
        user=user,
        v=current,
        error=error,
        calendars=calendars,
        zones=time_zones(),
        cadences=[c.value for c in Cadence],
        days=DAYS,
        sensitivities=SENSITIVITIES,
        fresh=bool(request.session.get("fresh")),
        mutes=svc.mutes.list(user.id),
        deliveries=svc.ledger.recent(user.id, limit=10),
        next_times=s.next_times(dt.datetime.now(dt.UTC), 3) if user.enabled else [],
    )


def _signed_in(request: Request) -> User | Response:
    user = _user(request)
    if user is None:
        request.session.pop("uid", None)
        return message(
            request,
            "Please sign in",
            "Sign in with Google, or open the settings link in your latest digest.",
            status=401,
            link=("/", "Sign in"),
        )
    return user


@router.get("/settings")
async def settings_page(request: Request) -> Response:
    user = _signed_in(request)
    return user if isinstance(user, Response) else await _settings_page(request, user)


@router.post("/settings")
async def save_settings(request: Request) -> Response:
    user = _signed_in(request)
    if isinstance(user, Response):
        return user
    form = await _form(request)
    check_csrf(request, _one(form, "csrf"))
    svc = _svc(request)
    schedule = _one(form, "schedule")
    values: dict[str, Any] = {
        "enabled": _one(form, "enabled") == "on",
        "email": _one(form, "email"),
        "schedule": schedule,
        "day": _one(form, "day") if schedule == "weekly" else None,
        "at": _one(form, "at"),
        "timezone": _one(form, "timezone"),
        "lookahead_days": _one(form, "lookahead_days"),
        "sensitivity": _one(form, "sensitivity"),
        "send_when_empty": _one(form, "send_when_empty") == "on",
    }
    include = user.include_calendars
    if "calendars_listed" in form:
        listed, chosen = form.get("calendars_listed", []), form.get("calendars", [])
        chosen = [c for c in chosen if c in listed]
        if not chosen:
            return await _settings_page(
                request, user, status=422, values=values, error="calendars: choose at least one calendar"
            )
        include = () if set(chosen) == set(listed) else tuple(chosen)
    try:
        updated = build_user(
            user.id,
            **values,
            source=user.source,
            include_calendars=include,
            exclude_calendars=user.exclude_calendars,
            base=user,
        )
    except InvalidInput as exc:
        return await _settings_page(request, user, status=422, values=values, error=str(exc))
    changed = svc.users.save(updated)
    await svc.reconcile_user(user.id)
    request.session.pop("fresh", None)
    when = updated.schedule.next_times(dt.datetime.now(dt.UTC))[0] if updated.enabled else None
    request.session["flash"] = ("Saved. " if changed else "Nothing changed. ") + (
        f"Next digest {when.strftime('%a %d %b %H:%M')} ({updated.timezone})." if when else "Your digest is paused."
    )
    return _see_other("/settings")


@router.get("/settings/preview")
async def preview(request: Request) -> Response:
    user = _signed_in(request)
    if isinstance(user, Response):
        return user
    try:
        html, count = await in_thread(_svc(request).preview, user)
    except Exception as exc:  # a calendar that cannot be read right now: say so, do not crash
        return message(
            request,
            "No preview",
            f"your calendar could not be read just now ({type(exc).__name__})",
            status=502,
            link=("/settings", "Back to settings"),
        )
    banner = (
        '<div style="background:#fef3c7;color:#78350f;padding:8px 12px;font:14px sans-serif">'
        f'Preview: {count} novel event(s). Nothing was sent. <a href="/settings">Back to settings</a></div>'
    )
    return HTMLResponse(re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + banner, html, count=1))


@router.post("/settings/run")
async def send_now(request: Request) -> Response:
    user = _signed_in(request)
    if isinstance(user, Response):
        return user
    check_csrf(request, _one(await _form(request), "csrf"))
    enforce(request.app.state.login_limiter, request, "run")
    run_id = await _svc(request).start_run(user.id)
    request.session["flash"] = f"On its way: your digest is being made now (run {str(run_id)[:8]}); it arrives shortly."
    return _see_other("/settings")


@router.post("/settings/mutes/{mute_id}/delete")
async def unmute(mute_id: int, request: Request) -> Response:
    user = _signed_in(request)
    if isinstance(user, Response):
        return user
    check_csrf(request, _one(await _form(request), "csrf"))
    removed = _svc(request).mutes.remove(user.id, mute_id)  # only ever this user's own rules
    request.session["flash"] = "Shown again from the next digest on." if removed else "Nothing to remove."
    return _see_other("/settings")
