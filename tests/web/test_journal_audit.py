"""`vidoro audit verify` over journal notes, through Click's runner, on SQLite and PostgreSQL: a signed note
changed by a direct UPDATE in the database (its sealed text, its kind, its date) is found.

Socialtjänstlagen (2025:400), the documentation rules (`law.toml` key `sol_14_3_7`): a signed note stays as
written; the journal log holds each note's content hash, so a change made outside vidoro shows.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from cases import Database, add_staff
from cases.crypto.keys import FileKeyStore
from cases.journal import NoteForm, sign_note, write_note
from tests.conftest import NOW
from tests.web.test_audit_cli import init
from tests.web.test_cli import assert_ok, run
from tests.web.test_keys_cli import register_cases


def signed_note(url: str, keys) -> tuple[str, str]:
    """A case with one signed journal note and one draft, through the operations; (signed id, draft id)."""
    (ref,) = register_cases(url, keys, 1)
    database = Database(url, keys=FileKeyStore(keys))
    try:
        intake = add_staff(database, "intake-journal", "Test intake", "intake")
        note = NoteForm(kind="phone_call", occurred_on=NOW.date() - timedelta(days=1), text="Samtal med skolan.")
        signed = write_note(database, intake, ref, note, now=NOW).note_id
        sign_note(database, intake, ref, signed, now=NOW)
        draft = write_note(database, intake, ref, NoteForm(kind="other", occurred_on=NOW.date(), text="Utkast."),
                           now=NOW).note_id
        return signed, draft
    finally:
        database.dispose()


@pytest.mark.parametrize("change", ["text = (SELECT text FROM journal_notes WHERE id = :draft)",
                                    "kind = 'meeting'", "occurred_on = :day"])
def test_verify_finds_a_signed_note_updated_in_the_database(tmp_path, blank_url, change):
    home = tmp_path / "instance"
    init(home, blank_url)
    signed, draft = signed_note(blank_url, home / "keys")
    good = run(home, "audit", "verify", url=blank_url)
    assert_ok(good)
    assert "journal notes: 2 checked" in good.stdout and "OK:" in good.stdout
    database = Database(blank_url)
    try:
        with database.write() as session:
            session.execute(text(f"UPDATE journal_notes SET {change} WHERE id = :id"),
                            {"id": signed, "draft": draft, "day": date(2026, 1, 2)})
    finally:
        database.dispose()
    bad = run(home, "audit", "verify", url=blank_url)
    assert bad.exit_code == 1, bad.output
    assert "Traceback" not in bad.output and "OK:" not in bad.stdout
    assert f"FAILED: journal log, note {signed} of case VO-" in bad.stdout
    assert "a journal note was changed outside vidoro" in bad.stdout
