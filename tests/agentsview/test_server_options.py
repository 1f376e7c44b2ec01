"""How serve/pg serve turn flags into the workers' environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentsview.server import (
    ServerError,
    ServerOptions,
    is_loopback,
    normalize_base_path,
    worker_environment,
)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False), ("::", False), ("10.0.0.5", False),
     ("sessions.example.com", False)],
)
def test_loopback(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(("raw", "path"), [("", ""), ("/", ""), ("team", "/team"),
                                           ("/team/", "/team"), ("/a/b", "/a/b")])
def test_base_path(raw, path):
    assert normalize_base_path(raw) == path


@pytest.mark.parametrize("raw", ["/a b", "/a?x", "/a#x", "/a//b", "/a%2e"])
def test_bad_base_path(raw):
    with pytest.raises(ServerError):
        normalize_base_path(raw)


def test_worker_environment_names_hosts_origins_and_auth():
    options = ServerOptions(host="0.0.0.0", public_urls=["https://sessions.example.com"],
                            public_origins=["https://proxy.example.com:8443"],
                            allowed_subnets=["10.0.0.0/8"], threads=32)
    env = worker_environment(options, "tok")
    assert env["AGENTSVIEW_ALLOWED_HOSTS"].split(",") == sorted(
        ["127.0.0.1", "localhost", "[::1]", "sessions.example.com", "proxy.example.com"])
    assert env["AGENTSVIEW_TRUSTED_ORIGINS"] == (
        "https://sessions.example.com,https://proxy.example.com:8443")
    assert env["AGENTSVIEW_REQUIRE_AUTH"] == "1" and env["AGENTSVIEW_AUTH_TOKEN"] == "tok"
    assert env["AGENTSVIEW_MAX_WATCH_STREAMS"] == "28"  # in all: the workers share the file
    assert env["AGENTSVIEW_WATCH_SLOTS_FILE"] == ""
    assert worker_environment(options, None, Path("/d/server.8080.1.watch"))[
        "AGENTSVIEW_WATCH_SLOTS_FILE"] == "/d/server.8080.1.watch"
    assert env["AGENTSVIEW_ALLOWED_SUBNETS"] == "10.0.0.0/8"
    plain = worker_environment(ServerOptions(host="10.0.0.5"), None)
    assert "10.0.0.5" in plain["AGENTSVIEW_ALLOWED_HOSTS"].split(",")
    assert plain["AGENTSVIEW_REQUIRE_AUTH"] == "" and plain["AGENTSVIEW_AUTH_TOKEN"] == ""
