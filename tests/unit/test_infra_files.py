"""Infra files stay in step with the code that manages the same things."""

from __future__ import annotations

import json

import yaml

from deployments.pool import pool_template
from novel_events.jobs import maintenance_spec
from tests.conftest import ROOT


def test_base_job_template_file_is_what_init_applies() -> None:
    on_disk = json.loads((ROOT / "infra" / "base-job-template.json").read_text())
    assert on_disk == pool_template()
    # no interpreter looked up on PATH: the worker runs its own (`python -m prefect.engine` broke bare-PATH starts)
    assert on_disk["variables"]["properties"]["command"].get("default") is None


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
