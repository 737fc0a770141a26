"""A concern walked from the reporter's form to a closed case through the pages, in Swedish and in English,
with axe-core checking every page seen (WCAG 2.1 A and AA: no violation, no CSP complaint).

The path of an adult's case: the reporter submits the form empty (its errors are checked too), then filled
in → receipt → their list; the intake officer starts the pre-assessment; the decision maker records the
person's consent, opens the investigation (after submitting its form empty) and assigns caseworker-1; the
caseworker proposes other support, starts it and starts the follow-up; the decision maker closes the case;
the reporter sees that it was received (an adult's concern gets no other feedback); the coordinator sees
the overview; the auditor verifies the logs and reads the case's transitions and reads; the administrator
sees the accounts. The walk is flowchart version 2's, where an intervention is a state of the case
(tests/cases/fixtures/vid_oro_v2.toml, the `flowchart_v2` fixture): cases started on it keep running on it.

Elements are found by id, name and address, and by role and English name only in English: the Swedish
catalogue is being written, so no Swedish word of it is relied on. Flowchart labels (states, steps) come
from the flowchart file, which carries both languages, so those are compared in either language.
"""

from __future__ import annotations

from datetime import date

import pytest

from cases.audit.log import LOGS
from cases.audit.signing import LogSigner
from cases.casework.outline import case_outline
from cases.crypto.identity import generate_identity_number
from cases.flowcharts import current_engine
from tests.web.conftest import STAFF_ROLES

# A generated identity number of an adult (26 in 2026): never a real-looking one.
IDENTITY = generate_identity_number(date(2000, 5, 17), 238)
PATH = ["registered", "pre_assessment", "investigation", "awaiting_consent", "other_support", "follow_up",
        "closed"]


def _label(item, lang: str) -> str:
    return getattr(item, lang)


def _button(person, css: str, english: str):
    """A submit button: by role and its English name in English, by CSS otherwise."""
    if person.lang == "en":
        return person.page.locator("main").get_by_role("button", name=english, exact=True)
    return person.page.locator(css)


def _state_is(person, state: str) -> None:
    """The case page says the case is in `state`, by the flowchart's own label in the visitor's language."""
    chart = current_engine().chart
    shown = person.page.locator("main > p.lead strong").first.inner_text()
    assert shown == _label(chart.states[state].label, person.lang), person.page.url


def _open_case(person, ref: str) -> None:
    """From the work list to the case page, by the link to it."""
    if not person.page.url.endswith("/cases"):
        person.submit(person.page.locator("nav a[href='/cases']"))
    person.submit(person.page.locator(f"main a[href='/cases/{ref}']"))
    assert person.page.locator("h1").inner_text().endswith(ref)


def _fire(person, ref: str, trigger: str, source: str, fill=None, *, empty_first: bool = False) -> None:
    """Fire a step from the case page through its form: the step's page, the form filled, the case page."""
    page = person.page
    step = current_engine().chart.transition(trigger, source)
    person.submit(page.locator(f"main a[href='/cases/{ref}/actions/{trigger}']"))
    assert page.locator("h1").inner_text() == _label(step.label, person.lang)
    submit = page.locator(f"main form[action='/cases/{ref}/actions/{trigger}']").get_by_role(
        "button", name=_label(step.label, person.lang), exact=True)
    if empty_first:  # the form's errors: a summary linking to each field, the fields marked invalid
        person.submit(submit)
        assert page.locator(".error-summary[role=alert]").is_visible()
        for name in step.requires:
            assert page.locator(f"main .error-summary a[href='#field-{name}']").count() == 1
            assert page.locator(f"#field-{name}").get_attribute("aria-invalid") == "true"
    if fill:
        fill(page)
    person.submit(submit)
    assert page.url == f"{person.base}/cases/{ref}", page.url
    assert page.locator(".notices .notice-success").is_visible()
    _state_is(person, step.dest)


def _register_concern(person) -> str:
    """The reporter's form, empty then filled in; returns the case's reference from the receipt."""
    page = person.page
    assert page.url == f"{person.base}/concerns/new"  # the reporter's start page after signing in
    register = _button(person, "main form[action='/concerns/new'] button[type=submit]", "Register the concern")
    person.submit(register)  # empty: the form comes back with its errors
    assert page.locator(".error-summary[role=alert]").is_visible()
    assert page.locator("#field-concern").get_attribute("aria-invalid") == "true"
    page.locator("main .error-summary a[href='#field-concern']").click()
    assert page.evaluate("document.activeElement.id") == "field-concern"

    page.locator("#field-concern").fill("Has stopped coming to work and shows colleagues violent videos; "
                                        "needs someone to talk to.")
    page.locator("#field-reporter_org").select_option("other_city")
    page.locator("#field-identity_number").fill(IDENTITY)
    person.submit(register)
    assert "/concerns/VO-" in page.url, page.url
    ref = page.url.rsplit("/", 1)[1]
    assert page.locator("h1").inner_text().endswith(ref)
    assert page.locator(".notices .notice-success").is_visible()

    person.submit(page.locator("main a[href='/concerns']"))  # the reporter's list
    assert page.locator(f"main a[href='/concerns/{ref}']").count() == 1
    return ref


def _record_consent(person, ref: str) -> None:
    """The person's written consent to the investigation and to other support, for social services."""
    page = person.page
    person.submit(page.locator(f"main a[href='/cases/{ref}/consents/new']"))
    page.locator("#field-status").select_option("given")
    page.locator("#field-given_by").select_option("subject")
    for name, codes in (("purposes", ("investigation", "other_support")), ("recipients", ("social_services",)),
                        ("data_categories", ("identity", "concern"))):
        for code in codes:
            page.locator(f"input[name={name}][value={code}]").check()
    page.locator("#field-method").select_option("written")
    page.locator("#field-evidence").fill("Signed consent form, kept in the case binder.")
    person.submit(_button(person, f"main form[action='/cases/{ref}/consents/new'] button[type=submit]", "Record"))
    assert page.url == f"{person.base}/cases/{ref}"
    assert page.locator("#h-consents ~ table tbody tr").count() == 1


def _assign(person, ref: str) -> None:
    page = person.page
    person.submit(page.locator(f"main a[href='/cases/{ref}/assign']"))
    page.locator("#field-caseworker").select_option(label="Test caseworker")
    person.submit(_button(person, f"main form[action='/cases/{ref}/assign'] button[type=submit]", "Assign"))
    assert page.url == f"{person.base}/cases/{ref}"
    assert "Test caseworker" in page.locator(".notices .notice-success").inner_text()


def _audit(person, ref: str) -> None:
    """Verify the logs from the overview, then read the case's transitions and the reads of it."""
    page = person.page
    assert page.url == f"{person.base}/audit"  # the auditor's start page after signing in
    person.submit(_button(person, "main form[action='/audit/verify'] button[type=submit]", "Verify the logs now"))
    assert page.url == f"{person.base}/audit"
    assert page.locator(".notices .notice-success").is_visible()
    assert page.locator("main .notice-error").count() == 0
    assert page.locator("#h-last ~ table tbody tr").count() == len(LOGS)  # every log checked

    person.submit(page.locator("nav a[href='/audit/transitions']"))
    page.locator("#field-case_ref").fill(ref)
    person.submit(_button(person, "main form[action='/audit/transitions'] button[type=submit]", "Show"))
    assert f"case_ref={ref}" in page.url
    rows = page.locator("main table tbody tr")
    assert rows.count() == len(PATH)
    assert set(rows.locator("td:nth-child(3)").all_inner_texts()) == {ref}

    person.submit(page.locator("nav a[href='/audit/access']"))
    page.locator("#field-case_ref").fill(ref)
    person.submit(_button(person, "main form[action='/audit/access'] button[type=submit]", "Show"))
    assert page.locator("main table tbody tr").count() >= 4  # intake, decider twice, caseworker opened it


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.usefixtures("flowchart_v2")
def test_a_concern_walks_to_a_closed_case_through_accessible_pages(visitor, db, keys, accounts_by_role, lang):
    LogSigner.create(keys.folder, "test.example/vidoro")  # as `vidoro init` makes: the auditor can verify
    reporter = visitor("reporter-1", lang)
    ref = _register_concern(reporter)

    intake = visitor("intake-1", lang)
    _open_case(intake, ref)
    _state_is(intake, "registered")
    _fire(intake, ref, "start_pre_assessment", "registered")

    decider = visitor("decider-1", lang)
    _open_case(decider, ref)
    _record_consent(decider, ref)
    _fire(decider, ref, "open_investigation", "pre_assessment", empty_first=True, fill=lambda page: (
        page.locator("#field-reason").fill("Repeated violent content shown at work; the person asks for support."),
        page.locator("#field-legal_basis").select_option("sol_11_1")))
    _assign(decider, ref)

    caseworker = visitor("caseworker-1", lang)
    _open_case(caseworker, ref)
    _fire(caseworker, ref, "request_consent", "investigation",
          fill=lambda page: page.locator("#field-proposed_intervention").select_option("other_support"))
    _fire(caseworker, ref, "start_other_support", "awaiting_consent",
          fill=lambda page: page.locator("#field-reason").fill("Weekly talks with a counsellor, as agreed."))
    _fire(caseworker, ref, "start_follow_up", "other_support")

    decider.go(f"/cases/{ref}")
    _fire(decider, ref, "close_case", "follow_up", fill=lambda page: (
        page.locator("#field-reason").fill("The talks are finished and the person no longer needs support."),
        page.locator("#field-outcome").select_option("completed")))
    outline = case_outline(db, accounts_by_role["decider"], ref)
    assert [stay.state for stay in outline.stays] == PATH

    reporter.go("/concerns")  # the feedback the law allows: an adult's concern, so "received" only
    row = reporter.page.locator("main table tbody tr").filter(has=reporter.page.locator(f"a[href='/concerns/{ref}']"))
    assert row.count() == 1
    if lang == "en":
        assert "Received" in row.inner_text() and "Investigation opened" not in row.inner_text()

    coordinator = visitor("coordinator-1", lang)  # the de-identified overview is the coordinator's start page
    assert coordinator.page.url == f"{coordinator.base}/overview"

    auditor = visitor("auditor-1", lang)
    _audit(auditor, ref)

    admin = visitor("admin-1", lang)
    assert admin.page.url == f"{admin.base}/admin/users"
    usernames = admin.page.locator("main table tbody th").all_inner_texts()
    assert {f"{role}-1" for role in STAFF_ROLES} <= set(usernames)

    people = (reporter, intake, decider, caseworker, coordinator, auditor, admin)
    assert sum(len(person.checked) for person in people) >= 36  # every page seen, checked by axe
