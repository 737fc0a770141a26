"""Serving: gunicorn's pre-fork server with threaded workers, and the checkpoint issuer in a process of its own.

Why processes. One Python process runs one thread at a time (the GIL). With several threads busy, every
release of the GIL hands it to another thread, and SQLite's driver releases it at every row it steps
through; on these machines each hand-over is a context switch. Served by one process with eight threads,
the work list cost 2.4 ms of CPU per request against 1.3 ms with one thread, and used one core of two
(bench/README.md). So `vidoro serve` runs one worker process per core (gunicorn, `gthread` workers), each
with two threads: both cores busy, few hand-overs, and a thread free when one request is slow (an auditor's
verification takes seconds). Two rather than four: with four, the work list on SQLite under load spent more
of each request handing the GIL over (about 15 % fewer requests a second here; on PostgreSQL within the
noise), and the trivial route gained nothing.
Each worker builds its own app after the fork (connections are never shared between processes); sessions,
rate limits and idempotency keys live in the database, so any worker can answer any request.

The periodic checkpoints run in their own process, forked before the server starts, so that no process
ever forks while it has threads of its own; it stops with the server and if the server disappears.
gunicorn needs `fork`; where there is none (Windows) one waitress process serves instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["checkpoint_process", "serve"]


def serve(config: Mapping[str, Any], *, host: str, port: int, workers: int, threads: int) -> None:
    """Serve until stopped (SIGTERM or Ctrl-C). Access logs are off: URLs carry case references."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:  # no fork on this platform
        from waitress import serve as waitress_serve

        from web import create_app

        waitress_serve(create_app(config), host=host, port=port, threads=workers * threads, ident="vidoro")
        return

    settings = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "proc_name": "vidoro",
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        # Only VIDORO_PROXIES decides whose X-Forwarded-* headers count (web.security), not gunicorn.
        "forwarded_allow_ips": "",
        "secure_scheme_headers": {},
        "graceful_timeout": 10,
    }

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            from web import create_app

            return create_app(config)  # in each worker, after the fork

    Server().run()


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
        if os.getpid() == parent:  # not in a server worker, forked inside this block and leaving with its code
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
    """Stop the child and collect it (unless gunicorn's master already did: it reaps every child)."""
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
