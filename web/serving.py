"""Serving: pre-forked waitress processes sharing one listening socket, and the job runner beside them.

Why waitress. A worker thread must never wait for a client. gunicorn's threaded workers hand a connection to a
thread as soon as it has something to read, and the thread then reads the request itself: twelve clients
sending a sign-in body a byte every two seconds held every thread, and the health check went unanswered
(issue 15). waitress reads each request in its event loop (one thread watching every connection) and hands
only a complete request (headers and body, spooled to a file past `inbuf_overflow`) to its threads; a slow
client costs a socket and a buffer, never a thread. Fifty such clients leave every page answering within
a fifth of a second (tests/web/test_serving.py). It costs CPU: on this shared machine about 1.4 ms more per
work-list request on SQLite than gunicorn (3.5-4.5 against 1.9-2.9 ms), 0.2-0.3 ms on PostgreSQL, 0.1-0.2
ms on the trivial route (bench/README.md; not profiled: SQLite's driver lets go of the GIL at every step,
and waitress's loop is one more thread to take it). gevent or eventlet workers would read cooperatively
under gunicorn, but they patch the standard library under SQLAlchemy, psycopg and our threads, and one
request busy on the CPU (an auditor's verification) would hold up every other request of
its process until it yields; threads keep that preemption.

Why processes. One Python process runs one thread at a time (the GIL). With several threads busy, every
release of the GIL hands it to another thread, and SQLite's driver releases it at every row it steps
through; on these machines each hand-over is a context switch. Served by one process with eight threads,
the work list cost 2.4 ms of CPU per request against 1.3 ms with one thread, and used one core of two
(bench/README.md). So `vidoro serve` runs one process per core, each with two threads: both cores busy, few
hand-overs, and a thread free when one request is slow (an auditor's verification takes seconds). Two rather
than four: with four, the work list on SQLite under load spent more of each request handing the GIL over
(about 15 % fewer requests a second here; on PostgreSQL within the noise), and the trivial route gained
nothing. The supervisor (`_Supervisor`) binds the socket, forks the processes, starts a new one when one
dies, and on SIGTERM or Ctrl-C stops them all (each finishes the requests its threads are running, up to
waitress's five seconds) before it returns.
Each process builds its own app after the fork (connections are never shared between processes); sessions,
rate limits and idempotency keys live in the database, so any process can answer any request.

The jobs (the periodic checkpoints among them, `cases.jobs`, started by `web.worker_cli.jobs_beside_server`)
run in their own process, forked before the server starts, so that no process ever forks while it has threads
of its own; it stops with the server and if the server disappears.
Where there is no `fork` (Windows) one waitress process serves instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["LIMITS", "checkpoint_process", "serve"]

LIMITS: dict[str, Any] = {
    "channel_timeout": 30,  # a connection that sends nothing for 30 s is closed
    "max_request_header_size": 64 * 1024,  # larger headers get 431 without reaching the app
    "max_request_body_size": 256 * 1024,  # as the app's MAX_CONTENT_LENGTH: larger bodies get 413 unread
    "connection_limit": 1000,  # open connections per process; past it new ones wait in the backlog
    "asyncore_use_poll": True,  # poll(), not select(): select() cannot watch descriptors past 1024
    "backlog": 1024,
}
"""waitress's limits against slow or oversized requests (README: Serving). waitress has no limit on the whole
time a request may take to arrive, only on silence; a client that keeps trickling holds a connection and a
buffer, which the connection limit bounds, but never a thread."""

STOP_GRACE = 10  # seconds a process has to finish its requests after SIGTERM before it is killed
RESPAWN_PAUSE = 1.0  # seconds between restarts, so that a process failing at start does not spin


def serve(config: Mapping[str, Any], *, host: str, port: int, workers: int, threads: int) -> None:
    """Serve until stopped (SIGTERM or Ctrl-C). Access logs are off: URLs carry case references.

    X-Forwarded-* headers reach the app untouched (no `trusted_proxy`): only VIDORO_PROXIES decides whose
    count (web.security)."""
    from web import logs, metrics

    logs.configure(config)
    if not hasattr(os, "fork"):  # no fork on this platform
        from waitress import serve as waitress_serve

        from web import create_app

        waitress_serve(create_app(config), host=host, port=port, threads=workers * threads, ident="vidoro",
                       **LIMITS)
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with metrics.shared_folder(), \
            socket.create_server((host, port), family=family, backlog=LIMITS["backlog"]) as listener:
        _Supervisor(config, listener, workers=workers, threads=threads).run()


class _Supervisor:
    """Forks `workers` waitress processes on one listening socket and keeps them running until told to stop."""

    def __init__(self, config: Mapping[str, Any], listener: socket.socket, *, workers: int, threads: int) -> None:
        self.config, self.listener, self.workers, self.threads = config, listener, workers, threads
        self.pids: set[int] = set()
        self.stopping = False

    def run(self) -> None:
        def stop(*_: object) -> None:
            self.stopping = True

        previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            for _ in range(self.workers):
                self._start()
            while not self.stopping:
                for pid in list(self.pids):
                    with contextlib.suppress(ChildProcessError):
                        if os.waitpid(pid, os.WNOHANG)[0] == 0:
                            continue
                    self.pids.discard(pid)  # it died: another takes its place
                    time.sleep(RESPAWN_PAUSE)
                    if not self.stopping:
                        self._start()
                time.sleep(0.1)
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _start(self) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _worker(self.config, self.listener, self.threads, parent)
            except SystemExit:
                pass  # stopped before it served
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stderr.flush()
                os._exit(code)  # never back into the supervisor's stack
        self.pids.add(pid)

    def _stop_all(self) -> None:
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while self.pids:
            for pid in list(self.pids):
                try:
                    if os.waitpid(pid, os.WNOHANG)[0] == 0:
                        continue
                except ChildProcessError:
                    pass
                self.pids.discard(pid)
            if time.monotonic() > deadline:
                for pid in self.pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 5
            time.sleep(0.05)


def _worker(config: Mapping[str, Any], listener: socket.socket, threads: int, parent: int) -> None:
    """One serving process: its own app, waitress on the shared socket, until SIGTERM or its parent is gone.

    waitress stops on SystemExit or KeyboardInterrupt raised in its loop: it lets its threads finish the
    requests they are running (up to five seconds) and returns."""
    from waitress.server import create_server

    from web import create_app

    def leave(*_: object) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):  # once: a second signal must not cut the stop short
            signal.signal(sig, signal.SIG_IGN)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)  # Ctrl-C reaches the whole group: stop like on SIGTERM

    def orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    server = create_server(create_app(config), sockets=[listener], threads=threads, ident="vidoro", **LIMITS)
    threading.Thread(target=orphaned, name="vidoro-parent-watch", daemon=True).start()
    server.run()


@contextlib.contextmanager
def checkpoint_process(work: Callable[[threading.Event], None]) -> Iterator[None]:
    """Run `work(stop)` in a child process while the block runs; `stop` is set when the block ends (SIGTERM
    from here) or when this process is gone. A bare fork, not `multiprocessing`: the server's workers are
    forked inside this block and leave through it, and must not think the child is theirs to stop."""
    if not hasattr(os, "fork"):  # one waitress process serves: a thread beside it is safe there
        stop = threading.Event()
        thread = threading.Thread(target=work, args=(stop,), name="vidoro-checkpoints", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(15)
        return
    parent = os.getpid()
    child = os.fork()
    if child == 0:
        code = 0
        try:
            _child(work, parent)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)  # never back into the caller's stack
    try:
        yield
    finally:
        if os.getpid() == parent:  # not in a server process, forked inside this block and leaving with its code
            _end(child)


def _child(work: Callable[[threading.Event], None], parent: int) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the server stops us

    def orphaned() -> None:
        while not stop.wait(1):
            if os.getppid() != parent:
                stop.set()

    threading.Thread(target=orphaned, name="vidoro-parent-watch", daemon=True).start()
    work(stop)


def _end(child: int, timeout: float = 15) -> None:
    """Stop the child and collect it (unless something else reaped it already)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(child, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, _status = os.waitpid(child, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
            deadline = time.monotonic() + 5
        time.sleep(0.05)
