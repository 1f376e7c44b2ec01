"""The PostgreSQL connection policy: TLS rule, target identity, lock key, password scrubbing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from agentsview.config import PgConfig
from agentsview.redact import redact_url, scrub
from sync_app.pg_connection import PgError, check_transport, is_local_host, target_of
from sync_app.schema import migration_lock_key
from tests.helpers import REPO


def pg(url: str, allow_insecure: bool = False) -> PgConfig:
    return PgConfig(url=url, machine_name="m", allow_insecure=allow_insecure)


@pytest.mark.parametrize(
    ("host", "local"),
    [("localhost", True), ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True),
     ("/var/run/postgresql", True), ("", True), ("10.1.2.3", False), ("db.example.com", False),
     ("::ffff:10.0.0.1", False)],
)
def test_local_hosts(host, local):
    assert is_local_host(host) is local


@pytest.mark.parametrize(
    "url",
    ["postgres://u@10.1.2.3/db", "postgres://u@10.1.2.3/db?sslmode=disable",
     "postgres://u@10.1.2.3/db?sslmode=allow", "postgres://u@10.1.2.3/db?sslmode=prefer",
     "postgres://u@localhost,10.1.2.3/db", "postgres://u@/db?host=10.1.2.3"],
)
def test_plaintext_to_remote_is_refused(url):
    with pytest.raises(PgError) as info:
        check_transport(pg(url), "pg push", environ={})
    assert str(info.value) == (
        "pg push: pg connection to 10.1.2.3 permits plaintext; set sslmode=require (or"
        " verify-full) for non-local hosts, or set allow_insecure = true under [pg] in config"
        " to override"
    )


@pytest.mark.parametrize(
    "url",
    ["postgres://u@10.1.2.3/db?sslmode=require", "postgres://u@db/x?sslmode=verify-full",
     "postgres://u@127.0.0.1/db", "postgres://u@[::1]:5433/db", "postgres://u@/db",
     "postgres://u@/db?host=/var/run/postgresql"],
)
def test_encrypted_or_local_is_accepted(url):
    assert check_transport(pg(url), "pg push", environ={}) is None


def test_pgsslmode_environment_counts():
    assert check_transport(pg("postgres://u@10.1.2.3/db"), "x",
                           environ={"PGSSLMODE": "require"}) is None


def test_allow_insecure_turns_the_refusal_into_a_warning():
    warning = check_transport(pg("postgres://u@10.1.2.3/db", allow_insecure=True), "pg push",
                              environ={})
    assert warning.startswith("warning: pg connection to 10.1.2.3 permits plaintext")


def test_target_identity_ignores_credentials_and_names_the_schema():
    a = target_of(pg("postgres://alice:one@db.example.com:5433/team"), environ={})
    b = target_of(pg("postgres://alice:two@db.example.com:5433/team"), environ={})
    assert a.key == b.key
    assert a.description == "db.example.com:5433/team (schema agentsview)"
    c = target_of(PgConfig(url="postgres://alice@db.example.com:5433/team", machine_name="m",
                           schema="other"), environ={})
    assert c.key != a.key


@pytest.mark.slow
def test_migration_lock_key_is_stable_across_processes():
    """Two pushers must compute the same key: no per-process salted hash() in it."""
    code = "from sync_app.schema import migration_lock_key; print(migration_lock_key('agentsview'))"
    keys = {
        subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}, check=True).stdout.strip()
        for seed in ("1", "2", "random")
    }
    assert keys == {str(migration_lock_key("agentsview"))}
    assert -(2**63) <= migration_lock_key("agentsview") < 2**63  # fits a PostgreSQL bigint
    assert migration_lock_key("other") != migration_lock_key("agentsview")


@pytest.mark.parametrize(
    ("url", "secret"),
    [("postgres://app:s3cr%40t@db/x", "s3cr%40t"),
     ("postgres://app@db/x?sslmode=require&password=s3cret", "s3cret"),
     ("host=db user=app password='s3 cret' dbname=x", "s3 cret")],
)
def test_passwords_are_masked_everywhere(url, secret):
    assert secret not in redact_url(url)
    decoded = secret.replace("%40", "@")
    text = f"connection to {url} failed for password {decoded}"
    assert secret not in scrub(text, url) and decoded not in scrub(text, url)
