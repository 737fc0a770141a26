"""Input meant to break the server gets a 4xx with a clear message, never a 500 (issue 15).

A page number past any limit or a cursor that is not ours, CR/LF in the address to go to after signing in, a
JSON body nested 100,000 levels deep. The tests run with the app's exceptions propagating (testing mode), so a
500 fails them loudly.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cases.casework.worklist import MAX_CURSOR
from cases.models import Case
from cases.staff.tokens import create_token
from tests.web.conftest import PASSWORD, csrf_token

API = "/api/v1"
PROBLEM = "application/problem+json"
HUGE = str(10**30)


@pytest.fixture
def tokens(db, accounts_by_role):
    staff = accounts_by_role
    return {role: create_token(db, staff[role], "tests", password=PASSWORD).secret for role in ("reporter", "decider")}


def call(app, method: str, path: str, token: str, **kwargs):
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en", **kwargs.pop("headers", {})}
    return app.test_client().open(f"{API}{path}", method=method, headers=headers, **kwargs)


NO_SUCH_DAY = "WyJhIiwiMjAyNi0xMy0wMSIsIjIwMjYtMDEtMDFUMDA6MDA6MDArMDA6MDAiLCJWTy0xIl0"  # base64url: month 13
HOSTILE_CURSORS = [HUGE, str(2**63), "-1", "0", "abc", "1" * 5000, "a" * (MAX_CURSOR + 1), "%00", "\u00e5",
                   NO_SUCH_DAY]


@pytest.mark.parametrize("asked", HOSTILE_CURSORS)
def test_a_work_list_cursor_that_is_not_ours_is_the_first_page_not_a_server_error(client_as, asked):
    """The page shows the first page and says why (`cases.casework.worklist` refuses the cursor)."""
    client = client_as("decider")
    with client.session_transaction() as stored:
        stored["lang"] = "en"
    response = client.get("/cases", query_string={"cursor": asked})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "No cases to show" in page and "this is the first page" in page


@pytest.mark.parametrize("asked", [HUGE, str(2**63), "-1", "0", "abc", "1" * 5000])
def test_an_old_page_number_on_the_work_list_page_is_the_first_page(client_as, asked):
    client = client_as("decider")
    with client.session_transaction() as stored:
        stored["lang"] = "en"
    response = client.get(f"/cases?page={asked}")
    assert response.status_code == 200 and "No cases to show" in response.get_data(as_text=True)


@pytest.mark.parametrize("asked", HOSTILE_CURSORS)
def test_the_apis_case_list_refuses_a_cursor_that_is_not_ours_as_a_problem(app, tokens, asked):
    """Refused by the schema's pattern, or, when it fits that, by `cases.casework.worklist`: a 422 naming the cursor."""
    response = call(app, "GET", "/cases", tokens["decider"], query_string={"cursor": asked})
    assert response.status_code == 422 and response.mimetype == PROBLEM
    body = response.get_json()
    assert body["code"] in ("invalid-input", "bad-cursor")
    assert [r["field"] for r in body["reasons"]] == ["cursor"]
    if body["code"] == "bad-cursor":
        assert "first page" in body["detail"]
    assert call(app, "GET", "/cases", tokens["decider"], query_string={"cursor": NO_SUCH_DAY}).get_json()[
        "code"] == "bad-cursor"


@pytest.mark.parametrize(("asked", "says"), [
    (HUGE, "less than or equal to 1"), ("2", "less than or equal to 1"),
    ("-1", "greater than or equal to 1"), ("abc", "valid integer")])
def test_the_apis_case_list_refuses_a_page_number_other_than_the_first_as_a_problem(app, tokens, asked, says):
    """Pages follow cursors now: page 2 is refused, not answered with the first page again (a client counting
    pages would never reach its end)."""
    response = call(app, "GET", f"/cases?page={asked}", tokens["decider"])
    assert response.status_code == 422 and response.mimetype == PROBLEM
    body = response.get_json()
    assert body["code"] == "invalid-input"
    assert [(r["field"], says in r["message"]) for r in body["reasons"]] == [("page", True)]
    assert call(app, "GET", "/cases?page=1", tokens["decider"]).status_code == 200


@pytest.mark.parametrize("target", [
    "/cases\r\nSet-Cookie: stolen=1", "/cases\nX: y", "/cases\r", "/\t/evil.example", "/cases\x00", "/cases\x7f",
    "/cases\x85", "https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"])
def test_signing_in_with_an_unsafe_next_goes_to_the_start_page_and_is_no_server_error(app, accounts_by_role, target):
    client = app.test_client()
    token = csrf_token(client.get("/sign-in"))
    response = client.post("/sign-in", query_string={"next": target},
                           data={"username": "decider-1", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/cases").status_code == 200  # signed in, and sent where it is safe


def test_signing_in_still_goes_back_to_a_local_page(app, accounts_by_role):
    client = app.test_client()
    token = csrf_token(client.get("/sign-in"))
    response = client.post("/sign-in?next=/cases%3Fpage%3D2",
                           data={"username": "decider-1", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/cases?page=2"


@pytest.mark.parametrize("depth", [100_000, 5_000])
@pytest.mark.parametrize(("role", "path"), [("reporter", "/cases"), ("decider", "/cases/VO-ABCDEFGH/transitions")])
def test_a_json_body_nested_too_deeply_is_a_400_problem(app, db, tokens, depth, role, path):
    body = "[" * depth + "]" * depth
    response = call(app, "POST", path, tokens[role], data=body,
                    headers={"Content-Type": "application/json", "Idempotency-Key": "deep-1"})
    assert response.status_code == 400 and response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["code"] == "json-too-deep" and "nested too deeply" in problem["detail"]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_the_too_deep_problem_speaks_swedish_too(app, tokens):
    response = call(app, "POST", "/cases", tokens["reporter"], data="[" * 10_000,
                    headers={"Content-Type": "application/json", "Idempotency-Key": "deep-2", "Accept-Language": "sv"})
    assert response.status_code == 400 and "för djupt nästlat" in response.get_json()["detail"]
