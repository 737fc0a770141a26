"""Checkpoints and proofs: for auditors over the network behind the auditor's role, and the same trees for
`vidoro audit proof` (the command line is the operator's, who holds the instance: no account).

A proof names no person: entries carry pseudonyms and salted hashes only (`cases.audit.log`).
"""

from __future__ import annotations

from cases.actors import require_staff
from cases.audit.checkpoints import IssuedCheckpoint, checkpoint_note, latest_checkpoint
from cases.audit.tree import ConsistencyProof, InclusionProof, consistency, inclusion, log_named, tree_size
from cases.db import Database
from cases.errors import InvalidConcern, NotPermitted
from policies.access import AUDITING_ROLES
from workflow import Actor

__all__ = [
    "auditor_checkpoint",
    "auditor_consistency",
    "auditor_inclusion",
    "operator_consistency",
    "operator_inclusion",
]


def _require_auditor(db: Database, actor: Actor, what: str) -> None:
    if actor.role not in AUDITING_ROLES:
        raise NotPermitted(what, actor.role)
    with db.read() as session:
        require_staff(session, actor)


def auditor_checkpoint(db: Database, actor: Actor, log_name: str) -> IssuedCheckpoint | None:
    """The newest signed checkpoint of the log, or None before the first."""
    _require_auditor(db, actor, "read checkpoints")
    log_named(log_name)
    return latest_checkpoint(db, log_name)


def auditor_inclusion(db: Database, actor: Actor, log_name: str, seq: int, size: int | None = None) -> InclusionProof:
    """Prove entry `seq` is in the log's tree of `size` entries (default: now)."""
    _require_auditor(db, actor, "read proofs")
    with db.snapshot() as session:
        log = log_named(log_name)
        current = tree_size(session, log)
        if size is not None and size > current:
            raise InvalidConcern("size", f"the log has {current} entries", f"loggen har {current} poster")
        if seq > (size or current):
            raise InvalidConcern("entry", f"no entry {seq} in a tree of {size or current}",
                                 f"ingen post {seq} i ett träd med {size or current}")
        return inclusion(session, log, seq, size)


def auditor_consistency(db: Database, actor: Actor, log_name: str, old_size: int,
                        new_size: int | None = None) -> ConsistencyProof:
    """Prove the log's first `old_size` entries are unchanged in its tree of `new_size` (default: now)."""
    _require_auditor(db, actor, "read proofs")
    with db.snapshot() as session:
        log = log_named(log_name)
        current = tree_size(session, log)
        newer = current if new_size is None else new_size
        if newer > current:
            raise InvalidConcern("to", f"the log has {current} entries", f"loggen har {current} poster")
        if not 0 < old_size <= newer:
            raise InvalidConcern("from", f"needs 0 < from ≤ to ({newer})", f"kräver 0 < från ≤ till ({newer})")
        return consistency(session, log, old_size, newer)


def operator_inclusion(db: Database, log_name: str, seq: int,
                       size: int | None = None) -> tuple[InclusionProof, str | None]:
    """Prove entry `seq` is in the log's tree of `size` entries (default: now), with the signed note of the
    checkpoint stored at that size if there is one, read in one snapshot. Raises ValueError for a proof the
    log cannot give (an unknown log, an entry or size past its end)."""
    with db.snapshot() as session:
        found = inclusion(session, log_named(log_name), seq, size)
        return found, checkpoint_note(session, log_name, found.size)


def operator_consistency(db: Database, log_name: str, old_size: int,
                         new_size: int | None = None) -> tuple[ConsistencyProof, str | None, str | None]:
    """Prove the log's first `old_size` entries are unchanged in its tree of `new_size` (default: now), with
    the signed notes of the checkpoints stored at both sizes, read in one snapshot. Raises ValueError as
    `operator_inclusion` does."""
    with db.snapshot() as session:
        found = consistency(session, log_named(log_name), old_size, new_size)
        return (found, checkpoint_note(session, log_name, found.old_size),
                checkpoint_note(session, log_name, found.new_size))
