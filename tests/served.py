"""A WSGI app under waitress on a free port of 127.0.0.1, in a thread of the test's process."""

from __future__ import annotations

import threading

from waitress import create_server, wasyncore


class Served:
    """Serves `app` while the `with` block runs; `url` is its base address.

    The server is stopped from inside its own loop (a thunk pulled through waitress's trigger): closing its
    sockets from the test's thread while the loop waits in select() made the loop fail with EBADF now and
    then, and pytest reports that as an error of whichever test was tearing down.
    """

    def __init__(self, app, threads: int = 4) -> None:
        self.server = create_server(app, host="127.0.0.1", port=0, threads=threads)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, name="waitress-loop", daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        everything = self.server._map  # the listening socket, the trigger and every open connection
        self.server.trigger.pull_trigger(lambda: wasyncore.close_all(everything))
        self.thread.join(timeout=10)
        self.server.task_dispatcher.shutdown(timeout=5)
        assert not self.thread.is_alive(), "the test server's loop did not stop"
