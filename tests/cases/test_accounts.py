"""Sign-in, rate limiting and sessions (cases/staff/accounts.py), on both databases."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select, text

from cases.errors import InvalidPassword, SignInRefused, SignInThrottled
from cases.models import SignInAttempt, WebSession
from cases.staff import accounts
from cases.staff.accounts import open_session, sign_in, start_session
from cases.staff.members import add_staff, disable_staff, enable_staff, set_role
from tests.conftest import NOW

accounts.use_cheap_hashing_for_tests()
PASSWORD = "a long enough passphrase"  # noqa: S105 - a test password
IDLE, MAX = timedelta(minutes=30), timedelta(hours=10)


@pytest.fixture
def intake(db, staff):
    accounts.set_password(db, "intake-1", PASSWORD)
    return staff["intake"]


def attempts(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(SignInAttempt))


def test_the_right_password_signs_in_and_the_hash_is_argon2id(db, intake):
    account = sign_in(db, "intake-1", PASSWORD, "10.0.0.1", now=NOW).account
    assert (account.id, account.role, account.username) == (intake.id, "intake", "intake-1")
    assert account.actor == intake
    from cases.models import Staff

    with db.read() as session:
        stored = session.get(Staff, intake.id).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize("username", ["intake-1", "nobody", "INTAKE-1 "])
def test_wrong_or_unknown_gives_one_answer(db, intake, username):
    password = PASSWORD if username != "intake-1" else "wrong password here"
    if username == "INTAKE-1 ":
        signed_in = sign_in(db, username, PASSWORD, "10.0.0.1", now=NOW)
        assert signed_in.account.username == "intake-1"  # names are normalised
        return
    with pytest.raises(SignInRefused) as caught:
        sign_in(db, username, password, "10.0.0.1", now=NOW)
    assert caught.value.message == "wrong username or password"


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(db, intake):
    token = start_session(db, sign_in(db, "intake-1", PASSWORD, "10.0.0.1", now=NOW).account, now=NOW)
    assert open_session(db, token, idle=IDLE, absolute=MAX, now=NOW) is not None
    disable_staff(db, "intake-1", by=None)
    assert open_session(db, token, idle=IDLE, absolute=MAX, now=NOW) is None
    with pytest.raises(SignInRefused):
        sign_in(db, "intake-1", PASSWORD, "10.0.0.1", now=NOW)
    enable_staff(db, "intake-1", by=None)
    assert sign_in(db, "intake-1", PASSWORD, "10.0.0.1", now=NOW).account.id == intake.id


def test_a_role_change_ends_every_session(db, intake):
    account = sign_in(db, "intake-1", PASSWORD, "10.0.0.1", now=NOW).account
    tokens = [start_session(db, account, now=NOW) for _ in range(3)]
    set_role(db, "intake-1", "caseworker", by=None)
    assert all(open_session(db, t, idle=IDLE, absolute=MAX, now=NOW) is None for t in tokens)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0


def test_only_an_administrator_manages_accounts(db, staff, intake):
    with pytest.raises(Exception, match="may not manage accounts"):
        disable_staff(db, "intake-1", by=staff["decider"])
    disable_staff(db, "intake-1", by=staff["admin"])
    with pytest.raises(Exception, match="own account"):
        disable_staff(db, "admin-1", by=staff["admin"])


def test_sessions_end_after_idle_time_and_after_the_absolute_time(db, intake):
    account = sign_in(db, "intake-1", PASSWORD, "10.0.0.1", now=NOW).account
    token = start_session(db, account, now=NOW)
    later = NOW
    for _ in range(30):  # active every 25 minutes: the idle limit never hits, the absolute one does
        later += timedelta(minutes=25)
        alive = open_session(db, token, idle=IDLE, absolute=MAX, now=later)
        if later - NOW > MAX:
            assert alive is None
            break
        assert alive is not None, later - NOW
    idle_token = start_session(db, account, now=NOW)
    assert open_session(db, idle_token, idle=IDLE, absolute=MAX, now=NOW + IDLE + timedelta(seconds=1)) is None
    assert open_session(db, "not-a-token", idle=IDLE, absolute=MAX, now=NOW) is None


def test_the_session_table_holds_no_usable_token(db, intake):
    token = start_session(db, sign_in(db, "intake-1", PASSWORD, "10.0.0.1", now=NOW).account, now=NOW)
    with db.read() as session:
        stored = session.scalars(select(WebSession.id)).all()
    assert token not in stored and len(stored) == 1 and len(stored[0]) == 64


@pytest.mark.parametrize(("password", "problem"), [
    ("short", "at least 12"), ("aaaaaaaaaaaaaaaa", "too simple"), ("x" * 1025, "at most")])
def test_weak_passwords_are_refused(db, staff, password, problem):
    with pytest.raises(InvalidPassword, match=problem):
        accounts.set_password(db, "intake-1", password)


# --- rate limiting ------------------------------------------------------------------------------------


def fail(db, username: str, address: str, at) -> None:
    with pytest.raises(SignInRefused):
        sign_in(db, username, "wrong password here", address, now=at)


def test_one_account_from_one_address_backs_off_exponentially(db, intake):
    at = NOW
    for _ in range(5):
        fail(db, "intake-1", "10.0.0.9", at)
        at += timedelta(seconds=1)
    with pytest.raises(SignInThrottled) as caught:  # the 6th within a second of the 5th: wait 1 s
        sign_in(db, "intake-1", PASSWORD, "10.0.0.9", now=at - timedelta(milliseconds=500))
    assert caught.value.retry_after >= 1
    before = attempts(db)
    waits = []
    for _ in range(6):
        try:
            sign_in(db, "intake-1", "wrong password here", "10.0.0.9", now=at)
        except SignInThrottled as exc:
            waits.append(exc.retry_after)
            at += timedelta(seconds=exc.retry_after)
        except SignInRefused:
            pass
    assert waits == sorted(waits) and waits[-1] > waits[0], waits  # each wait longer than the one before
    assert attempts(db) > before
    while True:  # one more failure, once allowed
        try:
            fail(db, "intake-1", "10.0.0.9", at)
            break
        except SignInThrottled as exc:
            at += timedelta(seconds=exc.retry_after)
    # The right password from the same address is also held back while throttled, and works after.
    with pytest.raises(SignInThrottled) as again:
        sign_in(db, "intake-1", PASSWORD, "10.0.0.9", now=at)
    at += timedelta(seconds=again.value.retry_after)
    assert sign_in(db, "intake-1", PASSWORD, "10.0.0.9", now=at).account.username == "intake-1"


def test_an_attacker_elsewhere_cannot_lock_the_person_out(db, intake):
    # The person signed in from their usual address before.
    sign_in(db, "intake-1", PASSWORD, "10.1.1.1", now=NOW - timedelta(days=1))
    at = NOW
    for n in range(20):  # 20 failures from 20 addresses: the account is under attack
        fail(db, "intake-1", f"192.0.2.{n}", at)
    with pytest.raises(SignInThrottled):  # a new address is slowed down
        sign_in(db, "intake-1", PASSWORD, "198.51.100.7", now=at)
    usual = sign_in(db, "intake-1", PASSWORD, "10.1.1.1", now=at)  # the usual one is not
    assert usual.account.username == "intake-1"


def test_one_address_guessing_many_accounts_is_slowed(db, intake):
    at = NOW
    for n in range(100):
        fail(db, f"someone-{n}", "203.0.113.5", at)
    with pytest.raises(SignInThrottled):
        sign_in(db, "intake-1", PASSWORD, "203.0.113.5", now=at)
    assert sign_in(db, "intake-1", PASSWORD, "10.0.0.2", now=at).account.username == "intake-1"
    later = sign_in(db, "intake-1", PASSWORD, "203.0.113.5", now=at + timedelta(minutes=16))
    assert later.account.username == "intake-1"


# --- device cookies -----------------------------------------------------------------------------------

OFFICE = "198.51.100.20"  # one address for a whole office (NAT): staff and an attacker behind it


def block(db, address: str, at) -> None:
    """What one attacker does to a shared address: 100 failures with made-up names."""
    for n in range(accounts.ADDRESS_FAILURES):
        fail(db, f"made-up-{n}", address, at)


def test_a_device_cookie_lets_the_person_in_while_others_block_their_address(db, intake):
    device = sign_in(db, "intake-1", PASSWORD, OFFICE, now=NOW - timedelta(days=1)).device_token
    at = NOW
    block(db, OFFICE, at)
    with pytest.raises(SignInThrottled):  # without the cookie the address's limit still holds
        sign_in(db, "intake-1", PASSWORD, OFFICE, now=at)
    signed_in = sign_in(db, "intake-1", PASSWORD, OFFICE, device=device, now=at)  # with it: at once
    assert signed_in.account.id == intake.id
    assert signed_in.device_token != device  # each sign-in gives the browser a new one
    # Nor do guesses at this very account, from one address and from many, hold the cookie back.
    for n in range(accounts.ACCOUNT_FAILURES):
        fail(db, "intake-1", "203.0.113.9" if n < accounts.PAIR_FREE_FAILURES else f"192.0.2.{n}", at)
    with pytest.raises(SignInThrottled):
        sign_in(db, "intake-1", PASSWORD, "203.0.113.9", now=at)
    for address in (OFFICE, "203.0.113.9"):
        assert sign_in(db, "intake-1", PASSWORD, address, device=signed_in.device_token, now=at).account.id == intake.id


def test_a_device_cookie_of_another_name_or_altered_or_too_old_does_not_help(db, intake, staff):
    accounts.set_password(db, "decider-1", PASSWORD)
    theirs = sign_in(db, "decider-1", PASSWORD, OFFICE, now=NOW - timedelta(days=1)).device_token
    mine = sign_in(db, "intake-1", PASSWORD, OFFICE, now=NOW - timedelta(days=1)).device_token
    nonce, made, mac = mine.split(".")
    other = {"A": "B"}.get(nonce[-1], "A"), {"0": "1"}.get(mac[-1], "0")  # a last character that differs
    altered = [f"{nonce}.{int(made) + 1}.{mac}", f"{nonce[:-1]}{other[0]}.{made}.{mac}",
               f"{nonce}.{made}.{mac[:-1]}{other[1]}", f"{nonce}.{made}", f"{nonce}.{made}.{mac[:-1]}é", "", "..",
               "x" * 500]
    at = NOW
    block(db, OFFICE, at)
    for device in [theirs, *altered]:
        with pytest.raises(SignInThrottled):
            sign_in(db, "intake-1", PASSWORD, OFFICE, device=device, now=at)
    too_old = at + accounts.DEVICE_LIFETIME
    block(db, OFFICE, too_old)
    with pytest.raises(SignInThrottled):
        sign_in(db, "intake-1", PASSWORD, OFFICE, device=mine, now=too_old)
    assert sign_in(db, "intake-1", PASSWORD, OFFICE, device=mine, now=at).account.id == intake.id


def test_failures_with_a_device_cookie_beyond_its_limit_end_its_trust(db, intake):
    stolen = sign_in(db, "intake-1", PASSWORD, "10.0.0.1", now=NOW - timedelta(days=1)).device_token
    at = NOW
    block(db, OFFICE, at)
    for _ in range(accounts.DEVICE_FAILURES):  # each guess is checked: the cookie is trusted until the limit
        with pytest.raises(SignInRefused):
            sign_in(db, "intake-1", "wrong password here", OFFICE, device=stolen, now=at)
    with pytest.raises(SignInThrottled):  # now it is worth nothing: the address's limit holds again
        sign_in(db, "intake-1", PASSWORD, OFFICE, device=stolen, now=at)
    with pytest.raises(SignInThrottled):
        sign_in(db, "intake-1", "wrong password here", OFFICE, device=stolen, now=at)
    fresh = sign_in(db, "intake-1", PASSWORD, "10.0.0.1", now=at).device_token  # a new sign-in, a new cookie
    assert sign_in(db, "intake-1", PASSWORD, OFFICE, device=fresh, now=at).account.id == intake.id


# --- the check and the count are one step --------------------------------------------------------------


class CountingHasher:
    """The module's hasher, counting how many passwords reach the check (so many were guessed)."""

    def __init__(self, inner) -> None:
        self.inner, self.verified, self._lock = inner, 0, threading.Lock()

    def verify(self, hashed: str, password: str) -> bool:
        with self._lock:
            self.verified += 1
        return self.inner.verify(hashed, password)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def test_parallel_wrong_passwords_get_no_more_checks_than_the_limit(db, intake, monkeypatch):
    hasher = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    start = threading.Barrier(32)

    def guess(n: int) -> str:
        start.wait()
        try:
            sign_in(db, "intake-1", f"wrong password {n}", "10.0.0.9", now=NOW)
        except SignInRefused:
            return "refused"
        except SignInThrottled:
            return "throttled"
        return "signed in"

    with ThreadPoolExecutor(32) as pool:
        outcomes = list(pool.map(guess, range(32)))
    assert outcomes.count("refused") == accounts.PAIR_FREE_FAILURES, outcomes
    assert outcomes.count("throttled") == 32 - accounts.PAIR_FREE_FAILURES
    assert hasher.verified == accounts.PAIR_FREE_FAILURES  # the others were refused before their check


@pytest.mark.parametrize("username", ["intake-1", "nobody", "disabled-1"])
def test_every_refused_name_costs_one_password_check(db, intake, monkeypatch, username):
    """Known, unknown or disabled: the same work (one Argon2id check), so the time tells nothing."""
    if username == "disabled-1":
        add_staff(db, username, "Disabled", "intake")
        accounts.set_password(db, username, PASSWORD)
        disable_staff(db, username, by=None)
    hasher = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    with pytest.raises(SignInRefused):
        sign_in(db, username, PASSWORD if username == "disabled-1" else "wrong password here", "10.0.0.1", now=NOW)
    assert hasher.verified == 1


# --- what an attempt keeps ----------------------------------------------------------------------------


def every_value(db) -> str:
    """Every value in every table, as text, to search for what must not be there."""
    out = []
    with db.engine.connect() as connection:
        for name in inspect(connection).get_table_names():
            for row in connection.execute(text(f"SELECT * FROM {name}")):
                out += [v.hex() if isinstance(v, bytes) else str(v) for v in row]
    return "\n".join(out)


def test_a_password_typed_as_the_user_name_is_not_kept(db, intake):
    typed = "my secret passphrase typed in the wrong box"
    with pytest.raises(SignInRefused):
        sign_in(db, typed, "", "10.0.0.1", now=NOW)
    with pytest.raises(SignInRefused):
        sign_in(db, "intake-1", "wrong password here", "10.0.0.1", now=NOW)
    assert attempts(db) == 2  # both were recorded, for the rate limits
    stored = every_value(db).lower()
    assert typed not in stored and typed[:20] not in stored
    assert "intake-1" in stored  # the search sees names: the account's own, in the staff table
    with db.read() as session:
        assert "intake-1" not in " ".join(str(v) for row in session.execute(select(SignInAttempt)).all() for v in row)
