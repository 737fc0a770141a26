"""Language: Swedish by default, English on request, every text through the Babel catalogue.

Texts in the code and templates are English message ids; `web/translations/sv` holds the Swedish. Labels
that belong to the flowchart (states, triggers, fields, vocabularies) come from the flowchart file, which
carries both languages.
"""

from __future__ import annotations

from flask import Flask, g, session
from flask_babel import get_translations, gettext, lazy_gettext
from markupsafe import Markup

from web import N_
from web.access import current_account
from web.clock import zone

__all__ = ["error_text", "init_app", "label", "local_time", "locale", "role_label", "text"]

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
    return text(ROLE_LABELS[role]) if role in ROLE_LABELS else role


def label(item, lang: str | None = None) -> str:
    """A flowchart label (anything with `sv` and `en`, or a mapping of them) in `lang` (default: the current
    language)."""
    lang = lang or locale()
    if isinstance(item, dict):
        return item.get(lang) or item.get("sv") or ""
    return getattr(item, lang, None) or getattr(item, "sv", "")


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


def _translations():
    """This request's catalogue, looked up once: Flask-Babel finds it through several layers of context on
    every call, and a page asks for a few dozen texts."""
    try:
        return g.vidoro_translations
    except AttributeError:
        g.vidoro_translations = found = get_translations()
        return found


def text(message: str) -> str:
    """`gettext` for views that show many texts: the catalogue found once per request (no variables)."""
    return _translations().ugettext(message)


def init_app(app: Flask) -> None:
    """After Flask-Babel: the templates' `_`/`ngettext` read the catalogue found once per request."""
    app.jinja_env.filters["localtime"] = local_time
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True)
    app.jinja_env.globals["_"] = _template_gettext

    from web import NAV

    @app.context_processor
    def _context():
        account = current_account()
        items = []
        if account is not None:
            items = [(endpoint, text(message)) for endpoint, message in NAV.get(account.role, [])
                     if endpoint in app.view_functions]
        return {"_": _bound_gettext(), "account": account, "current_lang": locale(), "nav_items": items,
                "role_label": role_label, "label": label, "endpoints": app.view_functions,
                "field_value": field_value, "words": words, "consent_status": consent_status}


_SHOWN: dict[tuple[str, str], Markup] = {}  # (language, text) → the text as markup, for texts without variables


def _bound_gettext():
    """The page's `_`, bound to the request's catalogue when the page is rendered, so that each of its few
    dozen texts goes straight to it (the global `_` below finds it again through `g` every time). A text
    without variables is the same markup on every page in one language (the catalogues do not change while
    the server runs), so it is made once."""
    ugettext = _translations().ugettext
    lang = locale()

    def gettext_markup(message: str, **variables) -> Markup:
        if variables:
            return Markup(ugettext(message)) % variables  # noqa: S704 - our own catalogue's text
        try:
            return _SHOWN[lang, message]
        except KeyError:
            _SHOWN[lang, message] = shown = Markup(ugettext(message)) % {}  # noqa: S704 - as above
            return shown

    return gettext_markup


def _template_gettext(message: str, **variables) -> Markup:
    """The templates' `_`, as Jinja's new-style gettext does it (the text is markup, the variables are
    escaped into it, `%%` is `%`) in one call instead of three: a page asks for a few dozen texts."""
    return Markup(_translations().ugettext(message)) % variables  # noqa: S704 - our own catalogue's text
