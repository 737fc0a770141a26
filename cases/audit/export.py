"""Export the logs for an auditor: JSON Lines that the standalone verifier checks on another machine.

One object per line: a header (format, origins, the verifier key the instance signs with, for reference
only — the auditor checks against the key they hold), every stored checkpoint (first, so that a verifier
can check roots while streaming), every entry of each log in order with its exact bytes as a JSON string,
each case's pseudonym and state (no personal data: the logs and states hold none), and an end line with the
counts, so a cut-off file is noticed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from sqlalchemy import func, select

from cases.audit.log import LOGS
from cases.audit.signing import LogSigner
from cases.db import Database
from cases.models import Case, Checkpoint

__all__ = ["EXPORT_FORMAT", "export_logs"]

EXPORT_FORMAT = "vidoro-audit-export/1"
BATCH = 5000


def export_logs(db: Database, signer: LogSigner, out: TextIO, *, progress: Callable[[int], None] | None = None,
                now: datetime | None = None) -> dict[str, int]:
    """Write the export to `out` in one read transaction (a consistent view); return the entry counts."""
    counts: dict[str, int] = {}
    with db.snapshot() as session:
        sizes = {name: session.scalars(select(func.coalesce(func.max(log.entries.seq), 0))).one()
                 for name, log in LOGS.items()}
        _line(out, {"type": "header", "format": EXPORT_FORMAT, "exported_at": (now or datetime.now(UTC)).isoformat(),
                    "log_name": signer.name, "verifier_key": signer.verifier_key,
                    "logs": {name: {"origin": signer.origin(name), "size": sizes[name]} for name in LOGS}})
        for checkpoint in session.scalars(select(Checkpoint).order_by(Checkpoint.log, Checkpoint.size)):
            if checkpoint.size <= sizes[checkpoint.log]:
                _line(out, {"type": "checkpoint", "log": checkpoint.log, "note": checkpoint.note})
        for name, log in LOGS.items():
            table, last, counts[name] = log.entries, 0, 0
            while last < sizes[name]:
                rows = session.execute(select(table.seq, table.entry).where(table.seq > last, table.seq <= sizes[name])
                                       .order_by(table.seq).limit(BATCH)).all()
                if not rows:
                    break
                for seq, entry in rows:
                    _line(out, {"type": "entry", "log": name, "seq": seq, "entry": bytes(entry).decode("utf-8")})
                counts[name] += len(rows)
                last = rows[-1][0]
                if progress:
                    progress(len(rows))
        for ref, state in session.execute(select(Case.ref, Case.state).order_by(Case.ref)):
            _line(out, {"type": "case", "case": ref, "state": state})
        _line(out, {"type": "end", "entries": counts})
    return counts


def _line(out: TextIO, record: dict) -> None:
    out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
