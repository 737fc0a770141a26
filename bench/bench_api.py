"""Benchmark: transitions per second through the JSON API under load, against `cases.fire_trigger` in the same run.

    python bench/bench_api.py [--db sqlite|postgresql|both] [--quick] [--record] [--clients N]

What it measures (bench/README.md explains the method and holds the recorded figures):

- **API**: the real server (waitress, `--threads` threads, default 8) serves `web.create_app` in a process of
  its own on 127.0.0.1; `--clients` load-generator processes (default 4) each keep one keep-alive
  `http.client` connection and fire `POST /api/v1/cases/<ref>/transitions` with a personal API token
  (`Authorization: Bearer`), the version the case's last answer gave (`expected_version`) and a fresh
  `Idempotency-Key` per request, back to back (closed loop), on cases of their own.
- **engine**: the same transitions through `cases.fire_trigger(..., expected_version=..., now=...)` directly,
  from as many threads as there are clients, in the benchmark's own process — what bench_transitions.py
  measures, at the same concurrency.
- **engine + view work**: what the API view adds around the operation without HTTP: the token looked up
  (`authenticate_token`), the Idempotency-Key claimed, its earlier answer looked for (`recall`) and the
  answer kept with the change (`fire_trigger(..., claim=...)`), from the same number of threads.
- **engine, 1 thread**: `fire_trigger` from one thread (half as many transitions), for context.

Same database, same cases and the same cycle as bench_transitions.py (`investigation —request_consent→
awaiting_consent —consent_refused→ investigation`, fired by a caseworker on cases picked at random among
each worker's own), seeded by bench_transitions.py's seeder. Rounds alternate the four sides in a rotating
order; tx/s are medians of the rounds, API ÷ engine the median of the rounds' own ratios. Goal: API ÷ engine
>= 1/3.

Everything runs in a temporary folder (SQLite file, key store) and a PostgreSQL schema of its own, removed at
the end; the server and the client processes are stopped at the end, also when the run fails.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import multiprocessing
import os
import pstats
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path[:0] = [str(ROOT), str(BENCH_DIR)]

import bench_transitions as bt  # noqa: E402 - the seeder, the cycle, the databases and the report helpers
from chart_option import add_flowchart_option, use_flowchart  # noqa: E402

CYCLE = bt.CYCLE


README = BENCH_DIR / "README.md"
SECTION = "api"


@dataclass(frozen=True)
class Settings:
    cases: int
    rounds: int
    per_round: int  # transitions per side and round, shared among the workers
    warmup: int
    round_limit: float  # seconds: a side's round stops there even if it has not fired `per_round`
    profile: int


FULL = Settings(cases=10_000, rounds=8, per_round=1_000, warmup=200, round_limit=120.0, profile=1_500)
QUICK = Settings(cases=1_000, rounds=3, per_round=120, warmup=30, round_limit=15.0, profile=0)


def say(message: str) -> None:
    print(message, flush=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


# --- the server (a process of its own: `bench_api.py --serve`) ----------------------------------------------


def serve(args: argparse.Namespace) -> int:
    """Serve the app on 127.0.0.1 until stdin closes; with --profile-out, per-thread CPU profiles of every
    request (and of waitress's I/O loop) are written there at the end."""
    from waitress import create_server

    from cases.staff.ratelimit import Limits
    from web import create_app

    app = create_app({"VIDORO_DATABASE_URL": args.url, "VIDORO_HOME": args.home, "VIDORO_KEYS": args.keys,
                      "VIDORO_CHECKPOINT_INTERVAL": 0,
                      "VIDORO_API_LIMITS": Limits(10**9, 10**9)})  # one token at full speed: not what is measured
    wsgi = app
    profiles: list[cProfile.Profile] = []
    counts = Counter()
    if args.profile_out:
        from sqlalchemy import event

        local, lock = threading.local(), threading.Lock()

        def count(*_args) -> None:
            counts["statements"] += 1  # under the GIL; a lost increment would not matter here

        event.listen(app.extensions["vidoro.db"].engine, "before_cursor_execute", count)

        def wsgi(environ, start_response):  # the app's work, the body included, in this thread's profile
            counts["requests"] += 1
            if environ.get("HTTP_X_BENCH_WARMUP"):  # warm-up requests: counted, not profiled
                counts["warmup"] += 1
                return list(app(environ, start_response))
            profile = getattr(local, "profile", None)
            if profile is None:
                profile = local.profile = cProfile.Profile(time.thread_time)
                with lock:
                    profiles.append(profile)
            profile.enable()
            try:
                return list(app(environ, start_response))
            finally:
                profile.disable()

    server = create_server(wsgi, host="127.0.0.1", port=0, threads=args.threads)
    loop = cProfile.Profile(time.thread_time) if args.profile_out else None

    def run() -> None:
        if loop:
            loop.enable()
        try:
            with suppress(OSError, ValueError):  # closing the server's sockets may end the loop with one
                server.run()
        finally:
            if loop:
                loop.disable()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    print(f"PORT {server.effective_port}", flush=True)
    sys.stdin.read()  # the benchmark closes our stdin when it is done
    server.close()
    thread.join(timeout=10)
    app.extensions["vidoro.db"].dispose()
    if args.profile_out:
        out = Path(args.profile_out)
        pstats.Stats(loop).dump_stats(out / "loop.prof")
        stats = pstats.Stats(profiles[0])
        for profile in profiles[1:]:
            stats.add(profile)
        stats.dump_stats(out / "app.prof")
        (out / "counts.json").write_text(json.dumps(counts))
    return 0


@dataclass
class Server:
    process: subprocess.Popen
    port: int

    def cpu_seconds(self) -> float:
        """The server process's user + system CPU time so far (all its threads)."""
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(url: str, keys: Path, home: Path, threads: int, log: Path, profile_out: Path | None = None):
    """The app served by waitress in a process of its own; stopped (stdin closed, then killed) at the end."""
    command = [sys.executable, __file__, "--serve", "--url", url, "--keys", str(keys), "--home", str(home),
               "--threads", str(threads)]
    if profile_out:
        command += ["--profile-out", str(profile_out)]
    with open(log, "ab") as err:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                   cwd=ROOT, text=True)
    try:
        line = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not line.startswith("PORT "):
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
        if not line.startswith("PORT "):
            raise RuntimeError(f"the server did not start:\n{log.read_text()[-3000:]}")
        yield Server(process, int(line.split()[1]))
    finally:
        try:
            process.stdin.close()
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --- the load generator (processes of a multiprocessing pool) ------------------------------------------------

_CONNECTION: dict[str, Any] = {}


def _connection(port: int) -> http.client.HTTPConnection:
    conn = _CONNECTION.get("conn")
    if conn is None or _CONNECTION.get("port") != port:
        if conn is not None:
            conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        _CONNECTION.update(conn=conn, port=port)
    return conn


def client_run(job: dict) -> dict:
    """Fire `job["n"]` transitions through the API on this worker's own cases, one at a time (closed loop).

    Each case's version comes from its last answer; every request has a new Idempotency-Key. A case whose
    request is refused leaves this worker's pool (its state is no longer known here) and the refusal is
    counted; the benchmark reads the cases' states from the database afterwards.
    """
    port, n, deadline = job["port"], job["n"], time.monotonic() + job["limit"]
    cases: dict[str, list] = {ref: list(sv) for ref, sv in job["cases"].items()}
    refs = sorted(cases)
    rng = random.Random(job["seed"])
    auth = f"Bearer {job['token']}"
    latencies: list[float] = []
    statuses: Counter = Counter()
    samples: list[str] = []
    cpu = time.process_time()
    conn = _connection(port)
    started = time.perf_counter()
    for _ in range(n):
        if not refs or time.monotonic() > deadline:
            break
        ref = rng.choice(refs)
        state, version = cases[ref]
        trigger, fields, _after = CYCLE[state]
        body = json.dumps({"trigger": trigger, "expected_version": version, "fields": fields}).encode()
        headers = {"Authorization": auth, "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
        if job.get("warmup"):
            headers["X-Bench-Warmup"] = "1"
        t0 = time.perf_counter()
        try:
            conn.request("POST", f"/api/v1/cases/{ref}/transitions", body, headers)
            response = conn.getresponse()
            data = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:  # counted as status 0; a new connection
            conn.close()
            _CONNECTION["conn"] = None
            conn = _connection(port)
            status, data = 0, repr(exc).encode()
        latencies.append(time.perf_counter() - t0)
        statuses[status] += 1
        if status == 200:
            answer = json.loads(data)
            cases[ref] = [answer["state"], answer["version"]]
        else:
            if len(samples) < 3:
                samples.append(f"{status} {data[:300].decode(errors='replace')}")
            refs.remove(ref)
            del cases[ref]
    ended = time.perf_counter()
    return {"start": started, "end": ended, "latencies": latencies, "statuses": dict(statuses),
            "samples": samples, "cases": cases, "cpu": time.process_time() - cpu}


def _client_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the benchmark stops its pool itself


# --- the engine sides (threads in this process) ----------------------------------------------------------


@dataclass
class Side:
    name: str
    tps: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # CPU per transition: the server's (API) or ours (engine)
    client_cpu_ms: list[float] = field(default_factory=list)  # the load generator's CPU per request (API)
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.tps)


class Bench:
    """One database: the cases split among the workers, each worker's cases' states and versions."""

    def __init__(self, db, staff, token: str, pools: list[dict[str, list]], settings: Settings, seed: int) -> None:
        from cases import fire_trigger
        from cases.casework import idempotency
        from cases.staff.tokens import authenticate_token

        self.db, self.actor, self.token, self.pools, self.settings = db, staff["caseworker"], token, pools, settings
        self.fire_trigger, self.idempotency, self.authenticate_token = fire_trigger, idempotency, authenticate_token
        self.rng = random.Random(seed)
        self.fired = 0  # transitions that committed (a log entry each)

    def _split(self, n: int) -> list[int]:
        k = len(self.pools)
        return [n // k + (1 if i < n % k else 0) for i in range(k)]

    # -- the API
    def api(self, pool, port: int, n: int, side: Side | None, srv: Server | None, warmup: bool = False) -> float:
        jobs = [{"port": port, "n": count, "limit": self.settings.round_limit, "token": self.token,
                 "cases": cases, "seed": self.rng.getrandbits(32), "warmup": warmup}
                for count, cases in zip(self._split(n), self.pools, strict=True)]
        cpu = srv.cpu_seconds() if srv else 0.0
        results = pool.map(client_run, jobs)
        server_cpu = (srv.cpu_seconds() - cpu) if srv else 0.0
        for i, r in enumerate(results):
            self.pools[i] = r["cases"]
            self.fired += r["statuses"].get("200", r["statuses"].get(200, 0))
        seconds, done = self._tally(side, results, server_cpu, "no request was sent: every worker's pool is empty")
        if side is not None:
            side.client_cpu_ms.append(sum(r["cpu"] for r in results) / done * 1000)
        return seconds

    @staticmethod
    def _tally(side: Side | None, results: list[dict], cpu: float, nothing: str) -> tuple[float, int]:
        """A round's length and requests, and its figures added to `side` (either kind of round)."""
        done = sum(sum(r["statuses"].values()) for r in results)
        seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
        if done == 0:
            raise RuntimeError(nothing)
        if side is not None:
            side.tps.append(done / seconds)
            side.cpu_ms.append(cpu / done * 1000)
            for r in results:
                side.latencies += r["latencies"]
                side.statuses.update({int(k) if str(k).isdigit() else k: v for k, v in r["statuses"].items()})
                side.samples += r["samples"][: max(0, 5 - len(side.samples))]
        return seconds, done

    # -- the engine, from as many threads as there are clients
    def engine(self, n: int, side: Side | None, with_view: bool = False, single: bool = False) -> float:
        """`n` transitions from one thread per worker (`single`: from one thread, on the first worker's cases)."""
        workers = 1 if single else len(self.pools)
        counts = [n] if single else self._split(n)
        barrier = threading.Barrier(workers)
        results: list[dict | None] = [None] * workers
        deadline = time.monotonic() + self.settings.round_limit
        seeds = [self.rng.getrandbits(32) for _ in range(workers)]

        def work(i: int) -> None:
            cases, rng = self.pools[i], random.Random(seeds[i])
            refs = sorted(cases)
            latencies, statuses, samples = [], Counter(), []
            barrier.wait()
            started = time.perf_counter()
            for _ in range(counts[i]):
                if not refs or time.monotonic() > deadline:
                    break
                ref = rng.choice(refs)
                state, version = cases[ref]
                trigger, fields, _after = CYCLE[state]
                t0 = time.perf_counter()
                try:
                    if with_view:
                        fired = self._as_the_view(ref, trigger, fields, version)
                    else:
                        fired = self.fire_trigger(self.db, self.actor, ref, trigger, fields,
                                                  expected_version=version, now=datetime.now(UTC))
                    cases[ref] = [fired.state, fired.version]
                    statuses[200] += 1
                except Exception as exc:
                    statuses[type(exc).__name__] += 1
                    if len(samples) < 3:
                        samples.append(f"{type(exc).__name__}: {exc}")
                    refs.remove(ref)
                    del cases[ref]
                latencies.append(time.perf_counter() - t0)
            results[i] = {"start": started, "end": time.perf_counter(), "latencies": latencies,
                          "statuses": statuses, "samples": samples}

        threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
        cpu = time.process_time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=self.settings.round_limit + 120)
        cpu = time.process_time() - cpu
        if any(r is None for r in results):
            raise RuntimeError("an engine thread did not finish")
        self.fired += sum(r["statuses"][200] for r in results)
        return self._tally(side, results, cpu, "no transition was fired: every worker's pool is empty")[0]

    def _as_the_view(self, ref: str, trigger: str, fields: dict, version: int):
        """What `web.api.routes.case_routes.fire` and `web.api.support.once` do around the operation, without HTTP."""
        account = self.authenticate_token(self.db, self.token)
        request = {"op": "fire", "ref": ref, "trigger": trigger, "expected_version": version, "fields": fields}
        canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str).encode()

        def render(fired):
            return 200, {"ref": fired.ref, "state": fired.state, "version": fired.version, "seq": fired.seq,
                         "warnings": []}

        claim = self.idempotency.claim(self.db, account.actor, uuid.uuid4().hex, canonical, render)
        if self.idempotency.recall(self.db, claim) is not None:
            raise RuntimeError("a fresh Idempotency-Key had an answer already")
        return self.fire_trigger(self.db, account.actor, ref, trigger, fields, expected_version=version,
                                 now=datetime.now(UTC), claim=claim)


# --- one database -----------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    server: dict[str, str]
    cases: int
    pool_cases: int
    sides: dict[str, Side]
    ratios: list[float]
    view_ratios: list[float]
    single_ratios: list[float]
    fired: int
    log_added: int
    chain: int
    seeding: float
    profile: list[tuple[str, float, float]] = field(default_factory=list)  # layer, API ms/req, engine ms/tx
    profile_text: str = ""


def prepare(db, settings: Settings, seed: int):
    """Seed the database with bench_transitions.py's seeder; histories end two days before now, so that the
    measured transitions can use the real clock (the API's)."""
    from cases.flowcharts import current_engine
    from cases.reports.demo import demo_staff, fill_demo

    bt.T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)  # read by the seeder at call time
    started = time.perf_counter()
    real_refs = fill_demo(db, per_state=1, seed=seed, now=bt.T0 - timedelta(days=1))
    staff = demo_staff(db)
    seeder = bt.TreeSeeder(db, current_engine(), staff, seed)
    say(f"  {settings.cases:,} cases: {len(real_refs)} through the operations, the rest generated")
    seeder.seed(settings.cases - len(real_refs), 2_000, progress_every=max(1_000, settings.cases // 4))
    rows = bt.assign_cycle(db, staff)
    if not db.is_sqlite:
        from sqlalchemy import text

        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return staff, {r.ref: [r.state, r.version] for r in rows}, time.perf_counter() - started


LAYERS = (  # where a profiled function's own CPU time goes, by its file (first match wins)
    ("HTTP server (waitress)", ("waitress/",)),
    ("Flask and Werkzeug (routing, request, response)", ("/flask/", "/werkzeug/", "flask_babel", "flask_wtf")),
    ("flask-openapi3 and pydantic (request validation, models)", ("flask_openapi3", "pydantic")),
    ("vidoro web/ (the API views, access, errors)", (f"{ROOT}/web/",)),
    ("vidoro token and idempotency (cases/staff/tokens.py, cases/casework/idempotency.py)",
     (f"{ROOT}/cases/tokens.py", f"{ROOT}/cases/idempotency.py")),
    ("database driver and the database (sqlite3, psycopg; also the keyring's SQLite)", ("sqlite3", "psycopg")),
    ("AES-GCM and HMAC (cryptography, hmac, hashlib)", ("cryptography", "hmac", "hashlib", "_hashlib")),
    ("vidoro key store and vault (cases/crypto/keys.py, cases/crypto/vault.py)", ("/cases/keys.py", "/cases/vault.py")),
    ("SQLAlchemy ORM (session, unit of work, loading)", ("sqlalchemy/orm/",)),
    ("SQLAlchemy Core (engine, SQL compilation, pool)", ("sqlalchemy/",)),
    ("vidoro cases/ (the operation)", ("/cases/",)),
    ("vidoro workflow/ and policies/, transitions library", ("/workflow/", "/policies/", "/transitions/")),
    ("JSON (json)", ("json/", "_json")),
    ("threads, locks, sockets, selectors (stdlib)", ("threading", "socket", "selectors", "asyncore", "queue",
                                                    "select.", "_thread")),
)


def by_layer(stats: pstats.Stats, n: int) -> dict[str, float]:
    """Own CPU time per request (ms) by layer."""
    return {label: own / n * 1000 for label, own in bt.own_time_by_layer(stats, LAYERS).items()}


def profile_sides(bench: Bench, pool, url: str, keys: Path, home: Path, folder: Path, threads: int,
                  n: int) -> tuple[list[tuple[str, float, float]], str]:
    """CPU profiles (per thread, `time.thread_time`) of `n` API requests in a server of their own, and of `n`
    engine transitions from the same number of threads; own time per request by layer, side by side."""
    out = folder / "profile"
    out.mkdir(exist_ok=True)
    warm = max(50, n // 5)
    with server(url, keys, home, threads, folder / "server-profile.log", out) as srv:
        bench.api(pool, srv.port, warm, None, None, warmup=True)  # a new server: compiled SQL, first imports
        bench.api(pool, srv.port, n, None, None)
    counts = json.loads((out / "counts.json").read_text())
    profiled_requests = counts["requests"] - counts.get("warmup", 0)
    api_stats = pstats.Stats(str(out / "app.prof"))
    api_layers = Counter(by_layer(api_stats, profiled_requests))
    # waitress's I/O loop served the warm-up requests too: its time is divided by every request it served
    api_layers.update(by_layer(pstats.Stats(str(out / "loop.prof")), counts["requests"]))
    statements = counts["statements"] / counts["requests"]
    profiles: list[cProfile.Profile] = []
    original = bench.fire_trigger

    def profiled(*args, **kwargs):
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        return profile.runcall(original, *args, **kwargs)

    bench.fire_trigger = profiled
    try:
        bench.engine(n, None)
    finally:
        bench.fire_trigger = original
    engine_stats = pstats.Stats(profiles[0])
    for p in profiles[1:]:
        engine_stats.add(p)
    engine_layers = by_layer(engine_stats, len(profiles))
    labels = sorted(set(api_layers) | set(engine_layers), key=lambda k: -api_layers.get(k, 0.0))
    rows = [(label, api_layers.get(label, 0.0), engine_layers.get(label, 0.0)) for label in labels]
    text = io.StringIO()
    api_stats.stream = text
    api_stats.sort_stats("tottime").print_stats(25)
    engine_sql, _keyring = bt.count_statements(bench.db, lambda: bench.engine(50, None, single=True), 50)
    view_sql, _ = bt.count_statements(bench.db, lambda: bench.engine(50, None, with_view=True, single=True), 50)
    rows.append(("SQL statements per transaction (API: counted in the server; + the keyring's)",
                 statements, engine_sql))
    rows.append(("(SQL statements of engine + view work, in this process)", view_sql, 0.0))
    return rows, text.getvalue()


def run_backend(name: str, open_db, settings: Settings, args: argparse.Namespace, folder: Path) -> Result:
    from sqlalchemy import func, select

    from cases.models import Staff, TransitionLogEntry
    from cases.staff.accounts import set_password
    from cases.staff.tokens import create_token

    say(f"\n== {name}")
    with ExitStack() as stack:
        db, where = stack.enter_context(open_db("api"))
        say(f"  database: {where}")
        staff, cycle, seeding = prepare(db, settings, args.seed)
        password = uuid.uuid4().hex  # making a token asks for the account's password
        with db.read() as session:
            username = session.get(Staff, staff["caseworker"].id).username
        set_password(db, username, password)
        token = create_token(db, staff["caseworker"], "bench", password=password, days=1).secret
        refs = sorted(cycle)
        random.Random(args.seed).shuffle(refs)
        pools = [{ref: cycle[ref] for ref in refs[i :: args.clients]} for i in range(args.clients)]
        say(f"  {len(refs):,} of {settings.cases:,} cases in investigation/awaiting_consent, split among "
            f"{args.clients} workers ({min(len(p) for p in pools):,}+ each)")
        info = bt.server_info(db, str(folder))
        url = db.url
        keys = Path(db.keys.folder)
        home = folder / f"instance-{name.lower()}"
        bench = Bench(db, staff, token, pools, settings, args.seed)
        with db.read() as s:
            log_before = s.scalar(select(func.count()).select_from(TransitionLogEntry))
        ctx = multiprocessing.get_context("spawn")
        pool = stack.enter_context(ctx.Pool(args.clients, initializer=_client_init))
        stack.callback(pool.terminate)
        srv = stack.enter_context(server(url, keys, home, args.threads, folder / f"server-{name.lower()}.log"))
        say(f"  server: waitress, {args.threads} threads, pid {srv.process.pid}, port {srv.port}; "
            f"{args.clients} client processes / engine threads")
        # warm-up: every side once (compiled SQL, the server's first imports, the clients' connections)
        bench.api(pool, srv.port, settings.warmup, None, None)
        bench.engine(settings.warmup, None)
        bench.engine(settings.warmup, None, with_view=True)
        bench.engine(settings.warmup // 2, None, single=True)
        sides = {k: Side(k) for k in ("api", "engine", "view", "single")}
        runs = [("api", lambda s: bench.api(pool, srv.port, settings.per_round, s, srv)),
                ("engine", lambda s: bench.engine(settings.per_round, s)),
                ("view", lambda s: bench.engine(settings.per_round, s, with_view=True)),
                ("single", lambda s: bench.engine(settings.per_round // 2, s, single=True))]
        ratios, view_ratios, single_ratios = [], [], []
        for r in range(settings.rounds):
            order = runs[r % len(runs):] + runs[: r % len(runs)]
            if r % 2:
                order.reverse()
            for key, run in order:
                run(sides[key])
            ratios.append(sides["api"].tps[-1] / sides["engine"].tps[-1])
            view_ratios.append(sides["view"].tps[-1] / sides["engine"].tps[-1])
            single_ratios.append(sides["api"].tps[-1] / sides["single"].tps[-1])
            say(f"    round {r + 1:>2}: API {sides['api'].tps[-1]:5,.0f} tx/s (server CPU "
                f"{sides['api'].cpu_ms[-1]:.2f} ms/tx)   engine {sides['engine'].tps[-1]:5,.0f} tx/s (CPU "
                f"{sides['engine'].cpu_ms[-1]:.2f} ms/tx)   engine + view work {sides['view'].tps[-1]:5,.0f} tx/s"
                f"   engine, 1 thread {sides['single'].tps[-1]:5,.0f} tx/s   API/engine {ratios[-1]:.2f}")
        profile: list[tuple[str, float, float]] = []
        profile_text = ""
        if settings.profile:
            say(f"  profiling {settings.profile:,} API requests (server side) and {settings.profile:,} engine "
                "transitions, CPU time per thread")
            profile, profile_text = profile_sides(bench, pool, url, keys, home, folder, args.threads,
                                                  settings.profile)
        with db.read() as s:
            log_added = s.scalar(select(func.count()).select_from(TransitionLogEntry)) - log_before
        chain = bt.verify_chain(db)
        bt.verify_tree(db)
        say(f"  {bench.fired:,} transitions answered 200 / returned; the log grew by {log_added:,}; "
            f"its hash chain and Merkle tree verify over {chain:,} entries")
    return Result(name, info, settings.cases, len(refs), sides, ratios, view_ratios, single_ratios, bench.fired,
                  log_added, chain, seeding, profile, profile_text)


# --- report ------------------------------------------------------------------------------------------------


def report(results: list[Result], settings: Settings, args, machine: dict[str, str], command: str,
           date_: str, wall: float) -> str:
    out = [
        f"Date: {date_}  ",
        f"Command: `{command}` (wall time {wall / 60:.1f} min); code: {bt.code_version()}  ",
        f"Machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['ram']} RAM, {machine['os']}  ",
        f"Load average (1 min) at the start and the end: {machine['load']} / {os.getloadavg()[0]:.2f}  ",
        f"Software: Python {machine['python']}, SQLAlchemy {machine['sqlalchemy']}, psycopg {machine['psycopg']}, "
        + ", ".join(r.server["version"] for r in results),
        f"Load: {args.clients} client processes (keep-alive `http.client`, closed loop) against waitress with "
        f"{args.threads} threads in one server process; the engine from {args.clients} threads in one process. "
        f"{settings.rounds} rounds x {settings.per_round:,} transitions per side (half as many for the engine on 1 "
        "thread), the four sides in rotating order; tx/s are medians of the rounds, ratios the medians of the "
        "rounds' ratios.",
        "",
        "| database | cases (in the cycle) | API tx/s | engine tx/s | **API ÷ engine** | per round "
        "| engine + view work tx/s (÷ engine) | engine, 1 thread tx/s (API ÷ it) |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in results:
        api, engine, view, single = (r.sides[k] for k in ("api", "engine", "view", "single"))
        out.append(
            f"| {r.name} | {r.cases:,} ({r.pool_cases:,}) | {api.median:,.0f} | {engine.median:,.0f} | "
            f"**{statistics.median(r.ratios):.2f}** | {' '.join(f'{x:.2f}' for x in r.ratios)} | "
            f"{view.median:,.0f} ({statistics.median(r.view_ratios):.2f}) | {single.median:,.0f} "
            f"({statistics.median(r.single_ratios):.2f}) |"
        )
    out += [
        "",
        "| database | API latency p50 / p99 | engine p50 / p99 | engine, 1 thread p50 / p99 "
        "| CPU ms/tx: API server / engine + view work / engine / engine, 1 thread | load generator CPU ms/request "
        "| non-200 answers |",
        "|---|---|---|---|---|---:|---|",
    ]

    def lat(side: Side) -> str:
        return f"{percentile(side.latencies, 50) * 1000:.1f} / {percentile(side.latencies, 99) * 1000:.1f} ms"

    for r in results:
        api, engine, view, single = (r.sides[k] for k in ("api", "engine", "view", "single"))
        errors = ", ".join(f"{k}: {v}" for k, v in api.statuses.items() if k != 200) or "none"
        others = {side.name: {k: v for k, v in side.statuses.items() if k != 200} for side in (engine, view, single)}
        if any(others.values()):
            errors += " (" + "; ".join(f"{k}: {v or 'none'}" for k, v in others.items()) + ")"
        out.append(
            f"| {r.name} | {lat(api)} | {lat(engine)} | {lat(single)} | {statistics.median(api.cpu_ms):.2f} / "
            f"{statistics.median(view.cpu_ms):.2f} / {statistics.median(engine.cpu_ms):.2f} / "
            f"{statistics.median(single.cpu_ms):.2f} | "
            f"{statistics.median(api.client_cpu_ms):.2f} | {errors} |"
        )
    out.append("")
    for r in results:
        ratio = statistics.median(r.ratios)
        out.append(f"- {r.name}: API ÷ engine **{ratio:.2f}** (goal >= 0.33: {'met' if ratio >= 1 / 3 else 'NOT met'})"
                   f"; {r.fired:,} transitions answered 200 or returned, the log grew by {r.log_added:,}, its hash "
                   f"chain and tree verify over {r.chain:,} entries; seeding {r.seeding:.0f} s")
        samples = [x for side in r.sides.values() for x in side.samples]
        for sample in samples[:3]:
            out.append(f"  - refused: `{sample[:200]}`")
    for r in results:
        if r.profile:
            layers, (sql, view_sql) = r.profile[:-2], r.profile[-2:]
            total_api = sum(a for _l, a, _e in layers)
            total_engine = sum(e for _l, _a, e in layers)
            out += [
                "",
                f"Where the API's CPU goes on {r.name}: cProfile with per-thread CPU time (`time.thread_time`) of "
                f"{settings.profile:,} requests in the server (the app's threads and waitress's I/O loop) and of "
                f"{settings.profile:,} engine transitions, own time per transition by layer (the profiler slows "
                "Python; compare the columns, not the totals with the rounds):",
                "",
                "| layer | API server ms/tx | engine ms/tx | difference |",
                "|---|---:|---:|---:|",
            ]
            out += [f"| {label} | {a:.3f} | {e:.3f} | {a - e:+.3f} |" for label, a, e in layers]
            out += [f"| total | {total_api:.3f} | {total_engine:.3f} | {total_api - total_engine:+.3f} |",
                    "",
                    f"SQL statements per transaction (at the cursor; COMMIT and the pool's pre-ping not counted): "
                    f"API {sql[1]:.1f} (counted in the server), engine + view work {view_sql[1]:.1f}, engine "
                    f"{sql[2]:.1f}."]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="small database, short rounds: a smoke check (< 60 s)")
    parser.add_argument("--record", action="store_true", help="write the figures into bench/README.md")
    parser.add_argument("--clients", type=int, default=4, help="load-generator processes = engine threads")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--cases", type=int, default=None, help="cases in the database (default 10,000)")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--per-round", type=int, default=None, help="transitions per side and round")
    parser.add_argument("--profile", type=int, default=None, help="requests profiled at the end (0: none)")
    parser.add_argument("--postgres-url", default=bt.POSTGRES_URL)
    parser.add_argument("--tmpdir", default=None)
    parser.add_argument("--seed", type=int, default=2026)
    # the server process
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--keys", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    add_flowchart_option(parser)
    args = parser.parse_args(argv)
    use_flowchart(args.flowchart)
    if args.serve:
        return serve(args)
    settings = QUICK if args.quick else FULL
    overrides = {k: v for k, v in {"cases": args.cases, "rounds": args.rounds, "per_round": args.per_round,
                                   "profile": args.profile}.items() if v is not None}
    settings = Settings(**{**settings.__dict__, **overrides})
    if not 1 <= args.clients <= 64:
        parser.error("--clients: 1 to 64")
    command = "python " + " ".join([os.path.relpath(sys.argv[0]), *(argv if argv is not None else sys.argv[1:])])
    machine = bt.machine_info()
    say(f"vidoro API benchmark: {machine['nproc']} CPUs, Python {machine['python']}; {settings.cases:,} cases, "
        f"{args.clients} clients, {settings.rounds} rounds x {settings.per_round:,} transitions per side")
    started = time.perf_counter()
    results = []
    for backend in ("SQLite", "PostgreSQL"):
        if args.db not in (backend.lower(), "both"):
            continue
        folder = Path(tempfile.mkdtemp(prefix="vidoro-bench-api-", dir=args.tmpdir))
        try:
            if backend == "SQLite":
                opener = lambda name, f=str(folder): bt.sqlite_database(f, name)  # noqa: E731
            else:
                opener = lambda name, f=str(folder): bt.postgres_database(args.postgres_url, f, name)  # noqa: E731
            results.append(run_backend(backend, opener, settings, args, folder))
        except BaseException:
            for log in folder.glob("server-*.log"):
                text = log.read_text()
                if text.strip():
                    say(f"-- {log.name} (last lines):\n{text[-3000:]}")
            raise
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    wall = time.perf_counter() - started
    body = report(results, settings, args, machine, command, datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), wall)
    say("\n" + body)
    for r in results:
        if r.profile_text:
            say(f"\n-- the API server's profile on {r.name}, by own CPU time:\n{r.profile_text}")
    if args.record:
        bt.record(README, body, SECTION)
        say(f"recorded in {os.path.relpath(README)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
