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
