"""Column types used across the models: UTC timestamps, and the one door personal data passes through.

Every personal field (identity number, names, birth date, free text, consent evidence) is declared with a
`Personal*` type. Their values pass `PersonalCodec.seal` on the way into the database and `open` on the
way out, so that encrypting them (the records issue) changes this module and the codec, never a caller.
Until then the codec stores plaintext; the name makes every personal column easy to find.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime, Text
from sqlalchemy.types import TypeDecorator

__all__ = ["PersonalDate", "PersonalJSON", "PersonalText", "UTCDateTime", "personal_codec"]


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class PlaintextCodec:
    """The codec before encryption: stores text as it is. Replaced by envelope encryption later."""

    def seal(self, text: str) -> str:
        return text

    def open(self, stored: str) -> str:
        return stored


personal_codec = PlaintextCodec()


class PersonalText(TypeDecorator[str]):
    """Free text or an identifier about a person."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return None if value is None else personal_codec.seal(value)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        return None if value is None else personal_codec.open(value)


class PersonalDate(TypeDecorator[date]):
    """A date about a person (a birth date): personal data, so stored through the codec too."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: date | None, dialect) -> str | None:
        return None if value is None else personal_codec.seal(value.isoformat())

    def process_result_value(self, value: str | None, dialect) -> date | None:
        return None if value is None else date.fromisoformat(personal_codec.open(value))


class PersonalJSON(TypeDecorator[Any]):
    """A structured form that may hold free text (a transition's payload)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect) -> str | None:
        if value is None:
            return None
        return personal_codec.seal(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str))

    def process_result_value(self, value: str | None, dialect) -> Any:
        return None if value is None else json.loads(personal_codec.open(value))
