"""Every server this project describes requires the API auth string and has its own encryption key."""

from __future__ import annotations

import yaml

from tests.support.env import ROOT


def test_compose_protects_the_api_and_keys_apart_from_the_database() -> None:
    compose = yaml.safe_load((ROOT / "infra" / "docker-compose.yml").read_text())
    server = compose["services"]["server"]["environment"]
    worker = compose["services"]["worker"]["environment"]
    assert "PREFECT_AUTH_STRING" in server["PREFECT_SERVER_API_AUTH_STRING"]
    assert "PREFECT_AUTH_STRING" in worker["PREFECT_API_AUTH_STRING"]  # the same variable on both sides
    assert server["PREFECT_SERVER_ENCRYPTION_KEY"].startswith("${PREFECT_SERVER_ENCRYPTION_KEY:?")
    assert worker["NOVEL_EVENTS_STORE_KEY"].startswith("${NOVEL_EVENTS_STORE_KEY:?")


def test_helm_values_enable_basic_auth_and_the_encryption_key() -> None:
    worker = yaml.safe_load((ROOT / "infra" / "k8s" / "worker-values.yaml").read_text())["worker"]
    auth = worker["selfHostedServerApiConfig"]["basicAuth"]
    assert auth["enabled"] is True and auth["existingSecret"]
    server = yaml.safe_load((ROOT / "infra" / "k8s" / "server-values.yaml").read_text())["server"]
    assert server["basicAuth"] == {"enabled": True, "existingSecret": auth["existingSecret"]}
    names = {e["name"] for e in server["env"]}
    assert "PREFECT_SERVER_ENCRYPTION_KEY" in names


def test_the_local_server_gets_both_secrets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from cryptography.fernet import Fernet

    from cli.server_secrets import client_env, server_secret_env

    # a database that, like every Prefect server started before, holds its own key
    home = tmp_path / "prefect"
    home.mkdir()
    old = Fernet.generate_key().decode()
    with sqlite3.connect(home / "prefect.db") as db:
        db.execute("CREATE TABLE configuration (key TEXT, value JSON)")
        db.execute("INSERT INTO configuration VALUES ('ENCRYPTION_KEY', ?)", (f'{{"fernet_key": "{old}"}}',))
    env = server_secret_env(tmp_path / "secrets", home)
    assert env["PREFECT_SERVER_ENCRYPTION_KEY"] == old  # adopted: existing blocks stay readable
    with sqlite3.connect(home / "prefect.db") as db:
        assert db.execute("SELECT count(*) FROM configuration").fetchone() == (0,)  # and gone from the database
    assert client_env(tmp_path / "secrets")["PREFECT_API_AUTH_STRING"] == env["PREFECT_SERVER_API_AUTH_STRING"]
    assert server_secret_env(tmp_path / "secrets", home) == env  # stable across restarts
    for f in (tmp_path / "secrets").iterdir():
        assert f.stat().st_mode & 0o777 == 0o600
