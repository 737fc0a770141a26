"""Sealed records on both databases (DESIGN.md §4): no personal data in the database's files, a moved or
altered ciphertext refused, the blind index finding the same person, and erasure by destroying the key."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from cases import (
    ConcernForm,
    Database,
    add_staff,
    fire_trigger,
    record_consent,
    register_concern,
    withdraw_consent,
)
from cases.casework.access import read_case
from cases.casework.disclosures import decide_requested_disclosure, request_disclosure
from cases.crypto.identity import generate_identity_number
from cases.crypto.keys import MemoryKeyStore
from cases.crypto.vault import CaseKey, Vault
from cases.errors import CiphertextRejected, DisclosureRefused, KeyDestroyed
from cases.flowcharts import current_engine
from cases.models import (
    AccessLogEntry,
    Case,
    CaseEvent,
    Consent,
    Disclosure,
    EmergencyAccess,
    Person,
    TransitionLogEntry,
)
from tests.cases import route_v2
from tests.cases.route_v2 import PATHS, Step, drive
from tests.conftest import NOW
from workflow import GENESIS, chain_hash

# Generated people: valid numbers that belong to nobody real, and names and a phrase found nowhere else.
ADULT_NUMBER = generate_identity_number(date(1985, 3, 14), 123)
CHILD_NUMBER = generate_identity_number(date(2012, 9, 3), 517)
GIVEN, FAMILY = "Zenobia-Åsleif", "Qvarnhjelm-Ytterbö"
PHRASE = "Kvastfenixen på Östra Ödmjukgatan lånade ut bågfilen"
# A disclosure these people meet the conditions of: 10 kap. 18 b § OSL has no age limit (policies/disclosure.toml).
TERROR = "prevent_terrorist_crime"
TEXT_FIELDS = frozenset(name for name, f in current_engine().chart.fields.items() if f.personal)
LONG_AGO = NOW - timedelta(days=2000)  # far enough back for a case to reach the end of retention by NOW


def written_forms(number: str) -> list[str]:
    """Every way the number is written: long, short, each with a separator (+ from the 100th year; then the
    short form without it is somebody else, born a century later)."""
    separator = "+" if NOW.year - int(number[:4]) >= 100 else "-"
    return [number, number[2:], f"{number[2:8]}{separator}{number[8:]}", f"{number[:8]}-{number[8:]}"]


def secrets_of_the_run() -> dict[str, str]:
    """What must never be readable in the database's files, by name."""
    found = {"given name": GIVEN, "family name": FAMILY, "full name": f"{GIVEN} {FAMILY}", "phrase": PHRASE}
    for label, number in (("adult", ADULT_NUMBER), ("child", CHILD_NUMBER)):
        for i, form in enumerate(written_forms(number)):
            found[f"{label} number form {i}"] = form
        found[f"{label} birth date"] = f"{number[:4]}-{number[4:6]}-{number[6:8]}"
    return found


def encodings(secret: str) -> dict[str, bytes]:
    """The byte patterns a stored copy of `secret` would show: text encodings, hex, base64 and JSON escapes."""
    raw = secret.encode()
    found = {"utf-8": raw, "utf-16-le": secret.encode("utf-16-le"), "hex": raw.hex().encode(),
             "HEX": raw.hex().upper().encode(), "json-escaped": json.dumps(secret)[1:-1].encode()}
    if all(ord(ch) < 256 for ch in secret):
        found["latin-1"] = secret.encode("latin-1")
    for shift in range(3):  # the part of a base64 text that does not depend on the neighbouring bytes
        coded = base64.b64encode(bytes(shift) + raw)
        start = 4 if shift else 0
        end = len(coded) - (4 if (shift + len(raw)) % 3 else 0)
        found[f"base64+{shift}"] = coded[start:end]
    return found


def leaks(blob: bytes) -> list[str]:
    """Which secrets `blob` shows, in which encoding."""
    return [f"{name} ({kind})" for name, secret in secrets_of_the_run().items()
            for kind, pattern in encodings(secret).items() if pattern in blob]


def assert_nothing_personal(blob: bytes, where: str, refs: list[str]) -> None:
    """No secret in any encoding in `blob`; but the case pseudonyms are, so `blob` is the right data."""
    assert all(ref.encode() in blob for ref in refs), f"{where}: not the data of this run"
    assert not leaks(blob), f"{where} holds personal data in plain: {leaks(blob)}"


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def pg_dump(url: str) -> bytes:
    """A plain-text dump of the test's own PostgreSQL schema (the one the URL's search_path names)."""
    program = shutil.which("pg_dump")
    if program is None:
        pytest.skip("pg_dump is not installed")
    parsed = make_url(url)
    schema = parsed.query["options"].split("search_path=", 1)[1]
    environment = {**os.environ, "PGPASSWORD": parsed.password or ""}
    done = subprocess.run(
        [program, "--no-password", "-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432),
         "-U", parsed.username or "postgres", "-d", parsed.database, "-n", schema],
        capture_output=True, env=environment, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert f'CREATE TABLE {schema}.persons'.encode() in done.stdout
    return done.stdout


def sqlite_path(db: Database) -> Path:
    return Path(make_url(db.url).database)


@pytest.fixture
def phrased(monkeypatch):
    """`tests.cases.route_v2.drive` writes PHRASE into every free-text field and every consent's evidence it fills
    in."""
    def fire(db, actor, ref, trigger, payload, **options):
        payload = {k: f"{PHRASE} ({k})" if k in TEXT_FIELDS else v for k, v in payload.items()}
        return fire_trigger(db, actor, ref, trigger, payload, **options)

    def consent(db, actor, ref, form, **options):
        return record_consent(db, actor, ref, replace(form, evidence=f"{PHRASE} (samtycke)"), **options)

    monkeypatch.setattr(route_v2, "fire_trigger", fire)
    monkeypatch.setattr(route_v2, "record_consent", consent)


def register(db, staff, number, now=NOW, **names):
    form = ConcernForm(concern=f"Oro: {PHRASE}.", reporter_org="school", identity_number=number,
                       given_name=names.get("given_name", GIVEN), family_name=names.get("family_name", FAMILY))
    return register_concern(db, staff["reporter"], form, now=now)


def case_of(db, ref: str) -> Case:
    with db.read() as s:
        return s.scalars(select(Case).where(Case.ref == ref)).one()


def verify_chain(db, table) -> int:
    with db.read() as s:
        previous, rows = GENESIS, s.scalars(select(table).order_by(table.seq)).all()
    for number, row in enumerate(rows, start=1):
        assert row.seq == number
        previous = chain_hash(previous, row.entry)
        assert row.chain_hash == previous, f"{table.__tablename__} breaks at {row.seq}"
    return len(rows)


# --- a whole run of the flowchart leaves no personal data in the files --------------------------------------


def run_the_flowchart(db, staff) -> dict[str, str]:
    """Cases in every state, consents, a withdrawal, an emergency read and a disclosure request, all about
    the same two people and all carrying PHRASE; returns the refs by name."""
    refs = {}
    for i, (target, (child, steps)) in enumerate(PATHS.items()):
        start = LONG_AGO if target == "erased" else NOW
        refs[target] = register(db, staff, written_forms(CHILD_NUMBER if child else ADULT_NUMBER)[i % 4], start).ref
        drive(db, staff, refs[target], steps, start)
        assert case_of(db, refs[target]).state == target
    refs["withdrawn"] = register(db, staff, ADULT_NUMBER).ref
    end = drive(db, staff, refs["withdrawn"], PATHS["sig"][1], NOW)
    with db.read() as s:
        consents = s.scalars(select(Consent).where(Consent.case_id == case_of(db, refs["withdrawn"]).id)).all()
    sig_consent = next(c.id for c in consents if c.purposes == ["sig"])
    withdrawn = withdraw_consent(db, staff["caseworker"], refs["withdrawn"], sig_consent, f"{PHRASE} (återkallat)",
                                 now=end + timedelta(days=1))
    assert withdrawn.state == "follow_up"
    stranger = add_staff(db, "caseworker-2", "Caseworker not assigned to it", "caseworker")
    emergency = read_case(db, stranger, refs["investigation"], emergency_reason=f"{PHRASE} (nödläge)",
                          now=NOW + timedelta(days=10))
    assert emergency.ground == "emergency"
    request_disclosure(db, staff["decider"], refs["investigation"], "police", TERROR, ["identity"],
                       "osl_10_18b", f"{PHRASE} (utlämnande)", now=NOW + timedelta(days=11))
    return refs


@pytest.mark.usefixtures("flowchart_v2")
def test_no_personal_data_is_in_the_database_files_yet_all_of_it_reads_back(db, staff, phrased, tmp_path):
    refs = run_the_flowchart(db, staff)
    pseudonyms = sorted(refs.values())
    if db.is_sqlite:
        path = sqlite_path(db)
        assert Path(f"{path}-wal").exists(), "expected the database open in WAL mode"
        open_files = files_under(tmp_path)  # the database, its -wal and -shm, and the key folder
        assert {path.name, f"{path.name}-wal", f"{path.name}-shm"} <= set(open_files)
        assert_nothing_personal(b"".join(open_files.values()), f"the open database files {sorted(open_files)}",
                                pseudonyms)
        db.dispose()  # every connection closed: SQLite checkpoints the WAL into the file
        closed_files = files_under(tmp_path)
        assert_nothing_personal(b"".join(closed_files.values()), f"the closed database {sorted(closed_files)}",
                                pseudonyms)
    else:
        assert_nothing_personal(pg_dump(db.url), "pg_dump of the test schema", pseudonyms)
        for name, blob in files_under(tmp_path).items():  # the key folder
            assert not leaks(blob), f"{name} holds personal data in plain: {leaks(blob)}"

    # ... and everything comes back through the door it went in by.
    decider, free_text = staff["decider"], 0
    for name, ref in refs.items():
        record = read_case(db, decider, ref, now=NOW + timedelta(days=20))
        if name == "erased":
            assert record.erased and not record.person and record.concern is None
            continue
        child = PATHS.get(name, (False, []))[0]
        assert record.person == {"identity_number": CHILD_NUMBER if child else ADULT_NUMBER, "given_name": GIVEN,
                                 "family_name": FAMILY, "birth_date": record.person["birth_date"]}
        assert record.person["birth_date"] == (date(2012, 9, 3) if child else date(1985, 3, 14)).isoformat()
        assert record.concern == f"Oro: {PHRASE}."
        for consent in record.consents:
            assert consent["evidence"] == f"{PHRASE} (samtycke)"
        written = [f for entry in record.journal for k, f in entry["fields"].items() if k in TEXT_FIELDS]
        assert all(PHRASE in f for f in written)
        free_text += len(written)
    assert free_text >= 10
    assert any(f"{PHRASE} (reason)" in str(e["fields"]) for e in read_case(
        db, decider, refs["closed"], now=NOW + timedelta(days=21)).journal)
    withdrawn = read_case(db, decider, refs["withdrawn"], now=NOW + timedelta(days=21))
    assert [c["withdrawal_reason"] for c in withdrawn.consents if c["status"] == "withdrawn"] == [
        f"{PHRASE} (återkallat)"]
    case = case_of(db, refs["investigation"])
    key = db.vault.case_key(case.id)
    with db.read() as s:
        access = s.scalars(select(EmergencyAccess).where(EmergencyAccess.case_id == case.id)).one()
        disclosure = s.scalars(select(Disclosure).where(Disclosure.case_id == case.id)).one()
    assert key.open("emergency_accesses", str(access.seq), "reason", access.reason) == f"{PHRASE} (nödläge)"
    assert key.open("disclosures", disclosure.id, "reason", disclosure.reason) == f"{PHRASE} (utlämnande)"


# --- a ciphertext moved or altered is refused, naming where, never showing what ------------------------------


def raw_get(db, table: str, field: str, key: str):
    column = "seq" if table == "case_events" else "id"
    with db.engine.connect() as c:
        value = c.execute(text(f"SELECT {field} FROM {table} WHERE {column} = :k"),
                          {"k": int(key) if column == "seq" else key}).scalar_one()
    return bytes(value)


def raw_put(db, table: str, field: str, key: str, value: bytes) -> None:
    column = "seq" if table == "case_events" else "id"
    with db.engine.begin() as c:
        changed = c.execute(text(f"UPDATE {table} SET {field} = :v WHERE {column} = :k"),
                            {"v": value, "k": int(key) if column == "seq" else key}).rowcount
    assert changed == 1


@pytest.fixture
def two_cases(db, staff):
    """Case A (investigation: two consents, three events) and case B (just registered), two other people."""
    first = register(db, staff, ADULT_NUMBER)
    drive(db, staff, first.ref, PATHS["investigation"][1], NOW)
    drive(db, staff, first.ref, [Step("caseworker", consent=("subject", "sig"), days_later=1)], NOW + timedelta(days=5))
    second = register(db, staff, generate_identity_number(date(1979, 11, 30), 42),
                      given_name="Oddveig", family_name="Bryntesson")
    a, b = case_of(db, first.ref), case_of(db, second.ref)
    with db.read() as s:
        consents = s.scalars(select(Consent.id).where(Consent.case_id == a.id).order_by(Consent.recorded_at)).all()
        events = s.scalars(select(CaseEvent.seq).where(CaseEvent.case_id == a.id).order_by(CaseEvent.seq)).all()
    assert len(consents) == 2 and len(events) == 3
    return {"a": a, "b": b, "consents": consents, "events": [str(e) for e in events]}


def readable(db, staff, ref):
    record = read_case(db, staff["decider"], ref, now=NOW + timedelta(days=30))
    return record.person, record.concern, record.consents, record.journal


def assert_refused(db, staff, ref, table, field, row, *, hidden=()):
    """Reading `ref` fails on exactly table.field of row, and the message shows neither value."""
    with pytest.raises(CiphertextRejected) as caught:
        read_case(db, staff["decider"], ref, now=NOW + timedelta(days=30))
    error = caught.value
    assert (error.table, error.field, error.row_id) == (table, field, row)
    for message in (str(error), error.message_sv):
        assert f"{table}.{field}" in message and row in message
        for value in (GIVEN, FAMILY, PHRASE, "Oddveig", "Bryntesson", ADULT_NUMBER, *hidden):
            assert value not in message


MOVES = {
    "given_name swapped between two persons (another case's key)": "swap given_name",
    "concern of case A copied into case B (another case's key)": "concern a->b",
    "consent evidence copied to the case's other consent (same key)": "evidence 0->1",
    "event payload copied to another event of the case (same key)": "payload 0->1",
    "given_name copied into family_name of the same row (same key)": "given->family",
    "identity_number copied into birth_date of the same row (same key)": "number->birth",
}


@pytest.mark.parametrize("move", MOVES.values(), ids=MOVES.keys())
@pytest.mark.usefixtures("flowchart_v2")
def test_a_ciphertext_moved_elsewhere_is_refused(db, staff, two_cases, move):
    a, b = two_cases["a"], two_cases["b"]
    before_a, before_b = readable(db, staff, a.ref), readable(db, staff, b.ref)
    if move == "swap given_name":
        first, second = raw_get(db, "persons", "given_name", a.person_id), raw_get(db, "persons", "given_name",
                                                                                      b.person_id)
        raw_put(db, "persons", "given_name", a.person_id, second)
        raw_put(db, "persons", "given_name", b.person_id, first)
        assert_refused(db, staff, a.ref, "persons", "given_name", a.person_id)
        assert_refused(db, staff, b.ref, "persons", "given_name", b.person_id)
        return
    if move == "concern a->b":
        raw_put(db, "cases", "concern", b.id, raw_get(db, "cases", "concern", a.id))
        assert_refused(db, staff, b.ref, "cases", "concern", b.id)
    elif move == "evidence 0->1":
        source, target = two_cases["consents"]
        raw_put(db, "consents", "evidence", target, raw_get(db, "consents", "evidence", source))
        assert_refused(db, staff, a.ref, "consents", "evidence", target)
    elif move == "payload 0->1":
        source, target = two_cases["events"][:2]
        raw_put(db, "case_events", "payload", target, raw_get(db, "case_events", "payload", source))
        assert_refused(db, staff, a.ref, "case_events", "payload", target)
    elif move == "given->family":
        raw_put(db, "persons", "family_name", a.person_id, raw_get(db, "persons", "given_name", a.person_id))
        assert_refused(db, staff, a.ref, "persons", "family_name", a.person_id)
    else:
        raw_put(db, "persons", "birth_date", a.person_id, raw_get(db, "persons", "identity_number", a.person_id))
        assert_refused(db, staff, a.ref, "persons", "birth_date", a.person_id)
        with pytest.raises(CiphertextRejected):  # the engine's view of the case needs the birth date too
            fire_trigger(db, staff["caseworker"], a.ref, "request_consent", {"proposed_intervention": "sig"},
                         now=NOW + timedelta(days=30))
        return
    untouched = b if move != "concern a->b" else a
    assert readable(db, staff, untouched.ref) == (before_a if untouched is a else before_b)


FLIPS = {"version byte": 0, "nonce first": 1, "nonce last": 12, "body": 13, "tag first": -16, "tag last": -1}
FIELDS = {"persons.identity_number": ("persons", "identity_number", "person"),
          "cases.concern": ("cases", "concern", "case"),
          "consents.evidence": ("consents", "evidence", "consent"),
          "case_events.payload": ("case_events", "payload", "event")}


@pytest.mark.parametrize("where", FIELDS.values(), ids=FIELDS.keys())
def test_one_flipped_bit_anywhere_is_refused(db, staff, two_cases, where):
    """Each position on its own: flip one bit, the read is refused; put the byte back, it reads again."""
    table, field, which = where
    a = two_cases["a"]
    row = {"person": a.person_id, "case": a.id, "consent": two_cases["consents"][0],
           "event": two_cases["events"][-1]}[which]
    original, before = raw_get(db, table, field, row), readable(db, staff, a.ref)
    assert len(original) >= 1 + 12 + 1 + 16
    for name, position in FLIPS.items():
        blob = bytearray(original)
        blob[position] ^= 0x10
        raw_put(db, table, field, row, bytes(blob))
        try:
            assert_refused(db, staff, a.ref, table, field, row)
        except (AssertionError, pytest.fail.Exception) as failure:
            raise AssertionError(f"{table}.{field} with the {name} flipped was not refused: {failure}") from None
        raw_put(db, table, field, row, original)
        assert readable(db, staff, a.ref) == before
    assert readable(db, staff, two_cases["b"].ref)[0]["given_name"] == "Oddveig"  # other cases are untouched


def test_a_truncated_or_foreign_ciphertext_is_refused(db, staff, two_cases):
    a = two_cases["a"]
    for name, blob in {"empty": b"", "version only": b"\x01", "one byte short": b"\x01" + bytes(27),
                       "unknown version": b"\x02" + raw_get(db, "cases", "concern", a.id)[1:]}.items():
        raw_put(db, "cases", "concern", a.id, blob)
        try:
            assert_refused(db, staff, a.ref, "cases", "concern", a.id)
        except (AssertionError, pytest.fail.Exception) as failure:
            raise AssertionError(f"a concern that is {name} was not refused: {failure}") from None


def test_a_disclosure_reason_moved_from_another_request_stops_the_decision(db, staff, two_cases):
    a = two_cases["a"]
    first, second = (request_disclosure(db, staff["decider"], a.ref, "police", TERROR, ["identity"],
                                        "osl_10_18b", f"{PHRASE} {n}", now=NOW + timedelta(days=6)) for n in (1, 2))
    raw_put(db, "disclosures", "reason", second, raw_get(db, "disclosures", "reason", first))
    second_decider = add_staff(db, "decider-2", "Second decider", "decider")
    with pytest.raises(CiphertextRejected) as caught:
        decide_requested_disclosure(db, second_decider, second, approve=True, now=NOW + timedelta(days=7))
    assert (caught.value.table, caught.value.field, caught.value.row_id) == ("disclosures", "reason", second)
    with db.read() as s:
        assert s.get(Disclosure, second).status == "pending"  # refused before anything was decided
    with contextlib.suppress(DisclosureRefused):  # the request left alone is decided, as the rules say
        decide_requested_disclosure(db, second_decider, first, approve=True, now=NOW + timedelta(days=7))
    with db.read() as s:
        assert s.get(Disclosure, first).status in ("approved", "refused")


# --- the blind index ----------------------------------------------------------------------------------------


PERSONNUMMER = generate_identity_number(date(1985, 3, 14), 123)
SAMORDNINGSNUMMER = generate_identity_number(date(1990, 7, 9), 789, coordination=True)
CENTENARIAN = generate_identity_number(date(1920, 1, 1), 456)  # short form with '+': 200101+NNNC
SAME_PERSON = {
    "personnummer": (PERSONNUMMER, [*written_forms(PERSONNUMMER), f"  {PERSONNUMMER[2:8]}-{PERSONNUMMER[8:]} "]),
    "samordningsnummer": (SAMORDNINGSNUMMER, written_forms(SAMORDNINGSNUMMER)),
    "centenarian ('+')": (CENTENARIAN, [f for i, f in enumerate(written_forms(CENTENARIAN)) if i != 1]),
}


@pytest.mark.parametrize("number, forms", SAME_PERSON.values(), ids=SAME_PERSON.keys())
def test_the_same_person_in_any_written_form_finds_the_open_cases(db, staff, number, forms):
    first = register(db, staff, number)
    assert first.existing == ()
    earlier = [first.ref]
    for form in forms:
        again = register(db, staff, form)
        assert set(again.existing) == set(earlier), f"written as {form!r}"
        earlier.append(again.ref)
    with db.read() as s:
        indexes = s.scalars(select(Person.identity_index)).all()
    assert len(indexes) == 1 + len(forms) and len(set(indexes)) == 1


OTHER_PEOPLE = {
    "another serial number": generate_identity_number(date(1985, 3, 14), 124),
    "another birth date": generate_identity_number(date(1985, 3, 15), 123),
    "samordningsnummer with the same digits": generate_identity_number(date(1985, 3, 14), 123, coordination=True),
    "short form without '+' is born 2020": f"{CENTENARIAN[2:8]}-{CENTENARIAN[8:]}",
}


def test_other_people_find_nothing(db, staff):
    register(db, staff, PERSONNUMMER)
    register(db, staff, CENTENARIAN)
    for name, other in OTHER_PEOPLE.items():  # each a different person from all before
        assert register(db, staff, other).existing == (), name


def test_erased_cases_are_not_listed(db, staff):
    erased = register(db, staff, PERSONNUMMER, now=LONG_AGO)
    drive(db, staff, erased.ref, PATHS["erased"][1], LONG_AGO)
    assert case_of(db, erased.ref).state == "erased"
    still_open = register(db, staff, PERSONNUMMER[2:])
    assert still_open.existing == ()
    assert register(db, staff, PERSONNUMMER).existing == (still_open.ref,)


def test_the_index_is_keyed_and_holds_no_number(db, staff):
    register(db, staff, PERSONNUMMER)
    with db.read() as s:
        index = s.scalars(select(Person.identity_index)).one()
    assert len(index) == 64 and int(index, 16) >= 0
    unkeyed = {hashlib.sha256(f.encode()).hexdigest() for f in [*written_forms(PERSONNUMMER), PERSONNUMMER[2:]]}
    unkeyed.add(hashlib.sha256(b"vidoro/pin/1|" + PERSONNUMMER.encode()).hexdigest())
    assert index not in unkeyed
    assert PERSONNUMMER not in index and PERSONNUMMER[2:] not in index
    assert index == db.vault.blind_index(PERSONNUMMER)  # keyed by this instance's index key ...
    assert index != Vault(MemoryKeyStore()).blind_index(PERSONNUMMER)  # ... and no other


# --- erasure ------------------------------------------------------------------------------------------------


PERSONAL_COLUMNS = {"persons": ("id", ("identity_number", "birth_date", "given_name", "family_name")),
                    "cases": ("id", ("concern",)), "consents": ("id", ("evidence", "withdrawal_reason")),
                    "case_events": ("seq", ("payload",)), "emergency_accesses": ("seq", ("reason",))}


def copy_sealed_rows(db, case: Case) -> list[tuple[str, str, str, bytes]]:
    """Every sealed value of a case as (table, row, field, ciphertext), copied out with raw SQL."""
    found = []
    with db.engine.connect() as c:
        for table, (key, fields) in PERSONAL_COLUMNS.items():
            where = {"persons": "id = :p", "cases": "id = :c"}.get(table, "case_id = :c")
            for row in c.execute(text(f"SELECT {key}, {', '.join(fields)} FROM {table} WHERE {where}"),
                                 {"p": case.person_id, "c": case.id}):
                found += [(table, str(row[0]), f, bytes(v)) for f, v in zip(fields, row[1:], strict=True)
                          if v is not None]
    return found


def keyring_row(keys, case_id: str) -> bytes:
    with sqlite3.connect(f"file:{keys.keyring_file}?mode=ro", uri=True) as ring:
        wrapped = ring.execute("SELECT wrapped FROM data_keys WHERE case_id = ?", (case_id,)).fetchone()[0]
    ring.close()
    return wrapped


def test_erasure_destroys_the_key_everywhere_and_keeps_the_facts(db, keys, staff, tmp_path):
    victim = register(db, staff, PERSONNUMMER, now=LONG_AGO)
    steps = PATHS["erased"][1]
    end = drive(db, staff, victim.ref, [Step("caseworker", consent=("subject", "investigation")), *steps[:-1]],
                LONG_AGO)
    stranger = add_staff(db, "caseworker-2", "Caseworker not assigned to it", "caseworker")
    read_case(db, stranger, victim.ref, emergency_reason=f"{PHRASE} (nödläge)", now=end)
    other = register(db, staff, SAMORDNINGSNUMMER, given_name="Oddveig", family_name="Bryntesson")
    drive(db, staff, other.ref, PATHS["investigation"][1], NOW)
    case = case_of(db, victim.ref)
    other_before = readable(db, staff, other.ref)
    assert readable(db, staff, victim.ref)[0]["given_name"] == GIVEN

    # The backup taken before erasure, and the key as it was.
    sealed = copy_sealed_rows(db, case)
    assert {t for t, *_ in sealed} == set(PERSONAL_COLUMNS)
    wrapped, dek = keyring_row(keys, case.id), keys.data_key(case.id)
    other_wrapped = keyring_row(keys, case_of(db, other.ref).id)
    backup = None
    if db.is_sqlite:
        with db.engine.connect() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        backup = tmp_path / "backup.db"
        shutil.copy(sqlite_path(db), backup)
    log_before = verify_chain(db, TransitionLogEntry)

    drive(db, staff, victim.ref, steps[-1:], end)

    # Nobody can open it any more ...
    record = read_case(db, staff["decider"], victim.ref, now=NOW)
    assert record.erased and record.state == "erased"
    assert (record.person, record.concern, record.consents, record.journal) == ({}, None, (), ())
    with pytest.raises(KeyDestroyed) as caught:
        db.vault.case_key(case.id)
    assert case.id in str(caught.value)
    # ... not from the copy taken before either: its ciphertexts are intact but no key opens them.
    assert set(sealed) <= set(copy_sealed_rows(db, case))  # erasure leaves the ciphertext, and it does not matter
    strangers = [db.vault.case_key(case_of(db, other.ref).id), CaseKey(case.id, bytes(32))]
    for table, row, field, blob in sealed:
        for key in strangers:
            with pytest.raises(CiphertextRejected):
                key.open(table, row, field, blob)
    if backup is not None:
        copy = Database(f"sqlite:///{backup}", keys=keys)
        try:
            old = read_case(copy, staff["decider"], victim.ref, now=NOW)
            assert old.state == "closed" and old.erased and old.person == {}
        finally:
            copy.engine.dispose()
    # The facts stay: state, the case's log entries, and both logs still verify from GENESIS.
    assert verify_chain(db, TransitionLogEntry) == log_before + 1
    verify_chain(db, AccessLogEntry)
    with db.read() as s:
        entries = s.scalars(select(TransitionLogEntry.to_state).where(TransitionLogEntry.case_ref == victim.ref)
                            .order_by(TransitionLogEntry.seq)).all()
    assert entries == ["registered", "pre_assessment", "closed", "erased"]
    assert readable(db, staff, other.ref) == other_before
    # The destroyed key is gone from the key store's files (secure_delete, WAL truncated): in no wrapped form,
    # and the data key itself is nowhere under the test's folder.
    ring = {name: blob for name, blob in files_under(keys.folder).items() if name.startswith("keyring.db")}
    everything = b"".join(files_under(tmp_path).values())
    assert other_wrapped in b"".join(ring.values())  # the search does find a wrapped key that is still there
    for name, blob in ring.items():
        assert wrapped not in blob, f"the destroyed wrapped key is still in {name}"
    assert dek not in everything
