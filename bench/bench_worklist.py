"""Benchmark: the work list page with 100,000 cases, under load, against a trivial route (a script, not a test).

    python bench/bench_worklist.py [--db sqlite|postgresql|both] [--cases N] [--seconds S] [--rounds R] [--record]

The real server — `vidoro serve` as a process of its own, as deployed (waitress: one process per core,
2 threads each; `--workers`, `--threads`; `--waitress` serves from one waitress process with
`--threads` threads instead, as before) — serves the app on 127.0.0.1; `wrk` (Debian's package) keeps 16
connections busy, signed in as a decision maker, who sees every case. Rounds alternate between the work list
(`/cases`, first page of 50, nearest deadline first) and `/health/live` (no database) on the same server, so
machine noise hits both; the medians are compared. A run in which one server process sat idle (wrk's
connections all landed on the other) is run again, at most twice, and counted. PostgreSQL is measured over
TCP to 127.0.0.1 and, where the server has one here, over its local socket, on the same data. Goals: the
work list at least a quarter of the trivial route's requests per second, and its p99 latency under 100 ms.

The cases are written in bulk (random sealed bytes where personal data would be: the list never opens
them), with a running deadline on most of them, as transitions leave it.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import platform
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, make_url, select, text
from waitress import create_server

from cases import ConcernForm, Database, register_concern
from cases.crypto.identity import generate_identity_number
from cases.crypto.keys import FileKeyStore
from cases.models import NO_DEADLINE, Case, Deadline, Person
from cases.staff import accounts
from cases.staff.members import add_staff
from web import create_app

POSTGRES_URL = os.environ.get("VIDORO_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "bench passphrase 2026"  # noqa: S105 - a benchmark account on a throw-away database
STATES = ["registered", "protection_assessment", "pre_assessment", "investigation", "awaiting_consent", "sig",
          "exit_support", "family_support", "other_support", "follow_up", "closed"]
DEADLINES = {"registered": "protection_assessment", "protection_assessment": "pre_assessment",
             "pre_assessment": "pre_assessment", "investigation": "investigation"}


def fill(db: Database, count: int, today: date) -> None:
    """`count` cases in bulk, as the operations would leave them, after one real registration (which pins the
    flowchart version and creates the reporter)."""
    reporter = add_staff(db, "bench-reporter", "Bench reporter", "reporter")
    first = register_concern(db, reporter, ConcernForm(
        concern="Benchmark.", reporter_org="school", identity_number=generate_identity_number(date(2011, 3, 4), 12)))
    with db.read() as session:
        version = session.scalar(select(Case.flowchart_version).where(Case.ref == first.ref))
    rng = random.Random(2026)
    batch = 5000
    for start in range(0, count, batch):
        persons, cases, deadlines = [], [], []
        for _ in range(min(batch, count - start)):
            person_id, case_id = str(uuid.uuid4()), str(uuid.uuid4())
            state = rng.choice(STATES)
            received = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(460_000))
            due_name = DEADLINES.get(state)  # the flowchart's deadline that runs in that state, if any
            due = today + timedelta(days=rng.randrange(-30, 120)) if due_name else None
            persons.append({"id": person_id, "identity_number": None, "identity_index": None, "identity_kind": None,
                            "birth_date": secrets.token_bytes(40), "given_name": None, "family_name": None,
                            "created_at": received})
            cases.append({"id": case_id, "ref": f"VO-B{start + len(cases):07d}", "person_id": person_id,
                          "flowchart_version": version, "state": state, "version": 3, "received_at": received,
                          "registered_by": reporter.id, "reporter_org": "school", "acute_danger": False,
                          "police_contacted_at": None, "police_contacted_by": None,
                          "concern": secrets.token_bytes(120), "shared_with": [], "outcome": None,
                          "next_deadline": due_name, "next_due_on": due or NO_DEADLINE, "updated_at": received})
            if due_name:
                deadlines.append({"case_id": case_id, "name": due_name, "started_at": received, "due_on": due,
                                  "stopped_at": None})
        with db.write() as session:
            session.execute(insert(Person), persons)
            session.execute(insert(Case), cases)
            if deadlines:
                session.execute(insert(Deadline), deadlines)
        print(f"\r  {start + len(cases):,} cases", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


def signed_in_cookie(base: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/sign-in").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": "bench-decider", "password": PASSWORD, "csrf_token": token}).encode()
    opener.open(f"{base}/sign-in", data=form).read()
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def wrk(url: str, cookie: str, seconds: int) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) of `url` with 16 connections for `seconds`."""
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-H", f"Cookie: {cookie}", url],
                         capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"{url} answered with errors under load:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out).groups()
    return rate, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def worker_ticks(server: int | None) -> dict[int, int]:
    """CPU time (clock ticks) of each worker process of the server, its children, read from /proc; empty
    where there is no /proc or the server is this process (`--waitress`)."""
    ticks: dict[int, int] = {}
    if server is None or not Path("/proc").is_dir():
        return ticks
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()  # state, ppid, …; utime and stime are 12th and 13th
            if int(fields[1]) == server:
                ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    return ticks


def balanced(before: dict[int, int], after: dict[int, int]) -> bool:
    """Whether every worker did at least half its share of a run. wrk opens its 16 connections at once and
    keeps them: now and then one worker accepts nearly all of them and serves both routes alone on one core
    while the other idles, a state of the load generator, not of the page (many real clients spread)."""
    used = [after[pid] - before.get(pid, 0) for pid in after]
    return len(used) < 2 or min(used) >= 0.5 * sum(used) / len(used)


@contextmanager
def serving(args, url: str, folder: Path, keys: Path) -> Iterator[tuple[str, int | None]]:
    """The server on a free port of 127.0.0.1, stopped at the end; yields its base URL and process id (None
    when it runs in this process)."""
    if args.waitress:
        app = create_app({"VIDORO_DATABASE_URL": url, "VIDORO_HOME": folder, "VIDORO_KEYS": keys,
                          "VIDORO_CHECKPOINT_INTERVAL": 0})
        server = create_server(app, host="127.0.0.1", port=0, threads=args.threads or 8)
        threading.Thread(target=server.run, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.effective_port}", None
        finally:
            server.close()
            app.extensions["vidoro.db"].dispose()
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VIDORO_")}
    environment.update(VIDORO_DATABASE_URL=url, VIDORO_HOME=str(folder), VIDORO_KEYS=str(keys),
                       VIDORO_CHECKPOINT_INTERVAL="0")
    command = [str(Path(sys.executable).with_name("vidoro")), "serve", "--port", str(port)]
    command += ["--workers", str(args.workers)] if args.workers else []
    command += ["--threads", str(args.threads)] if args.threads else []
    server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"vidoro serve stopped with {server.returncode}")
            try:
                urllib.request.urlopen(f"{base}/health/live", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(kind: str, args, folder: Path) -> list[dict]:
    """Fill a database of `kind` and measure the server on it: SQLite once; PostgreSQL over TCP to
    127.0.0.1 and, where the server has one here, over its local socket (see `connections`)."""
    keys = folder / f"keys-{kind}"
    FileKeyStore.create(keys).close()
    schema = None
    if kind == "sqlite":
        urls = [("sqlite", f"sqlite:///{folder / 'bench.db'}")]
    else:
        schema = f"bench_worklist_{uuid.uuid4().hex[:8]}"
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        urls = connections(schema)
    try:
        db = Database(urls[0][1], keys=FileKeyStore(keys))
        db.upgrade()
        today = datetime.now(UTC).date()
        print(f"{kind}: writing {args.cases:,} cases", file=sys.stderr)
        fill(db, args.cases, today)
        add_staff(db, "bench-decider", "Bench decider", "decider")
        accounts.set_password(db, "bench-decider", PASSWORD)
        db.dispose()
        return [measure(args, label, url, folder, keys) for label, url in urls]
    finally:
        if schema:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def connections(schema: str) -> list[tuple[str, str]]:
    """PostgreSQL over TCP (VIDORO_BENCH_POSTGRES_URL) and over the local socket of the same server, if
    there is one (VIDORO_BENCH_POSTGRES_SOCKET, default /var/run/postgresql): libpq's usual way to a database
    on the same machine. Both are measured because they differ here: every round trip over TCP loopback
    costs this VM's kernel more than the whole query costs PostgreSQL (bench/README.md)."""
    tcp = make_url(POSTGRES_URL)
    found = [(f"postgresql, TCP {tcp.host}", f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")]
    socket_dir = os.environ.get("VIDORO_BENCH_POSTGRES_SOCKET", "/var/run/postgresql")
    if tcp.host in ("127.0.0.1", "localhost") and Path(socket_dir, f".s.PGSQL.{tcp.port or 5432}").exists():
        local = tcp._replace(host=None).update_query_dict({"host": socket_dir,
                                                      "options": f"-csearch_path={schema}"})
        found.append(("postgresql, local socket", local.render_as_string(hide_password=False)))
    return found


def measure(args, label: str, url: str, folder: Path, keys: Path) -> dict:
    """Alternating wrk runs on the trivial route and the work list of one server; the medians."""
    with serving(args, url, folder, keys) as (base, server):
        cookie = signed_in_cookie(base)
        request = urllib.request.Request(f"{base}/cases", headers={"Cookie": cookie})
        if urllib.request.urlopen(request).status != 200:
            raise RuntimeError("the work list did not answer 200 when signed in")
        rounds: dict[str, list[tuple[float, float]]] = {"trivial": [], "worklist": []}
        repeated = 0
        print(f"{label}:", file=sys.stderr)
        for number in range(args.rounds):
            for name, path in (("trivial", "/health/live"), ("worklist", "/cases")):
                for attempt in range(1, 4):  # a run with one worker idle is run again, twice at most
                    before = worker_ticks(server)
                    result = wrk(base + path, cookie, args.seconds)
                    even = balanced(before, worker_ticks(server))
                    print(f"  round {number + 1} {name}: {result[0]:.0f} req/s, p99 {result[1]:.1f} ms"
                          f"{'' if even else ', one worker idle'}", file=sys.stderr)
                    if even or attempt == 3:
                        break
                    repeated += 1
                rounds[name].append(result)
        time.sleep(2)  # let the last requests wrk left in flight finish before the server and schema go
    trivial = statistics.median(r for r, _ in rounds["trivial"])
    listing = statistics.median(r for r, _ in rounds["worklist"])
    p99 = statistics.median(p for _, p in rounds["worklist"])
    return {"db": label, "trivial": trivial, "worklist": listing, "ratio": listing / trivial, "p99": p99,
            "repeated": repeated}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--record", action="store_true", help="write the figures into bench/README.md")
    parser.add_argument("--workers", type=int, default=None, help="vidoro serve --workers (default: its own)")
    parser.add_argument("--threads", type=int, default=None,
                        help="vidoro serve --threads, or waitress's threads with --waitress (default 8)")
    parser.add_argument("--waitress", action="store_true",
                        help="serve from one waitress process in this one, as vidoro serve did before")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
            results.extend(run(kind, args, Path(tmp)))
    lines = [f"Work list under load ({args.cases:,} cases, wrk -c16, {args.rounds} rounds of {args.seconds} s, "
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {date.today()}):", "",
             "| database | /health/live req/s | /cases req/s | ratio (goal ≥ 0.25) | /cases p99 (goal < 100 ms) "
             "| runs repeated (a worker idle) |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['db']} | {r['trivial']:.0f} | {r['worklist']:.0f} | {r['ratio']:.2f} | {r['p99']:.1f} ms "
              f"| {r['repeated']} |" for r in results]
    print("\n".join(lines))
    if args.record:
        readme = Path(__file__).with_name("README.md")
        body = readme.read_text()
        start, end = "<!-- worklist:start -->", "<!-- worklist:end -->"
        if start not in body:
            raise SystemExit(f"bench/README.md has no {start} … {end} section to write the figures into")
        head, rest = body.split(start, 1)
        readme.write_text(head + start + "\n" + "\n".join(lines) + "\n" + end + rest.split(end, 1)[1])

if __name__ == "__main__":
    main()
