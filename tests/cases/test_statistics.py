"""The coordinator's local picture on both databases: counts only, small cells hidden, nothing decrypted."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cases import ConcernForm, NotPermitted, register_concern
from cases.crypto.identity import generate_identity_number
from cases.crypto.vault import CaseKey, Vault
from cases.reports.demo import PATHS, drive
from cases.reports.statistics import EARLIER, MIN_CELL, Cell, local_picture, suppress
from tests.conftest import NOW, ROLES
from workflow import Actor

TODAY = NOW.date()


def register(db, staff, *, born: date, org: str, received, serial: int, steps=()):
    number = generate_identity_number(born, serial)
    ref = register_concern(db, staff["reporter"], ConcernForm(
        concern="Oro för en person.", reporter_org=org, identity_number=number, given_name="Ulla",
        ), now=received).ref
    drive(db, staff, ref, list(steps), received)
    return ref, number


def cells(table) -> dict[str, int | None]:
    return {cell.key: cell.count for cell in table}


@pytest.mark.parametrize(("counts", "expected"), [
    ({"a": 7, "b": 9}, {"a": 7, "b": 9}),
    ({"a": 4, "b": 9, "c": 12}, {"a": None, "b": None, "c": 12}),  # one hidden cell is paired with the smallest
    ({"a": 0, "b": 9, "c": 12}, {"a": None, "b": 9, "c": 12}),  # a lone hidden cell is 0: it names nobody
    ({"a": 0, "b": 3, "c": 12}, {"a": None, "b": None, "c": 12}),  # 0 and 3 hidden: which is which is unknown
    ({"a": 1, "b": 2, "c": 12}, {"a": None, "b": None, "c": 12}),
    ({"a": 5, "b": 5}, {"a": 5, "b": 5}),
    ({"a": 3}, {"a": None}),
    ({"a": 3, "b": 40}, {"a": None, "b": None}),
    ({}, {}),
])
def test_small_cells_are_hidden_and_no_single_hidden_cell_can_be_worked_out(counts, expected):
    assert suppress(counts) == expected


def test_the_picture_counts_by_month_organisation_state_and_age_and_hides_small_cells(db, staff):
    for i in range(6):  # adults from school, this month
        register(db, staff, born=date(1990, 1, 1), org="school", received=NOW - timedelta(hours=i + 1), serial=100 + i)
    for i in range(2):  # children from leisure, last month
        register(db, staff, born=date(2012, 5, 17), org="leisure", received=NOW - timedelta(days=31, hours=i),
                 serial=200 + i)
    register(db, staff, born=date(1980, 1, 1), org="social_services", received=NOW - timedelta(days=430), serial=300)
    picture = local_picture(db, staff["coordinator"], today=TODAY)
    assert picture.total == 9
    months = cells(picture.by_month)
    assert list(months) == [f"{y}-{m:02d}" for y, m in [(2025, 12), *((2026, m) for m in range(1, 12))]] + [EARLIER]
    assert months["2026-11"] == 6 and months["2026-10"] is None and months[EARLIER] is None
    assert cells(picture.by_reporter_org) == {"school": 6, "preschool": None, "leisure": None,
                                              "social_services": None, "other_city": None, "police": None,
                                              "healthcare": None, "relative": None, "public": None,
                                              "own_application": None, "police_exit_programme": None}
    # every source, in the vocabulary's order: the police's exit programme's referrals are concerns as well
    assert cells(picture.by_state)["registered"] == 9
    assert cells(picture.by_age_band) == {"child": None, "adult": None}  # 2 children: adults hidden too


def test_cells_of_five_or_more_are_shown_and_the_age_band_needs_no_birth_date(db, staff, monkeypatch):
    for i in range(5):
        register(db, staff, born=date(2012, 5, 17), org="school", received=NOW - timedelta(days=40), serial=10 + i,
                 steps=PATHS["protection_assessment"][1])
    for i in range(6):
        register(db, staff, born=date(2001, 3, 2), org="leisure", received=NOW - timedelta(days=40), serial=20 + i,
                 steps=PATHS["pre_assessment"][1])

    def refuse(*args, **kwargs):
        raise AssertionError("the local picture must not open any sealed field")

    for name in ("open", "open_json"):
        monkeypatch.setattr(CaseKey, name, refuse)
    monkeypatch.setattr(Vault, "case_key", refuse)
    picture = local_picture(db, staff["coordinator"], today=TODAY)
    assert cells(picture.by_age_band) == {"child": 5, "adult": 6}
    assert cells(picture.by_reporter_org)["school"] == 5 and cells(picture.by_reporter_org)["leisure"] == 6
    states = cells(picture.by_state)
    assert (states["protection_assessment"], states["pre_assessment"], states["registered"]) == (5, 6, None)
    assert cells(picture.by_month)["2026-10"] == 11


def test_an_erased_case_is_still_counted_by_its_state_and_age(db, staff):
    for i in range(5):
        register(db, staff, born=date(2001, 3, 2), org="school", received=NOW - timedelta(days=366 * 5 + 60),
                 serial=30 + i, steps=PATHS["erased"][1])
    picture = local_picture(db, staff["coordinator"], today=TODAY)
    assert cells(picture.by_state)["erased"] == 5
    assert cells(picture.by_age_band) == {"child": None, "adult": 5}


def test_the_picture_names_no_case_person_or_number(db, staff):
    made = [register(db, staff, born=date(2001, 3, 2), org="school", received=NOW - timedelta(days=1), serial=40 + i)
            for i in range(6)]
    picture = local_picture(db, staff["coordinator"], today=TODAY)
    text = repr(picture)
    for ref, number in made:
        assert ref not in text and number not in text and number[:8] not in text
    assert "Ulla" not in text
    assert all(isinstance(cell, Cell) for cell in picture.by_state)


def test_only_a_coordinator_sees_the_picture(db, staff):
    assert local_picture(db, staff["coordinator"], today=TODAY).total is None  # nothing yet: fewer than 5
    for role in ROLES:
        if role != "coordinator":
            with pytest.raises(NotPermitted):
                local_picture(db, staff[role], today=TODAY)
    with pytest.raises(NotPermitted):
        local_picture(db, Actor(staff["reporter"].id, "coordinator"), today=TODAY)
    assert MIN_CELL == 5
