"""`vidoro users` through Click's runner, on SQLite and PostgreSQL: accounts from the server's command line,
one-line errors with exit status 2 for bad input, and never a password on the screen."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cases.errors import SignInRefused
from cases.models import AdministrationLogEntry
from cases.staff import accounts
from tests.web.conftest import account, staff_count
from tests.web.test_cli import assert_one_line_failure
from web.cli import main

PASSWORD = "a long command-line password"  # noqa: S105 - a test password
SESSION = {"idle": timedelta(hours=1), "absolute": timedelta(hours=8)}

accounts.use_cheap_hashing_for_tests()


def users(home, url, *args: str, stdin: str | None = None):
    """`vidoro users ARGS` with only this test's VIDORO_* settings, `stdin` as standard input."""
    environment = {key: None for key in os.environ if key.startswith("VIDORO_")}
    environment.update(VIDORO_HOME=str(home), VIDORO_DATABASE_URL=url)
    return CliRunner().invoke(main, ["users", *args], env=environment, input=stdin, catch_exceptions=True)


def assert_ok(result) -> None:
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output


@pytest.fixture
def run(tmp_path, db):
    return lambda *args, stdin=None: users(tmp_path / "instance", db.url, *args, stdin=stdin)


def test_add_with_the_password_on_standard_input(run, db):
    result = run("add", "Ny.Person", "--name", "Ny Person", "--role", "caseworker", "--password-stdin",
                 stdin=PASSWORD + "\n")
    assert_ok(result)
    assert "added ny.person (caseworker)" in result.output
    assert accounts.sign_in(db, "ny.person", PASSWORD, "127.0.0.1").account.role == "caseworker"


def test_add_asks_twice_without_echo(run, db):
    result = run("add", "polis-2", "--name", "Polis Två", "--role", "partner", "--unit", "police",
                 stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert_ok(result)
    assert (account(db, "polis-2").role, account(db, "polis-2").unit) == ("partner", "police")
    mismatch = run("add", "other-2", "--name", "Annan", "--role", "reporter", stdin=f"{PASSWORD}\nsomething else\n")
    assert mismatch.exit_code != 0 and PASSWORD not in mismatch.output
    assert account(db, "other-2") is None


@pytest.mark.parametrize("args", [
    ("add", "Has Spaces", "--name", "N", "--role", "caseworker", "--password-stdin"),
    ("add", "caseworker-1", "--name", "N", "--role", "caseworker", "--password-stdin"),
    ("add", "new-1", "--name", "  ", "--role", "caseworker", "--password-stdin"),
    ("add", "new-1", "--name", "N", "--role", "system", "--password-stdin"),
    ("add", "new-1", "--name", "N", "--role", "partner", "--password-stdin"),
    ("add", "new-1", "--name", "N", "--role", "partner", "--unit", "mars", "--password-stdin"),
    ("add", "new-1", "--name", "N", "--role", "reporter", "--unit", "police", "--password-stdin"),
])
def test_bad_input_for_add_is_one_line_with_status_2_and_nothing_saved(run, db, staff, args):
    before = staff_count(db)
    result = run(*args, stdin=PASSWORD + "\n")
    assert_one_line_failure(result)
    assert result.exit_code == 2 and PASSWORD not in result.output
    assert staff_count(db) == before


def test_a_password_that_breaks_the_rules_leaves_no_account(run, db):
    for stdin in ("short\n", "\n", ""):
        result = run("add", "new-1", "--name", "N", "--role", "reporter", "--password-stdin", stdin=stdin)
        assert_one_line_failure(result, "password")
        assert result.exit_code == 2
    assert account(db, "new-1") is None


def test_list_shows_each_account(run, staff):
    result = run("list")
    assert_ok(result)
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert ["partner-1", "partner", "police", "active,no-password", "Test partner"] in lines
    assert len(lines) == len(staff)


def test_disable_and_enable_end_and_allow_sessions(run, db, staff):
    accounts.set_password(db, "caseworker-1", PASSWORD)
    token = accounts.start_session(db, accounts.sign_in(db, "caseworker-1", PASSWORD, "127.0.0.1").account)
    assert_ok(run("disable", "caseworker-1"))
    assert accounts.open_session(db, token, **SESSION) is None
    with pytest.raises(SignInRefused):
        accounts.sign_in(db, "caseworker-1", PASSWORD, "127.0.0.1")
    assert "disabled" in run("list").stdout
    assert_ok(run("enable", "caseworker-1"))
    assert accounts.sign_in(db, "caseworker-1", PASSWORD, "127.0.0.1")


def test_set_role_ends_sessions(run, db, staff):
    accounts.set_password(db, "caseworker-1", PASSWORD)
    token = accounts.start_session(db, accounts.sign_in(db, "caseworker-1", PASSWORD, "127.0.0.1").account)
    assert_ok(run("set-role", "caseworker-1", "partner", "--unit", "school"))
    assert (account(db, "caseworker-1").role, account(db, "caseworker-1").unit) == ("partner", "school")
    assert accounts.open_session(db, token, **SESSION) is None


@pytest.mark.parametrize("args", [
    ("set-role", "caseworker-1", "system"),
    ("set-role", "caseworker-1", "partner"),
    ("set-role", "caseworker-1", "auditor", "--unit", "police"),
    ("set-role", "nobody-here", "auditor"),
    ("disable", "nobody-here"),
    ("enable", "nobody-here"),
    ("set-password", "nobody-here", "--password-stdin"),
])
def test_bad_input_for_the_other_commands(run, db, staff, args):
    result = run(*args, stdin=PASSWORD + "\n")
    assert_one_line_failure(result)
    assert result.exit_code == 2
    assert account(db, "caseworker-1").role == "caseworker"
    if "nobody-here" in args:  # an unknown account is named as such, the line is the same as it always was
        assert "username: no such account" in result.output


def test_set_password_from_stdin_or_the_prompt(run, db, staff):
    accounts.set_password(db, "caseworker-1", "the old password here")
    signed_in = accounts.sign_in(db, "caseworker-1", "the old password here", "127.0.0.1")
    token = accounts.start_session(db, signed_in.account)
    assert_ok(run("set-password", "caseworker-1", "--password-stdin", stdin=PASSWORD + "\n"))
    assert accounts.open_session(db, token, **SESSION) is None
    assert accounts.sign_in(db, "caseworker-1", PASSWORD, "127.0.0.1")
    other = PASSWORD + " two"
    result = run("set-password", "caseworker-1", stdin=f"{other}\n{other}\n")
    assert result.exit_code == 0 and other not in result.output
    assert accounts.sign_in(db, "caseworker-1", other, "127.0.0.1")
    refused = run("set-password", "caseworker-1", "--password-stdin", stdin="aaaaaaaaaaaaaaaa\n")
    assert_one_line_failure(refused, "password")
    assert accounts.sign_in(db, "caseworker-1", other, "127.0.0.1")


def test_an_instance_that_is_not_set_up_says_to_run_init(tmp_path, blank_url):
    result = users(tmp_path / "instance", blank_url, "list")
    assert_one_line_failure(result, "vidoro init")
    assert result.exit_code == 1


@pytest.mark.parametrize("args", [
    ("set-role", "system-1", "admin"),
    ("set-role", "system-1", "caseworker"),
    ("set-password", "system-1", "--password-stdin"),
    ("enable", "system-1"),
    ("disable", "system-1"),
])
def test_the_system_account_gets_no_role_password_or_sign_in_from_the_command_line(run, db, staff, args):
    result = run(*args, stdin=PASSWORD + "\n")
    assert_one_line_failure(result, "system account")
    assert result.exit_code == 2
    system = account(db, "system-1")
    assert (system.role, system.active, system.password_hash) == ("system", True, None)
    with pytest.raises(SignInRefused):
        accounts.sign_in(db, "system-1", PASSWORD, "127.0.0.1")


def test_the_operator_grants_a_reading_role_directly_and_is_logged_as_the_operator(run, db, staff):
    assert_ok(run("set-role", "auditor-1", "decider"))
    assert account(db, "auditor-1").role == "decider"
    with db.read() as session:
        last = json.loads(session.scalars(select(AdministrationLogEntry.entry)
                                          .order_by(AdministrationLogEntry.seq.desc())).first())
    assert (last["actor"], last["target"], last["action"], last["codes"]) == (
        "operator", staff["auditor"].id, "set_role", {"from": "auditor", "to": "decider"})
