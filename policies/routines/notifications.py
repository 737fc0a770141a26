"""The kinds of notification and their e-mails (`notifications.toml`), and the one renderer of a mail's text.

A mail leaves the municipality's network, so it carries no personal data: its subject and body are templates
that can hold only the count of unread notifications, the case's pseudonym and a link. That is enforced
twice: a template naming any other field (or reaching into one, `{case_ref.x}`, `{count[0]}`) is refused
when the file is read, and `render` takes only those three values, the pseudonym checked against its form.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from policies.errors import PolicyError
from policies.model import Label

__all__ = [
    "DEFAULT_NOTIFICATIONS_PATH",
    "MAIL_FIELDS",
    "Kind",
    "MailRules",
    "Notifications",
    "load_notifications",
    "parse_notifications",
    "render",
]

DEFAULT_NOTIFICATIONS_PATH = Path(__file__).with_name("notifications.toml")
MAIL_FIELDS = frozenset({"count", "case_ref", "link"})  # all a mail may say; nothing about a person
_CASE_REF = re.compile(r"VO-[0-9A-HJKMNP-TV-Z]{8}")  # a case's pseudonym (cases.casework.operations.new_ref)
_LINK = re.compile(r"https?://[A-Za-z0-9.\-:\[\]]+(/[A-Za-z0-9._~/\-]*)?")  # an address with no query or user
_NO_CASE = "–"


@dataclass(frozen=True)
class Kind:
    """One kind of notification: its words on the pages, and its mail's subject and body templates."""

    code: str
    label: Label
    subject: Label
    body: Label


@dataclass(frozen=True)
class MailRules:
    """How mail is sent: attempts before giving up, the lease of a claim, the wait before a retry, the batch, how
    long the mail server may take to answer."""

    max_attempts: int
    lease_seconds: int
    retry_seconds: int
    batch: int
    timeout_seconds: int
    path: str


@dataclass(frozen=True)
class Notifications:
    kinds: Mapping[str, Kind]
    mail: MailRules

    def __getitem__(self, code: str) -> Kind:
        return self.kinds[code]

    def __contains__(self, code: object) -> bool:
        return code in self.kinds

    def __iter__(self) -> Iterator[Kind]:
        return iter(self.kinds.values())


def render(template: str, *, count: int, case_ref: str | None, link: str) -> str:
    """The text of a mail: `template` with the count, the case's pseudonym and the link, and nothing else."""
    _check_template("render", "template", template)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError("count must be a whole number, 0 or more")
    if case_ref is not None and not _CASE_REF.fullmatch(case_ref):
        raise ValueError("case_ref must be a case's pseudonym (VO-…)")
    if not _LINK.fullmatch(link):
        raise ValueError("link must be an http(s) address without a query")
    return template.format(count=count, case_ref=case_ref or _NO_CASE, link=link)


def parse_notifications(text: str, *, source: str) -> Notifications:
    """Validate the notification kinds given as TOML text; `source` names them in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, f"is not valid TOML ({exc})") from None
    table = raw.get("kinds")
    if not isinstance(table, dict) or not table:
        raise PolicyError(source, "needs a non-empty table [kinds]")
    kinds = {code: _kind(source, code, spec) for code, spec in table.items()}
    return Notifications(kinds=kinds, mail=_mail(source, raw.get("mail")))


@cache
def load_notifications(path: Path = DEFAULT_NOTIFICATIONS_PATH) -> Notifications:
    """Read and validate the notification kinds at `path` (read once per process)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), f"cannot be read ({exc.strerror})") from None
    return parse_notifications(text, source=str(path))


def _kind(source: str, code: str, spec: Any) -> Kind:
    where = f"[kinds.{code}]"
    if not code.isidentifier() or not code.islower() or len(code) > 32:
        raise PolicyError(source, f"{where} is not a code (lower case, letters and _, at most 32)")
    if not isinstance(spec, dict):
        raise PolicyError(source, f"{where} must be a table")
    subject, body = _label(source, spec.get("subject"), f"{where} subject"), _label(source, spec.get("body"),
                                                                                     f"{where} body")
    for name, label in (("subject", subject), ("body", body)):
        for lang in ("sv", "en"):
            _check_template(source, f"{where} {name}.{lang}", label(lang))
    if "\n" in subject.sv or "\n" in subject.en:
        raise PolicyError(source, f"{where} subject must be one line")
    return Kind(code=code, label=_label(source, spec.get("label"), f"{where} label"), subject=subject, body=body)


def _check_template(source: str, where: str, template: str) -> None:
    """Only the fields of MAIL_FIELDS, each as it is: no attribute, index, conversion or format."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise PolicyError(source, f"{where} is not a valid template ({exc})") from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in MAIL_FIELDS or spec or conversion:
            raise PolicyError(source, f"{where} may hold only {{count}}, {{case_ref}} and {{link}}, not {{{field}}}")


def _mail(source: str, spec: Any) -> MailRules:
    if not isinstance(spec, dict):
        raise PolicyError(source, "needs a table [mail]")
    numbers = {}
    for name in ("max_attempts", "lease_seconds", "retry_seconds", "batch", "timeout_seconds"):
        value = spec.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PolicyError(source, f"[mail] {name} must be a whole number, 1 or more")
        numbers[name] = value
    # A claim must outlast the slowest batch, or another worker takes the mails over while they are being sent
    if numbers["lease_seconds"] < numbers["batch"] * numbers["timeout_seconds"]:
        raise PolicyError(source, "[mail] lease_seconds must be at least batch × timeout_seconds "
                                  f"({numbers['batch'] * numbers['timeout_seconds']})")
    path = spec.get("path")
    if not isinstance(path, str) or not re.fullmatch(r"/[A-Za-z0-9._~/\-]*", path):
        raise PolicyError(source, "[mail] path must be a path on the server, such as /notifications")
    return MailRules(path=path, **numbers)


def _label(source: str, value: Any, where: str) -> Label:
    if not (isinstance(value, dict) and isinstance(value.get("sv"), str) and isinstance(value.get("en"), str)
            and value["sv"].strip() and value["en"].strip()):
        raise PolicyError(source, f"{where} needs {{ sv = …, en = … }}")
    return Label(sv=value["sv"], en=value["en"])
