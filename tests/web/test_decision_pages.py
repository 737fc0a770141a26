"""The decisions on the case page: listed in words, the letter as a logged PDF read, the notification form; the
server refuses what the screen hides."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from pypdf import PdfReader
from sqlalchemy import func, select

from cases import ConcernForm, fire_trigger, register_concern
from cases.models import AccessLogEntry, Decision, DecisionNotification
from cases.reports.demo import PATHS, drive
from tests.web.conftest import csrf_token
from tests.web.test_case_actions import as_english, text, version_of

MARKER = "Motiveringsmarkör-W8 behov av utredning"


def investigated(db, staff, number) -> tuple[str, str]:
    """A case whose investigation was opened some days ago by the decider, with the marker as its reasons."""
    start = datetime.now(UTC) - timedelta(days=10)
    ref = register_concern(db, staff["reporter"], ConcernForm(
        concern="Oro för våldsbejakande kontakter.", reporter_org="school", identity_number=number),
        now=start).ref
    drive(db, staff, ref, PATHS["investigation"][1][:2], start)
    fire_trigger(db, staff["decider"], ref, "open_investigation", {"reason": MARKER, "legal_basis": "sol_11_1"},
                 now=start + timedelta(days=4))
    with db.read() as s:
        return ref, s.scalars(select(Decision.id)).one()


def count(db, table) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(table))


def test_the_case_page_lists_decisions_in_words_in_both_languages(client_as, db, staff, adult_number):
    ref, decision_id = investigated(db, staff, adult_number)
    decider = client_as("decider")
    page = text(decider.get(f"/cases/{ref}"))
    assert "Beslut att inleda utredning" in page and "open_investigation" not in page
    assert "14 kap. 2 § första stycket socialtjänstlagen (2025:400)" in page
    assert "Test decider" in page and "Enhetschef eller 1:e socialsekreterare" in page and "Inte ännu" in page
    assert f"/cases/{ref}/decisions/{decision_id}/letter.pdf" in page
    assert MARKER not in page.split('id="h-decisions"')[1].split("</section>")[0]  # the reasons are in the letter
    english = text(as_english(decider).get(f"/cases/{ref}"))
    assert "Decision to open an investigation" in english and "Not yet" in english and "Decided by" in english


def test_the_letter_is_a_pdf_whose_reading_is_logged(client_as, db, staff, adult_number):
    ref, decision_id = investigated(db, staff, adult_number)
    decider = client_as("decider")
    before = count(db, AccessLogEntry)
    answer = decider.get(f"/cases/{ref}/decisions/{decision_id}/letter.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.headers["Cache-Control"] == "no-store"
    assert MARKER in " ".join(PdfReader(io.BytesIO(answer.data)).pages[0].extract_text().split())
    assert "Kommunen" in PdfReader(io.BytesIO(answer.data)).pages[0].extract_text()  # VIDORO_MUNICIPALITY's default
    assert count(db, AccessLogEntry) == before + 1


def test_the_letter_is_refused_without_a_ground_or_under_another_case(client_as, db, staff, adult_number):
    ref, decision_id = investigated(db, staff, adult_number)
    before = count(db, AccessLogEntry)
    assert client_as("intake").get(f"/cases/{ref}/decisions/{decision_id}/letter.pdf").status_code == 404
    assert client_as("reporter").get(f"/cases/{ref}/decisions/{decision_id}/letter.pdf").status_code == 403
    assert client_as("decider").get(f"/cases/VO-00000000/decisions/{decision_id}/letter.pdf").status_code == 404
    assert count(db, AccessLogEntry) == before


def test_recording_a_notification_through_the_form(client_as, db, staff, adult_number):
    ref, decision_id = investigated(db, staff, adult_number)
    decider = client_as("decider")
    url = f"/cases/{ref}/decisions/{decision_id}/notifications"
    form = decider.get(url)
    assert form.status_code == 200 and "Brev" in text(form)
    today = datetime.now(UTC).date().isoformat()
    answer = decider.post(url, data={"csrf_token": csrf_token(form), "version": version_of(form),
                                     "recipient": "person", "method": "phone", "notified_on": today})
    assert answer.status_code == 303, text(answer)[:2000]
    assert count(db, DecisionNotification) == 1
    page = text(decider.get(f"/cases/{ref}"))
    assert f"Den enskilde: Telefon, {today}" in page


def test_a_notification_form_that_does_not_hold_is_refused_and_nothing_is_saved(client_as, db, staff, adult_number):
    ref, decision_id = investigated(db, staff, adult_number)
    decider = client_as("decider")
    url = f"/cases/{ref}/decisions/{decision_id}/notifications"
    form = decider.get(url)
    future = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    data = {"csrf_token": csrf_token(form), "version": version_of(form), "recipient": "person", "method": "letter"}
    assert decider.post(url, data={**data, "notified_on": future}).status_code == 400
    assert decider.post(url, data={**data, "notified_on": "igår"}).status_code == 400
    assert decider.post(url, data={**data, "recipient": "guardians",
                                   "notified_on": future[:8] + "01"}).status_code == 400
    assert decider.post(url, data={**data, "version": "1", "notified_on": datetime.now(UTC).date().isoformat()
                                   }).status_code == 409
    assert count(db, DecisionNotification) == 0


def test_the_notification_form_is_refused_to_roles_that_do_not_notify(client_as, db, staff, adult_number):
    ref, decision_id = investigated(db, staff, adult_number)
    assert client_as("intake").get(f"/cases/{ref}/decisions/{decision_id}/notifications").status_code == 403
    assert client_as("decider").get(f"/cases/{ref}/decisions/nothing/notifications").status_code == 404


def test_the_auditor_finds_notifications_in_the_transition_log_by_their_words(client_as, db, staff, adult_number):
    ref, decision_id = investigated(db, staff, adult_number)
    decider = client_as("decider")
    url = f"/cases/{ref}/decisions/{decision_id}/notifications"
    form = decider.get(url)
    assert decider.post(url, data={"csrf_token": csrf_token(form), "version": version_of(form), "recipient": "person",
                                   "method": "letter", "notified_on": datetime.now(UTC).date().isoformat()}
                        ).status_code == 303
    page = client_as("auditor").get("/audit/transitions?kind=decision_notified")
    assert page.status_code == 200
    assert text(page).count("Underrättelse om beslut") >= 2  # the filter's choice and the entry
    assert "decision_notified</td>" not in text(page)
