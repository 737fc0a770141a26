"""One check for text that people type, for the pages, the command line and the API alike.

Stored text must be Unicode that UTF-8 can hold (no unpaired surrogates, which JSON can escape) and holds no
NUL (PostgreSQL refuses it in text; C tools cut the text there). A name — of a person, of a member of staff,
a username — also holds no control characters and no bidirectional controls (U+202A–U+202E, U+2066–U+2069,
U+200E, U+200F, U+061C): those make a name read on screen differently from how it is stored and searched
("Trojan Source", CVE-2021-42574), so one person could pass for another in a list or a log.
"""

from __future__ import annotations

import unicodedata

from cases.errors import InvalidConcern

__all__ = ["BIDI_CONTROLS", "check_text", "text_fault"]

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def text_fault(value: str, *, name: bool = False) -> tuple[str, str] | None:
    """What makes `value` unacceptable, in English and Swedish, or None; `name` adds the rules for names."""
    if "\x00" in value:
        return "contains a NUL character", "innehåller ett NUL-tecken"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return ("contains an unpaired surrogate, which is not text",
                "innehåller ett ensamt surrogattecken, som inte är text")
    if name:
        if any(c in BIDI_CONTROLS for c in value):
            return ("contains a character that changes the writing direction, which can make a name read "
                    "differently from how it is stored",
                    "innehåller ett tecken som ändrar skrivriktningen, som kan få ett namn att läsas annorlunda "
                    "än det lagras")
        if any(unicodedata.category(c) == "Cc" for c in value):
            return "contains a control character", "innehåller ett styrtecken"
    return None


def check_text(field: str, value: str, *, name: bool = False) -> str:
    """`value` unchanged, or `InvalidConcern` naming `field` and what is wrong with it."""
    fault = text_fault(value, name=name)
    if fault is not None:
        raise InvalidConcern(field, *fault)
    return value
