"""Opaque page cursors for keyset pagination (the work list, a person's notifications): a list of JSON values
as base64url, unsigned — a cursor only says where to start reading; the list's own filters apply whatever it
says. Each list packs its own key and checks the values it unpacks."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from cases.errors import BadCursor

__all__ = ["MAX_CURSOR", "pack", "unpack"]

MAX_CURSOR = 200  # characters: every key vidoro pages by is a quarter of that; longer is not ours
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def pack(values: list[Any]) -> str:
    """The cursor of a page's key values (JSON-serialisable, no personal data)."""
    document = json.dumps(values, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode()).rstrip(b"=").decode("ascii")


def unpack(cursor: object, length: int) -> list[Any]:
    """The `length` values of a cursor from `pack`; `BadCursor` for anything else."""
    # base64's decoder skips what is not in its alphabet: the whole cursor must be in it
    if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR or not _BASE64URL.fullmatch(cursor):
        raise BadCursor
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise BadCursor from exc
    if not isinstance(values, list) or len(values) != length:
        raise BadCursor
    return values
