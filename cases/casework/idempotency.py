"""Safe retries: the first answer to a request sent with an Idempotency-Key, kept with the change it made.

A client that repeats a request (its connection dropped, the answer was lost) sends the same key again. The
operation holds the key as the first write of its transaction and stores its answer as the last, so the
change and its answer are committed together or not at all:

- a repeat cannot hold the key again (the caller catches the conflict), finds the answer (`recall`) and
  gets it again, without a second change;
- a twin sent while the first is still running waits on the held key, then fails and finds the answer;
- the same key with a different request is refused (`IdempotencyKeyReused`);
- a refused or failed request stores nothing, so the client may try again with the same key.

Keys belong to one account. The request is kept only as a keyed hash (an identity number in a request must
not be recoverable from a table), the answer holds no personal data, and both are kept for `KEEP`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from cases.db import Database
from cases.errors import IdempotencyKeyReused, InvalidConcern
from cases.models import IdempotencyRecord
from workflow import Actor

__all__ = ["KEEP", "Answer", "Claim", "claim", "forget_expired", "recall"]

KEEP = timedelta(hours=24)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII: a UUID, a ULID, or the client's own scheme


@dataclass(frozen=True)
class Answer:
    """A stored answer: the status and the body the first request got."""

    status: int
    body: Mapping[str, Any]


@dataclass(frozen=True)
class Claim:
    """One account's key for one request, and how the operation's result becomes the answer to keep."""

    staff_id: str
    key: str
    fingerprint: str
    render: Callable[[Any], tuple[int, Mapping[str, Any]]]

    def hold(self, session: Session, now: datetime) -> None:
        """The first write of the operation's transaction: a twin with the same key waits here, then fails."""
        session.execute(delete(IdempotencyRecord).where(
            IdempotencyRecord.staff_id == self.staff_id, IdempotencyRecord.key == self.key,
            IdempotencyRecord.created_at < now - KEEP))
        session.add(IdempotencyRecord(staff_id=self.staff_id, key=self.key, fingerprint=self.fingerprint,
                                      status=0, answer={}, created_at=now))
        session.flush()

    def settle(self, session: Session, result: Any) -> None:
        """The last write: the answer, committed with the change it describes."""
        status, body = self.render(result)
        session.execute(update(IdempotencyRecord)
                        .where(IdempotencyRecord.staff_id == self.staff_id, IdempotencyRecord.key == self.key)
                        .values(status=status, answer=dict(body)))


def claim(db: Database, actor: Actor, key: str, request: bytes,
          render: Callable[[Any], tuple[int, Mapping[str, Any]]]) -> Claim:
    """A claim on `key` for `request` (its canonical bytes: method, path and body)."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InvalidConcern("Idempotency-Key", "1–255 visible ASCII characters, e.g. a UUID",
                             "1–255 synliga ASCII-tecken, t.ex. ett UUID")
    return Claim(actor.id, key, db.vault.keyed_hash("idempotency", request), render)


def recall(db: Database, claim: Claim, *, now: datetime | None = None) -> Answer | None:
    """The answer kept for this claim's key, or None; the same key with another request is refused."""
    now = now or datetime.now(UTC)
    with db.read() as session:
        record = session.scalars(select(IdempotencyRecord).where(
            IdempotencyRecord.staff_id == claim.staff_id, IdempotencyRecord.key == claim.key,
            IdempotencyRecord.created_at >= now - KEEP)).first()
        if record is None or record.status == 0:
            return None
        if record.fingerprint != claim.fingerprint:
            raise IdempotencyKeyReused()
        return Answer(record.status, record.answer)


def forget_expired(db: Database, *, now: datetime | None = None) -> int:
    """Drop answers older than `KEEP` (run with the retention job; `hold` also replaces an expired key)."""
    now = now or datetime.now(UTC)
    with db.write() as session:
        deleted = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - KEEP))
        return cast("CursorResult[Any]", deleted).rowcount  # a DML statement's result: SQLAlchemy types it as Result
