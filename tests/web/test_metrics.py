"""/metrics: Prometheus text for an auditor's or administrator's token, refused to everyone else."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cases import ConcernForm, fire_trigger, register_concern
from cases.jobs import Runner, enqueue
from cases.staff.tokens import create_token
from tests.conftest import NOW
from tests.web.conftest import PASSWORD

REF = re.compile(r"VO-[0-9A-Z]{8}")


@pytest.fixture
def tokens(app, accounts_by_role):
    db = app.extensions["vidoro.db"]
    return {role: create_token(db, accounts_by_role[role], "metrics", password=PASSWORD).secret
            for role in ("auditor", "admin", "caseworker", "decider")}


def _scrape(client, token: str | None):
    return client.get("/metrics", headers={"Authorization": f"Bearer {token}"} if token else {})


def _samples(response) -> dict[str, list]:
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def test_the_metrics_are_refused_without_a_token_of_an_auditor_or_admin(app, client_as, tokens):
    anonymous = app.test_client()
    assert _scrape(anonymous, None).status_code == 401
    assert _scrape(anonymous, "vdr_" + "x" * 43).status_code == 401
    for role in ("caseworker", "decider"):
        refused = _scrape(anonymous, tokens[role])
        assert refused.status_code == 403
        assert refused.mimetype == "application/problem+json"
        assert "vidoro_" not in refused.get_data(as_text=True)
    admin_session = client_as("admin")  # a browser's session opens nothing here: only a token does
    assert _scrape(admin_session, None).status_code == 401
    assert anonymous.post("/metrics", headers={"Authorization": f"Bearer {tokens['admin']}"}).status_code == 405


@pytest.mark.parametrize("role", ["auditor", "admin"])
@pytest.mark.usefixtures("flowchart_v2")
def test_the_metrics_count_requests_transitions_and_cases_by_state(app, db, staff, tokens, child_number,
                                                                    client_as, monkeypatch, role):
    ref = register_concern(db, staff["reporter"], ConcernForm(
        concern="Oro för en elev.", reporter_org="school", identity_number=child_number), now=NOW).ref
    fire_trigger(db, staff["intake"], ref, "assess_protection", {}, now=NOW)
    register_concern(db, staff["reporter"], ConcernForm(
        concern="Oro för en annan elev.", reporter_org="school", identity_number=child_number), now=NOW)
    assert client_as("intake").get(f"/cases/{ref}").status_code == 200
    monkeypatch.setattr("web.clock.now", lambda: NOW + timedelta(days=30))  # the child's deadlines have passed

    response = _scrape(app.test_client(), tokens[role])
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    samples = _samples(response)

    transitions = {s.labels["trigger"]: s.value for s in samples["vidoro_transitions_total"]}
    assert transitions["assess_protection"] >= 1 and transitions["register"] >= 2
    routes = {s.labels["route"] for s in samples["vidoro_request_duration_seconds_count"]}
    assert "/cases/<ref>" in routes and "/sign-in" in routes
    opened = {s.labels["state"]: s.value for s in samples["vidoro_open_cases"]}
    assert opened["protection_assessment"] == 1 and opened["registered"] == 1 and opened["investigation"] == 0
    assert "closed" not in opened and "erased" not in opened
    overdue = {s.labels["state"]: s.value for s in samples["vidoro_overdue_deadlines"]}
    assert overdue["registered"] >= 1 and overdue["protection_assessment"] >= 1 and overdue["sig"] == 0
    events = {(s.labels["event"], s.labels["outcome"]) for s in samples["vidoro_events_total"]}
    assert ("sign_in", "done") in events and ("transition", "done") in events
    labels = [value for found in samples.values() for s in found for value in s.labels.values()]
    assert not any(REF.search(value) for value in labels)  # a route is its rule, never a path with a case in it


def test_overdue_is_counted_from_the_day_after_the_last_day(app, db, staff, tokens, child_number, monkeypatch):
    register_concern(db, staff["reporter"], ConcernForm(
        concern="Oro för en elev.", reporter_org="school", identity_number=child_number), now=NOW)
    monkeypatch.setattr("web.clock.now", lambda: NOW)  # registered now: nothing is due before today
    samples = _samples(_scrape(app.test_client(), tokens["admin"]))
    assert {s.labels["state"]: s.value for s in samples["vidoro_overdue_deadlines"]}["registered"] == 0


def test_threads_answering_their_first_requests_at_once_share_one_set_of_instruments(monkeypatch):
    """A second set would keep counts of its own and overwrite the first's in the shared files (a lost count)."""
    import threading
    import time

    from web import metrics

    made = []

    def slow_make():
        time.sleep(0.05)  # widen the window in which a second thread could start making its own
        made.append(object())
        return made[-1]

    monkeypatch.setattr(metrics, "_MADE", [])
    monkeypatch.setattr(metrics, "_make_instruments", slow_make)
    start, got = threading.Barrier(8), []

    def first_request() -> None:
        start.wait()
        got.append(metrics._instruments())

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1
    assert len(got) == 8 and all(each is made[0] for each in got)


def test_the_metrics_count_job_runs_by_job_and_state_from_the_queue(app, db, tokens):
    def broken(database, *, now):
        raise RuntimeError("no")

    runner = Runner(db, {"tick": lambda database, *, now: "ok", "broken": broken}, {}, clock=lambda: NOW,
                    report=lambda _: None)
    with db.write() as session:
        for key in ("a", "b"):
            enqueue(session, name="tick", key=key, now=NOW)
        enqueue(session, name="broken", key="a", now=NOW)
    runner.run_due()
    samples = _samples(_scrape(app.test_client(), tokens["auditor"]))
    assert {(s.labels["name"], s.labels["state"]): s.value for s in samples["vidoro_jobs"]} == {
        ("tick", "done"): 2, ("broken", "queued"): 1}  # the failed run waits for its next try
