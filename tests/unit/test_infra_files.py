"""Infra files stay in step with the code that manages the same things."""

from __future__ import annotations

import json

import yaml

from deployments.pool import ENGINE_COMMAND, process_template
from novel_events.jobs import maintenance_spec
from tests.support.env import ROOT


def test_base_job_template_file_is_what_init_applies() -> None:
    on_disk = json.loads((ROOT / "infra" / "base-job-template.json").read_text())
    assert on_disk == process_template()
    assert on_disk["variables"]["properties"]["command"]["default"] == ENGINE_COMMAND


def test_prefect_yaml_maintenance_matches_reconcile() -> None:
    project = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    (dep,) = project["deployments"]
    spec = maintenance_spec("novel-events")
    assert dep["entrypoint"] == spec.entrypoint
    assert sorted(dep["tags"]) == sorted(spec.tags)
    assert dep["description"] == spec.description
    assert dep["schedules"] == [{"cron": spec.cron, "timezone": spec.timezone, "active": True}]
    assert dep["work_pool"]["name"] == spec.work_pool
    assert dep["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}


def _pins(lock: str) -> dict[str, str]:
    from packaging.utils import canonicalize_name

    pins = {}
    for line in (ROOT / "requirements" / lock).read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, _, version = line.partition(" ")[0].partition("==")
            pins[canonicalize_name(name.split("[")[0])] = version
    return pins


def test_lock_files_satisfy_pyproject() -> None:
    """`make lock` was run after the last change to pyproject.toml's dependencies."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = _pins("lock.txt"), _pins("dev-lock.txt")
    for lock, requirements in ((runtime, project["dependencies"]),
                               (dev, [*project["dependencies"], *project["optional-dependencies"]["dev"]])):
        for text in requirements:
            req = Requirement(text)
            name = canonicalize_name(req.name)
            assert name in lock, f"{req.name} is not in the lock: run `make lock`"
            assert req.specifier.contains(lock[name], prereleases=True), f"{req.name}=={lock[name]} vs {req}: make lock"
    assert {n: v for n, v in dev.items() if n in runtime} == runtime  # one version of everything


def test_dockerfile_installs_the_lock_and_the_wheel_only() -> None:
    dockerfile = (ROOT / "infra" / "Dockerfile").read_text()
    assert "pip install -r /tmp/lock.txt" in dockerfile
    assert "pip install --no-deps /tmp/dist/*.whl" in dockerfile
    for room in ("tasks", "flows", "deployments", "cli"):  # the wheel knows the rooms; the Dockerfile does not
        assert f"COPY {room}" not in dockerfile
