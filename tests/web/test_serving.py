"""`vidoro serve` as real processes: worker processes with threads, the checkpoint issuer beside them, nothing
left behind when the server stops or dies, forwarded headers trusted only as VIDORO_PROXIES says, and slow
clients holding no worker thread."""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.web.test_cli import SERVE_TIMEOUT, VIDORO, assert_ok, free_port, get, run, stop
from web.serving import LIMITS, checkpoint_process


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.fixture
def server(tmp_path):
    """`vidoro serve --workers 2 --threads 2` on the embedded SQLite default, with checkpoints every 0.5 s."""
    home, port = tmp_path / "instance", free_port()
    assert_ok(run(home, "init"))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VIDORO_")}
    environment.update(VIDORO_HOME=str(home), PYTHONUNBUFFERED="1", VIDORO_CHECKPOINT_INTERVAL="0.5",
                       VIDORO_CHECKPOINT_TARGETS=str(tmp_path / "share"))
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen([str(VIDORO), "serve", "--port", str(port), "--workers", "2", "--threads", "2"],
                                   env=environment, stdout=out, stderr=subprocess.STDOUT)
        try:
            if not wait_for(lambda: process.poll() is not None or get(f"http://127.0.0.1:{port}/health"),
                            SERVE_TIMEOUT) or process.poll() is not None:
                pytest.fail(f"vidoro serve did not answer:\n{log.read_text()}")
            yield process, port, log
        finally:
            stop(process, timeout=20)


def test_two_workers_and_the_checkpoint_issuer_run_and_all_stop_with_the_server(server, tmp_path):
    process, port, log = server
    # two workers and the checkpoint issuer (the workers start their apps after answering /health: give them time)
    assert wait_for(lambda: len(children(process.pid)) == 3, 10), (children(process.pid), log.read_text())
    kids = children(process.pid)
    assert wait_for(lambda: (tmp_path / "share" / "access-000000000000.checkpoint").exists(), 10), log.read_text()
    statuses = {get(f"http://127.0.0.1:{port}/health/live")[0] for _ in range(20)}
    assert statuses == {200}
    process.terminate()
    assert process.wait(timeout=20) == 0, log.read_text()
    assert wait_for(lambda: not any(alive(pid) for pid in kids), 10), [pid for pid in kids if alive(pid)]
    output = log.read_text()
    assert "Traceback" not in output and "(2 × 2 threads; Ctrl-C stops)" in output, output


def test_the_workers_and_the_checkpoint_issuer_stop_when_the_server_is_killed(server):
    process, _port, log = server
    assert wait_for(lambda: len(children(process.pid)) == 3, 10), log.read_text()
    kids = children(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert wait_for(lambda: not any(alive(pid) for pid in kids), 15), [pid for pid in kids if alive(pid)]


def listening(pid: int, port: int) -> bool:
    """Whether process `pid` holds the socket listening on 127.0.0.1:`port` (a serving process, not the
    checkpoint issuer, which was forked before the socket was made)."""
    wanted = f"0100007F:{port:04X}"
    inodes = {f"socket:[{fields[9]}]" for fields in (line.split() for line in Path("/proc/net/tcp").read_text()
              .splitlines()[1:]) if fields[1] == wanted and fields[3] == "0A"}
    try:
        return any(os.readlink(fd) in inodes for fd in Path(f"/proc/{pid}/fd").iterdir())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False


def test_a_serving_process_that_dies_is_replaced(server):
    process, port, log = server
    assert wait_for(lambda: len(children(process.pid)) == 3, 10), log.read_text()
    serving = {pid for pid in children(process.pid) if listening(pid, port)}
    assert len(serving) == 2, serving
    victim = min(serving)
    os.kill(victim, signal.SIGKILL)
    assert wait_for(lambda: len({pid for pid in children(process.pid) if listening(pid, port)} - {victim}) == 2,
                    10), log.read_text()
    assert {get(f"http://127.0.0.1:{port}/health/live")[0] for _ in range(10)} == {200}


def test_forwarded_headers_from_localhost_are_not_trusted_without_vidoro_proxies(server):
    """A server may believe X-Forwarded-Proto from 127.0.0.1 by itself (gunicorn did); vidoro believes only
    VIDORO_PROXIES."""
    _process, port, _log = server
    request = urllib.request.Request(f"http://127.0.0.1:{port}/sign-in", headers={"X-Forwarded-Proto": "https"})
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - a fixed http URL on 127.0.0.1
        headers = response.headers
        assert response.status == 200
    assert "Strict-Transport-Security" not in headers
    assert all(not c.startswith("__Host-") and "Secure" not in c for c in headers.get_all("Set-Cookie") or [])


def test_oversized_headers_and_bodies_are_refused_before_the_app(server):
    """web.serving.LIMITS: the server answers them itself and closes, reading no more than its limit."""
    _process, port, _log = server
    for request, status in (
            (b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: "
             + b"a" * (LIMITS["max_request_header_size"] + 1) + b"\r\n\r\n", b"431"),
            (b"POST /sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n"
             % (LIMITS["max_request_body_size"] + 1), b"413")):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(request)
            assert connection.recv(64).split(b" ")[1] == status


def test_the_checkpoint_work_runs_in_a_child_process_and_stops_with_the_block(tmp_path):
    seen = tmp_path / "seen"

    def work(stop) -> None:
        seen.write_text(str(os.getpid()))
        while not stop.wait(0.05):
            pass
        seen.write_text(f"{os.getpid()} stopped")

    with checkpoint_process(work):
        assert wait_for(seen.exists, 5)
        pid = int(seen.read_text())
        assert pid != os.getpid() and alive(pid)
    assert seen.read_text() == f"{pid} stopped" and not alive(pid)


def test_without_fork_the_checkpoint_work_runs_in_a_thread_and_stops_with_the_block(monkeypatch):
    monkeypatch.delattr(os, "fork")
    seen: list[str] = []

    def work(stop) -> None:
        seen.append(threading.current_thread().name)
        stop.wait(10)
        seen.append("stopped")

    with checkpoint_process(work):
        assert wait_for(lambda: seen, 5)
    assert seen == ["vidoro-checkpoints", "stopped"]


SLOW_CLIENTS = 50
SLOW_BYTE_EVERY = 2.0  # seconds between two bytes of each slow body
PROBING = 10.0  # seconds of probes while the slow clients trickle
ANSWER_WITHIN = 1.0


def slow_sign_in(port: int) -> socket.socket:
    """A connection that has sent a sign-in's headers, announcing a large body it will send a byte at a time."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    connection.sendall(b"POST /sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded"
                       b"\r\nContent-Length: 100000\r\n\r\nu")
    return connection


def timed_get(port: int, path: str) -> float:
    """Seconds until a GET has its whole answer (status 200), or infinity when none came within 3 s."""
    start = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return time.monotonic() - start if response.status == 200 else math.inf
    except OSError:
        return math.inf
    finally:
        connection.close()


def test_slow_clients_take_no_worker_from_the_others(tmp_path):
    """Fifty connections sending a sign-in body a byte every two seconds (a slowloris): `vidoro serve` as the
    README starts it still answers the health check and the sign-in page within a second, every time."""
    home, port = tmp_path / "instance", free_port()
    assert_ok(run(home, "init"))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VIDORO_")}
    environment.update(VIDORO_HOME=str(home), VIDORO_CHECKPOINT_INTERVAL="0")
    log = tmp_path / "serve.log"
    slow: list[socket.socket] = []
    done = threading.Event()

    def trickle() -> None:
        while not done.wait(SLOW_BYTE_EVERY):
            for connection in slow:
                with contextlib.suppress(OSError):
                    connection.send(b"x")

    trickler = threading.Thread(target=trickle, name="slow-clients")
    with log.open("w") as out:
        process = subprocess.Popen([str(VIDORO), "serve", "--port", str(port)], env=environment, stdout=out,
                                   stderr=subprocess.STDOUT)
        try:
            assert wait_for(lambda: process.poll() is not None or timed_get(port, "/health/live") < math.inf,
                            SERVE_TIMEOUT) and process.poll() is None, log.read_text()
            assert timed_get(port, "/sign-in") < math.inf, log.read_text()  # every worker's app is built
            slow.extend(slow_sign_in(port) for _ in range(SLOW_CLIENTS))
            trickler.start()
            times: dict[str, list[float]] = {"/health/live": [], "/sign-in": []}
            deadline = time.monotonic() + PROBING
            while time.monotonic() < deadline:
                for path, taken in times.items():
                    taken.append(timed_get(port, path))
                done.wait(0.2)
            slowest = {path: max(taken) for path, taken in times.items()}
            assert all(len(taken) > 10 for taken in times.values()), times
            assert all(seconds < ANSWER_WITHIN for seconds in slowest.values()), (slowest, times)
        finally:
            done.set()
            if trickler.is_alive():
                trickler.join(5)
            for connection in slow:
                connection.close()
            stop(process, timeout=20)


@pytest.fixture
def metrics_folder(tmp_path, monkeypatch) -> Path:
    """A folder of our own for the serving processes' counts (before `server` starts: its environment).

    prometheus_client reads PROMETHEUS_MULTIPROC_DIR once, when it is imported: this module imports it at
    the top, so that it is never first imported in this process while the variable is set."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    return folder


def _admin_token(home: Path) -> str:
    from cases import Database, add_staff
    from cases.crypto.keys import FileKeyStore
    from cases.staff.accounts import set_password, use_cheap_hashing_for_tests
    from cases.staff.tokens import create_token

    use_cheap_hashing_for_tests()
    passphrase = "a long enough passphrase"  # noqa: S105 - a test account's
    database = Database(f"sqlite:///{home / 'vidoro.db'}", keys=FileKeyStore(home / "keys"))
    try:
        admin = add_staff(database, "metrics-admin", "Metrics", "admin")
        set_password(database, "metrics-admin", passphrase)
        return create_token(database, admin, "prometheus", password=passphrase).secret
    finally:
        database.dispose()


def test_the_metrics_add_up_every_serving_process(metrics_folder, server, tmp_path):
    """Whichever process answers the scrape counts the requests every process served."""
    process, port, log = server
    token = _admin_token(tmp_path / "instance")
    assert wait_for(lambda: len(children(process.pid)) == 3, 10), log.read_text()
    sent = 0

    def both_served() -> bool:
        """Another 40 requests, several connections at once, until both processes have answered some: which
        process the kernel hands a connection is its choice, and on a busy machine one may take a whole batch."""
        nonlocal sent
        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(lambda _: get(f"http://127.0.0.1:{port}/health/live")[0], range(40))) == {200}
        sent += 40
        return len({p.name.rsplit("_", 1)[1] for p in metrics_folder.glob("histogram_*.db")}) == 2

    assert wait_for(both_served, 20), sorted(p.name for p in metrics_folder.iterdir())  # bounded: 20 s
    for _ in range(6):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - http on 127.0.0.1
            text = response.read().decode()
        served = sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
                     if s.name == "vidoro_request_duration_seconds_count" and s.labels["route"] == "/health/live")
        assert served >= sent, text  # every request served, by whichever process
    # The checkpoint process, forked before the servers, writes the same JSON lines (web.logs).
    assert wait_for(lambda: any(line.startswith("{") and json.loads(line).get("event") == "checkpoint_delivery"
                                for line in log.read_text().splitlines()), 10), log.read_text()
