"""The notification kinds as policy: the contract's kinds are there with words in both languages, and a mail's
template can hold only the count, the case's pseudonym and a link (refused when read, and when rendered)."""

from __future__ import annotations

import pytest

from policies.errors import PolicyError
from policies.routines.notifications import MAIL_FIELDS, load_notifications, parse_notifications, render

CONTRACT = {"deadline_reminder", "deadline_passed", "acute_concern", "referral_packet", "consent_withdrawn"}
GOOD_MAIL = ('[mail]\nmax_attempts = 3\nlease_seconds = 60\nretry_seconds = 60\nbatch = 5\ntimeout_seconds = 12\n'
             'path = "/notifications"\n')


def _kind(subject: str, body: str = "{link}") -> str:
    return (GOOD_MAIL + '[kinds.k]\nlabel = { sv = "K", en = "K" }\n'
            f'subject = {{ sv = "{subject}", en = "{subject}" }}\nbody = {{ sv = "{body}", en = "{body}" }}\n')


def test_the_contracts_kinds_are_there_in_both_languages():
    kinds = load_notifications()
    assert {k.code for k in kinds} >= CONTRACT
    for kind in kinds:
        for label in (kind.label, kind.subject, kind.body):
            assert label.sv.strip() and label.en.strip() and label.sv != label.en


def test_a_good_template_parses():
    assert "k" in parse_notifications(_kind("{case_ref}: {count}"), source="t")


@pytest.mark.parametrize("subject", ["{name}", "{case_ref.__class__}", "{count[0]}", "{case_ref!r}",
                                     "{count:>99}", "{identity_number}", "{concern}", "{", "{0}", "{}"])
def test_a_template_with_anything_else_is_refused(subject):
    with pytest.raises(PolicyError):
        parse_notifications(_kind(subject), source="t")


def test_a_lease_shorter_than_a_batch_of_slow_mails_is_refused():
    """Five mails of up to 13 seconds each outlast a lease of 60: another worker would send them again."""
    short = _kind("{link}").replace("timeout_seconds = 12", "timeout_seconds = 13")
    with pytest.raises(PolicyError, match="lease_seconds must be at least batch × timeout_seconds"):
        parse_notifications(short, source="t")
    rules = load_notifications().mail
    assert rules.lease_seconds >= rules.batch * rules.timeout_seconds


def test_render_takes_only_a_pseudonym_a_count_and_an_address():
    assert {"count", "case_ref", "link"} == MAIL_FIELDS
    link = "https://vidoro.example/notifications"
    assert render("{case_ref} {count} {link}", count=3, case_ref="VO-ABCDEFGH", link=link) == f"VO-ABCDEFGH 3 {link}"
    with pytest.raises(ValueError):
        render("{case_ref}", count=1, case_ref="19121212-1212", link=link)
    with pytest.raises(ValueError):
        render("{link}", count=1, case_ref=None, link="https://x.example/n?name=Anna")
    with pytest.raises(PolicyError):
        render("{name}", count=1, case_ref=None, link=link)
