"""The `vidoro` command through Click's runner (and `serve` as a real process), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from cases import Database
from cases.flowcharts import current_engine
from cases.models import Case, Staff
from cases.reports.demo import PATHS
from policies import DEFAULT_PATH
from tests.conftest import POSTGRES_URL
from web.cli import main

HEAD = "0030"
STATES = tuple(current_engine().chart.states)
VIDORO = Path(sys.executable).with_name("vidoro")
SERVE_TIMEOUT = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def unreachable_url(request, tmp_path) -> str:
    """A database that cannot be opened: a SQLite file in a missing folder, or a port nobody listens on."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'missing' / 'folder' / 'vidoro.db'}"
    return make_url(POSTGRES_URL).set(port=free_port()).render_as_string(hide_password=False)


def run(home: Path, *args: str, url: str | None = None, **env: str):
    """Invoke `vidoro ARGS` with only this test's VIDORO_* settings."""
    environment = {key: None for key in os.environ if key.startswith("VIDORO_")}
    environment.update(VIDORO_HOME=str(home), VIDORO_DATABASE_URL=url, **env)
    return CliRunner().invoke(main, list(args), env=environment, catch_exceptions=True)


def assert_ok(result) -> None:
    assert result.exit_code == 0, result.output
    assert result.exception is None


def assert_one_line_failure(result, *expected: str) -> str:
    """Failed on purpose: a non-zero status, one `Error:` line naming what to do, no traceback."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not an unexpected exception
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    for words in expected:
        assert words in lines[0]
    return lines[0]


def states_of(url: str) -> dict[str, int]:
    database = Database(url)
    try:
        with database.read() as session:
            return dict(session.execute(select(Case.state, func.count()).group_by(Case.state)).all())
    finally:
        database.dispose()


def revision_of(url: str) -> str | None:
    database = Database(url)
    try:
        return database.current_revision()
    finally:
        database.dispose()


# --- init, db upgrade, db current ---------------------------------------------------------------------------


def test_init_creates_a_private_instance_folder_and_migrates(tmp_path, blank_url):
    home = tmp_path / "instance"
    result = run(home, "init", url=blank_url)
    assert_ok(result)
    assert home.is_dir()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert revision_of(blank_url) == HEAD
    assert f"instance: {home} (created)" in result.output
    assert f"(schema empty -> {HEAD})" in result.output


def test_init_again_changes_nothing_and_says_so(tmp_path, blank_url):
    home = tmp_path / "instance"
    assert_ok(run(home, "init", url=blank_url))
    again = run(home, "init", url=blank_url)
    assert_ok(again)
    assert f"instance: {home} (exists)" in again.output
    assert f"(schema {HEAD} -> {HEAD})" in again.output
    assert revision_of(blank_url) == HEAD
    assert states_of(blank_url) == {}


def test_init_makes_the_embedded_database_owner_only_whatever_the_umask(tmp_path):
    home = tmp_path / "instance"
    before = os.umask(0o022)
    try:
        assert_ok(run(home, "init"))  # the default: SQLite in the instance folder
    finally:
        os.umask(before)
    found = {p.name: stat.S_IMODE(p.stat().st_mode) for p in home.iterdir() if p.name.startswith("vidoro.db")}
    assert "vidoro.db" in found and found == dict.fromkeys(found, 0o600)


def test_init_makes_an_existing_instance_folder_private(tmp_path, db_url):
    home = tmp_path / "instance"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    assert_ok(run(home, "init", url=db_url))
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_init_demo_and_demo_fill_every_state_of_the_flowchart(tmp_path, blank_url):
    home = tmp_path / "instance"
    result = run(home, "init", "--demo", url=blank_url)
    assert_ok(result)
    assert f"demo: {2 * len(STATES)} generated cases in {len(STATES)} states" in result.output
    assert set(STATES) == set(PATHS)  # the demo reaches every state of the flowchart new cases start on
    # and with each fill, a relative's own matter with support running, linked to a case in SIG (issue 18)
    assert states_of(blank_url) == {**dict.fromkeys(STATES, 2), "support": 1}

    more = run(home, "demo", "--per-state", "1", url=blank_url)
    assert_ok(more)
    assert states_of(blank_url) == {**dict.fromkeys(STATES, 3), "support": 2}
    database = Database(blank_url)
    try:
        with database.read() as session:  # the demo accounts are reused, not made again
            demo_accounts = select(func.count()).select_from(Staff).where(Staff.username.like("demo-%"))
            assert session.scalar(demo_accounts) == 9
    finally:
        database.dispose()


@pytest.mark.parametrize("per_state", ["0", "501", "many"])
def test_demo_refuses_a_bad_count(tmp_path, db_url, per_state):
    result = run(tmp_path / "instance", "demo", "--per-state", per_state, url=db_url)
    assert result.exit_code == 2, result.output
    assert "--per-state" in result.output
    assert states_of(db_url) == {}


def test_db_current_names_the_schema_revision_and_the_newest(tmp_path, blank_url):
    home = tmp_path / "instance"
    empty = run(home, "db", "current", url=blank_url)
    assert_ok(empty)
    assert empty.output.strip() == f"database: empty; newest: {HEAD}"
    assert_ok(run(home, "db", "upgrade", "--revision", "0001", url=blank_url))
    assert run(home, "db", "current", url=blank_url).output.strip() == f"database: 0001; newest: {HEAD}"


def test_db_upgrade_migrates_step_by_step_and_is_idempotent(tmp_path, blank_url):
    home = tmp_path / "instance"
    first = run(home, "db", "upgrade", "--revision", "0001", url=blank_url)
    assert_ok(first)
    assert first.output.strip() == "schema empty -> 0001"
    assert revision_of(blank_url) == "0001"
    to_head = run(home, "db", "upgrade", url=blank_url)
    assert_ok(to_head)
    assert to_head.output.strip() == f"schema 0001 -> {HEAD}"
    again = run(home, "db", "upgrade", url=blank_url)
    assert_ok(again)
    assert again.output.strip() == f"schema {HEAD} -> {HEAD}"
    assert revision_of(blank_url) == HEAD


@pytest.mark.parametrize("blank_url", ["postgresql"], indirect=True)
def test_the_database_password_is_never_printed_postgresql_only(tmp_path, blank_url):
    """On PostgreSQL only: SQLite URLs have no password (the test server trusts, so any password works)."""
    secret = f"pw-{uuid.uuid4().hex}"
    url = make_url(blank_url).set(password=secret).render_as_string(hide_password=False)
    home = tmp_path / "instance"
    not_ready = run(home, "demo", url=url)
    assert_one_line_failure(not_ready, "postgres:***@", "run `vidoro init`")
    init = run(home, "init", url=url)
    assert_ok(init)
    assert "postgres:***@" in init.output
    for result in (not_ready, init):
        assert secret not in result.output


# --- an instance that is not ready ----------------------------------------------------------------------


def test_demo_on_an_uninitialised_database_says_to_run_init(tmp_path, blank_url):
    result = run(tmp_path / "instance", "demo", "--per-state", "1", url=blank_url)
    assert_one_line_failure(result, "not ready", "schema empty", f"needs {HEAD}", "run `vidoro init`")
    assert revision_of(blank_url) is None


def test_demo_without_an_instance_folder_says_to_run_init(tmp_path):
    """The embedded default: the SQLite file would be in an instance folder that does not exist yet."""
    home = tmp_path / "never-initialised"
    result = run(home, "demo")
    assert_one_line_failure(result, "run `vidoro init`")
    assert not home.exists()


def test_serve_on_an_uninitialised_database_says_to_run_init(tmp_path, blank_url):
    """A real process: it must stop before serving (a server that starts would time out here)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VIDORO_")}
    environment.update(VIDORO_HOME=str(tmp_path / "instance"), VIDORO_DATABASE_URL=blank_url)
    done = subprocess.run([str(VIDORO), "serve", "--port", str(free_port())], env=environment,
                          capture_output=True, text=True, timeout=SERVE_TIMEOUT, check=False)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "not ready" in lines[0] and "run `vidoro init`" in lines[0]
    assert revision_of(blank_url) is None


@pytest.mark.parametrize("args", [["db", "current"], ["db", "upgrade"], ["init"], ["demo"]],
                         ids=["db-current", "db-upgrade", "init", "demo"])
def test_an_unreachable_database_gives_a_clear_message(tmp_path, unreachable_url, args):
    line = assert_one_line_failure(run(tmp_path / "instance", *args, url=unreachable_url),
                                   "cannot use the database", "VIDORO_DATABASE_URL")
    assert "unable to open database file" in line or "Connection refused" in line


# --- flowchart --------------------------------------------------------------------------------------------


def test_flowchart_as_mermaid_in_swedish_by_default(tmp_path):
    result = run(tmp_path / "instance", "flowchart")
    assert_ok(result)
    assert result.stdout.startswith("stateDiagram-v2\n")
    assert "Oro anmäld" in result.stdout
    assert "Concern registered" not in result.stdout
    for state in current_engine().chart.states.values():
        assert state.label("sv") in result.stdout


def test_flowchart_as_mermaid_in_english(tmp_path):
    result = run(tmp_path / "instance", "flowchart", "--format", "mermaid", "--lang", "en")
    assert_ok(result)
    assert result.stdout.startswith("stateDiagram-v2\n")
    assert "Concern registered" in result.stdout
    assert "Oro anmäld" not in result.stdout


def test_flowchart_as_svg_written_to_a_file(tmp_path):
    target = tmp_path / "flowchart.svg"
    result = run(tmp_path / "instance", "flowchart", "--format", "svg", "-o", str(target))
    assert_ok(result)
    assert result.stdout == ""
    assert f"wrote {target}" in result.stderr
    root = ET.fromstring(target.read_text(encoding="utf-8"))  # noqa: S314 - our own output, parsed to check it
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = " ".join(root.itertext())
    for state in current_engine().chart.states.values():
        assert state.label("sv").split()[0] in texts


@pytest.mark.parametrize("args", [["--format", "png"], ["--lang", "de"]])
def test_flowchart_refuses_unknown_choices(tmp_path, args):
    result = run(tmp_path / "instance", "flowchart", *args)
    assert result.exit_code == 2
    assert "Invalid value" in result.output


def test_a_broken_flowchart_names_the_file_and_the_fault(tmp_path):
    broken = tmp_path / "broken flowchart.toml"
    original = 'from = ["registered"]\nto = "protection_assessment"'
    source = DEFAULT_PATH.read_text(encoding="utf-8")
    assert source.count(original) == 1
    broken.write_text(source.replace(original, 'from = ["registered"]\nto = "limbo"'), encoding="utf-8")
    result = run(tmp_path / "instance", "flowchart", VIDORO_FLOWCHART=str(broken))
    assert_one_line_failure(result, "flowchart definition is broken", str(broken),
                            "transition #1 'assess_protection' names unknown state 'limbo'")


# --- serve ------------------------------------------------------------------------------------------------


def get(url: str) -> tuple[int, dict[str, str], bytes] | None:
    """One GET: status, headers and body, or None while nobody answers yet."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - a fixed http URL on 127.0.0.1
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def stop(server: subprocess.Popen, timeout: float = 10) -> None:
    """End a `vidoro serve` process: SIGTERM, then SIGKILL if it has not stopped within `timeout`."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_serve_answers_health_on_the_embedded_sqlite_default(tmp_path):
    """`vidoro serve` as a real process on the default SQLite in the instance folder, on 127.0.0.1 only."""
    home, port = tmp_path / "instance", free_port()
    assert_ok(run(home, "init"))
    assert (home / "vidoro.db").is_file()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VIDORO_")}
    environment.update(VIDORO_HOME=str(home), PYTHONUNBUFFERED="1")
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen([str(VIDORO), "serve", "--port", str(port)], env=environment,
                                  stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline, answer = time.monotonic() + SERVE_TIMEOUT, None
            while answer is None and time.monotonic() < deadline:
                if server.poll() is not None:
                    pytest.fail(f"vidoro serve stopped with {server.returncode}:\n{log.read_text()}")
                answer = get(f"http://127.0.0.1:{port}/health")
                if answer is None:
                    time.sleep(0.1)
        finally:
            stop(server)
    assert answer is not None, f"no answer on /health within {SERVE_TIMEOUT} s:\n{log.read_text()}"
    status, headers, body = answer
    assert status == 200, body
    assert headers["Content-Type"] == "application/json"
    report = json.loads(body)
    assert report["status"] == "ok"
    assert report["schema"] == "current"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert f"serving on http://127.0.0.1:{port}" in log.read_text()


# --- mistakes a person makes get one line, not a traceback -------------------------------------------------


def test_unknown_revision_is_a_usage_error(tmp_path, db_url):
    result = run(tmp_path / "instance", "db", "upgrade", "--revision", "zzz", url=db_url)
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "Can't locate revision identified by 'zzz'" in result.output


def test_output_folder_missing(tmp_path):
    result = run(tmp_path / "instance", "flowchart", "--format", "svg", "-o", str(tmp_path / "nodir" / "x.svg"))
    assert_one_line_failure(result, "nodir", "No such file or directory")


def test_instance_path_is_a_file(tmp_path):
    blocker = tmp_path / "instance"
    blocker.write_text("not a folder")
    result = run(blocker, "init", url=f"sqlite:///{tmp_path / 'x.db'}")
    assert_one_line_failure(result, str(blocker))


def test_malformed_database_url(tmp_path):
    result = run(tmp_path / "instance", "db", "current", url="nonsense://x")
    assert_one_line_failure(result, "VIDORO_DATABASE_URL is not a usable database URL")


def test_serve_refuses_a_broken_flowchart_before_it_starts(tmp_path, db_url):
    broken = tmp_path / "broken.toml"
    broken.write_text(DEFAULT_PATH.read_text(encoding="utf-8").replace(
        'to = "protection_assessment"', 'to = "limbo"'), encoding="utf-8")
    result = run(tmp_path / "instance", "serve", "--port", str(free_port()), url=db_url,
                 VIDORO_FLOWCHART=str(broken))
    assert_one_line_failure(result, "broken.toml", "unknown state 'limbo'")
