"""policies/routines/retention.toml: the research sample's days, who holds, how long sign-in attempts, notifications
and finished mails are kept; a broken file is refused naming what is wrong."""

from __future__ import annotations

import tomllib
from datetime import date

import pytest

from policies.errors import PolicyError
from policies.law import load_law
from policies.routines.retention import DEFAULT_RETENTION_PATH, load_retention, parse_retention


def raw() -> dict:
    with DEFAULT_RETENTION_PATH.open("rb") as f:
        return tomllib.load(f)


def test_the_shipped_file():
    policy = load_retention()
    assert policy.birth_days == {5, 15, 25} and not policy.whole_municipality
    assert policy.place_roles == policy.lift_roles == {"decider"}
    assert policy.sign_in_attempts_days == 30
    assert policy.read_notifications_days == 90 and policy.unread_notifications_days == 365
    assert policy.finished_mail_days == 30
    assert not load_law()[policy.sample_law].numbered  # its number in 2025:468 is not verified: cited in words
    assert policy.in_sample(date(2001, 2, 15)) and not policy.in_sample(date(2001, 2, 16))
    assert not policy.in_sample(None)


@pytest.mark.parametrize(("table", "key", "value"), [
    ("research_sample", "birth_days", [0]),
    ("research_sample", "birth_days", "5"),
    ("research_sample", "whole_municipality", "yes"),
    ("research_sample", "law", "sol_99_1"),
    ("legal_holds", "place_roles", []),
    ("legal_holds", "lift_roles", ["system"]),
    ("purges", "sign_in_attempts_days", 0),
    ("purges", "read_notifications_days", 0),
    ("purges", "unread_notifications_days", "365"),
    ("purges", "finished_mail_days", True),
    ("purges", "finished_mail_days", None),
])
def test_a_broken_file_is_refused(table, key, value):
    data = raw()
    data[table][key] = value
    with pytest.raises(PolicyError, match=key):
        parse_retention(data)


def test_a_missing_table_is_refused():
    data = raw()
    del data["legal_holds"]
    with pytest.raises(PolicyError, match="legal_holds"):
        parse_retention(data)
