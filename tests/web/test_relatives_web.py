"""A relative told that support exists, through the page and the API (issue 18 item 2), on both databases:
the form on the subject's case, the relative's matter named as such on the work list, links only with a
ground on both, and the API's version and Idempotency-Key rules."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from cases.crypto.identity import generate_identity_number
from cases.models import Case, TransitionLogEntry
from policies.relatives import RELATIVE_INFORMED
from tests.web.conftest import post_form
from tests.web.test_api import api, case_in, key  # noqa: F401 - `api` is a fixture

NUMBER = generate_identity_number(date(1975, 2, 3), 281)


def _version(db, ref: str) -> int:
    with db.read() as session:
        return session.scalars(select(Case.version).where(Case.ref == ref)).one()


def _relative_refs(db) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(Case.ref).where(Case.state == "opened")))


def test_the_form_opens_the_relatives_matter_and_the_work_list_names_it(app, staff, client_as):
    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "investigation")
    caseworker = client_as("caseworker")
    page = caseworker.get(f"/cases/{ref}").get_data(as_text=True)
    assert f"/cases/{ref}/relatives/new" in page
    form = caseworker.get(f"/cases/{ref}/relatives/new")
    assert form.status_code == 200 and "Anhörig informerad om stöd" in form.get_data(as_text=True)
    answer = post_form(caseworker, f"/cases/{ref}/relatives/new", {
        "version": str(_version(db, ref)), "wants_support": "yes", "relationship": "parent",
        "identity_number": NUMBER, "given_name": "Anhörig", "family_name": "Testsson", "caseworker": ""})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    (matter,) = _relative_refs(db)
    listing = caseworker.get("/cases").get_data(as_text=True)
    assert matter in listing and "Anhörigärende" in listing and "Anhörigärende öppnat" in listing
    # the caseworker is assigned to both: each page shows the other, by its relation in words
    relative_page = caseworker.get(f"/cases/{matter}").get_data(as_text=True)
    assert "Anhörigs eget ärende" in relative_page and "Ärendet där stödet erbjöds" in relative_page
    assert f'href="/cases/{ref}"' in relative_page and "Eleven har slutat" not in relative_page
    assert "Anhörigärende öppnat" in relative_page
    subject_page = caseworker.get(f"/cases/{ref}").get_data(as_text=True)
    assert f'href="/cases/{matter}"' in subject_page and "Anhörigs eget ärende" in subject_page
    assert "Testsson" not in subject_page  # nothing of the relative on the subject's case


def test_a_caseworker_of_one_case_only_sees_no_link(app, staff, client_as):
    from cases import add_staff
    from cases.staff import accounts
    from tests.web.conftest import PASSWORD

    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "investigation")
    other = add_staff(db, "caseworker-9", "Other caseworker", "caseworker")
    accounts.set_password(db, "caseworker-9", PASSWORD)
    caseworker = client_as("caseworker")
    answer = post_form(caseworker, f"/cases/{ref}/relatives/new", {
        "version": str(_version(db, ref)), "wants_support": "yes", "relationship": "partner",
        "birth_date": "1990-01-01", "given_name": "", "family_name": "", "caseworker": other.id})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    (matter,) = _relative_refs(db)
    subject_page = caseworker.get(f"/cases/{ref}").get_data(as_text=True)
    assert f'href="/cases/{matter}"' not in subject_page
    assert caseworker.get(f"/cases/{matter}").status_code in (403, 404)


def test_a_form_without_the_relative_is_refused_and_nothing_is_written(app, staff, client_as):
    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "investigation")
    caseworker = client_as("caseworker")
    answer = post_form(caseworker, f"/cases/{ref}/relatives/new", {
        "version": str(_version(db, ref)), "wants_support": "yes", "relationship": "", "identity_number": "",
        "birth_date": "", "given_name": "", "family_name": "", "caseworker": ""})
    assert answer.status_code == 400
    with db.read() as session:
        assert not session.scalars(select(TransitionLogEntry).where(
            TransitionLogEntry.trigger == RELATIVE_INFORMED)).all()


def test_roles_that_tell_no_relative_get_no_form(app, staff, client_as):
    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "investigation")
    for role, status in (("intake", 403), ("reporter", 403), ("auditor", 403)):
        assert client_as(role).get(f"/cases/{ref}/relatives/new").status_code == status, role


def test_the_api_opens_the_matter_once_per_key_and_shows_links_only_with_grounds(api, app, staff):  # noqa: F811
    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "investigation")
    body = {"expected_version": _version(db, ref), "wants_support": True, "relationship": "sibling",
            "birth_date": "1998-07-01", "given_name": "Syskon", "family_name": "Testsson"}
    once = key()
    first = api("POST", f"/cases/{ref}/relatives", "caseworker", json=body, key=once,
                operation=("/cases/{ref}/relatives", "POST"))
    assert first.status_code == 201, first.get_json()
    again = api("POST", f"/cases/{ref}/relatives", "caseworker", json=body, key=once)
    assert again.get_json() == first.get_json() and again.headers.get("Idempotency-Replayed") == "true"
    matter = first.get_json()["relative_ref"]
    assert _relative_refs(db) == [matter] and first.get_json()["state"] == "investigation"
    stale = api("POST", f"/cases/{ref}/relatives", "caseworker", json=body, key=key())
    assert stale.status_code == 409
    # the decision maker has a ground on both: the case's representation carries the link and its kind
    read = api("GET", f"/cases/{ref}", "decider", operation=("/cases/{ref}", "GET")).get_json()
    assert read["links"] == [{"ref": matter, "relation": "relative_matter", "state": "opened"}]
    back = api("GET", f"/cases/{matter}", "decider").get_json()
    assert back["links"] == [{"ref": ref, "relation": "subject_case", "state": "investigation"}]
    assert "Syskon" not in str(read) and "Testsson" not in str({**read, "person": None})


def test_the_api_refuses_a_relationship_outside_the_vocabulary(api, app, staff):  # noqa: F811
    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "investigation")
    body = {"expected_version": _version(db, ref), "wants_support": True, "relationship": "neighbour",
            "birth_date": "1998-07-01"}
    answer = api("POST", f"/cases/{ref}/relatives", "caseworker", json=body, key=key())
    assert answer.status_code == 422 and _relative_refs(db) == []


def test_the_relatives_matter_moves_on_through_the_same_endpoints(api, app, staff):  # noqa: F811
    """Consent and transitions of a relative's matter go through the endpoints every case uses: the relative's
    own consent, then the decision maker grants support (its codes are in the document's bodies)."""
    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "investigation")
    opened = api("POST", f"/cases/{ref}/relatives", "caseworker", key=key(), json={
        "expected_version": _version(db, ref), "wants_support": True, "relationship": "parent",
        "birth_date": "1970-03-04"}).get_json()
    matter = opened["relative_ref"]
    grant = {"trigger": "grant_support", "expected_version": _version(db, matter), "fields": {"reason": "Behov."}}
    refused = api("POST", f"/cases/{matter}/transitions", "decider", json=grant, key=key())
    assert refused.status_code == 422 and "consent_missing" in refused.get_data(as_text=True)
    consent = api("POST", f"/cases/{matter}/consents", "caseworker", key=key(), json={
        "expected_version": _version(db, matter), "given_by": "subject", "purposes": ["family_support"],
        "recipients": ["family_support_service"], "data_categories": ["identity", "contact"], "method": "written",
        "evidence": "Skriftligt samtycke.", "valid_from": date.today().isoformat()})
    assert consent.status_code == 201, consent.get_json()
    fired = api("POST", f"/cases/{matter}/transitions", "decider", key=key(),
                json={**grant, "expected_version": _version(db, matter)},
                operation=("/cases/{ref}/transitions", "POST"))
    assert fired.status_code == 200 and fired.get_json()["state"] == "support", fired.get_json()
    with db.read() as session:  # the subject's investigation goes on
        assert session.scalars(select(Case.state).where(Case.ref == ref)).one() == "investigation"


def test_the_form_opens_a_matter_with_a_name_and_an_approximate_age(app, staff, client_as):
    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "investigation")
    caseworker = client_as("caseworker")
    fields = {"version": str(_version(db, ref)), "wants_support": "yes", "relationship": "parent",
              "identity_number": "", "birth_date": "", "given_name": "Anhörig", "family_name": "", "caseworker": ""}
    form = caseworker.get(f"/cases/{ref}/relatives/new").get_data(as_text=True)
    assert 'name="approximate_age"' in form and "Ungefärlig ålder" in form
    bad = post_form(caseworker, f"/cases/{ref}/relatives/new", {**fields, "approximate_age": "fyrtio"})
    assert bad.status_code == 400 and "hela år" in bad.get_data(as_text=True) and _relative_refs(db) == []
    none = post_form(caseworker, f"/cases/{ref}/relatives/new", {**fields, "approximate_age": ""})
    assert none.status_code == 400 and "ungefärlig ålder" in none.get_data(as_text=True)
    answer = post_form(caseworker, f"/cases/{ref}/relatives/new", {**fields, "approximate_age": "44"})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    (matter,) = _relative_refs(db)
    page = caseworker.get(f"/cases/{matter}").get_data(as_text=True)
    assert "omkring 44 år (identiteten är inte känd ännu)" in page
    assert f"/cases/{matter}/identity" in page  # the identity can be completed from the matter's page


def test_the_api_opens_a_matter_with_an_approximate_age_and_refuses_a_bad_one(api, app, staff):  # noqa: F811
    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "investigation")
    body = {"expected_version": _version(db, ref), "wants_support": True, "relationship": "sibling",
            "given_name": "Syskon"}
    refused = api("POST", f"/cases/{ref}/relatives", "caseworker", json={**body, "approximate_age": 200}, key=key())
    assert refused.status_code == 422 and _relative_refs(db) == []
    opened = api("POST", f"/cases/{ref}/relatives", "caseworker", json={**body, "approximate_age": 19}, key=key(),
                 operation=("/cases/{ref}/relatives", "POST"))
    assert opened.status_code == 201, opened.get_json()
    assert _relative_refs(db) == [opened.get_json()["relative_ref"]]
