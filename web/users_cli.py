"""`vidoro users`: accounts from the server's command line — add, list, disable, enable, role, password, e-mail.

The operator at the server is trusted as an administrator (`by=None` in `cases`); the first administrator of an
instance is made here. Roles given here take effect at once (no second administrator's approval, as in the web),
and every change is in the administration log as `operator`. The system account is refused everywhere. A
password comes from a hidden prompt (asked twice) or, with --password-stdin, from the first line of standard
input; it is never printed or echoed. Bad input is one line and exit status 2.
"""

from __future__ import annotations

import functools
import sys

import click

from cases.errors import InvalidConcern, InvalidPassword, RecordNotFound
from cases.staff import members as staff
from cases.staff.administration import (
    account_roles,
    create_account,
    find_account,
    list_accounts,
    partner_units,
    reset_password,
    set_email,
)
from web.access import ALL_STAFF
from web.clisupport import check_ready, friendly, open_database
from web.errors import BadInput

__all__ = ["users"]


def _one_line(command):
    """Turn what `cases` refuses about the input into one line with exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (InvalidConcern, InvalidPassword) as exc:
            raise BadInput(str(exc)) from None
        except RecordNotFound as exc:  # the one record a command names is an account, by its username
            raise BadInput(f"username: {exc}") from None

    return wrapper


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
        if not password:
            raise BadInput("password: none on standard input (give it as the first line)")
        return password
    return click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password", err=True)


@click.group()
def users() -> None:
    """Staff accounts: add, list, disable, enable, change role, set a password or an e-mail address."""


@users.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="The person's name, as shown to colleagues.")
@click.option("--role", required=True, help="The account's role: " + ", ".join(sorted(ALL_STAFF)) + ".")
@click.option("--unit", help="A partner's unit: the recipient category whose referrals they read.")
@click.option("--email", help="The address notifications are mailed to (none: not mailed).")
@click.option("--password-stdin", is_flag=True, help="Read the first password from standard input.")
@click.pass_obj
@friendly
@_one_line
def users_add(config, username: str, display_name: str, role: str, unit: str | None, email: str | None,
              password_stdin: bool) -> None:
    """Add an account with a first password."""
    _check_choice(role, account_roles(), "--role")
    if unit is not None:
        _check_choice(unit, partner_units(), "--unit")
    with open_database(config, keys="none") as database:
        check_ready(database, keys=False)
        if find_account(database, None, username.strip().lower()) is not None:
            raise BadInput("username: already taken")  # before asking for a password that would be refused
        password = _password(password_stdin)
        create_account(database, None, username, display_name, role, unit=unit, password=password, email=email)
    click.echo(f"added {username.strip().lower()} ({role}); it can sign in with the password given")


@users.command("list")
@click.pass_obj
@friendly
@_one_line
def users_list(config) -> None:
    """List the accounts: username, role, unit, status and name (tab-separated)."""
    with open_database(config, keys="none") as database:
        check_ready(database, keys=False)
        rows = list_accounts(database, None)
    for row in rows:
        status = ("active" if row.active else "disabled") + ("" if row.has_password else ",no-password")
        click.echo("\t".join((row.username, row.role, row.unit or "-", status, row.display_name)))
    click.echo(f"{len(rows)} accounts", err=True)


@users.command("disable")
@click.argument("username")
@click.pass_obj
@friendly
@_one_line
def users_disable(config, username: str) -> None:
    """Disable an account and sign it out everywhere (its history stays)."""
    with open_database(config, keys="none") as database:
        check_ready(database, keys=False)
        staff.disable_staff(database, username, by=None)
    click.echo(f"disabled {username}; its sessions have ended")


@users.command("enable")
@click.argument("username")
@click.pass_obj
@friendly
@_one_line
def users_enable(config, username: str) -> None:
    """Enable a disabled account."""
    with open_database(config, keys="none") as database:
        check_ready(database, keys=False)
        staff.enable_staff(database, username, by=None)
    click.echo(f"enabled {username}")


@users.command("set-role")
@click.argument("username")
@click.argument("role")
@click.option("--unit", help="A partner's unit: the recipient category whose referrals they read.")
@click.pass_obj
@friendly
@_one_line
def users_set_role(config, username: str, role: str, unit: str | None) -> None:
    """Give an account another role; its sessions end, the new role applies from its next sign-in."""
    _check_choice(role, account_roles(), "ROLE")
    if unit is not None and role != "partner":
        raise BadInput("--unit: only partners have a unit")
    if unit is not None:
        _check_choice(unit, partner_units(), "--unit")
    with open_database(config, keys="none") as database:
        check_ready(database, keys=False)
        staff.set_role(database, username, role, by=None, unit=unit)
    click.echo(f"{username} is now {role}{f' ({unit})' if role == 'partner' else ''}; its sessions have ended")


@users.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@click.pass_obj
@friendly
@_one_line
def users_set_password(config, username: str, password_stdin: bool) -> None:
    """Set a new password for an account; its sessions end."""
    with open_database(config, keys="none") as database:
        check_ready(database, keys=False)
        if find_account(database, None, username) is None:
            raise BadInput(f"username: no such account {username!r}")
        password = _password(password_stdin)
        reset_password(database, None, username, password)
    click.echo(f"new password set for {username}; its sessions have ended")


@users.command("set-email")
@click.argument("username")
@click.argument("email")
@click.pass_obj
@friendly
@_one_line
def users_set_email(config, username: str, email: str) -> None:
    """Set the address an account's notifications are mailed to; "" removes it (then nothing is mailed)."""
    with open_database(config, keys="none") as database:
        check_ready(database, keys=False)
        set_email(database, None, username, email)
    click.echo(f"{username}: notifications are {'mailed to the address given' if email.strip() else 'not mailed'}")


def _check_choice(value: str, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        raise BadInput(f"{name}: {value!r} is not one of {', '.join(allowed)}")
