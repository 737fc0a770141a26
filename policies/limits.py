"""Limits that are policy, not code: defined once here, read by `cases` (and shown to people by `web`).

Who may say a concern arrived earlier than it was registered, and how far back; how much an emergency reason
must say; how often one person may open cases through emergency access before someone else must approve.
"""

from __future__ import annotations

from datetime import timedelta

__all__ = [
    "ARRIVAL_MAX_AGE",
    "ARRIVAL_REASON_MIN_CHARS",
    "ARRIVAL_REASON_MIN_WORDS",
    "ARRIVAL_ROLES",
    "EMERGENCY_APPROVAL_VALID",
    "EMERGENCY_APPROVING_ROLES",
    "EMERGENCY_FREE_PER_WINDOW",
    "EMERGENCY_REASON_MIN_CHARS",
    "EMERGENCY_REASON_MIN_WORDS",
    "EMERGENCY_WINDOW",
    "REVIEW_COMMENT_MIN_CHARS",
]

# An earlier arrival (a concern that came by phone or letter) moves child/adult and every deadline, so only
# intake records it, with a reason that says how it came, and never further back than a month: an older
# concern is registered as received now, and its history told in the concern text.
ARRIVAL_ROLES = frozenset({"intake"})
ARRIVAL_MAX_AGE = timedelta(days=30)
ARRIVAL_REASON_MIN_WORDS = 3
ARRIVAL_REASON_MIN_CHARS = 15

# Emergency access opens a case without a ground: the reason must say what the emergency is.
EMERGENCY_REASON_MIN_WORDS = 5
EMERGENCY_REASON_MIN_CHARS = 30

# Two emergency openings per person within 24 hours go through on the reason alone; every further one
# within the window needs a decision maker other than the requester to approve it first. An approval is
# used by one opening and lapses after the window.
EMERGENCY_FREE_PER_WINDOW = 2
EMERGENCY_WINDOW = timedelta(hours=24)
EMERGENCY_APPROVAL_VALID = timedelta(hours=24)
EMERGENCY_APPROVING_ROLES = frozenset({"decider"})

# A reviewer who finds an emergency access not justified says why.
REVIEW_COMMENT_MIN_CHARS = 10
