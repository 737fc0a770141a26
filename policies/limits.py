"""Limits that are policy, not code: defined once here, read by `cases` (and shown to people by `web`).

Who may say a concern arrived earlier than it was registered, and how far back.
"""

from __future__ import annotations

from datetime import timedelta

__all__ = [
    "ARRIVAL_MAX_AGE",
    "ARRIVAL_REASON_MIN_CHARS",
    "ARRIVAL_REASON_MIN_WORDS",
    "ARRIVAL_ROLES",
]

# An earlier arrival (a concern that came by phone or letter) moves child/adult and every deadline, so only
# intake records it, with a reason that says how it came, and never further back than a month: an older
# concern is registered as received now, and its history told in the concern text.
ARRIVAL_ROLES = frozenset({"intake"})
ARRIVAL_MAX_AGE = timedelta(days=30)
ARRIVAL_REASON_MIN_WORDS = 3
ARRIVAL_REASON_MIN_CHARS = 15
