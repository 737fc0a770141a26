"""Benchmark: the work list with 1,000,000 cases, page 1 and a deep page, under load, against a trivial route
(a script, not a test).

    python bench/bench_worklist.py [--db sqlite|postgresql|both] [--cases N] [--deep-page P] [--seconds S]
                                   [--rounds R] [--keep] [--data-dir DIR] [--no-api] [--record]

The real server — `vidoro serve` as a process of its own, as deployed (waitress: one process per core,
2 threads each; `--workers`, `--threads`) — serves the app on 127.0.0.1; `wrk` (Debian's package) keeps 16
connections busy, signed in as a decision maker, who sees every case. Each round runs every route once, in
an order that rotates and reverses from round to round, on the same server, so that machine noise hits all of
them: `/health/live` (no database), the work list's first page (`/cases`, 50 cases, nearest deadline first),
its page `--deep-page` (default 2,000: the cases after the first 99,950), and the same two pages of the API
(`/api/v1/cases`, with a personal API token). Medians of the rounds; the ratios are the medians of the rounds'
own ratios. A run in which one server process sat idle (wrk's connections all landed on the other) is run
again, at most twice, and counted.

The deep page is reached as a person or a client would reach it: with offset paging (`?page=N` in the "next"
link) by asking for page N; with keyset paging (a cursor in the "next" link or the API's answer) by following
the next links N - 1 times. Either way its first case is checked against the database's own ordering
(`ORDER BY next_due_on, received_at, ref OFFSET (N - 1) * 50`) before it is measured.

Goals (issue 16): the first page at least 0.2 of the trivial route's requests per second, p99 under 50 ms, and
the deep page as fast as the first (its cost within 1.5x), on both databases.

The cases are written by the databases themselves (INSERT … SELECT over a generated series, 100,000 per
transaction; PostgreSQL then VACUUM ANALYZE, as autovacuum would): persons with filler bytes where the sealed
personal data would be (the list never opens them), cases spread evenly over eleven live states, received over
ten months, a running deadline on the states that have one, due between 30 days ago and 120 days ahead. With
`--keep` the database is kept in `--data-dir` (a SQLite file; a PostgreSQL schema named after the case
count) and reused by the next run with the same count, brought to the code's migration head first (so a
database kept by newer code cannot serve older code); how long the generation took is printed and recorded
either way.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
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
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/machine.py, when run from elsewhere
from chart_option import add_flowchart_option, use_flowchart  # noqa: E402
from machine import describe as describe_machine  # noqa: E402

sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, make_url, select, text  # noqa: E402
from sqlalchemy.exc import NoResultFound  # noqa: E402
from waitress import create_server  # noqa: E402

from cases import ConcernForm, Database, create_token, register_concern  # noqa: E402
from cases.crypto.identity import generate_identity_number  # noqa: E402
from cases.crypto.keys import FileKeyStore  # noqa: E402
from cases.models import Case  # noqa: E402
from cases.staff import accounts  # noqa: E402
from cases.staff.members import add_staff  # noqa: E402
from web import create_app  # noqa: E402

POSTGRES_URL = os.environ.get("VIDORO_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "bench passphrase 2026"  # noqa: S105 - a benchmark account on a throw-away database
STATES = ["registered", "protection_assessment", "pre_assessment", "investigation", "awaiting_consent", "sig",
          "exit_support", "family_support", "other_support", "follow_up", "closed"]
DEADLINES = {"registered": "protection_assessment", "protection_assessment": "pre_assessment",
             "pre_assessment": "pre_assessment", "investigation": "investigation"}
PER_PAGE = 50
BATCH = 100_000
README_MARKERS = "<!-- worklist-{}:start -->", "<!-- worklist-{}:end -->"  # one pair per database


# -- the data ------------------------------------------------------------------------------------------------

def _case_when(values: dict[int, str | None]) -> str:
    """`CASE n % 11 WHEN i THEN 'value' … END` from constants of this file (no outside text reaches the SQL)."""
    arms = " ".join(f"WHEN {i} THEN '{v}'" for i, v in values.items() if v is not None)
    return f"CASE n % {len(STATES)} {arms} ELSE NULL END"


def _statements(sqlite: bool, shared_type: str) -> list[str]:
    """INSERT … SELECT for persons, cases and deadlines over the numbers :lo..:hi, in the database's dialect.

    Every value is a function of n, so both databases hold the same cases: the state n % 11, received
    (n * 2654435761) % 460,000 minutes after 2026-01-01, due (n * 40503) % 150 - 30 days after :today."""
    state = _case_when(dict(enumerate(STATES)))
    deadline = _case_when({i: DEADLINES.get(s) for i, s in enumerate(STATES)})
    minutes = "(n * 2654435761 % 460000)"
    days = "(n * 40503 % 150 - 30)"
    if sqlite:
        series = "WITH RECURSIVE s(n) AS (SELECT :lo UNION ALL SELECT n + 1 FROM s WHERE n < :hi) "
        person_id = "printf('00000000-0000-4000-8000-%012x', n)"
        case_id = "printf('00000000-0000-4000-9000-%012x', n)"
        ref = "printf('VO-B%07d', n)"
        received = f"strftime('%Y-%m-%d %H:%M:%S', '2026-01-01', '+' || {minutes} || ' minutes') || '.000000'"
        due = f"date(:today, {days} || ' days')"
        birth, concern = "randomblob(40)", "randomblob(120)"
        no_deadline, false, shared = "'9999-12-31'", "0", "'[]'"
        source = "FROM s"
    else:
        series = ""
        person_id = "'00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0')"
        case_id = "'00000000-0000-4000-9000-' || lpad(to_hex(n), 12, '0')"
        ref = "'VO-B' || lpad(n::text, 7, '0')"
        received = f"TIMESTAMPTZ '2026-01-01 00:00:00+00' + make_interval(mins => {minutes}::int)"
        due = f"CAST(:today AS date) + {days}::int"
        birth = "decode(md5(n::text) || md5((n + 1)::text) || substr(md5((n + 2)::text), 1, 16), 'hex')"
        concern = "decode(repeat(md5(n::text), 7) || substr(md5(n::text), 1, 16), 'hex')"
        no_deadline, false, shared = "DATE '9999-12-31'", "false", f"CAST('[]' AS {shared_type})"
        source = "FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS s(n)"
    return [
        f"{series}INSERT INTO persons (id, identity_number, identity_index, identity_kind, birth_date, given_name, "
        f"family_name, created_at) SELECT {person_id}, NULL, NULL, NULL, {birth}, NULL, NULL, {received} {source}",
        f"{series}INSERT INTO cases (id, ref, person_id, flowchart_version, state, version, received_at, "
        f"registered_by, reporter_org, acute_danger, police_contacted_at, police_contacted_by, concern, shared_with, "
        f"outcome, next_deadline, next_due_on, updated_at) SELECT {case_id}, {ref}, {person_id}, :version, {state}, "
        f"3, {received}, :reporter, 'school', {false}, NULL, NULL, {concern}, {shared}, NULL, {deadline}, "
        f"CASE WHEN {deadline} IS NULL THEN {no_deadline} ELSE {due} END, {received} {source}",
        f"{series}INSERT INTO deadlines (case_id, name, started_at, due_on, stopped_at) "
        f"SELECT {case_id}, {deadline}, {received}, {due}, NULL {source} WHERE {deadline} IS NOT NULL",
    ]


def fill(db: Database, count: int, today: date) -> float:
    """`count` cases written by the database itself, after one real registration (which pins the flowchart
    version and creates the reporter); the decision maker the benchmark signs in as. Returns the seconds taken."""
    started = time.perf_counter()
    reporter = add_staff(db, "bench-reporter", "Bench reporter", "reporter")
    first = register_concern(db, reporter, ConcernForm(
        concern="Benchmark.", reporter_org="school", identity_number=generate_identity_number(date(2011, 3, 4), 12)))
    with db.read() as session:
        version = session.scalar(select(Case.flowchart_version).where(Case.ref == first.ref))
    shared_type = Case.__table__.c.shared_with.type.compile(db.engine.dialect)
    statements = [text(sql) for sql in _statements(db.is_sqlite, shared_type)]
    for lo in range(1, count + 1, BATCH):
        params = {"lo": lo, "hi": min(count, lo + BATCH - 1), "today": today.isoformat(), "version": version,
                  "reporter": reporter.id}
        with db.write() as session:
            for statement in statements:
                session.execute(statement, params)
        print(f"\r  {params['hi']:,} cases, {time.perf_counter() - started:.0f} s", end="", file=sys.stderr,
              flush=True)
    print(file=sys.stderr)
    if db.is_sqlite:
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:  # what autovacuum would do shortly after a bulk load (visibility map and statistics)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE) persons, cases, deadlines")
    add_staff(db, "bench-decider", "Bench decider", "decider")
    accounts.set_password(db, "bench-decider", PASSWORD)
    return time.perf_counter() - started


def expected_ref(db: Database, page: int) -> str | None:
    """The first case of page `page` of the decision maker's list, by the database's own ordering."""
    with db.engine.connect() as connection:
        return connection.execute(
            select(Case.ref).where(Case.state != "erased")
            .order_by(Case.next_due_on, Case.received_at, Case.ref).limit(1).offset((page - 1) * PER_PAGE)).scalar()


# -- load and measurement ------------------------------------------------------------------------------------

def signed_in_cookie(base: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/sign-in").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": "bench-decider", "password": PASSWORD, "csrf_token": token}).encode()
    opener.open(f"{base}/sign-in", data=form).read()
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(url: str, headers: list[str], seconds: int) -> dict[str, float]:
    """Requests per second, p50 / p99 latency (ms) and requests timed out (after 30 s) of `url` with 16
    connections for `seconds`; each request carries the next of `headers` in turn (a Lua script: the API's
    tokens, so that its per-token limit is not what is measured)."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "30s", "--latency"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if len(headers) == 1:
            command += ["-H", headers[0]]
        else:
            pairs = ", ".join("{" + ", ".join(json.dumps(part) for part in h.split(": ", 1)) + "}" for h in headers)
            script.write(f"local headers = {{{pairs}}}\nlocal i = 0\nrequest = function()\n  i = i + 1\n"
                         "  local h = headers[(i % #headers) + 1]\n  return wrk.format(nil, nil, {[h[1]] = h[2]})\n"
                         "end\n")
            script.flush()
            command += ["-s", script.name]
        out = subprocess.run([*command, url], capture_output=True, text=True, check=True,
                             timeout=seconds + 90).stdout
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if "Non-2xx" in out or (errors and any(int(n) for n in errors.groups()[:3])):
        raise RuntimeError(f"{url} answered with errors under load:\n{out}")
    found = {"rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
             "timeouts": float(errors.group(4)) if errors else 0.0}
    for name in ("50", "99"):
        found[f"p{name}"] = _ms(*re.search(rf"\b{name}%\s+([\d.]+)(us|ms|s|m)\b", out).groups())
    return found


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
    keeps them: now and then one worker accepts nearly all of them and serves alone on one core while the
    other idles, a state of the load generator, not of the page (many real clients spread)."""
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
                       VIDORO_CHECKPOINT_INTERVAL="0", PYTHONPATH=str(ROOT))  # this checkout, whatever is installed
    if os.environ.get("VIDORO_FLOWCHART"):  # --flowchart
        environment["VIDORO_FLOWCHART"] = os.environ["VIDORO_FLOWCHART"]
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


def _get(url: str, headers: list[str], number: int = 0) -> str:
    name, value = headers[number % len(headers)].split(": ", 1)
    with urllib.request.urlopen(urllib.request.Request(url, headers={name: value}), timeout=60) as answer:
        if answer.status != 200:
            raise RuntimeError(f"{url} answered {answer.status}")
        return answer.read().decode()


_PAGER = re.compile(r'<nav[^>]*class="[^"]*pager[^"]*"[^>]*>(.*?)</nav>', re.S)
_ANCHOR = re.compile(r"<a\b([^>]*)>(.*?)</a>", re.S)


def _next_of_page(body: str) -> str | None:
    """The href of the page's "next" link: one marked rel="next", else the one that says next, else the pager's
    last link (the pager reads first/previous … next)."""
    pager = _PAGER.search(body)
    links = []
    for attributes, label in _ANCHOR.findall(pager.group(1) if pager else body):
        href = re.search(r'href="([^"]*)"', attributes)
        if href:
            links.append((attributes, re.sub(r"<[^>]+>", "", label), href.group(1).replace("&amp;", "&")))
    for attributes, _label, href in links:
        if re.search(r'rel="[^"]*\bnext\b', attributes):
            return href
    for _attributes, label, href in links:
        if re.search(r"next|nästa", label, re.I):
            return href
    return links[-1][2] if pager and links else None


def _next_of_api(body: str, url: str, cursor_param: str) -> str | None:
    """The next page's URL from the API's answer: a `next` link, or a cursor (`next`/`next_cursor`/`cursor`)
    put in `cursor_param`; None with offset paging (`page` and `has_next`)."""
    answer = json.loads(body)
    for key in ("next", "next_cursor", "next_url"):
        value = answer.get(key) or (answer.get("links") or {}).get(key)
        if isinstance(value, str) and value:
            if value.startswith(("/", "http")):
                return value
            parts = urllib.parse.urlsplit(url)
            query = dict(urllib.parse.parse_qsl(parts.query))
            query[cursor_param] = value
            return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
    return None


def _first_ref(body: str, api: bool) -> str | None:
    if api:
        items = json.loads(body)["items"]
        return items[0]["ref"] if items else None
    found = re.search(r'href="[^"]*/cases/(VO-[A-Z0-9]+)"', body)
    return found.group(1) if found else None


def deep_url(base: str, path: str, headers: list[str], page: int, api: bool,
             cursor_param: str) -> tuple[str, str, int]:
    """The URL of page `page` of the list at `path`, reached as a client would; the paging seen ("offset" or
    "cursor") and how many next links were followed."""
    url = base + path
    body = _get(url, headers)
    following = _next_of_api(body, url, cursor_param) if api else _next_of_page(body)
    if api and following is None and "has_next" in json.loads(body) and "page" in json.loads(body):
        return f"{url}?page={page}", "offset", 0
    if following is None:
        raise RuntimeError(f"{path} shows no next page")
    if re.search(r"[?&]page=\d", following) and "cursor" not in following:
        return f"{url}?page={page}", "offset", 0
    started = time.perf_counter()
    for number in range(2, page + 1):
        url = urllib.parse.urljoin(url, following)
        if number == page:
            break
        body = _get(url, headers, number)
        following = _next_of_api(body, url, cursor_param) if api else _next_of_page(body)
        if following is None:
            raise RuntimeError(f"{path}: no next link after page {number}")
        if number % 200 == 0:
            print(f"\r    following next links: page {number}, {time.perf_counter() - started:.0f} s", end="",
                  file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return url, "cursor", page - 1


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def measure(args, label: str, url: str, folder: Path, keys: Path, db: Database) -> dict:
    """Rounds of wrk runs on the trivial route and the list's pages on one server; the medians."""
    load = [load_average()]
    with serving(args, url, folder, keys) as (base, server):
        cookie = ["Cookie: " + signed_in_cookie(base)]
        routes = {"trivial": (base + "/health/live", cookie), "page 1": (base + "/cases", cookie)}
        expected = expected_ref(db, args.deep_page)
        deep, paging, followed = deep_url(base, "/cases", cookie, args.deep_page, False, args.cursor_param)
        found = _first_ref(_get(deep, cookie), False)
        if found != expected:
            raise RuntimeError(f"page {args.deep_page} starts with {found}, the database's order says {expected}")
        routes[f"page {args.deep_page}"] = (deep, cookie)
        api_paging = None
        if args.api:
            bearers = [f"Authorization: Bearer {token}" for token in api_tokens(db, args.api_accounts)]
            routes["API page 1"] = (base + "/api/v1/cases", bearers)
            api_deep, api_paging, _ = deep_url(base, "/api/v1/cases", bearers, args.deep_page, True,
                                               args.cursor_param)
            found = _first_ref(_get(api_deep, bearers), True)
            if found != expected:
                raise RuntimeError(f"API page {args.deep_page} starts with {found}, the database says {expected}")
            routes[f"API page {args.deep_page}"] = (api_deep, bearers)
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in routes}
        repeated = 0
        print(f"{label}: paging by {paging} ({followed} next links followed)", file=sys.stderr)
        names = list(routes)
        for number in range(args.rounds):
            order = names[number % len(names):] + names[:number % len(names)]
            for name in (order if number % 2 == 0 else order[::-1]):
                target, headers = routes[name]
                for attempt in range(1, 4):  # a run with one worker idle is run again, twice at most
                    before = worker_ticks(server)
                    result = wrk(target, headers, args.seconds)
                    even = balanced(before, worker_ticks(server))
                    print(f"  round {number + 1} {name}: {result['rate']:.0f} req/s, p50 {result['p50']:.1f} ms, "
                          f"p99 {result['p99']:.1f} ms{'' if even else ', one worker idle'}", file=sys.stderr)
                    if even or attempt == 3:
                        break
                    repeated += 1
                rounds[name].append(result)
        time.sleep(2)  # let the last requests wrk left in flight finish before the server and schema go
    load.append(load_average())
    return {"db": label, "rounds": rounds, "paging": paging, "api_paging": api_paging, "followed": followed,
            "repeated": repeated, "load": load}


def api_tokens(db: Database, count: int) -> list[str]:
    """A personal API token for each of `count` decision makers (made once, kept with the database): the API
    limits requests per token and per account (600 and 1,200 a minute), and the load spreads over them."""
    tokens = []
    for number in range(count):
        username = f"bench-api-{number:02d}"
        try:
            actor = db_actor(db, username)
        except NoResultFound:
            actor = add_staff(db, username, f"Bench API {number}", "decider")
            accounts.set_password(db, username, PASSWORD)
        tokens.append(create_token(db, actor, f"bench {uuid.uuid4().hex[:6]}", password=PASSWORD, days=1).secret)
    return tokens


def db_actor(db: Database, username: str):
    from cases.models import Staff
    from workflow import Actor  # the engine's actor, as the operations take it

    with db.read() as session:
        staff = session.scalars(select(Staff).where(Staff.username == username)).one()
        return Actor(staff.id, staff.role)


# -- databases -----------------------------------------------------------------------------------------------

def prepare(kind: str, args, folder: Path) -> tuple[list[tuple[str, str]], Path, str | None, dict]:
    """The database of `kind` with `args.cases` cases: reused from `--data-dir` with `--keep` when it is there,
    otherwise built. Returns its URLs (PostgreSQL: TCP and/or local socket), its key store, the schema to drop
    at the end (None when kept) and what was done."""
    home = Path(args.data_dir) if args.keep else folder
    home.mkdir(parents=True, exist_ok=True)
    keys = home / f"keys-{kind}-{args.cases}"
    schema = None
    if kind == "sqlite":
        urls = [("sqlite", f"sqlite:///{home / f'worklist-{args.cases}.db'}")]
    else:
        schema = f"bench_worklist_keep_{args.cases}" if args.keep else f"bench_worklist_{uuid.uuid4().hex[:8]}"
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        admin.dispose()
        urls = connections(schema, args.postgres_via)
    if not keys.exists():
        FileKeyStore.create(keys).close()
    db = Database(urls[0][1], keys=FileKeyStore(keys))
    try:
        built = None
        with db.engine.connect() as connection:
            if db.engine.dialect.has_table(connection, "bench_worklist_meta"):
                built = connection.exec_driver_sql("SELECT cases, seconds FROM bench_worklist_meta").first()
        if built is not None and built[0] == args.cases:
            db.upgrade()  # a kept database follows the code's migrations
            info = {"built": False, "seconds": built[1]}
            print(f"{kind}: reusing the kept database of {args.cases:,} cases (built in {built[1]:.0f} s)",
                  file=sys.stderr)
        else:
            if built is not None:
                raise SystemExit(f"{urls[0][1]} holds another benchmark's data; remove it or use another --data-dir")
            db.upgrade()
            print(f"{kind}: writing {args.cases:,} cases", file=sys.stderr)
            seconds = fill(db, args.cases, datetime.now(UTC).date())
            with db.engine.begin() as connection:
                connection.exec_driver_sql("CREATE TABLE bench_worklist_meta (cases INTEGER, seconds FLOAT)")
                connection.execute(text("INSERT INTO bench_worklist_meta VALUES (:c, :s)"),
                                   {"c": args.cases, "s": seconds})
            info = {"built": True, "seconds": seconds}
            print(f"{kind}: {args.cases:,} cases written in {seconds:.0f} s", file=sys.stderr)
    finally:
        db.dispose()
    return urls, keys, None if args.keep else schema, info


def connections(schema: str, via: str) -> list[tuple[str, str]]:
    """PostgreSQL over TCP (VIDORO_BENCH_POSTGRES_URL) and/or over the local socket of the same server, if
    there is one (VIDORO_BENCH_POSTGRES_SOCKET, default /var/run/postgresql)."""
    tcp = make_url(POSTGRES_URL)
    found = []
    if via in ("tcp", "both"):
        found.append((f"postgresql, TCP {tcp.host}", f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"))
    socket_dir = os.environ.get("VIDORO_BENCH_POSTGRES_SOCKET", "/var/run/postgresql")
    if via in ("socket", "both") and tcp.host in ("127.0.0.1", "localhost") and Path(
            socket_dir, f".s.PGSQL.{tcp.port or 5432}").exists():
        local = tcp._replace(host=None).update_query_dict({"host": socket_dir,
                                                      "options": f"-csearch_path={schema}"})
        found.append(("postgresql, local socket", local.render_as_string(hide_password=False)))
    if not found:
        raise SystemExit(f"no way to PostgreSQL by {via}")
    return found


def run(kind: str, args, folder: Path) -> list[dict]:
    urls, keys, drop, info = prepare(kind, args, folder)
    try:
        results = []
        for label, url in urls:
            db = Database(url, keys=FileKeyStore(keys))
            try:
                results.append({**measure(args, label, url, folder, keys, db), **info, "kind": kind})
            finally:
                db.dispose()
        return results
    finally:
        if drop:
            admin = create_engine(POSTGRES_URL)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{drop}" CASCADE'))
            admin.dispose()


# -- the report ----------------------------------------------------------------------------------------------

def _median(values) -> float:
    return statistics.median(list(values))


def _ratios(rounds: dict, top: str, bottom: str) -> list[float]:
    return [a["rate"] / b["rate"] for a, b in zip(rounds[top], rounds[bottom], strict=True)]


def _commit() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "cases", "web", "workflow",
                                "policies"], capture_output=True, text=True, check=True).stdout.strip()
        product = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--", "cases", "web",
                                  "workflow", "policies"], capture_output=True, text=True, check=True).stdout.strip()
        return (head + (f" (product code as of {product})" if product != head else "")
                + (" with product files changed in the working tree" if dirty else ""))
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _layout(args) -> str:
    if args.waitress:
        return f"one waitress process in the benchmark's, {args.threads or 8} threads"
    return (f"{args.workers or 'its default'} processes, {args.threads or 'its default'} threads each")


def report(args, results: list[dict], started: datetime, wall: float) -> list[str]:
    deep = f"page {args.deep_page}"
    lines = [
        f"Date: {started:%Y-%m-%d %H:%M} UTC  ",
        f"Command: `python bench/bench_worklist.py {' '.join(sys.argv[1:])}` (wall time {wall / 60:.1f} min); "
        f"code: commit {_commit()}  ",
        f"Machine: {describe_machine()}  ",
        f"Load: `vidoro serve` ({_layout(args)}) on 127.0.0.1, "
        f"wrk -t2 -c16, {args.rounds} rounds of {args.seconds} s per route, the routes in rotating order; "
        f"{args.cases:,} cases, 50 a page, signed in as a decision maker (sees every case).",
        "",
        f"| database | paging | load avg (1 min) start / end | /health/live req/s | page 1 req/s | {deep} req/s "
        f"| **page 1 ÷ trivial** (goal ≥ 0.2) | p50 / **p99** page 1 (goal < 50 ms) | p50 / p99 {deep} "
        f"| **{deep} cost ÷ page 1** (goal ≤ 1.5) | runs repeated |",
        "|---|---|---|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    notes = []
    for r in results:
        rd = r["rounds"]
        med = {name: {k: _median(x[k] for x in runs) for k in ("rate", "p50", "p99")} for name, runs in rd.items()}
        share = _median(_ratios(rd, "page 1", "trivial"))
        cost = _median(_ratios(rd, "page 1", deep))
        lines.append(
            f"| {r['db']} | {r['paging']} | {r['load'][0]} / {r['load'][1]} | {med['trivial']['rate']:.0f} "
            f"| {med['page 1']['rate']:.0f} | {med[deep]['rate']:.0f} | **{share:.2f}** "
            f"| {med['page 1']['p50']:.1f} / **{med['page 1']['p99']:.1f}** ms "
            f"| {med[deep]['p50']:.1f} / {med[deep]['p99']:.1f} ms | **{cost:.2f}** | {r['repeated']} |")
        if args.api:
            api_share = _median(_ratios(rd, "API page 1", "trivial"))
            api_cost = _median(_ratios(rd, "API page 1", f"API {deep}"))
            lines.append(
                f"| {r['db']}, API | {r['api_paging']} | | | {med['API page 1']['rate']:.0f} "
                f"| {med[f'API {deep}']['rate']:.0f} | **{api_share:.2f}** "
                f"| {med['API page 1']['p50']:.1f} / **{med['API page 1']['p99']:.1f}** ms "
                f"| {med[f'API {deep}']['p50']:.1f} / {med[f'API {deep}']['p99']:.1f} ms | **{api_cost:.2f}** | |")
        per_round = " ".join(f"{x:.2f}" for x in _ratios(rd, "page 1", "trivial"))
        per_cost = " ".join(f"{x:.2f}" for x in _ratios(rd, "page 1", deep))
        timeouts = sum(x["timeouts"] for runs in rd.values() for x in runs)
        made = (f"generated in {r['seconds']:.0f} s" if r["built"]
                else f"a kept database reused (generated earlier in {r['seconds']:.0f} s)")
        extra = f"; {timeouts:.0f} requests timed out (30 s)" if timeouts else ""
        if r["followed"]:
            extra += f"; the deep page reached by following {r['followed']:,} next links"
        notes.append(f"- {r['db']}: page 1 ÷ trivial per round {per_round}; {deep} cost ÷ page 1 per round "
                     f"{per_cost}; {made}{extra}")
    return [*lines, "", *notes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--deep-page", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=8, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database in --data-dir and reuse it")
    parser.add_argument("--data-dir", default=str(Path.home() / ".cache" / "vidoro-bench-worklist"))
    parser.add_argument("--postgres-via", choices=["tcp", "socket", "both"], default="tcp")
    parser.add_argument("--no-api", dest="api", action="store_false", help="measure the pages only")
    parser.add_argument("--api-accounts", type=int, default=64,
                        help="decision makers whose tokens the API's load rotates through (its limits are per "
                             "token and account)")
    parser.add_argument("--cursor-param", default="cursor", help="the query parameter an API cursor goes in")
    parser.add_argument("--record", action="store_true", help="write the figures into bench/README.md")
    parser.add_argument("--workers", type=int, default=None, help="vidoro serve --workers (default: its own)")
    parser.add_argument("--threads", type=int, default=None,
                        help="vidoro serve --threads, or waitress's threads with --waitress (default 8)")
    parser.add_argument("--waitress", action="store_true",
                        help="serve from one waitress process in this one, as vidoro serve did before")
    add_flowchart_option(parser)
    args = parser.parse_args()
    use_flowchart(args.flowchart)
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")
    if args.cases < args.deep_page * PER_PAGE:
        sys.exit(f"--cases must be at least {args.deep_page * PER_PAGE:,} for page {args.deep_page}")
    started, clock = datetime.now(UTC), time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
            results.extend(run(kind, args, Path(tmp)))
    wall = time.perf_counter() - clock
    print("\n".join(report(args, results, started, wall)))
    if args.record:  # each database's figures between its own markers, so the two can be recorded apart
        readme = Path(__file__).with_name("README.md")
        body = readme.read_text()
        for kind in dict.fromkeys(r["kind"] for r in results):
            start, end = (marker.format(kind) for marker in README_MARKERS)
            if start not in body:
                raise SystemExit(f"bench/README.md has no {start} … {end} section for the figures")
            head, rest = body.split(start, 1)
            lines = report(args, [r for r in results if r["kind"] == kind], started, wall)
            body = head + start + "\n" + "\n".join(lines) + "\n" + end + rest.split(end, 1)[1]
        readme.write_text(body)


if __name__ == "__main__":
    main()
