"""The Grafana dashboard and the Prometheus scrape config in infra/ match the metrics we export."""

from __future__ import annotations

import json
import re

import yaml

from deployments.metrics import FleetMetrics
from novel_events.settings import Settings
from tests.support.env import ROOT


def exported_names() -> set[str]:
    """Every sample name the exporter can produce (counters' _total, histograms' _bucket/_sum/_count, …)."""
    names: set[str] = set()
    for family in FleetMetrics(Settings()).registry.collect():
        names.add(family.name)
        names.update(s.name for s in family.samples)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names.update(family.name + s for s in ("_bucket", "_sum", "_count"))
    return names


def test_every_dashboard_expr_names_a_metric_we_export() -> None:
    dashboard = json.loads((ROOT / "infra" / "grafana" / "novel-events-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 10
    exported = exported_names()
    used: set[str] = set()
    for expr in exprs:
        metrics = set(re.findall(r"\bnovel_events_[a-z_]+", expr))
        assert metrics, f"no novel_events_ metric in {expr!r}"
        assert metrics <= exported, f"{expr!r} names {metrics - exported}, not exported"
        used |= metrics
    # every family we export is on the dashboard somewhere
    families = {n.removesuffix("_total").removesuffix("_bucket") for n in used}
    assert {
        "novel_events_digests",
        "novel_events_digest_start_lateness_seconds",
        "novel_events_digest_duration_seconds",
        "novel_events_emails",
        "novel_events_google_api_calls",
        "novel_events_google_api_retries",
        "novel_events_users",
        "novel_events_ledger_slots",
    } <= families


def test_exported_names_are_prefixed_and_the_scrape_config_points_at_the_exporter() -> None:
    assert all(n.startswith("novel_events_") for n in exported_names())
    config = yaml.safe_load((ROOT / "infra" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics" and job["static_configs"][0]["targets"][0].endswith(":9464")
