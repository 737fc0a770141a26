"""Keys and sealing: the key store and its files, the vault that seals personal fields with one data key per
case, identity numbers and their keyed blind index. Beneath everything else in `cases`.
"""

from __future__ import annotations

from cases.crypto.identity import IdentityNumber, parse_identity_number
from cases.crypto.keys import FileKeyStore, KeyStore
from cases.crypto.vault import CaseKey, Vault

__all__ = [
    "CaseKey",
    "FileKeyStore",
    "IdentityNumber",
    "KeyStore",
    "Vault",
    "parse_identity_number",
]
