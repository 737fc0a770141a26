"""Swedish identity numbers: personnummer and samordningsnummer, in every written form.

Validation of personnummer and samordningsnummer is the maintained `personnummer` library's. Interim
numbers (a letter in place of the first digit of the serial number, e.g. 000101-T220) are recognised here
because that library does not know them; vidoro refuses them as identity numbers of a case, since the
flowchart asks for a personnummer or samordningsnummer, and asks for a birth date instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from personnummer import personnummer as _pn

from cases.errors import InvalidIdentityNumber

__all__ = ["ACCEPTED_KINDS", "IdentityNumber", "generate_identity_number", "parse_identity_number"]

ACCEPTED_KINDS = frozenset({"personnummer", "samordningsnummer"})
_INTERIM = re.compile(r"^(\d{2})?(\d{2})(\d{2})(\d{2})([-+]?)([TRSUWXJKLMN])(\d{2})(\d)$")


@dataclass(frozen=True)
class IdentityNumber:
    """A valid number: its kind, the normalised long form (YYYYMMDDNNNC) and the birth date it holds."""

    kind: str
    normalised: str
    birth_date: date

    def __repr__(self) -> str:  # never print the number itself
        return f"IdentityNumber(kind={self.kind!r})"


def parse_identity_number(text: str | int) -> IdentityNumber:
    """Parse any written form; raise `InvalidIdentityNumber` without repeating the number."""
    raw = str(text).strip()
    if not raw:
        raise InvalidIdentityNumber("empty", "tomt")
    interim = _INTERIM.match(raw.upper())
    if interim:
        return _interim(interim)
    try:
        number = _pn.Personnummer(raw)
    except _pn.PersonnummerException:
        raise InvalidIdentityNumber(
            "not a valid personnummer or samordningsnummer (check the digits and the format)",
            "inte ett giltigt personnummer eller samordningsnummer (kontrollera siffrorna och formatet)",
        ) from None
    kind = "samordningsnummer" if number.is_coordination_number() else "personnummer"
    return IdentityNumber(kind=kind, normalised=number.format(long_format=True), birth_date=number.get_date())


def _interim(match: re.Match[str]) -> IdentityNumber:
    century, year, month, day, _sep, letter, serial, check = match.groups()
    if _luhn(year + month + day + "1" + serial) != int(check):
        raise InvalidIdentityNumber("the check digit of the interim number is wrong",
                                    "interimsnumrets kontrollsiffra stämmer inte")
    full_year = int((century or _century(year)) + year)
    try:
        born = date(full_year, int(month), int(day))
    except ValueError:
        raise InvalidIdentityNumber("the date in the interim number does not exist",
                                    "datumet i interimsnumret finns inte") from None
    return IdentityNumber(kind="interim", normalised=f"{full_year}{month}{day}{letter}{serial}{check}",
                          birth_date=born)


def _century(year: str) -> str:
    this_year = date.today().year
    return str((this_year - ((this_year - int(year)) % 100)) // 100)


def _luhn(digits: str) -> int:
    total = 0
    for i, ch in enumerate(digits):
        v = int(ch) * (2 - i % 2)
        total += v - 9 if v > 9 else v
    return (10 - total % 10) % 10


def generate_identity_number(birth_date: date, serial: int, *, coordination: bool = False) -> str:
    """A valid number for generated people (demo data, tests): YYYYMMDDNNNC with a correct check digit.

    `serial` (1–999) picks the three-digit birth number; its last digit gives the legal sex. The numbers are
    valid but made up: use them only for people who do not exist.
    """
    if not 1 <= serial <= 999:
        raise ValueError("serial must be 1–999")
    day = birth_date.day + (60 if coordination else 0)
    short = f"{birth_date:%y%m}{day:02d}{serial:03d}"
    return f"{birth_date.year // 100}{short}{_luhn(short)}"
