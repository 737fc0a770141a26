"""The service's metrics in the Prometheus text format at /metrics, for auditors' and administrators' tokens.

- Not public: the caller sends a personal API token (`Authorization: Bearer vdr_…`, `cases.staff.tokens`) of an
  `auditor` or `admin` account, as for the API (web.api): 401 without a valid one, 403 for another role. A
  browser's session opens nothing here, and a view that says nothing is still a 404 (web.access).
- What: request latency by route (the URL rule, `/cases/<ref>`, never the path: no case reference in a
  label), transitions by trigger and events by outcome (counted from `cases.events`, so the operations
  count them wherever they are called from), and open cases and overdue deadlines by state (counted in the
  database when the metrics are read, `cases.reports.monitoring`: the same in every process), and the jobs'
  runs by name and state (`vidoro_jobs`, counted in the job queue's table, `cases.jobs`: a worker on another
  machine, or the one beside `vidoro serve`, is counted wherever the metrics are read).
- `vidoro serve` runs several processes (web.serving); each counts its own requests into a folder they
  share (prometheus_client's multiprocess mode, PROMETHEUS_MULTIPROC_DIR, set up by `shared_folder`), and
  whichever process is asked adds them all up. Without that folder (the development server, tests) a
  process shows its own counts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, g, request

from cases import events
from cases.jobs import job_counts
from cases.reports.monitoring import CaseGauges, case_gauges
from policies.access import MONITORING_ROLES
from web import clock
from workflow.engine import REGISTER

__all__ = ["MULTIPROC_ENV", "init_app", "shared_folder"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(frozen=True)
class _Instruments:
    registry: Any
    latency: Any
    transitions: Any
    events: Any


_MADE: list[_Instruments] = []
_MAKING = threading.Lock()


def _instruments() -> _Instruments:
    """Made on first use, in the serving process itself (after the fork), never at import; made once.

    Once per process even when two threads of a worker (`--threads`) answer their first requests at once: in
    multiprocess mode every instrument keeps its own copy of a count and writes it whole to the shared file,
    so a second set of instruments would overwrite the first one's counts (a request served and never
    counted; `functools.cache` may run the function twice in that race)."""
    if not _MADE:
        with _MAKING:
            if not _MADE:
                _MADE.append(_make_instruments())
    return _MADE[0]


def _make_instruments() -> _Instruments:
    from prometheus_client import CollectorRegistry, Counter, Histogram

    registry = CollectorRegistry()
    return _Instruments(
        registry,
        Histogram("vidoro_request_duration_seconds", "Time to answer a request, by route (URL rule) and method",
                  ["route", "method", "status"], registry=registry,
                  buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)),
        Counter("vidoro_transitions", "Transitions committed, by trigger", ["trigger"], registry=registry),
        Counter("vidoro_events", "Operations, sign-ins and refusals (cases.events), by event and outcome",
                ["event", "outcome"], registry=registry),
    )


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_observe)
    events.listen(_count)
    app.add_url_rule("/metrics", "metrics", _metrics, methods=["GET"])


def _start() -> None:
    g.vidoro_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.get("vidoro_started")
    if started is not None:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        _instruments().latency.labels(route, request.method, str(response.status_code)).observe(
            time.perf_counter() - started)
    return response


def _count(event: str, fields: Mapping[str, Any]) -> None:
    instruments = _instruments()
    outcome = fields["outcome"]
    instruments.events.labels(event, outcome).inc()
    if outcome != "done":
        return
    if event == "transition" and "trigger" in fields:
        instruments.transitions.labels(fields["trigger"]).inc()
    elif event == "concern_registered":
        instruments.transitions.labels(REGISTER).inc()
    elif event == "consent_withdrawn" and "seq" in fields:  # the withdrawal moved the case on
        instruments.transitions.labels("withdraw_consent").inc()


def _metrics() -> Response:
    """The metrics, for a token of MONITORING_ROLES (refused as the API refuses: a problem, never a page)."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    from web.api import authenticate

    refused = authenticate(MONITORING_ROLES)
    if refused is not None:
        return refused
    gauges = case_gauges(current_app.extensions["vidoro.db"], g.api_account.actor, now=clock.now())
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client.multiprocess import MultiProcessCollector

        MultiProcessCollector(registry)
    else:
        registry.register(_Delegate(_instruments().registry))
    registry.register(_Gauges(gauges))
    registry.register(_Jobs(job_counts(current_app.extensions["vidoro.db"])))
    return Response(generate_latest(registry), mimetype=None, content_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


_metrics.vidoro_api = MONITORING_ROLES  # type: ignore[attr-defined]  # a token, never the session (web.access)


class _Delegate:
    """This process's own instruments, for a scrape's registry (one process serves: nothing to add up)."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Any]:
        yield from self.registry.collect()


class _Gauges:
    """Open cases and overdue deadlines by state, as read for this scrape."""

    def __init__(self, gauges: CaseGauges) -> None:
        self.gauges = gauges

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        for name, text, counts in (
            ("vidoro_open_cases", "Open cases (neither closed nor erased), by state", self.gauges.open_by_state),
            ("vidoro_overdue_deadlines", "Running deadlines past their last day, by the case's state",
             self.gauges.overdue_by_state),
        ):
            family = GaugeMetricFamily(name, text, labels=["state"])
            for state, count in sorted(counts.items()):
                family.add_metric([state], count)
            yield family


class _Jobs:
    """The job queue's rows by job and state, as read for this scrape: done and failed runs (the last 90 days),
    and those queued or running now."""

    def __init__(self, counts: dict[tuple[str, str], int]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily("vidoro_jobs", "Job runs kept in the queue (done, failed: the last 90 days; "
                                   "queued, running: now), by job and state", labels=["name", "state"])
        for (name, state), count in sorted(self.counts.items()):
            family.add_metric([name, state], count)
        yield family


@contextlib.contextmanager
def shared_folder() -> Iterator[None]:
    """Give the serving processes a folder to count in together (prometheus_client's multiprocess mode).

    Set before any of them imports prometheus_client, which reads it once; a folder given in
    PROMETHEUS_MULTIPROC_DIR is used as it is (empty it between runs), else a new one is made and removed."""
    if os.environ.get(MULTIPROC_ENV):
        yield
        return
    folder = tempfile.mkdtemp(prefix="vidoro-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)
