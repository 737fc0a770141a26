"""What an auditor reads of the logs: filtered pages of entries, a verification summary without personal data,
and the latest checkpoints — never case content. (The emergency accesses waiting for review are in
`cases.casework.reviews`: the logs are beneath the casework they record.)

Deny by default: only auditors list the logs and verify them. A row shows what its signed entry says (actor,
role, trigger or action, the coded fields), not what the search columns say, so an edited column cannot
mislead the auditor; `verify` reports such an edit as `columns_changed`. Filters use the search columns and
their indexes; the transition log has no actor column (adding one needs a migration), so filtering it by actor
matches the actor's id in the canonical entry text and scans the log.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, LargeBinary, func, literal, select
from sqlalchemy.orm import Session

from cases.actors import require_staff, usernames, utcnow
from cases.audit.checkpoints import latest_checkpoint
from cases.audit.log import LOGS
from cases.audit.verify import KINDS, Report, verify
from cases.db import Database
from cases.errors import InvalidConcern, NotPermitted
from cases.flowcharts import FLOWCHARTS, current_engine
from cases.models import AccessLogEntry, AdministrationLogEntry, Staff, TransitionLogEntry
from policies.access import AUDITING_ROLES
from policies.decisions import NOTIFIED
from policies.flags import FLAG_CLEARED, FLAG_SET
from policies.relatives import RELATIVE_INFORMED
from policies.routines.retention import HOLD_LIFTED, HOLD_PLACED
from policies.rules import COMPLETE_IDENTITY, WITHHOLD_FEEDBACK
from workflow import Actor
from workflow.engine import REGISTER
from workflow.hearing import LOG_ACTIONS
from workflow.interventions import LOG_TRIGGERS as INTERVENTION_STEPS

__all__ = [
    "ACTIONS",
    "BESIDE_THE_STEPS",
    "PER_PAGE",
    "AccessRow",
    "AdministrationRow",
    "CheckpointInfo",
    "LogFilter",
    "LogPage",
    "TransitionRow",
    "access_entries",
    "administration_entries",
    "finding_meaning",
    "known_triggers",
    "latest_checkpoints",
    "summarise",
    "transition_entries",
    "verify_logs",
]

_Row = TypeVar("_Row", TransitionLogEntry, AccessLogEntry, AdministrationLogEntry)

PER_PAGE = 50
# what the access log records: reads (cases.casework.access), disclosures (cases.casework.disclosures), and a reviewer
# shown a
# case's emergency reasons (cases.casework.emergency)
ACTIONS = ("read", "disclose", "disclosure_refused", "review")
MAX_SHOWN_FINDINGS = 10
_REF = re.compile(r"^[A-Z0-9-]{1,16}$")


@dataclass(frozen=True)
class LogFilter:
    """What to list: each given part must hold; `since` is inclusive, `until` exclusive (aware datetimes)."""

    case_ref: str | None = None
    username: str | None = None
    kind: str | None = None  # a trigger (transition log) or an action (access log)
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class TransitionRow:
    seq: int
    at: datetime
    case_ref: str
    username: str  # the actor's username, or their id if the account is gone
    role: str
    trigger: str
    from_state: str | None
    to_state: str
    codes: dict[str, Any]


@dataclass(frozen=True)
class AccessRow:
    seq: int
    at: datetime
    case_ref: str
    username: str
    role: str
    action: str
    ground: str
    fields: tuple[str, ...]
    codes: dict[str, Any]


@dataclass(frozen=True)
class AdministrationRow:
    seq: int
    at: datetime
    actor: str  # the administrator's username, their id if the account is gone, or "operator"
    target: str  # the account's username, or its id if the account is gone
    action: str
    codes: dict[str, Any]


@dataclass(frozen=True)
class LogPage:
    items: tuple
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class CheckpointInfo:
    log: str
    origin: str
    size: int
    root_b64: str
    issued_at: datetime


# The transition log's entries that are no flowchart step (the case stays in its state): a decision's
# notification, the records of kommunicering, the decision not to give the reporter feedback, the steps of
# an intervention (flowchart version 3 on: `intervention_propose`, `intervention_decide` …), the completed
# identity of a person registered by name and approximate age (`cases.sources`), a relative told that support
# exists (`cases.relatives`), a flag set or cleared (`cases.flags`) and a legal hold placed or lifted
# (`cases.retention`).
BESIDE_THE_STEPS = (NOTIFIED, *LOG_ACTIONS, WITHHOLD_FEEDBACK, *INTERVENTION_STEPS, COMPLETE_IDENTITY,
                    RELATIVE_INFORMED, FLAG_SET, FLAG_CLEARED, HOLD_PLACED, HOLD_LIFTED)


def known_triggers() -> tuple[str, ...]:
    """The triggers a transition entry can name: registration, every trigger of the current flowcharts (the
    subject's and a relative's matter's), and the entries beside the steps: the notification of a decision
    (`cases.decisions`), the records of kommunicering (`workflow.hearing.LOG_ACTIONS`), the decision not to give
    the reporter feedback (`cases.casework.feedback`), a relative told that support exists (`cases.relatives`)."""
    steps = dict.fromkeys(t for name in FLOWCHARTS for t in current_engine(name).chart.triggers)
    return (REGISTER, *steps, *BESIDE_THE_STEPS)


def _require_auditor(session: Session, actor: Actor, what: str) -> None:
    if actor.role not in AUDITING_ROLES:
        raise NotPermitted(what, actor.role)
    require_staff(session, actor)


def transition_entries(db: Database, actor: Actor, wanted: LogFilter = LogFilter(), *, page: int = 1,
                       per_page: int = PER_PAGE) -> LogPage:
    """A page of the transition log, newest first, filtered by case, actor, trigger and time."""
    table = TransitionLogEntry
    with db.read() as session:
        _require_auditor(session, actor, "read the transition log")
        if wanted.kind is not None and wanted.kind not in known_triggers():
            raise InvalidConcern("kind", "not a trigger of the flowchart", "ingen händelse i flödet")
        conditions = _common(session, table, wanted)
        if wanted.kind is not None:
            conditions.append(table.trigger == wanted.kind)
        actor_id = _actor_id(session, wanted.username)
        if actor_id is not None:
            # No actor column: match `"actor":"<id>"` in the canonical entry; a JSON string cannot hold an
            # unescaped quote, so only the entry's own actor key (or a code of that name, dropped below) matches.
            conditions.append(_holds(session, table.entry, b'"actor":' + json.dumps(actor_id).encode()))
        page_rows, total, number, pages = _page(session, table, conditions, page, per_page)
        bodies = [(row, _body(row.entry)) for row in page_rows]
        if actor_id is not None:
            bodies = [(row, body) for row, body in bodies if body.get("actor") == actor_id]
        names = usernames(session, {body.get("actor") for _, body in bodies})
    items = tuple(TransitionRow(row.seq, row.at, row.case_ref, _who(names, body, "actor"),
                                body.get("role", ""), body.get("trigger", ""), body.get("from"), body.get("to", ""),
                                body.get("codes") or {}) for row, body in bodies)
    return LogPage(items, total, number, pages)


def access_entries(db: Database, actor: Actor, wanted: LogFilter = LogFilter(), *, page: int = 1,
                   per_page: int = PER_PAGE) -> LogPage:
    """A page of the access log, newest first, filtered by case, actor, action and time."""
    table = AccessLogEntry
    with db.read() as session:
        _require_auditor(session, actor, "read the access log")
        if wanted.kind is not None and wanted.kind not in ACTIONS:
            raise InvalidConcern("kind", "not an action of the access log", "ingen åtgärd i åtkomstloggen")
        conditions = _common(session, table, wanted)
        if wanted.kind is not None:
            conditions.append(table.action == wanted.kind)
        actor_id = _actor_id(session, wanted.username)
        if actor_id is not None:
            conditions.append(table.actor_id == actor_id)
        page_rows, total, number, pages = _page(session, table, conditions, page, per_page)
        bodies = [(row, _body(row.entry)) for row in page_rows]
        names = usernames(session, {body.get("actor") for _, body in bodies})
    items = tuple(AccessRow(row.seq, row.at, row.case_ref, _who(names, body, "actor"),
                            body.get("role", ""), body.get("action", ""), body.get("ground", ""),
                            tuple(body.get("fields") or ()), body.get("codes") or {}) for row, body in bodies)
    return LogPage(items, total, number, pages)


def administration_entries(db: Database, actor: Actor, *, page: int = 1, per_page: int = PER_PAGE) -> LogPage:
    """A page of the administration log, newest first: who changed which account, and how."""
    table = AdministrationLogEntry
    with db.read() as session:
        _require_auditor(session, actor, "read the administration log")
        page_rows, total, number, pages = _page(session, table, [], page, per_page)
        bodies = [(row, _body(row.entry)) for row in page_rows]
        names = usernames(session, {body.get(key) for _, body in bodies for key in ("actor", "target")})
    items = tuple(AdministrationRow(row.seq, row.at, _who(names, body, "actor"),
                                    _who(names, body, "target"), body.get("action", ""),
                                    body.get("codes") or {}) for row, body in bodies)
    return LogPage(items, total, number, pages)


def _common(
    session: Session, table: type[TransitionLogEntry] | type[AccessLogEntry], wanted: LogFilter
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if wanted.case_ref is not None:
        ref = wanted.case_ref.strip().upper()
        if not _REF.match(ref):
            raise InvalidConcern("case_ref", "not a case reference (like VO-1A2B3C4D)",
                                 "inte en ärendebeteckning (som VO-1A2B3C4D)")
        conditions.append(table.case_ref == ref)
    for moment in (wanted.since, wanted.until):
        if moment is not None and moment.tzinfo is None:
            raise ValueError("log filter times must be timezone-aware")
    if wanted.since is not None and wanted.until is not None and wanted.until <= wanted.since:
        raise InvalidConcern("until", "must be after the start", "måste vara efter början")
    if wanted.since is not None:
        conditions.append(table.at >= wanted.since)
    if wanted.until is not None:
        conditions.append(table.at < wanted.until)
    return conditions


def _holds(session: Session, column, needle: bytes):
    """`column` (bytes) contains `needle`: SQLite's LIKE does not match blobs, its instr() does."""
    if session.get_bind().dialect.name == "sqlite":
        return func.instr(column, literal(needle, LargeBinary)) > 0
    escaped = needle.replace(b"\\", b"\\\\").replace(b"%", b"\\%").replace(b"_", b"\\_")
    return column.op("LIKE")(literal(b"%" + escaped + b"%", LargeBinary))


def _actor_id(session: Session, username: str | None) -> str | None:
    if username is None:
        return None
    found = session.scalar(select(Staff.id).where(Staff.username == username.strip().lower()))
    if found is None:
        raise InvalidConcern("actor", "no account has this username", "inget konto har detta användarnamn")
    return found


def _page(
    session: Session, table: type[_Row], conditions: list[ColumnElement[bool]], page: int, per_page: int
) -> tuple[Sequence[_Row], int, int, int]:
    if conditions:
        total = session.scalars(select(func.count()).select_from(table).where(*conditions)).one()
    else:
        total = session.scalars(select(func.coalesce(func.max(table.seq), 0))).one()  # seq has no gaps: cheap
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.execute(select(table).where(*conditions).order_by(table.seq.desc())
                           .limit(per_page).offset((page - 1) * per_page)).scalars().all()
    return rows, total, page, pages


def _body(entry: bytes) -> dict[str, Any]:
    """The signed entry's fields; an entry that is not JSON any more (tampered) shows as empty, never a crash."""
    try:
        body = json.loads(entry)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _who(names: Mapping[str, str], body: Mapping[str, Any], key: str) -> str:
    """The username of the staff id at `key` of an entry, or the id itself where no account has it."""
    staff_id = body.get(key, "")
    return names.get(staff_id, staff_id)



# --- verification ---------------------------------------------------------------------------------------------


def verify_logs(db: Database, actor: Actor, verifier_key: str, *, origin_prefix: str | None = None) -> dict[str, Any]:
    """Verify both logs as `actor` (an auditor) and return the summary to keep (`summarise`).

    Both logs are streamed whole (`cases.audit.verify`): about ten seconds per million entries (bench/README.md).
    """
    with db.read() as session:
        _require_auditor(session, actor, "verify the logs")
    started = utcnow()
    report = verify(db, verifier_key, (), origin_prefix=origin_prefix)
    return summarise(report, verifier_key, started=started, finished=utcnow())


def summarise(report: Report, verifier_key: str, *, started: datetime, finished: datetime) -> dict[str, Any]:
    """A verification as plain JSON-able data: counts, roots, the first findings; pseudonyms only, no names."""
    return {
        "format": 1,
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "verifier_key": verifier_key,
        "ok": report.ok,
        "logs": [{"name": log.name, "entries": log.entries, "nodes": log.nodes, "checkpoints": log.checkpoints,
                  "root": base64.b64encode(log.root).decode()} for log in report.logs.values()],
        "cases": report.cases,
        "finding_count": len(report.findings),
        "findings": [{"kind": f.kind, "log": f.log, "where": f.where, "detail": f.detail}
                     for f in report.findings[:MAX_SHOWN_FINDINGS]],
    }


def finding_meaning(kind: str, lang: str) -> str:
    """What a kind of finding indicates, in `lang` (en or sv)."""
    english, swedish = KINDS.get(kind, (kind, kind))
    return english if lang == "en" else swedish


def latest_checkpoints(db: Database, actor: Actor) -> list[CheckpointInfo]:
    """The newest stored checkpoint of each log (none yet: left out)."""
    with db.read() as session:
        _require_auditor(session, actor, "see the checkpoints")
    found = []
    for name in LOGS:
        checkpoint = latest_checkpoint(db, name)
        if checkpoint is not None:
            found.append(CheckpointInfo(name, checkpoint.note.split("\n", 1)[0], checkpoint.size,
                                        base64.b64encode(checkpoint.root).decode(), checkpoint.created_at))
    return found
