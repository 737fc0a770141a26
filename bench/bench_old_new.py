"""Benchmark: what one transition costs in this checkout against an older commit, in the same run (a script, not
a test).

    python bench/bench_old_new.py [--old 9dbd146] [--new PATH] [--db sqlite|postgresql|both] [--cases N]
                                  [--rounds R] [--per-round N] [--record]

Issue 16 reshaped the code with behaviour unchanged; its goal is that a transition costs no more than before
(within 10 %, old against new in the same run). Each side is the real `fire_trigger` of its own checkout, run in a
process of its own: `--old` (a commit of this repository, unpacked with `git archive` into a temporary folder;
default 9dbd146, the commit issue 16 started from) and `--new` (a checkout's folder; default the one this script
is in, with its working tree as it is), both with this interpreter and its installed libraries, so only vidoro's
own code differs. Each worker puts its checkout first on `sys.path` and stops unless `cases`, `workflow` and
`policies` load from there.

Each side has a database of its own (a SQLite file, or a PostgreSQL schema reached through `search_path`) and
a key store of its own, seeded by its own code through the real operations (`register_concern`, the demo's
steps to `investigation`: pre-assessment, the caseworker's assignment, a consent, `open_investigation`), `--cases`
cases (default 500). The workload is the cycle bench_transitions.py uses, which can repeat forever and needs no
consent: `investigation —request_consent→ awaiting_consent —consent_refused→ investigation`, fired by the assigned
caseworker on cases picked at random (the same sequence on both sides), each one second after the last on a
controlled clock (`now=`). After a warm-up, `--rounds` rounds (default 10) of `--per-round` transitions
(default 400) per side, old and new alternating and the order reversed every other round, so that other work on
the machine hits both alike. Only one side works at a time; the other waits on its pipe.

Reported per database: transitions per second and CPU milliseconds per transition (the worker's own process, less
sensitive to other work on the machine than wall time) as medians of the rounds, SQL statements per transition
(counted at the cursor), and new ÷ old cost as the median of the rounds' own ratios (each round pairs runs a few
seconds apart): goal ≤ 1.10.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import inspect
import io
import json
import os
import pkgutil
import platform
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/machine.py, when run from elsewhere
from chart_option import add_flowchart_option, use_flowchart  # noqa: E402
from machine import describe as describe_machine  # noqa: E402

POSTGRES_URL = os.environ.get("VIDORO_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CYCLE = {"investigation": ("request_consent", {"proposed_intervention": "sig"}),
         "awaiting_consent": ("consent_refused", {"reason": "Samtycke lämnades inte vid mötet."})}
README_START, README_END = "<!-- oldnew:start -->", "<!-- oldnew:end -->"
GOAL = 1.10


# -- the worker: one checkout's code, in a process of its own ------------------------------------------------

class Names:
    """The operations a worker needs, found by name in its checkout's `cases` package wherever they live (issue 16
    moves modules into subpackages; no module path is written here, so the old and the new layout both load)."""

    def __init__(self, root: Path) -> None:
        for package in ("cases", "workflow", "policies"):
            module = importlib.import_module(package)
            if not Path(module.__file__).resolve().is_relative_to(root.resolve()):
                raise SystemExit(f"{package} loaded from {module.__file__}, not from {root}")
        self._modules = [importlib.import_module("cases")]
        cases = self._modules[0]
        for info in pkgutil.walk_packages(cases.__path__, "cases."):
            if ".migrations" not in info.name:
                self._modules.append(importlib.import_module(info.name))

    def __getattr__(self, name: str) -> Any:
        for module in self._modules:
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"no {name} in any module of cases")


def worker(args: argparse.Namespace) -> None:
    """Seed this checkout's database, then answer `run N` on stdin with the cost of N transitions (a JSON line)."""
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # the pipe carries the answers only
    root = Path(args.root)
    sys.path.insert(0, str(root))
    names = Names(root)
    db = names.Database(args.url, keys=names.FileKeyStore.create(Path(args.keys)))
    db.upgrade()
    staff = names.demo_staff(db)
    caseworker = staff["caseworker"]
    steps = names.PATHS["investigation"][1]
    rng = random.Random(args.seed)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=90)
    refs, states = [], {}
    for number in range(args.cases):
        born = date(1990, 1, 1) + timedelta(days=rng.randrange(2000))
        fired = names.register_concern(db, staff["reporter"], names.ConcernForm(
            concern="Benchmark: eleven behöver stöd.", reporter_org="school",
            identity_number=names.generate_identity_number(born, rng.randint(1, 999)),
            given_name="Bench", family_name="Testsson"), now=start + timedelta(minutes=number))
        names.drive(db, staff, fired.ref, steps, start + timedelta(minutes=number))
        refs.append(fired.ref)
        states[fired.ref] = "investigation"
        if (number + 1) % 100 == 0:
            print(f"\r  {args.label}: {number + 1} cases", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    statements = [0]
    event.listen(db.engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
    fire = names.fire_trigger
    takes_now = "now" in inspect.signature(fire).parameters
    clock = [datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)]
    picks = random.Random(args.seed + 1)

    def transitions(count: int) -> None:
        for _ in range(count):
            ref = refs[picks.randrange(len(refs))]
            trigger, payload = CYCLE[states[ref]]
            clock[0] += timedelta(seconds=1)
            fired = fire(db, caseworker, ref, trigger, payload, **({"now": clock[0]} if takes_now else {}))
            states[ref] = fired.state

    answer.write(json.dumps({"ready": True, "cases": len(refs)}) + "\n")
    for line in sys.stdin:
        command = line.split()
        if not command or command[0] == "quit":
            break
        count = int(command[1])
        if command[0] == "profile":  # where the time goes, by vidoro's own functions, cumulative
            profiler = cProfile.Profile()
            profiler.runcall(transitions, count)
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(rf"{re.escape(str(root))}.*(cases|workflow|policies)", 30)
            answer.write(json.dumps({"profile": out.getvalue(), "calls": stats.total_calls / count}) + "\n")
            continue
        statements[0] = 0
        wall, cpu = time.perf_counter(), time.process_time()
        transitions(count)
        answer.write(json.dumps({"n": count, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                                 "statements": statements[0]}) + "\n")
    db.dispose()


# -- the parent: two workers, alternating --------------------------------------------------------------------

class Side:
    def __init__(self, label: str, root: Path, url: str, keys: Path, args: argparse.Namespace) -> None:
        self.label, self.root = label, root
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", "--root", str(root), "--url", url,
             "--keys", str(keys), "--cases", str(args.cases), "--seed", str(args.seed), "--label", label],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
            env={k: v for k, v in os.environ.items()  # --flowchart is the new side's: the old one keeps its own
                 if k != "PYTHONPATH" and (label == "new" or k != "VIDORO_FLOWCHART")})
        self.runs: list[dict[str, float]] = []

    def ready(self) -> None:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.label} worker stopped while seeding (its errors are above)")

    def run(self, count: int, what: str = "run") -> dict[str, Any]:
        self.process.stdin.write(f"{what} {count}\n")
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.label} worker stopped (its errors are above)")
        return json.loads(line)

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.close()
                self.process.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()


def git(*command: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *command], capture_output=True, text=True,
                          check=True).stdout.strip()


def unpack(ref: str, folder: Path) -> Path:
    """The tree of commit `ref` in `folder` (git archive: no worktree is registered, nothing is left behind)."""
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def compare(kind: str, old_root: Path, new_root: Path, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    schemas: list[str] = []
    admin = None
    sides: list[Side] = []
    load = [load_average()]
    calls: dict[str, float] = {}
    try:
        for label, root in (("old", old_root), ("new", new_root)):
            if kind == "sqlite":
                url = f"sqlite:///{folder / f'{kind}-{label}.db'}"
            else:
                admin = admin or create_engine(POSTGRES_URL)
                schema = f"bench_oldnew_{label}_{uuid.uuid4().hex[:8]}"
                with admin.begin() as connection:
                    connection.execute(text(f'CREATE SCHEMA "{schema}"'))
                schemas.append(schema)
                url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
            sides.append(Side(label, root, url, folder / f"keys-{kind}-{label}", args))
            sides[-1].ready()  # one seeds while the other waits: they do not compete
        for side in sides:
            side.run(args.warmup)
        print(f"{kind}: {args.rounds} rounds of {args.per_round} transitions per side", file=sys.stderr)
        for number in range(args.rounds):
            for side in (sides if number % 2 == 0 else sides[::-1]):
                result = side.run(args.per_round)
                side.runs.append(result)
                print(f"  round {number + 1} {side.label}: {result['n'] / result['wall']:.0f} tx/s, "
                      f"{1000 * result['cpu'] / result['n']:.2f} ms CPU/tx", file=sys.stderr)
        for side in sides if args.profile else ():
            profiled = side.run(args.profile, "profile")
            calls[side.label] = profiled["calls"]
            print(f"\n-- {kind}, {side.label}: cProfile of {args.profile} transitions, vidoro's functions by "
                  f"cumulative time\n{profiled['profile']}", file=sys.stderr)
    finally:
        for side in sides:
            side.close()
        if admin is not None:
            with admin.begin() as connection:
                for schema in schemas:
                    connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
    load.append(load_average())
    old, new = sides
    return {"kind": kind, "load": load, "old": old.runs, "new": new.runs, "calls": calls,
            "wall_ratio": [n["wall"] / o["wall"] for o, n in zip(old.runs, new.runs, strict=True)],
            "cpu_ratio": [n["cpu"] / o["cpu"] for o, n in zip(old.runs, new.runs, strict=True)]}


def _describe(root: Path, ref: str | None) -> str:
    if ref is not None:
        return f"commit {ref}"
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "cases", "web", "workflow",
                                "policies"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(root)
    return f"commit {head}" + (" with changes in the working tree" if dirty else "")


def report(results: list[dict[str, Any]], args: argparse.Namespace, old: str, new: str, started: datetime,
           wall: float) -> list[str]:
    import sqlalchemy

    lines = [
        f"Date: {started:%Y-%m-%d %H:%M} UTC  ",
        f"Command: `python bench/bench_old_new.py {' '.join(sys.argv[1:])}` (wall time {wall / 60:.1f} min)  ",
        f"Old: {old}; new: {new}  ",
        f"Machine: {describe_machine()}  ",
        f"Software: Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__} (the same for both sides)",
        "",
        f"{args.rounds} rounds x {args.per_round} transitions per side after {args.warmup} to warm up, old and new "
        f"alternating; {args.cases} cases per side in the cycle. tx/s and CPU are medians of the rounds, the ratios "
        "medians of the rounds' own ratios.",
        "",
        "| database | load avg (1 min) start / end | old tx/s | new tx/s | old / new CPU ms/tx "
        "| SQL statements/tx old / new | Python function calls/tx old / new (cProfile) "
        "| **new ÷ old cost** (wall; goal ≤ 1.10) | per round | new ÷ old CPU |",
        "|---|---|---:|---:|---|---|---|---:|---|---:|",
    ]
    for r in results:
        rate = {s: statistics.median(x["n"] / x["wall"] for x in r[s]) for s in ("old", "new")}
        cpu = {s: statistics.median(1000 * x["cpu"] / x["n"] for x in r[s]) for s in ("old", "new")}
        sql = {s: sum(x["statements"] for x in r[s]) / sum(x["n"] for x in r[s]) for s in ("old", "new")}
        ratio = statistics.median(r["wall_ratio"])
        calls = f"{r['calls']['old']:,.0f} / {r['calls']['new']:,.0f}" if r["calls"] else "not profiled"
        lines.append(
            f"| {r['kind']} | {r['load'][0]} / {r['load'][1]} | {rate['old']:.0f} | {rate['new']:.0f} "
            f"| {cpu['old']:.2f} / {cpu['new']:.2f} | {sql['old']:.1f} / {sql['new']:.1f} "
            f"| {calls} "
            f"| **{ratio:.2f}** ({'met' if ratio <= GOAL else 'NOT met'}) "
            f"| {' '.join(f'{x:.2f}' for x in r['wall_ratio'])} | {statistics.median(r['cpu_ratio']):.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", default="9dbd146", help="a commit of this repository (default 9dbd146)")
    parser.add_argument("--new", default=str(ROOT), help="a checkout's folder (default: this one)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", type=int, default=None, metavar="N",
                        help="after the rounds, profile N transitions on each side: the function calls per "
                             "transition are recorded, the profile printed (default 300, 0 with --quick: none)")
    parser.add_argument("--quick", action="store_true", help="60 cases, 4 rounds of 100: a smoke check")
    parser.add_argument("--record", action="store_true", help="write the figures into bench/README.md")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--keys", help=argparse.SUPPRESS)
    parser.add_argument("--label", help=argparse.SUPPRESS)
    add_flowchart_option(parser)
    args = parser.parse_args()
    use_flowchart(args.flowchart)
    if args.worker:
        worker(args)
        return
    if args.quick:
        args.cases, args.rounds, args.per_round, args.warmup = 60, 4, 100, 50
    if args.profile is None:
        args.profile = 0 if args.quick else 300
    started, clock = datetime.now(UTC), time.perf_counter()
    old_ref = git("rev-parse", "--short", args.old)
    with tempfile.TemporaryDirectory(prefix="vidoro-oldnew-") as tmp:
        old_root = unpack(old_ref, Path(tmp) / "old")
        new_root = Path(args.new).resolve()
        results = [compare(kind, old_root, new_root, Path(tmp), args)
                   for kind in (["sqlite", "postgresql"] if args.db == "both" else [args.db])]
        shutil.rmtree(old_root, ignore_errors=True)
    lines = report(results, args, f"commit {old_ref}", _describe(new_root, None), started,
                   time.perf_counter() - clock)
    print("\n".join(lines))
    if args.record:
        readme = Path(__file__).with_name("README.md")
        body = readme.read_text()
        if README_START not in body:
            raise SystemExit(f"bench/README.md has no {README_START} … {README_END} section for the figures")
        head, rest = body.split(README_START, 1)
        tail = rest.split(README_END, 1)[1]
        readme.write_text(head + README_START + "\n" + "\n".join(lines) + "\n" + README_END + tail)


if __name__ == "__main__":
    main()
