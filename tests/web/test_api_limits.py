"""The API's request limits through the app (issue 15), on both databases: over a token's limit a caller gets
429 with Retry-After and a problem body; another account's token is unaffected; the next window admits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cases.staff.ratelimit import Limits
from cases.staff.tokens import create_token
from tests.conftest import NOW
from tests.web.conftest import PASSWORD
from web import clock

START = NOW.replace(second=0, microsecond=0) + timedelta(seconds=50)  # 10 s before the window ends


@pytest.fixture
def limited(app, accounts_by_role, monkeypatch):
    app.config["VIDORO_API_LIMITS"] = Limits(per_token=3, per_account=4, window_seconds=60)
    moment = {"now": START}
    monkeypatch.setattr(clock, "now", lambda: moment["now"])
    db = app.extensions["vidoro.db"]
    tokens = {role: create_token(db, accounts_by_role[role], role, password=PASSWORD, now=START - timedelta(days=1))
              for role in ("caseworker", "decider")}
    client = app.test_client()

    def get(role: str, path: str = "/me", token=None):
        secret = (token or tokens[role]).secret
        return client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {secret}", "Accept-Language": "en"})

    return get, moment, tokens, db, accounts_by_role


def test_over_the_limit_is_429_with_retry_after_and_a_problem(limited):
    get, moment, _, _, _ = limited
    assert [get("caseworker").status_code for _ in range(3)] == [200, 200, 200]
    refused = get("caseworker")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "10"
    assert refused.mimetype == "application/problem+json"
    body = refused.get_json()
    assert (body["status"], body["code"], body["type"]) == (429, "rate-limited", "urn:vidoro:problem:rate-limited")
    assert "10 s" in body["detail"]
    assert get("caseworker", "/cases?per_page=1").status_code == 429  # every route, not just the one
    assert get("decider").status_code == 200  # another account's token: unaffected
    moment["now"] = START + timedelta(seconds=10)  # the window passes
    assert get("caseworker").status_code == 200


def test_an_account_is_limited_across_its_tokens(limited):
    get, _, _, db, staff = limited
    spare = create_token(db, staff["caseworker"], "spare", password=PASSWORD, now=START - timedelta(days=1))
    assert [get("caseworker").status_code for _ in range(3)] == [200, 200, 200]
    assert get("caseworker", token=spare).status_code == 200  # the account's fourth
    assert get("caseworker", token=spare).status_code == 429  # the fifth, though this token sent one


def test_an_unknown_token_is_401_and_counts_for_nobody(limited):
    get, _, _, _, _ = limited
    bad = type("T", (), {"secret": "vdr_" + "x" * 43})()
    assert [get("caseworker", token=bad).status_code for _ in range(5)] == [401] * 5
    assert get("caseworker").status_code == 200
