"""The notifications page and API: each person's own list with the unread count in the navigation, marking
read, and another's notification answered as if it did not exist (404), on both databases."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from cases.models import Notification
from cases.notifications import notify
from tests.conftest import NOW
from tests.web.conftest import csrf_token
from tests.web.test_api import api  # noqa: F401 - `api` is the fixture


def _give(db, staff_ids, n: int = 1) -> None:
    with db.write() as s:
        for i in range(n):
            notify(s, recipients=staff_ids, kind="referral_packet", key=f"referral_packet:{i}",
                   now=NOW + timedelta(minutes=i), case_ref="VO-ABCDEFGH")


def _ids(db, staff_id) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(Notification.id).where(Notification.staff_id == staff_id)
                              .order_by(Notification.created_at)))


def test_the_page_lists_ones_own_and_marks_them_read(app, db, staff, client_as):
    _give(db, [staff["partner"].id, staff["intake"].id], 2)
    client = client_as("partner")
    page = client.get("/notifications")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Aviseringar" in text and "Ny remiss" in text and "VO-ABCDEFGH" in text
    assert 'badge badge-soon">2' in text  # the unread count in the navigation
    mine, theirs = _ids(db, staff["partner"].id), _ids(db, staff["intake"].id)
    token = csrf_token(page)
    assert client.post(f"/notifications/{theirs[0]}/read", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/notifications/{mine[0]}/read", data={"csrf_token": token}).status_code == 303
    assert 'badge badge-soon">1' in client.get("/notifications").get_data(as_text=True)
    assert client.post("/notifications/read-all", data={"csrf_token": token}).status_code == 303
    with db.read() as s:
        rows = list(s.scalars(select(Notification)))
    assert all(n.read_at for n in rows if n.staff_id == staff["partner"].id)
    assert all(n.read_at is None for n in rows if n.staff_id == staff["intake"].id) and len(rows) == 4


def test_the_api_lists_in_pages_and_refuses_anothers(api, app, staff):  # noqa: F811
    db = app.extensions["vidoro.db"]
    _give(db, [staff["caseworker"].id, staff["decider"].id], 3)
    first = api("GET", "/notifications?per_page=2", "caseworker",
                operation=("/notifications", "get"))
    body = first.get_json()
    assert first.status_code == 200 and body["unread"] == 3 and len(body["items"]) == 2 and body["next_cursor"]
    assert body["items"][0]["label"] == "Ny remiss" and body["items"][0]["case_ref"] == "VO-ABCDEFGH"
    rest = api("GET", f"/notifications?per_page=2&cursor={body['next_cursor']}", "caseworker").get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    theirs = _ids(db, staff["decider"].id)[0]
    refused = api("POST", f"/notifications/{theirs}/read", "caseworker", json={}, key=str(uuid.uuid4()))
    assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
    mine = body["items"][0]["id"]
    once = str(uuid.uuid4())
    done = api("POST", f"/notifications/{mine}/read", "caseworker", json={}, key=once,
               operation=("/notifications/{notification_id}/read", "post"))
    assert done.status_code == 200 and done.get_json()["read_at"]
    again = api("POST", f"/notifications/{mine}/read", "caseworker", json={}, key=once)
    assert again.get_json() == done.get_json() and again.headers["Idempotency-Replayed"] == "true"
    assert api("GET", "/notifications?unread=true", "caseworker").get_json()["unread"] == 2
    assert api("GET", "/notifications?cursor=nonsense", "caseworker").status_code == 422


def test_an_administrator_gives_a_new_account_its_address(db, client_as):
    from tests.web.conftest import account, post_form
    from tests.web.test_admin import new_user

    admin = client_as("admin")
    refused = post_form(admin, "/admin/users/new", new_user(role="coordinator", email="not an address"))
    assert refused.status_code == 400 and account(db, "new.person") is None
    added = post_form(admin, "/admin/users/new", new_user(role="coordinator", email="ny.person@example.org"))
    assert added.status_code == 303 and account(db, "new.person").email == "ny.person@example.org"


def test_the_operator_sets_and_removes_an_address_at_the_command_line(tmp_path, db, staff):
    from cases.models import AdministrationLogEntry
    from tests.web.conftest import account
    from tests.web.test_users_cli import PASSWORD, users

    def run(*args, stdin=None):
        return users(tmp_path / "instance", db.url, *args, stdin=stdin)

    added = run("add", "ny.person", "--name", "Ny Person", "--role", "intake", "--email", "ny@example.org",
                "--password-stdin", stdin=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert account(db, "ny.person").email == "ny@example.org"
    assert run("set-email", "caseworker-1", "hand@example.org").exit_code == 0
    assert account(db, "caseworker-1").email == "hand@example.org"
    bad = run("set-email", "caseworker-1", "hand@")
    assert bad.exit_code == 2 and "email" in bad.output and account(db, "caseworker-1").email == "hand@example.org"
    assert run("set-email", "caseworker-1", "").exit_code == 0 and account(db, "caseworker-1").email is None
    assert run("set-email", "system-1", "x@example.org").exit_code != 0  # the system account is never mailed
    with db.read() as s:
        logged = [e for e in s.scalars(select(AdministrationLogEntry)) if e.action == "set_email"]
    assert len(logged) == 2 and all(b"example.org" not in e.entry for e in logged)


def test_the_mail_settings_come_from_the_configuration(monkeypatch):
    from web.config import load_config
    from web.notifications import mail_settings

    monkeypatch.setenv("VIDORO_SMTP_URL", "smtps://u:p@127.0.0.1:8465")
    monkeypatch.setenv("VIDORO_MAIL_FROM", "vidoro@kommun.example")
    monkeypatch.setenv("VIDORO_BASE_URL", "https://vidoro.kommun.example/")
    settings = mail_settings(load_config())
    assert settings.smtp_url == "smtps://u:p@127.0.0.1:8465" and settings.mail_from == "vidoro@kommun.example"
    assert settings.base_url == "https://vidoro.kommun.example"
    monkeypatch.delenv("VIDORO_SMTP_URL")
    assert mail_settings(load_config()).smtp_url is None


def test_an_administrator_sets_and_removes_an_accounts_address_on_its_page(db, client_as):
    from tests.web.conftest import account, post_form

    admin = client_as("admin")
    page = "/admin/users/caseworker-1/role"
    bad = post_form(admin, "/admin/users/caseworker-1/email", {"email": "inte en adress"}, page=page)
    assert bad.status_code == 400 and "namn@example.org" in bad.get_data(as_text=True)
    assert account(db, "caseworker-1").email is None
    done = post_form(admin, "/admin/users/caseworker-1/email", {"email": "hand@example.org"}, page=page)
    assert done.status_code == 303 and account(db, "caseworker-1").email == "hand@example.org"
    assert 'value="hand@example.org"' in admin.get(page).get_data(as_text=True)
    assert post_form(admin, "/admin/users/caseworker-1/email", {"email": ""}, page=page).status_code == 303
    assert account(db, "caseworker-1").email is None
