"""A new concern about the same person is a new case linked to the earlier one, on both databases.

A closed case is not reopened; the new concern gets its own protection assessment and pre-assessment and a
link to the earlier case (LAW.md, the rules found missing; flowchart version 2). That two cases are about one
person is itself about the person: the link is shown only to staff with a ground on both cases, never to a
reporter, and showing it is logged in the access log.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from cases import ConcernForm, fire_trigger, register_concern
from cases.crypto.identity import generate_identity_number
from cases.errors import AccessDenied
from cases.links import linked_cases
from cases.models import AccessLogEntry, CaseLink
from cases.reports.demo import PATHS, drive
from tests.conftest import NOW

NUMBER = generate_identity_number(date(2001, 3, 2), 417)


def _register(db, staff, number: str | None, start, *, by="reporter") -> str:
    person = {"identity_number": number} if number else {"birth_date": date(2001, 3, 2)}
    form = ConcernForm(concern="Personen har slutat komma till skolan.", reporter_org="school",
                       given_name="Test", family_name="Testsson", **person)
    return register_concern(db, staff[by], form, now=start).ref


def _closed_then_new(db, staff, number: str = NUMBER) -> tuple[str, str]:
    earlier = _register(db, staff, number, NOW)
    last = drive(db, staff, earlier, list(PATHS["pre_assessment"][1]), NOW)
    fire_trigger(db, staff["decider"], earlier, "close_without_investigation",
                 {"reason": "Ej aktuellt.", "outcome": "not_opened"}, now=last + timedelta(days=1))
    return earlier, _register(db, staff, number, NOW + timedelta(days=40))


def _link_reads(db) -> list[dict]:
    with db.read() as session:
        rows = session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq))
        return [json.loads(row.entry) for row in rows if b"case_links" in row.entry]


def test_a_new_concern_about_the_same_person_links_to_the_earlier_case(db, staff):
    earlier, new = _closed_then_new(db, staff)
    (link,) = linked_cases(db, staff["decider"], new, now=NOW + timedelta(days=41))
    assert (link.ref, link.relation, link.state) == (earlier, "earlier", "closed")
    (back,) = linked_cases(db, staff["decider"], earlier, now=NOW + timedelta(days=41))
    assert (back.ref, back.relation, back.state) == (new, "later", "registered")


def test_a_concern_about_someone_else_or_without_a_number_is_not_linked(db, staff):
    _closed_then_new(db, staff)
    other = _register(db, staff, generate_identity_number(date(2001, 3, 2), 418), NOW + timedelta(days=40))
    unnumbered = _register(db, staff, None, NOW + timedelta(days=40))
    assert linked_cases(db, staff["decider"], other) == ()
    assert linked_cases(db, staff["decider"], unnumbered) == ()
    with db.read() as session:
        assert len(session.scalars(select(CaseLink)).all()) == 1


def test_the_link_is_shown_only_with_a_ground_on_both_cases(db, staff):
    """Intake has a ground on the new case in intake but not on the earlier, closed one: no link shown."""
    earlier, new = _closed_then_new(db, staff)
    assert linked_cases(db, staff["intake"], new) == ()
    with pytest.raises(AccessDenied):
        linked_cases(db, staff["intake"], earlier)
    with pytest.raises(AccessDenied):  # no assignment: no ground on either case
        linked_cases(db, staff["caseworker"], new)


@pytest.mark.parametrize("role", ["reporter", "coordinator", "partner", "auditor", "admin"])
def test_the_link_never_reaches_anyone_without_a_ground(db, staff, role):
    _, new = _closed_then_new(db, staff)
    with pytest.raises(AccessDenied):
        linked_cases(db, staff[role], new)


def test_showing_a_link_is_logged_as_a_read_and_showing_none_is_not(db, staff):
    earlier, new = _closed_then_new(db, staff)
    before = len(_link_reads(db))
    linked_cases(db, staff["intake"], new)  # nothing shown: nothing logged
    assert len(_link_reads(db)) == before
    linked_cases(db, staff["decider"], new)
    (entry,) = _link_reads(db)[before:]
    assert (entry["case"], entry["action"], entry["ground"], entry["fields"]) == (new, "read", "role",
                                                                                      ["case_links"])
    assert earlier not in json.dumps(entry)  # the entry names the case read, not the one it is linked to
