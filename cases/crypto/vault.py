"""Seal and open personal fields: AES-256-GCM under the case's data key, bound to where the value belongs.

The associated data names the table, the row, the field and the data-key version, so a ciphertext copied
to another row or field, or with a flipped bit, is refused with `CiphertextRejected` — never garbage.
Every personal value is sealed and opened here and nowhere else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cases.crypto.keys import KeyStore
from cases.errors import CiphertextRejected

__all__ = ["DEK_VERSION", "CaseKey", "Vault"]

DEK_VERSION = 1  # a case's data key never changes; KEK rotation re-wraps it without touching records
_PREFIX = b"\x01"


class CaseKey:
    """One case's data key, for sealing and opening that case's personal fields."""

    __slots__ = ("_aead", "case_id")

    def __init__(self, case_id: str, dek: bytes) -> None:
        self.case_id = case_id
        self._aead = AESGCM(dek)

    @overload
    def seal(self, table: str, row_id: str, field: str, value: str) -> bytes: ...
    @overload
    def seal(self, table: str, row_id: str, field: str, value: None) -> None: ...
    @overload
    def seal(self, table: str, row_id: str, field: str, value: str | None) -> bytes | None: ...

    def seal(self, table: str, row_id: str, field: str, value: str | None) -> bytes | None:
        if value is None:
            return None
        nonce = secrets.token_bytes(12)
        return _PREFIX + nonce + self._aead.encrypt(nonce, value.encode("utf-8"), _ad(table, row_id, field))

    @overload
    def open(self, table: str, row_id: str, field: str, blob: bytes) -> str: ...
    @overload
    def open(self, table: str, row_id: str, field: str, blob: None) -> None: ...
    @overload
    def open(self, table: str, row_id: str, field: str, blob: bytes | None) -> str | None: ...

    def open(self, table: str, row_id: str, field: str, blob: bytes | None) -> str | None:
        if blob is None:
            return None
        if len(blob) < 29 or blob[:1] != _PREFIX:
            raise CiphertextRejected(table, row_id, field)
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], _ad(table, row_id, field)).decode("utf-8")
        except (InvalidTag, UnicodeDecodeError):
            raise CiphertextRejected(table, row_id, field) from None

    def seal_json(self, table: str, row_id: str, field: str, value: Any) -> bytes:
        return self.seal(table, row_id, field, json.dumps(value, sort_keys=True, separators=(",", ":")))

    def open_json(self, table: str, row_id: str, field: str, blob: bytes) -> Any:
        return json.loads(self.open(table, row_id, field, blob))


class Vault:
    """The door personal data passes through: data keys from the key store, and the blind index."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    def new_case_key(self, case_id: str) -> CaseKey:
        return CaseKey(case_id, self.keys.create_data_key(case_id))

    def case_key(self, case_id: str) -> CaseKey:
        """The case's key; raises `KeyDestroyed` once the case has been erased."""
        return CaseKey(case_id, self.keys.data_key(case_id))

    def destroy(self, case_id: str) -> None:
        self.keys.destroy_data_key(case_id)

    def blind_index(self, normalised_number: str) -> str:
        """A keyed hash of an identity number: finds the same person without storing or decrypting the number."""
        return hmac.new(self.keys.index_key(), b"vidoro/pin/1|" + normalised_number.encode(),
                        hashlib.sha256).hexdigest()

    def keyed_hash(self, purpose: str, data: bytes) -> str:
        """A keyed hash of `data` for `purpose` (domain-separated from the blind index): compares requests
        without keeping them, and without a hash anyone could reverse by trying identity numbers."""
        if purpose == "pin":
            raise ValueError("the blind index of identity numbers has its own method")
        return hmac.new(self.keys.index_key(), f"vidoro/{purpose}/1|".encode() + data, hashlib.sha256).hexdigest()


def _ad(table: str, row_id: str, field: str) -> bytes:
    return f"vidoro/field/1|{table}|{row_id}|{field}|dek{DEK_VERSION}".encode()
