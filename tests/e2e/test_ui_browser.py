"""Looked at in a browser: the Prefect UI (headless Chromium) asks for the API's auth string and refuses a wrong
one; signed in, after a few digests, it shows our deployments, readable run names and the digest summary artifacts.
Screenshots go to a temporary directory (outside the repo).

Needs the system Chromium (`apt-get install -y chromium` -> /usr/bin/chromium), driven by Playwright's Python
package; no `playwright install`.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from cli.app import main
from cli.processes import free_port, start_server, start_worker
from novel_events.samples import PEOPLE, build_ics
from tests.support.browser import ARGS, CHROMIUM
from tests.support.env import environ

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def ui_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Its own server with the UI on, its own state dir and worker, and two users with one digest each."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.support.prefect import wait_final

    assert shutil.which(CHROMIUM) or Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    home = tmp_path_factory.mktemp("ui-home")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    server, _ = start_server(
        tmp_path_factory.mktemp("ui-prefect"),
        port=port,
        ui=True,
        extra_env={"PREFECT_API_URL": api, "PREFECT_UI_API_URL": api},
    )
    worker = None
    env = {
        "PREFECT_API_URL": api,
        "NOVEL_EVENTS_HOME": str(home),
        "NOVEL_EVENTS_EMAIL_BACKEND": "outbox",
        "NOVEL_EVENTS_MAINTENANCE_EVERY_MINUTES": "0",
        "NOVEL_EVENTS_DATABASE_URL": f"sqlite:///{home}/ui.db",
        "NOVEL_EVENTS_ICS_ROOT": str(home),  # the two calendars below live there
    }
    try:
        env.update(server.client_env)  # this server's API auth string, whatever the session exported
        with environ(env), temporary_settings(updates={PREFECT_API_URL: api}):
            assert main(["init"]) == 0
            users = []
            for person in PEOPLE[:2]:
                ics = home / f"{person.user_id}.ics"
                ics.write_bytes(build_ics(person, dt.date.today()))
                assert (
                    main(
                        [
                            "users",
                            "add",
                            person.user_id,
                            "--email",
                            person.email,
                            "--timezone",
                            person.timezone,
                            "--schedule",
                            "daily",
                            "--at",
                            "07:30",
                            "--source",
                            f"ics:{ics}",
                            "--send-when-empty",
                        ]
                    )
                    == 0
                )
                users.append(person.user_id)
            assert main(["sync"]) == 0
            worker = start_worker(
                api, "novel-events", home / "worker.log", poll_seconds=1, env={"NOVEL_EVENTS_HOME": str(home)}
            )
            runs = [
                cast(
                    FlowRun,
                    run_deployment(
                        name=f"novel-events-digest/user-{uid}", parameters={"user_id": uid, "manual": True}, timeout=0
                    ),
                )
                for uid in users
            ]
            finished = [wait_final(r.id, timeout=300) for r in runs]
            assert all(r.state_name == "Completed" for r in finished), [(r.name, r.state_name) for r in finished]
            yield {
                "ui": api.removesuffix("/api"),
                "users": users,
                "runs": finished,
                "auth": server.client_env["PREFECT_API_AUTH_STRING"],
            }
    finally:
        if worker is not None:
            worker.stop()
        server.stop()


@pytest.mark.timeout(1800)  # a server with the UI, two digests and a browser, on a shared 2-core machine
def test_ui_shows_deployments_run_names_and_artifacts(
    ui_stack: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    from playwright.sync_api import sync_playwright

    shots = Path(tempfile.mkdtemp(prefix="novel-events-ui-"))  # outside the repo; kept for a look afterwards
    ui, users, runs = ui_stack["ui"], ui_stack["users"], ui_stack["runs"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        try:
            page.goto(f"{ui}/deployments")
            # The API wants its auth string, so the UI asks for it first and shows nothing before.
            login = page.get_by_role("button", name="Login")
            login.wait_for()
            assert page.get_by_text(f"user-{users[0]}", exact=True).count() == 0
            page.get_by_placeholder("admin:pass").fill("novel-events:wrong")
            login.click()
            page.get_by_text("Authentication failed").first.wait_for()
            page.get_by_placeholder("admin:pass").fill(ui_stack["auth"])
            login.click()
            page.wait_for_url(re.compile(r"/deployments"))
            page.screenshot(path=str(shots / "signed-in.png"))
            page.goto(f"{ui}/deployments")
            for uid in users:
                page.get_by_text(f"user-{uid}", exact=True).first.wait_for()
            page.screenshot(path=str(shots / "deployments.png"), full_page=True)

            page.goto(f"{ui}/runs")
            for run in runs:  # e.g. "ada · manual Wed 2 Dec 18:31 CET", not "violet-muskrat"
                assert " · manual " in run.name
                page.get_by_text(run.name).first.wait_for()
            page.screenshot(path=str(shots / "runs.png"), full_page=True)

            page.goto(f"{ui}/runs/flow-run/{runs[0].id}")
            page.get_by_text(runs[0].name).first.wait_for()
            page.screenshot(path=str(shots / "flow-run.png"))  # viewport: the run page keeps growing

            page.goto(f"{ui}/artifacts")
            for uid in users:
                page.get_by_text(f"digest-{uid}").first.wait_for()
            page.screenshot(path=str(shots / "artifacts.png"), full_page=True)

            page.goto(f"{ui}/artifacts/key/digest-{users[0]}")
            page.get_by_text(re.compile(rf"Digest (for {users[0]}|summary: sent)")).first.wait_for()
            page.screenshot(path=str(shots / "artifact.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(shots / "failure.png"))
            print(f"failure screenshot in {shots}")
            raise
        finally:
            browser.close()
    for name in ("deployments", "runs", "flow-run", "artifacts", "artifact"):
        assert (shots / f"{name}.png").stat().st_size > 10_000
    print(f"screenshots in {shots}")  # shown with -s
