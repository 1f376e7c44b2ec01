"""``serve`` and ``pg serve`` as real processes: gunicorn on a free loopback port."""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest

from tests.layouts import build_claude, build_codex
from tests.pg_processes import Machine, throwaway_schema, wait_for, write_corpus

# runs real processes (the console script, gunicorn, a browser): not in the fast loop
pytestmark = pytest.mark.slow

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, proc: subprocess.Popen, port: int, machine: Machine, tls: bool) -> None:
        self.proc, self.port, self.machine, self.tls = proc, port, machine, tls
        self.output: list[str] = []

    def request(self, method: str, path: str, headers: dict | None = None, timeout: float = 10):
        if self.tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=context)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return response.status, body

    def json(self, path: str, status: int = 200, headers: dict | None = None):
        code, body = self.request("GET", path, headers)
        assert code == status, (path, code, body)
        return orjson.loads(body)

    @property
    def state_file(self) -> Path:
        return self.machine.data / f"server.{self.port}.json"


@contextmanager
def running(machine: Machine, command: str, *args: str, tls: bool = False, **env: str):
    port = free_port()
    proc = subprocess.Popen(machine.command(command, "--port", str(port), *args),
                            env={**machine.env, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    server = Server(proc, port, machine, tls)
    reader = threading.Thread(target=lambda: server.output.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        started = wait_for(lambda: server.state_file.exists() or proc.poll() is not None, 90)
        assert started and proc.poll() is None, "".join(server.output)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def laptop(tmp_path):
    machine = Machine(tmp_path / "laptop", "laptop-a", "postgresql://unused@127.0.0.1/x",
                      "agentsview")
    for key in ("AGENTSVIEW_PG_URL", "AGENTSVIEW_PG_SCHEMA"):
        machine.env.pop(key)
    build_claude(machine.claude)
    return machine


def test_serve_syncs_serves_and_cleans_up(laptop):
    with running(laptop, "serve", "--sync-interval", "0.5") as server:
        state = json.loads(server.state_file.read_text())
        assert state["port"] == server.port and state["read_only"] is False
        assert state["pid"] == server.proc.pid
        assert server.json("/api/ping")["ok"] is True
        health = server.json("/health/db")
        assert health["status"] == "ok" and health["database"] == "connected"
        assert health["migrations_pending"] is False and "machines" not in health
        assert server.json(f"/api/v1/sessions/{RICH}")["display_name"] == "Login redirect fix"
        # a new agent session appears without a restart
        write_corpus(laptop.claude, sessions=1, messages=4, size=30, prefix="late")
        new_id = next(p.stem for p in laptop.claude.rglob("*.jsonl") if "projects-p0" in str(p))
        assert wait_for(lambda: server.request("GET", f"/api/v1/sessions/{new_id}")[0] == 200,
                        30)
        assert server.request("POST", "/api/v1/sessions")[0] == 405
        pid = server.proc.pid
    assert server.proc.returncode == 0
    said = "".join(server.output)  # what the first sync found, before the address
    assert "Synced " in said and said.index("Synced ") < said.index(" at http://")
    assert not server.state_file.exists()
    assert subprocess.run(["pgrep", "-f", f"gunicorn.*:{server.port}"],
                          capture_output=True).returncode == 1, f"gunicorn of {pid} still runs"


def test_a_busy_port_is_refused_and_the_running_server_kept(laptop):
    with running(laptop, "serve") as server:
        state = server.state_file.read_text()
        for command in ("pg_serve", "serve"):
            # pg serve is refused before it even tries this (unreachable) database
            proc = laptop.run(command, "--port", str(server.port), timeout=120,
                              AGENTSVIEW_PG_URL="postgresql://postgres@127.0.0.1:1/x")
            assert proc.returncode == 1, proc.stdout + proc.stderr
            name = command.replace("_", " ")
            assert proc.stderr == f"error: {name}: port {server.port} is in use; use --port\n"
            assert proc.stdout == ""  # never the other server's URL
        assert server.state_file.read_text() == state  # the running server's file is kept
        assert server.json("/api/ping")["pid"] > 0


def test_base_path(laptop):
    with running(laptop, "serve", "--base-path", "/team/") as server:
        assert server.json("/team/api/ping")["ok"] is True
        assert server.json("/team/api/v1/sessions")["total"] >= 1
        assert server.request("GET", "/api/ping")[0] == 404
        assert server.request("GET", "/teamFOO/api/ping")[0] == 404
        assert server.request("GET", "/team/api/schema/")[0] == 200
        assert json.loads(server.state_file.read_text())["base_path"] == "/team"


def test_tls_subnets_and_public_url(laptop, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    with running(laptop, "serve", "--tls-cert", str(cert), "--tls-key", str(key),
                 "--public-url", "https://sessions.example.com", tls=True) as server:
        assert server.json("/api/ping")["ok"] is True
        assert server.json("/api/ping", headers={"Host": "sessions.example.com"})["ok"]
        code, body = server.request("GET", "/api/ping", {"Host": "evil.example.com"})
        assert code == 403 and b"--public-url" in body
    with running(laptop, "serve", "--allowed-subnet", "10.0.0.0/8") as server:
        assert server.request("GET", "/api/ping")[0] == 403


def test_required_auth_prints_a_new_token_once(laptop):
    with running(laptop, "serve", "--require-auth") as server:
        output = "".join(server.output)
        token = output.split("New token (shown once; saved in ")[1].split("): ")[1].split()[0]
        assert server.request("GET", "/api/v1/sessions")[0] == 401
        assert server.json("/api/v1/sessions", headers={"Authorization": f"Bearer {token}"})
        assert json.loads(server.state_file.read_text())["auth"] is True
    with running(laptop, "serve", "--require-auth") as server:
        assert "Auth enabled. Token is configured." in "".join(server.output)
        assert token not in "".join(server.output)


def test_watch_streams_do_not_block_other_requests(laptop):
    with running(laptop, "serve") as server:
        baseline = []
        for _ in range(10):
            started = time.perf_counter()
            server.json(f"/api/v1/sessions/{RICH}")
            baseline.append(time.perf_counter() - started)
        streams = []
        for _ in range(20):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", f"/api/v1/sessions/{RICH}/watch")
            response = conn.getresponse()
            assert response.status == 200
            assert response.readline().startswith(b"event: session_ready")
            streams.append(conn)
        loaded = []
        for _ in range(10):
            started = time.perf_counter()
            server.json(f"/api/v1/sessions/{RICH}")
            loaded.append(time.perf_counter() - started)
        for conn in streams:
            conn.close()
    baseline.sort()
    loaded.sort()
    assert loaded[5] < max(0.1, 5 * baseline[5]), (baseline, loaded)


def open_stream(server: Server) -> tuple[http.client.HTTPConnection, int, str | None]:
    """A watch stream on a new connection (the kernel picks the worker): the connection, the
    status, and Retry-After."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", f"/api/v1/sessions/{RICH}/watch")
    response = conn.getresponse()
    if response.status == 200:
        assert response.readline().startswith(b"event: session_ready")
    else:
        response.read()
    return conn, response.status, response.getheader("Retry-After")


def test_watch_capacity_is_the_servers_whatever_worker_a_stream_lands_on(laptop):
    """--threads 8 on 2 workers: 4 streams in all, however the kernel spreads them (each
    worker alone used to admit 4, so the server admitted 4 to 8 depending on where they
    landed)."""
    # a heartbeat every 0.2 s: the server notices a closed stream at its next write
    with running(laptop, "serve", "--threads", "8", "--workers", "2",
                 AGENTSVIEW_SSE_HEARTBEAT_SECONDS="0.2") as server:
        opened = [open_stream(server) for _ in range(12)]
        statuses = [status for _, status, _ in opened]
        assert statuses.count(200) == 4, statuses
        assert all(retry == "5" for _, status, retry in opened if status == 503)
        assert server.json("/api/ping")["ok"] is True  # threads are left for other requests
        first_open = next(conn for conn, status, _ in opened if status == 200)
        first_open.close()  # a closed stream gives its slot back to the whole server

        def reopened() -> bool:
            opened.append(open_stream(server))
            return opened[-1][1] == 200

        assert wait_for(reopened, 10)
        opened.append(open_stream(server))
        assert opened[-1][1] == 503
        for conn, _, _ in opened:
            conn.close()
        slots_files = list(laptop.data.glob("server.*.watch"))
        assert len(slots_files) == 1
    assert not slots_files[0].exists()


def with_known_token(machine: Machine, token: str = "known-server-token") -> str:
    (machine.data / "auth_token").write_text(token + "\n")
    return token


def test_wrong_tokens_are_counted_across_workers(laptop):
    token = with_known_token(laptop)
    with running(laptop, "serve", "--require-auth", "--workers", "2") as server:
        pids = {server.json("/api/ping", headers={"Authorization": f"Bearer {token}"})["pid"]
                for _ in range(20)}
        for i in range(10):  # each on a new connection, whichever worker takes it
            status, _ = server.request("GET", "/api/v1/stats",
                                       {"Authorization": f"Bearer guess-{i}"})
            assert status == 401, i
        for _ in range(6):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", "/api/v1/stats", headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            body = response.read()
            conn.close()
            assert response.status == 429, body
            assert 1 <= int(response.getheader("Retry-After")) <= 60
    assert len(pids) == 2, "the requests should have reached both workers"


def browser_request(server: Server, method: str, path: str, cookies: dict[str, str],
                    form: dict[str, str] | None = None) -> http.client.HTTPResponse:
    """One request on a new connection, as a browser would send it; keeps its cookies."""
    from urllib.parse import urlencode

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";")[0]
    return response


def test_sign_out_ends_a_kept_cookie_on_every_worker(laptop):
    import re

    token = with_known_token(laptop)
    with running(laptop, "serve", "--require-auth", "--workers", "2") as server:
        cookies: dict[str, str] = {}
        form = browser_request(server, "GET", "/login", cookies).body.decode()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        signed = browser_request(server, "POST", "/login", cookies,
                                 {"csrfmiddlewaretoken": csrf, "token": token, "next": "/"})
        assert signed.status == 302, signed.body
        kept = dict(cookies)
        assert all(browser_request(server, "GET", "/", dict(kept)).status == 200
                   for _ in range(6))
        assert browser_request(server, "GET", "/logout", cookies).status == 302
        for _ in range(10):  # whichever worker answers
            assert browser_request(server, "GET", "/", dict(kept)).status == 302
            assert browser_request(server, "GET", "/api/v1/stats", dict(kept)).status == 401


@pytest.mark.pg
def test_pg_serve_is_read_only_and_shows_every_machine(tmp_path):
    with throwaway_schema() as (url, schema):
        alice = Machine(tmp_path / "alice", "alice-laptop", url, schema)
        bob = Machine(tmp_path / "bob", "bob-desktop", url, schema)
        build_claude(alice.claude)
        build_codex(bob.codex if hasattr(bob, "codex") else bob.root / "codex")
        bob.env["CODEX_SESSIONS_DIR"] = str(bob.root / "codex")
        for machine in (alice, bob):
            assert machine.run("pg_push").returncode == 0
        server_machine = Machine(tmp_path / "server", "team-server", url, schema)
        with running(server_machine, "pg_serve") as server:
            assert server.json("/api/v1/version")["read_only"] is True
            assert json.loads(server.state_file.read_text())["read_only"] is True
            machines = server.json("/api/v1/machines")["machines"]
            assert machines == ["alice-laptop", "bob-desktop"]
            listed = server.json("/api/v1/sessions?include_one_shot=true&limit=500")
            before = listed["total"]
            for route in ("/api/v1/sessions", f"/api/v1/sessions/{RICH}",
                          f"/api/v1/sessions/{RICH}/messages", "/api/v1/stats"):
                for method in ("POST", "PUT", "PATCH", "DELETE"):
                    code, body = server.request(method, route)
                    assert code == 405, (method, route, body)
            after = server.json("/api/v1/sessions?include_one_shot=true&limit=500")["total"]
            assert after == before
            assert "(pg read-only)" in "".join(server.output)
        token = server_machine.run("token", "create", "alice", "--create-user", "--pg")
        assert token.returncode == 0, token.stderr
        key = token.stdout.strip().split()[-1]
        with running(server_machine, "pg_serve", "--require-auth") as server:
            headers = {"Authorization": f"Bearer {key}"}
            assert server.json("/api/v1/stats", headers=headers)["session_count"] >= 1
            assert server_machine.run("token", "revoke", "alice", "--pg").returncode == 0
            assert server.request("GET", "/api/v1/stats", headers)[0] == 401


@pytest.mark.pg
def test_pg_serve_health_names_a_stale_machine_and_a_lost_database(tmp_path):
    import uuid

    import psycopg

    with throwaway_schema() as (url, schema):
        alice = Machine(tmp_path / "alice", "alice-laptop", url, schema)
        write_corpus(alice.claude, sessions=2, messages=2, size=10)
        assert alice.run("pg_push").returncode == 0
        role = f"hc_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE ROLE "{role}" LOGIN')
            conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
            conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
        try:
            team = Machine(tmp_path / "server", "team-server",
                           url.replace("postgres@", f"{role}@"), schema)
            # with auth on, the probe still needs no token
            with running(team, "pg_serve", "--require-auth") as server:
                assert server.request("GET", "/api/v1/sessions")[0] == 401
                health = server.json("/health/db")
                assert set(health) == {"status", "database", "schema_version",
                                       "migrations_pending", "pending_migrations", "machines"}
                assert health["status"] == "ok" and health["migrations_pending"] is False
                assert [m["machine"] for m in health["machines"]] == ["alice-laptop"]
                assert wait_for(lambda: server.json("/health/db")["machines"][0][
                    "push_age_seconds"] >= 2, 10)
                code, body = server.request("GET", "/health/db?max_push_age=1s")
                assert code == 503, body
                assert json.loads(body)["error"].startswith("machine alice-laptop last pushed")
                assert server.request("GET", "/health/db?max_push_age=1h")[0] == 200
                # the database goes away: the role may no longer log in, its sessions end
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f'ALTER ROLE "{role}" NOLOGIN')
                    conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                 " WHERE usename = %s", [role])
                code, body = server.request("GET", "/health/db")
                assert code == 503, body
                down = json.loads(body)
                assert down["status"] == "error" and down["database"] == "unreachable"
                # a worker whose connection was cut as it queried reports the cut first; the
                # next probe reconnects and names the cause
                assert wait_for(lambda: "not permitted to log in" in server.json(
                    "/health/db", 503)["error"], 10), down
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                             " WHERE usename = %s", [role])
                conn.execute(f'DROP OWNED BY "{role}" CASCADE')
                conn.execute(f'DROP ROLE "{role}"')


@pytest.mark.pg
def test_pg_serve_refuses_an_incompatible_schema(tmp_path):
    with throwaway_schema() as (url, schema):
        import psycopg

        machine = Machine(tmp_path / "m", "m", url, schema)
        write_corpus(machine.claude, sessions=2, messages=2, size=10)
        assert machine.run("pg_push").returncode == 0
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'ALTER TABLE "{schema}".sessions DROP COLUMN pushed_at')
        proc = machine.run("pg_serve", "--port", str(free_port()), timeout=120)
        assert proc.returncode == 1
        assert (f"error: pg serve: schema {schema} is incompatible: sessions lacks pushed_at"
                in proc.stderr)
        shutil.rmtree(machine.root, ignore_errors=True)


@pytest.mark.pg
def test_pg_serve_with_a_read_only_role(tmp_path):
    import uuid

    import psycopg

    with throwaway_schema() as (url, schema):
        owner = Machine(tmp_path / "owner", "owner", url, schema)
        build_claude(owner.claude)
        assert owner.run("pg_push").returncode == 0
        role = f"ro_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE ROLE "{role}" LOGIN')
            conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
            conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
        try:
            reader = Machine(tmp_path / "reader", "reader", url.replace("postgres@", f"{role}@"),
                             schema)
            with running(reader, "pg_serve") as server:
                assert server.json(f"/api/v1/sessions/{RICH}")["display_name"] == (
                    "Login redirect fix")
                assert server.json("/api/v1/search?q=redirect")["count"] >= 1
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP OWNED BY "{role}" CASCADE')
                conn.execute(f'DROP ROLE "{role}"')
