"""Every text of the pages has a Swedish translation, and the compiled catalogue is the one in the repo."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from web.i18n import local_time

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "web" / "translations" / "sv" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None}


def source_messages() -> set[str]:
    method_map = [("web/**.py", "python"), ("web/templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=method_map, keywords=KEYWORDS, options_map={}):
        found.add(message if isinstance(message, str) else message[0])
    return found


def swedish():
    with open(CATALOGUE / "messages.po", "rb") as handle:
        return read_po(handle, locale="sv")


def test_every_text_of_the_pages_has_a_swedish_translation():
    catalogue = swedish()
    missing = sorted(m for m in source_messages()
                     if m not in catalogue or not catalogue[m].string or catalogue[m].fuzzy)
    assert not missing, f"{len(missing)} texts without a Swedish translation, e.g. {missing[:10]}"


def test_the_compiled_catalogue_is_up_to_date():
    compiled = io.BytesIO()
    write_mo(compiled, swedish())
    assert (CATALOGUE / "messages.mo").read_bytes() == compiled.getvalue(), (
        "web/translations/sv/LC_MESSAGES/messages.mo is older than messages.po: "
        "run `pybabel compile -d web/translations`")


def test_times_are_shown_as_stockholm_wall_clock_time_across_the_summer_time_change():
    assert local_time(datetime(2026, 1, 15, 23, 59, 30, tzinfo=UTC)) == "2026-01-16 00:59"
    assert local_time(datetime(2026, 3, 29, 0, 59, tzinfo=UTC)) == "2026-03-29 01:59"  # the last winter minute
    assert local_time(datetime(2026, 3, 29, 1, 0, tzinfo=UTC)) == "2026-03-29 03:00"  # the first summer one
    assert local_time(datetime(2026, 10, 25, 0, 30, tzinfo=UTC)) == "2026-10-25 02:30"
    assert local_time(datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) == "2026-10-25 02:30"  # the hour that repeats
    assert local_time(datetime(987, 6, 5, 4, 3, tzinfo=UTC))[:4] == "0987"
    assert local_time(None) == ""
