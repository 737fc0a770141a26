"""Personal API tokens (cases/staff/tokens.py), on both databases: a token acts as its owner in the owner's current
role, is kept only as a hash, and every reason to refuse one gives the same answer."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from cases import InvalidConcern, NotPermitted
from cases.errors import RecordNotFound, TokenRefused
from cases.models import ApiToken, Staff
from cases.staff import accounts
from cases.staff.members import disable_staff, enable_staff, set_role
from cases.staff.ratelimit import RECHECK_FAILURES, RECHECK_WINDOW_SECONDS
from cases.staff.tokens import MAX_ACTIVE, PREFIX, authenticate_token, create_token, list_tokens, revoke_token
from tests.conftest import NOW, ROLES
from workflow import Actor

PASSWORD = "correct horse battery staple"  # noqa: S105 - a test password
NEW_PASSWORD = "a brand new password"  # noqa: S105 - a test password
accounts.use_cheap_hashing_for_tests()


@pytest.fixture(autouse=True)
def passwords(db, staff):
    """Every account of the `staff` fixture has PASSWORD: making a token asks for it."""
    for role in ROLES:
        accounts.set_password(db, f"{role}-1", PASSWORD)


def refusal(db, secret: str, now=NOW) -> tuple[str, str]:
    with pytest.raises(TokenRefused) as caught:
        authenticate_token(db, secret, now=now)
    return caught.value.text("en"), caught.value.text("sv")


def test_a_new_token_authenticates_as_its_owner_in_the_owners_role(db, staff):
    made = create_token(db, staff["caseworker"], "  my script  ", password=PASSWORD, now=NOW)
    assert made.secret.startswith(PREFIX) and made.name == "my script"
    assert made.expires_at == NOW + timedelta(days=90)
    account = authenticate_token(db, made.secret, now=NOW + timedelta(days=89))
    assert (account.id, account.username, account.role) == (staff["caseworker"].id, "caseworker-1", "caseworker")
    assert account.actor == staff["caseworker"]


def test_the_secret_is_stored_nowhere_only_its_hash(db, staff):
    made = create_token(db, staff["decider"], "ci", password=PASSWORD, now=NOW)
    with db.read() as session:
        rows = session.execute(select(ApiToken.__table__)).all()
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0])
    assert made.secret not in stored and made.secret[len(PREFIX):] not in stored
    assert made.secret[len(PREFIX):][:16] not in stored  # not even a part of it
    assert rows[0]._mapping["secret_hash"] == hashlib.sha256(made.secret.encode()).hexdigest()


def test_the_repr_hides_the_secret(db, staff):
    made = create_token(db, staff["intake"], "repr", password=PASSWORD, now=NOW)
    assert made.secret not in repr(made) and made.secret not in str(made)
    assert "repr" in repr(made)


def _expired(db, staff, secret):
    return refusal(db, secret, now=NOW + timedelta(days=7))


def _revoked(db, staff, secret):
    revoke_token(db, staff["intake"], list_tokens(db, staff["intake"])[0].id, now=NOW)
    return refusal(db, secret)


def _disabled(db, staff, secret):
    disable_staff(db, "intake-1", by=staff["admin"])
    return refusal(db, secret)


def _disabled_then_enabled(db, staff, secret):
    disable_staff(db, "intake-1", by=None)
    enable_staff(db, "intake-1", by=None)  # tokens revoked on disabling stay revoked
    return refusal(db, secret)


def _role_changed(db, staff, secret):
    set_role(db, "intake-1", "auditor", by=staff["admin"])  # the token does not carry on in the new role
    return refusal(db, secret)


def _malformed(db, staff, secret):
    return refusal(db, "xyz_" + secret[len(PREFIX):])


def _too_long(db, staff, secret):
    return refusal(db, secret + "A")


def _unknown(db, staff, secret):
    return refusal(db, secret[:-1] + ("A" if secret[-1] != "A" else "B"))


@pytest.mark.parametrize("refuse", [_expired, _revoked, _disabled, _disabled_then_enabled, _role_changed,
                                    _malformed, _too_long, _unknown])
def test_every_refusal_says_the_same_and_nothing_more(db, staff, refuse):
    made = create_token(db, staff["intake"], "one", password=PASSWORD, days=7, now=NOW - timedelta(seconds=1))
    assert authenticate_token(db, made.secret, now=NOW).role == "intake"
    assert refuse(db, staff, made.secret) == (TokenRefused().text("en"), TokenRefused().text("sv"))


def test_the_refusal_text_is_one_for_all(db, staff):
    made = create_token(db, staff["intake"], "one", password=PASSWORD, days=7, now=NOW)
    texts = {refusal(db, made.secret, now=NOW + timedelta(days=7)), refusal(db, "vdr_short"), refusal(db, ""),
             refusal(db, made.secret[:-1] + ("A" if made.secret[-1] != "A" else "B"))}
    assert texts == {(TokenRefused().text("en"), TokenRefused().text("sv"))}
    assert "intake" not in str(texts)


def test_a_malformed_token_is_refused_without_asking_the_database(db, staff, monkeypatch):
    def no_reading():
        raise AssertionError("the database was asked")

    monkeypatch.setattr(db, "read", no_reading)
    for secret in ("", "vdr_", "Bearer vdr_x", "x" * 47, PREFIX + "a" * 42, PREFIX + "a" * 44):
        with pytest.raises(TokenRefused):
            authenticate_token(db, secret, now=NOW)


def test_a_token_follows_the_owners_current_role_without_scopes_of_its_own(db, staff):
    made = create_token(db, staff["partner"], "reader", password=PASSWORD, now=NOW)
    assert (authenticate_token(db, made.secret, now=NOW).role,
            authenticate_token(db, made.secret, now=NOW).unit) == ("partner", "police")


def test_revoking_is_for_the_owner_and_twice_is_harmless(db, staff):
    made = create_token(db, staff["caseworker"], "mine", password=PASSWORD, now=NOW)
    for other in ("decider", "admin"):  # another's token is as unknown as no token: not found, not invalid
        with pytest.raises(RecordNotFound) as caught:
            revoke_token(db, staff[other], made.id, now=NOW)
        assert caught.value.kind == "token" and not isinstance(caught.value, InvalidConcern)
    assert authenticate_token(db, made.secret, now=NOW).role == "caseworker"
    with pytest.raises(RecordNotFound):
        revoke_token(db, staff["caseworker"], "00000000-0000-0000-0000-000000000000", now=NOW)
    revoke_token(db, staff["caseworker"], made.id, now=NOW)
    revoke_token(db, staff["caseworker"], made.id, now=NOW + timedelta(hours=1))
    assert list_tokens(db, staff["caseworker"])[0].revoked_at == NOW  # the first revocation stands


def test_the_list_shows_only_ones_own_tokens_newest_first(db, staff):
    create_token(db, staff["decider"], "not mine", password=PASSWORD, now=NOW)
    first = create_token(db, staff["caseworker"], "first", password=PASSWORD, now=NOW)
    second = create_token(db, staff["caseworker"], "second", password=PASSWORD, days=1, now=NOW + timedelta(minutes=1))
    listed = list_tokens(db, staff["caseworker"])
    assert [t.id for t in listed] == [second.id, first.id]
    assert [t.active(NOW + timedelta(days=2)) for t in listed] == [False, True]
    assert listed[0].expires_at == NOW + timedelta(minutes=1, days=1)
    assert [t.name for t in list_tokens(db, staff["decider"])] == ["not mine"]
    assert list_tokens(db, staff["auditor"]) == ()


@pytest.mark.parametrize(("name", "days", "field"), [
    ("", 90, "name"),
    ("   ", 90, "name"),
    ("n" * 101, 90, "name"),
    ("ok", 0, "days"),
    ("ok", -1, "days"),
    ("ok", 366, "days"),
    ("ok", "30", "days"),
    ("ok", 30.0, "days"),
    ("ok", True, "days"),
])
def test_names_and_lifetimes_out_of_bounds_are_refused_and_nothing_is_written(db, staff, name, days, field):
    with pytest.raises(InvalidConcern) as caught:
        create_token(db, staff["caseworker"], name, password=PASSWORD, days=days, now=NOW)
    assert caught.value.field == field
    assert list_tokens(db, staff["caseworker"]) == ()


def test_the_bounds_themselves_are_allowed(db, staff):
    longest = create_token(db, staff["caseworker"], "n" * 100, password=PASSWORD, days=365, now=NOW)
    assert longest.expires_at == NOW + timedelta(365)
    shortest = create_token(db, staff["caseworker"], "x", password=PASSWORD, days=1, now=NOW)
    assert shortest.expires_at == NOW + timedelta(1)


def test_at_most_twenty_active_tokens_and_revoked_or_expired_ones_do_not_count(db, staff):
    actor = staff["caseworker"]
    made = [create_token(db, actor, f"t{i}", password=PASSWORD, days=1 if i == 0 else 90, now=NOW)
            for i in range(MAX_ACTIVE)]
    with pytest.raises(InvalidConcern) as caught:
        create_token(db, actor, "one more", password=PASSWORD, now=NOW)
    assert caught.value.field == "token"
    create_token(db, staff["decider"], "someone else's", password=PASSWORD, now=NOW)  # the limit is per account
    revoke_token(db, actor, made[5].id, now=NOW)
    create_token(db, actor, "in its place", password=PASSWORD, now=NOW)
    with pytest.raises(InvalidConcern):
        create_token(db, actor, "one more", password=PASSWORD, now=NOW)
    create_token(db, actor, "after the first expired", password=PASSWORD, now=NOW + timedelta(days=1))
    assert len(list_tokens(db, actor)) == MAX_ACTIVE + 2


def test_only_active_staff_acting_in_their_own_role_hold_tokens(db, staff):
    with pytest.raises(NotPermitted):
        create_token(db, staff["system"], "job", password=PASSWORD, now=NOW)
    with pytest.raises(NotPermitted):
        list_tokens(db, staff["system"])
    disable_staff(db, "auditor-1", by=None)
    for call in (lambda: create_token(db, staff["auditor"], "x", password=PASSWORD, now=NOW),
                 lambda: list_tokens(db, staff["auditor"])):
        with pytest.raises(NotPermitted):
            call()
    with pytest.raises(NotPermitted):
        create_token(db, Actor(staff["reporter"].id, "admin"), "pretending", password=PASSWORD, now=NOW)


def test_disabling_and_changing_the_role_revoke_every_token(db, staff):
    for who, change in (("intake", lambda: disable_staff(db, "intake-1", by=None)),
                        ("decider", lambda: set_role(db, "decider-1", "caseworker", by=None))):
        made = [create_token(db, staff[who], f"t{i}", password=PASSWORD, now=NOW) for i in range(3)]
        kept = create_token(db, staff["auditor"], "bystander", password=PASSWORD, now=NOW)
        change()
        with db.read() as session:
            revoked = session.scalars(select(ApiToken.revoked_at).where(
                ApiToken.id.in_([m.id for m in made]))).all()
        assert len(revoked) == 3 and None not in revoked
        assert authenticate_token(db, kept.secret, now=NOW).role == "auditor"


def test_a_disabled_account_is_refused_even_with_a_token_left_unrevoked(db, staff):
    made = create_token(db, staff["intake"], "one", password=PASSWORD, now=NOW)
    with db.write() as session:  # as if disabled by a path that forgot the tokens
        session.get(Staff, staff["intake"].id).active = False
    assert refusal(db, made.secret) == (TokenRefused().text("en"), TokenRefused().text("sv"))


@pytest.mark.parametrize("password", ["", "wrong password here", PASSWORD + " ", None])
def test_making_a_token_asks_for_the_password_and_a_wrong_one_makes_nothing(db, staff, password):
    with pytest.raises(InvalidConcern) as caught:
        create_token(db, staff["caseworker"], "stolen session", password=password, now=NOW)
    assert caught.value.field == "password"
    assert "no token was made" in caught.value.text("en") and "ingen token skapades" in caught.value.text("sv")
    assert list_tokens(db, staff["caseworker"]) == ()


def test_an_account_without_a_password_makes_no_token(db, staff):
    with db.write() as session:
        session.get(Staff, staff["decider"].id).password_hash = None
    with pytest.raises(InvalidConcern):
        create_token(db, staff["decider"], "none", password="", now=NOW)
    assert list_tokens(db, staff["decider"]) == ()


def test_a_password_reset_revokes_every_token_of_the_account_and_no_other(db, staff):
    mine = [create_token(db, staff["caseworker"], f"t{i}", password=PASSWORD, now=NOW) for i in range(2)]
    theirs = create_token(db, staff["decider"], "bystander", password=PASSWORD, now=NOW)
    accounts.set_password(db, "caseworker-1", NEW_PASSWORD)
    for made in mine:
        refusal(db, made.secret)
    assert all(t.revoked_at is not None for t in list_tokens(db, staff["caseworker"]))
    assert authenticate_token(db, theirs.secret, now=NOW).id == staff["decider"].id
    assert create_token(db, staff["caseworker"], "after", password=NEW_PASSWORD, now=NOW)


def test_wrong_passwords_on_making_a_token_are_limited_per_account(db, staff):
    for _ in range(RECHECK_FAILURES):
        with pytest.raises(InvalidConcern):
            create_token(db, staff["caseworker"], "guess", password=NEW_PASSWORD, now=NOW)  # not theirs
    with pytest.raises(InvalidConcern) as caught:  # the right one too: it is not even checked now
        create_token(db, staff["caseworker"], "guess", password=PASSWORD, now=NOW)
    assert "too many wrong passwords" in caught.value.text("en") and "för många" in caught.value.text("sv")
    assert create_token(db, staff["decider"], "another account", password=PASSWORD, now=NOW)
    later = NOW + timedelta(seconds=RECHECK_WINDOW_SECONDS)
    assert create_token(db, staff["caseworker"], "later", password=PASSWORD, now=later)
    assert [t.name for t in list_tokens(db, staff["caseworker"])] == ["later"]
