"""Infra files stay in step with the code that manages the same things."""

from __future__ import annotations

import json

import yaml

from deployments.pool import pool_template
from novel_events.jobs import maintenance_spec
from tests.support.env import ROOT


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
    for lock, requirements in (
        (runtime, project["dependencies"]),
        (dev, [*project["dependencies"], *project["optional-dependencies"]["dev"]]),
    ):
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


# --- Kubernetes: the pool template for one pod per run, the Helm values, the image -------------------------


def _k8s_template() -> dict:  # type: ignore[type-arg]
    return json.loads((ROOT / "infra" / "k8s" / "base-job-template.json").read_text())


def _venv_in_dockerfile() -> str:
    text = (ROOT / "infra" / "Dockerfile").read_text()
    (line,) = [ln for ln in text.splitlines() if ln.startswith("RUN python -m venv ")]
    return line.split()[4]  # RUN python -m venv <dir> && ...


def _render(values: dict) -> dict:  # type: ignore[type-arg]
    """What a kubernetes worker does with the template: defaults + values into the job configuration."""
    from prefect.utilities.templating import apply_values

    template = _k8s_template()
    props = template["variables"]["properties"]
    merged = {k: v["default"] for k, v in props.items() if "default" in v} | values
    return apply_values(template["job_configuration"], merged)  # type: ignore[return-value]


def test_k8s_template_placeholders_are_all_variables() -> None:
    from prefect.utilities.templating import find_placeholders

    template = _k8s_template()
    names = {p.name for p in find_placeholders(template["job_configuration"])}
    assert names and names <= set(template["variables"]["properties"])


def test_k8s_job_runs_the_image_interpreter_by_absolute_path() -> None:
    config = _render(
        {
            "name": "digest-run",
            "env": {"PREFECT__FLOW_RUN_ID": "abc"},
            "labels": {"app": "ne"},
            "image": "registry.example/novel-events:1.2",
        }
    )
    manifest = config["job_manifest"]
    assert (manifest["apiVersion"], manifest["kind"]) == ("batch/v1", "Job")
    assert manifest["metadata"] == {"generateName": "digest-run-", "labels": {"app": "ne"}, "namespace": "novel-events"}
    assert manifest["spec"]["backoffLimit"] == 0  # Prefect, not Kubernetes, decides about retries
    pod = manifest["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["image"] == "registry.example/novel-events:1.2"
    assert container["env"] == {"PREFECT__FLOW_RUN_ID": "abc"}
    assert container["envFrom"] == [{"secretRef": {"name": "novel-events-env"}}]  # secrets: not job variables
    interpreter, *rest = container["args"].split()
    assert interpreter == f"{_venv_in_dockerfile()}/bin/python" and interpreter.startswith("/")
    assert rest == ["-m", "prefect.engine"]


def test_image_and_helm_workers_need_nothing_on_path() -> None:
    cmd = json.loads((ROOT / "infra" / "Dockerfile").read_text().split("CMD ", 1)[1].strip())
    assert cmd[0] == f"{_venv_in_dockerfile()}/bin/prefect"
    assert cmd[1:5] == ["worker", "start", "--pool", "novel-events"] and "--type" not in cmd  # type from the pool
    values = yaml.safe_load((ROOT / "infra" / "k8s" / "worker-values.yaml").read_text())
    from deployments.worker import WORKER_TYPE

    assert values["worker"]["config"] == {
        "workPool": "novel-events",
        "type": WORKER_TYPE,
        "limit": values["worker"]["config"]["limit"],
    }
