"""The journal over the JSON API: the timeline, writing and signing notes, corrections, and every refusal as
a problem the OpenAPI document declares. Every answer is checked against the document (`Api.conforms`).

Socialtjänstlagen (2025:400), the documentation rules (`law.toml` key `sol_14_3_7`): a signed note stays as
written (409 note-signed), and a correction is a new signed note beside it.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.web.test_api import PROBLEM, api, key, registered  # noqa: F401 - `api` is a fixture

JOURNAL, NOTES, SIGN = ("/cases/{ref}/journal", "get"), ("/cases/{ref}/notes", "post"), \
    ("/cases/{ref}/notes/{note_id}/signature", "post")
YESTERDAY = (date.today() - timedelta(days=2)).isoformat()


def note(**extra) -> dict:
    return {"kind": "phone_call", "occurred_on": YESTERDAY, "text": "Samtal med mentorn om frånvaron.", **extra}


def written(api, ref: str, role: str = "intake", **extra) -> dict:  # noqa: F811
    answer = api("POST", f"/cases/{ref}/notes", role, json=note(**extra), key=key(), operation=NOTES)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_a_note_is_written_signed_and_shown_on_the_timeline(api):  # noqa: F811
    ref = registered(api)
    draft = written(api, ref)
    assert draft["signed"] is False
    signed = api("POST", f"/cases/{ref}/notes/{draft['note_id']}/signature", "intake", json={}, key=key(),
                 operation=SIGN)
    assert signed.status_code == 200 and signed.get_json()["signed"] is True
    answer = api("GET", f"/cases/{ref}/journal", "intake", operation=JOURNAL, **{"Accept-Language": "en"})
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    items = answer.get_json()["items"]
    assert [i["type"] for i in items] == ["note", "step"]
    assert items[0]["kind_label"] == "Phone call" and items[0]["signed"] and items[0]["author_role"] == "intake"
    assert items[1]["step"] == "Concern registered" and items[1]["trigger"] == "register"
    swedish = api("GET", f"/cases/{ref}/journal", "intake", **{"Accept-Language": "sv"}).get_json()
    assert swedish["items"][0]["kind_label"] == "Telefonsamtal"


def test_a_signed_note_is_refused_signing_again_and_a_correction_stands_beside_it(api):  # noqa: F811
    ref = registered(api)
    first = written(api, ref)["note_id"]
    api("POST", f"/cases/{ref}/notes/{first}/signature", "intake", json={}, key=key())
    again = api("POST", f"/cases/{ref}/notes/{first}/signature", "intake", json={}, key=key(), operation=SIGN)
    assert again.status_code == 409 and again.mimetype == PROBLEM and again.get_json()["code"] == "note-signed"
    fix = written(api, ref, role="decider", corrects=first, text="Rättelse: samtalet var med kuratorn.")
    assert fix["signed"] is True
    items = {i["note_id"]: i for i in api("GET", f"/cases/{ref}/journal", "decider").get_json()["items"]
             if i["type"] == "note"}
    assert items[first]["corrected_by"] == [fix["note_id"]] and items[fix["note_id"]]["corrects"] == first


def test_a_draft_is_corrected_by_editing_not_by_a_correction(api):  # noqa: F811
    ref = registered(api)
    draft = written(api, ref)["note_id"]
    refused = api("POST", f"/cases/{ref}/notes", "intake", json=note(corrects=draft), key=key(), operation=NOTES)
    assert refused.status_code == 422 and refused.get_json()["code"] == "note-not-signed"


@pytest.mark.parametrize("role", ["reporter", "coordinator", "partner", "auditor", "admin"])
def test_roles_without_a_ground_are_refused_the_journal(api, role):  # noqa: F811
    ref = registered(api)
    assert api("GET", f"/cases/{ref}/journal", role, operation=JOURNAL).status_code == 403
    assert api("POST", f"/cases/{ref}/notes", role, json=note(), key=key(), operation=NOTES).status_code == 403


def test_another_persons_draft_and_an_unknown_note_are_not_found(api):  # noqa: F811
    ref = registered(api)
    draft = written(api, ref)["note_id"]
    for note_id in (draft, "00000000-0000-0000-0000-000000000000"):
        answer = api("POST", f"/cases/{ref}/notes/{note_id}/signature", "decider", json={}, key=key(),
                     operation=SIGN)
        assert answer.status_code == 404 and answer.get_json()["code"] == "not-found"


@pytest.mark.parametrize(("body", "field"), [
    (note(occurred_on=(date.today() + timedelta(days=2)).isoformat()), "occurred_on"),
    (note(kind="gossip"), "kind"),
    (note(text=""), "text"),
    (note(extra=True), "extra"),
])
def test_a_bad_note_is_refused_with_its_field(api, body, field):  # noqa: F811
    ref = registered(api)
    answer = api("POST", f"/cases/{ref}/notes", "intake", json=body, key=key(), operation=NOTES)
    assert answer.status_code == 422 and answer.mimetype == PROBLEM
    assert any(field in (r["field"] or "") for r in answer.get_json()["reasons"])


def test_a_repeated_request_gets_the_first_answer(api):  # noqa: F811
    ref = registered(api)
    once = key()
    first = api("POST", f"/cases/{ref}/notes", "intake", json=note(), key=once)
    second = api("POST", f"/cases/{ref}/notes", "intake", json=note(), key=once)
    assert second.status_code == 201 and second.headers["Idempotency-Replayed"] == "true"
    assert first.get_json() == second.get_json()
