"""Signed checkpoints: the log's tree size and root hash, signed so they can be published outside the system.

The body is a C2SP tlog-checkpoint (origin, tree size, base64 root hash, one line each), wrapped in a C2SP
signed note with an Ed25519 signature, so that any tool that reads Go's sumdb/note or transparency-dev
checkpoints can check ours. An auditor holds the verifier key string and an earlier checkpoint; with a
consistency proof (RFC 9162 §2.1.4) they see that nothing was rewritten since.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from workflow.errors import CheckpointError

__all__ = [
    "ED25519",
    "Checkpoint",
    "check_verifier_key",
    "key_id",
    "open_note",
    "parse_and_verify",
    "sign",
    "sign_note",
    "verifier_key",
]

ED25519 = 0x01  # the signed-note signature type byte for Ed25519
HASH_SIZE = 32
MAX_SIGNATURES = 100  # signed-note: verifiers SHOULD cap the count and MUST accept at least 16
MAX_SIZE = 2**64 - 1  # tree sizes are uint64 in every other implementation
_DASH = "\u2014 "  # em dash and space open every signature line
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_HEX_ID = re.compile(r"[0-9a-f]{8}")


@dataclass(frozen=True)
class Checkpoint:
    """A tree head of one log: how many entries it had and the root hash over them (RFC 9162 §2.1.1)."""

    origin: str
    size: int
    root: bytes

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _CONTROL.search(self.origin):
            raise CheckpointError("bad format: the origin must be one non-empty line without control characters")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 0 <= self.size <= MAX_SIZE:
            raise CheckpointError(f"bad tree size: {self.size!r} is not a whole number from 0 to 2^64-1")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            got = f"{len(self.root)} bytes" if isinstance(self.root, bytes) else type(self.root).__name__
            raise CheckpointError(f"bad root length: a root hash is {HASH_SIZE} bytes, got {got}")

    def body(self) -> bytes:
        """The note text that is signed: origin, decimal size and base64 root, each ending in a newline."""
        return f"{self.origin}\n{self.size}\n{_b64(self.root)}\n".encode()


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte key ID of signed-note: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4], a label, not a secret."""
    _check_name(name)
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key.public_bytes_raw()).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The key string an auditor configures: `<name>+<hex key ID>+<base64(0x01 ‖ public key)>`."""
    return f"{name}+{key_id(name, public_key).hex()}+{_b64(bytes([ED25519]) + public_key.public_bytes_raw())}"


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign `text` as a C2SP signed note: the text, a blank line, and `— <name> <base64(key ID ‖ sig)>`."""
    _check_text(text)
    signature = private_key.sign(text.encode())
    return f"{text}\n{_DASH}{name} {_b64(key_id(name, private_key.public_key()) + signature)}\n"


def sign(checkpoint: Checkpoint, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign a checkpoint; the key name SHOULD be the checkpoint's origin (C2SP tlog-checkpoint)."""
    return sign_note(checkpoint.body().decode(), name, private_key)


def open_note(note: str | bytes, verifier_key_str: str) -> str:
    """Return the text of a signed note once the trusted key's signature on it verifies.

    Signatures by other keys are skipped, as signed-note requires (witnesses may cosign); a signature that
    claims the trusted key's name and ID but does not verify rejects the whole note.
    """
    name, kid, public_key = _parse_verifier_key(verifier_key_str)
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError("bad format: the note is not valid UTF-8") from None
    if _CONTROL.search(note):
        raise CheckpointError("bad format: the note contains control characters other than newline")
    if not note.endswith("\n"):
        raise CheckpointError("bad format: the note does not end in a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("bad format: no blank line between the text and the signatures")
    text, lines = note[: split + 1], note[split + 2 : -1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"bad format: more than {MAX_SIGNATURES} signatures")
    verified = False
    for line in lines:
        signer, blob = _parse_signature_line(line)
        if signer != name or blob[:4] != kid:
            continue
        if len(blob) != 4 + 64:
            raise CheckpointError(f"bad signature: the signature by key {name} is not 64 bytes of Ed25519")
        try:
            public_key.verify(blob[4:], text.encode())
        except InvalidSignature:
            raise CheckpointError(f"bad signature: the signature by key {name} does not match the note") from None
        verified = True
    if not verified:
        raise CheckpointError(f"unknown key: the note carries no signature by key {name}+{kid.hex()}")
    return text


def parse_and_verify(note_text: str | bytes, verifier_key_str: str, *, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint and read its tree head; give `origin` to refuse another log's checkpoint.

    Extension lines are refused: this log writes none, and tlog-checkpoint advises against them.
    """
    lines = open_note(note_text, verifier_key_str).split("\n")[:-1]
    if len(lines) < 3:
        raise CheckpointError("bad format: a checkpoint has an origin, a tree size and a root hash line")
    if len(lines) > 3:
        raise CheckpointError("bad format: the checkpoint has extension lines, which this log never writes")
    found, size, root = lines
    if not _DECIMAL.fullmatch(size):
        raise CheckpointError("bad tree size: not a decimal number without leading zeros")
    if int(size) > MAX_SIZE:
        raise CheckpointError("bad tree size: larger than 2^64-1")
    checkpoint = Checkpoint(found, int(size), _unb64(root, "root hash"))
    if origin is not None and found != origin:
        raise CheckpointError(f"wrong origin: the checkpoint is for {found!r}, expected {origin!r}")
    return checkpoint


def check_verifier_key(text: str) -> str:
    """Return the key's name if `text` is a well-formed Ed25519 verifier key string; raise CheckpointError."""
    return _parse_verifier_key(text)[0]


def _parse_verifier_key(text: str) -> tuple[str, bytes, Ed25519PublicKey]:
    parts = text.split("+", 2)  # a name has no '+', the base64 key may
    if len(parts) != 3 or not _HEX_ID.fullmatch(parts[1]):
        raise CheckpointError("bad verifier key: expected <name>+<8 hex digits>+<base64 key>")
    name, kid = parts[0], bytes.fromhex(parts[1])
    key = _unb64(parts[2], "verifier key")
    if len(key) != 1 + HASH_SIZE or key[0] != ED25519:
        raise CheckpointError("bad verifier key: not an Ed25519 key (type byte 0x01 and 32 bytes)")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(key[1:])
    except ValueError:
        raise CheckpointError("bad verifier key: not a valid Ed25519 public key") from None
    if key_id(name, public_key) != kid:
        raise CheckpointError(f"bad verifier key: the key ID {parts[1]} is not the hash of the name and key")
    return name, kid, public_key


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    if not line.startswith(_DASH):
        raise CheckpointError("bad format: a signature line must start with an em dash and a space")
    parts = line[len(_DASH) :].split(" ")
    if len(parts) != 2:
        raise CheckpointError("bad format: a signature line is an em dash, a key name and a signature")
    name, blob = parts[0], _unb64(parts[1], "signature")
    _check_name(name)
    if len(blob) < 5:
        raise CheckpointError("bad format: a signature is a 4-byte key ID and at least one byte more")
    return name, blob


def _check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name) or _CONTROL.search(name):
        raise CheckpointError(f"bad key name {name!r}: it must be non-empty, without spaces or '+'")


def _check_text(text: str) -> None:
    if not text.endswith("\n") or _CONTROL.search(text):
        raise CheckpointError("bad format: note text must end in a newline and have no other control characters")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    """Decode standard base64 and insist on the one canonical spelling, so no two notes say the same."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError(f"bad format: the {what} is not base64") from None
    if _b64(data) != text:
        raise CheckpointError(f"bad format: the {what} is not canonical base64")
    return data
