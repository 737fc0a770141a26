"""The key that signs the logs' checkpoints: Ed25519, in its own file beside (never inside) the data keys.

`keys/log-signing.json` holds the key's name and its private key, owner-only. The name is the prefix of
both logs' origins (`<name>/transitions`, `<name>/access`) and the name in the signed note; the auditor
keeps the verifier key string (`vidoro audit key`) and checks every checkpoint against it. It is not the
data-encryption key and opens nothing: it can only vouch for a tree head.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cases.crypto.keyfiles import write_private
from cases.errors import KeyMaterialError
from workflow.checkpoint import Checkpoint, sign, verifier_key

__all__ = ["SIGNING_FILE", "LogSigner"]

SIGNING_FILE = "log-signing.json"
_FORMAT = 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}")


class LogSigner:
    """Signs checkpoints of the instance's logs with its Ed25519 key."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not _NAME.fullmatch(name):
            raise ValueError(f"a log name is letters, digits and . _ / - (at most 100): {name!r}")
        self.name = name
        self._key = private_key

    @classmethod
    def create(cls, folder: str | Path, name: str | None = None) -> LogSigner:
        """Open the instance's signing key, creating it (owner-only) if there is none; never replace one."""
        path = Path(folder) / SIGNING_FILE
        if not path.exists():
            name = name or f"vidoro/{secrets.token_hex(4)}"
            cls(name, Ed25519PrivateKey.generate())  # checks the name before anything is written
            seed = secrets.token_bytes(32)
            body = {"format": _FORMAT, "name": name, "ed25519_seed": base64.b64encode(seed).decode(),
                    "created": datetime.now(UTC).isoformat()}
            Path(folder).mkdir(parents=True, exist_ok=True)
            write_private(path, json.dumps(body, indent=1))
        return cls.open(folder)

    @classmethod
    def open(cls, folder: str | Path) -> LogSigner:
        path = Path(folder) / SIGNING_FILE
        what = f"log signing key {path}"
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KeyMaterialError(what, "is missing; run `vidoro init` to create one (auditors must then be "
                                   "given the new verifier key)", "saknas; kör `vidoro init` för att skapa en "
                                   "(granskarna behöver då den nya verifieringsnyckeln)") from None
        except (OSError, ValueError):
            raise KeyMaterialError(what, "cannot be read or is not valid JSON; restore it from the key backup",
                                   "kan inte läsas eller är inte giltig JSON; återställ den från "
                                   "nyckelsäkerhetskopian") from None
        try:
            seed = base64.b64decode(body["ed25519_seed"], validate=True)
            if body.get("format") != _FORMAT or len(seed) != 32:
                raise ValueError
            return cls(body["name"], Ed25519PrivateKey.from_private_bytes(seed))
        except (KeyError, TypeError, ValueError):
            raise KeyMaterialError(what, "is corrupted; restore it from the key backup",
                                   "är skadad; återställ den från nyckelsäkerhetskopian") from None

    def origin(self, log: str) -> str:
        """The checkpoint origin of one log: the instance's log name and the log's name."""
        return f"{self.name}/{log}"

    @property
    def verifier_key(self) -> str:
        """The public verifier key string (signed-note format) an auditor keeps and checks against."""
        return verifier_key(self.name, self._key.public_key())

    def sign(self, log: str, size: int, root: bytes) -> str:
        return sign(Checkpoint(self.origin(log), size, root), self.name, self._key)
