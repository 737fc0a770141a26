"""The page of one's own API tokens on both databases: a new secret is shown once and never again, revoking
works on one's own tokens only, and the forms need a CSRF token and a signed-in person."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from cases.errors import TokenRefused
from cases.models import ApiToken
from cases.staff.ratelimit import RECHECK_FAILURES
from cases.staff.tokens import authenticate_token, create_token, list_tokens
from tests.web.conftest import PASSWORD, csrf_token, post_form

SECRET = re.compile(r"vdr_[A-Za-z0-9_-]{43}")


def text(response) -> str:
    return response.get_data(as_text=True)


def token_count(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(ApiToken))


def test_a_new_token_is_shown_once_and_the_list_never_shows_it_again(client_as, db, staff):
    client = client_as("caseworker")
    response = post_form(client, "/account/tokens", {"name": "Mitt skript", "days": "30", "password": PASSWORD})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    shown = SECRET.findall(text(response))
    assert len(set(shown)) == 1
    secret = shown[0]
    assert "Authorization: Bearer &lt;token&gt;" in text(response)
    assert "visas inte igen" in text(response)  # Swedish by default: it will not be shown again
    assert authenticate_token(db, secret).id == staff["caseworker"].id
    later = client.get("/account/tokens")
    assert later.status_code == 200
    assert "Mitt skript" in text(later) and secret not in text(later) and not SECRET.search(text(later))
    assert [t.name for t in list_tokens(db, staff["caseworker"])] == ["Mitt skript"]


def test_the_list_shows_name_dates_and_status(client_as, db, staff):
    create_token(db, staff["decider"], "aktiv", password=PASSWORD)
    create_token(db, staff["decider"], "återkallad", password=PASSWORD)
    client = client_as("decider")
    revoked = next(t for t in list_tokens(db, staff["decider"]) if t.name == "återkallad")
    post_form(client, f"/account/tokens/{revoked.id}/revoke", {}, page="/account/tokens")
    page = text(client.get("/account/tokens"))
    assert re.search(r'<th scope="row">aktiv</th>.*?badge-ok', page, re.S)
    assert re.search(r'<th scope="row">återkallad</th>.*?badge-overdue', page, re.S)
    assert page.count(f"/account/tokens/{revoked.id}/revoke") == 0  # nothing left to revoke


@pytest.mark.parametrize(("name", "days", "field"), [
    ("", "90", "name"),
    ("  ", "90", "name"),
    ("n" * 101, "90", "name"),
    ("ok", "", "days"),
    ("ok", "0", "days"),
    ("ok", "366", "days"),
    ("ok", "-5", "days"),
    ("ok", "tio", "days"),
    ("ok", "²", "days"),
    ("ok", "99999999999999999999", "days"),
])
def test_a_refused_form_says_why_and_makes_nothing(client_as, db, name, days, field):
    response = post_form(client_as("reporter"), "/account/tokens", {"name": name, "days": days, "password": PASSWORD})
    assert response.status_code == 400
    assert f'id="error-{field}"' in text(response)
    assert not SECRET.search(text(response))
    assert token_count(db) == 0


def test_the_twenty_first_active_token_is_refused_on_the_page(client_as, db, staff):
    for i in range(20):
        create_token(db, staff["auditor"], f"t{i}", password=PASSWORD)
    form = {"name": "en till", "days": "90", "password": PASSWORD}
    response = post_form(client_as("auditor"), "/account/tokens", form)
    assert response.status_code == 400 and 'id="error-name"' in text(response) and "20" in text(response)
    assert token_count(db) == 20


def test_revoking_ones_own_token(client_as, db, staff):
    made = create_token(db, staff["intake"], "bort", password=PASSWORD)
    client = client_as("intake")
    response = post_form(client, f"/account/tokens/{made.id}/revoke", {}, page="/account/tokens")
    assert response.status_code == 303 and response.headers["Location"].endswith("/account/tokens")
    assert "återkallad" in text(client.get("/account/tokens"))  # the flash message, in Swedish
    with pytest.raises(TokenRefused):
        authenticate_token(db, made.secret)


def test_another_persons_token_cannot_be_revoked_or_seen(client_as, db, staff):
    theirs = create_token(db, staff["caseworker"], "någon annans", password=PASSWORD)
    client = client_as("decider")
    assert "någon annans" not in text(client.get("/account/tokens"))
    for token_id in (theirs.id, "00000000-0000-0000-0000-000000000000", "x" * 300):
        response = post_form(client, f"/account/tokens/{token_id}/revoke", {}, page="/account/tokens")
        assert response.status_code == 404
    assert authenticate_token(db, theirs.secret).id == staff["caseworker"].id


def test_the_forms_need_a_csrf_token(client_as, db, staff):
    made = create_token(db, staff["admin"], "kvar", password=PASSWORD)
    client = client_as("admin")
    assert client.post("/account/tokens", data={"name": "utan", "days": "90", "password": PASSWORD}).status_code == 400
    assert client.post(f"/account/tokens/{made.id}/revoke").status_code == 400
    assert [t.name for t in list_tokens(db, staff["admin"])] == ["kvar"]
    assert authenticate_token(db, made.secret).role == "admin"


def test_signed_out_visitors_are_sent_to_sign_in(app, db, accounts_by_role):
    staff = accounts_by_role
    made = create_token(db, staff["partner"], "partnerns", password=PASSWORD)
    client = app.test_client()
    response = client.get("/account/tokens")
    assert response.status_code == 302 and "/sign-in?next=/account/tokens" in response.headers["Location"]
    token = csrf_token(client.get("/sign-in"))
    form = {"name": "x", "days": "9", "password": PASSWORD, "csrf_token": token}
    assert client.post("/account/tokens", data=form).status_code == 401
    assert client.post(f"/account/tokens/{made.id}/revoke", data={"csrf_token": token}).status_code == 401
    assert token_count(db) == 1 and list_tokens(db, staff["partner"])[0].revoked_at is None


@pytest.mark.parametrize("role", ["reporter", "partner", "admin"])
def test_every_role_finds_the_page_from_the_header(client_as, role):
    client = client_as(role)
    start = client.get("/", follow_redirects=True)
    assert 'href="/account/tokens"' in text(start)


def test_the_page_in_english(client_as):
    client = client_as("coordinator")
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client.get("/account/tokens"))})
    response = post_form(client, "/account/tokens", {"name": "report job", "days": "7", "password": PASSWORD})
    assert "Copy it now: it will not be shown again." in text(response)
    assert "<h1>API tokens</h1>" in text(response)


@pytest.mark.parametrize("password", ["", "not the password at all"])
def test_making_a_token_asks_for_the_password_again(client_as, db, staff, password):
    client = client_as("caseworker")
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client.get("/account/tokens"))})
    response = post_form(client, "/account/tokens", {"name": "stulen session", "days": "30", "password": password})
    assert response.status_code == 400 and 'id="error-password"' in text(response)
    expected = "Enter your password to make a token." if not password else "the password is wrong; no token was made"
    assert expected in text(response)
    assert password not in text(response) or not password  # never echoed back
    assert not SECRET.search(text(response)) and token_count(db) == 0
    assert 'autocomplete="current-password"' in text(client.get("/account/tokens"))


def test_guessing_the_password_on_the_token_form_is_limited(client_as, db, staff):
    client = client_as("decider")
    for _ in range(RECHECK_FAILURES):
        wrong = post_form(client, "/account/tokens", {"name": "gissning", "days": "30", "password": "a wrong guess"})
        assert "lösenordet är fel" in text(wrong)
    right = post_form(client, "/account/tokens", {"name": "gissning", "days": "30", "password": PASSWORD})
    assert right.status_code == 400 and "för många felaktiga lösenord" in text(right)
    assert not SECRET.search(text(right)) and token_count(db) == 0
