"""Backup and restore of an instance: a consistent copy while vidoro runs, and its return into an empty instance.

An instance backup holds the SQLite database (on PostgreSQL the database's own tools copy it), the keyring of
wrapped data keys, the log signing key and a manifest; never the key-encryption keys, which `copy_keks` copies
apart for a separate, offline medium. So a stolen backup opens no case, and once the KEKs are rotated and the
old ones retired (`vidoro keys rotate`, `vidoro keys retire`), no older backup opens any case either: an
erasure reaches every backup within one rotation period. docs/operations.md "Backup and restore" says how.
"""

from __future__ import annotations

from cases.backup.errors import BackupRefused
from cases.backup.manifest import Manifest
from cases.backup.restore import Restored, restore
from cases.backup.take import Progress, copy_keks, take_backup

__all__ = ["BackupRefused", "Manifest", "Progress", "Restored", "copy_keks", "restore", "take_backup"]
