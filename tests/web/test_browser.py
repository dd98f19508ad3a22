"""The pages in a real browser: headless Chromium (Debian's package) driven by Playwright.

sign-up (fake Google) → settings (the browser's zone preselected) → save → "Send me one now" → the email in
the outbox → its mute link → its unsubscribe link → paused. `novel-events web` runs as its own process beside
a worker on a pool of its own (both sign links with the same key). Screenshots at phone and desktop width go to
a temporary directory outside the repository (printed).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import get_client

from cli.processes import free_port, start_web, start_worker
from deployments.pool import ensure_pool
from novel_events.settings import Settings
from tasks import store
from tests.fakes.google_calendar import FakeGoogleCalendar
from tests.support.browser import ARGS, CHROMIUM
from tests.support.web import new_account

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def web_stack(initialized: str, session_home: Path, session_google: FakeGoogleCalendar) -> Iterator[str]:
    """`novel-events web` + a worker on its own pool; yields the public URL."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)")
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    pool = f"web-{secrets.token_hex(4)}"

    async def make_pool() -> None:
        async with get_client() as c:
            await ensure_pool(c, pool)

    asyncio.run(make_pool())
    env = {
        "NOVEL_EVENTS_PUBLIC_URL": public,
        "NOVEL_EVENTS_SECRET_KEY": secrets.token_urlsafe(32),
        "NOVEL_EVENTS_WORK_POOL": pool,
        "NOVEL_EVENTS_GOOGLE_AUTH_URI": session_google.auth_uri,
        "NOVEL_EVENTS_HOME": str(session_home),
    }
    worker = start_worker(initialized, pool, session_home / f"worker-{pool}.log", limit=2, poll_seconds=1, env=env)
    try:
        web = start_web(initialized, session_home / f"web-{pool}.log", port=port, env=env, timeout=180)
    except Exception:
        worker.stop()
        raise
    yield public
    web.stop()
    worker.stop()


def _wait_for_email(outbox: Path, address: str, timeout: float = 240) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in outbox.glob("*.eml") if f"To: {address}" in p.read_text(errors="replace")]
        if found:
            return found[0]
        time.sleep(1)
    raise AssertionError(f"no email to {address} in {outbox} within {timeout}s")


def test_sign_up_to_unsubscribe_in_a_real_browser(web_stack: str, session_google: FakeGoogleCalendar) -> None:
    from playwright.sync_api import sync_playwright

    shots = Path(tempfile.mkdtemp(prefix="novel-events-web-shots-"))
    print(f"\nscreenshots: {shots}")
    _account, address = new_account(session_google)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            ctx = browser.new_context(viewport=PHONE, timezone_id="America/Denver", locale="en-US")
            page = ctx.new_page()
            page.goto(web_stack)
            page.screenshot(path=str(shots / "1-home-phone.png"), full_page=True)
            page.click("#sign-in")  # → fake Google's consent → our callback → settings
            page.wait_for_url(f"{web_stack}/settings", timeout=60_000)
            assert page.input_value("#email") == address
            assert page.input_value("#timezone") == "America/Denver"  # the browser's zone, preselected
            page.screenshot(path=str(shots / "2-settings-phone.png"), full_page=True)
            page.set_viewport_size(DESKTOP)
            page.screenshot(path=str(shots / "2-settings-desktop.png"), full_page=True)
            page.set_viewport_size(PHONE)

            page.select_option("#schedule", "weekdays")
            page.fill("#at", "06:30")
            page.click("#save")
            page.wait_for_selector("text=Saved. Next digest", timeout=60_000)
            (user,) = [u for u in store.users().list() if u.email == address]
            assert user.schedule.describe() == "weekdays at 06:30 America/Denver"

            page.click("#send-now")
            page.wait_for_selector("text=On its way", timeout=60_000)
            eml = _wait_for_email(Settings().outbox, address)
            msg: Any = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
            assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            unsubscribe = str(msg["List-Unsubscribe"]).strip("<>")
            assert unsubscribe.startswith(f"{web_stack}/unsubscribe/")
            html = msg.get_body(("html",)).get_content()
            assert "Flight to Lisbon" in html and "Team sync" not in html
            mute = re.search(r'href="([^"]+/mute/[^"]+)"[^>]*>Not new to me', html)
            assert mute, "every event has its 'Not new to me' link"

            page.goto(mute.group(1))
            page.click("#confirm-mute")
            page.wait_for_selector("text=Hidden from your digests")
            assert len(store.mutes().rules(user.id)) == 1

            page.goto(unsubscribe)  # opening the link changes nothing …
            page.wait_for_selector("text=Stop your digest?")
            assert store.users().get(user.id).enabled
            page.screenshot(path=str(shots / "3-unsubscribe-phone.png"), full_page=True)
            page.click("#confirm-unsubscribe")  # … confirming pauses the digest
            page.wait_for_selector("#paused")
            page.screenshot(path=str(shots / "4-paused-phone.png"), full_page=True)
            page.set_viewport_size(DESKTOP)
            page.screenshot(path=str(shots / "4-paused-desktop.png"), full_page=True)
        finally:
            browser.close()
    assert not store.users().get(user.id).enabled

    async def paused() -> bool:
        async with get_client() as c:
            return bool((await c.read_deployment_by_name(f"novel-events-digest/user-{user.id}")).paused)

    assert asyncio.run(paused())
    assert sorted(p.name for p in shots.iterdir()) == [
        "1-home-phone.png",
        "2-settings-desktop.png",
        "2-settings-phone.png",
        "3-unsubscribe-phone.png",
        "4-paused-desktop.png",
        "4-paused-phone.png",
    ]
    assert not str(shots).startswith(str(Path(__file__).resolve().parents[2]))  # outside the repo
