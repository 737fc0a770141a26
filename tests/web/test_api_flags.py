"""Flags over the API: set and clear with the version and an Idempotency-Key, the list with the routine in the
caller's language (a logged read), the decision's warning naming the flag; reporters and partners refused."""

from __future__ import annotations

from sqlalchemy import func, select

from cases.models import AccessLogEntry, CaseFlag
from tests.web.test_api import api, case_in, key  # noqa: F401 - `api` is the fixture

REASON = "Uppgift om hot från familjen."


def version(api, ref) -> int:  # noqa: F811
    return api("GET", f"/cases/{ref}/triggers", "decider").get_json()["version"]


def test_set_list_and_clear_a_flag_over_the_api(api, app, staff):  # noqa: F811
    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "investigation")
    body = {"expected_version": version(api, ref), "flag": "honour_violence", "reason": REASON}
    first = key()
    made = api("POST", f"/cases/{ref}/flags", "caseworker", json=body, key=first,
               operation=("/cases/{ref}/flags", "POST"))
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["flag"] == "honour_violence" and made.get_json()["version"] > body["expected_version"]
    again = api("POST", f"/cases/{ref}/flags", "caseworker", json=body, key=first)  # a retry: the first answer
    assert again.status_code == 201 and again.get_json() == made.get_json()
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(CaseFlag)) == 1
        reads = session.scalar(select(func.count()).select_from(AccessLogEntry))
    listed = api("GET", f"/cases/{ref}/flags", "decider", operation=("/cases/{ref}/flags", "GET"),
                 **{"Accept-Language": "en"})
    (item,) = listed.get_json()["items"]
    assert (item["label"], item["active"], item["reason"]) == ("Honour-related violence and oppression", True, REASON)
    assert any("alone" in step for step in item["routine"])
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(AccessLogEntry)) == reads + 1
    cleared = api("POST", f"/cases/{ref}/flags/honour_violence/clear", "decider", key=key(),
                  json={"expected_version": made.get_json()["version"], "reason": "Bedömt."},
                  operation=("/cases/{ref}/flags/{flag}/clear", "POST"))
    assert cleared.status_code == 200, cleared.get_json()
    assert api("GET", f"/cases/{ref}/flags", "decider").get_json()["items"][0]["active"] is False


def test_a_stale_version_is_a_conflict_and_saves_nothing(api, app, staff):  # noqa: F811
    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "investigation")
    seen = version(api, ref)
    assert api("POST", f"/cases/{ref}/flags", "decider", key=key(),
               json={"expected_version": seen, "flag": "close_relationship_violence", "reason": REASON}
               ).status_code == 201
    stale = api("POST", f"/cases/{ref}/flags", "decider", key=key(),
                json={"expected_version": seen, "flag": "honour_violence", "reason": REASON},
                operation=("/cases/{ref}/flags", "POST"))
    assert stale.status_code == 409
    with db.read() as session:
        assert session.scalars(select(CaseFlag.flag)).all() == ["close_relationship_violence"]


def test_the_decision_warns_naming_the_flag(api, app, staff):  # noqa: F811
    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "pre_assessment")
    api("POST", f"/cases/{ref}/flags", "intake", key=key(),
        json={"expected_version": version(api, ref), "flag": "close_relationship_violence", "reason": REASON})
    options = api("GET", f"/cases/{ref}/triggers", "decider", **{"Accept-Language": "en"}).get_json()
    opening = next(o for o in options["triggers"] if o["trigger"] == "close_without_investigation")
    (flagged,) = [w for w in opening["warnings"] if w["code"] == "flagged"]  # the case's person is 20: also young_adult
    assert "Violence in close relationships" in flagged["message"] and flagged["kind"] == "warning"


def test_reporters_partners_and_the_rest_are_refused(api, app, staff):  # noqa: F811
    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "investigation")
    body = {"expected_version": version(api, ref), "flag": "honour_violence", "reason": REASON}
    for role in ("reporter", "partner", "coordinator", "auditor", "admin"):
        assert api("GET", f"/cases/{ref}/flags", role).status_code == 403
        assert api("POST", f"/cases/{ref}/flags", role, json=body, key=key()).status_code == 403
    assert api("POST", f"/cases/{ref}/flags/honour_violence/clear", "intake", key=key(),
               json={"expected_version": 1, "reason": "x"}).status_code == 403
    assert api("POST", f"/cases/{ref}/flags", "decider", key=key(),
               json={**body, "flag": "forced_marriage"}).status_code == 422
