"""The reporter's pages on both databases: the short concern form and its errors, the 112 notice, receipts
only for their owner, and feedback limited to what the law allows."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cases import ConcernForm, add_staff, register_concern
from cases.crypto.identity import generate_identity_number
from cases.models import Case
from cases.reports.demo import PATHS, Step, drive
from cases.staff import accounts
from tests.web.conftest import PASSWORD, post_form, sign_in
from workflow.hearing import Assessment

CONCERN = "Eleven har slutat komma till lektionerna och säger att hen inte får umgås med klasskamraterna."
# A child's path (feedback is about a concern about a child): opened, or not opened after the pre-assessment.
CHILD_OPENING = PATHS["closed"][1][:3]
NOT_OPENING = [*PATHS["closed"][1][:2],
               Step("decider", "close_without_investigation", {"reason": "Ej aktuellt.", "outcome": "not_opened"},
                    assessment=Assessment("Oron och behoven.", not_heard_reason="not_reached"))]


OTHER_ROLES = ("coordinator", "intake", "caseworker", "decider", "partner", "auditor", "admin")


def english(client, page: str = "/concerns/new"):
    """Switch the browser to English, so that the tests read the message ids whatever Swedish says."""
    response = post_form(client, "/language", {"lang": "en", "next": page}, page=page)
    assert response.status_code == 302
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def assert_accessible(html: str) -> None:
    """One h1, every visible control labelled, every table header scoped, no inline script or style."""
    assert html.count("<h1") == 1
    for control in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
        if 'type="hidden"' in control:
            continue
        found = re.search(r'id="([^"]+)"', control)
        assert found and f'for="{found.group(1)}"' in html, control
    for th in re.findall(r"<th\b[^>]*>", html):
        assert "scope=" in th, th
    assert "<script" not in html and "style=" not in html


def cases_count(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Case))


def concern_form(**changes) -> dict:
    data = {"concern": CONCERN, "reporter_org": "school", "identity_number": adult_number(), "birth_date": "",
            "given_name": "Tove", "family_name": "Provsson"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def adult_number(serial: int = 415) -> str:
    return generate_identity_number(date(2001, 3, 2), serial)


def child_number(serial: int = 238) -> str:
    """Feedback is about a concern about a child (policies/rules.toml [feedback])."""
    return generate_identity_number(date(2012, 5, 17), serial)


@pytest.fixture
def reporter(client_as):
    return english(client_as("reporter"))


def test_the_reporters_start_page_is_the_short_form_with_the_112_notice(app, reporter):
    assert reporter.get("/").headers["Location"].endswith("/concerns/new")
    page = reporter.get("/concerns/new")
    html = text(page)
    assert page.status_code == 200
    assert_accessible(html)
    assert 'class="alert-112"' in html and "Call 112" in html
    assert html.index("Call 112") < html.index('name="acute_danger"') < html.index('name="concern"')
    assert "not what you think they believe or their views" in html  # behaviour and need, not opinions
    assert 'name="received_at"' not in html  # received is when it is sent in


def test_a_concern_is_registered_and_the_reporter_gets_its_receipt(app, db, staff, reporter):
    response = post_form(reporter, "/concerns/new", concern_form())
    assert response.status_code == 303
    ref = response.headers["Location"].rsplit("/", 1)[-1]
    with db.read() as s:
        case = s.scalars(select(Case).where(Case.ref == ref)).one()
    assert (case.registered_by, case.reporter_org, case.state, case.acute_danger) == (
        staff["reporter"].id, "school", "registered", False)
    assert CONCERN.encode() not in case.concern
    receipt = reporter.get(response.headers["Location"])
    html = text(receipt)
    assert receipt.status_code == 200 and ref in html
    assert_accessible(html)
    assert "Your concern has been registered" in html and "Received" in html and "What happens next" in html
    assert "alert-112" not in html
    for secret in (CONCERN[:30], "Tove", "Provsson", adult_number(), adult_number()[:8]):
        assert secret not in html


FORM_ERRORS = [
    ({"concern": "  "}, "concern"),
    ({"identity_number": "19010101-1234"}, "identity_number"),
    ({"identity_number": "", "birth_date": ""}, "identity_number"),
    ({"identity_number": "", "birth_date": "23/4/2011"}, "birth_date"),
    ({"reporter_org": ""}, "reporter_org"),
    ({"reporter_org": "the_moon"}, "reporter_org"),
    ({"birth_date": "1999-01-01"}, "birth_date"),  # does not match the identity number
    ({"police_contacted_at": "25:99"}, "police_contacted_at"),
]


def test_a_form_error_is_shown_next_to_its_field_and_nothing_is_saved(app, db, reporter):
    for changes, field in FORM_ERRORS:  # one app per database for all of them: sign-in is the slow part
        response = post_form(reporter, "/concerns/new", concern_form(**changes))
        html = text(response)
        assert response.status_code == 400, changes
        assert cases_count(db) == 0, changes
        assert f'id="error-{field}"' in html and f'href="#field-{field}"' in html, changes
        assert re.search(rf'<(input|textarea|select|fieldset)[^>]*id="field-{field}"[^>]*aria-invalid="true"', html)
        assert html.count('class="field-error"') == 1, changes
        assert_accessible(html)
        if field != "concern":
            assert CONCERN in html, changes  # what was typed is kept


def test_acute_danger_records_the_police_contact_and_the_receipt_says_call_112(app, db, staff, reporter):
    failed = post_form(reporter, "/concerns/new", concern_form(concern="", acute_danger="yes"))
    assert failed.status_code == 400 and 'role="alert"' in text(failed) and "call 112 now" in text(failed)
    before = datetime.now(UTC)
    response = post_form(reporter, "/concerns/new", concern_form(acute_danger="yes", police_contacted="yes"))
    assert response.status_code == 303
    ref = response.headers["Location"].rsplit("/", 1)[-1]
    with db.read() as s:
        case = s.scalars(select(Case).where(Case.ref == ref)).one()
    assert case.acute_danger and case.police_contacted_by == staff["reporter"].id
    assert before - timedelta(seconds=1) <= case.police_contacted_at <= datetime.now(UTC)
    html = text(reporter.get(f"/concerns/{ref}"))
    assert 'class="alert-112"' in html and "Call 112 now" in html and "you contacted the police at" in html


def test_no_police_contact_is_recorded_unless_the_reporter_says_so(app, db, reporter):
    response = post_form(reporter, "/concerns/new", concern_form(acute_danger="yes"))
    ref = response.headers["Location"].rsplit("/", 1)[-1]
    with db.read() as s:
        case = s.scalars(select(Case).where(Case.ref == ref)).one()
    assert case.acute_danger and case.police_contacted_at is None and case.police_contacted_by is None
    assert "Call 112 now" in text(reporter.get(f"/concerns/{ref}"))


def test_the_reporter_is_not_told_that_the_person_already_has_open_cases(app, db, staff, reporter):
    known = register_concern(db, staff["intake"], ConcernForm(
        concern="Tidigare oro.", reporter_org="social_services", identity_number=adult_number()))
    pages = []
    for serial in (415, 416):  # the first person has an open case, the second has none
        response = post_form(reporter, "/concerns/new", concern_form(identity_number=adult_number(serial)))
        assert response.status_code == 303
        ref = response.headers["Location"].rsplit("/", 1)[-1]
        receipt = text(reporter.get(response.headers["Location"]))
        assert known.ref not in receipt
        pages.append(re.sub(r'name="csrf_token" value="[^"]+"', "", receipt).replace(ref, "REF"))
    assert pages[0] == pages[1]
    assert known.ref not in text(reporter.get("/concerns"))


def test_a_receipt_is_only_for_the_reporter_who_sent_the_concern(app, db, staff, client_as):
    other = add_staff(db, "reporter-2", "Another reporter", "reporter")
    accounts.set_password(db, "reporter-2", PASSWORD)
    theirs = register_concern(db, other, ConcernForm(concern=CONCERN, reporter_org="school",
                                                     identity_number=adult_number()))
    mine = english(client_as("reporter"))
    forbidden, unknown = mine.get(f"/concerns/{theirs.ref}"), mine.get("/concerns/VO-NOTACASE")
    assert forbidden.status_code == unknown.status_code == 404
    assert text(forbidden).replace(theirs.ref, "REF") == text(unknown).replace("VO-NOTACASE", "REF")
    assert theirs.ref not in text(mine.get("/concerns"))
    client = english(app.test_client(), "/sign-in")
    assert sign_in(client, "reporter-2").status_code == 302
    assert client.get(f"/concerns/{theirs.ref}").status_code == 200


def test_only_reporters_use_the_reporter_pages(client_as):
    for role in OTHER_ROLES:
        client = client_as(role)
        for url in ("/concerns/new", "/concerns", "/concerns/VO-NOTACASE"):
            assert client.get(url).status_code == 403, (role, url)
        assert client.post("/concerns/new", data=concern_form()).status_code in (400, 403)


def test_my_concerns_shows_each_kind_of_feedback_and_nothing_else(app, db, staff, reporter):
    start = datetime.now(UTC) - timedelta(days=120)

    def concern(serial, steps, when, by=None):
        ref = register_concern(db, by or staff["reporter"], ConcernForm(
            concern=CONCERN, reporter_org="leisure", identity_number=child_number(serial), given_name="Tove",
        ), now=when).ref
        drive(db, staff, ref, steps, when)
        return ref

    received = concern(501, [], start)
    opened = concern(502, CHILD_OPENING, start)
    not_opened = concern(503, NOT_OPENING, start)
    concern(504, CHILD_OPENING, start, by=staff["intake"])  # the same person's running case
    running = concern(504, NOT_OPENING, start + timedelta(days=30))
    page = reporter.get("/concerns")
    html = text(page)
    assert page.status_code == 200
    assert_accessible(html)
    rows = {ref: re.search(rf"{ref}.*?</tr>", html, re.S).group(0)
            for ref in (received, opened, not_opened, running)}
    assert "Received" in rows[received]
    assert "Investigation opened" in rows[opened]
    assert "No investigation opened" in rows[not_opened]
    assert "Investigation already under way" in rows[running]
    assert html.count("<tr>") == 5  # the header and the reporter's four concerns, not the intake officer's
    for secret in ("Tove", CONCERN[:30], child_number(504), "Pre-assessment", "Closed", "not_opened"):
        assert secret not in html
    receipt = text(reporter.get(f"/concerns/{running}"))
    assert "Investigation already under way" in receipt and "Tove" not in receipt


def test_the_form_needs_its_csrf_token(app, db, reporter):
    response = reporter.post("/concerns/new", data=concern_form())
    assert response.status_code == 400 and cases_count(db) == 0


@pytest.mark.parametrize("sent", [{"received_at": "2026-11-20T09:00:00+01:00"},
                                  {"received_at": "2026-11-20T09:00:00+01:00", "arrival_reason": "Ringde i fredags"},
                                  {"arrival_reason": "Ringde i fredags"}], ids=["time", "time+reason", "reason"])
def test_a_posted_arrival_time_is_refused_not_ignored(app, reporter, sent):
    """Issue 15: the page has no arrival field, and one posted anyway is refused saying that only intake may."""
    db = app.extensions["vidoro.db"]
    response = post_form(reporter, "/concerns/new", concern_form(**sent), page="/concerns/new")
    assert response.status_code == 403
    assert "Only intake may record an earlier arrival" in text(response)
    assert cases_count(db) == 0
