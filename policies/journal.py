"""The journal's policy: the kinds of note (from `journal.toml`), who writes notes, and how long a note may be.

Documentation is a duty of the social services (socialtjänstlagen (2025:400), `law.toml` key `sol_14_3_7`):
what happened in a case is written down by the staff who work on it. Only staff with a ground on the case
write or read notes (`policies.access.GROUNDS`); a reporter, a partner, an auditor, a coordinator, an
administrator and the system's own jobs never do (deny by default).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from policies.access import CASE_READING_ROLES
from policies.errors import PolicyError
from policies.model import Label

__all__ = ["DEFAULT_JOURNAL_PATH", "NOTE_MAX_CHARS", "NOTE_ROLES", "Journal", "load_journal", "parse_journal"]

DEFAULT_JOURNAL_PATH = Path(__file__).with_name("journal.toml")
# The roles that write and read journal notes: those with a ground on a case, and only on such a case.
NOTE_ROLES = CASE_READING_ROLES
# A note says what happened; a longer document is an attachment, not a note (the same bound as a form's text).
NOTE_MAX_CHARS = 10_000


@dataclass(frozen=True)
class Journal:
    """The kinds of journal note, by code, each with its words."""

    kinds: Mapping[str, Label]


def parse_journal(text: str, *, source: str) -> Journal:
    """Validate the journal's vocabulary given as TOML text; `source` names it in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, f"is not valid TOML ({exc})") from None
    kinds = raw.get("kinds")
    if not isinstance(kinds, dict) or not kinds:
        raise PolicyError(source, "needs a non-empty table [kinds]")
    parsed = {}
    for code, words in kinds.items():
        if not (isinstance(words, dict) and isinstance(words.get("sv"), str) and isinstance(words.get("en"), str)
                and words["sv"].strip() and words["en"].strip()):
            raise PolicyError(source, f"kind '{code}' needs sv = … and en = …")
        if not code.isidentifier() or not code.islower() or len(code) > 32:
            raise PolicyError(source, f"kind '{code}' is not a code (lower case, letters and _, at most 32)")
        parsed[code] = Label(sv=words["sv"], en=words["en"])
    return Journal(kinds=parsed)


@cache
def load_journal(path: Path = DEFAULT_JOURNAL_PATH) -> Journal:
    """Read and validate the journal's vocabulary at `path` (read once per process)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), f"cannot be read ({exc.strerror})") from None
    return parse_journal(text, source=str(path))
