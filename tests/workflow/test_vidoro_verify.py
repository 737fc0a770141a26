"""The standalone verifier: alone in a folder with `python -I`, every tampering of an export named by its kind,
and a second implementation that agrees with `workflow.merkle` and `workflow.checkpoint`.

Exports are built here without a database: entries, their roots and checkpoints signed with a test key.
"""

from __future__ import annotations

import ast
import base64
import json
import random
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from workflow import AccessEntry, LogEntry, vidoro_verify
from workflow.checkpoint import Checkpoint, key_id, parse_and_verify, sign, verifier_key
from workflow.errors import CheckpointError
from workflow.merkle import EMPTY_ROOT, MemoryTree, leaf_hash, root_from_leaves
from workflow.vidoro_verify import FORMAT, Failed, Tree, Unreadable, check, read_checkpoint

SOURCE = Path(vidoro_verify.__file__)
NAME = "vidoro/test"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
VKEY = verifier_key(NAME, KEY.public_key())
T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
# (case, from, to): three cases, the last transition of each is its state.
MOVES = [("VO-AAAA0001", None, "registered"), ("VO-AAAA0002", None, "registered"),
         ("VO-AAAA0001", "registered", "pre_assessment"), ("VO-AAAA0003", None, "registered"),
         ("VO-AAAA0003", "registered", "protection_assessment"), ("VO-AAAA0001", "pre_assessment", "investigation")]
TRANSITIONS = [LogEntry(T0 + timedelta(minutes=n), ref, "staff-1", "intake", "t", frm, to, "f" * 64).canonical()
               for n, (ref, frm, to) in enumerate(MOVES)]
ACCESS = [AccessEntry(T0 + timedelta(hours=n), MOVES[n][0], "staff-2", "decider", "read", "role",
                      ("cases.concern",)).canonical() for n in range(5)]


def note(log: str, entries: list[bytes], size: int, key=KEY, name: str = NAME) -> str:
    root = root_from_leaves([leaf_hash(e) for e in entries[:size]])
    return sign(Checkpoint(f"{NAME}/{log}", size, root), name, key)


def export(transitions=TRANSITIONS, access=ACCESS, checkpoints=None, cases=None, key=KEY) -> list[str]:
    """The lines `cases.audit.export` writes for these logs; checkpoints default to each log's full size."""
    logs = {"transitions": list(transitions), "access": list(access)}
    checkpoints = checkpoints or {name: [len(entries)] for name, entries in logs.items()}
    if cases is None:
        cases = {json.loads(e)["case"]: json.loads(e)["to"] for e in logs["transitions"]}
    lines = [{"type": "header", "format": FORMAT, "exported_at": T0.isoformat(), "log_name": NAME,
              "verifier_key": verifier_key(NAME, key.public_key()),
              "logs": {name: {"origin": f"{NAME}/{name}", "size": len(e)} for name, e in logs.items()}}]
    lines += [{"type": "checkpoint", "log": name, "note": note(name, logs[name], size, key)}
              for name in sorted(checkpoints) for size in checkpoints[name]]
    lines += [{"type": "entry", "log": name, "seq": seq, "entry": entry.decode()}
              for name, entries in logs.items() for seq, entry in enumerate(entries, start=1)]
    lines += [{"type": "case", "case": ref, "state": state} for ref, state in sorted(cases.items())]
    lines.append({"type": "end", "entries": {name: len(e) for name, e in logs.items()}})
    return [json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines]


def where(lines: list[str], log: str, seq: int) -> int:
    return next(i for i, line in enumerate(lines) if '"type":"entry"' in line
                and json.loads(line)["log"] == log and json.loads(line)["seq"] == seq)


def edit(lines: list[str], index: int, **changes) -> list[str]:
    record = json.loads(lines[index]) | changes
    return [*lines[:index], json.dumps(record, ensure_ascii=False) + "\n", *lines[index + 1 :]]


def failure(lines: list[str], held=(), key: str = VKEY) -> str:
    with pytest.raises(Failed) as caught:
        check(lines, key, list(held), say=lambda _: None)
    return caught.value.kind


# --- (a) the file on its own -------------------------------------------------------------------------------

# Refuses every vidoro package, then runs the file as `python vidoro_verify.py ARGS` would.
BLOCKED = """import runpy, sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {"workflow", "cases", "web", "policies", "tests"}:
            raise ImportError(f"the standalone verifier imported {name}")
sys.meta_path.insert(0, Refuse())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.fixture
def alone(tmp_path) -> Path:
    folder = tmp_path / "alone"
    folder.mkdir()
    shutil.copy(SOURCE, folder / "vidoro_verify.py")
    return folder


def run(folder: Path, *args, blocked: bool = False) -> subprocess.CompletedProcess:
    start = [sys.executable, "-I", "-c", BLOCKED] if blocked else [sys.executable, "-I"]
    result = subprocess.run([*start, "vidoro_verify.py", *map(str, args)], cwd=folder, capture_output=True,
                            text=True, timeout=60, check=False)
    assert sorted(p.name for p in folder.iterdir()) == ["vidoro_verify.py"]  # it wrote nothing beside itself
    return result


def written(tmp_path: Path, lines: list[str]) -> Path:
    (tmp_path / "export.jsonl").write_text("".join(lines), encoding="utf-8")
    return tmp_path / "export.jsonl"


def test_imports_only_the_standard_library_and_cryptography():
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    imported = {alias.name.partition(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.partition(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported - set(sys.stdlib_module_names) == {"cryptography"}


def test_alone_and_isolated_it_passes_a_good_export_with_held_checkpoints(alone, tmp_path):
    path = written(tmp_path, export(checkpoints={"transitions": [3, 6], "access": [5]}))
    held = tmp_path / "held.checkpoint"
    held.write_text(note("transitions", TRANSITIONS, 4), encoding="utf-8")
    root = base64.b64encode(root_from_leaves([leaf_hash(e) for e in TRANSITIONS])).decode()
    for blocked in (True, False):
        result = run(alone, path, "--key", VKEY, "--checkpoint", held, blocked=blocked)
        assert (result.returncode, result.stderr) == (0, "")
        assert f"transitions: 6 entries, root {root}" in result.stdout
        assert "OK: 4 checkpoints and 3 case states agree" in result.stdout


def test_alone_it_fails_a_tampered_export_naming_the_kind(alone, tmp_path):
    lines = export()
    lines = edit(lines, next(i for i, line in enumerate(lines) if '"type":"case","case":"VO-AAAA0002"' in line),
                 state="closed")
    result = run(alone, written(tmp_path, lines), "--key", VKEY)
    assert result.returncode == 1
    assert result.stderr.startswith("FAILED: case VO-AAAA0002") and "(case_state_changed)" in result.stderr
    other = verifier_key(NAME, OTHER.public_key())  # a well-formed key that is not the one that signed
    result = run(alone, written(tmp_path, export()), "--key", other)
    assert result.returncode == 1 and "(checkpoint_forged)" in result.stderr


UNCHECKABLE = {  # (the export's content, None for a good one; the key)
    "empty file": ("", VKEY), "text": ("not an export\n", VKEY), "a JSON list": ("[1, 2, 3]\n", VKEY),
    "another format": ('{"format": "something-else/1"}\n', VKEY),
    "a bare header": (json.dumps({"type": "header", "format": FORMAT}) + "\n", VKEY),
    "no such file": (None, VKEY), "key garbage": (None, "garbage"), "key without +": (None, VKEY.replace("+", "-")),
    "key bytes changed": (None, VKEY[:-4] + "AAA="),
    "key ID wrong": (None, VKEY.split("+")[0] + "+00000000+" + VKEY.split("+", 2)[2]),
}


@pytest.mark.parametrize(("content", "key"), UNCHECKABLE.values(), ids=UNCHECKABLE)
def test_alone_what_is_not_an_export_or_a_key_cannot_be_checked(alone, tmp_path, content, key):
    path = tmp_path / "missing.jsonl" if content is None and key == VKEY else written(
        tmp_path, export() if content is None else [content])
    result = run(alone, path, "--key", key)
    assert result.returncode == 2, result.stderr
    assert "cannot check:" in result.stderr and "Traceback" not in result.stderr


# --- (b) tampering, in memory --------------------------------------------------------------------------------


def test_a_good_export_gives_the_roots_of_its_entries():
    said = []
    summary = check(export(checkpoints={"transitions": [0, 1, 6], "access": [2, 5]}), VKEY, [], say=said.append)
    assert said == []
    for name, entries in (("transitions", TRANSITIONS), ("access", ACCESS)):
        root = root_from_leaves([leaf_hash(e) for e in entries])
        assert summary["logs"][name] == {"entries": len(entries), "root": base64.b64encode(root).decode()}
    assert (summary["checkpoints"], summary["cases"]) == (5, 3)
    check(export(), None, [], say=said.append)  # without a key: the export's own, with a warning
    assert len(said) == 1 and said[0].startswith("warning: no --key")


@pytest.mark.parametrize(("log", "seq", "old", "new"), [
    ("transitions", 2, "staff-1", "staff-7"),  # still a well-formed entry
    ("transitions", 6, "investigation", "investigatioN"),  # the last entry, where the checkpoint is
    ("transitions", 2, '{"actor"', '["actor"'),  # no longer JSON
    ("access", 1, '"read"', '"reap"'),
], ids=["transition", "last transition", "transition no longer JSON", "access"])
def test_a_changed_byte_under_a_checkpoint_is_a_rewritten_log(log, seq, old, new):
    lines = export()
    index = where(lines, log, seq)
    entry = json.loads(lines[index])["entry"]
    assert old in entry
    assert failure(edit(lines, index, entry=entry.replace(old, new, 1))) == "log_rewritten"


def test_a_deleted_entry_is_missing():
    lines = export()
    del lines[where(lines, "access", 3)]
    assert failure(lines) == "entry_missing"


def test_swapped_entries_are_detected():
    lines = export()
    first, second = where(lines, "transitions", 2), where(lines, "transitions", 3)
    moved = lines.copy()
    moved[first], moved[second] = lines[second], lines[first]
    assert failure(moved) == "entry_missing"  # entry 2 is not where entry 2 belongs
    a, b = json.loads(lines[first])["entry"], json.loads(lines[second])["entry"]
    renumbered = edit(edit(lines, first, entry=b), second, entry=a)
    assert failure(renumbered) == "log_rewritten"


def test_an_export_cut_off_at_the_end_had_its_tail_removed():
    lines = export()
    for cut in (1, 2, 4):
        assert failure(lines[:-cut]) == "tail_removed"
    # Cut in the middle of the last line: still a cut-off export, not an unreadable one.
    assert failure([*lines[:-1], lines[-1][:10]]) == "tail_removed"
    with pytest.raises(Unreadable):  # a broken line in the middle is no record at all
        check([*lines[:3], "{not json\n", *lines[3:]], VKEY, [], say=lambda _: None)


def test_an_entry_appended_before_the_end_line_does_not_match_the_count():
    lines = export()
    extra = {"type": "entry", "log": "access", "seq": len(ACCESS) + 1, "entry": ACCESS[0].decode()}
    lines.insert(len(lines) - 1 - 3, json.dumps(extra) + "\n")  # after the access entries, before the cases
    assert failure(lines) == "entry_forged"


@pytest.mark.parametrize("record", [
    {"type": "entry", "log": "access", "seq": 1},  # no entry
    {"type": "entry", "log": "access", "seq": 1, "entry": 17},
    {"type": "entry", "log": "transitions", "seq": 1, "entry": "[]"},
    {"type": "entry", "log": "transitions", "seq": 1, "entry": '{"to": "registered"}'},
    {"type": "checkpoint", "log": "access"},  # no note
    {"type": "case", "case": "VO-AAAA0001"},  # no state
    {"type": "end", "entries": [6, 5]},
    json.loads(export()[0]) | {"logs": ["transitions", "access"]},
], ids=["entry missing", "entry a number", "transition a list", "transition without case", "note missing",
        "state missing", "end counts a list", "logs a list"])
def test_a_malformed_record_is_reported_not_a_crash(record):
    lines = [export()[0], json.dumps(record) + "\n"]
    if record["type"] == "header":
        lines = lines[1:]
    with pytest.raises((Failed, Unreadable)):
        check(lines, VKEY, [], say=lambda _: None)


@pytest.mark.parametrize(("change", "kind"), [
    (lambda cases: cases | {"VO-AAAA0001": "closed"}, "case_state_changed"),
    (lambda cases: {k: v for k, v in cases.items() if k != "VO-AAAA0003"}, "case_removed"),
    (lambda cases: cases | {"VO-ZZZZ9999": "registered"}, "case_unlogged"),
])
def test_case_states_must_follow_the_transition_log(change, kind):
    cases = {ref: to for ref, _, to in MOVES}
    assert failure(export(cases=change(cases))) == kind


def test_a_checkpoint_by_another_key_or_of_another_log_is_forged():
    assert failure(export(key=OTHER)) == "checkpoint_forged"
    lines = export()
    index = next(i for i, line in enumerate(lines) if '"type":"checkpoint"' in line)  # access, of 5 entries
    assert failure(edit(lines, index, note=note("access", ACCESS, 5, key=OTHER))) == "checkpoint_forged"
    altered = json.loads(lines[index])["note"].replace("\n5\n", "\n4\n", 1)  # under the original signature
    assert failure(edit(lines, index, note=altered)) == "checkpoint_forged"
    assert failure(edit(lines, index, log="transitions")) == "checkpoint_forged"  # another log's checkpoint
    assert failure(lines, [note("transitions", TRANSITIONS, 3, key=OTHER)]) == "checkpoint_forged"  # held
    assert failure(lines, [sign(Checkpoint("elsewhere/transitions", 1, EMPTY_ROOT), NAME, KEY)]) == "checkpoint_forged"


def test_a_held_checkpoint_catches_a_truncated_export():
    held = [note("transitions", TRANSITIONS, 6), note("access", ACCESS, 5)]
    check(export(), VKEY, held, say=lambda _: None)
    assert failure(export(transitions=TRANSITIONS[:4]), held) == "tail_removed"
    assert failure(export(access=ACCESS[:3]), held) == "tail_removed"
    assert failure(export(access=[]), held) == "tail_removed"


def test_a_held_checkpoint_catches_a_log_rewritten_and_signed_again():
    held = [note("transitions", TRANSITIONS, 3)]
    rewritten = [*TRANSITIONS]
    rewritten[1] = rewritten[1].replace(b"staff-1", b"staff-9")
    lines = export(transitions=rewritten)
    check(lines, VKEY, [], say=lambda _: None)  # its own checkpoints were signed after the rewrite
    assert failure(lines, held) == "log_rewritten"
    assert failure(export(), [note("transitions", rewritten, 2)]) == "log_rewritten"


# --- (c) differential against the package ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_tree_gives_the_packages_roots_at_every_size(seed):
    rng = random.Random(seed)
    entries = [rng.randbytes(rng.randint(0, 80)) for _ in range(300)]
    tree, memory = Tree(), MemoryTree()
    assert tree.root() == memory.root() == root_from_leaves([]) == EMPTY_ROOT
    for size, entry in enumerate(entries, start=1):
        tree.add(entry)
        memory.append(leaf_hash(entry))
        assert tree.size == size
        assert tree.root() == memory.root()
        if size % 7 == 0 or size in (1, 2, 3, 255, 256, 257, 300):
            assert tree.root() == root_from_leaves([leaf_hash(e) for e in entries[:size]])


def signed(text: str, key=KEY, name: str = NAME) -> str:
    """A signed note over any text, even text `sign_note` would refuse to sign."""
    blob = key_id(name, key.public_key()) + key.sign(text.encode())
    return f"{text}\n\u2014 {name} {base64.b64encode(blob).decode()}\n"


ROOT_B64 = base64.b64encode(EMPTY_ROOT).decode()
GOOD = signed(f"{NAME}/transitions\n5\n{ROOT_B64}\n")
WITNESS = signed("x\n", OTHER, "witness").split("\n\n")[1]  # a cosignature line by a key nobody trusts
NOTES = {
    "good": GOOD,
    "size 0": signed(f"{NAME}/access\n0\n{ROOT_B64}\n"),
    "cosigned by a witness": GOOD + WITNESS,
    "witness first": GOOD.replace("\n\n", "\n\n" + WITNESS, 1),
    "no final newline": GOOD[:-1],
    "no blank line": GOOD.replace("\n\n", "\n", 1),
    "size changed": GOOD.replace("\n5\n", "\n6\n", 1),
    "another key": signed(f"{NAME}/transitions\n5\n{ROOT_B64}\n", OTHER),
    "another name": signed(f"{NAME}/transitions\n5\n{ROOT_B64}\n", name="vidoro/else"),
    "signature cut short": GOOD[:-20] + "\n",
    "no em dash": GOOD.replace("\u2014", "-"),
    "leading zero": signed(f"{NAME}/transitions\n05\n{ROOT_B64}\n"),
    "signed size": signed(f"{NAME}/transitions\n+5\n{ROOT_B64}\n"),
    "extension line": signed(f"{NAME}/transitions\n5\n{ROOT_B64}\nextra\n"),
    "two lines": signed(f"{NAME}/transitions\n5\n"),
    "root not base64": signed(f"{NAME}/transitions\n5\n{ROOT_B64[:-1]}!\n"),
    "root not canonical": signed(f"{NAME}/transitions\n5\n{ROOT_B64[:-2]}N=\n"),
    "root 31 bytes": signed(f"{NAME}/transitions\n5\n{base64.b64encode(EMPTY_ROOT[:31]).decode()}\n"),
    "arabic-indic digit size": signed(f"{NAME}/transitions\n\u0665\n{ROOT_B64}\n"),
    "superscript digit size": signed(f"{NAME}/transitions\n\u00b2\n{ROOT_B64}\n"),
    "size above 2^64-1": signed(f"{NAME}/transitions\n{2**64}\n{ROOT_B64}\n"),
    "empty origin": signed(f"\n5\n{ROOT_B64}\n"),
    "tab in origin": signed(f"{NAME}/trans\titions\n5\n{ROOT_B64}\n"),
    "witness name with +": GOOD + "\u2014 wit+ness " + base64.b64encode(bytes(68)).decode() + "\n",
    "witness signature of 3 bytes": GOOD + "\u2014 witness AAAA\n",
}


@pytest.mark.parametrize("name", NOTES)
def test_read_checkpoint_accepts_exactly_what_the_package_accepts(name):
    try:
        package = parse_and_verify(NOTES[name], VKEY)
        expected = (package.origin, package.size, package.root)
    except CheckpointError:
        expected = None  # refused
    try:
        assert read_checkpoint(NOTES[name], vidoro_verify.parse_key(VKEY), "note") == expected
    except Failed as exc:
        assert (exc.kind, expected) == ("checkpoint_forged", None)
