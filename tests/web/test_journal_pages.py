"""The journal in the browser (without a browser): the timeline on the case page, writing, signing and
correcting notes through the forms, in Swedish and English; roles without a ground are refused.

Socialtjänstlagen (2025:400), the documentation rules (`law.toml` key `sol_14_3_7`): the journal is written
by the staff who work on the case, and a signed note stays as written beside its corrections.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from cases import ConcernForm, register_concern
from tests.conftest import NOW
from tests.web.conftest import csrf_token, post_form

TEXT = "Hembesök: familjen berättade om skolsituationen."


@pytest.fixture
def ref(db, staff, child_number):
    return register_concern(db, staff["reporter"], ConcernForm(
        concern="Oro för en elev.", reporter_org="school", identity_number=child_number), now=NOW).ref


def write(client, ref: str, text: str = TEXT, **extra):
    yesterday = (NOW.date() - timedelta(days=1)).isoformat()
    return post_form(client, f"/cases/{ref}/notes/new", {"kind": "home_visit", "occurred_on": yesterday,
                                                         "text": text, **extra},
                     page=f"/cases/{ref}/notes/new" + (f"?corrects={extra['corrects']}" if extra else ""))


def note_ids(page: str) -> list[str]:
    return re.findall(r'id="note-([0-9a-f-]{36})"', page)


def test_a_note_is_written_as_a_draft_signed_and_then_shown_to_others(client_as, ref):
    intake = client_as("intake")
    answer = write(intake, ref)
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/cases/{ref}#h-journal")
    page = intake.get(f"/cases/{ref}").get_data(as_text=True)
    assert TEXT in page and "Utkast" in page and "Hembesök" in page
    decider = client_as("decider")
    assert TEXT not in decider.get(f"/cases/{ref}").get_data(as_text=True)  # a draft is its author's alone
    (note,) = note_ids(page)
    token = csrf_token(intake.get(f"/cases/{ref}"))
    signed = intake.post(f"/cases/{ref}/notes/{note}/sign", data={"csrf_token": token})
    assert signed.status_code == 303
    shown = decider.get(f"/cases/{ref}").get_data(as_text=True)
    assert TEXT in shown and "Signerad" in shown and "Skriv en rättelse" in shown


def test_a_signed_note_cannot_be_edited_or_deleted_through_the_pages(client_as, ref):
    intake = client_as("intake")
    write(intake, ref)
    (note,) = note_ids(intake.get(f"/cases/{ref}").get_data(as_text=True))
    token = csrf_token(intake.get(f"/cases/{ref}"))
    intake.post(f"/cases/{ref}/notes/{note}/sign", data={"csrf_token": token})
    assert intake.get(f"/cases/{ref}/notes/{note}/edit").status_code == 404
    assert intake.post(f"/cases/{ref}/notes/{note}/delete", data={"csrf_token": token}).status_code == 409
    assert intake.post(f"/cases/{ref}/notes/{note}/sign", data={"csrf_token": token}).status_code == 409


def test_a_correction_is_shown_beside_the_note_it_corrects_in_english(client_as, ref):
    intake = client_as("intake")
    intake.post("/language", data={"lang": "en", "csrf_token": csrf_token(intake.get(f"/cases/{ref}"))})
    write(intake, ref)
    (note,) = note_ids(intake.get(f"/cases/{ref}").get_data(as_text=True))
    intake.post(f"/cases/{ref}/notes/{note}/sign", data={"csrf_token": csrf_token(intake.get(f"/cases/{ref}"))})
    form = intake.get(f"/cases/{ref}/notes/new?corrects={note}").get_data(as_text=True)
    assert "Write a correction" in form and TEXT in form
    assert write(intake, ref, "Rättelse: besöket var i skolan.", corrects=note).status_code == 303
    page = intake.get(f"/cases/{ref}").get_data(as_text=True)
    assert TEXT in page and "Rättelse: besöket var i skolan." in page
    assert "Corrected by:" in page and "Correction of:" in page and "Home visit" in page
    assert "Concern registered" in page  # the step's own name, in words


def test_a_future_date_is_refused_on_the_form(client_as, ref):
    intake = client_as("intake")
    answer = post_form(intake, f"/cases/{ref}/notes/new", {"kind": "other", "text": TEXT,
                                                           "occurred_on": "2999-01-01"})
    assert answer.status_code == 400
    assert "kan inte ligga i framtiden" in answer.get_data(as_text=True)


@pytest.mark.parametrize("role", ["reporter", "partner", "auditor", "coordinator", "admin"])
def test_roles_without_a_ground_never_reach_the_note_form(client_as, ref, role):
    assert client_as(role).get(f"/cases/{ref}/notes/new").status_code == 403


def test_a_caseworker_without_the_case_gets_404(client_as, ref):
    caseworker = client_as("caseworker")
    assert caseworker.get(f"/cases/{ref}/notes/new").status_code == 404


def test_every_log_entry_beside_the_flowchart_has_a_name_in_both_languages():
    """Entries that are no flowchart step (a decision's notification, kommunicering, a decision not to give
    feedback) are named in words on the timeline, the API's journal and the audit page, never by their code."""
    from cases.audit.auditing import BESIDE_THE_STEPS, known_triggers
    from cases.flowcharts import current_engine
    from web.journal import OTHER_ENTRIES, step_name

    chart = current_engine().chart
    relative = current_engine("relative_support").chart  # a relative's own matter's steps are steps too
    beside = set(known_triggers()) - set(chart.triggers) - set(relative.triggers) - {known_triggers()[0]}
    assert beside == set(OTHER_ENTRIES) == set(BESIDE_THE_STEPS)
    for code in beside:
        for lang in ("sv", "en"):
            name = step_name(chart, code, "investigation", "investigation", lang)
            assert name == OTHER_ENTRIES[code](lang)
            assert name != chart.states["investigation"].label(lang) and "_" not in name
