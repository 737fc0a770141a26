"""Signed checkpoints: the exact C2SP bytes, Go's published signed-note example, and every tampering refused."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from workflow.checkpoint import (
    Checkpoint,
    CheckpointError,
    key_id,
    open_note,
    parse_and_verify,
    sign,
    sign_note,
    verifier_key,
)
from workflow.merkle import EMPTY_ROOT

NAME = "vidoro.example/transitions"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
ROOT = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
CHECKPOINT = Checkpoint(NAME, 8, ROOT)

# golang.org/x/mod/sumdb/note's documented example: another implementation's key, text and signature.
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = (
    GO_TEXT
    + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


@pytest.fixture
def vkey():
    return verifier_key(NAME, KEY.public_key())


def test_key_hash_is_as_signed_note_specifies():
    assert KEY.public_key().public_bytes_raw().hex() == PUBLIC
    by_hand = hashlib.sha256(NAME.encode() + b"\x0a" + b"\x01" + bytes.fromhex(PUBLIC)).digest()[:4]
    assert key_id(NAME, KEY.public_key()) == by_hand == bytes.fromhex("a0249542")
    assert verifier_key(NAME, KEY.public_key()) == (
        f"{NAME}+a0249542+" + base64.b64encode(b"\x01" + bytes.fromhex(PUBLIC)).decode()
    )


def test_go_sumdb_note_example_byte_for_byte():
    seed = base64.b64decode(GO_SIGNER.split("+", 4)[4])
    assert seed[0] == 0x01
    go_key = Ed25519PrivateKey.from_private_bytes(seed[1:])
    assert verifier_key("PeterNeumann", go_key.public_key()) == GO_VERIFIER
    assert sign_note(GO_TEXT, "PeterNeumann", go_key) == GO_NOTE
    assert open_note(GO_NOTE, GO_VERIFIER) == GO_TEXT
    with pytest.raises(CheckpointError, match="bad signature"):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), GO_VERIFIER)


def test_exact_format(vkey):
    note = sign(CHECKPOINT, NAME, KEY)
    root_b64 = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="
    assert CHECKPOINT.body() == f"{NAME}\n8\n{root_b64}\n".encode()
    body, signature_line = note.split("\n\n")
    assert body == f"{NAME}\n8\n{root_b64}"
    assert signature_line.startswith(f"\u2014 {NAME} ") and signature_line.endswith("\n")
    assert signature_line.count("\n") == 1 and note.endswith("=\n")
    blob = base64.b64decode(signature_line.split(" ")[2])
    assert len(blob) == 4 + 64 and blob[:4] == bytes.fromhex("a0249542")
    KEY.public_key().verify(blob[4:], CHECKPOINT.body())  # raises if the signed bytes were anything else


@pytest.mark.parametrize("checkpoint", [CHECKPOINT, Checkpoint(NAME, 0, EMPTY_ROOT), Checkpoint("x", 2**64 - 1, ROOT)])
def test_round_trip(checkpoint):
    vkey = verifier_key(checkpoint.origin, KEY.public_key())
    assert parse_and_verify(sign(checkpoint, checkpoint.origin, KEY), vkey) == checkpoint
    assert parse_and_verify(sign(checkpoint, checkpoint.origin, KEY).encode(), vkey, origin=checkpoint.origin)


def test_every_flipped_bit_is_refused(vkey):
    note = sign(CHECKPOINT, NAME, KEY).encode()
    for position in range(len(note)):
        for bit in range(8):
            tampered = bytearray(note)
            tampered[position] ^= 1 << bit
            with pytest.raises(CheckpointError):
                parse_and_verify(bytes(tampered), vkey)


def test_another_key_is_unknown(vkey):
    with pytest.raises(CheckpointError, match="unknown key"):
        parse_and_verify(sign(CHECKPOINT, NAME, OTHER), vkey)
    with pytest.raises(CheckpointError, match="unknown key"):
        parse_and_verify(sign(CHECKPOINT, "vidoro.example/other", KEY), vkey)


def test_another_keys_signature_under_our_key_id_is_a_bad_signature(vkey):
    forged_blob = key_id(NAME, KEY.public_key()) + OTHER.sign(CHECKPOINT.body())
    note = CHECKPOINT.body().decode() + f"\n— {NAME} {base64.b64encode(forged_blob).decode()}\n"
    with pytest.raises(CheckpointError, match="bad signature"):
        parse_and_verify(note, vkey)


def test_cosignatures_by_other_keys_are_skipped(vkey):
    ours = sign(CHECKPOINT, NAME, KEY)
    witness = sign(CHECKPOINT, "witness.example", OTHER).split("\n\n")[1]
    assert parse_and_verify(ours + witness, vkey) == CHECKPOINT
    assert parse_and_verify(CHECKPOINT.body().decode() + "\n" + witness + ours.split("\n\n")[1], vkey)
    with pytest.raises(CheckpointError, match="unknown key"):
        parse_and_verify(CHECKPOINT.body().decode() + "\n" + witness, vkey)
    with pytest.raises(CheckpointError, match="more than 100"):
        parse_and_verify(ours + witness * 100, vkey)


def test_origin_is_checked_when_given(vkey):
    with pytest.raises(CheckpointError, match="wrong origin"):
        parse_and_verify(sign(CHECKPOINT, NAME, KEY), vkey, origin="vidoro.example/access")


@pytest.mark.parametrize(
    "text, problem",
    [
        (f"{NAME}\n08\n{base64.b64encode(ROOT).decode()}\n", "bad tree size"),
        (f"{NAME}\n-1\n{base64.b64encode(ROOT).decode()}\n", "bad tree size"),
        (f"{NAME}\n\uff18\n{base64.b64encode(ROOT).decode()}\n", "bad tree size"),
        (f"{NAME}\n{2**64}\n{base64.b64encode(ROOT).decode()}\n", "bad tree size"),
        (f"{NAME}\n8\n{base64.b64encode(ROOT[:31]).decode()}\n", "bad root length"),
        (f"{NAME}\n8\n{base64.b64encode(ROOT).decode().rstrip('=')}\n", "not base64"),
        (f"{NAME}\n8\n{base64.urlsafe_b64encode(ROOT).decode()}\n", "not base64"),
        (f"{NAME}\n8\n{ROOT.hex()}\n", "bad root length"),  # hex digits are base64 too
        (f"{NAME}\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=\n", "not canonical"),
        (f"{NAME}\n8\n{base64.b64encode(ROOT).decode()} \n", "not base64"),
        (f"{NAME}\n8\n", "bad format"),
        (f"{NAME}\n8\n{base64.b64encode(ROOT).decode()}\nextension\n", "extension lines"),
        (f"\n8\n{base64.b64encode(ROOT).decode()}\n", "bad format"),
    ],
)
def test_malformed_checkpoint_bodies(vkey, text, problem):
    with pytest.raises(CheckpointError, match=problem):
        parse_and_verify(sign_note(text, NAME, KEY), vkey)


@pytest.mark.parametrize(
    "note, problem",
    [
        ("no signatures\n", "no blank line"),
        ("text\n\n— vidoro.example/transitions AAAA\n".rstrip("\n"), "newline"),
        ("text\n\n", "em dash"),
        ("text\r\n\n— x AAAAAAA=\n", "control characters"),
        ("text\n\n- x AAAAAAA=\n", "em dash"),
        ("text\n\n— x y AAAAAAA=\n", "key name and a signature"),
        ("text\n\n— x AAAA\n", "4-byte key ID"),
        ("text\n\n— x+y AAAAAAA=\n", "bad key name"),
        ("text\n\n— x AAAAAAA\n", "not base64"),
    ],
)
def test_malformed_notes(vkey, note, problem):
    with pytest.raises(CheckpointError, match=problem):
        open_note(note, vkey)


def test_notes_must_be_utf8(vkey):
    with pytest.raises(CheckpointError, match="UTF-8"):
        open_note(b"\xff\n\n\xe2\x80\x94 x AAAAAAA=\n", vkey)


@pytest.mark.parametrize(
    "key, problem",
    [
        (f"{NAME}+a0249542", "expected"),
        (f"{NAME}+A0249542+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4", "expected"),
        (f"{NAME}+a024954+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4", "expected"),
        (f"{NAME}+a0249543+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4", "key ID"),
        ("vidoro.example/access+a0249542+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4", "key ID"),
        (f"{NAME}+a0249542+AgOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4", "not an Ed25519 key"),
        (f"{NAME}+a0249542+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG5", "key ID"),
        (
            f"{NAME}+a0249542+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4=",
            "not canonical",
        ),  # Python would accept the stray "="
        (f"{NAME}+a0249542+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVQ==", "not an Ed25519 key"),
        ("a b+a0249542+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4", "bad key name"),
    ],
)
def test_malformed_verifier_keys(key, problem):
    with pytest.raises(CheckpointError, match=problem):
        open_note(sign(CHECKPOINT, NAME, KEY), key)


@pytest.mark.parametrize(
    "origin, size, root, problem",
    [
        ("", 1, ROOT, "origin"),
        ("a\nb", 1, ROOT, "origin"),
        ("a", -1, ROOT, "tree size"),
        ("a", True, ROOT, "tree size"),
        ("a", 2**64, ROOT, "tree size"),
        ("a", 1, ROOT[:31], "bad root length"),
        ("a", 1, ROOT.hex(), "bad root length"),
    ],
)
def test_checkpoints_refuse_impossible_values(origin, size, root, problem):
    with pytest.raises(CheckpointError, match=problem):
        Checkpoint(origin, size, root)


def test_signing_refuses_bad_names_and_text():
    with pytest.raises(CheckpointError, match="bad key name"):
        sign(CHECKPOINT, "has space", KEY)
    with pytest.raises(CheckpointError, match="bad key name"):
        sign(CHECKPOINT, "", KEY)
    with pytest.raises(CheckpointError, match="newline"):
        sign_note("no newline", NAME, KEY)
