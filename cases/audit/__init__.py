"""The logs beneath the work they record: appending to the transition, access and administration logs, their
Merkle trees, signed checkpoints, verification, export and proofs, and what auditors read of them, and the
watch on how much each member of staff reads. Nothing here imports `cases.casework`.

`verify` is not re-exported: the name is its module's, `cases.audit.verify`.
"""

from __future__ import annotations

from cases.audit.checkpoints import issue_checkpoint, latest_checkpoint
from cases.audit.export import export_logs
from cases.audit.log import LOGS
from cases.audit.signing import LogSigner

__all__ = [
    "LOGS",
    "LogSigner",
    "export_logs",
    "issue_checkpoint",
    "latest_checkpoint",
]
