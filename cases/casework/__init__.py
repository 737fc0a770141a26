"""A case's work: the operations that change it (one transaction each), consent and disclosure, referrals, the
grounds on which staff see and move a case, reading it, emergency access and its reviews, the work list,
feedback to the reporter, idempotent requests.
"""

from __future__ import annotations

from cases.casework.access import read_case
from cases.casework.consents import ConsentForm, record_consent, withdraw_consent
from cases.casework.operations import Fired, available_triggers, fire_trigger, register_concern
from cases.casework.worklist import work_list

__all__ = [
    "ConsentForm",
    "Fired",
    "available_triggers",
    "fire_trigger",
    "read_case",
    "record_consent",
    "register_concern",
    "withdraw_consent",
    "work_list",
]
