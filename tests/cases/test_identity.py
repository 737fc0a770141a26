"""Identity numbers: the peers' test vectors as they are, in every written form, and no number in errors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from cases import InvalidIdentityNumber, parse_identity_number
from cases.crypto.identity import generate_identity_number

# Copied byte for byte into the repository, so that a fresh clone tests itself: see tests/vectors/README.md.
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "personnummer"
FORMS = ("long_format", "short_format", "separated_format", "separated_long", "integer")
KINDS = {"ssn": "personnummer", "con": "samordningsnummer", "interim": "interim"}


def vectors():
    for name in ("list.json", "interim.json"):
        for entry in json.loads((VECTORS / name).read_text(encoding="utf-8")):
            for form in FORMS:
                if form == "integer" and entry["integer"] == 0:
                    continue  # interim numbers have no integer form; the file marks that with 0
                yield pytest.param(entry, entry[form], id=f"{name}:{entry['long_format']}:{form}")


def test_the_vectors_are_there():
    assert len(list(vectors())) >= 80


@pytest.mark.parametrize("entry, written", list(vectors()))
def test_peer_vector(entry, written):
    if not entry["valid"]:
        with pytest.raises(InvalidIdentityNumber) as caught:
            parse_identity_number(written)
        assert str(written) not in str(caught.value) and str(written) not in caught.value.text("sv")
        return
    number = parse_identity_number(written)
    assert number.kind == KINDS[entry["type"]]
    long = entry["long_format"]
    assert number.normalised[2:] == long[2:]
    if written != entry["short_format"]:
        # Without century or '+' a short number is read as under 100 years old: 0905271474 is 2009's.
        assert number.normalised == long
        day = int(long[6:8]) - (60 if number.kind == "samordningsnummer" else 0)
        assert number.birth_date == date(int(long[:4]), int(long[4:6]), day)
    assert long not in repr(number)


@pytest.mark.parametrize("bad", ["", "   ", "abc", "19120517-238", "201205172381x", "2012-05-17"])
def test_malformed_input(bad):
    with pytest.raises(InvalidIdentityNumber):
        parse_identity_number(bad)


@pytest.mark.parametrize("coordination", [False, True])
def test_generated_numbers_validate_and_round_trip(coordination):
    for serial in (1, 238, 999):
        text = generate_identity_number(date(2010, 2, 28), serial, coordination=coordination)
        number = parse_identity_number(text)
        assert number.normalised == text
        assert number.birth_date == date(2010, 2, 28)
        assert number.kind == ("samordningsnummer" if coordination else "personnummer")
