"""Language: Swedish by default, English on request, every text through the Babel catalogue.

Texts in the code and templates are English message ids; `web/translations/sv` holds the Swedish. Labels
that belong to the flowchart (states, triggers, fields, vocabularies) come from the flowchart file, which
carries both languages.
"""

from __future__ import annotations

from flask import Flask, session
from flask_babel import gettext, lazy_gettext

from web import N_
from web.access import current_account
from web.clock import zone

__all__ = ["error_text", "init_app", "label", "local_time", "locale", "role_label"]

ROLE_LABELS = {
    "reporter": N_("reporter"),
    "coordinator": N_("coordinator"),
    "intake": N_("intake officer"),
    "caseworker": N_("caseworker"),
    "decider": N_("decision maker"),
    "partner": N_("partner"),
    "auditor": N_("auditor"),
    "admin": N_("administrator"),
}


CONSENT_STATUS = {
    "given": lazy_gettext("given"),
    "refused": lazy_gettext("refused"),
    "withdrawn": lazy_gettext("withdrawn"),
    "expired": lazy_gettext("expired"),
}


def words(chart, vocabulary: str, codes) -> str:
    """Codes of a flowchart vocabulary as their labels in the current language, joined."""
    known = chart.vocabularies.get(vocabulary, {})
    if isinstance(codes, str):
        codes = [codes]
    return ", ".join(label(known[c]) if c in known else str(c) for c in codes or ())


def consent_status(status: str) -> str:
    return str(CONSENT_STATUS.get(status, status))


def locale() -> str:
    return session.get("lang") or "sv"


def role_label(role: str) -> str:
    return gettext(ROLE_LABELS[role]) if role in ROLE_LABELS else role


def label(item, lang: str | None = None) -> str:
    """A flowchart label (anything with `sv` and `en`, or a mapping of them) in `lang` (default: the current
    language)."""
    lang = lang or locale()
    if isinstance(item, dict):
        return str(item.get(lang) or item.get("sv") or "")
    return str(getattr(item, lang, None) or getattr(item, "sv", ""))


def field_value(chart, name: str, value) -> str:
    """A form value as people read it: codes by their label, lists joined, yes/no, dates as ISO dates."""
    field = chart.fields.get(name)
    words = chart.vocabularies.get(field.vocabulary, {}) if field and field.vocabulary else {}

    def one(item) -> str:
        if isinstance(item, bool):
            return gettext("yes") if item else gettext("no")
        if item is None:
            return ""
        return label(words[item]) if item in words else str(item)

    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(one(v) for v in value)
    return one(value)


def error_text(exc, *prefixes: str) -> str:
    """A refusal from `cases` in the visitor's language, without the field name (or the other `prefixes`)
    its text starts with: on a page it stands next to that field already."""
    said = exc.text(locale())
    field = getattr(exc, "field", None)
    for start in ((f"{field}: ",) if field else ()) + tuple(f"{p}: " for p in prefixes):
        said = said.removeprefix(start)
    return said


MINUTES = "%Y-%m-%d %H:%M"


def local_time(moment, pattern: str = MINUTES) -> str:
    """A moment as wall-clock time in the flowchart's time zone, in ISO order: the same in both languages, and
    cheap to format (lists show many; Babel's locale-aware formatting costs a millisecond each)."""
    if moment is None:
        return ""
    local = moment.astimezone(zone())
    if pattern == MINUTES:  # the same text as strftime, in a third of its time (and less than isoformat's)
        return "%04d-%02d-%02d %02d:%02d" % (  # noqa: UP031 - the fastest of the three here
            local.year, local.month, local.day, local.hour, local.minute)
    return local.strftime(pattern)


def init_app(app: Flask) -> None:
    """After Flask-Babel (which gives the templates `_`, `gettext` and `ngettext`): the filters and the
    names every page uses."""
    app.jinja_env.filters["localtime"] = local_time

    from web import NAV

    @app.context_processor
    def _context():
        account = current_account()
        items = []
        if account is not None:
            items = [(endpoint, gettext(message)) for endpoint, message in NAV.get(account.role, [])
                     if endpoint in app.view_functions]
        return {"account": account, "current_lang": locale(), "nav_items": items,
                "role_label": role_label, "label": label, "endpoints": app.view_functions,
                "field_value": field_value, "words": words, "consent_status": consent_status}
