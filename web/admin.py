"""The administrator's pages: accounts, their roles and passwords, the roles waiting for approval — never case
content.

Each change is one call of `cases.staff.administration`, `cases.staff.members` or `cases.staff.roles` with the
administrator as
`by`, which refuses anyone else and writes the administration log. A role that can read case data waits for a
second administrator, who approves or refuses it on the users page. Disabling an account, changing its role
or setting its password ends its sessions everywhere at once (in `cases`), so the change holds from that
person's next request. A password is never shown again, never put back into a form, never logged.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from cases.errors import InvalidConcern, InvalidPassword, NotPermitted
from cases.flowcharts import current_engine
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
from cases.staff.roles import APPROVAL_ROLES, approve_grant, pending_grants, refuse_grant
from web.access import page, signed_in
from web.clock import now
from web.i18n import error_text, label, role_label

__all__ = ["bp"]

bp = Blueprint("admin", __name__)


@bp.get("/admin/users")
@page("admin")
def users():
    return _users_page()


def _users_page(problem: str | None = None, status: int = 200):
    actor = signed_in().actor
    accounts = list_accounts(_db(), actor)
    units = dict(_choices()["units"])
    return render_template("admin/users.html", accounts=accounts, problem=problem, units=units,
                           grants=pending_grants(_db(), actor)), status


@bp.post("/admin/grants/<grant_id>/approve")
@page("admin")
def approve(grant_id: str):
    return _decide(grant_id, approve_grant, _("The role was approved and applies from the account's next "
                                              "sign-in."))


@bp.post("/admin/grants/<grant_id>/refuse")
@page("admin")
def refuse(grant_id: str):
    return _decide(grant_id, refuse_grant, _("The role was refused; a new account that waited for it was "
                                             "removed."))


def _decide(grant_id: str, decide, done: str):
    """Approve or refuse; a refusal of the decision is the users page with the reason (400)."""
    try:
        decide(_db(), signed_in().actor, grant_id)
    except InvalidConcern as exc:  # an unknown request is a RecordNotFound: the 404 page (`web.errors`)
        return _users_page(error_text(exc, "password", "lösenord"), 400)
    except NotPermitted:
        abort(403)
    flash(done, "success")
    return redirect(url_for("admin.users"), 303)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@page("admin")
def new_user():
    values = {name: request.form.get(name, "").strip() for name in ("username", "display_name", "role", "unit",
                                                                  "email")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        password, repeated = request.form.get("password", ""), request.form.get("password_repeat", "")
        for name, message in (("username", _("Enter a username.")), ("display_name", _("Enter the person's name.")),
                              ("role", _("Choose a role."))):
            if not values[name]:
                errors[name] = message
        if values["role"] == "partner" and not values["unit"]:
            errors["unit"] = _("Choose the partner's unit.")
        if not password:
            errors["password"] = _("Enter a first password.")
        elif password != repeated:
            errors["password_repeat"] = _("The two passwords are not the same.")
        if not errors:
            try:
                create_account(_db(), signed_in().actor, values["username"], values["display_name"],
                               values["role"], unit=values["unit"] if values["role"] == "partner" else None,
                               password=password, now=now(), email=values["email"] or None)
            except (InvalidConcern, InvalidPassword) as exc:
                errors[getattr(exc, "field", "password")] = error_text(exc, "password", "lösenord")
            except NotPermitted:
                abort(403)
            else:
                if values["role"] in APPROVAL_ROLES:
                    flash(_("The account %(username)s was added, disabled until another administrator approves "
                            "its role. Give the person the first password in a safe way.",
                            username=values["username"].lower()), "success")
                else:
                    flash(_("The account %(username)s was added. Give the person the first password in a safe "
                            "way.", username=values["username"].lower()), "success")
                return redirect(url_for("admin.users"), 303)
    return render_template("admin/new_user.html", values=values, errors=errors, labels=_labels(),
                           **_choices()), 400 if errors else 200


@bp.post("/admin/users/<username>/disable")
@page("admin")
def disable(username: str):
    refused = _switch(username, staff.disable_staff)
    if refused:
        return refused
    flash(_("The account %(username)s is disabled and signed out everywhere.", username=username), "success")
    return redirect(url_for("admin.users"), 303)


@bp.post("/admin/users/<username>/enable")
@page("admin")
def enable(username: str):
    refused = _switch(username, staff.enable_staff)
    if refused:
        return refused
    flash(_("The account %(username)s is enabled.", username=username), "success")
    return redirect(url_for("admin.users"), 303)


def _switch(username: str, change):
    """Disable or enable; a refusal is the users page with the reason (400), success is None."""
    _account_or_404(username)
    try:
        change(_db(), username, by=signed_in().actor, now=now())
    except InvalidConcern as exc:
        return _users_page(error_text(exc, "password", "lösenord"), 400)
    except NotPermitted:
        abort(403)
    return None


@bp.route("/admin/users/<username>/role", methods=["GET", "POST"])
@page("admin")
def role(username: str):
    account = _account_or_404(username)
    values = {"role": account.role, "unit": account.unit or ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {name: request.form.get(name, "").strip() for name in ("role", "unit")}
        if not values["role"]:
            errors["role"] = _("Choose a role.")
        elif values["role"] not in account_roles():
            errors["role"] = _("Choose one of the roles in the list.")
        elif values["role"] == "partner" and not values["unit"]:
            errors["unit"] = _("Choose the partner's unit.")
        if not errors:
            try:
                waiting = staff.set_role(_db(), username, values["role"], by=signed_in().actor,
                                         unit=values["unit"] if values["role"] == "partner" else None, now=now())
            except InvalidConcern as exc:
                errors["unit" if exc.field == "unit" else "role"] = error_text(exc, "password", "lösenord")
            except NotPermitted:
                abort(403)
            else:
                if waiting:
                    flash(_("The new role of %(username)s waits for another administrator's approval; until "
                            "then the account keeps the role it has.", username=username), "success")
                else:
                    flash(_("The account %(username)s has a new role and is signed out everywhere.",
                            username=username), "success")
                return redirect(url_for("admin.users"), 303)
    return _account_page(account, values, errors, {})


@bp.post("/admin/users/<username>/password")
@page("admin")
def password(username: str):
    account = _account_or_404(username)
    new, repeated = request.form.get("password", ""), request.form.get("password_repeat", "")
    errors: dict[str, str] = {}
    if not new:
        errors["password"] = _("Enter the new password.")
    elif new != repeated:
        errors["password_repeat"] = _("The two passwords are not the same.")
    if not errors:
        try:
            reset_password(_db(), signed_in().actor, username, new, now=now())
        except (InvalidPassword, InvalidConcern) as exc:  # InvalidConcern: the system account
            errors["password"] = error_text(exc, "password", "lösenord")
        except NotPermitted:
            abort(403)
        else:
            flash(_("The account %(username)s has a new password and is signed out everywhere. Give the person "
                    "the password in a safe way.", username=username), "success")
            return redirect(url_for("admin.users"), 303)
    return _account_page(account, {"role": account.role, "unit": account.unit or ""}, {}, errors)


@bp.post("/admin/users/<username>/email")
@page("admin")
def email(username: str):
    account = _account_or_404(username)
    address = request.form.get("email", "").strip()
    try:
        set_email(_db(), signed_in().actor, username, address, now=now())
    except InvalidConcern as exc:  # not an address, or the system account
        return _account_page(account, {"role": account.role, "unit": account.unit or ""}, {}, {},
                             email_errors={"email": error_text(exc)}, email=address)
    except NotPermitted:
        abort(403)
    flash(_("The address of %(username)s is saved.", username=username) if address else
          _("The account %(username)s has no address now: nothing is mailed to it.", username=username), "success")
    return redirect(url_for("admin.role", username=username), 303)


def _account_page(account, values: dict, role_errors: dict, password_errors: dict, *,
                  email_errors: dict | None = None, email: str | None = None):
    email_errors = email_errors or {}
    status = 400 if role_errors or password_errors or email_errors else 200
    return render_template("admin/account.html", account=account, values=values, role_errors=role_errors,
                           password_errors=password_errors, email_errors=email_errors,
                           email=account.email if email is None else email, labels=_labels(), **_choices(),
                           is_self=account.username == signed_in().username), status


def _account_or_404(username: str):
    found = find_account(_db(), signed_in().actor, username)
    if found is None:
        abort(404)
    return found


def _db():
    return current_app.extensions["vidoro.db"]


def _choices() -> dict:
    """The role and unit options of the forms, with their labels in the visitor's language."""
    recipients = current_engine().chart.vocabularies["recipients"]
    return {"roles": [(r, role_label(r)) for r in account_roles()],
            "units": [(u, label(recipients[u])) for u in partner_units()],
            "reading_roles": ", ".join(role_label(r) for r in account_roles() if r in APPROVAL_ROLES)}


def _labels() -> dict[str, str]:
    return {"username": _("Username"), "display_name": _("Name"), "role": _("Role"), "unit": _("Unit"),
            "password": _("Password"), "password_repeat": _("Repeat the password"), "email": _("E-mail address")}
