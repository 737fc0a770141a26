"""Column types used across the models: UTC timestamps, and sealed personal values."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, LargeBinary
from sqlalchemy.types import TypeDecorator

__all__ = ["Sealed", "UTCDateTime"]


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


class Sealed(TypeDecorator[bytes]):
    """A personal value as stored: ciphertext sealed by `cases.crypto.vault`, never plaintext.

    Refuses `str` on the way in, so that a value that skipped the vault cannot reach the database.
    """

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect) -> bytes | None:
        if value is not None and not isinstance(value, bytes):
            raise TypeError("a personal field must be sealed by cases.crypto.vault before it is stored")
        return value
