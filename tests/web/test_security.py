"""Web security: headers on every response, cookies, CSRF, session rotation and endings, rate limiting."""

from __future__ import annotations

import pytest

from cases.errors import SignInRefused
from cases.staff import accounts
from cases.staff.members import disable_staff
from cases.staff.tokens import create_token
from tests.web.conftest import PASSWORD, FakeClock, csrf_token, sign_in
from web import create_app
from web.access import safe_next


def assert_headers(response, *, https: bool = False) -> None:
    headers = response.headers
    policy = headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'",
                      "form-action 'self'", "base-uri 'none'"):
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert ("Strict-Transport-Security" in headers) == https


@pytest.mark.parametrize("path", ["/", "/sign-in", "/cases", "/health", "/no-such-page", "/static/vidoro.css"])
def test_every_response_carries_the_security_headers(app, path):
    response = app.test_client().get(path)
    response.close()
    assert_headers(response)
    if not path.startswith("/static"):
        assert "no-store" in response.headers["Cache-Control"]


def test_case_pages_are_never_cached(client_as):
    response = client_as("decider").get("/cases")
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]


def test_over_https_the_cookie_is_host_prefixed_and_secure_and_hsts_is_sent(app, accounts_by_role):
    client = app.test_client()
    page = client.get("/sign-in", base_url="https://localhost")
    assert_headers(page, https=True)
    form = {"username": "intake-1", "password": PASSWORD, "csrf_token": csrf_token(page)}
    elsewhere = client.post("/sign-in", base_url="https://localhost", data=form,
                            headers={"Referer": "https://evil.example/sign-in"})
    assert elsewhere.status_code == 400  # over HTTPS a form must also come from this site
    response = client.post("/sign-in", base_url="https://localhost", data=form,
                           headers={"Referer": "https://localhost/sign-in"})
    assert response.status_code == 302
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-vidoro="))
    for flag in ("Secure", "HttpOnly", "Path=/", "SameSite=Lax"):
        assert flag in cookie
    assert "Domain" not in cookie
    device = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-vidoro-device="))
    for flag in ("Secure", "HttpOnly", "Path=/", "SameSite=Lax", "Max-Age=31536000"):
        assert flag in device
    assert "Domain" not in device
    assert client.get("/cases", base_url="https://localhost").status_code == 200


def test_over_plain_http_the_cookie_is_still_httponly_and_samesite(app, accounts_by_role):
    client = app.test_client()
    response = sign_in(client, "intake-1")
    for name in ("vidoro=", "vidoro-device="):
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(name))
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


@pytest.mark.parametrize("token", [None, "forged-token", "stale"])
def test_a_form_without_a_valid_csrf_token_is_refused_and_does_nothing(app, accounts_by_role, token):
    client = app.test_client()
    data = {"username": "intake-1", "password": PASSWORD}
    if token == "stale":  # noqa: S105 - a test case name
        other = app.test_client()
        data["csrf_token"] = csrf_token(other.get("/sign-in"))  # another browser's token
    elif token:
        data["csrf_token"] = token
    response = client.post("/sign-in", data=data)
    assert response.status_code == 400
    assert client.get("/cases").status_code == 302  # still signed out


def test_a_pages_token_stays_good_for_its_session_and_a_new_session_refuses_the_old(app, accounts_by_role):
    """Flask-WTF signs the session's token afresh on each page; every one of them is good until the session
    ends (no time limit), and none of another session's is."""
    client = app.test_client()
    sign_in(client, "intake-1")
    first = csrf_token(client.get("/cases"))
    assert csrf_token(client.get("/cases"))  # a later page's token: the first stays good (used below)
    other = app.test_client()
    sign_in(other, "caseworker-1")
    assert csrf_token(other.get("/cases")) != first  # another session, another token
    lang = client.post("/language", data={"lang": "en", "next": "/cases", "csrf_token": first})
    assert lang.status_code == 302 and client.get("/cases").get_data(as_text=True).count('lang="en"') == 1
    client.post("/sign-out", data={"csrf_token": first})
    sign_in(client, "intake-1")
    fresh = csrf_token(client.get("/cases"))
    assert fresh != first
    assert client.post("/sign-out", data={"csrf_token": first}).status_code == 400  # the old one is dead
    assert client.get("/cases").status_code == 200
    assert client.post("/sign-out", data={"csrf_token": fresh}).status_code == 302


def test_signing_in_gives_a_fresh_session_and_signing_out_ends_it_on_the_server(app, accounts_by_role):
    client = app.test_client()
    client.get("/sign-in")
    before = client.get_cookie("vidoro").value
    sign_in(client, "intake-1")
    after = client.get_cookie("vidoro").value
    assert after != before
    assert client.get("/cases").status_code == 200
    stolen = app.test_client()
    stolen.set_cookie("vidoro", after)
    assert stolen.get("/cases").status_code == 200  # the same cookie elsewhere works…
    response = client.post("/sign-out", data={"csrf_token": csrf_token(client.get("/cases"))})
    assert response.status_code == 302
    assert stolen.get("/cases").status_code == 302  # …until the session ends on the server


def test_an_old_pre_sign_in_cookie_is_worth_nothing_after_sign_in(app, accounts_by_role):
    attacker = app.test_client()
    attacker.get("/sign-in")
    planted = attacker.get_cookie("vidoro").value
    victim = app.test_client()
    victim.set_cookie("vidoro", planted)  # session fixation: the victim signs in with the attacker's cookie
    sign_in(victim, "intake-1")
    assert victim.get("/cases").status_code == 200
    assert attacker.get("/cases").status_code == 302


def test_a_disabled_account_is_signed_out_on_its_next_request(client_as, db):
    client = client_as("caseworker")
    assert client.get("/cases").status_code == 200
    disable_staff(db, "caseworker-1", by=None)
    assert client.get("/cases").status_code == 302


def test_an_idle_session_ends(db, keys, tmp_path, accounts_by_role):
    clock = FakeClock()
    application = create_app({"VIDORO_DATABASE_URL": db.url, "VIDORO_HOME": tmp_path / "instance",
                              "VIDORO_KEYS": keys.folder, "SECRET_KEY": "k" * 40, "VIDORO_SESSION_IDLE": 30 * 60,
                              "VIDORO_CLOCK": clock})
    try:
        client = application.test_client()
        sign_in(client, "intake-1")
        assert client.get("/cases").status_code == 200
        clock.advance(minutes=29)
        assert client.get("/cases").status_code == 200  # idle time counts from the last request
        clock.advance(minutes=29)
        assert client.get("/cases").status_code == 200
        clock.advance(minutes=31)
        assert client.get("/cases").status_code == 302
    finally:
        application.extensions["vidoro.db"].dispose()


def test_the_api_reads_the_apps_clock_to_end_a_token(db, keys, tmp_path, accounts_by_role):
    clock = FakeClock()
    application = create_app({"VIDORO_DATABASE_URL": db.url, "VIDORO_HOME": tmp_path / "instance",
                              "VIDORO_KEYS": keys.folder, "SECRET_KEY": "k" * 40, "VIDORO_CLOCK": clock})
    try:
        made = create_token(db, accounts_by_role["intake"], "a day", password=PASSWORD, days=1, now=clock.now())
        client = application.test_client()
        headers = {"Authorization": f"Bearer {made.secret}"}
        clock.advance(hours=23, minutes=59)
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        clock.advance(minutes=1)
        assert client.get("/api/v1/me", headers=headers).status_code == 401  # expired on the app's clock
    finally:
        application.extensions["vidoro.db"].dispose()


def test_repeated_wrong_passwords_are_slowed_down_with_429(app, accounts_by_role):
    client = app.test_client()
    statuses = [sign_in(client, "intake-1", "wrong password here").status_code for _ in range(7)]
    assert statuses[:5] == [401] * 5
    assert 429 in statuses[5:]
    assert sign_in(app.test_client(), "decider-1").status_code == 302  # another account is not affected


def test_a_browser_that_signed_in_before_gets_in_while_its_shared_address_is_blocked(app, db, accounts_by_role):
    usual = app.test_client()
    assert sign_in(usual, "intake-1").status_code == 302
    usual.post("/sign-out", data={"csrf_token": csrf_token(usual.get("/cases"))})
    for n in range(accounts.ADDRESS_FAILURES):  # someone behind the same address (127.0.0.1) guesses names
        with pytest.raises(SignInRefused):
            accounts.sign_in(db, f"made-up-{n}", "wrong password here", "127.0.0.1")
    assert sign_in(app.test_client(), "intake-1").status_code == 429  # a browser without the cookie waits
    assert sign_in(usual, "intake-1").status_code == 302  # the person's own browser does not
    assert usual.get("/cases").status_code == 200


@pytest.mark.parametrize(("target", "safe"), [
    ("/cases", "/cases"), ("https://evil.example/", "/"), ("//evil.example", "/"), ("/\\evil", "/"),
    ("cases", "/"), ("", "/"), (None, "/"), ("/cases\r\nSet-Cookie: x=1", "/"), ("/\t/evil.example", "/"),
    ("/cases\x00", "/"), ("/cases\x85", "/"), ("/cases?page=2", "/cases?page=2")])
def test_redirects_after_sign_in_stay_on_this_site(target, safe):
    assert safe_next(target, "/") == safe


def test_the_language_can_be_switched_and_defaults_to_swedish(app):
    client = app.test_client()
    page = client.get("/sign-in")
    assert '<html lang="sv">' in page.get_data(as_text=True)
    client.post("/language", data={"lang": "en", "next": "/sign-in", "csrf_token": csrf_token(page)})
    assert '<html lang="en">' in client.get("/sign-in").get_data(as_text=True)



def test_a_process_starting_while_another_creates_the_secret_key_reads_a_whole_key(tmp_path, monkeypatch):
    """`vidoro serve` forks its processes and each builds its app at once, so the first start races to create
    the session key. A process that found the file before the other had written into it read an empty key
    (a 500 on every page it served; seen in CI). Fault injection: the first creator is held just before it
    has a key to write, while a second process (here a thread) asks for the key."""
    import secrets as secrets_module
    import threading

    from web.security import SECRET_FILE, secret_key

    real_token_hex = secrets_module.token_hex
    inside, go = threading.Event(), threading.Event()

    def held_token_hex(n):
        if threading.current_thread().name == "first-creator":
            inside.set()
            assert go.wait(10)
        return real_token_hex(n)

    monkeypatch.setattr("web.security.secrets.token_hex", held_token_hex)
    first: list[bytes] = []
    creator = threading.Thread(target=lambda: first.append(secret_key(tmp_path)), name="first-creator")
    creator.start()
    assert inside.wait(10)
    try:
        second = secret_key(tmp_path)
    finally:
        go.set()
        creator.join(10)
    assert len(second) == 32 and first == [second]
    assert [p.name for p in tmp_path.iterdir()] == [SECRET_FILE]  # no partial file left behind
