"""The transition log's entries: a canonical byte encoding without personal data, and the hash chain.

An entry holds who (staff id and role), when, which case (its pseudonym), from, to, the trigger, the coded
fields (outcome, legal basis, recipients, dates) and a salted hash of the whole form. Free text never
enters the log. Entries hash with RFC 9162's leaf hash, SHA-256(0x00 ‖ entry), so that the Merkle tree of
the audit issue can be built over the same leaves; here each entry's chain hash also commits to the one
before it, so a changed, removed or reordered entry breaks every hash after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

__all__ = ["GENESIS", "AccessEntry", "AdministrationEntry", "JournalEntry", "LogEntry", "chain_hash", "leaf_hash",
           "payload_hash"]

GENESIS = bytes(32)
ENTRY_FORMAT = 1


@dataclass(frozen=True)
class LogEntry:
    """One transition as it is written to the log (no personal data)."""

    at: datetime
    case_ref: str
    actor_id: str
    role: str
    trigger: str
    from_state: str | None
    to_state: str
    flowchart_version: str
    codes: Mapping[str, Any] = field(default_factory=dict)
    payload_hash: str = ""

    def canonical(self) -> bytes:
        """The entry as sorted, compact UTF-8 JSON: the same entry always gives the same bytes."""
        body = {
            "v": ENTRY_FORMAT,
            "at": _utc(self.at),
            "case": self.case_ref,
            "actor": self.actor_id,
            "role": self.role,
            "trigger": self.trigger,
            "from": self.from_state,
            "to": self.to_state,
            "flowchart": self.flowchart_version,
            "codes": {k: _plain(v) for k, v in sorted(self.codes.items())},
            "payload": self.payload_hash,
        }
        return _canonical(body)

    @classmethod
    def from_canonical(cls, data: bytes) -> LogEntry:
        body = json.loads(data)
        return cls(
            at=datetime.fromisoformat(body["at"]),
            case_ref=body["case"],
            actor_id=body["actor"],
            role=body["role"],
            trigger=body["trigger"],
            from_state=body["from"],
            to_state=body["to"],
            flowchart_version=body["flowchart"],
            codes=body["codes"],
            payload_hash=body["payload"],
        )


@dataclass(frozen=True)
class AccessEntry:
    """One read of decrypted personal data, or one disclosure decision, as written to the access log.

    `ground` says why the reader may see the case: assignment, role (intake, decider), emergency (with a
    written reason kept outside the log and flagged for review). For a disclosure it is referral (a
    partner's packet), consent or legal_basis, and none for a refused one. `fields` names the fields read,
    never their values.
    """

    at: datetime
    case_ref: str
    actor_id: str
    role: str
    action: str
    ground: str
    fields: tuple[str, ...] = ()
    codes: Mapping[str, Any] = field(default_factory=dict)
    reason_hash: str = ""

    def canonical(self) -> bytes:
        body = {
            "v": ENTRY_FORMAT,
            "at": _utc(self.at),
            "case": self.case_ref,
            "actor": self.actor_id,
            "role": self.role,
            "action": self.action,
            "ground": self.ground,
            "fields": sorted(self.fields),
            "codes": {k: _plain(v) for k, v in sorted(self.codes.items())},
            "reason": self.reason_hash,
        }
        return _canonical(body)


@dataclass(frozen=True)
class AdministrationEntry:
    """One change to an account, as written to the administration log: who, whom, what, when.

    `actor_id` is the administrator's staff id, or "operator" for the server's command line; `target_id` the
    account's staff id. `codes` hold roles, a partner's unit and a grant's id: never a name, a username or a
    password.
    """

    at: datetime
    actor_id: str
    target_id: str
    action: str
    codes: Mapping[str, Any] = field(default_factory=dict)

    def canonical(self) -> bytes:
        body = {
            "v": ENTRY_FORMAT,
            "at": _utc(self.at),
            "actor": self.actor_id,
            "target": self.target_id,
            "action": self.action,
            "codes": {k: _plain(v) for k, v in sorted(self.codes.items())},
        }
        return _canonical(body)


@dataclass(frozen=True)
class JournalEntry:
    """One change to a journal note, as written to the journal log: who, which case and note, what, when.

    `action` is what was done to the note (written as a draft, edited, deleted, signed, or a signed
    correction written); `kind` its kind's code; `content` the hash of the note as stored (its sealed text,
    kind, date, author and what it corrects: `cases.audit.notes`), so that a note changed in the database
    afterwards no longer matches its last entry. Never the text, nor the date of what happened.
    """

    at: datetime
    case_ref: str
    actor_id: str
    role: str
    action: str
    note_id: str
    kind: str
    content: str
    corrects: str | None = None

    def canonical(self) -> bytes:
        body = {
            "v": ENTRY_FORMAT,
            "at": _utc(self.at),
            "case": self.case_ref,
            "actor": self.actor_id,
            "role": self.role,
            "action": self.action,
            "note": self.note_id,
            "kind": self.kind,
            "content": self.content,
            "corrects": self.corrects,
        }
        return _canonical(body)


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 §2.1.1: the hash of a leaf is SHA-256(0x00 ‖ entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def chain_hash(previous: bytes, entry: bytes) -> bytes:
    """The running hash after `entry`: SHA-256(previous chain hash ‖ leaf hash of entry)."""
    return hashlib.sha256(previous + leaf_hash(entry)).digest()


def payload_hash(payload: Mapping[str, Any], salt: bytes) -> str:
    """A salted hash of the whole form, so the log commits to it without a guessable digest of free text."""
    if len(salt) < 16:
        raise ValueError("the payload salt must be at least 16 random bytes")
    body = json.dumps({k: _plain(v) for k, v in payload.items()}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(salt + body.encode()).hexdigest()


def _canonical(body: Mapping[str, Any]) -> bytes:
    """Sorted, compact UTF-8 JSON: the same entry always gives the same bytes."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("log times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | frozenset | set):
        return sorted(_plain(v) for v in value)
    return value
