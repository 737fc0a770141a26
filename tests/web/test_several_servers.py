"""Two `vidoro serve` processes on two ports against one PostgreSQL schema (issue 19, item 7): one checkpoint
job per interval between them, no job run twice, and sessions and API limits shared (both live in the
database: a session cookie from one server is signed in on the other, and the requests to both count against
one token's limit)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cases import Database, add_staff
from cases.crypto.keys import FileKeyStore
from cases.models import ApiRequestCount, Checkpoint, Job
from tests.conftest import empty_schema
from tests.web.test_cli import SERVE_TIMEOUT, VIDORO, assert_ok, free_port, get, run, stop
from tests.web.test_serving import wait_for

PASSPHRASE = "a long enough passphrase"  # noqa: S105 - a generated test account's
INTERVAL = 1.0  # seconds between checkpoint jobs
RUN_FOR = 6.0  # seconds the two servers run side by side before the count


@pytest.fixture
def shared_url(request):
    """A PostgreSQL schema of its own for the two servers."""
    request.getfixturevalue("postgres_schema")  # skips (or fails in CI) as the suite does without PostgreSQL
    with empty_schema("vidoro_servers") as url:
        yield url


def _accounts(url: str, keys: Path) -> str:
    """A caseworker who can sign in, and a token of theirs; the token's secret."""
    from cases.staff.accounts import set_password, use_cheap_hashing_for_tests
    from cases.staff.tokens import create_token

    use_cheap_hashing_for_tests()
    database = Database(url, keys=FileKeyStore(keys))
    try:
        worker = add_staff(database, "servers-caseworker", "Handläggare Test", "caseworker")
        set_password(database, "servers-caseworker", PASSPHRASE)
        return create_token(database, worker, "servers", password=PASSPHRASE).secret
    finally:
        database.dispose()


def _request(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None):
    """One request without following redirects: (status, headers, body)."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310 - 127.0.0.1 only
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def _cookies(headers) -> str:
    return "; ".join(c.split(";", 1)[0] for c in headers.get_all("Set-Cookie") or [])


def test_two_servers_share_the_jobs_the_sessions_and_the_limits(shared_url, tmp_path):
    home, share = tmp_path / "instance", tmp_path / "share"
    assert_ok(run(home, "init", url=shared_url))
    secret = _accounts(shared_url, home / "keys")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VIDORO_")}
    environment.update(VIDORO_HOME=str(home), VIDORO_DATABASE_URL=shared_url, PYTHONUNBUFFERED="1",
                       VIDORO_CHECKPOINT_INTERVAL=str(INTERVAL), VIDORO_CHECKPOINT_TARGETS=str(share))
    ports, servers, logs = [free_port(), free_port()], [], []
    spawned = time.monotonic()
    try:
        for n, port in enumerate(ports):
            logs.append(tmp_path / f"serve-{n}.log")
            with logs[-1].open("w") as out:
                servers.append(subprocess.Popen(
                    [str(VIDORO), "serve", "--port", str(port), "--workers", "1", "--threads", "2"],
                    env=environment, stdout=out, stderr=subprocess.STDOUT))
        for process, port, log in zip(servers, ports, logs, strict=True):
            if not wait_for(lambda p=process, o=port: p.poll() is not None or get(f"http://127.0.0.1:{o}/health"),
                            SERVE_TIMEOUT) or process.poll() is not None:
                pytest.fail(f"vidoro serve did not answer:\n{log.read_text()}")
        a, b = (f"http://127.0.0.1:{port}" for port in ports)
        started = time.monotonic()

        # a session begun on A is signed in on B
        status, headers, page = _request(f"{a}/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        form = f"username=servers-caseworker&password={PASSPHRASE.replace(' ', '+')}&csrf_token={token}"
        status, headers, _ = _request(f"{a}/sign-in", data=form.encode(),
                                      headers={"Cookie": _cookies(headers),
                                               "Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302, status
        cookie = _cookies(headers)
        assert _request(f"{b}/cases", headers={"Cookie": cookie})[0] == 200
        assert _request(f"{b}/cases")[0] in (302, 303)  # without the cookie B sends a person to sign in

        # the API's requests to A and to B count against one limit, kept in the database
        bearer = {"Authorization": f"Bearer {secret}"}
        for n in range(6):
            assert _request(f"{(a, b)[n % 2]}/api/v1/cases", headers=bearer)[0] == 200

        # both servers run their job runners side by side for a while
        assert wait_for(lambda: time.monotonic() - started > RUN_FOR, RUN_FOR + 5)
    finally:
        for process in servers:
            stop(process, timeout=20)
    database = Database(shared_url)
    try:
        with database.read() as session:
            counted = session.scalar(select(func.sum(ApiRequestCount.count))
                                     .where(ApiRequestCount.subject.like("token:%")))
            jobs = session.scalars(select(Job).where(Job.name == "checkpoints").order_by(Job.slot)).all()
            checkpoints = session.execute(select(Checkpoint.log, Checkpoint.size)).all()
    finally:
        database.dispose()
    assert counted == 6  # three requests on each server, one count
    elapsed = time.monotonic() - spawned
    assert RUN_FOR / INTERVAL - 1 <= len(jobs) <= elapsed / INTERVAL + 2, (len(jobs), elapsed)  # one per interval
    assert all(j.state == "done" and j.attempts == 1 for j in jobs)
    runs = [json.loads(line) for log in logs for line in log.read_text().splitlines()
            if line.startswith("{") and '"job_run"' in line and '"checkpoints"' in line]
    assert len(runs) == len(jobs), (len(runs), len(jobs))  # no server ran an occurrence the other ran
    assert len(checkpoints) == len(set(checkpoints))
    assert sorted(p.name for p in share.iterdir()) == sorted(f"{log}-{size:012d}.checkpoint"
                                                            for log, size in checkpoints)
    owners = {j.lease_owner.rsplit(":", 2)[1] for j in jobs}
    print(f"{len(jobs)} checkpoint jobs in {elapsed:.1f} s, run by {len(owners)} worker process(es)")
