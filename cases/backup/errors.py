"""The refusals of backup and restore; each names what is wrong and what to do, never a person's data.

    VidoroError
    └── BackupRefused            a backup that cannot be taken, or restored, as asked; nothing was written
"""

from __future__ import annotations

from workflow.errors import VidoroError

__all__ = ["BackupRefused"]


class BackupRefused(VidoroError):
    """A backup that cannot be taken or restored as asked: `what` names the file, folder or database, the
    rest what to do. Nothing was written to the instance."""

    code = "backup_refused"

    def __init__(self, what: str, todo: str, todo_sv: str) -> None:
        super().__init__(f"{what}: {todo}", message_sv=f"{what}: {todo_sv}")
        self.what = what
