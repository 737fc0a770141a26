#!/usr/bin/env python3
"""vidoro_verify: check an export of vidoro's logs on any machine, with Python 3.11+ and `cryptography`.

    python vidoro_verify.py EXPORT.jsonl --key 'NAME+KEYID+BASE64KEY' [--checkpoint FILE ...]

EXPORT.jsonl comes from `vidoro audit export`; the key is the verifier key string you were given when you
began auditing (`vidoro audit key`), and each FILE a checkpoint you received and kept yourself. The script
rebuilds each log's RFC 9162 Merkle tree from the exported entries, checks every checkpoint's Ed25519
signature (C2SP signed note) and that its root is the root of the entries it covers, and that each case's
state is where its last logged transition took it. It exits 0 when everything holds, 1 naming the first
entry, checkpoint or case that does not and what kind of tampering that indicates, 2 when it cannot read
its input.

This file is deliberately self-contained: it shares no code with vidoro, so it is a second, independent
implementation of the checks. Keep it to the standard library and `cryptography`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "vidoro-audit-export/1"
EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_SIGNATURES = 100
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
DECIMAL = re.compile(r"0|[1-9][0-9]*")
NAME = re.compile(r"[^\s+\x00-\x1f]+")

Key = tuple[str, bytes, Ed25519PublicKey]  # name, key ID, public key
Due = dict[tuple[str, int], list[tuple[str, bytes]]]  # (log, tree size) -> (where, root) of each checkpoint


class Unreadable(Exception):
    """The input cannot be read as an export or a checkpoint at all (exit status 2)."""


class Failed(Exception):
    """A check failed: `kind` names the tampering it indicates, `where` the entry, checkpoint or case."""

    def __init__(self, kind: str, where: str, detail: str) -> None:
        super().__init__(f"{where}: {detail} ({kind})")
        self.kind = kind


# --- RFC 9162 hashing ------------------------------------------------------------------------------------


class Tree:
    """The right border of a Merkle tree built leaf by leaf (RFC 9162 §2.1.1), and its root."""

    def __init__(self) -> None:
        self.size = 0
        self.border: list[bytes] = []

    def add(self, entry: bytes) -> None:
        value, index = hashlib.sha256(b"\x00" + entry).digest(), self.size
        while index & 1:
            value = hashlib.sha256(b"\x01" + self.border.pop() + value).digest()
            index >>= 1
        self.border.append(value)
        self.size += 1

    def root(self) -> bytes:
        if not self.border:
            return EMPTY_ROOT
        value = self.border[-1]
        for left in reversed(self.border[:-1]):
            value = hashlib.sha256(b"\x01" + left + value).digest()
        return value


# --- C2SP signed notes and checkpoints ----------------------------------------------------------------


def _b64(text: str, what: str) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Failed("checkpoint_forged", what, "is not base64") from None
    if base64.b64encode(data).decode() != text:
        raise Failed("checkpoint_forged", what, "is not canonical base64")
    return data


def parse_key(text: str) -> Key:
    """`<name>+<hex key ID>+<base64(0x01 ‖ Ed25519 public key)>` → name, key ID, key."""
    parts = text.strip().split("+", 2)
    try:
        if len(parts) != 3 or len(parts[1]) != 8:
            raise ValueError
        raw = base64.b64decode(parts[2], validate=True)
        if len(raw) != 33 or raw[0] != 1:
            raise ValueError
        key = Ed25519PublicKey.from_public_bytes(raw[1:])
        kid = bytes.fromhex(parts[1])
    except (binascii.Error, ValueError):
        raise Unreadable("the verifier key is not <name>+<8 hex digits>+<base64 Ed25519 key>") from None
    if hashlib.sha256(parts[0].encode() + b"\n" + raw).digest()[:4] != kid:
        raise Unreadable("the verifier key's ID does not match its name and key")
    return parts[0], kid, key


def read_checkpoint(note: str, key: Key, where: str) -> tuple[str, int, bytes]:
    """Verify a signed checkpoint with the trusted key; return its origin, tree size and root hash.

    The rules are C2SP signed-note and tlog-checkpoint's, as strict as vidoro's own reader: a malformed
    signature line rejects the whole note, other keys' well-formed signatures are skipped.
    """
    name, kid, public = key
    split = note.rfind("\n\n")
    if not note.endswith("\n") or split < 0 or CONTROL.search(note):
        raise Failed("checkpoint_forged", where, "is not a signed note")
    text, signed = note[: split + 1], False
    lines = note[split + 2 : -1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise Failed("checkpoint_forged", where, f"has more than {MAX_SIGNATURES} signatures")
    for line in lines:
        parts = line[2:].split(" ") if line.startswith("\u2014 ") else []
        if len(parts) != 2 or not NAME.fullmatch(parts[0]):
            raise Failed("checkpoint_forged", where, "has a malformed signature line")
        signer, blob = parts[0], _b64(parts[1], where)
        if len(blob) < 5:
            raise Failed("checkpoint_forged", where, "has a signature shorter than a key ID and one byte")
        if signer == name and blob[:4] == kid:
            try:
                if len(blob) != 68:
                    raise InvalidSignature
                public.verify(blob[4:], text.encode())
            except InvalidSignature:
                raise Failed("checkpoint_forged", where, "carries a signature by the trusted key that does "
                             "not verify") from None
            signed = True
    if not signed:
        raise Failed("checkpoint_forged", where, f"is not signed by the trusted key {name}")
    body = text.split("\n")[:-1]
    if len(body) != 3 or not body[0] or not DECIMAL.fullmatch(body[1]) or int(body[1]) > 2**64 - 1:
        raise Failed("checkpoint_forged", where, "is not an origin, a tree size and a root hash")
    root = _b64(body[2], where)
    if len(root) != 32:
        raise Failed("checkpoint_forged", where, "has a root hash that is not 32 bytes")
    return body[0], int(body[1]), root


# --- the export ----------------------------------------------------------------------------------------


@dataclass
class _Reading:
    """What the records read so far say: each case's exported and last logged state, the end line, a fault."""

    cases: dict[str, str] = field(default_factory=dict)
    last: dict[str, str] = field(default_factory=dict)
    end: dict[str, Any] | None = None
    bad: str | None = None


def check(
    lines: Iterable[str], key_text: str | None, held: list[str], say: Callable[[str], object] = print
) -> dict[str, Any]:
    """Check an export given as an iterable of text lines; return a summary or raise Failed / Unreadable."""
    records = iter(enumerate(lines, start=1))
    try:
        _, first = next(records)
        header = json.loads(first)
        if header.get("format") != FORMAT:
            raise ValueError
        origins = {str(name): str(log["origin"]) for name, log in header["logs"].items()}
    except StopIteration:
        raise Unreadable("the export is empty") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise Unreadable(f"the first line is not a {FORMAT} header") from None
    if key_text is None:
        say("warning: no --key given; checking against the key named in the export itself, which proves only "
            "that the export is whole, not who made it")
        key_text = str(header.get("verifier_key"))
    elif key_text.strip() != header.get("verifier_key"):
        say("note: the export names another verifier key than the one you trust; its checkpoints must still "
            "verify with yours")
    key = parse_key(key_text)
    trees = {name: Tree() for name in origins}
    due: Due = {}
    by_origin = {origin: name for name, origin in origins.items()}
    for number, note in enumerate(held, start=1):
        origin, size, root = read_checkpoint(note, key, f"held checkpoint {number}")
        if origin not in by_origin:
            raise Failed("checkpoint_forged", f"held checkpoint {number}", f"is for {origin!r}, not this export")
        due.setdefault((by_origin[origin], size), []).append((f"held checkpoint {number}", root))
    state = _Reading()
    for number, line in records:
        try:
            record = json.loads(line)
            kind = record["type"]
            _record(number, kind, record, trees, origins, due, key, state)
        except (ValueError, KeyError, TypeError, AttributeError):
            if not line.endswith("\n"):
                raise Failed("tail_removed", "the export", f"ends in the middle of line {number}: it was cut "
                             "off") from None
            raise Unreadable(f"line {number} is not a well-formed export record") from None
    ended, cases, last = state.end, state.cases, state.last
    if ended is None:
        raise Failed("tail_removed", "the export", "has no end line: it was cut off")
    for name, tree in trees.items():
        said = ended["entries"].get(name)
        if not isinstance(said, int) or said > tree.size:
            raise Failed("tail_removed", f"the {name} log", f"has {tree.size} entries, the end line says {said}")
        if said < tree.size:
            raise Failed("entry_forged", f"the {name} log", f"has {tree.size} entries, the end line says {said}: "
                         "entries were added")
        if tree.size == 0:
            _check_roots(name, tree, due)
        for (log_name, size), checkpoints in sorted(due.items()):
            if log_name == name and size > tree.size:
                raise Failed("tail_removed", checkpoints[0][0], f"covers {size} entries of the {name} log, which "
                             f"has {tree.size}: entries were removed from the end")
    if state.bad:
        raise Failed("entry_changed", state.bad, "is not a well-formed log entry: it was changed")
    for ref, now in sorted(cases.items()):
        if ref not in last:
            raise Failed("case_unlogged", f"case {ref}", f"is in state {now} with no logged transition")
        if last[ref] != now:
            raise Failed("case_state_changed", f"case {ref}", f"is in state {now}, its last logged transition "
                         f"goes to {last[ref]}")
    for ref in sorted(set(last) - set(cases)):
        raise Failed("case_removed", f"case {ref}", "is in the transition log but not in the export")
    return {"logs": {name: {"entries": tree.size, "root": base64.b64encode(tree.root()).decode()}
                     for name, tree in trees.items()},
            "checkpoints": sum(len(v) for v in due.values()), "cases": len(cases)}


def _record(
    number: int, kind: str, record: dict[str, Any], trees: dict[str, Tree], origins: dict[str, str], due: Due,
    key: Key, state: _Reading,
) -> None:
    """Take in one line of the export; a missing or mistyped field raises KeyError or TypeError."""
    if state.end is not None:
        raise Failed("entry_forged", f"line {number}", "follows the end line")
    if kind == "entry":
        name = record["log"]
        tree = trees.get(name)
        if tree is None:
            raise Failed("entry_forged", f"line {number}", f"names no log of the export: {name!r}")
        if record["seq"] != tree.size + 1:
            raise Failed("entry_missing", f"{name} entry {tree.size + 1}",
                         f"is missing (line {number} holds entry {record['seq']})")
        entry = record["entry"].encode("utf-8")
        if tree.size == 0:
            _check_roots(name, tree, due)
        tree.add(entry)
        _check_roots(name, tree, due)
        if name == "transitions":
            try:
                body = json.loads(entry)
                state.last[str(body["case"])] = str(body["to"])
            except (ValueError, KeyError, TypeError):
                # Reported at the end, unless a checkpoint covering it says more (log_rewritten) first.
                state.bad = state.bad or f"transitions entry {tree.size}"
    elif kind == "checkpoint":
        where = f"exported checkpoint on line {number}"
        if any(tree.size for tree in trees.values()):
            raise Unreadable(f"line {number}: checkpoints must come before the entries")
        origin, size, root = read_checkpoint(str(record["note"]), key, where)
        log: Any = record.get("log")  # any JSON value: a mistyped one raises what the caller catches
        if origins.get(log) != origin:
            raise Failed("checkpoint_forged", where, f"is for {origin!r}, not the {log} log")
        due.setdefault((record["log"], size), []).append((where, root))
    elif kind == "case":
        state.cases[str(record["case"])] = str(record["state"])
    elif kind == "end":
        if not isinstance(record["entries"], dict):
            raise TypeError
        state.end = record
    else:
        raise Unreadable(f"line {number} has an unknown record type {kind!r}")


def _check_roots(name: str, tree: Tree, due: Due) -> None:
    for where, root in due.get((name, tree.size), ()):
        if root != tree.root():
            raise Failed("log_rewritten", where, f"its root is not the root of the first {tree.size} entries "
                         f"of the {name} log: entries were changed, removed or inserted after it was signed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", help="the file written by `vidoro audit export`")
    parser.add_argument("--key", help="the verifier key string you trust (from `vidoro audit key`)")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="FILE",
                        help="a checkpoint you hold; give it once per file")
    args = parser.parse_args(argv)
    try:
        held = [open(path, encoding="utf-8").read() for path in args.checkpoint]  # noqa: SIM115
        with open(args.export, encoding="utf-8") as export:
            summary = check(export, args.key, held, say=lambda text: print(text, file=sys.stderr))
    except (OSError, UnicodeDecodeError, Unreadable) as exc:
        print(f"cannot check: {exc}", file=sys.stderr)
        return 2
    except Failed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    for name, log in summary["logs"].items():
        print(f"{name}: {log['entries']} entries, root {log['root']}")
    print(f"OK: {summary['checkpoints']} checkpoints and {summary['cases']} case states agree with the entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
